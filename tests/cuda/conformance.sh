# cuda/conformance.sh: the CUDA reference models on a GPU against the same HF
# fixtures as tests/conformance.sh: prefill plus 9 greedy decode steps (-n 10),
# a batch of the 3 prompts and prompt 0 alone; greedy ids identical and
# max|logit - reference| / std(reference) < 1e-3 (build/compare_logits), in the
# reference precision. Then, bit for bit on the GPU: each prompt alone equals
# its rows in the batch (batch invariance), and decode without CUDA graphs
# (DF_CUDA_GRAPH=0) equals decode with them, and so does every step with programmatic
# dependent launch (DF_CUDA_PDL=1, runtime/cuda/launch.cuh), and prompt 0 alone as run by default
# (its one-token steps with programmatic launches) equals it without them (DF_CUDA_PDL=0), and
# prompt 0 alone with each kind of
# one-token product (DF_CUDA_LINEAR_ONE=linear_k, rows, async) against the default, which on a
# GPU times them in the decode graph (the first decode step's graph launched 5 times a kind);
# emulated, where the default is linear_k, rows, async and the timed kinds (tune); and the batch with each (the routed
# experts' per-pair kernels through the warps' rings, or R down rows a warp); greedy tokens picked on the device (no
# --logits) equal those picked on the host from the copied logits, and so do sampled ones
# (temperature, top-k and top-p: sample_tokens against df_sample, the same definition).
#
# tiny_fp8act_cuda (FP8 activations) is compared as the CPU's tiny_fp8act is,
# teacher-forced and with that precision's bounds (tests/lib.sh, tolerance;
# the reasons in tests/conformance.sh): its float32 parts differ from HF's as
# the CPU's do, so the same quantization steps can flip. On a GPU its o_proj is
# cuBLASLt's FP8 GEMM, 1000 times further from float32's, and its batch has a
# median bound of its own (tolerance_gpu; measured in tests/conformance.sh). tiny_bf16act_cuda
# (bf16 activations) with the CPU's tiny_bf16act bounds and identical ids. Both
# run their products through cuBLASLt's GEMMs, so their invariance checks are
# also cuBLASLt's (one algorithm per shape for every batch: lt_linear.cu).
#
# Sourced (tests/lib.sh's check/fail, $T) by tests/cuda/run.sh when a GPU is
# present and by tools/gpu-check.sh; and by tests/simt/run.sh with CUDA_BIN_DIR=build/simt
# (the binaries whose device code is emulated on the CPU) and CUDA_CHECK=simt (the checks'
# names begin with it instead of "cuda"). Leaves each comparison's line in
# $T/cuda_<m>.b3.cmp and $T/cuda_<m>.b1.cmp for the report.
N=10
CUDA_CHECK=${CUDA_CHECK:-cuda}
for m in ${CUDA_MODELS:-$CUDA_BASE_MODELS}; do
    mc=${m}_cuda
    bin=${CUDA_BIN_DIR:-build}/$mc/$mc
    wts=build/$mc/$mc.weights
    fx=tests/fixtures/$m
    vocab=$(sed -n 's/.*"vocab_size": *\([0-9]*\).*/\1/p' $fx/hf/config.json)
    for i in 0 1 2; do sed -n "$((i + 1))p" $fx/expected_ids.txt >"$T/$mc.force.$i"; done
    if ! $bin --weights $wts --batch-file $fx/prompts.txt -n $N --print-ids --logits "$T/$mc.b3" \
        $(force_args $m $fx/expected_ids.txt) >"$T/$mc.b3.ids" 2>"$T/err"; then
        fail "$CUDA_CHECK/conformance/$mc/run" "$(cat "$T/err")"
        continue
    fi
    forced $m || check "$CUDA_CHECK/conformance/$mc/batch3-ids" cmp "$T/$mc.b3.ids" $fx/expected_ids.txt
    # Without --logits, greedy decoding picks the tokens on the device (greedy_tokens): the same ids.
    $bin --weights $wts --batch-file $fx/prompts.txt -n $N --print-ids $(force_args $m $fx/expected_ids.txt) >"$T/$mc.dev.ids"
    check "$CUDA_CHECK/greedy/$mc/device-pick-equals-host-pick" cmp "$T/$mc.dev.ids" "$T/$mc.b3.ids"
    # Sampled: on the device without --logits, on the host from the copied rows with it.
    for cut in temperature:"--temp 1.5" cuts:"--temp 0.8 --top-k 5 --top-p 0.9"; do
        name=${cut%%:*} cut=${cut#*:}
        $bin --weights $wts --batch-file $fx/prompts.txt -n $N --print-ids $cut --seed 3 \
            $(force_args $m $fx/expected_ids.txt) >"$T/$mc.sdev.ids"
        $bin --weights $wts --batch-file $fx/prompts.txt -n $N --print-ids $cut --seed 3 --logits "$T/$mc.srows" \
            $(force_args $m $fx/expected_ids.txt) >"$T/$mc.shost.ids"
        check "$CUDA_CHECK/sample/$mc/device-sample-equals-host-sample/$name" cmp "$T/$mc.sdev.ids" "$T/$mc.shost.ids"
    done
    tol3=$(if [ "$CUDA_CHECK" = cuda ]; then tolerance_gpu $m; else tolerance $m; fi)
    check "$CUDA_CHECK/conformance/$mc/batch3-logits" sh -c "build/compare_logits $fx/expected_logits.bin '$T/$mc.b3' $vocab $N 3 0 $tol3 >'$T/cuda_$mc.b3.cmp' 2>&1"
    env -u DF_CUDA_PDL $bin --weights $wts --ids "$(head -n 1 $fx/prompts.txt)" -n $N --print-ids --logits "$T/$mc.b1" \
        $(force_args $m "$T/$mc.force.0") >"$T/$mc.b1.ids"
    forced $m || check "$CUDA_CHECK/conformance/$mc/batch1-ids" sh -c "head -n 1 $fx/expected_ids.txt | cmp - '$T/$mc.b1.ids'"
    check "$CUDA_CHECK/conformance/$mc/batch1-logits" sh -c "build/compare_logits $fx/expected_logits.bin '$T/$mc.b1' $vocab $N 1 0 $(tolerance_one $m) >'$T/cuda_$mc.b1.cmp' 2>&1"

    row_bytes=$((vocab * 4 * N))
    for i in 1 2; do
        $bin --weights $wts --ids "$(sed -n "$((i + 1))p" $fx/prompts.txt)" -n $N --logits "$T/$mc.alone$i" \
            $(force_args $m "$T/$mc.force.$i")
        check "$CUDA_CHECK/invariance/$mc/prompt$i-alone-equals-batch" cmp -n $row_bytes "$T/$mc.alone$i" "$T/$mc.b3" 0 $((i * row_bytes))
    done
    check "$CUDA_CHECK/invariance/$mc/prompt0-alone-equals-batch" cmp -n $row_bytes "$T/$mc.b1" "$T/$mc.b3"
    DF_CUDA_GRAPH=0 $bin --weights $wts --batch-file $fx/prompts.txt -n $N --logits "$T/$mc.nograph" \
        $(force_args $m $fx/expected_ids.txt) >/dev/null
    check "$CUDA_CHECK/invariance/$mc/no-graph-equals-graph" cmp "$T/$mc.nograph" "$T/$mc.b3"
    DF_CUDA_PDL=1 $bin --weights $wts --batch-file $fx/prompts.txt -n $N --logits "$T/$mc.pdl" \
        $(force_args $m $fx/expected_ids.txt) >/dev/null
    check "$CUDA_CHECK/invariance/$mc/pdl-equals-no-pdl" cmp "$T/$mc.pdl" "$T/$mc.b3"
    # prompt 0 alone without programmatic launches, against the default's run (whose one-token
    # decode steps have them: launch.cuh, pdl_on)
    DF_CUDA_PDL=0 $bin --weights $wts --ids "$(head -n 1 $fx/prompts.txt)" -n $N --logits "$T/$mc.b1_nopdl" \
        $(force_args $m "$T/$mc.force.0") >/dev/null
    check "$CUDA_CHECK/invariance/$mc/one-token-pdl-equals-no-pdl" cmp "$T/$mc.b1_nopdl" "$T/$mc.b1"
    # each kind of one-token product (linear_one.cuh: linear_k, linear_rows_k, linear_async_k),
    # which a lone prompt's decode steps run, against the default's run: on a GPU the kinds timed
    # in the decode graph, its launches replayed (tune), which the three named kinds check;
    # emulated linear_k, against which tune is checked
    one_kinds="rows async $([ "$CUDA_CHECK" = simt ] && echo tune || echo linear_k)"
    for k in $one_kinds; do
        DF_CUDA_LINEAR_ONE=$k $bin --weights $wts --ids "$(head -n 1 $fx/prompts.txt)" -n $N --logits "$T/$mc.one_$k" \
            $(force_args $m "$T/$mc.force.0") >/dev/null
        check "$CUDA_CHECK/invariance/$mc/linear-one-$k-equals-default" cmp "$T/$mc.one_$k" "$T/$mc.b1"
    done
    # ... and the batch's steps with them, where the routed experts' per-pair kernels take their
    # rows through the warp's ring (async: moe_gate_up_k, moe_down_combine_k) or R down rows a warp
    # (rows: moe_down_combine_k); the products of several tokens are linear_rows_k's either way
    for k in $one_kinds; do
        DF_CUDA_LINEAR_ONE=$k $bin --weights $wts --batch-file $fx/prompts.txt -n $N --logits "$T/$mc.b3_$k" \
            $(force_args $m $fx/expected_ids.txt) >/dev/null
        check "$CUDA_CHECK/invariance/$mc/batch-$k-equals-default" cmp "$T/$mc.b3_$k" "$T/$mc.b3"
    done
done
