// Sample 10: a small key-value service of its own, built on the embeddable
// message server (netio/server_handlers.hpp) instead of the demo commands.
//
//  - GET key / KEYS are answered at once, on the session's I/O worker,
//    from a store that many workers read;
//  - SET key value / DEL key are not applied on the I/O worker: each write,
//    with its reply handle, goes into a wait queue drained by ONE applet on
//    its own scheduler ("kv-writer"). That applet is the only writer, so
//    writes are applied in one order; for each it publishes a notification
//    on "kv:<key>" and completes the reply once every watcher has it queued;
//  - WATCH key subscribes the session to "kv:<key>";
//  - login and close of each session are logged.
//
// Usage: actorloop-sample-10-kv-service [--listen HOST:PORT] [--self-test]
//   --self-test: listen on a free loopback port, run a watcher and a writer
//   client against the service, check every answer and notification, stop,
//   and exit 0 only if all was as expected (the sample's smoke test).

#include <actorloop/actors/applet.hpp>
#include <actorloop/netio/connection.hpp>
#include <actorloop/netio/io_pool.hpp>
#include <actorloop/netio/server.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/wait_queue.hpp>

#include <sample_support.hpp>

#include <condition_variable>
#include <csignal>
#include <exception>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace netio = actorloop::netio;
namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;
using namespace std::chrono_literals;
using sample::say;

namespace {

/// The data: read by every I/O worker, written only by the writer applet.
class store {
public:
  std::optional<std::string> get(const std::string& key) const {
    std::shared_lock guard{mutex_};
    auto found = values_.find(key);
    if (found == values_.end())
      return std::nullopt;
    return found->second;
  }
  std::vector<std::pair<std::string, std::string>> all() const {
    std::shared_lock guard{mutex_};
    return {values_.begin(), values_.end()};
  }
  void set(const std::string& key, const std::string& value) {
    std::unique_lock guard{mutex_};
    values_[key] = value;
  }
  bool erase(const std::string& key) {
    std::unique_lock guard{mutex_};
    return values_.erase(key) != 0;
  }

private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::string> values_;
};

/// One write on its way to the writer applet, with the reply to finish.
struct write {
  enum class kind { set, erase } what;
  std::string key;
  std::string value;
  netio::reply answer;
};

using write_queue = runtime::wait_queue<write>;

/// The only writer: applies writes in queue order, tells the watchers, and
/// completes each reply once the notification is queued with all of them.
class writer_applet final : public actors::applet {
public:
  writer_applet(write_queue writes, store& data, netio::message_server*& server)
    : writes_(std::move(writes)), data_(data), server_(server) {}

  void preselect(actors::applet_context& context) override {
    if (!context.waiting_on(writes_))
      context.add_wait(writes_);
  }

  actors::waitable postselect(actors::applet_context&, const actors::waitable&) override {
    while (auto next = writes_.try_pop()) {
      std::string event;
      if (next->what == write::kind::set) {
        data_.set(next->key, next->value);
        event = "set " + next->value;
      } else if (data_.erase(next->key)) {
        event = "deleted";
      } else {
        next->answer.fail(4040, "DEL: no key '" + next->key + "'");
        continue;
      }
      auto answer = next->answer;
      auto done = next->what == write::kind::set ? "stored" : "deleted";
      server_->publish("kv:" + next->key, event, [answer, done](std::size_t watchers) {
        answer.succeed(std::string{done} + ", " + std::to_string(watchers) + " watcher(s) told");
      });
    }
    return {};
  }

private:
  write_queue writes_;
  store& data_;
  netio::message_server*& server_;
};

netio::server_handlers kv_handlers(store& data, write_queue writes) {
  netio::server_handlers handlers;
  handlers.on("GET", [&data](const std::vector<std::string>& arguments, netio::reply answer) {
    if (arguments.size() != 2)
      return (void)answer.fail(netio::server_codes::wrong_arguments, "expected GET <key>");
    auto value = data.get(arguments[1]);
    if (!value)
      return (void)answer.fail(4040, "GET: no key '" + arguments[1] + "'");
    answer.row({arguments[1], *value});
    answer.succeed("GET");
  });
  handlers.on("KEYS", [&data](const std::vector<std::string>&, netio::reply answer) {
    auto everything = data.all();
    for (auto& [key, value] : everything)
      answer.row({key, value});
    answer.succeed(std::to_string(everything.size()) + " keys");
  });
  // The handlers run concurrently on several I/O workers: each call pushes
  // through its own copy of the queue handle (the queue itself is shared).
  handlers.on("SET", [writes](const std::vector<std::string>& arguments, netio::reply answer) {
    if (arguments.size() != 3 || arguments[1].empty())
      return (void)answer.fail(netio::server_codes::wrong_arguments, "expected SET <key> <value>");
    auto queue = writes;
    queue.push({write::kind::set, arguments[1], arguments[2], answer});
  });
  handlers.on("DEL", [writes](const std::vector<std::string>& arguments, netio::reply answer) {
    if (arguments.size() != 2 || arguments[1].empty())
      return (void)answer.fail(netio::server_codes::wrong_arguments, "expected DEL <key>");
    auto queue = writes;
    queue.push({write::kind::erase, arguments[1], {}, answer});
  });
  handlers.on("WATCH", [](const std::vector<std::string>& arguments, netio::reply answer) {
    if (arguments.size() != 2 || arguments[1].empty())
      return (void)answer.fail(netio::server_codes::wrong_arguments, "expected WATCH <key>");
    answer.subscribe("kv:" + arguments[1]);
    answer.succeed("watching " + arguments[1]);
  });
  handlers.on_login([](const netio::session_info& who) {
    say("session ", who.id, " logged in: ", who.client_name, " from ", who.peer);
  });
  handlers.on_close([](const netio::session_info& who, std::error_code, const std::string& why) {
    say("session ", who.id, " closed: ", why);
  });
  return handlers;
}

/// The smoke test: a watcher and a writer against the running service.
bool self_test(runtime::engine& engine, const netio::endpoint& where) {
  bool ok = true;
  auto expect = [&](bool condition, const std::string& what) {
    say(condition ? "ok: " : "FAILED: ", what);
    ok = ok && condition;
  };
  netio::context context{engine};
  netio::connection watcher{context};
  netio::connection writer{context};
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> seen;
  watcher.set_async_notifications(true);
  watcher.set_notification([&](netio::connection&, const netio::notification& note) {
    std::lock_guard guard{mutex};
    seen.push_back(note.channel + " " + note.payload);
    changed.notify_all();
  });
  expect(watcher.connect(where) == netio::retcode::succeed, "watcher connects");
  expect(writer.connect(where) == netio::retcode::succeed, "writer connects");
  expect(watcher.execute({"WATCH", "colour"}) == netio::retcode::succeed, "WATCH colour");
  (void)watcher.take_result();
  auto run = [&](std::vector<std::string> command) {
    auto code = writer.execute(command);
    auto result = writer.take_result();
    return std::make_pair(code, result ? *result : netio::result{});
  };
  auto [set1, r1] = run({"SET", "colour", "red"});
  expect(set1 == netio::retcode::succeed && r1.outcome.text == "stored, 1 watcher(s) told",
         "SET colour red: " + r1.outcome.text);
  auto [set2, r2] = run({"SET", "colour", "blue"});
  expect(set2 == netio::retcode::succeed, "SET colour blue: " + r2.outcome.text);
  auto [get, r3] = run({"GET", "colour"});
  expect(get == netio::retcode::succeed && r3.rows.size() == 1 && r3.rows[0].columns.at(1) == "blue",
         "GET colour gives blue");
  auto [del, r4] = run({"DEL", "colour"});
  expect(del == netio::retcode::succeed && r4.outcome.text == "deleted, 1 watcher(s) told",
         "DEL colour: " + r4.outcome.text);
  auto [missing, r5] = run({"GET", "colour"});
  expect(missing != netio::retcode::succeed || r5.outcome.status == netio::completion_status::failed,
         "GET colour after DEL fails: " + r5.outcome.text);
  auto [unknown, r6] = run({"INCR", "colour"});
  expect(r6.outcome.status == netio::completion_status::failed, "INCR is unknown: " + r6.outcome.text);
  {
    // Each write completed only once its notification was queued with the
    // watcher, so all three are on their way; wait for them to arrive.
    std::unique_lock guard{mutex};
    changed.wait_for(guard, 20s, [&] { return seen.size() >= 3; });
    expect(seen == std::vector<std::string>{"kv:colour set red", "kv:colour set blue", "kv:colour deleted"},
           "the watcher saw the three writes in order");
  }
  (void)writer.close();
  (void)watcher.close();
  return ok;
}

} // namespace

int main(int argc, char** argv) {
  netio::block_signals({SIGTERM, SIGINT});
  try {
    bool test = sample::take_flag(argc, argv, "--self-test");
    auto listen = sample::take_option(argc, argv, "--listen").value_or(test ? "127.0.0.1:0" : "127.0.0.1:7543");
    runtime::engine engine{argc, argv};
    runtime::scheduler_options writer_scheduler;
    writer_scheduler.name = "kv-writer";
    (void)engine.create_scheduler(writer_scheduler);

    store data;
    write_queue writes;
    netio::message_server* server_for_applet = nullptr;
    netio::server_options options;
    options.listen = netio::endpoint::parse(listen);
    options.server_name = "kv-service";
    options.handlers = kv_handlers(data, writes);
    netio::message_server server{engine, options};
    server_for_applet = &server;
    auto writer = actors::spawn_applet(engine, "kv-writer",
                                       std::make_unique<writer_applet>(writes, data, server_for_applet),
                                       "kv writer");
    say("listening on ", server.local_endpoint().to_string());

    int status = 0;
    if (test) {
      status = self_test(engine, server.local_endpoint()) ? 0 : 1;
    } else {
      std::mutex mutex;
      std::condition_variable stop_requested;
      int stop_signal = 0;
      netio::context signals{engine};
      for (int number : {SIGTERM, SIGINT})
        signals.set_signal(number, [&](int received) {
          std::lock_guard guard{mutex};
          stop_signal = received;
          stop_requested.notify_all();
        });
      std::unique_lock guard{mutex};
      stop_requested.wait(guard, [&] { return stop_signal != 0; });
    }
    server.stop(2s);
    writer.kill();
    // The applet uses `server`: let it be gone before `server` is.
    (void)writer.wait_for(10s);
    auto stats = server.statistics();
    say("stats: requests=", stats.requests, " completions=", stats.completions,
        " notifications_delivered=", stats.notifications_delivered);
    say(status == 0 ? "kv service: stopped cleanly" : "kv service: FAILED");
    return status;
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "actorloop-sample-10-kv-service: %s\n", failure.what());
    return 2;
  }
}
