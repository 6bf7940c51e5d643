// ctest-own-executable (re-executes itself as another user)
// Thread priorities: a real-time policy or a lowered nice value without the
// permission fails with permission_denied naming the priority, while raising
// the nice value needs no permission.
//
// The unprivileged runs happen in a child process (this binary re-executed
// with only the child test case selected) that first zeroes RLIMIT_RTPRIO and
// RLIMIT_NICE and, when running as root, drops to nobody, so the result does
// not depend on who runs the test.
#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/error.hpp>
#include <actorloop/runtime/scheduler.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <string>
#include <system_error>
#include <vector>

extern char** environ;

using namespace std::chrono_literals;
namespace runtime = actorloop::runtime;

namespace {

constexpr uid_t nobody_uid = 65534;
constexpr gid_t nobody_gid = 65534;
// A hung child is killed by SIGALRM well before the test's own watchdog.
constexpr unsigned child_alarm_seconds = 20;

constexpr const char* scenario_variable = "ACTORLOOP_TEST_PRIORITY_SCENARIO";
constexpr const char* report_fd_variable = "ACTORLOOP_TEST_PRIORITY_REPORT_FD";
// No commas or wildcards: the name is passed to doctest's --test-case filter.
constexpr const char* child_test_case = "child process: create a scheduler as an unprivileged user";

// Exit codes of the child, so the parent can say what went wrong.
enum child_exit : int {
  child_ok = 0,
  child_no_error = 10,
  child_wrong_code = 11,
  child_message_lacks_priority = 12,
  child_left_scheduler_behind = 13,
  child_could_not_drop_privileges = 14,
  child_unexpected_exception = 15,
  child_wrong_nice_value = 16,
  child_unknown_scenario = 17,
  child_exec_failed = 127,
};

const char* describe_exit(int code) {
  switch (code) {
    case child_ok: return "ok";
    case child_no_error: return "the priority was granted (no error)";
    case child_wrong_code: return "failed with another error code";
    case child_message_lacks_priority: return "the message does not name the priority";
    case child_left_scheduler_behind: return "the failed scheduler is still registered";
    case child_could_not_drop_privileges: return "could not drop privileges";
    case child_unexpected_exception: return "unexpected exception";
    case child_wrong_nice_value: return "a worker has the wrong nice value or policy";
    case child_unknown_scenario: return "unknown scenario";
    case child_exec_failed: return "exec of the test binary failed";
    case 66: return "ThreadSanitizer reported a problem in the child (its default exit code)";
    default: return "unexpected exit code";
  }
}

struct child_outcome {
  bool exited_normally = false;
  int exit_code = -1;
  int signal = 0;
  std::string report;
};

// Runs `scenario` in a fresh process: this test binary, re-executed with only
// the child test case selected (a fork without exec cannot start threads
// under ThreadSanitizer, and a fresh process inherits no locks). Returns how
// the child ended and the text it reported.
child_outcome run_unprivileged(const std::string& scenario) {
  child_outcome outcome;
  int channel[2];
  REQUIRE(pipe(channel) == 0);

  // Everything the child needs is built before fork: between fork and exec
  // only async-signal-safe calls are allowed.
  std::vector<std::string> arguments{"/proc/self/exe", "--no-skip", "--no-version",
                                     std::string{"--test-case="} + child_test_case};
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string text{*entry};
    if (text.rfind(std::string{scenario_variable} + "=", 0) != 0 &&
        text.rfind(std::string{report_fd_variable} + "=", 0) != 0)
      environment.push_back(text);
  }
  environment.push_back(std::string{scenario_variable} + "=" + scenario);
  environment.push_back(std::string{report_fd_variable} + "=" + std::to_string(channel[1]));
  std::vector<char*> argv;
  for (auto& each : arguments)
    argv.push_back(each.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& each : environment)
    envp.push_back(each.data());
  envp.push_back(nullptr);
  int quiet = open("/dev/null", O_WRONLY | O_CLOEXEC);
  REQUIRE(quiet >= 0);

  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(channel[0]);
    dup2(quiet, STDOUT_FILENO); // the child's doctest summary is noise
    alarm(child_alarm_seconds); // survives exec
    execve(argv[0], argv.data(), envp.data());
    _exit(child_exec_failed);
  }
  close(quiet);
  close(channel[1]);
  // Read until the child closes its end (it exits, or SIGALRM kills it).
  char buffer[512];
  for (;;) {
    auto got = read(channel[0], buffer, sizeof buffer);
    if (got > 0) {
      outcome.report.append(buffer, static_cast<std::size_t>(got));
      continue;
    }
    if (got < 0 && errno == EINTR)
      continue;
    break;
  }
  close(channel[0]);
  int status = 0;
  pid_t waited = -1;
  do {
    waited = waitpid(child, &status, 0);
  } while (waited < 0 && errno == EINTR);
  REQUIRE(waited == child);
  if (WIFEXITED(status)) {
    outcome.exited_normally = true;
    outcome.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    outcome.signal = WTERMSIG(status);
  }
  return outcome;
}

void check_child(const child_outcome& outcome) {
  INFO("child exit: ", outcome.exit_code, " (", std::string{describe_exit(outcome.exit_code)}, ")");
  INFO("child signal: ", outcome.signal);
  INFO("child report: ", outcome.report);
  CHECK(outcome.exited_normally);
  CHECK(outcome.exit_code == child_ok);
}

// -- the child's side --------------------------------------------------------

// Gives up whatever could allow a higher priority.
bool drop_privileges(std::string& report) {
  rlimit none{0, 0};
  if (setrlimit(RLIMIT_RTPRIO, &none) != 0 || setrlimit(RLIMIT_NICE, &none) != 0) {
    report = "setrlimit failed: errno " + std::to_string(errno);
    return false;
  }
  if (geteuid() != 0)
    return true;
  // Group first: once the uid is dropped, setgid is no longer allowed.
  if (setgroups(0, nullptr) != 0 || setgid(nobody_gid) != 0 || setuid(nobody_uid) != 0) {
    report = "dropping to nobody failed: errno " + std::to_string(errno);
    return false;
  }
  if (getuid() != nobody_uid || geteuid() != nobody_uid) {
    report = "still privileged after setuid";
    return false;
  }
  return true;
}

runtime::engine_options small_engine() {
  runtime::engine_options options;
  options.default_threads = 1;
  return options;
}

runtime::scheduler_options with_priority(std::string name, runtime::thread_priority priority) {
  runtime::scheduler_options options;
  options.name = std::move(name);
  options.threads = 2;
  options.priority = priority;
  return options;
}

// Creating a scheduler with `priority` must fail with permission_denied,
// name the priority, and leave no scheduler behind.
int expect_permission_denied(runtime::thread_priority priority, std::string& report) {
  runtime::engine engine{small_engine()};
  try {
    (void)engine.create_scheduler(with_priority("prioritised", priority));
  } catch (const runtime::error& failure) {
    report = failure.what();
    if (failure.code() != runtime::errc::permission_denied)
      return child_wrong_code;
    if (report.find(priority.to_string()) == std::string::npos)
      return child_message_lacks_priority;
    if (engine.find_scheduler("prioritised").has_value())
      return child_left_scheduler_behind;
    return child_ok;
  }
  report = "create_scheduler succeeded with " + priority.to_string();
  return child_no_error;
}

// Raising the nice value needs no permission; every worker gets it.
int expect_nice_granted(int nice_value, std::string& report) {
  runtime::engine engine{small_engine()};
  auto gentle = engine.create_scheduler(
    with_priority("gentle", runtime::thread_priority::nice(nice_value)));
  auto ids = gentle.native_thread_ids();
  if (ids.size() != 2) {
    report = "expected 2 workers, found " + std::to_string(ids.size());
    return child_wrong_nice_value;
  }
  for (auto id : ids) {
    errno = 0;
    int seen_nice = getpriority(PRIO_PROCESS, static_cast<id_t>(id));
    int seen_policy = sched_getscheduler(static_cast<pid_t>(id));
    if (errno != 0 || seen_nice != nice_value || seen_policy != SCHED_OTHER) {
      report = "worker " + std::to_string(id) + " has nice " + std::to_string(seen_nice) +
               ", policy " + std::to_string(seen_policy);
      return child_wrong_nice_value;
    }
  }
  report = "workers run at nice " + std::to_string(nice_value);
  return child_ok;
}

int run_scenario(const std::string& scenario, std::string& report) {
  if (scenario == "fifo/10")
    return expect_permission_denied(runtime::thread_priority::fifo(10), report);
  if (scenario == "rr/10")
    return expect_permission_denied(runtime::thread_priority::round_robin(10), report);
  if (scenario == "nice/-5")
    return expect_permission_denied(runtime::thread_priority::nice(-5), report);
  if (scenario == "nice/5") {
    // Raising the nice value needs no permission; 5 unless the process
    // already runs nicer than that (e.g. the suite was started under nice).
    errno = 0;
    int current = getpriority(PRIO_PROCESS, 0);
    if (errno != 0)
      current = 0;
    return expect_nice_granted(std::min(19, std::max(5, current + 1)), report);
  }
  report = "unknown scenario '" + scenario + "'";
  return child_unknown_scenario;
}

} // namespace

// The child's half of the tests below; skipped unless selected explicitly.
TEST_CASE(child_test_case * doctest::skip()) {
  const char* scenario = std::getenv(scenario_variable);
  const char* report_fd_text = std::getenv(report_fd_variable);
  REQUIRE(scenario != nullptr);
  REQUIRE(report_fd_text != nullptr);
  int report_fd = std::atoi(report_fd_text);
  std::string report;
  int code = child_could_not_drop_privileges;
  try {
    if (drop_privileges(report))
      code = run_scenario(scenario, report);
  } catch (const std::exception& failure) {
    report += std::string{"unexpected exception: "} + failure.what();
    code = child_unexpected_exception;
  } catch (...) {
    report += "unexpected exception";
    code = child_unexpected_exception;
  }
  auto written = write(report_fd, report.data(), report.size());
  (void)written;
  close(report_fd);
  // The exit code is the result; doctest's summary does not matter here.
  std::_Exit(code);
}

TEST_CASE("a fifo real-time priority without permission fails with permission_denied naming it") {
  check_child(run_unprivileged("fifo/10"));
}

TEST_CASE("a round-robin real-time priority without permission fails with permission_denied naming it") {
  check_child(run_unprivileged("rr/10"));
}

TEST_CASE("nice(-5) without permission fails with permission_denied naming it") {
  check_child(run_unprivileged("nice/-5"));
}

TEST_CASE("nice(5), or above the process's own nice value, needs no permission: every worker runs at it") {
  check_child(run_unprivileged("nice/5"));
}

TEST_CASE("priority values out of range are refused with invalid_argument") {
  runtime::engine engine{small_engine()};
  for (auto priority : {runtime::thread_priority::fifo(0), runtime::thread_priority::fifo(100),
                        runtime::thread_priority::round_robin(-1),
                        runtime::thread_priority::nice(20), runtime::thread_priority::nice(-21)}) {
    INFO("priority: ", priority.to_string());
    std::error_code code;
    try {
      (void)engine.create_scheduler(with_priority("out-of-range", priority));
    } catch (const runtime::error& failure) {
      code = failure.code();
    }
    CHECK(code == runtime::errc::invalid_argument);
    CHECK_FALSE(engine.find_scheduler("out-of-range").has_value());
  }
}
