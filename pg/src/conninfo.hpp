#pragma once
// Shared pieces of the two connection-string syntaxes.
#include <actorloop/pg/options.hpp>

#include <string_view>

namespace actorloop::pg::detail {

/// True for the keys `resolve_options` understands.
[[nodiscard]] bool is_known_option(std::string_view key) noexcept;

/// Parses a postgresql:// or postgres:// URI (the caller checked the prefix).
[[nodiscard]] conninfo_result parse_conninfo_uri(std::string_view uri);

} // namespace actorloop::pg::detail
