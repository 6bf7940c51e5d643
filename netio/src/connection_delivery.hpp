#pragma once
// Async mode's direct delivery. Whatever arrives for a connection in async
// mode runs at once on its I/O worker (Client-Library Table 2-27: the I/O
// worker), so building a `connection_event` (a heap-allocated std::function)
// only to run it a moment later cost allocations and two extra lock round
// trips per message. These functions do the same work in place; each
// returns false, touching nothing, when the connection is not in async mode,
// and the caller then takes the event path (`connection::state::deliver`),
// which every other mode and the pg module keep using. They route from the
// connection's routing snapshot (connection::state::routing), without the
// context's lock; only filing and a completion's bookkeeping take it.
// Private to the netio module; every function runs on the connection's I/O
// worker.

#include <actorloop/netio/detail/connection_core.hpp>

namespace actorloop::netio::detail {

/// Files `row` into the result of request `id` (lock held). Returns 0, or
/// the bytes the results would hold when they would go over
/// max_result_bytes (then the request's rows are dropped and it is marked
/// as discarding; report it with `refuse_rows_over`).
[[nodiscard]] std::size_t file_row_locked(connection::state& state, std::uint64_t id,
                                          result_row&& row);

/// Files the completion record `outcome` of request `id` into its result
/// (lock held).
void file_outcome_locked(connection::state& state, std::uint64_t id, completion&& outcome);

/// Says that request `id`'s results went over max_result_bytes (client
/// message on the calling thread) and asks the server to cancel it.
void refuse_rows_over(connection::state& state, std::uint64_t id, std::size_t over);

/// Ends operation `id` (`function`) with `status` on the delivery thread:
/// what the completion event does when it runs (files an execute's result,
/// calls the completion callback outside sync mode).
void finish_operation(connection::state& state, connection& self, function_id function,
                      std::uint64_t id, retcode status);

/// Async mode: files a row of request `id` at once. True when done (or
/// dropped because the connection object is gone, as `deliver` drops it);
/// false (the row untouched) in the other modes.
[[nodiscard]] bool deliver_row_now(connection::state& state, std::uint64_t id, result_row& row);

/// Async mode: completes operation `id` at once (the completion callback
/// runs here, on the worker). With `outcome`, files it into the request's
/// result first, under the same lock as the completion's bookkeeping (left
/// untouched when this returns false, for the caller to file). Same results
/// as `deliver_row_now`.
[[nodiscard]] bool deliver_completion_now(connection::state& state, function_id function,
                                          std::uint64_t id, retcode status,
                                          completion* outcome = nullptr);

/// Async mode, when the notification is not held back (an operation is
/// pending or async notifications are on): calls the notification callback
/// at once. Same results as `deliver_row_now`.
[[nodiscard]] bool deliver_notification_now(connection::state& state, const notification& note);

} // namespace actorloop::netio::detail
