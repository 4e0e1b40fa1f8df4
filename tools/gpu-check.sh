#!/usr/bin/env bash
# gpu-check.sh: the CUDA backend on a machine with one Hopper GPU (H100/H200/H800).
# Run from anywhere in the repository:   bash tools/gpu-check.sh     (or: make gpu-check)
#
# Needs nvcc, make and a C compiler; no lua5.4 (the generated CUDA sources are committed and
# never regenerated here: DF_NO_REGEN=1), no Python, no network. Libraries the machine lacks
# (mbedTLS) come from build/gpu-deps/ if it was carried along (make gpu-deps); cuBLASLt is the
# toolkit's, else the copy in PyTorch's nvidia-cublas wheel if the machine has one. About a
# minute and a half on an H200 (20 s measured before the FP8 GEMM check, which is bounded by
# a timeout that keeps the whole run under 8 minutes).
#   1. machine: nvidia-smi -L, the driver, nvcc's version;
#   2. build: the 4 CUDA reference models, their packers and weights, the host tests, the
#      bandwidth probe, the FP8 GEMM check (make -k cuda-all cuda-tests); the SASS target
#      (cuobjdump --list-elf);
#   3. the host-side tests (build/cuda/test_hd, build/cuda/test_quant);
#   4. conformance against the HF fixtures, as tests/conformance.sh (tests/cuda/conformance.sh):
#      batch of 3 and batch of 1, -n 10, identical greedy ids, max|d|/std < 1e-3; batch
#      invariance and graph = no graph, bit for bit; then tiny_cuda against the CPU build of
#      tiny on a 200-token prompt (attention past several chunks);
#   5. decode ms/step of tiny_cuda at batch 1 and at its max batch (4), with and without CUDA
#      graphs (DF_CUDA_STATS=1: the mean wall time of a step, tokens in to logits on the host,
#      after the first step, which captures the graph);
#   6. HBM copy bandwidth: cudaMemcpy device to device of 2 GiB (build/cuda/bandwidth);
#   7. compute-sanitizer memcheck and racecheck on tiny_cuda, if the tool is there and time allows;
#   8. the FP8 block-scaled GEMM through cuBLASLt (build/cuda/fp8_gemm_check,
#      docs/cuda-fp8-gemm.md): correctness against an fp64 reference, TFLOP/s against
#      cuBLASLt's per-tensor FP8 and bf16 GEMMs, decode sizes against the own `linear`.
# Prints one table at the end. Writes gpu-check.log, gpu-check.md and fp8_gemm_check.txt to
# $OUT if set, else to build/gpu-check/. Exit 0 when every check passed.
set -u
cd "$(dirname "$0")/.." || exit 1
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

ROWS=()
row() { ROWS+=("| $1 | $2 |"); }
elapsed() { echo $(($(date +%s) - START)); }
section() { echo; echo "== $* ($(elapsed) s)"; }
MODELS="tiny tiny_fp8 v2_lite v2_group"

section "machine"
date -u '+%Y-%m-%d %H:%M UTC'
nvidia-smi -L || echo "nvidia-smi -L failed"
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
echo "$gpu"
nvcc --version | tail -n 2
nvccv=$(nvcc --version | sed -n 's/.*release \([0-9.]*\), V\([0-9.]*\).*/\1 (V\2)/p')
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
MAKEVARS="DF_NO_REGEN=1"
command -v cc >/dev/null || MAKEVARS="$MAKEVARS CC=gcc"
# cuBLASLt (only build/cuda/fp8_gemm_check links it): nvcc's toolkit's, else a copy elsewhere,
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
if make -k -j"$(nproc)" $MAKEVARS cuda-all cuda-tests build/compare_logits >"$T/build.log" 2>&1; then
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

section "host tests"
build/cuda/test_hd >"$T/hd" 2>&1
check "gpu/host/test_hd" grep -q ' 0 failed' "$T/hd"
row "host tests (build/cuda/test_hd)" "$(tail -n 1 "$T/hd")"
build/cuda/test_quant >"$T/quant" 2>&1
check "gpu/host/test_quant" grep -q ' 0 failed' "$T/quant"
row "host tests (build/cuda/test_quant)" "$(tail -n 1 "$T/quant")"

section "conformance (tests/cuda/conformance.sh)"
for m in $MODELS; do
    f0=$FAILED p0=$PASSED
    CUDA_MODELS=$m . tests/cuda/conformance.sh
    b3=$(sed -n 's/.*max|d|\/std \([^ ]*\).*/\1/p' "$T/cuda_${m}_cuda.b3.cmp" 2>/dev/null)
    b1=$(sed -n 's/.*max|d|\/std \([^ ]*\).*/\1/p' "$T/cuda_${m}_cuda.b1.cmp" 2>/dev/null)
    verdict=$([ "$FAILED" -eq "$f0" ] && echo pass || echo "FAIL ($((FAILED - f0)) of $((FAILED - f0 + PASSED - p0)))")
    row "conformance ${m}_cuda: ids, max\\|d\\|/std batch 3 / batch 1, invariance, graph = no graph" \
        "$verdict; ${b3:-?} / ${b1:-?}"
done

section "long context: tiny_cuda against the CPU build of tiny (attention over several chunks)"
# A 200-token prompt and 8 generated tokens: every position past 64 crosses an online-softmax
# chunk of mla_attend. The CPU binary is built from the committed generated/tiny (touched so
# that make does not regenerate it).
touch generated/tiny/*
if make $MAKEVARS build/tiny/tiny build/tiny/tiny.weights >"$T/cpu.log" 2>&1; then
    long=$(awk 'BEGIN { for (i = 0; i < 200; i++) printf "%s%d", i ? "," : "", (i * 37 + 11) % 1000 }')
    build/tiny/tiny --weights build/tiny/tiny.weights --ids "$long" -n 8 --print-ids --logits "$T/long.cpu" >"$T/long.cpu.ids"
    build/tiny_cuda/tiny_cuda --weights build/tiny_cuda/tiny_cuda.weights --ids "$long" -n 8 --print-ids \
        --logits "$T/long.gpu" >"$T/long.gpu.ids"
    check "gpu/long-context/ids-as-cpu" cmp "$T/long.cpu.ids" "$T/long.gpu.ids"
    check "gpu/long-context/logits-as-cpu" sh -c "build/compare_logits '$T/long.cpu' '$T/long.gpu' 1000 8 1 >'$T/long.cmp' 2>&1"
    cat "$T/long.cmp"
    row "tiny_cuda vs CPU tiny, 200-token prompt + 8 (ids, max\\|d\\|/std)" \
        "$(cmp -s "$T/long.cpu.ids" "$T/long.gpu.ids" && echo same ids || echo "IDS DIFFER"); $(sed -n 's/.*max|d|\/std \([^ ]*\).*/\1/p' "$T/long.cmp")"
else
    fail "gpu/long-context/cpu-build"
    tail -n 20 "$T/cpu.log"
    row "tiny_cuda vs CPU tiny, long context" "the CPU build failed"
fi

section "decode timing (tiny_cuda, DF_CUDA_STATS=1)"
fx=tests/fixtures/tiny
{ cat $fx/prompts.txt; head -n 1 $fx/prompts.txt; } >"$T/batch4.txt"
bench() { # bench NAME GRAPH(1|0) INPUT-ARGS...
    local name=$1 graph=$2
    shift 2
    if DF_CUDA_STATS=1 DF_CUDA_GRAPH=$graph build/tiny_cuda/tiny_cuda --weights build/tiny_cuda/tiny_cuda.weights \
        "$@" -n 201 >/dev/null 2>"$T/bench_$name"; then
        sed -n 's/.*after the first \([0-9.]*\) ms\/step.*/\1/p' "$T/bench_$name"
    else
        cat "$T/bench_$name" >&2
        echo "?"
    fi
}
b1g=$(bench b1g 1 --ids "$(head -n 1 $fx/prompts.txt)")
b1n=$(bench b1n 0 --ids "$(head -n 1 $fx/prompts.txt)")
b4g=$(bench b4g 1 --batch-file "$T/batch4.txt")
b4n=$(bench b4n 0 --batch-file "$T/batch4.txt")
for b in b1g b1n b4g b4n; do echo "$b:"; cat "$T/bench_$b"; done
prefill=$(sed -n 's/.*prefill 1 steps, \([0-9.]*\) ms\/step.*/\1/p' "$T/bench_b4g")
tps() { awk -v b="$1" -v ms="$2" 'BEGIN { if (ms + 0 > 0) printf "%.0f tok/s", b * 1000 / ms; else print "?" }'; }
row "tiny_cuda decode, batch 1: ms/step with graphs / without" "$b1g / $b1n ($(tps 1 "$b1g") with graphs)"
row "tiny_cuda decode, batch 4: ms/step with graphs / without" "$b4g / $b4n ($(tps 4 "$b4g") with graphs)"
row "tiny_cuda prefill, 52 tokens in one step" "${prefill:-?} ms ($(tps 52 "${prefill:-0}"))"

section "HBM copy bandwidth"
build/cuda/bandwidth 2 | tee "$T/bw"
bw=$(sed -n 's/.*best [0-9.]* ms = \([0-9.]*\) GB\/s.*/\1/p' "$T/bw")
check "gpu/bandwidth" test -n "$bw"
row "HBM copy, cudaMemcpy D2D 2 GiB (read + write)" "${bw:-?} GB/s"
wbytes=$(sed -n 's/.*\.data_bytes = \([0-9]*\)u.*/\1/p' generated/tiny_cuda/manifest.c)
floor=$(awk -v b="$wbytes" -v g="$bw" 'BEGIN { if (g + 0 > 0) printf "%.2f us", b / (g * 1e9) * 1e6; else print "?" }')
row "tiny_cuda weight-streaming floor (weights / bandwidth)" "$floor for $wbytes bytes (the step is launch-bound)"

section "compute-sanitizer"
if ! command -v compute-sanitizer >/dev/null; then
    row "compute-sanitizer" "not installed"
elif [ "$(elapsed)" -gt 180 ]; then
    row "compute-sanitizer" "skipped: $(elapsed) s spent already"
else
    san=""
    for tool in memcheck racecheck; do
        if timeout 90 compute-sanitizer --tool $tool --error-exitcode 9 --print-limit 10 \
            build/tiny_cuda/tiny_cuda --weights build/tiny_cuda/tiny_cuda.weights --batch-file $fx/prompts.txt \
            -n 3 >"$T/san_$tool" 2>&1; then
            pass "gpu/sanitizer/$tool"
            san="$san $tool: clean;"
        else
            fail "gpu/sanitizer/$tool" "exit $?"
            tail -n 30 "$T/san_$tool"
            san="$san $tool: FAILED;"
        fi
        tail -n 3 "$T/san_$tool"
    done
    row "compute-sanitizer on tiny_cuda (batch 3, -n 3)" "$san"
fi

section "FP8 block-scaled GEMM (build/cuda/fp8_gemm_check)"
# About 30 s expected; the timeout keeps the whole gpu-check under 8 minutes even if it hangs.
budget=$((450 - $(elapsed)))
[ "$budget" -gt 300 ] && budget=300
if [ ! -x build/cuda/fp8_gemm_check ]; then
    fail "gpu/fp8_gemm" "not built (see the build log)"
    row "FP8 block-scaled GEMM (cuBLASLt)" "NOT BUILT"
elif [ "$budget" -lt 60 ]; then
    fail "gpu/fp8_gemm" "no time left"
    row "FP8 block-scaled GEMM (cuBLASLt)" "skipped: $(elapsed) s spent already"
else
    timeout "$budget" build/cuda/fp8_gemm_check >"$T/fp8" 2>&1
    rc=$?
    cat "$T/fp8"
    cp "$T/fp8" "$OUTD/fp8_gemm_check.txt"
    if [ "$rc" -eq 0 ]; then pass "gpu/fp8_gemm"; else fail "gpu/fp8_gemm" "exit $rc"; fi
    fp8() { sed -n "s/^fp8_gemm_check: $1//p" "$T/fp8" | head -n 1; }
    row "FP8 block-scaled GEMM vs fp64 reference (7 shapes x 7 M; table: fp8_gemm_check.txt)" \
        "$(fp8 'correctness ')$([ "$rc" -eq 124 ] && echo "TIMED OUT after $budget s")"
    row "FP8 GEMM, prefill 7168x18432 M=4096 TFLOP/s" "$(fp8 'prefill 7168x18432 M=4096 TFLOP\/s: ')"
    row "FP8 GEMM, decode M <= 16: own linear vs act quant + cuBLASLt" "$(fp8 'decode M <= 16: ')"
fi

section "result"
row "checks" "$PASSED passed, $FAILED failed${FAILED_NAMES:+:$FAILED_NAMES}; $(elapsed) s in all"
{
    echo "| gpu-check | result |"
    echo "|---|---|"
    printf '%s\n' "${ROWS[@]}"
} >"$TABLE"
cat "$TABLE"
echo "log: $LOG, table: $TABLE"
[ "$FAILED" -eq 0 ]
