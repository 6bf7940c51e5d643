// COPY FROM STDIN whose pieces (6 MiB) are larger than the socket's send
// buffer, between small ones, against a real PostgreSQL 15: a piece goes
// from the source's string to the socket with one gathered write after
// what waits in the output, so the socket takes only part of it and the
// rest must follow in order. Over TCP in every mode, over the Unix socket
// and over TLS (where the piece is buffered as before): the server stores
// every row (count, sum of ids, sum of lengths) and COPY TO STDOUT gives
// back exactly the bytes sent.
// ctest-timeout: 300
#include "pg_mode_support.hpp"

using namespace pg_mode_test;

namespace {

constexpr std::size_t big_piece = 6 * 1024 * 1024;

/// Rows first..: "id<TAB>text<NL>", the text varying with the id so a
/// lost, doubled or reordered stretch shows; at least `bytes` of them.
std::string rows_from(std::int64_t& next, std::size_t bytes) {
  std::string out;
  while (out.size() < bytes) {
    auto id = next++;
    out += std::to_string(id);
    out += '\t';
    out += "row ";
    out += std::to_string(id * 7919 % 100003);
    out.append(static_cast<std::size_t>(id % 61), static_cast<char>('a' + id % 26));
    out += '\n';
  }
  return out;
}

/// Small, big, small, big, small: the big ones arrive while the small
/// one's bytes may still wait in the output.
std::vector<std::string> make_pieces(std::int64_t& rows) {
  std::int64_t next = 1;
  std::vector<std::string> pieces;
  for (auto size : {std::size_t{10'000}, big_piece, std::size_t{300}, big_piece,
                    std::size_t{70'000}})
    pieces.push_back(rows_from(next, size));
  rows = next - 1;
  return pieces;
}

void copy_and_check(pg::connection& connection, mode_runner& run,
                    const std::vector<std::string>& pieces, std::int64_t rows) {
  (void)run.result_of(connection.execute("CREATE TEMP TABLE big(n int8, s text)"));
  std::size_t given = 0;
  auto copied = run.result_of(connection.copy_in(
    "COPY big FROM STDIN", [&](pg::connection&) -> std::optional<std::string> {
      if (given == pieces.size())
        return std::nullopt;
      return pieces[given++];
    }));
  CHECK(given == pieces.size());
  REQUIRE(copied.results.size() == 1);
  CHECK(copied.results[0].rows_affected() == std::optional<std::uint64_t>{static_cast<std::uint64_t>(rows)});

  std::string all;
  for (const auto& piece : pieces)
    all += piece;
  CHECK(connection.streaming().copy_in_bytes >= all.size());
  // The server's view: every row, id and byte of text.
  std::int64_t text_bytes = 0;
  for (std::int64_t id = 1; id <= rows; ++id)
    text_bytes += static_cast<std::int64_t>(4 + std::to_string(id * 7919 % 100003).size()) + id % 61;
  auto sums = run.result_of(
    connection.execute("SELECT count(*), sum(n)::int8, sum(length(s))::int8 FROM big", {}));
  CHECK(sums.results.at(0).int64(0, 0) == rows);
  CHECK(sums.results.at(0).int64(0, 1) == rows * (rows + 1) / 2);
  CHECK(sums.results.at(0).int64(0, 2) == text_bytes);
  // And the bytes, in order.
  std::string received;
  (void)run.result_of(connection.copy_out(
    "COPY (SELECT n, s FROM big ORDER BY n) TO STDOUT",
    [&](pg::connection&, std::string_view data) { received.append(data); }));
  CHECK(received.size() == all.size());
  CHECK(received == all);
  (void)run.result_of(connection.execute("DROP TABLE big"));
}

} // namespace

TEST_CASE("COPY FROM STDIN writes pieces larger than the socket buffer intact") {
  throwaway_server server;
  engine_fixture fixture;
  std::int64_t rows = 0;
  auto pieces = make_pieces(rows);

  for (auto mode : {netio::io_mode::sync, netio::io_mode::deferred, netio::io_mode::async}) {
    CAPTURE(netio::to_string(mode));
    netio::context context{fixture.engine, {mode}};
    pg::connection connection{context, server.options("trust_user", std::nullopt)};
    mode_runner run{connection, mode};
    REQUIRE(run.finish(connection.connect()) == netio::retcode::succeed);
    copy_and_check(connection, run, pieces, rows);
    REQUIRE(run.finish(connection.close()) == netio::retcode::succeed);
    // connect, create, copy in, sums, copy out, drop, close
    CHECK(run.completions() == (mode == netio::io_mode::sync ? 0 : 7));
  }

  for (bool tls : {false, true}) {
    CAPTURE(tls);
    netio::context context{fixture.engine, {netio::io_mode::async}};
    auto options = server.options("trust_user", std::nullopt, !tls);
    if (tls)
      options.sslmode = pg::ssl_mode::require;
    pg::connection connection{context, options};
    mode_runner run{connection, netio::io_mode::async};
    REQUIRE(run.finish(connection.connect()) == netio::retcode::succeed);
    CHECK(connection.tls_in_use() == tls);
    copy_and_check(connection, run, pieces, rows);
    REQUIRE(run.finish(connection.close()) == netio::retcode::succeed);
    CHECK(run.completions() == 7);
  }
}
