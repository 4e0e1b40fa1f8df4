# cuda/run.sh: the CUDA backend's checks. Sourced by tests/run.sh (tests/lib.sh's
# check, expect_fail, pass, fail and $T).
#
# Everywhere (CI has nvcc but no GPU): the committed generated/<m>_cuda sources equal a
# fresh generation; every CUDA target (the 4 reference models' binaries, packers and
# weights, the host tests, the bandwidth probe, the FP8 GEMM check with cuBLASLt)
# compiles and links with nvcc for sm_90a; the host-side tests of the kernels'
# __host__ __device__ pieces (test_hd) and of the FP8 activation quantization
# (test_quant) pass; the binaries hold sm_90a machine code; without a GPU a CUDA binary
# refuses with "no CUDA device", exit 1, and so does the FP8 GEMM check (which shows
# that cuBLASLt loads). With a GPU: the conformance of tests/cuda/conformance.sh and the
# FP8 GEMM check. Without one, each of those prints "skip <name>: no CUDA device" and
# counts as neither passed nor failed.
CUDA_SKIPPED=0
cuda_skip() { CUDA_SKIPPED=$((CUDA_SKIPPED + 1)); echo "skip $1: $2"; }
CUDA_MODELS="tiny tiny_fp8 v2_lite v2_group"
cuda_nvcc=$(command -v nvcc || { [ -x /usr/local/cuda/bin/nvcc ] && echo /usr/local/cuda/bin/nvcc; })

for m in $CUDA_MODELS; do
    check "cuda/golden/${m}_cuda" sh -c "lua5.4 gen/main.lua --quiet --spec specs/${m}_cuda.lua --out '$T/gcuda_$m' &&
        diff -r generated/${m}_cuda '$T/gcuda_$m'"
done

if [ -z "$cuda_nvcc" ]; then
    for m in $CUDA_MODELS; do cuda_skip "cuda/build/${m}_cuda" "no nvcc"; done
    cuda_skip "cuda/host/test_hd" "no nvcc"
    cuda_skip "cuda/host/test_quant" "no nvcc"
else
    for m in $CUDA_MODELS; do
        check "cuda/build/${m}_cuda" make -s build/${m}_cuda/${m}_cuda build/${m}_cuda/${m}_cuda.weights
    done
    check "cuda/build/tests" make -s cuda-tests
    check "cuda/host/test_hd" build/cuda/test_hd
    check "cuda/host/test_quant" build/cuda/test_quant
    # The fat binary's ELF for sm_90a (what cuobjdump --list-elf shows as *.sm_90a.cubin).
    check "cuda/sass-sm_90a" sh -c "grep -c 'sm_90a' build/tiny_cuda/tiny_cuda >/dev/null"
    check "cuda/sass-sm_90a/fp8_gemm_check" sh -c "grep -c 'sm_90a' build/cuda/fp8_gemm_check >/dev/null"

    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
        make -s build/compare_logits
        . tests/cuda/conformance.sh
        check "cuda/gpu/fp8_gemm_check" timeout 300 build/cuda/fp8_gemm_check
    else
        expect_fail "cuda/no-device-refusal" 1 "no CUDA device" \
            build/tiny_cuda/tiny_cuda --weights build/tiny_cuda/tiny_cuda.weights --ids 1,2,3 -n 2
        expect_fail "cuda/fp8_gemm_check/no-device-refusal" 1 "no CUDA device" build/cuda/fp8_gemm_check
        cuda_skip "cuda/gpu/fp8_gemm_check" "no CUDA device"
        for m in $CUDA_MODELS; do
            for c in batch3 batch1 batch-invariance no-graph-equals-graph; do
                cuda_skip "cuda/conformance/${m}_cuda/$c" "no CUDA device"
            done
        done
    fi
fi
echo "cuda: $CUDA_SKIPPED checks skipped (not counted as passed)"
