// The worker-side half of a pg::connection: socket, start-up and
// authentication state machine, the simple query protocol, and the
// conversion of backend messages into the core's connection events.
#include "connection_link.hpp"
#include "backend_parse.hpp"

#include <actorloop/netio/detail/resolver.hpp>

#include <actorloop/pg/error.hpp>
#include <actorloop/pg/frontend.hpp>

#include <algorithm>
#include <cstring>

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace actorloop::pg::detail {

namespace {

using netio::client_message;
using netio::detail::connection_event;

std::string describe(const server_message& message) {
  return message.severity + " " + message.sqlstate + ": " + message.message;
}

/// An event that calls the pg callback `member` installed when it runs
/// (read under the lock, called without it) with `argument`; nothing when
/// none is installed or the connection object is gone.
template <auto member, typename argument_type>
std::function<void(netio::connection&)>
installed_callback_event(std::shared_ptr<connection::state> pg, netio::connection::state* core,
                         argument_type argument) {
  return [pg = std::move(pg), core, argument = std::move(argument)](netio::connection&) {
    auto installed = copy_installed<member>(*core, *pg);
    if (installed.callback() && installed.target)
      installed.callback()(*installed.target, argument);
  };
}

/// Files pg's result of request `id` into `finished` (lock held), keeping
/// its map node for the next query (link::open_query).
void file_result_locked(connection::state& pg, std::uint64_t id) {
  auto node = pg.building.extract(id);
  if (node.empty())
    return;
  pg.finished.push_back(std::move(node.mapped()));
  if (pg.spare_building.empty())
    pg.spare_building = std::move(node);
}

/// Wakes the link on its worker when a host attempt's connect_timeout passes.
class host_deadline final : public runtime::detail::deadline_target {
public:
  host_deadline(std::weak_ptr<link> target, std::uint64_t attempt)
    : target_(std::move(target)), attempt_(attempt) {}
  void on_deadline_reached() noexcept override {
    if (auto alive = target_.lock())
      alive->host_deadline_reached(attempt_);
  }

private:
  std::weak_ptr<link> target_;
  std::uint64_t attempt_;
};

} // namespace

link::~link() {
  if (fd_ >= 0)
    ::close(fd_);
  if (wake_fd_ >= 0)
    ::close(wake_fd_);
}

std::string link::where() const {
  if (host_index_ >= pg_->options.hosts.size())
    return "the server";
  auto& host = pg_->options.hosts[host_index_];
  return host.is_unix_socket() ? host.socket_path() : host.host + ":" + std::to_string(host.port);
}

// -- events for the core -------------------------------------------------------------

void link::report(client_message problem) {
  if (!core_)
    return;
  connection_event event;
  auto* target = core_.get();
  event.run = [target, problem = std::move(problem)](netio::connection&) {
    target->report(problem);
  };
  core_->deliver(std::move(event));
}

void link::complete(function_id function, std::uint64_t id, retcode status) {
  if (!core_)
    return;
  if (on_caller_) {
    // The borrowing sync caller: nothing queued before this completion
    // (wire order), so it is delivered here, as wait_sync would run its
    // event on this very thread a moment later; sync mode calls no
    // completion callback.
    std::lock_guard guard{core_->owner_state->mutex};
    if (netio::detail::may_deliver_here_locked(*core_)) {
      if (function == function_id::execute)
        file_result_locked(*pg_, id);
      (void)netio::detail::finish_operation_locked(*core_, function, id, status);
      completed_here_ = status;
      return;
    }
  }
  // Async mode on the worker: at once, with pg's result filed and pg's
  // callbacks taken under the same acquisition of the context's lock as the
  // core's bookkeeping (no event object, no second acquisition), then pg's
  // completion callback called directly (not through the core's forwarder).
  struct in_place {
    connection::state& pg;
    bool execute;
    std::shared_ptr<const callbacks> installed;
    connection* target = nullptr;
  } here{*pg_, function == function_id::execute, nullptr, nullptr};
  netio::detail::completion_filing filing{
    [](void* argument, std::uint64_t request) {
      auto& self = *static_cast<in_place*>(argument);
      if (self.execute)
        file_result_locked(self.pg, request);
      self.installed = self.pg.installed;
      self.target = self.pg.self;
    },
    [](void* argument, netio::connection&, function_id done, retcode outcome) {
      auto& self = *static_cast<in_place*>(argument);
      if (self.target != nullptr && self.installed->completion)
        self.installed->completion(*self.target, done, outcome);
    },
    &here};
  if (netio::detail::complete_in_place(*core_, function, id, status, filing))
    return;
  auto event = netio::detail::completion_event_for(*core_, function, id, status);
  if (function == function_id::execute) {
    // File pg's result in the same step as the core files its own record.
    auto inner = std::move(event.run);
    auto pg = pg_;
    auto* core = core_.get();
    event.run = [inner = std::move(inner), pg, core, id](netio::connection& where) {
      {
        std::lock_guard guard{core->owner_state->mutex};
        file_result_locked(*pg, id);
      }
      inner(where);
    };
  }
  core_->deliver(std::move(event));
}

bool link::server_message_here(server_message& body) {
  installed_callback<&callbacks::server_message> installed;
  {
    std::lock_guard guard{core_->owner_state->mutex};
    if (!netio::detail::may_deliver_here_locked(*core_))
      return false;
    installed = {pg_->installed, pg_->self};
  }
  if (installed.callback() && installed.target) {
    // As run_event runs the queued event: a callback frame, and a throw
    // becomes a client message.
    std::string failure;
    if (!netio::detail::run_as_callback([&] { installed.callback()(*installed.target, body); },
                                        failure))
      core_->report(client_message{netio::severity::error,
                                   make_error_code(netio::errc::invalid_argument), failure});
  }
  return true;
}

void link::fail(std::error_code code, const std::string& text) {
  // During the start-up one address failed, not the connect: the next one
  // (or libpq's allow/prefer second try) may still succeed.
  if (connecting_phase(phase_) && core_ && operation_id_ != 0) {
    attempt_failed(code, text, startup_error_ ? retry::other_encryption : retry::next_address);
    return;
  }
  fail_now(code, text);
}

void link::fail_now(std::error_code code, const std::string& text) {
  auto was = phase_;
  close_socket();
  phase_ = phase::closed;
  if (!core_)
    return;
  report(client_message{netio::severity::error, code, text});
  connection_event dead;
  dead.marks_dead = true;
  dead.run = [](netio::connection&) {};
  if (!connecting_phase(was))
    core_->deliver(std::move(dead));
  auto id = std::exchange(operation_id_, 0);
  if (id == 0)
    return;
  if (was == phase::querying)
    complete(function_id::execute, id, retcode::fail);
  else if (connecting_phase(was))
    complete(function_id::connect, id, retcode::fail);
}

// -- connecting ----------------------------------------------------------------------

void link::start_connect(std::uint64_t connect_id) {
  worker_scope scope{*this, enter_from_worker([self = shared_from_this(), connect_id] {
                       return [self, connect_id] { self->start_connect(connect_id); };
                     })};
  if (!scope.entered)
    return;
  operation_id_ = connect_id;
  auto& options = pg_->options;
  if (options.hosts.empty()) {
    phase_ = phase::connecting;
    fail_now(errc::bad_connection_option, "connect: the options name no host");
    return;
  }
  connect_problems_.clear();
  attempts_failed_ = 0;
  standby_pass_two_ = false;
  phase_ = phase::connecting;
  if (!prepare_tls())
    return;
  try_host(0);
}

void link::try_host(std::size_t index) {
  host_index_ = index;
  host_timer_.reset();
  ++host_attempt_;
  if (index >= pg_->options.hosts.size()) {
    if (pg_->options.target_session_attrs == session_attrs::prefer_standby && !standby_pass_two_) {
      // libpq: no standby among the hosts, so a second pass takes any server.
      standby_pass_two_ = true;
      try_host(0);
      return;
    }
    if (attempts_failed_ == 1)
      fail_now(last_attempt_code_, last_attempt_text_);
    else
      fail_now(errc::connection_failed, "connect failed for every host:" + connect_problems_);
    return;
  }
  // libpq's connect_timeout: a limit per host, from resolving to ReadyForQuery.
  if (auto limit = pg_->options.connect_timeout) {
    host_timer_ = std::make_shared<host_deadline>(weak_from_this(), host_attempt_);
    worker_->schedule_deadline(runtime::clock::now() + *limit, host_timer_);
  }
  phase_ = phase::resolving;
  auto& host = pg_->options.hosts[index];
  auto where = host.is_unix_socket() ? netio::endpoint::unix_domain(host.socket_path())
                                     : netio::endpoint::tcp(host.host, host.port);
  std::weak_ptr<link> weak = shared_from_this();
  auto worker = worker_;
  // Host names resolve on the engine's resolver thread; the answer comes back here.
  netio::detail::resolve_async(core_->owner_state->engine, where,
                               [weak, worker, index](netio::detail::resolution found) {
                                 worker->run_or_post([weak, index, found = std::move(found)] {
                                   auto alive = weak.lock();
                                   if (!alive)
                                     return;
                                   worker_scope scope{*alive, alive->enter_from_worker([&] {
                                                        return [alive, index, found] {
                                                          alive->on_resolved(index, found);
                                                        };
                                                      })};
                                   if (scope.entered)
                                     alive->on_resolved(index, found);
                                 });
                               });
}

void link::host_deadline_reached(std::uint64_t attempt) {
  worker_scope scope{*this, enter_from_worker([&] {
                       return [self = shared_from_this(), attempt] {
                         self->host_deadline_reached(attempt);
                       };
                     })};
  if (!scope.entered)
    return;
  if (attempt != host_attempt_ || !core_ || !connecting_phase(phase_))
    return;
  note_problem(errc::connection_failed,
               where() + ": timeout expired after " +
                 std::to_string(pg_->options.connect_timeout->count()) + " s (connect_timeout)");
  // Forget this host's half-done start-up before the next one.
  reset_attempt();
  try_host(host_index_ + 1);
}

void link::on_resolved(std::size_t host_index, netio::detail::resolution found) {
  if (phase_ != phase::resolving || host_index != host_index_ || !core_)
    return;
  if (found.error || found.addresses.empty()) {
    note_problem(found.error ? found.error : make_error_code(errc::connection_failed),
                 where() + ": cannot resolve: " +
                   (found.detail.empty() ? found.error.message() : found.detail));
    try_host(host_index + 1);
    return;
  }
  addresses_ = std::move(found.addresses);
  try_address(0);
}

void link::try_address(std::size_t index, bool same_address_again) {
  address_index_ = index;
  if (index >= addresses_.size()) {
    try_host(host_index_ + 1);
    return;
  }
  if (!same_address_again) {
    encryption_retried_ = false;
    tls_this_attempt_ = wants_tls_first();
  }
  phase_ = phase::connecting;
  std::error_code problem;
  std::string detail;
  fd_ = netio::detail::start_connect(addresses_[index], problem, detail);
  if (fd_ < 0) {
    note_problem(problem, addresses_[index].to_string() + ": " + detail);
    try_address(index + 1);
    return;
  }
  interest_ = EPOLLOUT;
  if (auto added = worker_->add(fd_, interest_, *this)) {
    ::close(fd_);
    fd_ = -1;
    note_problem(added, addresses_[index].to_string() + ": " + added.message());
    try_address(index + 1);
  }
}

void link::on_connected() {
  if (auto problem = netio::detail::pending_socket_error(fd_)) {
    note_problem(problem, addresses_[address_index_].to_string() + ": " + problem.message());
    close_socket();
    try_address(address_index_ + 1);
    return;
  }
  if (addresses_[address_index_].family() != AF_UNIX)
    netio::detail::set_no_delay(fd_);
  begin_session();
}

void link::send_startup() {
  phase_ = phase::authenticating;
  auto& options = pg_->options;
  std::vector<frontend::startup_parameter> parameters{{"user", options.user}};
  if (!options.dbname.empty())
    parameters.emplace_back("database", options.dbname);
  if (!options.application_name.empty())
    parameters.emplace_back("application_name", options.application_name);
  parameters.emplace_back("client_encoding", "UTF8");
  frontend::startup(output_, parameters);
  update_interest();
  flush_output();
}

// -- I/O -----------------------------------------------------------------------------

void link::on_io(std::uint32_t epoll_events) noexcept {
  auto keep = shared_from_this();
  worker_scope scope{*this, enter_from_worker()};
  if (!scope.entered)
    return; // a sync caller has the socket; see give_back
  try {
    if (phase_ == phase::connecting) {
      on_connected();
      return;
    }
    if (phase_ == phase::tls_answer) {
      if (epoll_events & EPOLLOUT)
        flush_output();
      if (fd_ >= 0 && phase_ == phase::tls_answer && (epoll_events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        read_tls_answer();
      return;
    }
    if (phase_ == phase::tls_handshake) {
      continue_tls_handshake();
      return;
    }
    auto attempt = session_attempt_; // a failed start-up attempt may open the next socket
    if (fd_ >= 0 && (epoll_events & EPOLLOUT))
      flush_output();
    if (fd_ >= 0 && attempt == session_attempt_ &&
        (epoll_events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
      read_input();
  } catch (...) {
    fail(errc::connection_failed, "pg: " + netio::detail::describe_current_exception());
  }
}

void link::update_interest() {
  if (fd_ < 0 || on_caller_)
    return; // a borrower polls for itself; give_back re-arms
  std::uint32_t wanted =
    paused_ || awaiting_callback_ || rows_held_ ? 0u : static_cast<std::uint32_t>(EPOLLIN);
  if (output_.size() > output_start_ || tls_wants_write())
    wanted |= EPOLLOUT;
  if (wanted != interest_) {
    interest_ = wanted;
    (void)worker_->modify(fd_, interest_, *this);
  }
}

void link::flush_output() {
  if (fd_ < 0)
    return;
  std::error_code problem;
  std::string detail;
  if (!transmit(problem, detail)) {
    fail(problem, "writing to " + where() + " failed: " + detail);
    return;
  }
  if (output_start_ == output_.size()) {
    output_.clear();
    output_start_ = 0;
  }
  update_interest();
  if (extended_) {
    // COPY FROM and a fed pipeline ask for more as the output drains.
    copy_output_drained();
    pipeline_output_drained();
  }
}

void link::read_input() {
  while (read_step()) {
  }
}

bool link::read_step() {
  auto attempt = session_attempt_;
  if (fd_ < 0 || paused_ || awaiting_callback_ || rows_held_)
    return false;
  std::error_code ended;
  std::string why;
  // Straight into the decoder's buffer: no copy of what was read.
  const auto room = decoder_.prepare(64 * 1024);
  auto n = receive(room, ended, why);
  if (ended) {
    if (phase_ == phase::closed)
      return false;
    if (startup_error_) {
      // The server refused the start-up and closed (or reset) the connection.
      fail(errc::server_error, "connect to " + where() + " failed: " + describe(*startup_error_));
      return false;
    }
    if (ended == netio::errc::connection_closed) {
      fail(errc::connection_failed, "the server closed the connection");
      return false;
    }
    fail(ended, "reading from " + where() + " failed: " + why);
    return false;
  }
  if (n == 0)
    return false;
  decoder_.commit(n);
  if (!handle_decoded()) {
    // Held for a callback or on_rows: send what was written, read no more.
    if (fd_ >= 0 && attempt == session_attempt_)
      flush_output();
    return false;
  }
  flush_output();
  // A plain socket that filled less than the room is empty now: stop, as
  // libpq's PQconsumeInput does, rather than ask again only to hear EAGAIN
  // (a recv per answer saved); the socket is level-triggered and reports
  // what comes later. TLS may hold decrypted bytes the socket no longer
  // signals, so a secured link reads until it hears "nothing now".
  return fd_ >= 0 && attempt == session_attempt_ && (tls_ || n == room.size());
}

bool link::handle_decoded() {
  auto attempt = session_attempt_;
  for (;;) {
    if (awaiting_callback_ || rows_held_)
      return false; // the rest waits in the decoder for the callback's verdict or on_rows
    if (phase_ == phase::querying && !extended_ && handle_query_answer()) {
      if (fd_ < 0 || attempt != session_attempt_)
        return false;
      continue;
    }
    auto next = decoder_.next();
    if (next.error) {
      fail(next.error, "the server's data cannot be decoded: " + next.detail);
      return false;
    }
    if (!next.message)
      return true;
    handle(std::move(*next.message));
    if (fd_ < 0 || attempt != session_attempt_)
      return false;
  }
}

void link::close_socket() {
  if (tls_ && tls_->handshake_done())
    tls_->shutdown_send(); // close_notify, as far as the socket takes it now
  tls_.reset();            // borrows fd_: goes first
  if (fd_ < 0)
    return;
  if (on_caller_) {
    // The registration is the worker's: it unregisters and closes (the
    // descriptor stays open until then, so its number cannot be reused).
    auto fd = std::exchange(fd_, -1);
    interest_ = 0;
    if (!worker_->post([self = shared_from_this(), fd] {
          self->worker_->remove(fd, *self);
          ::close(fd);
        }))
      ::close(fd); // the worker stopped: nothing watches it any more
    return;
  }
  worker_->remove(fd_, *this);
  ::close(fd_);
  fd_ = -1;
  interest_ = 0;
}

// -- backend messages ----------------------------------------------------------------

bool link::handle_query_answer() {
  if (!core_)
    return false;
  // Bounded, so that a long run of rows does not keep the context's lock
  // from its other connections and callers for long.
  constexpr int run_limit = 64;
  constexpr std::size_t parse_under_lock_limit = 4096;
  std::unique_lock guard{core_->owner_state->mutex, std::defer_lock};
  query_result* building = nullptr;
  bool handled = false;
  backend_frame frame;
  for (int run = 0; run < run_limit && backend_decoder_access::peek(decoder_, frame); ++run) {
    if (frame.type == 'Z') {
      transaction_status status{};
      if (!parse_ready_well_formed(frame.body, status))
        break;
      backend_decoder_access::consume(decoder_, frame);
      if (!guard.owns_lock()) {
        guard.lock();
        auto found = pg_->building.find(operation_id_);
        building = found != pg_->building.end() ? &found->second : nullptr;
      }
      pg_->status = status;
      if (building != nullptr)
        building->status = status;
      guard.unlock();
      phase_ = phase::ready;
      complete(function_id::execute, std::exchange(operation_id_, 0),
               query_failed_ ? retcode::fail : retcode::succeed);
      return true;
    }
    if (frame.type != 'T' && frame.type != 'D' && frame.type != 'C')
      break;
    // A large body is copied outside the lock, by handle(): the context's
    // other connections and callers are not kept waiting for the copy.
    if (frame.body.size() > parse_under_lock_limit)
      break;
    if (!guard.owns_lock()) {
      guard.lock();
      auto found = pg_->building.find(operation_id_);
      building = found != pg_->building.end() ? &found->second : nullptr;
    }
    if (building == nullptr)
      break; // handle() decodes it and drops it: nothing to go to
    auto& results = building->results;
    if (frame.type == 'T') {
      auto& opened = results.emplace_back();
      if (!parse_row_description_well_formed(frame.body, opened.description)) {
        results.pop_back();
        break;
      }
      opened.described = true;
    } else if (frame.type == 'D') {
      // A stray row (no described result open) is handle()'s to drop.
      if (results.empty() || !results.back().described || !results.back().command_tag.empty())
        break;
      auto& rows = results.back().rows;
      if (!parse_data_row_well_formed(frame.body, rows.emplace_back())) {
        rows.pop_back();
        break;
      }
    } else {
      std::string_view tag;
      if (!parse_command_tag_well_formed(frame.body, tag))
        break;
      // A statement without rows has no RowDescription: its result starts here.
      if (results.empty() || !results.back().described || !results.back().command_tag.empty())
        results.emplace_back();
      results.back().command_tag.assign(tag);
    }
    backend_decoder_access::consume(decoder_, frame);
    handled = true;
  }
  return handled;
}

void link::handle(backend_message&& message) {
  if (phase_ == phase::checking_session) {
    handle_session_check(std::move(message));
    return;
  }
  if (extended_ && phase_ == phase::querying && handle_extended(message))
    return;
  auto* core = core_.get();
  auto pg = pg_;
  std::visit(
    [&](auto&& body) {
      using type = std::decay_t<decltype(body)>;
      if constexpr (std::is_same_v<type, authentication_request>) {
        if (phase_ != phase::authenticating) {
          fail(errc::malformed_message, "an authentication request outside the start-up");
          return;
        }
        handle_authentication(body);
      } else if constexpr (std::is_same_v<type, parameter_status>) {
        std::lock_guard guard{core->owner_state->mutex};
        pg->parameters[body.name] = body.value;
      } else if constexpr (std::is_same_v<type, backend_key_data>) {
        std::lock_guard guard{core->owner_state->mutex};
        pg->key = body;
      } else if constexpr (std::is_same_v<type, ready_for_query>) {
        {
          std::lock_guard guard{core->owner_state->mutex};
          pg->status = body.status;
          auto found = pg->building.find(operation_id_);
          if (found != pg->building.end())
            found->second.status = body.status;
        }
        if (phase_ == phase::starting) {
          check_session();
        } else if (phase_ == phase::querying) {
          phase_ = phase::ready;
          complete(function_id::execute, std::exchange(operation_id_, 0),
                   query_failed_ ? retcode::fail : retcode::succeed);
        }
      } else if constexpr (std::is_same_v<type, server_message>) {
        bool during_query = phase_ == phase::querying;
        if (body.is_error && (phase_ == phase::authenticating || phase_ == phase::starting))
          startup_error_ = body; // the server closes next; the connect fails then
        if (body.is_error && during_query) {
          query_failed_ = true;
          std::lock_guard guard{core->owner_state->mutex};
          auto found = pg->building.find(operation_id_);
          if (found != pg->building.end() && !found->second.error)
            found->second.error = body; // the first: a pipeline may have several
        }
        // The borrowing sync caller's own query: its callback runs here, now.
        if (on_caller_ && during_query && server_message_here(body))
          return;
        connection_event event;
        event.unsolicited = phase_ == phase::ready;
        event.bytes = sizeof(server_message) + body.message.size() + body.detail.size();
        event.run = installed_callback_event<&callbacks::server_message>(pg, core, std::move(body));
        core->deliver(std::move(event));
      } else if constexpr (std::is_same_v<type, notification_response>) {
        connection_event event;
        event.unsolicited = true;
        event.is_notification = true;
        event.bytes = sizeof(notification) + body.channel.size() + body.payload.size();
        event.run = installed_callback_event<&callbacks::notification>(
          pg, core,
          notification{std::move(body.channel), std::move(body.payload), body.process_id});
        core->deliver(std::move(event));
      } else if constexpr (std::is_same_v<type, row_description>) {
        std::lock_guard guard{core->owner_state->mutex};
        auto found = pg->building.find(operation_id_);
        if (found != pg->building.end()) {
          found->second.results.emplace_back();
          found->second.results.back().described = true;
          found->second.results.back().description = std::move(body);
        }
      } else if constexpr (std::is_same_v<type, data_row>) {
        std::lock_guard guard{core->owner_state->mutex};
        auto found = pg->building.find(operation_id_);
        if (found == pg->building.end() || found->second.results.empty() ||
            !found->second.results.back().described ||
            !found->second.results.back().command_tag.empty())
          return; // the decoder checked the shape; a stray row has no result to go to
        found->second.results.back().rows.push_back(std::move(body));
      } else if constexpr (std::is_same_v<type, command_complete> ||
                           std::is_same_v<type, empty_query_response>) {
        std::lock_guard guard{core->owner_state->mutex};
        auto found = pg->building.find(operation_id_);
        if (found == pg->building.end())
          return;
        auto& results = found->second.results;
        // A statement without rows has no RowDescription: its result starts here.
        if (results.empty() || !results.back().described || !results.back().command_tag.empty())
          results.emplace_back();
        if constexpr (std::is_same_v<type, command_complete>)
          results.back().command_tag = std::move(body.tag);
      } else if constexpr (std::is_same_v<type, copy_response>) {
        // COPY is not implemented yet: refuse COPY FROM STDIN; COPY TO
        // STDOUT's data is dropped until CopyDone and its tag is kept.
        if (body.kind == copy_response::direction::in)
          frontend::copy_fail(output_, "COPY FROM STDIN is not supported by this client yet");
      } else if constexpr (std::is_same_v<type, copy_data> || std::is_same_v<type, copy_done> ||
                           std::is_same_v<type, negotiate_protocol_version>) {
        // Nothing to do: see above; the minor version we ask for is 3.0.
      } else {
        fail(errc::malformed_message,
             std::string{"the server sent message type '"} + type_byte(backend_message{body}) +
               "', which the simple query protocol does not use");
      }
    },
    std::move(message));
}

// -- operations ----------------------------------------------------------------------

void link::send_query(std::uint64_t request_id, const std::string& sql) {
  worker_scope scope{*this, enter_from_worker([&] {
                       return [self = shared_from_this(), request_id, sql] {
                         self->send_query(request_id, sql);
                       };
                     })};
  if (!scope.entered)
    return;
  if (!open_query(request_id))
    return;
  frontend::query(output_, sql);
  flush_output();
}

// -- a sync caller's query on its own thread -----------------------------------------
// libpq writes, polls and reads on the calling thread. A sync-mode query
// here would otherwise cost two cross-thread hand-offs (caller to worker,
// worker back to caller): the caller borrows the link instead. The gate
// (gate_mutex_) decides who owns the link: the worker, inside an entry
// (worker_depth_ > 0) or idle, or one borrowing caller (borrowed_). What the
// worker is asked to do meanwhile waits in deferred_ and wakes the
// borrower, which gives the link back at once.

void link::wake_borrower_locked() noexcept {
  if (wake_fd_ >= 0 && deferred_.size() == 1) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof one);
  }
}

bool link::try_borrow(runtime::time_point deadline) {
  std::unique_lock guard{gate_mutex_};
  if (borrowed_ || !deferred_.empty())
    return false;
  if (worker_depth_ > 0) {
    // Typically the worker is finishing the tail of the entry that read the
    // previous query's answer (the caller woke on its completion first);
    // under load it may be preempted there for long. Entries never block, so
    // it leaves; falling back instead would hand it this query too, and the
    // next caller would find it inside again.
    ++borrow_waiters_;
    auto left = [this] { return worker_depth_ == 0; };
    bool free = true;
    if (deadline == runtime::time_point::max())
      worker_left_.wait(guard, left);
    else
      free = worker_left_.wait_until(guard, deadline, left);
    --borrow_waiters_;
    if (!free || borrowed_ || !deferred_.empty())
      return false;
  }
  if (wake_fd_ < 0) {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0)
      return false;
  }
  borrowed_ = true;
  // Readiness is the borrower's from here: turned off inside the gate, so
  // the worker never sees a readable socket of a lent link (it would drop the
  // report and be woken again at once, for as long as the loan lasts).
  if (fd_ >= 0 && interest_ != 0) {
    (void)worker_->modify(fd_, 0, *this);
    interest_ = 0;
  }
  return true;
}

bool link::idle_after_simple_query() const noexcept {
  return phase_ == phase::ready && fd_ >= 0 && !tls_ && !extended_ && !paused_ &&
         !awaiting_callback_ && !rows_held_ && output_start_ == output_.size();
}

void link::give_back() {
  // Re-arm and return the link in one step under the gate: re-armed while
  // still lent, a readable socket (a hand-back mid-query) made the worker
  // drop the readiness again and again, each time taking gate_mutex_, which
  // this thread needs to finish the hand-back (thousands of events under load).
  std::lock_guard guard{gate_mutex_};
  on_caller_ = false;
  // A query that ended here with nothing asked of the worker leaves the
  // socket unwatched: a sync connection without asynchronous notifications
  // reads what the server sends while it is idle during its next call, as
  // libpq does, so a run of queries makes no epoll_ctl at all. Whatever
  // needs the worker to read re-arms through update_interest on the worker
  // (an operation's start, resume, set_async_notifications); see "Who does
  // the I/O in sync mode" in docs/pg.md. EPOLLHUP and EPOLLERR reach the
  // worker anyway.
  if (!deferred_.empty() || async_notifications_ || !idle_after_simple_query())
    update_interest(); // interest_ is 0 while lent: this re-arms what is wanted now
  borrowed_ = false;
  if (deferred_.empty())
    return;
  std::uint64_t count = 0;
  [[maybe_unused]] auto got = ::read(wake_fd_, &count, sizeof count);
  // Posted under the gate, so they run before any entry that comes later.
  for (auto& each : deferred_)
    (void)worker_->post(std::move(each));
  deferred_.clear();
}

netio::detail::caller_outcome link::run_query_here(std::uint64_t request_id,
                                                   const std::string& sql,
                                                   runtime::time_point deadline) {
  if (!try_borrow(deadline))
    return {};
  // Only the plain case: an idle session after a simple query (a chunked or
  // streamed fetch, COPY or a pipeline may still have posts of its own on
  // the way to the worker), no TLS (its buffered plaintext is not seen by
  // poll), nothing held back, nothing left to write.
  if (phase_ != phase::ready || fd_ < 0 || tls_ || extended_ || paused_ || awaiting_callback_ ||
      rows_held_ || output_start_ != output_.size() || !core_) {
    give_back(); // re-arms what the worker wants and lets it in again
    return {};
  }
  on_caller_ = true;
  completed_here_.reset();
  try {
    if (open_query(request_id)) {
      frontend::query(output_, sql);
      flush_output();
    }
    while (phase_ == phase::querying && operation_id_ == request_id && fd_ >= 0 && !paused_ &&
           !rows_held_ && !awaiting_callback_) {
      int wait = -1;
      if (deadline != runtime::time_point::max()) {
        auto left = deadline - runtime::clock::now();
        if (left <= runtime::duration::zero())
          break; // wait_sync reports the timeout; the worker goes on reading
        wait = static_cast<int>(std::min<long long>(
          std::chrono::ceil<std::chrono::milliseconds>(left).count(), 60'000));
      }
      pollfd watched[2]{};
      watched[0].fd = fd_;
      watched[0].events = static_cast<short>(POLLIN | (output_start_ != output_.size() ? POLLOUT : 0));
      watched[1].fd = wake_fd_;
      watched[1].events = POLLIN;
      auto ready = ::poll(watched, 2, wait);
      if (ready < 0 && errno != EINTR)
        break;
      if (ready <= 0)
        continue;
      if (watched[1].revents != 0)
        break; // another thread asked the worker for something: give the link back
      if (watched[0].revents & POLLOUT)
        flush_output();
      if (fd_ >= 0 && (watched[0].revents & (POLLIN | POLLHUP | POLLERR)))
        read_step();
    }
  } catch (...) {
    fail(errc::connection_failed, "pg: " + netio::detail::describe_current_exception());
  }
  give_back();
  return {true, std::exchange(completed_here_, std::nullopt)};
}

void link::set_async_notifications(bool enabled) {
  {
    std::lock_guard guard{gate_mutex_};
    async_notifications_ = enabled;
  }
  if (!enabled)
    return;
  // A borrower that gave the link back before the flag was set may have
  // left the socket unwatched: the worker re-arms it.
  (void)worker_->post([self = shared_from_this()] {
    self->run_gated([self] {
      // Only the idle socket a borrower left unwatched: other phases keep
      // the interest they set (a connect in progress waits for EPOLLOUT).
      if (self->phase_ == phase::ready && self->interest_ == 0)
        self->update_interest();
    });
  });
}

void link::pause() {
  paused_ = true;
  update_interest();
}

void link::resume() {
  worker_scope scope{*this, enter_from_worker([&] {
                       return [self = shared_from_this()] { self->resume(); };
                     })};
  if (!scope.entered)
    return;
  paused_ = false;
  update_interest();
  if (fd_ >= 0)
    read_input();
}

void link::start_close(std::uint64_t close_id) {
  worker_scope scope{*this, enter_from_worker([&] {
                       return [self = shared_from_this(), close_id] { self->start_close(close_id); };
                     })};
  if (!scope.entered)
    return;
  if (fd_ >= 0) {
    frontend::terminate(output_);
    flush_output(); // best effort: Terminate is small and the socket is writable
  }
  auto pending = std::exchange(operation_id_, 0);
  auto was = phase_;
  close_socket();
  phase_ = phase::closed;
  if (pending != 0)
    complete(was == phase::querying ? function_id::execute : function_id::connect, pending,
             retcode::fail);
  if (close_id != 0)
    complete(function_id::close, close_id, retcode::succeed);
}

void link::force_close() {
  worker_scope scope{*this, enter_from_worker([&] {
                       return [self = shared_from_this()] { self->force_close(); };
                     })};
  if (!scope.entered)
    return;
  auto pending = std::exchange(operation_id_, 0);
  auto was = phase_;
  close_socket();
  phase_ = phase::closed;
  if (pending != 0)
    complete(was == phase::querying ? function_id::execute : function_id::connect, pending,
             retcode::fail);
}

void link::send_cancel(std::vector<std::uint64_t> request_ids) {
  // A caller that borrowed the link gives it back at once, and the worker
  // sends the CancelRequest then.
  worker_scope scope{*this, enter_from_worker([&] {
                       return [self = shared_from_this(), request_ids] {
                         self->send_cancel(request_ids);
                       };
                     })};
  if (!scope.entered)
    return;
  // Only the query on the wire can be canceled; a cancel that comes after it
  // finished has nothing to stop (and must not stop the next one).
  if (phase_ != phase::querying || fd_ < 0 ||
      std::find(request_ids.begin(), request_ids.end(), operation_id_) == request_ids.end())
    return;
  backend_key_data key;
  {
    std::lock_guard guard{core_->owner_state->mutex};
    key = pg_->key;
  }
  std::vector<std::byte> request;
  frontend::cancel_request(request, key);
  std::weak_ptr<link> weak = shared_from_this();
  auto where = addresses_[address_index_].to_string();
  auto sender = std::make_shared<cancel_sender>(
    worker_, addresses_[address_index_], std::move(request),
    [weak, where](const std::shared_ptr<cancel_sender>& done, std::string problem) {
      if (auto alive = weak.lock())
        alive->cancel_finished(done, where, std::move(problem));
    });
  cancels_.push_back(sender);
  sender->start();
}

void link::cancel_finished(const std::shared_ptr<cancel_sender>& done, const std::string& where,
                           std::string problem) {
  // The next query may have borrowed the link meanwhile.
  worker_scope scope{*this, enter_from_worker([&] {
                       return [self = shared_from_this(), done, where, problem] {
                         self->cancel_finished(done, where, problem);
                       };
                     })};
  if (!scope.entered)
    return;
  std::erase(cancels_, done);
  // The session itself is unharmed: a warning, not an error.
  if (!problem.empty())
    report(client_message{netio::severity::warning, make_error_code(errc::connection_failed),
                          "cancel: the CancelRequest to " + where +
                            " was not delivered: " + problem});
}

void link::abandon() {
  worker_scope scope{*this, enter_from_worker([&] {
                       return [self = shared_from_this()] { self->abandon(); };
                     })};
  if (!scope.entered)
    return;
  for (auto& each : std::exchange(cancels_, {}))
    each->stop();
  if (fd_ >= 0) {
    frontend::terminate(output_);
    flush_output();
  }
  close_socket();
  phase_ = phase::closed;
  // Break the state <-> link cycle; events for a gone connection are dropped.
  core_.reset();
}

} // namespace actorloop::pg::detail
