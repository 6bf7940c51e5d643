// node_down_detection: how long a node's loss takes to reach the waiting
// side, ours against raw CAF actors in the same run.
//   ours  a remote applet handle (nodes::peer::lookup_applet) of an applet in
//         a node process, waited on from a plain thread until it is ready
//         with node_down;
//   peer  a raw CAF monitor on the proxy of an actor published by a raw CAF
//         process (caf::io::middleman publish / remote_actor), waited on with
//         a scoped_actor until its down_msg arrives.
// Two ways to lose the node, each its own record:
//   node_down_detection_kill9      kill -9 of the remote process: the
//                                  connection closes, no heartbeat involved;
//   node_down_detection_blackhole  the link through a fault-injecting proxy
//                                  stops forwarding without closing: only
//                                  BASP's heartbeat timeout can tell.
// Both sides run BASP with the same heartbeat interval and connection
// (loss) timeout, shown in the peer's name; the time runs from the kill or
// the switch to black-hole until the waiting side is woken.
// The remote processes are this executable started again with --child-ours
// or --child-caf; they print "listening on PORT" and wait.
#include "bench_support.hpp"
#include "child_process.hpp"

#include <actorloop/actors/applet.hpp>
#include <actorloop/nodes/node.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/event.hpp>
#include <actorloop_test/fault_proxy.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <poll.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

namespace al = actorloop;
using namespace std::chrono_literals;

constexpr const char* heartbeat_interval = "100ms";
constexpr const char* loss_timeout = "1s";

std::vector<std::string> ours_arguments() {
  return {std::string{"--actorloop.node.heartbeat-interval="} + heartbeat_interval,
          std::string{"--actorloop.node.loss-timeout="} + loss_timeout,
          "--actorloop.default-threads=2"};
}

al::runtime::engine_options engine_options() {
  al::runtime::engine_options options;
  options.default_threads = 2;
  options.arguments = ours_arguments();
  return options;
}

std::vector<std::string> caf_arguments() {
  return {std::string{"--middleman.heartbeat-interval="} + heartbeat_interval,
          std::string{"--middleman.connection-timeout="} + loss_timeout,
          "--scheduler.max-threads=2"};
}

void parse_caf(caf::actor_system_config& config, std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), "bench_node_down");
  std::vector<char*> argv;
  for (auto& each : arguments)
    argv.push_back(each.data());
  argv.push_back(nullptr);
  if (auto failure = config.parse(static_cast<int>(arguments.size()), argv.data(),
                                  "/nonexistent/caf-application.ini"))
    bench::fail("CAF configuration: %s", config.render(failure).c_str());
}

// --- the remote processes --------------------------------------------------

void wait_for_end_of_input() {
  std::string line;
  while (std::getline(std::cin, line)) {
  }
}

int child_ours() {
  al::nodes::enable();
  al::runtime::engine engine{engine_options()};
  al::runtime::event never{al::runtime::reset_mode::manual, "never"};
  auto worker = al::actors::spawn_applet(
      engine, "default",
      al::actors::applet_callbacks{
          .name = "worker",
          .preselect = [&](al::actors::applet_context& context) { context.wait_on(never); },
          .postselect = [](al::actors::applet_context&,
                           const al::runtime::waitable&) -> al::runtime::waitable { return {}; }});
  {
    al::nodes::node node{engine, {.name = "remote", .listen = "127.0.0.1:0"}};
    node.export_applet("worker", worker);
    std::cout << "listening on " << node.port() << std::endl;
    wait_for_end_of_input();
  }
  worker.kill();
  worker.wait();
  return 0;
}

int child_caf() {
  caf::actor_system_config config;
  config.load<caf::io::middleman>();
  parse_caf(config, caf_arguments());
  caf::actor_system system{config};
  auto worker = system.spawn([]() -> caf::behavior { return {[](int) {}}; });
  auto port = system.middleman().publish(worker, 0, "127.0.0.1");
  if (!port)
    bench::fail("raw CAF publish: %s", system.render(port.error()).c_str());
  std::cout << "listening on " << *port << std::endl;
  wait_for_end_of_input();
  caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
  return 0;
}

// --- the measuring side -----------------------------------------------------

using bench::child_process;

enum class loss { kill9, black_hole };

/// Ms from the loss to our remote handle being ready; `cpu_s` is this
/// process's CPU over that span (the same measure as the peer's).
double run_ours(al::nodes::node& local, const char* self, loss how, double& cpu_s) {
  child_process child{self, "--child-ours"};
  std::optional<actorloop_test::fault_proxy> proxy;
  auto child_port = child.listening_port();
  auto port = child_port;
  if (how == loss::black_hole) {
    proxy.emplace(child_port);
    port = proxy->port();
  }
  auto peer = local.connect("127.0.0.1", port).get();
  auto worker = peer.lookup_applet("worker").get();
  bench::cpu_meter meter;
  meter.start();
  auto started = bench::bench_clock::now();
  if (how == loss::kill9)
    child.kill9();
  else
    proxy->set_mode(actorloop_test::fault_proxy::mode::black_hole);
  if (!worker.wait_for(30s))
    bench::fail("ours: the remote handle was not ready 30 s after the loss");
  auto elapsed = bench::seconds_between(started, bench::bench_clock::now()) * 1000;
  cpu_s = meter.stop();
  if (worker.exit_reason().code() != al::nodes::errc::node_down)
    bench::fail("ours: the remote handle is ready without node_down: %s",
                worker.exit_reason().message().c_str());
  return elapsed;
}

double run_caf(caf::actor_system& system, const char* self, loss how, double& cpu_s) {
  child_process child{self, "--child-caf"};
  std::optional<actorloop_test::fault_proxy> proxy;
  auto child_port = child.listening_port();
  auto port = child_port;
  if (how == loss::black_hole) {
    proxy.emplace(child_port);
    port = proxy->port();
  }
  // The same retry as nodes::node::connect: CAF 0.17.6 closes a new
  // outgoing connection with connection_timeout if a heartbeat tick comes
  // before the other side's handshake (docs/nodes.md).
  auto remote = system.middleman().remote_actor("127.0.0.1", port);
  for (int retry = 0; !remote && remote.error() == caf::sec::connection_timeout && retry < 50;
       ++retry)
    remote = system.middleman().remote_actor("127.0.0.1", port);
  if (!remote)
    bench::fail("raw CAF remote_actor: %s", system.render(remote.error()).c_str());
  caf::scoped_actor waiter{system};
  waiter->monitor(*remote);
  bench::cpu_meter meter;
  meter.start();
  auto started = bench::bench_clock::now();
  if (how == loss::kill9)
    child.kill9();
  else
    proxy->set_mode(actorloop_test::fault_proxy::mode::black_hole);
  bool down = false;
  waiter->receive([&](caf::down_msg&) { down = true; },
                  caf::after(std::chrono::seconds{30}) >> [] {});
  if (!down)
    bench::fail("raw CAF: no down_msg 30 s after the loss");
  auto elapsed = bench::seconds_between(started, bench::bench_clock::now()) * 1000;
  cpu_s = meter.stop();
  return elapsed;
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string{argv[1]} == "--child-ours")
    return child_ours();
  if (argc == 2 && std::string{argv[1]} == "--child-caf")
    return child_caf();
  std::signal(SIGPIPE, SIG_IGN);
  auto settings = bench::parse_arguments(argc, argv);
  const char* self = "/proc/self/exe";
  // The children are started from the resolved path: /proc/self/exe names
  // the parent in the child too, which is what we want.

  al::nodes::enable();
  al::runtime::engine engine{engine_options()};
  al::nodes::node local{engine, {.name = "bench", .listen = {}}};
  caf::actor_system_config caf_config;
  caf_config.load<caf::io::middleman>();
  parse_caf(caf_config, caf_arguments());
  caf::actor_system caf_system{caf_config};

  bench::comment("node_down_detection: heartbeat interval %s, loss timeout %s on both sides "
                 "(ours: %lld ms / %lld ms as the node runs them)",
                 heartbeat_interval, loss_timeout,
                 static_cast<long long>(local.heartbeat_interval().count()),
                 static_cast<long long>(local.loss_timeout().count()));
  std::string peer_name =
      std::string{"caf-monitor heartbeat="} + heartbeat_interval + " loss=" + loss_timeout;
  for (auto [how, name] : {std::pair{loss::kill9, "node_down_detection_kill9"},
                           std::pair{loss::black_hole, "node_down_detection_blackhole"}}) {
    bench::side ours;
    bench::side peer;
    for (int run = 0; run < settings.repetitions; ++run) {
      double cpu_s = 0;
      bench::in_turn(run, {[&] {
                             auto value = run_ours(local, self, how, cpu_s);
                             ours.add(value, cpu_s);
                           },
                           [&] {
                             auto value = run_caf(caf_system, self, how, cpu_s);
                             peer.add(value, cpu_s);
                           }});
    }
    bench::report(name, "ms", bench::better::lower, ours, peer_name, bench::peer_kind::alternative,
                  peer);
  }
  return 0;
}
