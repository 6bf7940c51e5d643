// Sample 14: a distributed pipeline across node processes, with a worker
// node killed (SIGKILL) in the middle.
//
// One executable, four roles (--role=...):
//   launcher (the default) starts the other three as child processes of this
//            same binary, reads each one's "listening on PORT" line to wire
//            them (no fixed ports), SIGKILLs worker-1 once that worker says
//            it stopped after --kill-at jobs (holding a batch undone), then
//            stops the rest and gives the verdict;
//   producer cuts --jobs numbered jobs into batches and pushes them to the
//            remote "jobs" queues of the workers, at most --window batches
//            unacknowledged per worker (never more than a worker's queue
//            holds, so a push never meets a full queue). It exports the queue
//            "acks". When a worker's node goes (its remote applet handle,
//            its peer's down event or a failed push says node_down), it sends
//            the batches that worker had not had acknowledged to the
//            surviving worker (and, to exercise the sink's duplicate removal
//            in every run, the last --resend-acknowledged batches it had had
//            acknowledged);
//   worker   takes batches from its exported queue "jobs", does the work and
//            pushes a result batch to the sink's remote queue "results";
//   sink     takes result batches, keeps each job number once (duplicates from
//            re-sent batches are dropped by number), checks every result and
//            acknowledges the batches to the producer's "acks" queue; at the
//            end it reports whether each of the jobs arrived exactly once.
//
// Every applet waits on its queue and on its pending remote operations in
// preselect: nothing spins, nothing blocks a scheduler thread. Delivery of
// one push is at most once (docs/nodes.md, "Failure model"); numbering,
// acknowledgements after the sink took a result, re-sending the
// unacknowledged and dropping duplicates at the sink make it exactly once.
//
// Usage: actorloop-sample-14-distributed-pipeline [--jobs N] [--batch N]
//          [--window N] [--queue N] [--kill-at N | --no-kill]
//          [--resend-acknowledged N] [--timeout-s N] [--fault skip-resend]
// Exit status 0: every job reached the sink exactly once; 1: a check failed;
// 2: bad options.
#include "pipeline.hpp"

#include <sample_support.hpp>

#include <string>

int main(int argc, char** argv) {
  auto role = std::string{"launcher"};
  try {
    if (auto given = sample::take_option(argc, argv, "--role"))
      role = *given;
  } catch (const std::exception& failure) {
    sample::say("error: ", failure.what());
    return 2;
  }
  if (role == "launcher")
    return pipeline::run_launcher(argc, argv);
  if (role == "producer")
    return pipeline::run_producer(argc, argv);
  if (role == "worker")
    return pipeline::run_worker(argc, argv);
  if (role == "sink")
    return pipeline::run_sink(argc, argv);
  sample::say("error: --role must be launcher, producer, worker or sink, not '", role, "'");
  return 2;
}
