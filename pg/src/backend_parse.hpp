#pragma once
// Parses one backend message body (type byte and length already split off
// and checked) into its parsed form.
#include <actorloop/pg/backend.hpp>

#include <optional>
#include <span>
#include <string>
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

} // namespace actorloop::pg::detail
