#!/usr/bin/env bash
# gpu-check.sh: the CUDA backend on a machine with one Hopper GPU (H100/H200/H800).
# Run from anywhere in the repository:   bash tools/gpu-check.sh     (or: make gpu-check)
#                                         bash tools/gpu-check.sh sanitize
# The second form is for a second device call: the build, then compute-sanitizer's memcheck and
# racecheck over the reference models' paths and synccheck, memcheck and racecheck over
# mla_check's quick cases (the full run reaches its own compute-sanitizer section only while it
# is under 180 s, which the builds alone may pass), all by 440 s; logs sanitizer_*.txt (in
# more.tgz when $OUT is set).
#
# Needs nvcc, make and a C compiler; no lua5.4 (the reference models' generated CUDA sources are
# committed, the mid-size and real-shape models' come from make cuda-bench-prepare, and nothing is regenerated
# here: DF_NO_REGEN=1), no Python, no network. Libraries the machine lacks (mbedTLS) come from
# build/gpu-deps/ if it was carried along (make gpu-deps); cuBLASLt is the toolkit's, else the
# copy in PyTorch's nvidia-cublas wheel if the machine has one. 82 to 96 s on an H200 (7 runs,
# 2026-11-28; a device call costs about 35 s more to start) before the chunked-prefill builds,
# audits, sampling, one-token checks and the real shapes on synthetic weights were added (not
# yet run: about 3 to 5 minutes expected); the sections' deadlines keep the whole run under 8
# minutes, the later, less important sections (compute-sanitizer, the MLA stages, ncu) giving
# way first.
#
# The device session's call (the lent GPU machine has no lua5.4 and no mbedTLS). Here first:
#   make cuda-bench-prepare     (generated sources of the mid-size models, the tokenizer object,
#                                build/gpu-deps; it prints the carry list and its size, 28 MB)
# then run with
#   carry:     ["build/gpu-deps", "build/cuda_bench_src",
#               "build/tokenizers/deepseek-v3.c", "build/tokenizers/deepseek-v3.o"]
#   command:   bash tools/gpu-check.sh
#   timeout_s: 480 (the script's own deadlines end by 450 s; the table is written row by row,
#               so a run stopped earlier still returns what it measured)
# It writes gpu-check.log, gpu-check.md, mid_size.txt, synth.txt, mla_check.txt,
# mla_check_stages.txt, sample_check.txt, fp8_gemm_check.txt, sanitizer_*.txt, the ncu reports
# and three audit records (<m>_cuda.audit.json) to $OUT; at the end, all but the log, the table,
# mid_size.txt, synth.txt, mla_check.txt and fp8_gemm_check.txt go into $OUT/more.tgz (a call
# brings back 8 files). The sanitize form: the same carry, timeout_s 480.
#
#   1. machine: nvidia-smi -L, the driver, nvcc's version;
#   2. build: the CUDA reference models (tests/models), their packers and weights, the host tests, the
#      bandwidth and launch-floor probes, the FP8 GEMM check (make -k cuda-all cuda-tests); the SASS target
#      (cuobjdump --list-elf);
#   3. the host-side tests (build/cuda/test_hd, build/cuda/test_quant, build/cuda/test_mla_split,
#      build/cuda/test_mla_bf16);
#   4. conformance against the HF fixtures, as tests/conformance.sh (tests/cuda/conformance.sh):
#      batch of 3 and batch of 1, -n 10, identical greedy ids, max|d|/std < 1e-3 (tiny_fp8act_cuda:
#      teacher-forced, with the FP8-activation bounds; tiny_bf16act_cuda: the bf16-activation
#      bounds; both through cuBLASLt's GEMMs; tiny_bf16kv_cuda and v3_h16_bf16kv_cuda: the
#      bf16-cache bounds, the latter's attention through the split-KV kernel over a bf16 cache;
#      v3_h16_r32_cuda: the split-KV kernel over f32 cache rows of 288, the mid-size models');
#      batch invariance, graph = no graph, programmatic dependent launch (DF_CUDA_PDL=1) = none,
#      the three one-token products (DF_CUDA_LINEAR_ONE) and the default's timed choice alike,
#      device greedy = host greedy and device sampling = host sampling, bit for bit; op-level traces of v3_h16 and of the first three
#      models whose checks failed (the CPU and CUDA trace builds, gen/main.lua --trace: trace_diff names
#      the first point where they part; docs/testing.md, "Op-level traces"); the fixtures' prompts in 4-token prefill steps = in one step (tiny, tiny_fp8act and
#      tiny_bf16act again with prefill_chunk 4, mk/cuda_bench.mk); the liveness-checking builds
#      (mk/poison.mk: each dead value's bytes filled with 0xff) = the plain builds, bit for bit;
#      the builds without the schedule's launch fusions (mk/unfused.mk) = the fused builds, bit
#      for bit (the fixture batch and prompt 0 alone);
#      then tiny_cuda against the
#      CPU build of tiny on a 200-token prompt (attention past several chunks); audit records of
#      tiny, tiny_fp8act and tiny_bf16act on the GPU, re-derived by --check (written to $OUT,
#      with each cuBLASLt shape's algorithm in "gemms");
#   5. decode ms/step of tiny_cuda at batch 1 and at its max batch (4), with and without CUDA
#      graphs, and with graphs and programmatic dependent launch (DF_CUDA_STATS=1: the mean wall
#      time of a step, tokens in to greedy ids on the host, after the first step, which captures
#      the graph);
#   6. HBM copy bandwidth: cudaMemcpy device to device of 2 GiB (build/cuda/bandwidth);
#   7. real shapes on synthetic weights (tests/cuda/synth_decode.c, docs/cuda.md "Real shapes on
#      synthetic weights"): DeepSeek-V2-Lite as specs/deepseek_v2_lite.lua declares it (bf16, 31.4
#      GB) and V3's first 8 layers (specs/bench_v3_8l_cuda.lua, FP8, 63 GB), their weights made on
#      the device: decode at batch 1 and 8 against the floor, the other one-token kernels and PDL
#      (the same ids), a batch-1 step's profile, last decode at batch 1 past a 2048-token prompt
#      (a chat's context: 32 attention chunks of 64 a layer for V2-Lite); at most 90 s, by 300 s
#      into the run;
#   8. mid-size decode against the weight-streaming floor (mk/cuda_bench.mk, docs/cuda.md
#      "Mid-size decode measurement"): bench_v3_cuda (bf16, 1.67 GB) and bench_v3_fp8_cuda (FP8,
#      1.10 GB; and bench_v3_fp8act_cuda, the same with FP8 activations through cuBLASLt's FP8
#      GEMMs, each shape's algorithm printed), DeepSeek-V3-shaped with random weights written and packed here; decode ms/step
#      and tok/s at batch 1 and 16, the weight bytes a step reads, the floor (those bytes over
#      the copy bandwidth of 6) and the ratio (goal at batch 1: <= 1.3x), prefill tok/s of
#      512-token prompts and where a prefill step's time goes (DF_CUDA_PROFILE); greedy ids with graphs = without, batch-invariant, and picked on the
#      device = picked on the host (--logits, whose step time is shown too), sampled on the device
#      = sampled on the host (the step times of both too); batch 1 again with each kind of
#      one-token product (DF_CUDA_LINEAR_ONE=linear_k, rows, async: the same ids, which is
#      fastest, beside the default's timing of the three in its first decode graph); batch 1,
#      16 and prefill again with programmatic dependent launch (DF_CUDA_PDL=1: the same ids); what
#      a step's launches cost alone (build/cuda/launch_floor: as many empty kernels as the
#      profile counts, as a graph, with and without PDL); at most 150 s;
#   9. compute-sanitizer memcheck and racecheck on tiny_cuda, if the tool is there and the run is
#      still under 180 s (gpu-check.sh sanitize runs more);
#  10. the split-KV MLA decode kernels (f32 and bf16 caches) against mla_attend and fp64, batch
#      invariance, their cache GB/s against the copy bandwidth (build/cuda/mla_check,
#      docs/cuda-mla.md; under a minute); after step 12, where the 16-head partial kernels' time
#      goes without hardware counters: each with stages left out (mla_check stages; seconds);
#  11. the token picks on the device (build/cuda/sample_check): a sample (launch_sample:
#      greedy_k, sample_weights_k, sample_k) and greedy_k against the host's df_sample_with and
#      df_argmax on the same rows and draws, every row the same token; their times for V3's
#      vocabulary;
#  12. the FP8 block-scaled GEMM through cuBLASLt (build/cuda/fp8_gemm_check,
#      docs/cuda-fp8-gemm.md): correctness against an fp64 reference, TFLOP/s against
#      cuBLASLt's per-tensor FP8 and bf16 GEMMs, decode sizes against the own `linear`, whether
#      a token's rows depend on M (batch invariance: the heuristic's algorithm per M, and the
#      backend's one algorithm per shape); the FP8-activation quantization kernel
#      against the CPU's, bit for bit;
#  13. if ncu is there and time allows: a mid-size decode step's kernels one by one (time and
#      DRAM bytes of each, summed by kernel: tools/ncu_step.awk), its one-token products
#      (linear_k) in detail, its latency-bound kernels in detail (the split-KV attention at a
#      short context, the routing, the experts' down and combine, the pick: their warps'
#      stalls), V3's one-token FP8 products in detail (synth_decode of bench_v3_8l_cuda, by
#      linear_k and by the rows variant), the MLA
#      decode partial kernels' counters (mla_check profile), and cuobjdump's resource usage of
#      mla_check's kernels.
# Prints one table at the end; its values are read out of the programs' outputs by
# tools/gpu-check-read.sh, whose readers CI runs on the same programs' output
# (tests/simt/gpu_check_read.sh: the device ones on the emulated device). Writes gpu-check.log, gpu-check.md, mid_size.txt, synth.txt,
# mla_check.txt, mla_check_stages.txt, sanitizer_tiny_cuda_*.txt, sample_check.txt,
# fp8_gemm_check.txt, ncu_decode.csv, ncu_decode.txt, ncu_linear.txt, ncu_latency.txt,
# ncu_v3_products.txt, ncu_v3_rows.txt, ncu_mla.txt,
# mla_check_resources.txt and the audit records to $OUT if set, else to build/gpu-check/.
# Exit 0 when every check passed.
set -u
cd "$(dirname "$0")/.." || exit 1
MODE=${1:-full}
case "$MODE" in
full | sanitize) ;;
*) echo "usage: bash tools/gpu-check.sh [sanitize]" >&2; exit 2 ;;
esac
START=$(date +%s)
OUTD=${OUT:-build/gpu-check}
mkdir -p "$OUTD"
LOG=$OUTD/gpu-check.log
TABLE=$OUTD/gpu-check.md
exec > >(tee "$LOG") 2>&1
T=$(mktemp -d)
export T
trap 'rm -rf "$T"' EXIT
. tests/lib.sh
. tools/gpu-check-read.sh

# The table is written row by row as the run goes, so that a run stopped from outside (the device
# call's timeout) still leaves what it measured.
printf '| gpu-check | result |\n|---|---|\n' >"$TABLE"
row() { echo "| $1 | $2 |" >>"$TABLE"; }
# same / DIFFER for two files, "?" when either is missing or empty
same_ids() { if [ -s "$1" ] && [ -s "$2" ]; then cmp -s "$1" "$2" && echo same || echo DIFFER; else echo "?"; fi; }
elapsed() { echo $(($(date +%s) - START)); }
section() { echo; echo "== $* ($(elapsed) s)"; }
MODELS=$CUDA_BASE_MODELS # tests/models
# A device call brings back at most 8 files from $OUT (the device library's README, Limits): the
# log, the table and the four main outputs come back as they are, every other output (the
# sanitizer logs, the audit records, sample_check.txt, the ncu reports) in more.tgz.
KEEP_OUT="gpu-check.log gpu-check.md mid_size.txt synth.txt mla_check.txt fp8_gemm_check.txt more.tgz"
bundle_out() {
    local f b extras=()
    for f in "$OUTD"/*; do
        b=$(basename "$f")
        case " $KEEP_OUT " in *" $b "*) ;; *) [ -f "$f" ] && extras+=("$b") ;; esac
    done
    [ "${#extras[@]}" -gt 0 ] || return 0
    if tar -czf "$OUTD/more.tgz" -C "$OUTD" "${extras[@]}"; then
        (cd "$OUTD" && rm -f "${extras[@]}")
        echo "in more.tgz: ${extras[*]}"
    fi
}
# A run stopped from outside (the device call's timeout) bundles what it wrote too.
# (Best effort: bash runs the trap once the command in progress returns, and with the log's tee
# gone a write would end it, hence PIPE ignored first.)
[ -n "${OUT:-}" ] && trap 'trap "" PIPE; bundle_out; exit 143' TERM
# the last row, the table, and the exit status
finish() {
    section "result"
    row "checks" "$PASSED passed, $FAILED failed${FAILED_NAMES:+:$FAILED_NAMES}; $(elapsed) s in all"
    cat "$TABLE"
    [ -n "${OUT:-}" ] && bundle_out
    echo "log: $LOG, table: $TABLE"
    [ "$FAILED" -eq 0 ]
    exit
}
# sanitize TOOL NAME END CMD...: CMD (with $SAN_ENV's assignments in its environment) under
# compute-sanitizer's TOOL, which exits 9 on an error it finds, with a timeout of at most
# $SAN_CAP s (120 unless set) that ends by END seconds into the run; a check
# gpu/sanitizer/NAME/TOOL, and "NAME TOOL: clean" (or FAILED, TIMED OUT, skipped) added to $san
# for the table. linear_k for one token's products unless SAN_ENV names another: timing the three
# in the first decode graph (the default) would run that step 15 times more under the tool.
SAN_ENV=DF_CUDA_LINEAR_ONE=linear_k
sanitize() {
    local tool=$1 name=$2 end=$3 left rc
    shift 3
    left=$((end - $(elapsed)))
    [ "$left" -gt "${SAN_CAP:-120}" ] && left=${SAN_CAP:-120}
    if [ "$left" -lt 10 ]; then san="$san $name $tool: skipped (no time);"; return; fi
    timeout "$left" env $SAN_ENV compute-sanitizer --tool "$tool" --error-exitcode 9 --print-limit 10 "$@" \
        >"$T/san_${name}_$tool" 2>&1
    rc=$?
    cp "$T/san_${name}_$tool" "$OUTD/sanitizer_${name}_$tool.txt"
    if [ "$rc" -eq 0 ]; then
        pass "gpu/sanitizer/$name/$tool"
        san="$san $name $tool: clean;"
    else
        fail "gpu/sanitizer/$name/$tool" "exit $rc"
        tail -n 30 "$T/san_${name}_$tool"
        san="$san $name $tool: $([ "$rc" -eq 124 ] && echo "TIMED OUT after $left s" || echo FAILED);"
    fi
    tail -n 3 "$T/san_${name}_$tool"
}
# model_run M: a CUDA reference model's binary on its fixture's three prompts, 3 tokens each
model_run() { echo "build/$1/$1 --weights build/$1/$1.weights --batch-file tests/fixtures/${1%_cuda}/prompts.txt -n 3"; }

section "machine"
date -u '+%Y-%m-%d %H:%M UTC'
nvidia-smi -L || echo "nvidia-smi -L failed"
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
echo "$gpu"
nvcc --version >"$T/nvcc"
tail -n 2 "$T/nvcc"
nvccv=$(read_nvcc "$T/nvcc")
row "date" "$(date -u '+%Y-%m-%d')"
row "GPU (name, driver, memory)" "${gpu:-none found}"
row "nvcc" "${nvccv:-not found}"

section "build"
for m in $MODELS; do
    if [ ! -f "generated/${m}_cuda/kernels.cu" ]; then
        echo "gpu-check: generated/${m}_cuda is missing (make cuda-generate where lua5.4 is, and bring it along)"
        exit 1
    fi
done
command -v make >/dev/null || { echo "gpu-check: make is not installed"; exit 1; }
if [ -d build/gpu-deps ]; then # made by make gpu-deps where the packages are, carried here
    export CPATH=$PWD/build/gpu-deps/include${CPATH:+:$CPATH}
    export LIBRARY_PATH=$PWD/build/gpu-deps/lib${LIBRARY_PATH:+:$LIBRARY_PATH}
    echo "using build/gpu-deps: $(ls build/gpu-deps/lib | tr '\n' ' ')"
fi
# The tokenizer's C data and its object are made from tokenizers/ by gen/tokenizer.lua where
# lua5.4 is (make cuda-bench-prepare) and carried; with DF_NO_REGEN=1 make never remakes the C
# data, and the touch keeps it from recompiling the carried object (older than the checkout).
[ -f build/tokenizers/deepseek-v3.o ] && touch build/tokenizers/deepseek-v3.o
MAKEVARS="DF_NO_REGEN=1"
command -v cc >/dev/null || MAKEVARS="$MAKEVARS CC=gcc"
# cuBLASLt (every CUDA binary links it): nvcc's toolkit's, else a copy elsewhere,
# such as the lib/ of PyTorch's nvidia-cublas wheel (which has only libcublasLt.so.N, and its
# headers in the include/ beside it).
cuda_root=$(dirname "$(dirname "$(command -v nvcc)")")
ltdir=""
for d in "$cuda_root/lib64" "$cuda_root/lib"; do
    if ls "$d"/libcublasLt.so* >/dev/null 2>&1; then ltdir=$d; break; fi
done
if [ -z "$ltdir" ]; then
    lt=$( (ldconfig -p 2>/dev/null | sed -n 's/.*libcublasLt\.so[.0-9]* .*=> //p';
           timeout 20 find /usr /opt -name 'libcublasLt.so*' 2>/dev/null) | head -n 1)
    [ -n "$lt" ] && ltdir=$(dirname "$lt")
fi
if [ -n "$ltdir" ]; then
    MAKEVARS="$MAKEVARS CUBLASLT_DIR=$ltdir"
    [ -e "$ltdir/libcublasLt.so" ] ||
        MAKEVARS="$MAKEVARS CUBLASLT_LIB=-l:$(basename "$(ls "$ltdir"/libcublasLt.so.*[0-9] | head -n 1)")"
    if [ ! -f "$cuda_root/include/cublasLt.h" ] && [ -f "$ltdir/../include/cublasLt.h" ]; then
        export CPATH=$ltdir/../include${CPATH:+:$CPATH}
    fi
fi
echo "cuBLASLt: ${ltdir:-not found}"
t0=$(date +%s)
# -k: a target that fails (say the FP8 check without cuBLASLt) does not stop the others.
# The reference models again with 4-token prefill steps (mk/cuda_bench.mk, sources carried).
CHUNK_MODELS="tiny tiny_fp8act tiny_bf16act"
chunk_bin() { echo "build/cuda_bench/$1_chunk4_cuda/$1_cuda"; }
CHUNK_TARGETS=$(for m in $CHUNK_MODELS; do [ -d "build/cuda_bench_src/${m}_chunk4_cuda" ] && echo "$(chunk_bin $m) $(chunk_bin $m).weights"; done)
# and, when their sources were carried, v3_h16's trace builds (the op-level traces section) and the
# real shapes' synth_decode (their section, later, then only checks that they are made): their
# compiles share this one's cores
TRACE_TARGETS=$([ -d build/cuda_bench_src/trace/v3_h16_cuda ] &&
    echo build/trace_diff build/trace/v3_h16/v3_h16 build/trace/v3_h16_cuda/v3_h16_cuda build/v3_h16/v3_h16.weights)
# The liveness-checking builds (mk/poison.mk; their kernels.o is the reference build's).
POISON_MODELS=$(sed -n 's/^POISON_MODELS := //p' mk/poison.mk)
poison_bin() { echo "build/poison/$1_cuda/$1_cuda"; }
POISON_TARGETS=$(for m in $POISON_MODELS; do [ -d "build/cuda_bench_src/poison/${m}_cuda" ] && poison_bin $m; done)
# The builds without the launch fusions (mk/unfused.mk; their own kernels.o).
UNFUSED_MODELS=$(sed -n 's/^UNFUSED_MODELS := //p' mk/unfused.mk)
unfused_bin() { echo "build/unfused/$1_cuda/$1_cuda"; }
UNFUSED_TARGETS=$(for m in $UNFUSED_MODELS; do [ -d "build/cuda_bench_src/unfused/${m}_cuda" ] && unfused_bin $m; done)
SYN_MODELS="deepseek_v2_lite bench_v3_8l_cuda" # mk/cuda_bench.mk's CUDA_SYNTH_MODELS
SYNTH_TARGETS=$(for m in $SYN_MODELS; do [ -f "build/cuda_bench_src/$m/kernels.cu" ] &&
    printf "build/cuda_bench/$m/%s " synth_decode decode_floor; done)
# sanitize: the reference models and the kernel checks only
[ "$MODE" = sanitize ] && CHUNK_TARGETS="" POISON_TARGETS="" UNFUSED_TARGETS="" TRACE_TARGETS="" SYNTH_TARGETS=""
if make -k -j"$(nproc)" $MAKEVARS cuda-all cuda-tests build/compare_logits $CHUNK_TARGETS $POISON_TARGETS $UNFUSED_TARGETS \
    $TRACE_TARGETS $SYNTH_TARGETS \
    >"$T/build.log" 2>&1; then
    pass "gpu/build"
    row "build (make -j$(nproc) cuda-all cuda-tests)" "ok, $(($(date +%s) - t0)) s"
else
    fail "gpu/build"
    tail -n 40 "$T/build.log"
    row "build" "FAILED (see the log)"
fi
tail -n 12 "$T/build.log"
if command -v cuobjdump >/dev/null; then
    cuobjdump --list-elf build/tiny_cuda/tiny_cuda | tee "$T/elf"
    check "gpu/sass-sm_90a" grep -q 'sm_90a' "$T/elf"
    row "SASS (cuobjdump --list-elf tiny_cuda)" "$(grep -o 'sm_[0-9a-z]*' "$T/elf" | sort -u | tr '\n' ' ')"
else
    row "SASS" "cuobjdump not found"
fi

if [ "$MODE" = sanitize ]; then
    # A second device call's work, after a full run (whose compute-sanitizer section runs only
    # when the run is still under 180 s): memcheck and racecheck over the paths the reference
    # models take (tiny: mla_attend; v3_h16: the split-KV attention over an f32 cache, and with
    # DF_CUDA_LINEAR_ONE=async the warps' cp.async rings; v3_h16_bf16kv: over a bf16 cache;
    # tiny_fp8act: cuBLASLt's FP8 GEMMs), then synccheck, memcheck and racecheck over mla_check's
    # quick cases (the split-KV kernels alone, both caches, V3's shapes too). The runs end by
    # 440 s; the slowest (racecheck over mla_check) last.
    section "compute-sanitizer (gpu-check.sh sanitize)"
    san=""
    if ! command -v compute-sanitizer >/dev/null; then
        fail "gpu/sanitizer" "compute-sanitizer not installed"
        san="not installed"
    else
        for m in tiny_cuda v3_h16_cuda v3_h16_bf16kv_cuda tiny_fp8act_cuda; do
            sanitize memcheck "$m" 440 $(model_run "$m")
            sanitize racecheck "$m" 440 $(model_run "$m")
            [ "$m" = v3_h16_cuda ] && SAN_ENV=DF_CUDA_LINEAR_ONE=async sanitize racecheck "${m}_async" 440 $(model_run "$m")
        done
        # a lone prompt: one-token decode steps, launched programmatically by default (launch.cuh)
        m=v3_h16_cuda
        sanitize racecheck "${m}_alone" 440 build/$m/$m --weights build/$m/$m.weights \
            --ids "$(head -n 1 tests/fixtures/v3_h16/prompts.txt)" -n 3
        for tool in synccheck memcheck; do sanitize "$tool" mla_check 440 build/cuda/mla_check quick; done
        # racecheck: 15 of the 16 cases in 116 s on an H200 (2026-11-30), so more than 120 s
        SAN_CAP=240 sanitize racecheck mla_check 440 build/cuda/mla_check quick
    fi
    row "compute-sanitizer (sanitizer_*.txt)" "$san"
    finish
fi

section "host tests"
build/cuda/test_hd >"$T/hd" 2>&1
check "gpu/host/test_hd" grep -q ' 0 failed' "$T/hd"
row "host tests (build/cuda/test_hd)" "$(tail -n 1 "$T/hd")"
build/cuda/test_quant >"$T/quant" 2>&1
check "gpu/host/test_quant" grep -q ' 0 failed' "$T/quant"
row "host tests (build/cuda/test_quant)" "$(tail -n 1 "$T/quant")"
build/cuda/test_mla_split >"$T/mla_split" 2>&1
check "gpu/host/test_mla_split" grep -q ' 0 failed' "$T/mla_split"
row "host tests (build/cuda/test_mla_split)" "$(tail -n 1 "$T/mla_split")"
build/cuda/test_mla_bf16 >"$T/mla_bf16" 2>&1
check "gpu/host/test_mla_bf16" grep -q ' 0 failed' "$T/mla_bf16"
row "host tests (build/cuda/test_mla_bf16)" "$(tail -n 1 "$T/mla_bf16")"

section "conformance (tests/cuda/conformance.sh)"
for m in $MODELS; do
    f0=$FAILED p0=$PASSED
    CUDA_MODELS=$m . tests/cuda/conformance.sh
    cat "$T/cuda_${m}_cuda.b3.cmp" "$T/cuda_${m}_cuda.b1.cmp" 2>/dev/null # every bound's figure, into the log
    b3=$(read_max_d "$T/cuda_${m}_cuda.b3.cmp") b1=$(read_max_d "$T/cuda_${m}_cuda.b1.cmp")
    verdict=$([ "$FAILED" -eq "$f0" ] && echo pass || echo "FAIL ($((FAILED - f0)) of $((FAILED - f0 + PASSED - p0)))")
    row "conformance ${m}_cuda: $(forced $m && echo "argmax (teacher-forced)" || echo ids), max\\|d\\|/std batch 3 / batch 1, invariance, graph = no graph" \
        "$verdict; ${b3:-?} / ${b1:-?}"
done

section "op-level traces: each CPU build against its CUDA build (gen/main.lua --trace, tests/trace_diff.c)"
# v3_h16 always (the split-KV path: the tool's own check on a GPU), and the first three reference
# models whose checks failed above (a fault common to all shows in any): the trace builds of both (sources carried in
# build/cuda_bench_src/trace, the reference builds' weights) write their activations at fixed
# points of each layer (DF_TRACE) on the fixture's prompts, teacher-forced with its ids so that
# both read the same tokens, and trace_diff names the first point where they part by more than
# 1e-3 of the values' std. At most 90 s, nothing past 300 s of the whole run.
tr_models=v3_h16
for m in $MODELS; do
    case "$m" in *act) continue ;; esac # FP8/bf16 activations: no trace build (mk/trace.mk)
    case " $FAILED_NAMES " in *"/${m}_cuda/"*) case " $tr_models " in *" $m "*) ;; *) tr_models="$tr_models $m" ;; esac ;; esac
done
tr_models=$(echo $tr_models | cut -d' ' -f1-4)
tr_end=$((START + 300))
[ $((tr_end - $(date +%s))) -gt 90 ] && tr_end=$(($(date +%s) + 90))
if [ ! -d build/cuda_bench_src/trace ]; then
    fail "gpu/trace/sources" "build/cuda_bench_src/trace is missing: make cuda-bench-prepare where lua5.4 is, and carry it"
    row "op-level traces" "NOT RUN: build/cuda_bench_src/trace not carried (make cuda-bench-prepare)"
elif [ $((tr_end - $(date +%s))) -lt 20 ]; then
    row "op-level traces" "skipped: $(elapsed) s spent already"
else
    timeout $((tr_end - $(date +%s))) make -k -j"$(nproc)" $MAKEVARS build/trace_diff \
        $(for m in $tr_models; do printf "build/trace/%s/%s build/trace/%s_cuda/%s_cuda build/%s/%s.weights " \
            "$m" "$m" "$m" "$m" "$m" "$m"; done) >"$T/trace_build.log" 2>&1 || tail -n 20 "$T/trace_build.log"
    for m in $tr_models; do
        fx=tests/fixtures/$m
        [ $((tr_end - $(date +%s))) -lt 5 ] && { row "${m}_cuda op-level trace" "skipped: no time left"; continue; }
        for b in "$m" "${m}_cuda"; do
            left=$((tr_end - $(date +%s)))
            [ "$left" -lt 1 ] && left=1
            DF_TRACE="$T/$b.trace" timeout "$left" build/trace/$b/$b --weights build/$b/$b.weights \
                --batch-file $fx/prompts.txt -n 10 --force-file $fx/expected_ids.txt >/dev/null 2>"$T/$b.trace.err" ||
                tail -n 3 "$T/$b.trace.err"
        done
        build/trace_diff "$T/$m.trace" "$T/${m}_cuda.trace" >"$T/$m.trace_diff" 2>&1
        tr_rc=$?
        for b in "$m" "${m}_cuda"; do # a build that wrote no trace: its own last words instead
            [ -s "$T/$b.trace" ] || echo "trace_diff: $b wrote no trace: $(tail -n 1 "$T/$b.trace.err")" >"$T/$m.trace_diff"
        done
        cat "$T/$m.trace_diff"
        check "gpu/trace/${m}_cuda" test "$tr_rc" -eq 0
        row "${m}_cuda against ${m} (CPU), op by op (DF_TRACE, tests/trace_diff.c)" \
            "$(read_trace_diff "$T/$m.trace_diff")"
    done
fi

# like_conformance CHECK WHAT BIN WEIGHTS M LABEL: BIN on M's fixture prompts as the conformance ran
# its batch of 3 (-n 10, teacher-forced where it is), its logits against the conformance's
# (tests/cuda/conformance.sh's $T/<m>_cuda.b3), bit for bit; WHAT: where BIN comes from.
like_conformance() {
    local name=$1 what=$2 bin=$3 wts=$4 m=$5 label=$6 fx=tests/fixtures/$5 out=$T/$(echo "$1" | tr / _)
    if [ ! -x "$bin" ] || [ ! -f "$T/${m}_cuda.b3" ]; then
        fail "$name" "not built, or no conformance logits ($what carried?)"
        row "$label" "NOT RUN"
        return
    fi
    if ! $bin --weights "$wts" --batch-file $fx/prompts.txt -n 10 --logits "$out.logits" \
        $(force_args $m $fx/expected_ids.txt) >/dev/null 2>"$out.err"; then
        fail "$name" "the run failed: $(tail -n 3 "$out.err")"
        row "$label" "RUN FAILED: $(tail -n 1 "$out.err")"
        return
    fi
    check "$name" cmp "$out.logits" "$T/${m}_cuda.b3"
    row "$label" "$(same_ids "$out.logits" "$T/${m}_cuda.b3")"
}

section "chunked prefill: the fixtures' prompts in 4-token steps = in one step, bit for bit"
# With FP8 or bf16 activations the products run through cuBLASLt's GEMMs at 4 rows (planned for
# 512 rows in both builds, so with the same algorithms: lt_linear.cu), and in tiny_bf16act, whose
# output head is a GEMM too, a step in which no prompt ends runs it on 0 rows.
for m in $CHUNK_MODELS; do
    like_conformance "gpu/chunked-prefill/${m}_cuda" "build/cuda_bench_src/${m}_chunk4_cuda" "$(chunk_bin $m)" \
        "$(chunk_bin $m).weights" $m "${m}_cuda: prefill in 4-token steps = one step (logits, bit for bit)"
done

section "liveness: each value's bytes poisoned after its last op = the plain build, bit for bit"
# The memory plan lets buffers whose values are never alive at once share bytes (gen/plan.lua);
# a poison build (gen/main.lua --poison) fills a buffer with 0xff bytes (cudaMemsetAsync, in the
# graph) after the last op that reads its value, so a kernel reading more than the schedule says
# (op_defines) computes NaN or -1 indices. The fixtures' prompts as in the conformance (its batch
# of 3: fused launches, GEMM inputs and workspace, the split-KV attention's scratch).
for m in $POISON_MODELS; do
    like_conformance "gpu/poison/${m}_cuda" "build/cuda_bench_src/poison" "$(poison_bin $m)" \
        "build/${m}_cuda/${m}_cuda.weights" $m "${m}_cuda: dead values poisoned = plain build (logits, bit for bit)"
done

section "launch fusions: the builds without them = the fused builds, bit for bit"
# gen/main.lua --unfused (mk/unfused.mk): the schedule without the launch fusions it can do
# without (all but rope_in). Each fused kernel computes every output as the kernels it replaces
# do; on the device nvcc contracts each kernel's multiply-adds into fma its own way, so this is
# where that claim meets the machine code. The fixture batch, then prompt 0 alone as the
# conformance ran it (a lone token's decode steps: moe_shared's pair kernels).
for m in $UNFUSED_MODELS; do
    like_conformance "gpu/unfused/${m}_cuda" "build/cuda_bench_src/unfused" "$(unfused_bin $m)" \
        "build/${m}_cuda/${m}_cuda.weights" $m "${m}_cuda: without the launch fusions = fused build (logits, bit for bit)"
    [ -x "$(unfused_bin $m)" ] && [ -f "$T/${m}_cuda.b1" ] || continue
    $(unfused_bin $m) --weights "build/${m}_cuda/${m}_cuda.weights" --ids "$(head -n 1 tests/fixtures/$m/prompts.txt)" \
        -n 10 --logits "$T/${m}_cuda.b1_unfused" $(force_args $m "$T/${m}_cuda.force.0") >/dev/null 2>&1
    check "gpu/unfused/${m}_cuda/prompt-alone" cmp "$T/${m}_cuda.b1_unfused" "$T/${m}_cuda.b1"
    row "${m}_cuda, prompt 0 alone: without the launch fusions = fused build" \
        "$(same_ids "$T/${m}_cuda.b1_unfused" "$T/${m}_cuda.b1")"
done

section "audit records on the GPU: made, then re-derived by a second process (--check)"
# The record's runs take greedy ids with their logits, then sampled ids picked on the device
# (sample_tokens); --check runs them again and compares every output. gemms: the algorithm each
# cuBLASLt shape kept (tiny_fp8act_cuda, tiny_bf16act_cuda).
for m in tiny tiny_fp8act tiny_bf16act; do
    mc=${m}_cuda
    if build/$mc/$mc audit --weights build/$mc/$mc.weights >"$T/$mc.audit.json" 2>"$T/$mc.audit.err" &&
        build/$mc/$mc audit --check "$T/$mc.audit.json" --weights build/$mc/$mc.weights >"$T/$mc.check.out" 2>&1; then
        pass "gpu/audit/$mc"
        row "$mc audit record re-derived (--check); gemms" \
            "reproduced; $(read_gemms "$T/$mc.audit.json")"
    else
        why=$(cat "$T/$mc.audit.err" "$T/$mc.check.out" 2>/dev/null | tail -n 3 | tr '\n' ' ' | cut -c1-200)
        fail "gpu/audit/$mc" "$why"
        row "$mc audit record re-derived (--check)" "FAILED: $why"
    fi
    [ -s "$T/$mc.audit.json" ] && cp "$T/$mc.audit.json" "$OUTD/$mc.audit.json"
done

section "long context: the CUDA builds against the CPU builds (attention over several chunks)"
# A long prompt and 8 generated tokens, each model's GPU binary against its CPU binary (built
# from the committed generated/<m>, touched so that make does not regenerate it), ids equal and
# logits within the reference tolerance (1e-3 of their std):
#   tiny, 200 tokens: every position past 64 crosses an online-softmax chunk of mla_attend;
#   v3_h16_r32, 600 tokens: the split-KV kernel over cache rows of 288 (the mid-size models'
#   shape) merges up to 4 chunks (of 64 to 192 positions), spread over blocks.
# and the liveness-checking build of each (mk/poison.mk) = its plain build, bit for bit: for
# v3_h16_r32 the prefill slices' partial records 1 to 4 apart (of 4), several chunks a token.
for lc in tiny:200 v3_h16_r32:600; do
    lm=${lc%%:*} ln=${lc#*:}
    touch generated/$lm/*
    if make $MAKEVARS build/$lm/$lm build/$lm/$lm.weights >"$T/cpu_$lm.log" 2>&1; then
        long=$(awk -v n=$ln 'BEGIN { for (i = 0; i < n; i++) printf "%s%d", i ? "," : "", (i * 37 + 11) % 1000 }')
        build/$lm/$lm --weights build/$lm/$lm.weights --ids "$long" -n 8 --print-ids --logits "$T/long_$lm.cpu" \
            >"$T/long_$lm.cpu.ids"
        build/${lm}_cuda/${lm}_cuda --weights build/${lm}_cuda/${lm}_cuda.weights --ids "$long" -n 8 --print-ids \
            --logits "$T/long_$lm.gpu" >"$T/long_$lm.gpu.ids"
        $(poison_bin $lm) --weights build/${lm}_cuda/${lm}_cuda.weights --ids "$long" -n 8 --logits "$T/long_$lm.poison" \
            >/dev/null 2>"$T/long_$lm.poison.err" || tail -n 3 "$T/long_$lm.poison.err"
        check "gpu/long-context/$lm/poisoned-equals-plain" cmp "$T/long_$lm.gpu" "$T/long_$lm.poison"
        check "gpu/long-context/$lm/ids-as-cpu" cmp "$T/long_$lm.cpu.ids" "$T/long_$lm.gpu.ids"
        check "gpu/long-context/$lm/logits-as-cpu" sh -c "build/compare_logits '$T/long_$lm.cpu' '$T/long_$lm.gpu' 1000 8 1 \
            >'$T/long_$lm.cmp' 2>&1"
        cat "$T/long_$lm.cmp"
        row "${lm}_cuda vs CPU $lm, $ln-token prompt + 8 (ids, max\\|d\\|/std; poisoned build = plain)" \
            "$(same_ids "$T/long_$lm.cpu.ids" "$T/long_$lm.gpu.ids") ids; $(read_max_d "$T/long_$lm.cmp"); $(same_ids "$T/long_$lm.gpu" "$T/long_$lm.poison")"
    else
        fail "gpu/long-context/$lm/cpu-build"
        tail -n 20 "$T/cpu_$lm.log"
        row "${lm}_cuda vs CPU $lm, long context" "the CPU build failed"
    fi
done

section "decode timing (tiny_cuda, DF_CUDA_STATS=1)"
# From here every run is without programmatic dependent launch unless it says DF_CUDA_PDL=1, as
# in the runs before 2026-11-30, so that the figures compare across runs; the binaries' default
# (the steps of one token programmatic, launch.cuh) is at batch 1 the PDL rows' figure,
# elsewhere the plain one. The checks above ran the default.
export DF_CUDA_PDL=0
fx=tests/fixtures/tiny
{ cat $fx/prompts.txt; head -n 1 $fx/prompts.txt; } >"$T/batch4.txt"
bench() { # bench NAME GRAPH(1|0) INPUT-ARGS...
    local name=$1 graph=$2
    shift 2
    if DF_CUDA_STATS=1 DF_CUDA_GRAPH=$graph build/tiny_cuda/tiny_cuda --weights build/tiny_cuda/tiny_cuda.weights \
        "$@" -n 201 >/dev/null 2>"$T/bench_$name"; then
        read_decode_ms "$T/bench_$name"
    else
        cat "$T/bench_$name" >&2
        echo "?"
    fi
}
b1g=$(bench b1g 1 --ids "$(head -n 1 $fx/prompts.txt)")
b1n=$(bench b1n 0 --ids "$(head -n 1 $fx/prompts.txt)")
b4g=$(bench b4g 1 --batch-file "$T/batch4.txt")
b4n=$(bench b4n 0 --batch-file "$T/batch4.txt")
# programmatic dependent launch (runtime/cuda/launch.cuh), with graphs
b1p=$(DF_CUDA_PDL=1 bench b1p 1 --ids "$(head -n 1 $fx/prompts.txt)")
b4p=$(DF_CUDA_PDL=1 bench b4p 1 --batch-file "$T/batch4.txt")
for b in b1g b1n b4g b4n b1p b4p; do echo "$b:"; cat "$T/bench_$b"; done
prefill=$(read_prefill_ms "$T/bench_b4g")
tps() { awk -v b="$1" -v ms="$2" 'BEGIN { if (ms + 0 > 0) printf "%.0f tok/s", b * 1000 / ms; else print "?" }'; }
row "tiny_cuda decode, batch 1: ms/step with graphs / without" "$b1g / $b1n ($(tps 1 "$b1g") with graphs)"
row "tiny_cuda decode, batch 4: ms/step with graphs / without" "$b4g / $b4n ($(tps 4 "$b4g") with graphs)"
row "tiny_cuda decode, batch 1 / batch 4: ms/step with graphs and programmatic dependent launch (DF_CUDA_PDL=1)" "$b1p / $b4p"
row "tiny_cuda prefill, 52 tokens in one step" "${prefill:-?} ms ($(tps 52 "${prefill:-0}"))"

section "HBM copy bandwidth"
build/cuda/bandwidth 2 | tee "$T/bw"
bw=$(read_bandwidth "$T/bw")
check "gpu/bandwidth" test -n "$bw"
row "HBM copy, cudaMemcpy D2D 2 GiB (read + write)" "${bw:-?} GB/s"
wbytes=$(read_weight_bytes generated/tiny_cuda/manifest.c)
floor=$(awk -v b="$wbytes" -v g="$bw" 'BEGIN { if (g + 0 > 0) printf "%.2f us", b / (g * 1e9) * 1e6; else print "?" }')
row "tiny_cuda weight-streaming floor (weights / bandwidth)" "$floor for $wbytes bytes (the step is launch-bound)"

# The decode-speed sections' helpers (real shapes on synthetic weights, mid-size models): a run
# TAG leaves its ids in $T/mid_TAG.ids and its DF_CUDA_STATS lines in $T/mid_TAG.err.
# run_until END TAG CMD...: CMD with DF_CUDA_STATS, for at most 60 s and not past END (seconds
# since the epoch), its ids to $T/mid_TAG.ids and its stats to $T/mid_TAG.err
run_until() {
    local end=$1 tag=$2 left
    shift 2
    left=$((end - $(date +%s)))
    [ "$left" -gt 60 ] && left=60
    if [ "$left" -lt 5 ]; then echo "skipped: no time left" >"$T/mid_$tag.err"; : >"$T/mid_$tag.ids"; return 1; fi
    CUDA_MODULE_LOADING=EAGER DF_CUDA_STATS=1 timeout "$left" "$@" >"$T/mid_$tag.ids" 2>"$T/mid_$tag.err"
}
mid_decode_ms() { read_decode_ms "$T/mid_$1.err"; }
two_ms() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.3f / %.3f ms/step", a, b; else print "? / ?" }'; }
mid_wall_ms() { read_wall_ms "$T/mid_$1.err"; }
mid_prefill_ms() { read_prefill_ms "$T/mid_$1.err"; }
# floor_line B MS MS_WITHOUT_GRAPHS FLOOR_FILE: a decode step of batch B against decode_floor's line for B
floor_line() { read_floor "$1" "$2" "$3" "$4" "$bw"; }
# one_kinds MODEL TAG TAG_LINEAR_K TAG_ROWS TAG_ASYNC: a batch-1 decode's ms/step with linear_k,
# linear_rows_k and linear_async_k at one token, and by default (TAG: the three timed in the first
# decode step's graph, the fastest kept), with the default's own times of the three; whether the
# three gave the default's ids
one_kinds() {
    local a="$T/mid_$1.$2.ids" d w r s
    d=$(mid_decode_ms "$1.$2") w=$(mid_decode_ms "$1.$3") r=$(mid_decode_ms "$1.$4") s=$(mid_decode_ms "$1.$5")
    echo "${w:-?} / ${r:-?} / ${s:-?}; default ${d:-?} ms/step (in its graph: $(t=$(read_tuned "$T/mid_$1.$2.err"); echo "${t:-?}")); ids $(same_ids "$a" "$T/mid_$1.$3.ids"), $(same_ids "$a" "$T/mid_$1.$4.ids"), $(same_ids "$a" "$T/mid_$1.$5.ids")"
}
# profile_row MODEL TAG B: the largest kernels of a DF_CUDA_PROFILE run's decode steps ($T/mid_MODEL.TAG.err)
profile_row() {
    local top tot
    top=$(read_profile_top "$T/mid_$1.$2.err" decode) tot=$(read_profile_ms "$T/mid_$1.$2.err" decode)
    row "$1 decode profile, batch $3 (DF_CUDA_PROFILE, graphs off): kernels ms/step; largest" "${tot:-?} ms; ${top:-?}"
}
# carried KIND LABEL MODEL...: CARRIED = the models whose generated sources were carried
# (make cuda-bench-prepare); a failed check and a row for each of the others
carried() {
    local kind=$1 label=$2 m
    shift 2
    CARRIED=""
    for m in "$@"; do
        if [ -f "build/cuda_bench_src/$m/kernels.cu" ]; then
            CARRIED="$CARRIED $m"
        else
            fail "gpu/$kind/$m/sources" "build/cuda_bench_src/$m is missing: make cuda-bench-prepare where lua5.4 is, and carry it"
            row "$m ($label)" "NOT RUN: build/cuda_bench_src/$m not carried (make cuda-bench-prepare)"
        fi
    done
}

section "real shapes on synthetic weights (tests/cuda/synth_decode.c)"
# DeepSeek-V2-Lite as its spec declares it (bf16, 31.4 GB) and V3's first 8 layers
# (specs/bench_v3_8l_cuda.lua, FP8, 63 GB), their sources from make cuda-bench-prepare, their
# weights made on the device by synth_decode (no checkpoint, no packing). Decode at batch 1 and at
# the max batch (32-token prompts, 128 steps) against the floor, the other one-token kernel,
# programmatic dependent launch, where a batch-1 step's time goes. At most 90 s, nothing past
# 300 s of the whole run: the figures closest to the goal, before the mid-size models' variants.
SYN_END=$((START + 300))
[ $((SYN_END - $(date +%s))) -gt 90 ] && SYN_END=$(($(date +%s) + 90))
syn_run() { # syn_run TAG MODEL ARGS...: the model's synth_decode
    local tag=$1 m=$2
    shift 2
    run_until "$SYN_END" "$tag" build/cuda_bench/$m/synth_decode --print-ids "$@"
}
SYN_TXT=$OUTD/synth.txt
: >"$SYN_TXT"
carried synth "synthetic weights" $SYN_MODELS
syn_present=$CARRIED
if [ -n "$syn_present" ] && [ $((SYN_END - $(date +%s))) -lt 20 ]; then
    row "real shapes on synthetic weights" "skipped: $(elapsed) s spent already"
    syn_present=""
elif [ -n "$syn_present" ]; then
    t0=$(date +%s)
    timeout "$((SYN_END - t0 > 60 ? 60 : SYN_END - t0))" make -k -j"$(nproc)" $MAKEVARS \
        $(for m in $syn_present; do printf "build/cuda_bench/$m/%s " synth_decode decode_floor; done) >"$T/syn_build.log" 2>&1
    rc=$?
    [ "$rc" -eq 0 ] || tail -n 30 "$T/syn_build.log"
    row "synthetic-weights build: make (synth_decode, decode_floor), -j$(nproc)" \
        "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc)"), $(($(date +%s) - t0)) s"
fi
for m in $syn_present; do
    if [ ! -x "build/cuda_bench/$m/synth_decode" ]; then
        fail "gpu/synth/$m/build" "see the build log above"
        row "$m (synthetic weights)" "NOT RUN: the build failed"
        continue
    fi
    pass "gpu/synth/$m/build"
    mb=$(read_define "build/cuda_bench_src/$m/config.h" MAX_BATCH)
    # the most telling first, should the time run out: async also takes the routed experts' rows
    # (and at the max batch only theirs: several tokens' products are linear_rows_k's either way)
    syn_run "$m.s1" "$m" --batch 1 --prompt 32 -n 129
    DF_CUDA_LINEAR_ONE=async syn_run "$m.s1a" "$m" --batch 1 --prompt 32 -n 129
    syn_run "$m.sb" "$m" --batch "$mb" --prompt 32 -n 129
    DF_CUDA_LINEAR_ONE=async syn_run "$m.sba" "$m" --batch "$mb" --prompt 32 -n 129
    # the same bits with and without async, on rows the reference models do not have (5 steps'
    # logits, at batch 1 and at the max batch)
    for b in 1 "$mb"; do
        syn_run "$m.l$b" "$m" --batch "$b" --prompt 32 -n 5 --logits "$T/syn_$m.l$b"
        DF_CUDA_LINEAR_ONE=async syn_run "$m.l${b}a" "$m" --batch "$b" --prompt 32 -n 5 --logits "$T/syn_$m.l${b}a"
    done
    DF_CUDA_PDL=1 syn_run "$m.s1p" "$m" --batch 1 --prompt 32 -n 129
    DF_CUDA_LINEAR_ONE=rows syn_run "$m.s1r" "$m" --batch 1 --prompt 32 -n 129
    DF_CUDA_LINEAR_ONE=linear_k syn_run "$m.s1w" "$m" --batch 1 --prompt 32 -n 129
    DF_CUDA_PROFILE=1 syn_run "$m.sp" "$m" --batch 1 --prompt 32 -n 33
    # a lone token past 2048 positions, whose attention the chunks of 64 spread over 32 blocks a
    # layer where chunks of 256 made 8 (docs/cuda-mla.md, "How long a chunk is")
    syn_run "$m.s2k" "$m" --batch 1 --prompt 2048 -n 65
    for r in s1 s1a sb sba s1p s1r s1w sp s2k; do echo "$m $r:"; cat "$T/mid_$m.$r.err"; done | tee -a "$SYN_TXT"
    build/cuda_bench/$m/decode_floor ${bw:+--gbs "$bw"} 1 "$mb" 2>&1 | tee -a "$SYN_TXT" >"$T/mid_$m.floor"
    cat "$T/mid_$m.floor"
    d1=$(mid_decode_ms "$m.s1") db=$(mid_decode_ms "$m.sb")
    check "gpu/synth/$m/decode-batch1" test -n "$d1"
    check "gpu/synth/$m/decode-batch$mb" test -n "$db"
    # the same weights and prompt give the same ids whichever one-token kernel, with or without PDL;
    # the batch's first sequence is the prompt of batch 1
    check "gpu/synth/$m/same-ids" sh -c "test -s '$T/mid_$m.s1.ids' && cmp '$T/mid_$m.s1.ids' '$T/mid_$m.s1r.ids' &&
        cmp '$T/mid_$m.s1.ids' '$T/mid_$m.s1a.ids' && cmp '$T/mid_$m.s1.ids' '$T/mid_$m.s1p.ids' &&
        cmp '$T/mid_$m.s1.ids' '$T/mid_$m.s1w.ids'"
    check "gpu/synth/$m/batch-invariance" sh -c "test -s '$T/mid_$m.s1.ids' && head -n 1 '$T/mid_$m.sb.ids' | cmp - '$T/mid_$m.s1.ids'"
    check "gpu/synth/$m/batch$mb-async-same-ids" sh -c "test -s '$T/mid_$m.sb.ids' && cmp '$T/mid_$m.sb.ids' '$T/mid_$m.sba.ids'"
    for b in 1 "$mb"; do
        check "gpu/synth/$m/batch$b-async-same-logits" sh -c "test -s '$T/syn_$m.l$b' && cmp '$T/syn_$m.l$b' '$T/syn_$m.l${b}a'"
    done
    row "$m (synthetic weights): logits of 5 steps at batch 1 and $mb, the default's kernels (timed) against the warps' rings (DF_CUDA_LINEAR_ONE=async)" \
        "$(for b in 1 "$mb"; do printf 'batch %s: %s; ' "$b" "$(same_ids "$T/syn_$m.l$b" "$T/syn_$m.l${b}a" | sed 's/^same$/the same bits/')"; done | sed 's/; $//')"
    row "$m (synthetic weights) decode, batch 1: linear_k / linear_rows_k / linear_async_k at one token (DF_CUDA_LINEAR_ONE), and the default's choice" \
        "$(one_kinds "$m" s1 s1w s1r s1a)"
    row "$m (synthetic weights) decode, batch $mb: the experts' per-pair kernels by default (timed) / through the warps' rings (DF_CUDA_LINEAR_ONE=async)" \
        "$(two_ms "$db" "$(mid_decode_ms "$m.sba")"); ids $(same_ids "$T/mid_$m.sb.ids" "$T/mid_$m.sba.ids")"
    row "$m (synthetic weights) decode, batch 1: with programmatic dependent launch (DF_CUDA_PDL=1)" \
        "$(d=$(mid_decode_ms "$m.s1p"); echo "${d:-?}") ms/step; ids $(same_ids "$T/mid_$m.s1.ids" "$T/mid_$m.s1p.ids")"
    for b in 1 "$mb"; do
        row "$m (synthetic weights) decode, batch $b (32-token prompts, 128 steps)" \
            "$(floor_line "$b" "$([ "$b" = 1 ] && echo "$d1" || echo "$db")" "" "$T/mid_$m.floor")"
    done
    profile_row "$m" sp 1
    row "$m (synthetic weights) decode, batch 1 past a 2048-token prompt (64 steps)" \
        "$(floor_line 1 "$(mid_decode_ms "$m.s2k")" "" "$T/mid_$m.floor")"
done

section "mid-size decode against the weight-streaming floor (mk/cuda_bench.mk)"
# The CPU benchmark's DeepSeek-V3-shaped models for CUDA (specs/bench_v3_cuda.lua, bf16, and
# specs/bench_v3_fp8_cuda.lua: 8 layers, 64 routed experts, 6 per token, the real vocabulary;
# specs/bench_v3_fp8act_cuda.lua, the FP8 one with FP8 activations through cuBLASLt's GEMMs),
# their sources from make cuda-bench-prepare (carried: build/cuda_bench_src), their random
# weights written and packed here. Decode at batch 1 and at the max batch (32-token prompts, 128
# steps; ms/step from DF_CUDA_STATS, after the first step), prefill of 512-token prompts (one
# step each). The floor: the weight bytes a decode step reads (build/cuda_bench/<m>/decode_floor,
# counted as the CPU benchmark counts them; at batch > 1 the expected union of the routed
# experts) over the copy bandwidth above. At most 150 s, and nothing past 330 s of the whole run
# (mla_check's deadline wants a minute from there).
MID_MODELS="bench_v3_cuda bench_v3_fp8_cuda bench_v3_fp8act_cuda"
MID_END=$((START + 330))
[ $((MID_END - $(date +%s))) -gt 150 ] && MID_END=$(($(date +%s) + 150))
mid_left() { echo $((MID_END - $(date +%s))); }
mid_cap() { local l; l=$(mid_left); [ "$l" -gt "$1" ] && l=$1; [ "$l" -lt 1 ] && l=1; echo "$l"; } # a step's seconds: <= $1
mid_ids() { # mid_ids N SEED: N token ids, comma-separated
    awk -v n="$1" -v s="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%s%d", i ? "," : "", 100 + (i * 7919 + s * 104729 + s) % 128000; print "" }'
}
mid_run() { # mid_run TAG MODEL GRAPH(1|0) ARGS...: the model's binary on its packed weights
    local tag=$1 m=$2 graph=$3
    shift 3
    DF_CUDA_GRAPH=$graph run_until "$MID_END" "$tag" build/cuda_bench/$m/$m --weights build/cuda_bench/$m/$m.weights \
        --print-ids "$@"
}
MID_TXT=$OUTD/mid_size.txt
: >"$MID_TXT"
carried mid "mid-size decode" $MID_MODELS
mid_present=$CARRIED mid_build="" mid_weights=""
for m in $mid_present; do
    mid_build="$mid_build $(printf "build/cuda_bench/$m/%s " "$m" "$m-pack" random_checkpoint decode_floor)"
    mid_weights="$mid_weights build/cuda_bench/$m/$m.weights"
done
if [ -n "$mid_present" ]; then
    t0=$(date +%s)
    timeout "$(mid_cap 100)" make -k -j"$(nproc)" $MAKEVARS $mid_build >"$T/mid_build.log" 2>&1
    rc=$?
    t1=$(date +%s)
    [ "$rc" -eq 0 ] || tail -n 30 "$T/mid_build.log"
    # the random checkpoints (bench/random_checkpoint.c) and the packer, the models in parallel
    timeout "$(mid_cap 120)" make -k -j"$(nproc)" $MAKEVARS $mid_weights >"$T/mid_weights.log" 2>&1
    rcw=$?
    t2=$(date +%s)
    [ "$rcw" -eq 0 ] || tail -n 30 "$T/mid_weights.log"
    grep -h -e '^random_checkpoint:' -e '-pack: .* MB in ' "$T/mid_weights.log" | tee -a "$MID_TXT"
    packs=$(read_packs "$T/mid_weights.log")
    row "mid-size build: make (binaries, packers, tools) / random checkpoints + packing, -j$(nproc)" \
        "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc)"), $((t1 - t0)) s / $([ "$rcw" -eq 0 ] && echo ok ||
          echo "FAILED (exit $rcw)"), $((t2 - t1)) s (packer: ${packs:-nothing to pack})"
fi
for m in $mid_present; do
    if [ ! -x "build/cuda_bench/$m/$m" ] || [ ! -f "build/cuda_bench/$m/$m.weights" ]; then
        fail "gpu/mid/$m/build" "see the build logs above"
        row "$m (mid-size decode)" "NOT RUN: the build or the weights failed"
        continue
    fi
    pass "gpu/mid/$m/build"
    mb=$(read_define "build/cuda_bench_src/$m/config.h" MAX_BATCH)
    mid_ids 32 0 >"$T/mid_p1"
    for s in $(seq 0 $((mb - 1))); do mid_ids 32 "$s"; done >"$T/mid_pb"
    for s in 0 1 2 3 4 5 6 7; do mid_ids 512 "$((s + 100))"; done >"$T/mid_pf"
    mid_run "$m.b1" "$m" 1 --ids "$(cat "$T/mid_p1")" -n 129
    mid_run "$m.b1n" "$m" 0 --ids "$(cat "$T/mid_p1")" -n 129
    # each kind of one-token product (linear_one.cuh), named: the same ids, which is fastest
    DF_CUDA_LINEAR_ONE=rows mid_run "$m.b1r" "$m" 1 --ids "$(cat "$T/mid_p1")" -n 129
    DF_CUDA_LINEAR_ONE=async mid_run "$m.b1a" "$m" 1 --ids "$(cat "$T/mid_p1")" -n 129
    DF_CUDA_LINEAR_ONE=linear_k mid_run "$m.b1w" "$m" 1 --ids "$(cat "$T/mid_p1")" -n 129
    mid_run "$m.bb" "$m" 1 --batch-file "$T/mid_pb" -n 129
    # programmatic dependent launch (runtime/cuda/launch.cuh): the same ids, which is faster
    DF_CUDA_PDL=1 mid_run "$m.b1p" "$m" 1 --ids "$(cat "$T/mid_p1")" -n 129
    DF_CUDA_PDL=1 mid_run "$m.bbp" "$m" 1 --batch-file "$T/mid_pb" -n 129
    DF_CUDA_PDL=1 mid_run "$m.pfp" "$m" 1 --batch-file "$T/mid_pf" -n 2
    # the same with --logits: every step's logits rows copied to the host, the tokens picked there
    # (without it, greedy_tokens picks them on the device and copies back only the ids)
    mid_run "$m.bbl" "$m" 1 --batch-file "$T/mid_pb" -n 129 --logits /dev/null
    # sampled (temperature, top-k, top-p): on the device (sample_tokens), then on the host from the
    # copied rows (--logits): the same ids
    mid_run "$m.bs" "$m" 1 --batch-file "$T/mid_pb" -n 65 --temp 0.8 --top-k 40 --top-p 0.95 --seed 1
    mid_run "$m.bsl" "$m" 1 --batch-file "$T/mid_pb" -n 65 --temp 0.8 --top-k 40 --top-p 0.95 --seed 1 --logits /dev/null
    mid_run "$m.pf" "$m" 1 --batch-file "$T/mid_pf" -n 2
    # where a decode step's device time goes: DF_CUDA_PROFILE=1 (graphs off, an event per launch)
    DF_CUDA_PROFILE=1 mid_run "$m.p1" "$m" 0 --ids "$(cat "$T/mid_p1")" -n 33
    DF_CUDA_PROFILE=1 mid_run "$m.pb" "$m" 0 --batch-file "$T/mid_pb" -n 17
    # and a prefill step's (two 512-token prompts, a step each: the profile leaves out the first,
    # which makes cuBLASLt's plans): what a prefill attention kernel would gain
    head -n 2 "$T/mid_pf" >"$T/mid_pf2"
    DF_CUDA_PROFILE=1 mid_run "$m.pp" "$m" 0 --batch-file "$T/mid_pf2" -n 1
    for r in b1 b1n b1r b1a b1w bb b1p bbp pfp bbl bs bsl pf p1 pb pp; do echo "$m $r:"; cat "$T/mid_$m.$r.err"; done | tee -a "$MID_TXT"
    build/cuda_bench/$m/decode_floor ${bw:+--gbs "$bw"} 1 "$mb" 2>&1 | tee -a "$MID_TXT" >"$T/mid_$m.floor"
    cat "$T/mid_$m.floor"
    d1=$(mid_decode_ms "$m.b1") d1n=$(mid_decode_ms "$m.b1n") db=$(mid_decode_ms "$m.bb") pf=$(mid_prefill_ms "$m.pf")
    check "gpu/mid/$m/decode-batch1" test -n "$d1"
    check "gpu/mid/$m/decode-batch$mb" test -n "$db"
    check "gpu/mid/$m/prefill" test -n "$pf"
    # greedy ids: with graphs = without; sequence 0 of the batch = the same prompt alone
    check "gpu/mid/$m/graph-equals-no-graph" sh -c "test -s '$T/mid_$m.b1.ids' && cmp '$T/mid_$m.b1.ids' '$T/mid_$m.b1n.ids'"
    check "gpu/mid/$m/linear-one-same-ids" sh -c "test -s '$T/mid_$m.b1.ids' && cmp '$T/mid_$m.b1.ids' '$T/mid_$m.b1r.ids' &&
        cmp '$T/mid_$m.b1.ids' '$T/mid_$m.b1a.ids' && cmp '$T/mid_$m.b1.ids' '$T/mid_$m.b1w.ids'"
    row "$m decode, batch 1: linear_k / linear_rows_k / linear_async_k at one token (DF_CUDA_LINEAR_ONE), and the default's choice" \
        "$(one_kinds "$m" b1 b1w b1r b1a)"
    check "gpu/mid/$m/pdl-same-ids" sh -c "test -s '$T/mid_$m.b1.ids' && test -s '$T/mid_$m.bb.ids' &&
        cmp '$T/mid_$m.b1.ids' '$T/mid_$m.b1p.ids' && cmp '$T/mid_$m.bb.ids' '$T/mid_$m.bbp.ids'"
    row "$m decode, batch 1 / $mb / prefill: without / with programmatic dependent launch (DF_CUDA_PDL=1)" \
        "$(two_ms "$d1" "$(mid_decode_ms "$m.b1p")"); $(two_ms "$db" "$(mid_decode_ms "$m.bbp")"); $(two_ms "$pf" "$(mid_prefill_ms "$m.pfp")"); ids $(same_ids "$T/mid_$m.b1.ids" "$T/mid_$m.b1p.ids"), $(same_ids "$T/mid_$m.bb.ids" "$T/mid_$m.bbp.ids")"
    check "gpu/mid/$m/batch-invariance" sh -c "test -s '$T/mid_$m.b1.ids' && head -n 1 '$T/mid_$m.bb.ids' | cmp - '$T/mid_$m.b1.ids'"
    check "gpu/mid/$m/device-greedy-equals-host-greedy" sh -c "test -s '$T/mid_$m.bb.ids' && cmp '$T/mid_$m.bb.ids' '$T/mid_$m.bbl.ids'"
    check "gpu/mid/$m/device-sample-equals-host-sample" sh -c "test -s '$T/mid_$m.bs.ids' && cmp '$T/mid_$m.bs.ids' '$T/mid_$m.bsl.ids'"
    row "$m decode, batch $mb: tokens picked on the device / logits copied to the host (--logits)" \
        "$(two_ms "$db" "$(mid_decode_ms "$m.bbl")")"
    row "$m decode, batch $mb, sampled (T 0.8, top-k 40, top-p 0.95): on the device / on the host (--logits), wall per step" \
        "$(two_ms "$(mid_wall_ms "$m.bs")" "$(mid_wall_ms "$m.bsl")"); ids $(same_ids "$T/mid_$m.bs.ids" "$T/mid_$m.bsl.ids")"
    for b in 1 "$mb"; do
        row "$m decode, batch $b (32-token prompts, 128 steps)" \
            "$(floor_line "$b" "$([ "$b" = 1 ] && echo "$d1" || echo "$db")" "$([ "$b" = 1 ] && echo "$d1n")" "$T/mid_$m.floor")"
    done
    profile_row "$m" p1 1
    # the step's launches by themselves: as many kernels that do nothing as the profile counts in
    # a decode step, chained as a graph (build/cuda/launch_floor)
    nl=$(read_launches "$T/mid_$m.p1.err")
    if [ -n "$nl" ] && [ -x build/cuda/launch_floor ]; then
        timeout "$(mid_cap 30)" build/cuda/launch_floor "$nl" >"$T/mid_$m.launch_floor" 2>&1
        cat "$T/mid_$m.launch_floor" >>"$MID_TXT"
        lf=$(read_launch_floor "$T/mid_$m.launch_floor")
        row "$m decode, batch 1: its $nl launches a step alone (build/cuda/launch_floor, empty kernels; the graph step: ${d1:-?} ms)" \
            "${lf:-?}"
    fi
    profile_row "$m" pb "$mb"
    top=$(read_profile_top "$T/mid_$m.pp.err" prefill) tot=$(read_profile_ms "$T/mid_$m.pp.err" prefill)
    row "$m prefill profile, a 512-token step (DF_CUDA_PROFILE, the second of two): kernels ms/step; largest" "${tot:-?} ms; ${top:-?}"
    row "$m prefill, 512-token prompts (8, one step each)" \
        "$(awk -v ms="$pf" 'BEGIN { if (ms + 0 > 0) printf "%.2f ms/step, %.0f tok/s", ms, 512 * 1000 / ms; else print "?" }')"
done

section "compute-sanitizer"
if ! command -v compute-sanitizer >/dev/null; then
    row "compute-sanitizer" "not installed"
elif [ "$(elapsed)" -gt 180 ]; then
    row "compute-sanitizer" "skipped: $(elapsed) s spent already"
else
    san=""
    for tool in memcheck racecheck; do sanitize "$tool" tiny_cuda 270 $(model_run tiny_cuda); done
    row "compute-sanitizer on tiny_cuda (batch 3, -n 3; more: gpu-check.sh sanitize)" "$san"
fi

# timed_check NAME LABEL CAP END [MODE]: runs build/cuda/NAME [MODE] with a timeout of at most
# CAP seconds that ends by END seconds into gpu-check (so a hang cannot eat the device session),
# and not at all with less than min(60, CAP) left; its output in $T/OUT and $OUTD/OUT.txt, OUT
# being NAME or NAME_MODE; passes on exit 0. Returns 1 (after a failing row under LABEL) when it
# could not run; sets out, rc (124: timed out) and budget.
timed_check() {
    out=$1${5:+_$5}
    budget=$(($4 - $(elapsed)))
    [ "$budget" -gt "$3" ] && budget=$3
    if [ ! -x "build/cuda/$1" ]; then
        fail "gpu/$out" "not built (see the build log)"
        row "$2" "NOT BUILT"
        return 1
    elif [ "$budget" -lt 60 ] && [ "$budget" -lt "$3" ]; then
        fail "gpu/$out" "no time left"
        row "$2" "skipped: $(elapsed) s spent already"
        return 1
    fi
    timeout "$budget" "build/cuda/$1" ${5:+"$5"} >"$T/$out" 2>&1
    rc=$?
    cat "$T/$out"
    cp "$T/$out" "$OUTD/$out.txt"
    if [ "$rc" -eq 0 ]; then pass "gpu/$out"; else fail "gpu/$out" "exit $rc"; fi
}
timed_out() { [ "$rc" -eq 124 ] && echo "TIMED OUT after $budget s"; }

section "MLA decode (build/cuda/mla_check, docs/cuda-mla.md)"
# Under a minute expected (60 cases: 4 s measured for the 30 over the f32 cache); the timeout
# bounds gpu-check if it hangs and leaves the FP8 GEMM check its time.
if timed_check mla_check "MLA decode kernel (mla_check)" 120 400; then
    row "MLA decode vs mla_attend and fp64, batch invariance (60 cases, f32 and bf16 caches; table: mla_check.txt)" \
        "$(read_mla_cases "$T/mla_check")$(timed_out)"
    row "the 3xTF32 splits' roundings on the device = the host's (mla_check)" \
        "$(read_mla_tf32 "$T/mla_check")"
    read_mla_rows "$T/mla_check" >"$T/mla_rows"
    while IFS=$'\t' read -r k v; do row "MLA decode, $k (cache GB/s, % of copy)" "$v"; done <"$T/mla_rows"
fi

section "device sampling (build/cuda/sample_check)"
# A few seconds expected: every row's device pick (launch_sample, greedy_k) = the host's, and times.
if timed_check sample_check "device sampling (sample_check)" 60 420; then
    row "token picks on the device = on the host (launch_sample vs df_sample_with, greedy_k vs df_argmax)" \
        "$(read_sample_verdict "$T/sample_check")$(timed_out)"
    row "a sample's time (launch_sample: greedy_k, sample_weights_k, sample_k), vocab 129280, top-k 40, top-p 0.95" \
        "$(read_sample_time "$T/sample_check")"
    row "greedy_k time, vocab 129280" "$(read_greedy_time "$T/sample_check")"
fi

section "FP8 block-scaled GEMM (build/cuda/fp8_gemm_check)"
# About 30 s expected; the timeout keeps the whole gpu-check under 8 minutes even if it hangs.
if timed_check fp8_gemm_check "FP8 block-scaled GEMM (cuBLASLt)" 300 450; then
    fp8() { read_fp8 "$T/fp8_gemm_check" "$1"; }
    row "FP8 block-scaled GEMM vs fp64 reference (7 shapes x 7 M; table: fp8_gemm_check.txt)" \
        "$(fp8 'correctness ')$(timed_out)"
    row "FP8 e4m3 widening in kernels.cuh on the device (all 256 codes)" "$(fp8 'e4m3 widening on the device (all 256 codes) ')"
    row "FP8-activation quantization on the device = the CPU's" "$(fp8 'FP8-activation quantization on the device ')"
    row "FP8 GEMM, prefill 7168x18432 M=4096 TFLOP/s" "$(fp8 'prefill 7168x18432 M=4096 TFLOP\/s: ')"
    row "FP8 GEMM, decode M <= 16: own linear vs act quant + cuBLASLt" "$(fp8 'decode M <= 16: ')"
    row "one token: linear_k / linear_rows_k / linear_async_k (DF_CUDA_LINEAR_ONE=rows, async), FP8 shapes" \
        "$(fp8 'one token, linear_k \/ linear_rows_k \/ linear_async_k (DF_CUDA_LINEAR_ONE=rows, async): ')"
    row "FP8 GEMM, batch invariance (tokens 0-3 at larger M = at M = 4, f32 out)" "$(fp8 'batch invariance ')"
    row "FP8 GEMM, the backend's fixed algorithm per shape, FP8 and bf16 (runtime/cuda/lt_linear.cu): batch invariance" \
        "$(fp8 'fixed algorithm ')"
fi

section "MLA decode stages (build/cuda/mla_check stages)"
# Where the 16-head partial kernels' time goes when ncu cannot read the counters (gVisor
# machines, the device library's KINDS.md): the kernel with stages left out
# (tests/cuda/mla_stages.cuh), f32 cache A and B and bf16 cache A at 32768 positions, batch 1
# and 16. Under 10 s expected, at most 30, by 450 s: after the correctness checks, which it must
# not crowd out. mla_check_stages.txt has the table.
if timed_check mla_check "MLA decode stages (mla_check stages)" 30 450 stages; then
    read_mla_stages "$T/$out" >"$T/stage_rows"
    if [ ! -s "$T/stage_rows" ]; then
        fail "gpu/mla_check_stages/summary" "no summary line"
        row "MLA decode stages (mla_check_stages.txt)" "no summary (exit $rc): $(head -n 1 "$T/$out")$(timed_out)"
    fi
    while IFS=$'\t' read -r k v; do row "MLA decode stages, $k (mla_check_stages.txt)" "$v"; done <"$T/stage_rows"
fi

# ncu_detail END OUT LABEL REGEX COUNT CMD...: the first COUNT launches of the kernels REGEX
# matches in CMD (graphs off), each with ncu's speed of light, memory, warp stall, occupancy and
# launch sections, into $OUTD/OUT, stopped at END s of the run; a row LABEL of read_ncu_kernels'
# line for them
ncu_detail() {
    local end=$1 out=$2 label=$3 regex=$4 count=$5 rc
    shift 5
    DF_CUDA_GRAPH=0 CUDA_MODULE_LOADING=EAGER timeout $((end - $(elapsed))) "$NCU" --clock-control none \
        -k "regex:$regex" --kernel-name-base function --launch-count "$count" --section SpeedOfLight \
        --section MemoryWorkloadAnalysis --section WarpStateStats --section Occupancy --section LaunchStats \
        "$@" >"$OUTD/$out" 2>&1
    rc=$?
    row "$label ($out; exit $rc)" "$(read_ncu_kernels "$OUTD/$out" | grep . || echo none profiled)"
}

section "a mid-size decode step's kernels under ncu"
# bench_v3_cuda at batch 1, graphs off so that every kernel is a launch of its own: a 32-token
# prompt, its prefill and two decode steps (-n 3). ncu times each kernel alone and counts its
# DRAM bytes (L2 flushed before each, as a step streams its weights once); tools/ncu_step.awk
# sums the last step's kernels (from its embed_k) by kernel. Their total against the step's time
# with graphs (mid-size rows above) is what launches and gaps cost; each kernel's bytes over its
# time, against the copy bandwidth, how far it is from streaming. ncu_decode.csv is the report.
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -n 1)
m=bench_v3_cuda
if [ -z "$NCU" ]; then
    row "$m decode step under ncu" "ncu not found"
elif [ ! -f "build/cuda_bench/$m/$m.weights" ] || [ ! -s "$T/mid_p1" ]; then
    row "$m decode step under ncu" "not run: the mid-size model was not built"
elif [ "$(elapsed)" -gt 380 ]; then # 10 s on 2026-11-30, and the linear_k detail 7 s
    row "$m decode step under ncu" "skipped: $(elapsed) s spent already"
else
    DF_CUDA_GRAPH=0 CUDA_MODULE_LOADING=EAGER timeout $((420 - $(elapsed))) "$NCU" --clock-control none \
        --metrics gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum -f -o "$T/ncu_decode" \
        build/cuda_bench/$m/$m --weights build/cuda_bench/$m/$m.weights --ids "$(cat "$T/mid_p1")" -n 3 \
        >"$T/ncu_decode.log" 2>&1
    ncu_rc=$?
    "$NCU" --import "$T/ncu_decode.ncu-rep" --csv --page raw --print-units base >"$OUTD/ncu_decode.csv" 2>>"$T/ncu_decode.log"
    tail -n 5 "$T/ncu_decode.log"
    if awk -v start=embed_k -f tools/ncu_step.awk "$OUTD/ncu_decode.csv" >"$OUTD/ncu_decode.txt"; then
        cat "$OUTD/ncu_decode.txt"
        ncu_total=$(tail -n 1 "$OUTD/ncu_decode.txt")
        ncu_top=$(sed '$d' "$OUTD/ncu_decode.txt" | head -n 5 | tr '\n' ';' | sed 's/;$//; s/;/; /g')
        row "$m decode step under ncu, batch 1, kernels alone (ncu_decode.txt; graph step $(mid_decode_ms "$m.b1") ms)" \
            "$ncu_total; longest: $ncu_top"
    else
        row "$m decode step under ncu (exit $ncu_rc)" "no summary: $(head -n 1 "$OUTD/ncu_decode.txt")"
    fi
    # the first 8 one-token products (linear_k) in detail: the prefill's lm_head (its one row of
    # logits), then the first decode step's; how far from the copy bandwidth, and why (warp
    # stalls, occupancy, the memory system); ncu_linear.txt
    if [ "$(elapsed)" -le 400 ]; then
        ncu_detail 430 ncu_linear.txt "$m one-token products (linear_k) under ncu: the prefill's lm_head, then decode" \
            linear_k 8 build/cuda_bench/$m/$m --weights build/cuda_bench/$m/$m.weights --ids "$(cat "$T/mid_p1")" -n 2
    fi
    # the kernels that wait on latency at a short context (2026-11-30: the split-KV attention, 14
    # us a launch at 33 positions, the routing 10 us, the experts' down and combine at 486 GB/s,
    # the pick 18 us), the first 12 of them in a one-token prompt's prefill and decode (the
    # attention at 1 and 2 positions), and why they wait: ncu_latency.txt
    if [ "$(elapsed)" -le 405 ]; then
        ncu_detail 435 ncu_latency.txt "$m latency-bound kernels under ncu, a one-token prompt" \
            'partial_k|mla_absorb_k|mla_combine_out_k|moe_route_k|moe_down_combine_k|greedy_k' 12 \
            build/cuda_bench/$m/$m --weights build/cuda_bench/$m/$m.weights --ids 1 -n 2
    fi
fi

section "V3's one-token FP8 products under ncu (synth_decode of bench_v3_8l_cuda)"
# fp8_gemm_check on 2026-11-30: at one token linear_k took 94 us for V3's 7168x18432 FP8 product
# (1.4 TB/s, a third of the copy), cuBLASLt 47.5 us; the mid-size output head streams at 81%.
# Why, from the first 5 linear_k launches of V3's first 8 layers on synthetic weights, with the
# same sections as above: a one-token prompt, so that its prefill's products are one token's
# (layer 0's q_b, o_proj and dense down projection, then layer 1's q_b and o_proj; a longer
# prompt's would be linear_rows_k's of 8 tokens, which the rows variant's run would then take):
# ncu_v3_products.txt.
m=bench_v3_8l_cuda
if [ -z "$NCU" ]; then
    row "$m one-token products under ncu" "ncu not found"
elif [ ! -x "build/cuda_bench/$m/synth_decode" ]; then
    row "$m one-token products under ncu" "not run: its synth_decode was not built"
elif [ "$(elapsed)" -gt 400 ]; then
    row "$m one-token products under ncu" "skipped: $(elapsed) s spent already"
else
    ncu_detail 430 ncu_v3_products.txt "$m one-token products (linear_k) under ncu: q_b, o_proj, down, q_b, o_proj" \
        linear_k 5 build/cuda_bench/$m/synth_decode --batch 1 --prompt 1 -n 2
    # the same products by the rows variant (DF_CUDA_LINEAR_ONE=rows: 4 FP8 rows a warp share
    # each read of the token, 2 steps of each in flight, since 2026-12-01): ncu_v3_rows.txt
    if [ "$(elapsed)" -le 410 ]; then
        DF_CUDA_LINEAR_ONE=rows ncu_detail 440 ncu_v3_rows.txt \
            "$m one-token products (linear_rows_k, DF_CUDA_LINEAR_ONE=rows) under ncu: q_b, o_proj, down, q_b, o_proj" \
            linear_rows_k 5 build/cuda_bench/$m/synth_decode --batch 1 --prompt 1 -n 2
    fi
fi

section "MLA decode kernels under ncu (build/cuda/mla_check profile)"
# The split-KV partial kernels' counters, to say where a tile's time goes (docs/cuda-mla.md: the
# f32 kernel spends about 9000 clocks a tile with the memory far from busy): each 16-head
# configuration once at 32768 positions, batch 1 then 16, over both caches, 8 launches. ncu
# reads the counters on Firecracker machines only (the device library's KINDS.md); clocks left
# alone. About 30 s expected; last, so that it never delays a check. The full report is
# ncu_mla.txt; the row gives each launch's duration and its SM and memory throughput.
if [ -z "$NCU" ]; then
    row "MLA decode partial kernels under ncu" "ncu not found"
elif [ "$(elapsed)" -gt 420 ]; then
    row "MLA decode partial kernels under ncu" "skipped: $(elapsed) s spent already"
else
    timeout $((445 - $(elapsed))) "$NCU" --clock-control none -k regex:partial --section SpeedOfLight \
        --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section SchedulerStats \
        --section WarpStateStats --section Occupancy --section LaunchStats \
        build/cuda/mla_check profile >"$OUTD/ncu_mla.txt" 2>&1
    ncu_rc=$?
    ncu_rows=$(awk '/partial(16)?_k</ { n++ } / Duration / { d[n] = $NF " " $(NF - 1) }
        /Compute \(SM\) Throughput/ { c[n] = $NF } /^ *Memory Throughput +%/ { m[n] = $NF }
        END { for (i = 1; i <= n; i++) printf "%s%d: %s, SM %s%%, memory %s%%", (i > 1 ? "; " : ""), i, d[i], c[i], m[i] }' \
        "$OUTD/ncu_mla.txt")
    row "MLA decode partial kernels under ncu, in mla_check profile's order (ncu_mla.txt; exit $ncu_rc)" "${ncu_rows:-none profiled}"
fi
if command -v cuobjdump >/dev/null; then
    cuobjdump --dump-resource-usage build/cuda/mla_check >"$OUTD/mla_check_resources.txt" 2>&1
fi

finish
