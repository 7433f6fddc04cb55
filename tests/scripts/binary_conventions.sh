#!/usr/bin/env bash
# Every binary follows one convention (SPEC §3): `--version` prints "<name> <version>
# (commit <hash>)" and exits 0; `--help` exits 0; an unknown flag exits 2 with one line on
# stderr, "<name>: ...". Usage: binary_conventions.sh BINARY...
set -uo pipefail
failed=0
bad() { echo "FAIL: $*" >&2; failed=1; }
for bin in "$@"; do
  name=$(basename "$bin")
  out=$("$bin" --version 2>/dev/null); code=$?
  [ $code -eq 0 ] || bad "$name --version exited $code"
  [[ "$out" =~ ^$name\ [0-9]+\.[0-9]+\.[0-9]+\ \(commit\ ([0-9a-f]{12}(-dirty)?|unknown)\)$ ]] ||
    bad "$name --version printed '$out'"
  "$bin" --help >/dev/null 2>&1 || bad "$name --help exited $?"
  err=$("$bin" --no-such-flag 2>&1 >/dev/null); code=$?
  [ $code -eq 2 ] || bad "$name --no-such-flag exited $code (want 2)"
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || bad "$name: usage error is not one line: $err"
  [[ "$err" == "$name: "* ]] || bad "$name: usage error does not start with '$name: ': $err"
done
[ $failed -eq 0 ] && echo "ok: $# binaries follow the convention"
exit $failed
