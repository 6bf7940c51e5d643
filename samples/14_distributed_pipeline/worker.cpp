// Sample 14, the worker role: a node that exports a bounded queue "jobs"
// and its applet "worker". The applet takes one job batch per turn, does the
// work and pushes the result batch to the sink's remote queue "results". It
// waits on its queue and on every push still pending, in preselect; a push
// that fails ends the applet with the failure as its exit reason, which the
// producer sees through its remote handle.
//
// With --stop-after N (the launcher gives it to the worker it kills), the
// applet stops once it has done N jobs: it keeps the batch it took next,
// unprocessed, no longer waits on its queue, and says "stopped ..." so that
// the launcher kills it. The kill then always finds work this worker had not
// done (that batch, and whatever the producer queued since).
#include "pipeline.hpp"

#include <actorloop/actors/applet.hpp>
#include <actorloop/nodes/node.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/wait_queue.hpp>

#include <sample_support.hpp>

#include <cstdio>
#include <list>
#include <memory>
#include <stdexcept>
#include <string>

namespace pipeline {

namespace actors = actorloop::actors;
namespace nodes = actorloop::nodes;
namespace runtime = actorloop::runtime;
using sample::say;

namespace {

/// Written by the applet on its scheduler thread; read by main once the
/// applet is gone (waiting on its handle orders the two).
struct worker_report {
  std::int64_t batches = 0;
  std::int64_t jobs = 0;
};

struct worker_settings {
  std::string name;
  std::int64_t stop_after = 0; ///< 0: never stop
};

class worker_applet final : public actors::applet {
public:
  worker_applet(runtime::wait_queue<job_batch> jobs, nodes::remote_queue<result_batch> results,
                worker_settings settings, worker_report& report)
      : jobs_(std::move(jobs)), results_(std::move(results)), name_(std::move(settings.name)),
        stop_after_(settings.stop_after), report_(report) {}

  void preselect(actors::applet_context& context) override {
    context.clear_wait();
    if (!stopped_)
      context.wait_on(jobs_);
    for (auto& push : pushes_)
      context.wait_on(push);
  }

  runtime::waitable postselect(actors::applet_context&, const runtime::waitable& fired) override {
    if (fired == jobs_) {
      // One batch per turn; the queue stays ready while it holds more.
      if (auto batch = jobs_.try_pop()) {
        if (stop_after_ > 0 && report_.jobs >= stop_after_) {
          stopped_ = true; // keep it undone; wait for the kill
          say("stopped after ", report_.jobs, " jobs, holding batch ", batch->batch,
              " undone: kill me");
        } else {
          process(std::move(*batch));
        }
      }
      return {};
    }
    for (auto push = pushes_.begin(); push != pushes_.end(); ++push) {
      if (!(*push == fired))
        continue;
      if (push->error())
        throw std::runtime_error(
            name_ + ": a result batch could not be pushed to the sink: " + push->error_message());
      pushes_.erase(push);
      break;
    }
    return {};
  }

private:
  void process(job_batch batch) {
    result_batch out{
        .batch = batch.batch, .worker = name_, .numbers = std::move(batch.numbers), .results = {}};
    out.results.reserve(out.numbers.size());
    for (auto number : out.numbers)
      out.results.push_back(work(number));
    ++report_.batches;
    report_.jobs += static_cast<std::int64_t>(out.numbers.size());
    pushes_.push_back(results_.try_push(std::move(out)));
  }

  runtime::wait_queue<job_batch> jobs_;
  nodes::remote_queue<result_batch> results_;
  std::string name_;
  std::int64_t stop_after_;
  bool stopped_ = false;
  worker_report& report_;
  std::list<nodes::operation> pushes_; // pending pushes to the sink
};

void worker_usage() {
  std::fprintf(
      stderr,
      "usage: actorloop-sample-14-distributed-pipeline --role=worker --sink PORT "
      "[--queue N] [--stop-after N] --actorloop.node.listen=127.0.0.1:0 [engine options]\n");
}

} // namespace

int run_worker(int argc, char** argv) {
  return sample::guarded_main(
      [&] {
        auto capacity = sample::take_number_option(argc, argv, "--queue").value_or(8);
        auto stop_after = sample::take_number_option(argc, argv, "--stop-after").value_or(0);
        auto sink_port = sample::take_number_option(argc, argv, "--sink");
        if (!sink_port || *sink_port > 65535)
          throw std::invalid_argument("--role=worker needs --sink PORT (the sink's port)");
        nodes::enable();
        register_types();
        runtime::engine engine{argc, argv};
        auto loop = engine.create_scheduler({.name = "worker", .threads = 1});
        runtime::wait_queue<job_batch> jobs{static_cast<std::size_t>(capacity), "jobs"};
        worker_report report;
        actors::applet_handle applet;
        {
          nodes::node node{engine};
          auto sink = node.connect("127.0.0.1", static_cast<std::uint16_t>(*sink_port)).get();
          auto results = sink.lookup_queue<result_batch>("results").get();
          applet = actors::spawn_applet(
              engine, loop,
              std::make_unique<worker_applet>(jobs, results,
                                              worker_settings{node.name(), stop_after}, report),
              node.name());
          node.export_queue("jobs", jobs);
          node.export_applet("worker", applet);
          say("listening on ", node.port());
          // Serve until the launcher says "quit" (or goes away).
          wait_for_quit();
          applet.kill();
          applet.wait();
        }
        auto reason = applet.exit_reason();
        say("worker: ", report.batches, " batches (", report.jobs, " jobs) processed; ",
            reason.message());
        return reason.is_normal() ? 0 : 1;
      },
      worker_usage);
}

} // namespace pipeline
