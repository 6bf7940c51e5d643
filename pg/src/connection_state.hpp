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

namespace actorloop::pg {

class connection::state {
public:
  explicit state(connection_options settings) : options(std::move(settings)) {}

  const connection_options options;
  std::shared_ptr<netio::connection::state> core; // set right after construction

  // -- guarded by core->owner_state->mutex ---------------------------------------
  callbacks installed;
  connection* self = nullptr; // cleared when the connection object goes
  std::map<std::uint64_t, query_result> building;
  std::deque<query_result> finished;
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
