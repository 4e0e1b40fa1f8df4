# tokenizer/run.sh: the embedded DeepSeek-V3 tokenizer (docs/tokenizer.md). The C tokenizer
# against the HF fixtures of this directory (tools/make_tokenizer_fixtures.py), the tokenize and
# detokenize subcommands and --prompt/--chat of a model binary, the generated data and Unicode
# table, a short libFuzzer run. Sourced by tests/run.sh.
tt=build/tokenizer/test_tokenizer
d=tests/tokenizer
bin=build/tiny/tiny
w=build/tiny/tiny.weights

# The C tokenizer against HF tokenizers / transformers.
check "tokenizer/encode-corpus-vs-hf" $tt encode $d/corpus.jsonl $d/expected.jsonl
check "tokenizer/encode-unicode-sweep-vs-hf" $tt encode $d/sweep.jsonl $d/sweep_expected.jsonl
check "tokenizer/bos-vs-transformers" $tt bos $d/bos.jsonl
check "tokenizer/chat-template-vs-transformers" $tt chat $d/chat.jsonl
check "tokenizer/decode-vs-hf" $tt decode $d/decode.jsonl
check "tokenizer/invalid-utf8-refused" $tt invalid
check "tokenizer/bpe-heap-equals-quadratic" $tt bpe
check "tokenizer/streaming-decode" $tt stream

# The model binary's subcommands: the binary alone, in an empty directory, no file read.
mkdir -p "$T/tok_empty"
cp $bin "$T/tok_empty/model"
check "tokenizer/cli-jsonl-vs-hf" sh -c "cd '$T/tok_empty' && env -i ./model tokenize --jsonl < '$PWD/$d/corpus.jsonl' |
    cmp - '$PWD/$d/expected.jsonl'"
check "tokenizer/cli-round-trip" sh -c "$bin tokenize < README.md > '$T/readme.ids' && $bin detokenize < '$T/readme.ids' |
    cmp - README.md"
check "tokenizer/cli-bos" sh -c "printf 'Hello world' | $bin tokenize --bos | grep -qx '0,19923,2058'"
check "tokenizer/cli-chat" sh -c "printf 'Hi!' | $bin tokenize --chat --system 'You are helpful.' |
    grep -qx '0,3476,477,11502,16,128803,23166,3,128804'"
check "tokenizer/cli-empty" sh -c "printf '' | $bin tokenize > '$T/empty.ids' && echo | cmp - '$T/empty.ids' &&
    printf '' | $bin tokenize --bos | grep -qx 0"
check "tokenizer/cli-detokenize-broken-char" sh -c "printf '228, 1,\n 19923' | $bin detokenize |
    cmp - '$d/detok_broken.txt'"
expect_fail "tokenizer/cli-invalid-utf8" 2 "stdin: not valid UTF-8 \\(byte 3\\)" sh -c "printf 'abc\\377' | $bin tokenize"
expect_fail "tokenizer/cli-jsonl-bad-line" 2 "stdin:2: expected ',' or '}'" \
    sh -c "printf '{\"id\":1,\"text\":\"a\"}\\n{\"id\":2 \"text\":\"b\"}\\n' | $bin tokenize --jsonl"
expect_fail "tokenizer/cli-jsonl-lone-surrogate" 2 "stdin:1: lone surrogate" \
    sh -c "printf '{\"id\":1,\"text\":\"\\\\ud800\"}\\n' | $bin tokenize --jsonl"
expect_fail "tokenizer/cli-jsonl-invalid-utf8" 2 "stdin:1: \"text\" is not valid UTF-8 \\(byte 1\\)" \
    sh -c "printf '{\"id\":1,\"text\":\"a\\377\"}\\n' | $bin tokenize --jsonl"
expect_fail "tokenizer/cli-detokenize-bad-id" 2 "token 2: expected a decimal id" sh -c "echo 1,x | $bin detokenize"
expect_fail "tokenizer/cli-detokenize-huge-id" 2 "token 1: expected a decimal id below 2\\^31" \
    sh -c "echo 99999999999 | $bin detokenize"
expect_fail "tokenizer/cli-options" 2 "--system needs --chat" $bin tokenize --system x

# --prompt and --chat. The tiny model's vocabulary is 1000 ids: text whose tokens all lie below
# that runs (BOS + the text's ids, exactly as --ids), anything else is refused, naming the token.
$bin --weights $w --prompt 'he is a man' -n 12 --print-ids > "$T/p.out" 2> "$T/p.err"
$bin --weights $w --ids 0,263,344,260,836 -n 12 --print-ids > "$T/i.out" 2>> "$T/p.err"
p_ids=$(tail -n 1 "$T/p.out")
# --prompt stops at EOS (id 1): its ids are those of --ids up to the first 1
want=$(awk -F, '{ s = $1; for (i = 2; i <= NF && $(i - 1) != 1; i++) s = s "," $i; print s }' "$T/i.out")
check "tokenizer/prompt-ids-equal-ids" [ -n "$want" -a "$p_ids" = "$want" ]
# what it prints: the text of those ids (EOS left out), a newline, then the ids
{ echo "$p_ids" | sed 's/^1$//; s/,1$//' | $bin detokenize; echo; echo "$p_ids"; } > "$T/p.want"
check "tokenizer/prompt-prints-text" cmp "$T/p.want" "$T/p.out"
expect_fail "tokenizer/prompt-outside-vocab" 2 "token 2 is id 19923 \\(\"Hello\"\\), outside this model's vocabulary \\[0, 1000\\)" \
    $bin --weights $w --prompt "Hello world"
expect_fail "tokenizer/chat-outside-vocab" 2 "token 2 is id 128803 \\(\"<｜User｜>\"\\)" $bin --weights $w --prompt hi --chat
expect_fail "tokenizer/prompt-bad-utf8" 2 "--prompt: not valid UTF-8 \\(byte 1\\)" $bin --weights $w --prompt "$(printf 'a\377')"
expect_fail "tokenizer/chat-needs-prompt" 2 "--chat needs --prompt" $bin --weights $w --ids 1 --chat
expect_fail "tokenizer/prompt-and-ids" 2 "exactly one of --ids, --batch-file or --prompt" $bin --weights $w --ids 1 --prompt x

# The generated data: the same bytes from a second run; the committed Unicode table equals a
# fresh one from Debian's unicode-data (when the installed version is the recorded one).
check "tokenizer/data-deterministic" sh -c "lua5.4 gen/tokenizer.lua --json build/tokenizers/deepseek-v3/tokenizer.json \
    --config tokenizers/deepseek-v3/tokenizer_config.json --name deepseek-v3 \
    --sha256 \$(cut -d' ' -f1 tokenizers/deepseek-v3/SHA256SUMS) --out '$T/ds.c' 2>/dev/null &&
    cmp '$T/ds.c' build/tokenizers/deepseek-v3.c"
ucd_version=$(sed -n '1s/^# PropList-\(.*\)\.txt.*/\1/p' /usr/share/unicode/PropList.txt 2>/dev/null)
table_version=$(sed -n 's/^const char df_unicode_version\[\] = "\(.*\)";/\1/p' runtime/tokenizer_unicode.c)
if [ "$ucd_version" = "$table_version" ]; then
    check "tokenizer/unicode-table-current" sh -c "lua5.4 gen/tokenizer_unicode.lua --out '$T/uc' 2>/dev/null &&
        cmp '$T/uc.c' runtime/tokenizer_unicode.c && cmp '$T/uc.h' runtime/tokenizer_unicode.h"
else
    echo "skip tokenizer/unicode-table-current (unicode-data ${ucd_version:-not installed}, table $table_version)"
fi

# A checkpoint's own tokenizer.json: here one whose pre-tokenizer the runtime does not implement.
# The build warns and the binary refuses to tokenize, saying why.
mkdir -p "$T/hf_tok"
cp tests/fixtures/tiny/hf/* "$T/hf_tok/"
lua5.4 -e "local cj = require 'cjson'
    local t = cj.decode(io.open('build/tokenizers/deepseek-v3/tokenizer.json', 'rb'):read('a'))
    t.pre_tokenizer.pretokenizers[1].pattern.Regex = '\\\\p{N}'
    io.open('$T/hf_tok/tokenizer.json', 'wb'):write(cj.encode(t))"
if make -s NAME=tiny HF="$T/hf_tok" OUT="$T/tok_build" >"$T/tok_build.log" 2>&1; then
    check "tokenizer/checkpoint-tokenizer-warned" grep -q "warning: .*pre-tokenizer step 1 is not DeepSeek-V3's" "$T/tok_build.log"
    expect_fail "tokenizer/checkpoint-tokenizer-refused" 2 "cannot be used: pre-tokenizer step 1 is not DeepSeek-V3's" \
        sh -c "echo hi | '$T/tok_build/tiny' tokenize"
else
    fail "tokenizer/checkpoint-tokenizer-build" "$(tail -5 "$T/tok_build.log")"
fi

# libFuzzer over encode/decode/streaming/chat/JSON lines (long runs: docs/tokenizer.md).
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
mkdir -p "$T/corpus_fuzz_tokenizer"
check "fuzz/fuzz_tokenizer-${FUZZ_SECONDS}s" build/fuzz/fuzz_tokenizer -max_total_time=$FUZZ_SECONDS -max_len=4096 \
    "$T/corpus_fuzz_tokenizer" tests/fuzz/corpus/fuzz_tokenizer
