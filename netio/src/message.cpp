// The message model's free functions. Standard library only: the fuzzer
// (tests/fuzz/run_fuzzer.sh) compiles this file without CAF.
#include <actorloop/netio/message.hpp>

#include <type_traits>

namespace actorloop::netio {

message_kind kind_of(const message_body& body) noexcept {
  return std::visit(
    [](const auto& each) -> message_kind {
      using type = std::decay_t<decltype(each)>;
      if constexpr (std::is_same_v<type, hello>)
        return message_kind::hello;
      else if constexpr (std::is_same_v<type, challenge>)
        return message_kind::challenge;
      else if constexpr (std::is_same_v<type, response>)
        return message_kind::response;
      else if constexpr (std::is_same_v<type, ready>)
        return message_kind::ready;
      else if constexpr (std::is_same_v<type, request>)
        return message_kind::request;
      else if constexpr (std::is_same_v<type, result_row>)
        return message_kind::result_row;
      else if constexpr (std::is_same_v<type, completion>)
        return message_kind::completion;
      else if constexpr (std::is_same_v<type, server_message>)
        return message_kind::server_message;
      else if constexpr (std::is_same_v<type, notification>)
        return message_kind::notification;
      else if constexpr (std::is_same_v<type, cancel>)
        return message_kind::cancel;
      else {
        // A new alternative in message_body must get its own branch above.
        static_assert(std::is_same_v<type, terminate>, "kind_of: a message body has no kind");
        return message_kind::terminate;
      }
    },
    body);
}

// The switches have no default so that -Wall names a missing enumerator; the
// return after them covers values cast from bytes that no enumerator names.

std::string_view to_string(message_kind kind) noexcept {
  switch (kind) {
    case message_kind::hello: return "hello";
    case message_kind::challenge: return "challenge";
    case message_kind::response: return "response";
    case message_kind::ready: return "ready";
    case message_kind::request: return "request";
    case message_kind::result_row: return "result_row";
    case message_kind::completion: return "completion";
    case message_kind::server_message: return "server_message";
    case message_kind::notification: return "notification";
    case message_kind::cancel: return "cancel";
    case message_kind::terminate: return "terminate";
  }
  return "unknown";
}

std::string_view to_string(severity level) noexcept {
  switch (level) {
    case severity::info: return "info";
    case severity::notice: return "notice";
    case severity::warning: return "warning";
    case severity::error: return "error";
    case severity::fatal: return "fatal";
  }
  return "unknown";
}

std::string_view to_string(completion_status status) noexcept {
  switch (status) {
    case completion_status::succeeded: return "succeeded";
    case completion_status::failed: return "failed";
    case completion_status::canceled: return "canceled";
  }
  return "unknown";
}

} // namespace actorloop::netio
