#include <actorloop/runtime/scheduler.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <sched.h>

namespace actorloop::runtime {

namespace {

[[noreturn]] void bad(std::string_view what, std::string_view text) {
  throw error(errc::bad_configuration,
              std::string{what} + ": cannot parse '" + std::string{text} + "'");
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

template <class Integer>
bool parse_integer(std::string_view text, Integer& out) {
  text = trim(text);
  auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), out);
  return failure == std::errc{} && end == text.data() + text.size() && !text.empty();
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    auto position = text.find(separator);
    parts.push_back(text.substr(0, position));
    if (position == std::string_view::npos)
      return parts;
    text.remove_prefix(position + 1);
  }
}

duration parse_duration(std::string_view text) {
  auto value_text = trim(text);
  std::size_t digits = 0;
  while (digits < value_text.size() && value_text[digits] >= '0' && value_text[digits] <= '9')
    ++digits;
  long long value = 0;
  if (digits == 0 || !parse_integer(value_text.substr(0, digits), value))
    bad("duration", text);
  auto unit = value_text.substr(digits);
  if (unit == "ns")
    return std::chrono::nanoseconds(value);
  if (unit == "us")
    return std::chrono::microseconds(value);
  if (unit == "ms")
    return std::chrono::milliseconds(value);
  if (unit == "s")
    return std::chrono::seconds(value);
  bad("duration (units: ns, us, ms, s)", text);
}

std::string format_duration(duration value) {
  auto nanoseconds = std::chrono::duration_cast<std::chrono::nanoseconds>(value).count();
  if (nanoseconds % 1000000 == 0)
    return std::to_string(nanoseconds / 1000000) + "ms";
  if (nanoseconds % 1000 == 0)
    return std::to_string(nanoseconds / 1000) + "us";
  return std::to_string(nanoseconds) + "ns";
}

bool valid_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
  });
}

} // namespace

// -- cpu_set ------------------------------------------------------------------

cpu_set::cpu_set(std::initializer_list<unsigned> cpus) {
  for (auto cpu : cpus)
    add(cpu);
}

void cpu_set::add(unsigned cpu) {
  auto position = std::lower_bound(cpus_.begin(), cpus_.end(), cpu);
  if (position == cpus_.end() || *position != cpu)
    cpus_.insert(position, cpu);
}

bool cpu_set::contains(unsigned cpu) const noexcept {
  return std::binary_search(cpus_.begin(), cpus_.end(), cpu);
}

cpu_set cpu_set::parse(std::string_view text) {
  cpu_set result;
  if (trim(text).empty())
    bad("cpu set", text);
  for (auto part : split(text, ',')) {
    auto dash = part.find('-');
    unsigned first = 0;
    unsigned last = 0;
    if (dash == std::string_view::npos) {
      if (!parse_integer(part, first))
        bad("cpu set", text);
      last = first;
    } else if (!parse_integer(part.substr(0, dash), first) ||
               !parse_integer(part.substr(dash + 1), last) || last < first) {
      bad("cpu set", text);
    }
    if (last >= 65536)
      bad("cpu set (CPU numbers must be below 65536)", text);
    for (auto cpu = first; cpu <= last; ++cpu)
      result.add(cpu);
  }
  return result;
}

cpu_set cpu_set::allowed() {
  cpu_set result;
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof(mask), &mask) != 0)
    throw error(std::error_code{errno, std::generic_category()}, "sched_getaffinity failed");
  for (unsigned cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &mask))
      result.add(cpu);
  return result;
}

std::string cpu_set::to_string() const {
  std::string text;
  for (std::size_t index = 0; index < cpus_.size();) {
    auto end = index;
    while (end + 1 < cpus_.size() && cpus_[end + 1] == cpus_[end] + 1)
      ++end;
    if (!text.empty())
      text += ',';
    text += std::to_string(cpus_[index]);
    if (end > index)
      text += '-' + std::to_string(cpus_[end]);
    index = end + 1;
  }
  return text;
}

// -- thread_priority ----------------------------------------------------------

thread_priority thread_priority::parse(std::string_view text) {
  auto slash = text.find_first_of("/:");
  auto kind_text = trim(text.substr(0, slash));
  int value = 0;
  bool has_value = slash != std::string_view::npos;
  if (has_value && !parse_integer(text.substr(slash + 1), value))
    bad("thread priority", text);
  if (kind_text == "idle" && !has_value)
    return {policy::idle, 0};
  if (!has_value)
    bad("thread priority (expected nice/N, batch/N, idle, fifo/N or rr/N)", text);
  if (kind_text == "nice" || kind_text == "normal")
    return {policy::normal, value};
  if (kind_text == "batch")
    return {policy::batch, value};
  if (kind_text == "fifo")
    return {policy::fifo, value};
  if (kind_text == "rr" || kind_text == "round_robin")
    return {policy::round_robin, value};
  bad("thread priority (expected nice/N, batch/N, idle, fifo/N or rr/N)", text);
}

std::string thread_priority::to_string() const {
  switch (kind) {
    case policy::normal: return "nice/" + std::to_string(value);
    case policy::batch: return "batch/" + std::to_string(value);
    case policy::idle: return "idle";
    case policy::fifo: return "fifo/" + std::to_string(value);
    case policy::round_robin: return "rr/" + std::to_string(value);
  }
  return "unknown";
}

// -- scheduler_options --------------------------------------------------------

scheduler_options scheduler_options::parse(std::string_view text) {
  auto fields = split(trim(text), ':');
  scheduler_options result;
  result.name = std::string{trim(fields.front())};
  if (!valid_name(result.name))
    bad("scheduler name (letters, digits, '_', '-', '.')", text);
  for (std::size_t index = 1; index < fields.size(); ++index) {
    auto field = trim(fields[index]);
    auto equals = field.find('=');
    if (equals == std::string_view::npos)
      bad("scheduler option (expected key=value)", field);
    auto key = trim(field.substr(0, equals));
    auto value = trim(field.substr(equals + 1));
    if (key == "threads") {
      if (!parse_integer(value, result.threads) || result.threads == 0 || result.threads > 1024)
        bad("threads (1..1024)", field);
    } else if (key == "cpus") {
      result.cpus = cpu_set::parse(value);
    } else if (key == "priority") {
      result.priority = thread_priority::parse(value);
    } else if (key == "spin") {
      result.spin = parse_duration(value);
    } else if (key == "throughput") {
      if (!parse_integer(value, result.throughput) || result.throughput == 0)
        bad("throughput (at least 1)", field);
    } else {
      bad("scheduler option (keys: threads, cpus, priority, spin, throughput)", field);
    }
  }
  return result;
}

std::vector<scheduler_options> scheduler_options::parse_list(std::string_view text) {
  std::vector<scheduler_options> result;
  for (auto part : split(text, ';'))
    if (!trim(part).empty())
      result.push_back(parse(part));
  return result;
}

std::string scheduler_options::to_string() const {
  std::string text = name + ":threads=" + std::to_string(threads);
  if (!cpus.empty())
    text += ":cpus=" + cpus.to_string();
  if (priority)
    text += ":priority=" + priority->to_string();
  if (spin > duration::zero())
    text += ":spin=" + format_duration(spin);
  if (throughput != 1)
    text += ":throughput=" + std::to_string(throughput);
  return text;
}

namespace detail {

/// Checks options before any thread starts, so errors name the problem.
void validate(const scheduler_options& options) {
  if (!valid_name(options.name))
    throw error(errc::invalid_argument,
                "scheduler name '" + options.name +
                  "' is invalid (use letters, digits, '_', '-', '.')");
  auto where = "scheduler '" + options.name + "': ";
  if (options.threads == 0 || options.threads > 1024)
    throw error(errc::invalid_argument, where + "threads must be 1..1024");
  if (options.throughput == 0)
    throw error(errc::invalid_argument, where + "throughput must be at least 1");
  if (options.spin < duration::zero())
    throw error(errc::invalid_argument, where + "spin must not be negative");
  if (!options.cpus.empty()) {
    auto allowed = cpu_set::allowed();
    for (auto cpu : options.cpus.cpus())
      if (cpu >= CPU_SETSIZE || !allowed.contains(cpu))
        throw error(errc::invalid_cpu_set, where + "CPU " + std::to_string(cpu) +
                                             " is not available to this process (allowed: " +
                                             allowed.to_string() + ")");
  }
  if (options.priority) {
    auto& priority = *options.priority;
    using policy = thread_priority::policy;
    if ((priority.kind == policy::normal || priority.kind == policy::batch) &&
        (priority.value < -20 || priority.value > 19))
      throw error(errc::invalid_argument,
                  where + "nice value " + std::to_string(priority.value) + " is outside -20..19");
    if ((priority.kind == policy::fifo || priority.kind == policy::round_robin) &&
        (priority.value < 1 || priority.value > 99))
      throw error(errc::invalid_argument, where + "real-time priority " +
                                            std::to_string(priority.value) +
                                            " is outside 1..99");
  }
}

} // namespace detail

} // namespace actorloop::runtime
