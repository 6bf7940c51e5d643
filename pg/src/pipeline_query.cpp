// The worker side of a pipeline: files each statement's answers under its
// own result, marks the statement an ErrorResponse stopped as failed and
// the rest of its Sync segment as aborted (the server skips them up to the
// Sync), and completes the operation at the last segment's ReadyForQuery.
// A fed pipeline (execute(pipeline_source)) asks its source for the next
// piece, where callbacks run, whenever the output drained below
// pipeline_window.
#include "connection_link.hpp"
#include "source_call.hpp"

#include <actorloop/pg/error.hpp>
#include <actorloop/pg/frontend.hpp>

namespace actorloop::pg::detail {

bool link::handle_pipeline(backend_message& message) {
  auto& operation = *extended_;
  // The statements of the segment the server answers end here (a fed
  // pipeline's last segment may not have its Sync yet).
  auto segment_end = [&] {
    return operation.segment < operation.segment_ends.size()
             ? operation.segment_ends[operation.segment]
             : operation.statements_sent;
  };
  // The result of the statement the server answers, created on first use.
  auto current = [&]() -> result* {
    auto found = pg_->building.find(operation_id_);
    if (found == pg_->building.end())
      return nullptr;
    auto& results = found->second.results;
    while (results.size() <= operation.statement)
      results.emplace_back();
    return &results[operation.statement];
  };
  return std::visit(
    [&](auto& body) -> bool {
      using type = std::decay_t<decltype(body)>;
      if constexpr (std::is_same_v<type, parse_complete> || std::is_same_v<type, bind_complete> ||
                    std::is_same_v<type, no_data>) {
        return true;
      } else if constexpr (std::is_same_v<type, row_description>) {
        std::lock_guard guard{core_->owner_state->mutex};
        if (auto* target = current()) {
          target->described = true;
          target->description = std::move(body);
        }
        return true;
      } else if constexpr (std::is_same_v<type, data_row>) {
        std::lock_guard guard{core_->owner_state->mutex};
        if (auto* target = current())
          target->rows.push_back(std::move(body));
        return true;
      } else if constexpr (std::is_same_v<type, command_complete> ||
                           std::is_same_v<type, empty_query_response>) {
        std::lock_guard guard{core_->owner_state->mutex};
        auto* target = current();
        if constexpr (std::is_same_v<type, command_complete>) {
          if (target)
            target->command_tag = std::move(body.tag);
        }
        ++operation.statement;
        return true;
      } else if constexpr (std::is_same_v<type, server_message>) {
        if (body.is_error && operation.statement < segment_end()) {
          std::lock_guard guard{core_->owner_state->mutex};
          if (auto* target = current()) {
            target->status = statement_status::failed;
            target->error = std::make_shared<const server_message>(body);
          }
          ++operation.statement;
          operation.segment_failed = true;
        }
        return false; // fails the operation and reaches the server-message callback
      } else if constexpr (std::is_same_v<type, ready_for_query>) {
        if (operation.segment >= operation.segment_ends.size())
          return false;
        auto end = operation.segment_ends[operation.segment];
        {
          std::lock_guard guard{core_->owner_state->mutex};
          // The statements the server skipped after the segment's error.
          while (operation.statement < end) {
            if (auto* target = current())
              target->status = statement_status::aborted;
            ++operation.statement;
          }
          pg_->status = body.status;
        }
        operation.segment_failed = false;
        ++operation.segment;
        // Only the last segment's ReadyForQuery completes the operation
        // (of a fed pipeline: once no piece follows).
        return operation.segment < operation.segment_ends.size() || !operation.feed_ended;
      } else {
        return false;
      }
    },
    message);
}

void link::pipeline_output_drained() {
  if (!extended_ || extended_->what != extended_operation::kind::pipeline ||
      extended_->feed_ended || extended_->feed_asked || phase_ != phase::querying || fd_ < 0)
    return;
  if (output_.size() - output_start_ < pipeline_window)
    request_pipeline_piece();
}

void link::request_pipeline_piece() {
  auto& operation = *extended_;
  if (!core_)
    return;
  operation.feed_asked = true;
  netio::detail::connection_event event;
  std::weak_ptr<link> weak = shared_from_this();
  auto pg = pg_;
  auto worker = worker_;
  auto* core = core_.get();
  event.run = [weak, pg, worker, core, source = operation.feed,
               id = operation_id_](netio::connection&) {
    auto piece = std::make_shared<pipeline>();
    bool more = false;
    auto failure = call_source(*core, *pg, "the pipeline source",
                               [&](connection& target) { more = source(target, *piece); });
    worker->post([weak, id, piece, more, failure = std::move(failure)]() mutable {
      if (auto alive = weak.lock())
        alive->run_gated([alive, id, piece, more, failure = std::move(failure)]() mutable {
          alive->pipeline_piece_arrived(id, *piece, more, std::move(failure));
        });
    });
  };
  core_->deliver(std::move(event));
}

void link::pipeline_piece_arrived(std::uint64_t request_id, pipeline& piece, bool more,
                                  std::string failure) {
  if (!extended_ || phase_ != phase::querying || operation_id_ != request_id || fd_ < 0)
    return;
  auto& operation = *extended_;
  operation.feed_asked = false;
  if (operation.feed_ended)
    return;
  if (!failure.empty()) {
    // Nothing of this piece goes out; what was sent is closed and answered.
    query_failed_ = true;
    report(netio::client_message{netio::severity::error, make_error_code(errc::invalid_argument),
                                 "execute(pipeline_source): " + failure});
    end_pipeline_feed();
  } else {
    output_.insert(output_.end(), piece.messages_.begin(), piece.messages_.end());
    for (auto end : piece.segment_ends_)
      operation.segment_ends.push_back(operation.statements_sent + end);
    operation.statements_sent += piece.statements_;
    if (!more)
      end_pipeline_feed();
  }
  flush_output(); // asks for the next piece when the output drained enough
}

void link::end_pipeline_feed() {
  auto& operation = *extended_;
  operation.feed_ended = true;
  // A Sync after the last statements; and one on its own when the server
  // answered every segment already, so that a ReadyForQuery completes.
  if (operation.segment_ends.empty() ||
      operation.segment_ends.back() != operation.statements_sent ||
      operation.segment == operation.segment_ends.size()) {
    frontend::sync(output_);
    operation.segment_ends.push_back(operation.statements_sent);
  }
}

} // namespace actorloop::pg::detail
