#pragma once
// What a pg::connection shares between its public face (any thread) and
// its worker-side link: pg's callbacks, results and session facts. Every
// member is guarded by the netio core's context mutex, so that a result
// and the core's completion bookkeeping change in one step.

#include <actorloop/pg/connection.hpp>

#include <actorloop/netio/detail/connection_core.hpp>

#include <atomic>
#include <deque>
#include <map>
#include <optional>
#include <vector>

namespace actorloop::pg {

namespace detail {

/// The results not taken yet, oldest first: a vector read from `head_` on,
/// emptied (its capacity kept) once everything was taken, so that a
/// connection filing and taking one result at a time allocates nothing for
/// the queue (a std::deque of such large elements allocates a block per
/// element).
class result_queue {
public:
  [[nodiscard]] bool empty() const noexcept { return head_ == items_.size(); }
  void push_back(query_result&& item) { items_.push_back(std::move(item)); }
  [[nodiscard]] query_result take_front() {
    auto taken = std::move(items_[head_++]);
    settle();
    return taken;
  }
  /// Takes the result of request `id`, if there.
  [[nodiscard]] std::optional<query_result> take(std::uint64_t id) {
    for (auto position = items_.begin() + static_cast<std::ptrdiff_t>(head_);
         position != items_.end(); ++position)
      if (position->request_id == id) {
        auto taken = std::move(*position);
        items_.erase(position);
        settle();
        return taken;
      }
    return std::nullopt;
  }

private:
  void settle() {
    if (head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    }
  }
  std::vector<query_result> items_;
  std::size_t head_ = 0;
};

} // namespace detail

class connection::state {
public:
  explicit state(connection_options settings) : options(std::move(settings)) {}

  const connection_options options;
  std::shared_ptr<netio::connection::state> core; // set right after construction

  // -- guarded by core->owner_state->mutex ---------------------------------------
  // Replaced whole on every change (copy on write), so that a delivery
  // takes the set with one reference count instead of copying a callback.
  std::shared_ptr<const callbacks> installed = std::make_shared<const callbacks>();
  connection* self = nullptr; // cleared when the connection object goes
  std::map<std::uint64_t, query_result> building;
  // The node of the last result filed, reused by the next (link::open_query).
  std::map<std::uint64_t, query_result>::node_type spare_building;
  detail::result_queue finished;
  std::map<std::string, std::string> parameters;
  backend_key_data key;
  transaction_status status = transaction_status::idle;
  std::map<std::string, statement_description> statements; // prepared through us

  // -- rows streamed through fetch_options::on_rows (any thread) ---------------------
  std::atomic<std::uint64_t> rows_streamed{0};
  std::atomic<std::size_t> buffered_rows{0};
  std::atomic<std::size_t> peak_buffered_rows{0};
  std::atomic<std::uint64_t> copy_out_bytes{0};
  std::atomic<std::size_t> copy_out_buffered{0};
  std::atomic<std::size_t> peak_copy_out_buffered{0};
  std::atomic<std::uint64_t> copy_in_bytes{0};
  std::atomic<std::size_t> peak_copy_in_unsent{0};
  // -- start-up facts (tls_negotiation.cpp, connection_link.cpp) --
  std::string authentication; // the method the server accepted, see connection.hpp
  bool tls_in_use = false;
};

} // namespace actorloop::pg
