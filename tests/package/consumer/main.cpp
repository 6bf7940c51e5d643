#include <actorloop/actors/applet.hpp>
#include <actorloop/runtime/engine.hpp>
#include <iostream>
int main() {
  actorloop::runtime::engine engine;
  auto handle = actorloop::actors::spawn_applet(engine, "default", actorloop::actors::applet_callbacks{
      .name = "consumer",
      .preselect = [](actorloop::actors::applet_context& context) { context.kill(); },
  });
  handle.wait();
  std::cout << "consumer: applet '" << handle.name() << "' exited: " << handle.exit_reason().message() << "\n";
  return handle.exit_reason().is_normal() ? 0 : 1;
}
