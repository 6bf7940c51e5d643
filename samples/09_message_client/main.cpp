// Sample 09: a client that runs one session against actorloop-server in the
// I/O mode given, and prints which thread ran each callback.
//
// The session: connect; ECHO; ROWS 3; an unknown command (a server message);
// SUBSCRIBE to a channel unique to this run (several copies may share one
// server); PUBLISH there (a notification back to ourselves); close.
// In sync mode the calls block on this thread; in deferred mode they return
// pending and this thread polls, so every callback runs here; in async mode
// the callbacks run on the connection's I/O worker.
//
// Usage: actorloop-sample-09-message-client --connect HOST:PORT
//          --mode sync|deferred|async [--password TEXT]
// Exits 0 only if every expected callback arrived, on the expected thread.

#include <actorloop/netio/connection.hpp>
#include <actorloop/runtime/engine.hpp>

#include <sample_support.hpp>

#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace netio = actorloop::netio;
namespace runtime = actorloop::runtime;
using sample::say;

namespace {

struct tally {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, int> counts;
  int wrong_thread = 0;
  int completions = 0;
};

} // namespace

int main(int argc, char** argv) {
  try {
    auto where = sample::take_option(argc, argv, "--connect");
    auto mode_text = sample::take_option(argc, argv, "--mode").value_or("sync");
    auto password = sample::take_option(argc, argv, "--password").value_or("");
    if (!where)
      throw std::invalid_argument("--connect HOST:PORT is required");
    netio::io_mode mode;
    if (mode_text == "sync")
      mode = netio::io_mode::sync;
    else if (mode_text == "deferred")
      mode = netio::io_mode::deferred;
    else if (mode_text == "async")
      mode = netio::io_mode::async;
    else
      throw std::invalid_argument("--mode must be sync, deferred or async, not '" + mode_text + "'");

    runtime::engine engine{argc, argv};
    netio::context context{engine, {mode}};
    netio::connection connection{context};
    auto main_thread = std::this_thread::get_id();
    tally seen;
    auto record = [&](const std::string& kind) {
      auto here = std::this_thread::get_id();
      bool on_worker = here == connection.io_thread();
      auto expected = mode == netio::io_mode::async ? connection.io_thread() : main_thread;
      say("callback ", kind, " on ", on_worker ? "the I/O worker" : here == main_thread ? "the main thread" : "another thread");
      std::lock_guard guard{seen.mutex};
      ++seen.counts[kind];
      if (here != expected)
        ++seen.wrong_thread;
      seen.changed.notify_all();
    };
    connection.set_completion([&](netio::connection&, netio::function_id function, netio::retcode status) {
      record(std::string{"completion("} + std::string{netio::to_string(function)} + "," +
             std::string{netio::to_string(status)} + ")");
      std::lock_guard guard{seen.mutex};
      ++seen.completions;
      seen.changed.notify_all();
      return netio::retcode::succeed;
    });
    connection.set_server_message([&](netio::connection&, const netio::server_message& message) {
      record("server_message");
      say("  server says (", netio::to_string(message.level), " ", message.code, "): ", message.text);
    });
    connection.set_notification([&](netio::connection&, const netio::notification& note) {
      record("notification");
      say("  notification on '", note.channel, "': ", note.payload);
    });
    connection.set_client_message([&](netio::connection*, const netio::client_message& message) {
      record("client_message");
      say("  client message: ", message.text);
      return netio::callback_result::succeed;
    });

    int operations = 0;
    // Runs one operation to completion in whatever mode the connection has.
    auto run = [&](auto&& start) -> netio::retcode {
      auto code = start();
      if (code != netio::retcode::pending)
        return code;
      ++operations;
      if (mode == netio::io_mode::deferred) {
        auto done = connection.poll(std::chrono::seconds(20));
        return done.code == netio::retcode::succeed ? done.status : netio::retcode::fail;
      }
      std::unique_lock guard{seen.mutex};
      if (!seen.changed.wait_for(guard, std::chrono::seconds(20),
                                 [&] { return seen.completions >= operations; }))
        return netio::retcode::timed_out;
      return netio::retcode::succeed;
    };
    netio::connect_options connect;
    connect.password = password;
    bool ok = true;
    auto expect = [&](bool condition, const char* what) {
      if (!condition) {
        say("FAILED: ", what);
        ok = false;
      }
    };
    expect(run([&] { return connection.connect(netio::endpoint::parse(*where), connect); }) == netio::retcode::succeed, "connect");
    expect(run([&] { return connection.execute({"ECHO", "hello", "world"}); }) == netio::retcode::succeed, "ECHO");
    auto echoed = connection.take_result();
    expect(echoed && echoed->rows.size() == 1 && echoed->rows[0].columns.size() == 2, "ECHO row");
    expect(run([&] { return connection.execute({"ROWS", "3"}); }) == netio::retcode::succeed, "ROWS");
    auto rows = connection.take_result();
    expect(rows && rows->rows.size() == 3, "ROWS count");
    (void)run([&] { return connection.execute({"NO-SUCH-COMMAND"}); });
    (void)connection.take_result();
    // Unique to this process and moment: copies running side by side on one
    // server must not see each other's notifications.
    const std::string channel = "news-" + std::to_string(::getpid()) + "-" +
                                std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    expect(run([&] { return connection.execute({"SUBSCRIBE", channel}); }) == netio::retcode::succeed, "SUBSCRIBE");
    (void)connection.take_result();
    expect(run([&] { return connection.execute({"PUBLISH", channel, "from " + mode_text}); }) == netio::retcode::succeed, "PUBLISH");
    (void)connection.take_result();
    expect(run([&] { return connection.close(); }) == netio::retcode::succeed, "close");

    std::lock_guard guard{seen.mutex};
    bool asynchronous = mode != netio::io_mode::sync;
    // Sync mode reports completions as return values, not callbacks.
    expect(seen.completions == (asynchronous ? operations : 0), "one completion callback per operation");
    expect(seen.counts["server_message"] == 1, "one server message");
    expect(seen.counts["notification"] == 1, "one notification");
    expect(seen.counts["client_message"] == 0, "no client message");
    expect(seen.wrong_thread == 0, "every callback on the thread the mode prescribes");
    say(mode_text, " session: ", ok ? "every expected callback arrived" : "FAILED");
    return ok ? 0 : 1;
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "actorloop-sample-09-message-client: %s\n", failure.what());
    return 2;
  }
}
