#!/usr/bin/env bash
# Smoke test of actorloop-server alone: it starts on a free port, says where,
# and stops cleanly on SIGTERM (the client session: samples/09's smoke test).
exec "$(dirname "$0")/../09_message_client/smoke.sh" "$1" sync
