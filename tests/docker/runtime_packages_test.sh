#!/usr/bin/env bash
# docker/runtime-packages names the Debian packages a binary links, and fails on a
# library no package owns.
set -euo pipefail
repo=$1
bin=$2
out=$("$repo/docker/runtime-packages" "$bin")
echo "$out"
for p in libc6 libstdc++6; do
  printf '%s\n' "$out" | grep -qx "$p" || { echo "FAIL: $p missing for $bin"; exit 1; }
done
if printf '%s\n' "$out" | grep -q -- '-dev$'; then echo "FAIL: a -dev package at run time"; exit 1; fi
# A library outside any package is an error, not a silently smaller image.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$(ldd "$bin" | awk '/libstdc\+\+/ {print $3}')" "$tmp/libstdc++.so.6"
if LD_LIBRARY_PATH="$tmp" "$repo/docker/runtime-packages" "$bin" 2>"$tmp/err"; then
  echo "FAIL: an unowned library passed"; exit 1
fi
grep -q "no Debian package owns" "$tmp/err" || { cat "$tmp/err"; exit 1; }
echo "runtime-packages: as expected"
