#pragma once
// A benchmark's second process: the benchmark's own executable started
// again with a role argument, its stdin and stdout piped, so the parent can
// send it command lines and wait for its answer lines (bench/nodes.cpp,
// bench/node_down.cpp). Every wait has a deadline; a child that does not
// answer in time, or whose output ends, fails the benchmark with a message.

#include "bench_support.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace bench {

class child_process {
public:
  child_process(const char* path, const char* role) {
    int to_child[2];
    int from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0)
      fail("pipe: %s", std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    std::string program = path;
    std::string argument = role;
    char* argv[] = {program.data(), argument.data(), nullptr};
    auto failure = posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(to_child[0]);
    ::close(from_child[1]);
    input_ = to_child[1];
    output_ = from_child[0];
    if (failure != 0) {
      pid_ = -1;
      fail("posix_spawn of '%s %s': %s", path, role, std::strerror(failure));
    }
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  /// Closes the child's input (a child reading commands ends there), then
  /// kills it if it still runs and reaps it.
  ~child_process() {
    ::close(input_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap();
    }
    ::close(output_);
  }

  /// Sends one command line.
  void send(const std::string& command) {
    auto text = command + "\n";
    if (::write(input_, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      fail("writing to the child failed");
  }

  /// The child's next line, which must start with `prefix`.
  std::string expect(const std::string& prefix,
                     std::chrono::milliseconds within = std::chrono::seconds{120}) {
    auto deadline = bench_clock::now() + within;
    for (;;) {
      auto end = buffer_.find('\n');
      if (end != std::string::npos) {
        auto line = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        if (line.rfind(prefix, 0) != 0)
          fail("child: expected '%s', got '%s'", prefix.c_str(), line.c_str());
        return line;
      }
      auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - bench_clock::now());
      if (left.count() <= 0)
        fail("child: no '%s' line in time", prefix.c_str());
      pollfd watched{output_, POLLIN, 0};
      auto ready = ::poll(&watched, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR)
        continue;
      char chunk[512];
      auto got = ready > 0 ? ::read(output_, chunk, sizeof chunk) : 0;
      if (got <= 0)
        fail("child: its output ended while waiting for '%s'", prefix.c_str());
      buffer_.append(chunk, static_cast<std::size_t>(got));
    }
  }

  /// The port of a first line "listening on PORT".
  std::uint16_t listening_port(std::chrono::milliseconds within = std::chrono::seconds{30}) {
    auto line = expect("listening on ", within);
    return static_cast<std::uint16_t>(std::stoi(line.substr(std::strlen("listening on "))));
  }

  void kill9() { ::kill(pid_, SIGKILL); }
  void reap() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

private:
  pid_t pid_ = -1;
  int input_ = -1;
  int output_ = -1;
  std::string buffer_;
};

} // namespace bench
