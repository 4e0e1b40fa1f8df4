# weights/run.sh: the JSON parser, safetensors reader, packer and loader
# (tests/weights/*.c), then a short libFuzzer run of each parser under
# ASan/UBSan. Long runs: see weights/README.md. Sourced by tests/run.sh.
check "weights/test_json" build/weights/test_json
check "weights/test_pack" build/weights/test_pack
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
for f in fuzz_json fuzz_safetensors fuzz_header; do
    mkdir -p "$T/corpus_$f"
    extra=""
    [ $f = fuzz_header ] && extra="-max_len=8192"
    check "fuzz/$f-${FUZZ_SECONDS}s" build/fuzz/$f -max_total_time=$FUZZ_SECONDS $extra "$T/corpus_$f" tests/fuzz/corpus/$f
done
