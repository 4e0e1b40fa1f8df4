# golden.sh: the committed generated/ sources equal a fresh generation, and
# generating twice gives byte-identical files. Sourced by tests/run.sh.
for m in $REF_MODELS; do
    check "golden/$m" sh -c "lua5.4 gen/main.lua --quiet --spec specs/$m.lua --out '$T/g1_$m' && diff -r generated/$m '$T/g1_$m'"
    check "deterministic/$m" sh -c "lua5.4 gen/main.lua --quiet --spec specs/$m.lua --out '$T/g2_$m' && diff -r '$T/g1_$m' '$T/g2_$m'"
done

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

# FP8 activations, read from the generated forward pass: with deploy.activations
# = "fp8", every product with FP8 weights (the routed experts' too) reads a
# buffer quantized by act_quant_fp8_* (or by a norm or SwiGLU gate that quantizes
# its output, *rmsnorm_quant_*, silu_mul_quant_*) since that buffer was last
# written, and no other product reads a quantized one; with "f32", nothing is
# quantized. The experts quantize their down projection's input themselves
# (DF_ACT_FP8 in kernels.c). The logits tolerance alone would not see the last
# layer's shared expert left unquantized (tests/conformance.sh).
fp8_inputs() { # FORWARD.C f32|fp8
    awk -v act="$2" '
        match($0, /^ *[a-z0-9_]+\(/) {
            fn = substr($0, RSTART, RLENGTH - 1); sub(/^ */, "", fn)
            args = substr($0, RSTART + RLENGTH); sub(/\);.*/, "", args); n = split(args, a, /, /)
            if (fn ~ /^act_quant_fp8_/) { q[a[1]] = 1; quants++; next }
            x = fn ~ /^linear_fp8(gemm)?_|^moe_experts_/ ? a[3] : fn ~ /^linear_/ ? a[2] : ""
            if (x != "") {
                products++
                want = act == "fp8" && fn ~ /^(linear|moe_experts)_fp8(gemm)?_/
                if (want != (x in q)) { print fn " reads " x (want ? " unquantized" : " quantized"); bad++ }
            }
            delete q[fn ~ /^(residual_add|silu_mul|rope_heads)_/ ? a[1] : fn ~ /^linear_fp8gemm_/ ? a[5] : a[n]]
            if (fn ~ /^add_rmsnorm/) delete q[a[1]] # it adds to x too
            if (fn ~ /rmsnorm_quant_/) { q[a[n]] = 1; quants++ } # a norm that quantizes its output
            if (fn ~ /^silu_mul_quant_/) { q[a[1]] = 1; quants++ } # a SwiGLU gate that quantizes its output
        }
        END { exit bad || !products || (act == "fp8") != (quants > 0) }' "$1"
}
check "precision/tiny_fp8-f32-activations" fp8_inputs generated/tiny_fp8/forward.c f32
check "precision/tiny_fp8act-fp8-activations" fp8_inputs generated/tiny_fp8act/forward.c fp8
check "precision/tiny_fp8act_cuda-fp8-activations" fp8_inputs generated/tiny_fp8act_cuda/forward.c fp8

# Which FP8 products run through cuBLASLt's FP8 GEMM (linear_fp8gemm_DINxDOUT): on CUDA with
# FP8 activations, exactly those whose shape it takes (din % 16 == 0, dout % 4 == 0: gen/shapes.lua);
# nowhere else.
fp8_gemms() { # KERNELS yes|no
    awk -v on="$2" '
        match($0, /^void linear_fp8(gemm)?_[0-9]+x[0-9]+\(/) {
            name = substr($0, RSTART + 5, RLENGTH - 6); split(name, p, "_"); split(p[3], d, "x")
            want = on == "yes" && d[1] % 16 == 0 && d[2] % 4 == 0
            if (want != (p[2] == "fp8gemm")) { print name (want ? ": not through the GEMM" : ": through the GEMM"); bad++ }
            gemms += p[2] == "fp8gemm"
        }
        END { exit bad || (on == "yes") != (gemms > 0) }' "$1"
}
check "cuda/tiny_fp8act_cuda-fp8-gemms" fp8_gemms generated/tiny_fp8act_cuda/kernels.cu yes
check "cuda/tiny_fp8_cuda-no-fp8-gemms" fp8_gemms generated/tiny_fp8_cuda/kernels.cu no
check "precision/tiny_fp8act-experts-quantize-down-input" grep -q "DF_F8E4M3, DF_ACT_FP8 }" generated/tiny_fp8act/kernels.c
check "precision/tiny_fp8act_cuda-experts-quantize-down-input" grep -q "DF_F8E4M3, 200, 72, 16, 4, true>" generated/tiny_fp8act_cuda/kernels.cu
