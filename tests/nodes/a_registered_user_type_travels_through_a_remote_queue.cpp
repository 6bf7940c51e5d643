// ctest-timeout: 60
// A user type registered with nodes::register_type (CAF's type registration
// and inspect) travels through a remote wait_queue intact; exporting a queue
// of an unregistered type is refused naming the problem.
#include "node_test_support.hpp"

#include <caf/meta/type_name.hpp>

using namespace node_test;

namespace {

struct job {
  std::int64_t number = 0;
  std::string text;
  std::vector<double> weights;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job& x) {
  return f(caf::meta::type_name("test_job"), x.number, x.text, x.weights);
}

struct job_name {
  static constexpr const char* value = "test_job";
};

struct unregistered_job {
  int number = 0;
};

} // namespace

TEST_CASE("a registered user type travels through a remote queue") {
  al::nodes::enable();
  al::nodes::register_type<job, job_name>();
  al::runtime::wait_queue<job> jobs{8, "jobs"};

  al::runtime::engine home_engine{small_engine()};
  al::nodes::node home{home_engine, {.name = "home", .listen = "127.0.0.1:0"}};
  home.export_queue("jobs", jobs);
  try {
    home.export_queue("other", al::runtime::wait_queue<unregistered_job>{});
    FAIL("exporting a queue of an unregistered type must be refused");
  } catch (const al::nodes::error& failure) {
    CHECK(failure.code() == al::nodes::errc::type_not_registered);
    CHECK(std::string{failure.what()}.find("other") != std::string::npos);
  }
  try {
    home.export_queue("jobs", jobs);
    FAIL("a second export under one name must be refused");
  } catch (const al::nodes::error& failure) {
    CHECK(failure.code() == al::nodes::errc::name_taken);
  }

  {
    al::runtime::engine away_engine{small_engine()};
    al::nodes::node away{away_engine, {.name = "away", .listen = {}}};
    auto peer = away.connect("127.0.0.1", home.port()).get();
    auto remote = peer.lookup_queue<job>("jobs").get();
    for (std::int64_t number = 1; number <= 3; ++number)
      remote.try_push(job{number, "job " + std::to_string(number), {0.5, double(number)}}).get();
  }
  REQUIRE(jobs.size() == 3);
  for (std::int64_t number = 1; number <= 3; ++number) {
    auto item = jobs.try_pop();
    REQUIRE(item);
    CHECK(item->number == number);
    CHECK(item->text == "job " + std::to_string(number));
    CHECK(item->weights == std::vector<double>{0.5, double(number)});
  }
  CHECK(jobs.empty());
}
