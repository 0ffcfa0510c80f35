#!/usr/bin/env bash
# test_calibrate.sh: end-to-end tests of `soap calibrate`: a fit of the
# shipped P100 measurements (the text report: parameters, one line per row
# with its residual; --json: the keys and residuals within 15%), --out
# writing a machine file that --machine reads back with the fitted
# calibration (and a simulation on it that reproduces a row's prediction),
# and the errors: a missing --measurements, an unknown device type, a row
# with an unknown model, a non-positive throughput, fewer rows than
# parameters; after an error --out is not written.
#
# usage: bash tests/cli/test_calibrate.sh <path-to-soap> <tests/data>
. "$(dirname "$0")/lib.sh"
cli_test_init calibrate "$@"
CAL=$DATA/../../experiments/calibration

# The text report, on small measurements (quick to fit).
printf '# small\nmodel,batch,devices,samples_per_s\nlenet,64,1,60000\nalexnet,16,1,900\nvgg16,4,1,150\nresnet50,4,1,300\n' >"$TMP/small.csv"
run calibrate --machine p100x16 --measurements "$TMP/small.csv"
rc_is 0
out_has "calibration of P100 (machine p100x16): 4 measurements"
out_has "gemm_eff"
out_has "winograd"
for m in lenet alexnet vgg16 resnet50; do out_has "$m"; done

run calibrate --machine p100x16 --measurements "$CAL/p100_tf_benchmarks_2017.csv" --json \
    --out "$TMP/p100-cal.json"
rc_is 0
py '
import json, sys
d = json.load(sys.stdin)
assert d["device_type"] == "P100" and d["machine"] == "p100x16", d
c = d["calibration"]
assert set(c) == {"gemm_eff", "conv_eff", "winograd", "mem_eff"}, c
assert 0 < c["gemm_eff"] <= 1 and 0 < c["conv_eff"] <= 1 and 1 <= c["winograd"] <= 4, c
assert len(d["rows"]) == 4 and all(abs(r["relative_error"]) <= 0.15 for r in d["rows"]), d["rows"]
assert d["out"].endswith("p100-cal.json")
open(sys.argv[1], "w").write(json.dumps(d))
' "fit of the P100 rows" "$TMP/fit.json"

# The written machine reads back with the calibration, and simulates the
# fitted prediction of a row.
run machine --machine "$TMP/p100-cal.json" --json
rc_is 0
py '
import json, sys
m = json.load(sys.stdin)
fit = json.load(open(sys.argv[1]))
c = m["device_types"][0]["calibration"]
for k, v in fit["calibration"].items():
    assert abs(c[k] - v) <= 1e-12 * v, (k, c[k], v)
' "machine file holds the fit" "$TMP/fit.json"
run simulate --model vgg16 --batch 64 --machine "$TMP/p100-cal.json" --devices 1 --strategy data --json
rc_is 0
py '
import json, sys
r = json.load(sys.stdin)
fit = json.load(open(sys.argv[1]))
want = [x for x in fit["rows"] if x["model"] == "vgg16"][0]["predicted_samples_per_s"]
assert abs(r["throughput_samples_per_s"] / want - 1) < 1e-9, (r["throughput_samples_per_s"], want)
' "simulation on the calibrated machine" "$TMP/fit.json"

# Errors: clear, non-zero, nothing written.
run calibrate --machine p100x16
fails_with 2 "--measurements"
run calibrate --machine p100x16 --measurements "$CAL/p100_tf_benchmarks_2017.csv" --type K80 \
    --out "$TMP/no1.json"
fails_with 1 "no device type 'K80' (types: P100)"
[ -e "$TMP/no1.json" ] && fail "--out written after an error" || pass
printf 'model,batch,devices,samples_per_s\nlenet,64,1,100\nresnet34,64,1,100\nvgg16,64,1,150\nalexnet,512,1,2900\n' >"$TMP/bad-model.csv"
run calibrate --machine p100x16 --measurements "$TMP/bad-model.csv" --out "$TMP/no2.json"
fails_with 1 "bad-model.csv:3: unknown model 'resnet34'"
[ -e "$TMP/no2.json" ] && fail "--out written after an error" || pass
printf 'model,batch,devices,samples_per_s\nlenet,64,1,-5\n' >"$TMP/neg.csv"
run calibrate --machine p100x16 --measurements "$TMP/neg.csv"
fails_with 1 "neg.csv:2: samples_per_s '-5'"
printf 'model,batch,devices,samples_per_s\nlenet,64,1,100\nvgg16,64,1,150\n' >"$TMP/few.csv"
run calibrate --machine p100x16 --measurements "$TMP/few.csv"
fails_with 1 "2 measurements for 4 parameters"
run calibrate --machine p100x16 --measurements "$TMP/missing.csv"
fails_with 1 "missing.csv: cannot open"

cli_test_finish
