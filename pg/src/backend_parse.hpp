#pragma once
// Parses one backend message body (type byte and length already split off
// and checked) into its parsed form.
#include <actorloop/pg/backend.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace actorloop::pg::detail {

/// The protocol's name for a backend type byte ("ReadyForQuery"), or
/// nullptr if the protocol defines no backend message of that type.
[[nodiscard]] const char* backend_message_name(char type) noexcept;

/// "ReadyForQuery ('Z')", or "unknown type 0x7f" for an undefined byte.
[[nodiscard]] std::string describe_type(char type);

/// Parses `body` as a message of `type` (which must be a defined type)
/// straight into `message` (the caller's result: a message is built once
/// and never moved on its way out). On failure returns false, leaves
/// `message` empty and sets `code` and `problem`.
[[nodiscard]] bool parse_backend_body(char type, std::span<const std::byte> body,
                                      std::error_code& code, std::string& problem,
                                      std::optional<backend_message>& message);

/// A complete message at the front of a decoder's buffer: its type byte and
/// body (a view into that buffer, valid until the decoder changes), framed
/// and its header checked as `backend_decoder::next` checks it, not parsed.
struct backend_frame {
  char type = 0;
  std::span<const std::byte> body;
};

/// Framing without parsing, for a reader that parses the messages it
/// expects straight into their destination (the link's simple query).
struct backend_decoder_access {
  /// The next message when it is complete and its header passes every
  /// check `next` makes; false otherwise (nothing changes: `next` then
  /// needs more or reports the error, with its text).
  [[nodiscard]] static bool peek(const backend_decoder& decoder, backend_frame& frame) noexcept;
  /// Consumes the message `peek` gave (nothing else may happen in between).
  static void consume(backend_decoder& decoder, const backend_frame& frame) noexcept;
};

// Parsers of well-formed bodies only, for backend_decoder_access's frames.
// Each accepts exactly the bodies `parse_backend_body` accepts for its type
// and builds the same value; for any other body it returns false, and then
// `out` holds nothing the caller must keep (`row_description` and
// `data_row` are left empty), so the message is decoded the usual way,
// which names the problem.

/// ReadyForQuery ('Z').
[[nodiscard]] bool parse_ready_well_formed(std::span<const std::byte> body,
                                           transaction_status& out) noexcept;
/// CommandComplete ('C'): the tag, as a view into `body`.
[[nodiscard]] bool parse_command_tag_well_formed(std::span<const std::byte> body,
                                                 std::string_view& tag) noexcept;
/// DataRow ('D'), into an empty `out`.
[[nodiscard]] bool parse_data_row_well_formed(std::span<const std::byte> body, data_row& out);
/// RowDescription ('T'), into an empty `out`.
[[nodiscard]] bool parse_row_description_well_formed(std::span<const std::byte> body,
                                                     row_description& out);

} // namespace actorloop::pg::detail
