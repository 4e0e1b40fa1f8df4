/* fuzz_json.c: libFuzzer target for weights/json.c. Any input must either
 * fail cleanly or give a tree whose links and strings stay inside it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../weights/json.h"

/* Walks the subtree at n; returns its node count and aborts on a broken link. */
static uint32_t walk(const struct json_doc *doc, const struct json_node *n)
{
    uint32_t count = 1, children = 0;
    if (n < doc->root || n >= doc->root + doc->n_nodes)
        abort();
    if (n->type == JSON_STRING && (n->str[n->len] != 0))
        abort();
    if (n->key && n->key[n->key_len] != 0)
        abort();
    for (const struct json_node *c = json_child(n); c; c = json_next(c)) {
        /* Keys are unique, so lookup must find this very member (keys with
         * an embedded \u0000 cannot be looked up by C string). */
        if (n->type == JSON_OBJECT ? !c->key || (strlen(c->key) == c->key_len && json_get(n, c->key) != c)
                                   : c->key != NULL)
            abort();
        count += walk(doc, c);
        children++;
    }
    if ((n->type == JSON_ARRAY || n->type == JSON_OBJECT) && children != n->len)
        abort();
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json_doc doc;
    struct json_error err;
    if (json_parse((const char *)data, size, &doc, &err) != 0) {
        if (err.offset > size || memchr(err.msg, 0, sizeof err.msg) == NULL)
            abort();
        return 0;
    }
    if (walk(&doc, doc.root) != doc.n_nodes)
        abort();
    json_free(&doc);
    return 0;
}
