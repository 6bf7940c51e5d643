// The worker side of the extended query protocol (PostgreSQL
// documentation, 55.2.3 "Extended Query"): sending an operation the
// caller's thread encoded, following its ParseComplete, BindComplete,
// ParameterDescription, NoData, PortalSuspended and CloseComplete, fetching
// a portal in chunks, and streaming rows to fetch_options::on_rows with at
// most two chunks held.
#include "connection_link.hpp"

#include <actorloop/pg/error.hpp>
#include <actorloop/pg/frontend.hpp>

#include <algorithm>

namespace actorloop::pg::detail {

namespace {

/// Counts a chunk's rows as buffered when it is handed over: once per
/// chunk, not an atomic update per row (the peak is the same, as rows are
/// only handed back a chunk at a time).
void note_buffered_rows(connection::state& pg, std::size_t rows) {
  raise_peak(pg.peak_buffered_rows,
             pg.buffered_rows.fetch_add(rows, std::memory_order_relaxed) + rows);
}

/// Adds a streamed row to the chunk being received; a new chunk gets its
/// room at once rather than by doubling (up to 16384 rows: rows_per_chunk
/// is the caller's and may be huge).
void add_to_chunk(extended_operation& operation, data_row&& row) {
  if (operation.chunk.empty())
    operation.chunk.reserve(std::min<std::size_t>(operation.fetch.rows_per_chunk, 16384));
  operation.chunk.push_back(std::move(row));
}

/// `tag` with its final number (the rows) replaced by `rows`.
std::string with_row_count(const std::string& tag, std::uint64_t rows) {
  auto end = tag.size();
  auto start = end;
  while (start > 0 && tag[start - 1] >= '0' && tag[start - 1] <= '9')
    --start;
  if (start == end || start == 0 || tag[start - 1] != ' ')
    return tag;
  return tag.substr(0, start) + std::to_string(rows);
}

bool executes_portal(const extended_operation& operation) {
  return operation.what == extended_operation::kind::execute ||
         operation.what == extended_operation::kind::execute_prepared;
}

} // namespace

void raise_peak(std::atomic<std::size_t>& peak, std::size_t value) {
  auto seen = peak.load(std::memory_order_relaxed);
  while (value > seen && !peak.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

bool link::open_query(std::uint64_t request_id) {
  if (phase_ != phase::ready || fd_ < 0) {
    operation_id_ = request_id;
    phase_ = phase::querying;
    fail(errc::connection_failed, "execute: the connection is not ready");
    return false;
  }
  extended_.reset();
  rows_held_ = false;
  {
    std::lock_guard guard{core_->owner_state->mutex};
    // The core's record keeps the completion waitable set until the result is taken.
    (void)netio::detail::open_result_locked(*core_, request_id);
    if (!pg_->spare_building.empty() && !pg_->building.contains(request_id)) {
      // The node of the last result taken: no map node allocated per query.
      // Its result was moved out: each member is set as a fresh one's would
      // be, in place (cheaper than assigning a whole new query_result).
      auto node = std::move(pg_->spare_building);
      node.key() = request_id;
      auto& opened = node.mapped();
      opened.request_id = request_id;
      opened.results.clear();
      opened.error.reset();
      opened.status = pg_->status;
      opened.statement.reset();
      pg_->building.insert(std::move(node));
    } else {
      pg_->building[request_id] = query_result{request_id, {}, {}, pg_->status, {}};
    }
  }
  operation_id_ = request_id;
  query_failed_ = false;
  phase_ = phase::querying;
  return true;
}

void link::send_extended(std::uint64_t request_id, std::shared_ptr<extended_operation> operation) {
  if (!open_query(request_id))
    return;
  extended_ = std::move(operation);
  auto& messages = extended_->messages;
  if (output_start_ == output_.size()) {
    // Nothing waits to be written: take the encoded messages as they are
    // (a pipeline's can be megabytes) rather than copy them.
    output_.swap(messages);
    output_start_ = 0;
  } else {
    output_.insert(output_.end(), messages.begin(), messages.end());
  }
  messages = {};
  if (extended_->what == extended_operation::kind::pipeline && !extended_->segment_ends.empty()) {
    // One result per statement, in place from the start (no regrowth on
    // this worker while the answers come).
    std::lock_guard guard{core_->owner_state->mutex};
    auto found = pg_->building.find(request_id);
    if (found != pg_->building.end())
      found->second.results.reserve(extended_->segment_ends.back());
  }
  if (!executes_portal(*extended_)) {
    extended_->sync_sent = true; // the caller's messages end with Sync
  } else if (extended_->fetch.rows_per_chunk == 0) {
    frontend::execute(output_, "", 0);
    frontend::sync(output_);
    extended_->sync_sent = true;
  } else {
    send_execute();
  }
  flush_output();
}

void link::send_execute() {
  // Flush, not Sync: the unnamed portal lives until the Sync that ends
  // the operation, which goes after the last chunk (or an error).
  if (extended_->sync_sent)
    return;
  frontend::execute(output_, "", static_cast<std::int32_t>(extended_->fetch.rows_per_chunk));
  frontend::flush(output_);
}

void link::deliver_chunk() {
  auto& operation = *extended_;
  auto rows = std::make_shared<result>();
  rows->described = true;
  rows->description = operation.columns;
  rows->rows = std::move(operation.chunk);
  operation.chunk = {};
  if (!core_)
    return;
  ++operation.unconsumed;
  note_buffered_rows(*pg_, rows->rows.size());
  netio::detail::connection_event event;
  for (auto& row : rows->rows)
    event.bytes += sizeof(data_row) + row.byte_size();
  std::weak_ptr<link> weak = shared_from_this();
  auto pg = pg_;
  auto worker = worker_;
  auto* core = core_.get();
  event.run = [weak, pg, worker, core, rows, callback = operation.fetch.on_rows,
               id = operation_id_](netio::connection&) {
    // Whatever the callback does (a throw included), the rows are handed
    // back and the link may fetch the next chunk.
    struct returned {
      std::weak_ptr<link> weak;
      std::shared_ptr<connection::state> pg;
      std::shared_ptr<netio::detail::io_worker> worker;
      std::size_t count;
      std::uint64_t id;
      ~returned() {
        pg->buffered_rows.fetch_sub(count, std::memory_order_relaxed);
        pg->rows_streamed.fetch_add(count, std::memory_order_relaxed);
        if (worker->on_this_thread()) {
          // Async mode: on_rows ran on the worker, inside the read. Counted
          // back at once, or the next PortalSuspended of the same read would
          // still see this chunk out and hold the next Execute back.
          if (auto alive = weak.lock())
            alive->chunk_returned(id);
          return;
        }
        worker->post([weak = weak, id = id] {
          if (auto alive = weak.lock())
            alive->run_gated([alive, id] { alive->chunk_returned(id); });
        });
      }
    } guard{weak, pg, worker, rows->rows.size(), id};
    connection* target = nullptr;
    {
      std::lock_guard lock{core->owner_state->mutex};
      target = pg->self;
    }
    if (target)
      callback(*target, *rows);
  };
  core_->deliver(std::move(event));
}

void link::chunk_returned(std::uint64_t request_id) {
  if (!extended_ || phase_ != phase::querying || operation_id_ != request_id || fd_ < 0)
    return;
  auto& operation = *extended_;
  if (operation.unconsumed > 0)
    --operation.unconsumed;
  if (operation.execute_wanted && operation.unconsumed <= 1) {
    operation.execute_wanted = false;
    send_execute();
    flush_output();
  }
  if (rows_held_ && operation.unconsumed <= 1) {
    // A simple query's rows: read again, starting with what the decoder holds.
    rows_held_ = false;
    if (!handle_decoded())
      return;
    flush_output();
    read_input();
  }
}

bool link::handle_simple_streaming(backend_message& message) {
  auto& operation = *extended_;
  auto deliver_rows = [&] {
    if (!operation.chunk.empty())
      deliver_chunk();
    // Two chunks wait for on_rows: stop reading until one comes back.
    if (operation.unconsumed >= 2 && !rows_held_) {
      rows_held_ = true;
      update_interest();
    }
  };
  return std::visit(
    [&](auto& body) -> bool {
      using type = std::decay_t<decltype(body)>;
      if constexpr (std::is_same_v<type, row_description>) {
        operation.columns = body;
        return false; // the statement's result records its description
      } else if constexpr (std::is_same_v<type, data_row>) {
        add_to_chunk(operation, std::move(body));
        if (operation.chunk.size() >= operation.fetch.rows_per_chunk)
          deliver_rows();
        return true;
      } else if constexpr (std::is_same_v<type, command_complete> ||
                           std::is_same_v<type, server_message>) {
        // A statement ended (or failed): its last rows go before its tag or error.
        if constexpr (std::is_same_v<type, server_message>) {
          if (!body.is_error)
            return false;
        }
        deliver_rows();
        return false;
      } else if constexpr (std::is_same_v<type, ready_for_query>) {
        extended_.reset();
        return false; // completes the operation
      } else {
        return false;
      }
    },
    message);
}

bool link::handle_extended(backend_message& message) {
  auto& operation = *extended_;
  if (operation.what == extended_operation::kind::pipeline)
    return handle_pipeline(message);
  if (operation.what == extended_operation::kind::copy_out ||
      operation.what == extended_operation::kind::copy_in)
    return handle_copy(message);
  if (operation.what == extended_operation::kind::simple_streaming)
    return handle_simple_streaming(message);
  bool streamed = static_cast<bool>(operation.fetch.on_rows);
  return std::visit(
    [&](auto& body) -> bool {
      using type = std::decay_t<decltype(body)>;
      if constexpr (std::is_same_v<type, parse_complete> || std::is_same_v<type, bind_complete> ||
                    std::is_same_v<type, close_complete> || std::is_same_v<type, no_data>) {
        return true; // NoData: the statement returns no rows (returns_rows stays false)
      } else if constexpr (std::is_same_v<type, parameter_description>) {
        operation.described.parameter_types = std::move(body.types);
        return true;
      } else if constexpr (std::is_same_v<type, row_description>) {
        if (operation.what == extended_operation::kind::prepare) {
          operation.described.returns_rows = true;
          operation.described.columns = std::move(body);
          return true;
        }
        operation.returns_rows = true;
        if (streamed)
          operation.columns = body;
        return false; // the result records its description
      } else if constexpr (std::is_same_v<type, data_row>) {
        ++operation.rows_fetched;
        if (!streamed)
          return false;
        add_to_chunk(operation, std::move(body));
        return true;
      } else if constexpr (std::is_same_v<type, portal_suspended>) {
        // At most two chunks held: the one just ended, waiting for on_rows,
        // and the next one arriving. The next Execute goes out before this
        // chunk is handed over: in async mode on_rows runs right here on the
        // worker, and the server would otherwise sit idle until it returned.
        auto keep = extended_; // a failed write below ends the operation
        if (operation.unconsumed == 0) {
          send_execute();
          flush_output();
          if (fd_ < 0)
            return true;
        } else {
          operation.execute_wanted = true;
        }
        if (streamed)
          deliver_chunk();
        return true;
      } else if constexpr (std::is_same_v<type, command_complete> ||
                           std::is_same_v<type, empty_query_response>) {
        if (streamed && !operation.chunk.empty())
          deliver_chunk();
        if constexpr (std::is_same_v<type, command_complete>) {
          // After PortalSuspended the server's count is the last Execute's
          // rows only; the tag reports them all.
          if (operation.fetch.rows_per_chunk > 0 && operation.returns_rows)
            body.tag = with_row_count(body.tag, operation.rows_fetched);
        }
        if (!operation.sync_sent) {
          frontend::sync(output_); // flushed after this read
          operation.sync_sent = true;
        }
        return false; // the result records the tag
      } else if constexpr (std::is_same_v<type, server_message>) {
        if (body.is_error) {
          // The rows that came before the error are delivered, then the
          // error; the server skips to the next Sync, which a chunked fetch
          // has not sent yet.
          if (streamed && !operation.chunk.empty())
            deliver_chunk();
          operation.execute_wanted = false;
          if (!operation.sync_sent) {
            frontend::sync(output_);
            operation.sync_sent = true;
          }
        }
        return false;
      } else if constexpr (std::is_same_v<type, ready_for_query>) {
        auto finished = std::exchange(extended_, nullptr);
        if (!query_failed_ && finished->what == extended_operation::kind::prepare) {
          finished->described.name = finished->statement_name;
          std::lock_guard guard{core_->owner_state->mutex};
          pg_->statements[finished->statement_name] = finished->described;
          auto found = pg_->building.find(operation_id_);
          if (found != pg_->building.end())
            found->second.statement = std::move(finished->described);
        } else if (finished->what == extended_operation::kind::close_statement) {
          std::lock_guard guard{core_->owner_state->mutex};
          pg_->statements.erase(finished->statement_name);
        }
        return false; // completes the operation
      } else {
        return false;
      }
    },
    message);
}

} // namespace actorloop::pg::detail
