#!/usr/bin/env bash
# Builds the framed-codec fuzzer with clang's libFuzzer and runs it briefly.
# Usage: run_fuzzer.sh <source dir> <work dir> <seconds>
# Exits 77 (ctest: skipped) when clang++ or libFuzzer is not available.
set -euo pipefail
source_dir="$1"
work="$2"
seconds="$3"
clang="$(command -v clang++ || true)"
if [[ -z "$clang" ]]; then
  echo "clang++ not found: fuzzing skipped"
  exit 77
fi
mkdir -p "$work/corpus"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$source_dir/netio/include")
sources=("$source_dir/tests/fuzz/framed_codec_fuzzer.cpp" "$source_dir/netio/src/framed_codec.cpp"
         "$source_dir/netio/src/error.cpp")
binary="$work/framed_codec_fuzzer"
# Rebuild only when a source changed.
if [[ ! -x "$binary" ]] || [[ -n "$(find "${sources[@]}" "$source_dir/netio/include" -newer "$binary" -print -quit)" ]]; then
  if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
       "$clang" -x c++ -fsanitize=fuzzer - -o "$work/probe" 2>/dev/null; then
    echo "clang++ has no libFuzzer runtime: fuzzing skipped"
    exit 77
  fi
  "$clang" "${flags[@]}" "${sources[@]}" -o "$binary"
fi
# A seed corpus of valid frames (written by the seed generator below) gives
# the fuzzer real structure to mutate.
python3 - "$work/corpus" <<'PY'
import struct, sys, os
out = sys.argv[1]
def frame(kind, request_id, body):
    return struct.pack(">IBBHQ", 12 + len(body), 1, kind, 0, request_id) + body
def text(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b
def lst(items):
    return struct.pack(">I", len(items)) + b"".join(text(i) for i in items)
seeds = {
    "hello": frame(1, 0, text("client") + text("user")),
    "challenge": frame(2, 0, struct.pack(">BI", 1, 7) + text("key")),
    "response": frame(3, 0, struct.pack(">I", 7) + text("answer")),
    "ready": frame(4, 0, text("server") + struct.pack(">Q", 9)),
    "request": frame(10, 1, lst(["ECHO", "a", "b"])),
    "row": frame(11, 1, lst(["x", ""])),
    "completion": frame(12, 1, struct.pack(">H", 0) + text("done")),
    "server_message": frame(13, 0, struct.pack(">BI", 2, 3001) + text("careful")),
    "notification": frame(14, 0, text("news") + text("payload") + struct.pack(">Q", 3)),
    "cancel_terminate": frame(20, 1, b"") + frame(21, 0, b""),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
PY
"$binary" "$work/corpus" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 2>&1 | tail -n 20
