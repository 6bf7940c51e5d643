// The reply handle: every call is carried to the session's I/O worker (at
// once when made there), where the session decides what still goes out.

#include "server_session.hpp"

#include <actorloop/netio/error.hpp>

namespace actorloop::netio {

namespace detail {

bool reply_state::post(std::function<void(session&, reply_state&)> action) {
  auto alive = owner.lock();
  if (!alive)
    return false;
  std::weak_ptr<session> target = alive;
  alive.reset();
  // `action` keeps this state alive (see `carry`) until it ran.
  return worker.run_or_post([target, this, action = std::move(action)] {
    if (auto session = target.lock())
      action(*session, *this);
  });
}

} // namespace detail

namespace {

/// Carries `action` to the worker, keeping the state alive until it ran.
/// A handler answering at once is on the worker already: the action runs
/// right here, as run_or_post would run it, without being wrapped in three
/// nested std::functions (three allocations per row and per completion).
template <class Action>
bool carry(const std::shared_ptr<detail::reply_state>& state, Action&& action) {
  if (!state)
    return false;
  if (state->worker.on_this_thread() && !state->worker.stopping()) {
    // Held here, as the posted copy would hold them: the action may end
    // what owns the calling reply (an on_cancel callback, for one).
    auto keep = state;
    auto session = keep->owner.lock();
    if (!session)
      return false;
    action(*session, *keep);
    return true;
  }
  return state->post([state, action = std::forward<Action>(action)](
                       detail::session& where, detail::reply_state& which) mutable {
    action(where, which);
  });
}

} // namespace

reply::reply(std::shared_ptr<detail::reply_state> state) noexcept : state_(std::move(state)) {}

std::uint64_t reply::request_id() const noexcept {
  return state_ ? state_->request_id.load(std::memory_order_relaxed) : 0;
}

const session_info& reply::session() const {
  if (!state_)
    throw error(errc::invalid_argument, "reply::session: an empty reply belongs to no session");
  return *state_->info;
}

bool reply::row(std::vector<std::string> columns) const {
  if (!state_ || state_->finished.load())
    return false;
  return carry(state_, [columns = std::move(columns)](detail::session& where,
                                                      detail::reply_state& which) mutable {
    where.reply_frame(which, result_row{std::move(columns)});
  });
}

bool reply::message(severity level, std::uint32_t code, std::string text) const {
  if (!state_ || state_->finished.load())
    return false;
  return carry(state_, [level, code, text = std::move(text)](detail::session& where,
                                                             detail::reply_state& which) mutable {
    where.reply_frame(which, server_message{level, code, std::move(text)});
  });
}

bool reply::notify(std::string channel, std::string payload) const {
  if (!state_)
    return false;
  auto publisher = state_->info->id;
  return carry(state_, [channel = std::move(channel), payload = std::move(payload),
                        publisher](detail::session& where, detail::reply_state&) mutable {
    (void)where.send_unsolicited(notification{std::move(channel), std::move(payload), publisher});
  });
}

bool reply::succeed(std::string text) const {
  return complete(completion_status::succeeded, std::move(text));
}

bool reply::fail(std::uint32_t code, std::string text) const {
  if (!state_ || state_->finished.exchange(true))
    return false;
  return carry(state_, [code, text = std::move(text)](detail::session& where,
                                                      detail::reply_state& which) mutable {
    where.reply_frame(which, server_message{severity::error, code, text});
    where.reply_complete(which, completion_status::failed, std::move(text));
  });
}

bool reply::complete(completion_status status, std::string text) const {
  if (!state_ || state_->finished.exchange(true))
    return false;
  return carry(state_, [status, text = std::move(text)](detail::session& where,
                                                        detail::reply_state& which) mutable {
    where.reply_complete(which, status, std::move(text));
  });
}

bool reply::subscribe(std::string channel) const {
  return carry(state_, [channel = std::move(channel)](detail::session& where, detail::reply_state&) {
    where.reply_subscribe(channel, true);
  });
}

bool reply::unsubscribe(std::string channel) const {
  return carry(state_, [channel = std::move(channel)](detail::session& where, detail::reply_state&) {
    where.reply_subscribe(channel, false);
  });
}

bool reply::publish(std::string channel, std::string payload,
                    std::function<void(std::size_t)> delivered) const {
  return carry(state_, [channel = std::move(channel), payload = std::move(payload),
                        delivered = std::move(delivered)](detail::session& where,
                                                          detail::reply_state&) mutable {
    auto& worker = where.worker();
    auto done = [&worker, delivered = std::move(delivered)](std::size_t count) {
      if (!delivered)
        return;
      // Back on the publishing session's worker, as documented.
      worker.run_or_post([delivered, count] { delivered(count); });
    };
    where.server().publish(channel, payload, where.id(), std::move(done));
  });
}

bool reply::writable() const noexcept {
  return state_ && !state_->finished.load() && state_->writable.load();
}

void reply::when_writable(std::function<void()> resume) const {
  (void)carry(state_, [resume = std::move(resume)](detail::session& where,
                                                   detail::reply_state& which) mutable {
    if (which.done)
      return;
    which.resume = std::move(resume);
    where.reply_when_writable(which);
  });
}

void reply::on_cancel(std::function<void()> canceled) const {
  (void)carry(state_, [canceled = std::move(canceled)](detail::session&,
                                                       detail::reply_state& which) mutable {
    if (which.done) {
      if (which.was_canceled && canceled)
        canceled();
      return;
    }
    which.canceled = std::move(canceled);
  });
}

bool reply::finished() const noexcept {
  return !state_ || state_->finished.load();
}

} // namespace actorloop::netio
