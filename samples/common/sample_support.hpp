// Small helpers the samples share: one-line printing that never interleaves
// across threads, command-line options removed from argv before the engine
// (CAF) parses the rest, the one-thread "loop" scheduler most samples use,
// the PASS/FAILED verdict and the guarded main.
#pragma once

#include <actorloop/runtime/engine.hpp>
#include <actorloop/runtime/scheduler.hpp>

#include <charconv>
#include <cstdio>
#include <exception>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sample {

/// Prints one line in a single write, so lines from different threads never mix.
template <class... Parts>
void say(const Parts&... parts) {
  std::ostringstream line;
  (line << ... << parts);
  line << '\n';
  std::fputs(line.str().c_str(), stdout);
  std::fflush(stdout);
}

/// Removes "--name VALUE" or "--name=VALUE" from argv and returns VALUE.
inline std::optional<std::string> take_option(int& argc, char** argv, std::string_view name) {
  std::optional<std::string> result;
  int kept = 1;
  for (int index = 1; index < argc; ++index) {
    std::string_view argument{argv[index]};
    if (argument == name) {
      if (index + 1 >= argc)
        throw std::invalid_argument(std::string{name} + " needs a value");
      result = argv[++index];
    } else if (argument.size() > name.size() && argument.substr(0, name.size()) == name &&
               argument[name.size()] == '=') {
      result = std::string{argument.substr(name.size() + 1)};
    } else {
      argv[kept++] = argv[index];
    }
  }
  argc = kept;
  argv[argc] = nullptr;
  return result;
}

/// Removes a flag ("--name") from argv; returns whether it was there.
inline bool take_flag(int& argc, char** argv, std::string_view name) {
  bool found = false;
  int kept = 1;
  for (int index = 1; index < argc; ++index) {
    if (std::string_view{argv[index]} == name)
      found = true;
    else
      argv[kept++] = argv[index];
  }
  argc = kept;
  argv[argc] = nullptr;
  return found;
}

/// As `take_option`, for a positive whole number.
inline std::optional<long> take_number_option(int& argc, char** argv, std::string_view name) {
  auto text = take_option(argc, argv, name);
  if (!text)
    return std::nullopt;
  long value = 0;
  auto [end, failure] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (failure != std::errc{} || end != text->data() + text->size() || value < 1)
    throw std::invalid_argument(std::string{name} + " needs a positive number, not '" + *text + "'");
  return value;
}

/// The scheduler `name` as the command line defined it
/// (`--actorloop.schedulers=...`), or else one of one thread created here: an
/// Open Files run-loop, on which applets never run at once.
inline actorloop::runtime::scheduler ensure_loop_scheduler(actorloop::runtime::engine& engine,
                                                           std::string_view name) {
  if (auto configured = engine.find_scheduler(name))
    return *configured;
  actorloop::runtime::scheduler_options loop;
  loop.name = std::string{name};
  loop.threads = 1;
  return engine.create_scheduler(loop);
}

/// A sample's self-checks: each failed one is printed with what went wrong,
/// and the verdict is the process's exit status.
class checklist {
public:
  /// Records `condition`; when false, prints "FAIL: " and `what`.
  void expect(bool condition, const std::string& what) {
    if (!condition) {
      say("FAIL: ", what);
      passed_ = false;
    }
  }

  /// Prints PASS or FAILED and returns 0 or 1 for main.
  [[nodiscard]] int verdict() const {
    say(passed_ ? "PASS" : "FAILED");
    return passed_ ? 0 : 1;
  }

private:
  bool passed_ = true;
};

/// Runs a sample's body; an exception (bad options, a failed start) is
/// printed with the usage and gives exit status 2.
template <class Body, class Usage>
int guarded_main(Body&& body, Usage&& usage) {
  try {
    return body();
  } catch (const std::exception& failure) {
    say("error: ", failure.what());
    usage();
    return 2;
  }
}

} // namespace sample
