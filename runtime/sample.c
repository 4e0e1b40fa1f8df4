/* sample.c: greedy, temperature, top-k and top-p sampling with a seeded
 * random stream per sequence. */
#include "sample.h"

#include <math.h>
#include <stdlib.h>

#include "kernels/argmax.h"

int df_sampler_init(struct df_sampler *s, const struct df_sampling *cfg, int vocab)
{
    s->cfg = *cfg;
    s->vocab = vocab;
    s->prob = malloc(sizeof(float) * (size_t)vocab);
    s->order = malloc(sizeof(int) * (size_t)vocab);
    return s->prob && s->order ? 0 : -1;
}

void df_sampler_free(struct df_sampler *s)
{
    free(s->prob);
    free(s->order);
    s->prob = NULL;
    s->order = NULL;
}

/* splitmix64: a small, well-mixed generator; the state is one integer. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t df_rng_seed(uint64_t seed, int sequence)
{
    uint64_t state = seed ^ ((uint64_t)sequence * 0xd1b54a32d192ed03ull);
    return splitmix64(&state);
}

/* Uniform in [0, 1) with 24 random bits, exact in a float. */
static float uniform01(uint64_t *rng)
{
    return (float)(splitmix64(rng) >> 40) * 0x1p-24f;
}

int df_argmax(const float *v, int n)
{
    float bv = v[0];
    int best = 0;
    for (int i = 1; i < n; i++)
        argmax_pick(&bv, &best, v[i], i);
    return best;
}

static const float *sort_prob; /* qsort has no context argument */

static int by_prob_desc(const void *a, const void *b)
{
    const int i = *(const int *)a, j = *(const int *)b;
    if (sort_prob[i] != sort_prob[j])
        return sort_prob[i] > sort_prob[j] ? -1 : 1;
    return i - j; /* a total order: same input, same result */
}

int df_sample(struct df_sampler *s, const float *logits, uint64_t *rng)
{
    const int n = s->vocab;
    if (s->cfg.temperature <= 0.0f)
        return df_argmax(logits, n);
    const float max = logits[df_argmax(logits, n)];
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        s->prob[i] = expf((logits[i] - max) / s->cfg.temperature);
        total += s->prob[i];
        s->order[i] = i;
    }
    int keep = n;
    if (s->cfg.top_k > 0 || s->cfg.top_p < 1.0f) {
        sort_prob = s->prob;
        qsort(s->order, (size_t)n, sizeof(int), by_prob_desc);
        if (s->cfg.top_k > 0 && s->cfg.top_k < keep)
            keep = s->cfg.top_k;
        double kept = 0.0;
        for (int i = 0; i < keep; i++)
            kept += s->prob[s->order[i]];
        total = kept;
        if (s->cfg.top_p < 1.0f) { /* the smallest prefix holding top_p of the mass */
            double cum = 0.0;
            for (int i = 0; i < keep; i++) {
                cum += s->prob[s->order[i]];
                if (cum >= s->cfg.top_p * kept) {
                    keep = i + 1;
                    break;
                }
            }
            total = cum;
        }
    }
    const double r = (double)uniform01(rng) * total;
    double cum = 0.0;
    for (int i = 0; i < keep; i++) {
        cum += s->prob[s->order[i]];
        if (r < cum)
            return s->order[i];
    }
    return s->order[keep - 1];
}
