// ctest-timeout: 60
// An applet uses a remote queue without blocking: it registers the pending
// lookup, then each pending push, as waitables in its preselect, and reads
// each result in its postselect. All its callbacks run on its own
// scheduler's thread, and the home queue receives the items in order.
#include "node_test_support.hpp"

using namespace node_test;

TEST_CASE("an applet waits on remote results by registering them like local events") {
  constexpr std::int64_t items = 5;
  al::nodes::enable();
  al::runtime::wait_queue<std::int64_t> inbox{2, "inbox"};
  al::runtime::engine home_engine{small_engine()};
  al::nodes::node home{home_engine, {.name = "home", .listen = "127.0.0.1:0"}};
  home.export_queue("inbox", inbox);

  al::runtime::engine away_engine{small_engine()};
  auto client_loop = away_engine.create_scheduler({.name = "client", .threads = 1});
  al::nodes::node away{away_engine, {.name = "away", .listen = {}}};
  auto peer = away.connect("127.0.0.1", home.port()).get();

  actorloop_test::thread_id_set client_threads;
  std::vector<std::string> errors; // only the applet's thread touches it
  al::nodes::pending<al::nodes::remote_queue<std::int64_t>> lookup;
  al::nodes::remote_queue<std::int64_t> remote;
  al::nodes::operation push;
  std::int64_t next = 1;
  std::size_t dispatches = 0;
  auto applet = al::actors::spawn_applet(
      away_engine, client_loop,
      al::actors::applet_callbacks{
          .name = "client",
          .init =
              [&](al::actors::applet_context&) {
                client_threads.insert();
                lookup = peer.lookup_queue<std::int64_t>("inbox");
              },
          .preselect =
              [&](al::actors::applet_context& context) {
                client_threads.insert();
                context.clear_wait();
                context.wait_on(push ? al::runtime::waitable{push} : al::runtime::waitable{lookup});
              },
          .postselect = [&](al::actors::applet_context& context,
                            const al::runtime::waitable& fired) -> al::runtime::waitable {
            client_threads.insert();
            ++dispatches;
            if (fired == lookup) {
              remote = lookup.get(); // complete: does not block
            } else if (auto code = push.error()) {
              errors.push_back(push.error_message());
              if (code != al::nodes::errc::queue_full) {
                context.kill();
                return {};
              }
              --next; // full: the item was not queued, send it again
            } else if (next > items) {
              context.kill();
              return {};
            }
            push = remote.try_push(next++);
            return {};
          }});

  // Drain the home queue (capacity 2) from this thread while the applet pushes.
  std::vector<std::int64_t> received;
  while (received.size() < static_cast<std::size_t>(items))
    received.push_back(inbox.pop());
  REQUIRE(applet.wait_for(20s));
  CHECK(received == std::vector<std::int64_t>{1, 2, 3, 4, 5});
  for (auto& each : errors)
    CHECK(each.find("full") != std::string::npos); // only queue_full, retried
  CHECK(dispatches == 1 + static_cast<std::size_t>(items) + errors.size());
  auto threads = client_loop.thread_ids();
  for (auto id : client_threads.snapshot())
    CHECK(id == threads.front());
}
