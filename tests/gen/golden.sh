# golden.sh: the committed generated/ sources equal a fresh generation, and
# generating twice gives byte-identical files. Sourced by tests/run.sh.
for m in $REF_MODELS; do
    check "golden/$m" sh -c "lua5.4 gen/main.lua --quiet --spec specs/$m.lua --out '$T/g1_$m' && diff -r generated/$m '$T/g1_$m'"
    check "deterministic/$m" sh -c "lua5.4 gen/main.lua --quiet --spec specs/$m.lua --out '$T/g2_$m' && diff -r '$T/g1_$m' '$T/g2_$m'"
done

# In a git checkout, every reference model's generated sources (CPU and CUDA) are committed,
# not only made by make (a new model's directory must be let through .gitignore).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    for m in $REF_MODELS $(for c in $CUDA_BASE_MODELS; do echo ${c}_cuda; done); do
        check "golden/$m-committed" sh -c "git ls-files --error-unmatch generated/$m/forward.c generated/$m/plan.txt >/dev/null"
    done
fi

# Which products take bf16 activations, read from the generated kernels rather
# than from the generator's tables (docs/numerics.md): with deploy.activations
# = "bf16", every product with bf16 weights but the attention's (kv_b, absorbed,
# f32; the embedding is a lookup); with "f32", none. The logits tolerance alone would not see one class
# of products left in f32 (tests/conformance.sh).
products_take() { # KERNELS.C f32|bf16
    awk -v act="$2" '
        /^void / { fn = $2 }
        /DF_ACT_/ { n++; want = act == "bf16" && /DF_BF16,/ && fn !~ /^(mla_attend|embed)_/ ? "DF_ACT_BF16" : "DF_ACT_F32"
                    if (!index($0, want)) { print fn ": " $0 " (want " want ")"; bad++ } }
        END { exit bad || !n }' "$1"
}
check "precision/tiny-f32-activations" products_take generated/tiny/kernels.c f32
check "precision/tiny_bf16act-bf16-activations" products_take generated/tiny_bf16act/kernels.c bf16

# The latent cache's element, read from the generated forward pass: every layer's cache is
# declared with it (uint16_t: bf16 bits, deploy.kv_cache = "bf16"; float: f32) and every cache
# write and attention instance that takes it says bf16 in its name (_bf16kv) exactly when it is
# bf16 (the compiler checks the pointer types against the instances' parameters).
kv_cache_elem() { # FORWARD.C float|uint16_t
    awk -v ct="$2" '
        / \*kv_cache_l[0-9]+ = / { n++; if ($1 != ct) { print "declared " $1 ": " $0; bad++ } }
        /^ *mla_(cache_write|attend)[a-z0-9_]*\(/ { calls++; if ((ct == "uint16_t") != /_bf16kv\(/) { print $0; bad++ } }
        END { exit bad || !n || !calls }' "$1"
}
check "precision/tiny-f32-kv-cache" kv_cache_elem generated/tiny/forward.c float
check "precision/tiny_bf16kv-bf16-kv-cache" kv_cache_elem generated/tiny_bf16kv/forward.c uint16_t
check "precision/tiny_cuda-f32-kv-cache" kv_cache_elem generated/tiny_cuda/forward.c float
check "precision/tiny_bf16kv_cuda-bf16-kv-cache" kv_cache_elem generated/tiny_bf16kv_cuda/forward.c uint16_t

# FP8 activations (and bf16 ones on CUDA), read from the generated forward pass: with
# deploy.activations = "fp8", every product with FP8 weights (the routed experts' too) reads a
# buffer quantized by act_quant_fp8_* (or by a norm or SwiGLU gate that quantizes its output,
# *rmsnorm_quant_*, silu_mul_quant_*) since that buffer was last written, and no other product
# reads a quantized one; with "bf16" on CUDA, the same of bf16 products and act_round_bf16_*
# (*rmsnorm_round_*, silu_mul_round_*; the CPU rounds as it multiplies: products_take above); with "f32", nothing is prepared. The
# experts quantize or round their down projection's input themselves (DF_ACT_FP8, DF_ACT_BF16 in
# kernels.c/.cu). The logits tolerance alone would not see the last layer's shared expert left
# unquantized (tests/conformance.sh).
prepared_inputs() { # FORWARD.C fp8|bf16 (the weights) f32|fp8|bf16 (the activations)
    awk -v t="$2" -v act="$3" '
        match($0, /^ *[a-z0-9_]+\(/) {
            fn = substr($0, RSTART, RLENGTH - 1); sub(/^ */, "", fn)
            args = substr($0, RSTART + RLENGTH); sub(/\);.*/, "", args); n = split(args, a, /, /)
            if (fn ~ /^act_(quant_fp8|round_bf16)_/) { q[a[1]] = 1; quants++; next }
            # the products: a fused pair or SwiGLU (gen/schedule.lua, fuse_launches) takes two matrices
            x = fn ~ /^(linear_pair|swiglu)_fp8_/ ? a[5] : fn ~ /^(linear_pair|swiglu)_/ ? a[3] : \
                fn ~ /^linear_fp8(gemm)?_|^moe_experts_/ ? a[3] : fn ~ /^linear_/ ? a[2] : ""
            if (x != "") {
                products++
                want = act == t && fn ~ ("^(linear|linear_pair|swiglu|moe_experts)_" t "(gemm)?_")
                if (want != (x in q)) { print fn " reads " x (want ? " unprepared" : " prepared"); bad++ }
            }
            out = fn ~ /^(residual_add|silu_mul|rope_heads|rope_cache)_/ ? a[1] : fn ~ /^linear_fp8gemm_/ ? a[5] : \
                  fn ~ /^linear_bf16gemm_/ ? a[4] : a[n]
            delete q[out]
            if (fn ~ /^linear_pair_/) delete q[a[n - 1]] # its first output
            if (fn ~ /^add_rmsnorm/) delete q[a[1]] # it adds to x too
            if (fn ~ /rmsnorm_(quant|round)_/) { q[a[n]] = 1; quants++ } # a norm that prepares its output
            if (fn ~ /^silu_mul_(quant|round)_/) { q[a[1]] = 1; quants++ } # a SwiGLU gate that prepares its output
        }
        END { exit bad || !products || (act == t) != (quants > 0) }' "$1"
}
check "precision/tiny_fp8-f32-activations" prepared_inputs generated/tiny_fp8/forward.c fp8 f32
check "precision/tiny_fp8act-fp8-activations" prepared_inputs generated/tiny_fp8act/forward.c fp8 fp8
check "precision/tiny_fp8act_cuda-fp8-activations" prepared_inputs generated/tiny_fp8act_cuda/forward.c fp8 fp8
check "precision/tiny_cuda-f32-activations" prepared_inputs generated/tiny_cuda/forward.c bf16 f32
check "precision/tiny_bf16act_cuda-bf16-activations" prepared_inputs generated/tiny_bf16act_cuda/forward.c bf16 bf16

# Which products run through cuBLASLt (linear_<t>gemm_DINxDOUT): on CUDA with FP8 or bf16
# activations, exactly those whose shape it takes (din % 16 == 0 for FP8, % 8 for bf16;
# dout % 4 == 0: gen/shapes.lua); nowhere else.
lt_gemms() { # KERNELS fp8|bf16 yes|no
    awk -v t="$2" -v on="$3" '
        match($0, "^void linear_" t "(gemm)?_[0-9]+x[0-9]+\\(") {
            name = substr($0, RSTART + 5, RLENGTH - 6); split(name, p, "_"); split(p[3], d, "x")
            want = on == "yes" && d[1] % (t == "fp8" ? 16 : 8) == 0 && d[2] % 4 == 0
            if (want != (p[2] == t "gemm")) { print name (want ? ": not through the GEMM" : ": through the GEMM"); bad++ }
            gemms += p[2] == t "gemm"
        }
        # the fused products (gen/schedule.lua, fuse_launches) run on the own kernels: none may have a
        # shape the GEMM takes when it is on
        match($0, "^void (linear_pair|swiglu)_" t "_[0-9]+x[0-9]+(_[0-9]+)?\\(|^void linear_" t "_[0-9]+x[0-9]+_add\\(") {
            name = substr($0, RSTART + 5, RLENGTH - 6); sub(/^(linear_pair|swiglu|linear)_/, "", name); sub(/_add$/, "", name)
            n = split(name, p, "_"); split(p[2], d, "x")
            for (i = 2; i <= n; i++) {
                dout = i == 2 ? d[2] : p[i]
                if (on == "yes" && d[1] % (t == "fp8" ? 16 : 8) == 0 && dout % 4 == 0) { print $0 ": fused, yet its shape takes the GEMM"; bad++ }
            }
        }
        END { exit bad || (on == "yes") != (gemms > 0) }' "$1"
}
# Every cuBLASLt GEMM of the kernels (kind, n, k, and the rows it is planned for) is planned in
# forward.c's init (df_cuda_lt_linear_plan), and only those, so that no step pays for a plan
# (runtime/cuda/lt_linear.cu); with the steps' workspace, the plan's gemm_ws.
gemms_planned() { # KERNELS.CU FORWARD.C
    local calls plans ws spaces
    calls=$(sed -n 's/.*df_cuda_lt_linear(\(DF_CUDA_GEMM_[A-Z0-9]*, [0-9]*, [0-9]*, [A-Z_]*\),.*/\1/p' "$1" | sort -u)
    plans=$(sed -n '/^static void init(/,/^}/s/.*df_cuda_lt_linear_plan(\(DF_CUDA_GEMM_[A-Z0-9]*, [0-9]*, [0-9]*, [A-Z_]*\),.*/\1/p' \
        "$2" | sort -u)
    ws=$(sed -n 's/.*\*gemm_ws = (unsigned char \*)(void \*)(arena + \([0-9]*\));.*/\1/p' "$2" | sort -u)
    spaces=$(sed -n '/^static void init(/,/^}/s/.*df_cuda_lt_linear_plan(.*, arena + \([0-9]*\));.*/\1/p' "$2" | sort -u)
    if [ -n "$calls" ] && [ "$calls" = "$plans" ] && [ -n "$ws" ] && [ "$ws" = "$spaces" ]; then return 0; fi
    printf 'the GEMMs: %s\nplanned: %s\ngemm_ws at %s, the plans'"'"' workspace at %s\n' "$calls" "$plans" "$ws" "$spaces"
    return 1
}
# A GEMM that reuses the prepared input in gemm_in (GEMM_INPUT_REUSE) reads the buffer the GEMM before read,
# unwritten since (within one function), and every GEMM that could reuse does.
gemm_reuse() { # FORWARD.C
    awk '
        /^static void / { last = "" }
        match($0, /^ *[a-z0-9_]+\(/) {
            fn = substr($0, RSTART, RLENGTH - 1); sub(/^ */, "", fn)
            args = substr($0, RSTART + RLENGTH); sub(/\);.*/, "", args); n = split(args, a, /, /)
            if (fn ~ /^linear_(fp8|bf16)gemm_/) {
                x = fn ~ /fp8gemm/ ? a[3] : a[2]; out = fn ~ /fp8gemm/ ? a[5] : a[4]
                if (a[n] == "GEMM_INPUT_REUSE") { reuses++; if (last != x) { print fn " reuses " last "'"'"'s input for " x; bad++ } }
                else if (last == x) { print fn " could reuse " x; bad++ }
                last = out == x ? "" : x
                next
            }
            if (a[n] == last || (fn ~ /^(residual_add|silu_mul|rope_heads|rope_cache|add_rmsnorm|act_quant_fp8|act_round_bf16)/ && a[1] == last) ||
                (fn ~ /^linear_pair_/ && a[n - 1] == last))
                last = ""
        }
        END { exit bad || !reuses }' "$1"
}
check "cuda/tiny_bf16act_cuda-gemm-input-reuse" gemm_reuse generated/tiny_bf16act_cuda/forward.c
# The CUDA schedule's fused ops (swiglu, linear_pair, accumulate, rope_cache, moe_shared, rope_in: gen/schedule.lua) expanded
# back are the CPU's op list, op by op (tests/gen/fusion.lua), on the reference models and on
# the real shapes of DeepSeek-V3 (FP8 weights) and V2-Lite (bf16).
for s in tiny_cuda tiny_fp8_cuda tiny_fp8act_cuda v2_lite_cuda v2_group_cuda v3_h16_cuda v3_h16_r32_cuda \
        v3_h16_bf16kv_cuda; do
    check "cuda/fusion/$s" lua5.4 tests/gen/fusion.lua specs/$s.lua
done
check "cuda/fusion/deepseek_v3" lua5.4 tests/gen/fusion.lua specs/deepseek_v3.lua gpu_memory_gib=1000
# ... and its guards on made-up lists: what it must leave alone (tests/gen/fuse_cases.lua, 31 cases)
check "cuda/fusion/guards" lua5.4 tests/gen/fuse_cases.lua
check "cuda/fusion/deepseek_v2_lite" lua5.4 tests/gen/fusion.lua specs/deepseek_v2_lite.lua
# The memory plans are valid static arenas: aligned, every named buffer planned, no two values
# alive at once sharing a byte, and on CUDA the runtime's buffers (step arrays, expert scratch,
# cuBLASLt's input and workspace) planned at the sizes they need (tests/gen/plan_check.lua).
for s in $REF_MODELS $(for c in $CUDA_BASE_MODELS; do echo ${c}_cuda; done) deepseek_v2_lite bench_v3_fp8act_cuda \
        bench_v3_8l_cuda; do
    check "plan/$s" lua5.4 tests/gen/plan_check.lua specs/$s.lua
done
check "plan/deepseek_v3" lua5.4 tests/gen/plan_check.lua specs/deepseek_v3.lua
check "cuda/tiny_fp8act_cuda-fp8-gemms" lt_gemms generated/tiny_fp8act_cuda/kernels.cu fp8 yes
check "cuda/tiny_fp8_cuda-no-fp8-gemms" lt_gemms generated/tiny_fp8_cuda/kernels.cu fp8 no
check "cuda/tiny_bf16act_cuda-bf16-gemms" lt_gemms generated/tiny_bf16act_cuda/kernels.cu bf16 yes
check "cuda/tiny_cuda-no-bf16-gemms" lt_gemms generated/tiny_cuda/kernels.cu bf16 no
for m in tiny_fp8act tiny_bf16act; do
    check "cuda/${m}_cuda-gemms-planned-at-init" gemms_planned generated/${m}_cuda/kernels.cu generated/${m}_cuda/forward.c
done
# The same on real shapes, where every FP8 (bf16) weight but the experts' takes the GEMM and the
# MLPs' up projections reuse their gate's input: DeepSeek-V3 with FP8 activations, V2-Lite with
# bf16 ones, on CUDA (generated here, not committed).
check "cuda/deepseek_v3-fp8act-generates" lua5.4 gen/main.lua --quiet --spec specs/deepseek_v3.lua \
    --set deploy.activations=fp8 --set deploy.gpu_memory_gib=1000 --out "$T/v3fp8"
check "precision/deepseek_v3_cuda-fp8-activations" prepared_inputs "$T/v3fp8/forward.c" fp8 fp8
check "cuda/deepseek_v3_cuda-fp8-gemms" lt_gemms "$T/v3fp8/kernels.cu" fp8 yes
check "cuda/deepseek_v3_cuda-gemm-input-reuse" gemm_reuse "$T/v3fp8/forward.c"
check "cuda/deepseek_v3_cuda-gemms-planned-at-init" gemms_planned "$T/v3fp8/kernels.cu" "$T/v3fp8/forward.c"
check "cuda/deepseek_v2_lite-bf16act-generates" lua5.4 gen/main.lua --quiet --spec specs/deepseek_v2_lite.lua \
    --set deploy.activations=bf16 --out "$T/v2lbf16"
check "precision/deepseek_v2_lite_cuda-bf16-activations" prepared_inputs "$T/v2lbf16/forward.c" bf16 bf16
check "cuda/deepseek_v2_lite_cuda-bf16-gemms" lt_gemms "$T/v2lbf16/kernels.cu" bf16 yes
check "cuda/deepseek_v2_lite_cuda-gemm-input-reuse" gemm_reuse "$T/v2lbf16/forward.c"
check "cuda/deepseek_v2_lite_cuda-gemms-planned-at-init" gemms_planned "$T/v2lbf16/kernels.cu" "$T/v2lbf16/forward.c"
check "precision/tiny_fp8act-experts-quantize-down-input" grep -q "DF_F8E4M3, DF_ACT_FP8 }" generated/tiny_fp8act/kernels.c
check "precision/tiny_fp8act_cuda-experts-quantize-down-input" grep -q "DF_F8E4M3, 200, 72, 16, 4, DF_ACT_FP8>" generated/tiny_fp8act_cuda/kernels.cu
check "precision/tiny_bf16act_cuda-experts-round-down-input" grep -q "DF_BF16, 128, 64, 16, 4, DF_ACT_BF16>" generated/tiny_bf16act_cuda/kernels.cu
