#include <actorloop/nodes/error.hpp>

namespace actorloop::nodes {

namespace {

class category_impl final : public std::error_category {
public:
  const char* name() const noexcept override { return "actorloop.nodes"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
    case errc::node_down:
      return "the remote node is down";
    case errc::node_stopped:
      return "this node was stopped";
    case errc::not_enabled:
      return "nodes::enable() was not called before the engine was made";
    case errc::no_such_name:
      return "no object is exported under that name";
    case errc::wrong_kind:
      return "the exported object is of another kind";
    case errc::type_not_registered:
      return "the item type is not registered with CAF";
    case errc::type_mismatch:
      return "the remote queue holds another item type";
    case errc::queue_full:
      return "the remote queue is full";
    case errc::closed:
      return "the remote object is closed";
    case errc::name_taken:
      return "the name is exported already";
    case errc::bad_address:
      return "bad address";
    case errc::insecure_listen:
      return "refusing to listen on a non-loopback address without TLS";
    case errc::listen_failed:
      return "could not listen";
    case errc::connect_failed:
      return "could not connect to the node";
    case errc::not_a_node:
      return "not an actorloop node";
    case errc::unknown_applet_type:
      return "no applet type is registered under that name";
    case errc::no_such_scheduler:
      return "no scheduler of that name on that node";
    case errc::bad_spawn_arguments:
      return "the spawn arguments do not fit the applet type";
    case errc::spawn_failed:
      return "the applet could not be spawned";
    }
    return "unknown actorloop.nodes error " + std::to_string(value);
  }
};

} // namespace

const std::error_category& nodes_category() noexcept {
  static const category_impl instance;
  return instance;
}

std::error_code make_error_code(errc value) noexcept {
  return {static_cast<int>(value), nodes_category()};
}

error::error(std::error_code code, const std::string& message) : std::system_error(code, message) {}

} // namespace actorloop::nodes
