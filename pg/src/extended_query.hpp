#pragma once
// One extended-protocol operation in flight on a pg link (execute with
// parameters, prepare, execute_prepared, close_statement): what it is, the
// frontend messages the caller's thread already encoded, and the state of
// a portal fetched in chunks.

#include <actorloop/pg/connection.hpp>

#include <atomic>
#include <cstddef>
#include <span>
#include <vector>

namespace actorloop::pg::detail {

struct extended_operation {
  enum class kind { execute, prepare, execute_prepared, close_statement, pipeline, copy_out,
                    copy_in, simple_streaming };
  kind what = kind::execute;
  std::string statement_name;       // the statement's name ("" unnamed)
  std::vector<std::byte> messages;  // up to the first Execute; Sync or Flush follow
  fetch_options fetch;
  statement_description described;  // prepare: filled from the answers

  // -- a portal in chunks (fetch.rows_per_chunk > 0) --------------------------------
  row_description columns;
  std::vector<data_row> chunk;      // rows of the chunk being received (on_rows set)
  std::size_t unconsumed = 0;       // chunks handed to on_rows and not returned yet
  bool execute_wanted = false;      // the next Execute waits for a chunk to return
  bool returns_rows = false;        // the portal's RowDescription came
  std::uint64_t rows_fetched = 0;  // across all Executes
  bool sync_sent = false;
  bool failed = false;

  // -- a pipeline ----------------------------------------------------------------------
  std::vector<std::size_t> segment_ends; // statements before each Sync
  std::size_t segment = 0;               // the segment the server answers
  std::size_t statement = 0;             // the statement the server answers
  bool segment_failed = false;
  std::size_t statements_sent = 0;       // statements in the output so far
  // execute(pipeline_source): the pieces come from `feed` (pipeline_query.cpp)
  pipeline_source feed;
  bool feed_asked = false;               // the source is being asked
  bool feed_ended = true;                // no piece will follow (execute(pipeline): from the start)

  // -- COPY (copy_stream.cpp) ------------------------------------------------------------
  copy_data_callback on_copy_data;
  copy_source source;
  std::string copy_buffer;      // COPY TO data not handed to on_copy_data yet
  bool copy_started = false;    // CopyInResponse came
  bool copy_asked = false;      // the source is being asked
  bool copy_ended = false;      // CopyDone/CopyFail sent, or the server failed
};

/// Stores `value` in `peak` when above it.
void raise_peak(std::atomic<std::size_t>& peak, std::size_t value);

/// Bind of the unnamed portal from `statement` with `params`, results in
/// `results`, then Describe of the portal (frontend.cpp).
void encode_bind(std::vector<std::byte>& out, std::string_view statement,
                 std::span<const param> params, format results);

} // namespace actorloop::pg::detail
