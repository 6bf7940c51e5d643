// Wait-queue throughput: a plain thread produces N ints, one consumer takes
// them all.
//
//  wait_queue_throughput  a plain thread try_pushes into a
//                         runtime::wait_queue<int> waited on by an applet (on
//                         its own one-thread scheduler) that drains everything
//                         available per postselect, vs a plain thread
//                         caf::anon_send-ing N int messages to a CAF
//                         event-based actor (default CAF configuration) that
//                         counts them. Time from the first push to the last
//                         receipt.

#include "bench_support.hpp"

#include <actorloop/actors/applet.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/wait_queue.hpp>

#include <caf/all.hpp>

#include <cstdint>
#include <future>
#include <memory>
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

/// Returns items per second; `turns_out` gets the postselect count.
double run_wait_queue(runtime::engine& engine, std::int64_t items, std::int64_t& turns_out) {
  tally seen;
  seen.expected = items;
  runtime::wait_queue<int> queue{runtime::wait_queue<int>::unbounded, "items"};
  runtime::event done{runtime::reset_mode::manual, "done"};
  auto consumer = actors::spawn_applet(engine, "consumer",
                                       std::make_unique<draining_applet>(queue, seen, done),
                                       "drain");
  bench_clock::time_point start;
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

double run_caf(caf::actor_system& system, std::int64_t items) {
  tally seen;
  seen.expected = items;
  std::promise<void> done;
  auto finished = done.get_future();
  auto counter = system.spawn(caf_counter, &seen, &done);
  bench_clock::time_point start;
  std::thread producer{[&] {
    start = bench_clock::now();
    for (std::int64_t item = 0; item < items; ++item)
      caf::anon_send(counter, static_cast<int>(item));
  }};
  producer.join();
  if (finished.wait_for(wait_limit) != std::future_status::ready)
    bench::fail("the CAF counter did not receive all items in time");
  caf::scoped_actor waiter{system};
  waiter->wait_for(counter);
  check("CAF", seen);
  return static_cast<double>(items) / bench::seconds_between(start, seen.end);
}

} // namespace

int main(int argc, char** argv) {
  auto settings = bench::parse_arguments(argc, argv);
  try {
    const std::int64_t items = settings.quick ? 500'000 : 2'000'000;
    bench::comment("wait_queue_throughput: a plain thread try_pushes %lld ints into a "
                   "wait_queue<int> drained by an applet on a one-thread scheduler, vs a plain "
                   "thread caf::anon_send-ing %lld ints to a CAF event-based actor (default CAF "
                   "config); items/s from first push to last receipt",
                   static_cast<long long>(items), static_cast<long long>(items));
    runtime::engine_options options;
    runtime::scheduler_options consumer;
    consumer.name = "consumer";
    consumer.threads = 1;
    options.schedulers.push_back(consumer);
    runtime::engine engine{options};
    bench::caf_peer_system peer;
    std::vector<double> ours;
    std::vector<double> theirs;
    std::vector<double> turns;
    for (int repetition = 0; repetition < settings.repetitions; ++repetition) {
      std::int64_t turns_taken = 0;
      ours.push_back(run_wait_queue(engine, items, turns_taken));
      turns.push_back(static_cast<double>(turns_taken));
      theirs.push_back(run_caf(peer.get(), items));
    }
    bench::comment("wait_queue_throughput: the applet needed a median of %.0f postselects for "
                   "%lld items (%.1f items per postselect)",
                   bench::median(turns), static_cast<long long>(items),
                   static_cast<double>(items) / bench::median(turns));
    bench::report("wait_queue_throughput", bench::median(ours), "items/s",
                  "caf::anon_send to an event-based actor, default config", bench::median(theirs),
                  bench::better::higher);
  } catch (const std::exception& failure) {
    bench::fail("wait_queue: %s", failure.what());
  }
  return 0;
}
