#!/usr/bin/env bash
# test_exec.sh: end-to-end tests of the executor's commands on the cpu
# backend: `soap run` (text and JSON: a finite loss that goes down, times
# that order as min <= median <= max), `soap profile` (a cost table that the
# simulator then reads: every cost of the same model is measured, and a
# table from another device is refused), `soap validate` (one row per
# strategy, errors and Kendall's tau consistent with the rows, the CSV with
# its provenance lines) and the errors: unknown backend, the cuda backend
# when it is not built, a strategy that does not fit, bad counts.
#
# usage: bash tests/cli/test_exec.sh <path-to-soap> <tests/data>
# Ends with "exec: P passed, F failed"; non-zero status when a check failed.
. "$(dirname "$0")/lib.sh"
cli_test_init exec "$@"

TINY=(--scale tiny --batch 8)

# ---- run
run run --model lenet "${TINY[@]}" --machine cpu-2 --strategy data --iters 3
rc_is 0
out_has "run: lenet (batch 8) on cpu-2 (2 devices), strategy data, backend cpu"
out_has "iteration time"
out_has "median of 3 after 1 warm-up"

run run --model rnnlm "${TINY[@]}" --machine cpu-2 --strategy owt --iters 20 --warmup 0 \
    --lr 0.5 --json
rc_is 0
py '
import json, math, sys
r = json.load(sys.stdin)
for k in ("iteration_time_s", "min_s", "max_s", "first_loss", "last_loss",
          "throughput_samples_per_s", "max_device_bytes", "backend", "iters"):
    assert k in r, k
assert r["backend"] == "cpu" and r["iters"] == 20 and r["devices"] == 2, r
assert 0 < r["min_s"] <= r["iteration_time_s"] <= r["max_s"], r
assert math.isfinite(r["first_loss"]) and r["first_loss"] > 0, r
# 20 SGD steps on fixed random labels: the loss goes down.
assert r["last_loss"] < r["first_loss"], r
assert abs(r["throughput_samples_per_s"] - 8 / r["iteration_time_s"]) < 1e-6 * r["throughput_samples_per_s"]
' "run --json: keys, times, a loss that goes down"

# The same seed gives the same loss; another seed another one.
run run --model lenet "${TINY[@]}" --machine cpu-2 --strategy model --iters 1 --json --seed 5
cp "$TMP/out" "$TMP/a.json"
run run --model lenet "${TINY[@]}" --machine cpu-2 --strategy data --iters 1 --json --seed 5
cp "$TMP/out" "$TMP/b.json"
run run --model lenet "${TINY[@]}" --machine cpu-2 --strategy data --iters 1 --json --seed 6
py '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
c = json.load(sys.stdin)
# Two strategies, one computation: losses agree to float rounding; a new seed differs.
assert abs(a["first_loss"] - b["first_loss"]) <= 1e-5 * b["first_loss"], (a, b)
assert c["first_loss"] != b["first_loss"], (b, c)
' "run: strategies agree on the loss, seeds differ" "$TMP/a.json" "$TMP/b.json"

# ---- profile, then simulate with the table
run profile --model lenet "${TINY[@]}" --machine cpu-2 --reps 3 --out "$TMP/costs.csv"
rc_is 0
out_has "written to $TMP/costs.csv"
if head -1 "$TMP/costs.csv" | grep -qx '# soap profile' &&
   grep -q '^# commit: ' "$TMP/costs.csv" && grep -q '^# host: ' "$TMP/costs.csv" &&
   grep -qx '# model: lenet (batch 8)' "$TMP/costs.csv" &&
   grep -qx '# device_type: CPU' "$TMP/costs.csv" &&
   grep -qx '# timing: median of 3 runs after 1 warm-up' "$TMP/costs.csv"; then
    pass; else fail "cost table provenance lines"; fi
if grep -v '^#' "$TMP/costs.csv" | head -1 | grep -qx 'device_type,signature,partition,fwd_s,bwd_s' &&
   [ "$(grep -c '^CPU,' "$TMP/costs.csv")" -ge 10 ]; then pass; else fail "cost table header / rows"; fi
ls "$TMP"/costs.csv.tmp.* >/dev/null 2>&1 && fail "a temporary file was left" || pass

for s in data model owt random; do
    run simulate --model lenet "${TINY[@]}" --machine cpu-2 --strategy $s --costs "$TMP/costs.csv" --json
    rc_is 0
    py '
import json, sys
r = json.load(sys.stdin)
c = r["costs"]
assert c["measured"] >= 1 and c["analytic"] == 0, c
' "simulate --costs $s: every task cost measured"
done

# A table measured on CPUs does not describe P100s.
run simulate --model lenet "${TINY[@]}" --machine p100x16 --devices 2 --strategy data --costs "$TMP/costs.csv"
fails_with 1 "costs.csv" "other devices" "P100" "CPU"
# The same for every command that simulates.
run check-local --model lenet "${TINY[@]}" --machine p100x16 --devices 2 --strategy data --costs "$TMP/costs.csv"
fails_with 1 "costs.csv" "other devices"
run search --model lenet "${TINY[@]}" --machine p100x16 --devices 2 --budget 10 --costs "$TMP/costs.csv"
fails_with 1 "costs.csv" "other devices"
run validate --model lenet "${TINY[@]}" --machine p100x16 --devices 2 --strategies data --costs "$TMP/costs.csv"
fails_with 1 "costs.csv" "other devices"

# ---- validate
run validate --model lenet "${TINY[@]}" --machine cpu-2 --strategies data,model,random:2 \
    --costs "$TMP/costs.csv" --iters 3 --csv "$TMP/v.csv" --json
rc_is 0
py '
import json, sys
r = json.load(sys.stdin)
rows = r["strategies"]
assert [x["strategy"] for x in rows] == ["data", "model", "random#1", "random#2"], rows
errs = []
for x in rows:
    assert x["simulated_s"] > 0 and x["measured_s"] > 0, x
    e = (x["simulated_s"] - x["measured_s"]) / x["measured_s"]
    assert abs(e - x["rel_error"]) < 1e-9, x
    errs.append(abs(e))
assert abs(max(errs) - r["max_abs_error"]) < 1e-9, r
errs.sort()
assert abs((errs[1] + errs[2]) / 2 - r["median_abs_error"]) < 1e-9, r
assert -1 <= r["kendall_tau"] <= 1, r
assert r["worst"] == max(rows, key=lambda x: abs(x["rel_error"]))["strategy"], r
assert r["costs_measured"] >= 1 and r["costs_analytic"] == 0, r
' "validate --json: rows, errors, tau"
if grep -q '^# soap validate$' "$TMP/v.csv" && grep -q '^# host: ' "$TMP/v.csv" &&
   grep -q '^# seed: 0$' "$TMP/v.csv" && grep -q '^# backend: cpu$' "$TMP/v.csv" &&
   grep -q '^# commit: ' "$TMP/v.csv" && grep -q '^# date: ' "$TMP/v.csv" &&
   grep -qx 'strategy,simulated_s,measured_s,rel_error' "$TMP/v.csv" &&
   [ "$(grep -vc '^#' "$TMP/v.csv")" -eq 5 ]; then pass; else fail "validate CSV"; fi

run validate --model lenet "${TINY[@]}" --machine cpu-2 --strategies data,owt --iters 2
rc_is 0
out_has "Kendall tau"
out_has "median |error|"

# ---- one seed rule for strategy lists
# The j-th random entry of a list is `soap strategy --strategy random` with
# {seed, index j}: "random" and "random:1" of seed S are the same strategy
# in simulate, search --init and validate --strategies, and the same as the
# strategy file `soap strategy --strategy random --seed S` writes (times
# compared as printed, 16 significant digits).
S=(--model lenet "${TINY[@]}" --machine cpu-2 --seed 5)
run strategy "${S[@]}" --strategy random --out "$TMP/r5.json"
rc_is 0
run strategy "${S[@]}" --strategy random:1 --out "$TMP/r5b.json"
rc_is 0
if cmp -s "$TMP/r5.json" "$TMP/r5b.json"; then pass; else fail "random and random:1 differ"; fi
run strategy --model lenet "${TINY[@]}" --machine cpu-2 --seed 6 --strategy random --out "$TMP/r6.json"
if cmp -s "$TMP/r5.json" "$TMP/r6.json"; then fail "seeds 5 and 6 give the same strategy"; else pass; fi
run simulate "${S[@]}" --strategy "$TMP/r5.json" --json
rc_is 0
cp "$TMP/out" "$TMP/file.json"
T='import json,sys; print(json.load(open(sys.argv[1]))["iteration_time_s"])'
ref=$(python3 -c "$T" "$TMP/file.json")
same_time() { # $1: what, $2: the time found
    if [ -n "$ref" ] && [ "$2" = "$ref" ]; then pass; else what="$1"; fail "time $2, the strategy file's $ref"; fi
}
for entry in random random:1; do
    run simulate "${S[@]}" --strategy "$entry" --json
    same_time "simulate --strategy $entry" "$(python3 -c "$T" "$TMP/out")"
    run search "${S[@]}" --init "$entry" --budget 1 --json
    rc_is 0
    same_time "search --init $entry" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["init_times_s"]["random#1"])' "$TMP/out")"
    run validate "${S[@]}" --strategies "$entry" --iters 1 --warmup 0 --json
    rc_is 0
    same_time "validate --strategies $entry" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["strategies"][0]["simulated_s"])' "$TMP/out")"
done
# In a longer list, random#1 is still the first random one; several
# strategies simulate to {"strategies": [...]}.
run simulate "${S[@]}" --strategy data,random:2,owt --json
rc_is 0
py '
import json, sys
r = json.load(sys.stdin)["strategies"]
assert [x["strategy"] for x in r] == ["data", "random#1", "random#2", "owt"], r
assert repr(r[1]["iteration_time_s"]) == sys.argv[1] or str(r[1]["iteration_time_s"]) == sys.argv[1], (r[1], sys.argv[1])
' "simulate of a list: one object each, random#1 first" "$ref"
run simulate "${S[@]}" --strategy data,owt
rc_is 0
[ "$(grep -c '^simulate: strategy' "$TMP/out")" -eq 2 ] && pass || fail "one report per strategy"
run simulate "${S[@]}" --strategy data,owt --trace "$TMP/t.json"
fails_with 2 "--trace and --dot take one strategy"
run run "${S[@]}" --strategy data,owt
fails_with 1 "expected one strategy"

# ---- errors
run run --model lenet "${TINY[@]}" --machine cpu-2 --strategy data --backend tpu
fails_with 1 "unknown backend 'tpu'" "cpu" "cuda"
# (No build has the CUDA backend yet: its registry entry says so.)
run run --model lenet "${TINY[@]}" --machine cpu-2 --strategy data --backend cuda
fails_with 1 "backend 'cuda' is not built" "not implemented yet"
if grep -q -- "-DSOAP_CUDA" "$TMP/err"; then fail "recommends a flag that builds nothing"; else pass; fi
run strategy --model alexnet "${TINY[@]}" --machine cpu-2 --strategy data --out "$TMP/alex.json"
rc_is 0
run run --model lenet "${TINY[@]}" --machine cpu-2 --strategy "$TMP/alex.json"
fails_with 1 "alex.json"
run run --model lenet "${TINY[@]}" --machine cpu-2 --strategy data --iters 0
fails_with 2 "--iters"
run run --model lenet "${TINY[@]}" --machine cpu-2 --strategy data --iters -3
fails_with 2 "--iters" "negative"
run run --model lenet "${TINY[@]}" --machine cpu-2
fails_with 2 "--strategy"
run validate --model lenet "${TINY[@]}" --machine cpu-2 --strategies random:0
fails_with 1 "--strategies" "random:K"
run validate --model lenet "${TINY[@]}" --machine cpu-2 --strategies data,,owt
fails_with 1 "--strategies" "empty entry"
run validate --model lenet "${TINY[@]}" --machine cpu-2 --strategies data --sync ring
fails_with 1 "unknown sync mode 'ring'"
run profile --model lenet "${TINY[@]}" --machine cpu-2 --out "$TMP/no/such/dir/c.csv"
fails_with 1 "c.csv"

cli_test_finish
