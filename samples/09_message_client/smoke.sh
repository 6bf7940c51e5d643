#!/usr/bin/env bash
# Smoke test of samples 08 and 09 together: start actorloop-server on a free
# port, wait for its "listening on" line, run the client session in all three
# I/O modes, stop the server with SIGTERM and require a clean exit.
# Usage: smoke.sh <samples build dir> [client modes...]
set -euo pipefail
bin="$1"
shift
modes=("${@:-sync deferred async}")
out="$(mktemp -d)"
server=""
trap '[[ -n "$server" ]] && kill -9 "$server" 2>/dev/null; rm -rf "$out"' EXIT
mkfifo "$out/stdout"
"$bin/actorloop-server" --listen 127.0.0.1:0 >"$out/stdout" 2>&1 &
server=$!
exec 3<"$out/stdout"
# The first line says where it listens; read it (blocking, with a limit).
IFS= read -r -t 20 first <&3 || { echo "server printed nothing within 20 s"; exit 1; }
cat <&3 >"$out/server.log" &
drain=$!
[[ "$first" == "listening on "* ]] || { echo "unexpected first line: $first"; exit 1; }
address="${first#listening on }"
echo "server: $first"
for mode in ${modes[*]}; do
  "$bin/actorloop-sample-09-message-client" --connect "$address" --mode "$mode"
done
# Several copies at once on the same server: each uses its own channel, so
# each sees exactly its own notification.
pids=()
for copy in 1 2 3 4 5 6 7 8; do
  "$bin/actorloop-sample-09-message-client" --connect "$address" --mode async >"$out/copy$copy.log" 2>&1 &
  pids+=($!)
done
failed=0
for copy in 1 2 3 4 5 6 7 8; do
  if ! wait "${pids[$((copy - 1))]}"; then
    echo "concurrent copy $copy failed:"; cat "$out/copy$copy.log"; failed=1
  fi
done
[[ $failed == 0 ]] || exit 1
echo "8 concurrent copies: every one got exactly its own notification"
kill -TERM "$server"
wait "$server"
server=""
wait "$drain"
cat "$out/server.log"
grep -q '^stopped cleanly$' "$out/server.log"
