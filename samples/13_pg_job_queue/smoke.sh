#!/usr/bin/env bash
# Smoke test of sample 13: start a throwaway PostgreSQL (scripts/pg-server,
# free loopback port, its own temporary directory), run the job queue against
# it with the settings below, stop the server, and pass the sample's exit
# status on. Usage: smoke.sh <samples build dir>
set -euo pipefail
bin="$1"
here="$(cd "$(dirname "$0")" && pwd)"
script="$here/../../scripts/pg-server"
dir="$(mktemp -d "${TMPDIR:-/tmp}/actorloop-sample13-XXXXXX")"
started=""
cleanup() { [[ -n "$started" ]] && "$script" stop "$dir" >/dev/null || rm -rf "$dir"; }
trap cleanup EXIT
port="$("$script" start "$dir")"
started=yes
echo "PostgreSQL on 127.0.0.1:$port"
"$bin/actorloop-sample-13-pg-job-queue" \
  --conninfo "host=127.0.0.1 port=$port user=trust_user dbname=postgres sslmode=disable" \
  --jobs 300 --workers 4 --producers 3
