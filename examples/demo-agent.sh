#!/bin/sh
# What the demo agent does inside the bottle (examples/demo.sh copies it into the
# workspace): five requests, each command printed before it runs. Usage: demo-agent.sh PORT
port=$1
say() { printf '\n== %s\n' "$1"; }
show() { printf '$ %s\n' "$1"; }

say "1. allowed: HTTPS to upstream.demo through egress's TLS bump, token injected by egress"
show "curl -sS -v https://upstream.demo:$port/hello"
curl -sS -v "https://upstream.demo:$port/hello" 2>curl.err
echo "(the upstream echoes the Authorization it received: egress put it there)"
echo "the certificate the agent saw (from the bottle's own CA):"
sed -n 's/^\*  *\(subject\|issuer\): /   \1: /p' curl.err

say "2. blocked: a host that is not in the routes"
show "curl -sS https://blocked.demo/"
curl -sS https://blocked.demo/ 2>&1

say "3. blocked: a secret in a POST body (outbound DLP)"
show "curl -sS --data-binary 'aws_access_key_id=AKIASYWXGTB4G7DBXZVV' https://upstream.demo:$port/upload"
curl -sS --data-binary 'aws_access_key_id=AKIASYWXGTB4G7DBXZVV' "https://upstream.demo:$port/upload"
echo

say "4. cut: a response carrying a prompt injection (inbound DLP)"
show "curl -sS https://upstream.demo:$port/injected"
curl -sS "https://upstream.demo:$port/injected" 2>&1
echo "(egress cut the response: none of it reached the agent)"

say "5. direct TCP, around the proxy, to 192.0.2.1 (TEST-NET-1: never a real host)"
show "curl -sS --noproxy '*' --max-time 3 http://192.0.2.1/"
curl -sS --noproxy '*' --max-time 3 http://192.0.2.1/ 2>&1
echo

# "[t]" keeps the pattern from matching this script's own text.
echo
echo "copies of the upstream token visible inside the bottle (env, /proc): $(
  { env; cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null; } | grep -ac "demo-secre[t]")"
