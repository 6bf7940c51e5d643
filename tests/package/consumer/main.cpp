// A downstream server embedding an installed actorloop: an applet (actors),
// and a message server with a sync client on the I/O workers (netio).
#include <actorloop/actors/applet.hpp>
#include <actorloop/netio/connection.hpp>
#include <actorloop/netio/server.hpp>
#include <actorloop/nodes/node.hpp>
#include <actorloop/pg/backend.hpp>
#include <actorloop/pg/frontend.hpp>
#include <actorloop/runtime/engine.hpp>
#include <iostream>
int main() {
  actorloop::nodes::enable(); // before the engine: loads CAF's middleman
  actorloop::runtime::engine engine;
  auto handle = actorloop::actors::spawn_applet(engine, "default", actorloop::actors::applet_callbacks{
      .name = "consumer",
      .preselect = [](actorloop::actors::applet_context& context) { context.kill(); },
  });
  handle.wait();
  std::cout << "consumer: applet '" << handle.name() << "' exited: " << handle.exit_reason().message() << "\n";
  actorloop::netio::message_server server{engine, {}};
  actorloop::netio::context context{engine};
  actorloop::netio::connection connection{context};
  bool served = connection.connect(server.local_endpoint()) == actorloop::netio::retcode::succeed &&
                connection.execute({"ECHO", "embedded"}) == actorloop::netio::retcode::succeed &&
                connection.take_result()->rows.at(0).columns.at(0) == "embedded" &&
                connection.close() == actorloop::netio::retcode::succeed;
  std::cout << "consumer: message server on " << server.local_endpoint().to_string()
            << (served ? " answered" : " FAILED") << "\n";
  server.stop();
  // pg: a Sync encodes to 5 bytes, and a ReadyForQuery decodes.
  std::vector<std::byte> sync;
  actorloop::pg::frontend::sync(sync);
  actorloop::pg::backend_decoder decoder;
  decoder.feed(std::string_view{"Z\0\0\0\5I", 6});
  auto ready = decoder.next();
  bool pg_works = sync.size() == 5 && ready.message &&
                  std::holds_alternative<actorloop::pg::ready_for_query>(*ready.message);
  std::cout << "consumer: pg wire layer " << (pg_works ? "works" : "FAILED") << "\n";
  // nodes: the engine becomes a node listening on a free loopback port.
  bool node_works = false;
  {
    actorloop::nodes::node node{engine, {.name = "consumer", .listen = "127.0.0.1:0"}};
    node_works = node.port() != 0;
  }
  std::cout << "consumer: node " << (node_works ? "listens" : "FAILED") << "\n";
  return handle.exit_reason().is_normal() && served && pg_works && node_works ? 0 : 1;
}
