// Client-Library: wakeup calls the connection's completion callback on the
// calling thread with exactly the function id (user ids >= 10000 too) and
// status given, and returns what the callback returned.
// ctest-timeout: 30
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("wakeup passes its arguments through to the completion callback") {
  runtime::engine engine;
  netio::context context{engine, {netio::io_mode::deferred}};
  netio::connection connection{context};
  CHECK(connection.wakeup(netio::function_id::user_first, netio::retcode::succeed) ==
        netio::retcode::fail); // no callback installed
  std::vector<std::pair<std::int32_t, netio::retcode>> seen;
  std::thread::id where;
  netio::connection* who = nullptr;
  connection.set_completion([&](netio::connection& self, netio::function_id function, netio::retcode status) {
    seen.emplace_back(static_cast<std::int32_t>(function), status);
    where = std::this_thread::get_id();
    who = &self;
    return netio::retcode::canceled;
  });
  auto user = static_cast<netio::function_id>(10042);
  CHECK(connection.wakeup(user, netio::retcode::timed_out) == netio::retcode::canceled);
  CHECK(connection.wakeup(netio::function_id::execute, netio::retcode::succeed) == netio::retcode::canceled);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].first == 10042);
  CHECK(seen[0].second == netio::retcode::timed_out);
  CHECK(seen[1].first == 38);
  CHECK(where == std::this_thread::get_id());
  CHECK(who == &connection);
}
