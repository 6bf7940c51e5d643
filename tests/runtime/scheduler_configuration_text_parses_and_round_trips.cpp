// Scheduler configuration text: scheduler_options, cpu_set and
// thread_priority parse, print back the same text, and refuse bad text with
// bad_configuration naming what was wrong.
#include <actorloop/runtime/error.hpp>
#include <actorloop/runtime/scheduler.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;
namespace runtime = actorloop::runtime;

namespace {

struct failure_report {
  std::error_code code;
  std::string message;
};

// What a call throws as runtime::error; an empty code if it throws nothing.
failure_report failure_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const runtime::error& failure) {
    return {failure.code(), failure.what()};
  }
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

void check_same(const runtime::scheduler_options& lhs, const runtime::scheduler_options& rhs) {
  CHECK(lhs.name == rhs.name);
  CHECK(lhs.threads == rhs.threads);
  CHECK(lhs.cpus == rhs.cpus);
  CHECK(lhs.priority == rhs.priority);
  CHECK(lhs.spin == rhs.spin);
  CHECK(lhs.throughput == rhs.throughput);
}

// Checks that parsing `text` fails with bad_configuration naming `culprit`.
void check_refused(const std::string& text, const std::string& culprit) {
  INFO("text: ", text);
  auto report = failure_of([&] { (void)runtime::scheduler_options::parse(text); });
  CHECK(report.code == runtime::errc::bad_configuration);
  INFO("message: ", report.message);
  CHECK(contains(report.message, culprit));
}

} // namespace

TEST_CASE("scheduler_options::parse reads every key") {
  auto options = runtime::scheduler_options::parse("io:threads=1:cpus=0:priority=fifo/10:spin=20us");
  CHECK(options.name == "io");
  CHECK(options.threads == 1);
  CHECK(options.cpus == runtime::cpu_set{0});
  REQUIRE(options.priority.has_value());
  CHECK(*options.priority == runtime::thread_priority::fifo(10));
  CHECK(options.spin == 20us);
  CHECK(options.throughput == 1);

  auto busy = runtime::scheduler_options::parse(
    "work.pool-2:threads=4:cpus=0-1,3:priority=nice/5:spin=1ms:throughput=8");
  CHECK(busy.name == "work.pool-2");
  CHECK(busy.threads == 4);
  CHECK(busy.cpus == runtime::cpu_set{0, 1, 3});
  REQUIRE(busy.priority.has_value());
  CHECK(*busy.priority == runtime::thread_priority::nice(5));
  CHECK(busy.spin == 1ms);
  CHECK(busy.throughput == 8);
}

TEST_CASE("scheduler_options::parse of a bare name gives the defaults") {
  auto options = runtime::scheduler_options::parse("plain");
  runtime::scheduler_options defaults;
  defaults.name = "plain";
  check_same(options, defaults);
  CHECK(options.threads == 1);
  CHECK(options.cpus.empty());
  CHECK_FALSE(options.priority.has_value());
  CHECK(options.spin == runtime::duration::zero());
}

TEST_CASE("scheduler_options round trip: to_string gives back the text, parse gives back the options") {
  for (std::string text : {"io:threads=1:cpus=0:priority=fifo/10:spin=20us",
                           "work:threads=4:cpus=0-1,3:priority=nice/5:spin=1ms:throughput=8",
                           "batchy:threads=2:priority=batch/0", "lazy:threads=1:priority=idle",
                           "rt:threads=3:cpus=1:priority=rr/50", "plain:threads=1",
                           "fine:threads=1:spin=1500ns"}) {
    INFO("text: ", text);
    auto options = runtime::scheduler_options::parse(text);
    CHECK(options.to_string() == text);
    check_same(runtime::scheduler_options::parse(options.to_string()), options);
  }
}

TEST_CASE("scheduler_options built in code print as text that parses back") {
  runtime::scheduler_options options;
  options.name = "coded";
  options.threads = 3;
  options.cpus = runtime::cpu_set{2, 0, 1, 7};
  options.priority = runtime::thread_priority::round_robin(20);
  options.spin = 250us;
  options.throughput = 5;
  check_same(runtime::scheduler_options::parse(options.to_string()), options);
}

TEST_CASE("scheduler_options::parse_list reads ';'-separated schedulers in order") {
  auto list = runtime::scheduler_options::parse_list(
    "io:threads=1:cpus=0:priority=fifo/10:spin=20us;work:threads=2;tail");
  REQUIRE(list.size() == 3);
  CHECK(list[0].name == "io");
  CHECK(list[0].spin == 20us);
  CHECK(list[1].name == "work");
  CHECK(list[1].threads == 2);
  CHECK(list[2].name == "tail");
  CHECK(list[2].threads == 1);

  for (std::size_t index = 0; index < list.size(); ++index)
    check_same(runtime::scheduler_options::parse(list[index].to_string()), list[index]);

  CHECK(runtime::scheduler_options::parse_list("").empty());
  CHECK(runtime::scheduler_options::parse_list("one").size() == 1);
}

TEST_CASE("scheduler_options::parse refuses unknown keys with bad_configuration naming them") {
  check_refused("io:colour=red", "colour");
  check_refused("io:threads=1:cpu=0", "cpu=0");
  check_refused("io:threads", "threads");
}

TEST_CASE("scheduler_options::parse refuses bad numbers and values with bad_configuration naming them") {
  check_refused("io:threads=abc", "abc");
  check_refused("io:threads=-1", "-1");
  check_refused("io:threads=2x", "2x");
  check_refused("io:throughput=lots", "lots");
  check_refused("io:spin=20parsecs", "20parsecs");
  check_refused("io:spin=fast", "fast");
  check_refused("io:cpus=zero", "zero");
  check_refused("io:priority=fifo/high", "fifo/high");
  check_refused("io:priority=realtime/5", "realtime/5");
}

TEST_CASE("scheduler_options::parse refuses a bad scheduler name") {
  check_refused("", "");
  check_refused("bad name!:threads=1", "bad name!");
  check_refused(":threads=1", "threads=1");
}

TEST_CASE("scheduler_options::parse_list refuses a list with one bad entry, naming it") {
  auto report = failure_of(
    [] { (void)runtime::scheduler_options::parse_list("good:threads=1;bad:threads=many"); });
  CHECK(report.code == runtime::errc::bad_configuration);
  INFO("message: ", report.message);
  CHECK(contains(report.message, "many"));
}

TEST_CASE("cpu_set::parse reads single CPUs, lists and ranges") {
  CHECK(runtime::cpu_set::parse("0") == runtime::cpu_set{0});
  CHECK(runtime::cpu_set::parse("0,2") == runtime::cpu_set{0, 2});
  CHECK(runtime::cpu_set::parse("0-3") == runtime::cpu_set{0, 1, 2, 3});
  CHECK(runtime::cpu_set::parse("0-1,4") == runtime::cpu_set{0, 1, 4});

  auto set = runtime::cpu_set::parse("0-1,3");
  CHECK(set.cpus() == std::vector<unsigned>{0, 1, 3});
  CHECK(set.contains(0));
  CHECK(set.contains(1));
  CHECK_FALSE(set.contains(2));
  CHECK(set.contains(3));
  CHECK(set.to_string() == "0-1,3");
  CHECK(runtime::cpu_set::parse(set.to_string()) == set);
}

TEST_CASE("cpu_set keeps its CPUs sorted and unique") {
  runtime::cpu_set set{3, 1, 1, 2};
  CHECK(set.cpus() == std::vector<unsigned>{1, 2, 3});
  CHECK(set.to_string() == "1-3");
  set.add(7);
  set.add(7);
  CHECK(set.cpus() == std::vector<unsigned>{1, 2, 3, 7});
  CHECK(set.to_string() == "1-3,7");
  CHECK(runtime::cpu_set::parse("5,4,4") == runtime::cpu_set{4, 5});
  CHECK(runtime::cpu_set{}.empty());
  CHECK(runtime::cpu_set{}.to_string().empty());
}

TEST_CASE("cpu_set::parse refuses malformed text with bad_configuration") {
  for (std::string text : {"", "x", "1-", "-1", "3-1", "0,,1", "1.5", "0-a"}) {
    INFO("text: '", text, "'");
    auto report = failure_of([&] { (void)runtime::cpu_set::parse(text); });
    CHECK(report.code == runtime::errc::bad_configuration);
    CHECK(contains(report.message, text));
  }
}

TEST_CASE("cpu_set::allowed lists the CPUs this process may use") {
  auto allowed = runtime::cpu_set::allowed();
  CHECK_FALSE(allowed.empty());
}

TEST_CASE("thread_priority::parse reads every policy") {
  using policy = runtime::thread_priority::policy;
  CHECK(runtime::thread_priority::parse("nice:5") == runtime::thread_priority::nice(5));
  CHECK(runtime::thread_priority::parse("nice:-3") == runtime::thread_priority::nice(-3));
  CHECK(runtime::thread_priority::parse("batch:0") ==
        runtime::thread_priority{policy::batch, 0});
  CHECK(runtime::thread_priority::parse("idle").kind == policy::idle);
  CHECK(runtime::thread_priority::parse("fifo:10") == runtime::thread_priority::fifo(10));
  CHECK(runtime::thread_priority::parse("rr:10") == runtime::thread_priority::round_robin(10));
  // The form used inside scheduler options, where ':' separates the fields.
  CHECK(runtime::thread_priority::parse("fifo/10") == runtime::thread_priority::fifo(10));
}

TEST_CASE("thread_priority round trip: parse(to_string(p)) == p") {
  using policy = runtime::thread_priority::policy;
  for (auto priority :
       {runtime::thread_priority::nice(5), runtime::thread_priority::nice(-20),
        runtime::thread_priority{policy::batch, 3}, runtime::thread_priority{policy::idle, 0},
        runtime::thread_priority::fifo(10), runtime::thread_priority::round_robin(99)}) {
    INFO("text: ", priority.to_string());
    CHECK(runtime::thread_priority::parse(priority.to_string()) == priority);
  }
}

TEST_CASE("thread_priority::parse refuses unknown policies and bad numbers with bad_configuration") {
  for (std::string text : {"fifo", "realtime:5", "nice:x", "rr:", "", "nice:5x"}) {
    INFO("text: '", text, "'");
    auto report = failure_of([&] { (void)runtime::thread_priority::parse(text); });
    CHECK(report.code == runtime::errc::bad_configuration);
    CHECK(contains(report.message, text));
  }
}
