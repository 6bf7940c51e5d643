// The worker side of a pipeline: files each statement's answers under its
// own result, marks the statement an ErrorResponse stopped as failed and
// the rest of its Sync segment as aborted (the server skips them up to the
// Sync), and completes the operation at the last segment's ReadyForQuery.
#include "connection_link.hpp"

namespace actorloop::pg::detail {

bool link::handle_pipeline(backend_message& message) {
  auto& operation = *extended_;
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
        if (body.is_error && operation.segment < operation.segment_ends.size() &&
            operation.statement < operation.segment_ends[operation.segment]) {
          std::lock_guard guard{core_->owner_state->mutex};
          if (auto* target = current()) {
            target->status = statement_status::failed;
            target->error = body;
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
        // Only the last segment's ReadyForQuery completes the operation.
        return operation.segment < operation.segment_ends.size();
      } else {
        return false;
      }
    },
    message);
}

} // namespace actorloop::pg::detail
