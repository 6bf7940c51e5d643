#!/usr/bin/env python3
"""The benchmark report page renders in headless Chromium and names every benchmark.

Runs every bench_* executable of this build briefly (bench/run --smoke with
--bin-dir), writes results.json, history.jsonl and report.html into a fresh
directory, checks the records (peer_kind, spreads, cpu_s), checks that the
page is self-contained (no scripts, no external resources), loads it in
headless Chromium (--dump-dom) and checks that the rendered DOM names every
benchmark and holds one chart per comparison. Fails, never skips, when
Chromium is missing (scripts/install-deps installs it).

usage: report_page_renders_every_benchmark_in_headless_chromium.py SOURCE_DIR BENCH_BIN_DIR WORK_DIR
"""

import json
import os
import re
import shutil
import subprocess
import sys

# Every comparison the benchmarks make: a benchmark that stops reporting, or
# a new one not listed here, fails the test.
EXPECTED = {
    "echo_1conn": {"alternative", "limit"},
    "echo_100conn": {"alternative", "limit"},
    "message_roundtrip": {"limit"},
    "notify_fanout_1000": {"alternative", "limit"},
    "notify_fanout_1000_p99": {"alternative", "limit"},
    "pingpong_same_scheduler": {"alternative"},
    "pingpong_cross_scheduler": {"alternative", "limit"},
    "pingpong_cross_scheduler_spin": {"alternative", "limit"},
    "applet_spawn": {"alternative"},
    "fanout_spawn_100k": {"alternative"},
    "fanout_spawn_100k_1worker": {"alternative"},
    "supervised_restart": {"alternative"},
    "supervised_restart_storm": {"alternative"},
    "timers_100k_rate": {"alternative"},
    "timers_100k_p50_lateness": {"alternative"},
    "timers_100k_p99_lateness": {"alternative"},
    "tls_handshake": {"limit"},
    "tls_bulk": {"limit"},
    "wait_queue_throughput": {"alternative"},
    "file_read_4k_random": {"alternative", "limit"},
    "file_read_4k_random_fixed": {"limit"},
    "file_copy_256m": {"alternative"},
    "pg_select1_seq": {"alternative", "limit"},
    "pg_select1_async_100conn": {"alternative", "limit"},
    "pg_notify_latency_p50": {"alternative", "limit"},
    "pg_notify_latency_p99": {"alternative", "limit"},
    "pg_insert_pipelined_100k": {"alternative"},
    "pg_fetch_1m_rows": {"alternative", "limit"},
    "pg_fetch_1m_rows_spin": {"alternative", "limit"},
    "pg_fetch_1m_rows_peak_mib": {"alternative"},
    "pg_copy_in_100mb": {"alternative", "limit"},
    "node_down_detection_kill9": {"alternative"},
    "node_down_detection_blackhole": {"alternative"},
    "remote_pingpong": {"alternative"},
    "remote_queue_throughput": {"alternative"},
}


def fail(text):
    print(f"FAILED: {text}", file=sys.stderr)
    sys.exit(1)


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    fail("chromium is not installed (scripts/install-deps installs Debian's chromium); "
         "the report cannot be checked")


def main():
    if len(sys.argv) != 4:
        fail(__doc__.strip().splitlines()[-1])
    source_dir, bin_dir, work_dir = sys.argv[1:]
    chromium = find_chromium()
    shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(work_dir)

    run = subprocess.run([sys.executable, os.path.join(source_dir, "bench", "run"), "--smoke",
                          "--bin-dir", bin_dir, "--out", work_dir, "--plot"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    print(run.stdout)
    if run.returncode != 0:
        fail(f"bench/run --smoke exited with {run.returncode}")

    with open(os.path.join(work_dir, "results.json"), encoding="utf-8") as handle:
        records = json.load(handle)
    kinds = {}
    for record in records:
        kinds.setdefault(record["name"], set()).add(record["peer_kind"])
        lo, hi = record["spread"]["ratio"]
        if not lo <= record["ratio"] <= hi:
            fail(f"{record['name']}: median ratio {record['ratio']} outside its spread {lo}-{hi}")
        if record["runs"] != 1:
            fail(f"{record['name']}: --smoke should make 1 run, made {record['runs']}")
        if record["cpu_s"] is None:
            fail(f"{record['name']} vs {record['peer_name']}: no cpu_s")
    if kinds != EXPECTED:
        fail(f"comparisons and peer kinds differ from the expected ones:\n  got      {kinds}\n"
             f"  expected {EXPECTED}")

    with open(os.path.join(work_dir, "history.jsonl"), encoding="utf-8") as handle:
        history = [json.loads(line) for line in handle if line.strip()]
    if len(history) != 1 or history[0]["mode"] != "smoke" or not history[0]["commit"]:
        fail(f"history.jsonl should hold one smoke run with a commit: {history}")

    page_path = os.path.join(work_dir, "report.html")
    with open(page_path, encoding="utf-8") as handle:
        page = handle.read()
    if re.search(r"<script|<link|<img|<iframe|@import", page, re.IGNORECASE):
        fail("the report page is not self-contained (script, link, img, iframe or @import)")
    external = set(re.findall(r"https?://[^\"' )]+", page)) - {"http://www.w3.org/2000/svg"}
    if external:
        fail(f"the report page refers to the network: {sorted(external)}")

    profile = os.path.join(work_dir, "chromium-profile")
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                          "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                          "--dump-dom", "file://" + page_path],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=180)
    if dom.returncode != 0 or "</html>" not in dom.stdout:
        fail(f"chromium could not render the page (exit {dom.returncode}): {dom.stderr[-2000:]}")
    rendered = dom.stdout
    missing = [name for name in EXPECTED if f">{name}<" not in rendered]
    if missing:
        fail(f"benchmarks missing from the rendered page: {missing}")
    charts = len(re.findall(r'<section class="comparison"', rendered))
    if charts != len(EXPECTED):
        fail(f"{charts} comparison charts rendered, expected {len(EXPECTED)}")
    if rendered.count("<svg") < 2 * len(EXPECTED):
        fail("the page lacks the bar charts or the history charts")
    print(f"report renders: {len(records)} records, {charts} comparison charts, every name found")


if __name__ == "__main__":
    main()
