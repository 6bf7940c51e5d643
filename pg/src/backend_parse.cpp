// Body parsers for every backend message type. Each one reads exactly the
// fields the protocol defines and insists the body ends where the length
// word said (libpq: "message contents do not agree with length").
#include "backend_parse.hpp"
#include "wire_reader.hpp"

#include <actorloop/pg/error.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace actorloop::pg::detail {

namespace {

/// "what N" with N counted from 1, formatted only if the bytes are bad.
wire_label numbered(std::string_view what, std::size_t index, std::string_view tail = {}) {
  return wire_label{what, index + 1, tail};
}

// Counts come from the peer: reserve no more than the remaining body could
// possibly hold, so a claim of 65535 in a short message allocates nothing big.
std::size_t plausible(std::size_t count, std::size_t remaining, std::size_t min_each) {
  return std::min(count, remaining / std::max<std::size_t>(min_each, 1));
}

authentication_request parse_authentication(wire_reader& in, std::error_code& code) {
  authentication_request out;
  auto value = in.i32("authentication code");
  if (in.failed())
    return out;
  out.kind = static_cast<auth_kind>(value);
  switch (out.kind) {
    case auth_kind::ok:
    case auth_kind::kerberos_v5:
    case auth_kind::cleartext_password:
    case auth_kind::gss:
    case auth_kind::sspi:
      break;
    case auth_kind::md5_password:
      out.salt = in.bytes(4, "MD5 salt");
      break;
    case auth_kind::sasl:
      for (;;) {
        auto mechanism = in.cstring(numbered("SASL mechanism", out.mechanisms.size()));
        if (in.failed() || mechanism.empty())
          break;
        out.mechanisms.push_back(std::move(mechanism));
      }
      if (!in.failed() && out.mechanisms.empty())
        in.fail("AuthenticationSASL lists no mechanism");
      break;
    case auth_kind::gss_continue:
    case auth_kind::sasl_continue:
    case auth_kind::sasl_final:
      out.data = in.rest();
      break;
    default:
      code = errc::unsupported_authentication;
      in.fail("authentication method " + std::to_string(value) +
              " is not defined by the protocol");
      break;
  }
  return out;
}

backend_key_data parse_key_data(wire_reader& in) {
  backend_key_data out;
  out.process_id = in.i32("process id");
  if (in.failed())
    return out;
  auto size = in.remaining();
  if (size < 4 || size > 256) {
    in.fail("secret key of " + std::to_string(size) + " bytes; it must be 4 to 256 bytes");
    return out;
  }
  out.secret_key = in.rest();
  return out;
}

ready_for_query parse_ready(wire_reader& in) {
  ready_for_query out;
  auto status = static_cast<char>(in.u8("transaction status"));
  if (in.failed())
    return out;
  if (status != 'I' && status != 'T' && status != 'E') {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned>(static_cast<unsigned char>(status)));
    in.fail(std::string("transaction status ") + hex + " is none of 'I', 'T', 'E'");
    return out;
  }
  out.status = static_cast<transaction_status>(status);
  return out;
}

row_description parse_row_description(wire_reader& in) {
  row_description out;
  std::size_t count = static_cast<std::uint16_t>(in.i16("field count"));
  // A field is at least 19 bytes (an empty name's NUL and 18 bytes of numbers).
  out.fields.reserve(plausible(count, in.remaining(), 19));
  for (std::size_t i = 0; i < count && !in.failed(); ++i) {
    field_description field;
    field.name = in.cstring(numbered("field", i, " name"));
    field.table_oid = in.u32(numbered("field", i, " table OID"));
    field.column_number = in.i16(numbered("field", i, " column number"));
    field.type_oid = in.u32(numbered("field", i, " type OID"));
    field.type_size = in.i16(numbered("field", i, " type size"));
    field.type_modifier = in.i32(numbered("field", i, " type modifier"));
    field.format = in.i16(numbered("field", i, " format"));
    if (!in.failed() && field.format != 0 && field.format != 1)
      in.fail(numbered("field", i).str() + " format code " + std::to_string(field.format) +
              " is neither 0 (text) nor 1 (binary)");
    out.fields.push_back(std::move(field));
  }
  return out;
}

} // namespace

/// The decoder's way into a data_row: one block per row, the cell table
/// and then the body as it came (the values between their length words),
/// so a row is one allocation and one copy.
struct data_row_access {
  static data_row parse(wire_reader& in) {
    data_row out;
    if (parse_well_formed(in.peek_rest(), out)) {
      (void)in.bytes_view(in.remaining(), "DataRow");
      return out;
    }
    std::size_t count = static_cast<std::uint16_t>(in.i16("value count"));
    if (in.failed())
      return out;
    // Each value has at least its 4-byte length word: a count the rest of
    // the body cannot hold fails below, and then nothing is built (the
    // block is sized by the bytes that are there, never by the claim).
    const bool building = count * 4 <= in.remaining();
    const auto values = in.peek_rest();
    const auto values_at = in.position();
    constexpr auto cell_size = sizeof(data_row::cell);
    auto& storage = out.storage_;
    if (building)
      storage.resize(count * cell_size + values.size());
    for (std::size_t i = 0; i < count; ++i) {
      auto length = in.i32(numbered("value", i, " length"));
      if (in.failed())
        return {};
      data_row::cell entry{static_cast<std::uint32_t>(in.position() - values_at), length};
      if (length < -1) {
        in.fail(numbered("value", i).str() + " length " + std::to_string(length) +
                " is negative but not -1 (NULL)");
        return {};
      }
      if (length >= 0)
        (void)in.bytes_view(static_cast<std::size_t>(length), numbered("value", i));
      if (in.failed())
        return {};
      if (building)
        std::memcpy(storage.data() + i * cell_size, &entry, cell_size);
    }
    if (!building)
      return {}; // not reached: the reads above ran out first
    if (!values.empty())
      std::memcpy(storage.data() + count * cell_size, values.data(), values.size());
    out.count_ = static_cast<std::uint32_t>(count);
    return out;
  }

  /// The common case in one tight pass: a body whose values all fit and
  /// that ends with the last one. Anything else (a value running past the
  /// body, a length below -1, bytes left over) is left to the checked pass
  /// above, which names the problem; `out` is then empty.
  static bool parse_well_formed(std::string_view body, data_row& out) {
    if (body.size() < 2)
      return false;
    const auto* bytes = reinterpret_cast<const unsigned char*>(body.data());
    const std::size_t count = (std::size_t{bytes[0]} << 8) | bytes[1];
    const auto values = body.substr(2);
    if (count * 4 > values.size())
      return false;
    constexpr auto cell_size = sizeof(data_row::cell);
    auto& storage = out.storage_;
    storage.resize(count * cell_size + values.size());
    const auto* at = reinterpret_cast<const unsigned char*>(values.data());
    std::size_t position = 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (values.size() - position < 4) {
        storage.clear();
        return false;
      }
      auto word = (std::uint32_t{at[position]} << 24) | (std::uint32_t{at[position + 1]} << 16) |
                  (std::uint32_t{at[position + 2]} << 8) | std::uint32_t{at[position + 3]};
      position += 4;
      auto length = static_cast<std::int32_t>(word);
      if (length < -1 ||
          (length > 0 && static_cast<std::size_t>(length) > values.size() - position)) {
        storage.clear();
        return false;
      }
      data_row::cell entry{static_cast<std::uint32_t>(position), length};
      std::memcpy(storage.data() + i * cell_size, &entry, cell_size);
      if (length > 0)
        position += static_cast<std::size_t>(length);
    }
    if (position != values.size()) {
      storage.clear();
      return false;
    }
    if (!values.empty())
      std::memcpy(storage.data() + count * cell_size, values.data(), values.size());
    out.count_ = static_cast<std::uint32_t>(count);
    return true;
  }
};

namespace {

server_message parse_server_message(wire_reader& in, bool is_error) {
  server_message out;
  out.is_error = is_error;
  bool has_severity = false, has_sqlstate = false, has_message = false;
  for (;;) {
    auto code = static_cast<char>(in.u8("field code"));
    if (in.failed() || code == '\0')
      break;
    char name[] = "field ' '"; // "field 'X'", used only if the bytes are bad
    name[7] = code;
    std::string value = in.cstring(std::string_view{name, sizeof name - 1});
    if (in.failed())
      break;
    has_severity = has_severity || code == 'S';
    has_sqlstate = has_sqlstate || code == 'C';
    has_message = has_message || code == 'M';
    switch (code) {
      case 'S': out.severity = std::move(value); break;
      case 'V': out.severity_nonlocalized = std::move(value); break;
      case 'C': out.sqlstate = std::move(value); break;
      case 'M': out.message = std::move(value); break;
      case 'D': out.detail = std::move(value); break;
      case 'H': out.hint = std::move(value); break;
      case 'P': out.position = std::move(value); break;
      case 'p': out.internal_position = std::move(value); break;
      case 'q': out.internal_query = std::move(value); break;
      case 'W': out.where = std::move(value); break;
      case 's': out.schema = std::move(value); break;
      case 't': out.table = std::move(value); break;
      case 'c': out.column = std::move(value); break;
      case 'd': out.data_type = std::move(value); break;
      case 'n': out.constraint = std::move(value); break;
      case 'F': out.file = std::move(value); break;
      case 'L': out.line = std::move(value); break;
      case 'R': out.routine = std::move(value); break;
      default: break; // the protocol says: ignore unknown field codes
    }
  }
  if (in.failed())
    return out;
  // The protocol promises these three in every error and notice.
  if (!has_severity)
    in.fail("the severity field 'S' is missing");
  else if (!has_sqlstate)
    in.fail("the SQLSTATE field 'C' is missing");
  else if (!has_message)
    in.fail("the message field 'M' is missing");
  return out;
}

copy_response parse_copy_response(wire_reader& in, char type) {
  copy_response out;
  out.kind = static_cast<copy_response::direction>(type);
  out.format = static_cast<std::int8_t>(in.u8("overall format"));
  if (!in.failed() && out.format != 0 && out.format != 1)
    in.fail("overall format " + std::to_string(out.format) + " is neither 0 (text) nor 1 (binary)");
  std::size_t count = static_cast<std::uint16_t>(in.i16("column count"));
  out.column_formats.reserve(plausible(count, in.remaining(), 2));
  for (std::size_t i = 0; i < count && !in.failed(); ++i) {
    auto format = in.i16(numbered("column", i, " format"));
    if (!in.failed() && format != 0 && format != 1)
      in.fail(numbered("column", i, " format ").str() + std::to_string(format) +
              " is neither 0 (text) nor 1 (binary)");
    out.column_formats.push_back(format);
  }
  return out;
}

parameter_description parse_parameter_description(wire_reader& in) {
  parameter_description out;
  std::size_t count = static_cast<std::uint16_t>(in.i16("parameter count"));
  out.types.reserve(plausible(count, in.remaining(), 4));
  for (std::size_t i = 0; i < count && !in.failed(); ++i)
    out.types.push_back(in.u32(numbered("parameter", i, " type OID")));
  return out;
}

negotiate_protocol_version parse_negotiate(wire_reader& in) {
  negotiate_protocol_version out;
  out.newest_minor = in.i32("newest minor version");
  auto count = in.i32("unrecognized option count");
  if (in.failed())
    return out;
  if (count < 0) {
    in.fail("unrecognized option count " + std::to_string(count) + " is negative");
    return out;
  }
  for (std::int32_t i = 0; i < count && !in.failed(); ++i) {
    auto name = in.cstring(numbered("option", static_cast<std::size_t>(i)));
    if (!in.failed())
      out.unrecognized_options.push_back(std::move(name));
  }
  return out;
}

function_call_response parse_function_call_response(wire_reader& in) {
  function_call_response out;
  auto length = in.i32("result length");
  if (in.failed())
    return out;
  if (length < -1)
    in.fail("result length " + std::to_string(length) + " is negative but not -1 (NULL)");
  else if (length >= 0)
    out.result = in.bytes(static_cast<std::size_t>(length), "result");
  return out;
}

} // namespace

const char* backend_message_name(char type) noexcept {
  switch (type) {
    case 'R': return "Authentication";
    case 'K': return "BackendKeyData";
    case 'S': return "ParameterStatus";
    case 'Z': return "ReadyForQuery";
    case 'T': return "RowDescription";
    case 'D': return "DataRow";
    case 'C': return "CommandComplete";
    case 'E': return "ErrorResponse";
    case 'N': return "NoticeResponse";
    case 'A': return "NotificationResponse";
    case 'G': return "CopyInResponse";
    case 'H': return "CopyOutResponse";
    case 'W': return "CopyBothResponse";
    case 'd': return "CopyData";
    case 'c': return "CopyDone";
    case 't': return "ParameterDescription";
    case 'v': return "NegotiateProtocolVersion";
    case 'V': return "FunctionCallResponse";
    case '1': return "ParseComplete";
    case '2': return "BindComplete";
    case '3': return "CloseComplete";
    case 'n': return "NoData";
    case 's': return "PortalSuspended";
    case 'I': return "EmptyQueryResponse";
    default: return nullptr;
  }
}

std::string describe_type(char type) {
  if (const char* name = backend_message_name(type))
    return std::string(name) + " ('" + type + "')";
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned>(static_cast<unsigned char>(type)));
  return std::string("type byte ") + hex;
}

bool parse_backend_body(char type, std::span<const std::byte> body, std::error_code& code,
                        std::string& problem, std::optional<backend_message>& message) {
  wire_reader in{body};
  std::error_code specific;
  // A bodiless alternative first (nothing to destroy); each case then
  // constructs its message in place.
  auto& out = message.emplace(std::in_place_type<parse_complete>);
  switch (type) {
    case 'R': out = parse_authentication(in, specific); break;
    case 'K': out = parse_key_data(in); break;
    case 'S': {
      parameter_status status;
      status.name = in.cstring("parameter name");
      status.value = in.cstring("parameter value");
      out = std::move(status);
      break;
    }
    case 'Z': out = parse_ready(in); break;
    case 'T': out = parse_row_description(in); break;
    case 'D': out = data_row_access::parse(in); break;
    case 'C': out = command_complete{in.cstring("command tag")}; break;
    case 'E': out = parse_server_message(in, true); break;
    case 'N': out = parse_server_message(in, false); break;
    case 'A': {
      notification_response note;
      note.process_id = in.i32("process id");
      note.channel = in.cstring("channel");
      note.payload = in.cstring("payload");
      out = std::move(note);
      break;
    }
    case 'G':
    case 'H':
    case 'W': out = parse_copy_response(in, type); break;
    case 'd': out = copy_data{in.rest()}; break;
    case 'c': out = copy_done{}; break;
    case 't': out = parse_parameter_description(in); break;
    case 'v': out = parse_negotiate(in); break;
    case 'V': out = parse_function_call_response(in); break;
    case '1': out = parse_complete{}; break;
    case '2': out = bind_complete{}; break;
    case '3': out = close_complete{}; break;
    case 'n': out = no_data{}; break;
    case 's': out = portal_suspended{}; break;
    case 'I': out = empty_query_response{}; break;
    default:
      message.reset();
      code = errc::unknown_message_type;
      problem = describe_type(type) + " is not a backend message type";
      return false;
  }
  if (!in.failed() && !in.at_end())
    in.fail(std::to_string(in.remaining()) +
            " bytes left over after the body (message contents do not agree with length)");
  if (in.failed()) {
    message.reset();
    code = specific ? specific : make_error_code(errc::malformed_message);
    problem = describe_type(type) + ": " + in.problem();
    return false;
  }
  return true;
}

// -- well-formed bodies in one pass (backend_decoder_access's readers) -------------

namespace {

std::string_view text_of(std::span<const std::byte> body) noexcept {
  return {reinterpret_cast<const char*>(body.data()), body.size()};
}

std::uint32_t big_endian(const unsigned char* at, std::size_t width) noexcept {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < width; ++i)
    value = (value << 8) | at[i];
  return value;
}

} // namespace

bool parse_ready_well_formed(std::span<const std::byte> body, transaction_status& out) noexcept {
  if (body.size() != 1)
    return false;
  const auto status = static_cast<char>(body[0]);
  if (status != 'I' && status != 'T' && status != 'E')
    return false;
  out = static_cast<transaction_status>(status);
  return true;
}

bool parse_command_tag_well_formed(std::span<const std::byte> body,
                                   std::string_view& tag) noexcept {
  // The tag's NUL ends the body: no NUL, or bytes after it, are for the
  // checked parse to name.
  const auto text = text_of(body);
  if (text.empty() || text.find('\0') != text.size() - 1)
    return false;
  tag = text.substr(0, text.size() - 1);
  return true;
}

bool parse_data_row_well_formed(std::span<const std::byte> body, data_row& out) {
  return data_row_access::parse_well_formed(text_of(body), out);
}

bool parse_row_description_well_formed(std::span<const std::byte> body, row_description& out) {
  const auto text = text_of(body);
  if (text.size() < 2)
    return false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t count = big_endian(bytes, 2);
  std::size_t at = 2;
  // As the checked parse: a field is at least 19 bytes (NUL and 18 bytes of numbers).
  out.fields.reserve(plausible(count, text.size() - at, 19));
  for (std::size_t i = 0; i < count; ++i) {
    const auto nul = text.find('\0', at);
    if (nul == std::string_view::npos || text.size() - (nul + 1) < 18) {
      out.fields.clear();
      return false;
    }
    auto& field = out.fields.emplace_back();
    field.name.assign(text.data() + at, nul - at);
    const auto* numbers = bytes + nul + 1;
    field.table_oid = big_endian(numbers, 4);
    field.column_number = static_cast<std::int16_t>(big_endian(numbers + 4, 2));
    field.type_oid = big_endian(numbers + 6, 4);
    field.type_size = static_cast<std::int16_t>(big_endian(numbers + 10, 2));
    field.type_modifier = static_cast<std::int32_t>(big_endian(numbers + 12, 4));
    field.format = static_cast<std::int16_t>(big_endian(numbers + 16, 2));
    if (field.format != 0 && field.format != 1) {
      out.fields.clear();
      return false;
    }
    at = nul + 1 + 18;
  }
  if (at != text.size()) {
    out.fields.clear();
    return false;
  }
  return true;
}

} // namespace actorloop::pg::detail
