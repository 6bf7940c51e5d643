// Wait sets: one ready member per call, with its cookie, first ready in
// insertion order; membership rules (no duplicates, remove, close).
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/timer.hpp>
#include <actorloop/runtime/wait_queue.hpp>
#include <actorloop/runtime/wait_set.hpp>
#include <actorloop/runtime/detail/access.hpp>

#include <actorloop_test/error_code_of.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <system_error>

using namespace std::chrono_literals;
namespace runtime = actorloop::runtime;
using actorloop_test::error_code_of;

TEST_CASE("wait returns the ready member and the cookie it was added with") {
  runtime::wait_set set;
  runtime::event doorbell{runtime::reset_mode::automatic, "doorbell"};
  set.add(doorbell, 42);
  CHECK(set.size() == 1);

  doorbell.set();
  auto result = set.wait_for(5s);
  CHECK(result.status == runtime::wait_status::fired);
  CHECK(result.fired == doorbell);
  CHECK(result.fired.id() == doorbell.id());
  CHECK(result.cookie == 42u);
  // The wait consumed the auto-reset event.
  CHECK_FALSE(doorbell.test());
  CHECK(set.try_wait().status == runtime::wait_status::timed_out);
}

TEST_CASE("a cookie can carry a pointer") {
  runtime::wait_set set;
  runtime::event doorbell;
  int owner = 0;
  set.add(doorbell, reinterpret_cast<std::uintptr_t>(&owner));
  doorbell.set();
  auto result = set.wait_for(5s);
  REQUIRE(result.status == runtime::wait_status::fired);
  CHECK(reinterpret_cast<int*>(result.cookie) == &owner);
}

TEST_CASE("several ready members come back one per call, in insertion order") {
  runtime::wait_set set;
  runtime::event first;
  runtime::event second;
  runtime::event third;
  set.add(first, 1);
  set.add(second, 2);
  set.add(third, 3);

  // Set in reverse order: the order of setting must not matter.
  third.set();
  second.set();
  first.set();

  auto one = set.wait_for(5s);
  auto two = set.wait_for(5s);
  auto three = set.wait_for(5s);
  CHECK(one.status == runtime::wait_status::fired);
  CHECK(two.status == runtime::wait_status::fired);
  CHECK(three.status == runtime::wait_status::fired);
  CHECK(one.cookie == 1u);
  CHECK(two.cookie == 2u);
  CHECK(three.cookie == 3u);
  CHECK(one.fired == first);
  CHECK(two.fired == second);
  CHECK(three.fired == third);
  CHECK(set.try_wait().status == runtime::wait_status::timed_out);
}

TEST_CASE("timers that expired together are delivered one per call") {
  runtime::wait_set set;
  runtime::timer early;
  runtime::timer late;
  auto now = runtime::clock::now();
  // Periodic, so each delivery consumes its tick and both get a turn.
  early.set_periodic(1h, now - 1ms);
  late.set_periodic(1h, now - 2ms);
  set.add(early, 1);
  set.add(late, 2);

  auto one = set.wait_for(5s);
  auto two = set.wait_for(5s);
  CHECK(one.status == runtime::wait_status::fired);
  CHECK(two.status == runtime::wait_status::fired);
  CHECK(one.cookie == 1u);
  CHECK(two.cookie == 2u);
  CHECK(set.try_wait().status == runtime::wait_status::timed_out);
}

TEST_CASE("a set manual-reset member is returned on every wait until reset") {
  runtime::wait_set set;
  runtime::event gate{runtime::reset_mode::manual};
  set.add(gate, 7);
  gate.set();
  for (int round = 0; round < 3; ++round) {
    auto result = set.wait_for(5s);
    CHECK(result.status == runtime::wait_status::fired);
    CHECK(result.cookie == 7u);
  }
  gate.reset();
  CHECK(set.try_wait().status == runtime::wait_status::timed_out);
}

TEST_CASE("an event set before it is added is delivered after the add") {
  runtime::wait_set set;
  runtime::event doorbell;
  doorbell.set();
  set.add(doorbell, 5);
  auto result = set.wait_for(5s);
  CHECK(result.status == runtime::wait_status::fired);
  CHECK(result.cookie == 5u);
  CHECK(result.fired == doorbell);
}

TEST_CASE("a never-set timer fires as soon as it is added") {
  runtime::wait_set set;
  runtime::timer never_set;
  set.add(never_set, 3);
  auto start = runtime::clock::now();
  auto result = set.wait_for(5s);
  CHECK(result.status == runtime::wait_status::fired);
  CHECK(result.cookie == 3u);
  CHECK(runtime::clock::now() - start < 2s);
}

TEST_CASE("a wait queue member is returned while non-empty") {
  runtime::wait_set set;
  runtime::wait_queue<int> queue;
  set.add(queue, 9);
  queue.push(1);
  queue.push(2);
  auto result = set.wait_for(5s);
  REQUIRE(result.status == runtime::wait_status::fired);
  CHECK(result.cookie == 9u);
  CHECK(queue.try_pop() == std::optional<int>{1});
  CHECK(set.wait_for(5s).status == runtime::wait_status::fired); // one left
  CHECK(queue.try_pop() == std::optional<int>{2});
  CHECK(set.try_wait().status == runtime::wait_status::timed_out);
}

TEST_CASE("adding the same waitable twice throws already_waiting") {
  runtime::wait_set set;
  runtime::event doorbell;
  set.add(doorbell, 1);
  CHECK(error_code_of([&] { set.add(doorbell, 2); }) == runtime::errc::already_waiting);
  // A copy of the handle is the same waitable.
  runtime::waitable same = doorbell;
  CHECK(error_code_of([&] { set.add(same, 3); }) == runtime::errc::already_waiting);
  CHECK(set.size() == 1);

  // The first registration is intact, cookie included.
  doorbell.set();
  auto result = set.wait_for(5s);
  CHECK(result.status == runtime::wait_status::fired);
  CHECK(result.cookie == 1u);
}

TEST_CASE("one waitable may be a member of two wait sets") {
  runtime::wait_set left;
  runtime::wait_set right;
  runtime::event gate{runtime::reset_mode::manual};
  left.add(gate, 1);
  right.add(gate, 2);
  gate.set();
  CHECK(left.wait_for(5s).cookie == 1u);
  CHECK(right.wait_for(5s).cookie == 2u);
}

TEST_CASE("adding an empty waitable throws invalid_argument, adding a closed one throws closed") {
  runtime::wait_set set;
  CHECK(error_code_of([&] { set.add(runtime::waitable{}, 1); }) == runtime::errc::invalid_argument);
  runtime::event closed_event;
  closed_event.close();
  CHECK(error_code_of([&] { set.add(closed_event, 1); }) == runtime::errc::closed);
  CHECK(set.size() == 0);
}

TEST_CASE("remove(): a removed member is not returned any more") {
  runtime::wait_set set;
  runtime::event kept;
  runtime::event removed;
  set.add(removed, 1);
  set.add(kept, 2);
  CHECK(set.remove(removed));
  CHECK_FALSE(set.remove(removed)); // not a member any more
  CHECK(set.size() == 1);

  removed.set();
  CHECK(set.wait_for(20ms).status == runtime::wait_status::timed_out);
  CHECK(removed.test()); // nobody consumed it

  kept.set();
  auto result = set.wait_for(5s);
  CHECK(result.status == runtime::wait_status::fired);
  CHECK(result.cookie == 2u);

  // It can be added again afterwards.
  set.add(removed, 3);
  auto again = set.wait_for(5s);
  CHECK(again.status == runtime::wait_status::fired);
  CHECK(again.cookie == 3u);
}

TEST_CASE("clear() removes every member") {
  runtime::wait_set set;
  runtime::event first;
  runtime::event second;
  set.add(first);
  set.add(second);
  set.clear();
  CHECK(set.size() == 0);
  first.set();
  second.set();
  CHECK(set.try_wait().status == runtime::wait_status::timed_out);
  CHECK(first.test());
  CHECK(second.test());
}

TEST_CASE("a waitable closed while in a wait set is never returned") {
  runtime::wait_set set;
  runtime::event closing;
  runtime::event other;
  set.add(closing, 1);
  set.add(other, 2);
  closing.set();
  closing.close();
  CHECK(closing.closed());
  // It leaves the set, as a destroyed handle left the original's wait set.
  CHECK(set.size() == 1u);
  CHECK(runtime::detail::access::state(closing)->waiter_count() == 1u);

  auto start = runtime::clock::now();
  auto result = set.wait_for(30ms);
  CHECK(result.status == runtime::wait_status::timed_out);
  CHECK(runtime::clock::now() - start >= 30ms);

  // The other members are unaffected.
  other.set();
  auto next = set.wait_for(5s);
  CHECK(next.status == runtime::wait_status::fired);
  CHECK(next.cookie == 2u);
  CHECK(set.try_wait().status == runtime::wait_status::timed_out);
  CHECK(runtime::detail::access::state(closing)->waiter_count() == 0u);
}

TEST_CASE("try_wait never blocks and reports timed_out when nothing is ready") {
  runtime::wait_set set;
  runtime::timer far;
  far.set(1h);
  set.add(far, 1);
  auto start = runtime::clock::now();
  auto result = set.try_wait();
  CHECK(result.status == runtime::wait_status::timed_out);
  CHECK_FALSE(static_cast<bool>(result.fired));
  CHECK(runtime::clock::now() - start < 1s);
}
