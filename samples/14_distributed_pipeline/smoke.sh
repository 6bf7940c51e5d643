#!/usr/bin/env bash
# Smoke test of sample 14. First the full run: 100,000 jobs, worker-1 killed
# with SIGKILL after 20,000 of them; it must pass (every job at the sink
# exactly once). Then the same with the producer told not to re-send the
# lost worker's batches: that run must fail, and say which jobs were lost,
# which shows that the check can fail.
# Usage: smoke.sh <samples build dir>
set -uo pipefail
bin="$1/actorloop-sample-14-distributed-pipeline"
"$bin" || { echo "smoke: the pipeline run failed"; exit 1; }

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
"$bin" --jobs 20000 --fault skip-resend >"$out" 2>&1
status=$?
cat "$out"
if [[ $status != 1 ]]; then
  echo "smoke: without the re-send the run must fail with status 1, not $status"
  exit 1
fi
if ! grep -q "jobs never reached the sink (lost)" "$out"; then
  echo "smoke: without the re-send the sink must report the lost jobs"
  exit 1
fi
echo "smoke: without the re-send the run failed, naming the lost jobs, as it must"
