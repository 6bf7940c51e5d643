// The worker side of COPY (PostgreSQL documentation, 55.2.6 "COPY
// Operations"): COPY TO STDOUT's CopyData handed to copy_out's callback in
// chunks of about 64 KiB, with the core's backpressure on undelivered
// events; COPY FROM STDIN's data taken from copy_in's source on the
// thread the mode prescribes, one piece at a time, only while less than
// copy_in_window bytes wait to be written, then CopyDone (or CopyFail).
// A piece is written from the source's string with a gathered write on a
// plain socket; only what the socket does not take is copied.
#include "connection_link.hpp"
#include "source_call.hpp"

#include <actorloop/netio/detail/socket_ops.hpp>
#include <actorloop/pg/error.hpp>
#include <actorloop/pg/frontend.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/uio.h>

namespace actorloop::pg::detail {

namespace {

constexpr std::size_t copy_chunk_bytes = 64 * 1024;

/// CopyFail's reason is a C string: a NUL in an exception text is replaced.
std::string fail_reason(std::string text) {
  for (auto& each : text)
    if (each == '\0')
      each = '?';
  return text;
}

} // namespace

bool link::handle_copy(backend_message& message) {
  auto& operation = *extended_;
  bool copying_out = operation.what == extended_operation::kind::copy_out;
  return std::visit(
    [&](auto& body) -> bool {
      using type = std::decay_t<decltype(body)>;
      if constexpr (std::is_same_v<type, copy_response>) {
        if (body.kind == copy_response::direction::in) {
          if (!copying_out && !operation.copy_started) {
            operation.copy_started = true;
            request_copy_data();
          } else {
            frontend::copy_fail(output_, "this operation has no data for COPY FROM STDIN "
                                         "(use copy_in)");
          }
        } else if (body.kind == copy_response::direction::out && !copying_out) {
          report(netio::client_message{netio::severity::warning,
                                       make_error_code(errc::invalid_argument),
                                       "copy_in: the statement is COPY TO STDOUT; its data is "
                                       "dropped (use copy_out)"});
        }
        return true;
      } else if constexpr (std::is_same_v<type, copy_data>) {
        if (!copying_out)
          return true; // reported at CopyOutResponse
        operation.copy_buffer += body.data;
        raise_peak(pg_->peak_copy_out_buffered,
                   pg_->copy_out_buffered.fetch_add(body.data.size(), std::memory_order_relaxed) +
                     body.data.size());
        if (operation.copy_buffer.size() >= copy_chunk_bytes)
          deliver_copy_data();
        return true;
      } else if constexpr (std::is_same_v<type, copy_done>) {
        if (copying_out && !operation.copy_buffer.empty())
          deliver_copy_data();
        return true;
      } else if constexpr (std::is_same_v<type, server_message>) {
        if (body.is_error)
          operation.copy_ended = true; // the server left copy mode: send nothing more
        return false;
      } else {
        return false; // CommandComplete, ReadyForQuery, ...: the simple query's handling
      }
    },
    message);
}

void link::deliver_copy_data() {
  auto& operation = *extended_;
  auto data = std::make_shared<std::string>(std::move(operation.copy_buffer));
  operation.copy_buffer = {};
  if (!core_)
    return;
  netio::detail::connection_event event;
  event.bytes = data->size();
  auto pg = pg_;
  auto* core = core_.get();
  event.run = [pg, core, data, callback = operation.on_copy_data](netio::connection&) {
    struct returned {
      connection::state& pg;
      std::size_t count;
      ~returned() {
        pg.copy_out_buffered.fetch_sub(count, std::memory_order_relaxed);
        pg.copy_out_bytes.fetch_add(count, std::memory_order_relaxed);
      }
    } guard{*pg, data->size()};
    connection* target = nullptr;
    {
      std::lock_guard lock{core->owner_state->mutex};
      target = pg->self;
    }
    if (target)
      callback(*target, *data);
  };
  core_->deliver(std::move(event));
}

void link::request_copy_data() {
  auto& operation = *extended_;
  if (operation.copy_asked || operation.copy_ended || !core_)
    return;
  operation.copy_asked = true;
  netio::detail::connection_event event;
  std::weak_ptr<link> weak = shared_from_this();
  auto pg = pg_;
  auto worker = worker_;
  auto* core = core_.get();
  event.run = [weak, pg, worker, core, source = operation.source,
               id = operation_id_](netio::connection&) {
    std::optional<std::string> piece;
    auto failure = call_source(*core, *pg, "the copy_in source",
                               [&](connection& target) { piece = source(target); });
    worker->post([weak, id, piece = std::move(piece), failure = std::move(failure)]() mutable {
      if (auto alive = weak.lock())
        alive->run_gated([alive, id, piece = std::move(piece), failure = std::move(failure)]() mutable {
          alive->copy_data_arrived(id, std::move(piece), std::move(failure));
        });
    });
  };
  core_->deliver(std::move(event));
}

void link::copy_data_arrived(std::uint64_t request_id, std::optional<std::string> piece,
                             std::string failure) {
  if (!extended_ || phase_ != phase::querying || operation_id_ != request_id || fd_ < 0)
    return;
  auto& operation = *extended_;
  operation.copy_asked = false;
  if (operation.copy_ended)
    return;
  // The piece is ours (moved from the source): its bytes are written from
  // the string itself, not copied into output_ first.
  std::span<const std::byte> lent;
  if (failure.empty() && piece) {
    try {
      if (!piece->empty()) {
        frontend::copy_data_header(output_, piece->size());
        lent = {reinterpret_cast<const std::byte*>(piece->data()), piece->size()};
      }
      pg_->copy_in_bytes.fetch_add(piece->size(), std::memory_order_relaxed);
      raise_peak(pg_->peak_copy_in_unsent, output_.size() - output_start_ + lent.size());
    } catch (const error& refused) {
      failure = refused.what(); // a piece above the protocol's message size
    }
  }
  if (!failure.empty()) {
    frontend::copy_fail(output_, fail_reason(std::move(failure)));
    operation.copy_ended = true;
  } else if (!piece) {
    frontend::copy_done(output_);
    operation.copy_ended = true;
  }
  if (!lent.empty() && !write_copy_piece(lent))
    return;
  flush_output(); // asks for the next piece when the output drained enough
}

bool link::write_copy_piece(std::span<const std::byte> piece) {
  if (tls_ || fd_ < 0) {
    output_.insert(output_.end(), piece.begin(), piece.end());
    return true;
  }
  std::size_t unsent = output_.size() - output_start_;
  iovec parts[2];
  int count = 0;
  if (unsent != 0)
    parts[count++] = {output_.data() + output_start_, unsent};
  parts[count++] = {const_cast<std::byte*>(piece.data()), piece.size()};
  msghdr message{};
  message.msg_iov = parts;
  message.msg_iovlen = static_cast<std::size_t>(count);
  ssize_t written = 0;
  do
    written = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
  while (written < 0 && errno == EINTR);
  if (written < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      // As flush_output reports a failed send.
      int problem = errno;
      fail(netio::detail::socket_error(problem),
           "writing to " + where() + " failed: " + std::strerror(problem));
      return false;
    }
    written = 0;
  }
  auto taken = static_cast<std::size_t>(written);
  auto from_output = std::min(taken, unsent);
  output_start_ += from_output;
  // The rest waits in output_ behind what is still unsent, so the order of
  // the messages (and CopyDone after the data) stays as it was.
  auto rest = piece.subspan(taken - from_output);
  if (output_start_ == output_.size()) {
    output_.clear(); // what was sent is not kept in front of the rest
    output_start_ = 0;
  }
  output_.insert(output_.end(), rest.begin(), rest.end());
  return true;
}

void link::copy_output_drained() {
  if (!extended_ || extended_->what != extended_operation::kind::copy_in ||
      !extended_->copy_started || extended_->copy_ended || extended_->copy_asked ||
      phase_ != phase::querying || fd_ < 0)
    return;
  if (output_.size() - output_start_ < copy_in_window)
    request_copy_data();
}

} // namespace actorloop::pg::detail
