#pragma once
/// @file
/// Nodes: engines on several processes and machines that exchange waitable
/// events over CAF's own distribution layer (the `caf::io` middleman and its
/// BASP protocol), see docs/nodes.md.
///
/// An engine becomes a node by constructing a `node` on it. The node can
/// listen (`--actorloop.node.listen=HOST:PORT` or `listen()`), connect to
/// other nodes (`connect()`), export events, wait queues and applet handles
/// under names, and look up what other nodes exported:
///
///     nodes::enable();                         // before the engine exists
///     runtime::engine engine{argc, argv};
///     nodes::node node{engine};                 // listens if configured
///     node.export_event("go", go);
///     auto peer = node.connect("127.0.0.1", port).get();
///     auto remote = peer.lookup_event("go").get();
///     remote.set().get();                       // set on its home node
///
/// Threading: every call of `node`, `peer` and the remote handles may be made
/// from any thread and returns at once with a `pending<T>` (a waitable),
/// except `pending::get()`, which blocks a plain thread. Remote deliveries
/// reach the local object on CAF's middleman thread, which only sets an
/// event or pushes into a queue: the applets waiting on them run on their
/// own schedulers' threads, as for a local `set` (docs/nodes.md, "Threading").
///
/// Lifetime: destroy the node before its engine; remote handles and pending
/// results must not outlive the engine. Destroying the node stops listening,
/// withdraws its exports, and completes every pending operation of it with
/// `errc::node_stopped`.

#include <actorloop/actors/applet.hpp>
#include <actorloop/nodes/error.hpp>
#include <actorloop/nodes/pending.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/event.hpp>
#include <actorloop/runtime/wait_queue.hpp>

#include <caf/actor.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/message_builder.hpp>
#include <caf/type_nr.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace actorloop::nodes {

/// Makes every engine constructed from now on able to become a node: loads
/// CAF's middleman into its actor system and accepts the `actorloop.node.*`
/// options. Call it once, before constructing the engine (idempotent,
/// thread-safe).
void enable();

namespace detail {
struct core;
void add_type_registration(void (*registrar)(caf::actor_system_config&));
} // namespace detail

/// Registers `T` as an item type that can travel between nodes (for
/// `wait_queue<T>` exports), under a portable `name` that must be the same on
/// every node. Call it before constructing the engine, with `name` fixed per
/// type (the name is taken from `Name`, a type with a static `value`, so
/// that registration needs no state):
///
///     struct job { std::int64_t number; std::string text; };
///     template <class Inspector>
///     typename Inspector::result_type inspect(Inspector& f, job& x) {
///       return f(caf::meta::type_name("job"), x.number, x.text);
///     }
///     struct job_name { static constexpr const char* value = "job"; };
///     nodes::register_type<job, job_name>();
///
/// `T` needs an `inspect` overload (CAF 0.17's serialization) or to be one
/// of CAF's built-in types (integers, `std::string`, vectors of them, ...),
/// which need no registration.
template <class T, class Name>
void register_type() {
  detail::add_type_registration(
      [](caf::actor_system_config& config) { config.add_message_type<T>(Name::value); });
}

namespace detail {
/// Makes an applet of a registered type from spawn arguments; null and
/// `problem` set if they do not fit (internal).
using applet_factory = std::unique_ptr<actors::applet> (*)(caf::message& args,
                                                           std::string& problem);
void add_applet_type(const char* name, const std::type_info& type, applet_factory make);
/// The name `type` was registered under with `register_applet_type`; "".
[[nodiscard]] std::string applet_type_name(const std::type_info& type);
/// The registered factory for `name`; null if none.
[[nodiscard]] applet_factory find_applet_type(const std::string& name);

template <class A, class... Args, std::size_t... I>
std::unique_ptr<actors::applet> make_applet(caf::message& args, std::index_sequence<I...>) {
  return std::make_unique<A>(std::move(args.get_mutable_as<Args>(I))...);
}
} // namespace detail

/// Registers `A` (a class derived from `actors::applet`, constructible from
/// `Args...`) as an applet type that other nodes may spawn on this node with
/// `peer::spawn`, under the portable name `Name::value` (the same on every
/// node). Call it before the first spawn request can arrive (usually at
/// start, with `register_type`); a process-wide registry, idempotent,
/// thread-safe. Each of `Args` must travel between nodes: one of CAF's
/// built-in types or registered with `register_type`. The spawner's
/// arguments must match `Args...` exactly (`errc::bad_spawn_arguments`).
/// `A`'s constructor runs on the home node's directory actor (a CAF thread):
/// keep it short and non-blocking; its callbacks then run on the scheduler
/// named in the request.
///
///     struct counter_name { static constexpr const char* value = "counter"; };
///     nodes::register_applet_type<counter, counter_name, std::int64_t>();
template <class A, class Name, class... Args>
void register_applet_type() {
  static_assert(std::is_base_of_v<actors::applet, A>, "an applet type derives from actors::applet");
  static_assert(std::is_constructible_v<A, Args...>, "A must be constructible from Args...");
  detail::add_applet_type(Name::value, typeid(A), [](caf::message& args, std::string& problem) {
    if (!args.match_elements<Args...>()) {
      problem = "it takes " + std::to_string(sizeof...(Args)) +
                " argument(s) of other types than " + caf::to_string(args);
      return std::unique_ptr<actors::applet>{};
    }
    return detail::make_applet<A, Args...>(args, std::index_sequence_for<Args...>{});
  });
}

/// Start-up settings of a node given from code; empty fields fall back to
/// the engine's configuration (`--actorloop.node.name=`, `.listen=`,
/// `.allow-insecure=`).
///
/// TLS and loss detection are settings of the engine, not of one node: CAF
/// reads them once, when the engine's actor system starts, so they come from
/// the engine's options (command line, `caf-application.ini` or
/// `engine_options::arguments`), and `node::tls()`, `heartbeat_interval()`
/// and `loss_timeout()` read them back (docs/nodes.md):
///   `--actorloop.node.tls.certificate=PEM`, `.tls.key=PEM`,
///   `.tls.ca-file=PEM` (all three turn TLS on), `.tls.passphrase=`;
///   `--actorloop.node.heartbeat-interval=1s` (default 0: no heartbeats),
///   `--actorloop.node.loss-timeout=10s` (default 10 intervals).
struct node_options {
  /// The node's name, reported to peers; default "node-<pid>".
  std::string name;
  /// "HOST:PORT" to listen on at once ("127.0.0.1:0" for any free port);
  /// empty: do not listen until `listen()` is called.
  std::string listen;
  /// Without TLS, listening on an address that is not a loopback address is
  /// refused unless this is true. BASP then crosses the
  /// network unauthenticated and unencrypted (docs/nodes.md, "Security").
  bool allow_insecure = false;
  /// How long `connect()` waits for the other node's BASP handshake.
  std::chrono::milliseconds connect_timeout{10000};
};

/// Counters of one node since it was made. Messages and bytes count this
/// module's requests and answers (payload bytes as CAF serializes them), not
/// BASP's own framing and heartbeats.
struct node_statistics {
  std::uint64_t peers = 0;        ///< Distinct remote nodes seen (connected to or from).
  std::uint64_t peers_lost = 0;   ///< Connected peers whose link was lost.
  std::uint64_t messages_in = 0;  ///< Requests served plus answers received.
  std::uint64_t messages_out = 0; ///< Requests sent plus answers given.
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t lookups_served = 0; ///< Lookups other nodes made here.
  std::uint64_t lookups_made = 0;   ///< Lookups this node made elsewhere.
  std::uint64_t failures = 0;       ///< Requests answered or completed with an error.
};

/// Where a remote object lives, shared by the remote handles (internal).
struct remote_ref {
  std::shared_ptr<detail::core> core; ///< The local node's state.
  caf::actor directory;               ///< The remote node's directory (a CAF proxy).
  std::string node_name;              ///< The remote node's name.
  std::string object_name;            ///< The exported name ("" for a peer).
};

namespace detail {
/// The home side of an exported queue, with its item type erased
/// (internal). Used by the directory actor only.
class queue_port {
public:
  virtual ~queue_port();
  /// Queues element `index` of `items` unless the queue is full or closed:
  /// empty, `errc::queue_full` (nothing taken), `errc::closed` or
  /// `errc::type_mismatch`.
  [[nodiscard]] virtual std::error_code try_push(caf::message& items, std::size_t index) = 0;
  /// `wait_queue::when_room`. The port also runs the last registered
  /// callback when it is destroyed (the export was withdrawn), so that
  /// pushes parked on it learn that at once.
  [[nodiscard]] bool when_room(std::function<void()> callback);

protected:
  [[nodiscard]] virtual bool register_room(std::function<void()> callback) = 0;

private:
  std::mutex mutex_;
  std::function<void()> last_;
};

template <class T>
class typed_queue_port final : public queue_port {
public:
  explicit typed_queue_port(runtime::wait_queue<T> queue) : queue_(std::move(queue)) {}
  std::error_code try_push(caf::message& items, std::size_t index) override {
    if (index >= items.size() || !items.match_element<T>(index))
      return errc::type_mismatch;
    // try_push leaves the value in place when it refuses, so nothing is lost.
    auto code = queue_.try_push(std::move(items.get_mutable_as<T>(index)));
    if (code == runtime::errc::queue_full)
      return errc::queue_full;
    if (code == runtime::errc::closed)
      return errc::closed;
    return code;
  }

protected:
  bool register_room(std::function<void()> callback) override {
    return queue_.when_room(std::move(callback));
  }

private:
  runtime::wait_queue<T> queue_;
};

/// The portable name CAF gives `type` in `core`'s system; "" if unregistered.
[[nodiscard]] std::string portable_name(const core& state, std::uint16_t number,
                                        const std::type_info& type);
/// Kinds of exported objects, as they travel between nodes.
enum class object_kind : std::int32_t { event = 1, queue = 2, applet = 3 };
/// Looks `name` up on the peer `peer`; `done` runs once, on any thread.
void lookup(const remote_ref& peer, std::string name, object_kind kind, std::string type_name,
            std::function<void(std::error_code, std::string, remote_ref)> done);
/// The ordered request channel of a remote queue handle (push_lane.cpp).
class push_lane;
[[nodiscard]] std::shared_ptr<push_lane> open_lane(const remote_ref& target);
/// Sends the items in `items` (one or more) to `target`'s home queue over
/// `lane`; `wait`: park there until there is room instead of refusing.
[[nodiscard]] operation push(const std::shared_ptr<push_lane>& lane, const remote_ref& target,
                             const std::string& type_name, caf::message items, bool wait);
/// Sends `request` to the remote directory over `lane`, in order.
[[nodiscard]] operation send_on_lane(const std::shared_ptr<push_lane>& lane, caf::message request,
                                     std::string where);
[[nodiscard]] std::error_code check_alive(const remote_ref& ref, std::string& message);
} // namespace detail

/// An event exported by another node. Thread safety: safe.
class remote_event {
public:
  remote_event() = default;
  /// `lane`: the ordered request channel (`peer::lookup_event` gives one);
  /// without it each `set` is a request of its own.
  explicit remote_event(remote_ref ref, std::shared_ptr<detail::push_lane> lane = {})
      : ref_(std::move(ref)), lane_(std::move(lane)) {}
  /// Sets the event on its home node. Completes once the home node did it,
  /// or with `node_down`, `closed`, `no_such_name` (withdrawn meanwhile).
  /// The sets through one looked-up handle (and its copies) are carried out
  /// there in the order they were made.
  [[nodiscard]] operation set() const;
  [[nodiscard]] const std::string& name() const noexcept { return ref_.object_name; }
  [[nodiscard]] const std::string& node_name() const noexcept { return ref_.node_name; }

private:
  remote_ref ref_;
  std::shared_ptr<detail::push_lane> lane_;
};

/// A `wait_queue<T>` exported by another node.
///
/// Order: the pushes made through one handle (and its copies) go out over
/// one ordered channel, so the ones made from one thread, or otherwise one
/// after the other, are queued on the home node in that order, whether or
/// not they had to wait for room; no `push` overtakes an earlier one that
/// waits. Pushes through distinct handles (distinct lookups) have no order
/// between them.
///
/// Delivery is at most once: after `node_down` an item may or may not have
/// been queued. Nothing is dropped silently: every push completes, and a
/// refused item is reported.
///
/// Thread safety: safe. Completions arrive on a CAF worker or middleman
/// thread and only complete the `operation` (a waitable).
template <class T>
class remote_queue {
public:
  remote_queue() = default;
  remote_queue(remote_ref ref, std::string type_name, std::shared_ptr<detail::push_lane> lane)
      : ref_(std::move(ref)), type_name_(std::move(type_name)), lane_(std::move(lane)) {}
  /// Appends `value` to the queue on its home node unless it is full there.
  /// Completes once queued there, or with `queue_full` (the item was not
  /// queued; also while earlier `push` calls of this handle wait for room,
  /// which keeps them first), `closed`, `node_down`, `node_stopped`.
  [[nodiscard]] operation try_push(T value) const {
    return detail::push(lane_, ref_, type_name_, caf::make_message(std::move(value)), false);
  }
  /// Appends `value` to the queue on its home node, however long it stays
  /// full: the home node keeps the item (never blocking a thread there)
  /// until a consumer makes room. Completes once queued, or with `closed`
  /// (the home queue was closed first: the item was not queued),
  /// `no_such_name` (withdrawn meanwhile), `node_down`, `node_stopped`.
  /// There is no time limit; an applet that must give up waits on the
  /// operation and a timer together (the item may still be queued later).
  [[nodiscard]] operation push(T value) const {
    return detail::push(lane_, ref_, type_name_, caf::make_message(std::move(value)), true);
  }
  /// `push` for many items in one request (one round trip however many):
  /// queued in order as room appears, completes once all are queued. On
  /// failure the text says how many of them (the first ones) were queued.
  [[nodiscard]] operation push_all(std::vector<T> values) const {
    caf::message_builder items;
    for (auto& value : values)
      items.append(std::move(value));
    return detail::push(lane_, ref_, type_name_, items.move_to_message(), true);
  }
  [[nodiscard]] const std::string& name() const noexcept { return ref_.object_name; }
  [[nodiscard]] const std::string& node_name() const noexcept { return ref_.node_name; }

private:
  remote_ref ref_;
  std::string type_name_;
  std::shared_ptr<detail::push_lane> lane_;
};

/// An applet handle exported by another node. It is a waitable: ready once
/// the applet was destroyed there (with its exit reason), or once its node
/// was lost (exit reason code `errc::node_down`), or once this node stops
/// (`errc::node_stopped`); ready for good from then on.
/// Thread safety: safe.
class remote_applet : public runtime::waitable {
public:
  remote_applet() = default;
  remote_applet(remote_ref ref, std::shared_ptr<detail::pending_state<actors::exit_reason>> state)
      : runtime::waitable(static_cast<const runtime::waitable&>(state->done())),
        ref_(std::move(ref)), state_(std::move(state)) {}
  /// The exit reason; meaningful once ready. A node loss gives code
  /// `errc::node_down`.
  [[nodiscard]] actors::exit_reason exit_reason() const;
  [[nodiscard]] const std::string& name() const noexcept { return ref_.object_name; }
  [[nodiscard]] const std::string& node_name() const noexcept { return ref_.node_name; }

private:
  remote_ref ref_;
  std::shared_ptr<detail::pending_state<actors::exit_reason>> state_;
};

/// Another node this node is connected to. Thread safety: safe.
class peer {
public:
  peer() = default;
  peer(remote_ref ref, runtime::event down) : ref_(std::move(ref)), down_(std::move(down)) {}

  [[nodiscard]] const std::string& name() const noexcept { return ref_.node_name; }
  /// Ready (for good) once the link to that node is lost.
  [[nodiscard]] runtime::event down() const noexcept { return down_; }

  /// Looks up an exported object. Fails with `no_such_name`, `wrong_kind`,
  /// for queues `type_mismatch` or `type_not_registered`, and `node_down`.
  [[nodiscard]] pending<remote_event> lookup_event(std::string name) const;
  [[nodiscard]] pending<remote_applet> lookup_applet(std::string name) const;
  template <class T>
  [[nodiscard]] pending<remote_queue<T>> lookup_queue(std::string name) const {
    auto state = std::make_shared<detail::pending_state<remote_queue<T>>>();
    std::string message;
    if (auto code = detail::check_alive(ref_, message)) {
      state->fail(code, message);
      return pending<remote_queue<T>>{state};
    }
    auto type_name = detail::portable_name(*ref_.core, caf::type_nr<T>::value, typeid(T));
    if (type_name.empty()) {
      state->fail(errc::type_not_registered,
                  std::string{"lookup of queue '"} + name + "': the item type " + typeid(T).name() +
                      " is not registered with CAF (nodes::register_type)");
      return pending<remote_queue<T>>{state};
    }
    detail::lookup(ref_, std::move(name), detail::object_kind::queue, type_name,
                   [state, type_name](std::error_code code, std::string text, remote_ref found) {
                     if (code) {
                       state->fail(code, std::move(text));
                       return;
                     }
                     auto lane = detail::open_lane(found);
                     state->succeed(remote_queue<T>{std::move(found), type_name, std::move(lane)});
                   });
    return pending<remote_queue<T>>{state};
  }

  /// Spawns an applet of the type registered under `type_name` on that
  /// node (`register_applet_type`), on its scheduler `scheduler`, made from
  /// `args`. Completes with the applet's handle once it was spawned there
  /// (its callbacks then run on that scheduler's threads), or with
  /// `unknown_applet_type`, `no_such_scheduler`, `bad_spawn_arguments`,
  /// `spawn_failed`, `node_down`, `node_stopped`. The applet belongs to that
  /// node's engine: it lives on when this node or the link goes, until it
  /// ends itself or its engine stops. The handle is a `remote_applet`: ready
  /// with the exit reason once it is destroyed, or with `node_down`.
  [[nodiscard]] pending<remote_applet> spawn(std::string type_name, std::string scheduler,
                                             caf::message args = {}) const;
  /// The same for `A`, registered here (and there) with
  /// `register_applet_type`; `args` must match its `Args...`. Fails with
  /// `unknown_applet_type` at once (nothing sent) if `A` is not registered
  /// in this process.
  template <class A, class... Ts>
  [[nodiscard]] pending<remote_applet> spawn(std::string scheduler, Ts&&... args) const {
    auto type_name = detail::applet_type_name(typeid(A));
    if (type_name.empty())
      return unknown_applet_type(typeid(A).name());
    if constexpr (sizeof...(Ts) == 0)
      return spawn(std::move(type_name), std::move(scheduler), caf::message{});
    else
      return spawn(std::move(type_name), std::move(scheduler),
                   caf::make_message(std::forward<Ts>(args)...));
  }

private:
  [[nodiscard]] pending<remote_applet> unknown_applet_type(const char* type) const;
  remote_ref ref_;
  runtime::event down_;
};

/// An engine acting as a node. Thread safety: every member may be called
/// from any thread, except the destructor (not concurrently with others).
class node {
public:
  /// Makes `engine` a node. Throws `errc::not_enabled` if `enable()` was not
  /// called before the engine was made; listens at once if an address is
  /// configured (see `listen`).
  explicit node(runtime::engine& engine, node_options options = {});
  node(const node&) = delete;
  node& operator=(const node&) = delete;
  ~node();

  [[nodiscard]] const std::string& name() const noexcept;

  /// Listens for other nodes on `host` (a numeric address or "localhost")
  /// and `port` (0: any free port) and returns the bound port. Without TLS,
  /// refuses a non-loopback address unless `allow_insecure`
  /// (`errc::insecure_listen`); throws `listen_failed`, `bad_address`. One
  /// listening port per node. With TLS, only peers with a certificate from
  /// the configured CA get past the TLS handshake.
  std::uint16_t listen(const std::string& host, std::uint16_t port);
  /// The listening port, 0 if not listening.
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// True if this node listens and connects through TLS (caf::openssl).
  [[nodiscard]] bool tls() const noexcept;
  /// BASP's heartbeat interval and the silence after which a peer is
  /// declared lost (`node_down`), as the engine runs them; 0: none.
  [[nodiscard]] std::chrono::milliseconds heartbeat_interval() const noexcept;
  [[nodiscard]] std::chrono::milliseconds loss_timeout() const noexcept;

  /// Connects to the node listening at `host`:`port`. Fails with
  /// `connect_failed` (nothing there, no BASP, handshake timed out, TLS on
  /// one side only, a certificate refused) or `not_a_node`. Connecting again to a connected node gives the same peer.
  [[nodiscard]] pending<peer> connect(const std::string& host, std::uint16_t port);

  /// Exports an object under `name` (unique per node: `name_taken`). The
  /// node keeps a handle to it until `withdraw` or its destruction.
  void export_event(const std::string& name, const runtime::event& event);
  void export_applet(const std::string& name, const actors::applet_handle& applet);
  /// Exports a queue; `T` must be registered (`type_not_registered`).
  template <class T>
  void export_queue(const std::string& name, runtime::wait_queue<T> queue) {
    auto type_name = detail::portable_name(*core_, caf::type_nr<T>::value, typeid(T));
    if (type_name.empty())
      throw error(errc::type_not_registered,
                  "export of queue '" + name + "': the item type " + typeid(T).name() +
                      " is not registered with CAF (nodes::register_type)");
    add_queue_export(name, std::move(type_name),
                     std::make_shared<detail::typed_queue_port<T>>(std::move(queue)));
  }
  /// Withdraws an export; returns false if nothing had that name. Remote
  /// applet handles waiting on a withdrawn applet stay pending until their
  /// node goes: withdraw applets only when they are gone.
  bool withdraw(const std::string& name);

  [[nodiscard]] node_statistics statistics() const;

private:
  void add_queue_export(const std::string& name, std::string type_name,
                        std::shared_ptr<detail::queue_port> port);
  std::shared_ptr<detail::core> core_;
};

} // namespace actorloop::nodes
