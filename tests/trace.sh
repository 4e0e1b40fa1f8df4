# trace.sh: op-level traces (gen/main.lua --trace, runtime/trace.h, tests/trace_diff.c;
# docs/testing.md, "Op-level traces"), on tiny's CPU trace build with the reference build's
# weights. Sourced by tests/run.sh (tests/lib.sh's check, expect_fail and $T).
tr_fx=tests/fixtures/tiny
check "trace/build" make -s build/trace_diff build/trace/tiny/tiny build/tiny/tiny build/tiny/tiny.weights
# a trace build computes what the plain build does (the same ids), and writes its points
check "trace/same-ids-as-plain-build" sh -c "build/tiny/tiny --weights build/tiny/tiny.weights \
        --batch-file $tr_fx/prompts.txt -n 4 --print-ids >'$T/tr_plain' &&
    DF_TRACE='$T/tr1' build/trace/tiny/tiny --weights build/tiny/tiny.weights --batch-file $tr_fx/prompts.txt -n 4 \
        --print-ids >'$T/tr_ids' && cmp '$T/tr_plain' '$T/tr_ids'"
# 4 steps (a prefill, 3 decodes) x (layer 0, dense: h twice, kv_a, q, attn, proj; layers 1 and 2,
# MoE: the same and the router's scores; the head: the final norm and the logits) = 4 x 22
check "trace/records" sh -c "DF_TRACE='$T/tr2' build/trace/tiny/tiny --weights build/tiny/tiny.weights \
    --batch-file $tr_fx/prompts.txt -n 4 --threads 2 >/dev/null &&
    build/trace_diff --tol 0 '$T/tr1' '$T/tr2' >'$T/tr_diff' && cat '$T/tr_diff' &&
    grep -q '^trace_diff: 88 records within 0; the largest max|d|/std 0 at' '$T/tr_diff'"
# one logit of the second decode step changed: trace_diff names that point and where in it
cp "$T/tr1" "$T/tr_bad"
tr_at=$(grep -abo 'head logits first' "$T/tr_bad" | sed -n '3p' | cut -d: -f1)
printf '\177\177\177\177' | dd of="$T/tr_bad" bs=1 seek=$((tr_at + 48 + 12 + 4 * 130)) conv=notrunc 2>/dev/null
expect_fail "trace/diff-names-the-point" 1 \
    '^trace_diff: first divergence at "head logits first" #2: max\|d\|/std [0-9.e+]* \(tol 0.001\); row 0 column 130: ' \
    build/trace_diff "$T/tr1" "$T/tr_bad"
# a point missing from the other trace (cut before that record)
head -c $((tr_at - 4)) "$T/tr1" >"$T/tr_short"
expect_fail "trace/diff-missing-point" 1 '"head logits first" #2 is not in' build/trace_diff "$T/tr1" "$T/tr_short"
expect_fail "trace/diff-extra-point" 1 '"head logits first" #2 is not in' build/trace_diff "$T/tr_short" "$T/tr1"
expect_fail "trace/diff-not-a-trace" 2 'not a trace' build/trace_diff "$T/tr1" $tr_fx/prompts.txt
# only a model whose activations are f32 has a trace build
expect_fail "trace/gen-refuses-fp8-activations" 3 'deploy.activations: --trace compares f32 activations' \
    lua5.4 gen/main.lua --spec specs/tiny_fp8act.lua --trace --out "$T/tr_gen"
# on a machine without lua5.4 (the GPU machine: DF_NO_REGEN=1, the sources carried) make plans no
# generator run for the trace builds, nor for the reference build whose weights they read
check "trace/no-regen" sh -c "make -s build/cuda_bench_src/trace/v3_h16/forward.c build/cuda_bench_src/trace/v3_h16_cuda/forward.c &&
    make -n -W gen/main.lua -W gen/emit.lua -W specs/v3_h16.lua -W specs/v3_h16_cuda.lua \
    DF_NO_REGEN=1 build/trace/v3_h16/v3_h16 build/trace/v3_h16_cuda/v3_h16_cuda build/v3_h16/v3_h16.weights >'$T/tr_n' 2>&1 &&
    ! grep -e 'gen/main.lua' -e 'gen/tokenizer.lua' '$T/tr_n'"
# and --trace changes nothing without it: the committed sources are a plain generation (golden.sh)
