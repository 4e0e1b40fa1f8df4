/* sample.c: greedy, temperature, top-k and top-p sampling with a seeded random stream per
 * sequence. The sampled token is kernels/sample_select.h's: integer weights, a radix selection
 * of the top-k and top-p cuts (a few passes over the row, no sort), a draw in id order. */
#include "sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/argmax.h"

static struct df_sample_params params_of(const struct df_sampling *cfg, int vocab)
{
    struct df_sample_params p;
    p.scale = cfg->temperature > 0.0f ? 1.4426950408889634 / (double)cfg->temperature : 0.0; /* log2(e) / T */
    p.top_k = cfg->top_k > 0 ? (uint64_t)cfg->top_k : UINT64_MAX;
    const double p24 = cfg->top_p >= 1.0f ? (double)DF_SAMPLE_P_ONE : nearbyint((double)cfg->top_p * 0x1p24);
    p.p24 = p24 > 0.0 ? (uint32_t)p24 : 0;
    p.index_bits = df_sample_index_bits(vocab);
    return p;
}

int df_sampler_init(struct df_sampler *s, const struct df_sampling *cfg, int vocab)
{
    memset(s, 0, sizeof *s);
    if (vocab < 1 || vocab > DF_SAMPLE_MAX_VOCAB)
        return -1;
    s->cfg = *cfg;
    s->params = params_of(cfg, vocab);
    s->vocab = vocab;
    s->weight = malloc(sizeof(uint32_t) * (size_t)vocab);
    s->count = malloc(sizeof(uint32_t) * DF_SAMPLE_BUCKETS);
    s->sum = malloc(sizeof(uint64_t) * DF_SAMPLE_BUCKETS);
    return s->weight && s->count && s->sum ? 0 : -1;
}

void df_sampler_free(struct df_sampler *s)
{
    free(s->weight);
    free(s->count);
    free(s->sum);
    s->weight = NULL;
    s->count = NULL;
    s->sum = NULL;
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

uint32_t df_sample_draw(uint64_t *rng)
{
    return (uint32_t)(splitmix64(rng) >> 40);
}

int df_argmax(const float *v, int n)
{
    float bv = v[0];
    int best = 0;
    for (int i = 1; i < n; i++)
        argmax_pick(&bv, &best, v[i], i);
    return best;
}

/* The cut of a radix selection over the row's keys >= low: by count (by_sum 0) or by weight. */
static struct df_sample_cut select_cut(struct df_sampler *s, uint64_t low, int by_sum, uint64_t need)
{
    const int bits = s->params.index_bits;
    struct df_select sel;
    df_select_begin(&sel, bits);
    while (!sel.done) {
        memset(s->count, 0, sizeof(uint32_t) * DF_SAMPLE_BUCKETS);
        memset(s->sum, 0, sizeof(uint64_t) * DF_SAMPLE_BUCKETS);
        for (int i = 0; i < s->vocab; i++) {
            const uint64_t key = df_sample_key(s->weight[i], i, bits);
            if (key >= low && df_select_in(&sel, key)) {
                const int d = df_select_digit(&sel, key);
                s->count[d]++;
                s->sum[d] += s->weight[i];
            }
        }
        uint64_t count = 0, sum = 0;
        for (int d = 0; d < DF_SAMPLE_BUCKETS; d++) {
            count += s->count[d];
            sum += s->sum[d];
        }
        if (df_select_short(&sel, by_sum, need, low, count, sum))
            break;
        const int d = df_select_pick(s->count, s->sum, by_sum, df_select_need(&sel, by_sum, need), &count, &sum);
        df_select_take(&sel, d, count, sum, s->count[d], s->sum[d]);
    }
    return sel.cut;
}

int df_sample_with(struct df_sampler *s, const float *logits, uint32_t u24)
{
    const int n = s->vocab, bits = s->params.index_bits;
    const int best = df_argmax(logits, n);
    for (int i = 0; i < n; i++)
        s->weight[i] = df_sample_weight(logits[i], logits[best], s->params.scale);
    /* top-k (or, without it, the total of every token that can be drawn), then top-p */
    struct df_sample_cut cut = select_cut(s, df_sample_key_min(bits), 0, s->params.top_k);
    if (cut.sum == 0)
        return best; /* no token can be drawn: a row of NaNs */
    if (s->params.p24 < DF_SAMPLE_P_ONE)
        cut = select_cut(s, cut.key, 1, df_sample_top_p_target(s->params.p24, cut.sum));
    const uint64_t r = df_sample_point(u24, cut.sum);
    uint64_t run = 0;
    for (int i = 0; i < n; i++)
        if (df_sample_key(s->weight[i], i, bits) >= cut.key && (run += s->weight[i]) > r)
            return i;
    return best; /* not reached: the kept weights sum to more than r */
}

int df_sample(struct df_sampler *s, const float *logits, uint64_t *rng)
{
    if (s->cfg.temperature <= 0.0f)
        return df_argmax(logits, s->vocab);
    return df_sample_with(s, logits, df_sample_draw(rng));
}
