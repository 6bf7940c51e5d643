// Names of the connection enums, for printing.
#include <actorloop/netio/connection.hpp>

namespace actorloop::netio {

// -- names and signals -----------------------------------------------------------------------

std::string_view to_string(io_mode mode) noexcept {
  switch (mode) {
    case io_mode::sync: return "sync";
    case io_mode::deferred: return "deferred";
    case io_mode::async: return "async";
  }
  return "unknown";
}

std::string_view to_string(retcode code) noexcept {
  switch (code) {
    case retcode::succeed: return "succeed";
    case retcode::fail: return "fail";
    case retcode::pending: return "pending";
    case retcode::busy: return "busy";
    case retcode::quiet: return "quiet";
    case retcode::timed_out: return "timed_out";
    case retcode::canceled: return "canceled";
  }
  return "unknown";
}

std::string_view to_string(function_id function) noexcept {
  switch (function) {
    case function_id::cancel: return "cancel";
    case function_id::close: return "close";
    case function_id::connect: return "connect";
    case function_id::execute: return "execute";
    case function_id::lookup: return "lookup";
    case function_id::notification: return "notification";
    case function_id::user_first: return "user";
  }
  return static_cast<std::int32_t>(function) >= 10000 ? "user" : "unknown";
}

} // namespace actorloop::netio
