# repro.sh: two builds of the same sources in different directories give
# byte-identical generated sources and an identical binary (no timestamps,
# paths or host names embedded). Sourced by tests/run.sh.
for d in a b; do
    mkdir -p "$T/repro_$d"
    git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$T/repro_$d"
done
if (cd "$T/repro_a" && touch gen/main.lua && make -s build/tiny/tiny >"$T/repro_a.log" 2>&1) &&
   (cd "$T/repro_b" && make -s build/tiny/tiny >"$T/repro_b.log" 2>&1); then
    check "repro/generated-sources-identical" diff -r "$T/repro_a/generated/tiny" "$T/repro_b/generated/tiny"
    check "repro/binary-identical" cmp "$T/repro_a/build/tiny/tiny" "$T/repro_b/build/tiny/tiny"
else
    fail "repro/build" "$(tail -n 3 "$T/repro_a.log" "$T/repro_b.log")"
fi
