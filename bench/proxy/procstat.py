#!/usr/bin/python3
"""CPU seconds and peak RSS of a process and all its descendants, from /proc.

Usage: procstat.py PID  ->  {"cpu_s": <user+sys so far>, "hwm_mb": <sum of VmHWM>}
Squid's certificate helpers and nginx-style workers are children, so the whole tree counts.
"""
import json
import os
import sys


def children_map():
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # exited while we looked
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree(pid):
    kids = children_map()
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(kids.get(p, []))
    return seen


def sample(pid):
    tick = os.sysconf("SC_CLK_TCK")
    cpu, hwm_kb = 0.0, 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm_kb += int(line.split()[1])
        except OSError:
            continue
    return {"cpu_s": round(cpu, 2), "hwm_mb": round(hwm_kb / 1024, 1)}


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: procstat.py PID")
    if not os.path.exists(f"/proc/{sys.argv[1]}"):
        sys.exit(f"procstat.py: no process {sys.argv[1]}")
    print(json.dumps(sample(int(sys.argv[1]))))
