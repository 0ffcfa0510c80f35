#!/usr/bin/env bash
# test_simulate.sh: end-to-end tests of `soap simulate`: the text report,
# the JSON object (every key, consistent figures: time >= the largest lower
# bound, task counts that add up, one entry per device, throughput = batch /
# time), sync modes and --no-overlap, a measured cost table that changes the
# time, determinism, the Chrome trace (one "X" event per task) and the DOT
# graph, and the errors: unknown sync mode, bad cost table rows, a strategy
# file made for another model, --devices 0, options without values.
#
# usage: bash tests/cli/test_simulate.sh <path-to-soap> <tests/data>
# Prints one line per failed check and ends with "simulate: P passed, F failed";
# the exit status is non-zero when any check failed.
. "$(dirname "$0")/lib.sh"
cli_test_init simulate "$@"

# The checks every --json result must pass; argv: devices batch sync overlap.
JSON_CHECK='
import json, math, sys
r = json.load(sys.stdin)
devices, batch, sync, overlap = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
keys = ["iteration_time_s", "throughput_samples_per_s", "lower_bound_s", "lower_bounds",
        "bytes_transferred", "bytes_by_link_kind", "peak_memory_bytes", "busy_s", "tasks",
        "costs", "strategy", "model", "machine", "devices", "batch", "sync",
        "critical_path_s", "memory_capacity_bytes", "over_capacity", "overlap"]
missing = [k for k in keys if k not in r]
assert not missing, "missing keys %s" % missing
assert set(r["lower_bounds"]) >= {"work_s", "critical_s", "link_s"}, r["lower_bounds"]
assert set(r["tasks"]) >= {"total", "compute", "comm", "sync"}, r["tasks"]
assert set(r["costs"]) >= {"measured", "analytic"}, r["costs"]
assert set(r["bytes_by_link_kind"]) == {"nvlink", "nvswitch", "pcie", "infiniband", "membus"}, r["bytes_by_link_kind"]
assert r["devices"] == devices and r["batch"] == batch, (r["devices"], r["batch"])
assert r["sync"] == sync and r["overlap"] == overlap, (r["sync"], r["overlap"])
t, lb = r["iteration_time_s"], r["lower_bound_s"]
b = r["lower_bounds"]
assert t > 0 and lb > 0, (t, lb)
assert abs(lb - max(b["work_s"], b["critical_s"], b["link_s"])) <= 1e-12 * lb, (lb, b)
assert t >= lb * (1 - 1e-9), "time %g below bound %g" % (t, lb)
assert t >= r["critical_path_s"] * (1 - 1e-9), (t, r["critical_path_s"])
assert r["critical_path_s"] >= b["critical_s"] * (1 - 1e-9), (r["critical_path_s"], b)
assert abs(r["throughput_samples_per_s"] - batch / t) <= 1e-9 * batch / t, r["throughput_samples_per_s"]
for k in ("busy_s", "peak_memory_bytes", "memory_capacity_bytes"):
    assert len(r[k]) == devices, (k, len(r[k]))
assert all(0 <= x <= t * (1 + 1e-9) for x in r["busy_s"]), "busy beyond the iteration"
assert all(x >= 0 for x in r["peak_memory_bytes"])
over = sum(1 for p, c in zip(r["peak_memory_bytes"], r["memory_capacity_bytes"]) if p > c)
assert r["over_capacity"] == over, (r["over_capacity"], over)
n = r["tasks"]
assert n["total"] == n["compute"] + n["comm"] + n["sync"] and n["compute"] > 0, n
# work bound = total compute over devices, and compute is what busy_s sums.
assert abs(sum(r["busy_s"]) / devices - b["work_s"]) <= 1e-9 * b["work_s"] + 1e-15, (sum(r["busy_s"]), b)
kinds = sum(r["bytes_by_link_kind"].values())
# Every transfer crosses at least one link: per-kind bytes count each hop.
assert kinds >= r["bytes_transferred"] * (1 - 1e-9), (kinds, r["bytes_transferred"])
assert (r["bytes_transferred"] == 0) == (kinds == 0)
assert r["costs"]["analytic"] + r["costs"]["measured"] > 0, r["costs"]
'

# ---------------------------------------------------------------- help
run --help
rc_is 0
out_has "soap simulate --model"
run simulate --help
rc_is 0
out_has "usage: soap simulate --model M"
out_has "--sync MODE"

# ---------------------------------------------------------------- text report
run simulate --model lenet --machine p100x16 --devices 4 --strategy data
rc_is 0
for s in "iteration time:" "throughput:" "critical path:" "lower bounds:" \
    "time / largest bound:" "tasks:" "task costs:" "bytes moved between devices:" \
    "per device" "capacity"; do
    out_has "$s"
done
# One row per device.
if [ "$(grep -cE '^ +[0-9]+ ' "$TMP/out")" -eq 4 ]; then pass; else fail "expected 4 device rows"; fi

# ---------------------------------------------------------------- JSON, many cases
# model machine devices strategy sync overlap extra
cases=(
    "lenet p100x16 4 data allreduce 1"
    "lenet p100x16 16 data ps 1"
    "lenet p100x16 16 random allreduce 0 --seed 3"
    "alexnet p100x16 8 owt allreduce 1"
    "inception_v3 p100x16 4 expert ps 0"
    "rnnlm k80x64 8 expert allreduce 1"
    "nmt k80x64 8 data ps 1"
    "transformer dgx-h100 8 model allreduce 1"
    "rnntc cpu-4 4 random ps 1 --seed 11"
    "alexnet p100x16 8 data master 1"
    "rnnlm k80x64 16 expert master 0"
)
for c in "${cases[@]}"; do
    read -r model machine devices strategy sync overlap extra <<<"$c"
    args=(simulate --model "$model" --machine "$machine" --devices "$devices"
          --strategy "$strategy" --sync "$sync" --json)
    [ "$overlap" = 0 ] && args+=(--no-overlap)
    # shellcheck disable=SC2206
    [ -n "${extra:-}" ] && args+=($extra)
    run "${args[@]}"
    rc_is 0
    py "$JSON_CHECK" "figures of $c" "$devices" $((64 * devices)) "$sync" "$overlap"
done

# The paper's runtime on one node is ps; across nodes only the node sums
# cross InfiniBand, so it moves fewer bytes there than ps.
for d in 4 16; do
    for s in ps master; do
        run simulate --model alexnet --machine p100x16 --devices $d --strategy data --sync $s --json
        cp "$TMP/out" "$TMP/sync-$s-$d.json"
    done
done
py 'import json,sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert a["iteration_time_s"] == b["iteration_time_s"], (a["iteration_time_s"], b["iteration_time_s"])
c, d = (json.load(open(f)) for f in sys.argv[3:5])
ib = lambda r: r["bytes_by_link_kind"]["infiniband"]
assert 0 < ib(d) < ib(c) and d["iteration_time_s"] < c["iteration_time_s"], (ib(c), ib(d))
' "master on one node is ps; fewer bytes over InfiniBand across nodes" \
    "$TMP/sync-ps-4.json" "$TMP/sync-master-4.json" "$TMP/sync-ps-16.json" "$TMP/sync-master-16.json"

# The default sync mode is allreduce, overlapping the backward pass.
run simulate --model lenet --machine p100x16 --devices 2 --strategy data --json
rc_is 0
py "$JSON_CHECK" "defaults" 2 128 allreduce 1
py 'import json,sys; r=json.load(sys.stdin); assert r["strategy"]=="data" and r["model"]=="lenet" and r["machine"].startswith("p100x16"), r' \
    "names"
# Data parallelism on 2 devices moves bytes (weight sync) over NVLink only.
py 'import json,sys; r=json.load(sys.stdin); k=r["bytes_by_link_kind"]; assert k["nvlink"]>0 and k["infiniband"]==0 and k["pcie"]==0, k' \
    "data on 2 GPUs of one node uses NVLink"
# One device: nothing to move (sync tasks remain: the weight updates).
run simulate --model lenet --machine p100x16 --devices 1 --strategy data --json
rc_is 0
py 'import json,sys; r=json.load(sys.stdin); assert r["bytes_transferred"]==0 and r["tasks"]["comm"]==0 and sum(r["bytes_by_link_kind"].values())==0, r' \
    "one device moves nothing"
# 32 devices of k80x64 span nodes: data parallelism crosses InfiniBand.
run simulate --model alexnet --machine k80x64 --devices 32 --strategy data --json
rc_is 0
py 'import json,sys; r=json.load(sys.stdin); assert r["bytes_by_link_kind"]["infiniband"]>0, r["bytes_by_link_kind"]' \
    "data across nodes uses InfiniBand"

# Deterministic: the same command gives the same bytes.
run simulate --model inception_v3 --machine p100x16 --strategy random --seed 5 --json
cp "$TMP/out" "$TMP/first.json"
run simulate --model inception_v3 --machine p100x16 --strategy random --seed 5 --json
if cmp -s "$TMP/out" "$TMP/first.json"; then pass; else fail "two runs differ"; fi

# Model files and strategy files work as well as built-ins; the strategy
# written by `soap strategy` simulates to the built-in's time.
run strategy --model "$MODELS/tiny_cnn.json" --machine p100x16 --devices 4 --strategy owt \
    --out "$TMP/tiny-owt.json"
rc_is 0
run simulate --model "$MODELS/tiny_cnn.json" --machine p100x16 --devices 4 --strategy owt --json
rc_is 0
cp "$TMP/out" "$TMP/builtin.json"
py "$JSON_CHECK" "tiny_cnn from a file" 4 8 allreduce 1
run simulate --model "$MODELS/tiny_cnn.json" --machine p100x16 --devices 4 \
    --strategy "$TMP/tiny-owt.json" --json
rc_is 0
py 'import json,sys; a=json.load(sys.stdin); b=json.load(open(sys.argv[1])); assert a["iteration_time_s"]==b["iteration_time_s"], (a["iteration_time_s"], b["iteration_time_s"])' \
    "file and built-in strategy agree" "$TMP/builtin.json"

# ---------------------------------------------------------------- cost tables
# The relu of tiny_cnn ([8,32,32,32]) on 4 devices under data parallelism:
# each task has the partition [2,32,32,32]. A measured 0.25 s forward and
# 0.5 s backward is far above the analytic microseconds, so the iteration
# takes at least 0.75 s and exactly one distinct cost is measured.
cat >"$TMP/costs.csv" <<'EOF'
# measured by hand for this test
device_type,signature,partition,fwd_s,bwd_s
P100,"unary relu in[8,32,32,32]",[2;32;32;32],0.25,0.5
K80,"unary relu in[8,32,32,32]",[2;32;32;32],9,9
EOF
run simulate --model "$MODELS/tiny_cnn.json" --machine p100x16 --devices 4 --strategy data \
    --costs "$TMP/costs.csv" --json
rc_is 0
py "$JSON_CHECK" "with a cost table" 4 8 allreduce 1
py 'import json,sys; r=json.load(sys.stdin); assert r["costs"]["measured"]==1 and r["costs"]["analytic"]>0, r["costs"]; assert 0.75 <= r["iteration_time_s"] < 1.0, r["iteration_time_s"]; assert r["cost_table"].endswith("costs.csv")' \
    "the measured row is used"
# A table without a matching row changes nothing.
printf 'device_type,signature,partition,fwd_s,bwd_s\n' >"$TMP/empty.csv"
run simulate --model "$MODELS/tiny_cnn.json" --machine p100x16 --devices 4 --strategy data \
    --costs "$TMP/empty.csv" --json
rc_is 0
cp "$TMP/out" "$TMP/empty-table.json"
run simulate --model "$MODELS/tiny_cnn.json" --machine p100x16 --devices 4 --strategy data --json
py 'import json,sys; a=json.load(sys.stdin); b=json.load(open(sys.argv[1])); assert a["iteration_time_s"]==b["iteration_time_s"] and b["costs"]["measured"]==0, (a, b)' \
    "an empty table is the analytic model" "$TMP/empty-table.json"

# ---------------------------------------------------------------- trace and DOT
run simulate --model lenet --machine p100x16 --devices 4 --strategy owt --json \
    --trace "$TMP/trace.json" --dot "$TMP/graph.dot"
rc_is 0
py "$JSON_CHECK" "with trace and DOT" 4 256 allreduce 1
py '
import json, sys
r = json.load(sys.stdin)
t = json.load(open(sys.argv[1]))
ev = t["traceEvents"] if isinstance(t, dict) else t
x = [e for e in ev if e.get("ph") == "X"]
assert len(x) == r["tasks"]["total"], (len(x), r["tasks"])
assert all(e["dur"] >= 0 and e["ts"] >= 0 for e in x)
# Chrome trace times are microseconds; the last end is the iteration time.
end = max(e["ts"] + e["dur"] for e in x) * 1e-6
assert abs(end - r["iteration_time_s"]) <= 1e-6 * r["iteration_time_s"] + 1e-9, (end, r["iteration_time_s"])
' "trace: one X event per task, ending at the iteration time" "$TMP/trace.json"
if head -c 200 "$TMP/graph.dot" | grep -q "digraph"; then pass; else fail "DOT file lacks 'digraph'"; fi
if grep -q -- "->" "$TMP/graph.dot"; then pass; else fail "DOT file has no edges"; fi
run simulate --model lenet --machine p100x16 --devices 2 --strategy data \
    --trace="$TMP/t2.json"
rc_is 0
out_has "trace written: $TMP/t2.json"
if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/t2.json"; then pass; else
    fail "--trace=FILE form"; fi
run simulate --model lenet --machine p100x16 --devices 2 --strategy data \
    --trace "$TMP/absent-dir/t.json"
fails_with 1 "absent-dir/t.json"

# ---------------------------------------------------------------- errors
run simulate --model lenet --machine p100x16 --strategy data --sync ring
fails_with 1 "unknown sync mode 'ring'" "ps" "allreduce" "master"
run simulate --model lenet --machine p100x16 --strategy data --sync
fails_with 2 "--sync needs a value"
run simulate --model lenet --machine p100x16 --strategy data --no-overlap=1
fails_with 2 "--no-overlap takes no value"
run simulate --model lenet --machine k80x64 --devices 0 --strategy data
fails_with 2 "--devices 0"
run simulate --model lenet --machine p100x16
fails_with 2 "--strategy is required"
run simulate --model lenet --machine p100x16 --strategy data --frobnicate
fails_with 2 "unknown option '--frobnicate'" "--sync" "--costs" "--model"
run simulate --model lenet --machine p100x16 --strategy data -x
fails_with 2 "unknown option '-x'" "--sync"
run simulate --model lenet --machine p100x16 --strategy data --s ps
fails_with 2 "ambiguous option '--s'"
run simulate --model lenet --machine p100x16 --strategy data extra
fails_with 2 "unexpected argument 'extra'"
# Unambiguous abbreviations and --opt=value work, as for the shared options.
run simulate --model lenet --machine p100x16 --devices 2 --strategy data --sy ps --no-over \
    --json
rc_is 0
py "$JSON_CHECK" "abbreviated options" 2 128 ps 0
run simulate --model lenet --machine p100x16 --strategy greedy
fails_with 1 "greedy" "data" "expert"

# Bad cost tables: the file and the line in the message, nothing simulated.
printf 'device_type,signature,partition,fwd_s,bwd_s\nP100,"unary relu in[8]",[2;32],abc,1e-3\n' \
    >"$TMP/bad-time.csv"
run simulate --model lenet --machine p100x16 --strategy data --costs "$TMP/bad-time.csv"
fails_with 1 "bad-time.csv:2"
printf 'device_type,signature,partition,fwd_s,bwd_s\nP100,"unary relu in[8]",[2;0],1e-3,1e-3\n' \
    >"$TMP/bad-part.csv"
run simulate --model lenet --machine p100x16 --strategy data --costs "$TMP/bad-part.csv"
fails_with 1 "bad-part.csv:2"
printf 'device_type,signature,partition,fwd_s,bwd_s\nP100,"unary relu in[8]",[2]\n' \
    >"$TMP/short-row.csv"
run simulate --model lenet --machine p100x16 --strategy data --costs "$TMP/short-row.csv"
fails_with 1 "short-row.csv:2"
run simulate --model lenet --machine p100x16 --strategy data --costs "$TMP/absent.csv"
fails_with 1 "absent.csv"

# A strategy file made for another model (or the same model at another batch).
run strategy --model lenet --machine p100x16 --strategy data --out "$TMP/lenet.json"
rc_is 0
run simulate --model alexnet --machine p100x16 --strategy "$TMP/lenet.json"
fails_with 1 "lenet.json"
run simulate --model lenet --machine p100x16 --batch 128 --strategy "$TMP/lenet.json"
fails_with 1 "lenet.json"
run simulate --model lenet --machine k80x64 --devices 16 --strategy "$TMP/lenet.json"
fails_with 1 "lenet.json" "p100x16"

cli_test_finish
