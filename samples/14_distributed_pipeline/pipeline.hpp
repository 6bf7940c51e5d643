// Sample 14, shared by its roles: what travels between the nodes (job
// batches, result batches, acknowledgements), the work a worker does on one
// job, and the entry points of the four roles.
#pragma once

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace pipeline {

/// Jobs are numbered 1..jobs; batch b (from 0) holds the numbers
/// b * batch + 1 .. min((b + 1) * batch, jobs).
struct job_batch {
  std::int64_t batch = 0;
  std::vector<std::int64_t> numbers;
};

/// What a worker pushes to the sink: the batch, who did it, and one result
/// per job number.
struct result_batch {
  std::int64_t batch = 0;
  std::string worker;
  std::vector<std::int64_t> numbers;
  std::vector<std::int64_t> results;
};

/// What the sink pushes to the producer once it has taken result batches:
/// batches[i] was delivered by workers[i].
struct ack_batch {
  std::vector<std::int64_t> batches;
  std::vector<std::string> workers;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_batch& x) {
  return f(caf::meta::type_name("pipeline_job_batch"), x.batch, x.numbers);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, result_batch& x) {
  return f(caf::meta::type_name("pipeline_result_batch"), x.batch, x.worker, x.numbers, x.results);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ack_batch& x) {
  return f(caf::meta::type_name("pipeline_ack_batch"), x.batches, x.workers);
}

/// Registers the three item types with CAF, on every node, before its
/// engine is made.
void register_types();

/// The work on one job (a 64-bit mix of its number); the sink checks every
/// result against it.
[[nodiscard]] std::int64_t work(std::int64_t number) noexcept;

/// The job numbers of batch `batch`.
[[nodiscard]] std::vector<std::int64_t> batch_numbers(std::int64_t batch, std::int64_t batch_size,
                                                      std::int64_t jobs);

/// Blocks until the launcher writes "quit" on standard input, or closes it
/// (the launcher went away): how each role knows the run is over.
void wait_for_quit();

/// The roles; each takes the command line left after `--role` (its own
/// options first, the engine's after) and returns the process's exit status.
int run_launcher(int argc, char** argv);
int run_producer(int argc, char** argv);
int run_worker(int argc, char** argv);
int run_sink(int argc, char** argv);

} // namespace pipeline
