// Open Client Client-Library/C Reference Manual, section "Restrictions on
// Client-Library calls in callbacks", Table 2-2 "Callbacks can call these
// Client-Library routines": a server-message,
// notification or client-message callback may read properties, set user
// data and cancel with attention, but starting an operation, cancel(all),
// poll or context exit there is refused with not_allowed_in_callback; a
// completion callback may start operations (but not poll).
// ctest-timeout: 60
#include "netio_test_support.hpp"

#include <any>

using namespace netio_test;

TEST_CASE("non-completion callbacks are limited; completion callbacks are not") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::async}};
  netio::connection connection{context};
  connect_or_fail(connection, fixture.address());
  std::vector<netio::retcode> inside;
  netio::errc refusal{};
  std::any data;
  actorloop_test::latch_counter done;
  connection.set_server_message([&](netio::connection& self, const netio::server_message&) {
    inside.push_back(self.execute({"ECHO", "from a server-message callback"}));
    refusal = static_cast<netio::errc>(self.last_error().code.value());
    inside.push_back(self.cancel(netio::cancel_kind::all));
    inside.push_back(self.poll(0ms).code);
    CHECK(self.owner().exit() == netio::errc::not_allowed_in_callback);
    inside.push_back(self.cancel(netio::cancel_kind::attention)); // allowed
    self.set_user_data(std::any{7});                              // allowed
    data = self.user_data();
    CHECK(self.mode() == netio::io_mode::async);                  // reading: allowed
  });
  int completions = 0;
  connection.set_completion([&](netio::connection& self, netio::function_id, netio::retcode) {
    // The first completion (the failed BOGUS) starts one more request.
    if (++completions == 1)
      CHECK(self.execute({"ECHO", "from the completion callback"}) == netio::retcode::pending);
    else
      done.increment();
    return netio::retcode::succeed;
  });
  REQUIRE(connection.execute({"BOGUS"}) == netio::retcode::pending);
  REQUIRE(done.wait_for_at_least(1, 20s));
  REQUIRE(inside.size() == 4);
  CHECK(inside[0] == netio::retcode::fail);
  CHECK(refusal == netio::errc::not_allowed_in_callback);
  CHECK(inside[1] == netio::retcode::fail);
  CHECK(inside[2] == netio::retcode::fail);
  CHECK(inside[3] == netio::retcode::succeed);
  CHECK(std::any_cast<int>(data) == 7);
  CHECK(completions == 2);
}
