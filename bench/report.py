"""Renders benchmark results: a text table for the terminal and one
self-contained HTML page (inline SVG, no scripts, no network) with a bar chart
per comparison and each comparison's ratio over time from history.jsonl.

Used by bench/run; also runnable alone:
  python3 bench/report.py RESULTS.json HISTORY.jsonl OUT.html
  python3 bench/report.py --markdown RESULTS.json   (the README's table)
"""

import html
import json
import math
import os
import sys

BAR_COLOURS = {"ours": "#2b6cb0", "alternative": "#dd6b20", "limit": "#718096"}


def fmt(value):
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 0.01 or value == 0:
        return f"{value:.3f}"
    return f"{value:.3g}"


def table(records):
    """A plain-text table: name, ours, peer, peer_kind, ratio (median and spread), cpu_s."""
    header = ["name", "ours", "peer", "peer_kind", "ratio", "ratio min-max", "cpu_s ours/peer"]
    rows = [header]
    for record in records:
        cpu = record.get("cpu_s")
        rows.append([
            record["name"],
            f"{fmt(record['ours'])} {record['unit']}",
            f"{fmt(record['peer'])} ({record['peer_name']})",
            record["peer_kind"],
            fmt(record["ratio"]),
            "{}-{}".format(*map(fmt, record["spread"]["ratio"])),
            f"{fmt(cpu['ours'])}/{fmt(cpu['peer'])}" if cpu else "-",
        ])
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[column]) for column, cell in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _short(value):
    """Three significant digits with a k/M suffix, as the README's table shows figures."""
    magnitude = abs(value)
    for scale, suffix in ((1e6, " M"), (1e3, " k")):
        if magnitude >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def markdown(records):
    """The README's Performance table: one row per comparison, peer kind and CPU seconds."""
    lines = ["| Benchmark | unit | actorloop | peer | kind | ratio (min–max) | CPU s ours / peer |",
             "|---|---|---|---|---|---|---|"]
    for record in records:
        cpu = record.get("cpu_s")
        low, high = record["spread"]["ratio"]
        lines.append(
            f"| `{record['name']}` | {record['unit']} | {_short(record['ours'])} | "
            f"{_short(record['peer'])} ({record['peer_name']}) | {record['peer_kind']} | "
            f"{record['ratio']:.2f} ({low:.2f}–{high:.2f}) | "
            + (f"{cpu['ours']:.3g} / {cpu['peer']:.3g} |" if cpu else "– |"))
    return "\n".join(lines)


def _group(records):
    """Comparisons by name, in first-seen order: one chart each."""
    groups = {}
    for record in records:
        groups.setdefault(record["name"], []).append(record)
    return groups


def _bar_chart(name, records):
    """Horizontal bars: ours, then each peer; log scale if values span > 20x."""
    unit = records[0]["unit"]
    bars = [("ours", "ours", records[0]["ours"], records[0]["spread"]["ours"])]
    for record in records:
        bars.append((record["peer_name"], record["peer_kind"], record["peer"],
                     record["spread"]["peer"]))
    values = [value for _, _, value, _ in bars] + [v for *_, spread in bars for v in spread]
    positive = [value for value in values if value > 0]
    top = max(positive)
    low = min(positive)
    log = top / low > 20
    width, label_width, row_height = 860, 400, 26
    plot_width = width - label_width - 120
    height = row_height * len(bars) + 30

    def scale(value):
        if value <= 0:
            return 0
        if log:
            floor = math.log10(low) - 0.3
            return plot_width * (math.log10(value) - floor) / (math.log10(top) - floor)
        return plot_width * value / top

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{html.escape(name)}">']
    for row, (label, kind, value, spread) in enumerate(bars):
        y = 8 + row * row_height
        colour = BAR_COLOURS[kind]
        shown = label if len(label) <= 44 else label[:43] + "…"
        parts.append(f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" '
                     f'font-size="12">{html.escape(shown)}'
                     f'{"" if kind == "ours" else " [" + kind + "]"}</text>')
        parts.append(f'<rect x="{label_width}" y="{y}" width="{scale(value):.1f}" height="18" '
                     f'fill="{colour}"><title>{html.escape(label)}: {fmt(value)} {html.escape(unit)}'
                     f'</title></rect>')
        low_x, high_x = label_width + scale(spread[0]), label_width + scale(spread[1])
        parts.append(f'<line x1="{low_x:.1f}" x2="{high_x:.1f}" y1="{y + 9}" y2="{y + 9}" '
                     f'stroke="#000" stroke-width="1.5"/>')
        parts.append(f'<text x="{label_width + max(scale(value), high_x - label_width) + 6:.1f}" '
                     f'y="{y + 14}" font-size="12">{fmt(value)}</text>')
    first = records[0]
    higher = abs(first["ours"] / first["peer"] - first["ratio"]) <= abs(
        first["peer"] / first["ours"] - first["ratio"])
    parts.append(f'<text x="{label_width}" y="{height - 6}" font-size="11" fill="#555">'
                 f'{html.escape(unit)}, {"higher" if higher else "lower"} is better'
                 f'{" (log scale)" if log else ""}; line = min-max over runs</text>')
    parts.append("</svg>")
    return "".join(parts)


def _history_chart(key, points):
    """The ratio of one comparison over the runs in history (1.0 marked)."""
    width, height, margin = 720, 140, 40
    ratios = [ratio for _, ratio in points]
    top = max(max(ratios), 1.0) * 1.1
    count = len(points)

    def x(index):
        return margin + (width - 2 * margin) * (index / (count - 1) if count > 1 else 0.5)

    def y(value):
        return height - 25 - (height - 45) * value / top

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="ratio over time: {html.escape(key)}">']
    parts.append(f'<line x1="{margin}" x2="{width - margin}" y1="{y(1.0):.1f}" y2="{y(1.0):.1f}" '
                 f'stroke="#999" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="4" y="{y(1.0) + 4:.1f}" font-size="11">1.0</text>')
    coordinates = " ".join(f"{x(i):.1f},{y(ratio):.1f}" for i, ratio in enumerate(ratios))
    parts.append(f'<polyline points="{coordinates}" fill="none" stroke="#2b6cb0" stroke-width="2"/>')
    for index, (label, ratio) in enumerate(points):
        parts.append(f'<circle cx="{x(index):.1f}" cy="{y(ratio):.1f}" r="3" fill="#2b6cb0">'
                     f'<title>{html.escape(label)}: ratio {fmt(ratio)}</title></circle>')
    parts.append(f'<text x="{margin}" y="{height - 6}" font-size="11" fill="#555">'
                 f'{html.escape(points[0][0])}</text>')
    if count > 1:
        parts.append(f'<text x="{width - margin}" y="{height - 6}" font-size="11" fill="#555" '
                     f'text-anchor="end">{html.escape(points[-1][0])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _read_history(history_path):
    entries = []
    if history_path and os.path.exists(history_path):
        with open(history_path, encoding="utf-8") as handle:
            for line in handle:
                line = line.strip()
                if line:
                    entries.append(json.loads(line))
    return entries


def render(records, history):
    """The whole page as a string."""
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>actorloop benchmarks</title>",
           "<style>body{font-family:sans-serif;margin:2em;max-width:60em}"
           "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
           "font-size:13px}h2{font-size:1.1em;margin-top:1.6em}</style></head><body>",
           "<h1>actorloop benchmarks</h1>",
           "<p>Ratio &gt; 1 means ours is ahead. Peer kinds: <b>alternative</b> = what a user "
           "would pick instead; <b>limit</b> = a hand-tuned or physical floor a runtime cannot "
           "beat by design. cpu_s = CPU seconds used during one measured span (median).</p>",
           "<h2>Results</h2><table><tr><th>name</th><th>ours</th><th>peer</th><th>peer_kind</th>"
           "<th>ratio</th><th>ratio min-max</th><th>cpu_s ours/peer</th></tr>"]
    for record in records:
        cpu = record.get("cpu_s")
        out.append(
            "<tr><td>{}</td><td>{} {}</td><td>{} ({})</td><td>{}</td><td>{}</td><td>{}-{}</td>"
            "<td>{}</td></tr>".format(
                html.escape(record["name"]), fmt(record["ours"]), html.escape(record["unit"]),
                fmt(record["peer"]), html.escape(record["peer_name"]),
                record["peer_kind"], fmt(record["ratio"]), fmt(record["spread"]["ratio"][0]),
                fmt(record["spread"]["ratio"][1]),
                f"{fmt(cpu['ours'])} / {fmt(cpu['peer'])}" if cpu else "-"))
    out.append("</table>")
    out.append("<h2>Comparisons</h2>")
    for name, group in _group(records).items():
        out.append(f'<section class="comparison" id="cmp-{html.escape(name)}">'
                   f"<h3>{html.escape(name)}</h3>{_bar_chart(name, group)}</section>")
    out.append("<h2>Ratio over time (history)</h2>")
    series = {}
    for entry in history:
        label = f"{entry.get('date', '?')} {str(entry.get('commit', '?'))[:10]} {entry.get('mode', '')}"
        for record in entry.get("results", []):
            key = f"{record['name']} vs {record['peer_name']}"
            series.setdefault(key, []).append((label, record["ratio"]))
    if not series:
        out.append("<p>No history yet.</p>")
    for key, points in series.items():
        out.append(f'<section class="history"><h3>{html.escape(key)}</h3>'
                   f"{_history_chart(key, points)}</section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_report(records, history_path, out_path):
    page = render(records, _read_history(history_path))
    with open(out_path, "w", encoding="utf-8") as handle:
        handle.write(page)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--markdown":
        with open(sys.argv[2], encoding="utf-8") as source:
            print(markdown(json.load(source)))
        sys.exit(0)
    if len(sys.argv) != 4:
        print("usage: report.py RESULTS.json HISTORY.jsonl OUT.html\n"
              "       report.py --markdown RESULTS.json", file=sys.stderr)
        sys.exit(2)
    with open(sys.argv[1], encoding="utf-8") as source:
        write_report(json.load(source), sys.argv[2], sys.argv[3])
