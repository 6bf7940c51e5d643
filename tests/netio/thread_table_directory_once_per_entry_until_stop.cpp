// Source: Open Client Client-Library/C Reference Manual (version 15.0),
// Table 2-27 "Callback types and the thread they are invoked from".
// Client-Library (and the directory row of Table 2-27): a lookup resolves on
// the resolver thread, never blocking a caller or an I/O worker; the
// directory callback is called once per address while it answers continue,
// with the count of remaining entries; stop discards the rest; every call
// comes before the lookup completes (async) or returns (sync), on the
// thread the mode prescribes. An unknown host fails clearly.
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

namespace {

struct directory_log {
  std::vector<std::size_t> remaining;
  std::vector<netio::endpoint> addresses;
  std::vector<std::thread::id> threads;
};

} // namespace

TEST_CASE("sync: all entries on the calling thread before lookup returns") {
  runtime::engine engine;
  netio::context context{engine};
  netio::connection connection{context};
  directory_log log;
  connection.set_directory([&](netio::connection&, std::uint64_t, netio::retcode status,
                               std::size_t remaining, const netio::directory_entry& entry) {
    CHECK(status == netio::retcode::succeed);
    CHECK(entry.host == "localhost");
    log.remaining.push_back(remaining);
    log.addresses.push_back(entry.address);
    log.threads.push_back(std::this_thread::get_id());
    return netio::directory_action::continue_lookup;
  });
  REQUIRE(connection.lookup("localhost", 7542) == netio::retcode::succeed);
  REQUIRE_FALSE(log.remaining.empty());
  // remaining counts down to 1: total first, the current entry included.
  for (std::size_t index = 0; index < log.remaining.size(); ++index)
    CHECK(log.remaining[index] == log.remaining.size() - index);
  for (auto& address : log.addresses)
    CHECK(address.port == 7542);
  for (auto id : log.threads)
    CHECK(id == std::this_thread::get_id());
}

TEST_CASE("stop discards the remaining entries") {
  runtime::engine engine;
  netio::context context{engine};
  netio::connection connection{context};
  int calls = 0;
  connection.set_directory([&](netio::connection&, std::uint64_t, netio::retcode, std::size_t,
                               const netio::directory_entry&) {
    ++calls;
    return netio::directory_action::stop;
  });
  // "localhost" has at least one address; with two (::1 and 127.0.0.1) the
  // second must not be delivered.
  REQUIRE(connection.lookup("localhost") == netio::retcode::succeed);
  CHECK(calls == 1);
}

TEST_CASE("async: entries on the I/O worker, all before the completion") {
  runtime::engine engine;
  netio::context context{engine, {netio::io_mode::async}};
  netio::connection connection{context};
  thread_log log;
  connection.set_directory([&](netio::connection&, std::uint64_t, netio::retcode, std::size_t,
                               const netio::directory_entry&) {
    log.record("entry");
    return netio::directory_action::continue_lookup;
  });
  connection.set_completion([&](netio::connection&, netio::function_id function, netio::retcode status) {
    CHECK(function == netio::function_id::lookup);
    CHECK(status == netio::retcode::succeed);
    log.record("completion");
    return netio::retcode::succeed;
  });
  REQUIRE(connection.lookup("localhost") == netio::retcode::pending);
  REQUIRE(log.wait_for("completion", 1));
  auto order = log.order();
  REQUIRE(order.size() >= 2);
  CHECK(order.back() == "completion");
  for (auto id : log.threads_of("entry"))
    CHECK(id == connection.io_thread());
}

TEST_CASE("deferred: entries inside poll, on the polling thread") {
  runtime::engine engine;
  netio::context context{engine, {netio::io_mode::deferred}};
  netio::connection connection{context};
  thread_log log;
  connection.set_directory([&](netio::connection&, std::uint64_t, netio::retcode, std::size_t,
                               const netio::directory_entry&) {
    log.record("entry");
    return netio::directory_action::continue_lookup;
  });
  REQUIRE(connection.lookup("localhost") == netio::retcode::pending);
  REQUIRE(connection.completion_event().wait_for(20s));
  CHECK(log.count("entry") == 0);
  auto done = connection.poll(20s);
  CHECK(done.function == netio::function_id::lookup);
  CHECK(log.count("entry") >= 1);
  for (auto id : log.threads_of("entry"))
    CHECK(id == std::this_thread::get_id());
}

TEST_CASE("an unknown host fails with host_not_found") {
  runtime::engine engine;
  netio::context context{engine};
  netio::connection connection{context};
  CHECK(connection.lookup("no-such-host.invalid") == netio::retcode::fail);
  CHECK(connection.last_error().code == netio::errc::host_not_found);
  CHECK(connection.last_error().text.find("no-such-host.invalid") != std::string::npos);
}
