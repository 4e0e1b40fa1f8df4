/* tokenizer_data.h: the tokenizer as data compiled into the binary.
 *
 * gen/tokenizer.lua turns a tokenizer.json (and its tokenizer_config.json)
 * into one C file defining `df_tokenizer_data`; the build makes it once per
 * tokenizer (build/tokenizers/deepseek-v3.c for the bundled DeepSeek-V3 one,
 * build/<name>/tokenizer.c for a checkpoint that brings its own) and links
 * it into the binary. Nothing is read at run time. See docs/tokenizer.md. */
#ifndef DF_TOKENIZER_DATA_H
#define DF_TOKENIZER_DATA_H

#include <stdint.h>

/* An added token (tokenizer.json "added_tokens"): matched in the raw text
 * before pre-tokenization, as HF tokenizers does: first the tokens with
 * "normalized": false, then, in the text between them, those with true. */
struct df_added_token {
    int32_t id;
    uint32_t offset, len;   /* its content, UTF-8, in added_text */
    uint8_t special, normalized;
};

/* Chat templates the runtime renders natively (runtime/chat.c). */
enum df_chat_kind { DF_CHAT_NONE = 0, DF_CHAT_DEEPSEEK_V3 = 1 };

struct df_tokenizer_data {
    const char *name;            /* e.g. "deepseek-v3" */
    const char *json_sha256;     /* hex, of the tokenizer.json it was made from */
    const char *unsupported;     /* NULL, or why this tokenizer.json cannot be used */
    int32_t n_ids;               /* ids 0 .. n_ids-1; an id whose text is empty has no token */
    const char *text;            /* what each id decodes to (bytes), concatenated */
    const uint32_t *offset;      /* [n_ids + 1]: id i is text[offset[i] .. offset[i+1]) */
    int32_t byte_id[256];        /* the token of each single byte (byte-level alphabet) */
    int32_t n_merges;
    const int32_t *merges;       /* [n_merges][3]: left id, right id, merged id; rank = index */
    int32_t n_added;
    const struct df_added_token *added;
    const char *added_text;
    int32_t bos, eos;            /* -1 when unknown (no tokenizer_config.json) */
    int add_bos;                 /* tokenizer_config.json add_bos_token */
    enum df_chat_kind chat;      /* the chat template, if it is one we render */
    const char *chat_unsupported;/* NULL, or why --chat cannot be used */
};

extern const struct df_tokenizer_data df_tokenizer_data;

#endif
