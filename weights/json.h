/* json.h: a small strict JSON parser (RFC 8259) for safetensors headers and
 * model.safetensors.index.json.
 *
 * The document is parsed into one array of nodes in pre-order, so a node's
 * first child (if any) is the node right after it and its next sibling is
 * `next` nodes further on. Everything lives in one allocation that json_free
 * releases; node pointers and strings stay valid until then.
 *
 * Strict means: only what RFC 8259 allows (no comments, no trailing commas,
 * no BOM, no leading zeros, no NaN), strings must be valid UTF-8 and \u
 * escapes must pair surrogates correctly. Duplicate keys in one object are an
 * error (the RFC leaves them open; for tensor tables any choice would hide a
 * broken file). Limits: input <= JSON_MAX_BYTES, nesting <= JSON_MAX_DEPTH,
 * number literals <= JSON_MAX_NUMBER characters, reals must fit a double. */
#ifndef DF_JSON_H
#define DF_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_BYTES (256u << 20)
#define JSON_MAX_DEPTH 64
#define JSON_MAX_NUMBER 256

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_node {
    enum json_type type;
    uint32_t len;       /* string: bytes (without the NUL); array/object: children */
    uint32_t next;      /* nodes from this one to its next sibling; 0 for the last */
    uint32_t off;       /* byte offset in the text (of the key, for object members) */
    const char *key;    /* object members: the key, NUL-terminated; NULL otherwise */
    uint32_t key_len;   /* object members: bytes of the key */
    const char *str;    /* string: the value as UTF-8, NUL-terminated; may hold \0 */
    double num;         /* number: the nearest double */
    int64_t i;          /* number: the exact value when is_int */
    int is_int;         /* number: written as an integer (no '.', no exponent) that fits int64_t */
};

struct json_doc {
    const struct json_node *root;
    uint32_t n_nodes;
    void *mem;          /* the one allocation */
};

struct json_error {
    size_t offset;      /* byte offset in the text where the problem was found */
    char msg[96];
};

/* Parses text[0..len). Returns 0 and fills doc, or fills err and returns
 * JSON_INVALID (bad or too large input) or JSON_NOMEM. Never reads outside
 * text[0..len); text need not be NUL-terminated. */
enum { JSON_INVALID = -1, JSON_NOMEM = -2 };
int json_parse(const char *text, size_t len, struct json_doc *doc, struct json_error *err);
void json_free(struct json_doc *doc);

/* First child of an array or object, next sibling, member of an object by
 * key: NULL when there is none. */
const struct json_node *json_child(const struct json_node *n);
const struct json_node *json_next(const struct json_node *n);
const struct json_node *json_get(const struct json_node *obj, const char *key);

const char *json_type_name(enum json_type t);

#endif
