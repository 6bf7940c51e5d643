#!/usr/bin/env bash
# Builds pg's backend-decoder fuzzer with clang's libFuzzer (plus
# AddressSanitizer and UndefinedBehaviorSanitizer) straight from the pg wire
# sources, which need nothing but the standard library, and runs it for a
# bounded time.
#
# Usage: run_pg_backend_fuzzer.sh <source dir> <work dir> [seconds=20] [runs=20000000] [clang++]
#
# Exit status: 0 passed; 77 skipped (no clang++ or no libFuzzer runtime:
# ctest's SKIP_RETURN_CODE); anything else failed.
set -euo pipefail

if (($# < 2)); then
  echo "usage: $0 <source dir> <work dir> [seconds] [runs] [clang++]" >&2
  exit 2
fi
source_dir="$1"
work="$2"
seconds="${3:-20}"
runs="${4:-20000000}"
clang="${5:-$(command -v clang++ || true)}"
name=fuzz/pg_backend_decoder

if [[ -z "$clang" || ! -x "$clang" ]]; then
  echo "$name: skipped: clang++ not found"
  exit 77
fi
mkdir -p "$work"

probe_source="$work/probe.cpp"
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
  >"$probe_source"
if ! "$clang" -fsanitize=fuzzer "$probe_source" -o "$work/probe" 2>"$work/probe.log"; then
  echo "$name: skipped: $clang cannot link a libFuzzer target:"
  cat "$work/probe.log"
  exit 77
fi

sources=("$source_dir/tests/fuzz/pg_backend_decoder_fuzzer.cpp"
         "$source_dir/pg/src/backend_decoder.cpp"
         "$source_dir/pg/src/backend_parse.cpp"
         "$source_dir/pg/src/backend_messages.cpp"
         "$source_dir/pg/src/error.cpp")
# shellcheck disable=SC2054 # the commas belong to -fsanitize's list
flags=(-std=c++20 -O1 -g -Wall -Wextra -Wpedantic
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$source_dir/pg/include" -I"$source_dir/pg/src")
binary="$work/pg_backend_decoder_fuzzer"
if [[ ! -x "$binary" ]] ||
   [[ -n "$(find "${sources[@]}" "$source_dir/pg/include" "$source_dir/pg/src" "${BASH_SOURCE[0]}" \
              -newer "$binary" -print -quit)" ]]; then
  echo "$name: building with $clang"
  "$clang" "${flags[@]}" "${sources[@]}" -o "$binary"
fi

# --- seed corpus: a read-size byte, then a start-up and a query exchange as
# a server sends them, and one message per limit (big-endian, protocol v3).
seeds="$work/seeds"
corpus="$work/corpus"
rm -rf "$seeds"
mkdir -p "$seeds" "$corpus"
# shellcheck disable=SC2059 # the format is the escape \xHH built here
u8() { printf "\\x$(printf %02x $(($1 & 255)))"; }
u16() { u8 $(($1 >> 8)); u8 "$1"; }
u32() { u16 $(($1 >> 16)); u16 $(($1 & 65535)); }
str() { printf '%s' "$1"; u8 0; }
body="$work/body"
# msg <type>: the message for the body in $body.
msg() { printf '%s' "$1"; u32 $((4 + $(stat -c %s "$body"))); cat "$body"; }
seed() { { u8 "$1"; cat; } >"$seeds/$2"; }

{
  { u32 10; str SCRAM-SHA-256; u8 0; } >"$body"; msg R
  { u32 11; printf 'r=abc,s=c2FsdA==,i=4096'; } >"$body"; msg R
  { u32 12; printf 'v=c2ln'; } >"$body"; msg R
  { u32 0; } >"$body"; msg R
  { str server_version; str 15.18; } >"$body"; msg S
  { u32 77; printf 'KEY!'; } >"$body"; msg K
  { u8 73; } >"$body"; msg Z
} | seed 3 startup
{
  { u16 2; str id; u32 0; u16 0; u32 23; u16 4; u32 4294967295; u16 0
    str name; u32 0; u16 0; u32 25; u16 65535; u32 4294967295; u16 0; } >"$body"; msg T
  { u16 2; u32 1; printf 1; u32 4294967295; } >"$body"; msg D
  { str "SELECT 1"; } >"$body"; msg C
  { u8 83; str ERROR; u8 67; str 42601; u8 77; str "syntax error"; u8 80; str 8; u8 0; } >"$body"; msg E
  { u8 83; str NOTICE; u8 67; str 00000; u8 77; str hi; u8 0; } >"$body"; msg N
  { u32 9; str jobs; str payload; } >"$body"; msg A
  { u8 0; u16 1; u16 0; } >"$body"; msg G
  { printf 'row\n'; } >"$body"; msg d
  : >"$body"; msg c
  { u16 1; u32 23; } >"$body"; msg t
  : >"$body"; msg 1
  : >"$body"; msg 2
  : >"$body"; msg s
  { u8 84; } >"$body"; msg Z
} | seed 7 query
{ printf Z; u32 3; } | seed 0 length_below_4
{ printf Z; u32 40000; } | seed 0 short_type_too_long
{ printf R; u32 2001; } | seed 0 auth_too_long
{ printf D; u32 4294967295; } | seed 0 length_4gib
{ printf '?'; } | seed 0 unknown_type
rm -f "$body"

log="$work/fuzz.log"
echo "$name: running for at most ${seconds} s or ${runs} inputs"
status=0
(cd "$work" && "$binary" "$corpus" "$seeds" -max_total_time="$seconds" -runs="$runs" \
   -max_len=8192 -timeout=10 -print_final_stats=1) >"$log" 2>&1 || status=$?
executions="$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || true)"
if ((status != 0)); then
  tail -n 60 "$log"
  echo "$name: FAILED (exit status $status); the failing input is in $work (crash-*)"
  exit 1
fi
if [[ -z "$executions" || "$executions" == 0 ]]; then
  tail -n 20 "$log"
  echo "$name: FAILED: the fuzzer ran no inputs"
  exit 1
fi
grep -E '^(INFO: seed corpus|#[0-9]+[[:space:]]+DONE)' "$log" || true
echo "$name: passed: $executions inputs executed," \
     "$(find "$corpus" -type f | wc -l) in the corpus, no contract broken"
