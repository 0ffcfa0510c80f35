#!/usr/bin/env bash
# task_counts.sh: the simulator's task-graph size (tasks in all, transfer
# tasks, synchronisation tasks), its peak resident memory (KiB, from
# /usr/bin/time -v) and the simulated iteration time (seconds) of the
# built-in strategies of every paper model on k80x64 with 64 devices, for
# two builds of soap side by side (e.g. before and after a change to the
# task graph), as tidy CSV with '#' provenance lines.
#
# usage: experiments/task_counts.sh BEFORE_SOAP AFTER_SOAP [out.csv]
#   TASK_MODELS (the seven paper models), TASK_STRATEGIES (owt expert data
#   model random/1 random/2; NAME/SEED is strategy NAME with --seed SEED:
#   random strategies put several tasks of an op on one device, which the
#   built-in ones at 64 devices never do), TASK_TIMEOUT (seconds per run, default 600; a run past it is
#   written as "timeout"), BEFORE_COMMIT / AFTER_COMMIT (commits the two
#   builds were made from, for the provenance lines).
# Runs one simulation at a time (peak memory is per process). Writes through
# a temporary file, so an interrupted run leaves the old file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 2 ]; then
    echo "usage: $0 BEFORE_SOAP AFTER_SOAP [out.csv]" >&2
    exit 2
fi
before=$1
after=$2
out=${3:-$root/experiments/results/bench/task_counts_k80x64.csv}
models=${TASK_MODELS:-"nmt rnnlm transformer inception_v3 alexnet resnet101 rnntc"}
strategies=${TASK_STRATEGIES:-"owt expert data model random/1 random/2"}
limit=${TASK_TIMEOUT:-600}
machine=k80x64
devices=64

# One run: prints "tasks,comm,sync,rss_kib,iteration_s" (or timeouts).
measure() {
    local soap=$1 model=$2 strategy=${3%%/*} seed=0 json err
    case $3 in */*) seed=${3#*/} ;; esac
    json=$(mktemp)
    err=$(mktemp)
    if timeout "$limit" /usr/bin/time -v "$soap" simulate --model "$model" \
        --machine "$machine" --devices "$devices" --strategy "$strategy" --seed "$seed" --json \
        >"$json" 2>"$err"; then
        local rss
        rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$err")
        jq -r --arg rss "$rss" \
            '[.tasks.total, .tasks.comm, .tasks.sync, $rss, .iteration_time_s] | @csv' \
            "$json" | tr -d '"'
    else
        echo "timeout,timeout,timeout,timeout,timeout"
    fi
    rm -f "$json" "$err"
}

tmp=$(mktemp "$out.XXXXXX")
{
    echo "# task_counts.sh: simulator task graph size before/after, $machine/$devices devices"
    echo "# before: $before (commit ${BEFORE_COMMIT:-unknown})"
    echo "# after: $after (commit ${AFTER_COMMIT:-$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)})"
    echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# machine: $(uname -n) $(uname -m), $(nproc) cores, shared VM (memory and time are indicative)"
    echo "# command: $0 $*"
    echo "model,strategy,tasks_before,comm_before,sync_before,rss_kib_before,iteration_s_before,tasks_after,comm_after,sync_after,rss_kib_after,iteration_s_after"
    for model in $models; do
        for strategy in $strategies; do
            b=$(measure "$before" "$model" "$strategy")
            a=$(measure "$after" "$model" "$strategy")
            echo "$model,$strategy,$b,$a"
        done
    done
} >"$tmp"
mv "$tmp" "$out"
echo "wrote $out"
