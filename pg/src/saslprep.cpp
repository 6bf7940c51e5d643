// SASLprep (RFC 4013) of a SCRAM password, as PostgreSQL applies it on both
// sides: the server normalizes the password it stores, so a client must
// send the same normalized form or a non-ASCII password never matches.
// The stringprep profile is GNU libidn's; nothing of Unicode is hand-written.
#include "saslprep.hpp"

#include <idn-free.h>
#include <stringprep.h>

namespace actorloop::pg::detail {

std::string sasl_prepare(std::string_view password) {
  std::string input{password};
  // PostgreSQL's rule (and libpq's): a password that is not valid UTF-8, or
  // that SASLprep refuses (prohibited or bidirectionally wrong text), is
  // used as the bytes given. Unassigned code points are allowed (flags 0,
  // the "query" profile), as PostgreSQL allows them.
  // libidn refuses text that is not valid UTF-8 like prohibited text.
  if (input.find('\0') != std::string::npos)
    return input;
  char* prepared = nullptr;
  if (stringprep_profile(input.c_str(), &prepared, "SASLprep", Stringprep_profile_flags{}) !=
      STRINGPREP_OK) {
    idn_free(prepared);
    return input;
  }
  std::string result{prepared};
  idn_free(prepared);
  return result;
}

} // namespace actorloop::pg::detail
