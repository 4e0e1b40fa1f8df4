/* tokenizer_cli.h: the `tokenize` and `detokenize` subcommands (subcommands.c lists them). */
#ifndef DF_TOKENIZER_CLI_H
#define DF_TOKENIZER_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "tokenizer.h"

int df_cmd_tokenize(int argc, char **argv);
int df_cmd_detokenize(int argc, char **argv);

/* One line of `tokenize --jsonl`: {"id": X, "text": "..."} (other members with
 * scalar values are skipped). Sets *id and *id_len to the raw JSON text of X and
 * text to the unescaped text. NULL, or why the line is refused. */
const char *df_jsonl_parse_line(const char *line, const char *end, const char **id, size_t *id_len,
                                struct df_text *text, struct df_text *scratch);

/* For the binary's --prompt TEXT [--chat [--system TEXT]]: the prompt's ids
 * (malloc'd), every one checked to be below the model's vocab. 0, or an exit
 * code (2: no usable tokenizer, not UTF-8, an id the model does not have;
 * 1: out of memory) with the reason printed. */
int df_text_prompt(const char *prog, const char *text, bool chat, const char *system, int vocab, int **ids,
                   int *len);

/* Generated text, printed as it is produced: a df_stream (generate.h) whose
 * ctx is a struct df_text_out. Sequence 0's tokens are decoded and written
 * to f (whole characters only, flushed each token); EOS ends the text and
 * the generation, and is not printed. */
struct df_text_out {
    FILE *f;
    struct df_detok d;
    int eos;
    int error;          /* a write failed */
};
void df_text_out_init(struct df_text_out *o, FILE *f);
int df_text_out_token(void *ctx, int seq, int k, int id);
int df_text_out_finish(struct df_text_out *o); /* the held-back bytes and a newline; 0, or -1: write error */

#endif
