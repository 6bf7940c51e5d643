// SCRAM-SHA-256 client (RFC 5802 section 3, RFC 7677), as PostgreSQL's
// protocol carries it:
//   SaltedPassword  = PBKDF2-HMAC-SHA-256(password, salt, i)
//   ClientKey       = HMAC(SaltedPassword, "Client Key")
//   StoredKey       = SHA-256(ClientKey)
//   AuthMessage     = client-first-bare "," server-first "," client-final-without-proof
//   ClientProof     = ClientKey XOR HMAC(StoredKey, AuthMessage)
//   ServerSignature = HMAC(HMAC(SaltedPassword, "Server Key"), AuthMessage)
#include "saslprep.hpp"
#include "crypto.hpp"

#include <actorloop/pg/auth.hpp>
#include <actorloop/pg/error.hpp>

#include <charconv>

namespace actorloop::pg {

namespace {

// saslname: ',' and '=' escaped as "=2C" and "=3D".
std::string sasl_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == ',')
      out += "=2C";
    else if (c == '=')
      out += "=3D";
    else
      out.push_back(c);
  }
  return out;
}

bool printable_nonce(std::string_view nonce) {
  for (char c : nonce)
    if (c < 0x21 || c > 0x7e || c == ',')
      return false;
  return !nonce.empty();
}

std::string gs2_header(channel_binding_mode mode) {
  switch (mode) {
    case channel_binding_mode::none: return "n,,";
    case channel_binding_mode::supported_not_used: return "y,,";
    case channel_binding_mode::tls_server_end_point: return "p=tls-server-end-point,,";
  }
  return "n,,";
}

// Splits "a=...,b=...": the next attribute must be `name`.
bool take_attribute(std::string_view& rest, char name, std::string_view& value) {
  if (rest.size() < 2 || rest[0] != name || rest[1] != '=')
    return false;
  auto comma = rest.find(',');
  value = rest.substr(2, comma == std::string_view::npos ? comma : comma - 2);
  rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  return true;
}

} // namespace

sasl_choice choose_sasl_mechanism(std::span<const std::string> offered, bool tls_in_use,
                                  bool have_end_point_hash) {
  sasl_choice out;
  bool plain = false;
  bool plus = false;
  for (const auto& m : offered) {
    plain = plain || m == "SCRAM-SHA-256";
    plus = plus || m == "SCRAM-SHA-256-PLUS";
  }
  if (plus && tls_in_use && have_end_point_hash) {
    out.mechanism = "SCRAM-SHA-256-PLUS";
    out.binding = channel_binding_mode::tls_server_end_point;
  } else if (plain) {
    out.mechanism = "SCRAM-SHA-256";
    out.binding = tls_in_use ? channel_binding_mode::supported_not_used : channel_binding_mode::none;
  } else {
    out.error = errc::unsupported_authentication;
    std::string list;
    for (const auto& m : offered)
      list += (list.empty() ? "" : ", ") + m;
    out.detail = "none of the server's SASL mechanisms (" + list + ") is usable" +
                 (plus ? std::string(" (SCRAM-SHA-256-PLUS needs TLS and the server certificate's hash)")
                       : std::string());
  }
  return out;
}

scram_client::scram_client(options settings) : settings_(std::move(settings)) {
  if (settings_.client_nonce.empty())
    settings_.client_nonce = detail::base64_encode(detail::random_bytes(18));
  if (!printable_nonce(settings_.client_nonce))
    throw error(errc::invalid_argument,
                "scram_client: the client nonce must be printable ASCII without ','");
  if (settings_.binding == channel_binding_mode::tls_server_end_point &&
      settings_.channel_binding_data.empty())
    throw error(errc::invalid_argument,
                "scram_client: tls-server-end-point binding needs the certificate hash");
  client_first_bare_ = "n=" + sasl_name(settings_.username) + ",r=" + settings_.client_nonce;
  client_first_ = gs2_header(settings_.binding) + client_first_bare_;
}

std::string_view scram_client::mechanism() const noexcept {
  return settings_.binding == channel_binding_mode::tls_server_end_point ? "SCRAM-SHA-256-PLUS"
                                                                          : "SCRAM-SHA-256";
}

scram_step scram_client::fail(std::error_code code, std::string detail) {
  state_ = state::failed;
  scram_step out;
  out.error = code;
  out.detail = std::move(detail);
  return out;
}

scram_step scram_client::handle_server_first(std::string_view server_first) {
  if (state_ != state::sent_first)
    return fail(errc::scram_protocol_violation,
                "server-first-message arrived out of order (the exchange is past that step)");
  std::string_view rest = server_first;
  if (rest.starts_with("m="))
    return fail(errc::scram_protocol_violation,
                "server-first-message demands an extension (m=) this client does not know");
  std::string_view nonce, salt_text, iterations_text;
  if (!take_attribute(rest, 'r', nonce))
    return fail(errc::scram_protocol_violation,
                "server-first-message does not start with the nonce attribute r=");
  if (!take_attribute(rest, 's', salt_text))
    return fail(errc::scram_protocol_violation,
                "server-first-message has no salt attribute s= after the nonce");
  if (!take_attribute(rest, 'i', iterations_text))
    return fail(errc::scram_protocol_violation,
                "server-first-message has no iteration count attribute i= after the salt");
  if (!nonce.starts_with(settings_.client_nonce) || nonce.size() <= settings_.client_nonce.size())
    return fail(errc::scram_protocol_violation,
                "server nonce does not start with the client nonce followed by its own part "
                "(nonce mismatch)");
  if (!printable_nonce(nonce))
    return fail(errc::scram_protocol_violation, "server nonce has a non-printable character");
  auto salt = detail::base64_decode(salt_text);
  if (!salt)
    return fail(errc::scram_protocol_violation,
                "salt \"" + std::string(salt_text) + "\" is not valid base64");
  std::uint64_t iterations = 0;
  auto [end, ec] = std::from_chars(iterations_text.data(),
                                   iterations_text.data() + iterations_text.size(), iterations);
  if (ec != std::errc{} || end != iterations_text.data() + iterations_text.size() ||
      iterations == 0)
    return fail(errc::scram_protocol_violation,
                "iteration count \"" + std::string(iterations_text) + "\" is not a positive integer");
  if (iterations > settings_.max_iterations)
    return fail(errc::scram_protocol_violation,
                "iteration count " + std::to_string(iterations) + " is above the limit of " +
                  std::to_string(settings_.max_iterations));

  std::string binding_input = gs2_header(settings_.binding);
  if (settings_.binding == channel_binding_mode::tls_server_end_point)
    binding_input += settings_.channel_binding_data;
  std::string without_proof =
    "c=" + detail::base64_encode(binding_input) + ",r=" + std::string(nonce);
  auth_message_ = client_first_bare_ + "," + std::string(server_first) + "," + without_proof;

  try {
    auto salted = detail::pbkdf2_sha256(detail::sasl_prepare(settings_.password), *salt,
                                        static_cast<unsigned>(iterations));
    auto client_key = detail::hmac_sha256(salted, "Client Key");
    auto stored_key = detail::sha256(client_key);
    auto client_signature = detail::hmac_sha256(stored_key, auth_message_);
    detail::bytes proof(client_key.size());
    for (std::size_t i = 0; i < proof.size(); ++i)
      proof[i] = client_key[i] ^ client_signature[i];
    auto server_key = detail::hmac_sha256(salted, "Server Key");
    server_signature_ = detail::hmac_sha256(server_key, auth_message_);
    state_ = state::sent_final;
    scram_step out;
    out.message = without_proof + ",p=" + detail::base64_encode(proof);
    return out;
  } catch (const error& e) {
    return fail(e.code(), e.what());
  }
}

scram_step scram_client::verify_server_final(std::string_view server_final) {
  if (state_ != state::sent_final)
    return fail(errc::scram_protocol_violation,
                "server-final-message arrived out of order (no client-final-message was sent)");
  std::string_view rest = server_final;
  std::string_view value;
  if (take_attribute(rest, 'e', value))
    return fail(errc::scram_server_error,
                "the server reported SCRAM error \"" + std::string(value) + "\"");
  if (!take_attribute(rest, 'v', value))
    return fail(errc::scram_protocol_violation,
                "server-final-message has no verifier attribute v=");
  auto signature = detail::base64_decode(value);
  if (!signature)
    return fail(errc::scram_protocol_violation,
                "server signature \"" + std::string(value) + "\" is not valid base64");
  if (!detail::equal_constant_time(*signature, server_signature_))
    return fail(errc::scram_server_signature_mismatch,
                "the server's signature does not match: it does not know the password");
  state_ = state::done;
  return {};
}

} // namespace actorloop::pg
