#pragma once
// What a pg::connection shares between its public face (any thread) and
// its worker-side link: pg's callbacks, results and session facts. Every
// member is guarded by the netio core's context mutex, so that a result
// and the core's completion bookkeeping change in one step.

#include <actorloop/pg/connection.hpp>

#include "connection_core.hpp"

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
  // -- start-up facts (tls_negotiation.cpp, connection_link.cpp) --
  std::string authentication; // the method the server accepted, see connection.hpp
  bool tls_in_use = false;
};

} // namespace actorloop::pg
