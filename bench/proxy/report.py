#!/usr/bin/python3
"""Turns run.sh's results (one JSON object per line) into a Markdown table."""
import json
import sys


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def main(path):
    rows = {}
    order = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r["proxy"] not in rows:
                order.append(r["proxy"])
                rows[r["proxy"]] = {}
            rows[r["proxy"]][r["scenario"]] = r

    print("| proxy | small req/s | p50 ms | p99 ms | bulk MB/s | new conn/s | proxy CPU s "
          "(small / bulk / conn) | proxy peak RSS MB | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for name in order:
        s = rows[name].get("small", {})
        b = rows[name].get("bulk", {})
        h = rows[name].get("handshake", {})
        if "skipped" in s:
            print(f"| {name} | skipped: {s['skipped']} | | | | | | | |")
            continue
        cpu = " / ".join(fmt(r.get("proxy_cpu_s"), ".2f") for r in (s, b, h))
        rss = max([r["proxy_hwm_mb"] for r in (s, b, h) if r.get("proxy_hwm_mb") is not None], default=None)
        errors = []
        for scenario, r in (("small", s), ("bulk", b), ("handshake", h)):
            if r.get("errors"):
                errors.append(f"{scenario}: {r['errors']} ({r.get('first_error', '')[:60]})")
        print(f"| {name} | {fmt(s.get('rps'), '.0f')} | {fmt(s.get('p50_ms'), '.2f')} | "
              f"{fmt(s.get('p99_ms'), '.2f')} | {fmt(b.get('body_mb_per_s'), '.0f')} | "
              f"{fmt(h.get('rps'), '.0f')} | {cpu} | "
              f"{fmt(rss, '.0f')} | {'; '.join(errors) or '0'} |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: report.py RESULTS.jsonl")
    main(sys.argv[1])
