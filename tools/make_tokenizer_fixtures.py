#!/usr/bin/env python3
"""make_tokenizer_fixtures.py: the tokenizer fixtures of tests/tokenizer/ (development only).

Hugging Face `tokenizers` (the Rust tokenizer, PyPI) encodes and decodes a corpus written here;
`transformers` renders the chat template. Nothing at build, run or test time needs Python:
the outputs are committed and tests/tokenizer/ compares the C tokenizer with them.

    python3 -m venv .venv && .venv/bin/pip install tokenizers transformers jinja2
    .venv/bin/python tools/make_tokenizer_fixtures.py            # writes tests/tokenizer/*.jsonl
    .venv/bin/python tools/make_tokenizer_fixtures.py --stress N --binary build/tiny/tiny
                                   # N random strings and every code point, C vs HF (not committed)
    .venv/bin/python tools/make_tokenizer_fixtures.py --bench build/tiny/tiny
                                   # encode speed: HF tokenizers and the binary, same text

Files (tests/tokenizer/):
  corpus.jsonl    {"id", "text"}: the cases (also the input of `tokenize --jsonl`)
  expected.jsonl  {"id", "ids"}: HF's ids, no BOS: exactly what `tokenize --jsonl` prints
  bos.jsonl       {"id", "text", "ids"}: with BOS, as transformers' LlamaTokenizerFast encodes
  chat.jsonl      {"id", "messages", "add_generation_prompt", "text", "ids"}: apply_chat_template
  decode.jsonl    {"id", "ids", "text"}: HF decode of id sequences, partial characters included
  sweep.jsonl, sweep_expected.jsonl: probes around every boundary of the Unicode classes
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "tests", "tokenizer")
TOKDIR = os.path.join(ROOT, "tokenizers", "deepseek-v3")
UCD = "/usr/share/unicode"


def load_tokenizer_json():
    import lzma
    with lzma.open(os.path.join(TOKDIR, "tokenizer.json.xz"), "rb") as f:
        return f.read()


def dump(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# ---- the corpus -----------------------------------------------------------------------------

PROSE = (
    "The quick brown fox jumps over the lazy dog. It wasn't the first time; the dog, "
    "being lazy, didn't mind. \"Well,\" said the fox, \"I'll be on my way then!\"\n\n"
    "In 1969, Apollo 11 landed on the Moon -- a distance of roughly 384,400 km (238,855 mi). "
    "Neil Armstrong's words, \"That's one small step for [a] man,\" were heard by ~600 million people.\n"
)

CODE = {
    "python": 'def fib(n: int) -> int:\n    """Return the n-th Fibonacci number."""\n    a, b = 0, 1\n'
              '    for _ in range(n):\n        a, b = b, a + b\n    return a\n\nprint(f"{fib(30):,}")\n',
    "c": '#include <stdio.h>\n\nint main(int argc, char **argv)\n{\n\tfor (int i = 0; i < argc; i++)\n'
         '\t\tprintf("%d: %s\\n", i, argv[i]);\n\treturn 0;\n}\n',
    "javascript": "const sum = (xs) => xs.reduce((a, b) => a + b, 0);\n"
                  "console.log(`total: ${sum([1, 2, 3])}`); // 6\nif (x !== null && y?.z) { await fetch('/api'); }\n",
    "rust": "fn main() {\n    let v: Vec<u32> = (1..=10).map(|x| x * x).collect();\n"
            "    println!(\"{:?}\", v);\n    let s = &v[..3];\n}\n",
    "go": "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tch := make(chan int)\n\tgo func() { ch <- 42 }()\n"
          "\tfmt.Println(<-ch)\n}\n",
    "html": '<!DOCTYPE html>\n<html lang="en">\n  <head><meta charset="utf-8"><title>Test &amp; more</title></head>\n'
            '  <body><p class="x">Hello&nbsp;<b>world</b></p></body>\n</html>\n',
    "sql": "SELECT u.id, COUNT(*) AS n\nFROM users u JOIN orders o ON o.user_id = u.id\n"
           "WHERE o.created_at >= '2024-01-01'\nGROUP BY u.id HAVING COUNT(*) > 5;\n",
    "shell": "#!/bin/sh\nset -eu\nfor f in *.txt; do\n  wc -l \"$f\" | awk '{print $1}' >> out.log 2>&1\ndone\n"
             "echo \"${HOME:-/root}\" && ls -la ~/ | grep -E '^d' || true\n",
    "json": '{"name": "deepfreeze", "version": "0.1.0", "tags": ["llm", "c"], "nested": {"a": [1, 2.5, -3e-4, null, true]}}',
    "lua": "local function map(t, f)\n  local r = {}\n  for i, v in ipairs(t) do r[i] = f(v) end\n  return r\nend\n"
           "-- comment\nprint(#map({1, 2, 3}, function(x) return x ^ 2 end))\n",
    "latex": "\\begin{equation}\n  E = mc^2 \\quad \\forall x \\in \\mathbb{R}: \\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2}\n\\end{equation}\n",
    "diff": "--- a/main.c\n+++ b/main.c\n@@ -1,3 +1,4 @@\n #include <stdio.h>\n+#include <stdlib.h>\n \n-int x;\n+static int x = 0;\n",
    "windows_crlf": "line one\r\nline two\r\n\r\nint main() {\r\n    return 0;\r\n}\r\n",
}

LANGS = {
    "chinese": "深度求索（DeepSeek）是一家专注于人工智能基础技术研究的公司。我们的模型在2024年发布，参数量为6710亿。",
    "chinese_mixed": "在Python中，使用print()函数输出“你好，世界！”。版本3.12已经发布了。",
    "chinese_ext": "𠀀𠀁𪚥 龦龧 鿿 㐀㐁 中文繁體與简体",
    "japanese": "東京は日本の首都です。ひらがな、カタカナ、漢字を使います。コンピューター・サイエンス！",
    "japanese_halfwidth": "ｶﾀｶﾅ ﾃｽﾄ、「かぎかっこ」と『二重かぎ』。ゟ ヿ ゠",
    "korean": "안녕하세요! 한국어 텍스트입니다. 대한민국의 수도는 서울입니다 (2024년 기준).",
    "cyrillic": "Съешь же ещё этих мягких французских булок, да выпей чаю. Ёлка — 123 руб.",
    "arabic": "مرحبا بالعالم! هذا نص عربي مع أرقام ١٢٣٤٥ وتشكيل: كَتَبَ الطَّالِبُ الدَّرْسَ.",
    "hebrew": "שָׁלוֹם עוֹלָם! זהו טקסט בעברית.",
    "hindi": "नमस्ते दुनिया! हिन्दी में लिखा गया पाठ। क्षत्रिय ज्ञान",
    "thai": "สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่างระหว่างคำ",
    "greek": "Γειά σου Κόσμε! Η ελληνική γλώσσα — αβγδε ΑΒΓΔΕ ά έ ή",
    "vietnamese": "Tiếng Việt có dấu: Xin chào thế giới! Đường phố Hà Nội.",
    "armenian_georgian": "Բարեւ աշխարհ ქართული ენა",
    "tamil_bengali": "வணக்கம் உலகம் বাংলা ভাষা",
    "ethiopic_cherokee": "ሰላም ልዑል ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ",
    "mongolian": "ᠮᠣᠩᠭᠣᠯ ᠪᠢᠴᠢᠭ",
}

COMBINING = {
    "decomposed": "e\u0301te\u0301 cafe\u0301 na\u0131\u0308ve A\u030a",
    "stacked": "a\u0308\u0304\u0301 o\u0323\u0302 Z\u0351\u0357\u0306a\u0310\u036al\u0313g\u0352o\u0308",
    "mark_first": "\u0301abc \u0301 \u0301\u0302 x \u0300y",
    "mark_after_space": " \u0301a \u0301 1\u0301 !\u0301 \n\u0301",
    "mark_after_digit": "1\u0301 22\u0308 333\u0301x",
    "variation": "\u2764\ufe0f \u263a\ufe0e \u845b\U000e0100",
    "zero_width": "a\u200bb\u200cc\u200dd\u2060e\ufeff f",
}

EMOJI = {
    "simple": "I love pizza 🍕 and tacos 🌮! 😀😃😄",
    "skin_tones": "👍🏽 👋🏿 🧑🏻‍💻",
    "zwj_family": "👨‍👩‍👧‍👦 👩‍❤️‍💋‍👨 🏳️‍🌈 🏴‍☠️",
    "flags": "🇯🇵🇺🇸🇩🇪 🇫🇷 🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "keycaps": "1️⃣ #️⃣ *️⃣",
    "mixed_text": "Launch 🚀 in 3…2…1! 🎉🎉🎉",
}

SPECIAL = {
    "bos_start": "<｜begin▁of▁sentence｜>Hello",
    "user_assistant": "Hi<｜User｜>there<｜Assistant｜>ok<｜end▁of▁sentence｜>",
    "eot_ascii": "a<|EOT|>b <|EOT|> <|EOT",
    "partial": "<｜User <｜User｜ ｜User｜> <｜Use r｜>",
    "nested": "<<｜User｜>> <｜<｜User｜>｜>",
    "placeholder": "<｜place▁holder▁no▁42｜><｜place▁holder▁no▁799｜><｜place▁holder▁no▁800｜>",
    "adjacent": "<｜fim▁begin｜><｜fim▁hole｜><｜fim▁end｜><｜▁pad▁｜>",
    "tools": "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
    "spaces_around": "  <｜User｜>  x  <｜Assistant｜>\n\n",
    "in_code": 'print("<｜end▁of▁sentence｜>")  # stop',
}


def whitespace_cases():
    ws = {
        "one_space": " ", "two_spaces": "  ", "newline": "\n", "newlines": "\n\n\n", "tab": "\t",
        "crlf": "\r\n", "cr": "\r", "crlf_run": "\r\n\r\n\r\n", "space_newline_space": " \n ",
        "a_2sp_b": "a  b", "a_3sp_b": "a   b", "a_tab_b": "a\tb", "tabs_x": "\t\tx", "x_nl_y": "x \n y",
        "trailing": "abc   ", "leading": "   abc", "lead_trail_nl": "\n\n  abc  \n\n",
        "mixed": "  \n\n  \t \r\n x", "cr_lf_mix": "a\r\rb\n\rc\r\n\nd",
        "spaces_before_punct": "a   !b  ?? c", "space_punct_newline": "x !!\n\ny ?\r\n",
        "unicode_spaces": "a\u3000b\u00a0c\u2003d\u2009e\u202ff\u205fg\u1680h",
        "nel_ls_ps": "a\u0085b\u2028c\u2029d \u0085 e",
        "vt_ff": "a\x0bb\x0cc \x0b\x0c d",
        "ws_before_cjk": "x   日本", "ws_before_digits": "x   123 4",
        "only_ws_mix": " \t\u3000\n \u00a0\r\n\t ",
        "spaces_then_newline": "a    \n    b",
        "ideographic_space_letters": "\u3000abc\u3000\u3000def",
    }
    for n in range(1, 9):
        ws[f"spaces_{n}_x"] = " " * n + "x"
        ws[f"x_spaces_{n}"] = "x" + " " * n
        ws[f"newlines_{n}_x"] = "\n" * n + "x"
    return ws


def number_cases():
    nums = {}
    for n in range(1, 13):
        nums[f"digits_{n}"] = "123456789012"[:n]
        nums[f"digits_{n}_in_text"] = "x" + "987654321098"[:n] + "y"
    nums.update({
        "pi": "3.14159265358979", "thousands": "1,234,567", "underscores": "1_000_000", "negative": "-42 +7",
        "exp": "1e10 6.02e23 1E-9", "hex": "0x1F 0xdeadBEEF", "date": "2024-01-15T12:30:45Z",
        "money": "$1,299.99 €5 ¥100 £3.50", "percent": "50% 99.9%", "phone": "+1 (555) 123-4567",
        "version": "v1.2.3-rc.4", "ip": "192.168.0.1:8080",
        "arabic_indic": "١٢٣٤٥٦٧", "devanagari_digits": "१२३४", "fullwidth": "１２３４５",
        "superscripts": "x²³ 10⁻⁶ H₂O", "fractions": "½ ¼ ¾ 1½", "roman": "Ⅻ ⅻ Ⅳ", "circled": "①②③ ⑴",
        "digits_letters": "abc123def4567ghi", "long_digits": "1" * 100, "digit_space_digit": "1 2 3  4",
    })
    return nums


def punct_cases():
    p = {}
    for c in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~":
        p[f"punct_{ord(c):02x}_word"] = c + "word"
        p[f"punct_{ord(c):02x}_Space"] = " " + c + "Word"
    p.update({
        "contractions": "don't can't I'll we're it's O'Brien 's 'll",
        "brackets": "(hello) [test] {key} <tag>", "quotes": "\"quoted\" 'single' `code`",
        "symbols": "#hashtag @user $var %d &amp; *bold* _under_ ~tilde",
        "dots": "a.b.c e.g. i.e. ... ....", "path": "/usr/local/bin:/foo/bar.baz",
        "runs": "!!!wow ?!? --> <== ::", "unicode_punct": "—dash «guillemets» ¿Qué? ¡Hola! “curly” ‘single’ …",
        "cjk_punct": "「こんにちは」、『世界』。【注】〜",
        "math": "∀x∈ℝ: x²≥0 ⇒ √x ∈ ℝ ∑∏∫ ≠ ≤ ≥ ± × ÷",
        "currency_symbols": "¢£¤¥₩₹₽₿",
        "punct_newlines": "end.\n\nNext!\r\n\r\n?",
        "punct_then_nonascii": "'é \"ü (ñ -ж",
        "url": "https://example.com/path?q=1&r=two#frag",
        "email": "first.last+tag@example.co.uk",
    })
    return p


def long_cases():
    return {
        "a_1000": "a" * 1000,
        "word_repeat": "supercalifragilisticexpialidocious" * 20,
        "spaces_500": " " * 500,
        "space_500_x": " " * 500 + "x",
        "newlines_300": "\n" * 300,
        "punct_300": "!" * 300,
        "cjk_400": "漢字テスト" * 80,
        "hangul_300": "가나다라마" * 60,
        "base64": "QmFzZTY0IGVuY29kZWQgdGV4dCB3aXRoIG5vIHNwYWNlcyBhdCBhbGwg" * 8,
        "long_url": "https://example.com/" + "/".join(f"segment{i}" for i in range(60)),
        "long_mixed_word": "abc漢def字ghi" * 40,
        "emoji_run": "😀" * 200,
        "combining_run": "a" + "\u0301" * 300,
        "dashes": "-" * 200 + "\n" + "=" * 200,
    }


def control_cases():
    return {
        "nul": "\x00", "nul_inside": "a\x00b", "controls": "\x01\x02\x03 \x1b[31mred\x1b[0m \x7f",
        "c1": "\x80\x81\x9f a\x9fb", "private_use": "\ue000\uf8ff \U000f0000",
        "noncharacters": "\ufdd0 \ufffe \uffff \U0010ffff", "unassigned": "\u0378 \U000e0080",
        "bom": "\ufeffhello", "replacement": "\ufffd bad",
        "surrogate_neighbours": "\ud7ff\ue000",
    }


def mixed_text(rng, n_bytes):
    parts = [PROSE] + list(CODE.values()) + list(LANGS.values()) + list(EMOJI.values()) + \
        list(COMBINING.values()) + list(number_cases().values())[:30] + list(SPECIAL.values())
    out, size = [], 0
    while size < n_bytes:
        p = rng.choice(parts)
        sep = rng.choice(["\n", " ", "\n\n", "", "\t", "\r\n", "  "])
        out.append(p + sep)
        size += len((p + sep).encode())
    return "".join(out)


# Characters the random cases are made of: every class the regexes look at.
POOL = (list("aZ xX09\n\r\t !.,'\"-_(){}#@") + ["  ", "\r\n", "\n\n", "ab", "123", "1234"] +
        list("é\u0301\u0308\u3000\u00a0\u0085\u2028ßΩжש٣١²½Ⅻ①") +
        list("日本語漢字ひらがなカタカナー・゛ヿ゠ゟ龥龦丂") + list("한국어") + ["😀", "👍🏽", "👨‍👩‍👧", "🇯🇵"] +
        list("\u200b\u200d\ufe0f\x00\x7f\ufeff€$+=<>|~^`") +
        ["<｜User｜>", "<｜begin▁of▁sentence｜>", "<|EOT|>", "<｜"])


def random_cases(rng, n, max_len):
    return {f"random_{i:04d}": "".join(rng.choice(POOL) for _ in range(rng.randint(1, max_len))) for i in range(n)}


def corpus(rng):
    cases = {"empty": "", "prose": PROSE}
    for group, d in [("ws", whitespace_cases()), ("num", number_cases()), ("punct", punct_cases()),
                     ("code", CODE), ("lang", LANGS), ("mark", COMBINING), ("emoji", EMOJI),
                     ("special", SPECIAL), ("long", long_cases()), ("ctrl", control_cases())]:
        for k, v in d.items():
            cases[f"{group}/{k}"] = v
    cases["mixed_4k"] = mixed_text(rng, 4096)
    cases.update(random_cases(rng, 600, 24))
    return cases


# ---- Unicode: Debian's UCD classes and the sweep --------------------------------------------

def ucd_classes():
    """The class of every code point per Debian's unicode-data, as runtime/tokenizer_unicode.c has it."""
    cls = bytearray(0x110000)
    group = {"L": 1, "M": 2, "N": 3, "P": 4, "S": 5}
    first = None
    with open(os.path.join(UCD, "UnicodeData.txt"), encoding="utf-8") as f:
        for line in f:
            fields = line.split(";")
            cp, name, cat = int(fields[0], 16), fields[1], fields[2]
            if name.endswith(", First>"):
                first = cp
                continue
            lo = first if first is not None else cp
            first = None
            for c in range(lo, cp + 1):
                cls[c] = group.get(cat[0], 0)
    with open(os.path.join(UCD, "PropList.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.split("#")[0].strip()
            if not line:
                continue
            rng, prop = [x.strip() for x in line.split(";")]
            if prop == "White_Space":
                lo, _, hi = rng.partition("..")
                for c in range(int(lo, 16), int(hi or lo, 16) + 1):
                    cls[c] |= 8
    return cls


def cjk(c):
    return 0x4E00 <= c <= 0x9FA5 or 0x3040 <= c <= 0x309F or 0x30A0 <= c <= 0x30FF


def hf_classes(tok, cps):
    """The class HF's pre-tokenizer gives each code point, read off how probes split."""
    pre = tok.pre_tokenizer

    def one(s):
        return len(pre.pre_tokenize_str(s)) == 1

    out = {}
    for c in cps:
        ch = chr(c)
        if c in (0x0A, 0x0D):  # named in the pattern, not a Unicode class
            out[c] = "CRLF"
            continue
        if cjk(c):
            sig = (one("ア" + ch), one("・" + ch), one(ch + "ア"), None)
            table = {(True, False, True, None): "LM", (False, True, False, None): "PS", (False, False, True, None): "O"}
        else:  # non-ASCII neighbours: no [ASCII punctuation][A-Za-z]+ match
            sig = (one("é" + ch), one("¡" + ch), one(ch + "é"), one(ch + "\n"))
            table = {(True, False, True, False): "LM", (False, False, False, False): "N",
                     (False, True, False, True): "PS", (False, False, True, True): "WS",
                     (False, False, False, True): "CRLF", (False, False, True, False): "O"}
        out[c] = table.get(sig, "?%s" % (sig,))
    return out


def ucd_name(v, c):
    g = v & 7
    if c in (0x0A, 0x0D):
        return "CRLF"
    if v & 8:
        return "WS"
    return {0: "O", 1: "LM", 2: "LM", 3: "N", 4: "PS", 5: "PS"}[g]


def sweep_probe(c):
    ch = chr(c)
    if cjk(c):
        return "ア" + ch + "・" + ch + " " + ch + "ア" + ch + ch
    return "a" + ch + "!" + ch + "é" + ch + "\n1" + ch + ch


def sweep_cases(tok, cls, rng):
    """Code points at every boundary of Debian's class table, and some at random; those whose
    class HF (Oniguruma, a newer Unicode) sees otherwise are left out and listed."""
    bounds = set()
    for c in range(1, 0x110000):
        if cls[c] != cls[c - 1] or cjk(c) != cjk(c - 1):
            bounds.update((c - 1, c))
    picks = set(range(0x100)) | set(rng.sample(sorted(bounds), 450))
    picks.update(rng.randrange(0x110000) for _ in range(60))
    picks = sorted(c for c in picks if not 0xD800 <= c <= 0xDFFF)
    hf = hf_classes(tok, picks)
    keep, differ = [], []
    for c in picks:
        (keep if hf[c] == ucd_name(cls[c], c) else differ).append(c)
    return {f"U+{c:04X}": sweep_probe(c) for c in keep}, differ


def full_sweep(tok, cls):
    all_cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    hf = hf_classes(tok, all_cps)
    return [c for c in all_cps if hf[c] != ucd_name(cls[c], c)]


# ---- chat and decode fixtures ---------------------------------------------------------------

CONVERSATIONS = [
    ("user_only", [{"role": "user", "content": "Hello!"}], True),
    ("user_only_no_gen", [{"role": "user", "content": "Hello!"}], False),
    ("system_user", [{"role": "system", "content": "You are a helpful assistant."},
                     {"role": "user", "content": "What is 2+2?"}], True),
    ("two_systems", [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                     {"role": "system", "content": "Answer in French."}], True),
    ("multi_turn", [{"role": "system", "content": "S"}, {"role": "user", "content": "Q1"},
                    {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"}], True),
    ("assistant_last", [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}], False),
    ("tool_outputs", [{"role": "user", "content": "Weather?"}, {"role": "tool", "content": "{\"t\": 21}"},
                      {"role": "tool", "content": "sunny"}], True),
    ("tool_then_assistant", [{"role": "user", "content": "Weather?"}, {"role": "tool", "content": "21C"},
                             {"role": "assistant", "content": "It is 21C."}, {"role": "user", "content": "And tomorrow?"},
                             {"role": "tool", "content": "19C"}, {"role": "assistant", "content": "19C."}], True),
    ("unicode", [{"role": "system", "content": "你是一个有用的助手。"},
                 {"role": "user", "content": "日本語で答えて 🙂\nありがとう"}], True),
    ("empty_content", [{"role": "user", "content": ""}], True),
    ("whitespace", [{"role": "user", "content": "  leading and trailing  \n\n"}], True),
    ("special_inside", [{"role": "user", "content": "say <｜Assistant｜> literally"}], True),
    ("unknown_role", [{"role": "user", "content": "a"}, {"role": "narrator", "content": "ignored"}], True),
    ("no_messages_system", [{"role": "system", "content": "only system"}], True),
]


def decode_cases(tok, rng, n_vocab):
    cases = {
        "empty": [], "bos_eos": [0, 1], "specials": [0, 128803, 19923, 128804, 1], "pad": [2, 2],
        "unknown_ids": [19923, 128900, 129279, 2058], "byte_tokens": [191, 192, 223, 3, 222],
    }
    byte_of = {}
    vocab = tok.get_vocab()
    for t, i in vocab.items():
        bs = bytes_of_token(t)
        if bs is not None and len(bs) == 1:
            byte_of[bs[0]] = i
    # one character split across tokens, cut at every byte, and broken sequences
    for name, raw in [("split_2byte", "é".encode()), ("split_3byte", "語".encode()),
                      ("split_4byte", "😀".encode()), ("lone_lead", b"\xe4"), ("lone_cont", b"\x80\x80"),
                      ("truncated_then_ascii", b"\xe6\x97a"), ("overlong", b"\xc0\xaf"), ("surrogate", b"\xed\xa0\x80"),
                      ("too_big", b"\xf4\x90\x80\x80"), ("f5", b"\xf5\x80"), ("mixed_bad", b"a\xffb\xe2\x82c\xf0\x9f\x98")]:
        cases[name] = [byte_of[b] for b in raw]
    ids = list(range(n_vocab))
    for i in range(60):
        cases[f"random_{i:02d}"] = [rng.choice(ids) for _ in range(rng.randint(1, 12))]
    for i in range(30):  # random bytes: mostly broken UTF-8
        cases[f"random_bytes_{i:02d}"] = [byte_of[rng.randrange(256)] for _ in range(rng.randint(1, 10))]
    return cases


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


BYTE_OF_CHAR = bytes_to_unicode()


def bytes_of_token(t):
    try:
        return bytes(BYTE_OF_CHAR[c] for c in t)
    except KeyError:
        return None


# ---- main -----------------------------------------------------------------------------------

def write_jsonl(name, rows):
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(dump(r) + "\n")
    print(f"{path}: {len(rows)} lines, {os.path.getsize(path)} bytes")


def encode_rows(tok, cases):
    encs = tok.encode_batch(list(cases.values()), add_special_tokens=False)
    return [{"id": k, "ids": e.ids} for k, e in zip(cases.keys(), encs)]


def make_fixtures(args):
    from tokenizers import Tokenizer
    import tokenizers
    tok = Tokenizer.from_str(load_tokenizer_json().decode())
    rng = random.Random(20240601)
    os.makedirs(OUT, exist_ok=True)

    cases = corpus(rng)
    for k, v in cases.items():  # round trip holds for every case (valid UTF-8)
        assert tok.decode(tok.encode(v, add_special_tokens=False).ids, skip_special_tokens=False) == v, k
    write_jsonl("corpus.jsonl", [{"id": k, "text": v} for k, v in cases.items()])
    write_jsonl("expected.jsonl", encode_rows(tok, cases))

    cls = ucd_classes()
    sweep, differ = sweep_cases(tok, cls, rng)
    write_jsonl("sweep.jsonl", [{"id": k, "text": v} for k, v in sweep.items()])
    write_jsonl("sweep_expected.jsonl", encode_rows(tok, sweep))
    print(f"sweep: {len(sweep)} code points; {len(differ)} left out where HF's Unicode differs from Debian's:",
          " ".join(f"U+{c:04X}" for c in differ[:20]), "..." if len(differ) > 20 else "")

    # BOS: what transformers' LlamaTokenizerFast does with add_bos_token (transformers 4.x;
    # transformers 5 loads this tokenizer.json as a plain TokenizersBackend, which adds none).
    import transformers
    from transformers import AutoTokenizer
    hf = AutoTokenizer.from_pretrained(TOKDIR_FOR_TRANSFORMERS())
    bos_cases = {k: cases[k] for k in ["empty", "prose", "lang/chinese", "special/bos_start", "ws/lead_trail_nl",
                                       "emoji/zwj_family", "code/python"]}
    rows = []
    adds_bos = hf("x").input_ids[:1] == [0]
    for k, v in bos_cases.items():
        ids = hf(v).input_ids
        if not adds_bos:  # transformers 5: add_bos_token is not applied
            ids = [0] + ids
        assert ids == [0] + tok.encode(v, add_special_tokens=False).ids, k
        rows.append({"id": k, "text": v, "ids": ids})
    write_jsonl("bos.jsonl", rows)

    rows = []
    for name, msgs, gen in CONVERSATIONS:
        text = hf.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen)
        ids = hf.apply_chat_template(msgs, tokenize=True, add_generation_prompt=gen)
        if hasattr(ids, "keys"):
            ids = ids["input_ids"]
        assert ids == tok.encode(text, add_special_tokens=False).ids, name
        rows.append({"id": name, "messages": msgs, "add_generation_prompt": gen, "text": text, "ids": ids})
    write_jsonl("chat.jsonl", rows)

    rows = []
    for name, ids in decode_cases(tok, rng, 129280).items():
        text = tok.decode(ids, skip_special_tokens=False)
        assert text == hf.decode(ids, skip_special_tokens=False), name
        rows.append({"id": name, "ids": ids, "text": text})
    write_jsonl("decode.jsonl", rows)

    with open(os.path.join(OUT, "VERSIONS"), "w") as f:
        f.write(f"tokenizers {tokenizers.__version__}\ntransformers {transformers.__version__}\n"
                f"python {sys.version.split()[0]}\nunicode-data (Debian) {open(os.path.join(UCD, 'PropList.txt')).readline().split('-')[1].rsplit('.', 1)[0]}\n"
                f"sweep: left out {len(differ)} code points whose class differs (HF's Oniguruma has a newer Unicode)\n")


def TOKDIR_FOR_TRANSFORMERS():
    """A directory with tokenizer.json (unpacked from the .xz) and tokenizer_config.json."""
    d = tempfile.mkdtemp()
    with open(os.path.join(d, "tokenizer.json"), "wb") as f:
        f.write(load_tokenizer_json())
    with open(os.path.join(TOKDIR, "tokenizer_config.json"), "rb") as src, \
            open(os.path.join(d, "tokenizer_config.json"), "wb") as dst:
        dst.write(src.read())
    return d


def run_binary_jsonl(binary, texts):
    inp = "".join(dump({"id": i, "text": t}) + "\n" for i, t in enumerate(texts))
    p = subprocess.run([binary, "tokenize", "--jsonl"], input=inp.encode(), capture_output=True, check=True)
    return [json.loads(l)["ids"] for l in p.stdout.decode().splitlines()]


def stress(args):
    """C vs HF on many random strings and on probes of every code point (not committed)."""
    from tokenizers import Tokenizer
    tok = Tokenizer.from_str(load_tokenizer_json().decode())
    rng = random.Random(args.seed)
    bad = 0
    texts = list(random_cases(rng, args.stress, 64).values())
    # random code points too, any plane
    for _ in range(args.stress // 4):
        texts.append("".join(chr(rng.choice([rng.randrange(0x80), rng.randrange(0x800), rng.randrange(0xD800),
                                             rng.randrange(0xE000, 0x110000)])) for _ in range(rng.randint(1, 30))))
    cls = ucd_classes()
    cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    # code points whose class HF sees otherwise (assigned after Debian's Unicode version)
    differ = set(full_sweep(tok, cls))
    if args.full_sweep:
        texts += [sweep_probe(c) for c in cps if c not in differ]
    got = run_binary_jsonl(args.binary, texts)
    want = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    explained = 0
    for t, g, w in zip(texts, got, want):
        if g != w:
            if any(ord(ch) in differ for ch in t):
                explained += 1
                continue
            bad += 1
            if bad <= 10:
                print("MISMATCH", repr(t), "\n  C ", g, "\n  HF", w)
    print(f"stress: {len(texts)} strings, {bad} mismatches; {explained} more with code points that HF's "
          f"newer Unicode classes otherwise ({len(differ)} such: " +
          ", ".join(f"U+{c:04X}" for c in sorted(differ)[:6]) + " ...)")
    return 1 if bad else 0


def bench(args):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_str(load_tokenizer_json().decode())
    rng = random.Random(7)
    text = mixed_text(rng, args.bench_bytes)
    data = text.encode()
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(data)
        path = f.name
    t0 = time.perf_counter()
    hf_ids = tok.encode(text, add_special_tokens=False).ids
    t1 = time.perf_counter()
    with open(path, "rb") as f:
        p = subprocess.run([args.bench, "tokenize"], stdin=f, capture_output=True, check=True)
    c_ids = [int(x) for x in p.stdout.decode().strip().split(",")]
    print(f"{len(data) / 1e6:.2f} MB, HF tokenizers (one call) {len(data) / 1e6 / (t1 - t0):.1f} MB/s; "
          f"ids equal: {c_ids == hf_ids}")
    os.unlink(path)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--stress", type=int, default=0)
    ap.add_argument("--full-sweep", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "tiny", "tiny"))
    ap.add_argument("--bench")
    ap.add_argument("--bench-bytes", type=int, default=4_000_000)
    args = ap.parse_args()
    if args.stress:
        sys.exit(stress(args))
    if args.bench:
        sys.exit(bench(args))
    make_fixtures(args)
