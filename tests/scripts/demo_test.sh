#!/usr/bin/env bash
# The demo is a test: examples/demo.sh on the real binaries, checking the five outcomes
# it shows (issue 18) and that it stays under 10 s. Needs root (network namespaces);
# without it the test skips (exit 77), and fails under CI=true.
set -euo pipefail
repo=$1 bottle=$2
if [ "$(id -u)" -ne 0 ]; then
  echo "the demo needs root (network namespaces)"
  [ "${CI:-}" = true ] && exit 1
  exit 77
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$(date +%s%N)
"$repo/examples/demo.sh" "$bottle" >"$out" 2>&1 || { cat "$out"; echo "FAIL: demo exited non-zero"; exit 1; }
ms=$(( ($(date +%s%N) - start) / 1000000 ))
cat "$out"
fail() { echo "FAIL: $*"; exit 1; }
# The agent's part and the evidence part of the output.
agent=$(sed -n '1,/^== the evidence/p' "$out")
logs=$(sed -n '/^== the evidence/,$p' "$out" | grep '^{' || true)
step() { printf '%s\n' "$agent" | sed -n "/^== $1\\./,/^== $(( $1 + 1 ))\\./p"; }

# 1. allowed through the bump, token injected, certificate from the bottle CA
step 1 | grep -q '"authorization": "Bearer demo-secret-[0-9a-f]\{12\}"' || fail "1: no injected token"
step 1 | grep -q 'issuer: CN=bot-bottle demo' || fail "1: the agent did not see the bottle CA"
step 1 | grep -q 'subject: CN=upstream.demo' || fail "1: no leaf for upstream.demo"
# 2. blocked host
step 2 | grep -q 'CONNECT tunnel failed, response 403' || fail "2: blocked.demo was not refused"
printf '%s\n' "$logs" | grep -q '"reason":"host_not_allowed"' || fail "2: no host_not_allowed evidence"
# 3. secret in a POST body: refused, evidence redacted
step 3 | grep -q '{"error":"egress: dlp_outbound"' || fail "3: the secret was not blocked"
printf '%s\n' "$logs" | grep '"reason":"dlp_outbound"' | grep -q '"detector":"secret.aws_access_key_id"' ||
  fail "3: no dlp_outbound evidence naming the detector"
if printf '%s\n' "$logs" | grep -q 'SYWXGTB4G7DBXZVV'; then fail "3: the secret is in the log"; fi
# 4. prompt injection cut: nothing of the page reached the agent
step 4 | grep -q 'Release notes' && fail "4: the injected page reached the agent"
printf '%s\n' "$logs" | grep -q '"reason":"dlp_inbound"' || fail "4: no dlp_inbound evidence"
# 5. direct TCP to TEST-NET-1 fails (no route out of the namespace)
step 5 | grep -Eq "curl: \((7|28)\)" || fail "5: direct TCP did not fail"
grep -q 'visible inside the bottle (env, /proc): 0$' "$out" || fail "the token is visible in the bottle"
[ "$ms" -lt 10000 ] || fail "the demo took ${ms} ms (limit 10 s)"
echo "ok: the demo showed all five outcomes in ${ms} ms"
