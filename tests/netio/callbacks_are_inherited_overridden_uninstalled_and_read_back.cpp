// Client-Library: context callbacks are inherited by connections made
// afterwards (not by earlier ones); a connection-level install overrides;
// installing an empty function uninstalls; `installed` reads back what is
// in place; a client message on a connection without a client-message
// callback goes to the context's callback.
// ctest-timeout: 30
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("callback installation follows Client-Library's rules") {
  runtime::engine engine;
  netio::context context{engine};
  netio::connection before{context};
  std::vector<std::string> calls;
  context.set_server_message([&](netio::connection&, const netio::server_message&) {
    calls.push_back("context server message");
  });
  context.set_client_message([&](netio::connection*, const netio::client_message& message) {
    calls.push_back("context client message: " + message.text);
    return netio::callback_result::succeed;
  });
  netio::connection after{context};
  CHECK_FALSE(before.installed().server_message);
  CHECK(after.installed().server_message);
  CHECK(context.installed().client_message);

  after.set_server_message([&](netio::connection&, const netio::server_message&) {
    calls.push_back("connection server message");
  });
  netio::connection& target = after;
  target.installed().server_message(target, netio::server_message{});
  REQUIRE(calls.size() == 1);
  CHECK(calls[0] == "connection server message");
  after.set_server_message(nullptr);
  CHECK_FALSE(after.installed().server_message);

  // No connection-level client-message callback: the context's hears it.
  CHECK(after.execute({"ECHO"}) == netio::retcode::fail); // not connected
  REQUIRE(calls.size() == 2);
  CHECK(calls[1].find("context client message") == 0);
  CHECK(calls[1].find("not connected") != std::string::npos);
  // The connection's own callback takes precedence once installed.
  after.set_client_message([&](netio::connection*, const netio::client_message&) {
    calls.push_back("connection client message");
    return netio::callback_result::succeed;
  });
  CHECK(after.execute({"ECHO"}) == netio::retcode::fail);
  REQUIRE(calls.size() == 3);
  CHECK(calls[2] == "connection client message");
}
