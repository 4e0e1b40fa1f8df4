# cuda/run.sh: the CUDA backend's checks. Sourced by tests/run.sh (tests/lib.sh's
# check, expect_fail, pass, fail and $T).
#
# Everywhere (CI has nvcc but no GPU): the committed generated/<m>_cuda sources equal a
# fresh generation; every CUDA target (the reference models' binaries, packers and
# weights, the host tests, the bandwidth and launch-floor probes, the FP8 GEMM check with cuBLASLt)
# compiles and links with nvcc for sm_90a; the host-side tests of the kernels'
# __host__ __device__ pieces (test_hd), of the FP8 activation quantization
# (test_quant), of the split-KV MLA decode kernels (test_mla_split, test_mla_bf16) and of the device sampler's
# plan emulated thread by thread (test_pick) pass, also under ASan and UBSan; in the PTX of every kernel, griddepcontrol.wait
# comes before any global memory access (programmatic dependent launch, runtime/cuda/launch.cuh);
# the binaries hold sm_90a machine code; without a GPU a CUDA binary
# refuses with "no CUDA device", exit 1, and so does the FP8 GEMM check (which shows
# that cuBLASLt loads). With a GPU: the conformance of tests/cuda/conformance.sh and the
# FP8 GEMM and MLA decode checks. Without one, each of those prints "skip <name>: no CUDA device" and
# counts as neither passed nor failed.
#
# The mid-size models that tools/gpu-check.sh measures (mk/cuda_bench.mk: bench_v3_cuda and
# bench_v3_fp8_cuda, generated into build/cuda_bench_src, not committed): they generate; with
# DF_NO_REGEN=1 make never runs the generator for them however new the spec and generator (as
# on the GPU machine); with nvcc, their binaries, packers and tools compile and link (about 5 s
# on 2 cores beyond the reference models; no weights: those are made on the GPU machine), and so
# do tiny, tiny_fp8act and tiny_bf16act with 4-token prefill steps (gpu-check's chunked prefill); the
# weight bytes a decode step reads (build/cuda_bench/<m>/decode_floor, host C) at batch 1 equal
# the CPU benchmark's "weight bytes read per token" of the same model within 1%
# (docs/cpu-performance.md: 450.5 MB bf16, 358.6 MB FP8, the routed experts counted by the MoE
# kernel), and at batch 16 the expected union of the routed experts lies within its bounds and
# within 2% of the CPU benchmark's measured one (16 x 73.9 MB, 16 x 45.4 MB).
CUDA_SKIPPED=0
# tools/ncu_step.awk (gpu-check's sum of a decode step's kernels under ncu) on a made-up report in
# the layout of ncu's raw CSV (tests/cuda/fixtures/ncu_raw.csv): only the last step's launches,
# the units scaled (Mbyte, Kbyte, usecond; "2,000.00"), the longest kernel first.
check "cuda/ncu-step-summary" sh -c "awk -v start=embed_k -f tools/ncu_step.awk tests/cuda/fixtures/ncu_raw.csv >'$T/ncu_step' &&
    head -n 1 '$T/ncu_step' | grep -qx 'dfc::linear_k: 2 launches, 2001.0 us, 3.16 MB, 2 GB/s' &&
    tail -n 1 '$T/ncu_step' | grep -qx 'total: 4 launches, 2005.5 us, 3.68 MB' &&
    ! awk -v start=no_such_kernel -f tools/ncu_step.awk tests/cuda/fixtures/ncu_raw.csv >/dev/null"
cuda_skip() { CUDA_SKIPPED=$((CUDA_SKIPPED + 1)); echo "skip $1: $2"; }
CUDA_MODELS=$CUDA_BASE_MODELS # tests/models
cuda_nvcc=$(command -v nvcc || { [ -x /usr/local/cuda/bin/nvcc ] && echo /usr/local/cuda/bin/nvcc; })

for m in $CUDA_MODELS; do
    check "cuda/golden/${m}_cuda" sh -c "lua5.4 gen/main.lua --quiet --spec specs/${m}_cuda.lua --out '$T/gcuda_$m' &&
        diff -r generated/${m}_cuda '$T/gcuda_$m'"
done

for cb in bench_v3_cuda:450.5:1182.4 bench_v3_fp8_cuda:358.6:726.4 bench_v3_fp8act_cuda:358.6:726.4; do
    cb_m=${cb%%:*} cb_rest=${cb#*:}
    cb_b1=${cb_rest%%:*} cb_b16=${cb_rest#*:}
    check "cuda/bench/$cb_m/generate" make -s build/cuda_bench_src/$cb_m/forward.c
    check "cuda/bench/$cb_m/no-regen" sh -c "make -n -W specs/$cb_m.lua -W gen/main.lua -W gen/tokenizer.lua DF_NO_REGEN=1 \
        build/cuda_bench/$cb_m/$cb_m build/cuda_bench/$cb_m/decode_floor >'$T/cb_n' 2>&1 &&
        ! grep -e 'gen/main.lua' -e 'gen/tokenizer.lua' '$T/cb_n'"
    check "cuda/bench/$cb_m/decode-floor" sh -c "make -s build/cuda_bench/$cb_m/decode_floor &&
        build/cuda_bench/$cb_m/decode_floor 1 16 --gbs 4000 >'$T/cb_floor' && cat '$T/cb_floor' &&
        awk -v b1=$cb_b1 -v b16=$cb_b16 '\$4 == 1 { n1++; if (\$6 > b1 * 1.01e6 || \$6 < b1 * 0.99e6) bad = bad \" batch 1\" }
            \$4 == 16 { n16++; if (\$6 > b16 * 1.02e6 || \$6 < b16 * 0.98e6 || \$6 < \$10 || \$6 > \$12 || !(\$14 > 0)) bad = bad \" batch 16\" }
            END { if (n1 != 1 || n16 != 1 || bad != \"\") { print \"implausible:\" bad; exit 1 } }' '$T/cb_floor'"
done

# The real shapes that gpu-check times on synthetic weights (mk/cuda_bench.mk: DeepSeek-V2-Lite's
# spec and V3's first 8 layers, specs/bench_v3_8l_cuda.lua): they generate, make plans no
# generator run for them with DF_NO_REGEN=1, and a V2-Lite decode step at batch 1 reads, by
# decode_floor's count, within 3% of the 2.4B activated parameters DeepSeek's V2 paper states for
# V2-Lite (bf16: 2 bytes each; the count holds the output head and one embedding row, the paper's
# figure its own rounding). V3's layers: 8 experts of 44.05 MB (3 x 2048 x 7168 codes and
# 3 x 16 x 56 block scales) a MoE layer.
for m in deepseek_v2_lite bench_v3_8l_cuda; do
    check "cuda/synth/$m/generate" make -s build/cuda_bench_src/$m/forward.c
    check "cuda/synth/$m/no-regen" sh -c "make -n -W specs/$m.lua -W gen/main.lua DF_NO_REGEN=1 \
        build/cuda_bench/$m/synth_decode build/cuda_bench/$m/decode_floor >'$T/syn_n' 2>&1 &&
        ! grep -e 'gen/main.lua' -e 'gen/tokenizer.lua' '$T/syn_n'"
done
check "cuda/synth/deepseek_v2_lite/decode-floor" sh -c "make -s build/cuda_bench/deepseek_v2_lite/decode_floor &&
    build/cuda_bench/deepseek_v2_lite/decode_floor 1 >'$T/syn_floor' 2>&1 && cat '$T/syn_floor' &&
    awk '\$4 == 1 { n++; if (\$6 < 2 * 2.4e9 * 0.97 || \$6 > 2 * 2.4e9 * 1.03) exit 1 } END { exit n != 1 }' '$T/syn_floor'"
check "cuda/synth/bench_v3_8l_cuda/decode-floor" sh -c "make -s build/cuda_bench/bench_v3_8l_cuda/decode_floor &&
    build/cuda_bench/bench_v3_8l_cuda/decode_floor 1 2>&1 | tee '$T/syn_floor' |
    grep -q '5 MoE layers x 256 experts of 44.051 MB'"

san_tests=$(sed -n 's/^CUDA_SAN_TESTS := //p' mk/cuda.mk)
if [ -z "$cuda_nvcc" ]; then
    for m in $CUDA_MODELS; do cuda_skip "cuda/build/${m}_cuda" "no nvcc"; done
    cuda_skip "cuda/host/test_hd" "no nvcc"
    cuda_skip "cuda/host/test_quant" "no nvcc"
    cuda_skip "cuda/host/test_mla_split" "no nvcc"
    cuda_skip "cuda/host/test_mla_bf16" "no nvcc"
    cuda_skip "cuda/host/test_pick" "no nvcc"
    for t in $san_tests; do cuda_skip "cuda/asan/$t" "no nvcc"; done
    cuda_skip "cuda/build/bench" "no nvcc"
    cuda_skip "cuda/build/trace/tiny_cuda" "no nvcc"
    cuda_skip "cuda/build/poison" "no nvcc"
    cuda_skip "cuda/build/unfused" "no nvcc"
else
    for m in $CUDA_MODELS; do
        check "cuda/build/${m}_cuda" make -s build/${m}_cuda/${m}_cuda build/${m}_cuda/${m}_cuda.weights
    done
    check "cuda/build/tests" make -s cuda-tests
    check "cuda/build/bench" make -s cuda-bench-build
    check "cuda/build/trace/tiny_cuda" make -s build/trace/tiny_cuda/tiny_cuda
    # the liveness-checking builds (mk/poison.mk), which tools/gpu-check.sh runs: their kernels.o
    # is the reference build's, the same kernels.cu (only forward.c calls df_poison)
    poison_models=$(sed -n 's/^POISON_MODELS := //p' mk/poison.mk)
    check "cuda/build/poison" sh -c "make -s $(for m in $poison_models; do printf 'build/poison/%s_cuda/%s_cuda ' $m $m; done) &&
        for m in $poison_models; do cmp build/\${m}_cuda/obj/kernels.o build/poison/\${m}_cuda/obj/kernels.o || exit 1; done"
    # the builds without the launch fusions (mk/unfused.mk), which tools/gpu-check.sh runs
    check "cuda/build/unfused" make -s $(for m in $(sed -n 's/^UNFUSED_MODELS := //p' mk/unfused.mk); do
        printf 'build/unfused/%s_cuda/%s_cuda ' $m $m; done)
    check "cuda/sass-sm_90a/bench_v3_cuda" sh -c "grep -c 'sm_90a' build/cuda_bench/bench_v3_cuda/bench_v3_cuda >/dev/null"
    check "cuda/host/test_hd" build/cuda/test_hd
    check "cuda/host/test_quant" build/cuda/test_quant
    check "cuda/host/test_mla_split" build/cuda/test_mla_split
    check "cuda/host/test_mla_bf16" build/cuda/test_mla_bf16
    check "cuda/host/test_pick" build/cuda/test_pick
    # the same under AddressSanitizer and UBSan (mk/cuda.mk CUDA_SAN_TESTS)
    check "cuda/build/asan" sh -c "test -n '$san_tests' && make -s cuda-asan-tests"
    for t in $san_tests; do check "cuda/asan/$t" build/cuda/asan/$t; done
    # --threads is accepted (scripts serve both builds) and the GPU build's helps say it does nothing
    threads_ignored='--threads N  *accepted and ignored: this build computes on the GPU'
    check "cuda/cli/threads-ignored-in-help" sh -c "build/tiny_cuda/tiny_cuda --help | grep -q -- '$threads_ignored' &&
        build/tiny_cuda/tiny_cuda audit --help 2>&1 | grep -q -- '$threads_ignored'"
    # A user's checkpoint for CUDA, as the README has it (make NAME=x HF=dir TARGET=cuda): it
    # generates, builds and packs, its binary refuses the missing GPU, and with the reference's
    # context its CUDA code is tiny_cuda's (but for the names and the spec's origin and hash), so
    # tiny_cuda's conformance, emulated in CI (tests/simt), holds for it.
    user_diff() {
        for f in kernels.cu kernels.h forward.c config.h weights.h plan.txt; do
            test -f "$T/ugpu/src/$f" && test -f generated/tiny_cuda/$f || { echo "$f missing"; return 1; }
            sed 's/tiny_gpu/tiny_cuda/g; s/TINY_GPU/TINY_CUDA/g' "$T/ugpu/src/$f" | diff - generated/tiny_cuda/$f |
                grep '^[<>]' | grep -v -e 'Generated by deepfreeze' -e 'normalized spec sha256' -e 'spec_sha256 = ' && return 1
        done
        return 0
    }
    user_built=false
    if check "cuda/user-model/build" make -s NAME=tiny_gpu HF=tests/fixtures/tiny/hf TARGET=cuda OUT="$T/ugpu" SET="max_context=256"; then
        user_built=true
        check "cuda/user-model/same-code-as-tiny_cuda" user_diff
    fi
    # Programmatic dependent launch (runtime/cuda/launch.cuh): in the PTX of every kernel the
    # backend has (these models' instances: dense and MoE layers, mla_attend and the split-KV
    # kernels over both caches, FP8 and bf16 activations, the fused launches; the mid-size models
    # gpu-check times, bf16 and FP8, generated above; the GEMM input preparation; the device picks), no path
    # from a kernel's entry reaches a memory access without passing its wait
    # (tests/cuda/pdl_order.awk follows the branches).
    # No kernel of them keeps anything in local memory (ptxas -v on the same PTX: no stack frame,
    # so no spill and no array indexed at run time): each access there is a trip to L1 or L2 in
    # a thread's chain. moe_route_k had 75 such loads and stores until 2026-11-29.
    cuda_ptxas=$(dirname "$cuda_nvcc")/ptxas
    no_local() {
        ptxas_out=$("$cuda_ptxas" -arch=sm_90a -v -o /dev/null "$1" 2>&1) || { printf '%s\n' "$ptxas_out" >&2; return 1; }
        printf '%s\n' "$ptxas_out" | awk '/Compiling entry function/ { k++ } /Function properties for/ { fn = $NF }
            /bytes stack frame/ { n++; if ($1 + 0 > 0) { bad++; print fn ": " $0 > "/dev/stderr" } }
            END { exit !(n > 0 && n >= k && !bad) }'
    }
    for pdl_src in generated/v3_h16_cuda/kernels.cu generated/v3_h16_bf16kv_cuda/kernels.cu \
            generated/tiny_fp8act_cuda/kernels.cu generated/tiny_bf16act_cuda/kernels.cu \
            build/cuda_bench_src/bench_v3_cuda/kernels.cu build/cuda_bench_src/deepseek_v2_lite/kernels.cu \
            build/cuda_bench_src/bench_v3_8l_cuda/kernels.cu build/cuda_bench_src/bench_v3_fp8_cuda/kernels.cu \
            runtime/cuda/lt_gemm.cu runtime/cuda/cuda_backend.cu; do
        pdl_ptx="$T/pdl_$(echo "$pdl_src" | tr / _).ptx"
        check "cuda/pdl/wait-first/$pdl_src" sh -c "'$cuda_nvcc' -std=c++20 -O2 -arch=sm_90a -ptx -Iruntime -Iruntime/cuda \
            -I$(dirname "$pdl_src") -o '$pdl_ptx' $pdl_src && awk -f tests/cuda/pdl_order.awk '$pdl_ptx'"
        check "cuda/no-local-memory/$pdl_src" no_local "$pdl_ptx"
    done
    cat >"$T/local_k.cu" <<'CU'
__global__ void local_k(float *p, int i)
{
    float a[64];
    for (int j = 0; j < 64; j++)
        a[j] = p[j];
    a[i & 63] += 1.0f;
    p[0] = a[(i >> 6) & 63];
}
CU
    # ... and a kernel with an array indexed at run time is caught
    "$cuda_nvcc" -arch=sm_90a -ptx -o "$T/local_k.ptx" "$T/local_k.cu"
    expect_fail "cuda/no-local-memory/mutation/indexed-array" 1 "local_k.*[1-9][0-9]* bytes stack frame" \
        no_local "$T/local_k.ptx"
    # each kind of access the check looks for, put before the first wait of a kernel, is caught
    for pdl_ins in "ld.global.f32 %f1, [%rd1];" "ld.f32 %f1, [%rd1];" "atom.add.f32 %f1, [%rd1], %f2;" \
            "ldu.global.f32 %f1, [%rd1];" "ld.acquire.gpu.global.u32 %r1, [%rd1];" "@%p1 st.global.f32 [%rd1], %f1;" \
            "red.relaxed.gpu.global.add.u32 [%rd1], 1;" "cp.async.cg.shared.global [%r1], [%rd1], 16;" \
            "call.uni f, (%rd1);"; do
        expect_fail "cuda/pdl/wait-first/mutation/$(echo "$pdl_ins" | sed 's/^@[^ ]* //; s/ .*//')" 1 "memory before griddepcontrol.wait" sh -c \
            "awk -v ins='$pdl_ins' '/griddepcontrol.wait/ && !d { print ins; d = 1 } { print }' \
                '$T/pdl_generated_v3_h16_cuda_kernels.cu.ptx' | awk -f tests/cuda/pdl_order.awk >&2"
    done
    # ... and so is a kernel whose wait is gone, or which a branch can take around its wait
    expect_fail "cuda/pdl/wait-first/mutation/no-wait" 1 "no griddepcontrol.wait" sh -c \
        "awk '/griddepcontrol.wait/ && !d { d = 1; next } { print }' '$T/pdl_generated_v3_h16_cuda_kernels.cu.ptx' |
            awk -f tests/cuda/pdl_order.awk >&2"
    expect_fail "cuda/pdl/wait-first/mutation/branch-around-wait" 1 "memory before griddepcontrol.wait" sh -c \
        "awk '/griddepcontrol.wait/ && !d { print \"@%p99 bra \$L__pdl_skip;\"; print; print \"\$L__pdl_skip:\"; d = 1; next }
            { print }' '$T/pdl_generated_v3_h16_cuda_kernels.cu.ptx' | awk -f tests/cuda/pdl_order.awk >&2"
    # The step's kernels are launched through launch.cuh's launch (the attribute), the device picks
    # after a step and the GEMMs' input preparation through its launch_as and launch_on without it;
    # nothing in runtime/cuda launches with <<< >>> (the emulated builds, tests/simt, could not).
    check "cuda/pdl/launches" sh -c "! grep -n '<<<' runtime/cuda/*.cu runtime/cuda/*.cuh | grep -v -e '^runtime/cuda/launch.cuh:'"
    # The fat binary's ELF for sm_90a (what cuobjdump --list-elf shows as *.sm_90a.cubin).
    check "cuda/sass-sm_90a" sh -c "grep -c 'sm_90a' build/tiny_cuda/tiny_cuda >/dev/null"
    check "cuda/sass-sm_90a/fp8_gemm_check" sh -c "grep -c 'sm_90a' build/cuda/fp8_gemm_check >/dev/null"
    check "cuda/sass-sm_90a/mla_check" sh -c "grep -c 'sm_90a' build/cuda/mla_check >/dev/null"
    # the GPU tools refuse a bad argument before looking for a device (exit 2)
    expect_fail "cuda/mla_check/bad-mode" 2 "usage: .* \\[quick \\| profile \\| stages \\[CTX" build/cuda/mla_check stage
    expect_fail "cuda/mla_check/bad-stages-context" 2 "usage: .* stages \\[CTX, 1 to 32768\\]" build/cuda/mla_check stages 40000
    expect_fail "cuda/mla_check/bad-stages-context-text" 2 "usage: .* stages \\[CTX" build/cuda/mla_check stages 1024x
    expect_fail "cuda/launch_floor/bad-count" 2 "usage: .* \\[N\\]" build/cuda/launch_floor 0

    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
        make -s build/compare_logits
        . tests/cuda/conformance.sh
        check "cuda/gpu/fp8_gemm_check" timeout 300 build/cuda/fp8_gemm_check
        check "cuda/gpu/mla_check" timeout 150 build/cuda/mla_check
        check "cuda/gpu/mla_check-stages" sh -c "timeout 120 build/cuda/mla_check stages | grep -q '^mla_check stages: v2lite A batch 1:'"
        check "cuda/gpu/launch_floor" sh -c "timeout 60 build/cuda/launch_floor | grep -q '^launch_floor: 107 launches: graph'"
        check "cuda/gpu/sample_check" timeout 60 build/cuda/sample_check
    else
        expect_fail "cuda/no-device-refusal" 1 "no CUDA device" \
            build/tiny_cuda/tiny_cuda --weights build/tiny_cuda/tiny_cuda.weights --ids 1,2,3 -n 2
        $user_built && expect_fail "cuda/user-model/no-device-refusal" 1 "no CUDA device" \
            "$T/ugpu/tiny_gpu" --weights "$T/ugpu/tiny_gpu.weights" --ids 1,2,3 -n 2
        expect_fail "cuda/fp8_gemm_check/no-device-refusal" 1 "no CUDA device" build/cuda/fp8_gemm_check
        expect_fail "cuda/trace/no-device-refusal" 1 "no CUDA device" env DF_TRACE="$T/cuda.trace" \
            build/trace/tiny_cuda/tiny_cuda --weights build/tiny_cuda/tiny_cuda.weights --ids 1,2,3 -n 2
        expect_fail "cuda/synth_decode/no-device-refusal" 1 "no CUDA device" \
            build/cuda_bench/deepseek_v2_lite/synth_decode --batch 1 --prompt 4 -n 2
        expect_fail "cuda/synth_decode/batch-too-large" 2 "1 <= B <= 8 \\(the max batch\\)" \
            build/cuda_bench/deepseek_v2_lite/synth_decode --batch 9 --prompt 4 -n 2
        expect_fail "cuda/synth_decode/logits-unwritable" 1 "cannot write $T/no/such/dir/logits" \
            build/cuda_bench/deepseek_v2_lite/synth_decode --batch 1 --prompt 4 -n 2 --logits "$T/no/such/dir/logits"
        expect_fail "cuda/synth_decode/past-the-context" 2 "P \\+ N <= 32768 \\(the max context\\)" \
            build/cuda_bench/deepseek_v2_lite/synth_decode --batch 1 --prompt 32000 -n 769
        cuda_skip "cuda/gpu/fp8_gemm_check" "no CUDA device"
        check "cuda/no-device/mla_check" sh -c "build/cuda/mla_check | grep -q '^skip mla_check: no CUDA device'"
        cuda_skip "cuda/gpu/mla_check" "no CUDA device"
        cuda_skip "cuda/gpu/mla_check-stages" "no CUDA device"
        expect_fail "cuda/launch_floor/no-device-refusal" 1 "no CUDA device" build/cuda/launch_floor
        cuda_skip "cuda/gpu/launch_floor" "no CUDA device"
        check "cuda/no-device/sample_check" sh -c "build/cuda/sample_check | grep -q '^skip sample_check: no CUDA device'"
        cuda_skip "cuda/gpu/sample_check" "no CUDA device"
        for m in $CUDA_MODELS; do
            # the names of tests/cuda/conformance.sh's checks (a teacher-forced model compares no ids)
            for c in conformance/batch3-ids conformance/batch3-logits conformance/batch1-ids conformance/batch1-logits \
                greedy/device-pick-equals-host-pick sample/device-sample-equals-host-sample/temperature \
                sample/device-sample-equals-host-sample/cuts invariance/prompt1-alone-equals-batch \
                invariance/prompt2-alone-equals-batch invariance/prompt0-alone-equals-batch \
                invariance/no-graph-equals-graph invariance/pdl-equals-no-pdl invariance/one-token-pdl-equals-no-pdl \
                $(for k in linear_k rows async; do printf 'invariance/linear-one-%s-equals-default invariance/batch-%s-equals-default ' $k $k; done); do
                case $c in */batch[13]-ids) forced $m && continue ;; esac
                cuda_skip "cuda/${c%%/*}/${m}_cuda/${c#*/}" "no CUDA device"
            done
        done
    fi
fi
echo "cuda: $CUDA_SKIPPED checks skipped (not counted as passed)"
