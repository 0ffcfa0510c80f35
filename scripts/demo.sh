#!/usr/bin/env bash
# The main job of `make demo`: a model, a machine, and the built-in strategies for them,
# each checked and written as a strategy file under build/demo/.
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
