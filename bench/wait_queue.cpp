// Wait-queue throughput: a plain thread produces N ints, one consumer takes
// them all.
//
//  wait_queue_throughput  a plain thread try_pushes into a
//                         runtime::wait_queue<int> waited on by an applet (on
//                         its own one-thread scheduler) that drains everything
//                         available per postselect. Time from the first push
//                         to the last receipt. Peers, each with one consumer
//                         thread like ours:
//                         - (alternative) a plain thread caf::anon_send-ing N
//                           int messages to a CAF event-based actor on a CAF
//                           scheduler with max-threads=1, counting them;
//                         - (alternative) what a user would write by hand: a
//                           std::mutex + std::deque + std::condition_variable
//                           queue whose consumer thread swaps the whole deque
//                           out under the lock and drains it outside.
// cpu_s: process CPU seconds from the first push to the last receipt.

#include "bench_support.hpp"

#include <actorloop/actors/applet.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/wait_queue.hpp>

#include <caf/all.hpp>

#include <cstdint>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;
using namespace std::chrono_literals;
using bench::bench_clock;

namespace {

constexpr auto wait_limit = 120s;

/// What the receiving side saw; written by the receiver only, read by main
/// after the completion signal.
struct tally {
  std::int64_t expected = 0;
  std::int64_t count = 0;
  std::int64_t sum = 0;
  std::int64_t turns = 0;
  bench_clock::time_point end;
};

std::int64_t expected_sum(std::int64_t items) {
  return items * (items - 1) / 2;
}

void check(const char* side, const tally& seen) {
  if (seen.count != seen.expected || seen.sum != expected_sum(seen.expected))
    bench::fail("%s: counts do not add up: received %lld items (sum %lld), expected %lld (sum %lld)",
                side, static_cast<long long>(seen.count), static_cast<long long>(seen.sum),
                static_cast<long long>(seen.expected),
                static_cast<long long>(expected_sum(seen.expected)));
}

// -- ours -----------------------------------------------------------------------------

class draining_applet final : public actors::applet {
public:
  draining_applet(runtime::wait_queue<int> queue, tally& seen, runtime::event done)
    : queue_(std::move(queue)), seen_(seen), done_(std::move(done)) {}

  void init(actors::applet_context& context) override { context.add_wait(queue_); }
  void preselect(actors::applet_context&) override {
    // The registration made in init persists between turns.
  }
  runtime::waitable postselect(actors::applet_context& context,
                               const runtime::waitable&) override {
    ++seen_.turns;
    while (auto item = queue_.try_pop()) {
      ++seen_.count;
      seen_.sum += *item;
    }
    if (seen_.count == seen_.expected) {
      seen_.end = bench_clock::now();
      context.kill();
      done_.set();
    }
    return {};
  }

private:
  runtime::wait_queue<int> queue_;
  tally& seen_;
  runtime::event done_;
};

/// Returns items per second; `turns_out` gets the postselect count, `cpu_s` the
/// CPU seconds of the span.
double run_wait_queue(runtime::engine& engine, std::int64_t items, std::int64_t& turns_out,
                      bench::cpu_meter meter, double& cpu_s) {
  tally seen;
  seen.expected = items;
  runtime::wait_queue<int> queue{runtime::wait_queue<int>::unbounded, "items"};
  runtime::event done{runtime::reset_mode::manual, "done"};
  auto consumer = actors::spawn_applet(engine, "consumer",
                                       std::make_unique<draining_applet>(queue, seen, done),
                                       "drain");
  bench_clock::time_point start;
  meter.start();
  std::thread producer{[&] {
    start = bench_clock::now();
    for (std::int64_t item = 0; item < items; ++item)
      if (auto failure = queue.try_push(static_cast<int>(item)))
        bench::fail("wait_queue::try_push failed: %s", failure.message().c_str());
  }};
  producer.join();
  if (!done.wait_for(wait_limit))
    bench::fail("the draining applet did not receive all items in time (%lld of %lld)",
                static_cast<long long>(seen.count), static_cast<long long>(items));
  cpu_s = meter.stop();
  if (!consumer.wait_for(10s))
    bench::fail("the draining applet was not destroyed within 10 s");
  check("wait_queue", seen);
  turns_out = seen.turns;
  return static_cast<double>(items) / bench::seconds_between(start, seen.end);
}

// -- peer -----------------------------------------------------------------------------

caf::behavior caf_counter(caf::event_based_actor* self, tally* seen, std::promise<void>* done) {
  return {
    [self, seen, done](int item) {
      ++seen->count;
      seen->sum += item;
      if (seen->count == seen->expected) {
        seen->end = bench_clock::now();
        done->set_value();
        self->quit();
      }
    },
  };
}

double run_caf(caf::actor_system& system, std::int64_t items, bench::cpu_meter meter,
               double& cpu_s) {
  tally seen;
  seen.expected = items;
  std::promise<void> done;
  auto finished = done.get_future();
  auto counter = system.spawn(caf_counter, &seen, &done);
  bench_clock::time_point start;
  meter.start();
  std::thread producer{[&] {
    start = bench_clock::now();
    for (std::int64_t item = 0; item < items; ++item)
      caf::anon_send(counter, static_cast<int>(item));
  }};
  producer.join();
  if (finished.wait_for(wait_limit) != std::future_status::ready)
    bench::fail("the CAF counter did not receive all items in time");
  cpu_s = meter.stop();
  caf::scoped_actor waiter{system};
  waiter->wait_for(counter);
  check("CAF", seen);
  return static_cast<double>(items) / bench::seconds_between(start, seen.end);
}

/// The hand-written queue: producer pushes under the mutex and notifies when
/// the deque was empty; the consumer swaps the deque out and drains it
/// without the lock.
double run_mutex_deque(std::int64_t items, bench::cpu_meter meter, double& cpu_s) {
  tally seen;
  seen.expected = items;
  std::mutex mutex;
  std::condition_variable not_empty;
  std::deque<int> shared;
  meter.start();
  std::thread consumer{[&] {
    std::deque<int> mine;
    while (seen.count < seen.expected) {
      {
        std::unique_lock guard{mutex};
        not_empty.wait(guard, [&] { return !shared.empty(); });
        mine.swap(shared);
      }
      for (int item : mine) {
        ++seen.count;
        seen.sum += item;
      }
      mine.clear();
      ++seen.turns;
    }
    seen.end = bench_clock::now();
  }};
  bench_clock::time_point start;
  std::thread producer{[&] {
    start = bench_clock::now();
    for (std::int64_t item = 0; item < items; ++item) {
      bool was_empty = false;
      {
        std::lock_guard guard{mutex};
        was_empty = shared.empty();
        shared.push_back(static_cast<int>(item));
      }
      if (was_empty)
        not_empty.notify_one();
    }
  }};
  producer.join();
  consumer.join();
  cpu_s = meter.stop();
  check("mutex+deque", seen);
  return static_cast<double>(items) / bench::seconds_between(start, seen.end);
}

} // namespace

int main(int argc, char** argv) {
  auto settings = bench::parse_arguments(argc, argv);
  try {
    const std::int64_t items = settings.smoke ? 50'000 : settings.quick ? 500'000 : 2'000'000;
    bench::comment("wait_queue_throughput: a plain thread try_pushes %lld ints into a "
                   "wait_queue<int> drained by an applet on a one-thread scheduler, vs a plain "
                   "thread caf::anon_send-ing them to a CAF event-based actor (CAF "
                   "scheduler.max-threads=1), and vs a mutex+deque+condition_variable queue "
                   "drained by one consumer thread swapping the deque out; items/s from first "
                   "push to last receipt; cpu_s = process CPU seconds of that span",
                   static_cast<long long>(items));
    runtime::engine_options options;
    runtime::scheduler_options consumer;
    consumer.name = "consumer";
    consumer.threads = 1;
    options.schedulers.push_back(consumer);
    bench::thread_watch watch_ours;
    runtime::engine engine{options};
    auto our_threads = watch_ours.take();
    bench::caf_peer_system peer{1};
    bench::side ours;
    bench::side caf_side;
    bench::side mutex_side;
    std::vector<double> turns;
    for (int repetition = 0; repetition < settings.repetitions; ++repetition) {
      double cpu_s = 0;
      bench::in_turn(repetition,
                     {[&] {
                        std::int64_t turns_taken = 0;
                        double rate = run_wait_queue(engine, items, turns_taken,
                                                     bench::cpu_meter{peer.threads()}, cpu_s);
                        ours.add(rate, cpu_s);
                        turns.push_back(static_cast<double>(turns_taken));
                      },
                      [&] {
                        double rate =
                          run_caf(peer.get(), items, bench::cpu_meter{our_threads}, cpu_s);
                        caf_side.add(rate, cpu_s);
                      },
                      [&] {
                        auto both = our_threads;
                        both.insert(both.end(), peer.threads().begin(), peer.threads().end());
                        double rate = run_mutex_deque(items, bench::cpu_meter{both}, cpu_s);
                        mutex_side.add(rate, cpu_s);
                      }});
    }
    bench::comment("wait_queue_throughput: the applet needed a median of %.0f postselects for "
                   "%lld items (%.1f items per postselect)",
                   bench::median(turns), static_cast<long long>(items),
                   static_cast<double>(items) / bench::median(turns));
    bench::report("wait_queue_throughput", "items/s", bench::better::higher, ours,
                  "caf::anon_send to an event-based actor, max-threads=1",
                  bench::peer_kind::alternative, caf_side);
    bench::report("wait_queue_throughput", "items/s", bench::better::higher, ours,
                  "mutex+deque+condition_variable, drained by swapping",
                  bench::peer_kind::alternative, mutex_side);
  } catch (const std::exception& failure) {
    bench::fail("wait_queue: %s", failure.what());
  }
  return 0;
}
