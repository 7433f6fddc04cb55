#!/usr/bin/env bash
# scripts/install-deps installs packages and nothing more. With a dpkg-query that reports
# nothing installed, --dry-run walks the whole install path and prints every command it
# would run: each must be an apt-get call, and no service may be stopped, started,
# enabled or disabled.
set -euo pipefail
repo=$1
fake=$(mktemp -d)
trap 'rm -rf "$fake"' EXIT
cat >"$fake/dpkg-query" <<'SH'
#!/bin/sh
exit 1
SH
chmod +x "$fake/dpkg-query"
out=$(PATH="$fake:$PATH" "$repo/scripts/install-deps" --dry-run)
echo "$out"
commands=$(printf '%s\n' "$out" | grep '^+ ' || true)
[ -n "$commands" ] || { echo "FAIL: --dry-run printed no command"; exit 1; }
bad=$(printf '%s\n' "$commands" | grep -Ev '^\+ (sudo )?apt-get (update|install) ' || true)
if [ -n "$bad" ]; then echo "FAIL: commands other than apt-get:"; echo "$bad"; exit 1; fi
if printf '%s\n' "$out" | grep -Eqw 'systemctl|service|pkill|killall|kill|invoke-rc.d'; then
  echo "FAIL: install-deps touches services"; exit 1
fi
for p in nginx-light squid-openssl openssh-server; do
  printf '%s\n' "$commands" | grep -qw -- "$p" || { echo "FAIL: $p not installed"; exit 1; }
done
# And for real: nothing in the script itself runs a service manager.
if grep -Eqw 'systemctl|pkill|killall|invoke-rc.d' "$repo/scripts/install-deps"; then
  echo "FAIL: scripts/install-deps mentions a service manager"; exit 1
fi
echo "ok: install-deps only installs packages"
