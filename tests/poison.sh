# poison.sh: the memory plan's liveness against what the kernels really read (mk/poison.mk;
# docs/testing.md, "Liveness"). The plan lets two buffers share bytes when their values are never
# alive at the same op, a value living from the op that defines its buffer (writes it whole
# without reading it: gen/schedule.lua's op_defines) to the last op naming the buffer before it is
# defined again. A liveness-checking build (gen/main.lua --poison) fills each buffer with 0xff
# bytes right after its value's last op, so an op that reads more than op_defines says (a value
# the plan counts as dead, whose bytes another buffer may hold) reads NaN or -1: its logits
# would differ from the plain build's, which must be equal bit for bit. On the fixtures' prompts
# (a prefill and 9 decode steps, tiny_fp8act teacher-forced as in conformance.sh). Sourced by
# tests/run.sh (tests/lib.sh's check, force_args and $T).
POISON_MODELS=$(sed -n 's/^POISON_MODELS := //p' mk/poison.mk)
check "poison/build" make -s -j2 $(for m in $POISON_MODELS; do echo build/poison/$m/$m build/$m/$m build/$m/$m.weights; done)
for m in $POISON_MODELS; do
    fx=tests/fixtures/$m
    # the build poisons (a forward pass without df_poison calls would pass trivially)
    check "poison/$m/poisons" grep -q 'df_poison(' build/cuda_bench_src/poison/$m/forward.c
    check "poison/$m/logits-equal-plain-build" sh -c "
        build/$m/$m --weights build/$m/$m.weights --batch-file $fx/prompts.txt -n 10 --logits '$T/$m.plain' \
            $(force_args $m $fx/expected_ids.txt) >/dev/null &&
        build/poison/$m/$m --weights build/$m/$m.weights --batch-file $fx/prompts.txt -n 10 --logits '$T/$m.poison' \
            $(force_args $m $fx/expected_ids.txt) >/dev/null &&
        cmp '$T/$m.plain' '$T/$m.poison'"
done
