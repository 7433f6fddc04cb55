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
        if not s:
            continue  # an h2-only row (direct-relayed): in the h2 table
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


def h2_table(path):
    rows = [json.loads(line) for line in open(path)]
    rows = [r for r in rows if r["scenario"] == "h2"]
    if not rows:
        return
    direct = next((r.get("rps") for r in rows if r["proxy"] == "direct" and r.get("rps")), None)
    mitm = next((r.get("rps") for r in rows if r["proxy"] == "mitmproxy" and r.get("rps")), None)
    print()
    print("| h2 (h2load) | req/s | x direct | x mitmproxy | mean ms | protocol | proxy CPU s | "
          "proxy peak RSS MB | errors |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---|")
    for r in rows:
        if "skipped" in r:
            print(f"| {r['proxy']} | skipped: {r['skipped']} | | | | | | | |")
            continue
        rps = r.get("rps")
        ratio = fmt(rps / direct, ".2f") if rps and direct else "-"
        vs_mitm = fmt(rps / mitm, ".1f") if rps and mitm and r["proxy"] != "mitmproxy" else "-"
        err = f"{r['errors']} ({r.get('first_error', '')[:60]})" if r.get("errors") else "0"
        print(f"| {r['proxy']} | {fmt(rps, '.0f')} | {ratio} | {vs_mitm} | "
              f"{fmt(r.get('mean_ms'), '.2f')} | {r.get('protocol', '-')} | "
              f"{fmt(r.get('proxy_cpu_s'), '.2f')} | {fmt(r.get('proxy_hwm_mb'), '.0f')} | {err} |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: report.py RESULTS.jsonl")
    main(sys.argv[1])
    h2_table(sys.argv[1])
