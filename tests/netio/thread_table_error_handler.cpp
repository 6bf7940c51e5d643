// Table 2-27, row "CS-Library error handler": context-level errors (a bad
// signal number, poll from inside a callback, exit with work pending) reach
// the context's error handler on the thread that provoked them.
// ctest-timeout: 30
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("error handler: the provoking thread") {
  runtime::engine engine;
  netio::context context{engine, {netio::io_mode::deferred}};
  thread_log log;
  std::vector<std::string> texts;
  std::mutex texts_mutex;
  context.set_error_handler([&](const netio::client_message& message) {
    log.record("error handler");
    std::lock_guard guard{texts_mutex};
    texts.push_back(message.text);
  });
  std::thread provoker{[&] {
    CHECK_THROWS_AS(context.set_signal(-3, [](int) {}), netio::error);
  }};
  auto provoker_id = provoker.get_id();
  provoker.join();
  REQUIRE(log.count("error handler") == 1);
  CHECK(log.threads_of("error handler").at(0) == provoker_id);
  CHECK(texts.at(0).find("-3") != std::string::npos);

  netio::connection connection{context};
  connection.set_completion([&](netio::connection& self, netio::function_id, netio::retcode) {
    CHECK(self.owner().poll(0ms).code == netio::retcode::fail);
    return netio::retcode::succeed;
  });
  CHECK(connection.wakeup(netio::function_id::user_first, netio::retcode::succeed) ==
        netio::retcode::succeed);
  REQUIRE(log.count("error handler") == 2);
  CHECK(log.threads_of("error handler").at(1) == std::this_thread::get_id());
  CHECK(texts.at(1).find("inside a callback") != std::string::npos);
}
