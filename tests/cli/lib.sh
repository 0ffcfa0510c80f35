# lib.sh: what the end-to-end CLI test scripts share (sourced, not run).
#
# cli_test_init NAME "$@": checks the arguments (<path-to-soap> <tests/data>),
# sets SOAP, DATA, MODELS and a temporary TMP removed on exit. Then:
#   run ARGS...        runs soap; stdout in $TMP/out, stderr in $TMP/err,
#                      status in $rc
#   rc_is N, out_has S, err_has S          checks on the last run
#   fails_with N S...  status N, nothing on stdout, every stderr line
#                      "soap: ...", and stderr holds each S
#   py CODE WHAT [ARGS...], json_check CODE WHAT
#                      python3 -c CODE (ARGS) on the last stdout; a missing
#                      python3 fails rather than passes silently
#   cli_test_finish    prints "NAME: P passed, F failed"; status 1 if F > 0
set -u

cli_test_init() {
    CLI_TEST_NAME=$1
    shift
    if [ $# -ne 2 ]; then
        echo "usage: $0 <path-to-soap> <tests/data>" >&2
        exit 2
    fi
    SOAP=$1
    DATA=$2
    MODELS=$DATA/models
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/soap-$CLI_TEST_NAME-test.XXXXXX")
    trap 'rm -rf "$TMP"' EXIT
    passed=0
    failed=0
    rc=0
    what=""
}

run() {
    what="soap $*"
    "$SOAP" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
}

pass() { passed=$((passed + 1)); }
fail() {
    failed=$((failed + 1))
    echo "FAIL: $what: $1"
    echo "  exit status $rc"
    sed -n '1,6s/^/  stdout: /p' "$TMP/out"
    sed -n '1,6s/^/  stderr: /p' "$TMP/err"
}

rc_is() { if [ "$rc" -eq "$1" ]; then pass; else fail "expected exit status $1"; fi; }
out_has() { if grep -qF -- "$1" "$TMP/out"; then pass; else fail "stdout lacks '$1'"; fi; }
err_has() { if grep -qF -- "$1" "$TMP/err"; then pass; else fail "stderr lacks '$1'"; fi; }

fails_with() {
    local status=$1
    shift
    local ok=1
    [ "$rc" -eq "$status" ] || ok=0
    [ -s "$TMP/out" ] && ok=0
    [ -s "$TMP/err" ] || ok=0
    grep -qv '^soap: ' "$TMP/err" && ok=0
    for s in "$@"; do grep -qF -- "$s" "$TMP/err" || ok=0; done
    if [ $ok -eq 1 ]; then pass; else fail "expected status $status, a 'soap: ' message with: $*"; fi
}

py() {
    local code=$1 desc=$2
    shift 2
    if python3 -c "$code" "$@" <"$TMP/out"; then pass; else fail "check: $desc"; fi
}
json_check() { py "$1" "JSON check: $2"; }

cli_test_finish() {
    echo "$CLI_TEST_NAME: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
