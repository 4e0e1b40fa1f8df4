# audit.sh: `<binary> audit` and `audit --check` (docs/reproducibility.md).
# The record is read back with lua-cjson (a parser we did not write) to check
# that it is JSON and that each field says what it claims: the binary's
# SHA-256 is sha256sum's, the sources hash is re-derived from generated/<m>/
# with standard tools, the spec text is generated/<m>/spec.lua. Then --check
# passes on a re-run (any thread count, AVX2 or AVX-512) and fails, naming
# the field, for a changed binary, changed weights, changed arithmetic and an
# edited record. Sourced by tests/run.sh.

# field RECORD LUA-EXPR: print a value of the record (r is the decoded JSON).
# ids(t): a JSON array of ids as "1,2,3".
field() { lua5.4 -e "local r = require('cjson').decode(io.open('$1'):read('a'))
                     local function ids(t) local s = {} for i, v in ipairs(t) do s[i] = ('%d'):format(v) end
                                           return table.concat(s, ',') end
                     io.write(tostring($2))"; }

for m in $REF_MODELS; do
    bin=build/$m/$m wts=build/$m/$m.weights rec="$T/$m.audit.json"
    if ! $bin audit --weights $wts >"$rec" 2>"$T/err"; then
        fail "audit/$m/record" "$(cat "$T/err")"
        continue
    fi
    check "audit/$m/record-is-json" field "$rec" "r.deepfreeze_audit == 3 and r.model == '$m'"
    check "audit/$m/no-device-on-cpu" field "$rec" "r.device == require('cjson').null"
    check "audit/$m/no-gemms-on-cpu" field "$rec" "r.gemms == require('cjson').null"
    check "audit/$m/binary-sha256" test "$(field "$rec" r.binary.sha256)" = "$(sha256sum <$bin | cut -c1-64)"
    check "audit/$m/sources-sha256" test "$(field "$rec" r.generator.sources_sha256)" = \
        "$(cd generated/$m && ls | LC_ALL=C sort | grep -vx provenance.c | xargs sha256sum | sha256sum | cut -c1-64)"
    field "$rec" r.spec.text >"$T/$m.spec.lua"
    check "audit/$m/spec-text" cmp "$T/$m.spec.lua" generated/$m/spec.lua
    check "audit/$m/spec-sha256" test "$(field "$rec" r.spec.sha256)" = "$(sha256sum <generated/$m/spec.lua | cut -c1-64)"
    # The spec's text regenerates the very sources the record hashes (saved under the spec's file name).
    mkdir -p "$T/regen_$m" && cp "$T/$m.spec.lua" "$T/regen_$m/$m.lua"
    check "audit/$m/spec-regenerates-sources" sh -c "lua5.4 gen/main.lua --spec '$T/regen_$m/$m.lua' --out '$T/regen_$m/src' --quiet &&
        diff -r '$T/regen_$m/src' generated/$m"
    check "audit/$m/check-threads2" $bin audit --check "$rec" --weights $wts --threads 2
done

# The audit's greedy ids are the plain run's: the record describes what users get.
rec=$T/tiny.audit.json
prompt=$(field "$rec" "ids(r.outputs.prompts[2].prompt)")
check "audit/tiny/greedy-is-the-run" test "$(build/tiny/tiny --weights build/tiny/tiny.weights --ids "$prompt" -n 8 \
    --print-ids)" = "$(field "$rec" "ids(r.outputs.prompts[2].greedy)")"
# Sampling with a seed is part of the record: the same seed, the same tokens; another seed, others.
build/tiny/tiny audit --weights build/tiny/tiny.weights --seed 7 >"$T/seed7a.json"
build/tiny/tiny audit --weights build/tiny/tiny.weights --seed 7 --threads 2 >"$T/seed7b.json"
for f in seed7a seed7b; do grep -v '"threads"' "$T/$f.json" >"$T/$f.nothreads"; done  # the one informational difference
check "audit/seed/same-seed-same-record" cmp "$T/seed7a.nothreads" "$T/seed7b.nothreads"
check "audit/seed/check-uses-the-records-seed" build/tiny/tiny audit --check "$T/seed7a.json" --weights build/tiny/tiny.weights
sampled() { field "$1" "ids(r.outputs.prompts[1].sampled)"; }
check "audit/seed/other-seed-other-samples" test "$(sampled "$T/seed7a.json")" != "$(sampled "$rec")"

# AVX2 and AVX-512 give the same bits, so a record made with one checks with the other.
has() { grep -qw "$1" /proc/cpuinfo 2>/dev/null; }
if has avx2 && has fma && has f16c; then
    check "audit/isa/avx2-reproduces" env DF_ISA=avx2 build/tiny/tiny audit --check "$rec" --weights build/tiny/tiny.weights
    # The plain C kernels sum in another order: the check names the arithmetic and the logits.
    expect_fail "audit/isa/scalar-differs" 5 'cpu.arithmetic differs.*' \
        env DF_ISA=scalar build/tiny/tiny audit --check "$rec" --weights build/tiny/tiny.weights
    check "audit/isa/scalar-names-the-logits" grep -q 'outputs.prompts\[0\].logits_sha256 differs' "$T/err"
fi

# A changed binary: the same code with one byte appended still runs, but is not the audited binary.
cp build/tiny/tiny "$T/tiny-changed" && printf x >>"$T/tiny-changed"
expect_fail "audit/changed-binary" 5 'binary.sha256 differs' "$T/tiny-changed" audit --check "$rec" --weights build/tiny/tiny.weights

# Changed weights, properly packed and signed: one bf16 value of the checkpoint one ulp off.
cp -r tests/fixtures/tiny/hf "$T/hf-changed"
shard=$(ls "$T"/hf-changed/*.safetensors | head -n 1)
size=$(stat -c %s "$shard")
byte=$(od -An -tu1 -j $((size - 2)) -N1 "$shard" | tr -d ' ')
printf "\\$(printf %03o $((byte ^ 1)))" | dd of="$shard" bs=1 seek=$((size - 2)) conv=notrunc 2>/dev/null
if build/tiny/tiny-pack --hf "$T/hf-changed" --out "$T/changed.weights" --sign tests/keys/test-signing.key.pem >/dev/null 2>"$T/err"; then
    expect_fail "audit/changed-weights" 5 'weights.root_sha256 differs' \
        build/tiny/tiny audit --check "$rec" --weights "$T/changed.weights"
else
    fail "audit/changed-weights" "could not pack: $(cat "$T/err")"
fi
# A tampered file is refused before anything runs (exit 3), as for every command.
cp build/tiny/tiny.weights "$T/tampered.weights"
printf x | dd of="$T/tampered.weights" bs=1 seek=5000 conv=notrunc 2>/dev/null
expect_fail "audit/tampered-weights" 3 'refusing' build/tiny/tiny audit --weights "$T/tampered.weights"

# An edited record: a changed output is named; a spec text that is not the hashed one is refused.
sed 's/"greedy": \[\([0-9]*\),/"greedy": [9\1,/' "$rec" >"$T/edited.json"
expect_fail "audit/edited-output" 5 'outputs.prompts\[0\].greedy differs' \
    build/tiny/tiny audit --check "$T/edited.json" --weights build/tiny/tiny.weights
sed 's/vocab = 1000/vocab = 1001/' "$rec" >"$T/edited-spec.json"
expect_fail "audit/edited-spec-text" 2 'spec.text does not match spec.sha256' \
    build/tiny/tiny audit --check "$T/edited-spec.json" --weights build/tiny/tiny.weights

# Usage and bad records.
expect_fail "audit/usage/no-weights" 2 'weights FILE is required' build/tiny/tiny audit
expect_fail "audit/usage/seed-with-check" 2 'uses the record' \
    build/tiny/tiny audit --check "$rec" --seed 3 --weights build/tiny/tiny.weights
expect_fail "audit/record/missing" 4 'No such file' build/tiny/tiny audit --check "$T/nonexistent" --weights build/tiny/tiny.weights
printf '{"deepfreeze_audit": 3,' >"$T/broken.json"
expect_fail "audit/record/not-json" 2 'not an audit record: not JSON' \
    build/tiny/tiny audit --check "$T/broken.json" --weights build/tiny/tiny.weights
# Any JSON layout of the same record checks (here lua-cjson's: one line, keys reordered, "\/").
reencode() { lua5.4 -e "local c = require('cjson'); local r = c.decode(io.open('$rec'):read('a')); $1
                        io.open('$2', 'w'):write(c.encode(r))"; }
reencode "" "$T/reencoded.json"
check "audit/record/any-json-layout" build/tiny/tiny audit --check "$T/reencoded.json" --weights build/tiny/tiny.weights
reencode "r.weights = nil" "$T/noweights.json"
expect_fail "audit/record/missing-field" 2 'weights.root_sha256: missing' \
    build/tiny/tiny audit --check "$T/noweights.json" --weights build/tiny/tiny.weights
# gemms is informational: another GPU's algorithms do not fail a check whose outputs agree
reencode "r.gemms = 'FP8 7168x2048: cand 0/4 algo 1'" "$T/gemms.json"
check "audit/record/gemms-informational" build/tiny/tiny audit --check "$T/gemms.json" --weights build/tiny/tiny.weights
reencode "r.deepfreeze_audit = 2; r.gemms = nil" "$T/format2.json"
expect_fail "audit/record/format-2-refused" 2 'deepfreeze_audit' \
    build/tiny/tiny audit --check "$T/format2.json" --weights build/tiny/tiny.weights

# The record reader under libFuzzer (ASan/UBSan), seeded with this run's record.
mkdir -p "$T/corpus_fuzz_audit" && cp "$rec" "$T/corpus_fuzz_audit/"
check "fuzz/fuzz_audit-${FUZZ_SECONDS:-10}s" build/fuzz/fuzz_audit -max_total_time="${FUZZ_SECONDS:-10}" "$T/corpus_fuzz_audit"
