# weights/run.sh: the JSON parser, safetensors reader, packer and loader,
# SHA-256 against mbedTLS, the integrity section and signatures
# (tests/weights/*.c), signed weights end to end (signing.sh), then a short
# libFuzzer run of each parser under ASan/UBSan. Long runs: see
# weights/README.md. Sourced by tests/run.sh.
check "weights/test_json" build/weights/test_json
check "weights/test_pack" build/weights/test_pack
check "weights/test_sha256" build/weights/test_sha256
check "weights/test_verify" build/weights/test_verify
# bench/random_checkpoint.c writes checkpoints as Hugging Face's are (FP8 scale rows unpadded):
# tiny_fp8's, with scales the packed file pads, packs.
check "weights/random-checkpoint-packs" sh -c "mkdir -p '$T/rc_hf' &&
    build/weights/random_checkpoint_tiny_fp8 --out '$T/rc_hf' >/dev/null &&
    build/tiny_fp8/tiny_fp8-pack --hf '$T/rc_hf' --out '$T/rc.weights' >/dev/null 2>&1"
. tests/weights/signing.sh
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
for f in fuzz_json fuzz_safetensors fuzz_header fuzz_integrity; do
    mkdir -p "$T/corpus_$f"
    extra=""
    [ $f = fuzz_header ] && extra="-max_len=8192"
    [ $f = fuzz_integrity ] && extra="-max_len=16384"
    check "fuzz/$f-${FUZZ_SECONDS}s" build/fuzz/$f -max_total_time=$FUZZ_SECONDS $extra "$T/corpus_$f" tests/fuzz/corpus/$f
done
