// Sample 15: a pipelined bulk loader on PostgreSQL, driven by an applet.
//
// The loader applet (on the scheduler "loader", one thread) owns a
// deferred-mode connection. It prepares one INSERT statement, then sends the
// rows as pipelines (PostgreSQL documentation, 55.2.4 "Pipelining") of
// --batch prepared inserts each, with a Sync every --sync-every of them: the
// statements of a pipeline go out at once, without waiting for each other's
// answers. One pipeline is out at a time (a connection runs one operation at
// a time); while the server works through it, the applet encodes the next
// one, so the connection waits neither for the encoding nor, within a
// pipeline, for round trips. The applet never blocks its thread: it waits,
// in preselect, on the connection's completion waitable and, when that
// fires, polls with timeout zero in postselect and starts what comes next.
//
// At the end the main thread checks with a SELECT that the table holds
// exactly the rows sent: their count, the sum of the ids, a checksum
// (the sum of id x length(payload)) computed on both ends, and every
// payload exactly as sent. It prints the rows per second and exits 0 only
// when all is right. The table is unique to the run and dropped.
//
// Usage: actorloop-sample-15-pg-bulk-loader [--conninfo STRING] [--rows N]
//          [--batch N] [--sync-every N] [--actorloop.schedulers=...]
// The connection string is libpq's (keyword/value or postgresql:// URI);
// what it leaves out comes from the PG* environment variables, as in libpq.

#include <actorloop/actors/applet.hpp>
#include <actorloop/netio/connection.hpp>
#include <actorloop/pg/connection.hpp>
#include <actorloop/runtime/engine.hpp>

#include <pg_sample_support.hpp>
#include <sample_support.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace actors = actorloop::actors;
namespace netio = actorloop::netio;
namespace pg = actorloop::pg;
namespace runtime = actorloop::runtime;
using namespace std::chrono_literals;
using sample::run_sql;
using sample::say;

namespace {

void print_usage() {
  std::fprintf(stderr, "usage: actorloop-sample-15-pg-bulk-loader [--conninfo STRING] [--rows N] "
                       "[--batch N] [--sync-every N] [engine options]\n");
}

/// The payload of row `id`; the final check compares every row with it.
std::string payload_of(std::int64_t id) {
  return "bulk row " + std::to_string(id);
}

/// What the loader and main share. Written by the loader, read by main
/// after `finished`; everything is under `mutex`.
struct load_report {
  std::mutex mutex;
  std::condition_variable changed;
  bool finished = false;
  std::string problem;            ///< empty when all went well
  std::int64_t rows_loaded = 0;   ///< rows the server confirmed (INSERT 0 1 each)
  std::int64_t pipelines = 0;
  std::chrono::steady_clock::time_point first_sent;
  std::chrono::steady_clock::time_point last_confirmed;

  void finish(std::string why = {}) {
    std::lock_guard guard{mutex};
    finished = true;
    problem = std::move(why);
    changed.notify_all();
  }
};

/// The loader applet: connect, prepare, send the rows pipeline after
/// pipeline (encoding the next while one is out), close.
class loader final : public actors::applet {
public:
  loader(netio::context& context, const pg::connection_options& options, std::string table,
         std::int64_t rows, std::int64_t batch, std::int64_t sync_every, load_report& report)
      : connection_(context, options), table_(std::move(table)), rows_(rows), batch_(batch),
        sync_every_(sync_every), report_(report) {
    connection_.set_server_message([this](pg::connection&, const pg::server_message& message) {
      if (message.is_error && problem_.empty())
        problem_ = "server: " + message.sqlstate + " " + message.message;
    });
  }

  void init(actors::applet_context& context) override {
    start(context, connection_.connect(), step::connecting);
  }

  void preselect(actors::applet_context& context) override {
    context.wait_on(connection_.completion_event());
  }

  runtime::waitable postselect(actors::applet_context& context,
                               const runtime::waitable&) override {
    // poll with timeout zero never blocks: it runs this connection's due
    // callbacks here and says whether an operation completed.
    for (;;) {
      auto polled = connection_.poll(0ms);
      if (polled.code != netio::retcode::succeed)
        break;
      completed(context, polled.status);
    }
    return {};
  }

private:
  enum class step { connecting, preparing, loading, closing, done };

  void start(actors::applet_context& context, netio::started_operation started, step next) {
    if (started.code != netio::retcode::pending) {
      give_up(context, "an operation did not start: " + connection_.last_error().text);
      return;
    }
    step_ = next;
  }

  void give_up(actors::applet_context& context, std::string why) {
    step_ = step::done;
    report_.finish(std::move(why));
    context.kill();
  }

  /// Encodes the next pipeline (rows next_id_ .. next_id_ + batch_ - 1) into
  /// `next_`; false when every row has been encoded.
  bool encode_next() {
    if (next_id_ > rows_)
      return false;
    next_ = pg::pipeline{};
    next_rows_ = 0;
    for (; next_id_ <= rows_ && next_rows_ < batch_; ++next_id_) {
      next_.execute_prepared("load", {next_id_, payload_of(next_id_)});
      if (++next_rows_ % sync_every_ == 0)
        next_.sync();
    }
    return true;
  }

  /// Sends the encoded pipeline, then encodes the one after it.
  void send_next(actors::applet_context& context) {
    out_rows_ = next_rows_;
    start(context, connection_.execute(std::move(next_)), step::loading);
    have_next_ = encode_next();
  }

  void completed(actors::applet_context& context, netio::retcode status) {
    std::optional<pg::query_result> result;
    if (step_ == step::preparing || step_ == step::loading)
      result = connection_.take_result();
    if (status != netio::retcode::succeed) {
      std::string why = result && result->error ? result->error->message
                        : !problem_.empty()     ? problem_
                                                : connection_.last_error().text;
      give_up(context, "a step failed: " + why);
      return;
    }
    switch (step_) {
    case step::connecting:
      start(context,
            connection_.prepare("load",
                                "INSERT INTO " + table_ + " (id, payload) VALUES ($1, $2)",
                                {20, 25}), // int8, text
            step::preparing);
      break;
    case step::preparing:
      have_next_ = encode_next();
      {
        std::lock_guard guard{report_.mutex};
        report_.first_sent = std::chrono::steady_clock::now();
      }
      if (have_next_)
        send_next(context);
      else
        start(context, connection_.close(), step::closing);
      break;
    case step::loading: {
      std::int64_t confirmed = 0;
      for (auto& statement : result->results)
        if (statement.status == pg::statement_status::completed &&
            statement.rows_affected() == 1)
          ++confirmed;
      if (confirmed != out_rows_ || static_cast<std::int64_t>(result->results.size()) != out_rows_) {
        give_up(context, "a pipeline of " + std::to_string(out_rows_) + " inserts confirmed " +
                           std::to_string(confirmed));
        return;
      }
      {
        std::lock_guard guard{report_.mutex};
        report_.rows_loaded += confirmed;
        ++report_.pipelines;
        report_.last_confirmed = std::chrono::steady_clock::now();
      }
      if (have_next_)
        send_next(context);
      else
        start(context, connection_.close(), step::closing);
      break;
    }
    case step::closing:
      step_ = step::done;
      report_.finish();
      context.kill();
      break;
    case step::done:
      break;
    }
  }

  pg::connection connection_;
  std::string table_;
  std::int64_t rows_;
  std::int64_t batch_;
  std::int64_t sync_every_;
  load_report& report_;
  step step_ = step::connecting;
  std::string problem_;
  std::int64_t next_id_ = 1;   ///< the first id not encoded yet
  pg::pipeline next_;          ///< encoded, not sent yet
  std::int64_t next_rows_ = 0; ///< its rows
  bool have_next_ = false;
  std::int64_t out_rows_ = 0;  ///< rows of the pipeline out
};

int run(int argc, char** argv) {
  auto conninfo = sample::take_option(argc, argv, "--conninfo").value_or("");
  auto rows = sample::take_number_option(argc, argv, "--rows").value_or(200000);
  auto batch = sample::take_number_option(argc, argv, "--batch").value_or(10000);
  auto sync_every = sample::take_number_option(argc, argv, "--sync-every").value_or(1000);
  runtime::engine engine{argc, argv};
  if (engine.help_printed())
    return 0;
  if (!engine.find_scheduler("loader"))
    engine.create_scheduler(runtime::scheduler_options{.name = "loader", .threads = 1});

  auto resolved = pg::resolve_options(conninfo);
  if (resolved.error)
    throw std::invalid_argument("--conninfo: " + resolved.detail);
  auto options = resolved.options;
  std::random_device seed;
  auto table = "bulk_load_" + std::to_string(::getpid()) + "_" + std::to_string(seed() % 1000000);

  netio::context sync_context{engine, {netio::io_mode::sync}};
  pg::connection admin{sync_context, options};
  if (admin.connect() != netio::retcode::succeed)
    throw std::runtime_error("cannot connect: " + admin.last_error().text);
  say("connected to PostgreSQL ", admin.parameter("server_version").value_or("?"), "; table ",
      table);
  run_sql(admin, "CREATE TABLE " + table + " (id int8 NOT NULL, payload text NOT NULL)");

  netio::context deferred_context{engine, {netio::io_mode::deferred}};
  load_report report;
  auto handle = actors::spawn_applet(
    engine, "loader",
    std::make_unique<loader>(deferred_context, options, table, rows, batch, sync_every, report),
    "loader");
  sample::checklist checks;
  bool finished = false;
  {
    std::unique_lock guard{report.mutex};
    finished = report.changed.wait_for(guard, 600s, [&] { return report.finished; });
  }
  checks.expect(finished, "the loader finished within 600 s");
  checks.expect(handle.wait_for(30s), "the loader applet ended");
  checks.expect(handle.exit_reason().is_normal(),
                "the loader ended normally: " + handle.exit_reason().message());
  {
    std::lock_guard guard{report.mutex};
    checks.expect(report.problem.empty(), "no problem: " + report.problem);
    checks.expect(report.rows_loaded == rows, "the server confirmed " +
                                                std::to_string(report.rows_loaded) + " of " +
                                                std::to_string(rows) + " inserts");
    if (report.rows_loaded > 0) {
      auto seconds =
        std::chrono::duration<double>(report.last_confirmed - report.first_sent).count();
      say("loaded ", report.rows_loaded, " rows in ", report.pipelines, " pipelines of up to ",
          batch, " (a Sync every ", sync_every, ") in ", seconds, " s: ",
          static_cast<long long>(static_cast<double>(report.rows_loaded) / seconds),
          " rows/s");
    }
  }

  // The table against what was sent, computed on both ends.
  std::int64_t id_sum = 0;
  std::int64_t checksum = 0;
  for (std::int64_t id = 1; id <= rows; ++id) {
    id_sum += id;
    checksum += id * static_cast<std::int64_t>(payload_of(id).size());
  }
  auto tally = run_sql(admin, "SELECT count(*) AS rows, coalesce(sum(id), 0)::int8 AS id_sum,"
                              " coalesce(sum(id * length(payload)), 0)::int8 AS checksum,"
                              " count(*) FILTER (WHERE payload = 'bulk row ' || id) AS right_rows,"
                              " count(DISTINCT id) AS distinct_ids"
                              " FROM " + table);
  auto& row = tally.results.at(0);
  say("table: ", row.text(0, "rows"), " rows, id sum ", row.text(0, "id_sum"), ", checksum ",
      row.text(0, "checksum"), " (expected ", rows, ", ", id_sum, ", ", checksum, ")");
  checks.expect(row.int64(0, "rows") == rows, "the table holds every row");
  checks.expect(row.int64(0, "distinct_ids") == rows, "every id once");
  checks.expect(row.int64(0, "id_sum") == id_sum, "the sum of the ids is right");
  checks.expect(row.int64(0, "checksum") == checksum, "the checksum is right");
  checks.expect(row.int64(0, "right_rows") == rows, "every payload is as sent");
  run_sql(admin, "DROP TABLE " + table);
  checks.expect(admin.close() == netio::retcode::succeed, "the admin connection closed");
  return checks.verdict();
}

} // namespace

int main(int argc, char** argv) {
  return sample::guarded_main([&] { return run(argc, argv); }, print_usage);
}
