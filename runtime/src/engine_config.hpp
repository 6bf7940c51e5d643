#pragma once
// The CAF configuration an engine builds: CAF's own options plus actorloop's.

#include <caf/actor_system_config.hpp>

#include <string>

namespace actorloop::runtime {
class engine;
} // namespace actorloop::runtime

namespace actorloop::runtime::detail {

class engine_config final : public caf::actor_system_config {
public:
  engine_config();

  /// --actorloop.schedulers: ';'-separated scheduler specifications.
  std::string schedulers;
  /// --actorloop.default-threads: workers of the "default" scheduler.
  size_t default_threads = 0;
  /// --actorloop.io: the netio module's I/O workers (parsed there).
  std::string io;
  /// --actorloop.file-io: the file I/O backend (auto, uring, threads).
  std::string file_io;
  /// The engine this configuration belongs to (set before CAF starts).
  engine* owner = nullptr;

  /// Runs every registered config hook (detail/config_hooks.hpp) on this
  /// configuration; called by the engine before parsing.
  void run_config_hooks();
};

} // namespace actorloop::runtime::detail
