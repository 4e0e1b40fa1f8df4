# simt/gpu_check_read.sh: tools/gpu-check.sh's readers (tools/gpu-check-read.sh) on the real
# output of the programs it runs, before a GPU session depends on them: the device programs on
# the emulated device (their figures are the emulator's; what is checked is that each reader
# finds its value, a number where the table wants one), the host ones as they are. Sourced by
# tests/simt/run.sh once the emulated models are built and their conformance has left its
# comparisons in $T, and has sourced the readers. Not covered: fp8_gemm_check's lines (its
# shapes are too large to emulate) and ncu's reports, but for read_ncu_kernels on the report an
# H200's ncu wrote on 2026-11-30 (docs/gpu-runs/2026-11-30-h200/followup/ncu_linear.txt).
# one_line V: V is one line (a value printed twice would break the table's row)
read_newline=$(printf '\n_')
read_newline=${read_newline%_}
one_line() { case "$1" in *"$read_newline"*) echo "more than one line: $1"; return 1 ;; esac; }
# numbers V...: every V a decimal number (an exponent allowed); positive V...: and above zero
numbers() {
    for v; do
        one_line "$v" && printf '%s\n' "$v" | grep -Eqx '[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?' ||
            { echo "not a number: '$v'"; return 1; }
    done
}
positive() {
    numbers "$@" || return 1
    for v; do awk -v v="$v" 'BEGIN { exit !(v + 0 > 0) }' || { echo "not above zero: $v"; return 1; }; done
}
# matches TEXT ERE: TEXT, printed, is one line that the extended regular expression matches whole
matches() { printf '%s\n' "$1"; one_line "$1" && printf '%s\n' "$1" | grep -Eqx -- "$2"; }

# compare_logits's lines, as the conformance left them for every emulated model
read_conformance() {
    for m in $SIMT_MODELS; do
        numbers "$(read_max_d "$T/cuda_${m}_cuda.b3.cmp")" "$(read_max_d "$T/cuda_${m}_cuda.b1.cmp")" || return 1
    done
}
check "simt/gpu-check-read/conformance-max-d" read_conformance

# the cuBLASLt algorithms of the audit records made above (tests/simt/run.sh), as gpu-check shows them
read_audits() {
    for m in tiny_fp8act tiny_bf16act; do
        matches "$(read_gemms "$T/${m}_cuda.audit.json")" '"(FP8|bf16) [0-9]+x[0-9]+: cand [0-9]+/[0-9]+ algo [0-9]+ .*' || return 1
    done
}
check "simt/gpu-check-read/audit-gemms" read_audits

# trace_diff's verdict on the op-level traces (tests/simt/run.sh, above), the row gpu-check shows
read_traces() {
    for m in $SIMT_TRACE_MODELS; do
        matches "$(read_trace_diff "$T/$m.trace_diff")" '[0-9]+ records within [0-9.e-]+; the largest max\\\|d\\\|/std .*' || return 1
    done
}
check "simt/gpu-check-read/trace_diff" read_traces

# DF_CUDA_STATS: the fixture's batch with graphs (decode ms after the first step, wall, prefill);
# DF_CUDA_PROFILE (graphs off) over 4-token prefill steps, so that prefill has timed steps too
fx=tests/fixtures/tiny
DF_CUDA_STATS=1 build/simt/tiny_cuda/tiny_cuda --weights build/tiny_cuda/tiny_cuda.weights --batch-file $fx/prompts.txt \
    -n 4 >/dev/null 2>"$T/read_stats"
check "simt/gpu-check-read/stats" positive "$(read_decode_ms "$T/read_stats")" "$(read_wall_ms "$T/read_stats")" \
    "$(read_prefill_ms "$T/read_stats")"
DF_CUDA_STATS=1 DF_CUDA_PROFILE=1 DF_CUDA_GRAPH=0 build/simt/chunk4/tiny_cuda/tiny_cuda \
    --weights build/cuda_bench/tiny_chunk4_cuda/tiny_cuda.weights --batch-file $fx/prompts.txt -n 4 >/dev/null 2>"$T/read_prof"
read_nl=$(read_launches "$T/read_prof")
kernel_share='[^;]+ [0-9.]+% \([0-9.]+ ms\)'
read_profile() {
    positive "$(read_profile_ms "$T/read_prof" decode)" "$(read_profile_ms "$T/read_prof" prefill)" "$read_nl" &&
        matches "$(read_profile_top "$T/read_prof" decode)" "($kernel_share; ){3}$kernel_share" &&
        matches "$(read_profile_top "$T/read_prof" prefill)" "($kernel_share; ){0,3}$kernel_share" &&
        matches "$read_nl" '[0-9]+'
}
check "simt/gpu-check-read/profile" read_profile

# the profile's launch count for launch_floor, as gpu-check passes it; the copy bandwidth
make -s build/simt/launch_floor build/simt/bandwidth build/simt/sample_check >"$T/simt_build" 2>&1 || cat "$T/simt_build"
build/simt/launch_floor "${read_nl:-0}" >"$T/read_lf" 2>&1
check "simt/gpu-check-read/launch_floor" matches "$(read_launch_floor "$T/read_lf")" \
    "${read_nl:-none} launches: graph [0-9.]+ ms \([0-9.]+ us a launch\), with PDL [0-9.]+ ms; .*"
build/simt/bandwidth 0.01 >"$T/read_bw" 2>&1
check "simt/gpu-check-read/bandwidth" positive "$(read_bandwidth "$T/read_bw")"

# sample_check in full (its picks against the host's: a check of its own) and its three lines
check "simt/sample_check" sh -c "build/simt/sample_check >'$T/read_sample' 2>&1; rc=\$?; cat '$T/read_sample'; exit \$rc"
read_sample() {
    matches "$(read_sample_verdict "$T/read_sample")" '[0-9]+ rows sampled and [0-9]+ picked greedily, 0 differ from the host' &&
        matches "$(read_sample_time "$T/read_sample")" '[0-9.]+ us for 1 row, [0-9.]+ us for 16' &&
        matches "$(read_greedy_time "$T/read_sample")" '[0-9.]+ us for 1 row, [0-9.]+ us for 16'
}
check "simt/gpu-check-read/sample_check" read_sample

# ncu's text report (8 kernels profiled), the first of them whole
read_ncu() {
    ncu_rows=$(read_ncu_kernels docs/gpu-runs/2026-11-30-h200/followup/ncu_linear.txt)
    matches "$ncu_rows" '1 linear_k \(grid 16160, 1, 1\): 68\.58 us, memory 81\.12%, DRAM 81\.12%, L2 94\.31%, L1 66\.53% \(hit 79\.98%\), 50\.22 cycles between a warp.s instructions \(45\.1 cycles waiting for a scoreboard dependency\)(; [0-9] linear_k \(grid [0-9]+, 1, 1\): [0-9.]+ us, memory [0-9.]+%, DRAM [0-9.]+%, L2 [0-9.]+%, L1 [0-9.]+% \(hit [0-9.]+%\), [0-9.]+ cycles between a warp.s instructions \([0-9.]+ cycles waiting for [a-zA-Z ]+\)){7}'
}
check "simt/gpu-check-read/ncu_kernels" read_ncu

# mla_check's quick cases and stage variants (run above): the verdict, the tf32 roundings' line,
# a "layer positions, batch<TAB>figures" row per layer (quick: untimed, so nan), and a summary
# per configuration and batch of the stages
read_mla() {
    matches "$(read_mla_cases "$T/mla_quick.txt")" '16 cases, 0 failed; .*' &&
        matches "$(read_mla_tf32 "$T/mla_quick.txt")" 'over [0-9]+ floats .*: rna 0 differ, rn 0 differ; .*' &&
        read_mla_rows "$T/mla_quick.txt" >"$T/read_mla" && cat "$T/read_mla" && test "$(wc -l <"$T/read_mla")" = 4 &&
        ! grep -Evx "(v2lite|v3)(-bf16)? [0-9]+ positions, batch [0-9]+$(printf '	')(nan|[0-9.]+) GB/s = .* of copy, .*" \
            "$T/read_mla" &&
        test "$(read_mla_stages "$T/mla_stages.txt" | grep -c "$(printf '	')")" = 6
}
check "simt/gpu-check-read/mla_check" read_mla

# synth_decode's DF_CUDA_STATS (printed as it frees its arena)
DF_CUDA_STATS=1 build/simt/synth/v3_h16_cuda/synth_decode --batch 1 --prompt 8 -n 4 >/dev/null 2>"$T/read_syn"
check "simt/gpu-check-read/synth-stats" positive "$(read_decode_ms "$T/read_syn")"
# ... and with one token's products timed in the decode graph (the default on a GPU)
DF_CUDA_STATS=1 DF_CUDA_LINEAR_ONE=tune build/simt/synth/v3_h16_cuda/synth_decode --batch 1 --prompt 8 -n 4 >/dev/null \
    2>"$T/read_tuned"
check "simt/gpu-check-read/tuned" matches "$(read_tuned "$T/read_tuned")" \
    '[0-9.]+ / [0-9.]+ / [0-9.]+ ms/step, (linear_k|rows|async) kept'

# The host programs. decode_floor's lines under read_floor: a step of 0.5 ms at batch 1 (0.9 ms
# without graphs), one at batch 16, a batch it has no line for
build/cuda_bench/bench_v3_cuda/decode_floor --gbs 4000 1 16 >"$T/read_floor" 2>/dev/null
read_floors() {
    matches "$(read_floor 1 0.5 0.9 "$T/read_floor" 4000)" '0\.500 ms/step, 2000 tok/s \(without graphs 0\.900 ms\); [0-9.]+ MB of weights/step, floor [0-9.]+ ms at 4000 GB/s; [0-9.]+x the floor \(floor = [0-9]+% of the step\), goal <= 1\.3x (not )?met' &&
        matches "$(read_floor 16 2 '' "$T/read_floor" 4000)" '2\.000 ms/step, 8000 tok/s; [0-9.]+ MB of weights/step \(expected union: [0-9.]+ experts per MoE layer; [0-9.]+ to [0-9.]+ MB\), floor [0-9.]+ ms at 4000 GB/s; [0-9.]+x the floor \(floor = [0-9]+% of the step\)' &&
        matches "$(read_floor 8 1 '' "$T/read_floor" 4000)" '.*\? \(no decode_floor line for batch 8\)'
}
check "simt/gpu-check-read/decode-floor" read_floors
# the packer's line in a log; the weight bytes of a manifest
build/tiny/tiny-pack --hf tests/fixtures/tiny/hf --out "$T/read.weights" >/dev/null 2>"$T/read_pack"
read_pack() { matches "$(read_packs "$T/read_pack")" 'tiny [0-9.]+ MB in [0-9.]+ s' && positive "$(read_weight_bytes generated/tiny_cuda/manifest.c)"; }
check "simt/gpu-check-read/packer" read_pack
if command -v nvcc >/dev/null; then
    nvcc --version >"$T/read_nvcc"
    check "simt/gpu-check-read/nvcc" matches "$(read_nvcc "$T/read_nvcc")" '[0-9.]+ \(V[0-9.]+\)'
fi
