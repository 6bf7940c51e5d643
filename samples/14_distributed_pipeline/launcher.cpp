// Sample 14, the launcher role (the default): starts the producer, the sink
// and two workers as child processes of this same binary, wires them by
// reading each one's "listening on PORT" line (every node listens on a free
// loopback port), SIGKILLs worker-1 once it says it stopped after --kill-at
// jobs (it then holds the batch it took last, unprocessed, and its queue
// fills: the kill always finds batches it had not done, however late the
// kill lands on a loaded machine), then stops the others in order (workers, sink, producer) and
// gives the verdict. A plain thread: it multiplexes the children's output
// with poll(2), against one deadline for the whole run.
#include "pipeline.hpp"

#include <sample_support.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <limits.h>
#include <map>
#include <memory>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace pipeline {

using sample::say;
using clock_type = std::chrono::steady_clock;

namespace {

/// One child process of this binary in another role, with pipes on its
/// standard input and output (its standard error is ours).
class child {
public:
  child(std::string name, std::vector<std::string> arguments) : name_(std::move(name)) {
    int to_child[2];
    int from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe: " + std::string{std::strerror(errno)});
    if (::pipe2(from_child, O_CLOEXEC) != 0) {
      ::close(to_child[0]);
      ::close(to_child[1]);
      throw std::runtime_error("pipe: " + std::string{std::strerror(errno)});
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    auto program = self_path();
    arguments.insert(arguments.begin(), program);
    std::vector<char*> argv;
    for (auto& each : arguments)
      argv.push_back(each.data());
    argv.push_back(nullptr);
    // The launcher ignores SIGPIPE (a child that died must not kill it when
    // told "quit"); the children get the default back.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);
    auto failure = posix_spawn(&pid_, program.c_str(), &actions, &attributes, argv.data(), environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    ::close(to_child[0]);
    ::close(from_child[1]);
    input_ = to_child[1];
    output_ = from_child[0];
    if (failure != 0) {
      pid_ = -1;
      throw std::runtime_error("cannot start the " + name_ + ": " + std::strerror(failure));
    }
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;
  ~child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (input_ >= 0)
      ::close(input_);
    ::close(output_);
  }

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] int output() const noexcept { return output_; }
  [[nodiscard]] bool ended() const noexcept { return ended_; }
  /// CPU time (user + system) the process used; known once reaped.
  [[nodiscard]] double cpu_seconds() const noexcept { return cpu_seconds_; }

  /// Reads what is there (call when poll says readable); false at end of output.
  bool read_some() {
    char chunk[4096];
    auto got = ::read(output_, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR)
      return true;
    if (got <= 0) {
      ended_ = true;
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(got));
    return true;
  }

  /// A complete line read already, if any.
  std::optional<std::string> take_line() {
    auto end = buffer_.find('\n');
    if (end == std::string::npos)
      return std::nullopt;
    auto line = buffer_.substr(0, end);
    buffer_.erase(0, end + 1);
    return line;
  }

  void send(const std::string& line) {
    auto text = line + "\n";
    if (input_ < 0 ||
        ::write(input_, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      throw std::runtime_error("cannot write to the " + name_ + "'s standard input");
  }

  /// SIGKILL, then reap.
  int kill9() {
    ::kill(pid_, SIGKILL);
    return reap();
  }

  /// Waits for the process to end (its output has ended); returns its exit
  /// status, or 128 + the signal that ended it.
  int reap() {
    int status = 0;
    rusage usage{};
    while (::wait4(pid_, &status, 0, &usage) < 0) {
      if (errno != EINTR)
        throw std::runtime_error("waitpid of the " + name_ + ": " + std::strerror(errno));
    }
    pid_ = -1;
    auto seconds = [](const timeval& time) {
      return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) / 1e6;
    };
    cpu_seconds_ = seconds(usage.ru_utime) + seconds(usage.ru_stime);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

private:
  static std::string self_path() {
    char path[PATH_MAX];
    auto length = ::readlink("/proc/self/exe", path, sizeof path - 1);
    if (length <= 0)
      throw std::runtime_error("cannot read /proc/self/exe");
    return std::string(path, static_cast<std::size_t>(length));
  }

  std::string name_;
  pid_t pid_ = -1;
  int input_ = -1;
  int output_ = -1;
  bool ended_ = false;
  double cpu_seconds_ = 0;
  std::string buffer_;
};

/// Reads the children's output until `done` says so, forwarding each line
/// as "[name] line" and handing it to `on_line`. Throws at the deadline,
/// naming what it was waiting for.
void pump_lines(std::vector<child*> watched, clock_type::time_point deadline,
                const std::string& waiting_for, const std::function<bool()>& done,
                const std::function<void(child&, const std::string&)>& on_line) {
  while (!done()) {
    std::vector<pollfd> fds;
    std::vector<child*> owners;
    for (auto* each : watched) {
      if (!each->ended()) {
        fds.push_back(pollfd{each->output(), POLLIN, 0});
        owners.push_back(each);
      }
    }
    if (fds.empty())
      throw std::runtime_error("every child's output ended while waiting for " + waiting_for);
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
    if (left <= 0)
      throw std::runtime_error("timed out waiting for " + waiting_for);
    auto ready =
        ::poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left, INT_MAX)));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready < 0)
      throw std::runtime_error(std::string{"poll: "} + std::strerror(errno));
    for (std::size_t index = 0; index < fds.size(); ++index) {
      if (fds[index].revents == 0)
        continue;
      auto& owner = *owners[index];
      owner.read_some();
      while (auto line = owner.take_line()) {
        say("[", owner.name(), "] ", *line);
        on_line(owner, *line);
      }
      if (owner.ended())
        on_line(owner, std::string{}); // end of output: handlers check ended()
    }
  }
}

/// Waits for "listening on PORT" from `process`; returns PORT.
long await_port(child& process, clock_type::time_point deadline) {
  std::optional<long> port;
  pump_lines(
      {&process}, deadline, "the " + process.name() + "'s \"listening on\" line",
      [&] { return port.has_value(); },
      [&](child& from, const std::string& line) {
        static const std::string prefix = "listening on ";
        if (line.rfind(prefix, 0) == 0)
          port = std::stol(line.substr(prefix.size()));
        else if (from.ended())
          throw std::runtime_error("the " + from.name() + " ended before it listened");
      });
  return *port;
}

/// "key=value" words of the producer's summary line.
std::map<std::string, std::string> parse_summary(const std::string& line) {
  std::map<std::string, std::string> fields;
  std::istringstream words{line};
  std::string word;
  while (words >> word) {
    auto equals = word.find('=');
    if (equals != std::string::npos)
      fields[word.substr(0, equals)] = word.substr(equals + 1);
  }
  return fields;
}

/// Says "quit" to `process`, forwards its output to the end and reaps it.
int stop(child& process, clock_type::time_point deadline) {
  process.send("quit");
  pump_lines(
      {&process}, deadline, "the " + process.name() + " to stop", [&] { return process.ended(); },
      [](child&, const std::string&) {});
  return process.reap();
}

void launcher_usage() {
  std::fprintf(stderr,
               "usage: actorloop-sample-14-distributed-pipeline [--jobs N] [--batch N] "
               "[--window N] [--queue N] [--kill-at N | --no-kill] [--timeout-s N] "
               "[--resend-acknowledged N] [--fault skip-resend] [engine options for every node]\n"
               "  --jobs N       jobs to send (default 100000)\n"
               "  --batch N      jobs per batch, the unit pushed and acknowledged (default 100)\n"
               "  --window N     unacknowledged batches per worker (default 8, at most --queue)\n"
               "  --queue N      capacity of each worker's job queue (default 8)\n"
               "  --kill-at N    SIGKILL worker-1 once it has done N jobs (default a fifth\n"
               "                 of --jobs, about 40%% into the run)\n"
               "  --no-kill      run without killing a worker\n"
               "  --timeout-s N  give up (and fail) after N seconds (default 120)\n"
               "  --resend-acknowledged N  at the loss, also re-send the last N batches the lost\n"
               "                 worker had had acknowledged (default 4): the sink must drop\n"
               "                 them as duplicates by number\n"
               "  --fault skip-resend  make the producer forget the lost worker's batches;\n"
               "                 the run must then fail, naming the lost jobs\n");
}

} // namespace

int run_launcher(int argc, char** argv) {
  return sample::guarded_main(
      [&] {
        auto jobs = sample::take_number_option(argc, argv, "--jobs").value_or(100000);
        auto batch = sample::take_number_option(argc, argv, "--batch").value_or(100);
        auto window = sample::take_number_option(argc, argv, "--window").value_or(8);
        auto queue = sample::take_number_option(argc, argv, "--queue").value_or(8);
        auto kill_at = sample::take_number_option(argc, argv, "--kill-at").value_or(jobs / 5);
        auto no_kill = sample::take_flag(argc, argv, "--no-kill");
        auto timeout = sample::take_number_option(argc, argv, "--timeout-s").value_or(120);
        auto fault = sample::take_option(argc, argv, "--fault");
        auto duplicates = sample::take_option(argc, argv, "--resend-acknowledged").value_or("4");
        if (sample::take_flag(argc, argv, "--help")) {
          launcher_usage();
          return 0;
        }
        if (window > queue)
          throw std::invalid_argument("--window (" + std::to_string(window) +
                                      ") must not exceed --queue (" + std::to_string(queue) +
                                      "): the window is what keeps a worker's queue from filling");
        if (!no_kill && kill_at >= jobs / 2)
          throw std::invalid_argument("--kill-at must be below half of --jobs (worker-1's "
                                      "share), so that the kill is mid-run");
        constexpr int worker_count = 2;
        // What the sink's results queue and the producer's acks queue can
        // hold at most: every live worker's window, plus the batches a lost
        // worker had in flight (see docs/nodes.md, the distributed pipeline).
        auto in_flight = (worker_count + 1) * window;

        // Engine options given to the launcher go to every node.
        std::vector<std::string> engine_arguments{argv + 1, argv + argc};
        for (auto& each : engine_arguments) {
          // Engine (CAF) options are "--category.name=value"; anything else
          // is a mistyped option of this launcher.
          auto name = each.substr(0, each.find('='));
          if (name.rfind("--", 0) != 0 || name.find('.') == std::string::npos)
            throw std::invalid_argument("unknown option '" + each + "'");
        }
        bool threads_given = false;
        for (auto& each : engine_arguments)
          threads_given = threads_given || each.rfind("--actorloop.default-threads", 0) == 0;
        auto node_arguments = [&](const std::string& name) {
          std::vector<std::string> result{"--actorloop.node.listen=127.0.0.1:0",
                                          "--actorloop.node.name=" + name};
          if (!threads_given)
            result.push_back("--actorloop.default-threads=1");
          result.insert(result.end(), engine_arguments.begin(), engine_arguments.end());
          return result;
        };
        auto number = [](long value) { return std::to_string(value); };
        auto deadline = clock_type::now() + std::chrono::seconds(timeout);
        std::signal(SIGPIPE, SIG_IGN);
        try {

          say("launcher: ", jobs, " jobs in batches of ", batch, ", window ", window,
              " batches per worker, worker queues of ", queue, ", ",
              no_kill ? std::string{"no kill"}
                      : "worker-1 killed (SIGKILL) once it has done " + number(kill_at) + " jobs");

          std::vector<std::string> producer_arguments{
              "--role=producer", "--jobs",       number(jobs), "--batch",        number(batch),
              "--window",        number(window), "--queue",    number(in_flight)};
          producer_arguments.push_back("--resend-acknowledged");
          producer_arguments.push_back(duplicates);
          if (fault) {
            producer_arguments.push_back("--fault");
            producer_arguments.push_back(*fault);
          }
          for (auto& each : node_arguments("producer"))
            producer_arguments.push_back(each);
          child producer{"producer", producer_arguments};
          auto producer_port = await_port(producer, deadline);

          std::vector<std::string> sink_arguments{
              "--role=sink",     "--jobs",     number(jobs),         "--queue",
              number(in_flight), "--producer", number(producer_port)};
          for (auto& each : node_arguments("sink"))
            sink_arguments.push_back(each);
          child sink{"sink", sink_arguments};
          auto sink_port = await_port(sink, deadline);

          std::vector<std::unique_ptr<child>> workers;
          std::string ports;
          for (int index = 1; index <= worker_count; ++index) {
            auto name = "worker-" + number(index);
            std::vector<std::string> arguments{"--role=worker", "--queue", number(queue), "--sink",
                                               number(sink_port)};
            if (index == 1 && !no_kill) {
              arguments.push_back("--stop-after");
              arguments.push_back(number(kill_at));
            }
            for (auto& each : node_arguments(name))
              arguments.push_back(each);
            workers.push_back(std::make_unique<child>(name, arguments));
            ports += " " + number(await_port(*workers.back(), deadline));
          }
          producer.send("workers" + ports);

          // The run: watch everyone; kill worker-1 at the job count; end at the
          // producer's summary.
          auto& victim = *workers.front();
          bool killed = false;
          int victim_status = 0;
          std::optional<std::string> summary;
          std::vector<child*> everyone{&producer, &sink};
          for (auto& each : workers)
            everyone.push_back(each.get());
          pump_lines(
              everyone, deadline, "the producer's summary", [&] { return summary.has_value(); },
              [&](child& from, const std::string& line) {
                if (&from == &producer && line.rfind("summary ", 0) == 0) {
                  summary = line;
                } else if (&from == &victim && line.rfind("stopped ", 0) == 0 && !killed) {
                  victim_status = victim.kill9();
                  killed = true;
                  say("launcher: killed ", victim.name(), " (SIGKILL)");
                } else if (from.ended() && !(killed && &from == &victim)) {
                  throw std::runtime_error("the " + from.name() + " ended during the run");
                }
              });

          sample::checklist checks;
          // Stop in order: the workers, then the sink (which may still
          // acknowledge duplicates), then the producer.
          for (auto& each : workers) {
            if (killed && each.get() == &victim)
              continue;
            auto status = stop(*each, deadline);
            checks.expect(status == 0, each->name() + " exited with status " + number(status));
          }
          auto sink_status = stop(sink, deadline);
          auto producer_status = stop(producer, deadline);

          auto fields = parse_summary(*summary);
          checks.expect(producer_status == 0,
                        "the producer exited with status " + number(producer_status));
          checks.expect(sink_status == 0, "the sink's count is wrong (exit status " +
                                              number(sink_status) + "): see its FAIL lines above");
          if (!no_kill) {
            checks.expect(killed && victim_status == 128 + SIGKILL,
                          "worker-1 was not killed by SIGKILL mid-run");
            checks.expect(fields["lost"] == victim.name(),
                          "the producer did not see " + victim.name() +
                              "'s node go down (lost=" + fields["lost"] + ")");
            if (!fault)
              checks.expect(fields["resent_batches"] != "0",
                            "nothing was re-sent: worker-1 had no unacknowledged batch when it "
                            "was killed, so this run did not test the re-send");
          }
          auto seconds = std::stod(fields["seconds"]);
          say("throughput: ", fields["acknowledged"], " jobs through 2 workers to the sink in ",
              seconds, " s = ", static_cast<long>(std::stod(fields["acknowledged"]) / seconds),
              " jobs/s (", fields["pushes"], " batch pushes, ", fields["resent_batches"],
              " batches re-sent, ", fields["forced_batches"],
              " acknowledged batches re-sent on purpose)");
          // CPU time holds better than wall time on a shared machine: the
          // four processes' user + system time, start-up and teardown included.
          double cpu = producer.cpu_seconds() + sink.cpu_seconds();
          std::ostringstream parts;
          parts << "producer " << producer.cpu_seconds() << " s, sink " << sink.cpu_seconds()
                << " s";
          for (auto& each : workers) {
            cpu += each->cpu_seconds();
            parts << ", " << each->name() << " " << each->cpu_seconds() << " s";
          }
          say("cpu: ", parts.str(), "; ", cpu * 1e6 / static_cast<double>(jobs),
              " us per job in all four processes");
          return checks.verdict();
        } catch (const std::runtime_error& failure) {
          // The children still running are killed by their destructors.
          say("FAIL: ", failure.what());
          say("FAILED");
          return 1;
        }
      },
      launcher_usage);
}

} // namespace pipeline
