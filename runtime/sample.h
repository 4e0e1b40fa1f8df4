/* sample.h: choosing the next token from a row of logits: greedy, or sampled with temperature,
 * top-k and top-p as kernels/sample_select.h defines it (the CUDA backend samples on the device
 * by the same definition, so both pick the same token from the same row and draw). */
#ifndef DF_SAMPLE_H
#define DF_SAMPLE_H

#include <stdint.h>

#include "kernels/sample_select.h"

struct df_sampling {
    float temperature;  /* 0: greedy */
    int top_k;          /* 0: no limit */
    float top_p;        /* 1: no limit */
    uint64_t seed;
};

/* The configuration and its integer form, and scratch (a row's weights, one pass's histogram),
 * allocated once before generation. */
struct df_sampler {
    struct df_sampling cfg;
    struct df_sample_params params;
    int vocab;
    uint32_t *weight;
    uint32_t *count;
    uint64_t *sum;
};

/* -1: out of memory, or a vocabulary above DF_SAMPLE_MAX_VOCAB. */
int df_sampler_init(struct df_sampler *s, const struct df_sampling *cfg, int vocab);
void df_sampler_free(struct df_sampler *s);

/* Each sequence draws from its own random stream (seed, sequence index),
 * so what one sequence samples never depends on the others in its batch. */
uint64_t df_rng_seed(uint64_t seed, int sequence);

/* The next token; *rng advances only when sampling (temperature > 0), by one df_sample_draw. */
int df_sample(struct df_sampler *s, const float *logits, uint64_t *rng);

/* The 24-bit random draw a sampled token takes from its sequence's stream (advancing it). */
uint32_t df_sample_draw(uint64_t *rng);

/* The token sampled from logits with draw u24 (temperature > 0). */
int df_sample_with(struct df_sampler *s, const float *logits, uint32_t u24);

/* Index of the largest logit; ties to the lower index, a NaN counts as -inf
 * (kernels/argmax.h: the GPU's greedy pick is the same). */
int df_argmax(const float *v, int n);

#endif
