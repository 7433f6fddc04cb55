#!/usr/bin/env bash
# The main job in one command: start a bottle whose only route is a local HTTPS upstream
# (with its own test CA, trusted by egress through upstream_ca) and show, one step at a
# time, what egress lets through and what it stops (examples/demo-agent.sh), then the
# evidence `bottle logs --blocks` keeps.
#
# Needs root (network namespaces), a built tree (bottle, bottle-egress, bottle-init),
# python3, openssl and curl. Usage: examples/demo.sh [path/to/bottle]
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

# The upstream's own CA and certificate: a stand-in for a public site's PKI.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj "/CN=demo upstream CA" -keyout "$home/upstream-ca.key" -out "$home/upstream-ca.pem" \
  2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=upstream.demo" \
  -keyout "$home/upstream.key" -out "$home/upstream.csr" 2>/dev/null
printf 'subjectAltName=DNS:upstream.demo\n' >"$home/san.ext"
openssl x509 -req -in "$home/upstream.csr" -CA "$home/upstream-ca.pem" \
  -CAkey "$home/upstream-ca.key" -CAcreateserial -days 1 -extfile "$home/san.ext" \
  -out "$home/upstream.pem" 2>/dev/null

# The upstream listens on the host's loopback; only egress (host namespace) reaches it.
coproc UPSTREAM { exec python3 "$here/upstream.py" 0 "$home/upstream.pem" "$home/upstream.key" 2>/dev/null; }
upstream_pid=$UPSTREAM_PID
read -r word port <&"${UPSTREAM[0]}" || true  # "ready <port>": bound and serving
[ "${word:-}" = ready ] || { echo "demo: upstream did not start" >&2; exit 1; }

# The example manifests name port 18443 and a fixed CA path; this run uses its own.
mkdir -p "$home/bottles" "$home/agents" "$home/workspace"
sed -e "s/18443/$port/g" -e "s|/tmp/bottle-demo/upstream-ca.pem|$home/upstream-ca.pem|" \
  "$here/bottles/demo.md" >"$home/bottles/demo.md"
sed "s/18443/$port/g" "$here/agents/demo.md" >"$home/agents/demo.md"
cp "$here/demo-agent.sh" "$home/workspace/"

export BOTTLE_HOME="$home"
export DEMO_UPSTREAM_TOKEN="demo-secret-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"

echo "\$ bottle run demo --label demo -- sh demo-agent.sh $port"
set +e
"$bottle" run demo --label demo --cwd "$home/workspace" -- sh demo-agent.sh "$port" 2>"$home/run.err"
status=$?
set -e
[ "$status" -eq 0 ] || { cat "$home/run.err" >&2; echo "demo: the agent exited with $status" >&2; }
echo
echo "== the evidence egress kept (secrets redacted)"
echo "\$ bottle logs demo --blocks"
"$bottle" logs demo --blocks
exit $status
