#!/usr/bin/env bash
# The main job of `make bench`: runs every benchmark built from tests/bench/*.c
# (a Release build) and leaves a CSV per benchmark beside it, with '#'
# provenance lines (commit, date, machine) at the top.
#
# Usage: scripts/bench.sh [build-dir]      (default: build-bench)
#   SOAP_BENCH_SECONDS=S  a quick look: bench_sim's seconds per measurement
#                         (default 1 s); for bench_search, whose budget is a
#                         proposal count (2,000 per search), a wall-clock cap
#                         per search on top of it (a capped search runs fewer
#                         proposals: its row says how many, status "capped").
# Every benchmark takes: --commit C [--seconds S] CSV
set -euo pipefail
build=${1:-build-bench}
root=$(cd "$(dirname "$0")/.." && pwd)

# The commit measured; "-dirty" when the working tree differs from it, so a
# CSV never claims a commit whose code it did not time.
commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && ! git -C "$root" diff --quiet HEAD -- 2>/dev/null; then
  commit="$commit-dirty"
fi

extra=()
if [ -n "${SOAP_BENCH_SECONDS:-}" ]; then
  extra=(--seconds "$SOAP_BENCH_SECONDS")
fi

status=0
shopt -s nullglob
for src in "$root"/tests/bench/*.c; do
  name=$(basename "$src" .c)
  exe=$build/$name
  if [ ! -x "$exe" ]; then
    echo "bench.sh: $exe not built (run 'make bench')" >&2
    status=1
    continue
  fi
  echo "== $name"
  "$exe" --commit "$commit" ${extra[@]+"${extra[@]}"} "$build/$name.csv" || status=1
  echo
done
exit $status
