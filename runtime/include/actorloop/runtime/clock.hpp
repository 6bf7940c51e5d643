#pragma once
/// @file
/// The one clock of the runtime: monotonic, nanosecond resolution, never
/// affected by wall-clock changes (the original used a wrapping 32-bit
/// millisecond wall clock).

#include <chrono>

namespace actorloop::runtime {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;
using duration = clock::duration;

} // namespace actorloop::runtime
