// Sample 11: a supervision tree for a small service that survives crashes.
//
//   service (rest_for_one, scheduler "service")
//   |- cache     stores every computed answer and sends the reply
//   |- listener  takes requests from the client and hands them to the pool
//   `- pool      (simple_one_for_one, scheduler "service") with W dynamic
//                workers on scheduler "workers" (2 threads)
//
// Every Nth request handled anywhere in the pool makes its worker throw. The
// worker's destroy (which still runs) tells the client that its request died
// with it; the client sends that request again. The pool restarts the worker
// from a fresh instance and prints each restart with its reason. At the end
// the sample prints the tree's statistics, checks that every request got
// exactly one answer (and the right one), shuts the tree down in order and
// exits 0.
//
// Usage: actorloop-sample-11-supervision-tree [--requests N] [--every N]
//          [--workers N] [--actorloop.schedulers=...]

#include <actorloop/actors/supervisor.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/wait_queue.hpp>

#include <sample_support.hpp>

#include <atomic>
#include <cstdio>
#include <condition_variable>
#include <exception>
#include <future>
#include <mutex>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace runtime = actorloop::runtime;
namespace actors = actorloop::actors;
using namespace std::chrono_literals;

namespace {

struct request {
  int id = 0;
  long key = 0;
};

struct computed {
  request asked;
  long value = 0;
};

struct reply {
  int id = 0;
  bool worker_died = false;
  long value = 0;
  std::string detail;
};

long compute(long key) {
  return key * key + 1;
}

/// The queues that connect the parts; they outlive every restart.
struct wiring {
  runtime::wait_queue<request> inbox{runtime::wait_queue<request>::unbounded, "inbox"};
  runtime::wait_queue<request> work{runtime::wait_queue<request>::unbounded, "work"};
  runtime::wait_queue<computed> to_cache{runtime::wait_queue<computed>::unbounded, "to-cache"};
  runtime::wait_queue<reply> replies{runtime::wait_queue<reply>::unbounded, "replies"};
  std::atomic<long> handled{0}; // requests taken by any worker
  long every = 10;
};

/// Hands each request from the client to the pool's shared work queue.
class listener final : public actors::applet {
public:
  explicit listener(wiring& wires) : wires_(wires) {}
  void preselect(actors::applet_context& context) override {
    if (!context.waiting_on(wires_.inbox))
      context.add_wait(wires_.inbox);
  }
  runtime::waitable postselect(actors::applet_context&, const runtime::waitable&) override {
    if (auto next = wires_.inbox.try_pop())
      wires_.work.push(*next);
    return {};
  }

private:
  wiring& wires_;
};

/// Computes answers; every Nth request in the pool makes it throw.
class worker final : public actors::applet {
public:
  explicit worker(wiring& wires) : wires_(wires) {}
  void preselect(actors::applet_context& context) override {
    if (!context.waiting_on(wires_.work))
      context.add_wait(wires_.work);
  }
  runtime::waitable postselect(actors::applet_context&, const runtime::waitable&) override {
    auto next = wires_.work.try_pop(); // another worker may have taken it
    if (!next)
      return {};
    in_flight_ = *next;
    auto count = wires_.handled.fetch_add(1) + 1;
    if (count % wires_.every == 0)
      throw std::runtime_error("request " + std::to_string(next->id) + " is pool request #" +
                               std::to_string(count) + ", a multiple of " +
                               std::to_string(wires_.every));
    wires_.to_cache.push(computed{*next, compute(next->key)});
    in_flight_.reset();
    return {};
  }
  void destroy(actors::applet_context& context) override {
    // Runs after the throw too: the client must hear that this request died.
    if (in_flight_)
      wires_.replies.push(reply{in_flight_->id, true, 0, context.name() + " died with it"});
  }

private:
  wiring& wires_;
  std::optional<request> in_flight_; // fresh (empty) in every restarted instance
};

/// Remembers answers and replies to the client.
class cache final : public actors::applet {
public:
  explicit cache(wiring& wires) : wires_(wires) {}
  void preselect(actors::applet_context& context) override {
    if (!context.waiting_on(wires_.to_cache))
      context.add_wait(wires_.to_cache);
  }
  runtime::waitable postselect(actors::applet_context&, const runtime::waitable&) override {
    if (auto done = wires_.to_cache.try_pop()) {
      entries_[done->asked.key] = done->value;
      wires_.replies.push(reply{done->asked.id, false, done->value, {}});
    }
    return {};
  }
  std::string dump(const actors::applet_context&) const override {
    return "cache with " + std::to_string(entries_.size()) + " entries";
  }

private:
  wiring& wires_;
  std::map<long, long> entries_;
};

/// Counts the pool's restarts so main can wait for the last one.
class restart_counter {
public:
  void add() {
    std::lock_guard guard{mutex_};
    ++count_;
    grew_.notify_all();
  }
  [[nodiscard]] bool wait_for(std::size_t count, std::chrono::seconds limit) {
    std::unique_lock guard{mutex_};
    return grew_.wait_for(guard, limit, [&] { return count_ >= count; });
  }

private:
  std::mutex mutex_;
  std::condition_variable grew_;
  std::size_t count_ = 0;
};

void print_stats(const actors::supervisor_stats& stats, const std::string& indent) {
  sample::say(indent, "supervisor '", stats.name, "' (", actors::to_string(stats.strategy),
                "): ", stats.restarts, " restart(s)");
  for (auto& child : stats.children) {
    sample::say(indent, "  ", child.name, " [", actors::to_string(child.status), " on '",
                  child.scheduler, "'] restarts=", child.restarts,
                  child.ended > 0 ? ", last end: " + child.last_reason.message() : std::string{});
    if (child.supervisor)
      print_stats(child.supervisor.stats(), indent + "    ");
  }
}

int run(int argc, char** argv) {
  auto requests = static_cast<int>(sample::take_number_option(argc, argv, "--requests").value_or(120));
  auto every = sample::take_number_option(argc, argv, "--every").value_or(10);
  auto workers = sample::take_number_option(argc, argv, "--workers").value_or(4);
  if (every < 2) {
    std::fprintf(stderr, "--every must be at least 2 (every request would fail)\n");
    return 2;
  }
  runtime::engine engine{argc, argv};
  if (engine.help_printed())
    return 0;
  if (!engine.find_scheduler("service"))
    engine.create_scheduler(runtime::scheduler_options{.name = "service", .threads = 1});
  if (!engine.find_scheduler("workers"))
    engine.create_scheduler(runtime::scheduler_options{.name = "workers", .threads = 2});

  wiring wires;
  wires.every = every;

  actors::child_spec worker_spec;
  worker_spec.name = "worker";
  worker_spec.scheduler = "workers";
  worker_spec.make = [&wires] { return std::make_unique<worker>(wires); };

  actors::supervisor_spec pool;
  pool.name = "pool";
  pool.strategy = actors::restart_strategy::simple_one_for_one;
  pool.child_template = worker_spec;
  // Crashes come fast here: allow one restart per failing request.
  pool.intensity = {static_cast<std::size_t>(2 * requests / every + 2), 60s};
  restart_counter restarts;
  pool.on_event = [&restarts](const actors::supervisor_event& event) {
    if (event.what == actors::supervisor_event::kind::child_ended)
      sample::say("pool: ", event.child, " ended: ", event.reason.message());
    else if (event.what == actors::supervisor_event::kind::child_started && event.restarts > 0) {
      sample::say("pool: ", event.child, " restarted (restart #", event.restarts, ")");
      restarts.add();
    }
  };

  actors::supervisor_spec service;
  service.name = "service";
  service.strategy = actors::restart_strategy::rest_for_one;
  service.children.push_back(actors::child_spec{
    .name = "cache", .make = [&wires] { return std::make_unique<cache>(wires); },
    .scheduler = "service"});
  service.children.push_back(actors::child_spec{
    .name = "listener", .make = [&wires] { return std::make_unique<listener>(wires); },
    .scheduler = "service"});
  service.children.push_back(actors::supervisor_child(pool, "service"));
  // The pool is started in the service's first turn; its statistics entry
  // (published before the event) then carries the pool's controls.
  std::promise<void> pool_started;
  service.on_event = [&pool_started, once = std::make_shared<std::once_flag>()](
                       const actors::supervisor_event& event) {
    if (event.what == actors::supervisor_event::kind::child_started && event.child == "pool")
      std::call_once(*once, [&] { pool_started.set_value(); });
    else if (event.what == actors::supervisor_event::kind::child_ended)
      sample::say("service: ", event.child, " ended: ", event.reason.message());
  };
  auto started = pool_started.get_future();
  auto root = actors::spawn_supervisor(engine, "service", service);
  if (started.wait_for(10s) != std::future_status::ready) {
    std::fprintf(stderr, "the pool supervisor did not start\n");
    return 1;
  }
  auto pool_handle = root.stats().children.at(2).supervisor;
  for (long index = 0; index < workers; ++index)
    if (auto started_worker = pool_handle.start_child().get(); !started_worker) {
      std::fprintf(stderr, "%s\n", started_worker.message.c_str());
      return 1;
    }
  sample::say("service up: cache, listener and ", workers, " workers");

  std::vector<int> answers(static_cast<std::size_t>(requests), 0);
  std::vector<long> keys(static_cast<std::size_t>(requests));
  for (int id = 0; id < requests; ++id) {
    keys[static_cast<std::size_t>(id)] = id % 17;
    wires.inbox.push(request{id, keys[static_cast<std::size_t>(id)]});
  }
  int answered = 0;
  int retries = 0;
  bool ok = true;
  while (answered < requests) {
    auto next = wires.replies.pop_for(10s);
    if (!next) {
      std::fprintf(stderr, "no reply within 10 s (%d of %d answered)\n", answered, requests);
      return 1;
    }
    auto slot = static_cast<std::size_t>(next->id);
    if (next->worker_died) {
      ++retries;
      sample::say("client: request ", next->id, " lost (", next->detail, "), sending it again");
      wires.inbox.push(request{next->id, keys[slot]});
      continue;
    }
    if (next->value != compute(keys[slot])) {
      std::fprintf(stderr, "request %d: wrong answer %ld\n", next->id, next->value);
      ok = false;
    }
    if (++answers[slot] == 1)
      ++answered;
  }

  sample::say("all ", requests, " requests answered; ", retries, " retried after a worker died");
  // The client hears of a death from the worker's destroy, before the pool
  // has restarted it: wait for the pool to catch up before the statistics.
  if (!restarts.wait_for(static_cast<std::size_t>(retries), 10s)) {
    std::fprintf(stderr, "the pool did not restart every failed worker\n");
    return 1;
  }
  print_stats(root.stats(), "");
  sample::say("cache dump: ", root.stats().children[0].current.dump());
  auto pool_stats = pool_handle.stats();
  std::size_t worker_restarts = 0;
  for (auto& child : pool_stats.children)
    worker_restarts += child.restarts;

  root.shutdown();
  if (!root.wait_for(10s)) {
    std::fprintf(stderr, "the tree did not shut down\n");
    return 1;
  }
  // Nothing may arrive after the shutdown: no request was answered twice.
  while (auto extra = wires.replies.try_pop())
    if (!extra->worker_died)
      ++answers[static_cast<std::size_t>(extra->id)];
  for (int id = 0; id < requests; ++id)
    if (answers[static_cast<std::size_t>(id)] != 1) {
      std::fprintf(stderr, "request %d got %d answers\n", id, answers[static_cast<std::size_t>(id)]);
      ok = false;
    }
  auto expected_failures = wires.handled.load() / every;
  if (static_cast<long>(retries) != expected_failures ||
      worker_restarts != static_cast<std::size_t>(expected_failures)) {
    std::fprintf(stderr, "%d retries and %zu restarts for %ld failures\n", retries,
                 worker_restarts, expected_failures);
    ok = false;
  }
  if (!root.exit_reason().is_normal()) {
    std::fprintf(stderr, "the tree ended abnormally: %s\n", root.exit_reason().message().c_str());
    ok = false;
  }
  sample::say(ok ? "every request got exactly one answer; tree shut down in order"
                   : "CHECK FAILED");
  return ok ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& failure) {
    std::fprintf(stderr, "error: %s\n", failure.what());
    return 1;
  }
}
