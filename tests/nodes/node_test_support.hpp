// Helpers for the nodes tests: engines made nodes, and node processes
// (tests/nodes/node_process) started with pipes on their stdin and stdout.
#pragma once

#include <actorloop/actors/applet.hpp>
#include <actorloop/nodes/node.hpp>
#include <actorloop/runtime/engine.hpp>
#include <actorloop_test/support.hpp>

#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace node_test {

namespace al = actorloop;
using namespace std::chrono_literals;

inline al::runtime::engine_options small_engine(std::vector<std::string> arguments = {}) {
  al::runtime::engine_options options;
  options.default_threads = 2;
  options.arguments = std::move(arguments);
  return options;
}

/// A node process: started with `ACTORLOOP_TEST_NODE_PROCESS`, its stdout read
/// line by line (with a deadline, never a sleep). The destructor kills and
/// reaps it if the test did not.
class node_process {
public:
  /// `extra` arguments follow the default ones (TLS or heartbeat options).
  explicit node_process(std::string name, std::vector<std::string> extra = {}) {
    int to_child[2];
    int from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    std::vector<std::string> storage{
        ACTORLOOP_TEST_NODE_PROCESS, "--actorloop.node.listen=127.0.0.1:0",
        "--actorloop.node.name=" + name, "--actorloop.default-threads=2"};
    storage.insert(storage.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& each : storage)
      argv.push_back(each.data());
    argv.push_back(nullptr);
    auto failure = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(to_child[0]);
    ::close(from_child[1]);
    input_ = to_child[1];
    output_ = from_child[0];
    if (failure != 0)
      throw std::runtime_error(std::string{"posix_spawn: "} + std::strerror(failure));
    auto line = expect("listening on ");
    port_ = static_cast<std::uint16_t>(std::stoi(line.substr(std::strlen("listening on "))));
  }
  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;
  ~node_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    ::close(input_);
    ::close(output_);
  }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

  void send(const std::string& command) {
    auto text = command + "\n";
    REQUIRE(::write(input_, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  }

  /// The next output line, which must start with `prefix` (skipping none).
  std::string expect(const std::string& prefix, std::chrono::milliseconds limit = 20s) {
    auto line = next_line(limit);
    if (!line)
      throw std::runtime_error("node process: no line starting with '" + prefix + "' in time");
    if (line->rfind(prefix, 0) != 0)
      throw std::runtime_error("node process: expected '" + prefix + "...', got '" + *line + "'");
    return *line;
  }

  /// kill -9, then reap; returns the signal that ended it.
  int kill9() {
    ::kill(pid_, SIGKILL);
    return reap();
  }

  /// Waits for the process to end and reaps it; returns its exit status, or
  /// 128 + the signal that ended it.
  int reap() {
    int status = 0;
    REQUIRE(::waitpid(pid_, &status, 0) == pid_);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  /// "quit", expect "bye", exit status 0.
  void stop() {
    send("quit");
    expect("bye");
    CHECK(reap() == 0);
  }

private:
  std::optional<std::string> next_line(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      auto end = buffer_.find('\n');
      if (end != std::string::npos) {
        auto line = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return std::nullopt;
      pollfd watched{output_, POLLIN, 0};
      auto ready = ::poll(&watched, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR)
        continue;
      if (ready <= 0)
        return std::nullopt;
      char chunk[512];
      auto got = ::read(output_, chunk, sizeof chunk);
      if (got <= 0)
        return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(got));
    }
  }

  pid_t pid_ = -1;
  int input_ = -1;
  int output_ = -1;
  std::uint16_t port_ = 0;
  std::string buffer_;
};

} // namespace node_test
