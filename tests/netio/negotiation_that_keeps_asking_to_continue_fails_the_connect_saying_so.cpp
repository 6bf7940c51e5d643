// A negotiation callback that answers `continue_negotiation` for ever is cut
// off after a bounded number of calls, and the failed connect says that it
// kept asking to continue; one that answers `fail` says that it failed the
// login. The two reasons are distinct.
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("negotiation failures name their reason: kept asking to continue, or failed") {
  netio::server_options options;
  options.negotiation.push_back({3, "knock knock", "who is there"});
  server_fixture fixture{options};
  netio::context context{fixture.engine};
  {
    netio::connection connection{context};
    int calls = 0;
    connection.set_negotiation([&](netio::connection&, std::uint32_t, std::string_view, std::string& answer) {
      ++calls;
      answer = "x";
      return netio::negotiation_result::continue_negotiation;
    });
    CHECK(connection.connect(fixture.address()) == netio::retcode::fail);
    CHECK(calls == 64);
    auto error = connection.last_error();
    CHECK(error.code == netio::errc::authentication_failed);
    CAPTURE(error.text);
    CHECK(error.text.find("kept asking to continue") != std::string::npos);
  }
  {
    netio::connection connection{context};
    int calls = 0;
    connection.set_negotiation([&](netio::connection&, std::uint32_t, std::string_view, std::string&) {
      ++calls;
      return netio::negotiation_result::fail;
    });
    CHECK(connection.connect(fixture.address()) == netio::retcode::fail);
    CHECK(calls == 1);
    auto error = connection.last_error();
    CHECK(error.code == netio::errc::authentication_failed);
    CAPTURE(error.text);
    CHECK(error.text.find("the negotiation callback failed the login") != std::string::npos);
    CHECK(error.text.find("kept asking") == std::string::npos);
  }
}
