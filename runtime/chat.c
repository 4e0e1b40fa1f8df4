/* chat.c: DeepSeek-V3's chat template (tokenizer_config.json "chat_template"),
 * written out in C. The Jinja source, reduced to what it does:
 *
 *   bos_token + the contents of all system messages joined by "\n\n"
 *   for each message:
 *     user:      "<｜User｜>" + content                         (is_tool = false)
 *     assistant: is_tool ? "<｜tool▁outputs▁end｜>" + content + "<｜end▁of▁sentence｜>"
 *                        : "<｜Assistant｜>" + content + "<｜end▁of▁sentence｜>"
 *                                                               (is_tool = false)
 *     tool:      first tool message of the conversation:
 *                  "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>" + content + "<｜tool▁output▁end｜>"
 *                later ones: "\n<｜tool▁output▁begin｜>" + content + "<｜tool▁output▁end｜>"
 *                                                               (is_tool = true)
 *     any other role: nothing
 *   if is_tool: "<｜tool▁outputs▁end｜>"
 *   if add_generation_prompt and not is_tool: "<｜Assistant｜>"
 *
 * (The template's "is_output_first" is never reset, so only the first tool
 * message of a whole conversation opens with "<｜tool▁outputs▁begin｜>".) */
#include "chat.h"

#include <stdio.h>
#include <string.h>

#define FW "\uFF5C" /* ｜ */
#define SP "\u2581" /* ▁ */

static const char USER[] = "<" FW "User" FW ">";
static const char ASSISTANT[] = "<" FW "Assistant" FW ">";
static const char END[] = "<" FW "end" SP "of" SP "sentence" FW ">";
static const char OUTPUTS_BEGIN[] = "<" FW "tool" SP "outputs" SP "begin" FW ">";
static const char OUTPUTS_END[] = "<" FW "tool" SP "outputs" SP "end" FW ">";
static const char OUTPUT_BEGIN[] = "<" FW "tool" SP "output" SP "begin" FW ">";
static const char OUTPUT_END[] = "<" FW "tool" SP "output" SP "end" FW ">";

static int put(struct df_text *out, const char *s)
{
    return df_text_append(out, s, strlen(s));
}

/* The text of the BOS token: its added-token content, else its bytes. */
static int put_bos(const struct df_tokenizer_data *d, struct df_text *out)
{
    for (int i = 0; i < d->n_added; i++)
        if (d->added[i].id == d->bos)
            return df_text_append(out, d->added_text + d->added[i].offset, d->added[i].len);
    return df_text_append(out, d->text + d->offset[d->bos], d->offset[d->bos + 1] - d->offset[d->bos]);
}

int df_chat_render(const struct df_tokenizer_data *d, const struct df_chat_message *m, int n,
                   bool add_generation_prompt, struct df_text *out, char *err, size_t errlen)
{
    if (d->chat != DF_CHAT_DEEPSEEK_V3) {
        snprintf(err, errlen, "no chat template: %s", d->chat_unsupported ? d->chat_unsupported : "unknown");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (!m[i].content) {
            snprintf(err, errlen, "message %d (%s) has no content (tool calls are not supported)", i + 1, m[i].role);
            return -1;
        }
    }
    int rc = put_bos(d, out);
    bool first_system = true;
    for (int i = 0; i < n && !rc; i++) {
        if (strcmp(m[i].role, "system"))
            continue;
        if (!first_system)
            rc |= put(out, "\n\n");
        rc |= df_text_append(out, m[i].content, m[i].len);
        first_system = false;
    }
    bool is_tool = false, output_first = true;
    for (int i = 0; i < n && !rc; i++) {
        const char *role = m[i].role;
        if (!strcmp(role, "user")) {
            is_tool = false;
            rc |= put(out, USER);
            rc |= df_text_append(out, m[i].content, m[i].len);
        } else if (!strcmp(role, "assistant")) {
            rc |= put(out, is_tool ? OUTPUTS_END : ASSISTANT);
            rc |= df_text_append(out, m[i].content, m[i].len);
            rc |= put(out, END);
            is_tool = false;
        } else if (!strcmp(role, "tool")) {
            is_tool = true;
            if (output_first) {
                rc |= put(out, OUTPUTS_BEGIN);
                output_first = false;
            } else {
                rc |= put(out, "\n");
            }
            rc |= put(out, OUTPUT_BEGIN);
            rc |= df_text_append(out, m[i].content, m[i].len);
            rc |= put(out, OUTPUT_END);
        }
    }
    if (is_tool)
        rc |= put(out, OUTPUTS_END);
    if (add_generation_prompt && !is_tool)
        rc |= put(out, ASSISTANT);
    if (rc) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int df_prompt_ids(const struct df_tokenizer *t, const char *text, size_t len, bool chat, const char *system,
                  bool bos, struct df_ids *out, char *err, size_t errlen)
{
    const struct df_tokenizer_data *d = df_tokenizer_info(t);
    struct df_text rendered = { 0 };
    size_t bad = df_utf8_check((const unsigned char *)text, len);
    int rc;
    if (bad < len) {
        snprintf(err, errlen, "not valid UTF-8 (byte %zu)", bad);
        return 2;
    }
    if (system && (bad = df_utf8_check((const unsigned char *)system, strlen(system))) < strlen(system)) {
        snprintf(err, errlen, "system prompt: not valid UTF-8 (byte %zu)", bad);
        return 2;
    }
    if (chat) {
        struct df_chat_message msg[2];
        int n = 0;
        if (system)
            msg[n++] = (struct df_chat_message){ "system", system, strlen(system) };
        msg[n++] = (struct df_chat_message){ "user", text, len };
        if (df_chat_render(d, msg, n, true, &rendered, err, errlen) != 0) {
            df_text_free(&rendered);
            return d->chat == DF_CHAT_DEEPSEEK_V3 ? 1 : 2;
        }
        text = rendered.p;
        len = rendered.n;
    } else if (bos) {
        if (d->bos < 0) {
            snprintf(err, errlen, "this tokenizer has no BOS token (no tokenizer_config.json)");
            return 2;
        }
        if (df_ids_push(out, d->bos) != 0) {
            snprintf(err, errlen, "out of memory");
            return 1;
        }
    }
    rc = df_encode(t, text, len, out, &bad);
    df_text_free(&rendered);
    if (rc == DF_TOK_BAD_UTF8) {
        snprintf(err, errlen, "not valid UTF-8 (byte %zu)", bad);
        return 2;
    }
    if (rc != DF_TOK_OK) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    return 0;
}
