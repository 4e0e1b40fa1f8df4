# golden.sh: the committed generated/ sources equal a fresh generation, and
# generating twice gives byte-identical files. Sourced by tests/run.sh.
for m in tiny tiny_fp8 v2_lite v2_group v3_h16 tiny_bf16act; do
    check "golden/$m" sh -c "lua5.4 gen/main.lua --quiet --spec specs/$m.lua --out '$T/g1_$m' && diff -r generated/$m '$T/g1_$m'"
    check "deterministic/$m" sh -c "lua5.4 gen/main.lua --quiet --spec specs/$m.lua --out '$T/g2_$m' && diff -r '$T/g1_$m' '$T/g2_$m'"
done
