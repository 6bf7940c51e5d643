// Sample 03: a wait queue fed by a timer and by a plain thread (Open Files'
// test_waitq).
//
// The applet waits on a timer and on a wait queue of messages. On each timer
// tick it enqueues one message, re-arms the timer and RETURNS the wait queue
// from postselect: a chained event, so the queue's postselect runs at once, in
// the same turn, and drains the message without another trip through the
// scheduler. After five rounds the sixth tick kills the applet. A producer
// thread (a plain actorloop::runtime::thread, paced by its own timer) pushes
// five more messages into the same queue from outside the scheduler; each push
// wakes the applet, which drains the queue until it is empty.
//
// Usage: actorloop-sample-03-wait-queue [--period-ms N] [--actorloop.schedulers=...]
// The applet runs on the scheduler "loop" (created with one thread unless the
// command line defines it).

#include <actorloop/actors/applet.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/thread.hpp>
#include <actorloop/runtime/timer.hpp>
#include <actorloop/runtime/wait_queue.hpp>

#include <sample_support.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>

namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;
using namespace std::chrono_literals;

using sample::say;
using sample::take_number_option;

namespace {

constexpr int rounds = 5;
constexpr int producer_messages = 5;
constexpr std::string_view scheduler_name = "loop";

enum class source { applet, producer };

struct message {
  source from;
  int sequence;
  std::string text;
};

using message_queue = runtime::wait_queue<message>;

/// What the applet saw. Written on the scheduler thread only; main reads it
/// after the applet handle is ready.
struct queue_report {
  int timer_ticks = 0;
  int applet_messages = 0;    // received, in order 1..rounds
  int producer_messages = 0;  // received, in order 1..producer_messages
  int out_of_order = 0;
  int chained_drains = 0;     // queue dispatches that followed a tick in the same turn
  int left_in_queue = 0;
  int destroy_calls = 0;
};

class wait_queue_applet final : public actors::applet {
public:
  wait_queue_applet(runtime::duration period, message_queue queue, runtime::event producer_done,
                    queue_report& report)
    : period_(period), queue_(std::move(queue)), producer_done_(std::move(producer_done)),
      report_(report) {}

  void preselect(actors::applet_context& context) override {
    tick_pending_drain_ = false; // a preselect ends the turn of the last tick
    // The original's idiom: the queue is added only in the running state; the
    // idle -> running transition re-runs the registration through the loop.
    state entry;
    do {
      entry = state_;
      context.clear_wait();
      switch (state_) {
        case state::idle:
          say("preselect: arming the timer");
          timer_.set(period_);
          state_ = state::running;
          break;
        case state::running:
          context.add_wait(queue_);
          context.add_wait(timer_);
          if (!producer_finished_)
            context.add_wait(producer_done_);
          break;
      }
    } while (state_ != entry);
  }

  actors::waitable postselect(actors::applet_context& context,
                              const actors::waitable& fired) override {
    if (fired == timer_)
      return on_tick(context);
    if (fired == queue_) {
      if (tick_pending_drain_) {
        ++report_.chained_drains;
        tick_pending_drain_ = false;
      }
      drain();
    } else if (fired == producer_done_) {
      producer_finished_ = true; // a manual-reset event: stop waiting on it
      say("postselect: the producer thread has finished");
      if (kill_pending_)
        finish(context);
    }
    return {};
  }

  void destroy(actors::applet_context&) override {
    ++report_.destroy_calls;
    timer_.cancel();
    report_.left_in_queue = static_cast<int>(queue_.size());
    say("destroy: timer cancelled, ", report_.left_in_queue, " messages left in the queue");
  }

private:
  enum class state { idle, running };

  actors::waitable on_tick(actors::applet_context& context) {
    ++report_.timer_ticks;
    if (report_.timer_ticks > rounds) {
      // A one-shot timer stays expired: cancel it or it fires on every turn.
      timer_.cancel();
      if (producer_finished_) {
        say("postselect: tick ", report_.timer_ticks, " after ", rounds, " rounds");
        finish(context);
      } else {
        say("postselect: tick ", report_.timer_ticks, ", waiting for the producer first");
        kill_pending_ = true;
      }
      return {};
    }
    auto sequence = report_.timer_ticks;
    queue_.push({source::applet, sequence, "round " + std::to_string(sequence)});
    say("postselect: tick ", sequence, ", enqueued 'round ", sequence,
        "', returning the queue (chained)");
    timer_.set(period_);
    tick_pending_drain_ = true;
    return queue_; // dispatched to this applet at once, in this same turn
  }

  void drain() {
    // Level-triggered: take everything now; the queue is no longer ready once empty.
    while (auto item = queue_.try_pop()) {
      auto& counter =
        item->from == source::applet ? report_.applet_messages : report_.producer_messages;
      if (item->sequence != counter + 1)
        ++report_.out_of_order;
      counter = item->sequence;
      say("postselect: dequeued '", item->text, "'");
    }
  }

  void finish(actors::applet_context& context) {
    drain(); // anything pushed just before the producer finished
    say("postselect: the applet kills itself");
    context.kill();
  }

  const runtime::duration period_;
  message_queue queue_;
  runtime::event producer_done_;
  queue_report& report_;
  runtime::timer timer_{"WAITQ TIMER"};
  state state_ = state::idle;
  bool tick_pending_drain_ = false;
  bool producer_finished_ = false;
  bool kill_pending_ = false;
};

/// The producer thread: a plain thread paced by its own periodic timer,
/// which a plain thread may block on directly.
void produce(std::stop_token stop, message_queue queue, runtime::duration period) {
  runtime::timer pace{"producer pace"};
  pace.set_periodic(period);
  for (int sequence = 1; sequence <= producer_messages && !stop.stop_requested(); ++sequence) {
    if (!pace.wait_for(10s))
      return;
    queue.push({source::producer, sequence, "producer message " + std::to_string(sequence)});
    say("producer thread: pushed message ", sequence);
  }
}

void print_usage() {
  say("sample options:\n  --period-ms N   applet timer period in milliseconds (default 100)\n",
      "actorloop options:\n", runtime::engine::options_help());
}

int run(int argc, char** argv) {
  auto period =
    std::chrono::milliseconds(take_number_option(argc, argv, "--period-ms").value_or(100));
  queue_report report; // outlives the engine
  runtime::engine engine(argc, argv);
  if (engine.help_printed()) {
    print_usage();
    return 0;
  }
  sample::ensure_loop_scheduler(engine, scheduler_name);

  message_queue queue{message_queue::unbounded, "WAITQ TEST"};
  runtime::event producer_done{runtime::reset_mode::manual, "producer done"};
  auto handle = actors::spawn_applet(
    engine, scheduler_name,
    std::make_unique<wait_queue_applet>(period, queue, producer_done, report), "waitq-test");
  say("main: spawned applet ", handle.applet_id(), ", starting the producer thread");
  runtime::thread producer{"producer",
                           [queue, period](std::stop_token stop) {
                             produce(stop, queue, period / 2);
                           },
                           producer_done};

  if (!handle.wait_for(period * (rounds + 1) * 5 + 10s)) {
    say("FAIL: the applet did not finish in time (", report.timer_ticks, " ticks)");
    return 1;
  }
  producer.join();
  say("main: the applet handle is ready: ", handle.exit_reason().message());

  sample::checklist checks;
  auto saw = [](int expected, int actual) {
    return "expected " + std::to_string(expected) + ", saw " + std::to_string(actual);
  };
  checks.expect(report.timer_ticks == rounds + 1, "timer ticks: " + saw(rounds + 1, report.timer_ticks));
  checks.expect(report.applet_messages == rounds,
         "messages from the applet: " + saw(rounds, report.applet_messages));
  checks.expect(report.producer_messages == producer_messages,
         "messages from the producer: " + saw(producer_messages, report.producer_messages));
  checks.expect(report.out_of_order == 0, std::to_string(report.out_of_order) + " messages out of order");
  checks.expect(report.chained_drains == rounds,
         "chained drains in the tick's own turn: " + saw(rounds, report.chained_drains));
  checks.expect(report.left_in_queue == 0, "messages left in the queue");
  checks.expect(queue.empty(), "the queue is not empty");
  checks.expect(producer_done.test(), "the producer's exit event is not set");
  checks.expect(report.destroy_calls == 1, "destroy calls: " + saw(1, report.destroy_calls));
  checks.expect(handle.exit_reason().is_normal(), "abnormal exit: " + handle.exit_reason().message());
  return checks.verdict();
}

} // namespace

int main(int argc, char** argv) {
  return sample::guarded_main([&] { return run(argc, argv); }, print_usage);
}
