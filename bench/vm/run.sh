#!/usr/bin/env bash
# The vm backend's figures (issue 16; results in bench/README.md): time from
# `bottle run --backend vm -- true` to exit against local, the guest's memory overhead
# (QEMU's resident set while the agent sleeps), and small requests from inside the guest
# through egress to a loopback upstream. Root; uses the build tree's bottle.
#   bench/vm/run.sh [BUILD_DIR] [RUNS] [REQUESTS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
runs=${2:-3}
requests=${3:-200}
bottle=$build/orchestrator/bottle

work=$(mktemp -d)
upstream_pid=""
cleanup() {
  [ -z "$upstream_pid" ] || kill "$upstream_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/home/agents" "$work/home/bottles" "$work/ws"
python3 -u "$here/../../examples/upstream.py" 0 >"$work/upstream.out" 2>/dev/null &
upstream_pid=$!
for _ in $(seq 100); do grep -q ready "$work/upstream.out" 2>/dev/null && break; sleep 0.05; done
port=$(awk '/ready/ {print $2}' "$work/upstream.out")
[ -n "$port" ] || { echo "run.sh: upstream did not start" >&2; exit 1; }
cat >"$work/home/bottles/bench.md" <<YAML
---
supervise: false
egress:
  resolve: ["up.bench:$port:127.0.0.1"]
  routes:
    - host: up.bench
      port: $port
      allow_private: true
---
YAML
printf -- '---\nbottle: bench\nprovider: command\n---\n' >"$work/home/agents/bench.md"
run() { BOTTLE_HOME=$work/home "$bottle" run bench --cwd "$work/ws" "$@"; }

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
run --backend vm -- true 2>/dev/null  # warms the KVM probe cache and the page cache
for backend in local vm; do
  total=""
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    run --backend "$backend" -- true 2>/dev/null
    total="$total $(ms "$start")"
  done
  echo "true ($backend), ms per run:$total"
done
BOTTLE_HOME=$work/home "$bottle" doctor --backend vm | awk '$2 == "accelerator"'

# Memory: QEMU's VmRSS while the agent sleeps (the guest's 1G is mapped, not resident).
run --backend vm -- sleep 20 2>/dev/null &
runner=$!
rss=""
for _ in $(seq 200); do
  pid=$(pgrep -f "qemu-system-x86_64 .*$work/home/state" | head -n1 || true)
  if [ -n "$pid" ] && [ -e "$work/home/state" ] && ls "$work"/home/state/*/vm/boot/started >/dev/null 2>&1; then
    sleep 2  # let the agent settle: this samples a steady state, not readiness
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    vfs=$(pgrep -f "virtiofsd .*$work/home/state" | xargs -r -I{} awk '/VmRSS/ {print $2}' /proc/{}/status | paste -sd+ | bc)
    break
  fi
  sleep 0.1
done
wait "$runner" || true
echo "memory: qemu VmRSS ${rss:-?} KiB, virtiofsd VmRSS ${vfs:-?} KiB (guest memory 1G)"

# Throughput: one curl in the guest, $requests requests over one proxy connection.
urls=$(for i in $(seq "$requests"); do printf -- '-o /dev/null http://up.bench:%s/r%s ' "$port" "$i"; done)
out=$(run --backend vm -- bash -c "start=\$(date +%s%N); curl -s -w '%{http_code}\n' $urls | sort | uniq -c; echo ms=\$(( (\$(date +%s%N) - start) / 1000000 ))" 2>/dev/null)
echo "$out" | sed 's/^/guest: /'
ms_total=$(echo "$out" | awk -F= '/^ms=/ {print $2}')
echo "requests from the guest: $requests in ${ms_total} ms = $(( requests * 1000 / (ms_total > 0 ? ms_total : 1) )) req/s"
out=$(run --backend local -- bash -c "start=\$(date +%s%N); curl -s -w '%{http_code}\n' $urls | sort | uniq -c; echo ms=\$(( (\$(date +%s%N) - start) / 1000000 ))" 2>/dev/null)
ms_total=$(echo "$out" | awk -F= '/^ms=/ {print $2}')
echo "requests from local: $requests in ${ms_total} ms = $(( requests * 1000 / (ms_total > 0 ? ms_total : 1) )) req/s"
