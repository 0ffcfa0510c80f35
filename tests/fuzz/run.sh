#!/usr/bin/env bash
# run.sh: runs every libFuzzer target of tests/fuzz/seeds.txt for a while
# and fails if any of them crashes (a crash, a sanitizer report, a leak, a
# time-out or running out of memory).
#
# Usage: tests/fuzz/run.sh BUILD_DIR [SECONDS per target, default 60]
# (after `cmake -DSOAP_FUZZ=ON` and building the target soap_fuzzers in
# BUILD_DIR: `make fuzz` does all of it).
#
# Each target reads its seeds (seeds.txt) and regression inputs
# (regress/<target>) and writes the inputs it finds new coverage with to
# BUILD_DIR/fuzz/corpus/<target>, which the next run starts from; the
# folders of the repository are only read. A crashing input is saved as
# BUILD_DIR/fuzz/crashes/<target>/crash-<sha1> (or leak-, timeout-, oom-):
# copy it to tests/fuzz/regress/<target>/ once the loader is fixed, so that
# `make test` replays it. The log of each target is BUILD_DIR/fuzz/<target>.log.
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 BUILD_DIR [SECONDS]" >&2
    exit 2
fi
build=$1
seconds=${2:-60}
case $seconds in
'' | *[!0-9]*) echo "fuzz: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;;
esac

# The targets' input files (fuzz_util.h) go to a private folder on tmpfs where
# there is one: on a disk each rewrite costs a file-system round trip, and
# the rate fell from ~10,000 to ~400 executions per second. The folder is
# removed at the end, with any file that a crash left behind.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    tmp=$(mktemp -d /dev/shm/soap-fuzz.XXXXXX)
else
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/soap-fuzz.XXXXXX")
fi
trap 'rm -rf "$tmp"' EXIT
export TMPDIR=$tmp

# time-out per input 10 s (the loaders take milliseconds), memory 2 GiB.
flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
failed=()
summary=()
while read -r target seeds; do
    case $target in '' | '#'*) continue ;; esac
    exe=$build/fuzz_$target
    if [ ! -x "$exe" ]; then
        echo "fuzz: $exe is missing: build the target soap_fuzzers with -DSOAP_FUZZ=ON" >&2
        exit 2
    fi
    work=$build/fuzz/corpus/$target
    crashes=$build/fuzz/crashes/$target
    log=$build/fuzz/$target.log
    mkdir -p "$work" "$crashes"
    echo "fuzz: $target for ${seconds}s (log $log)"
    # shellcheck disable=SC2086  # seeds: a list of folders
    "$exe" "${flags[@]}" -artifact_prefix="$crashes/" "$work" $seeds \
        "tests/fuzz/regress/$target" >"$log" 2>&1
    rc=$?
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
    line=$(printf '%-9s %12s executions %8s/s  corpus %s inputs  peak %s MB' "$target" \
        "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" \
        "$(find "$work" -type f | wc -l)" "$(stat peak_rss_mb)")
    if [ $rc -ne 0 ]; then
        failed+=("$target")
        line="$line  CRASHED (exit status $rc)"
        echo "fuzz: $target crashed; the end of its log:" >&2
        tail -n 60 "$log" >&2
        ls "$crashes"/* 2>/dev/null | sed 's/^/fuzz: crashing input: /' >&2
    fi
    summary+=("$line")
done <tests/fuzz/seeds.txt

echo "fuzz: summary (${seconds}s per target)"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashes in: ${failed[*]} (inputs under $build/fuzz/crashes/)" >&2
    exit 1
fi
