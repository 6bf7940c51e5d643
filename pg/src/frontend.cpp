// Frontend message encoders. Each message is written straight into the
// caller's vector; a problem found half-way truncates the vector back, so a
// thrown error never leaves half a message behind (a sender must never send
// an incomplete message).
#include "extended_query.hpp"

#include <actorloop/pg/error.hpp>
#include <actorloop/pg/frontend.hpp>

#include <algorithm>
#include <cstring>
#include <limits>

namespace actorloop::pg::frontend {

namespace {

class writer {
public:
  // `type` 0: an untyped startup-slot message.
  writer(std::vector<std::byte>& out, char type, const char* name)
    : out_(out), start_(out.size()), at_(out.size()), name_(name) {
    if (type != '\0')
      u8(static_cast<std::uint8_t>(type));
    length_at_ = at_;
    u32(0); // patched by finish()
  }
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;
  ~writer() {
    if (!finished_)
      out_.resize(start_);
  }

  // Bytes go through room(): the vector grows a stretch at a time and is
  // cut to what was written at finish(), so a byte is a store, not a
  // push_back (a pipeline encodes a few messages per statement).
  void u8(std::uint8_t value) { *room(1) = static_cast<std::byte>(value); }
  void u16(std::uint16_t value) {
    auto* at = room(2);
    at[0] = static_cast<std::byte>(value >> 8);
    at[1] = static_cast<std::byte>(value);
  }
  void u32(std::uint32_t value) {
    auto* at = room(4);
    at[0] = static_cast<std::byte>(value >> 24);
    at[1] = static_cast<std::byte>(value >> 16);
    at[2] = static_cast<std::byte>(value >> 8);
    at[3] = static_cast<std::byte>(value);
  }
  void i32(std::int32_t value) { u32(static_cast<std::uint32_t>(value)); }
  void i16(std::int16_t value) { u16(static_cast<std::uint16_t>(value)); }
  void raw(std::string_view bytes) {
    raw(std::span<const std::byte>{reinterpret_cast<const std::byte*>(bytes.data()),
                                   bytes.size()});
  }
  void raw(std::span<const std::byte> bytes) {
    if (bytes.size() > stretch) {
      // A long value (CopyData's 64 KiB): appended as it is, not zeroed first.
      out_.resize(at_);
      out_.insert(out_.end(), bytes.begin(), bytes.end());
      at_ = out_.size();
    } else if (!bytes.empty()) {
      std::memcpy(room(bytes.size()), bytes.data(), bytes.size());
    }
  }
  /// A NUL-terminated string; a NUL inside cannot be represented.
  void cstring(std::string_view value, std::string_view field) {
    auto nul = value.find('\0');
    if (nul != std::string_view::npos)
      fail(std::string(field) + " contains a NUL byte at offset " + std::to_string(nul) +
           "; the protocol's strings cannot carry one");
    auto* at = room(value.size() + 1);
    if (!value.empty())
      std::memcpy(at, value.data(), value.size());
    at[value.size()] = std::byte{0};
  }
  [[noreturn]] void fail(const std::string& problem) {
    throw error(errc::invalid_argument, std::string(name_) + ": " + problem);
  }
  void count(std::size_t value, std::string_view field) {
    if (value > max_parameters)
      fail(std::string(field) + " has " + std::to_string(value) + " entries; at most 65535 fit");
    u16(static_cast<std::uint16_t>(value));
  }
  void finish() {
    auto length = at_ - length_at_;
    if (length > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
      fail("the message would be " + std::to_string(length) +
           " bytes long; the length word holds at most 2147483647");
    out_.resize(at_);
    for (int i = 0; i < 4; ++i)
      out_[length_at_ + static_cast<std::size_t>(i)] =
        static_cast<std::byte>((length >> (8 * (3 - i))) & 0xff);
    finished_ = true;
  }

private:
  /// `size` bytes to write at the end of the message.
  std::byte* room(std::size_t size) {
    if (out_.size() - at_ < size)
      out_.resize(at_ + std::max(size, stretch));
    auto* at = out_.data() + at_;
    at_ += size;
    return at;
  }
  static constexpr std::size_t stretch = 128;

  std::vector<std::byte>& out_;
  std::size_t start_;
  std::size_t at_; // the end of what was written; out_ may extend past it until finish()
  std::size_t length_at_ = 0;
  const char* name_;
  bool finished_ = false;
};

void empty_message(std::vector<std::byte>& out, char type, const char* name) {
  writer w{out, type, name};
  w.finish();
}

void request_code(std::vector<std::byte>& out, std::int32_t code, const char* name) {
  writer w{out, '\0', name};
  w.i32(code);
  w.finish();
}

void check_formats(writer& w, std::span<const std::int16_t> formats, std::string_view field) {
  for (std::size_t i = 0; i < formats.size(); ++i)
    if (formats[i] != 0 && formats[i] != 1)
      w.fail(std::string(field) + " " + std::to_string(i + 1) + " is " +
             std::to_string(formats[i]) + "; a format code is 0 (text) or 1 (binary)");
}

} // namespace

void startup(std::vector<std::byte>& out, std::span<const startup_parameter> parameters,
             std::int32_t version) {
  writer w{out, '\0', "StartupMessage"};
  w.i32(version);
  bool has_user = false;
  for (const auto& [name, value] : parameters) {
    if (name.empty())
      w.fail("a parameter has an empty name");
    if (name == "user") {
      if (value.empty())
        w.fail("the parameter \"user\" is empty");
      has_user = true;
    }
    w.cstring(name, "parameter name \"" + name + "\"");
    w.cstring(value, "the value of parameter \"" + name + "\"");
  }
  if (!has_user)
    w.fail("the parameter \"user\" is missing; the protocol requires it");
  w.u8(0);
  w.finish();
}

void ssl_request(std::vector<std::byte>& out) { request_code(out, ssl_request_code, "SSLRequest"); }

void gssenc_request(std::vector<std::byte>& out) {
  request_code(out, gssenc_request_code, "GSSENCRequest");
}

void cancel_request(std::vector<std::byte>& out, const backend_key_data& key) {
  writer w{out, '\0', "CancelRequest"};
  if (key.secret_key.size() < 4 || key.secret_key.size() > 256)
    w.fail("the secret key has " + std::to_string(key.secret_key.size()) +
           " bytes; it must have 4 to 256");
  w.i32(cancel_request_code);
  w.i32(key.process_id);
  w.raw(key.secret_key);
  w.finish();
}

void password(std::vector<std::byte>& out, std::string_view text) {
  writer w{out, 'p', "PasswordMessage"};
  w.cstring(text, "the password");
  w.finish();
}

void sasl_initial_response(std::vector<std::byte>& out, std::string_view mechanism,
                           std::optional<std::string_view> data) {
  writer w{out, 'p', "SASLInitialResponse"};
  if (mechanism.empty())
    w.fail("the mechanism name is empty");
  w.cstring(mechanism, "the mechanism name");
  if (!data) {
    w.i32(-1);
  } else {
    if (data->size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
      w.fail("the initial response is too long");
    w.i32(static_cast<std::int32_t>(data->size()));
    w.raw(*data);
  }
  w.finish();
}

void sasl_response(std::vector<std::byte>& out, std::string_view data) {
  writer w{out, 'p', "SASLResponse"};
  w.raw(data);
  w.finish();
}

void query(std::vector<std::byte>& out, std::string_view sql) {
  // The size is known up front: one resize and one copy, no stretch to
  // zero and cut back (a sync caller encodes one per query). The checks
  // and their words are the writer's.
  if (sql.find('\0') != std::string_view::npos ||
      sql.size() + 5 > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    writer w{out, 'Q', "Query"};
    w.cstring(sql, "the query text");
    w.finish();
    return;
  }
  const auto length = static_cast<std::uint32_t>(sql.size() + 5);
  const auto start = out.size();
  out.resize(start + 1 + length);
  auto* at = out.data() + start;
  at[0] = static_cast<std::byte>('Q');
  for (int i = 0; i < 4; ++i)
    at[1 + i] = static_cast<std::byte>((length >> (8 * (3 - i))) & 0xff);
  if (!sql.empty())
    std::memcpy(at + 5, sql.data(), sql.size());
  at[5 + sql.size()] = std::byte{0};
}

void parse(std::vector<std::byte>& out, std::string_view name, std::string_view sql,
           std::span<const oid> parameter_types) {
  writer w{out, 'P', "Parse"};
  w.cstring(name, "the statement name");
  w.cstring(sql, "the query text");
  w.count(parameter_types.size(), "the parameter type list");
  for (auto type : parameter_types)
    w.u32(type);
  w.finish();
}

void bind(std::vector<std::byte>& out, std::string_view portal, std::string_view statement,
          std::span<const std::int16_t> parameter_formats,
          std::span<const std::optional<std::string_view>> values,
          std::span<const std::int16_t> result_formats) {
  writer w{out, 'B', "Bind"};
  if (parameter_formats.size() > 1 && parameter_formats.size() != values.size())
    w.fail("there are " + std::to_string(parameter_formats.size()) + " parameter formats for " +
           std::to_string(values.size()) + " values; give 0, 1 or one per value");
  check_formats(w, parameter_formats, "parameter format");
  check_formats(w, result_formats, "result format");
  w.cstring(portal, "the portal name");
  w.cstring(statement, "the statement name");
  w.count(parameter_formats.size(), "the parameter format list");
  for (auto format : parameter_formats)
    w.i16(format);
  w.count(values.size(), "the parameter value list");
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!values[i]) {
      w.i32(-1);
      continue;
    }
    if (values[i]->size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
      w.fail("parameter " + std::to_string(i + 1) + " is too long");
    w.i32(static_cast<std::int32_t>(values[i]->size()));
    w.raw(*values[i]);
  }
  w.count(result_formats.size(), "the result format list");
  for (auto format : result_formats)
    w.i16(format);
  w.finish();
}

void describe(std::vector<std::byte>& out, target kind, std::string_view name) {
  writer w{out, 'D', "Describe"};
  if (kind != target::statement && kind != target::portal)
    w.fail("the target is neither a statement ('S') nor a portal ('P')");
  w.u8(static_cast<std::uint8_t>(kind));
  w.cstring(name, "the name");
  w.finish();
}

void execute(std::vector<std::byte>& out, std::string_view portal, std::int32_t max_rows) {
  writer w{out, 'E', "Execute"};
  if (max_rows < 0)
    w.fail("the row limit " + std::to_string(max_rows) + " is negative; 0 means all rows");
  w.cstring(portal, "the portal name");
  w.i32(max_rows);
  w.finish();
}

void close(std::vector<std::byte>& out, target kind, std::string_view name) {
  writer w{out, 'C', "Close"};
  if (kind != target::statement && kind != target::portal)
    w.fail("the target is neither a statement ('S') nor a portal ('P')");
  w.u8(static_cast<std::uint8_t>(kind));
  w.cstring(name, "the name");
  w.finish();
}

void sync(std::vector<std::byte>& out) { empty_message(out, 'S', "Sync"); }
void flush(std::vector<std::byte>& out) { empty_message(out, 'H', "Flush"); }
void copy_done(std::vector<std::byte>& out) { empty_message(out, 'c', "CopyDone"); }
void terminate(std::vector<std::byte>& out) { empty_message(out, 'X', "Terminate"); }

void copy_data(std::vector<std::byte>& out, std::span<const std::byte> data) {
  writer w{out, 'd', "CopyData"};
  w.raw(data);
  w.finish();
}

void copy_data(std::vector<std::byte>& out, std::string_view data) {
  copy_data(out, std::span<const std::byte>{reinterpret_cast<const std::byte*>(data.data()),
                                            data.size()});
}

void copy_data_header(std::vector<std::byte>& out, std::size_t size) {
  // The same refusal as writer::finish(): the length word counts itself.
  constexpr auto most = static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max());
  if (size > most - 4)
    throw error(errc::invalid_argument,
                "CopyData: the message would be " + std::to_string(size + 4) +
                  " bytes long; the length word holds at most 2147483647");
  writer w{out, 'd', "CopyData"};
  w.finish();
  auto length = static_cast<std::uint32_t>(size + 4);
  auto* at = out.data() + out.size() - 4;
  for (int i = 0; i < 4; ++i)
    at[i] = static_cast<std::byte>((length >> (8 * (3 - i))) & 0xff);
}

void copy_fail(std::vector<std::byte>& out, std::string_view reason) {
  writer w{out, 'f', "CopyFail"};
  w.cstring(reason, "the reason");
  w.finish();
}

} // namespace actorloop::pg::frontend

namespace actorloop::pg::detail {

// Bind straight from the params (what frontend::bind writes for one format
// per value and one result format), without building the spans of formats
// and values first: a pipeline encodes this for every statement.
void encode_bind(std::vector<std::byte>& out, std::string_view statement,
                 std::span<const param> params, format results) {
  if (results != format::text && results != format::binary)
    throw error(errc::invalid_argument, "unknown result format");
  {
    frontend::writer w{out, 'B', "Bind"};
    for (std::size_t i = 0; i < params.size(); ++i) {
      auto wire = static_cast<std::int16_t>(params[i].wire);
      if (wire != 0 && wire != 1)
        w.fail("parameter format " + std::to_string(i + 1) + " is " + std::to_string(wire) +
               "; a format code is 0 (text) or 1 (binary)");
    }
    w.u8(0); // the unnamed portal
    w.cstring(statement, "the statement name");
    w.count(params.size(), "the parameter format list");
    for (auto& each : params)
      w.i16(static_cast<std::int16_t>(each.wire));
    w.count(params.size(), "the parameter value list");
    for (std::size_t i = 0; i < params.size(); ++i) {
      auto& value = params[i].value;
      if (!value) {
        w.i32(-1);
        continue;
      }
      if (value->size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
        w.fail("parameter " + std::to_string(i + 1) + " is too long");
      w.i32(static_cast<std::int32_t>(value->size()));
      w.raw(std::string_view{*value});
    }
    w.u16(1);
    w.i16(static_cast<std::int16_t>(results));
    w.finish();
  }
  frontend::describe(out, frontend::target::portal, "");
}

} // namespace actorloop::pg::detail
