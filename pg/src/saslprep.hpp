#pragma once
// SASLprep (RFC 4013) of SCRAM passwords (saslprep.cpp).

#include <string>
#include <string_view>

namespace actorloop::pg::detail {

/// The password SCRAM hashes: `password` prepared with SASLprep, or
/// unchanged when it is not valid UTF-8 or SASLprep refuses it
/// (PostgreSQL's rule). ASCII without control characters is unchanged.
[[nodiscard]] std::string sasl_prepare(std::string_view password);

} // namespace actorloop::pg::detail
