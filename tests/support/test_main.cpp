// doctest main for every actorloop test executable.
//
// Besides running doctest it starts an in-process watchdog: if the test
// executable is still running after ACTORLOOP_TEST_WATCHDOG_SECONDS (default
// 45; ctest sets it below the test's TIMEOUT; 0 disables the watchdog), it
// prints the name of the test case that is still running and aborts, so a
// deadlock shows up as a named failure (and a core / sanitizer report)
// instead of a bare ctest timeout.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <csignal>
#include <pthread.h>
#include <thread>
#include <vector>

namespace {

constexpr int default_watchdog_seconds = 45;

// --- what is running right now -------------------------------------------------

std::mutex current_mutex;
std::string current_test_case = "<none started yet>";
std::vector<std::string> current_subcases;
// Counted so that a filter selecting nothing fails instead of passing.
std::atomic<int> test_cases_started{0};

void set_current(std::string test_case) {
  std::lock_guard<std::mutex> guard{current_mutex};
  current_test_case = std::move(test_case);
  current_subcases.clear();
}

std::string describe_current() {
  std::lock_guard<std::mutex> guard{current_mutex};
  std::string result = current_test_case;
  for (const auto& subcase : current_subcases) {
    result += " / ";
    result += subcase;
  }
  return result;
}

// Listener (not a reporter: it prints nothing) recording the running test case.
struct current_test_listener final : doctest::IReporter {
  explicit current_test_listener(const doctest::ContextOptions&) {}

  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {
    set_current("<all test cases finished>");
  }
  void test_case_start(const doctest::TestCaseData& data) override {
    test_cases_started.fetch_add(1);
    set_current(data.m_name);
  }
  void test_case_reenter(const doctest::TestCaseData& data) override {
    set_current(data.m_name);
  }
  void test_case_end(const doctest::CurrentTestCaseStats&) override {
    set_current("<between test cases>");
  }
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature& signature) override {
    std::lock_guard<std::mutex> guard{current_mutex};
    current_subcases.emplace_back(signature.m_name.c_str());
  }
  void subcase_end() override {
    std::lock_guard<std::mutex> guard{current_mutex};
    if (!current_subcases.empty())
      current_subcases.pop_back();
  }
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

// --- watchdog ----------------------------------------------------------------------

int watchdog_seconds_from_env() {
  const char* text = std::getenv("ACTORLOOP_TEST_WATCHDOG_SECONDS");
  if (text == nullptr || *text == '\0')
    return default_watchdog_seconds;
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < 0 || value > 24 * 3600) {
    std::fprintf(stderr,
                 "watchdog: ignoring invalid ACTORLOOP_TEST_WATCHDOG_SECONDS='%s', "
                 "using %d\n",
                 text, default_watchdog_seconds);
    return default_watchdog_seconds;
  }
  return static_cast<int>(value);
}

class watchdog {
public:
  explicit watchdog(int seconds) {
    if (seconds <= 0)
      return; // disabled
    thread_ = std::thread{[this, seconds] {
      // The watchdog handles no signal: tests that deliver signals to the
      // process (netio's signalfd tests) block them in their own threads,
      // and a process-directed signal must never land here instead.
      sigset_t all;
      sigfillset(&all);
      pthread_sigmask(SIG_BLOCK, &all, nullptr);
      run(seconds);
    }};
  }

  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

  ~watchdog() { stop(); }

  // Wakes the watchdog thread at once; never waits for the timeout.
  void stop() {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      stopped_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
      thread_.join();
  }

private:
  void run(int seconds) {
    std::unique_lock<std::mutex> lock{mutex_};
    if (cv_.wait_for(lock, std::chrono::seconds{seconds}, [this] { return stopped_; }))
      return;
    std::fprintf(stderr,
                 "watchdog: test case '%s' still running after %d s \u2014 deadlock or hang\n",
                 describe_current().c_str(), seconds);
    std::fflush(stderr);
    std::fflush(stdout);
    std::abort();
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::thread thread_;
};

} // namespace

REGISTER_LISTENER("actorloop_current_test", 1, current_test_listener);

int main(int argc, char** argv) {
  watchdog dog{watchdog_seconds_from_env()};
  doctest::Context context;
  context.applyCommandLine(argc, argv);
  int result = context.run();
  dog.stop();
  if (result == 0 && !context.shouldExit() && test_cases_started.load() == 0) {
    // ctest runs each scenario as "test_<dir> --source-file=*/<stem>.cpp";
    // a filter that matches no file must not count as a pass.
    std::fprintf(stderr, "test_main: no test case matched the filters; failing the run\n");
    return 1;
  }
  return result;
}
