/* simd_mla.h: absorbed MLA attention with the SIMD kernels, in three
 * parallel phases over the step's tokens:
 *   A  q_lat[t][h] = W_uk(h)^T q_nope[t][h]       threads split the heads;
 *      each column sums the nope rows in order (outer-product form, weights
 *      converted once per step for many tokens), followed in the workspace
 *      by q_pe[t][h], so that [q_lat | q_pe] . [c_kv | k_pe] is one dot
 *      product over a cache row
 *   B  per (token, group of DF_MLA_GROUP heads): the token's positions in
 *      blocks of 16 (a bf16 cache's rows widened to f32 in the thread's
 *      df_xbuf once per block), online softmax per head (simd_isa.h, mla_core); threads
 *      take contiguous ranges of (token, group) of about equal work
 *      (positions), and the groups of a token in one thread's range share
 *      each block of latent cache rows: one pass over the cache for them
 *   C  out[t][h] = W_uv(h) o_lat[t][h]             canonical dot products
 * Each (token, head) is computed whole, in an order fixed by its position
 * alone, so prefill and decode, any batch and any thread count agree. */
#ifndef DF_KERNELS_SIMD_MLA_H
#define DF_KERNELS_SIMD_MLA_H

#include "linear.h"
#include "simd.h"

#if DF_SIMD

struct df_mla_job {
    const struct df_mla_shape *s;
    const struct df_mat *kv_b;
    const float *q;
    const void *cache;
    const struct df_step *step;
    float *q_lat, *o_lat, *out;
    int groups;                     /* head groups per token */
    int cut[DF_MAX_THREADS + 1];    /* phase B: thread i takes items [cut[i], cut[i + 1]) */
};

static inline void mla_phase_a(void *ctx, int h0, int h1)
{
    const struct df_mla_job *j = ctx;
    for (int h = h0; h < h1; h++) {
        if (df_isa >= DF_ISA_AVX512)
            mla_qlat_avx512(j->s, j->kv_b, h, j->q, j->step->n, j->q_lat);
        else
            mla_qlat_avx2(j->s, j->kv_b, h, j->q, j->step->n, j->q_lat);
    }
}

/* Thread i's items [cut[i], cut[i + 1]): the groups of one token that fall
 * in its range go in one call (up to DF_MLA_PASS heads), one pass over the
 * token's cache for all of them. */
static inline void mla_phase_b(void *ctx, int i0, int i1)
{
    const struct df_mla_job *j = ctx;
    const int H = j->s->heads, per_pass = DF_MLA_PASS / DF_MLA_GROUP;
    for (int i = i0; i < i1; i++)
        for (int it = j->cut[i]; it < j->cut[i + 1];) {
            const int t = it / j->groups, g0 = it % j->groups;
            int g1 = g0 + 1;
            while (g1 < j->groups && g1 - g0 < per_pass && it + (g1 - g0) < j->cut[i + 1])
                g1++;
            const int h0 = g0 * DF_MLA_GROUP, h1 = g1 * DF_MLA_GROUP < H ? g1 * DF_MLA_GROUP : H;
            if (df_isa >= DF_ISA_AVX512)
                mla_core_avx512(j->s, j->q, j->cache, j->step, t, h0, h1, j->q_lat, j->o_lat);
            else
                mla_core_avx2(j->s, j->q, j->cache, j->step, t, h0, h1, j->q_lat, j->o_lat);
            it += g1 - g0;
        }
}

static inline void mla_phase_c(void *ctx, int h0, int h1)
{
    const struct df_mla_job *j = ctx;
    const struct df_mla_shape *s = j->s;
    for (int h = h0; h < h1; h++) {
        const int r0 = h * (s->nope + s->v_head) + s->nope;
        df_simd_gemm(j->kv_b, j->o_lat + (size_t)h * s->kv_lora, (size_t)s->heads * s->kv_lora, NULL, j->step->n,
                     j->out + (size_t)h * s->v_head, (size_t)s->heads * s->v_head, r0, r0 + s->v_head);
    }
}

/* ws: DF_MLA_WS_FLOATS(n, ...) floats. */
static inline void mla_attend_simd(const struct df_mla_shape *s, const struct df_mat *kv_b, const float *q,
                                   const void *cache, const struct df_step *step, float *ws, float *out)
{
    const int n = step->n, H = s->heads, nt = df_threads_count();
    struct df_mla_job j = { .s = s, .kv_b = kv_b, .q = q, .cache = cache, .step = step, .q_lat = ws,
                            .o_lat = ws + (size_t)n * H * (s->kv_lora + s->rope_dim), .out = out,
                            .groups = (H + DF_MLA_GROUP - 1) / DF_MLA_GROUP };
    const bool par = nt > 1 && (long long)n * H * s->nope * s->kv_lora >= DF_PARALLEL_MIN_WORK;
    if (par)
        df_parallel_for(H, mla_phase_a, &j);
    else
        mla_phase_a(&j, 0, H);
    /* phase B: cut the (token, group) items into nt ranges of about equal positions */
    const int items = n * j.groups;
    long long total = 0, acc = 0;
    for (int t = 0; t < n; t++)
        total += (long long)(step->pos[t] + 1) * j.groups;
    j.cut[0] = 0;
    int it = 0;
    for (int i = 1; i < nt; i++) {
        const long long goal = total * i / nt;
        while (it < items && acc + (step->pos[it / j.groups] + 1) / 2 < goal)
            acc += step->pos[it++ / j.groups] + 1;
        j.cut[i] = it;
    }
    j.cut[nt] = items;
    if (nt > 1 && (total * H / j.groups) * (2LL * s->kv_lora + s->rope_dim) >= DF_PARALLEL_MIN_WORK)
        df_parallel_for(nt, mla_phase_b, &j);
    else
        mla_phase_b(&j, 0, nt);
    if (par)
        df_parallel_for(H, mla_phase_c, &j);
    else
        mla_phase_c(&j, 0, H);
}

#endif /* DF_SIMD */
#endif
