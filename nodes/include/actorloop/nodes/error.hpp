#pragma once
/// @file
/// Error codes of the nodes module: one `errc` enum, its `std::error_category`
/// ("actorloop.nodes") and the exception thrown where a call cannot return an
/// error code.
///
/// Thread safety: everything here is immutable and safe from any thread.

#include <stdexcept>
#include <string>
#include <system_error>

namespace actorloop::nodes {

enum class errc {
  /// The node holding the object was lost (its process ended, its connection
  /// closed or timed out) before the operation completed, or an applet's
  /// remote handle saw its node go.
  node_down = 1,
  /// This node was stopped (destroyed) while the operation was pending.
  node_stopped,
  /// `nodes::enable()` was not called before the engine was constructed, so
  /// CAF's middleman is not loaded.
  not_enabled,
  /// No object is exported under that name on that node.
  no_such_name,
  /// The name is exported, but as another kind of object (an event looked
  /// up as a queue, ...).
  wrong_kind,
  /// An item type is not registered with CAF (`nodes::register_type`).
  type_not_registered,
  /// The remote queue holds another item type than the one asked for.
  type_mismatch,
  /// The remote bounded queue is full; the item was not queued.
  queue_full,
  /// The remote object was closed.
  closed,
  /// A name is exported already on this node.
  name_taken,
  /// An address could not be parsed or resolved ("HOST:PORT").
  bad_address,
  /// Listening on a non-loopback address without TLS was not allowed
  /// explicitly (`allow_insecure`).
  insecure_listen,
  /// The node could not listen (the port is in use, ...).
  listen_failed,
  /// The connection to another node failed (nothing listens there, it does
  /// not speak CAF's BASP, its handshake timed out, ...).
  connect_failed,
  /// Something answered at that address that is not an actorloop node.
  not_a_node,
  /// Remote spawn: no applet type is registered under that name on the
  /// node asked (or, for `peer::spawn<A>`, `A` is not registered here).
  unknown_applet_type,
  /// Remote spawn: the node asked has no scheduler of that name.
  no_such_scheduler,
  /// Remote spawn: the arguments do not fit the applet type's constructor.
  bad_spawn_arguments,
  /// Remote spawn: the applet could not be made or started there (its
  /// constructor threw, the scheduler is stopping, ...).
  spawn_failed,
};

/// The category of `errc`; its name is "actorloop.nodes".
[[nodiscard]] const std::error_category& nodes_category() noexcept;

[[nodiscard]] std::error_code make_error_code(errc value) noexcept;

/// The exception the nodes module throws. `code()` holds the `errc` (or a
/// runtime code); `what()` names the problem and the objects involved.
class error : public std::system_error {
public:
  error(std::error_code code, const std::string& message);
};

} // namespace actorloop::nodes

template <>
struct std::is_error_code_enum<actorloop::nodes::errc> : std::true_type {};
