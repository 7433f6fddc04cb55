#!/usr/bin/env bash
# What the sandbox's workspace work costs a `bottle run` (issue 10 items 2-3): sharing the
# workspace with a bottle uid (an ACL entry per directory and file, revoked at exit), the
# git scans and the setuid sweep all walk the tree. Times `bottle run -- true` on a
# root-owned workspace of N files (in directories of 100), as plain root (bottle uid) and
# as if under sudo (SUDO_UID: no ACL walk). Needs root and a built tree.
#   bench/orchestrator/workspace_overhead.sh [build-dir] [sizes...]
set -euo pipefail
build=${1:-build}
shift || true
sizes=("${@:-0 10000 50000}")
bottle=$(realpath "$build/orchestrator/bottle")
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
home=$(mktemp -d /tmp/bottle-bench-XXXXXX)
trap 'rm -rf "$home"' EXIT
mkdir -p "$home/bottles" "$home/agents"
printf -- '---\nsupervise: false\n---\n' >"$home/bottles/b.md"
printf -- '---\nbottle: b\nprovider: command\n---\n' >"$home/agents/a.md"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
one_run() {  # milliseconds for one `bottle run -- true`
  local start end
  start=$(date +%s%N)
  env BOTTLE_HOME="$home" "$@" "$bottle" run a --cwd "$ws" -- true >/dev/null 2>&1
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}

printf '| files | bottle uid (ACL) | under sudo (no ACL) |\n|--:|--:|--:|\n'
for n in ${sizes[@]}; do
  ws="$home/ws-$n"
  mkdir -p "$ws"
  for ((d = 0; d * 100 < n; d++)); do
    mkdir -p "$ws/d$d"
    (cd "$ws/d$d" && touch $(seq -f "f%g" 1 $((n - d * 100 < 100 ? n - d * 100 : 100))))
  done
  git -C "$ws" init -q
  acl=$(for i in 1 2 3; do one_run; done | median)
  sudo=$(for i in 1 2 3; do one_run SUDO_UID=4242 SUDO_GID=4242; done | median)
  printf '| %d | %d ms | %d ms |\n' "$n" "$acl" "$sudo"
done
