#pragma once
/// @file
/// The applet registry: which applets live, on which scheduler, in what state.
///
/// Thread safety: safe from any thread; the result is a snapshot.

#include <actorloop/actors/applet.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace actorloop::actors {

struct applet_info {
  std::uint64_t id = 0;
  std::string name;
  std::string scheduler;
  applet_state state = applet_state::starting;
  /// Waitables registered right now.
  std::size_t waits = 0;
  /// Postselect calls so far.
  std::uint64_t events_dispatched = 0;
  /// Chained events returned by postselect that nobody waited on.
  std::uint64_t chained_dropped = 0;
};

/// The live applets of an engine (not yet destroyed), in creation order.
[[nodiscard]] std::vector<applet_info> list_applets(runtime::engine& engine);

/// One line per scheduler with its counters and one per applet; for logs.
[[nodiscard]] std::string describe(runtime::engine& engine);

} // namespace actorloop::actors
