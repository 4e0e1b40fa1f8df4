/* moe.h: DeepSeekMoE routing and the routed experts.
 *
 * Routing, per token (DeepSeek-V2/V3 papers; official inference/model.py):
 *   score   = sigmoid(logit) or softmax(logits)
 *   choice  = score + bias        (V3's correction bias steers selection only)
 *   groups  : keep the topk_group best groups, a group scored by its best
 *             choice (group_limited_greedy, V2) or its two best summed
 *             (noaux_tc, V3); experts of the other groups cannot be chosen
 *   top-k   : the k best choices among allowed experts, best first
 *   weight  = score of each chosen expert (without bias), divided by their sum
 *             if norm_topk_prob, times routed_scaling
 * Ties go to the lower index, so the choice is a function of the scores alone. */
#ifndef DF_KERNELS_MOE_H
#define DF_KERNELS_MOE_H

#include <stdbool.h>

#include "elementwise.h"
#include "hd.h"
#include "linear.h"
#include "mat.h"

/* Limits of the fixed-size routing scratch; the spec validator enforces them. */
#define DF_MAX_EXPERTS 1024
#define DF_MAX_GROUPS 64

enum df_topk_method { DF_GREEDY, DF_GROUP_LIMITED_GREEDY, DF_NOAUX_TC };

struct df_route_shape {
    int experts, topk, n_group, topk_group;
    enum df_topk_method method;
    bool softmax;         /* else sigmoid */
    bool norm_topk_prob;
    float scaling;
};

/* Index of the largest v[i] with allowed[i]; ties to the lower index. */
static inline DF_HD int argmax_allowed(const float *v, const bool *allowed, int n)
{
    int best = -1;
    for (int i = 0; i < n; i++)
        if (allowed[i] && (best < 0 || v[i] > v[best]))
            best = i;
    return best;
}

static inline DF_HD void moe_route_token(const struct df_route_shape *s, const float *logit, const float *bias,
                                         float *score, float *choice, bool *allowed, float *group_score,
                                         bool *group_ok, int *ids, float *weights)
{
    const int E = s->experts;
    if (s->softmax) {
        float max = logit[0], sum = 0.0f;
        for (int e = 1; e < E; e++)
            max = logit[e] > max ? logit[e] : max;
        for (int e = 0; e < E; e++) {
            score[e] = expf(logit[e] - max);
            sum += score[e];
        }
        for (int e = 0; e < E; e++)
            score[e] /= sum;
    } else {
        for (int e = 0; e < E; e++)
            score[e] = 1.0f / (1.0f + expf(-logit[e]));
    }
    for (int e = 0; e < E; e++) {
        choice[e] = bias ? score[e] + bias[e] : score[e];
        allowed[e] = true;
    }
    if (s->method != DF_GREEDY && s->n_group > 1) {
        const int per = E / s->n_group;
        for (int g = 0; g < s->n_group; g++) {
            const float *c = choice + g * per;
            int b1 = argmax_allowed(c, allowed + g * per, per);
            if (s->method == DF_NOAUX_TC) {
                allowed[g * per + b1] = false; /* find the runner-up, then restore */
                int b2 = argmax_allowed(c, allowed + g * per, per);
                allowed[g * per + b1] = true;
                group_score[g] = c[b1] + c[b2];
            } else {
                group_score[g] = c[b1];
            }
            group_ok[g] = true;
        }
        bool keep[DF_MAX_GROUPS] = { false };
        for (int k = 0; k < s->topk_group; k++) {
            int g = argmax_allowed(group_score, group_ok, s->n_group);
            keep[g] = true;
            group_ok[g] = false;
        }
        for (int e = 0; e < E; e++)
            allowed[e] = keep[e / per];
    }
    float sum = 0.0f;
    for (int k = 0; k < s->topk; k++) {
        int e = argmax_allowed(choice, allowed, E);
        allowed[e] = false;
        ids[k] = e;
        weights[k] = score[e];
        sum += score[e];
    }
    for (int k = 0; k < s->topk; k++)
        weights[k] = (s->norm_topk_prob ? weights[k] / sum : weights[k]) * s->scaling;
}

/* Tokens are routed independently: rows split across the pool. */
struct df_route_job {
    const struct df_route_shape *s;
    const float *logits, *bias;
    int *ids;
    float *weights;
};

static inline void moe_route_rows(void *ctx, int t0, int t1)
{
    const struct df_route_job *j = (const struct df_route_job *)ctx;
    const struct df_route_shape *s = j->s;
    float score[DF_MAX_EXPERTS], choice[DF_MAX_EXPERTS], group_score[DF_MAX_GROUPS];
    bool allowed[DF_MAX_EXPERTS], group_ok[DF_MAX_GROUPS];
    for (int t = t0; t < t1; t++)
        moe_route_token(s, j->logits + (size_t)t * s->experts, j->bias, score, choice, allowed, group_score,
                        group_ok, j->ids + (size_t)t * s->topk, j->weights + (size_t)t * s->topk);
}

static inline void moe_route(const struct df_route_shape *s, const float *logits, const float *bias, int n,
                             int *ids, float *weights)
{
    struct df_route_job j = { s, logits, bias, ids, weights };
    /* routing a token costs about what normalizing a few hundred floats does */
    df_rows(n, (long long)n * s->experts * 8, moe_route_rows, &j);
}

/* The routed experts of one MoE layer: offsets of each expert's matrices in
 * the weights (scale offsets are used for FP8 only). */
struct df_expert {
    uint64_t gate, up, down, gate_scale, up_scale, down_scale;
};

struct df_experts_shape {
    int topk, dim, inter;
    enum df_dtype dtype;
    enum df_act act;
};

static inline struct df_mat expert_mat(const struct df_experts_shape *s, const unsigned char *w, uint64_t off,
                                       uint64_t scale_off, int rows, int cols)
{
    struct df_mat m = { w + off, s->dtype == DF_F8E4M3 ? (const float *)(const void *)(w + scale_off) : NULL,
                        rows, cols, s->dtype, s->act };
    return m;
}

/* The workspace moe_experts needs for n tokens: gate, up and output rows
 * of every (token, expert) pair, and the pairs grouped by expert (the SIMD
 * path, simd_moe.h; the plain C path uses the first 2 * inter + dim). */
#define DF_MOE_WS_FLOATS(n, topk, dim, inter) \
    ((size_t)(n) * (size_t)(topk) * (2 * (size_t)(inter) + (size_t)(dim) + 2))

#include "simd_moe.h"

/* out[t] = sum over token t's chosen experts, best first, of
 * weight * down(silu(gate(x)) * up(x)). ws: DF_MOE_WS_FLOATS(n, ...) floats. */
static inline void moe_experts(const struct df_experts_shape *s, const unsigned char *w,
                               const struct df_expert *table, const float *x, const int *ids,
                               const float *weights, int n, float *ws, float *out)
{
#if DF_SIMD
    if (df_isa != DF_ISA_SCALAR && s->dim <= DF_SIMD_MAX_K && s->inter <= DF_SIMD_MAX_K && s->topk <= 64) {
        moe_experts_simd(s, w, table, x, ids, weights, n, ws, out);
        return;
    }
#endif
    float *g = ws, *u = ws + s->inter, *y = u + s->inter;
    DF_STAT_EXPERTS(s, n * s->topk); /* each token reads its experts */
    for (int t = 0; t < n; t++) {
        const float *xt = x + (size_t)t * s->dim;
        float *ot = out + (size_t)t * s->dim;
        memset(ot, 0, sizeof(float) * (size_t)s->dim);
        for (int k = 0; k < s->topk; k++) {
            const struct df_expert *e = &table[ids[t * s->topk + k]];
            const struct df_mat gm = expert_mat(s, w, e->gate, e->gate_scale, s->inter, s->dim);
            const struct df_mat um = expert_mat(s, w, e->up, e->up_scale, s->inter, s->dim);
            const struct df_mat dm = expert_mat(s, w, e->down, e->down_scale, s->dim, s->inter);
            linear(&gm, xt, 1, g);
            linear(&um, xt, 1, u);
            (s->act == DF_ACT_FP8 ? silu_mul_quant : silu_mul)(g, u, 1, s->inter);
            linear(&dm, g, 1, y);
            const float wk = weights[t * s->topk + k];
            for (int i = 0; i < s->dim; i++)
                ot[i] += wk * y[i];
        }
    }
}

#endif
