#pragma once
// The state of one node, shared by the node object, its directory actor, its
// request runners and the remote handles it gave out.

#include <actorloop/nodes/node.hpp>
#include <actorloop/runtime/waitable.hpp>

#include "protocol.hpp"

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/actor_system.hpp>
#include <caf/message.hpp>
#include <caf/message_id.hpp>
#include <caf/node_id.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace actorloop::nodes::detail {

/// Tells the directory when an exported applet is gone (runs with the
/// applet handle's lock held, on the thread that destroyed the applet).
class exit_watch final : public runtime::detail::waiter {
public:
  exit_watch(caf::actor directory, std::string name)
      : directory_(std::move(directory)), name_(std::move(name)) {}
  void on_ready() noexcept override;

private:
  caf::actor directory_;
  std::string name_;
};

struct export_entry {
  object_kind kind = object_kind::event;
  std::string type_name;                              // queues
  runtime::event event;                               // events
  std::shared_ptr<queue_port> queue;                  // queues
  actors::applet_handle applet;                       // applets
  std::unique_ptr<exit_watch> watch;                  // applets
  bool spawned = false; // applets spawned by a peer: dropped once awaited and gone
};

struct counters {
  std::atomic<std::uint64_t> peers_lost{0};
  std::atomic<std::uint64_t> messages_in{0};
  std::atomic<std::uint64_t> messages_out{0};
  std::atomic<std::uint64_t> bytes_in{0};
  std::atomic<std::uint64_t> bytes_out{0};
  std::atomic<std::uint64_t> lookups_served{0};
  std::atomic<std::uint64_t> lookups_made{0};
  std::atomic<std::uint64_t> failures{0};
};

struct core {
  core(runtime::engine& owner, node_options settings)
      : engine(owner), system(owner.actor_system()), options(std::move(settings)) {}

  runtime::engine& engine;
  caf::actor_system& system;
  node_options options;
  caf::actor directory; // serves the other nodes (published)
  caf::actor anchor;    // every request runner links to it; killed on stop
  std::atomic<std::uint16_t> port{0};
  std::atomic<bool> stopped{false};
  bool tls = false; // listen and connect through caf::openssl (set at start)
  counters stats;

  std::mutex mutex;
  std::map<std::string, export_entry> exports;
  std::set<caf::node_id> peers_seen;
  std::map<caf::node_id, peer> connected;

  void saw_peer(const caf::node_id& id) {
    if (id == caf::node_id{} || id == system.node())
      return;
    std::lock_guard guard{mutex};
    peers_seen.insert(id);
  }
};

/// Enqueues `content` to `target` (usually a proxy of an actor on another
/// node) with `sender` as its sender, like `caf::send_as`, but through
/// libcaf_core's out-of-line `actor_control_block::enqueue`: the target
/// object itself is then touched only inside CAF. BASP frees a proxy on its
/// multiplexer thread once the last reference goes, ordered by CAF's
/// reference count; libcaf_core is not built with ThreadSanitizer, so an
/// inline send (which reads the proxy's virtual table in our code) shows up
/// in TSan builds as a race with that free although none exists.
inline void send_to_remote(const caf::actor& target, caf::strong_actor_ptr sender,
                           caf::message content) {
  caf::actor_cast<caf::actor_control_block*>(target)->enqueue(
      std::move(sender), caf::make_message_id(), std::move(content), nullptr);
}

/// Serialized size of `message` as BASP would carry it (0 if it cannot be
/// serialized).
std::size_t wire_size(caf::actor_system& system, const caf::message& message);

/// Sends `request` to `target` from a short-lived actor of `state`'s engine
/// that monitors `target`. Exactly one of the two callbacks runs, once, on
/// that actor's thread: `on_answer` with the answer, or `on_failure` with
/// `node_down` (the target or its node went first), `node_stopped` (this
/// node was destroyed first) or the CAF error.
void run_request(const std::shared_ptr<core>& state, caf::actor target, caf::message request,
                 std::function<void(answer&)> on_answer,
                 std::function<void(std::error_code, std::string)> on_failure);

/// The directory actor's behaviour (directory.cpp).
caf::actor spawn_directory(const std::shared_ptr<core>& state);

/// "HOST:PORT" parsing and the loopback test (address.cpp).
struct host_port {
  std::string host;
  std::uint16_t port = 0;
};
[[nodiscard]] host_port parse_host_port(const std::string& text);
[[nodiscard]] bool is_loopback(const std::string& host);

/// Maps an exit reason to what travels and back (exit_codes.cpp).
[[nodiscard]] actors::exit_reason make_exit_reason(std::int32_t code, const std::string& category,
                                                   const std::string& text);

} // namespace actorloop::nodes::detail
