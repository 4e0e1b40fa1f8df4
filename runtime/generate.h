/* generate.h: prefill a batch of prompts, then decode token by token. */
#ifndef DF_GENERATE_H
#define DF_GENERATE_H

#include <stdio.h>

#include "model.h"
#include "prompts.h"
#include "sample.h"

struct df_engine {
    const struct df_model *model;
    const unsigned char *weights;   /* the packed file's data section */
    unsigned char *arena;           /* model->arena_bytes, the static plan */
};

/* Generate n_new tokens for every prompt (at most max_batch of them, each
 * prompt + n_new within max_context: the caller checks). out[i] receives
 * n_new ids. When logits_out is set, writes for each sequence in order
 * n_new rows of vocab floats: row 0 after its prompt, row k after its
 * generated token k-1. Returns 0, or -1 on a write error. */
int df_generate(const struct df_engine *e, const struct df_prompts *p, int n_new, struct df_sampler *s,
                FILE *logits_out, int **out);

/* Streaming: token() is called for each sampled token as soon as it exists
 * (token k of every sequence, in sequence order, before step k + 1 runs).
 * When it returns nonzero, generation ends after that step's tokens: *n_done
 * (if not NULL) receives the tokens generated per sequence (<= n_new), and
 * logits_out holds that many rows per sequence. */
struct df_stream {
    int (*token)(void *ctx, int seq, int k, int id);
    void *ctx;
};
/* force (NULL: none): teacher forcing. Decode step k feeds sequence i the token
 * force->ids[i][k - 1] instead of its generated one (force->len[i] >= n_new - 1),
 * so the logits rows are the model's scores of that continuation; out still
 * receives the model's own picks. */
int df_generate_stream(const struct df_engine *e, const struct df_prompts *p, int n_new, struct df_sampler *s,
                       FILE *logits_out, int **out, const struct df_stream *stream, int *n_done,
                       const struct df_prompts *force);

#endif
