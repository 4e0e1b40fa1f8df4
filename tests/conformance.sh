# conformance.sh: each reference model against its HF transformers fixture
# (tests/fixtures/<m>/: prompts, greedy ids and logits made by
# tools/make_fixtures.py). Prefill plus 9 greedy decode steps (-n 10), as a
# batch of the 3 prompts (lengths 5, 13, 29) and prompt 0 alone.
#
# Tolerance: max|logit - reference| / std(reference logits) < 1e-3, in the
# reference precision (weights as stored, f32 activations and KV cache). The
# reference is float32 too; what remains is float32 rounding in a different
# summation order (and absorbed vs. explicit attention), about 1e-5 measured.
# Greedy ids must be identical. Sourced by tests/run.sh.
#
# tiny_bf16act (deploy.activations = "bf16") against transformers with every
# bf16-weight product's input rounded to bf16 the same way: the float32 parts
# still agree to ~1e-6 relative, but rounding to bf16 is a step function, so
# those tiny differences move the odd activation across a rounding boundary,
# a change of one bf16 unit (2^-8 relative), which then propagates through
# the layers and the KV cache. Measured: max|d|/std 1.7e-2, median |d|/std
# 8.1e-4 (plain C 1.5e-2, 5.6e-4; the rows before any such flip agree to
# ~1e-5), the same on every machine since the bits are; the precision's own
# cost, bf16 vs f32 activations on this model, is a median of 4.5e-3 and a
# max of 1.3 (tests/fixtures/tiny_bf16act/README.md). So: max < 5e-2 (3x the
# measured, 26x below the cost) and median < 1.5e-3 (1.85x the measured, 3x
# below the cost: running in f32 fails it, and so does leaving the routed
# experts or the shared expert's down projection unrounded, 2.0e-3 and
# 1.8e-3; tests/gen/golden.sh checks which products round), ids identical.
#
# tiny_fp8act (deploy.activations = "fp8") against transformers with every
# FP8-weight product's input quantized as DeepSeek's act_quant does, values
# code * scale (tools/make_fixtures.py, fp8_input; the same arithmetic as
# runtime/kernels/quant.h). A quantization step is an e4m3 unit, 2^-3
# relative: a float32 difference of one rounding that moves an activation
# across a step changes it by up to 1/8, and a changed latent KV row changes
# every later position of its sequence. So greedy ids cannot be required to
# match, and the comparison is teacher-forced: each decode step is fed the
# fixture's id (--force-file), which makes every row comparable. How far the
# reference itself moves under float32 noise (each quantized input times
# 1 + 2e-7 N(0,1), 4 seeds, HF): max|d|/std 0.26-0.95, median |d|/std
# 0.014-0.023, argmax agreement 29-30 of 30 rows. The binary measures max 0.98
# (the prompt of 29 tokens: one flip at its 9th position, whose KV row every
# later row reads), median 1.1e-6 (plain C 1.3e-6: most rows have no flip and
# agree to float32 rounding) and 29 of 30. Bounds: max < 2, median < 1e-2,
# argmax on at least 90% of the rows. Leaving one product's input unquantized
# gives medians of 0.035-0.09 and argmax 22-28 of 30 (o_proj, q_b, kv_a, the
# dense down projection), running in f32 0.078; the one that would pass, the
# last layer's shared-expert down projection (median 4.3e-3), is caught by
# tests/gen/golden.sh, which checks that every FP8 product reads a quantized
# input. Prompt 0 alone (its 10 rows, batch1-logits) keeps the max and argmax
# bounds, but its median is held to 0.15, the bound this file puts on the
# precision's whole cost (against tiny_fp8's float32 fixture, below): one flip
# at its first decode step moves 9 of the 10 rows, so their median is one
# event's, not the 30 rows' statistic the bounds were set on (the emulated
# CUDA build, tests/simt, flips there: median 3.5e-2, max 0.27, argmax 10 of
# 10; the CPU builds flip at its 8th step and in prompt 2's prefill). Its rows
# are the batch's, bit for bit (invariance below), where all three bounds hold.
# On a GPU (tests/cuda/conformance.sh: tests/lib.sh, tolerance_gpu) the
# products whose shape cuBLASLt takes are its block-scaled FP8 GEMM; of this
# model's, o_proj (k = 160; the others keep the backend's float32-summing
# kernels). The H200 measured that GEMM's error at 1.5e-4 to 2.2e-4 normwise
# against fp64, with f32 output (tests/cuda/fp8_gemm_check.cu), where
# float32's is about 1e-7. So a flip happens in every prompt: the H200
# measured a median of 2.4e-2, a max of 0.78 and argmax 29 of 30
# (docs/gpu-runs/2026-11-30-h200/).
#
# tools/fp8act_noise.py measures both sides of a bound in this statistic, HF
# teacher-forced in one pass:
# - the spread: o_proj's output plus 2e-4 rms(row) N(0,1), 16 seeds: max
#   0.17-1.25, median 0.022-0.026, argmax 28-30 of 30 (prompt 0 alone: median
#   0.022-0.028, 9-10 of 10). At 5e-5 the median is 0.018-0.022, at 1e-5 mostly
#   0.013;
# - what the bound must catch: one product family's input left unquantized
#   gives medians of 0.035 (the dense down projection), 0.060 (o_proj), 0.070
#   (q_b), 0.081 (q_a) and 0.090 (kv_a), with argmax 22-28 of 30; no
#   quantization at all, 0.083 and 23 of 30.
#
# The GPU's batch bounds:
# - max < 2 and argmax on at least 90% of the rows, as on the CPU;
# - median < 3e-2: 1.14x the spread's largest, 0.85x the smallest failure's.
#
# What they do not catch: the MoE's products left unquantized. The routed
# experts' gate and up give 0.013, their down projection 0.0062, the shared
# experts' down projection 0.0043. On a GPU those rest on tests/gen/golden.sh
# (the same generated code: every FP8 product reads a quantized input, the
# experts take DF_ACT_FP8) and on the emulated device's run under the CPU's
# bounds, which catches the gate and up but not the routed down alone.
#
# Noise of float32's size (2e-7, on products' inputs or outputs) moves no
# activation across a step in that harness (median 4e-7). The spread quoted
# above for 2e-7 (medians 0.014-0.023) was measured some other way, and its
# script was not kept. The CPU's bound of 1e-2 stands on its two sides as
# measured here: the binary's 1.1e-6 (the emulated device's 6.4e-7) below it,
# and every failure above, from 0.035.
#
# tiny_bf16kv and v3_h16_bf16kv (deploy.kv_cache = "bf16") against
# transformers with the same latents rounded to bf16 (tools/make_fixtures.py,
# LatentsBf16). Rounding is a step function: a float32 difference that moves a
# cached value across a bf16 boundary changes it by 2^-8 relative, and every
# later position reads it. Measured: tiny_bf16kv max|d|/std 3.7e-5, median
# 6.5e-7 (no such flip); v3_h16_bf16kv (320 cached values a row) 4.3e-4 and
# 2.4e-5 (plain C 8.3e-6). The f32 cache against these fixtures: tiny a max of
# 1.8e-2 and a median of 2.2e-3, v3_h16 4.1 (its greedy ids differ) and 2.6e-3.
# Bounds: max < 1e-2 (23x the measured), median < 1e-4 (4x the measured, 22x
# below the f32 cache's), ids identical.
# (tolerance, forced and force_args: tests/lib.sh, shared with tests/cuda/conformance.sh.)
N=10
for m in $REF_MODELS; do
    bin=build/$m/$m
    wts=build/$m/$m.weights
    fx=tests/fixtures/$m
    vocab=$(sed -n 's/.*"vocab_size": *\([0-9]*\).*/\1/p' $fx/hf/config.json)
    head -n 1 $fx/expected_ids.txt >"$T/$m.force.0"
    if ! $bin --weights $wts --batch-file $fx/prompts.txt -n $N --print-ids --logits "$T/$m.b3" \
        $(force_args $m $fx/expected_ids.txt) >"$T/$m.b3.ids" 2>"$T/err"; then
        fail "conformance/$m/run" "$(cat "$T/err")"
        continue
    fi
    forced $m || check "conformance/$m/batch3-ids" cmp "$T/$m.b3.ids" $fx/expected_ids.txt
    check "conformance/$m/batch3-logits" build/compare_logits $fx/expected_logits.bin "$T/$m.b3" "$vocab" $N 3 0 $(tolerance $m)
    $bin --weights $wts --ids "$(head -n 1 $fx/prompts.txt)" -n $N --print-ids --logits "$T/$m.b1" \
        $(force_args $m "$T/$m.force.0") >"$T/$m.b1.ids"
    forced $m || check "conformance/$m/batch1-ids" sh -c "head -n 1 $fx/expected_ids.txt | cmp - '$T/$m.b1.ids'"
    check "conformance/$m/batch1-logits" build/compare_logits $fx/expected_logits.bin "$T/$m.b1" "$vocab" $N 1 0 $(tolerance_one $m)

    # Batch invariance: each prompt alone gives the same bits as in the batch.
    row_bytes=$((vocab * 4 * N))
    for i in 1 2; do
        sed -n "$((i + 1))p" $fx/expected_ids.txt >"$T/$m.force.$i"
        $bin --weights $wts --ids "$(sed -n "$((i + 1))p" $fx/prompts.txt)" -n $N --logits "$T/$m.alone$i" \
            $(force_args $m "$T/$m.force.$i")
        check "invariance/$m/prompt$i-alone-equals-batch" cmp -n $row_bytes "$T/$m.alone$i" "$T/$m.b3" 0 $((i * row_bytes))
    done
    check "invariance/$m/prompt0-alone-equals-batch" cmp -n $row_bytes "$T/$m.b1" "$T/$m.b3"
    # Thread invariance: 2 threads give the same bits as 1.
    $bin --weights $wts --batch-file $fx/prompts.txt -n $N --threads 2 --logits "$T/$m.t2" \
        $(force_args $m $fx/expected_ids.txt) >/dev/null
    check "invariance/$m/threads2-equals-threads1" cmp "$T/$m.t2" "$T/$m.b3"
done

# tiny_bf16act against tiny's own float32 fixture too (the same checkpoint and
# prompts): what the precision costs. HF itself, run with bf16 activations,
# is a median |d|/std of 4.5e-3 from that reference and a max of 1.3 (one row
# whose routing differs between the precisions; tests/fixtures/tiny_bf16act/
# README.md); the binary measures 4.5e-3 and 1.3 too. Bounds: median < 1e-2,
# max < 2, and the same greedy ids.
check "precision/tiny_bf16act/vs-f32-reference-ids" cmp "$T/tiny_bf16act.b3.ids" tests/fixtures/tiny/expected_ids.txt
check "precision/tiny_bf16act/vs-f32-reference-logits" \
    build/compare_logits tests/fixtures/tiny/expected_logits.bin "$T/tiny_bf16act.b3" 1000 $N 3 0 2 1e-2

# tiny_bf16kv against tiny's float32 fixture: what the bf16 cache costs. HF
# with it is a median |d|/std of 2.2e-3 from that reference and a largest row
# of 1.8e-2 (tests/fixtures/tiny_bf16kv/README.md); the binary measures the
# same, 2.2e-3 and 1.8e-2. Bounds: median < 1e-2, max < 5e-2, the same ids.
check "precision/tiny_bf16kv/vs-f32-reference-ids" cmp "$T/tiny_bf16kv.b3.ids" tests/fixtures/tiny/expected_ids.txt
check "precision/tiny_bf16kv/vs-f32-reference-logits" \
    build/compare_logits tests/fixtures/tiny/expected_logits.bin "$T/tiny_bf16kv.b3" 1000 $N 3 0 5e-2 1e-2

# tiny_fp8act against tiny_fp8's float32 fixture, teacher-forced with that
# fixture's ids: what FP8 activations cost. HF with them is a median |d|/std
# of 0.078 from that reference and a max of 1.41 over the rows before the two
# precisions' greedy picks part (tests/fixtures/tiny_fp8act/README.md); the
# binary measures 0.083 and 1.46 over all rows. Bounds: median < 0.15, max < 3.
build/tiny_fp8act/tiny_fp8act --weights build/tiny_fp8act/tiny_fp8act.weights --batch-file tests/fixtures/tiny_fp8/prompts.txt \
    --force-file tests/fixtures/tiny_fp8/expected_ids.txt -n $N --logits "$T/tiny_fp8act.vs-f32" >/dev/null
check "precision/tiny_fp8act/vs-f32-reference-logits" \
    build/compare_logits tests/fixtures/tiny_fp8/expected_logits.bin "$T/tiny_fp8act.vs-f32" 1000 $N 3 0 3 0.15

# Chunked prefill: the tiny model with prefill steps of 4 tokens (the 3 prompts
# of 5, 13 and 29 tokens take 12 steps, some mixing two sequences) computes the
# same bits as with one 47-token step.
lua5.4 -e "local s = io.open('specs/tiny.lua'):read('a'):gsub('max_batch = 4,', 'max_batch = 4, prefill_chunk = 4,')
           io.open('$T/tiny_chunk4.lua', 'w'):write(s)"
if make -s NAME=tiny SPEC="$T/tiny_chunk4.lua" HF=tests/fixtures/tiny/hf OUT="$T/chunk4" >"$T/chunk4.log" 2>&1; then
    "$T/chunk4/tiny" --weights build/tiny/tiny.weights --batch-file tests/fixtures/tiny/prompts.txt -n 10 --logits "$T/chunk4.logits"
    check "invariance/tiny/chunked-prefill-equals-one-step" cmp "$T/chunk4.logits" "$T/tiny.b3"
else
    fail "invariance/tiny/chunked-prefill-equals-one-step" "could not build: $(tail -3 "$T/chunk4.log")"
fi

# Every instruction set the machine has (runtime/cpu_features.h; DF_ISA picks a
# lower one): the plain C reference and AVX2 against the same fixtures and
# tolerance, AVX2 bit-identical to AVX-512 (docs/cpu-performance.md), and each
# ISA batch- and thread-invariant on its own; with bf16 activations, AVX-512
# BF16's dot products bit-identical to AVX-512's and AVX2's emulation of them.
has() { grep -qw "$1" /proc/cpuinfo 2>/dev/null; }
best_isa=scalar
has avx2 && has fma && has f16c && best_isa=avx2
[ $best_isa = avx2 ] && has avx512f && has avx512bw && has avx512dq && has avx512vl && has gfni && best_isa=avx512
[ $best_isa = avx512 ] && has avx512_bf16 && best_isa=avx512bf16
for m in tiny tiny_fp8 tiny_bf16act tiny_bf16kv tiny_fp8act; do
    bin=build/$m/$m wts=build/$m/$m.weights fx=tests/fixtures/$m
    force="$(force_args $m $fx/expected_ids.txt)"
    vocab=$(sed -n 's/.*"vocab_size": *\([0-9]*\).*/\1/p' $fx/hf/config.json)
    isas="scalar avx2 avx512"
    [ $m = tiny_bf16act ] && isas="$isas avx512bf16"
    for isa in $isas; do
        case "$best_isa:$isa" in scalar:avx* | avx2:avx512* | avx512:avx512bf16) continue ;; esac
        DF_ISA=$isa $bin --weights $wts --batch-file $fx/prompts.txt -n $N --print-ids --logits "$T/$m.$isa" $force >"$T/$m.$isa.ids"
        forced $m || check "conformance/$m/$isa-ids" cmp "$T/$m.$isa.ids" $fx/expected_ids.txt
        check "conformance/$m/$isa-logits" build/compare_logits $fx/expected_logits.bin "$T/$m.$isa" "$vocab" $N 3 0 $(tolerance $m)
        DF_ISA=$isa $bin --weights $wts --batch-file $fx/prompts.txt -n $N --threads 2 --logits "$T/$m.$isa.t2" $force >/dev/null
        check "invariance/$m/$isa-threads2-equals-threads1" cmp "$T/$m.$isa.t2" "$T/$m.$isa"
        DF_ISA=$isa $bin --weights $wts --ids "$(sed -n 3p $fx/prompts.txt)" -n $N --logits "$T/$m.$isa.alone2" \
            $(force_args $m "$T/$m.force.2")
        check "invariance/$m/$isa-prompt2-alone-equals-batch" cmp -n $((vocab * 4 * N)) "$T/$m.$isa.alone2" "$T/$m.$isa" 0 $((2 * vocab * 4 * N))
    done
    case $best_isa in avx512*) check "isa/$m/avx2-equals-avx512" cmp "$T/$m.avx2" "$T/$m.avx512" ;; esac
    [ $m = tiny_bf16act ] && [ $best_isa = avx512bf16 ] &&
        check "isa/$m/avx512bf16-equals-avx512" cmp "$T/$m.avx512bf16" "$T/$m.avx512"
done
