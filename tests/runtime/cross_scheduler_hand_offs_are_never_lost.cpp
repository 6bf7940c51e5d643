// ctest-timeout: 120
// No lost wake-up between schedulers: rallies of auto-reset events between
// applets on different schedulers (one- and two-worker), all at once, plus
// plain threads that hand work to applets and block for the answer. Every
// hand-off parks and wakes a worker (or finds it awake); a single lost wake
// stalls its rally, which the bounded waits below turn into a failure.
// Counts are checked exactly, and the applets and the engine shut down
// cleanly afterwards.
#include <actorloop/actors/applet.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/event.hpp>

#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;

namespace {

constexpr std::int64_t rally_round_trips = 5'000;
constexpr std::int64_t thread_round_trips = 2'000;
constexpr auto stall_limit = 30s;

/// Waits on `mine`; each postselect counts and sets `other` (the server
/// side), or counts and sets `other` until `target` (the serving side, which
/// then sets `finished`).
class relay_applet final : public actors::applet {
public:
  relay_applet(runtime::event mine, runtime::event other, std::atomic<std::int64_t>& count,
               std::int64_t target, runtime::event finished)
    : mine_(std::move(mine)), other_(std::move(other)), count_(count), target_(target),
      finished_(std::move(finished)) {}

  void init(actors::applet_context& context) override { context.add_wait(mine_); }
  void preselect(actors::applet_context&) override {}
  runtime::waitable postselect(actors::applet_context&, const runtime::waitable&) override {
    auto count = count_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (target_ != 0 && count == target_) {
      finished_.set();
      return {};
    }
    other_.set();
    return {};
  }

private:
  runtime::event mine_;
  runtime::event other_;
  std::atomic<std::int64_t>& count_;
  const std::int64_t target_; // 0: answer every time
  runtime::event finished_;
};

struct rally {
  runtime::event serve{runtime::reset_mode::automatic, "serve"};
  runtime::event answer{runtime::reset_mode::automatic, "answer"};
  runtime::event finished{runtime::reset_mode::manual, "finished"};
  std::atomic<std::int64_t> served{0};
  std::atomic<std::int64_t> answered{0};
};

} // namespace

TEST_CASE("thousands of cross-scheduler hand-offs from several threads all arrive") {
  runtime::engine_options options;
  options.default_threads = 1;
  for (auto [name, threads] : {std::pair{"one", 1}, std::pair{"two", 1}, std::pair{"pool", 2}}) {
    runtime::scheduler_options each;
    each.name = name;
    each.threads = static_cast<std::size_t>(threads);
    options.schedulers.push_back(each);
  }
  runtime::engine engine{options};

  // Rallies across every pair of schedulers, both ways round.
  const std::array<std::pair<const char*, const char*>, 4> placements{
    {{"one", "two"}, {"two", "pool"}, {"pool", "one"}, {"pool", "pool"}}};
  std::array<rally, placements.size()> rallies;
  std::vector<actors::applet_handle> handles;
  for (std::size_t index = 0; index < placements.size(); ++index) {
    auto& each = rallies[index];
    // The server answers `serve` with `answer`; the serving side counts the
    // answers and serves again until its target.
    handles.push_back(actors::spawn_applet(
      engine, placements[index].first,
      std::make_unique<relay_applet>(each.answer, each.serve, each.answered, rally_round_trips,
                                     each.finished),
      "server-side"));
    handles.push_back(actors::spawn_applet(
      engine, placements[index].second,
      std::make_unique<relay_applet>(each.serve, each.answer, each.served, 0, runtime::event{}),
      "answering-side"));
  }

  // Plain threads hand work to applets on the schedulers and block for the
  // answer: the wake comes from outside any worker.
  struct caller {
    runtime::event request{runtime::reset_mode::automatic, "request"};
    runtime::event reply{runtime::reset_mode::automatic, "reply"};
    std::atomic<std::int64_t> handled{0};
    std::int64_t replies = 0;
  };
  std::array<caller, 3> callers;
  const std::array<const char*, 3> caller_schedulers{"one", "two", "pool"};
  for (std::size_t index = 0; index < callers.size(); ++index)
    handles.push_back(actors::spawn_applet(
      engine, caller_schedulers[index],
      std::make_unique<relay_applet>(callers[index].request, callers[index].reply,
                                     callers[index].handled, 0, runtime::event{}),
      "answering-caller"));

  for (auto& each : rallies)
    each.serve.set();
  std::vector<std::thread> threads;
  std::atomic<int> stalled_callers{0};
  for (auto& each : callers)
    threads.emplace_back([&each, &stalled_callers] {
      for (std::int64_t count = 0; count < thread_round_trips; ++count) {
        each.request.set();
        if (!each.reply.wait_for(stall_limit)) {
          stalled_callers.fetch_add(1);
          return;
        }
        ++each.replies;
      }
    });
  for (auto& thread : threads)
    thread.join();
  CHECK(stalled_callers.load() == 0);
  for (auto& each : callers) {
    CHECK(each.replies == thread_round_trips);
    CHECK(each.handled.load() == thread_round_trips);
  }
  for (auto& each : rallies) {
    REQUIRE(each.finished.wait_for(stall_limit));
    CHECK(each.answered.load() == rally_round_trips);
    CHECK(each.served.load() == rally_round_trips);
  }

  // A clean shutdown: every applet goes at once, then the engine stops.
  for (auto& handle : handles)
    handle.kill();
  for (auto& handle : handles)
    CHECK(handle.wait_for(10s));
  // Nothing ran after the counts were taken.
  for (auto& each : rallies)
    CHECK(each.served.load() == rally_round_trips);
}
