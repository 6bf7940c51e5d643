// Start-up steps that a callback decides (security session, encryption,
// negotiation): the question runs where Client-Library runs the callback,
// which in sync and deferred mode is not this worker, so the worker stops
// reading and picks the verdict up when it comes back.
#include "connection_link.hpp"

namespace actorloop::pg::detail {

void link::ask_callback(std::string callback_name, callback_question ask,
                        callback_follow_up then) {
  awaiting_callback_ = true;
  update_interest();
  auto self = shared_from_this();
  auto worker = worker_;
  auto pg = pg_;
  auto* core = core_.get();
  auto attempt = session_attempt_;
  netio::detail::connection_event question;
  question.run = [self, worker, pg, core, attempt, name = std::move(callback_name),
                  ask = std::move(ask), then = std::move(then)](netio::connection&) {
    connection* target = nullptr;
    {
      std::lock_guard guard{core->owner_state->mutex};
      target = pg->self;
    }
    verdict answer;
    if (!target) {
      answer.why = "the connection is going";
    } else {
      try {
        answer = ask(*target);
      } catch (...) {
        answer = verdict{};
        answer.why =
          "the " + name + " callback threw: " + netio::detail::describe_current_exception();
      }
    }
    // Every path answers, so the start-up never waits for nothing.
    worker->post([self, attempt, answer, then] { self->answer_callback(attempt, answer, then); });
  };
  core_->deliver(std::move(question));
}

void link::answer_callback(std::uint64_t attempt, const verdict& answer,
                           const callback_follow_up& then) {
  // Posted from the callback's thread: a worker entry (a sync caller may
  // borrow the link as soon as the connect it finishes has completed).
  worker_scope scope{*this, enter_from_worker([&] {
                       return [self = shared_from_this(), attempt, answer, then] {
                         self->answer_callback(attempt, answer, then);
                       };
                     })};
  if (!scope.entered)
    return;
  if (!core_ || !awaiting_callback_ || attempt != session_attempt_)
    return; // the attempt ended meanwhile
  awaiting_callback_ = false;
  then(*this, answer);
  if (fd_ < 0 || attempt != session_attempt_)
    return;
  // What the server sent after the step waited in the decoder.
  if (!handle_decoded())
    return;
  flush_output();
  read_input();
}

} // namespace actorloop::pg::detail
