// COPY against a real PostgreSQL 15, in sync, deferred and async mode:
// COPY FROM STDIN takes 200 pieces of 1,000 rows from copy_in's source,
// asked once at a time on the thread the mode prescribes, with never more
// than copy_in_window bytes (plus one piece) waiting to be written; COPY
// TO STDOUT hands the same rows back to copy_out's callback in order, with
// the bytes received and not handed back bounded by the core's
// max_buffered_bytes (plus a chunk and a read). A source that throws
// sends CopyFail (the COPY fails with the reason, nothing stored), bad data
// fails the COPY with the server's error after which the source is not
// asked again, and the connection goes on.
// ctest-timeout: 240
#include "pg_mode_support.hpp"

using namespace pg_mode_test;

namespace {

std::string rows_piece(int piece) {
  std::string out;
  for (int row = piece * 1000; row < (piece + 1) * 1000; ++row)
    out += std::to_string(row) + "\tline " + std::to_string(row) + "\n";
  return out;
}

} // namespace

TEST_CASE("COPY streams in and out with backpressure in every mode") {
  throwaway_server server;
  engine_fixture fixture;
  constexpr int pieces = 200;
  constexpr std::size_t core_limit = 256 * 1024;
  for (auto mode : {netio::io_mode::sync, netio::io_mode::deferred, netio::io_mode::async}) {
    CAPTURE(netio::to_string(mode));
    netio::context context{fixture.engine, {mode}};
    netio::connection_options core;
    core.max_buffered_bytes = core_limit;
    pg::connection connection{context, server.options("trust_user", std::nullopt), core};
    mode_runner run{connection, mode};
    std::vector<pg::server_message> errors;
    std::mutex errors_mutex;
    // Both the source and the server-message callback run on the mode's thread.
    int bad_asked = 0, bad_asked_at_error = -1;
    connection.set_server_message([&](pg::connection&, const pg::server_message& message) {
      if (message.sqlstate == "22P02")
        bad_asked_at_error = bad_asked;
      std::lock_guard guard{errors_mutex};
      errors.push_back(message);
    });
    REQUIRE(run.finish(connection.connect()) == netio::retcode::succeed);
    (void)run.result_of(connection.execute("CREATE TEMP TABLE c(n int8, s text)"));
    auto expected_thread = run.callback_thread();

    // COPY FROM STDIN, pulled a piece at a time.
    int asked = 0, wrong_thread = 0;
    std::size_t largest_piece = 0;
    auto copied = run.result_of(connection.copy_in(
      "COPY c FROM STDIN", [&](pg::connection&) -> std::optional<std::string> {
        if (std::this_thread::get_id() != expected_thread)
          ++wrong_thread;
        if (asked == pieces)
          return std::nullopt;
        auto piece = rows_piece(asked++);
        largest_piece = std::max(largest_piece, piece.size());
        return piece;
      }));
    CHECK(asked == pieces);
    CHECK(wrong_thread == 0);
    REQUIRE(copied.results.size() == 1);
    CHECK(copied.results[0].command() == "COPY");
    CHECK(copied.results[0].rows_affected() == std::optional<std::uint64_t>{pieces * 1000});
    auto counters = connection.streaming();
    CHECK(counters.peak_copy_in_unsent > 0);
    CHECK(counters.peak_copy_in_unsent <= pg::copy_in_window + largest_piece + 16);

    // COPY TO STDOUT, handed over as it arrives.
    std::string received;
    std::size_t calls = 0, out_wrong_thread = 0;
    auto out = run.result_of(connection.copy_out(
      "COPY (SELECT n, s FROM c ORDER BY n) TO STDOUT", [&](pg::connection&, std::string_view data) {
        ++calls;
        if (std::this_thread::get_id() != expected_thread)
          ++out_wrong_thread;
        received.append(data);
      }));
    std::string all;
    for (int piece = 0; piece < pieces; ++piece)
      all += rows_piece(piece);
    CHECK(received.size() == all.size());
    CHECK(received == all);
    CHECK(calls > 1);
    CHECK(out_wrong_thread == 0);
    CHECK(out.results.at(0).rows_affected() == std::optional<std::uint64_t>{pieces * 1000});
    counters = connection.streaming();
    CHECK(counters.copy_out_bytes >= all.size());
    CHECK(counters.peak_copy_out_buffered <= core_limit + 2 * 64 * 1024 + 128 * 1024);

    // A source that throws: CopyFail with the reason; nothing stored.
    int thrown_after = 0;
    auto refused = run.result_of(
      connection.copy_in("COPY c FROM STDIN",
                         [&](pg::connection&) -> std::optional<std::string> {
                           if (thrown_after++ == 2)
                             throw std::runtime_error("the input file vanished");
                           return rows_piece(1000 + thrown_after);
                         }),
      netio::retcode::fail);
    REQUIRE(refused.error);
    CHECK(refused.error->sqlstate == "57014");
    CHECK(refused.error->message.find("the input file vanished") != std::string::npos);

    // Bad data: the server's error; the source is not asked after it.
    auto bad = run.result_of(
      connection.copy_in("COPY c FROM STDIN",
                         [&](pg::connection&) -> std::optional<std::string> {
                           ++bad_asked;
                           if (bad_asked > 1000)
                             return std::nullopt;
                           return std::string{"not-a-number\tx\n"};
                         }),
      netio::retcode::fail);
    REQUIRE(bad.error);
    CHECK(bad.error->sqlstate == "22P02");
    CHECK(bad_asked_at_error >= 1);
    CHECK(bad_asked == bad_asked_at_error);

    auto count = run.result_of(connection.execute("SELECT count(*) FROM c", {}));
    CHECK(count.results.at(0).int64(0, 0) == pieces * 1000);
    {
      std::lock_guard guard{errors_mutex};
      CHECK(errors.size() == 2);
    }
    REQUIRE(run.finish(connection.close()) == netio::retcode::succeed);
    // connect, create, copy in, copy out, refused, bad, count, close
    CHECK(run.completions() == (mode == netio::io_mode::sync ? 0 : 8));
  }
}
