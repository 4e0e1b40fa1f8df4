# invariance.sh: batch, thread and chunk invariance on random prompts
# (docs/numerics.md). conformance.sh checks the fixtures' prompts; here each
# run draws new ones, so over many CI runs the property is checked on many
# lengths, ids and batch positions. The seed is printed; DF_TEST_SEED=S
# repeats a run. Every comparison is bit for bit (cmp of the logits files).
# Sourced by tests/run.sh after conformance.sh, whose 4-token-chunk build of
# tiny ($T/chunk4/tiny) it reuses.
seed=${DF_TEST_SEED:-$(od -An -tu4 -N4 /dev/urandom | tr -d ' ')}
echo "invariance: random prompts from seed $seed (DF_TEST_SEED=$seed repeats this run)"
N=6        # tokens generated per prompt
P=4        # prompts: the reference models' max batch
for m in $REF_MODELS; do
    bin=build/$m/$m wts=build/$m/$m.weights
    vocab=$(sed -n 's/.*"vocab_size": *\([0-9]*\).*/\1/p' tests/fixtures/$m/hf/config.json)
    # P prompts of 1 to 60 ids below the vocab, one per line.
    awk -v seed="$seed" -v m="$m" -v vocab="$vocab" -v p=$P 'BEGIN {
        srand(seed + length(m)); for (i = 0; i < p; i++) {
            n = 1 + int(rand() * 60); line = ""
            for (t = 0; t < n; t++) line = line (t ? "," : "") int(rand() * vocab)
            print line } }' >"$T/$m.random"
    if ! $bin --weights $wts --batch-file "$T/$m.random" -n $N --logits "$T/$m.rb" 2>"$T/err"; then
        fail "invariance/$m/random-run" "$(cat "$T/err")"
        continue
    fi
    row_bytes=$((vocab * 4 * N))
    same=0
    for i in $(seq 1 $P); do
        $bin --weights $wts --ids "$(sed -n "${i}p" "$T/$m.random")" -n $N --logits "$T/$m.ralone"
        cmp -s -n $row_bytes "$T/$m.ralone" "$T/$m.rb" 0 $(((i - 1) * row_bytes)) && same=$((same + 1))
    done
    check "invariance/$m/random-alone-equals-batch" test $same -eq $P
    # The same prompts in reverse order: each sequence in another slot, next to other sequences.
    sed '1!G;h;$!d' "$T/$m.random" >"$T/$m.reversed"
    $bin --weights $wts --batch-file "$T/$m.reversed" -n $N --threads 2 --logits "$T/$m.rrev"
    same=0
    for i in $(seq 1 $P); do
        cmp -s -n $row_bytes "$T/$m.rrev" "$T/$m.rb" $(((P - i) * row_bytes)) $(((i - 1) * row_bytes)) && same=$((same + 1))
    done
    check "invariance/$m/random-reversed-2threads-equals-batch" test $same -eq $P
done
if [ -x "$T/chunk4/tiny" ]; then
    "$T/chunk4/tiny" --weights build/tiny/tiny.weights --batch-file "$T/tiny.random" -n $N --logits "$T/tiny.rchunk"
    check "invariance/tiny/random-chunked-prefill-equals-one-step" cmp "$T/tiny.rchunk" "$T/tiny.rb"
else
    fail "invariance/tiny/random-chunked-prefill-equals-one-step" "no $T/chunk4/tiny (built by tests/conformance.sh)"
fi
