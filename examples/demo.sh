#!/usr/bin/env bash
# The main job in one command: start a bottle whose only route is a local upstream,
# run an agent command in it, and show one allowed request (with the credential
# injected by egress, never visible to the agent) and one blocked request.
#
# Needs root (network namespaces), a built tree (bottle, bottle-egress, bottle-init)
# and python3. Usage: examples/demo.sh [path/to/bottle]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
bottle="${1:-${BOTTLE_BIN:-$(command -v bottle || echo "$here/../build/orchestrator/bottle")}}"
[ -x "$bottle" ] || { echo "demo: bottle binary not found (pass its path)" >&2; exit 1; }

home="$(mktemp -d /tmp/bottle-demo-XXXXXX)"
upstream_pid=""
cleanup() {
  [ -n "$upstream_pid" ] && kill "$upstream_pid" 2>/dev/null || true
  BOTTLE_HOME="$home" "$bottle" cleanup >/dev/null 2>&1 || true
  rm -rf "$home"
}
trap cleanup EXIT

# The upstream listens on the host's loopback; only egress (host namespace) reaches it.
coproc UPSTREAM { exec python3 "$here/upstream.py" 0; }
upstream_pid=$UPSTREAM_PID
read -r word port <&"${UPSTREAM[0]}" || true  # "ready <port>": bound and serving
[ "${word:-}" = ready ] || { echo "demo: upstream did not start" >&2; exit 1; }

# The example manifests name port 18080; this run uses the port the upstream got.
mkdir -p "$home/bottles" "$home/agents"
sed "s/18080/$port/g" "$here/bottles/demo.md" >"$home/bottles/demo.md"
sed "s/18080/$port/g" "$here/agents/demo.md" >"$home/agents/demo.md"

export BOTTLE_HOME="$home"
export DEMO_UPSTREAM_TOKEN="demo-secret-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"

mkdir -p "$home/workspace"
echo "== bottle run demo (workspace: $home/workspace)"
set +e
"$bottle" run demo --cwd "$home/workspace" -- sh -c '
  echo "--- allowed: GET http://upstream.demo:$1/hello (egress injects the token)"
  curl -sS http://upstream.demo:$1/hello
  echo "--- blocked: GET http://blocked.demo/ (not in the routes)"
  curl -sS http://blocked.demo/
  echo
  echo "--- direct TCP to 1.1.1.1:80, bypassing the proxy"
  curl -sS --noproxy "*" --max-time 3 http://1.1.1.1/ || true
  # "[t]" keeps the pattern from matching this script text itself.
  echo "--- token values visible to the agent (env, /proc): $(
    { env; cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null; } | grep -ac "demo-secre[t]")"
' sh "$port"
status=$?
set -e
echo "== agent exited with $status"
exit $status
