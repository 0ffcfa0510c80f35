#!/usr/bin/env bash
# test_cli.sh: end-to-end tests of the `soap` command: help, the lists of
# built-ins, `show` (text and JSON, built-in models and model files),
# `machine`, `strategy` (build, write, read back, refuse on another machine),
# `--scale tiny` (the small variants of the built-in models), the option
# tables (every option a command accepts is in its help and the reverse),
# `show --out` writing a model file that reads back as the same model, names
# with control characters printed escaped, and the errors: unknown names list the valid ones, bad numbers, bad model
# files with the file, line:column or op in the message.
#
# usage: bash tests/cli/test_cli.sh <path-to-soap> <tests/data>
# Prints one line per failed check and ends with "cli: P passed, F failed";
# the exit status is non-zero when any check failed.
. "$(dirname "$0")/lib.sh"
cli_test_init cli "$@"

# ---------------------------------------------------------------- help
run --help
rc_is 0
out_has "usage: soap <command>"
for c in models machines strategies "soap show --model" "soap machine --machine" \
    "soap strategy --model"; do
    out_has "$c"
done
run -h
rc_is 0
out_has "soap strategy --model"
run show --help
rc_is 0
out_has "usage: soap show --model M"
out_has "--json"
run help strategy
rc_is 0
out_has "--strategy NAME|FILE"
run
fails_with 2 "no command given"

# ---------------------------------------------------------------- option tables
# Parser and help come from one table per command: the options that an
# unknown option's message lists are exactly those with a help line, each
# also in the usage line (the lines before the description); -h is --help;
# help goes to stdout only.
COMMANDS="models machines strategies show machine strategy simulate algos search check-local
run profile validate"
for c in $COMMANDS; do
    run "$c" --no-such-option
    fails_with 2 "unknown option '--no-such-option'" "--help"
    listed=$(sed -n 's/.*(options: \(.*\)); see.*/\1/p' "$TMP/err" | tr -d ',' | tr ' ' '\n' | sort)
    run "$c" -h
    rc_is 0
    out_has "usage: soap $c"
    [ -s "$TMP/err" ] && fail "help wrote to stderr"
    helped=$(sed -n '/^options:$/,$p' "$TMP/out" | grep -oE '^  (-[a-z], )?--[a-z-]+' |
        sed 's/.*--/--/' | sort)
    what="soap $c --help"
    if [ -n "$listed" ] && [ "$listed" = "$helped" ]; then pass; else
        fail "help lines ($(echo $helped)) differ from the parser's options ($(echo $listed))"; fi
    usage=$(sed -n '1,/^  [^ ]/p' "$TMP/out")
    for opt in $listed; do
        [ "$opt" = --help ] && continue
        case "$usage" in *"$opt"*) ;; *) fail "usage line lacks $opt" ;; esac
    done
done
run simulate --help
out_has "usage: soap simulate --model M --machine X --strategy NAME|FILE [--devices n]"
out_has "  --sync MODE "

# ---------------------------------------------------------------- lists
run models
rc_is 0
for m in alexnet inception_v3 lenet nmt resnet101 rnnlm rnntc transformer; do out_has "$m "; done
run machines
rc_is 0
for m in p100x16 k80x64 dgx-h100 "cpu-<n>"; do out_has "$m "; done
run strategies
rc_is 0
for s in data model owt expert random; do out_has "$s "; done

# ---------------------------------------------------------------- show
run show --model resnet101 --json
rc_is 0
out_has '"params": 44549160'
json_check '
import json, sys
d = json.load(sys.stdin)
assert d["model"] == "resnet101" and d["batch"] == 64, d["model"]
assert d["params"] == 44549160, d["params"]
assert sum(o["params"] for o in d["ops"]) == d["params"]
assert abs(sum(o["fwd_flops"] for o in d["ops"]) - d["forward_flops"]) <= 1e-9 * d["forward_flops"]
assert d["backward_flops"] > d["forward_flops"] > 0
o = d["ops"][0]
assert set(o) == {"name", "kind", "shape", "dims", "params", "fwd_flops", "signature"}, o
assert o["kind"] == "input" and o["shape"] == [64, 3, 224, 224], o
assert o["dims"] == ["sample", "attribute", "attribute", "attribute"], o
' "resnet101 JSON: params, sums, first op"

run show --model lenet
rc_is 0
out_has "model lenet: batch 64, 10 operators, 431080 parameters"
out_has "[64s,20p,24a,24a]"
out_has "total: 431080 parameters"

run show --model lenet --batch 32 --json
rc_is 0
json_check '
import json, sys
d = json.load(sys.stdin)
assert d["batch"] == 32 and d["ops"][0]["shape"] == [32, 1, 28, 28], d["ops"][0]
c = [o for o in d["ops"] if o["name"] == "conv1"][0]
# 2 FLOP per multiply-add: 32 samples x 20 x 24 x 24 outputs x 25 taps, plus the bias.
assert c["fwd_flops"] >= 2 * 32 * 20 * 24 * 24 * 25, c
# The cost-table key: kind, parameters and input sizes.
assert c["signature"].startswith("conv2d ") and "[32,1,28,28]" in c["signature"], c
' "lenet at batch 32"

run show --model rnnlm --unroll 3 --json
rc_is 0
json_check '
import json, sys
d = json.load(sys.stdin)
assert sum(1 for o in d["ops"] if o["kind"] == "lstm") == 2 * 3
assert d["params"] == 37275408, d["params"]
' "rnnlm unrolled 3 steps"

run show --model "$MODELS/tiny_cnn.json"
rc_is 0
out_has "model tiny_cnn: batch 8, 10 operators, 82490 parameters"
out_has "joined"

run show --model "$MODELS/tiny_rnn.json" --json
rc_is 0
json_check '
import json, sys
d = json.load(sys.stdin)
assert d["model"] == "tiny_rnn" and d["batch"] == 4 and d["params"] == 13220, d["params"]
e = {o["name"]: o for o in d["ops"]}
assert e["embed.t1"]["params"] == 0 and e["embed.t0"]["params"] == 1600
assert e["enc.t0"]["dims"] == ["sample", "none", "parameter"], e["enc.t0"]
' "tiny_rnn.json: shared weights counted once"

run show --model "$MODELS/tiny_cnn.json" --batch 16
rc_is 0
err_has "keeps its own batch 8"

# ---------------------------------------------------------------- show --out
# --json is a summary; --out writes the model file, which reads back as the
# same model (same summary, same operators and signatures).
run show --model lenet --json
head -c 1 "$TMP/out" | grep -q '{' && pass || fail "JSON summary"
grep -q '"format"' "$TMP/out" && fail "the summary looks like a model file" || pass
for m in "inception_v3 --batch 16" "rnnlm --unroll 3" "transformer --scale tiny" \
    "$MODELS/tiny_rnn.json"; do
    # shellcheck disable=SC2086
    run show --model $m --out "$TMP/model.json"
    rc_is 0
    out_has "model file written: $TMP/model.json"
    # shellcheck disable=SC2086
    run show --model $m --json
    cp "$TMP/out" "$TMP/summary.json"
    run show --model "$TMP/model.json" --json
    rc_is 0
    py 'import json,sys; a=json.load(sys.stdin); b=json.load(open(sys.argv[1])); assert a==b, [k for k in a if a[k]!=b.get(k)]' \
        "model file of $m reads back as the same model" "$TMP/summary.json"
done
run show --model lenet --out "$TMP/absent-dir/m.json"
rc_is 1
err_has "absent-dir/m.json"

# ---------------------------------------------------------------- escaped names
# An op name with an escape sequence and a newline (from a model file) is
# printed escaped: no raw control character reaches the terminal.
python3 - "$MODELS/tiny_cnn.json" "$TMP/ctl.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
bad = "b\x1b[31mn\n"
for o in d["ops"]:
    if o["name"] == "bn":
        o["name"] = bad
    o["inputs"] = [bad if i == "bn" else i for i in o.get("inputs", [])]
json.dump(d, open(sys.argv[2], "w"))
EOF
for args in "show --model $TMP/ctl.json" \
    "check-local --model $TMP/ctl.json --machine p100x16 --devices 2 --strategy random --seed 1"; do
    # shellcheck disable=SC2086
    run $args
    if LC_ALL=C grep -q "$(printf '\033')" "$TMP/out" "$TMP/err"; then fail "a raw ESC was printed"; else pass; fi
    if [ "$rc" -eq 0 ]; then
        case "$args" in show*) out_has 'b\x1b[31mn\n' ;; esac
    else
        rc_is 1 # a reader that refuses such names is fine too
    fi
done

# ---------------------------------------------------------------- --scale
# The tiny variants: same operators, far fewer parameters (core/models/*.c).
run show --model alexnet --scale tiny --batch 8 --json
rc_is 0
json_check '
import json, sys
d = json.load(sys.stdin)
assert d["model"] == "alexnet" and d["batch"] == 8, d["model"]
assert d["params"] == 63282, d["params"]
assert d["ops"][0]["shape"] == [8, 3, 63, 63], d["ops"][0]
assert len(d["ops"]) == 21 and d["forward_flops"] < 25e6, d["forward_flops"]
' "alexnet --scale tiny"
run show --model alexnet --scale full --json
rc_is 0
json_check '
import json, sys
assert json.load(sys.stdin)["params"] == 61100840
' "alexnet --scale full"
# Tiny RNNs unroll 4 steps unless --unroll says otherwise.
run show --model rnnlm --scale=tiny --json
rc_is 0
json_check '
import json, sys
d = json.load(sys.stdin)
assert d["params"] == 17728 and len(d["ops"]) == 4 * 6, (d["params"], len(d["ops"]))
' "rnnlm --scale tiny: 4 steps"
run show --model rnnlm --scale tiny --unroll 3 --json
rc_is 0
json_check '
import json, sys
assert len(json.load(sys.stdin)["ops"]) == 3 * 6
' "rnnlm --scale tiny --unroll 3"
run strategy --model resnet101 --scale tiny --machine p100x16 --devices 2 --strategy data
rc_is 0
out_has "model resnet101 (batch 128, 347 operators)"
run simulate --model transformer --scale tiny --machine p100x16 --devices 2 --strategy data \
    --json
rc_is 0
json_check '
import json, sys
d = json.load(sys.stdin)
assert d["model"] == "transformer" and d["batch"] == 128, d
' "simulate --scale tiny"
run show --model "$MODELS/tiny_cnn.json" --scale tiny
rc_is 0
err_has "--scale applies to built-in models"
out_has "82490 parameters"
run show --model lenet --scale huge
fails_with 2 "--scale 'huge'" "full" "tiny"
run simulate --model lenet --machine p100x16 --strategy data --scale small
fails_with 2 "--scale 'small'" "full" "tiny"
run show --model lenet --scale
fails_with 2 "--scale needs a value"
run machine --machine p100x16 --scale tiny
fails_with 2 "unknown option '--scale'"

# ---------------------------------------------------------------- machine
run machine --machine p100x16 --devices 4 --json
rc_is 0
json_check '
import json, sys
d = json.load(sys.stdin)
assert d["format"] == "soap-machine" and len(d["devices"]) == 4, d["devices"]
assert len({x["node"] for x in d["devices"]}) == 1 and d["links"], d
' "p100x16 narrowed to 4: a machine file"
run machine --machine k80x64
rc_is 0
out_has "64 devices on 16 nodes"
out_has "routes (examples):"
out_has "(fingerprint "

# --json is a machine file: every preset (and narrowed ones) reads back as the
# same machine (same fingerprint, same file again), and a strategy made for
# the preset fits the file.
presets=$("$SOAP" machines | awk '{print $1}' | sed 's/<n>/6/')
[ -n "$presets" ] && pass || fail "no presets listed"
for p in $presets "p100x16 --devices 4" "k80x64 --devices 6"; do
    # shellcheck disable=SC2086
    run machine --machine $p --json
    rc_is 0
    cp "$TMP/out" "$TMP/m.json"
    # shellcheck disable=SC2086
    run machine --machine $p
    fp=$(grep -o 'fingerprint [0-9a-f]*' "$TMP/out")
    run machine --machine "$TMP/m.json"
    rc_is 0
    what="machine $p read back"
    if [ -n "$fp" ] && grep -qF "$fp" "$TMP/out"; then pass; else fail "fingerprint differs from '$fp'"; fi
    run machine --machine "$TMP/m.json" --json
    if cmp -s "$TMP/out" "$TMP/m.json"; then pass; else fail "written again, the file differs"; fi
done
run strategy --model lenet --machine p100x16 --devices 4 --strategy owt --out "$TMP/owt4.json"
rc_is 0
run machine --machine p100x16 --devices 4 --json
cp "$TMP/out" "$TMP/p4.json"
run simulate --model lenet --machine "$TMP/p4.json" --strategy "$TMP/owt4.json"
rc_is 0
# Device names from a file are printed escaped.
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
old, new = d["devices"][1]["name"], "gpu\x1b]0;x\x07"
d["devices"][1]["name"] = new
for l in d["links"]:
    l["ends"] = [new if e == old else e for e in l["ends"]]
json.dump(d, open(sys.argv[2], "w"))
' "$TMP/p4.json" "$TMP/ctl-machine.json"
run machine --machine "$TMP/ctl-machine.json"
if LC_ALL=C grep -q "$(printf '\033')" "$TMP/out" "$TMP/err"; then fail "a raw ESC was printed"; else pass; fi
rc_is 0
out_has 'gpu\x1b]0;x\x07'

# ---------------------------------------------------------------- strategy
run strategy --model nmt --machine k80x64 --strategy expert --out "$TMP/s.json"
rc_is 0
out_has "devices used:"
if [ -s "$TMP/s.json" ]; then pass; else fail "no strategy file written"; fi
run strategy --model nmt --machine k80x64 --strategy "$TMP/s.json"
rc_is 0
out_has "devices used:"
# Same model (batch 4096 = 64 x 64 given explicitly), another machine.
run strategy --model nmt --machine p100x16 --batch 4096 --strategy "$TMP/s.json"
fails_with 1 "s.json" "k80x64" "p100x16"
# With the default batch (64 x 16) the model differs as well.
run strategy --model nmt --machine p100x16 --strategy "$TMP/s.json"
fails_with 1 "s.json" "nmt"
run strategy --model lenet --machine p100x16 --strategy random --seed 7 --out "$TMP/r.json"
rc_is 0
run strategy --model lenet --machine p100x16 --strategy "$TMP/r.json"
rc_is 0

# ---------------------------------------------------------------- unknown names
run show --model resnet1O1
fails_with 1 "resnet1O1" "resnet101" "lenet" "nmt"
run machine --machine p100x32
fails_with 1 "p100x32" "p100x16" "k80x64"
run strategy --model lenet --machine p100x16 --strategy greedy
fails_with 1 "greedy" "data" "expert"
run frobnicate
fails_with 2 "frobnicate" "models" "show" "strategy"

# ---------------------------------------------------------------- usage errors
for bad in abc 0 -3 4x ""; do
    run machine --machine p100x16 --devices "$bad"
    fails_with 2 "--devices"
done
run strategy --model lenet --machine k80x64 --devices 0 --strategy data
fails_with 2 "--devices 0"
run show --model lenet --batch -64
fails_with 2 "--batch"
run show
fails_with 2 "--model is required"
run show --model lenet --frobnicate
fails_with 2 "unknown option '--frobnicate'" "--model"
run show --model lenet extra
fails_with 2 "unexpected argument 'extra'"

# ---------------------------------------------------------------- bad model files
run show --model "$MODELS/bad_syntax.json"
fails_with 1 "bad_syntax.json:6:7:"
run show --model "$MODELS/bad_kind.json"
fails_with 1 "bad_kind.json: op 'conv2' (ops[3]): unknown kind 'conv3d' (kinds: input, conv2d"
run show --model "$MODELS/bad_shape.json"
fails_with 1 "bad_shape.json: ops[3]: op 'conv' (conv2d): input 0 must be [N,C,H,W], got [8,10]"
run show --model "$MODELS/bad_order.json"
fails_with 1 "bad_order.json: op 'act' (ops[1]): input 'fc' is not an earlier op"
run show --model "$TMP/absent.json"
fails_with 1 "absent.json: cannot open"

cli_test_finish
