#!/bin/sh
# bench.sh (make bench-tokenizer): encode speed of the embedded tokenizer, one thread, on two
# texts of MB megabytes (default 4) made of the fixture corpus' texts, shuffled: "natural" (prose,
# code, many languages, emoji, numbers, special tokens) and "all" (adding the long runs such as
# 1000 "a" and the random strings, which cost BPE most). Next to HF tokenizers (Rust) on the
# same texts when a Python with `tokenizers` is found ($PYTHON, .venv/bin/python or python3);
# HF's ids are checked equal.
set -eu
cd "$(dirname "$0")/../.."
MB=${MB:-4}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
PY=""
for p in ${PYTHON:-} .venv/bin/python python3; do
    if "$p" -c 'import tokenizers' 2>/dev/null; then PY=$p; break; fi
done
for mix in natural all; do
    build/tokenizer/test_tokenizer mixed tests/tokenizer/corpus.jsonl "$T/$mix.txt" $((MB * 1000000)) $mix
    echo "== $mix text, $MB MB"
    printf 'C, in process:          '
    build/tokenizer/test_tokenizer bench "$T/$mix.txt" 3 | head -n 1
    t0=$(date +%s%N)
    build/tiny/tiny tokenize < "$T/$mix.txt" > "$T/c.ids"
    t1=$(date +%s%N)
    awk -v b="$(wc -c < "$T/$mix.txt")" -v ns=$((t1 - t0)) \
        'BEGIN { printf "C, tiny tokenize:       %.1f MB/s (the whole process: start, stdin, printing the ids)\n", b / 1e6 / (ns / 1e9) }'
    if [ -z "$PY" ]; then
        echo "HF tokenizers:          no Python with the tokenizers package (PYTHON=...)"
        continue
    fi
    RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$PY" - "$T/$mix.txt" "$T/c.ids" <<'PYEOF'
import sys, time
import tokenizers
from tokenizers import Tokenizer
tok = Tokenizer.from_file("build/tokenizers/deepseek-v3/tokenizer.json")
text = open(sys.argv[1], encoding="utf-8", newline="").read()
n = len(text.encode())
t0 = time.perf_counter(); ids = tok.encode(text, add_special_tokens=False).ids; t1 = time.perf_counter()
lines = text.splitlines(keepends=True)
t2 = time.perf_counter(); tok.encode_batch(lines, add_special_tokens=False); t3 = time.perf_counter()
c = [int(x) for x in open(sys.argv[2]).read().split(",")]
print(f"HF tokenizers {tokenizers.__version__}:  {n / 1e6 / (t1 - t0):.1f} MB/s in one call, "
      f"{n / 1e6 / (t3 - t2):.1f} MB/s encode_batch of its lines (one thread); ids equal: {'yes' if c == ids else 'NO'}")
sys.exit(0 if c == ids else 1)
PYEOF
done
