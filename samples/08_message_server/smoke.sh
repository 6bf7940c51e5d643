#!/usr/bin/env bash
# Smoke test of actorloop-server alone: --help prints the program's own
# options and exits 0 without binding; then it starts on a free port, says
# where, and stops cleanly on SIGTERM (the client session: samples/09's
# smoke test).
set -euo pipefail
help="$(timeout 10 "$1/actorloop-server" --help)" || { echo "--help did not exit 0 promptly"; exit 1; }
grep -q -- '--listen' <<<"$help" || { echo "--help does not mention --listen"; exit 1; }
grep -q -- '--actorloop.schedulers' <<<"$help" || { echo "--help does not mention the engine options"; exit 1; }
echo "--help: prints the server's options and exits 0"
exec "$(dirname "$0")/../09_message_client/smoke.sh" "$1" sync
