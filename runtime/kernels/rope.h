/* rope.h: rotary position embedding with YaRN frequencies.
 *
 * DeepSeek checkpoints store the RoPE dimensions of q and k as interleaved
 * pairs (x[2i], x[2i+1]), each pair rotated by angle pos * freq[i]. The table
 * holds cos, sin per pair for every position: [max_context][rope_dim]. */
#ifndef DF_KERNELS_ROPE_H
#define DF_KERNELS_ROPE_H

#include <math.h>

#include "../threads.h"
#include "hd.h"

#define DF_PI 3.14159265358979323846

struct df_yarn {
    double factor;        /* 1: plain RoPE */
    double original_max;  /* context the model was trained at */
    double beta_fast, beta_slow;
};

/* YaRN (Peng et al. 2023) as DeepSeek uses it: frequencies that turn more than
 * beta_fast times over the original context keep their value, those turning
 * fewer than beta_slow times are divided by factor, a linear ramp in between. */
static inline double yarn_correction_dim(double rotations, int dim, double theta, double max_pos)
{
    return dim * log(max_pos / (rotations * 2.0 * DF_PI)) / (2.0 * log(theta));
}

static inline void rope_table_init(float *table, int max_context, int dim, double theta,
                                   const struct df_yarn *y)
{
    const int half = dim / 2;
    double low = 0.0, high = 0.0;
    if (y->factor > 1.0) {
        low = floor(yarn_correction_dim(y->beta_fast, dim, theta, y->original_max));
        high = ceil(yarn_correction_dim(y->beta_slow, dim, theta, y->original_max));
        if (low < 0.0) low = 0.0;
        if (high > dim - 1) high = dim - 1;
        if (low == high) high += 0.001;
    }
    for (int i = 0; i < half; i++) {
        double freq = 1.0 / pow(theta, (double)(2 * i) / dim);
        if (y->factor > 1.0) {
            double ramp = ((double)i - low) / (high - low);
            ramp = ramp < 0.0 ? 0.0 : ramp > 1.0 ? 1.0 : ramp;
            freq = freq / y->factor * ramp + freq * (1.0 - ramp);
        }
        for (int p = 0; p < max_context; p++) {
            double a = (double)p * freq;
            table[(size_t)p * dim + 2 * i] = (float)cos(a);
            table[(size_t)p * dim + 2 * i + 1] = (float)sin(a);
        }
    }
}

/* Rotate the pair v[0], v[1] by the angle whose cosine and sine are cs[0], cs[1]. */
static inline DF_HD void rope_pair(float *v, const float *cs)
{
    const float c = cs[0], s = cs[1], x0 = v[0], x1 = v[1];
    v[0] = x0 * c - x1 * s;
    v[1] = x0 * s + x1 * c;
}

/* Rotate the interleaved pairs of v[0..dim) to position pos. */
static inline DF_HD void rope_rotate(float *v, const float *table, int pos, int dim)
{
    const float *cs = table + (size_t)pos * dim;
    for (int i = 0; i < dim; i += 2)
        rope_pair(v + i, cs + i);
}

/* The rope part of every head of every query row, in place:
 * row layout per head = [nope | rope]. Rows split across the pool as the
 * other row-wise ops (df_rows). */
struct df_rope_job {
    float *q;
    const float *table;
    const int *pos;
    int heads, nope, rope_dim;
};

static inline void rope_heads_rows(void *ctx, int t0, int t1)
{
    const struct df_rope_job *j = (const struct df_rope_job *)ctx;
    const int head = j->nope + j->rope_dim;
    for (int t = t0; t < t1; t++)
        for (int h = 0; h < j->heads; h++)
            rope_rotate(j->q + ((size_t)t * j->heads + h) * head + j->nope, j->table, j->pos[t], j->rope_dim);
}

static inline void rope_heads(float *q, const float *table, const int *pos, int n, int heads,
                              int nope, int rope_dim)
{
    struct df_rope_job j = { q, table, pos, heads, nope, rope_dim };
    df_rows(n, (long long)n * heads * (nope + rope_dim), rope_heads_rows, &j);
}

#endif
