#!/usr/bin/env bash
# Builds pg's backend-decoder fuzzer with clang's libFuzzer (plus
# AddressSanitizer and UndefinedBehaviorSanitizer) straight from the pg wire
# sources, which need nothing but the standard library, and runs it for a
# bounded time.
#
# Usage: run_pg_backend_fuzzer.sh <source dir> <work dir> [seconds=20] [runs=20000000] [clang++]
# (fuzz_support.sh says what the work dir keeps and what the exit status means)
set -euo pipefail

# shellcheck source=fuzz_support.sh
source "$(dirname "${BASH_SOURCE[0]}")/fuzz_support.sh"
fuzz_start fuzz/pg_backend_decoder "$@"
fuzz_build "$work/pg_backend_decoder_fuzzer" "$source_dir/pg/include" "$source_dir/pg/src" -- \
  "$source_dir/tests/fuzz/pg_backend_decoder_fuzzer.cpp" \
  "$source_dir/pg/src/backend_decoder.cpp" \
  "$source_dir/pg/src/backend_parse.cpp" \
  "$source_dir/pg/src/backend_messages.cpp" \
  "$source_dir/pg/src/error.cpp"

# --- seed corpus: a read-size byte, then a start-up and a query exchange as
# a server sends them, and one message per limit (big-endian, protocol v3).
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

fuzz_run 8192
