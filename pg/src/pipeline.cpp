// pg::pipeline: encodes the statements and Sync points of a pipeline on
// the caller's thread (PostgreSQL documentation, 55.2.4 "Pipelining").
#include "extended_query.hpp"

#include <actorloop/pg/frontend.hpp>

namespace actorloop::pg {

pipeline& pipeline::execute(std::string_view sql, const std::vector<param>& params,
                            format results) {
  std::vector<oid> types;
  types.reserve(params.size());
  for (auto& each : params)
    types.push_back(each.type);
  // Encoded aside first, so that a refused value leaves the pipeline as it was.
  std::vector<std::byte> step;
  frontend::parse(step, "", sql, types);
  detail::encode_bind(step, "", params, results);
  frontend::execute(step, "", 0);
  messages_.insert(messages_.end(), step.begin(), step.end());
  ++statements_;
  return *this;
}

pipeline& pipeline::execute_prepared(std::string_view name, const std::vector<param>& params,
                                     format results) {
  std::vector<std::byte> step;
  detail::encode_bind(step, name, params, results);
  frontend::execute(step, "", 0);
  messages_.insert(messages_.end(), step.begin(), step.end());
  ++statements_;
  return *this;
}

pipeline& pipeline::sync() {
  frontend::sync(messages_);
  segment_ends_.push_back(statements_);
  return *this;
}

} // namespace actorloop::pg
