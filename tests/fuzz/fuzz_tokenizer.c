/* fuzz_tokenizer.c: libFuzzer target for the embedded tokenizer
 * (runtime/tokenizer.c, runtime/chat.c) with the real DeepSeek-V3 data.
 *
 * The input is, by its first byte, one of:
 *   text:  encode either refuses (not UTF-8, at the first bad byte) or gives
 *          ids that decode, whole and streamed, back to the very input; the
 *          quadratic and heap BPE agree on it; as a chat user turn it renders
 *          and encodes;
 *   ids:   (first byte 0xFF) little-endian 32-bit ids (any values): decode
 *          and streamed decode agree and are valid UTF-8;
 *   jsonl: (first byte 0xFE) one line of `tokenize --jsonl`: parsed or
 *          refused; the id stays inside the line, the text is whole.
 * Anything else aborts, and ASan/UBSan stop at any bad access.
 *
 *   make build/fuzz/fuzz_tokenizer
 *   build/fuzz/fuzz_tokenizer -max_total_time=600 -max_len=4096 CORPUS tests/fuzz/corpus/fuzz_tokenizer */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "tokenizer.h"
#include "tokenizer_cli.h"

static void stream(const struct df_tokenizer *t, const struct df_ids *ids, struct df_text *out)
{
    struct df_detok d;
    df_detok_init(&d, t);
    for (size_t i = 0; i < ids->n; i++) {
        size_t before = out->n;
        if (df_detok_push(&d, ids->v[i], out) != 0)
            abort();
        if (out->n > before && df_utf8_check((const unsigned char *)out->p + before, out->n - before) != out->n - before)
            abort();
    }
    if (df_detok_finish(&d, out) != 0)
        abort();
}

static void text_case(const struct df_tokenizer *t, const uint8_t *data, size_t size)
{
    struct df_ids ids = { 0 };
    struct df_text back = { 0 }, streamed = { 0 };
    size_t bad = (size_t)-1;
    int rc = df_encode(t, (const char *)data, size, &ids, &bad);
    size_t check = df_utf8_check(data, size);
    if (rc == DF_TOK_BAD_UTF8) {
        if (check == size || bad != check || ids.n)
            abort();
    } else if (rc == DF_TOK_OK) {
        if (check != size)
            abort();
        if (df_decode(t, ids.v, ids.n, &back) != 0 || back.n != size || (size && memcmp(back.p, data, size)))
            abort();
        stream(t, &ids, &streamed);
        if (streamed.n != size || (size && memcmp(streamed.p, data, size)))
            abort();
        if (size && size <= 512) {
            struct df_ids q = { 0 }, h = { 0 };
            if (df_bpe_check(t, data, size, &q, &h) != 0 || q.n != h.n || memcmp(q.v, h.v, q.n * sizeof *q.v))
                abort();
            df_ids_free(&q);
            df_ids_free(&h);
        }
        struct df_ids chat = { 0 };
        char err[128];
        if (df_prompt_ids(t, (const char *)data, size, true, NULL, false, &chat, err, sizeof err) != 0)
            abort();
        df_ids_free(&chat);
    } else {
        abort();
    }
    df_ids_free(&ids);
    df_text_free(&back);
    df_text_free(&streamed);
}

static void ids_case(const struct df_tokenizer *t, const uint8_t *data, size_t size)
{
    struct df_ids ids = { 0 };
    for (size_t i = 0; i + 4 <= size; i += 4) {
        uint32_t v = (uint32_t)data[i] | (uint32_t)data[i + 1] << 8 | (uint32_t)data[i + 2] << 16 |
                     (uint32_t)data[i + 3] << 24;
        if (df_ids_push(&ids, (int32_t)v) != 0)
            abort();
    }
    struct df_text whole = { 0 }, streamed = { 0 };
    if (df_decode(t, ids.v, ids.n, &whole) != 0)
        abort();
    stream(t, &ids, &streamed);
    if (whole.n != streamed.n || (whole.n && memcmp(whole.p, streamed.p, whole.n)))
        abort();
    if (df_utf8_check((const unsigned char *)whole.p, whole.n) != whole.n)
        abort();
    df_ids_free(&ids);
    df_text_free(&whole);
    df_text_free(&streamed);
}

static void jsonl_case(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes, so reads past the line are caught */
    char *line = malloc(size ? size : 1);
    if (!line)
        abort();
    if (size)
        memcpy(line, data, size);
    const char *id = NULL;
    size_t id_len = 0;
    struct df_text text = { 0 }, scratch = { 0 };
    if (!df_jsonl_parse_line(line, line + size, &id, &id_len, &text, &scratch)) {
        if (!id || id < line || id + id_len > line + size || !text.p || text.p[text.n] != 0)
            abort();
    }
    df_text_free(&text);
    df_text_free(&scratch);
    free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct df_tokenizer *t = df_tokenizer_get(NULL);
    if (!t)
        abort();
    if (size && data[0] == 0xFF)
        ids_case(t, data + 1, size - 1);
    else if (size && data[0] == 0xFE)
        jsonl_case(data + 1, size - 1);
    else
        text_case(t, data, size);
    return 0;
}
