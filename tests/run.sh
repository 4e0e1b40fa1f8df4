#!/bin/sh
# run.sh: every test of the project (make test runs it after building the
# reference models). Prints one line per check and finally "N passed, M failed".
cd "$(dirname "$0")/.." || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export T
. tests/lib.sh

for suite in tests/unit/run.sh tests/gen/specs.sh tests/gen/golden.sh tests/gen/real_configs.sh tests/conformance.sh tests/invariance.sh tests/cli/cli.sh tests/audit.sh \
             tests/weights/run.sh tests/sanitizers.sh tests/repro.sh tests/tokenizer/run.sh tests/trace.sh tests/poison.sh tests/cuda/run.sh \
             tests/simt/run.sh; do
    [ -f "$suite" ] || { fail "$suite" "missing"; continue; }
    echo "== $suite"
    . "./$suite"
done

echo
[ "$FAILED" -eq 0 ] || echo "failed:$FAILED_NAMES"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
