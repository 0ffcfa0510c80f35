#!/usr/bin/env bash
# test_robust.sh: end-to-end checks of hostile input through the `soap`
# command: output files (--out, --trace, --dot, --log, profile --out) to a
# symlink (its target written, the link kept), a FIFO, /dev/null and a
# character device node (still devices afterwards), a directory (refused),
# /dev/full (an error naming it); machine files with figures out of range
# (exit 1 with the value and the range, never an abort); cost tables with
# huge times or many long device-type names; model files whose batch or
# embedding input do not fit; names with terminal escapes printed escaped.
#
# usage: bash tests/cli/test_robust.sh <path-to-soap> <tests/data>
# Prints one line per failed check and ends with "robust: P passed, F failed";
# the exit status is non-zero when any check failed.
. "$(dirname "$0")/lib.sh"
cli_test_init robust "$@"

STRAT=(strategy --model "$MODELS/tiny_cnn.json" --machine cpu-2 --strategy data)
SIM=(simulate --model "$MODELS/tiny_cnn.json" --machine cpu-2 --strategy data)

# ---------------------------------------------------------------- output files
# A regular file: written; a second write keeps its mode.
run "${STRAT[@]}" --out "$TMP/s.json"
rc_is 0
[ -f "$TMP/s.json" ] && grep -q '"soap-strategy"' "$TMP/s.json" && pass || fail "no strategy file"
chmod 600 "$TMP/s.json"
run "${STRAT[@]}" --out "$TMP/s.json"
rc_is 0
[ "$(stat -c %a "$TMP/s.json")" = 600 ] && pass || fail "mode not kept: $(stat -c %a "$TMP/s.json")"

# New files follow the umask (trace and DOT files used to be 0600).
(umask 022 && "$SOAP" "${SIM[@]}" --trace "$TMP/t.json" --dot "$TMP/t.dot" >/dev/null 2>&1)
what="simulate --trace --dot under umask 022"
[ "$(stat -c %a "$TMP/t.json")" = 644 ] && pass || fail "trace mode $(stat -c %a "$TMP/t.json")"
[ "$(stat -c %a "$TMP/t.dot")" = 644 ] && pass || fail "dot mode $(stat -c %a "$TMP/t.dot")"

# A symlink: the target is written, the link stays a link.
echo old >"$TMP/target.json"
ln -s target.json "$TMP/link.json"
run "${STRAT[@]}" --out "$TMP/link.json"
rc_is 0
[ -L "$TMP/link.json" ] && pass || fail "the symlink was replaced"
grep -q '"soap-strategy"' "$TMP/target.json" && pass || fail "the link's target was not written"
ln -s trace-target.json "$TMP/trace-link.json"
run "${SIM[@]}" --trace "$TMP/trace-link.json"
rc_is 0
[ -L "$TMP/trace-link.json" ] && grep -q traceEvents "$TMP/trace-target.json" && pass ||
    fail "trace through a dangling symlink"

# Device nodes: written directly, never renamed over. As root the checks
# use null and full nodes made in $TMP, so that a writer that renames over
# its target (as soap once did) cannot replace the machine's /dev/null or
# /dev/full; without root, /dev itself cannot be renamed into.
NULLDEV=/dev/null
FULLDEV=/dev/full
if mknod "$TMP/null" c 1 3 2>/dev/null && mknod "$TMP/full" c 1 7 2>/dev/null; then
    NULLDEV=$TMP/null
    FULLDEV=$TMP/full
fi
run "${STRAT[@]}" --out "$NULLDEV"
rc_is 0
[ -c "$NULLDEV" ] && pass || fail "$NULLDEV is no longer a character device"
run "${SIM[@]}" --trace "$NULLDEV" --dot "$NULLDEV"
rc_is 0
[ -c "$NULLDEV" ] && pass || fail "$NULLDEV is no longer a character device"
run search --model "$MODELS/tiny_cnn.json" --machine cpu-2 --algo random --budget 5 \
    --log "$NULLDEV"
rc_is 0
[ -c "$NULLDEV" ] && pass || fail "search --log replaced $NULLDEV"

# A FIFO: written straight through (a reader at the other end).
mkfifo "$TMP/pipe"
cat "$TMP/pipe" >"$TMP/from-pipe" &
reader=$!
run "${STRAT[@]}" --out "$TMP/pipe"
wait $reader
rc_is 0
[ -p "$TMP/pipe" ] && pass || fail "the FIFO was replaced"
grep -q '"soap-strategy"' "$TMP/from-pipe" && pass || fail "nothing came through the FIFO"

# /dev/stdout: into the file stdout goes to (after what was printed), and
# into a pipe (whose /proc link names no file).
run "${STRAT[@]}" --out /dev/stdout
rc_is 0
out_has "strategy data: model tiny_cnn"
out_has '"format": "soap-strategy"'
"$SOAP" "${STRAT[@]}" --out /dev/stdout 2>/dev/null | grep -q '"soap-strategy"' && pass ||
    fail "--out /dev/stdout into a pipe"

# A directory: refused with the path, left alone.
mkdir "$TMP/dir"
run "${STRAT[@]}" --out "$TMP/dir"
rc_is 1
err_has "$TMP/dir: is a directory"
[ -d "$TMP/dir" ] && [ -z "$(ls -A "$TMP/dir")" ] && pass || fail "the directory was touched"
run "${SIM[@]}" --trace "$TMP/dir"
rc_is 1
err_has "$TMP/dir: is a directory"

# A full device: the write fails (ENOSPC), an error naming it; the node stays.
if [ -c "$FULLDEV" ]; then
    run "${STRAT[@]}" --out "$FULLDEV"
    rc_is 1
    err_has "$FULLDEV: cannot write: No space left on device"
    [ -c "$FULLDEV" ] && pass || fail "$FULLDEV is no longer a character device"
    run "${SIM[@]}" --dot "$FULLDEV"
    rc_is 1
    err_has "$FULLDEV: cannot write"
    run profile --model "$MODELS/tiny_cnn.json" --machine cpu-1 --reps 1 --warmup 0 \
        --out "$FULLDEV"
    rc_is 1
    err_has "$FULLDEV: cannot write"
    [ -c "$FULLDEV" ] && pass || fail "$FULLDEV is no longer a character device"
fi

# A folder that does not exist: an error naming the path.
run "${STRAT[@]}" --out "$TMP/no-such-dir/x.json"
rc_is 1
err_has "$TMP/no-such-dir/x.json"

# ---------------------------------------------------------------- machine files
# Figures the loader used to accept and the simulator then aborted on
# (exit 134, assertion 'dur >= 0 && dur < 1e30').
machine() { # machine FILE MEMBW PEAK LAUNCH LINKBW LATENCY
    cat >"$1" <<EOF
{"format": "soap-machine", "version": 1, "name": "hostile",
 "device_types": [{"name": "G", "class": "gpu", "peak_flops": $3, "memory_bandwidth": $2,
                   "memory_bytes": 16e9, "launch_overhead_s": $4}],
 "devices": [{"name": "g0", "type": "G", "node": 0}, {"name": "g1", "type": "G", "node": 0}],
 "switches": [],
 "links": [{"name": "l01", "kind": "nvlink", "bandwidth": $5, "latency_s": $6,
            "ends": ["g0", "g1"]}]}
EOF
}
MSIM=(simulate --model "$MODELS/tiny_cnn.json" --strategy data)
machine "$TMP/m1.json" 1e-300 1e13 5e-6 20e9 1e-6
run "${MSIM[@]}" --machine "$TMP/m1.json"
fails_with 1 "memory_bandwidth 1e-300 is out of range: expected 1000..1e+15 bytes/s"
machine "$TMP/m2.json" 732e9 1e13 5e-6 1e308 1e-6
run "${MSIM[@]}" --machine "$TMP/m2.json"
fails_with 1 "links[0] ('l01'): bandwidth 1e+308 is out of range: expected 1000..1e+15"
grep -q positive "$TMP/err" && fail "1e308 is called not positive" || pass
machine "$TMP/m3.json" 732e9 1e13 5e-6 20e9 1e30
run "${MSIM[@]}" --machine "$TMP/m3.json"
fails_with 1 "latency_s 1e+30 is out of range: expected 0..10 seconds"
machine "$TMP/m4.json" 732e9 1e13 1e30 20e9 1e-6
run "${MSIM[@]}" --machine "$TMP/m4.json"
fails_with 1 "launch_overhead_s 1e+30 is out of range"
machine "$TMP/m5.json" 732e9 1e308 5e-6 20e9 1e-6
run "${MSIM[@]}" --machine "$TMP/m5.json"
fails_with 1 "peak_flops 1e+308 is out of range: expected 1e+06..1e+18 FLOP/s"
# latency 0 is a figure like any other.
machine "$TMP/m6.json" 732e9 1e13 5e-6 20e9 0
run "${MSIM[@]}" --machine "$TMP/m6.json"
rc_is 0
out_has "iteration"

# ---------------------------------------------------------------- cost tables
HDR="device_type,signature,partition,fwd_s,bwd_s"
printf '%s\nCPU,"s",[1],1e30,0\n' "$HDR" >"$TMP/huge.csv"
run "${SIM[@]}" --costs "$TMP/huge.csv"
fails_with 1 "$TMP/huge.csv:2: fwd_s 1e30 is out of range: expected a time in seconds in [0, 1e+06)"
# Device types adding up to ~250 characters, the machine's last: accepted
# (the fixed type list overflowed and then refused the table).
{
    echo "$HDR"
    for i in 0 1 2 3 4; do printf 'DEVICE-TYPE-%02d-%025d,"s",[1],1e-3,1e-3\n' $i 0; done
    printf 'DEVICE-TYPE-05-%026d,"s",[1],1e-3,1e-3\n' 0
    echo 'CPU,"s",[1],1e-3,1e-3'
} >"$TMP/types.csv"
run "${SIM[@]}" --costs "$TMP/types.csv"
rc_is 0
out_has "iteration"

# ---------------------------------------------------------------- model files
printf '%s' '{"format": "soap-model", "version": 1, "name": "b", "batch": 8, "ops": [
 {"name": "x", "kind": "input", "shape": [4, 10]},
 {"name": "fc", "kind": "linear", "inputs": ["x"], "out_features": 3, "bias": true},
 {"name": "loss", "kind": "softmax_ce", "inputs": ["fc"]}]}' >"$TMP/batch.json"
run simulate --model "$TMP/batch.json" --machine cpu-2 --strategy data
fails_with 1 "op 'x' (ops[0]): 'shape'[0] is 4 samples but the model's batch is 8"
printf '%s' '{"format": "soap-model", "version": 1, "name": "e", "batch": 4, "ops": [
 {"name": "x", "kind": "input", "shape": [4, 10]},
 {"name": "emb", "kind": "embedding", "inputs": ["x"], "vocab": 100, "embed_dim": 8}]}' \
    >"$TMP/emb.json"
run show --model "$TMP/emb.json"
fails_with 1 "op 'emb' (ops[1]): input 'x' (input) holds no token ids"
# One input listed twice is a model like any other (x * x).
printf '%s' '{"format": "soap-model", "version": 1, "name": "sq", "batch": 4, "ops": [
 {"name": "x", "kind": "input", "shape": [4, 10]},
 {"name": "sq", "kind": "binary", "inputs": ["x", "x"], "fn": "mul"},
 {"name": "fc", "kind": "linear", "inputs": ["sq"], "out_features": 3, "bias": true},
 {"name": "loss", "kind": "softmax_ce", "inputs": ["fc"]}]}' >"$TMP/sq.json"
run simulate --model "$TMP/sq.json" --machine cpu-2 --strategy data
rc_is 0

# ---------------------------------------------------------------- escaped names
# A strategy naming an op with a terminal escape: the message shows it as
# text (\x1b), never the raw byte.
"$SOAP" "${STRAT[@]}" --out "$TMP/esc.json" >/dev/null 2>&1
python3 - "$TMP/esc.json" <<'EOF'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["ops"][0]["name"] = "evil\u001b[2J"
json.dump(d, open(p, "w"))
EOF
run strategy --model "$MODELS/tiny_cnn.json" --machine cpu-2 --strategy "$TMP/esc.json"
fails_with 1 "unknown op 'evil\\x1b[2J'"
grep -q $'\x1b' "$TMP/err" && fail "a raw escape byte reached the terminal" || pass

cli_test_finish
