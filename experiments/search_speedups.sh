#!/usr/bin/env bash
# search_speedups.sh: the speedup of a searched strategy over data parallelism
# and over the expert strategy, simulated with analytic costs, for every
# paper model on both paper clusters at 4, 16 and 64 devices (as far as the
# cluster has them; batch 64 per device), as PAPER.md section 4's throughput figure compares them.
#
# usage: experiments/search_speedups.sh [soap] [out.csv]
#   SEARCH_BUDGET (default 20s), SEARCH_THREADS (2), SEARCH_SEED (1),
#   SEARCH_SYNC (allreduce; ps is the paper's runtime), SEARCH_DEVICES
#   ("4 16 64"), SEARCH_MODELS (the six paper models), SEARCH_MACHINES.
# Writes tidy CSV with '#' provenance lines (commit, date, machine, settings),
# through a temporary file, so an interrupted run leaves the old file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
soap=${1:-$root/build/soap}
out=${2:-$root/experiments/results/search_speedups.csv}
budget=${SEARCH_BUDGET:-20s}
threads=${SEARCH_THREADS:-2}
seed=${SEARCH_SEED:-1}
sync=${SEARCH_SYNC:-allreduce}
devices=${SEARCH_DEVICES:-4 16 64}
models=${SEARCH_MODELS:-alexnet inception_v3 resnet101 rnntc rnnlm nmt}
machines=${SEARCH_MACHINES:-p100x16 k80x64}

commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
git -C "$root" diff --quiet HEAD -- 2>/dev/null || commit="$commit-dirty"
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
{
  echo "# soap experiment: search speedups (mcmc over data and expert, simulated)"
  echo "# commit: $commit"
  echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# host: $(uname -n) $(uname -m), $(nproc) cores"
  echo "# settings: algo mcmc, budget $budget, threads $threads, seed $seed, sync $sync, analytic costs, batch 64 per device"
  echo "model,machine,devices,sync,data_s,expert_s,best_s,speedup_data,speedup_expert,proposals,proposals_per_s,accept_rate"
} >"$tmp"
for model in $models; do
  for machine in $machines; do
    for n in $devices; do
      # p100x16 has 16 devices: 64 is k80x64's alone.
      "$soap" machine --machine "$machine" --devices "$n" >/dev/null 2>&1 || continue
      echo "search_speedups: $model on $machine ($n devices)..." >&2
      json=$(SOAP_COMMIT=$commit "$soap" search --model "$model" --machine "$machine" \
        --devices "$n" --algo mcmc --budget "$budget" --threads "$threads" --seed "$seed" \
        --sync "$sync" --json --quiet)
      python3 -c '
import json, sys
r = json.loads(sys.argv[1])
m, mach, n, sync = sys.argv[2:6]
acc = r.get("accepted", 0) / max(1, r["proposals"])
print("%s,%s,%s,%s,%.9g,%.9g,%.9g,%.4f,%.4f,%d,%.1f,%.3f" % (m, mach, n, sync,
      r["data_time_s"], r["expert_time_s"], r["best_time_s"],
      r["data_time_s"] / r["best_time_s"], r["expert_time_s"] / r["best_time_s"],
      r["proposals"], r["proposals_per_s"], acc))' "$json" "$model" "$machine" "$n" "$sync" >>"$tmp"
    done
  done
done
mv "$tmp" "$out"
trap - EXIT
echo "written: $out" >&2
