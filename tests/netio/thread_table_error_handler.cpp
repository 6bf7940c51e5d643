// Source: Open Client Client-Library/C Reference Manual (version 15.0),
// Table 2-27 "Callback types and the thread they are invoked from".
// Table 2-27, row "CS-Library error handler": context-level errors (poll
// from inside a callback, exit with work pending) reach the context's error
// handler on the thread that provoked them. (A bad signal number throws
// instead: set_signal_with_a_bad_number_throws_and_calls_no_handler.)
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
  netio::connection connection{context};
  connection.set_completion([&](netio::connection& self, netio::function_id, netio::retcode) {
    CHECK(self.owner().poll(0ms).code == netio::retcode::fail);
    return netio::retcode::succeed;
  });
  // A plain thread provokes one: poll from inside a callback it runs.
  std::thread provoker{[&] {
    CHECK(connection.wakeup(netio::function_id::user_first, netio::retcode::succeed) ==
          netio::retcode::succeed);
  }};
  auto provoker_id = provoker.get_id();
  provoker.join();
  REQUIRE(log.count("error handler") == 1);
  CHECK(log.threads_of("error handler").at(0) == provoker_id);
  CHECK(texts.at(0).find("inside a callback") != std::string::npos);
  // And this thread provokes the next one.
  CHECK(connection.wakeup(netio::function_id::user_first, netio::retcode::succeed) ==
        netio::retcode::succeed);
  REQUIRE(log.count("error handler") == 2);
  CHECK(log.threads_of("error handler").at(1) == std::this_thread::get_id());
  CHECK(texts.at(1).find("inside a callback") != std::string::npos);
}
