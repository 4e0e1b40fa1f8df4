/* sample.h: choosing the next token from a row of logits. */
#ifndef DF_SAMPLE_H
#define DF_SAMPLE_H

#include <stdint.h>

struct df_sampling {
    float temperature;  /* 0: greedy */
    int top_k;          /* 0: no limit */
    float top_p;        /* 1: no limit */
    uint64_t seed;
};

/* Scratch for one vocab-sized sort, allocated once before generation. */
struct df_sampler {
    struct df_sampling cfg;
    int vocab;
    float *prob;
    int *order;
};

int df_sampler_init(struct df_sampler *s, const struct df_sampling *cfg, int vocab);
void df_sampler_free(struct df_sampler *s);

/* Each sequence draws from its own random stream (seed, sequence index),
 * so what one sequence samples never depends on the others in its batch. */
uint64_t df_rng_seed(uint64_t seed, int sequence);

/* The next token; *rng advances only when sampling (temperature > 0). */
int df_sample(struct df_sampler *s, const float *logits, uint64_t *rng);

/* Index of the largest logit; ties to the lower index, a NaN counts as -inf
 * (kernels/argmax.h: the GPU's greedy pick is the same). */
int df_argmax(const float *v, int n);

#endif
