#!/bin/bash
# Side-by-side proxy benchmark on loopback: the same client (bottle-loadgen) fetches from
# a local nginx over HTTPS directly and through each TLS-intercepting proxy.
#
#   bench/proxy/run.sh [--quick] [--build DIR] [--egress PATH] [--egress-threads N] [--only a,b,...]
#                      [--out FILE] [--keep] [--check]
#
# --egress-threads: bottle-egress event loops (default 1: one worker, like every other
# process in the run; see README.md). 0 = the proxy's own default (one per core).
# --check: exit 1 unless every proxy that ran served all its requests without error (the
# ctest smoke test uses it).
#
# Scenarios per proxy: keep-alive small GETs (req/s, p50/p99), a 10 MB download (MB/s),
# one GET per connection (new CONNECT + TLS handshakes: connections/s), and h2 (h2load,
# many streams on a few connections, through bottle-connect-relay), with the proxy's CPU
# seconds and peak RSS (whole process tree, from /proc).
# A proxy that is missing or fails to start is skipped with the reason. Needs root (or
# user namespaces): it runs in a private mount namespace so that bench.test resolves to
# 127.0.0.1 via a bind-mounted /etc/hosts, for proxies that have no --resolve flag.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "bench/proxy/run.sh: $*" >&2; exit 1; }

QUICK=0 KEEP=0 CHECK=0 BUILD="" EGRESS="" EGRESS_THREADS=1 ONLY="direct,mitmproxy,squid,bottle-egress,bottle-egress-nodlp" OUT=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    --keep) KEEP=1 ;;
    --check) CHECK=1 ;;
    --build) BUILD=${2:?--build needs a directory}; shift ;;
    --egress) EGRESS=${2:?--egress needs a path}; shift ;;
    --egress-threads) EGRESS_THREADS=${2:?--egress-threads needs a number}; shift ;;
    --only) ONLY=${2:?--only needs a list}; shift ;;
    --out) OUT=${2:?--out needs a file}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench/proxy/run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

# Re-enter in a private mount namespace (see header); the flag keeps it from looping.
if [ -z "${BOTTLE_BENCH_NS:-}" ]; then
  args=()
  [ "$QUICK" = 1 ] && args+=(--quick)
  [ "$KEEP" = 1 ] && args+=(--keep)
  [ "$CHECK" = 1 ] && args+=(--check)
  [ -n "$BUILD" ] && args+=(--build "$BUILD")
  [ -n "$EGRESS" ] && args+=(--egress "$EGRESS")
  args+=(--egress-threads "$EGRESS_THREADS")
  [ -n "$OUT" ] && args+=(--out "$OUT")
  args+=(--only "$ONLY")
  unshare_flags=(--mount --propagation private)
  [ "$(id -u)" = 0 ] || unshare_flags+=(--map-root-user)
  BOTTLE_BENCH_NS=1 exec unshare "${unshare_flags[@]}" "$0" "${args[@]}"
fi

if [ "$QUICK" = 1 ]; then SECONDS_PER=3 CONNS=4; else SECONDS_PER=10 CONNS=16; fi
[[ "$EGRESS_THREADS" =~ ^[0-9]+$ ]] || { echo "bench/proxy/run.sh: --egress-threads: not a number: $EGRESS_THREADS" >&2; exit 2; }

# Find the loadgen (and bottle-egress) in the given build dir or any build*/ under the repo.
find_binary() {
  local rel=$1 d
  for d in ${BUILD:+"$BUILD"} "$REPO"/build "$REPO"/build*; do
    [ -x "$d/$rel" ] && { echo "$d/$rel"; return 0; }
  done
  return 1
}
LOADGEN=$(find_binary bench/proxy/bottle-loadgen) ||
  die "bottle-loadgen not built: cmake --build <build dir> --target bottle-loadgen (or pass --build DIR)"
# h2load (Debian's nghttp2-client) has no proxy support: bottle-connect-relay gives it a
# local port that is a CONNECT tunnel through the proxy under test.
RELAY=$(find_binary tests/proxy/bottle-connect-relay || true)
H2LOAD=$(command -v h2load || true)
[ -n "$EGRESS" ] || EGRESS=$(find_binary proxy/bottle-egress || true)
command -v nginx >/dev/null || die "nginx not installed (apt-get install nginx-light)"
command -v openssl >/dev/null || die "openssl CLI not installed (apt-get install openssl)"

WORK=$(mktemp -d /tmp/bottle-proxybench.XXXXXX)
chmod 755 "$WORK"  # squid's worker runs as 'proxy' and must reach its files in here
NGINX_PID="" PROXY_PID=""
cleanup() {
  [ -z "$PROXY_PID" ] || stop_pid "$PROXY_PID"
  [ -z "$NGINX_PID" ] || stop_pid "$NGINX_PID"
  if [ "$KEEP" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_ready PORT PID [FILE]: until PORT accepts (and FILE exists), or PID dies, or 20 s.
wait_ready() {
  local port=$1 pid=$2 file=${3:-} i
  for i in $(seq 200); do
    if ! kill -0 "$pid" 2>/dev/null; then SKIP_REASON="exited during startup"; return 1; fi
    if { [ -z "$file" ] || [ -s "$file" ]; } && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  SKIP_REASON="not listening on 127.0.0.1:$port after 20 s"
  return 1
}

source "$HERE/certs.sh"
source "$HERE/proxies.sh"

# --- upstream: nginx over HTTPS with a certificate from our test CA -------------------
TEST_CA=$WORK/test-ca
mint_ca "$TEST_CA" "bench test CA" || die "minting the test CA failed"
mint_server_cert "$TEST_CA" bench.test "$WORK/upstream" || die "minting the bench.test certificate failed"
mkdir -p "$WORK/www" "$WORK/nginx/logs"
head -c 128 /dev/zero | tr '\0' 'x' >"$WORK/www/small.txt"
head -c $((10 * 1024 * 1024)) /dev/urandom >"$WORK/www/10m.bin"
UPSTREAM_PORT=$(free_port)
cat >"$WORK/nginx/nginx.conf" <<CONF
user root;
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log error;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:$UPSTREAM_PORT ssl http2;
    server_name bench.test;
    ssl_certificate $WORK/upstream/cert.pem;
    ssl_certificate_key $WORK/upstream/key.pem;
    root $WORK/www;
  }
}
CONF
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx/stdout.log" 2>&1 &
NGINX_PID=$!
wait_ready "$UPSTREAM_PORT" "$NGINX_PID" ||
  die "nginx: $SKIP_REASON: $(tail -3 "$WORK/nginx/error.log" "$WORK/nginx/stdout.log" 2>/dev/null | tr '\n' ' ')"

# Proxies without a --resolve flag find bench.test through /etc/hosts, in this namespace only.
printf '127.0.0.1 localhost\n127.0.0.1 bench.test\n::1 localhost\n' >"$WORK/hosts"
mount --bind "$WORK/hosts" /etc/hosts || die "cannot bind-mount /etc/hosts (needs root or user namespaces)"

RESULTS=$WORK/results.jsonl
: >"$RESULTS"

# scenario PROXY_NAME SCENARIO PROXY_PID CA LOADGEN_ARGS...: one bounded loadgen run,
# with the proxy's CPU delta and peak RSS, appended to $RESULTS.
scenario() {
  local name=$1 what=$2 pid=$3 ca=$4 before after out
  shift 4
  before=$([ "$pid" = - ] && echo '{}' || "$HERE/procstat.py" "$pid")
  out=$(timeout -k 2 $((SECONDS_PER + 15)) "$LOADGEN" --host bench.test --port "$UPSTREAM_PORT" --ca "$ca" \
          --seconds "$SECONDS_PER" "$@" 2>"$WORK/loadgen.err") ||
    out=${out:-"{\"requests\":0,\"errors\":1,\"first_error\":\"loadgen failed: $(tr -d '"\n' <"$WORK/loadgen.err")\"}"}
  after=$([ "$pid" = - ] && echo '{}' || "$HERE/procstat.py" "$pid" 2>/dev/null || echo '{}')
  /usr/bin/python3 - "$name" "$what" "$out" "$before" "$after" >>"$RESULTS" <<'PY'
import json, sys
name, what, out, before, after = sys.argv[1:]
r = json.loads(out)
b, a = json.loads(before), json.loads(after)
r.update(proxy=name, scenario=what)
if "cpu_s" in a and "cpu_s" in b:
    r["proxy_cpu_s"] = round(a["cpu_s"] - b["cpu_s"], 2)
    r["proxy_hwm_mb"] = a["hwm_mb"]
print(json.dumps(r))
PY
  echo "  $what: $(tail -1 "$RESULTS" | cut -c1-200)" >&2
}

skip() {
  echo "{\"proxy\":\"$1\",\"scenario\":\"small\",\"skipped\":\"$(echo "$2" | tr -d '"\\' | tr '\n' ' ')\"}" >>"$RESULTS"
  echo "  skipped: $2" >&2
}

# scenario_h2 PROXY_NAME PROXY_PID RELAY_ARGS...: h2load, H2_CONNS connections with
# H2_STREAMS concurrent streams each, GET 128 B for SECONDS_PER; through a relay unless
# RELAY_ARGS is "-" (direct to nginx).
H2_CONNS=4 H2_STREAMS=32
scenario_h2() {
  local name=$1 pid=$2 before after out relay_pid="" connect_to=()
  shift 2
  if [ -z "$H2LOAD" ] || [ -z "$RELAY" ]; then
    echo "{\"proxy\":\"$name\",\"scenario\":\"h2\",\"skipped\":\"h2load (nghttp2-client) or bottle-connect-relay missing\"}" >>"$RESULTS"
    return
  fi
  if [ "$1" != - ]; then
    # Removed first: the shell truncates the file only once the child runs, and the loop
    # below must not read the previous relay's port meanwhile.
    rm -f "$WORK/relay.port"
    "$RELAY" "$@" >"$WORK/relay.port" 2>"$WORK/relay.err" &
    relay_pid=$!
    for _ in $(seq 200); do [ -s "$WORK/relay.port" ] && break; sleep 0.1; done
    if [ ! -s "$WORK/relay.port" ]; then
      echo "{\"proxy\":\"$name\",\"scenario\":\"h2\",\"requests\":0,\"errors\":1,\"first_error\":\"bottle-connect-relay did not start in 20 s\"}" >>"$RESULTS"
      stop_pid "$relay_pid"
      return
    fi
    connect_to=(--connect-to "127.0.0.1:$(cat "$WORK/relay.port")")
  fi
  before=$([ "$pid" = - ] && echo '{}' || "$HERE/procstat.py" "$pid")
  out=$(timeout -k 2 $((SECONDS_PER + 20)) "$H2LOAD" -c "$H2_CONNS" -m "$H2_STREAMS" -D "$SECONDS_PER" \
          --warm-up-time 1 "${connect_to[@]}" "https://bench.test:$UPSTREAM_PORT/small.txt" 2>&1) || true
  printf '%s\n' "$out" >"$WORK/h2load-$name.log"
  after=$([ "$pid" = - ] && echo '{}' || "$HERE/procstat.py" "$pid" 2>/dev/null || echo '{}')
  [ -z "$relay_pid" ] || stop_pid "$relay_pid"
  /usr/bin/python3 - "$name" "$out" "$before" "$after" "$SECONDS_PER" >>"$RESULTS" <<'PY'
import json, re, sys
name, out, before, after, seconds = sys.argv[1:]
r = {"proxy": name, "scenario": "h2"}
m = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", out)
if m:
    r["requests"] = int(m.group(3))
    r["errors"] = int(m.group(4)) + int(m.group(5))
    r["rps"] = round(int(m.group(3)) / float(seconds), 1)
    if r["requests"] == 0:  # no session came up (h2load counts nothing as failed then)
        r["errors"] = max(r["errors"], 1)
        r["first_error"] = "h2load: nothing done: " + " | ".join(
            l.strip() for l in out.splitlines() if "rror" in l or "fail" in l.lower())[:160]
else:
    r.update(requests=0, errors=1, first_error="h2load: " + out.strip().splitlines()[-1][:120] if out.strip() else "h2load: no output")
m = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", out)
if m:
    v = m.group(3)
    r["mean_ms"] = float(v[:-2]) if v.endswith("ms") else float(v[:-2]) / 1000 if v.endswith("us") else float(v[:-1]) * 1000
m = re.search(r"Application protocol: (\S+)", out)
r["protocol"] = m.group(1) if m else "none"
b, a = json.loads(before), json.loads(after)
if "cpu_s" in a and "cpu_s" in b:
    r["proxy_cpu_s"] = round(a["cpu_s"] - b["cpu_s"], 2)
    r["proxy_hwm_mb"] = a["hwm_mb"]
print(json.dumps(r))
PY
  echo "  h2: $(tail -1 "$RESULTS" | cut -c1-200)" >&2
}

both_scenarios() {
  local name=$1 pid=$2 ca=$3
  shift 3
  scenario "$name" small "$pid" "$ca" --path /small.txt --connections "$CONNS" "$@"
  scenario "$name" bulk "$pid" "$ca" --path /10m.bin --connections 1 "$@"
  scenario "$name" handshake "$pid" "$ca" --path /small.txt --connections 4 --requests-per-connection 1 "$@"
}

IFS=, read -r -a selected <<<"$ONLY"
for name in "${selected[@]}"; do
  echo "== $name" >&2
  if [ "$name" = direct ]; then
    both_scenarios direct - "$TEST_CA/ca.pem" --dial "127.0.0.1:$UPSTREAM_PORT"
    scenario_h2 direct - -
    # The same extra hop the proxies pay for (a relay process), without a proxy behind it.
    scenario_h2 direct-relayed - --plain --proxy "$UPSTREAM_PORT"
    continue
  fi
  fn=start_${name//-/_}
  declare -F "$fn" >/dev/null || { skip "$name" "unknown proxy (known: direct,mitmproxy,squid,bottle-egress,bottle-egress-nodlp)"; continue; }
  SKIP_REASON="" PROXY_PID="" PROXY_LOG=/dev/null
  if ! $fn; then
    reason="$SKIP_REASON"
    [ -s "$PROXY_LOG" ] && reason="$reason: $(tail -2 "$PROXY_LOG" | tr '\n' ' ' | cut -c1-200)"
    [ -z "$PROXY_PID" ] || stop_pid "$PROXY_PID"
    PROXY_PID=""
    skip "$name" "$reason"
    continue
  fi
  both_scenarios "$name" "$PROXY_PID" "$PROXY_CA" --proxy "127.0.0.1:$PROXY_PORT"
  scenario_h2 "$name" "$PROXY_PID" --proxy "$PROXY_PORT" --authority "bench.test:$UPSTREAM_PORT"
  stop_pid "$PROXY_PID"
  PROXY_PID=""
done

echo >&2
{
  echo "Loopback, $(nproc) cores, ${SECONDS_PER}s per scenario, small = ${CONNS} keep-alive connections" \
       "GET 128 B, bulk = 1 connection GET 10 MiB, handshake = 4 connections, 1 GET each;" \
       "h2 = h2load, $H2_CONNS connections x $H2_STREAMS streams, GET 128 B;" \
       "bottle-egress --threads $([ "$EGRESS_THREADS" = 0 ] && echo "default ($(nproc))" || echo "$EGRESS_THREADS");" \
       "$(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  "$HERE/report.py" "$RESULTS"
} | tee ${OUT:+"$OUT"}

if [ "$CHECK" = 1 ]; then
  /usr/bin/python3 - "$RESULTS" <<'PY' || exit 1
import json, sys
bad = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "skipped" not in r and (r.get("requests", 0) == 0 or r.get("errors", 0) > 0):
        bad.append(f"{r['proxy']}/{r['scenario']}: {r.get('requests', 0)} ok, {r.get('errors', 0)} errors "
                   f"({r.get('first_error', '')})")
if bad:
    sys.exit("bench/proxy/run.sh: check failed: " + "; ".join(bad))
PY
fi
