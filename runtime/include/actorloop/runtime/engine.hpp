#pragma once
/// @file
/// The engine: the runtime object. It owns a CAF `actor_system` whose
/// scheduling is actorloop's coordinator, and any number of named schedulers.
///
/// Schedulers come from configuration at start-up (CAF's config file
/// `caf-application.ini` and command line, key `actorloop.schedulers`, e.g.
/// `--actorloop.schedulers=io:threads=1:cpus=0;work:threads=2`) or from code at
/// any later time with `create_scheduler`. A scheduler named "default" always
/// exists; it has `actorloop.default-threads` workers (by default one per CPU)
/// and also runs any plain CAF actor spawned in this engine's system.
///
/// Lifetime: destroying the engine stops every scheduler (destroying their
/// applets on their own threads), then shuts CAF down.
///
/// Thread safety: distinct objects: safe. Shared objects: safe, except that
/// the destructor must not race with other calls.

#include <actorloop/runtime/scheduler.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace caf {
class actor_system;
} // namespace caf

namespace actorloop::runtime {

namespace detail {
struct access;
} // namespace detail

/// Start-up settings given from code.
struct engine_options {
  /// Schedulers to create at start (in addition to "default").
  std::vector<scheduler_options> schedulers;
  /// Workers of the "default" scheduler; 0 = one per CPU.
  std::size_t default_threads = 0;
  /// Extra CAF command-line style arguments ("--scheduler.max-throughput=10").
  std::vector<std::string> arguments;
};

class engine {
public:
  /// An engine with default settings.
  engine();
  /// Reads CAF's config file and the command line, including
  /// `--actorloop.schedulers=...` and `--actorloop.default-threads=N`.
  /// Throws `errc::bad_configuration` on unknown or malformed options.
  /// After `--help` the help text is printed and `help_printed()` is true.
  engine(int argc, char** argv);
  explicit engine(engine_options options);
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;
  ~engine();

  /// Creates and starts a scheduler. Throws `scheduler_exists`,
  /// `invalid_cpu_set`, `permission_denied` (priority not allowed), or
  /// `invalid_argument`; on failure no thread is left behind.
  scheduler create_scheduler(scheduler_options options);
  /// Throws `no_such_scheduler`.
  [[nodiscard]] scheduler get_scheduler(std::string_view name) const;
  [[nodiscard]] std::optional<scheduler> find_scheduler(std::string_view name) const;
  /// All schedulers, "default" first, then in creation order.
  [[nodiscard]] std::vector<scheduler> schedulers() const;
  /// Stops and forgets a scheduler (see `scheduler::stop`). "default" cannot
  /// be removed (`invalid_argument`).
  void remove_scheduler(std::string_view name);

  /// True if the command line asked for `--help` and it was printed.
  [[nodiscard]] bool help_printed() const noexcept;
  /// Text describing the actorloop options, for samples' usage messages.
  [[nodiscard]] static std::string options_help();

  /// The CAF actor system (for plain CAF actors next to applets).
  [[nodiscard]] caf::actor_system& actor_system();

  struct impl;

private:
  friend struct detail::access;
  void start(engine_options options);
  void shutdown() noexcept;
  std::unique_ptr<impl> impl_;
};

} // namespace actorloop::runtime
