// runtime::thread: the exit event is set when the body returns, stop is
// only a request, a wake target is woken by the request, and join is
// idempotent.
// Model: Open Files of_core documentation (ofc_thread_create's notify
// event, ofc_thread_delete's cooperative deletion, ofc_thread_wait).
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/thread.hpp>
#include <actorloop/runtime/wait_set.hpp>

#include <actorloop_test/error_code_of.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <pthread.h>
#include <stop_token>
#include <string>
#include <system_error>

using namespace std::chrono_literals;
namespace runtime = actorloop::runtime;
using actorloop_test::error_code_of;

TEST_CASE("the exit event is set when the body returns, not before") {
  runtime::event release{runtime::reset_mode::manual};
  runtime::event exited{runtime::reset_mode::manual, "exited"};
  runtime::event body_started{runtime::reset_mode::manual};
  std::atomic<int> body_runs{0};

  runtime::thread worker{"exit-event", [&](std::stop_token) {
                           ++body_runs;
                           body_started.set();
                           // Returns only when the test says so.
                           (void)release.wait_for(10s);
                         },
                         exited};
  CHECK(worker.name() == "exit-event");
  CHECK(worker.joinable());
  REQUIRE(body_started.wait_for(5s));
  CHECK_FALSE(exited.test()); // the body is still blocked

  release.set();
  REQUIRE(exited.wait_for(5s));
  worker.join();
  CHECK(body_runs.load() == 1);
  CHECK_FALSE(worker.joinable());
}

TEST_CASE("an auto-reset exit event is set once when the body returns") {
  runtime::event exited;
  {
    runtime::thread worker{"quick", [](std::stop_token) {}, exited};
    REQUIRE(exited.wait_for(5s));
    worker.join();
  }
  CHECK_FALSE(exited.test()); // consumed by our wait, never set again
}

TEST_CASE("request_stop is cooperative: the body sees it and returns when it chooses") {
  runtime::event body_started{runtime::reset_mode::manual};
  runtime::event stop_seen{runtime::reset_mode::manual};
  runtime::event finish{runtime::reset_mode::manual};
  runtime::event exited{runtime::reset_mode::manual};
  std::atomic<bool> token_said_stop{false};

  runtime::thread worker{"cooperative", [&](std::stop_token token) {
                           // Turn the stop request into an event to wait on.
                           std::stop_callback on_stop{token, [&] { stop_seen.set(); }};
                           body_started.set();
                           if (!stop_seen.wait_for(10s))
                             return;
                           token_said_stop = token.stop_requested();
                           // Carries on after the request until told to finish.
                           (void)finish.wait_for(10s);
                         },
                         exited};
  REQUIRE(body_started.wait_for(5s));
  CHECK_FALSE(worker.stop_requested());

  worker.request_stop();
  CHECK(worker.stop_requested());
  REQUIRE(stop_seen.wait_for(5s));
  // A request, not a kill: the body is still running.
  CHECK_FALSE(exited.test());

  finish.set();
  REQUIRE(exited.wait_for(5s));
  worker.join();
  CHECK(token_said_stop.load());
}

TEST_CASE("set_wake_target lets request_stop wake a body blocked in wait_set::wait") {
  runtime::wait_set body_waits;
  runtime::event never_set;
  body_waits.add(never_set, 1);
  runtime::event exited{runtime::reset_mode::manual};
  runtime::event body_started{runtime::reset_mode::manual};
  std::atomic<bool> was_woken{false};
  std::atomic<bool> saw_stop{false};
  runtime::duration blocked_for{};

  runtime::thread worker{"wake-target", [&](std::stop_token token) {
                           body_started.set();
                           auto start = runtime::clock::now();
                           auto result = body_waits.wait_for(10s);
                           blocked_for = runtime::clock::now() - start;
                           was_woken = result.status == runtime::wait_status::woken;
                           saw_stop = token.stop_requested();
                         },
                         exited};
  worker.set_wake_target(&body_waits);
  REQUIRE(body_started.wait_for(5s));

  worker.request_stop();
  REQUIRE(exited.wait_for(5s));
  worker.join();
  CHECK(was_woken.load());
  CHECK(saw_stop.load());
  // Far below the body's 10 s timeout.
  CHECK(blocked_for < 2s);
}

TEST_CASE("a stop requested before set_wake_target still wakes the target") {
  runtime::wait_set body_waits;
  runtime::event exited{runtime::reset_mode::manual};
  runtime::event stop_requested{runtime::reset_mode::manual};
  std::atomic<bool> was_woken{false};

  runtime::thread worker{"late-target", [&](std::stop_token) {
                           if (!stop_requested.wait_for(10s))
                             return;
                           was_woken = body_waits.wait_for(10s).status ==
                                       runtime::wait_status::woken;
                         },
                         exited};
  worker.request_stop();
  worker.set_wake_target(&body_waits);
  stop_requested.set();
  REQUIRE(exited.wait_for(15s));
  worker.join();
  CHECK(was_woken.load());
}

TEST_CASE("join is idempotent") {
  runtime::event exited{runtime::reset_mode::manual};
  runtime::thread worker{"joins", [](std::stop_token) {}, exited};
  worker.join();
  CHECK(exited.test()); // set before join returned
  CHECK_FALSE(worker.joinable());
  CHECK(error_code_of([&] { worker.join(); }) == std::error_code{});
  CHECK(error_code_of([&] { worker.join(); }) == std::error_code{});
}

TEST_CASE("join from the thread itself throws wrong_thread") {
  runtime::event exited{runtime::reset_mode::manual};
  runtime::event handle_ready{runtime::reset_mode::manual};
  std::atomic<runtime::thread*> self{nullptr};
  std::error_code self_join;
  runtime::thread worker{"self-join", [&](std::stop_token) {
                           if (!handle_ready.wait_for(10s))
                             return;
                           self_join = error_code_of([&] { self.load()->join(); });
                         },
                         exited};
  self = &worker;
  handle_ready.set();
  REQUIRE(exited.wait_for(15s));
  worker.join();
  CHECK(self_join == runtime::errc::wrong_thread);
}

TEST_CASE("the destructor requests stop and joins") {
  runtime::event exited{runtime::reset_mode::manual};
  std::atomic<bool> saw_stop{false};
  {
    runtime::thread worker{"destructor", [&](std::stop_token token) {
                             runtime::event stop_seen;
                             std::stop_callback on_stop{token, [&] { stop_seen.set(); }};
                             saw_stop = stop_seen.wait_for(10s);
                           },
                           exited};
  }
  // The destructor returned, so the body has returned and set the event.
  CHECK(exited.test());
  CHECK(saw_stop.load());
}

TEST_CASE("the thread carries its name, cut to 15 characters") {
  runtime::event exited{runtime::reset_mode::manual};
  std::string seen_name;
  runtime::thread worker{"a-very-long-thread-name", [&](std::stop_token) {
                           char buffer[32] = {};
                           if (pthread_getname_np(pthread_self(), buffer, sizeof buffer) == 0)
                             seen_name = buffer;
                         },
                         exited};
  worker.join();
  CHECK(worker.name() == "a-very-long-thread-name");
  CHECK(seen_name == "a-very-long-thr");
}
