#!/usr/bin/env bash
# test_search.sh: end-to-end tests of `soap search`, `soap check-local` and
# `soap algos`: the text report and the JSON keys, every algorithm on a
# small case (never slower than data parallelism or the expert strategy),
# the same seed giving the same strategy file (also with --threads), the
# strategy file and the convergence log (provenance lines, header, rows),
# delta and full simulation agreeing, check-local on a searched strategy,
# Ctrl-C and SIGTERM still writing the best so far and the log (complete
# files), a signal before the search starts ending it with nothing written,
# and the errors: unknown algorithm, zero / negative / malformed / too large
# budgets, impossible --dims, bad --threads, --beta and --init; reinforce
# (its report and options, unsplit answers, same seed, bad --lr / --samples,
# a full simulation named as such); the acceptance, best_over_bound and the
# simulation in --json; the mcmc pre-check (rejects early, same chain as
# --no-precheck); --moves (op, tied, mixed: in the report and the JSON, the
# same seed giving the same strategy, check-local's neighbourhood, an unknown
# value a usage error).
#
# usage: bash tests/cli/test_search.sh <path-to-soap> <tests/data>
# Prints one line per failed check and ends with "search: P passed, F failed".
. "$(dirname "$0")/lib.sh"
cli_test_init search "$@"

BASE=(--model lenet --machine p100x16 --devices 4 --batch 64)
JSON_CHECK='
import json, sys
r = json.load(sys.stdin)
algo = sys.argv[1]
keys = ["best_time_s", "data_time_s", "expert_time_s", "proposals", "proposals_per_s",
        "algo", "seed", "speedup_over_data", "speedup_over_expert", "acceptance_rate",
        "origin", "fits_memory", "init_times_s", "elapsed_s", "chains", "threads",
        "acceptance", "best_over_bound", "best_lower_bound_s", "simulation"]
missing = [k for k in keys if k not in r]
assert not missing, missing
assert r["algo"] == algo, r["algo"]
inits = min(r["init_times_s"].values())
assert r["best_time_s"] <= inits, (r["best_time_s"], inits)
assert r["best_time_s"] <= r["data_time_s"]
if algo != "exhaustive":
    assert r["best_time_s"] <= r["expert_time_s"]
assert abs(r["speedup_over_data"] - r["data_time_s"] / r["best_time_s"]) < 1e-9 * r["speedup_over_data"]
assert r["proposals"] >= 1 and r["fits_memory"] is True
assert 0 <= r["acceptance_rate"] <= 1
assert r["acceptance"] == r["accepted"] / r["proposals"], (r["acceptance"], r["accepted"])
assert r["best_over_bound"] >= 1, r["best_over_bound"]
assert abs(r["best_over_bound"] - r["best_time_s"] / r["best_lower_bound_s"]) <= 1e-12 * r["best_over_bound"]
sim = {"random": "full simulation", "reinforce": "full simulation",
       "optcnn": "its own cost model, then one full simulation"}.get(algo, "delta simulation")
assert r["simulation"] == sim, (r["simulation"], sim)
'

# ---------------------------------------------------------------- help, algos
run search --help
rc_is 0
out_has "usage: soap search --model M"
run algos
rc_is 0
for a in mcmc random greedy anneal optcnn exhaustive reinforce; do out_has "$a"; done
run --help
out_has "soap search"
out_has "soap check-local"

# ---------------------------------------------------------------- text report
run search "${BASE[@]}" --budget 2000 --seed 1 --out "$TMP/best.json" --log "$TMP/log.csv"
rc_is 0
for s in "best iteration time:" "data parallelism:" "expert strategy:" "speedup" \
    "proposals:" "accepted" "found by:" "best strategy:" "convergence log:" \
    "delta simulation" "lower bound:" "over it"; do
    out_has "$s"
done
[ -s "$TMP/best.json" ] && pass || fail "no strategy file"
if grep -q '^# seed: 1' "$TMP/log.csv" && grep -q '^# model: lenet' "$TMP/log.csv" &&
    grep -q '^# commit: ' "$TMP/log.csv" && grep -q '^# date: ' "$TMP/log.csv" &&
    grep -q '^elapsed_s,proposals,chain,current_s,best_s,overall_best_s$' "$TMP/log.csv" &&
    [ "$(grep -cv '^#' "$TMP/log.csv")" -gt 5 ]; then pass; else fail "log file"; fi
# The strategy file simulates to the reported time.
run search "${BASE[@]}" --budget 2000 --seed 1 --json
cp "$TMP/out" "$TMP/first.json"
run simulate "${BASE[@]}" --strategy "$TMP/best.json" --json
py 'import json,sys; a=json.load(sys.stdin); b=json.load(open(sys.argv[1])); assert a["iteration_time_s"]==b["best_time_s"], (a["iteration_time_s"], b["best_time_s"])' \
    "the strategy file has the reported time" "$TMP/first.json"

# ---------------------------------------------------------------- every algorithm
for a in mcmc random greedy anneal optcnn; do
    run search "${BASE[@]}" --algo "$a" --budget 1500 --seed 2 --json
    rc_is 0
    py "$JSON_CHECK" "$a report" "$a"
done
# A budget far above the seconds it needs, so that a loaded machine (sanitizers)
# still covers the whole space.
run search "${BASE[@]}" --algo exhaustive --dims S --init data --budget 300s --json
rc_is 0
py "$JSON_CHECK" "exhaustive report" exhaustive
py 'import json,sys; r=json.load(sys.stdin); assert r["exhausted"] and r["best_time_s"] < r["data_time_s"], r' \
    "exhaustive covers lenet --dims S and beats data"
cp "$TMP/out" "$TMP/exhaustive.json"
run search "${BASE[@]}" --algo mcmc --dims S --init data --budget 2000 --no-stop-rule --seed 1 --json
py 'import json,sys; r=json.load(sys.stdin); e=json.load(open(sys.argv[1])); assert r["best_time_s"]==e["best_time_s"], (r["best_time_s"], e["best_time_s"])' \
    "mcmc reaches the exhaustive optimum" "$TMP/exhaustive.json"

# ---------------------------------------------------------------- reproducible
run search --model rnnlm --unroll 4 --machine p100x16 --devices 4 --batch 64 --budget 3000 \
    --seed 7 --out "$TMP/a.json" --quiet
rc_is 0
run search --model rnnlm --unroll 4 --machine p100x16 --devices 4 --batch 64 --budget 3000 \
    --seed 7 --out "$TMP/b.json" --threads 3 --quiet
rc_is 0
if cmp -s "$TMP/a.json" "$TMP/b.json"; then pass; else what="--threads 3"; fail "strategy differs from one thread"; fi
run search --model rnnlm --unroll 4 --machine p100x16 --devices 4 --batch 64 --budget 3000 \
    --seed 7 --out "$TMP/c.json" --full-sim --quiet
rc_is 0
if cmp -s "$TMP/a.json" "$TMP/c.json"; then pass; else what="--full-sim"; fail "strategy differs from delta"; fi

# The pre-check rejects some proposals before building them, and changes nothing else.
run search "${BASE[@]}" --budget 2000 --seed 3 --threads 1 --out "$TMP/pre.json" --json
rc_is 0
cp "$TMP/out" "$TMP/pre-report.json"
run search "${BASE[@]}" --budget 2000 --seed 3 --threads 1 --out "$TMP/nopre.json" --json --no-precheck
rc_is 0
if cmp -s "$TMP/pre.json" "$TMP/nopre.json"; then pass; else what="--no-precheck"; fail "strategy differs with the pre-check"; fi
py '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(sys.stdin)
assert a["rejected_early"] > 0 and b["rejected_early"] == 0, (a["rejected_early"], b["rejected_early"])
for k in ["best_time_s", "proposals", "acceptance_rate"]:
    assert a[k] == b[k], (k, a[k], b[k])
' "pre-check: proposals rejected early, same chain without it" "$TMP/pre-report.json"

# ---------------------------------------------------------------- check-local
run search "${BASE[@]}" --algo greedy --init data --out "$TMP/greedy.json" --budget 1000000
rc_is 0
run check-local "${BASE[@]}" --strategy "$TMP/greedy.json" --json
rc_is 0
py 'import json,sys; r=json.load(sys.stdin); assert r["local_optimum"] is True and r["tried"] > 0 and r["improving"] == 0, r' \
    "a greedy strategy is a local optimum"
run check-local "${BASE[@]}" --strategy random --seed 3
rc_is 0
out_has "local optimum: no"
run check-local "${BASE[@]}" --strategy "$TMP/greedy.json"
out_has "local optimum: yes"

# ---------------------------------------------------------------- --moves
RM=(--model rnnlm --unroll 4 --machine p100x16 --devices 4 --batch 64)
RNN=("${RM[@]}" --init data --no-stop-rule --quiet)
run search "${RNN[@]}" --budget 600 --seed 5 --moves tied
rc_is 0
out_has "moves tied"
run search "${RNN[@]}" --budget 600 --seed 5 --json
py 'import json,sys; r=json.load(sys.stdin); assert r["moves"] == "tied", r["moves"]' \
    "the default moves in the JSON"
for mv in op tied mixed; do
    run search "${RNN[@]}" --budget 600 --seed 5 --moves $mv --json --out "$TMP/mv-$mv-1.json"
    rc_is 0
    py 'import json,sys; r=json.load(sys.stdin); assert r["moves"] == sys.argv[1] and r["proposals"] == 600, r' \
        "--moves $mv in the JSON" "$mv"
    run search "${RNN[@]}" --budget 600 --seed 5 --moves $mv --quiet --out "$TMP/mv-$mv-2.json"
    if cmp -s "$TMP/mv-$mv-1.json" "$TMP/mv-$mv-2.json"; then pass; else what="--moves $mv"; fail "same seed, another strategy"; fi
done
if cmp -s "$TMP/mv-op-1.json" "$TMP/mv-tied-1.json"; then what="--moves"; fail "tied moves walked the op chain"; else pass; fi
run search "${RNN[@]}" --algo greedy --moves tied --out "$TMP/greedy-tied.json" --budget 1000000
rc_is 0
run check-local "${RM[@]}" --strategy "$TMP/greedy-tied.json" --moves tied --json
rc_is 0
py 'import json,sys; r=json.load(sys.stdin); assert r["moves"] == "tied" and r["local_optimum"] is True and r["tried"] > 0, r' \
    "a greedy strategy with tied moves is a local optimum of tied moves"
run check-local "${RM[@]}" --strategy data --moves tied
rc_is 0
out_has "moves tied"
out_has "local optimum: no; best change: the 4 ops of the group of"
for bad in bogus "" OP; do
    run search "${RNN[@]}" --moves "$bad"
    if [ -z "$bad" ]; then fails_with 2 "--moves needs a non-empty value"; else
        fails_with 2 "--moves" "'$bad'" "expected one of op, tied, mixed"; fi
done
run check-local "${RM[@]}" --strategy data --moves tide
fails_with 2 "--moves" "expected one of op, tied, mixed"

# ---------------------------------------------------------------- Ctrl-C
"$SOAP" search --model inception_v3 --machine p100x16 --devices 4 --budget 60s \
    --no-stop-rule --out "$TMP/int.json" --json >"$TMP/out" 2>"$TMP/err" &
pid=$!
sleep 2
kill -INT $pid
wait $pid
rc=$?
what="search interrupted by SIGINT"
rc_is 130
py 'import json,sys; r=json.load(sys.stdin); assert r["interrupted"] is True and r["elapsed_s"] < 30, r' \
    "interrupted report"
if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/int.json"; then pass; else
    fail "no strategy file after Ctrl-C"; fi

# ---------------------------------------------------------------- SIGTERM
# Like Ctrl-C, with status 143: the strategy file and the log are whole.
"$SOAP" search "${BASE[@]}" --budget 600s --no-stop-rule --seed 3 --out "$TMP/term.json" \
    --log "$TMP/term.csv" --json >"$TMP/out" 2>"$TMP/err" &
pid=$!
sleep 2
kill -TERM $pid
wait $pid
rc=$?
what="search stopped by SIGTERM"
rc_is 143
py 'import json,sys; r=json.load(sys.stdin); assert r["interrupted"] is True and r["elapsed_s"] < 60, r' \
    "report after SIGTERM"
cp "$TMP/out" "$TMP/term-report.json"
run simulate "${BASE[@]}" --strategy "$TMP/term.json" --json
rc_is 0
py 'import json,sys; a=json.load(sys.stdin); b=json.load(open(sys.argv[1])); assert a["iteration_time_s"]==b["best_time_s"], (a, b)' \
    "the strategy written after SIGTERM has the reported time" "$TMP/term-report.json"
py '
import csv, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines[0].startswith("# ") and any(l.startswith("# seed: 3") for l in lines), lines[:12]
rows = [l for l in lines if not l.startswith("#")]
assert rows[0] == "elapsed_s,proposals,chain,current_s,best_s,overall_best_s", rows[0]
assert len(rows) > 2 and all(len(r.split(",")) == 6 for r in rows[1:]), rows[-1]
best = float(rows[-1].split(",")[5])
# The log prints 9 significant digits: within 5e-9 of the exact value.
assert abs(best - __import__("json").load(open(sys.argv[2]))["best_time_s"]) <= 1e-8 * best
' "the log after SIGTERM is whole" "$TMP/term.csv" "$TMP/term-report.json"
ls "$TMP" | grep -q '\.tmp' && fail "a temporary file was left" || pass

# A signal before the search starts (here: pending when soap starts, so it
# arrives as soon as soap listens for it, while loading): the same status,
# nothing written.
for sig in TERM:143 INT:130; do
    rm -f "$TMP/early.json" "$TMP/early.csv"
    python3 - "$SOAP" "$TMP" "${sig%%:*}" "${BASE[@]}" --budget 60s --out "$TMP/early.json" \
        --log "$TMP/early.csv" <<'EOF'
import os, signal, sys
soap, tmp, name = sys.argv[1:4]
sig = getattr(signal, "SIG" + name)
pid = os.fork()
if pid == 0:
    out = os.open(os.path.join(tmp, "out"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    err = os.open(os.path.join(tmp, "err"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(out, 1)
    os.dup2(err, 2)
    signal.pthread_sigmask(signal.SIG_BLOCK, {sig})
    os.kill(os.getpid(), sig)  # pending: execv keeps it and the mask
    os.execv(soap, [soap, "search"] + sys.argv[4:])
_, status = os.waitpid(pid, 0)
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
EOF
    rc=$?
    what="search with SIG$sig pending at the start"
    rc_is "${sig##*:}"
    [ -e "$TMP/early.json" ] || [ -e "$TMP/early.csv" ] && fail "a file was written" || pass
    [ -s "$TMP/out" ] && fail "a report was printed" || pass
done

# ---------------------------------------------------------------- errors
run search "${BASE[@]}" --algo hillclimb
fails_with 1 "unknown search algorithm 'hillclimb'" "mcmc" "exhaustive"
for b in 0 0s -5 -1s 10x abc "" 5,6 1s,2s ,5; do
    run search "${BASE[@]}" --budget "$b"
    if [ -z "$b" ]; then fails_with 2 "--budget needs a non-empty value"; else
        fails_with 2 "--budget" "expected a positive number"; fi
done
# Budgets beyond 30 days or 1e12 proposals are refused, the limits taken.
run search "${BASE[@]}" --budget 2592001s
fails_with 2 "--budget '2592001s'" "at most 2592000s = 30 days"
run search "${BASE[@]}" --budget 1000000000001
fails_with 2 "--budget '1000000000001'" "at most 1000000000000"
run search "${BASE[@]}" --budget 1e400s
fails_with 2 "--budget '1e400s'"
run search "${BASE[@]}" --budget 2592000s,200 --json
rc_is 0
py 'import json,sys; r=json.load(sys.stdin); assert r["proposals"]==200 and r["budget_s"]==2592000, r' \
    "the largest budget in seconds, stopped by proposals"
run search "${BASE[@]}" --budget 0.2s,1000000000000 --json
rc_is 0
for d in X SOAPX SS ""; do
    run search "${BASE[@]}" --dims "$d"
    if [ -z "$d" ]; then fails_with 2 "--dims needs a non-empty value"; else
        fails_with 2 "--dims" "expected one or more of the letters"; fi
done
run check-local "${BASE[@]}" --strategy data --dims Q
fails_with 2 "--dims" "expected one or more of the letters"
run search "${BASE[@]}" --threads 0
fails_with 2 "--threads 0" "expected an integer from 1 to 256"
run search "${BASE[@]}" --beta -1
fails_with 2 "--beta '-1'" "expected a positive number"
run search "${BASE[@]}" --init nosuch
fails_with 1 "nosuch"
run search "${BASE[@]}" --init random:0
fails_with 1 "--init" "random:K"
run search "${BASE[@]}" --frobnicate
fails_with 2 "unknown option '--frobnicate'" "--algo" "--budget"
run search --machine p100x16
fails_with 2 "--model is required"
run check-local "${BASE[@]}"
fails_with 2 "--strategy is required"
run search --model lenet --machine p100x16 --devices 16 --algo exhaustive
fails_with 1 "exhaustive" "expected at most"

# ---------------------------------------------------------------- reinforce
# The placement-only baseline: the common report, its options in the JSON,
# every op of its answer unsplit, the same seed giving the same strategy
# file (threads change nothing), and its options out of range.
# Seed 4: with the calibrated P100 costs, 400 samples at lr 5 beat the expert
# strategy for seeds 1, 4 and 5 of 1..5 (the others keep expert).
RL=(--model rnnlm --unroll 4 --machine p100x16 --devices 4 --batch 64 --algo reinforce --quiet)
run search "${RL[@]}" --init expert --budget 400 --seed 4 --lr 5 --samples 4 --json \
    --out "$TMP/rl1.json"
rc_is 0
py "$JSON_CHECK" "reinforce report" reinforce
py 'import json,sys; r=json.load(sys.stdin); assert r["reinforce_lr"]==5 and r["reinforce_samples"]==4 and r["proposals"]==400 and r["chains"]==1 and r["found_by_search"] is True and r["best_time_s"] < r["init_times_s"]["expert"], r' \
    "reinforce: options in the JSON, 400 samples, faster than expert"
py 'import json,sys; s=json.load(open(sys.argv[1])); bad=[o["name"] for o in s["ops"] if any(d != 1 for d in o["degrees"]) or len(o["devices"]) != 1]; assert s["ops"] and not bad, bad' \
    "reinforce: every op unsplit on one device" "$TMP/rl1.json"
run search "${RL[@]}" --init expert --budget 50 --seed 4
rc_is 0
out_has ", full simulation"
if grep -q "delta simulation" "$TMP/out"; then fail "reinforce reports a delta simulation"; else pass; fi
run search "${RL[@]}" --init expert --budget 400 --seed 4 --lr 5 --samples 4 --threads 3 \
    --out "$TMP/rl2.json"
rc_is 0
if cmp -s "$TMP/rl1.json" "$TMP/rl2.json"; then pass; else what="reinforce, same seed"; fail "strategy differs"; fi
run search "${RL[@]}" --init expert --budget 400 --seed 3 --json
py 'import json,sys; r=json.load(sys.stdin); assert r["reinforce_lr"]==10 and r["reinforce_samples"]==8, r' \
    "reinforce: the default options"
run search "${BASE[@]}" --algo mcmc --budget 100 --json
py 'import json,sys; r=json.load(sys.stdin); assert r["reinforce_lr"] is None and r["reinforce_samples"] is None, r' \
    "reinforce options null for mcmc"
for v in 0 -1 1001 abc nan inf; do
    run search "${RL[@]}" --budget 100 --lr "$v"
    fails_with 2 "--lr '$v'" "expected a positive number of at most 1000"
done
for v in 0 -3 1025 x; do
    run search "${RL[@]}" --budget 100 --samples "$v"
    fails_with 2 "--samples" "expected an integer from 1 to 1024"
done
run search "${RL[@]}" --budget 100 --dims SAP
fails_with 1 "reinforce" "no placement freedom" "expected O in the dims"

cli_test_finish
