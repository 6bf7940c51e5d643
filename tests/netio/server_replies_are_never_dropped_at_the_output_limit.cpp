// Nothing a session owes its client is lost at the output limit: an ECHO
// whose reply tips the output queue over the limit still gets its
// completion, and 1,000 pipelined 16 KiB ECHOs queued behind a SLEEP all
// complete, in order, when the client reads normally; STATS counts exactly
// what was sent.
// ctest-timeout: 90
#include "server_test_support.hpp"

using namespace netio_test;
using server_test::raw_client;
using server_test::read_outcome;

namespace {

/// Reads until the completion of `id`; returns the rows that came with it.
std::size_t rows_until_completion(raw_client& client, std::uint64_t id) {
  std::size_t rows = 0;
  for (;;) {
    netio::message next;
    REQUIRE(client.read_message(next) == read_outcome::message);
    if (next.request_id != id)
      continue;
    if (std::holds_alternative<netio::result_row>(next.body))
      ++rows;
    if (auto* done = std::get_if<netio::completion>(&next.body)) {
      CHECK(done->status == netio::completion_status::succeeded);
      return rows;
    }
  }
}

} // namespace

TEST_CASE("an ECHO whose reply crosses the output limit still gets its completion") {
  server_fixture fixture;
  for (std::size_t size : {std::size_t{4'194'192}, std::size_t{4'194'193}, std::size_t{6'000'000}}) {
    CAPTURE(size);
    raw_client client{fixture.address()};
    client.login();
    client.request(1, {"ECHO", std::string(size, 'x')});
    CHECK(rows_until_completion(client, 1) == 1);
  }
}

TEST_CASE("a SLEEP followed by 1,000 pipelined 16 KiB ECHOs completes every request") {
  server_fixture fixture;
  raw_client client{fixture.address()};
  client.login();
  client.request(1, {"SLEEP", "300"});
  const std::string payload(16 * 1024, 'p');
  // A writer thread, so that the client reads while it still sends (as a
  // normal pipelining client does).
  std::thread writer{[&] {
    for (std::uint64_t id = 2; id <= 1001; ++id)
      client.request(id, {"ECHO", payload});
  }};
  // On a failed check below: unblock the writer and join it before unwinding.
  struct join_writer {
    std::thread& thread;
    int fd;
    ~join_writer() {
      if (thread.joinable()) {
        ::shutdown(fd, SHUT_RDWR);
        thread.join();
      }
    }
  } guard{writer, client.fd()};
  std::uint64_t expected = 1;
  std::size_t rows = 0;
  while (expected <= 1001) {
    netio::message next;
    auto outcome = client.read_message(next);
    REQUIRE(outcome == read_outcome::message);
    if (std::holds_alternative<netio::result_row>(next.body))
      ++rows;
    if (auto* done = std::get_if<netio::completion>(&next.body)) {
      REQUIRE(next.request_id == expected); // in order, none missing
      CHECK(done->status == netio::completion_status::succeeded);
      ++expected;
    }
  }
  writer.join();
  CHECK(rows == 1000);
  // A completion is counted once its frame is written, so the figures can
  // move a moment after the client read the last one: wait for them.
  CHECK(fixture.server->wait_for_statistics(
    [](const netio::server_statistics& now) { return now.completions == 1001 && now.requests_in_flight == 0; },
    20s));
  auto stats = fixture.server->statistics();
  CHECK(stats.requests == 1001);
  CHECK(stats.completions == 1001);
  CHECK(stats.requests_in_flight == 0);
}
