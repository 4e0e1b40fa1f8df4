# lib.sh: the tiny test harness the shell tests share (sourced by tests/run.sh).
# check NAME CMD...    passes if CMD exits 0
# expect_fail NAME CODE PATTERN CMD...
#                      passes if CMD exits with CODE and its stderr matches PATTERN (grep -E)
PASSED=${PASSED:-0}
FAILED=${FAILED:-0}
FAILED_NAMES=${FAILED_NAMES:-}
T=${T:-$(mktemp -d)}

pass() { PASSED=$((PASSED + 1)); echo "ok   $1"; }
fail() { FAILED=$((FAILED + 1)); FAILED_NAMES="$FAILED_NAMES $1"; echo "FAIL $1${2:+: $2}"; }

check() {
    name=$1; shift
    if "$@" >"$T/out" 2>&1; then pass "$name"; else fail "$name"; sed 's/^/     | /' "$T/out" | tail -20; fi
}

expect_fail() {
    name=$1 code=$2 pattern=$3; shift 3
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" -eq "$code" ] && grep -Eq -- "$pattern" "$T/err"; then
        pass "$name"
    else
        fail "$name" "exit $got (want $code), stderr: $(head -c 300 "$T/err")"
    fi
}
