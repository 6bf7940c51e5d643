// A node process for the nodes tests. It listens (from its command line,
// e.g. --actorloop.node.listen=127.0.0.1:0), exports
//   "bell"    an auto-reset event that the applet "worker" waits on,
//   "numbers" a wait_queue<std::int64_t> of capacity 4 that nobody drains
//             until told to,
//   "worker"  that applet,
// prints "listening on PORT" and then obeys one command per line on stdin:
//   drain        prints "drained N sum S" after taking every queued number
//   kill-worker  kills the worker, prints "worker gone" once it is
//   fail-worker  makes the worker's next postselect throw "boom requested"
//   stats        prints "stats peers=P lookups_served=L failures=F"
//   close-numbers  closes "numbers", prints "numbers closed"
//   release      makes every spawned "probe" applet's next postselect throw
//                "probe LABEL released"
//   quit         (or end of input) stops the node and prints "bye"
// The worker prints "bell N" for the N-th time the bell rang.
// Other nodes may spawn applets of the registered type "probe" (one string
// argument, its label) on this node's schedulers "loop" and "default"; a
// probe prints "probe LABEL init on SCHEDULER own-thread=yes|no" (whether its
// init ran on one of that scheduler's threads) and then waits for "release".
#include <actorloop/actors/applet.hpp>
#include <actorloop/nodes/node.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/wait_queue.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace al = actorloop;

namespace {

// Lines printed from applet threads and the main thread never mix.
std::mutex print_mutex;

void say(const std::string& line) {
  std::lock_guard guard{print_mutex};
  std::cout << line << std::endl;
}

// Set by "release"; the probes wait on it (made before any probe exists).
al::runtime::event* probe_release = nullptr;

class probe final : public al::actors::applet {
public:
  explicit probe(std::string label) : label_(std::move(label)) {}
  void init(al::actors::applet_context& context) override {
    auto ids = context.scheduler().thread_ids();
    auto own = std::find(ids.begin(), ids.end(), std::this_thread::get_id()) != ids.end();
    say("probe " + label_ + " init on " + context.scheduler().name() +
        " own-thread=" + (own ? "yes" : "no"));
  }
  void preselect(al::actors::applet_context& context) override { context.wait_on(*probe_release); }
  al::runtime::waitable postselect(al::actors::applet_context&,
                                   const al::runtime::waitable&) override {
    throw std::runtime_error("probe " + label_ + " released");
  }

private:
  std::string label_;
};

struct probe_name {
  static constexpr const char* value = "probe";
};

// Commands of the push and spawn tests; false if `line` is none of them.
bool queue_and_spawn_command(const std::string& line,
                             al::runtime::wait_queue<std::int64_t>& numbers) {
  if (line == "close-numbers") {
    numbers.close();
    say("numbers closed");
    return true;
  }
  if (line == "release") {
    probe_release->set();
    say("released");
    return true;
  }
  return false;
}

} // namespace

int main(int argc, char** argv) {
  try {
    al::nodes::enable();
    al::nodes::register_applet_type<probe, probe_name, std::string>();
    al::runtime::engine engine{argc, argv};
    engine.create_scheduler({.name = "loop", .threads = 1});
    al::runtime::event release{al::runtime::reset_mode::manual, "release"};
    probe_release = &release;
    al::runtime::event bell{al::runtime::reset_mode::automatic, "bell"};
    al::runtime::wait_queue<std::int64_t> numbers{4, "numbers"};
    std::atomic<bool> fail_next{false};
    int rings = 0;
    auto worker = al::actors::spawn_applet(
        engine, "loop",
        al::actors::applet_callbacks{
            .name = "worker",
            .preselect = [&](al::actors::applet_context& context) { context.wait_on(bell); },
            .postselect = [&](al::actors::applet_context&,
                              const al::runtime::waitable&) -> al::runtime::waitable {
              if (fail_next.load())
                throw std::runtime_error("boom requested");
              std::cout << "bell " << ++rings << std::endl;
              return {};
            }});
    {
      al::nodes::node node{engine};
      node.export_event("bell", bell);
      node.export_queue("numbers", numbers);
      node.export_applet("worker", worker);
      std::cout << "listening on " << node.port() << std::endl;
      std::string line;
      while (std::getline(std::cin, line) && line != "quit") {
        if (line == "drain") {
          auto items = numbers.take_all();
          std::int64_t sum = 0;
          for (auto each : items)
            sum += each;
          std::cout << "drained " << items.size() << " sum " << sum << std::endl;
        } else if (line == "kill-worker") {
          worker.kill();
          worker.wait();
          std::cout << "worker gone" << std::endl;
        } else if (line == "fail-worker") {
          fail_next.store(true);
          bell.set();
          worker.wait();
          std::cout << "worker gone" << std::endl;
        } else if (line == "stats") {
          auto stats = node.statistics();
          std::cout << "stats peers=" << stats.peers << " lookups_served=" << stats.lookups_served
                    << " failures=" << stats.failures << std::endl;
        } else if (queue_and_spawn_command(line, numbers)) {
        } else {
          std::cout << "unknown command '" << line << "'" << std::endl;
        }
      }
    }
    worker.kill();
    worker.wait();
    std::cout << "bye" << std::endl;
    return 0;
  } catch (const std::exception& failure) {
    std::cout << "error: " << failure.what() << std::endl;
    return 1;
  }
}
