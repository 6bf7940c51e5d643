// Sample 14, the producer role: a node that exports the queue "acks", reads
// the workers' ports from its standard input ("workers PORT PORT ...") and
// runs the producer applet, which
//  - pushes job batches to each worker's remote queue "jobs", keeping at most
//    `window` batches per worker unacknowledged. The window is no larger than
//    the worker's queue, and a batch leaves it only once the sink took its
//    result, so the queue always has room: a push never meets queue_full, and
//    nothing retries;
//  - takes the sink's acknowledgements from "acks": each names a batch and the
//    worker whose result the sink took, which frees a place in that worker's
//    window. A batch acknowledged twice (its re-sent copy arrived too) counts
//    once;
//  - treats a worker's node as lost on the first of: its remote applet handle
//    ready with node_down, its peer's down event, a pending push completing
//    with node_down. The batches that worker had not had acknowledged go to
//    the surviving workers first, before new ones.
// It waits on all of that in preselect (the acks queue, each live worker's
// applet handle and down event, each pending push) and never blocks.
#include "pipeline.hpp"

#include <actorloop/actors/applet.hpp>
#include <actorloop/nodes/node.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/wait_queue.hpp>

#include <sample_support.hpp>

#include <chrono>
#include <cstdio>
#include <deque>
#include <iostream>
#include <list>
#include <memory>
#include <set>
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

struct producer_settings {
  std::int64_t jobs = 100000;
  std::int64_t batch = 100;
  std::size_t window = 8;
  /// Fault injection for the smoke test: forget a lost worker's batches
  /// instead of re-sending them (the sink must then report them missing).
  bool skip_resend = false;
  /// Also re-send the last N batches a lost worker had had acknowledged, as
  /// a producer that cannot tell would: the sink must drop them by number.
  std::size_t resend_acknowledged = 0;
};

/// Written by the applet on its scheduler thread; read by main once the
/// applet is gone (waiting on its handle orders the two).
struct producer_report {
  std::int64_t acknowledged_jobs = 0;
  double seconds = 0;
  std::vector<std::string> lost;
  std::int64_t resent_batches = 0;
  std::int64_t resent_jobs = 0;
  std::int64_t duplicate_acks = 0;
  std::int64_t abandoned_batches = 0;
  std::int64_t forced_batches = 0; ///< acknowledged batches re-sent on purpose
  std::int64_t pushes = 0;
};

/// One worker as the producer sees it.
struct worker_link {
  std::string name;
  nodes::remote_queue<job_batch> jobs;
  nodes::remote_applet applet;
  runtime::event down;
  bool alive = true;
  std::set<std::int64_t> window;      ///< sent to it; its result not acknowledged yet
  std::list<nodes::operation> pushes; ///< pushes to its queue still pending
  std::deque<std::int64_t> recent;    ///< its latest acknowledged batches (resend_acknowledged)
};

class producer_applet final : public actors::applet {
public:
  producer_applet(producer_settings settings, std::vector<worker_link> workers,
                  runtime::wait_queue<ack_batch> acks, producer_report& report)
      : settings_(settings), workers_(std::move(workers)), acks_(std::move(acks)), report_(report),
        batches_((settings.jobs + settings.batch - 1) / settings.batch),
        settled_(static_cast<std::size_t>(batches_), unsettled),
        progress_step_(std::max<std::int64_t>(1, settings.jobs / 10)),
        next_progress_(progress_step_) {}

  void init(actors::applet_context&) override {
    started_ = std::chrono::steady_clock::now();
    pump();
  }

  void preselect(actors::applet_context& context) override {
    context.clear_wait();
    context.wait_on(acks_);
    for (auto& worker : workers_) {
      if (!worker.alive)
        continue;
      context.wait_on(worker.applet);
      context.wait_on(worker.down);
      for (auto& push : worker.pushes)
        context.wait_on(push);
    }
  }

  runtime::waitable postselect(actors::applet_context& context,
                               const runtime::waitable& fired) override {
    if (fired == acks_) {
      for (auto& item : acks_.take_all())
        acknowledge(item);
    } else {
      dispatch_worker_event(fired);
    }
    pump();
    if (finished()) {
      report_.seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
      context.kill();
    }
    return {};
  }

private:
  /// Every batch acknowledged (or abandoned), and every copy sent to a live
  /// worker acknowledged too: nothing of ours is still on its way to the
  /// sink, so no acknowledgement can arrive that nobody takes (except for a
  /// lost worker's copies, fewer than the acks queue holds).
  [[nodiscard]] bool finished() const {
    if (settled_count_ != batches_ || !forced_.empty())
      return false;
    for (auto& worker : workers_) {
      if (worker.alive && !worker.window.empty())
        return false;
    }
    return true;
  }

  static constexpr unsigned char unsettled = 0, acknowledged = 1, abandoned = 2;

  void acknowledge(const ack_batch& item) {
    for (std::size_t index = 0; index < item.batches.size(); ++index) {
      auto batch = item.batches[index];
      if (batch < 0 || batch >= batches_ || index >= item.workers.size())
        throw std::runtime_error("producer: malformed acknowledgement of batch " +
                                 std::to_string(batch));
      // The copy that worker delivered leaves its window.
      for (auto& worker : workers_) {
        if (worker.name != item.workers[index] || worker.window.erase(batch) == 0)
          continue;
        worker.recent.push_back(batch);
        if (worker.recent.size() > settings_.resend_acknowledged)
          worker.recent.pop_front();
      }
      auto& state = settled_[static_cast<std::size_t>(batch)];
      if (state == acknowledged) {
        ++report_.duplicate_acks; // both copies of a re-sent batch arrived
        continue;
      }
      if (state == abandoned)
        --report_.abandoned_batches; // the lost worker's copy got through after all
      else
        ++settled_count_;
      state = acknowledged;
      report_.acknowledged_jobs +=
          static_cast<std::int64_t>(batch_numbers(batch, settings_.batch, settings_.jobs).size());
      while (report_.acknowledged_jobs >= next_progress_ && next_progress_ <= settings_.jobs) {
        say("progress ", report_.acknowledged_jobs, " of ", settings_.jobs, " jobs acknowledged");
        next_progress_ = (report_.acknowledged_jobs / progress_step_ + 1) * progress_step_;
      }
    }
  }

  void dispatch_worker_event(const runtime::waitable& fired) {
    for (auto& worker : workers_) {
      if (!worker.alive)
        continue;
      if (fired == worker.applet) {
        auto reason = worker.applet.exit_reason();
        if (reason.code() != nodes::errc::node_down)
          throw std::runtime_error("producer: the applet of " + worker.name +
                                   " ended: " + reason.message());
        lose(worker, "its remote applet handle is ready with node_down");
        return;
      }
      if (fired == worker.down) {
        lose(worker, "its peer's down event fired");
        return;
      }
      for (auto push = worker.pushes.begin(); push != worker.pushes.end(); ++push) {
        if (!(*push == fired))
          continue;
        auto code = push->error();
        if (code == nodes::errc::node_down) {
          lose(worker, "a pending push failed: " + push->error_message());
        } else if (code) {
          // queue_full here would mean the window broke the queue's bound.
          throw std::runtime_error("producer: a push to " + worker.name +
                                   " failed: " + push->error_message());
        } else {
          worker.pushes.erase(push); // queued there; it stays in the window
        }
        return;
      }
    }
  }

  void lose(worker_link& worker, const std::string& how) {
    worker.alive = false;
    report_.lost.push_back(worker.name);
    std::int64_t unacknowledged = 0;
    for (auto batch : worker.window) {
      auto& state = settled_[static_cast<std::size_t>(batch)];
      if (state != unsettled)
        continue;
      ++unacknowledged;
      if (settings_.skip_resend) {
        state = abandoned;
        ++settled_count_;
        ++report_.abandoned_batches;
      } else {
        resend_.push_back(batch);
      }
    }
    worker.window.clear();
    worker.pushes.clear(); // they complete with node_down; nobody needs them now
    forced_.insert(forced_.end(), worker.recent.begin(), worker.recent.end());
    say("producer: ", worker.name, " lost (", how, "); ", unacknowledged,
        " unacknowledged batches ",
        settings_.skip_resend ? "abandoned (fault injected: no re-send)"
                              : "to re-send to the surviving workers",
        "; ", worker.recent.size(), " acknowledged batches re-sent on purpose");
    worker.recent.clear();
    bool any_alive = false;
    for (auto& each : workers_)
      any_alive = any_alive || each.alive;
    if (!any_alive && settled_count_ < batches_)
      throw std::runtime_error("producer: no worker left, " +
                               std::to_string(batches_ - settled_count_) +
                               " batches not acknowledged");
  }

  /// The next batch to send: a lost worker's first, then a new one; -1 if none.
  std::int64_t next_batch() {
    if (!forced_.empty()) {
      auto batch = forced_.front(); // acknowledged already: sent again on purpose
      forced_.pop_front();
      ++report_.forced_batches;
      return batch;
    }
    while (!resend_.empty()) {
      auto batch = resend_.front();
      resend_.pop_front();
      if (settled_[static_cast<std::size_t>(batch)] == unsettled) {
        ++report_.resent_batches;
        report_.resent_jobs +=
            static_cast<std::int64_t>(batch_numbers(batch, settings_.batch, settings_.jobs).size());
        return batch;
      }
    }
    return next_fresh_ < batches_ ? next_fresh_++ : -1;
  }

  /// Fills the live workers' windows, one batch each in turn.
  void pump() {
    for (bool sent = true; sent;) {
      sent = false;
      for (auto& worker : workers_) {
        if (!worker.alive || worker.window.size() >= settings_.window)
          continue;
        auto batch = next_batch();
        if (batch < 0)
          return;
        worker.window.insert(batch);
        worker.pushes.push_back(worker.jobs.try_push(
            job_batch{batch, batch_numbers(batch, settings_.batch, settings_.jobs)}));
        ++report_.pushes;
        sent = true;
      }
    }
  }

  producer_settings settings_;
  std::vector<worker_link> workers_;
  runtime::wait_queue<ack_batch> acks_;
  producer_report& report_;
  std::int64_t batches_;
  std::vector<unsigned char> settled_; ///< per batch: unsettled, acknowledged, abandoned
  std::int64_t settled_count_ = 0;
  std::int64_t next_fresh_ = 0;
  std::deque<std::int64_t> resend_; ///< a lost worker's unacknowledged batches
  std::deque<std::int64_t> forced_; ///< acknowledged batches to send again (resend_acknowledged)
  std::int64_t progress_step_;
  std::int64_t next_progress_;
  std::chrono::steady_clock::time_point started_;
};

void producer_usage() {
  std::fprintf(stderr, "usage: actorloop-sample-14-distributed-pipeline --role=producer [--jobs N] "
                       "[--batch N] [--window N] [--queue N] [--fault skip-resend] "
                       "[--resend-acknowledged N] "
                       "--actorloop.node.listen=127.0.0.1:0 [engine options]\n"
                       "  then \"workers PORT PORT ...\" on its standard input\n");
}

/// Reads "workers PORT PORT ..." from standard input.
std::vector<std::uint16_t> read_worker_ports() {
  std::string line;
  if (!std::getline(std::cin, line))
    throw std::runtime_error("producer: standard input ended before the \"workers\" line");
  std::istringstream words{line};
  std::string word;
  words >> word;
  if (word != "workers")
    throw std::runtime_error("producer: expected \"workers PORT ...\", got '" + line + "'");
  std::vector<std::uint16_t> ports;
  long port = 0;
  while (words >> port) {
    if (port < 1 || port > 65535)
      throw std::runtime_error("producer: bad worker port in '" + line + "'");
    ports.push_back(static_cast<std::uint16_t>(port));
  }
  if (ports.empty() || !words.eof())
    throw std::runtime_error("producer: expected \"workers PORT ...\", got '" + line + "'");
  return ports;
}

} // namespace

int run_producer(int argc, char** argv) {
  return sample::guarded_main(
      [&] {
        producer_settings settings;
        settings.jobs = sample::take_number_option(argc, argv, "--jobs").value_or(100000);
        settings.batch = sample::take_number_option(argc, argv, "--batch").value_or(100);
        settings.window = static_cast<std::size_t>(
            sample::take_number_option(argc, argv, "--window").value_or(8));
        auto capacity = sample::take_number_option(argc, argv, "--queue").value_or(24);
        if (auto extra = sample::take_option(argc, argv, "--resend-acknowledged"))
          settings.resend_acknowledged = static_cast<std::size_t>(std::stoul(*extra));
        if (auto fault = sample::take_option(argc, argv, "--fault")) {
          if (*fault != "skip-resend")
            throw std::invalid_argument("--fault takes skip-resend, not '" + *fault + "'");
          settings.skip_resend = true;
        }
        nodes::enable();
        register_types();
        runtime::engine engine{argc, argv};
        auto loop = engine.create_scheduler({.name = "producer", .threads = 1});
        runtime::wait_queue<ack_batch> acks{static_cast<std::size_t>(capacity), "acks"};
        producer_report report;
        actors::applet_handle applet;
        {
          nodes::node node{engine};
          node.export_queue("acks", acks);
          say("listening on ", node.port());
          std::vector<worker_link> workers;
          for (auto port : read_worker_ports()) {
            auto peer = node.connect("127.0.0.1", port).get();
            workers.push_back(worker_link{.name = peer.name(),
                                          .jobs = peer.lookup_queue<job_batch>("jobs").get(),
                                          .applet = peer.lookup_applet("worker").get(),
                                          .down = peer.down(),
                                          .alive = true,
                                          .window = {},
                                          .pushes = {},
                                          .recent = {}});
          }
          applet = actors::spawn_applet(
              engine, loop,
              std::make_unique<producer_applet>(settings, std::move(workers), acks, report),
              "producer");
          applet.wait();
          auto reason = applet.exit_reason();
          if (!reason.is_normal()) {
            say("producer failed: ", reason.message());
            return 1;
          }
          std::string lost;
          for (auto& name : report.lost)
            lost += (lost.empty() ? "" : ",") + name;
          say("producer: ", report.acknowledged_jobs, " jobs acknowledged in ", report.seconds,
              " s: ", static_cast<std::int64_t>(report.acknowledged_jobs / report.seconds),
              " jobs/s; lost ", lost.empty() ? "none" : lost, ", ", report.resent_batches,
              " batches (", report.resent_jobs, " jobs) re-sent, ", report.forced_batches,
              " acknowledged batches re-sent on purpose, ", report.duplicate_acks,
              " duplicate acknowledgements");
          say("summary jobs=", settings.jobs, " acknowledged=", report.acknowledged_jobs,
              " seconds=", report.seconds, " lost=", lost.empty() ? "none" : lost,
              " resent_batches=", report.resent_batches, " forced_batches=", report.forced_batches,
              " duplicate_acks=", report.duplicate_acks,
              " abandoned_batches=", report.abandoned_batches, " pushes=", report.pushes);
          // Stay a node until the launcher is done with the others: the sink
          // may still acknowledge duplicates of re-sent batches.
          wait_for_quit();
        }
        return 0;
      },
      producer_usage);
}

} // namespace pipeline
