# unit/run.sh: the kernel unit tests (tests/unit/*.c, built by make unit-tests).
# Each program prints its own cases and "N passed, M failed"; each counts as one check here.
for prog in build/unit/*; do
    [ -x "$prog" ] || continue
    check "unit/$(basename "$prog")" "$prog"
done
