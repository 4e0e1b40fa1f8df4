# cli.sh: the command line contract of a generated binary and its packer:
# usage errors exit 2, refused weights exit 3, I/O errors exit 4, each with a
# message saying why. Sourced by tests/run.sh.
bin=build/tiny/tiny
w=build/tiny/tiny.weights

check "cli/help" $bin --help
expect_fail "cli/no-args" 2 "need --weights" $bin
expect_fail "cli/unknown-option" 2 "unknown option --frobnicate" $bin --weights $w --ids 1 --frobnicate 3
expect_fail "cli/missing-value" 2 "-n needs a value" $bin --weights $w --ids 1 -n
expect_fail "cli/bad-n" 2 "bad value for -n" $bin --weights $w --ids 1 -n 0
expect_fail "cli/bad-temp" 2 "bad value for --temp" $bin --weights $w --ids 1 --temp -1
expect_fail "cli/bad-top-p" 2 "bad value for --top-p" $bin --weights $w --ids 1 --top-p 1.5
expect_fail "cli/bad-threads" 2 "bad value for --threads" $bin --weights $w --ids 1 --threads 0
expect_fail "cli/ids-and-batch" 2 "exactly one of --ids, --batch-file or --prompt" $bin --weights $w --ids 1 --batch-file tests/fixtures/tiny/prompts.txt
expect_fail "cli/ids-empty" 2 "--ids: token 1: expected a decimal id" $bin --weights $w --ids ""
expect_fail "cli/ids-double-comma" 2 "--ids: token 2: expected a decimal id" $bin --weights $w --ids 1,,2
expect_fail "cli/ids-negative" 2 "--ids: token 1: expected a decimal id" $bin --weights $w --ids -1
expect_fail "cli/ids-out-of-vocab" 2 "token 2: id 1000 is outside the vocabulary \\[0, 1000\\)" $bin --weights $w --ids 5,1000
expect_fail "cli/ids-huge" 2 "outside the vocabulary" $bin --weights $w --ids 99999999999999999999999
expect_fail "cli/prompt-outside-vocab" 2 "outside this model's vocabulary \\[0, 1000\\)" $bin --weights $w --prompt hello
printf '1,2\n3\n4\n5\n6\n' > "$T/five.txt"
expect_fail "cli/batch-too-big" 2 "5 prompts, but this binary's max batch is 4" $bin --weights $w --batch-file "$T/five.txt"
printf '1,2\n\n3\n' > "$T/blank.txt"
expect_fail "cli/batch-blank-line" 2 "blank.txt:2: token 1" $bin --weights $w --batch-file "$T/blank.txt"
expect_fail "cli/batch-missing-file" 2 "nope.txt: No such file" $bin --weights $w --batch-file "$T/nope.txt"
# --force-file (teacher forcing): a line of at least N - 1 ids per prompt, ids only.
printf '5,6,7\n' > "$T/force1.txt"
printf '5,6,7\n8,9,10\n' > "$T/force2.txt"
printf '5,1000\n' > "$T/force_oov.txt"
expect_fail "cli/force-lines" 2 "--force-file: 2 lines for 1 prompts" $bin --weights $w --ids 1,2 -n 3 --force-file "$T/force2.txt"
expect_fail "cli/force-short" 2 "--force-file: line 1 has 3 ids; -n 5 needs 4" $bin --weights $w --ids 1,2 -n 5 --force-file "$T/force1.txt"
expect_fail "cli/force-out-of-vocab" 2 "--force-file: .*id 1000 is outside the vocabulary" $bin --weights $w --ids 1,2 -n 3 --force-file "$T/force_oov.txt"
expect_fail "cli/force-missing" 2 "--force-file: .*nope.txt" $bin --weights $w --ids 1,2 -n 3 --force-file "$T/nope.txt"
expect_fail "cli/force-with-text" 2 "--force-file takes token ids" $bin --weights $w --prompt hi --force-file "$T/force1.txt"
# Forcing the model's own greedy continuation changes nothing; forcing another one changes the
# rows after the first forced token only.
check "cli/force-own-continuation" sh -c "$bin --weights $w --ids 1,2,3 -n 4 --print-ids --logits '$T/free.bin' >'$T/free.ids' &&
    $bin --weights $w --ids 1,2,3 -n 4 --force-file '$T/free.ids' --logits '$T/forced.bin' >/dev/null && cmp '$T/free.bin' '$T/forced.bin'"
check "cli/force-other-continuation" sh -c "$bin --weights $w --ids 1,2,3 -n 4 --force-file '$T/force1.txt' --logits '$T/other.bin' >/dev/null &&
    cmp -n 4000 '$T/free.bin' '$T/other.bin' && ! cmp -s '$T/free.bin' '$T/other.bin'"
long=$(seq -s, 1 250)
expect_fail "cli/too-long" 2 "prompt 1: 250 tokens \\+ 10 to generate exceed the max context of 256" $bin --weights $w --ids "$long" -n 10
check "cli/fits-exactly" $bin --weights $w --ids "$long" -n 6
check "cli/sampling-seeded" sh -c "$bin --weights $w --ids 1,2,3 -n 8 --temp 0.8 --top-p 0.9 --top-k 50 --seed 7 --print-ids >'$T/s1' &&
    $bin --weights $w --ids 1,2,3 -n 8 --temp 0.8 --top-p 0.9 --top-k 50 --seed 7 --print-ids >'$T/s2' && cmp '$T/s1' '$T/s2'"
check "cli/top-k-1-is-greedy" sh -c "$bin --weights $w --ids 1,2,3 -n 8 --temp 0.8 --top-k 1 --seed 3 --print-ids >'$T/k1' &&
    $bin --weights $w --ids 1,2,3 -n 8 --print-ids >'$T/g' && cmp '$T/k1' '$T/g'"

# Weights that are not this binary's.
expect_fail "weights/missing-file" 4 "nope.weights" $bin --weights "$T/nope.weights" --ids 1
expect_fail "weights/other-model" 3 "packed for model 'v2_lite'" $bin --weights build/v2_lite/v2_lite.weights --ids 1
head -c 100000 $w > "$T/trunc.weights"
expect_fail "weights/truncated" 3 "truncated" $bin --weights "$T/trunc.weights" --ids 1
{ cat $w; printf 'x'; } > "$T/long.weights"
expect_fail "weights/extended" 3 "extra bytes" $bin --weights "$T/long.weights" --ids 1
head -c 8192 /dev/urandom > "$T/random.weights"
expect_fail "weights/not-weights" 3 "not a deepfreeze weights file" $bin --weights "$T/random.weights" --ids 1
: > "$T/empty.weights"
expect_fail "weights/empty" 3 "empty.weights" $bin --weights "$T/empty.weights" --ids 1

# Same model name, another layout: tiny with f32 weights. Its own binary
# computes the same bits as the bf16 one (bf16 -> f32 is exact); the bf16
# binary refuses its file.
lua5.4 -e "local s = io.open('specs/tiny.lua'):read('a'):gsub('weights = \"bf16\"', 'weights = \"f32\"')
           io.open('$T/tiny_f32.lua', 'w'):write(s)"
if make -s NAME=tiny SPEC="$T/tiny_f32.lua" HF=tests/fixtures/tiny/hf OUT="$T/f32" >"$T/f32.log" 2>&1; then
    expect_fail "weights/other-layout" 3 "different tensor layout" $bin --weights "$T/f32/tiny.weights" --ids 1
    "$T/f32/tiny" --weights "$T/f32/tiny.weights" --batch-file tests/fixtures/tiny/prompts.txt -n 4 --logits "$T/f32.logits"
    $bin --weights $w --batch-file tests/fixtures/tiny/prompts.txt -n 4 --logits "$T/bf16.logits"
    check "weights/f32-copy-computes-same-bits" cmp "$T/f32.logits" "$T/bf16.logits"
else
    fail "weights/other-layout" "could not build the f32 variant"
fi

# The packer refuses a checkpoint of another architecture, writing nothing.
expect_fail "pack/wrong-checkpoint" 3 "q_a_proj" build/tiny/tiny-pack --hf tests/fixtures/v2_lite/hf --out "$T/x.weights"
check "pack/nothing-written" test ! -e "$T/x.weights" -a ! -e "$T/x.weights.tmp"
expect_fail "pack/usage" 2 "usage" build/tiny/tiny-pack --hf tests/fixtures/tiny/hf
