// A chunked fetch asks the server for the next chunk (Execute, Flush)
// before it hands the chunk that just ended to fetch_options::on_rows, in
// every mode, so the server produces chunk k+1 while the client works
// through chunk k (still at most two chunks held: k in on_rows, k+1
// arriving). A scripted server on loopback sends chunks of two rows, each
// ended by PortalSuspended, and records when each next Execute arrives;
// the first on_rows call waits (at most 10 s each) for the second Execute
// and for the second chunk to be sent (so that it waits in the socket),
// the second call for the third Execute. In async mode on_rows runs on the
// I/O worker, which used to send the next Execute only after on_rows
// returned (the server then sat idle during every chunk's on_rows), and
// then counted a chunk as returned only in a task posted to itself, so the
// second chunk, read in the same pass, still saw the first one out and
// held the third Execute back until its own on_rows had returned.
// ctest-timeout: 120
#include "pg_fake_server.hpp"
#include "pg_mode_support.hpp"
#include "pg_wire_support.hpp"

#include <condition_variable>
#include <mutex>

using namespace pg_mode_test;

namespace {

/// What the scripted server saw; shared with on_rows.
struct fetch_script {
  std::mutex mutex;
  std::condition_variable changed;
  int executes = 0;           // Execute messages received
  bool second_chunk_sent = false;
  std::string problem;

  void note(bool execute) {
    std::lock_guard guard{mutex};
    if (execute)
      ++executes;
    else
      second_chunk_sent = true;
    changed.notify_all();
  }
  bool wait_for_executes(int count) {
    std::unique_lock guard{mutex};
    return changed.wait_for(guard, 10s, [&] { return executes >= count; });
  }
  bool wait_for_second_chunk() {
    std::unique_lock guard{mutex};
    return changed.wait_for(guard, 10s, [&] { return second_chunk_sent; });
  }
  void fail(std::string text) {
    std::lock_guard guard{mutex};
    if (problem.empty())
      problem = std::move(text);
  }
};

std::string data_row(const std::string& value) {
  return pg_test::wire('D').i16(1).i32(static_cast<std::int32_t>(value.size())).raw(value).bytes();
}

/// Reads messages until one of type `type`; false when the client ended first.
bool read_until(int fd, char type) {
  for (;;) {
    auto message = pg_fake::read_typed(fd);
    if (message.empty())
      return false;
    if (message[0] == type)
      return true;
  }
}

void play(fetch_script& plan, int fd) {
  using pg_test::wire;
  if (pg_fake::read_untyped(fd).empty())
    return;
  pg_fake::send_all(fd, wire('R').i32(0).bytes() + wire('K').i32(7).i32(1).bytes() +
                          wire('Z').u8('I').bytes());
  // Parse, Bind, Describe, Execute (row limit 2), Flush.
  if (!read_until(fd, 'H'))
    return plan.fail("no Flush after the first Execute");
  plan.note(true);
  auto description = wire('T').i16(1).str("label").i32(0).i16(0).i32(25).i16(-1).i32(-1).i16(1);
  pg_fake::send_all(fd, wire('1').bytes() + wire('2').bytes() + description.bytes() +
                          data_row("row 1") + data_row("row 2") + wire('s').bytes());
  auto execute_then_flush = [&](const char* which) {
    auto next = pg_fake::read_typed(fd);
    if (next.empty() || next[0] != 'E') {
      plan.fail(std::string{"the message after PortalSuspended is not the "} + which + " Execute");
      return false;
    }
    plan.note(true);
    if (!read_until(fd, 'H')) {
      plan.fail(std::string{"no Flush after the "} + which + " Execute");
      return false;
    }
    return true;
  };
  if (!execute_then_flush("second"))
    return;
  pg_fake::send_all(fd, data_row("row 3") + data_row("row 4") + wire('s').bytes());
  plan.note(false);
  if (!execute_then_flush("third"))
    return;
  pg_fake::send_all(fd, data_row("row 5") + wire('C').str("SELECT 1").bytes());
  if (!read_until(fd, 'S'))
    return plan.fail("no Sync after CommandComplete");
  pg_fake::send_all(fd, wire('Z').u8('I').bytes());
  read_until(fd, 'X'); // Terminate
}

} // namespace

TEST_CASE("a chunked fetch asks for the next chunk before on_rows runs in every mode") {
  engine_fixture fixture;
  for (auto mode : {netio::io_mode::sync, netio::io_mode::deferred, netio::io_mode::async}) {
    CAPTURE(netio::to_string(mode));
    fetch_script plan;
    pg_fake::server scripted{[&](int fd, int) { play(plan, fd); }};
    auto options = pg_fake::plain_options(scripted);
    netio::context context{fixture.engine, {mode}};
    pg::connection connection{context, options};
    mode_runner run{connection, mode};
    REQUIRE(run.finish(connection.connect()) == netio::retcode::succeed);

    // Touched by on_rows only, which runs on one thread; read after the completion.
    std::vector<std::string> labels;
    int calls = 0;
    bool second_in_time = false, second_chunk_in_time = false, third_in_time = false;
    pg::fetch_options fetch;
    fetch.rows_per_chunk = 2;
    fetch.on_rows = [&](pg::connection&, const pg::result& rows) {
      ++calls;
      if (calls == 1) {
        second_in_time = plan.wait_for_executes(2);
        second_chunk_in_time = plan.wait_for_second_chunk();
      } else if (calls == 2) {
        third_in_time = plan.wait_for_executes(3);
      }
      for (std::size_t row = 0; row < rows.row_count(); ++row)
        labels.emplace_back(rows.text(row, 0));
    };
    auto fetched = run.result_of(connection.execute("SELECT label FROM t", {}, fetch));
    CHECK(second_in_time);
    CHECK(second_chunk_in_time);
    CHECK(third_in_time);
    CHECK(calls == 3);
    CHECK(labels == std::vector<std::string>{"row 1", "row 2", "row 3", "row 4", "row 5"});
    REQUIRE(fetched.results.size() == 1);
    CHECK(fetched.results[0].command_tag == "SELECT 5");
    CHECK(run.finish(connection.close()) == netio::retcode::succeed);
    CHECK(run.problems().empty());
    std::lock_guard guard{plan.mutex};
    CHECK(plan.problem.empty());
    CHECK(plan.executes == 3);
  }
}
