#pragma once
// The throwaway PostgreSQL that scripts/pg-server starts for a test: on a
// free loopback port and a Unix socket in its own temporary directory,
// stopped (and the directory removed) when the object goes. A test that
// cannot start it fails; it is never skipped.

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/wait.h>

namespace pg_throwaway {

/// Runs `command` through the shell; returns its output and sets `status`.
inline std::string run_command(const std::string& command, int& status) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE_MESSAGE(pipe != nullptr, "popen failed for: " << command);
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr)
    output += buffer;
  int raw = ::pclose(pipe);
  status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return output;
}

/// One server for the lifetime of the object.
class server {
public:
  server() {
    // From the build: __FILE__ may be relative when ccache's base directory is set.
    auto root = std::filesystem::path(ACTORLOOP_SOURCE_DIR);
    std::string pattern = (std::filesystem::temp_directory_path() / "actorloop-pg-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    script_ = (root / "scripts" / "pg-server").string();
    int status = 0;
    auto out = run_command(script_ + " start " + dir_ + " 2>&1", status);
    REQUIRE_MESSAGE(status == 0, "scripts/pg-server start failed:\n" << out);
    port_ = static_cast<std::uint16_t>(std::stoi(out));
    REQUIRE(port_ != 0);
  }
  ~server() {
    if (killed_) {
      // Killed and not restarted (a failed test): nothing runs to stop.
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
      return;
    }
    int status = 0;
    auto out = run_command(script_ + " stop " + dir_ + " 2>&1", status);
    CHECK_MESSAGE(status == 0, "scripts/pg-server stop failed:\n" << out);
  }
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::string socket_dir() const { return dir_ + "/socket"; }
  /// The test CA, server and client certificates scripts/pg-server made.
  [[nodiscard]] std::string tls_dir() const { return dir_ + "/tls"; }

  /// Kills the server as a crash would (`pg_ctl stop -m immediate`: every
  /// backend ends at once, its clients see their connections drop); returns
  /// when the postmaster has gone. Thread safe against the tests' own use
  /// (it only runs the script).
  void kill_immediately() {
    int status = 0;
    auto out = run_command(script_ + " kill " + dir_ + " 2>&1", status);
    REQUIRE_MESSAGE(status == 0, "scripts/pg-server kill failed:\n" << out);
    killed_ = true;
  }
  /// Starts the server again after `kill_immediately`, on the same port;
  /// returns when it accepts connections.
  void restart() {
    int status = 0;
    auto out = run_command(script_ + " restart " + dir_ + " 2>&1", status);
    REQUIRE_MESSAGE(status == 0, "scripts/pg-server restart failed:\n" << out);
    killed_ = false;
  }

private:
  std::string dir_;
  std::string script_;
  std::uint16_t port_ = 0;
  std::atomic<bool> killed_{false};
};

} // namespace pg_throwaway
