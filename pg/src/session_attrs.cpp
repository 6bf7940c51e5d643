// target_session_attrs, checked as libpq does after the first ReadyForQuery:
// from the ParameterStatus values default_transaction_read_only and
// in_hot_standby when the server reports them (PostgreSQL 14 and later),
// else by asking (SHOW transaction_read_only, SELECT pg_is_in_recovery()).
// A server that does not fit is closed and the next host is tried;
// prefer-standby takes any server in a second pass when no host is a
// standby.
#include "connection_link.hpp"

#include <actorloop/pg/error.hpp>
#include <actorloop/pg/frontend.hpp>

namespace actorloop::pg::detail {

namespace {

std::optional<bool> reported_on(const std::map<std::string, std::string>& parameters,
                                 const char* name) {
  auto found = parameters.find(name);
  if (found == parameters.end())
    return std::nullopt;
  return found->second == "on";
}

} // namespace

void link::check_session() {
  auto wanted = pg_->options.target_session_attrs;
  if (wanted == session_attrs::prefer_standby && standby_pass_two_)
    wanted = session_attrs::any;
  if (wanted == session_attrs::any) {
    connect_succeeded();
    return;
  }
  std::optional<bool> read_only_default;
  std::optional<bool> hot_standby;
  {
    std::lock_guard guard{core_->owner_state->mutex};
    read_only_default = reported_on(pg_->parameters, "default_transaction_read_only");
    hot_standby = reported_on(pg_->parameters, "in_hot_standby");
  }
  bool about_writes = wanted == session_attrs::read_write || wanted == session_attrs::read_only;
  if (about_writes && read_only_default && hot_standby) {
    bool read_only = *read_only_default || *hot_standby;
    session_checked(read_only == (wanted == session_attrs::read_only),
                    read_only ? "session is read-only" : "session is not read-only");
    return;
  }
  if (!about_writes && hot_standby) {
    session_checked(*hot_standby == (wanted != session_attrs::primary),
                    *hot_standby ? "server is in hot standby mode"
                                 : "server is not in hot standby mode");
    return;
  }
  // An older server: ask.
  check_kind_ = about_writes ? check_kind::read_only : check_kind::hot_standby;
  check_value_.clear();
  check_failed_ = false;
  phase_ = phase::checking_session;
  frontend::query(output_, about_writes ? "SHOW transaction_read_only"
                                        : "SELECT pg_catalog.pg_is_in_recovery()");
  flush_output();
}

void link::handle_session_check(backend_message&& message) {
  if (auto* row = std::get_if<data_row>(&message)) {
    if (row->size() == 1 && !row->is_null(0))
      check_value_ = std::string{row->value(0)};
    return;
  }
  if (auto* status = std::get_if<parameter_status>(&message)) {
    std::lock_guard guard{core_->owner_state->mutex};
    pg_->parameters[status->name] = status->value;
    return;
  }
  if (auto* problem = std::get_if<server_message>(&message)) {
    if (problem->is_error) {
      check_failed_ = true;
      check_value_ = problem->severity + " " + problem->sqlstate + ": " + problem->message;
    }
    return;
  }
  if (std::holds_alternative<row_description>(message) ||
      std::holds_alternative<command_complete>(message))
    return;
  if (auto* ready = std::get_if<ready_for_query>(&message)) {
    {
      std::lock_guard guard{core_->owner_state->mutex};
      pg_->status = ready->status;
    }
    auto wanted = pg_->options.target_session_attrs;
    if (check_failed_) {
      attempt_failed(errc::server_error,
                     where() + ": checking target_session_attrs failed: " + check_value_,
                     retry::next_host);
      return;
    }
    if (check_kind_ == check_kind::read_only) {
      bool read_only = check_value_ == "on";
      session_checked(read_only == (wanted == session_attrs::read_only),
                      read_only ? "session is read-only" : "session is not read-only");
    } else {
      bool standby = check_value_ == "t";
      session_checked(standby == (wanted != session_attrs::primary),
                      standby ? "server is in hot standby mode" : "server is not in hot standby mode");
    }
    return;
  }
  fail(errc::malformed_message,
       std::string{"the server sent message type '"} + type_byte(message) +
         "' in answer to the target_session_attrs check");
}

void link::session_checked(bool acceptable, const std::string& why) {
  if (acceptable) {
    connect_succeeded();
    return;
  }
  // libpq: close this session and go on with the next host.
  frontend::terminate(output_);
  flush_output();
  if (fd_ < 0)
    return; // writing failed, and that already moved on to the next attempt
  attempt_failed(errc::connection_failed, where() + ": " + why + " (target_session_attrs)",
                 retry::next_host);
}

} // namespace actorloop::pg::detail
