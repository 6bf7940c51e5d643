// AuthenticationMD5Password's answer (the protocol's "md5" scheme).
#include "crypto.hpp"

#include <actorloop/pg/auth.hpp>
#include <actorloop/pg/error.hpp>

namespace actorloop::pg {

std::string md5_password(std::string_view user, std::string_view password, std::string_view salt) {
  if (salt.size() != 4)
    throw error(errc::invalid_argument, "md5_password: the salt has " +
                                          std::to_string(salt.size()) + " bytes; it must have 4");
  std::string inner{password};
  inner += user;
  std::string outer = detail::md5_hex(inner);
  outer += salt;
  return "md5" + detail::md5_hex(outer);
}

} // namespace actorloop::pg
