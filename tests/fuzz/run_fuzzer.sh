#!/usr/bin/env bash
# Builds the framed-codec fuzzer with clang's libFuzzer (plus AddressSanitizer
# and UndefinedBehaviorSanitizer) straight from the netio sources that need
# nothing but the standard library, and runs it for a bounded time.
#
# Usage: run_fuzzer.sh <source dir> <work dir> [seconds=20] [runs=20000000] [clang++]
#
# The work dir keeps the binary (rebuilt when a source changes), the seed
# corpus (regenerated every run), the growing corpus and any crash input.
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

if [[ -z "$clang" || ! -x "$clang" ]]; then
  echo "fuzz/framed_codec: skipped: clang++ not found"
  exit 77
fi
mkdir -p "$work"

# libFuzzer ships with clang but in a separate package on some systems.
probe_source="$work/probe.cpp"
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
  >"$probe_source"
if ! "$clang" -fsanitize=fuzzer "$probe_source" -o "$work/probe" 2>"$work/probe.log"; then
  echo "fuzz/framed_codec: skipped: $clang cannot link a libFuzzer target:"
  cat "$work/probe.log"
  exit 77
fi

sources=("$source_dir/tests/fuzz/framed_codec_fuzzer.cpp"
         "$source_dir/netio/src/framed_codec.cpp"
         "$source_dir/netio/src/message.cpp"
         "$source_dir/netio/src/error.cpp")
# shellcheck disable=SC2054 # the commas belong to -fsanitize's list
flags=(-std=c++20 -O1 -g -Wall -Wextra -Wpedantic
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$source_dir/netio/include")
binary="$work/framed_codec_fuzzer"
if [[ ! -x "$binary" ]] ||
   [[ -n "$(find "${sources[@]}" "$source_dir/netio/include" "${BASH_SOURCE[0]}" \
              -newer "$binary" -print -quit)" ]]; then
  echo "fuzz/framed_codec: building with $clang"
  "$clang" "${flags[@]}" "${sources[@]}" -o "$binary"
fi

# --- seed corpus: one valid frame of every kind, a concatenation, and one
# frame per header error, written byte by byte (big-endian, docs/protocol.md).
seeds="$work/seeds"
corpus="$work/corpus"
rm -rf "$seeds"
mkdir -p "$seeds" "$corpus"
# shellcheck disable=SC2059 # the format is the escape \xHH built here
u8() { printf "\\x$(printf %02x $(($1 & 255)))"; }
u16() { u8 $(($1 >> 8)); u8 "$1"; }
u32() { u16 $(($1 >> 16)); u16 $(($1 & 65535)); }
u64() { u32 $(($1 >> 32)); u32 $(($1 & 4294967295)); }
text() { u32 "${#1}"; printf '%s' "$1"; }
body="$work/body"
# frame <kind> <request id>: the header for the body in $body, then the body.
frame() {
  local size
  size=$(stat -c %s "$body")
  u32 $((12 + size)); u8 1; u8 "$1"; u16 0; u64 "$2"; cat "$body"
}
seed() { cat >"$seeds/$1"; }

{ text client; text user; } >"$body";                        frame 1 0 | seed hello
{ u8 1; u32 7; text key; } >"$body";                          frame 2 0 | seed challenge_password_key
{ u8 2; u32 8; text question; } >"$body";                     frame 2 0 | seed challenge_negotiate
{ u32 7; text answer; } >"$body";                             frame 3 0 | seed response
{ text server; u64 9; } >"$body";                             frame 4 0 | seed ready
{ u32 3; text ECHO; text a; text ""; } >"$body";              frame 10 1 | seed request
{ u32 2; text x; text ""; } >"$body";                         frame 11 1 | seed result_row
{ u32 0; } >"$body";                                          frame 11 1 | seed result_row_empty
{ u16 1; text failed; } >"$body";                             frame 12 1 | seed completion
{ u8 4; u32 2001; text "malformed frame"; } >"$body";         frame 13 0 | seed server_message
{ text news; text payload; u64 3; } >"$body";                 frame 14 0 | seed notification
: >"$body";                                                   frame 20 1 | seed cancel
: >"$body";                                                   frame 21 0 | seed terminate
cat "$seeds/request" "$seeds/result_row" "$seeds/completion" "$seeds/cancel" | seed sequence
{ u32 4294967295; } | seed length_4gib
{ u32 12; u8 2; u8 10; u16 0; u64 0; } | seed wrong_version
{ u32 12; u8 1; u8 99; u16 0; u64 0; } | seed unknown_kind
{ u32 12; u8 1; u8 21; u16 1; u64 0; } | seed nonzero_flags
rm -f "$body"

# --- run: new inputs go to $corpus (kept between runs), seeds are read only.
log="$work/fuzz.log"
echo "fuzz/framed_codec: running for at most ${seconds} s or ${runs} inputs"
status=0
(cd "$work" && "$binary" "$corpus" "$seeds" -max_total_time="$seconds" -runs="$runs" \
   -max_len=4096 -timeout=10 -print_final_stats=1) >"$log" 2>&1 || status=$?
executions="$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || true)"
if ((status != 0)); then
  tail -n 60 "$log"
  echo "fuzz/framed_codec: FAILED (exit status $status); the failing input is in $work (crash-*)"
  exit 1
fi
if [[ -z "$executions" || "$executions" == 0 ]]; then
  tail -n 20 "$log"
  echo "fuzz/framed_codec: FAILED: the fuzzer ran no inputs"
  exit 1
fi
grep -E '^(INFO: seed corpus|#[0-9]+[[:space:]]+DONE)' "$log" || true
echo "fuzz/framed_codec: passed: $executions inputs executed," \
     "$(find "$corpus" -type f | wc -l) in the corpus, no contract broken"
