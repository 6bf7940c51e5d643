// Sample 14, the sink role: a node that exports the bounded queue "results".
// Its applet takes one result batch per turn, checks every result, keeps each
// job number once (a job of a re-sent batch may arrive twice: the second copy
// is dropped by its number) and acknowledges the batch to the producer's
// remote queue "acks". One acknowledgement push is in flight at a time; the
// batches taken meanwhile go out together in the next one. At "quit" it
// reports whether each job arrived exactly once and exits 0 only then.
#include "pipeline.hpp"

#include <actorloop/actors/applet.hpp>
#include <actorloop/nodes/node.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/wait_queue.hpp>

#include <sample_support.hpp>

#include <cstdio>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace pipeline {

namespace actors = actorloop::actors;
namespace nodes = actorloop::nodes;
namespace runtime = actorloop::runtime;
using sample::say;

namespace {

/// Written by the applet on its scheduler thread; read by main once the
/// applet is gone (waiting on its handle orders the two).
struct sink_report {
  explicit sink_report(std::int64_t jobs) : jobs(jobs), kept(static_cast<std::size_t>(jobs) + 1) {}
  std::int64_t jobs;
  std::vector<unsigned char> kept; ///< kept[n]: how often job n was kept (1..jobs); must end as 1
  std::int64_t distinct = 0;       ///< job numbers kept at least once
  std::int64_t duplicates = 0;     ///< deliveries dropped because the number was kept already
  std::int64_t wrong = 0;          ///< results that are not work(number)
  std::int64_t out_of_range = 0;   ///< numbers outside 1..jobs
  std::int64_t batches = 0;        ///< result batches taken
  std::int64_t acks_pushed = 0;    ///< acknowledgement items pushed to the producer
};

class sink_applet final : public actors::applet {
public:
  sink_applet(runtime::wait_queue<result_batch> results, nodes::remote_queue<ack_batch> acks,
              sink_report& report)
      : results_(std::move(results)), acks_(std::move(acks)), report_(report) {}

  void preselect(actors::applet_context& context) override {
    context.clear_wait();
    context.wait_on(results_);
    if (ack_push_)
      context.wait_on(ack_push_);
  }

  runtime::waitable postselect(actors::applet_context&, const runtime::waitable& fired) override {
    if (fired == results_) {
      if (auto batch = results_.try_pop()) {
        take(*batch);
        unsent_.batches.push_back(batch->batch);
        unsent_.workers.push_back(std::move(batch->worker));
        if (!ack_push_)
          send_acks();
      }
    } else if (ack_push_ && fired == ack_push_) {
      if (ack_push_.error())
        throw std::runtime_error("sink: acknowledgements could not be pushed to the producer: " +
                                 ack_push_.error_message());
      ack_push_ = {};
      if (!unsent_.batches.empty())
        send_acks();
    }
    return {};
  }

private:
  void take(const result_batch& batch) {
    ++report_.batches;
    if (batch.results.size() != batch.numbers.size()) {
      report_.wrong += static_cast<std::int64_t>(batch.numbers.size());
      return;
    }
    for (std::size_t index = 0; index < batch.numbers.size(); ++index) {
      auto number = batch.numbers[index];
      if (number < 1 || number > report_.jobs) {
        ++report_.out_of_range;
      } else if (batch.results[index] != work(number)) {
        ++report_.wrong;
      } else if (report_.kept[static_cast<std::size_t>(number)] != 0) {
        ++report_.duplicates; // a re-sent job whose first copy got here too
      } else {
        ++report_.kept[static_cast<std::size_t>(number)];
        if (++report_.distinct == report_.jobs)
          say("sink: all ", report_.jobs, " jobs received");
      }
    }
  }

  void send_acks() {
    ack_push_ = acks_.try_push(std::move(unsent_));
    unsent_ = {};
    ++report_.acks_pushed;
  }

  runtime::wait_queue<result_batch> results_;
  nodes::remote_queue<ack_batch> acks_;
  sink_report& report_;
  ack_batch unsent_;          // taken, not yet in an acknowledgement push
  nodes::operation ack_push_; // the acknowledgement push in flight, if any
};

void sink_usage() {
  std::fprintf(stderr,
               "usage: actorloop-sample-14-distributed-pipeline --role=sink --producer PORT "
               "[--jobs N] [--queue N] --actorloop.node.listen=127.0.0.1:0 [engine options]\n");
}

/// How many job numbers were kept `times` times (0: lost; more than 1: a
/// duplicate got through), and the first few of them.
std::pair<std::int64_t, std::string> numbers_kept(const sink_report& report, bool never) {
  std::ostringstream text;
  std::int64_t count = 0;
  for (std::int64_t number = 1; number <= report.jobs; ++number) {
    auto kept = report.kept[static_cast<std::size_t>(number)];
    if (never ? kept != 0 : kept <= 1)
      continue;
    if (++count <= 10)
      text << (count > 1 ? ", " : "") << number;
  }
  if (count > 10)
    text << ", ...";
  return {count, text.str()};
}

} // namespace

int run_sink(int argc, char** argv) {
  return sample::guarded_main(
      [&] {
        auto jobs = sample::take_number_option(argc, argv, "--jobs").value_or(100000);
        auto capacity = sample::take_number_option(argc, argv, "--queue").value_or(24);
        auto producer_port = sample::take_number_option(argc, argv, "--producer");
        if (!producer_port || *producer_port > 65535)
          throw std::invalid_argument("--role=sink needs --producer PORT (the producer's port)");
        nodes::enable();
        register_types();
        runtime::engine engine{argc, argv};
        auto loop = engine.create_scheduler({.name = "sink", .threads = 1});
        runtime::wait_queue<result_batch> results{static_cast<std::size_t>(capacity), "results"};
        sink_report report{jobs};
        actors::applet_handle applet;
        {
          nodes::node node{engine};
          auto producer =
              node.connect("127.0.0.1", static_cast<std::uint16_t>(*producer_port)).get();
          auto acks = producer.lookup_queue<ack_batch>("acks").get();
          applet = actors::spawn_applet(
              engine, loop, std::make_unique<sink_applet>(results, acks, report), "sink");
          node.export_queue("results", results);
          say("listening on ", node.port());
          // Serve until the launcher says "quit" (or goes away): duplicates of
          // re-sent jobs may still arrive after the last job did.
          wait_for_quit();
          applet.kill();
          applet.wait();
        }
        sample::checklist checks;
        auto reason = applet.exit_reason();
        checks.expect(reason.is_normal(), "the sink applet failed: " + reason.message());
        auto [lost, lost_numbers] = numbers_kept(report, true);
        auto [repeated, repeated_numbers] = numbers_kept(report, false);
        say("sink: ", report.distinct, " of ", report.jobs, " jobs arrived; ", report.duplicates,
            " duplicate deliveries of re-sent jobs dropped by number; ", report.batches,
            " result batches taken, ", report.acks_pushed, " acknowledgement pushes");
        checks.expect(lost == 0, std::to_string(lost) +
                                     " jobs never reached the sink (lost): " + lost_numbers);
        checks.expect(repeated == 0,
                      std::to_string(repeated) +
                          " jobs were kept more than once (duplicated): " + repeated_numbers);
        if (lost == 0 && repeated == 0)
          say("sink: each of the ", report.jobs, " jobs kept exactly once");
        checks.expect(report.wrong == 0,
                      std::to_string(report.wrong) + " results were wrong or malformed");
        checks.expect(report.out_of_range == 0, std::to_string(report.out_of_range) +
                                                    " job numbers were outside 1.." +
                                                    std::to_string(report.jobs));
        return checks.verdict();
      },
      sink_usage);
}

} // namespace pipeline
