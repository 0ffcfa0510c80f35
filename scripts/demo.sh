#!/usr/bin/env bash
# The main job of `make demo`: a model, a machine, the built-in strategies for them
# (each checked and written as a strategy file under build/demo/), then one simulated
# training iteration of data, owt, expert and random parallelism, compared side by side.
# Usage: scripts/demo.sh path/to/soap
set -euo pipefail
soap=${1:-build/soap}
model=${SOAP_DEMO_MODEL:-inception_v3}
machine=${SOAP_DEMO_MACHINE:-p100x16}
devices=${SOAP_DEMO_DEVICES:-16}
out=$(dirname "$soap")/demo
mkdir -p "$out"

echo "== the model: $model (batch 64 per GPU x $devices GPUs)"
"$soap" show --model "$model" --batch $((64 * devices)) | tail -n 6
echo
echo "== the machine: $machine, first $devices devices"
"$soap" machine --machine "$machine" --devices "$devices" | head -n 20
echo
for s in data model owt expert random; do
  echo "== strategy '$s'"
  "$soap" strategy --model "$model" --machine "$machine" --devices "$devices" \
    --strategy "$s" --seed 1 --out "$out/$model-$machine-$devices-$s.json"
  echo
done
echo "strategy files: $out/"
echo

# The simulator reads the strategy files just written.
base=$out/$model-$machine-$devices
echo "== simulated: strategy 'data' (trace: $base-data.trace.json, open in ui.perfetto.dev)"
"$soap" simulate --model "$model" --machine "$machine" --devices "$devices" \
  --strategy "$base-data.json" --trace "$base-data.trace.json"
echo

# One value of `soap simulate --json` (one top-level key per line).
json_value() { awk -F': ' -v k="\"$2\"" '$1 ~ k { sub(/,$/, "", $2); print $2 }' "$1"; }

sims=(data owt expert random)
for s in "${sims[@]}"; do
  "$soap" simulate --model "$model" --machine "$machine" --devices "$devices" \
    --strategy "$base-$s.json" --json >"$base-$s.sim.json"
done
data_time=$(json_value "$base-data.sim.json" iteration_time_s)
echo "== one training iteration, simulated ($model, $machine, $devices devices, allreduce)"
printf '  %-8s %14s %20s %10s %12s\n' strategy "iteration (ms)" "throughput (samp/s)" \
  "speedup" "time/bound"
for s in "${sims[@]}"; do
  f=$base-$s.sim.json
  t=$(json_value "$f" iteration_time_s)
  thr=$(json_value "$f" throughput_samples_per_s)
  ratio=$(json_value "$f" time_over_bound)
  awk -v s="$s" -v t="$t" -v thr="$thr" -v d="$data_time" -v r="$ratio" 'BEGIN {
    printf "  %-8s %14.3f %20.1f %9.2fx %12.2f\n", s, t * 1e3, thr, d / t, r }'
done
echo "  (speedup over data; time/bound = iteration time over the largest lower bound)"
echo "simulation results: $out/*.sim.json"

# ---------------------------------------------------------------- search
# A short MCMC search (SOAP_DEMO_SEARCH_* to change it), compared with data
# parallelism and the expert strategy; the best strategy file, the
# convergence log and its figure (plots/convergence.gp) go to $out/.
smodel=${SOAP_DEMO_SEARCH_MODEL:-rnnlm}
sunroll=${SOAP_DEMO_SEARCH_UNROLL:-10}
sdevices=${SOAP_DEMO_SEARCH_DEVICES:-4}
sbudget=${SOAP_DEMO_SEARCH_BUDGET:-20s}
sbase=$out/search-$smodel-$machine-$sdevices
echo
echo "== search: mcmc for $smodel (unroll $sunroll) on $sdevices devices of $machine, budget $sbudget"
SOAP_COMMIT=$(git -C "$(dirname "$0")/.." rev-parse --short HEAD 2>/dev/null || echo unknown) \
  "$soap" search --model "$smodel" --unroll "$sunroll" --machine "$machine" \
  --devices "$sdevices" --algo mcmc --budget "$sbudget" --seed 1 --threads 2 \
  --out "$sbase-best.json" --log "$sbase-log.csv"
if command -v gnuplot >/dev/null; then
  gnuplot -e "in='$sbase-log.csv'; out='$sbase-convergence.png'; title='mcmc, $smodel on $sdevices x $machine'" \
    "$(dirname "$0")/../plots/convergence.gp"
  echo "convergence figure: $sbase-convergence.png"
else
  echo "(gnuplot not found: no convergence figure)"
fi
