/* tokenizer.h: the embedded tokenizer: text -> ids -> text.
 *
 * One kind of tokenizer, exactly as Hugging Face `tokenizers` runs it:
 * byte-level BPE with the DeepSeek-V3 pre-tokenizer. Encoding: added tokens
 * are cut out of the text first (leftmost-longest; "normalized": false ones,
 * then "normalized": true ones), the rest is split by the three regexes of
 * the pre-tokenizer (a scanner written for exactly those patterns, Unicode
 * classes from runtime/tokenizer_unicode.h), and each piece's bytes are
 * merged by rank. Decoding: the bytes of each id, then UTF-8 with invalid
 * sequences replaced by U+FFFD, one per maximal subpart (like Rust's
 * String::from_utf8_lossy, which HF uses). See docs/tokenizer.md. */
#ifndef DF_TOKENIZER_H
#define DF_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizer_data.h"

struct df_tokenizer;

/* Growable outputs; start zeroed, free with df_ids_free / df_text_free. */
struct df_ids {
    int32_t *v;
    size_t n, cap;
};
struct df_text {
    char *p;
    size_t n, cap;
};
void df_ids_free(struct df_ids *ids);
void df_text_free(struct df_text *t);
int df_ids_push(struct df_ids *ids, int32_t id);                  /* 0, or -1: out of memory */
int df_text_append(struct df_text *t, const void *bytes, size_t n);/* 0, or -1 */

/* The tokenizer compiled into this binary, ready (its tables are built on
 * the first call; thread-safe). NULL when it cannot be used, with *why. */
const struct df_tokenizer *df_tokenizer_get(const char **why);
const struct df_tokenizer_data *df_tokenizer_info(const struct df_tokenizer *t);

enum { DF_TOK_OK = 0, DF_TOK_BAD_UTF8 = 1, DF_TOK_NOMEM = 2 };

/* Append the ids of text[0 .. len) to *out (no BOS). Returns DF_TOK_OK;
 * DF_TOK_BAD_UTF8 when the text is not valid UTF-8 (*bad_offset: the first
 * byte that is not; nothing appended), or DF_TOK_NOMEM. */
int df_encode(const struct df_tokenizer *t, const char *text, size_t len, struct df_ids *out, size_t *bad_offset);

/* The bytes id decodes to (possibly part of a UTF-8 character); *len = 0
 * and "" for an id with no token (HF skips those). */
const char *df_token_bytes(const struct df_tokenizer *t, int32_t id, size_t *len);

/* Append the text of ids to *out, as HF's decode does (no tokens skipped,
 * invalid UTF-8 replaced). 0, or -1: out of memory. */
int df_decode(const struct df_tokenizer *t, const int32_t *ids, size_t n, struct df_text *out);

/* Streaming decode for generation: push ids one at a time; each push
 * appends only complete characters, holding back a character that
 * continues in the next token. The concatenated output after
 * df_detok_finish equals df_decode of all ids. */
struct df_detok {
    const struct df_tokenizer *t;
    unsigned char pending[4];
    int n_pending;
};
void df_detok_init(struct df_detok *d, const struct df_tokenizer *t);
int df_detok_push(struct df_detok *d, int32_t id, struct df_text *out);
int df_detok_finish(struct df_detok *d, struct df_text *out);

/* Append bytes[0 .. n) as UTF-8 with each maximal invalid subpart replaced
 * by U+FFFD. When !final, a valid but incomplete sequence at the end is not
 * consumed. Returns the bytes consumed, or (size_t)-1 on out of memory. */
size_t df_utf8_lossy(const unsigned char *bytes, size_t n, bool final, struct df_text *out);

/* The first byte of text[0 .. n) that is not valid UTF-8, or n. */
size_t df_utf8_check(const unsigned char *text, size_t n);

/* For tests: the BPE of one piece by the simple quadratic loop and by the
 * heap (both must agree with each other and with HF). */
int df_bpe_check(const struct df_tokenizer *t, const unsigned char *piece, size_t n, struct df_ids *quadratic,
                 struct df_ids *heap);

#endif
