# shellcheck shell=bash
# What the libFuzzer runners share (sourced, not run): the command line, the
# clang++ and libFuzzer checks, the build, byte writers for seed inputs, and
# the bounded run with its verdict.
#
# A runner is called as <runner> <source dir> <work dir> [seconds=20]
# [runs=20000000] [clang++]. The work dir keeps the binary (rebuilt when a
# source changes), the seed corpus (regenerated every run), the growing
# corpus and any crash input. Exit status: 0 passed; 77 skipped (no clang++
# or no libFuzzer runtime: ctest's SKIP_RETURN_CODE); anything else failed.

# fuzz_start <name> "$@": parses the runner's arguments into source_dir,
# work, seconds, runs and clang, and checks that clang++ links libFuzzer.
fuzz_start() {
  name="$1"
  shift
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
    echo "$name: skipped: clang++ not found"
    exit 77
  fi
  mkdir -p "$work"
  # libFuzzer ships with clang but in a separate package on some systems.
  local probe_source="$work/probe.cpp"
  echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
    >"$probe_source"
  if ! "$clang" -fsanitize=fuzzer "$probe_source" -o "$work/probe" 2>"$work/probe.log"; then
    echo "$name: skipped: $clang cannot link a libFuzzer target:"
    cat "$work/probe.log"
    exit 77
  fi
  seeds="$work/seeds"
  corpus="$work/corpus"
  rm -rf "$seeds"
  mkdir -p "$seeds" "$corpus"
}

# fuzz_build <binary> <include dir>... -- <source>...: builds the fuzzer
# with ASan and UBSan when a source, an include dir or a runner is newer.
fuzz_build() {
  binary="$1"
  shift
  local includes=() sources=()
  while (($#)) && [[ "$1" != "--" ]]; do includes+=("$1"); shift; done
  shift
  sources=("$@")
  # shellcheck disable=SC2054 # the commas belong to -fsanitize's list
  local flags=(-std=c++20 -O1 -g -Wall -Wextra -Wpedantic
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
  local dir
  for dir in "${includes[@]}"; do flags+=(-I"$dir"); done
  if [[ ! -x "$binary" ]] ||
     [[ -n "$(find "${sources[@]}" "${includes[@]}" "$0" "${BASH_SOURCE[0]}" \
                -newer "$binary" -print -quit)" ]]; then
    echo "$name: building with $clang"
    "$clang" "${flags[@]}" "${sources[@]}" -o "$binary"
  fi
}

# Big-endian byte writers for seed inputs.
# shellcheck disable=SC2059 # the format is the escape \xHH built here
u8() { printf "\\x$(printf %02x $(($1 & 255)))"; }
u16() { u8 $(($1 >> 8)); u8 "$1"; }
u32() { u16 $(($1 >> 16)); u16 $(($1 & 65535)); }
u64() { u32 $(($1 >> 32)); u32 $(($1 & 4294967295)); }

# fuzz_run <max input length>: runs the fuzzer over the corpus (new inputs
# kept there) and the read-only seeds; fails on a crash or on no inputs run.
fuzz_run() {
  local log="$work/fuzz.log"
  echo "$name: running for at most ${seconds} s or ${runs} inputs"
  local status=0
  (cd "$work" && "$binary" "$corpus" "$seeds" -max_total_time="$seconds" -runs="$runs" \
     -max_len="$1" -timeout=10 -print_final_stats=1) >"$log" 2>&1 || status=$?
  local executions
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
}
