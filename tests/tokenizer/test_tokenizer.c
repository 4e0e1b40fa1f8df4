/* test_tokenizer.c: the embedded tokenizer against the HF fixtures of
 * tests/tokenizer/ (tools/make_tokenizer_fixtures.py), plus properties that
 * need no fixture. One mode per run; prints what failed, exits 0 or 1.
 *
 *   test_tokenizer encode CORPUS EXPECTED   ids equal HF's; decode(encode(x)) == x, streamed too
 *   test_tokenizer bos FILE                 BOS + text, as transformers encodes it
 *   test_tokenizer chat FILE                the chat template as apply_chat_template renders it
 *   test_tokenizer decode FILE              ids -> text as HF decodes (U+FFFD for broken UTF-8)
 *   test_tokenizer invalid                  invalid UTF-8 is refused at the right byte
 *   test_tokenizer bpe                      the quadratic and the heap BPE agree
 *   test_tokenizer stream                   streaming decode == decode, never a broken character
 *   test_tokenizer bench FILE [SECONDS]     encode throughput on FILE (MB/s, one thread)
 *   test_tokenizer mixed CORPUS OUT BYTES [natural]
 *                                           OUT: the corpus' texts, shuffled and repeated to BYTES;
 *                                           natural: without the long runs and random strings */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat.h"
#include "json.h"
#include "tokenizer.h"

static const struct df_tokenizer *tok;
static int failures;

#define FAIL(...)                                   \
    do {                                            \
        if (++failures <= 20) {                     \
            fprintf(stderr, "FAIL: " __VA_ARGS__);  \
            fputc('\n', stderr);                    \
        }                                           \
    } while (0)

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    struct df_text t = { 0 };
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        if (df_text_append(&t, buf, n) != 0)
            exit(2);
    fclose(f);
    if (!t.p && df_text_append(&t, "", 0) != 0)
        exit(2);
    *len = t.n;
    return t.p;
}

/* The lines of a JSONL file, each parsed. */
struct lines {
    int n;
    struct json_doc *doc;
};

static struct lines read_jsonl(const char *path)
{
    size_t len;
    char *text = read_file(path, &len);
    struct lines l = { 0, NULL };
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        if (j > i) {
            l.doc = realloc(l.doc, sizeof *l.doc * (size_t)(l.n + 1));
            struct json_error err;
            if (!l.doc || json_parse(text + i, j - i, &l.doc[l.n], &err) != 0) {
                fprintf(stderr, "%s: line %d: bad JSON\n", path, l.n + 1);
                exit(2);
            }
            l.n++;
        }
        i = j + 1;
    }
    free(text);
    return l;
}

static void free_lines(struct lines *l)
{
    for (int i = 0; i < l->n; i++)
        json_free(&l->doc[i]);
    free(l->doc);
}

static const char *str(const struct json_node *obj, const char *key, size_t *len)
{
    const struct json_node *n = json_get(obj, key);
    if (!n || n->type != JSON_STRING) {
        fprintf(stderr, "fixture: no string \"%s\"\n", key);
        exit(2);
    }
    *len = n->len;
    return n->str;
}

static struct df_ids ids_of(const struct json_node *obj, const char *key)
{
    const struct json_node *a = json_get(obj, key);
    struct df_ids ids = { 0 };
    if (!a || a->type != JSON_ARRAY) {
        fprintf(stderr, "fixture: no array \"%s\"\n", key);
        exit(2);
    }
    for (const struct json_node *c = json_child(a); c; c = json_next(c))
        if (df_ids_push(&ids, (int32_t)c->i) != 0)
            exit(2);
    return ids;
}

static const char *name_of(const struct json_node *obj)
{
    const struct json_node *n = json_get(obj, "id");
    return n && n->type == JSON_STRING ? n->str : "?";
}

static bool same_ids(const struct df_ids *a, const struct df_ids *b)
{
    return a->n == b->n && (a->n == 0 || !memcmp(a->v, b->v, a->n * sizeof *a->v));
}

static void show_ids(const char *what, const struct df_ids *ids)
{
    fprintf(stderr, "  %s:", what);
    for (size_t i = 0; i < ids->n && i < 40; i++)
        fprintf(stderr, " %d", (int)ids->v[i]);
    fprintf(stderr, ids->n > 40 ? " ...\n" : "\n");
}

/* Decode by streaming, checking each chunk is whole UTF-8. */
static void stream_decode(const struct df_ids *ids, struct df_text *out, const char *name)
{
    struct df_detok d;
    df_detok_init(&d, tok);
    for (size_t i = 0; i < ids->n; i++) {
        size_t before = out->n;
        if (df_detok_push(&d, ids->v[i], out) != 0)
            exit(2);
        if (out->n > before && df_utf8_check((const unsigned char *)out->p + before, out->n - before) != out->n - before)
            FAIL("%s: streamed chunk %zu is not whole UTF-8", name, i);
    }
    if (df_detok_finish(&d, out) != 0)
        exit(2);
}

static int mode_encode(const char *corpus_path, const char *expected_path)
{
    struct lines corpus = read_jsonl(corpus_path), expected = read_jsonl(expected_path);
    if (corpus.n != expected.n) {
        fprintf(stderr, "%d cases but %d expected\n", corpus.n, expected.n);
        return 1;
    }
    for (int i = 0; i < corpus.n; i++) {
        size_t len, bad;
        const char *text = str(corpus.doc[i].root, "text", &len), *name = name_of(corpus.doc[i].root);
        struct df_ids want = ids_of(expected.doc[i].root, "ids"), got = { 0 };
        struct df_text back = { 0 }, streamed = { 0 };
        if (strcmp(name, name_of(expected.doc[i].root)))
            FAIL("line %d: ids of %s are for %s", i + 1, name, name_of(expected.doc[i].root));
        if (df_encode(tok, text, len, &got, &bad) != DF_TOK_OK) {
            FAIL("%s: encode failed", name);
        } else if (!same_ids(&got, &want)) {
            FAIL("%s: ids differ from HF", name);
            show_ids("C ", &got);
            show_ids("HF", &want);
        }
        if (df_decode(tok, got.v, got.n, &back) != 0)
            exit(2);
        if (back.n != len || memcmp(back.p, text, len))
            FAIL("%s: decode(encode(x)) != x", name);
        stream_decode(&got, &streamed, name);
        if (streamed.n != len || memcmp(streamed.p, text, len))
            FAIL("%s: streamed decode != x", name);
        df_ids_free(&got);
        df_ids_free(&want);
        df_text_free(&back);
        df_text_free(&streamed);
    }
    printf("%d cases\n", corpus.n);
    free_lines(&corpus);
    free_lines(&expected);
    return failures != 0;
}

static int mode_bos(const char *path)
{
    struct lines l = read_jsonl(path);
    for (int i = 0; i < l.n; i++) {
        size_t len;
        char err[256];
        const char *text = str(l.doc[i].root, "text", &len), *name = name_of(l.doc[i].root);
        struct df_ids want = ids_of(l.doc[i].root, "ids"), got = { 0 };
        if (df_prompt_ids(tok, text, len, false, NULL, true, &got, err, sizeof err) != 0)
            FAIL("%s: %s", name, err);
        else if (!same_ids(&got, &want))
            FAIL("%s: ids with BOS differ from transformers", name);
        df_ids_free(&got);
        df_ids_free(&want);
    }
    printf("%d cases\n", l.n);
    free_lines(&l);
    return failures != 0;
}

static int mode_chat(const char *path)
{
    struct lines l = read_jsonl(path);
    for (int i = 0; i < l.n; i++) {
        const struct json_node *root = l.doc[i].root, *msgs = json_get(root, "messages");
        const struct json_node *gen = json_get(root, "add_generation_prompt");
        const char *name = name_of(root);
        struct df_chat_message m[16];
        int n = 0;
        for (const struct json_node *c = json_child(msgs); c && n < 16; c = json_next(c)) {
            size_t rl, cl;
            const char *role = str(c, "role", &rl), *content = str(c, "content", &cl);
            m[n++] = (struct df_chat_message){ role, content, cl };
        }
        size_t len;
        const char *want_text = str(root, "text", &len);
        struct df_ids want = ids_of(root, "ids"), got = { 0 };
        struct df_text text = { 0 };
        char err[256];
        if (df_chat_render(df_tokenizer_info(tok), m, n, gen && gen->type == JSON_TRUE, &text, err, sizeof err) != 0) {
            FAIL("%s: %s", name, err);
        } else {
            if (text.n != len || memcmp(text.p, want_text, len))
                FAIL("%s: rendered text differs from apply_chat_template:\n  C : %s\n  HF: %s", name, text.p, want_text);
            size_t bad;
            if (df_encode(tok, text.p, text.n, &got, &bad) != 0 || !same_ids(&got, &want))
                FAIL("%s: ids differ from apply_chat_template", name);
        }
        /* The CLI's --chat: [system,] user, with the generation prompt. */
        bool one_turn = gen && gen->type == JSON_TRUE &&
                        ((n == 1 && !strcmp(m[0].role, "user")) ||
                         (n == 2 && !strcmp(m[0].role, "system") && !strcmp(m[1].role, "user")));
        if (one_turn && !memchr(m[0].content, 0, m[0].len)) {
            struct df_ids p = { 0 };
            if (df_prompt_ids(tok, m[n - 1].content, m[n - 1].len, true, n == 2 ? m[0].content : NULL, false, &p, err,
                              sizeof err) != 0 ||
                !same_ids(&p, &want))
                FAIL("%s: --chat ids differ", name);
            df_ids_free(&p);
        }
        df_text_free(&text);
        df_ids_free(&got);
        df_ids_free(&want);
    }
    printf("%d conversations\n", l.n);
    free_lines(&l);
    return failures != 0;
}

static int mode_decode(const char *path)
{
    struct lines l = read_jsonl(path);
    for (int i = 0; i < l.n; i++) {
        size_t len;
        const char *want = str(l.doc[i].root, "text", &len), *name = name_of(l.doc[i].root);
        struct df_ids ids = ids_of(l.doc[i].root, "ids");
        struct df_text got = { 0 }, streamed = { 0 };
        if (df_decode(tok, ids.v, ids.n, &got) != 0)
            exit(2);
        if (got.n != len || memcmp(got.p, want, len))
            FAIL("%s: decode differs from HF", name);
        stream_decode(&ids, &streamed, name);
        if (streamed.n != len || memcmp(streamed.p, want, len))
            FAIL("%s: streamed decode differs from HF", name);
        df_ids_free(&ids);
        df_text_free(&got);
        df_text_free(&streamed);
    }
    printf("%d cases\n", l.n);
    free_lines(&l);
    return failures != 0;
}

static int mode_invalid(void)
{
    static const struct {
        const char *bytes;
        size_t len, bad;
    } cases[] = {
        { "\x80", 1, 0 },                    /* continuation byte first */
        { "ab\xff", 3, 2 },                  /* never in UTF-8 */
        { "a\xc0\xaf", 3, 1 },               /* overlong '/' */
        { "\xc1\xbf", 2, 0 },
        { "\xe0\x80\x80", 3, 0 },            /* overlong */
        { "\xed\xa0\x80", 3, 0 },            /* surrogate U+D800 */
        { "\xed\xbf\xbf", 3, 0 },
        { "\xf4\x90\x80\x80", 4, 0 },        /* above U+10FFFF */
        { "\xf5\x80\x80\x80", 4, 0 },
        { "xyz\xe6\x97", 5, 3 },             /* cut short at the end */
        { "\xe6\x97x", 3, 0 },               /* cut short before ASCII */
        { "\xf0\x9f\x98", 3, 0 },
        { "ok \xf0\x9f\x98\x80 then \xc3", 14, 13 },
        { "12345678\x80", 9, 8 },            /* after the 8-byte ASCII fast path */
        { "<\xef\xbd\x9cUser\xef\xbd\x9c\xff", 12, 11 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct df_ids ids = { 0 };
        size_t bad = 12345;
        int rc = df_encode(tok, cases[i].bytes, cases[i].len, &ids, &bad);
        if (rc != DF_TOK_BAD_UTF8 || bad != cases[i].bad || ids.n)
            FAIL("invalid case %zu: rc %d, offset %zu (want %zu), %zu ids", i, rc, bad, cases[i].bad, ids.n);
        df_ids_free(&ids);
    }
    /* Valid edge cases are accepted. */
    static const char *valid[] = { "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
                                   "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "" };
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
        struct df_ids ids = { 0 };
        struct df_text back = { 0 };
        size_t bad;
        if (df_encode(tok, valid[i], strlen(valid[i]), &ids, &bad) != DF_TOK_OK)
            FAIL("valid case %zu refused at byte %zu", i, bad);
        if (df_decode(tok, ids.v, ids.n, &back) != 0 || back.n != strlen(valid[i]) ||
            (back.n && memcmp(back.p, valid[i], back.n)))
            FAIL("valid case %zu: no round trip", i);
        df_ids_free(&ids);
        df_text_free(&back);
    }
    printf("%zu invalid, %zu valid\n", sizeof cases / sizeof *cases, sizeof valid / sizeof *valid);
    return failures != 0;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static int mode_bpe(void)
{
    static const char *alphabet[] = { "a", "b", "e", "t", "h", " ", "in", "the", "er", "\xe4\xb8\xad", "\xc3\xa9",
                                      "0", "1", ".", "=", "\xf0\x9f\x98\x80", "ing", "s" };
    const size_t na = sizeof alphabet / sizeof *alphabet;
    int cases = 0;
    for (int round = 0; round < 3000; round++) {
        struct df_text piece = { 0 };
        size_t len = 1 + rnd() % (round < 2500 ? 120 : 3000);
        while (piece.n < len) {
            const char *s = alphabet[rnd() % (round % 3 == 0 ? 4 : na)];
            if (df_text_append(&piece, s, strlen(s)) != 0)
                exit(2);
        }
        struct df_ids q = { 0 }, h = { 0 };
        if (df_bpe_check(tok, (const unsigned char *)piece.p, piece.n, &q, &h) != 0)
            exit(2);
        if (!same_ids(&q, &h)) {
            FAIL("bpe: quadratic and heap differ on a %zu-byte piece", piece.n);
            show_ids("quadratic", &q);
            show_ids("heap", &h);
        }
        cases++;
        df_ids_free(&q);
        df_ids_free(&h);
        df_text_free(&piece);
    }
    printf("%d pieces\n", cases);
    return failures != 0;
}

static int mode_stream(void)
{
    const struct df_tokenizer_data *d = df_tokenizer_info(tok);
    for (int round = 0; round < 20000; round++) {
        struct df_ids ids = { 0 };
        size_t n = 1 + rnd() % 12;
        for (size_t i = 0; i < n; i++) {
            /* mostly single bytes (broken characters), some whole tokens, some unknown ids */
            int32_t id = rnd() % 4 ? d->byte_id[rnd() % 256] : (int32_t)(rnd() % (uint32_t)(d->n_ids + 500));
            if (df_ids_push(&ids, id) != 0)
                exit(2);
        }
        struct df_text whole = { 0 }, streamed = { 0 };
        if (df_decode(tok, ids.v, ids.n, &whole) != 0)
            exit(2);
        stream_decode(&ids, &streamed, "random ids");
        if (whole.n != streamed.n || memcmp(whole.p, streamed.p, whole.n))
            FAIL("stream: streamed != decoded (round %d)", round);
        if (df_utf8_check((const unsigned char *)whole.p, whole.n) != whole.n)
            FAIL("stream: decode produced invalid UTF-8 (round %d)", round);
        df_ids_free(&ids);
        df_text_free(&whole);
        df_text_free(&streamed);
    }
    printf("20000 sequences\n");
    return failures != 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int mode_bench(const char *path, double seconds)
{
    size_t len, bad;
    char *text = read_file(path, &len);
    struct df_ids ids = { 0 };
    int runs = 0;
    double t0 = now(), t;
    do {
        ids.n = 0;
        if (df_encode(tok, text, len, &ids, &bad) != DF_TOK_OK) {
            fprintf(stderr, "%s: not valid UTF-8 (byte %zu)\n", path, bad);
            return 1;
        }
        runs++;
        t = now() - t0;
    } while (t < seconds);
    printf("encode: %.2f MB, %zu ids, %.1f MB/s (one thread, %d runs)\n", len / 1e6, ids.n, len * runs / 1e6 / t, runs);
    struct df_text out = { 0 };
    t0 = now();
    if (df_decode(tok, ids.v, ids.n, &out) != 0)
        return 1;
    t = now() - t0;
    printf("decode: %.1f MB/s\n", out.n / 1e6 / t);
    df_text_free(&out);
    df_ids_free(&ids);
    free(text);
    return 0;
}

static int mode_mixed(const char *corpus_path, const char *out_path, long bytes, bool natural)
{
    struct lines l = read_jsonl(corpus_path);
    FILE *f = fopen(out_path, "wb");
    if (!f || l.n == 0) {
        perror(out_path);
        return 2;
    }
    long written = 0;
    while (written < bytes) {
        size_t len;
        const struct json_node *c = l.doc[rnd() % (uint32_t)l.n].root;
        const char *text = str(c, "text", &len), *name = name_of(c);
        if (natural && (!strncmp(name, "long/", 5) || !strncmp(name, "random_", 7)))
            continue;
        fwrite(text, 1, len, f);
        written += (long)len;
    }
    free_lines(&l);
    return fclose(f) == 0 ? 0 : 2;
}

int main(int argc, char **argv)
{
    const char *why;
    if (!(tok = df_tokenizer_get(&why))) {
        fprintf(stderr, "no tokenizer: %s\n", why);
        return 1;
    }
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "encode") && argc == 4) return mode_encode(argv[2], argv[3]);
    if (!strcmp(mode, "bos") && argc == 3) return mode_bos(argv[2]);
    if (!strcmp(mode, "chat") && argc == 3) return mode_chat(argv[2]);
    if (!strcmp(mode, "decode") && argc == 3) return mode_decode(argv[2]);
    if (!strcmp(mode, "invalid")) return mode_invalid();
    if (!strcmp(mode, "bpe")) return mode_bpe();
    if (!strcmp(mode, "stream")) return mode_stream();
    if (!strcmp(mode, "bench") && argc >= 3) return mode_bench(argv[2], argc > 3 ? atof(argv[3]) : 2.0);
    if (!strcmp(mode, "mixed") && (argc == 5 || argc == 6))
        return mode_mixed(argv[2], argv[3], atol(argv[4]), argc == 6 && !strcmp(argv[5], "natural"));
    fprintf(stderr, "usage: see the comment at the top of tests/tokenizer/test_tokenizer.c\n");
    return 2;
}
