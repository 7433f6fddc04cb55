#!/usr/bin/env bash
# docker/lint passes our Dockerfiles and catches each rule it claims to check: every case
# in lint_cases/ must fail with exactly the expected `file:line: rule` findings.
set -euo pipefail
repo=$1
lint="$repo/docker/lint"
cases="$repo/tests/docker/lint_cases"
fail=0
"$lint" "$repo"/docker/Dockerfile.* || { echo "FAIL: our Dockerfiles do not pass docker/lint"; fail=1; }
expect() {  # case, then expected "line: rule" findings
  local file="$cases/$1"; shift
  local out
  if out=$("$lint" "$file"); then echo "FAIL: $1 passed the lint"; fail=1; return; fi
  local want
  want=$(for f in "$@"; do echo "$file:$f"; done)
  local got
  got=$(printf '%s\n' "$out" | sed -E 's/^([^:]*:[0-9]+: [a-z-]+):.*/\1/')
  if [ "$got" != "$want" ]; then
    echo "FAIL: $1: expected"; echo "$want"; echo "got"; echo "$out"; fail=1
  fi
}
expect unpinned_base.Dockerfile "1: pinned-base"
expect latest_via_arg.Dockerfile "2: pinned-base"
expect add_url.Dockerfile "3: add-url"
expect root_user.Dockerfile "4: root-user"
expect apt_hygiene.Dockerfile "3: apt-hygiene" "3: apt-hygiene"
expect pipe_to_shell.Dockerfile "3: pipe-to-shell"
expect no_labels.Dockerfile "1: oci-labels" "1: oci-labels" "1: oci-labels"
expect secret_env.Dockerfile "3: secret-in-env"
# Usage errors are 2, not a pass.
set +e
"$lint" >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL: no arguments is not exit 2"; fail=1; }
set -e
[ $fail -eq 0 ] && echo "docker/lint: all cases as expected"
exit $fail
