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

/// Parse of the unnamed statement with the parameters' types, then Bind,
/// Describe and Execute.
void encode_statement(std::vector<std::byte>& messages, std::string_view sql,
                      std::span<const param> params, format results) {
  append_whole(messages, [&](std::vector<std::byte>& out) {
    std::vector<oid> types;
    types.reserve(params.size());
    for (auto& each : params)
      types.push_back(each.type);
    frontend::parse(out, "", sql, types);
    detail::encode_bind(out, "", params, results);
    frontend::execute(out, "", 0);
  });
}

/// Bind of prepared statement `name`, Describe and Execute.
void encode_prepared(std::vector<std::byte>& messages, std::string_view name,
                     std::span<const param> params, format results) {
  append_whole(messages, [&](std::vector<std::byte>& out) {
    detail::encode_bind(out, name, params, results);
    frontend::execute(out, "", 0);
  });
}

} // namespace

pipeline& pipeline::execute(std::string_view sql, const std::vector<param>& params,
                            format results) {
  encode_statement(messages_, sql, params, results);
  ++statements_;
  return *this;
}

pipeline& pipeline::execute(std::string_view sql, std::initializer_list<param> params,
                            format results) {
  encode_statement(messages_, sql, std::span{params.begin(), params.size()}, results);
  ++statements_;
  return *this;
}

pipeline& pipeline::execute_prepared(std::string_view name, const std::vector<param>& params,
                                     format results) {
  encode_prepared(messages_, name, params, results);
  ++statements_;
  return *this;
}

pipeline& pipeline::execute_prepared(std::string_view name, std::initializer_list<param> params,
                                     format results) {
  encode_prepared(messages_, name, std::span{params.begin(), params.size()}, results);
  ++statements_;
  return *this;
}

pipeline& pipeline::sync() {
  frontend::sync(messages_);
  segment_ends_.push_back(statements_);
  return *this;
}

} // namespace actorloop::pg
