// Sample 13: a job queue on PostgreSQL, driven by LISTEN/NOTIFY.
//
// Producers (plain threads, each with a sync-mode connection) insert jobs
// into a table and NOTIFY a channel, both in one simple query, so the
// notification goes out when the row is committed. Worker applets (on the
// scheduler "workers", two threads) each own a deferred-mode connection that
// LISTENs on the channel with asynchronous notifications. A worker that is
// idle waits, in preselect, on its connection's notification waitable (and
// on a stop event); a worker with a query out waits on its completion
// waitable. No worker ever blocks a thread: it starts queries in postselect
// and polls with timeout zero when a waitable fires.
//
// Taking a job is a transaction in two round trips, the usual pattern:
//   BEGIN; SELECT id, n FROM <table> WHERE result IS NULL ORDER BY id
//          LIMIT 1 FOR UPDATE SKIP LOCKED
//   (the worker does the job: n squared)
//   UPDATE <table> SET result = .., taken_by = .., attempts = attempts + 1
//          WHERE id = ..; COMMIT
// SKIP LOCKED lets the workers take different jobs at once. A worker keeps
// taking jobs until none is left, then goes idle; a notification that came
// while it was busy makes it look again, so no job is stranded.
//
// At the end the sample checks that every job was processed exactly once
// (by the workers' own records and by the table: every row done, each with
// one attempt and the right result), prints the checklist and exits 0 only
// when all is right. Table and channel are unique to the run, and dropped.
//
// Usage: actorloop-sample-13-pg-job-queue [--conninfo STRING] [--jobs N]
//          [--workers N] [--producers N] [--actorloop.schedulers=...]
// The connection string is libpq's (keyword/value or postgresql:// URI);
// what it leaves out comes from the PG* environment variables, as in libpq.

#include <actorloop/actors/applet.hpp>
#include <actorloop/netio/connection.hpp>
#include <actorloop/pg/connection.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/event.hpp>

#include <pg_sample_support.hpp>
#include <sample_support.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace actors = actorloop::actors;
namespace netio = actorloop::netio;
namespace pg = actorloop::pg;
namespace runtime = actorloop::runtime;
using namespace std::chrono_literals;
using sample::run_sql;
using sample::say;

namespace {

void print_usage() {
  std::fprintf(stderr,
               "usage: actorloop-sample-13-pg-job-queue [--conninfo STRING] [--jobs N] "
               "[--workers N] [--producers N] [engine options]\n");
}

/// What the workers share with main: the names, the totals, and a place
/// to say how far they got. Counters are atomics; the rest is under `mutex`.
struct shared_state {
  std::string table;
  std::string channel;
  long jobs = 0;
  runtime::event stop{runtime::reset_mode::manual, "stop"};

  std::mutex mutex;
  std::condition_variable changed;
  int listening = 0;
  long done = 0;
  std::vector<std::string> problems;

  void add_listening() {
    std::lock_guard guard{mutex};
    ++listening;
    changed.notify_all();
  }
  void add_done() {
    std::lock_guard guard{mutex};
    ++done;
    changed.notify_all();
  }
  void add_problem(std::string text) {
    say("problem: ", text);
    std::lock_guard guard{mutex};
    problems.push_back(std::move(text));
    changed.notify_all();
  }
  template <class Predicate>
  bool wait_until(std::chrono::seconds limit, Predicate predicate) {
    std::unique_lock guard{mutex};
    return changed.wait_for(guard, limit,
                            [&] { return predicate() || !problems.empty(); }) &&
           problems.empty();
  }
};

/// What one worker did, read by main once the worker is gone.
struct worker_report {
  std::vector<std::int64_t> processed; ///< job ids, in the order it committed them
  long notifications = 0;
  long claims = 0;        ///< claim transactions started
  long empty_claims = 0;  ///< ... that found no job left
  bool closed = false;
};

/// A worker applet: LISTEN, then take jobs until none is left, then idle
/// until a notification (or the stop event) fires.
class worker final : public actors::applet {
public:
  worker(int number, netio::context& context, const pg::connection_options& options,
         shared_state& shared, worker_report& report)
      : number_(number), connection_(context, options, async_notifications()), shared_(shared),
        report_(report) {
    connection_.set_notification([this](pg::connection&, const pg::notification&) {
      // Runs here, inside poll, on this applet's thread.
      ++report_.notifications;
      look_again_ = true;
    });
    connection_.set_server_message([this](pg::connection&, const pg::server_message& message) {
      if (message.is_error)
        shared_.add_problem("worker " + std::to_string(number_) + ": server: " + message.sqlstate +
                            " " + message.message);
    });
    connection_.set_client_message([this](pg::connection*, const netio::client_message& problem) {
      shared_.add_problem("worker " + std::to_string(number_) + ": " + problem.text);
      return netio::callback_result::succeed;
    });
  }

  void init(actors::applet_context& context) override {
    start(context, connection_.connect(), step::connecting);
  }

  void preselect(actors::applet_context& context) override {
    if (step_ == step::idle) {
      context.wait_on(connection_.notification_event());
      context.wait_on(shared_.stop);
      context.remove_wait(connection_.completion_event());
    } else {
      context.wait_on(connection_.completion_event());
      context.remove_wait(connection_.notification_event());
      context.remove_wait(shared_.stop);
    }
  }

  runtime::waitable postselect(actors::applet_context& context,
                               const runtime::waitable& fired) override {
    if (fired == shared_.stop) {
      if (step_ == step::idle)
        start(context, connection_.close(), step::closing);
      return {};
    }
    // A completion or notifications: let poll (timeout zero, never blocks)
    // run this connection's due callbacks here, and handle what completed.
    for (;;) {
      auto polled = connection_.poll(0ms);
      if (polled.code != netio::retcode::succeed)
        break;
      completed(context, polled.status);
    }
    if (step_ == step::idle && look_again_)
      claim(context);
    return {};
  }

private:
  enum class step { connecting, listening, claiming, finishing, rolling_back, idle, closing };

  static netio::connection_options async_notifications() {
    netio::connection_options core;
    core.async_notifications = true; // read notifications while idle, too
    return core;
  }

  void start(actors::applet_context& context, netio::started_operation started, step next) {
    if (started.code != netio::retcode::pending) {
      give_up(context, "an operation did not start: " + connection_.last_error().text);
      return;
    }
    step_ = next;
  }

  void give_up(actors::applet_context& context, const std::string& why) {
    shared_.add_problem("worker " + std::to_string(number_) + ": " + why);
    context.kill();
  }

  void claim(actors::applet_context& context) {
    look_again_ = false;
    ++report_.claims;
    start(context,
          connection_.execute("BEGIN; SELECT id, n FROM " + shared_.table +
                              " WHERE result IS NULL ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"),
          step::claiming);
  }

  void completed(actors::applet_context& context, netio::retcode status) {
    std::optional<pg::query_result> result;
    if (step_ != step::connecting && step_ != step::closing)
      result = connection_.take_result();
    if (status != netio::retcode::succeed) {
      give_up(context, "a step failed: " +
                         (result && result->error ? result->error->message
                                                  : connection_.last_error().text));
      return;
    }
    switch (step_) {
    case step::connecting:
      start(context, connection_.execute("LISTEN " + shared_.channel), step::listening);
      break;
    case step::listening:
      shared_.add_listening();
      claim(context); // jobs may be there already
      break;
    case step::claiming: {
      auto& rows = result->results.at(1);
      if (rows.row_count() == 0) {
        ++report_.empty_claims;
        start(context, connection_.execute("ROLLBACK"), step::rolling_back);
        break;
      }
      job_ = rows.int64(0, "id");
      auto n = rows.int64(0, "n");
      // The job itself, done while the row is locked.
      auto answer = n * n;
      start(context,
            connection_.execute("UPDATE " + shared_.table + " SET result = " +
                                std::to_string(answer) + ", taken_by = " +
                                std::to_string(number_) + ", attempts = attempts + 1 WHERE id = " +
                                std::to_string(job_) + "; COMMIT"),
            step::finishing);
      break;
    }
    case step::finishing:
      report_.processed.push_back(job_);
      shared_.add_done();
      claim(context); // drain: take the next one at once
      break;
    case step::rolling_back:
      step_ = step::idle;
      break;
    case step::idle:
      break;
    case step::closing:
      report_.closed = true;
      context.kill();
      break;
    }
  }

  int number_;
  pg::connection connection_;
  shared_state& shared_;
  worker_report& report_;
  step step_ = step::connecting;
  bool look_again_ = false;
  std::int64_t job_ = 0;
};

int run(int argc, char** argv) {
  auto conninfo = sample::take_option(argc, argv, "--conninfo").value_or("");
  auto jobs = sample::take_number_option(argc, argv, "--jobs").value_or(200);
  auto workers = static_cast<int>(sample::take_number_option(argc, argv, "--workers").value_or(4));
  auto producers =
    static_cast<int>(sample::take_number_option(argc, argv, "--producers").value_or(2));
  runtime::engine engine{argc, argv};
  if (engine.help_printed())
    return 0;
  if (!engine.find_scheduler("workers"))
    engine.create_scheduler(runtime::scheduler_options{.name = "workers", .threads = 2});

  auto resolved = pg::resolve_options(conninfo);
  if (resolved.error)
    throw std::invalid_argument("--conninfo: " + resolved.detail);
  auto options = resolved.options;

  shared_state shared;
  shared.jobs = jobs;
  std::random_device seed;
  auto unique = std::to_string(::getpid()) + "_" + std::to_string(seed() % 1000000);
  shared.table = "job_queue_" + unique;
  shared.channel = "job_queue_" + unique;

  netio::context sync_context{engine, {netio::io_mode::sync}};
  pg::connection admin{sync_context, options};
  if (admin.connect() != netio::retcode::succeed)
    throw std::runtime_error("cannot connect: " + admin.last_error().text);
  say("connected to PostgreSQL ", admin.parameter("server_version").value_or("?"), "; table ",
      shared.table);
  run_sql(admin, "CREATE TABLE " + shared.table +
                   " (id bigserial PRIMARY KEY, n int8 NOT NULL, result int8,"
                   " taken_by int, attempts int NOT NULL DEFAULT 0)");

  // The workers: each LISTENs before any job is produced.
  netio::context deferred_context{engine, {netio::io_mode::deferred}};
  std::vector<worker_report> reports(static_cast<std::size_t>(workers));
  std::vector<actors::applet_handle> handles;
  for (int number = 0; number < workers; ++number)
    handles.push_back(actors::spawn_applet(
      engine, "workers",
      std::make_unique<worker>(number, deferred_context, options, shared,
                               reports[static_cast<std::size_t>(number)]),
      "worker-" + std::to_string(number)));
  sample::checklist checks;
  bool listening = shared.wait_until(30s, [&] { return shared.listening == workers; });
  checks.expect(listening, "every worker LISTENs");
  if (listening) {
    say(workers, " workers listening on ", shared.channel, " (scheduler 'workers')");

    // The producers: INSERT and NOTIFY in one simple query (one transaction).
    auto started = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    std::atomic<long> next{1};
    for (int producer = 0; producer < producers; ++producer)
      threads.emplace_back([&, producer] {
        try {
          pg::connection connection{sync_context, options};
          if (connection.connect() != netio::retcode::succeed)
            throw std::runtime_error(connection.last_error().text);
          for (long n = next++; n <= jobs; n = next++)
            run_sql(connection, "INSERT INTO " + shared.table + " (n) VALUES (" +
                                  std::to_string(n) + "); NOTIFY " + shared.channel + ", '" +
                                  std::to_string(n) + "'");
          (void)connection.close();
        } catch (const std::exception& failure) {
          shared.add_problem("producer " + std::to_string(producer) + ": " + failure.what());
        }
      });
    for (auto& thread : threads)
      thread.join();
    say(producers, " producers inserted ", jobs, " jobs");
    bool all_done = shared.wait_until(60s, [&] { return shared.done >= jobs; });
    auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    checks.expect(all_done, "every job processed within 60 s (" + std::to_string(shared.done) +
                              " of " + std::to_string(jobs) + ")");
    if (all_done)
      say("all ", jobs, " jobs processed in ", took, " s");
  }
  // Stop: idle workers close their connections and go.
  shared.stop.set();
  for (auto& handle : handles)
    checks.expect(handle.wait_for(30s), "a worker ended");
  for (auto& handle : handles)
    checks.expect(handle.exit_reason().is_normal(),
                  "worker ended normally: " + handle.exit_reason().message());

  // Exactly once, by the workers' records ...
  std::map<std::int64_t, int> seen;
  for (int number = 0; number < workers; ++number) {
    auto& report = reports[static_cast<std::size_t>(number)];
    say("worker ", number, ": ", report.processed.size(), " jobs, ", report.claims, " claims (",
        report.empty_claims, " found none), ", report.notifications, " notifications");
    checks.expect(report.closed, "worker " + std::to_string(number) + " closed its connection");
    for (auto id : report.processed)
      ++seen[id];
  }
  long once = 0;
  for (auto& [id, times] : seen)
    once += times == 1 ? 1 : 0;
  checks.expect(static_cast<long>(seen.size()) == jobs && once == jobs,
                "the workers processed " + std::to_string(seen.size()) + " distinct jobs, " +
                  std::to_string(once) + " exactly once, of " + std::to_string(jobs));
  // ... and by the table.
  auto tally = run_sql(admin, "SELECT count(*) AS rows, count(result) AS done,"
                              " count(*) FILTER (WHERE attempts = 1) AS once,"
                              " count(*) FILTER (WHERE result = n * n) AS right_answers"
                              " FROM " + shared.table);
  auto& row = tally.results.at(0);
  checks.expect(row.int64(0, "rows") == jobs, "the table holds every job");
  checks.expect(row.int64(0, "done") == jobs, "every row has its result");
  checks.expect(row.int64(0, "once") == jobs, "every row was taken exactly once");
  checks.expect(row.int64(0, "right_answers") == jobs, "every result is right");
  {
    std::lock_guard guard{shared.mutex};
    checks.expect(shared.problems.empty(), "no problems reported");
  }
  run_sql(admin, "DROP TABLE " + shared.table);
  checks.expect(admin.close() == netio::retcode::succeed, "the admin connection closed");
  return checks.verdict();
}

} // namespace

int main(int argc, char** argv) {
  return sample::guarded_main([&] { return run(argc, argv); }, print_usage);
}
