// Sample 14: the pieces every role shares (item type registration, the work
// on one job, the numbers of a batch).
#include "pipeline.hpp"

#include <actorloop/nodes/node.hpp>

#include <algorithm>
#include <iostream>
#include <string>

namespace pipeline {

namespace {
struct job_batch_name {
  static constexpr const char* value = "pipeline_job_batch";
};
struct result_batch_name {
  static constexpr const char* value = "pipeline_result_batch";
};
struct ack_batch_name {
  static constexpr const char* value = "pipeline_ack_batch";
};
} // namespace

void register_types() {
  actorloop::nodes::register_type<job_batch, job_batch_name>();
  actorloop::nodes::register_type<result_batch, result_batch_name>();
  actorloop::nodes::register_type<ack_batch, ack_batch_name>();
}

std::int64_t work(std::int64_t number) noexcept {
  // splitmix64's finaliser: cheap, and a wrong or shifted result shows.
  auto x = static_cast<std::uint64_t>(number) + 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return static_cast<std::int64_t>(x ^ (x >> 31));
}

void wait_for_quit() {
  std::string line;
  while (std::getline(std::cin, line) && line != "quit") {
  }
}

std::vector<std::int64_t> batch_numbers(std::int64_t batch, std::int64_t batch_size,
                                        std::int64_t jobs) {
  std::vector<std::int64_t> numbers;
  auto first = batch * batch_size + 1;
  auto last = std::min(jobs, (batch + 1) * batch_size);
  for (auto number = first; number <= last; ++number)
    numbers.push_back(number);
  return numbers;
}

} // namespace pipeline
