/* simd_moe.h: the routed experts with the SIMD kernels, grouped by expert.
 *
 * The step's (token, rank) pairs are sorted by expert (counting sort, tokens
 * in order); each chosen expert then runs once over all its tokens, so its
 * weights are read once per step however many tokens chose it:
 *   phase 1: g = gate x, u = up x, h = silu(g) * u   (rows of every chosen expert)
 *            FP8 activations: then h quantized (quant.h), row by row, before phase 2
 *   phase 2: y = down h                               (rows of every chosen expert)
 *   phase 3: out[t] = sum over k in rank order of weight[t][k] * y[t][k]
 * With at least two chosen experts per thread, each thread takes whole
 * experts (moe_whole_run); otherwise phases 1 and 2 are one parallel job
 * each over the chosen experts' rows, split into one contiguous range per
 * thread of about equal work (weights streamed plus products). Each output element is one canonical dot product
 * (simd.h) computed whole by one thread, and each token's combine runs in
 * its own rank order, so a token's result depends on nothing but itself. */
#ifndef DF_KERNELS_SIMD_MOE_H
#define DF_KERNELS_SIMD_MOE_H

#include "simd.h"

#ifdef DF_STATS /* the benchmark counts the routed experts' bytes read (bench/bench.c) */
extern unsigned long long df_stat_expert_bytes;
#define DF_STAT_EXPERTS(s, count)                                                                          \
    (df_stat_expert_bytes += (unsigned long long)(count) * 3ull *                                          \
        ((unsigned long long)(s)->inter * (unsigned long long)(s)->dim *                                   \
             ((s)->dtype == DF_F32 ? 4ull : (s)->dtype == DF_BF16 ? 2ull : 1ull) +                       \
         ((s)->dtype == DF_F8E4M3 ? 4ull * (unsigned long long)(((s)->inter + 127) / 128) *               \
                                        (unsigned long long)(((s)->dim + 127) / 128) : 0ull)))
#else
#define DF_STAT_EXPERTS(s, count) ((void)0)
#endif

#if DF_SIMD

struct df_moe_job {
    const struct df_experts_shape *s;
    const unsigned char *w;
    const struct df_expert *table;
    const float *x;
    int n_active;
    const int *active;     /* [n_active] expert ids, ascending */
    const int *start;      /* [n_active + 1] first pair of each */
    const int *pair_tok;   /* [pairs] token of each pair, grouped by expert */
    float *g, *u, *y;      /* [pairs][inter], [pairs][inter], [pairs][dim] */
    int phase;             /* 1 or 2 */
    int blocks;            /* row blocks per expert in this phase */
    int cut[DF_MAX_THREADS + 1]; /* thread i takes global blocks [cut[i], cut[i + 1]) */
};

static inline void moe_phase_rows(const struct df_moe_job *j, int phase, int a, int r0, int r1)
{
    const struct df_experts_shape *s = j->s;
    const int e = j->active[a], p0 = j->start[a], np = j->start[a + 1] - p0;
    const struct df_expert *ex = &j->table[e];
    if (phase == 1) {
        const struct df_mat gu[2] = { expert_mat(s, j->w, ex->gate, ex->gate_scale, s->inter, s->dim),
                                      expert_mat(s, j->w, ex->up, ex->up_scale, s->inter, s->dim) };
        float *g = j->g + (size_t)p0 * s->inter, *u = j->u + (size_t)p0 * s->inter;
        float *const y[2] = { g + r0, u + r0 }; /* gate and up: their activations prepared once */
        df_simd_gemm_n(gu, 2, j->x, (size_t)s->dim, j->pair_tok + p0, np, y, (size_t)s->inter, r0, r1);
        for (int p = 0; p < np; p++) /* silu_mul's computation */
            df_simd_silu_mul(g + (size_t)p * s->inter + r0, u + (size_t)p * s->inter + r0, (size_t)(r1 - r0));
    } else {
        const struct df_mat dm = expert_mat(s, j->w, ex->down, ex->down_scale, s->dim, s->inter);
        df_simd_gemm(&dm, j->g + (size_t)p0 * s->inter, (size_t)s->inter, NULL, np, j->y + (size_t)p0 * s->dim + r0,
                     (size_t)s->dim, r0, r1);
    }
}

/* Thread i's share: global row blocks cut[i] .. cut[i + 1], expert by expert. */
static inline void moe_phase_share(void *ctx, int i0, int i1)
{
    const struct df_moe_job *j = ctx;
    const int rows = j->phase == 1 ? j->s->inter : j->s->dim;
    for (int i = i0; i < i1; i++)
        for (int b = j->cut[i]; b < j->cut[i + 1];) {
            const int a = b / j->blocks, end = (a + 1) * j->blocks < j->cut[i + 1] ? (a + 1) * j->blocks : j->cut[i + 1];
            const int r0 = (b - a * j->blocks) * DF_ROW_BLOCK;
            const int r1 = (end - a * j->blocks) * DF_ROW_BLOCK < rows ? (end - a * j->blocks) * DF_ROW_BLOCK : rows;
            moe_phase_rows(j, j->phase, a, r0, r1);
            b = end;
        }
}

/* Cut the row blocks of all chosen experts into nt ranges of about equal
 * cost: a block of expert a costs its weight bytes plus its products. */
static inline void moe_phase_run(struct df_moe_job *j, int phase, int cols)
{
    const struct df_experts_shape *s = j->s;
    const int rows = phase == 1 ? s->inter : s->dim, nt = df_threads_count();
    j->phase = phase;
    j->blocks = (rows + DF_ROW_BLOCK - 1) / DF_ROW_BLOCK;
    const int total = j->n_active * j->blocks;
    const double esize = s->dtype == DF_F32 ? 4.0 : s->dtype == DF_BF16 ? 2.0 : 1.0;
    /* one product costs about as much time as streaming 2 weight bytes */
    double sum = 0.0;
    for (int a = 0; a < j->n_active; a++)
        sum += (esize + 0.5 * (j->start[a + 1] - j->start[a])) * j->blocks;
    double acc = 0.0;
    int b = 0;
    j->cut[0] = 0;
    for (int i = 1; i < nt; i++) {
        const double goal = sum * i / nt;
        while (b < total) {
            const int a = b / j->blocks;
            const double c = esize + 0.5 * (j->start[a + 1] - j->start[a]);
            if (acc + 0.5 * c > goal)
                break;
            acc += c;
            b++;
        }
        j->cut[i] = b;
    }
    j->cut[nt] = total;
    if (nt == 1 || (long long)rows * cols * j->start[j->n_active] < DF_PARALLEL_MIN_WORK)
        moe_phase_share(j, 0, nt);
    else
        df_parallel_for(nt, moe_phase_share, j);
}

/* Whole experts per thread (when there are at least two per thread): gate,
 * up, silu and down of one expert in a row, one parallel job for all: the
 * three matrices are contiguous in the weights, so each expert is one
 * stream, and no thread waits for another between the phases. */
static inline void moe_whole_share(void *ctx, int i0, int i1)
{
    const struct df_moe_job *j = ctx;
    const struct df_experts_shape *s = j->s;
    for (int i = i0; i < i1; i++)
        for (int a = j->cut[i]; a < j->cut[i + 1]; a++) {
            if (a + 1 < j->cut[i + 1]) { /* the next expert's first rows, while this one runs */
                const char *next = (const char *)(j->w + j->table[j->active[a + 1]].gate);
                for (int l = 0; l < 2048; l += 64)
                    _mm_prefetch(next + l, _MM_HINT_T1);
            }
            moe_phase_rows(j, 1, a, 0, s->inter);
            if (s->act == DF_ACT_FP8) /* down's input, quantized row by row */
                for (int p = j->start[a]; p < j->start[a + 1]; p++)
                    act_quant_fp8_row(j->g + (size_t)p * s->inter, s->inter);
            moe_phase_rows(j, 2, a, 0, s->dim);
        }
}

static inline void moe_whole_run(struct df_moe_job *j)
{
    const struct df_experts_shape *s = j->s;
    const int nt = df_threads_count();
    const double esize = s->dtype == DF_F32 ? 4.0 : s->dtype == DF_BF16 ? 2.0 : 1.0;
    double sum = 0.0, acc = 0.0; /* cost: weight bytes, plus products (as in moe_phase_run) */
    for (int a = 0; a < j->n_active; a++)
        sum += esize + 0.5 * (j->start[a + 1] - j->start[a]);
    int a = 0;
    j->cut[0] = 0;
    for (int i = 1; i < nt; i++) {
        const double goal = sum * i / nt;
        while (a < j->n_active) {
            const double c = esize + 0.5 * (j->start[a + 1] - j->start[a]);
            if (acc + 0.5 * c > goal)
                break;
            acc += c;
            a++;
        }
        j->cut[i] = a;
    }
    j->cut[nt] = j->n_active;
    if (nt == 1)
        moe_whole_share(j, 0, 1);
    else
        df_parallel_for(nt, moe_whole_share, j);
}

/* Phase 3: each token's experts combined in its rank order (fma, from 0). */
struct df_moe_combine {
    const struct df_experts_shape *s;
    const float *y;
    const int *pair_of;
    const float *weights;
    float *out;
};

static inline void moe_combine_tokens(void *ctx, int t0, int t1)
{
    const struct df_moe_combine *c = ctx;
    const int K = c->s->topk;
    for (int t = t0; t < t1; t++) {
        const float *yk[64];
        for (int k = 0; k < K; k++)
            yk[k] = c->y + (size_t)c->pair_of[t * K + k] * c->s->dim;
        if (df_isa >= DF_ISA_AVX512)
            combine_avx512(c->out + (size_t)t * c->s->dim, yk, c->weights + t * K, K, c->s->dim);
        else
            combine_avx2(c->out + (size_t)t * c->s->dim, yk, c->weights + t * K, K, c->s->dim);
    }
}

/* ws: DF_MOE_WS_FLOATS(n, topk, dim, inter) floats. */
static inline void moe_experts_simd(const struct df_experts_shape *s, const unsigned char *w,
                                    const struct df_expert *table, const float *x, const int *ids,
                                    const float *weights, int n, float *ws, float *out)
{
    const int P = n * s->topk;
    float *g = ws, *u = g + (size_t)P * s->inter, *y = u + (size_t)P * s->inter;
    int *pair_tok = (int *)(void *)(y + (size_t)P * s->dim), *pair_of = pair_tok + P;
    int cnt[DF_MAX_EXPERTS + 1], active[DF_MAX_EXPERTS], start[DF_MAX_EXPERTS + 1];
    int max_id = 0;
    for (int i = 0; i < P; i++)
        max_id = ids[i] > max_id ? ids[i] : max_id;
    memset(cnt, 0, sizeof(int) * (size_t)(max_id + 1));
    for (int i = 0; i < P; i++)
        cnt[ids[i]]++;
    struct df_moe_job j = { .s = s, .w = w, .table = table, .x = x, .active = active, .start = start,
                            .pair_tok = pair_tok, .g = g, .u = u, .y = y };
    int n_active = 0, off = 0;
    for (int e = 0; e <= max_id; e++)
        if (cnt[e]) {
            active[n_active] = e;
            start[n_active++] = off;
            const int c = cnt[e];
            cnt[e] = off; /* now: next free pair of e */
            off += c;
        }
    start[n_active] = off;
    j.n_active = n_active;
    DF_STAT_EXPERTS(s, n_active);
    for (int t = 0; t < n; t++)
        for (int k = 0; k < s->topk; k++) {
            const int p = cnt[ids[t * s->topk + k]]++;
            pair_tok[p] = t;
            pair_of[t * s->topk + k] = p;
        }
    const int nt = df_threads_count();
    if (nt == 1 || n_active >= 2 * nt) {
        moe_whole_run(&j);
    } else {
        moe_phase_run(&j, 1, s->dim);
        if (s->act == DF_ACT_FP8)
            act_quant_fp8(g, P, s->inter);
        moe_phase_run(&j, 2, s->inter);
    }
    struct df_moe_combine c = { s, y, pair_of, weights, out };
    if (df_threads_count() > 1 && (long long)n * s->topk * s->dim >= DF_PARALLEL_MIN_WORK)
        df_parallel_for(n, moe_combine_tokens, &c);
    else
        moe_combine_tokens(&c, 0, n);
}

#endif /* DF_SIMD */
#endif
