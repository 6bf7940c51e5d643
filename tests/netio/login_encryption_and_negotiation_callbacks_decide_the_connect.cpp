// Source: Open Client Client-Library/C Reference Manual (version 15.0),
// Table 2-27 "Callback types and the thread they are invoked from".
// Client-Library (and the encryption/negotiation rows of Table 2-27): a
// server that asks for an encrypted password calls the encryption callback
// during connect (the library's default encryption when none is installed);
// anything but succeed fails the connect. A negotiation callback answering
// continue is called again, and its answers are joined. Each runs on the
// connect caller (sync), the polling thread (deferred) or the I/O worker
// (async).
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

namespace {

netio::server_options guarded_server() {
  netio::server_options options;
  options.password = "s3cret";
  options.negotiation.push_back({7, "what is two and two?", "four"});
  return options;
}

} // namespace

TEST_CASE("the default encryption logs in; a failing encryption callback fails connect") {
  server_fixture fixture{guarded_server()};
  netio::context context{fixture.engine};
  netio::connect_options options;
  options.password = "s3cret";
  {
    netio::connection connection{context};
    connection.set_negotiation([](netio::connection&, std::uint32_t, std::string_view, std::string& answer) {
      answer = "four";
      return netio::negotiation_result::succeed;
    });
    CHECK(connection.connect(fixture.address(), options) == netio::retcode::succeed);
  }
  {
    netio::connection connection{context};
    connection.set_encryption([](netio::connection&, std::string_view, std::string_view, std::string&) {
      return netio::callback_result::fail;
    });
    CHECK(connection.connect(fixture.address(), options) == netio::retcode::fail);
    CHECK(connection.last_error().code == netio::errc::authentication_failed);
  }
  {
    // A wrong answer is refused by the server, with a fatal server message.
    netio::connection connection{context};
    std::string server_said;
    connection.set_server_message([&](netio::connection&, const netio::server_message& message) {
      server_said = message.text;
    });
    connection.set_encryption([](netio::connection&, std::string_view, std::string_view, std::string& out) {
      out = "wrong";
      return netio::callback_result::succeed;
    });
    CHECK(connection.connect(fixture.address(), options) == netio::retcode::fail);
    CHECK(server_said.find("wrong encrypted password") != std::string::npos);
  }
}

TEST_CASE("encryption and negotiation callbacks run on the thread the mode prescribes") {
  server_fixture fixture{guarded_server()};
  for (auto mode : {netio::io_mode::sync, netio::io_mode::deferred, netio::io_mode::async}) {
    CAPTURE(netio::to_string(mode));
    netio::context context{fixture.engine, {mode}};
    netio::connection connection{context};
    thread_log log;
    connection.set_encryption([&](netio::connection&, std::string_view password, std::string_view key,
                                  std::string& out) {
      log.record("encryption");
      out = netio::default_password_encryption(password, key);
      return netio::callback_result::succeed;
    });
    int calls = 0;
    connection.set_negotiation([&](netio::connection&, std::uint32_t id, std::string_view challenge,
                                   std::string& answer) {
      CHECK(id == 7);
      CHECK(challenge == "what is two and two?");
      log.record("negotiation");
      // Two rounds: "fo" + "ur".
      answer = ++calls == 1 ? "fo" : "ur";
      return calls == 1 ? netio::negotiation_result::continue_negotiation
                        : netio::negotiation_result::succeed;
    });
    netio::connect_options options;
    options.password = "s3cret";
    connect_or_fail(connection, fixture.address(), options);
    CHECK(log.count("encryption") == 1);
    CHECK(log.count("negotiation") == 2);
    auto expected = mode == netio::io_mode::async ? connection.io_thread() : std::this_thread::get_id();
    for (auto& name : {"encryption", "negotiation"})
      for (auto id : log.threads_of(name))
        CHECK(id == expected);
  }
}
