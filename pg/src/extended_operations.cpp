// pg::connection's extended-protocol operations on the caller's thread:
// checking the arguments and encoding the frontend messages before the
// operation starts, so that a value the protocol cannot carry is a client
// message and `fail` with nothing sent; the link on the I/O worker sends
// them (extended_query.cpp).
#include "connection_link.hpp"

#include <actorloop/pg/error.hpp>
#include <actorloop/pg/frontend.hpp>

namespace actorloop::pg {

namespace {

using detail::encode_bind;
using detail::extended_operation;

} // namespace

namespace {

void check_fetch(const char* function, const fetch_options& fetch) {
  if (fetch.on_rows && fetch.rows_per_chunk == 0)
    throw error(errc::invalid_argument,
                std::string{function} + ": fetch_options::on_rows needs rows_per_chunk > 0");
  if (fetch.rows_per_chunk > static_cast<std::uint32_t>(INT32_MAX))
    throw error(errc::invalid_argument, std::string{function} + ": rows_per_chunk " +
                                          std::to_string(fetch.rows_per_chunk) +
                                          " is above the protocol's 2^31-1");
  if (fetch.results != format::text && fetch.results != format::binary)
    throw error(errc::invalid_argument, std::string{function} + ": unknown result format");
}

std::string type_name(oid type) {
  return "oid " + std::to_string(type);
}

} // namespace

started_operation connection::start_extended(const char* function,
                                             const std::function<void(extended_operation&)>& encode) {
  auto operation = std::make_shared<extended_operation>();
  try {
    encode(*operation);
  } catch (const error& problem) {
    state_->core->report(netio::client_message{netio::severity::error, problem.code(),
                                               std::string{function} + ": " + problem.what()});
    return {retcode::fail, 0};
  }
  auto target = std::static_pointer_cast<detail::link>(state_->core->link);
  return netio::detail::start_operation(*state_->core, function_id::execute, true,
                                        [target, operation](std::uint64_t id) {
                                          target->send_extended(id, operation);
                                        });
}

started_operation connection::execute(std::string sql, std::vector<param> params,
                                      fetch_options fetch) {
  return start_extended("execute", [&](extended_operation& operation) {
    check_fetch("execute", fetch);
    std::vector<oid> types;
    types.reserve(params.size());
    for (auto& each : params)
      types.push_back(each.type);
    frontend::parse(operation.messages, "", sql, types);
    encode_bind(operation.messages, "", params, fetch.results);
    operation.what = extended_operation::kind::execute;
    operation.fetch = std::move(fetch);
  });
}

started_operation connection::execute_streaming(std::string sql, std::uint32_t rows_per_chunk,
                                                row_chunk_callback on_rows) {
  return start_extended("execute_streaming", [&](extended_operation& operation) {
    if (rows_per_chunk == 0 || !on_rows)
      throw error(errc::invalid_argument, "rows_per_chunk must be above 0 and on_rows set");
    if (sql.find('\0') != std::string::npos)
      throw error(errc::invalid_argument, "the query text contains a NUL byte");
    frontend::query(operation.messages, sql);
    operation.what = extended_operation::kind::simple_streaming;
    operation.fetch.results = format::text;
    operation.fetch.rows_per_chunk = rows_per_chunk;
    operation.fetch.on_rows = std::move(on_rows);
  });
}

started_operation connection::execute(pipeline batch) {
  return start_extended("execute(pipeline)", [&](extended_operation& operation) {
    if (batch.statements_ == 0)
      throw error(errc::invalid_argument, "the pipeline has no statement");
    if (batch.segment_ends_.empty() || batch.segment_ends_.back() != batch.statements_)
      batch.sync();
    operation.what = extended_operation::kind::pipeline;
    operation.messages = std::move(batch.messages_);
    operation.segment_ends = std::move(batch.segment_ends_);
    operation.statements_sent = batch.statements_;
  });
}

started_operation connection::execute(pipeline_source source) {
  return start_extended("execute(pipeline_source)", [&](extended_operation& operation) {
    if (!source)
      throw error(errc::invalid_argument, "no source for the pipeline");
    operation.what = extended_operation::kind::pipeline;
    operation.feed = std::move(source);
    operation.feed_ended = false;
  });
}

started_operation connection::copy_out(std::string sql, copy_data_callback on_data) {
  return start_extended("copy_out", [&](extended_operation& operation) {
    if (!on_data)
      throw error(errc::invalid_argument, "no callback for the data");
    frontend::query(operation.messages, sql);
    operation.what = extended_operation::kind::copy_out;
    operation.on_copy_data = std::move(on_data);
  });
}

started_operation connection::copy_in(std::string sql, copy_source source) {
  return start_extended("copy_in", [&](extended_operation& operation) {
    if (!source)
      throw error(errc::invalid_argument, "no source for the data");
    frontend::query(operation.messages, sql);
    operation.what = extended_operation::kind::copy_in;
    operation.source = std::move(source);
  });
}

started_operation connection::prepare(std::string name, std::string sql,
                                      std::vector<oid> parameter_types) {
  return start_extended("prepare", [&](extended_operation& operation) {
    if (name.empty())
      throw error(errc::invalid_argument,
                  "the statement name is empty (the unnamed statement is execute's)");
    frontend::parse(operation.messages, name, sql, parameter_types);
    frontend::describe(operation.messages, frontend::target::statement, name);
    frontend::sync(operation.messages);
    operation.what = extended_operation::kind::prepare;
    operation.statement_name = std::move(name);
  });
}

started_operation connection::execute_prepared(std::string name, std::vector<param> params,
                                               fetch_options fetch) {
  return start_extended("execute_prepared", [&](extended_operation& operation) {
    check_fetch("execute_prepared", fetch);
    auto known = statement(name);
    if (known) {
      auto& types = known->parameter_types;
      if (params.size() != types.size())
        throw error(errc::invalid_argument,
                    "statement \"" + name + "\" takes " + std::to_string(types.size()) +
                      " parameters, " + std::to_string(params.size()) + " given");
      for (std::size_t i = 0; i < params.size(); ++i)
        if (params[i].wire == format::binary && params[i].type != 0 &&
            params[i].type != types[i])
          throw error(errc::wrong_type,
                      "parameter $" + std::to_string(i + 1) + " of statement \"" + name +
                        "\" is binary " + type_name(params[i].type) +
                        " but the statement expects " + type_name(types[i]));
    }
    encode_bind(operation.messages, name, params, fetch.results);
    operation.what = extended_operation::kind::execute_prepared;
    operation.statement_name = std::move(name);
    operation.fetch = std::move(fetch);
  });
}

started_operation connection::close_statement(std::string name) {
  return start_extended("close_statement", [&](extended_operation& operation) {
    frontend::close(operation.messages, frontend::target::statement, name);
    frontend::sync(operation.messages);
    operation.what = extended_operation::kind::close_statement;
    operation.statement_name = std::move(name);
  });
}

std::optional<statement_description> connection::statement(const std::string& name) const {
  std::lock_guard guard{state_->core->owner_state->mutex};
  auto found = state_->statements.find(name);
  if (found == state_->statements.end())
    return std::nullopt;
  return found->second;
}

streaming_statistics connection::streaming() const {
  streaming_statistics out;
  out.rows_streamed = state_->rows_streamed.load(std::memory_order_relaxed);
  out.buffered_rows = state_->buffered_rows.load(std::memory_order_relaxed);
  out.peak_buffered_rows = state_->peak_buffered_rows.load(std::memory_order_relaxed);
  out.copy_out_bytes = state_->copy_out_bytes.load(std::memory_order_relaxed);
  out.peak_copy_out_buffered = state_->peak_copy_out_buffered.load(std::memory_order_relaxed);
  out.copy_in_bytes = state_->copy_in_bytes.load(std::memory_order_relaxed);
  out.peak_copy_in_unsent = state_->peak_copy_in_unsent.load(std::memory_order_relaxed);
  return out;
}

} // namespace actorloop::pg
