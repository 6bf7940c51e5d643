// pg::pipeline: encodes the statements and Sync points of a pipeline on
// the caller's thread (PostgreSQL documentation, 55.2.4 "Pipelining").
#include "extended_query.hpp"

#include <actorloop/pg/frontend.hpp>

namespace actorloop::pg {

namespace {

/// Runs `encode` on `messages`; if it throws, the vector is cut back to
/// what it was, so a refused statement leaves the pipeline as it was.
template <typename encoder>
void append_whole(std::vector<std::byte>& messages, encoder&& encode) {
  const auto before = messages.size();
  try {
    encode(messages);
  } catch (...) {
    messages.resize(before);
    throw;
  }
}

} // namespace

pipeline& pipeline::execute(std::string_view sql, const std::vector<param>& params,
                            format results) {
  append_whole(messages_, [&](std::vector<std::byte>& out) {
    std::vector<oid> types;
    types.reserve(params.size());
    for (auto& each : params)
      types.push_back(each.type);
    frontend::parse(out, "", sql, types);
    detail::encode_bind(out, "", params, results);
    frontend::execute(out, "", 0);
  });
  ++statements_;
  return *this;
}

pipeline& pipeline::execute_prepared(std::string_view name, const std::vector<param>& params,
                                     format results) {
  append_whole(messages_, [&](std::vector<std::byte>& out) {
    detail::encode_bind(out, name, params, results);
    frontend::execute(out, "", 0);
  });
  ++statements_;
  return *this;
}

pipeline& pipeline::sync() {
  frontend::sync(messages_);
  segment_ends_.push_back(statements_);
  return *this;
}

} // namespace actorloop::pg
