/* tokenizer_cli.c: the `tokenize` and `detokenize` subcommands.
 *
 *   <binary> tokenize [--bos] [--chat [--system TEXT]]   stdin text -> "id,id,...\n"
 *   <binary> tokenize --jsonl                            {"id":X,"text":"..."} lines -> {"id":X,"ids":[...]}
 *   <binary> detokenize                                  stdin "id,id,..." -> text
 *
 * Exit codes as the binary's: 2 bad usage or input (not UTF-8, a bad id, a
 * bad JSON line, no usable tokenizer), 4 I/O error, 1 out of memory. */
#include "tokenizer_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "exit_codes.h"
#include "tokenizer.h"
#include "tokenizer_unicode.h"


static void tokenize_usage(FILE *f, const char *prog)
{
    const struct df_tokenizer_data *d = df_tokenizer_info(NULL);
    fprintf(f,
            "usage: %s tokenize [--bos] [--chat [--system TEXT]] [--jsonl]\n"
            "  reads UTF-8 text on stdin (all of it, byte for byte) and prints its token ids,\n"
            "  comma-separated on one line\n"
            "  --bos          put the BOS token first\n"
            "  --chat         the text is one user turn of a chat: the chat template with BOS and the\n"
            "                 assistant's generation prompt\n"
            "  --system TEXT  with --chat: a system prompt\n"
            "  --jsonl        each stdin line is {\"id\":X,\"text\":\"...\"}; prints {\"id\":X,\"ids\":[...]} (no BOS)\n"
            "usage: %s detokenize\n"
            "  reads token ids on stdin (separated by commas or white space) and writes their text\n"
            "tokenizer: %s, %d ids, %d merges, %d added tokens, BOS %d, EOS %d, chat template %s;\n"
            "  tokenizer.json sha256 %s; Unicode %s tables\n",
            prog, prog, d->name, d->n_ids, d->n_merges, d->n_added, d->bos, d->eos,
            d->chat == DF_CHAT_DEEPSEEK_V3 ? "DeepSeek-V3" : "none", d->json_sha256 ? d->json_sha256 : "?",
            df_unicode_version);
    if (d->unsupported)
        fprintf(f, "  (unusable: %s)\n", d->unsupported);
}

static const struct df_tokenizer *get(const char *prog, const char *cmd)
{
    const char *why = NULL;
    const struct df_tokenizer *t = df_tokenizer_get(&why);
    if (!t)
        fprintf(stderr, "%s %s: the tokenizer of this binary (%s) cannot be used: %s\n", prog, cmd,
                df_tokenizer_info(NULL)->name, why);
    return t;
}

/* All of stdin. 0, or an exit code. */
static int read_all(FILE *f, struct df_text *out, const char *prog, const char *cmd)
{
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (df_text_append(out, buf, n) != 0) {
            fprintf(stderr, "%s %s: out of memory\n", prog, cmd);
            return 1;
        }
    }
    if (ferror(f)) {
        fprintf(stderr, "%s %s: reading stdin: %s\n", prog, cmd, strerror(errno));
        return DF_EXIT_IO;
    }
    if (!out->p && df_text_append(out, "", 0) != 0)
        return 1;
    return 0;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void print_ids(FILE *f, const struct df_ids *ids)
{
    char buf[4096];
    size_t n = 0;
    for (size_t i = 0; i < ids->n; i++) {
        if (n > sizeof buf - 16) {
            fwrite(buf, 1, n, f);
            n = 0;
        }
        if (i)
            buf[n++] = ',';
        char digits[12];
        int k = 0;
        uint32_t v = (uint32_t)ids->v[i]; /* ids are >= 0 */
        do
            digits[k++] = (char)('0' + v % 10);
        while ((v /= 10) != 0);
        while (k)
            buf[n++] = digits[--k];
    }
    fwrite(buf, 1, n, f);
}

/* ---- a JSON line {"id": X, "text": "..."} ------------------------------------------------ */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

static int hex4(const char *p, const char *end, unsigned *v)
{
    if (end - p < 4)
        return -1;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
        if (d > 15)
            return -1;
        *v = *v * 16 + d;
    }
    return 0;
}

static void put_utf8(char *o, size_t *n, unsigned c)
{
    if (c < 0x80) {
        o[(*n)++] = (char)c;
    } else if (c < 0x800) {
        o[(*n)++] = (char)(0xC0 | c >> 6);
        o[(*n)++] = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        o[(*n)++] = (char)(0xE0 | c >> 12);
        o[(*n)++] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[(*n)++] = (char)(0x80 | (c & 0x3F));
    } else {
        o[(*n)++] = (char)(0xF0 | c >> 18);
        o[(*n)++] = (char)(0x80 | ((c >> 12) & 0x3F));
        o[(*n)++] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[(*n)++] = (char)(0x80 | (c & 0x3F));
    }
}

/* A JSON string at *pp (the opening quote), unescaped into out. NULL, or why not. */
static const char *json_string(const char **pp, const char *end, struct df_text *out)
{
    const char *p = *pp + 1;
    out->n = 0;
    if (df_text_append(out, "", 0) != 0)
        return "out of memory";
    for (;;) {
        const char *q = p;
        while (q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
            q++;
        if (df_text_append(out, p, (size_t)(q - p)) != 0)
            return "out of memory";
        p = q;
        if (p >= end)
            return "unterminated string";
        if (*p == '"')
            break;
        if ((unsigned char)*p < 0x20)
            return "control character in a string";
        if (++p >= end)
            return "unterminated string";
        char e = *p++, buf[4];
        size_t n = 0;
        switch (e) {
        case '"': case '\\': case '/': buf[n++] = e; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            unsigned c, c2;
            if (hex4(p, end, &c) != 0)
                return "bad \\u escape";
            p += 4;
            if (c >= 0xDC00 && c <= 0xDFFF)
                return "lone surrogate in a \\u escape (not text)";
            if (c >= 0xD800 && c <= 0xDBFF) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &c2) != 0 || c2 < 0xDC00 ||
                    c2 > 0xDFFF)
                    return "lone surrogate in a \\u escape (not text)";
                p += 6;
                c = 0x10000 + ((c - 0xD800) << 10) + (c2 - 0xDC00);
            }
            put_utf8(buf, &n, c);
            break;
        }
        default:
            return "bad escape";
        }
        if (df_text_append(out, buf, n) != 0)
            return "out of memory";
    }
    *pp = p + 1;
    return NULL;
}

/* The extent of a JSON scalar (number, true, false, null) at p. */
static const char *json_scalar_end(const char *p, const char *end)
{
    const char *q = p;
    while (q < end && (strchr("+-.0123456789eE", *q) || (*q >= 'a' && *q <= 'z')))
        q++;
    return q;
}

const char *df_jsonl_parse_line(const char *p, const char *end, const char **id, size_t *id_len,
                                struct df_text *text, struct df_text *scratch)
{
    bool have_text = false;
    *id = NULL;
    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return "not a JSON object";
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}')
        p++;
    else {
        for (;;) {
            if (p >= end || *p != '"')
                return "expected a key";
            const char *why = json_string(&p, end, scratch);
            if (why)
                return why;
            int key = !strcmp(scratch->p, "id") ? 1 : !strcmp(scratch->p, "text") ? 2 : 0;
            if (strlen(scratch->p) != scratch->n)
                key = 0;
            p = skip_ws(p, end);
            if (p >= end || *p != ':')
                return "expected ':'";
            p = skip_ws(p + 1, end);
            const char *v = p;
            if (p < end && *p == '"') {
                why = json_string(&p, end, key == 2 ? text : scratch);
                if (why)
                    return why;
                if (key == 2)
                    have_text = true;
            } else {
                p = json_scalar_end(p, end);
                if (p == v)
                    return "expected a string, number, true, false or null";
                if (key == 2)
                    return "\"text\" is not a string";
            }
            if (key == 1) {
                *id = v;
                *id_len = (size_t)(p - v);
            }
            p = skip_ws(p, end);
            if (p < end && *p == ',') {
                p = skip_ws(p + 1, end);
                continue;
            }
            if (p < end && *p == '}') {
                p++;
                break;
            }
            return "expected ',' or '}'";
        }
    }
    if (skip_ws(p, end) != end)
        return "text after the object";
    if (!*id)
        return "no \"id\"";
    if (!have_text)
        return "no \"text\"";
    return NULL;
}

static int tokenize_jsonl(const struct df_tokenizer *t, const char *prog)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = 0;
    struct df_text text = { 0 }, scratch = { 0 };
    struct df_ids ids = { 0 };
    errno = 0;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        const char *end = line + len, *id;
        size_t id_len, bad;
        if (skip_ws(line, end) == end)
            continue;
        const char *why = df_jsonl_parse_line(line, end, &id, &id_len, &text, &scratch);
        if (why) {
            fprintf(stderr, "%s tokenize: stdin:%ld: %s\n", prog, lineno, why);
            rc = DF_EXIT_USAGE;
            break;
        }
        ids.n = 0;
        int st = df_encode(t, text.p, text.n, &ids, &bad);
        if (st == DF_TOK_BAD_UTF8) {
            fprintf(stderr, "%s tokenize: stdin:%ld: \"text\" is not valid UTF-8 (byte %zu)\n", prog, lineno, bad);
            rc = DF_EXIT_USAGE;
            break;
        }
        if (st != DF_TOK_OK) {
            fprintf(stderr, "%s tokenize: out of memory\n", prog);
            rc = 1;
            break;
        }
        printf("{\"id\":%.*s,\"ids\":[", (int)id_len, id);
        print_ids(stdout, &ids);
        printf("]}\n");
    }
    if (!rc && ferror(stdin)) {
        fprintf(stderr, "%s tokenize: reading stdin: %s\n", prog, strerror(errno));
        rc = DF_EXIT_IO;
    }
    free(line);
    df_text_free(&text);
    df_text_free(&scratch);
    df_ids_free(&ids);
    return rc;
}

int df_cmd_tokenize(int argc, char **argv)
{
    const char *prog = argv[0], *system = NULL;
    bool bos = false, chat = false, jsonl = false;
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i];
        if (!strcmp(k, "--help") || !strcmp(k, "-h")) {
            tokenize_usage(stdout, prog);
            return 0;
        } else if (!strcmp(k, "--bos")) {
            bos = true;
        } else if (!strcmp(k, "--chat")) {
            chat = true;
        } else if (!strcmp(k, "--jsonl")) {
            jsonl = true;
        } else if (!strcmp(k, "--system") && i + 1 < argc) {
            system = argv[++i];
        } else {
            fprintf(stderr, "%s tokenize: unknown option %s\n", prog, k);
            tokenize_usage(stderr, prog);
            return DF_EXIT_USAGE;
        }
    }
    if ((jsonl && (bos || chat)) || (system && !chat) || (bos && chat)) {
        fprintf(stderr, "%s tokenize: --jsonl takes no other option; --system needs --chat; --chat brings its own BOS\n",
                prog);
        return DF_EXIT_USAGE;
    }
    const struct df_tokenizer *t = get(prog, "tokenize");
    if (!t)
        return DF_EXIT_USAGE;
    if (jsonl) {
        int rc = tokenize_jsonl(t, prog);
        if (fflush(stdout) != 0 && !rc)
            rc = DF_EXIT_IO;
        return rc;
    }
    struct df_text in = { 0 };
    struct df_ids ids = { 0 };
    char err[256];
    int rc = read_all(stdin, &in, prog, "tokenize");
    if (!rc) {
        rc = df_prompt_ids(t, in.p, in.n, chat, system, bos, &ids, err, sizeof err);
        if (rc)
            fprintf(stderr, "%s tokenize: stdin: %s\n", prog, err);
    }
    if (!rc) {
        print_ids(stdout, &ids);
        putchar('\n');
        if (fflush(stdout) != 0)
            rc = DF_EXIT_IO;
    }
    df_text_free(&in);
    df_ids_free(&ids);
    return rc;
}

int df_cmd_detokenize(int argc, char **argv)
{
    const char *prog = argv[0];
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            tokenize_usage(stdout, prog);
            return 0;
        }
        fprintf(stderr, "%s detokenize: unknown option %s\n", prog, argv[i]);
        return DF_EXIT_USAGE;
    }
    const struct df_tokenizer *t = get(prog, "detokenize");
    if (!t)
        return DF_EXIT_USAGE;
    struct df_text in = { 0 }, out = { 0 };
    struct df_ids ids = { 0 };
    int rc = read_all(stdin, &in, prog, "detokenize");
    /* ids: decimal, separated by a comma and/or white space */
    size_t i = 0, k = 0;
    bool after_comma = false;
    while (!rc) {
        while (i < in.n && is_ws(in.p[i]))
            i++;
        if (i == in.n && !after_comma)
            break;
        long v = 0;
        size_t j = i;
        while (j < in.n && in.p[j] >= '0' && in.p[j] <= '9' && v <= INT32_MAX)
            v = v * 10 + (in.p[j++] - '0');
        k++;
        if (j == i || v > INT32_MAX || (j < in.n && in.p[j] >= '0' && in.p[j] <= '9')) {
            fprintf(stderr, "%s detokenize: token %zu: expected a decimal id below 2^31\n", prog, k);
            rc = DF_EXIT_USAGE;
            break;
        }
        if (df_ids_push(&ids, (int32_t)v) != 0)
            rc = 1;
        for (i = j; i < in.n && is_ws(in.p[i]); i++)
            ;
        after_comma = i < in.n && in.p[i] == ',';
        if (after_comma)
            i++;
    }
    if (!rc && df_decode(t, ids.v, ids.n, &out) != 0)
        rc = 1;
    if (rc == 1)
        fprintf(stderr, "%s detokenize: out of memory\n", prog);
    if (!rc && ((out.n && fwrite(out.p, 1, out.n, stdout) != out.n) || fflush(stdout) != 0))
        rc = DF_EXIT_IO;
    df_text_free(&in);
    df_text_free(&out);
    df_ids_free(&ids);
    return rc;
}

/* ---- --prompt and streamed output for the binary's main ---------------------------------- */

/* A token's text for a message: control characters and broken UTF-8 escaped. */
static void show_token(FILE *f, const struct df_tokenizer *t, int32_t id)
{
    size_t len;
    const unsigned char *p = (const unsigned char *)df_token_bytes(t, id, &len);
    for (size_t i = 0; i < len;) {
        size_t ok = df_utf8_check(p + i, len - i);
        for (size_t j = i; j < i + ok; j++) {
            if (p[j] == '\n') fputs("\\n", f);
            else if (p[j] == '\t') fputs("\\t", f);
            else if (p[j] < 0x20 || p[j] == 0x7F) fprintf(f, "\\x%02x", p[j]);
            else if (p[j] == '"' || p[j] == '\\') fprintf(f, "\\%c", p[j]);
            else fputc(p[j], f);
        }
        i += ok;
        if (i < len)
            fprintf(f, "\\x%02x", p[i++]);
    }
}

int df_text_prompt(const char *prog, const char *text, bool chat, const char *system, int vocab, int **ids_out,
                   int *len_out)
{
    const char *why = NULL;
    const struct df_tokenizer *t = df_tokenizer_get(&why);
    if (!t) {
        fprintf(stderr, "%s: --prompt: the tokenizer of this binary (%s) cannot be used: %s\n", prog,
                df_tokenizer_info(NULL)->name, why);
        return DF_EXIT_USAGE;
    }
    const struct df_tokenizer_data *d = df_tokenizer_info(t);
    struct df_ids ids = { 0 };
    char err[256];
    int rc = df_prompt_ids(t, text, strlen(text), chat, system, d->add_bos, &ids, err, sizeof err);
    if (rc) {
        fprintf(stderr, "%s: --prompt: %s\n", prog, err);
        df_ids_free(&ids);
        return rc;
    }
    if (ids.n == 0 || ids.n > INT32_MAX) {
        fprintf(stderr, "%s: --prompt: the text gives %s tokens\n", prog, ids.n ? "too many" : "no");
        df_ids_free(&ids);
        return DF_EXIT_USAGE;
    }
    for (size_t i = 0; i < ids.n; i++) {
        if (ids.v[i] >= vocab) {
            fprintf(stderr, "%s: --prompt: token %zu is id %d (\"", prog, i + 1, (int)ids.v[i]);
            show_token(stderr, t, ids.v[i]);
            fprintf(stderr, "\"), outside this model's vocabulary [0, %d): its tokenizer (%s, %d ids) is larger than "
                    "the model; give --ids instead\n", vocab, d->name, d->n_ids);
            df_ids_free(&ids);
            return DF_EXIT_USAGE;
        }
    }
    int *v = malloc(sizeof(int) * ids.n);
    if (!v) {
        df_ids_free(&ids);
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    for (size_t i = 0; i < ids.n; i++)
        v[i] = ids.v[i];
    *ids_out = v;
    *len_out = (int)ids.n;
    df_ids_free(&ids);
    return 0;
}

void df_text_out_init(struct df_text_out *o, FILE *f)
{
    const struct df_tokenizer *t = df_tokenizer_get(NULL);
    *o = (struct df_text_out){ .f = f, .eos = df_tokenizer_info(t)->eos };
    df_detok_init(&o->d, t);
}

int df_text_out_token(void *ctx, int seq, int k, int id)
{
    struct df_text_out *o = ctx;
    struct df_text chunk = { 0 };
    (void)k;
    if (seq != 0)
        return 0;
    if (id == o->eos)
        return 1;
    if (df_detok_push(&o->d, id, &chunk) != 0 ||
        (chunk.n && fwrite(chunk.p, 1, chunk.n, o->f) != chunk.n) || fflush(o->f) != 0)
        o->error = 1;
    df_text_free(&chunk);
    return o->error;
}

int df_text_out_finish(struct df_text_out *o)
{
    struct df_text chunk = { 0 };
    if (df_detok_finish(&o->d, &chunk) != 0 || (chunk.n && fwrite(chunk.p, 1, chunk.n, o->f) != chunk.n) ||
        fputc('\n', o->f) == EOF || fflush(o->f) != 0)
        o->error = 1;
    df_text_free(&chunk);
    return o->error ? -1 : 0;
}
