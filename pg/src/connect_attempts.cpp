// One connect is a series of attempts: each address of each host, and on
// one address libpq's second try of sslmode allow (plain, then TLS) and
// prefer (TLS, then plain). A failed attempt (refused, a FATAL from the
// server, a failed TLS handshake, a rejected session attribute) files its
// problem and gives way to the next; the connect fails only when none is
// left, with every problem in its message.
#include "connection_link.hpp"

#include <actorloop/pg/error.hpp>

#include <sys/socket.h>

namespace actorloop::pg::detail {

void link::note_problem(std::error_code code, std::string problem) {
  ++attempts_failed_;
  connect_problems_ += "\n  " + problem;
  last_attempt_code_ = code;
  last_attempt_text_ = std::move(problem);
}

void link::reset_attempt() {
  close_socket();
  output_.clear();
  output_start_ = 0;
  decoder_ = backend_decoder{};
  scram_.reset();
  startup_error_.reset();
  end_point_hash_.clear();
  check_value_.clear();
  check_failed_ = false;
  auth_method_.clear();
  awaiting_callback_ = false;
  ++session_attempt_;
  if (core_) {
    // What one server reported must not judge the next one.
    std::lock_guard guard{core_->owner_state->mutex};
    pg_->parameters.clear();
    pg_->key = backend_key_data{};
    pg_->authentication.clear();
    pg_->tls_in_use = false;
  }
}

void link::attempt_failed(std::error_code code, std::string problem, retry how) {
  bool had_tls = tls_this_attempt_;
  bool on_unix_socket =
    address_index_ < addresses_.size() && addresses_[address_index_].family() == AF_UNIX;
  reset_attempt();
  auto mode = pg_->options.sslmode;
  if (how == retry::other_encryption && !encryption_retried_ && !on_unix_socket &&
      ((mode == ssl_mode::allow && !had_tls) || (mode == ssl_mode::prefer && had_tls))) {
    encryption_retried_ = true;
    tls_this_attempt_ = !had_tls;
    note_problem(code, problem + (had_tls ? " (trying again without TLS, sslmode=prefer)"
                                          : " (trying again with TLS, sslmode=allow)"));
    try_address(address_index_, true);
    return;
  }
  note_problem(code, std::move(problem));
  if (how == retry::next_host)
    try_host(host_index_ + 1);
  else
    try_address(address_index_ + 1);
}

void link::connect_succeeded() {
  phase_ = phase::ready;
  host_timer_.reset();
  complete(function_id::connect, std::exchange(operation_id_, 0), retcode::succeed);
}

} // namespace actorloop::pg::detail
