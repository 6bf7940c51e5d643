#!/usr/bin/env bash
# Builds the framed-codec fuzzer with clang's libFuzzer (plus AddressSanitizer
# and UndefinedBehaviorSanitizer) straight from the netio sources that need
# nothing but the standard library, and runs it for a bounded time.
#
# Usage: run_fuzzer.sh <source dir> <work dir> [seconds=20] [runs=20000000] [clang++]
# (fuzz_support.sh says what the work dir keeps and what the exit status means)
set -euo pipefail

# shellcheck source=fuzz_support.sh
source "$(dirname "${BASH_SOURCE[0]}")/fuzz_support.sh"
fuzz_start fuzz/framed_codec "$@"
fuzz_build "$work/framed_codec_fuzzer" "$source_dir/netio/include" -- \
  "$source_dir/tests/fuzz/framed_codec_fuzzer.cpp" \
  "$source_dir/netio/src/framed_codec.cpp" \
  "$source_dir/netio/src/message.cpp" \
  "$source_dir/netio/src/error.cpp"

# --- seed corpus: one valid frame of every kind, a concatenation, and one
# frame per header error, written byte by byte (big-endian, docs/protocol.md).
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

fuzz_run 4096
