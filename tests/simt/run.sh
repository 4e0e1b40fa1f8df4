# simt/run.sh: the CUDA backend's device code on the CPU (tests/simt/README.md). Sourced by
# tests/run.sh (tests/lib.sh's check, expect_fail and $T). Needs g++, and nvcc for the kernels'
# resources (no GPU): it runs where CI runs.
#
#   - the emulator's own checks (build/simt/test_simt): the warp collectives against their
#     definitions, cp.async landing at its wait, launches against their kernels' resources, and
#     a deadlock, a collective's mask that leaves out a lane that reaches it, a read through a
#     null pointer, a missing barrier and a kernel with no record of its resources each caught;
#     its cuBLASLt through the backend's plans (build/simt/test_lt);
#   - every CUDA reference model (the FP8- and bf16-activation ones with cuBLASLt's GEMMs computed
#     by tests/simt/cublas_lt.cc): tests/cuda/conformance.sh with the emulated binaries, the same
#     fixtures and tolerances as on a GPU, checks named simt/...;
#   - the threads and blocks run the other way round (DF_SIMT_ORDER=reverse) give the same bits:
#     no result depends on an order that the barriers do not fix; and so do cp.async copies that
#     land at once (DF_SIMT_CPASYNC=eager) instead of at their wait;
#   - mla_check's quick cases and stage variants (tests/cuda/mla_check.cu) emulated;
#   - the CUDA liveness-checking builds, 4-token prefill steps, long prompts against the CPU
#     builds, the kernels of five models under UBSan, op-level traces against the CPU's,
#     synth_decode (gpu-check's real shapes' program) with two reference models' code, a device
#     too small for a model (DF_SIMT_DEVICE_MIB), the real shapes' and the mid-size models'
#     schedules with launches only (DF_SIMT_LAUNCHES=only), audit records;
#   - last, tests/simt/gpu_check_read.sh: sample_check, launch_floor and bandwidth emulated, and
#     gpu-check's readers on what these programs print.
. tools/gpu-check-read.sh # read_define, and gpu_check_read.sh's readers
eval "$(make -s --no-print-directory print-simt-models)" # the model lists, SIMT_PTX
make -s build/simt/test_simt build/simt/test_lt >"$T/simt_build" 2>&1 || cat "$T/simt_build"
check "simt/emulator" build/simt/test_simt
expect_fail "simt/emulator/deadlock" 3 "deadlock: no barrier can be released" build/simt/test_simt deadlock
expect_fail "simt/emulator/mask-leaves-lane-out" 3 "thread \\(16,0,0\\) reaches a shuffle whose mask 0000ffff leaves it out" \
    build/simt/test_simt mask
expect_fail "simt/emulator/illegal-address" 3 "fault_k\\(unsigned int const\\*, unsigned int\\*\\), block \\(0,0,0\\): thread \\(0,0,0\\): illegal memory access" \
    build/simt/test_simt fault
expect_fail "simt/emulator/missing-barrier/forward" 1 "forward order: lane 0 read ffffffff" build/simt/test_simt race
expect_fail "simt/emulator/missing-barrier/reverse" 1 "reverse order: lane 1 read ffffffff" \
    env DF_SIMT_ORDER=reverse build/simt/test_simt race
check "simt/emulator/reverse" env DF_SIMT_ORDER=reverse build/simt/test_simt
# A launch is checked against what ptxas compiled its kernel to need (tests/simt/resources.sh;
# test_simt's own checks make up the figures): a kernel without a record, or without an exported
# name to find one by, stops the program.
expect_fail "simt/emulator/resources/unrecorded" 3 "no resources recorded for kernel _Z12unrecorded_kPj" \
    build/simt/test_simt unrecorded
expect_fail "simt/emulator/resources/internal-linkage" 3 "the kernel at 0x[0-9a-f]* has no exported name" \
    build/simt/test_simt hidden
# The tables' figures are ptxas' own: a kernel of known needs (__launch_bounds__(128), 4 KB of
# __shared__) gets a row of them; a PTX entry without ptxas' figures, and an exact block size
# (.reqntid, not modelled), are refused.
cat >"$T/res_k.cu" <<'CU'
__global__ void __launch_bounds__(128) res_k(float *p)
{
    __shared__ float tile[1024];
    tile[threadIdx.x] = p[threadIdx.x];
    __syncthreads();
    p[threadIdx.x] = tile[1023 - threadIdx.x];
}
CU
check "simt/resources/figures" sh -c "sh tests/simt/resources.sh '$T/res_k.cc' '$SIMT_PTX' '$T/res_k.cu' &&
    grep -q '{ \"_Z5res_kPf\", [1-9][0-9]*, 4096, 128 },' '$T/res_k.cc'"
$SIMT_PTX -ptx -o "$T/res_k.ptx" "$T/res_k.cu" && $SIMT_PTX -cubin -Xptxas -v -o /dev/null "$T/res_k.ptx" 2>"$T/res_k.v"
expect_fail "simt/resources/entry-without-figures" 1 "no ptxas figures for other_k" sh -c \
    "sed 's/\.entry _Z5res_kPf(/.entry other_k(/' '$T/res_k.ptx' >'$T/res_other.ptx' &&
        awk -f tests/simt/resources.awk '$T/res_other.ptx' '$T/res_k.v'"
expect_fail "simt/resources/exact-block-size" 1 "requires an exact block size" sh -c \
    "sed 's/^\.maxntid/.reqntid/' '$T/res_k.ptx' >'$T/res_req.ptx' && awk -f tests/simt/resources.awk '$T/res_req.ptx' '$T/res_k.v'"
# The emulated cuBLASLt through the backend's plans, against lt_gemm.h's scale layouts (test_lt.cc).
check "simt/cublaslt/plans-and-layouts" build/simt/test_lt

# mla_check (tests/cuda/mla_check.cu) as a GPU session runs it: its quick cases (the split-KV kernels'
# configurations A and B over both caches, at V2-Lite's and V3's head counts, against mla_attend
# and fp64, and batch invariance) and its stage variants at 1024 positions (each runs to its end:
# no deadlock, fault or copy left pending; the times are the emulator's).
if check "simt/mla_check/build" sh -c "make -s build/simt/mla_check >'$T/simt_build' 2>&1 || { cat '$T/simt_build'; exit 1; }"; then
    check "simt/mla_check/quick" sh -c "build/simt/mla_check quick >'$T/mla_quick.txt' 2>&1; rc=\$?; tail -3 '$T/mla_quick.txt';
        [ \$rc = 0 ] && grep -q '^mla_check: 16 cases, 0 failed' '$T/mla_quick.txt'"
    check "simt/mla_check/stages" sh -c "build/simt/mla_check stages 1024 >'$T/mla_stages.txt' 2>&1; rc=\$?;
        tail -3 '$T/mla_stages.txt'; [ \$rc = 0 ] && [ \$(grep -c '^mla_check stages: ' '$T/mla_stages.txt') = 6 ]"
fi

if check "simt/build" sh -c "make -s -j2 simt-all >'$T/simt_build' 2>&1 || { cat '$T/simt_build'; exit 1; }"; then
    make -s build/compare_logits
    CUDA_MODELS=$SIMT_MODELS CUDA_BIN_DIR=build/simt CUDA_CHECK=simt
    . tests/cuda/conformance.sh
    unset CUDA_MODELS CUDA_BIN_DIR CUDA_CHECK
    # rerun BIN M TAG [VAR=VALUE ...]: BIN (a build of model M) on M's fixture batch, as the
    # conformance ran it, under the environment given, logits into $T/M_cuda.TAG
    rerun() {
        rerun_bin=$1 rerun_m=$2 rerun_tag=$3
        shift 3
        env "$@" $rerun_bin --weights build/${rerun_m}_cuda/${rerun_m}_cuda.weights \
            --batch-file tests/fixtures/$rerun_m/prompts.txt -n 10 --logits "$T/${rerun_m}_cuda.$rerun_tag" \
            $(force_args $rerun_m tests/fixtures/$rerun_m/expected_ids.txt) >/dev/null
    }
    for m in $SIMT_MODELS; do
        rerun build/simt/${m}_cuda/${m}_cuda $m reverse DF_SIMT_ORDER=reverse
        check "simt/order/${m}_cuda/reverse-equals-forward" cmp "$T/${m}_cuda.reverse" "$T/${m}_cuda.b3"
    done
    # cp.async copies landing at once instead of at their wait (DF_SIMT_CPASYNC=eager): a stage
    # refilled while another warp still reads it would show. The split-KV kernels' pipelines and
    # the warps' rings of DF_CUDA_LINEAR_ONE=async.
    for m in v3_h16 v3_h16_bf16kv; do
        rerun build/simt/${m}_cuda/${m}_cuda $m eager DF_SIMT_CPASYNC=eager
        check "simt/cp.async/${m}_cuda/eager-equals-at-wait" cmp "$T/${m}_cuda.eager" "$T/${m}_cuda.b3"
    done
    rerun build/simt/tiny_cuda/tiny_cuda tiny eager DF_SIMT_CPASYNC=eager DF_CUDA_LINEAR_ONE=async
    check "simt/cp.async/tiny_cuda/async-rings-eager-equal-at-wait" cmp "$T/tiny_cuda.eager" "$T/tiny_cuda.b3_async"
    # A device without the memory the model needs (DF_SIMT_DEVICE_MIB: the emulated device's size):
    # exit 1 and a message with the sizes, for the weights (4.2 MiB) and for the arena (2.1 MiB)
    expect_fail "simt/out-of-memory/weights" 1 "tiny_cuda: cannot allocate [0-9]+ bytes \\(4\\.2 MiB\\) on simt [^:]*for the weights: out of memory \\(2\\.0 MiB free of 2\\.0 MiB\\)\$" \
        env DF_SIMT_DEVICE_MIB=2 build/simt/tiny_cuda/tiny_cuda --weights build/tiny_cuda/tiny_cuda.weights --ids 1,2,3 -n 2
    expect_fail "simt/out-of-memory/arena" 1 "tiny_cuda: cannot allocate [0-9]+ bytes \\(2\\.2 MiB\\) on simt [^:]*for the arena \\(activations, KV cache, workspaces\\): out of memory \\(1\\.8 MiB free of 6\\.0 MiB\\)\$" \
        env DF_SIMT_DEVICE_MIB=6 build/simt/tiny_cuda/tiny_cuda --weights build/tiny_cuda/tiny_cuda.weights --ids 1,2,3 -n 2
    # The liveness-checking builds (mk/poison.mk: each value's bytes poisoned after its last op) and
    # the 4-token prefill steps (mk/cuda_bench.mk) = the plain build, bit for bit, as gpu-check has them.
    for m in $SIMT_POISON_MODELS; do
        rerun build/simt/poison/${m}_cuda/${m}_cuda $m poison
        check "simt/poison/${m}_cuda/logits-equal-plain-build" cmp "$T/${m}_cuda.poison" "$T/${m}_cuda.b3"
    done
    # The builds without the launch fusions (mk/unfused.mk) = the fused build, bit for bit: on the
    # fixture batch, and on prompt 0 alone as the conformance ran it (a lone token's decode steps,
    # where moe_shared runs the shared experts in the routed experts' pair kernels).
    for m in $SIMT_UNFUSED_MODELS; do
        rerun build/simt/unfused/${m}_cuda/${m}_cuda $m unfused
        check "simt/unfused/${m}_cuda/logits-equal-fused-build" cmp "$T/${m}_cuda.unfused" "$T/${m}_cuda.b3"
        build/simt/unfused/${m}_cuda/${m}_cuda --weights build/${m}_cuda/${m}_cuda.weights -n 10 \
            --ids "$(head -n 1 tests/fixtures/$m/prompts.txt)" --logits "$T/${m}_cuda.b1_unfused" \
            $(force_args $m "$T/${m}_cuda.force.0") >/dev/null
        check "simt/unfused/${m}_cuda/prompt-alone-equal-fused-build" cmp "$T/${m}_cuda.b1_unfused" "$T/${m}_cuda.b1"
    done
    for m in $SIMT_CHUNK_MODELS; do
        build/simt/chunk4/${m}_cuda/${m}_cuda --weights build/cuda_bench/${m}_chunk4_cuda/${m}_cuda.weights \
            --batch-file tests/fixtures/$m/prompts.txt -n 10 --logits "$T/${m}_cuda.chunk4" \
            $(force_args $m tests/fixtures/$m/expected_ids.txt) >/dev/null
        check "simt/chunked-prefill/${m}_cuda/4-token-steps-equal-one-step" cmp "$T/${m}_cuda.chunk4" "$T/${m}_cuda.b3"
    done
    # Long prompts against the CPU build (ids equal, logits within the reference tolerance) and the
    # poisoned build: tiny's 200 tokens cross mla_attend's chunks of 64; v3_h16_r32's 600 make the
    # split-KV kernel merge up to 4 chunks (of 64 to 192 positions) over rows of 288, from prefill
    # slices whose records are 1 to 4 apart (of 4).
    for lc in tiny:200 v3_h16_r32:600; do
        lm=${lc%%:*} ln=${lc#*:}
        long=$(awk -v n=$ln 'BEGIN { for (i = 0; i < n; i++) printf "%s%d", i ? "," : "", (i * 37 + 11) % 1000 }')
        build/$lm/$lm --weights build/$lm/$lm.weights --ids "$long" -n 8 --print-ids --logits "$T/long_$lm.cpu" \
            >"$T/long_$lm.cpu.ids"
        build/simt/${lm}_cuda/${lm}_cuda --weights build/${lm}_cuda/${lm}_cuda.weights --ids "$long" -n 8 --print-ids \
            --logits "$T/long_$lm.simt" >"$T/long_$lm.simt.ids"
        build/simt/poison/${lm}_cuda/${lm}_cuda --weights build/${lm}_cuda/${lm}_cuda.weights --ids "$long" -n 8 \
            --logits "$T/long_$lm.poison" >/dev/null
        check "simt/long-context/$lm/ids-as-cpu" cmp "$T/long_$lm.cpu.ids" "$T/long_$lm.simt.ids"
        check "simt/long-context/$lm/logits-as-cpu" build/compare_logits "$T/long_$lm.cpu" "$T/long_$lm.simt" 1000 8 1
        check "simt/long-context/$lm/poisoned-equals-plain" cmp "$T/long_$lm.poison" "$T/long_$lm.simt"
    done
    # The kernels under UBSan (mk/simt.mk: tiny, the split-KV attention over both caches), with
    # the one-token products of linear_k and of the async rings: no undefined behaviour, same ids.
    if check "simt/ubsan/build" sh -c "make -s -j2 simt-ubsan >'$T/simt_build' 2>&1 || { cat '$T/simt_build'; exit 1; }"; then
        for m in $SIMT_UBSAN_MODELS; do
            for one in linear_k async; do
                one_env=$([ $one = async ] && echo DF_CUDA_LINEAR_ONE=async)
                check "simt/ubsan/${m}_cuda/$one" sh -c "env $one_env build/simt/ubsan/${m}_cuda/${m}_cuda \
                    --weights build/${m}_cuda/${m}_cuda.weights --batch-file tests/fixtures/$m/prompts.txt -n 10 \
                    --print-ids $(force_args $m tests/fixtures/$m/expected_ids.txt) 2>'$T/ubsan.err' >'$T/ubsan.ids' &&
                    ! grep 'runtime error' '$T/ubsan.err' && { $(forced $m && echo true ||
                    echo "cmp '$T/ubsan.ids' tests/fixtures/$m/expected_ids.txt"); }"
            done
        done
    fi
    # Op-level traces (docs/testing.md): the CPU and emulated CUDA trace builds of tiny and v3_h16 on the
    # fixture, teacher-forced; trace_diff finds every layer point within 1e-3 of the values' std.
    if check "simt/trace/build" sh -c "make -s -j2 simt-trace >'$T/simt_build' 2>&1 || { cat '$T/simt_build'; exit 1; }"; then
        for m in $SIMT_TRACE_MODELS; do
            fx=tests/fixtures/$m
            DF_TRACE="$T/$m.trace" build/trace/$m/$m --weights build/$m/$m.weights --batch-file $fx/prompts.txt -n 10 \
                --force-file $fx/expected_ids.txt >/dev/null
            DF_TRACE="$T/${m}_cuda.trace" build/simt/trace/${m}_cuda/${m}_cuda --weights build/${m}_cuda/${m}_cuda.weights \
                --batch-file $fx/prompts.txt -n 10 --force-file $fx/expected_ids.txt >/dev/null
            build/trace_diff "$T/$m.trace" "$T/${m}_cuda.trace" >"$T/$m.trace_diff" 2>&1
            tr_rc=$?
            check "simt/trace/${m}_cuda/as-cpu-op-by-op" sh -c "cat '$T/$m.trace_diff'; exit $tr_rc"
        done
    fi
    # synth_decode (tests/cuda/synth_decode.c: gpu-check's real shapes on weights made on the device)
    # with v3_h16's code (bf16 weights) and tiny_fp8's (FP8 blocks): checked as gpu-check checks the
    # real shapes (the same ids with each one-token kernel and with PDL, which emulated is the launch
    # with its attribute only: pdl_enter does nothing there; the batch's first sequence
    # the prompt alone, the same logits with and without the warps' rings), and its logits finite.
    if check "simt/synth/build" sh -c "make -s -j2 $(for m in $SIMT_SYNTH_MODELS; do printf 'build/simt/synth/%s_cuda/synth_decode ' $m; done) \
        >'$T/simt_build' 2>&1 || { cat '$T/simt_build'; exit 1; }"; then
        for m in $SIMT_SYNTH_MODELS; do
            syn=build/simt/synth/${m}_cuda/synth_decode
            mb=$(read_define generated/${m}_cuda/config.h MAX_BATCH) vocab=$(read_define generated/${m}_cuda/config.h VOCAB)
            $syn --batch 1 --prompt 8 -n 6 --print-ids >"$T/syn.s1" 2>/dev/null
            # (without the variable, the one-token steps launch programmatically: launch.cuh, pdl_on)
            for v in rows:DF_CUDA_LINEAR_ONE=rows async:DF_CUDA_LINEAR_ONE=async tune:DF_CUDA_LINEAR_ONE=tune \
                pdl:DF_CUDA_PDL=1 no-pdl:DF_CUDA_PDL=0; do
                env ${v#*:} $syn --batch 1 --prompt 8 -n 6 --print-ids >"$T/syn.v" 2>/dev/null
                check "simt/synth/${m}_cuda/same-ids/${v%%:*}" sh -c "test -s '$T/syn.s1' && cmp '$T/syn.s1' '$T/syn.v'"
            done
            $syn --batch "$mb" --prompt 8 -n 6 --print-ids >"$T/syn.sb" 2>/dev/null
            check "simt/synth/${m}_cuda/batch-invariance" sh -c "test -s '$T/syn.s1' && head -n 1 '$T/syn.sb' | cmp - '$T/syn.s1'"
            for b in 1 "$mb"; do
                l="$T/syn_$m.l$b"
                $syn --batch "$b" --prompt 8 -n 3 --logits "$l" >/dev/null 2>&1 || rm -f "$l"
                DF_CUDA_LINEAR_ONE=async $syn --batch "$b" --prompt 8 -n 3 --logits "${l}a" >/dev/null 2>&1 || rm -f "${l}a"
                check "simt/synth/${m}_cuda/batch$b-async-same-logits" sh -c "test -s '$l' && cmp '$l' '${l}a'"
                check "simt/synth/${m}_cuda/batch$b-logits-finite" build/compare_logits "$l" "$l" "$vocab" 3 "$b"
            done
        done
    fi
    # The models at real widths gpu-check runs: the real shapes on synthetic weights (DeepSeek-V2-Lite,
    # V3's first 8 layers) and the mid-size models (bf16, FP8, FP8 activations through cuBLASLt's
    # GEMMs), on synthetic weights here (synth_decode), and V3's 8 layers with FP8 activations
    # (cuBLASLt's GEMMs at V3's widths; mk/simt.mk): their whole
    # schedules on an emulated H200's memory (DF_SIMT_DEVICE_MIB) with DF_SIMT_LAUNCHES=only, which
    # checks every launch's configuration (grid, block, dynamic shared memory against the kernel's
    # opt-in) and every cuBLASLt plan (layouts, alignment, row counts) and runs no kernel: the
    # greedy runs gpu-check makes (batch 1 and the max batch, each one-token kernel, PDL, the
    # profile without graphs, --logits, decode past a 2048-token prompt, or half the context where
    # that is shorter), 512-token prompts at the max batch, and one prompt to the max context.
    if check "simt/real/build" sh -c "make -s -j2 $(for m in $SIMT_REAL_MODELS; do printf 'build/simt/real/%s/synth_decode ' $m; done) \
        >'$T/simt_build' 2>&1 || { cat '$T/simt_build'; exit 1; }"; then
        # real_runs M: M's runs, each to exit 0 within a minute with the decode steps asked for
        # (DF_CUDA_STATS), the prompt to the max context with its prefill steps too
        real_runs() {
            rm_cfg=build/cuda_bench_src/$1/config.h rm_bin=build/simt/real/$1/synth_decode
            mb=$(read_define $rm_cfg MAX_BATCH) ctx=$(read_define $rm_cfg MAX_CONTEXT) chunk=$(read_define $rm_cfg PREFILL_CHUNK)
            # ENV:B P N [ARGS]: ENV an assignment for the run (DF_CUDA_PDL=0 where none is wanted:
            # no programmatic launch; without the variable the one-token steps have them)
            for run in "DF_CUDA_PDL=0:1 32 129" "DF_CUDA_LINEAR_ONE=async:1 32 129" "DF_CUDA_PDL=0:$mb 32 129" \
                "DF_CUDA_LINEAR_ONE=async:$mb 32 129" "DF_CUDA_PDL=0:1 32 5 --logits $T/real.logits" \
                "DF_CUDA_LINEAR_ONE=async:$mb 32 5 --logits $T/real.logits" "DF_CUDA_PDL=1:1 32 129" \
                "DF_CUDA_LINEAR_ONE=rows:1 32 129" "DF_CUDA_LINEAR_ONE=tune:1 32 129" "DF_CUDA_LINEAR_ONE=tune:$mb 32 129" \
                "DF_CUDA_PROFILE=1:1 32 33" "DF_CUDA_PDL=0:$mb 512 2" \
                "DF_CUDA_PDL=1:$mb 512 2" "DF_CUDA_PDL=0:1 $((ctx < 4096 ? ctx / 2 : 2048)) 65" \
                "DF_CUDA_PDL=0:1 $((ctx - 8)) 8"; do
                set -- ${run#*:}
                b=$1 p=$2 n=$3
                shift 3
                timeout 60 env DF_SIMT_LAUNCHES=only DF_SIMT_DEVICE_MIB=143360 DF_CUDA_STATS=1 \
                    "${run%%:*}" $rm_bin --batch "$b" --prompt "$p" \
                    -n "$n" "$@" >/dev/null 2>"$T/real.err" && grep -q "cuda stats: decode $((n - 1)) steps" "$T/real.err" &&
                    { [ "$b" -gt 1 ] || [ "$p" -lt "$chunk" ] ||
                        grep -q "cuda stats: prefill $(((p + chunk - 1) / chunk)) steps" "$T/real.err"; } ||
                    { echo "$rm_bin: ${run%%:*} --batch $b --prompt $p -n $n $*:"; cat "$T/real.err"; return 1; }
            done
        }
        for m in $SIMT_REAL_MODELS; do
            check "simt/real/$m/launches-and-gemm-plans" real_runs $m
        done
        # ... and the mid-size FP8 model's kernels run, at one token: no reference model has FP8
        # rows of 16-byte vectors (16 columns a lane), which every real shape has, and which take
        # their own rows a warp with DF_CUDA_LINEAR_ONE=rows (one_token_rows: 4). Its
        # logits of 4 decode steps with each one-token kernel: the same bits.
        fp8_syn=build/simt/real/bench_v3_fp8_cuda/synth_decode
        for one in linear_k rows async; do
            env DF_CUDA_PDL=0 $([ $one = linear_k ] || echo DF_CUDA_LINEAR_ONE=$one) $fp8_syn --batch 1 --prompt 2 -n 5 \
                --logits "$T/fp8_$one.logits" >/dev/null 2>"$T/fp8_$one.err" || { cat "$T/fp8_$one.err"; rm -f "$T/fp8_$one.logits"; }
        done
        for one in rows async; do
            check "simt/real/bench_v3_fp8_cuda/one-token-$one-same-logits" sh -c \
                "test -s '$T/fp8_linear_k.logits' && cmp '$T/fp8_linear_k.logits' '$T/fp8_$one.logits'"
        done
    fi
    # Audit records made by the emulated binaries and re-derived by a second run (--check), those
    # gpu-check makes: tiny's, and the FP8- and bf16-activation models' with their cuBLASLt
    # algorithms ("gemms").
    for m in tiny tiny_fp8act tiny_bf16act; do
        mc=${m}_cuda
        check "simt/audit/$mc" sh -c "build/simt/$mc/$mc audit --weights build/$mc/$mc.weights >'$T/$mc.audit.json' &&
            build/simt/$mc/$mc audit --check '$T/$mc.audit.json' --weights build/$mc/$mc.weights"
    done
    # gpu-check's readers on what these programs print (tests/simt/gpu_check_read.sh)
    . tests/simt/gpu_check_read.sh
fi
