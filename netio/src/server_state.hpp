#pragma once
// What every session of one message_server shares: the options, the codec,
// the listener, the set of open sessions, the subscriptions and the
// counters behind `statistics()`.

#include <actorloop/netio/server.hpp>

#include <actorloop/netio/detail/io_worker.hpp>
#include "server_statistics.hpp"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace actorloop::netio {

namespace detail {
class session;
} // namespace detail

class message_server::state final : public std::enable_shared_from_this<state>,
                                    public detail::io_handler {
public:
  state(runtime::engine& engine, server_options options);
  ~state() override;

  // -- listener (server_listener.cpp) --------------------------------------------------
  void listen();
  void on_io(std::uint32_t events) noexcept override;
  void on_worker_stopping() noexcept override { close_listener(); }
  void close_listener();
  void adopt(int fd, std::string peer, detail::io_worker& worker);
  void forget(detail::session* gone);
  void log(const std::string& line) const;

  // -- subscriptions (server_subscriptions.cpp) ----------------------------------------
  void subscribe(const std::string& channel, const std::shared_ptr<detail::session>& who);
  void unsubscribe(const std::string& channel, detail::session* who);
  /// Queues the notification with every subscriber; `done(count)` runs once
  /// all are queued, on the last worker involved (or here, if none).
  void publish(const std::string& channel, const std::string& payload, std::uint64_t publisher,
               std::function<void(std::size_t)> done);
  [[nodiscard]] std::shared_ptr<detail::session> find_session(std::uint64_t id);

  // -- lifetime (server.cpp) ------------------------------------------------------------
  void stop(runtime::duration drain_limit);
  [[nodiscard]] server_statistics statistics();

  runtime::engine& engine;
  const server_options options;
  const std::shared_ptr<const codec> wire;

  // Listener: touched on the listen worker's thread only (after `listen`).
  int listener = -1;
  int spare_descriptor = -1; // given up at EMFILE to accept-and-drop
  bool listener_paused = false;
  endpoint bound;
  detail::io_worker* listen_worker = nullptr;
  bool listener_registered = false;
  std::shared_ptr<runtime::detail::deadline_target> listener_resume;

  std::mutex mutex;
  std::condition_variable all_closed;
  /// Open sessions by id: closing one, and finding one for notify_session
  /// or message_session, costs the same however many are open (a set
  /// searched from the front made a mass disconnect quadratic).
  std::unordered_map<std::uint64_t, std::shared_ptr<detail::session>> sessions;
  /// One channel's subscribers, in no particular order, each with its
  /// position so that unsubscribing costs the same at any channel size (the
  /// last entry moves into the gap).
  struct channel_subscribers {
    std::vector<std::pair<const detail::session*, std::weak_ptr<detail::session>>> members;
    std::unordered_map<const detail::session*, std::size_t> position;

    /// Removes the entry at `index` (its position must already be erased).
    void remove_at(std::size_t index);
  };
  std::map<std::string, channel_subscribers> subscriptions;
  bool stopping = false;
  std::uint64_t next_session_id = 1;

  /// Wakes `message_server::wait_for_statistics` when a figure changes.
  detail::statistics_signal statistics_changed;
  /// `sessions.size()`, kept as a figure so that reading the statistics
  /// never takes `mutex` (a waiter holds the signal's lock while it reads).
  detail::statistics_counter sessions_open{statistics_changed};
  detail::statistics_counter accepted{statistics_changed};
  detail::statistics_counter requests{statistics_changed};
  detail::statistics_counter completions{statistics_changed};
  detail::statistics_counter delivered{statistics_changed};
  detail::statistics_counter protocol_errors{statistics_changed};
  detail::statistics_counter warnings{statistics_changed};
  detail::statistics_counter slow_disconnects{statistics_changed};
  detail::statistics_counter in_flight{statistics_changed};
  detail::statistics_counter dropped_at_descriptor_limit{statistics_changed};
  detail::statistics_counter login_timeouts{statistics_changed};
  detail::statistics_counter handshake_timeouts{statistics_changed};
  detail::statistics_counter idle_timeouts{statistics_changed};
  detail::statistics_counter output_overflows{statistics_changed};
};

namespace detail {

/// Schedules `fire` on `worker`'s thread at `at`; it is skipped if the
/// returned target was released first.
std::shared_ptr<runtime::detail::deadline_target> schedule_on(io_worker& worker,
                                                              runtime::time_point at,
                                                              std::function<void()> fire);

} // namespace detail

} // namespace actorloop::netio
