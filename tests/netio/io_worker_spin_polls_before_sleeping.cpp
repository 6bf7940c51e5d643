// An I/O worker with io_pool_options::spin polls its sockets and its
// mailbox for that long each time it goes idle, before it sleeps in
// epoll_wait. What arrives during a spin is handled by the poll
// (io_worker_stats::spins_found_work); every request still gets exactly its
// row and its completion; a timer due within the spin ends it (a 200 ms
// login timeout fires although the spin is 30 s); the engine stops without
// waiting for a spin to run out; a worker without spin never spins; and
// "spin=" is parsed as the scheduler options' spin is, a negative one refused.
// ctest-timeout: 60
#include "server_test_support.hpp"

using namespace netio_test;
using server_test::raw_client;
using server_test::read_outcome;

namespace {

/// Longer than the test: only work, a timer or the engine's stop ends a spin.
constexpr auto long_spin = std::chrono::seconds(30);

void start_one_worker(runtime::engine& engine, runtime::duration spin) {
  netio::io_pool_options pool;
  pool.workers = 1;
  pool.spin = spin;
  netio::start_io_workers(engine, pool);
}

/// Sends `count` ECHO requests one at a time and counts what comes back.
void echo_one_at_a_time(raw_client& client, int count) {
  int rows = 0;
  int completions = 0;
  for (int index = 0; index < count; ++index) {
    auto id = static_cast<std::uint64_t>(index + 1);
    client.request(id, {"ECHO", "spin " + std::to_string(index)});
    for (bool done = false; !done;) {
      netio::message answer;
      REQUIRE(client.read_message(answer) == read_outcome::message);
      REQUIRE(answer.request_id == id);
      if (auto* row = std::get_if<netio::result_row>(&answer.body)) {
        CHECK(row->columns == std::vector<std::string>{"spin " + std::to_string(index)});
        ++rows;
      } else if (auto* end = std::get_if<netio::completion>(&answer.body)) {
        CHECK(end->status == netio::completion_status::succeeded);
        ++completions;
        done = true;
      }
    }
  }
  CHECK(rows == count);
  CHECK(completions == count);
}

} // namespace

TEST_CASE("a spinning I/O worker hands over what arrives while it spins") {
  runtime::engine engine;
  start_one_worker(engine, long_spin);
  netio::message_server server{engine, {}};
  raw_client client{server.local_endpoint()};
  client.login();
  // Each request is sent after the previous completion was read, so the
  // worker has gone idle (and spins) before most of them arrive.
  echo_one_at_a_time(client, 100);
  auto stats = netio::io_worker_statistics(engine).at(0);
  CAPTURE(stats.spins);
  CAPTURE(stats.spins_found_work);
  CHECK(stats.spins_found_work >= 1);
  CHECK(stats.spins >= stats.spins_found_work);
  server.stop(std::chrono::seconds(5));
  // The engine's destructor stops the worker in the middle of a 30 s spin.
}

TEST_CASE("a timer due within the spin ends it") {
  runtime::engine engine;
  start_one_worker(engine, long_spin);
  netio::server_options options;
  options.login_timeout = std::chrono::milliseconds(200);
  netio::message_server server{engine, options};
  // The read limit is a third of the spin: a spin that ignored the login
  // timer would keep the close back for 30 s and fail the read.
  raw_client silent{server.local_endpoint(), 0, std::chrono::seconds(10)};
  auto frames = silent.read_until_closed();
  REQUIRE_FALSE(frames.empty());
  auto* said = std::get_if<netio::server_message>(&frames.back().body);
  REQUIRE(said != nullptr);
  CHECK(said->code == netio::server_codes::login_timed_out);
  CHECK(server.statistics().login_timeouts == 1);
  CHECK(netio::io_worker_statistics(engine).at(0).spins >= 1);
  server.stop(std::chrono::seconds(5));
}

TEST_CASE("a worker without spin sleeps at once") {
  runtime::engine engine;
  start_one_worker(engine, runtime::duration::zero());
  netio::message_server server{engine, {}};
  raw_client client{server.local_endpoint()};
  client.login();
  echo_one_at_a_time(client, 20);
  auto stats = netio::io_worker_statistics(engine).at(0);
  CHECK(stats.spins == 0);
  CHECK(stats.spins_found_work == 0);
  server.stop(std::chrono::seconds(5));
}

TEST_CASE("spin is parsed as the scheduler's spin, and a negative one is refused") {
  // (Spin texts that do not parse are among io_workers_are_pinned_...'s bad options.)
  CHECK(netio::io_pool_options::parse("spin=50us").spin == std::chrono::microseconds(50));
  CHECK(netio::io_pool_options::parse("workers=2:spin=2ms").spin == std::chrono::milliseconds(2));
  CHECK(netio::io_pool_options::parse("workers=2").spin == runtime::duration::zero());
  runtime::engine engine;
  netio::io_pool_options negative;
  negative.spin = std::chrono::microseconds(-1);
  try {
    netio::start_io_workers(engine, negative);
    FAIL("a negative spin was accepted");
  } catch (const netio::error& failure) {
    CHECK(failure.code() == netio::errc::invalid_argument);
    CHECK(std::string{failure.what()}.find("spin") != std::string::npos);
  }
}
