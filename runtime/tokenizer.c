/* tokenizer.c: encode and decode with the embedded tokenizer (tokenizer.h).
 *
 * The pre-tokenizer of DeepSeek-V3's tokenizer.json is three Split steps
 * ("Isolated": matches and the text between them both become pieces; each
 * step runs on every piece of the step before), then ByteLevel:
 *
 *   1. \p{N}{1,3}
 *   2. [\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+
 *   3. A1 [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+
 *      A2 |[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
 *      A3 | ?[\p{P}\p{S}]+[\r\n]*
 *      A4 |\s*[\r\n]+
 *      A5 |\s+(?!\S)
 *      A6 |\s+
 *
 * HF runs them with Oniguruma: leftmost-first alternatives with
 * backtracking, the search moving one character on where nothing matches.
 * match3() below gives, for each start position, the match Oniguruma finds
 * there; the comments derive each case from the pattern. gen/tokenizer.lua
 * checks that a tokenizer.json has exactly these patterns. */
#include "tokenizer.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer_unicode.h"

/* ---- growable buffers ------------------------------------------------------------------ */

void df_ids_free(struct df_ids *ids)
{
    free(ids->v);
    *ids = (struct df_ids){ 0 };
}

void df_text_free(struct df_text *t)
{
    free(t->p);
    *t = (struct df_text){ 0 };
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem)
            return -1;
        c *= 2;
    }
    void *q = realloc(*p, c * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

int df_ids_push(struct df_ids *ids, int32_t id)
{
    if (ids->n == ids->cap && grow((void **)&ids->v, &ids->cap, ids->n + 1, sizeof(int32_t)) != 0)
        return -1;
    ids->v[ids->n++] = id;
    return 0;
}

int df_text_append(struct df_text *t, const void *bytes, size_t n)
{
    if (n > SIZE_MAX - t->n - 1 || grow((void **)&t->p, &t->cap, t->n + n + 1, 1) != 0)
        return -1;
    if (n)
        memcpy(t->p + t->n, bytes, n);
    t->n += n;
    t->p[t->n] = 0;
    return 0;
}

/* ---- the tokenizer's run-time tables ---------------------------------------------------- */

/* A byte trie of added-token contents. */
struct trie_node {
    int32_t child, sibling; /* -1: none */
    int32_t token;          /* id of the token ending here, -1 if none */
    uint8_t byte;
};
struct trie {
    struct trie_node *node;
    size_t n, cap;
    uint8_t first[256];     /* bytes some token starts with */
};

struct merge_slot {
    uint32_t left, right;
    int32_t rank;           /* -1: empty */
};

struct df_tokenizer {
    const struct df_tokenizer_data *d;
    struct merge_slot *merge;
    uint32_t mask;
    struct trie added[2];   /* [0]: "normalized": false, [1]: true */
    uint8_t ascii[128];     /* df_uc_class of ASCII */
};

static struct df_tokenizer the_tokenizer;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *init_error;

static inline uint32_t pair_hash(uint32_t a, uint32_t b)
{
    uint64_t h = (((uint64_t)a << 32) | b) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32);
}

/* Rank of the merge (a, b), or -1. */
static inline int32_t merge_rank(const struct df_tokenizer *t, int32_t a, int32_t b)
{
    for (uint32_t i = pair_hash((uint32_t)a, (uint32_t)b) & t->mask;; i = (i + 1) & t->mask) {
        const struct merge_slot *s = &t->merge[i];
        if (s->rank < 0)
            return -1;
        if (s->left == (uint32_t)a && s->right == (uint32_t)b)
            return s->rank;
    }
}

static int trie_add(struct trie *tr, const unsigned char *s, size_t n, int32_t id)
{
    if (tr->n == 0) {
        if (grow((void **)&tr->node, &tr->cap, 1, sizeof *tr->node) != 0)
            return -1;
        tr->node[0] = (struct trie_node){ -1, -1, -1, 0 };
        tr->n = 1;
    }
    int32_t at = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t c = tr->node[at].child;
        while (c >= 0 && tr->node[c].byte != s[i])
            c = tr->node[c].sibling;
        if (c < 0) {
            if (grow((void **)&tr->node, &tr->cap, tr->n + 1, sizeof *tr->node) != 0)
                return -1;
            c = (int32_t)tr->n++;
            tr->node[c] = (struct trie_node){ -1, tr->node[at].child, -1, s[i] };
            tr->node[at].child = c;
        }
        at = c;
    }
    /* Two added tokens with the same content: HF keeps the first id. */
    if (tr->node[at].token < 0)
        tr->node[at].token = id;
    tr->first[s[0]] = 1;
    return 0;
}

static void init(void)
{
    struct df_tokenizer *t = &the_tokenizer;
    const struct df_tokenizer_data *d = &df_tokenizer_data;
    t->d = d;
    if (d->unsupported) {
        init_error = d->unsupported;
        return;
    }
    for (int c = 0; c < 128; c++)
        t->ascii[c] = (uint8_t)df_uc_class((uint32_t)c);
    uint32_t size = 1024;
    while (size < 2u * (uint32_t)d->n_merges + 1)
        size *= 2;
    t->merge = malloc(sizeof *t->merge * size);
    if (!t->merge)
        goto nomem;
    t->mask = size - 1;
    for (uint32_t i = 0; i < size; i++)
        t->merge[i].rank = -1;
    for (int32_t r = 0; r < d->n_merges; r++) {
        uint32_t a = (uint32_t)d->merges[3 * r], b = (uint32_t)d->merges[3 * r + 1];
        uint32_t i = pair_hash(a, b) & t->mask;
        while (t->merge[i].rank >= 0 && !(t->merge[i].left == a && t->merge[i].right == b))
            i = (i + 1) & t->mask;
        /* A pair listed twice: the later rank wins, as in HF's map. */
        t->merge[i] = (struct merge_slot){ a, b, r };
    }
    for (int32_t k = 0; k < d->n_added; k++) {
        const struct df_added_token *a = &d->added[k];
        if (trie_add(&t->added[a->normalized ? 1 : 0], (const unsigned char *)d->added_text + a->offset, a->len,
                     a->id) != 0)
            goto nomem;
    }
    return;
nomem:
    init_error = "out of memory building the tokenizer's tables";
}

const struct df_tokenizer *df_tokenizer_get(const char **why)
{
    pthread_once(&once, init);
    if (init_error) {
        if (why)
            *why = init_error;
        return NULL;
    }
    return &the_tokenizer;
}

const struct df_tokenizer_data *df_tokenizer_info(const struct df_tokenizer *t)
{
    return t ? t->d : &df_tokenizer_data;
}

/* ---- UTF-8 ------------------------------------------------------------------------------ */

/* Unicode Table 3-7: the well-formed sequences. Returns the length of the
 * sequence at b[0 .. n): > 0 valid; else -k: invalid, k >= 1 bytes (its
 * maximal subpart); 0: a valid prefix cut off by the end of the buffer. */
static int utf8_seq(const unsigned char *b, size_t n)
{
    unsigned c = b[0];
    if (c < 0x80)
        return 1;
    int len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) { len = 3; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) len = 3;
    else if (c == 0xED) { len = 3; hi = 0x9F; }
    else if (c >= 0xEE && c <= 0xEF) len = 3;
    else if (c == 0xF0) { len = 4; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) { len = 4; hi = 0x8F; }
    else return -1;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return 0;
        if (b[i] < lo || b[i] > hi)
            return -i;
        lo = 0x80;
        hi = 0xBF;
    }
    return len;
}

size_t df_utf8_check(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        /* ASCII eight bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        int k = utf8_seq(s + i, n - i);
        if (k <= 0)
            return i;
        i += (size_t)k;
    }
    return n;
}

size_t df_utf8_lossy(const unsigned char *b, size_t n, bool final, struct df_text *out)
{
    static const char fffd[3] = { (char)0xEF, (char)0xBF, (char)0xBD };
    size_t i = 0, run = 0; /* b[run .. i) is valid, not yet appended */
    while (i < n) {
        if (b[i] < 0x80) {
            i++;
            continue;
        }
        int k = utf8_seq(b + i, n - i);
        if (k > 0) {
            i += (size_t)k;
            continue;
        }
        if (df_text_append(out, b + run, i - run) != 0)
            return (size_t)-1;
        if (k == 0) {
            if (!final)
                return i;
            k = -(int)(n - i);
        }
        if (df_text_append(out, fffd, 3) != 0)
            return (size_t)-1;
        i += (size_t)-k;
        run = i;
    }
    if (i > run && df_text_append(out, b + run, i - run) != 0)
        return (size_t)-1;
    return n;
}

/* Decode the character at s[i] of valid UTF-8; *n = its length. */
static inline uint32_t u8dec(const unsigned char *s, size_t i, size_t *n)
{
    unsigned c = s[i];
    if (c < 0x80) {
        *n = 1;
        return c;
    }
    if (c < 0xE0) {
        *n = 2;
        return ((c & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu);
    }
    if (c < 0xF0) {
        *n = 3;
        return ((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
    }
    *n = 4;
    return ((c & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) | ((s[i + 2] & 0x3Fu) << 6) | (s[i + 3] & 0x3Fu);
}

/* ---- BPE -------------------------------------------------------------------------------- */

/* Pieces repeat (words, indentation): one encode call of a long text keeps
 * the ids of short pieces in a direct-mapped cache. A hit compares the
 * piece's bytes in full, so it returns exactly what BPE would. */
#define CACHE_SLOTS 4096
#define CACHE_BYTES 16
#define CACHE_IDS 8
#define CACHE_MIN_TEXT 4096 /* texts shorter than this are not worth the allocation */
struct cache_slot {
    uint8_t len, n;         /* len 0: empty */
    unsigned char bytes[CACHE_BYTES];
    int32_t ids[CACHE_IDS];
};

struct enc {
    const struct df_tokenizer *t;
    const unsigned char *s;
    struct df_ids *out;
    int err;
    struct cache_slot *cache; /* NULL: none */
    /* workspaces, grown as needed */
    int32_t *sym, *rank, *prev, *next;
    size_t cap;
    uint64_t *heap;
    size_t heap_cap;
};

static void enc_free(struct enc *e)
{
    free(e->cache);
    free(e->sym);
    free(e->rank);
    free(e->prev);
    free(e->next);
    free(e->heap);
}

static int enc_reserve(struct enc *e, size_t n)
{
    if (n <= e->cap)
        return 0;
    size_t c = e->cap ? e->cap : 64;
    while (c < n)
        c *= 2;
    int32_t *a = realloc(e->sym, c * sizeof *a);
    if (a) e->sym = a;
    int32_t *b = realloc(e->rank, c * sizeof *b);
    if (b) e->rank = b;
    int32_t *p = realloc(e->prev, c * sizeof *p);
    if (p) e->prev = p;
    int32_t *q = realloc(e->next, c * sizeof *q);
    if (q) e->next = q;
    if (!a || !b || !p || !q)
        return -1;
    e->cap = c;
    return 0;
}

/* Merge the pair of lowest rank, the leftmost of equal ranks, until no pair
 * has a merge: what HF's Word::merge_all does with its heap (an entry
 * whose pair changed is skipped there; here ranks are recomputed). */
static size_t bpe_quadratic(const struct df_tokenizer *t, int32_t *sym, int32_t *rank, size_t m)
{
    const int32_t *merges = t->d->merges;
    for (size_t i = 0; i + 1 < m; i++) {
        int32_t r = merge_rank(t, sym[i], sym[i + 1]);
        rank[i] = r < 0 ? INT32_MAX : r;
    }
    while (m > 1) {
        size_t best = 0;
        int32_t br = rank[0];
        for (size_t i = 1; i + 1 < m; i++) {
            if (rank[i] < br) {
                br = rank[i];
                best = i;
            }
        }
        if (br == INT32_MAX)
            break;
        sym[best] = merges[3 * (size_t)br + 2];
        if (best + 2 < m) {
            memmove(&sym[best + 1], &sym[best + 2], (m - best - 2) * sizeof *sym);
            if (best + 3 < m)
                memmove(&rank[best + 1], &rank[best + 2], (m - best - 3) * sizeof *rank);
        }
        m--;
        if (best > 0) {
            int32_t r = merge_rank(t, sym[best - 1], sym[best]);
            rank[best - 1] = r < 0 ? INT32_MAX : r;
        }
        if (best + 1 < m) {
            int32_t r = merge_rank(t, sym[best], sym[best + 1]);
            rank[best] = r < 0 ? INT32_MAX : r;
        }
    }
    return m;
}

/* Min-heap of (rank << 32 | position). */
static void heap_push(uint64_t *h, size_t *n, uint64_t v)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h[p] <= v)
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, size_t *n)
{
    uint64_t top = h[0], v = h[--*n];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m)
            break;
        if (c + 1 < m && h[c + 1] < h[c])
            c++;
        if (h[c] >= v)
            break;
        h[i] = h[c];
        i = c;
    }
    if (m)
        h[i] = v;
    return top;
}

/* The same merges as bpe_quadratic in O(n log n), for long pieces: HF's
 * algorithm (symbols in a linked list, candidate merges in a heap ordered
 * by rank then position; stale entries skipped). */
static size_t bpe_heap(struct enc *e, size_t m)
{
    const struct df_tokenizer *t = e->t;
    const int32_t *merges = t->d->merges;
    int32_t *sym = e->sym, *prev = e->prev, *next = e->next, *alive = e->rank;
    if (e->heap_cap < m) {
        uint64_t *h = realloc(e->heap, m * sizeof *h);
        if (!h)
            return (size_t)-1;
        e->heap = h;
        e->heap_cap = m;
    }
    uint64_t *h = e->heap;
    size_t hn = 0;
    for (size_t i = 0; i < m; i++) {
        prev[i] = (int32_t)i - 1;
        next[i] = i + 1 < m ? (int32_t)i + 1 : -1;
        alive[i] = 1;
    }
    for (size_t i = 0; i + 1 < m; i++) {
        int32_t r = merge_rank(t, sym[i], sym[i + 1]);
        if (r >= 0)
            heap_push(h, &hn, (uint64_t)r << 32 | i);
    }
    /* Each merge removes one symbol and pushes at most two entries, so the
     * heap never holds more than m entries... plus the initial m - 1: grow. */
    while (hn) {
        uint64_t top = heap_pop(h, &hn);
        int32_t r = (int32_t)(top >> 32);
        size_t i = (size_t)(uint32_t)top;
        if (!alive[i] || next[i] < 0)
            continue;
        size_t j = (size_t)next[i];
        if (merge_rank(t, sym[i], sym[j]) != r)
            continue;
        sym[i] = merges[3 * (size_t)r + 2];
        alive[j] = 0;
        next[i] = next[j];
        if (next[j] >= 0)
            prev[next[j]] = (int32_t)i;
        if (hn + 2 > e->heap_cap) {
            uint64_t *g = realloc(e->heap, 2 * e->heap_cap * sizeof *g);
            if (!g)
                return (size_t)-1;
            e->heap = h = g;
            e->heap_cap *= 2;
        }
        if (prev[i] >= 0) {
            int32_t q = merge_rank(t, sym[prev[i]], sym[i]);
            if (q >= 0)
                heap_push(h, &hn, (uint64_t)q << 32 | (uint32_t)prev[i]);
        }
        if (next[i] >= 0) {
            int32_t q = merge_rank(t, sym[i], sym[next[i]]);
            if (q >= 0)
                heap_push(h, &hn, (uint64_t)q << 32 | (uint32_t)i);
        }
    }
    size_t k = 0;
    for (int32_t i = 0; i >= 0; i = next[i])
        sym[k++] = sym[i];
    return k;
}

#define BPE_QUADRATIC_MAX 64

static void bpe(struct enc *e, size_t a, size_t b)
{
    if (e->err)
        return;
    const struct df_tokenizer *t = e->t;
    size_t n = b - a;
    if (n > INT32_MAX) { /* positions are 32-bit in the heap; a 2 GB word is refused */
        e->err = DF_TOK_NOMEM;
        return;
    }
    if (n == 1) {
        if (df_ids_push(e->out, t->d->byte_id[e->s[a]]) != 0)
            e->err = DF_TOK_NOMEM;
        return;
    }
    struct cache_slot *slot = NULL;
    if (e->cache && n <= CACHE_BYTES) {
        uint64_t h = 0x9E3779B97F4A7C15ull * n;
        for (size_t i = 0; i < n; i++)
            h = (h ^ e->s[a + i]) * 0x100000001B3ull;
        slot = &e->cache[(h ^ (h >> 29)) & (CACHE_SLOTS - 1)];
        if (slot->len == n && !memcmp(slot->bytes, e->s + a, n)) {
            if (grow((void **)&e->out->v, &e->out->cap, e->out->n + slot->n, sizeof(int32_t)) != 0) {
                e->err = DF_TOK_NOMEM;
                return;
            }
            memcpy(e->out->v + e->out->n, slot->ids, slot->n * sizeof(int32_t));
            e->out->n += slot->n;
            return;
        }
    }
    if (enc_reserve(e, n) != 0) {
        e->err = DF_TOK_NOMEM;
        return;
    }
    for (size_t i = 0; i < n; i++)
        e->sym[i] = t->d->byte_id[e->s[a + i]];
    size_t m = n <= BPE_QUADRATIC_MAX ? bpe_quadratic(t, e->sym, e->rank, n) : bpe_heap(e, n);
    if (m == (size_t)-1) {
        e->err = DF_TOK_NOMEM;
        return;
    }
    if (slot && m <= CACHE_IDS) {
        slot->len = (uint8_t)n;
        slot->n = (uint8_t)m;
        memcpy(slot->bytes, e->s + a, n);
        memcpy(slot->ids, e->sym, m * sizeof(int32_t));
    }
    if (grow((void **)&e->out->v, &e->out->cap, e->out->n + m, sizeof(int32_t)) != 0) {
        e->err = DF_TOK_NOMEM;
        return;
    }
    memcpy(e->out->v + e->out->n, e->sym, m * sizeof(int32_t));
    e->out->n += m;
}

int df_bpe_check(const struct df_tokenizer *t, const unsigned char *piece, size_t n, struct df_ids *quadratic,
                 struct df_ids *heap)
{
    struct enc e = { .t = t, .s = piece };
    int rc = DF_TOK_NOMEM;
    if (n == 0 || enc_reserve(&e, n) != 0)
        goto done;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++)
            e.sym[i] = t->d->byte_id[piece[i]];
        size_t m = pass == 0 ? bpe_quadratic(t, e.sym, e.rank, n) : bpe_heap(&e, n);
        if (m == (size_t)-1)
            goto done;
        for (size_t i = 0; i < m; i++)
            if (df_ids_push(pass == 0 ? quadratic : heap, e.sym[i]) != 0)
                goto done;
    }
    rc = DF_TOK_OK;
done:
    enc_free(&e);
    return rc;
}

/* ---- the pre-tokenizer ------------------------------------------------------------------ */

static inline unsigned cls_at(const struct enc *e, size_t i, size_t *n)
{
    if (e->s[i] < 0x80) {
        *n = 1;
        return e->t->ascii[e->s[i]];
    }
    return df_uc_class(u8dec(e->s, i, n));
}

static inline bool is_lm(unsigned c) { return (c & DF_UC_GROUP) == DF_UC_L || (c & DF_UC_GROUP) == DF_UC_M; }
static inline bool is_ps(unsigned c) { return (c & DF_UC_GROUP) == DF_UC_P || (c & DF_UC_GROUP) == DF_UC_S; }

/* End of the run of characters of class test starting at i (bounded by b). */
#define RUN(name, test)                                      \
    static inline size_t name(const struct enc *e, size_t i, size_t b) \
    {                                                        \
        while (i < b) {                                      \
            size_t n;                                        \
            unsigned c = cls_at(e, i, &n);                   \
            if (!(test))                                     \
                break;                                       \
            i += n;                                          \
        }                                                    \
        return i;                                            \
    }
RUN(run_lm, is_lm(c))
RUN(run_ps, is_ps(c))
RUN(run_space, (c & DF_UC_SPACE))

static inline bool ascii_punct(unsigned c)
{
    return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}
static inline bool ascii_alpha(unsigned c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

/* The end of the match of step 3 starting at i, or 0 when none starts there. */
static size_t match3(const struct enc *e, size_t i, size_t b)
{
    const unsigned char *s = e->s;
    size_t n0;
    unsigned c0 = cls_at(e, i, &n0);
    unsigned ch = s[i];
    unsigned g0 = c0 & DF_UC_GROUP;

    /* A1: one ASCII punctuation character, then ASCII letters (greedy; nothing follows). */
    if (ascii_punct(ch) && i + 1 < b && ascii_alpha(s[i + 1])) {
        size_t j = i + 1;
        while (j < b && ascii_alpha(s[j]))
            j++;
        return j;
    }
    /* A2: [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+. The optional character takes
     * c0 when it may; if no L/M follows it backtracks to the empty option,
     * where c0 itself must be L or M. (For an M, both give the same end.) */
    if (ch != '\r' && ch != '\n' && g0 != DF_UC_L && g0 != DF_UC_P && g0 != DF_UC_S) {
        size_t j = run_lm(e, i + n0, b);
        if (j > i + n0)
            return j;
    }
    if (g0 == DF_UC_L || g0 == DF_UC_M)
        return run_lm(e, i, b);
    /* A3: " ?[\p{P}\p{S}]+[\r\n]*". With a space first and no P/S after it,
     * the empty option fails too (a space is not P/S). */
    {
        size_t k = ch == ' ' ? i + 1 : i;
        size_t j = run_ps(e, k, b);
        if (j > k) {
            while (j < b && (s[j] == '\r' || s[j] == '\n'))
                j++;
            return j;
        }
    }
    if (!(c0 & DF_UC_SPACE))
        return 0;
    /* c0 is \s: let q be the end of the whitespace run. */
    size_t q = run_space(e, i, b);
    /* A4: \s*[\r\n]+. \s* takes the run and gives back one character at a
     * time until [\r\n]+ matches: at the last \r or \n of the run, which
     * [\r\n]+ then takes alone (the next character is not \r or \n). */
    for (size_t k = q; k > i; k--) {
        if (s[k - 1] == '\r' || s[k - 1] == '\n')
            return k;
    }
    /* A5: \s+(?!\S). At the end of the text the whole run; else the run
     * less its last character, if that leaves one (then a \s follows). */
    if (q == b)
        return q;
    size_t last = q - 1;
    while ((s[last] & 0xC0) == 0x80)
        last--;
    if (last > i)
        return last;
    /* A6: \s+ */
    return q;
}

static void split3(struct enc *e, size_t a, size_t b)
{
    size_t i = a, gap = a;
    while (i < b && !e->err) {
        size_t j = match3(e, i, b);
        if (j) {
            if (gap < i)
                bpe(e, gap, i);
            bpe(e, i, j);
            i = gap = j;
        } else {
            size_t n;
            (void)cls_at(e, i, &n);
            i += n;
        }
    }
    if (gap < b)
        bpe(e, gap, b);
}

static inline bool cjk(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x3040 && c <= 0x309F) || (c >= 0x30A0 && c <= 0x30FF);
}

/* Step 2: runs of [\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]. */
static void split2(struct enc *e, size_t a, size_t b)
{
    size_t i = a, gap = a;
    while (i < b) {
        size_t n;
        if (e->s[i] < 0xE3) { /* every character of the ranges starts with E3..E9 */
            i++;
            continue;
        }
        if (!cjk(u8dec(e->s, i, &n))) {
            i += n;
            continue;
        }
        size_t j = i + n;
        while (j < b && e->s[j] >= 0xE3 && cjk(u8dec(e->s, j, &n)))
            j += n;
        if (gap < i)
            split3(e, gap, i);
        split3(e, i, j);
        i = gap = j;
    }
    if (gap < b)
        split3(e, gap, b);
}

/* Step 1: \p{N}{1,3}. */
static void split1(struct enc *e, size_t a, size_t b)
{
    size_t i = a, gap = a;
    while (i < b) {
        size_t n = 1;
        unsigned c = e->s[i] < 0x80 ? e->t->ascii[e->s[i]] : cls_at(e, i, &n);
        if ((c & DF_UC_GROUP) != DF_UC_N) {
            i += n;
            continue;
        }
        size_t j = i;
        for (int k = 0; k < 3 && j < b; k++) {
            if ((cls_at(e, j, &n) & DF_UC_GROUP) != DF_UC_N)
                break;
            j += n;
        }
        if (gap < i)
            split2(e, gap, i);
        split2(e, i, j);
        i = gap = j;
    }
    if (gap < b)
        split2(e, gap, b);
}

/* ---- added tokens, then the rest -------------------------------------------------------- */

/* The longest added token of tr starting at s[i], or -1; *end after it. */
static int32_t trie_match(const struct trie *tr, const unsigned char *s, size_t i, size_t b, size_t *end)
{
    int32_t best = -1, at = 0;
    for (size_t j = i; j < b; j++) {
        int32_t c = tr->node[at].child;
        while (c >= 0 && tr->node[c].byte != s[j])
            c = tr->node[c].sibling;
        if (c < 0)
            break;
        at = c;
        if (tr->node[at].token >= 0) {
            best = tr->node[at].token;
            *end = j + 1;
        }
    }
    return best;
}

/* Leftmost-longest matches of the added tokens of stage k (0, then 1) in
 * s[a .. b); the text between them goes to the next stage. */
static void split_added(struct enc *e, int k, size_t a, size_t b)
{
    if (k == 2) {
        split1(e, a, b);
        return;
    }
    const struct trie *tr = &e->t->added[k];
    size_t i = a, gap = a;
    if (tr->n) {
        while (i < b && !e->err) {
            size_t end;
            int32_t id;
            if (!tr->first[e->s[i]] || (id = trie_match(tr, e->s, i, b, &end)) < 0) {
                i++;
                continue;
            }
            if (gap < i)
                split_added(e, k + 1, gap, i);
            if (df_ids_push(e->out, id) != 0)
                e->err = DF_TOK_NOMEM;
            i = gap = end;
        }
    }
    if (gap < b)
        split_added(e, k + 1, gap, b);
}

int df_encode(const struct df_tokenizer *t, const char *text, size_t len, struct df_ids *out, size_t *bad_offset)
{
    size_t bad = df_utf8_check((const unsigned char *)text, len);
    if (bad < len) {
        if (bad_offset)
            *bad_offset = bad;
        return DF_TOK_BAD_UTF8;
    }
    struct enc e = { .t = t, .s = (const unsigned char *)text, .out = out };
    size_t n0 = out->n;
    if (len >= CACHE_MIN_TEXT)
        e.cache = calloc(CACHE_SLOTS, sizeof *e.cache); /* none if that fails: only slower */
    if (len)
        split_added(&e, 0, 0, len);
    enc_free(&e);
    if (e.err)
        out->n = n0;
    return e.err;
}

/* ---- decoding --------------------------------------------------------------------------- */

const char *df_token_bytes(const struct df_tokenizer *t, int32_t id, size_t *len)
{
    const struct df_tokenizer_data *d = t->d;
    if (id < 0 || id >= d->n_ids) {
        *len = 0;
        return "";
    }
    *len = d->offset[id + 1] - d->offset[id];
    return d->text + d->offset[id];
}

int df_decode(const struct df_tokenizer *t, const int32_t *ids, size_t n, struct df_text *out)
{
    struct df_text raw = { 0 };
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *p = df_token_bytes(t, ids[i], &len);
        if (df_text_append(&raw, p, len) != 0)
            goto done;
    }
    if (df_utf8_lossy((const unsigned char *)raw.p, raw.n, true, out) == (size_t)-1)
        goto done;
    rc = 0;
done:
    df_text_free(&raw);
    return rc;
}

void df_detok_init(struct df_detok *d, const struct df_tokenizer *t)
{
    *d = (struct df_detok){ .t = t };
}

int df_detok_push(struct df_detok *d, int32_t id, struct df_text *out)
{
    size_t len;
    const unsigned char *p = (const unsigned char *)df_token_bytes(d->t, id, &len);
    /* Complete the held-back character first, byte by byte. */
    while (d->n_pending && len) {
        d->pending[d->n_pending++] = *p++;
        len--;
        size_t used = df_utf8_lossy(d->pending, (size_t)d->n_pending, false, out);
        if (used == (size_t)-1)
            return -1;
        memmove(d->pending, d->pending + used, (size_t)d->n_pending - used);
        d->n_pending -= (int)used;
    }
    if (!len)
        return 0;
    size_t used = df_utf8_lossy(p, len, false, out);
    if (used == (size_t)-1)
        return -1;
    memcpy(d->pending, p + used, len - used); /* at most 3 bytes */
    d->n_pending = (int)(len - used);
    return 0;
}

int df_detok_finish(struct df_detok *d, struct df_text *out)
{
    size_t used = df_utf8_lossy(d->pending, (size_t)d->n_pending, true, out);
    d->n_pending = 0;
    return used == (size_t)-1 ? -1 : 0;
}
