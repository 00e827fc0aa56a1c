#!/usr/bin/env python3
"""Checks and charts a soak run of the example server (run by scripts/soak.sh).

    python3 scripts/soak_report.py OUT PHASES_CSV TOLERANCE

Reads OUT/soak.csv (RSS every second), PHASES_CSV (the client's count of each
phase) and OUT/soak-metrics.txt (GET /metrics at the end). Writes
OUT/soak-phases.csv (each phase with its RSS) and OUT/soak.svg (the chart),
prints a summary, and exits 1 if a check fails:

* RSS at the end of every idle phase is within TOLERANCE of the first idle
  phase's;
* every pool's counters obey created + adopted == idle + dropped + detached +
  in_use, with in_use counted from the guard flows (gets - detached -
  (returned - adopted)) rather than derived from the identity, and nothing is
  out but the scrape's own objects (at most one per pool).

Standard library only.
"""

import csv
import re
import sys
from collections import defaultdict
from pathlib import Path


def read_samples(path):
    with open(path, newline="") as f:
        return [
            {
                "t": float(r["t_s"]),
                "phase": int(r["phase"]),
                "kind": r["kind"],
                "connections": int(r["connections"]),
                "rss_mib": int(r["rss_kib"]) / 1024,
            }
            for r in csv.DictReader(f)
        ]


def read_phases(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


SERIES = re.compile(r'^(\w+)\{pool="((?:[^"\\]|\\.)*)"(?:,reason="(\w+)")?\} (\S+)$')


def read_metrics(path):
    """{pool: {metric: value}}, `shardpool_dropped_total` summed over reasons."""
    pools = defaultdict(lambda: defaultdict(int))
    for line in Path(path).read_text().splitlines():
        m = SERIES.match(line)
        if m:
            name, pool, _reason, value = m.groups()
            pools[pool][name] += int(float(value))
    return pools


def check_accounting(pools):
    """Prints each pool's identity; returns the failures."""
    failures = []
    print("\npool accounting at the end (GET /metrics):")
    print(f"  {'pool':<22} {'created':>9} {'adopted':>8} {'idle':>6} {'dropped':>9} "
          f"{'detached':>8} {'in_use':>6}  identity")
    for pool, m in sorted(pools.items()):
        g = lambda k: m.get(f"shardpool_{k}", 0)
        in_use = g("gets_total") - g("detached_total") - (g("returned_total") - g("adopted_total"))
        lhs = g("created_total") + g("adopted_total")
        rhs = g("idle") + g("dropped_total") + g("detached_total") + in_use
        ok = lhs == rhs
        print(f"  {pool:<22} {g('created_total'):>9} {g('adopted_total'):>8} {g('idle'):>6} "
              f"{g('dropped_total'):>9} {g('detached_total'):>8} {in_use:>6}  "
              f"{lhs} {'==' if ok else '!='} {rhs}")
        if not ok:
            failures.append(f"{pool}: created + adopted = {lhs}, "
                            f"idle + dropped + detached + in_use = {rhs}")
        if not 0 <= in_use <= 1:
            failures.append(f"{pool}: {in_use} objects out after the run")
        if g("in_use") != in_use:
            failures.append(f"{pool}: the in_use gauge says {g('in_use')}, the flows {in_use}")
    if not pools:
        failures.append("no pools in the metrics")
    return failures


def phase_rss(samples, phases):
    """Adds rss_end_mib and rss_max_mib to each phase: the last sample taken
    in it, and the largest."""
    by_phase = defaultdict(list)
    for s in samples:
        by_phase[s["phase"]].append(s["rss_mib"])
    for p in phases:
        rss = by_phase.get(int(p["phase"]), [])
        p["rss_end_mib"] = f"{rss[-1]:.1f}" if rss else ""
        p["rss_max_mib"] = f"{max(rss):.1f}" if rss else ""


def check_idle_levels(phases, tolerance):
    idle = [p for p in phases if p["kind"] == "idle" and p["rss_end_mib"]]
    if not idle:
        return ["no idle phase sampled"], None
    first = float(idle[0]["rss_end_mib"])
    failures = []
    for p in idle:
        ratio = float(p["rss_end_mib"]) / first
        p["vs_first_idle"] = f"{ratio:.3f}"
        if ratio > 1 + tolerance:
            failures.append(f"idle phase {p['phase']} ended at {p['rss_end_mib']} MiB, "
                            f"{ratio:.3f}x the first idle level ({first:.1f} MiB)")
    for p in phases:
        p.setdefault("vs_first_idle", "")
    return failures, first


def write_phases(path, phases):
    fields = list(phases[0].keys())
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(phases)


def chart(path, samples, phases, first, tolerance):
    """RSS over time, bursts shaded and labelled with their connections, the
    first idle level and its tolerance as lines."""
    width, height = 960, 420
    left, right, top, bottom = 64, 20, 40, 50
    pw, ph = width - left - right, height - top - bottom
    t_max = max([s["t"] for s in samples] + [float(p["end_s"]) for p in phases]) or 1
    y_max = max(max(s["rss_mib"] for s in samples), first * (1 + tolerance)) * 1.1
    x = lambda t: left + t / t_max * pw
    y = lambda v: top + ph - v / y_max * ph
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">'
        "Example server RSS, sampled every second, under idle / burst cycles "
        "(shaded: bursts, labelled with their connections)</text>",
    ]
    for p in phases:
        if p["kind"] not in ("burst", "warmup"):
            continue
        x0, x1 = x(float(p["start_s"])), x(float(p["end_s"]))
        fill = "#fde3c8" if p["kind"] == "burst" else "#e8e8e8"
        out.append(f'<rect x="{x0:.1f}" y="{top}" width="{x1 - x0:.1f}" height="{ph}" '
                   f'fill="{fill}"/>')
        out.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{top + 14}" text-anchor="middle" '
                   f'fill="#8a4b08">{p["connections"]}</text>')
    warmups = [p for p in phases if p["kind"] == "warmup"]
    if warmups:
        x0, x1 = x(float(warmups[0]["start_s"])), x(float(warmups[-1]["end_s"]))
        out.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{top + 28}" text-anchor="middle" '
                   'fill="#555">warm-up</text>')
    # Axes and grid.
    step = nice_step(y_max / 6)
    v = 0.0
    while v <= y_max:
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   'stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
        v += step
    t_step = nice_step(t_max / 10)
    t = 0.0
    while t <= t_max:
        out.append(f'<text x="{x(t):.1f}" y="{top + ph + 16}" text-anchor="middle">{t:g}</text>')
        t += t_step
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + ph}" stroke="black"/>')
    out.append(f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" '
               'stroke="black"/>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 12}" text-anchor="middle">'
               "seconds since start</text>")
    out.append(f'<text x="16" y="{top + ph / 2}" text-anchor="middle" '
               f'transform="rotate(-90 16 {top + ph / 2})">RSS, MiB</text>')
    # The first idle level and the tolerance above it.
    for level, dash, label, dy in [
        (first, "6 3", f"first idle level (after the warm-up): {first:.1f} MiB", 14),
        (first * (1 + tolerance), "2 3", f"+{tolerance:.0%}: the limit for every idle phase", -4),
    ]:
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
                   f'stroke="#1a7f37" stroke-dasharray="{dash}"/>')
        out.append(f'<text x="{left + 4}" y="{y(level) + dy:.1f}" '
                   f'fill="#1a7f37">{label}</text>')
    points = " ".join(f"{x(s['t']):.1f},{y(s['rss_mib']):.1f}" for s in samples)
    out.append(f'<polyline points="{points}" fill="none" stroke="#0550ae" stroke-width="1.5"/>')
    # Where each idle phase ended: the level the check compares.
    for p in phases:
        if p["kind"] == "idle" and p["rss_end_mib"]:
            out.append(f'<circle cx="{x(float(p["end_s"])):.1f}" cy="{y(float(p["rss_end_mib"])):.1f}" '
                       'r="3" fill="#1a7f37"/>')
    out.append("</svg>")
    Path(path).write_text("\n".join(out) + "\n")


def nice_step(raw):
    """1, 2 or 5 times a power of ten, at least `raw`."""
    power = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 0.1
    while power * 10 < raw:
        power *= 10
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return m * power
    return 10 * power


def main():
    out, phases_path, tolerance = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    samples = read_samples(out / "soak.csv")
    phases = read_phases(phases_path)
    phase_rss(samples, phases)
    failures, first = check_idle_levels(phases, tolerance)

    print(f"\n{'phase':>5} {'kind':<6} {'conns':>5} {'seconds':>8} {'responses':>10} "
          f"{'req/s':>7} {'400s':>6} {'malformed':>9} {'RSS end':>8} {'RSS max':>8} {'vs first idle':>13}")
    for p in phases:
        secs = float(p["end_s"]) - float(p["start_s"])
        rate = int(p["requests"]) / secs if secs > 0 else 0
        print(f"{p['phase']:>5} {p['kind']:<6} {p['connections']:>5} {secs:>8.1f} "
              f"{p['requests']:>10} {rate:>7.0f} {p['status_400']:>6} {p['bad_sent']:>9} "
              f"{p['rss_end_mib']:>8} {p['rss_max_mib']:>8} {p['vs_first_idle']:>13}")
    write_phases(out / "soak-phases.csv", phases)
    if first is not None:
        chart(out / "soak.svg", samples, phases, first, tolerance)
        print(f"\nfirst idle level {first:.1f} MiB; every idle phase must end within "
              f"{tolerance:.0%} of it; peak {max(s['rss_mib'] for s in samples):.1f} MiB")

    failures += check_accounting(read_metrics(out / "soak-metrics.txt"))
    for f in failures:
        print(f"FAILED: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
