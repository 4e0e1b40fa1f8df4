/* chat.h: the chat template, rendered natively.
 *
 * DeepSeek-V3's tokenizer_config.json carries a Jinja chat template; the
 * generator recognizes it (by its sha256) and the runtime renders the same
 * text here, byte for byte (tests/tokenizer/ compares it with strings that
 * HF transformers' apply_chat_template rendered). The rendered text is then
 * encoded like any other: its special-token strings become their ids. */
#ifndef DF_CHAT_H
#define DF_CHAT_H

#include <stdbool.h>
#include <stddef.h>

#include "tokenizer.h"

/* role: "system", "user", "assistant" or "tool"; content: UTF-8. (The
 * template's assistant tool calls, content none, are not supported.) */
struct df_chat_message {
    const char *role;
    const char *content;
    size_t len;
};

/* Append the rendered conversation to *out: BOS, the system prompts joined
 * by "\n\n", the turns, and with add_generation_prompt a final
 * "<｜Assistant｜>". 0, or -1 with err (no supported template, out of memory). */
int df_chat_render(const struct df_tokenizer_data *d, const struct df_chat_message *msgs, int n,
                   bool add_generation_prompt, struct df_text *out, char *err, size_t errlen);

/* The ids a prompt becomes: with chat, the prompt as one user turn (after
 * an optional system prompt) with the generation prompt; without, BOS (when
 * the tokenizer's config adds one and bos is set) and the text. 0, or an
 * exit-code-like error: 2 with err (bad UTF-8, no chat template), 1 (out of
 * memory). */
int df_prompt_ids(const struct df_tokenizer *t, const char *text, size_t len, bool chat, const char *system,
                  bool bos, struct df_ids *out, char *err, size_t errlen);

#endif
