// Nodes: two processes on loopback, ours against raw CAF BASP actors doing
// the same in the same run. The second process is this executable started
// again with --child; it hosts both the actorloop node and a raw CAF actor
// system with its own middleman, and obeys commands on its stdin.
//
//  remote_pingpong          an event ping-pong between an applet on a
//                           one-thread scheduler here and one on a one-thread
//                           scheduler in the child: each sets the other's
//                           exported event (remote_event::set) and waits on
//                           its own. Peer (alternative): two CAF event-based
//                           actors exchanging (atom, int64) over publish /
//                           remote_actor. µs per round trip. CAF 0.17 runs
//                           an actor that BASP delivers to on the
//                           middleman's thread, so this peer's round trip
//                           has no thread hand-off at all, while ours hands
//                           each delivery to the applet's own scheduler
//                           thread. A second peer (alternative) places the
//                           CAF actors as ours are: detached, each on a
//                           thread of its own.
//  remote_queue_throughput  int64 items pushed into a bounded wait_queue
//                           (capacity 1024) exported by the child, with
//                           push_all batches of 256 and at most 8 batches in
//                           flight, drained there by an applet (take_all).
//                           Peer (alternative): raw CAF anon_send of the same
//                           items, one message each, to a remote actor that
//                           counts them. Items per second from the first
//                           push to the child's report that it took the last
//                           one (a line on its stdout, the same for both).
// Same threads on both sides and in both processes: our engine has one
// default worker plus the one-thread scheduler of the applet, the CAF peer
// max-threads=2; each system has its middleman thread.
// cpu_s: CPU seconds of this (the sending) process over the measured span.
#include "bench_support.hpp"
#include "child_process.hpp"

#include <actorloop/actors/applet.hpp>
#include <actorloop/nodes/node.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/wait_queue.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <iostream>
#include <optional>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace al = actorloop;
using namespace std::chrono_literals;
using bench::bench_clock;
using bench::child_process;

namespace {

/// Voluntary plus involuntary context switches of this process so far.
long context_switches() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_nvcsw + usage.ru_nivcsw;
}

using ping_atom = caf::atom_constant<caf::atom("b_ping")>;
using pong_atom = caf::atom_constant<caf::atom("b_pong")>;
using start_atom = caf::atom_constant<caf::atom("b_start")>;

constexpr std::size_t queue_capacity = 1024;
constexpr std::size_t batch_size = 256;
constexpr std::size_t batches_in_flight = 8;

al::runtime::engine_options engine_options() {
  al::runtime::engine_options options;
  options.default_threads = 1;
  al::runtime::scheduler_options loop;
  loop.name = "loop";
  loop.threads = 1;
  options.schedulers.push_back(loop);
  return options;
}

/// The raw CAF side: its own actor system with a middleman, max-threads=2
/// (our engine: one default worker plus the applet's one-thread scheduler).
class caf_node {
public:
  caf_node() {
    config_.load<caf::io::middleman>();
    config_.set("scheduler.max-threads", static_cast<int64_t>(2));
    system_ = std::make_unique<caf::actor_system>(config_);
  }
  caf::actor_system& get() { return *system_; }

private:
  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
};

// -- the child process ------------------------------------------------------------------

void say(const std::string& line) {
  std::cout << line << std::endl;
}

int run_child() {
  al::nodes::enable();
  al::runtime::engine engine{engine_options()};
  caf_node raw;
  // What the consumers still expect; set by "expect N" before each run.
  std::atomic<std::int64_t> expected{0};

  // Ours: a ponger applet and a consumer applet on the one-thread scheduler.
  al::runtime::event ping{al::runtime::reset_mode::automatic, "ping"};
  al::runtime::wait_queue<std::int64_t> items{queue_capacity, "items"};
  std::optional<al::nodes::remote_event> pong; // set once "connect" came
  std::atomic<bool> pong_ready{false};
  std::int64_t taken = 0;
  auto ponger = al::actors::spawn_applet(
      engine, "loop",
      al::actors::applet_callbacks{
          .name = "ponger",
          .preselect = [&](al::actors::applet_context& context) { context.wait_on(ping); },
          .postselect = [&](al::actors::applet_context&,
                            const al::runtime::waitable&) -> al::runtime::waitable {
            if (pong_ready.load(std::memory_order_acquire))
              (void)pong->set();
            return {};
          }});
  auto consumer = al::actors::spawn_applet(
      engine, "loop",
      al::actors::applet_callbacks{
          .name = "consumer",
          .preselect = [&](al::actors::applet_context& context) { context.wait_on(items); },
          .postselect = [&](al::actors::applet_context&,
                            const al::runtime::waitable&) -> al::runtime::waitable {
            taken += static_cast<std::int64_t>(items.take_all().size());
            if (taken == expected.load()) {
              taken = 0;
              say("consumed");
            }
            return {};
          }});

  // Raw CAF: a ponger and a counter, published on their own ports.
  auto raw_ponger = raw.get().spawn([]() -> caf::behavior {
    return {[](ping_atom, std::int64_t n) { return caf::make_message(pong_atom::value, n); }};
  });
  auto raw_counter = raw.get().spawn([&expected](caf::event_based_actor* self) -> caf::behavior {
    auto count = std::make_shared<std::int64_t>(0);
    (void)self;
    return {[&expected, count](std::int64_t) {
      if (++*count == expected.load()) {
        *count = 0;
        say("consumed");
      }
    }};
  });
  auto raw_detached_ponger = raw.get().spawn<caf::detached>([]() -> caf::behavior {
    return {[](ping_atom, std::int64_t n) { return caf::make_message(pong_atom::value, n); }};
  });
  auto ponger_port = raw.get().middleman().publish(raw_ponger, 0, "127.0.0.1");
  auto detached_port = raw.get().middleman().publish(raw_detached_ponger, 0, "127.0.0.1");
  auto counter_port = raw.get().middleman().publish(raw_counter, 0, "127.0.0.1");
  if (!ponger_port || !counter_port || !detached_port)
    bench::fail("child: CAF publish failed");

  {
    al::nodes::node node{engine, {.name = "bench-child", .listen = "127.0.0.1:0"}};
    node.export_event("ping", ping);
    node.export_queue("items", items);
    say("listening " + std::to_string(node.port()) + " " + std::to_string(*ponger_port) + " " +
        std::to_string(*counter_port) + " " + std::to_string(*detached_port));
    std::string line;
    while (std::getline(std::cin, line) && line != "quit") {
      if (line.rfind("connect ", 0) == 0) {
        auto port = static_cast<std::uint16_t>(std::stoi(line.substr(8)));
        auto peer = node.connect("127.0.0.1", port).get();
        pong = peer.lookup_event("pong").get();
        pong_ready.store(true, std::memory_order_release);
        say("connected");
      } else if (line.rfind("expect ", 0) == 0) {
        expected.store(std::stoll(line.substr(7)));
        say("ready");
      }
    }
    pong_ready.store(false);
    ponger.kill();
    consumer.kill();
    ponger.wait();
    consumer.wait();
    pong.reset();
  }
  caf::anon_send_exit(raw_ponger, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(raw_detached_ponger, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(raw_counter, caf::exit_reason::user_shutdown);
  return 0;
}

// -- remote_pingpong --------------------------------------------------------------------

/// Ours: the pinger applet sets the child's "ping" and waits on our "pong",
/// which the child's ponger sets. Returns µs per round trip.
double ours_pingpong(al::runtime::engine& engine, al::runtime::event& pong,
                     const al::nodes::remote_event& ping, std::int64_t rounds, double& cpu_s) {
  al::runtime::event done{al::runtime::reset_mode::manual, "done"};
  std::int64_t count = 0;
  auto pinger = al::actors::spawn_applet(
      engine, "loop",
      al::actors::applet_callbacks{
          .name = "pinger",
          .preselect = [&](al::actors::applet_context& context) { context.wait_on(pong); },
          .postselect = [&](al::actors::applet_context& context,
                            const al::runtime::waitable&) -> al::runtime::waitable {
            if (++count == rounds) {
              done.set();
              context.kill();
            } else {
              (void)ping.set();
            }
            return {};
          }});
  bench::cpu_meter meter;
  meter.start();
  auto start = bench_clock::now();
  (void)ping.set();
  if (!done.wait_for(120s))
    bench::fail("remote_pingpong: ours did not finish (%lld of %lld)",
                static_cast<long long>(count), static_cast<long long>(rounds));
  auto end = bench_clock::now();
  cpu_s = meter.stop();
  pinger.wait();
  return std::chrono::duration<double, std::micro>(end - start).count() /
         static_cast<double>(rounds);
}

template <caf::spawn_options Options = caf::no_spawn_options>
double raw_pingpong(caf::actor_system& system, const caf::actor& ponger, std::int64_t rounds,
                    double& cpu_s) {
  auto pinger =
      system.spawn<Options>([ponger, rounds](caf::event_based_actor* self) -> caf::behavior {
        auto promise = std::make_shared<caf::response_promise>();
        return {
            [self, ponger, promise](start_atom) {
              *promise = self->make_response_promise();
              self->send(ponger, ping_atom::value, std::int64_t{1});
            },
            [self, ponger, promise, rounds](pong_atom, std::int64_t n) {
              if (n == rounds)
                promise->deliver(n);
              else
                self->send(ponger, ping_atom::value, n + 1);
            },
        };
      });
  caf::scoped_actor self{system};
  bench::cpu_meter meter;
  meter.start();
  auto start = bench_clock::now();
  std::int64_t answered = 0;
  self->request(pinger, caf::infinite, start_atom::value)
      .receive([&](std::int64_t n) { answered = n; },
               [&](caf::error& failure) {
                 bench::fail("remote_pingpong: CAF: %s", system.render(failure).c_str());
               });
  auto end = bench_clock::now();
  cpu_s = meter.stop();
  if (answered != rounds)
    bench::fail("remote_pingpong: CAF counts do not add up");
  caf::anon_send_exit(pinger, caf::exit_reason::user_shutdown);
  return std::chrono::duration<double, std::micro>(end - start).count() /
         static_cast<double>(rounds);
}

// -- remote_queue_throughput ------------------------------------------------------------

double ours_queue(child_process& child, const al::nodes::remote_queue<std::int64_t>& queue,
                  std::int64_t total, double& cpu_s) {
  child.send("expect " + std::to_string(total));
  child.expect("ready");
  bench::cpu_meter meter;
  meter.start();
  auto start = bench_clock::now();
  std::deque<al::nodes::operation> flying;
  std::int64_t next = 0;
  while (next < total) {
    std::vector<std::int64_t> batch;
    batch.reserve(batch_size);
    for (std::size_t each = 0; each < batch_size && next < total; ++each)
      batch.push_back(next++);
    flying.push_back(queue.push_all(std::move(batch)));
    if (flying.size() > batches_in_flight) {
      flying.front().get();
      flying.pop_front();
    }
  }
  for (auto& each : flying)
    each.get();
  child.expect("consumed");
  auto end = bench_clock::now();
  cpu_s = meter.stop();
  return static_cast<double>(total) / bench::seconds_between(start, end);
}

double raw_queue(child_process& child, const caf::actor& counter, std::int64_t total,
                 double& cpu_s) {
  child.send("expect " + std::to_string(total));
  child.expect("ready");
  bench::cpu_meter meter;
  meter.start();
  auto start = bench_clock::now();
  for (std::int64_t each = 0; each < total; ++each)
    caf::anon_send(counter, each);
  child.expect("consumed");
  auto end = bench_clock::now();
  cpu_s = meter.stop();
  return static_cast<double>(total) / bench::seconds_between(start, end);
}

int run_parent(const char* self, const bench::settings& settings) {
  const std::int64_t rounds = settings.smoke ? 200 : settings.quick ? 500 : 10'000;
  const std::int64_t items = settings.smoke ? 5'000 : settings.quick ? 30'000 : 500'000;
  al::nodes::enable();
  child_process child{self, "--child"};
  auto ports = child.expect("listening ");
  unsigned node_port = 0, ponger_port = 0, counter_port = 0, detached_port = 0;
  if (std::sscanf(ports.c_str(), "listening %u %u %u %u", &node_port, &ponger_port, &counter_port,
                  &detached_port) != 4)
    bench::fail("child: bad ports line '%s'", ports.c_str());

  al::runtime::engine engine{engine_options()};
  caf_node raw;
  al::runtime::event pong{al::runtime::reset_mode::automatic, "pong"};
  al::nodes::node node{engine, {.name = "bench-parent", .listen = "127.0.0.1:0"}};
  node.export_event("pong", pong);
  auto peer = node.connect("127.0.0.1", static_cast<std::uint16_t>(node_port)).get();
  child.send("connect " + std::to_string(node.port()));
  child.expect("connected");
  auto ping = peer.lookup_event("ping").get();
  auto queue = peer.lookup_queue<std::int64_t>("items").get();
  auto raw_ponger =
      raw.get().middleman().remote_actor("127.0.0.1", static_cast<std::uint16_t>(ponger_port));
  auto raw_counter =
      raw.get().middleman().remote_actor("127.0.0.1", static_cast<std::uint16_t>(counter_port));
  auto raw_detached_ponger =
      raw.get().middleman().remote_actor("127.0.0.1", static_cast<std::uint16_t>(detached_port));
  if (!raw_ponger || !raw_counter || !raw_detached_ponger)
    bench::fail("CAF remote_actor failed");

  // Warm-up: connections, proxies, allocator.
  double cpu_s = 0;
  (void)ours_pingpong(engine, pong, ping, rounds / 10 + 1, cpu_s);
  (void)raw_pingpong(raw.get(), *raw_ponger, rounds / 10 + 1, cpu_s);
  (void)raw_pingpong<caf::detached>(raw.get(), *raw_detached_ponger, rounds / 10 + 1, cpu_s);
  (void)ours_queue(child, queue, items / 10 + 1, cpu_s);
  (void)raw_queue(child, *raw_counter, items / 10 + 1, cpu_s);

  bench::comment("remote_pingpong: an event ping-pong between applets on one-thread schedulers "
                 "of two node processes (remote_event::set both ways), vs two CAF actors over "
                 "publish/remote_actor; %lld round trips; us per round trip",
                 static_cast<long long>(rounds));
  bench::side ours, theirs, detached;
  std::vector<double> switches_ours, switches_caf, switches_detached;
  auto per_round = [rounds](long before) {
    return static_cast<double>(context_switches() - before) / static_cast<double>(rounds);
  };
  for (int repetition = 0; repetition < settings.repetitions; ++repetition) {
    bench::in_turn(repetition,
                   {[&] {
                      auto before = context_switches();
                      auto value = ours_pingpong(engine, pong, ping, rounds, cpu_s);
                      switches_ours.push_back(per_round(before));
                      ours.add(value, cpu_s);
                    },
                    [&] {
                      auto before = context_switches();
                      auto value = raw_pingpong(raw.get(), *raw_ponger, rounds, cpu_s);
                      switches_caf.push_back(per_round(before));
                      theirs.add(value, cpu_s);
                    },
                    [&] {
                      auto before = context_switches();
                      auto value = raw_pingpong<caf::detached>(raw.get(), *raw_detached_ponger,
                                                               rounds, cpu_s);
                      switches_detached.push_back(per_round(before));
                      detached.add(value, cpu_s);
                    }});
  }
  bench::comment("remote_pingpong: context switches of this process per round trip (median): "
                 "ours=%.2f caf=%.2f caf_detached=%.2f",
                 bench::median(switches_ours), bench::median(switches_caf),
                 bench::median(switches_detached));
  bench::report("remote_pingpong", "us/roundtrip", bench::better::lower, ours,
                "caf actors over BASP publish/remote_actor", bench::peer_kind::alternative, theirs);
  bench::report("remote_pingpong", "us/roundtrip", bench::better::lower, ours,
                "detached caf actors over BASP, a thread each", bench::peer_kind::alternative,
                detached);

  bench::comment("remote_queue_throughput: %lld int64 items into a bounded remote wait_queue "
                 "(capacity %zu, push_all batches of %zu, %zu in flight) drained by an applet in "
                 "the other process, vs raw CAF anon_send of each item to a remote counting "
                 "actor; items per second",
                 static_cast<long long>(items), queue_capacity, batch_size, batches_in_flight);
  bench::side ours_rate, theirs_rate;
  for (int repetition = 0; repetition < settings.repetitions; ++repetition) {
    bench::in_turn(repetition, {[&] {
                                  auto value = ours_queue(child, queue, items, cpu_s);
                                  ours_rate.add(value, cpu_s);
                                },
                                [&] {
                                  auto value = raw_queue(child, *raw_counter, items, cpu_s);
                                  theirs_rate.add(value, cpu_s);
                                }});
  }
  bench::report("remote_queue_throughput", "items/s", bench::better::higher, ours_rate,
                "caf anon_send to a remote actor over BASP", bench::peer_kind::alternative,
                theirs_rate);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view{argv[1]} == "--child") {
    try {
      return run_child();
    } catch (const std::exception& failure) {
      bench::fail("child: %s", failure.what());
    }
  }
  auto settings = bench::parse_arguments(argc, argv);
  try {
    return run_parent("/proc/self/exe", settings);
  } catch (const std::exception& failure) {
    bench::fail("%s", failure.what());
  }
}
