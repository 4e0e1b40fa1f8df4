# sanitizers.sh: the tiny model's binary and packer built with AddressSanitizer
# and UBSan (make build/asan/tiny), run on the conformance batch and on bad
# input, and the SIMD kernels' and the sampler's unit tests. Any sanitizer report aborts the program,
# failing the check.
# Sourced by tests/run.sh.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
check "asan/pack" build/asan/tiny-pack --hf tests/fixtures/tiny/hf --out "$T/asan.weights" --sign tests/keys/test-signing.key.pem
check "asan/same-file-as-normal-build" cmp "$T/asan.weights" build/tiny/tiny.weights
check "asan/conformance-batch3" sh -c "build/asan/tiny --weights '$T/asan.weights' --batch-file tests/fixtures/tiny/prompts.txt \\
    -n 10 --print-ids --threads 2 --logits '$T/asan.logits' | cmp - tests/fixtures/tiny/expected_ids.txt &&
    build/compare_logits tests/fixtures/tiny/expected_logits.bin '$T/asan.logits' 1000 10 3"
check "asan/sampling" build/asan/tiny --weights "$T/asan.weights" --ids 3,4,5 -n 12 --temp 1 --top-p 0.8 --top-k 40 --seed 1
expect_fail "asan/bad-ids" 2 "outside the vocabulary" build/asan/tiny --weights "$T/asan.weights" --ids 1,5000
head -c 100000 "$T/asan.weights" >"$T/asan.trunc.weights"
expect_fail "asan/truncated-weights" 3 "truncated" build/asan/tiny --weights "$T/asan.trunc.weights" --ids 1
expect_fail "asan/wrong-checkpoint" 3 "q_a_proj" build/asan/tiny-pack --hf tests/fixtures/v2_lite/hf --out "$T/x2.weights"
# The audit record: made, read back and compared under the sanitizers; a file that is not a record.
check "asan/audit" sh -c "build/asan/tiny audit --weights '$T/asan.weights' --threads 2 >'$T/asan.audit.json' &&
    build/asan/tiny audit --check '$T/asan.audit.json' --weights '$T/asan.weights'"
expect_fail "asan/audit-bad-record" 2 "not an audit record" \
    build/asan/tiny audit --check tests/fixtures/tiny/prompts.txt --weights "$T/asan.weights"
# The SIMD kernels' unit test (every ISA this machine has, AVX-512 BF16's dot products included).
check "asan/test_simd" build/asan/test_simd
# The sampler's unit test: its definition against a sort on 6000 rows, the integer arithmetic.
check "asan/test_sample" build/asan/test_sample
