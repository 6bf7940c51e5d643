// The error code that a call throws as actorloop::runtime::error, for tests
// that check which error a refused call names.
#pragma once

#include <actorloop/runtime/error.hpp>

#include <functional>
#include <system_error>

namespace actorloop_test {

/// Runs `call`; returns the code of the runtime::error it throws, or an empty
/// code if it throws nothing (any other exception propagates).
inline std::error_code error_code_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const actorloop::runtime::error& failure) {
    return failure.code();
  }
  return {};
}

} // namespace actorloop_test
