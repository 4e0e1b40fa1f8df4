# golden.sh: the committed generated/ sources equal a fresh generation, and
# generating twice gives byte-identical files. Sourced by tests/run.sh.
for m in tiny tiny_fp8 v2_lite v2_group v3_h16 tiny_bf16act; do
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
