/* generate.c: the step loop around the generated forward pass.
 *
 * Sequence i of the batch owns KV-cache slot i. Prefill packs the prompts'
 * tokens, sequence by sequence, into steps of at most prefill_chunk tokens;
 * a sequence's last prompt token asks for logits. Decode then feeds each
 * sequence its latest token, one step per generated token. */
#include "generate.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int write_row(FILE *f, const float *row, int vocab, long index)
{
    if (!f)
        return 0;
    if (fseek(f, index * (long)vocab * (long)sizeof(float), SEEK_SET) != 0)
        return -1;
    return fwrite(row, sizeof(float), (size_t)vocab, f) == (size_t)vocab ? 0 : -1;
}

int df_generate(const struct df_engine *e, const struct df_prompts *p, int n_new, struct df_sampler *s,
                FILE *logits_out, int **out)
{
    return df_generate_stream(e, p, n_new, s, logits_out, out, NULL, NULL, NULL);
}

/* Hand token k of every sequence to the stream; nonzero: stop. */
static int stream_step(const struct df_stream *stream, const struct df_prompts *p, int **out, int k)
{
    int stop = 0;
    for (int i = 0; stream && i < p->n; i++)
        stop |= stream->token(stream->ctx, i, k, out[i][k]);
    return stop;
}

/* Token k of the sequences whose logits are the step's first rows (row r: sequence seq[r], or r
 * when seq is NULL). Greedy: the backend's picks alone; sampled without logits to write, the
 * backend's picks with each sequence's next random draw, where it samples itself; else each row
 * read back, sampled here, and written to logits_out (row k of its sequence). picked and draw:
 * rows of scratch. 0, or -1 on a write error. */
static int step_tokens(const struct df_engine *e, struct df_sampler *s, bool greedy, int rows, const int *seq, int k,
                       int n_new, uint64_t *rng, FILE *logits_out, int *picked, uint32_t *draw, int **out)
{
    const struct df_model *m = e->model;
    const struct df_backend *b = m->backend;
    if (greedy || (!logits_out && b->sample_tokens)) {
        if (greedy)
            b->greedy_tokens(e->arena, m->logits_offset, rows, m->vocab, picked);
        else {
            for (int r = 0; r < rows; r++)
                draw[r] = df_sample_draw(&rng[seq ? seq[r] : r]);
            b->sample_tokens(e->arena, m->logits_offset, rows, m->vocab, &s->params, draw, picked);
        }
        for (int r = 0; r < rows; r++)
            out[seq ? seq[r] : r][k] = picked[r];
        return 0;
    }
    const float *logits = b->read_logits(e->arena, m->logits_offset, rows, m->vocab);
    for (int r = 0; r < rows; r++) {
        const float *row = logits + (size_t)r * m->vocab;
        const int q = seq ? seq[r] : r;
        out[q][k] = df_sample(s, row, &rng[q]);
        if (write_row(logits_out, row, m->vocab, (long)q * n_new + k) != 0)
            return -1;
    }
    return 0;
}

int df_generate_stream(const struct df_engine *e, const struct df_prompts *p, int n_new, struct df_sampler *s,
                       FILE *logits_out, int **out, const struct df_stream *stream, int *n_done,
                       const struct df_prompts *force)
{
    const struct df_model *m = e->model;
    const int cap = m->prefill_chunk;
    int *token = malloc(sizeof(int) * (size_t)cap), *slot = malloc(sizeof(int) * (size_t)cap);
    int *pos = malloc(sizeof(int) * (size_t)cap), *emit = malloc(sizeof(int) * (size_t)cap);
    int *emit_seq = malloc(sizeof(int) * (size_t)cap), *picked = malloc(sizeof(int) * (size_t)cap);
    uint32_t *draw = malloc(sizeof(uint32_t) * (size_t)cap);
    uint64_t *rng = malloc(sizeof(uint64_t) * (size_t)p->n);
    /* Greedy without logits to write: only the picked tokens come back from the backend
     * (a GPU then copies a few ints a step instead of the logits rows). */
    const bool greedy = s->cfg.temperature <= 0.0f && !logits_out;
    int rc = -1;
    if (!token || !slot || !pos || !emit || !emit_seq || !picked || !draw || !rng)
        goto done;
    for (int i = 0; i < p->n; i++)
        rng[i] = df_rng_seed(s->cfg.seed, i);

    /* Prefill: the prompts' tokens, in order, cut into steps. */
    struct df_step step = { 0, token, slot, pos, 0, emit };
    for (int i = 0, t = 0;;) {
        const int done_all = i == p->n;
        if (step.n == cap || (done_all && step.n > 0)) {
            m->prefill(e->weights, e->arena, &step);
            if (step_tokens(e, s, greedy, step.n_emit, emit_seq, 0, n_new, rng, logits_out, picked, draw, out) != 0)
                goto done;
            step.n = step.n_emit = 0;
        }
        if (done_all)
            break;
        token[step.n] = p->ids[i][t];
        slot[step.n] = i;
        pos[step.n] = t;
        if (t == p->len[i] - 1) {
            emit_seq[step.n_emit] = i;
            emit[step.n_emit++] = step.n;
        }
        step.n++;
        if (++t == p->len[i]) {
            i++;
            t = 0;
        }
    }

    /* Decode: one token per sequence per step; logits row i is sequence i. */
    step.n = p->n;
    step.n_emit = 0;
    int done_k = 1, stop = stream_step(stream, p, out, 0);
    for (int k = 1; k < n_new && !stop; k++) {
        for (int i = 0; i < p->n; i++) {
            token[i] = force ? force->ids[i][k - 1] : out[i][k - 1];
            slot[i] = i;
            pos[i] = p->len[i] + k - 1;
        }
        m->decode(e->weights, e->arena, &step);
        if (step_tokens(e, s, greedy, step.n, NULL, k, n_new, rng, logits_out, picked, draw, out) != 0)
            goto done;
        done_k = k + 1;
        stop = stream_step(stream, p, out, k);
    }
    if (n_done)
        *n_done = done_k;
    rc = 0;
done:
    free(token);
    free(slot);
    free(pos);
    free(emit);
    free(emit_seq);
    free(picked);
    free(draw);
    free(rng);
    return rc;
}
