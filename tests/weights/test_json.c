/* test_json.c: the strict JSON parser on valid and invalid documents. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../weights/json.h"

static int passed, failed;

/* One line per case: control characters in the label are shown as '?'. */
static void check(int ok, const char *what)
{
    printf("%s: ", ok ? "ok" : "FAIL");
    for (; *what; what++)
        putchar((unsigned char)*what < 0x20 ? '?' : *what);
    putchar('\n');
    if (ok)
        passed++;
    else
        failed++;
}

/* Parses exactly len bytes from a heap copy, so ASan catches any read past the end. */
static int parse(const char *text, size_t len, struct json_doc *doc, struct json_error *err)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    int rc = json_parse(copy, len, doc, err);
    free(copy);   /* the doc owns copies of all strings */
    return rc;
}

static void valid(const char *text)
{
    struct json_doc doc;
    struct json_error err;
    char what[200];
    int rc = parse(text, strlen(text), &doc, &err);
    snprintf(what, sizeof what, "valid %.60s%s", text, rc ? " (error: " : "");
    if (rc)
        snprintf(what + strlen(what), sizeof what - strlen(what), "%s at %zu)", err.msg, err.offset);
    check(rc == 0, what);
    json_free(&doc);
}

/* Invalid, with the byte offset the error must report (or -1: any). */
static void invalid_n(const char *text, size_t len, long offset, const char *label)
{
    struct json_doc doc;
    struct json_error err = { 0 };
    char what[200];
    int rc = parse(text, len, &doc, &err);
    snprintf(what, sizeof what, "invalid %s -> %s at %zu", label, rc ? err.msg : "ACCEPTED", err.offset);
    check(rc == JSON_INVALID && (offset < 0 || (size_t)offset == err.offset), what);
    if (rc == 0)
        json_free(&doc);
}

static void invalid(const char *text, long offset)
{
    invalid_n(text, strlen(text), offset, text);
}

static const struct json_node *parse_one(const char *text, struct json_doc *doc)
{
    struct json_error err;
    return parse(text, strlen(text), doc, &err) == 0 ? doc->root : NULL;
}

static void test_tree(void)
{
    struct json_doc doc;
    const struct json_node *r = parse_one(" {\"a\": 1, \"b\": [true, false, null, {\"c\": \"x\"}], \"d\": {}} ", &doc);
    check(r && r->type == JSON_OBJECT && r->len == 3, "tree: root object with 3 members");
    const struct json_node *a = r ? json_get(r, "a") : NULL, *b = r ? json_get(r, "b") : NULL;
    check(a && a->type == JSON_NUMBER && a->is_int && a->i == 1 && a->num == 1.0, "tree: a = 1");
    check(b && b->type == JSON_ARRAY && b->len == 4, "tree: b is an array of 4");
    const struct json_node *e = b ? json_child(b) : NULL;
    enum json_type want[] = { JSON_TRUE, JSON_FALSE, JSON_NULL, JSON_OBJECT };
    int k = 0, types_ok = 1;
    for (; e; e = json_next(e), k++)
        types_ok &= k < 4 && e->type == want[k];
    check(types_ok && k == 4, "tree: iterate b in order");
    const struct json_node *c = b ? json_get(json_child(b) + 3, "c") : NULL;
    check(c && c->type == JSON_STRING && strcmp(c->str, "x") == 0 && c->len == 1, "tree: b[3].c = \"x\"");
    const struct json_node *d = r ? json_get(r, "d") : NULL;
    check(d && d->type == JSON_OBJECT && d->len == 0 && !json_child(d), "tree: d is empty");
    check(r && !json_get(r, "zz") && !json_get(b, "a"), "tree: missing key and non-object give NULL");
    check(r && json_next(r) == NULL && json_next(d) == NULL, "tree: last member has no next");
    json_free(&doc);
}

static void test_strings(void)
{
    struct json_doc doc;
    const struct json_node *n;
    n = parse_one("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", &doc);
    check(n && n->len == 8 && memcmp(n->str, "\"\\/\b\f\n\r\t", 9) == 0, "string: simple escapes");
    json_free(&doc);
    n = parse_one("\"\\u00e9\\u20AC\"", &doc);
    check(n && n->len == 5 && memcmp(n->str, "\xc3\xa9\xe2\x82\xac", 6) == 0, "string: \\u to 2- and 3-byte UTF-8");
    json_free(&doc);
    n = parse_one("\"\\ud83d\\ude00\"", &doc);
    check(n && n->len == 4 && memcmp(n->str, "\xf0\x9f\x98\x80", 5) == 0, "string: surrogate pair to 4-byte UTF-8");
    json_free(&doc);
    n = parse_one("\"a\\u0000b\"", &doc);
    check(n && n->len == 3 && memcmp(n->str, "a\0b", 4) == 0, "string: \\u0000 kept, length counts it");
    json_free(&doc);
    n = parse_one("\"\xc3\xa9\xf0\x9f\x98\x80\"", &doc);
    check(n && n->len == 6, "string: raw UTF-8 kept");
    json_free(&doc);
    n = parse_one("{\"k\\u00e9y\": 1}", &doc);
    check(n && json_get(n, "k\xc3\xa9y") != NULL, "string: escaped key looked up decoded");
    json_free(&doc);
}

static void test_numbers(void)
{
    static const struct { const char *text; int is_int; long long i; double num; } cases[] = {
        { "0", 1, 0, 0 },
        { "-0", 1, 0, -0.0 },
        { "9223372036854775807", 1, 9223372036854775807LL, 9223372036854775807.0 },
        { "-9223372036854775808", 1, -9223372036854775807LL - 1, -9223372036854775808.0 },
        { "9223372036854775808", 0, 0, 9223372036854775808.0 },
        { "123456789012345678", 1, 123456789012345678LL, 123456789012345678.0 },
        { "1.5e3", 0, 0, 1500.0 },
        { "-2.25", 0, 0, -2.25 },
        { "1E-400", 0, 0, 0.0 },
        { "1e2", 0, 0, 100.0 },
        { "1E+2", 0, 0, 100.0 },
        { "100000000000000000000000000000", 0, 0, 1e29 },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct json_doc doc;
        char what[100];
        const struct json_node *n = parse_one(cases[k].text, &doc);
        snprintf(what, sizeof what, "number %s", cases[k].text);
        check(n && n->type == JSON_NUMBER && n->is_int == cases[k].is_int && n->num == cases[k].num &&
              (!n->is_int || n->i == cases[k].i), what);
        json_free(&doc);
    }
}

static void test_invalid(void)
{
    invalid("", 0);
    invalid("   ", 3);
    invalid("[1,]", 3);
    invalid("{\"a\":1,}", 7);
    invalid("[01]", 2);
    invalid("01", 1);
    invalid("1.", 2);
    invalid(".5", 0);
    invalid("+1", 0);
    invalid("-", 1);
    invalid("-a", 1);
    invalid("1e", 2);
    invalid("1e+", 3);
    invalid("tru", 0);
    invalid("nul", 0);
    invalid("True", 0);
    invalid("NaN", 0);
    invalid("Infinity", 0);
    invalid("-Infinity", 1);
    invalid("1e400", 0);
    invalid("-1e400", 0);
    invalid("[1 2]", 3);
    invalid("{\"a\" 1}", 5);
    invalid("{1:2}", 1);
    invalid("{'a':1}", 1);
    invalid("{\"a\":}", 5);
    invalid("{} x", 3);
    invalid("/*c*/1", 0);
    invalid("[1,2", 4);
    invalid("\"abc", 4);
    invalid("\"a\x01\"", 2);
    invalid("\"a\tb\"", 2);
    invalid("\"\\x\"", 1);
    invalid("\"\\u12G4\"", 5);
    invalid("\"\\u12\"", 6);
    invalid("\"\\ud800\"", 1);
    invalid("\"\\udc00\"", 1);
    invalid("\"\\ud800\\u0041\"", 1);
    invalid("\"\\ud800\\n\"", 1);
    invalid("\"\xc0\xaf\"", 1);          /* overlong '/' */
    invalid("\"\xe0\x80\xaf\"", 1);      /* overlong, 3 bytes */
    invalid("\"\xed\xa0\x80\"", 1);      /* UTF-8-encoded surrogate */
    invalid("\"\xf4\x90\x80\x80\"", 1);  /* above U+10FFFF */
    invalid("\"\xff\"", 1);
    invalid("\"\xc3\"", 1);              /* truncated sequence */
    invalid("\xef\xbb\xbf{}", 0);        /* BOM */
    invalid("{\"a\":1,\"a\":2}", 7);
    invalid("{\"x\":{\"b\":1,\"c\":2,\"b\":3}}", 18);
    invalid("{\"a\\u0000\":1,\"a\\u0000\":2}", 13);
    invalid_n("[1,\0 2]", 7, 3, "NUL byte in the document");
}

static void test_limits(void)
{
    char *deep = malloc(100001);
    for (int depth = 64; depth <= 65; depth++) {
        memset(deep, '[', (size_t)depth);
        memset(deep + depth, ']', (size_t)depth);
        deep[2 * depth] = 0;
        if (depth == 64)
            valid(deep);
        else
            invalid(deep, 64);
    }
    memset(deep, '[', 100000);
    invalid_n(deep, 100000, 64, "100000 nested '['");
    deep[0] = '{';
    for (int i = 0; i < 20000; i++)
        memcpy(deep + 1 + 5 * i, "\"\":{ ", 5);
    invalid_n(deep, 100001, -1, "20000 nested objects");

    char num[400];
    memset(num, '1', sizeof num);
    num[JSON_MAX_NUMBER] = 0;
    valid(num);
    num[JSON_MAX_NUMBER] = '1';
    num[JSON_MAX_NUMBER + 1] = 0;
    invalid(num, 0);
    free(deep);

    /* Many members: duplicate detection must be n log n, not quadratic. */
    size_t cap = 200000 * 16, n = 0;
    char *big = malloc(cap);
    n += (size_t)sprintf(big + n, "{");
    for (int i = 0; i < 200000; i++)
        n += (size_t)sprintf(big + n, "%s\"t%d\":%d", i ? "," : "", i, i);
    big[n++] = '}';
    struct json_doc doc;
    struct json_error err;
    int rc = parse(big, n, &doc, &err);
    check(rc == 0 && doc.root->len == 200000, "object with 200000 members");
    if (rc == 0)
        json_free(&doc);
    memcpy(big + n - 1, ",\"t777\":0}", 11);
    invalid_n(big, n + 9, (long)n, "duplicate among 200001 members");
    free(big);
}

/* Every proper prefix of a document that starts with '{' or '[' is invalid. */
static void test_truncation(void)
{
    static const char *docs[] = {
        ("{\"__metadata__\":{\"format\":\"pt\"},\"a.weight\":{\"dtype\":\"BF16\",\"shape\":[2,3],"
         "\"data_offsets\":[0,12]}}"),
        "[1, -2.5e-3, \"x\\u00e9\\ud83d\\ude00\\n\", true, false, null, {}, [[]], \"\xe2\x82\xac\"]",
        "{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\"}, \"metadata\": {\"total_size\": 12}}",
    };
    for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
        size_t len = strlen(docs[d]);
        int all = 1;
        for (size_t k = 0; k < len; k++) {
            struct json_doc doc;
            struct json_error err;
            int rc = parse(docs[d], k, &doc, &err);
            if (rc == 0)
                json_free(&doc);
            if (rc != JSON_INVALID || err.offset > k)
                all = 0;
        }
        char what[80];
        snprintf(what, sizeof what, "document %zu: all %zu truncations rejected", d, len);
        check(all, what);
        valid(docs[d]);
    }
}

int main(void)
{
    valid("{}");
    valid(" [ ] ");
    valid("\t\r\n0\n");
    valid("\"\"");
    valid("null");
    valid("{\"\":0}");
    valid("[{\"a\":[{\"b\":[]}]}]");
    valid("{\"a\":1,\"A\":2,\"a \":3}");
    test_tree();
    test_strings();
    test_numbers();
    test_invalid();
    test_limits();
    test_truncation();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
