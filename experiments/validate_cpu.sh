#!/usr/bin/env bash
# validate_cpu.sh: simulator accuracy on the cpu backend (PAPER.md section 4,
# "simulator accuracy"): for lenet, alexnet and rnnlm (tiny variants, batch
# 64 per device) on cpu-N, profile every task cost (soap profile), then
# simulate with that table and run the same strategies (data, model, owt and
# random ones) and record simulated and measured iteration times, the
# relative error and Kendall's tau (soap validate).
#
# usage: experiments/validate_cpu.sh [soap] [results-dir]
#   VALIDATE_MACHINE (default cpu-2), VALIDATE_RANDOM (5), VALIDATE_ITERS (5),
#   VALIDATE_MODELS ("lenet alexnet rnnlm").
# Writes <results-dir>/validate_<model>_<machine>.csv (with '#' provenance
# lines) and the cost tables next to them; prints each table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
soap=${1:-$root/build/soap}
dir=${2:-$root/experiments/results}
machine=${VALIDATE_MACHINE:-cpu-2}
nrandom=${VALIDATE_RANDOM:-5}
iters=${VALIDATE_ITERS:-5}
models=${VALIDATE_MODELS:-lenet alexnet rnnlm}
commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
git -C "$root" diff --quiet HEAD -- 2>/dev/null || commit="$commit-dirty"
mkdir -p "$dir"
for model in $models; do
  costs=$dir/costs_${model}_${machine}.csv
  "$soap" profile --model "$model" --scale tiny --machine "$machine" --out "$costs"
  SOAP_COMMIT=$commit "$soap" validate --model "$model" --scale tiny --machine "$machine" \
    --costs "$costs" --strategies "data,model,owt,random:$nrandom" --iters "$iters" \
    --csv "$dir/validate_${model}_${machine}.csv"
done
