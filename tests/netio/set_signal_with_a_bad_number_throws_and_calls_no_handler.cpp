// set_signal with a number that is not a catchable signal throws
// netio::error (invalid_argument) naming the number, and reports nothing
// else: the error handler is not called, so the failure reaches the
// application once (the failure rule of docs/netio.md).
// ctest-timeout: 30
#include "netio_test_support.hpp"

#include <csignal>

using namespace netio_test;

TEST_CASE("set_signal(0) throws once and leaves the error handler silent") {
  runtime::engine engine;
  netio::context context{engine};
  int handler_calls = 0;
  context.set_error_handler([&](const netio::client_message&) { ++handler_calls; });
  for (int number : {0, -3, SIGKILL, SIGSTOP}) {
    CAPTURE(number);
    bool thrown = false;
    try {
      context.set_signal(number, [](int) {});
    } catch (const netio::error& failure) {
      thrown = true;
      CHECK(failure.code() == netio::errc::invalid_argument);
      CHECK(std::string{failure.what()}.find(std::to_string(number)) != std::string::npos);
    }
    CHECK(thrown);
    CHECK_FALSE(context.signal(number));
  }
  CHECK(handler_calls == 0);
}
