// What the PostgreSQL samples share: running set-up and check statements on
// a sync-mode connection, with the server's message in the exception.
#pragma once

#include <actorloop/netio/connection.hpp>
#include <actorloop/pg/connection.hpp>

#include <stdexcept>
#include <string>

namespace sample {

/// Runs `sql` on a sync connection; throws with the server's message on failure.
inline actorloop::pg::query_result run_sql(actorloop::pg::connection& connection,
                                           const std::string& sql) {
  if (connection.execute(sql) != actorloop::netio::retcode::succeed) {
    auto result = connection.take_result();
    throw std::runtime_error(sql + ": " +
                             (result && result->error ? result->error->message
                                                      : connection.last_error().text));
  }
  auto result = connection.take_result();
  if (!result)
    throw std::runtime_error(sql + ": no result");
  return std::move(*result);
}

} // namespace sample
