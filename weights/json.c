/* json.c: see json.h.
 *
 * The parser runs twice over the text: the first pass validates and counts
 * nodes and string bytes, the second fills the one allocation sized from
 * those counts. Both passes are the same code; `nodes == NULL` means counting. */
#include "json.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
    const unsigned char *text;
    size_t len, pos;
    int depth;
    struct json_node *nodes;            /* NULL in the counting pass */
    const struct json_node **scratch;   /* for the duplicate-key check */
    char *strbuf;                       /* NULL in the counting pass */
    uint32_t n_nodes;
    size_t str_bytes;
    struct json_error *err;
};

static int fail(struct parser *p, size_t offset, const char *msg)
{
    p->err->offset = offset;
    snprintf(p->err->msg, sizeof p->err->msg, "%s", msg);
    return -1;
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->len) {
        unsigned char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static int is_digit(const struct parser *p, size_t i)
{
    return i < p->len && p->text[i] >= '0' && p->text[i] <= '9';
}

/* Length of the well-formed UTF-8 sequence at s (lead byte >= 0x80), or -1
 * for overlong forms, surrogates, code points above U+10FFFF and truncation. */
static int utf8_len(const unsigned char *s, size_t avail)
{
    unsigned lo = 0x80, hi = 0xBF;
    int n;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3;
        if (s[0] == 0xE0) lo = 0xA0;
        if (s[0] == 0xED) hi = 0x9F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        if (s[0] == 0xF0) lo = 0x90;
        if (s[0] == 0xF4) hi = 0x8F;
    } else {
        return -1;
    }
    if (avail < (size_t)n || s[1] < lo || s[1] > hi)
        return -1;
    for (int i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return -1;
    return n;
}

static int utf8_encode(unsigned cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

static int hex4(struct parser *p, size_t at, unsigned *v)
{
    if (at > p->len || p->len - at < 4)
        return fail(p, p->len, "unexpected end of input in \\u escape");
    *v = 0;
    for (size_t i = at; i < at + 4; i++) {
        unsigned char c = p->text[i];
        unsigned d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return fail(p, i, "bad hex digit in \\u escape");
        *v = *v << 4 | d;
    }
    return 0;
}

/* The escape at p->pos (a backslash) as UTF-8 in out; returns its length. */
static int parse_escape(struct parser *p, unsigned char out[4])
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    size_t at = p->pos;
    unsigned cp, lo;
    if (p->len - at < 2)
        return fail(p, p->len, "unexpected end of input in string");
    unsigned char e = p->text[at + 1];
    if (e != 'u') {
        const char *s = e ? strchr(from, e) : NULL;
        if (!s)
            return fail(p, at, "bad escape in string");
        out[0] = (unsigned char)to[s - from];
        p->pos += 2;
        return 1;
    }
    if (hex4(p, at + 2, &cp))
        return -1;
    p->pos = at + 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail(p, at, "lone low surrogate in \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (p->len - p->pos < 2 || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u')
            return fail(p, at, "high surrogate in \\u escape not followed by a low one");
        if (hex4(p, p->pos + 2, &lo))
            return -1;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return fail(p, at, "high surrogate in \\u escape not followed by a low one");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        p->pos += 6;
    }
    return utf8_encode(cp, out);
}

/* The string at p->pos (its opening quote). Decoded bytes never outnumber
 * the raw ones, so the counting pass can size the buffer exactly. */
static int parse_string(struct parser *p, const char **out, uint32_t *out_len)
{
    char *dst = p->strbuf ? p->strbuf + p->str_bytes : NULL;
    size_t n = 0;
    p->pos++;
    for (;;) {
        if (p->pos >= p->len)
            return fail(p, p->len, "unexpected end of input in string");
        unsigned char c = p->text[p->pos];
        unsigned char buf[4];
        int k;
        if (c == '"') {
            p->pos++;
            break;
        } else if (c < 0x20) {
            return fail(p, p->pos, "control character in string");
        } else if (c == '\\') {
            if ((k = parse_escape(p, buf)) < 0)
                return -1;
            if (dst)
                memcpy(dst + n, buf, (size_t)k);
        } else if (c < 0x80) {
            k = 1;
            if (dst)
                dst[n] = (char)c;
            p->pos++;
        } else {
            if ((k = utf8_len(p->text + p->pos, p->len - p->pos)) < 0)
                return fail(p, p->pos, "invalid UTF-8 in string");
            if (dst)
                memcpy(dst + n, p->text + p->pos, (size_t)k);
            p->pos += (size_t)k;
        }
        n += (size_t)k;
    }
    if (dst)
        dst[n] = 0;
    *out = dst;
    *out_len = (uint32_t)n;
    p->str_bytes += n + 1;
    return 0;
}

static int parse_number(struct parser *p, struct json_node *node)
{
    const unsigned char *t = p->text;
    size_t start = p->pos, i = start;
    int is_int = 1, neg = 0;
    if (i < p->len && t[i] == '-') {
        neg = 1;
        i++;
    }
    if (!is_digit(p, i))
        return fail(p, i, "expected a digit");
    if (t[i] == '0')
        i++;
    else
        while (is_digit(p, i))
            i++;
    if (i < p->len && t[i] == '.') {
        is_int = 0;
        if (!is_digit(p, ++i))
            return fail(p, i, "expected a digit after '.'");
        while (is_digit(p, i))
            i++;
    }
    if (i < p->len && (t[i] == 'e' || t[i] == 'E')) {
        is_int = 0;
        i++;
        if (i < p->len && (t[i] == '+' || t[i] == '-'))
            i++;
        if (!is_digit(p, i))
            return fail(p, i, "expected a digit in the exponent");
        while (is_digit(p, i))
            i++;
    }
    if (i - start > JSON_MAX_NUMBER)
        return fail(p, start, "number literal too long");
    p->pos = i;

    /* strtod needs a NUL-terminated copy; the program never calls
     * setlocale, so the decimal point is '.'. */
    char buf[JSON_MAX_NUMBER + 1];
    memcpy(buf, t + start, i - start);
    buf[i - start] = 0;
    double d = strtod(buf, NULL);
    if (d > DBL_MAX || d < -DBL_MAX)
        return fail(p, start, "number out of range");

    /* Integers keep their exact value while it fits int64_t: tensor offsets
     * beyond 2^53 must not be rounded. */
    uint64_t u = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (size_t k = start + (size_t)neg; is_int && k < i; k++) {
        unsigned digit = t[k] - '0';
        if (u > (limit - digit) / 10)
            is_int = 0;
        else
            u = u * 10 + digit;
    }
    if (node) {
        node->type = JSON_NUMBER;
        node->num = d;
        node->is_int = is_int;
        if (is_int)
            node->i = neg ? (int64_t)(0 - u) : (int64_t)u;
    }
    return 0;
}

static int parse_literal(struct parser *p, struct json_node *node, const char *word, enum json_type type)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0)
        return fail(p, p->pos, "unexpected character");
    p->pos += n;
    if (node)
        node->type = type;
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    const struct json_node *x = *(const struct json_node *const *)a;
    const struct json_node *y = *(const struct json_node *const *)b;
    int c = memcmp(x->key, y->key, x->key_len < y->key_len ? x->key_len : y->key_len);
    if (c)
        return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Sorting the members makes this O(n log n): an index with 100k tensors
 * must not take quadratic time. */
static int check_duplicates(struct parser *p, const struct json_node *obj)
{
    uint32_t n = 0;
    for (const struct json_node *c = json_child(obj); c; c = json_next(c))
        p->scratch[n++] = c;
    qsort(p->scratch, n, sizeof *p->scratch, cmp_key);
    for (uint32_t i = 1; i < n; i++) {
        const struct json_node *a = p->scratch[i - 1], *b = p->scratch[i];
        if (cmp_key(&a, &b) == 0) {
            const struct json_node *later = a->off > b->off ? a : b;
            char shown[41];
            size_t k;
            for (k = 0; k < later->key_len && k < sizeof shown - 1; k++) {
                unsigned char c = (unsigned char)later->key[k];
                shown[k] = c >= 0x20 && c < 0x7F ? (char)c : '?';
            }
            shown[k] = 0;
            p->err->offset = later->off;
            snprintf(p->err->msg, sizeof p->err->msg, "duplicate key \"%s\"", shown);
            return -1;
        }
    }
    return 0;
}

static int parse_value(struct parser *p, const char *key, uint32_t key_len, size_t key_off);

/* Arrays and objects: `close` is ']' or '}'; members of objects have keys. */
static int parse_container(struct parser *p, struct json_node *node, int is_object)
{
    char close = is_object ? '}' : ']';
    uint32_t count = 0, prev = 0;
    if (++p->depth > JSON_MAX_DEPTH)
        return fail(p, p->pos, "nesting too deep");
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->text[p->pos] == close) {
        p->pos++;
    } else {
        for (;;) {
            const char *key = NULL;
            uint32_t key_len = 0;
            size_t key_off = p->pos;
            if (is_object) {
                if (p->pos >= p->len)
                    return fail(p, p->len, "unexpected end of input");
                if (p->text[p->pos] != '"')
                    return fail(p, p->pos, "expected a string key");
                if (parse_string(p, &key, &key_len))
                    return -1;
                skip_ws(p);
                if (p->pos >= p->len)
                    return fail(p, p->len, "unexpected end of input");
                if (p->text[p->pos] != ':')
                    return fail(p, p->pos, "expected ':'");
                p->pos++;
                skip_ws(p);
            }
            uint32_t child = p->n_nodes;
            if (parse_value(p, key, key_len, key_off))
                return -1;
            if (p->nodes && count > 0)
                p->nodes[prev].next = child - prev;
            prev = child;
            count++;
            skip_ws(p);
            if (p->pos >= p->len)
                return fail(p, p->len, "unexpected end of input");
            char c = (char)p->text[p->pos++];
            if (c == close)
                break;
            if (c != ',')
                return fail(p, p->pos - 1, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
            skip_ws(p);
        }
    }
    p->depth--;
    if (node) {
        node->type = is_object ? JSON_OBJECT : JSON_ARRAY;
        node->len = count;
        if (is_object && count > 1)
            return check_duplicates(p, node);
    }
    return 0;
}

static int parse_value(struct parser *p, const char *key, uint32_t key_len, size_t key_off)
{
    struct json_node *node = p->nodes ? &p->nodes[p->n_nodes] : NULL;
    p->n_nodes++;
    if (node) {
        memset(node, 0, sizeof *node);
        node->key = key;
        node->key_len = key_len;
        node->off = (uint32_t)(key ? key_off : p->pos);
    }
    if (p->pos >= p->len)
        return fail(p, p->len, "unexpected end of input");
    switch (p->text[p->pos]) {
    case '{':
        return parse_container(p, node, 1);
    case '[':
        return parse_container(p, node, 0);
    case '"': {
        const char *s;
        uint32_t len;
        if (parse_string(p, &s, &len))
            return -1;
        if (node) {
            node->type = JSON_STRING;
            node->str = s;
            node->len = len;
        }
        return 0;
    }
    case 't':
        return parse_literal(p, node, "true", JSON_TRUE);
    case 'f':
        return parse_literal(p, node, "false", JSON_FALSE);
    case 'n':
        return parse_literal(p, node, "null", JSON_NULL);
    default:
        if (p->text[p->pos] == '-' || is_digit(p, p->pos))
            return parse_number(p, node);
        return fail(p, p->pos, "unexpected character");
    }
}

static int parse_document(struct parser *p)
{
    skip_ws(p);
    if (parse_value(p, NULL, 0, 0))
        return -1;
    skip_ws(p);
    if (p->pos != p->len)
        return fail(p, p->pos, "unexpected data after the value");
    return 0;
}

int json_parse(const char *text, size_t len, struct json_doc *doc, struct json_error *err)
{
    memset(doc, 0, sizeof *doc);
    struct parser p = { .text = (const unsigned char *)text, .len = len, .err = err };
    if (len > JSON_MAX_BYTES) {
        err->offset = 0;
        snprintf(err->msg, sizeof err->msg, "document larger than %u bytes", JSON_MAX_BYTES);
        return -1;
    }
    if (parse_document(&p))
        return -1;

    size_t node_bytes = (size_t)p.n_nodes * sizeof(struct json_node);
    size_t scratch_bytes = (size_t)p.n_nodes * sizeof(const struct json_node *);
    char *mem = malloc(node_bytes + scratch_bytes + p.str_bytes);
    if (!mem) {
        err->offset = 0;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return JSON_NOMEM;
    }
    struct parser fill = {
        .text = p.text, .len = len, .err = err,
        .nodes = (struct json_node *)mem,
        .scratch = (const struct json_node **)(mem + node_bytes),
        .strbuf = mem + node_bytes + scratch_bytes,
    };
    if (parse_document(&fill)) {    /* only a duplicate key can fail here */
        free(mem);
        return -1;
    }
    doc->root = fill.nodes;
    doc->n_nodes = fill.n_nodes;
    doc->mem = mem;
    return 0;
}

void json_free(struct json_doc *doc)
{
    free(doc->mem);
    memset(doc, 0, sizeof *doc);
}

const struct json_node *json_child(const struct json_node *n)
{
    return (n->type == JSON_ARRAY || n->type == JSON_OBJECT) && n->len > 0 ? n + 1 : NULL;
}

const struct json_node *json_next(const struct json_node *n)
{
    return n->next ? n + n->next : NULL;
}

const struct json_node *json_get(const struct json_node *obj, const char *key)
{
    size_t len = strlen(key);
    if (obj->type != JSON_OBJECT)
        return NULL;
    for (const struct json_node *c = json_child(obj); c; c = json_next(c))
        if (c->key_len == len && memcmp(c->key, key, len) == 0)
            return c;
    return NULL;
}

const char *json_type_name(enum json_type t)
{
    static const char *names[] = { "null", "false", "true", "number", "string", "array", "object" };
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}
