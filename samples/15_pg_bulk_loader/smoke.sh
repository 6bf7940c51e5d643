#!/usr/bin/env bash
# Smoke test of sample 15: the bulk loader against a throwaway PostgreSQL
# (scripts/pg-server run: a free loopback port, its own temporary directory,
# the PG* variables set for the sample, the server stopped afterwards); the
# sample's exit status is the test's. Usage: smoke.sh <samples build dir>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../../scripts/pg-server" run "$1/actorloop-sample-15-pg-bulk-loader" \
  --rows 50000 --batch 5000 --sync-every 500
