/* mla.h: Multi-head Latent Attention over the latent KV cache.
 *
 * The cache keeps, per token, only the normalized latent c_kv (kv_lora
 * floats) and the RoPE'd shared key k_pe (rope_dim floats). Attention runs
 * in the latent space with kv_b_proj absorbed (DeepSeek-V2 paper, sec. 2.1.2):
 *   q_lat  = W_uk(h)^T q_nope(h)                 (kv_lora)
 *   score  = (q_lat . c_kv[p] + q_pe(h) . k_pe[p]) * softmax_scale
 *   o_lat  = sum_p softmax(score)[p] c_kv[p]     (kv_lora)
 *   out(h) = W_uv(h) o_lat                       (v_head)
 * where kv_b_proj's rows for head h are W_uk(h) (nope rows) then W_uv(h)
 * (v_head rows). Prefill and decode use this same computation, so a token's
 * result does not depend on how the prompt was split into steps.
 *
 * The cache holds f32, or with deploy.kv_cache = "bf16" each value rounded to
 * bf16 as it is written (f32_round_bf16: nearest even) and read back as the
 * f32 it stands for: the attention's arithmetic is the same over the rounded
 * values (docs/numerics.md). */
#ifndef DF_KERNELS_MLA_H
#define DF_KERNELS_MLA_H

#include "../model.h"
#include "elementwise.h"
#include "mat.h"
#include "rope.h"

#include "simd.h"
#include "simd_shapes.h" /* struct df_mla_shape */

/* Cache row p of a slot as f32: in place (f32 cache), or widened from bf16
 * into buf (kv_lora + rope_dim floats). */
static inline const float *mla_cache_row(const struct df_mla_shape *s, const void *cache, int slot, int p, float *buf)
{
    const size_t i = mla_cache_index(s, slot, p);
    if (!s->cache_bf16)
        return (const float *)cache + i;
    const uint16_t *src = (const uint16_t *)cache + i;
    for (int c = 0; c < s->kv_lora + s->rope_dim; c++)
        buf[c] = bf16_to_f32(src[c]);
    return buf;
}

/* Write each token's latent (normed) and rotated shared key to its
 * slot/position (each token's own cache row: rows split across the pool). */
struct df_cache_write_job {
    const struct df_mla_shape *s;
    const float *kv_a, *norm_w, *rope_table;
    const struct df_step *step;
    void *cache;
};

static inline void mla_cache_write_rows(void *ctx, int t0, int t1)
{
    const struct df_cache_write_job *j = (const struct df_cache_write_job *)ctx;
    const struct df_mla_shape *s = j->s;
    const int row = s->kv_lora + s->rope_dim;
    for (int t = t0; t < t1; t++) {
        const float *src = j->kv_a + (size_t)t * row;
        const size_t at = mla_cache_index(s, j->step->slot[t], j->step->pos[t]);
        float row_f32[DF_MLA_MAX_ROW];
        float *dst = s->cache_bf16 ? row_f32 : (float *)j->cache + at;
        rmsnorm_rows(src, j->norm_w, 0, 1, s->kv_lora, s->eps, dst);
        memcpy(dst + s->kv_lora, src + s->kv_lora, sizeof(float) * (size_t)s->rope_dim);
        rope_rotate(dst + s->kv_lora, j->rope_table, j->step->pos[t], s->rope_dim);
        if (s->cache_bf16)
            for (int c = 0; c < row; c++)
                ((uint16_t *)j->cache)[at + c] = f32_bf16_bits(dst[c]);
    }
}

static inline void mla_cache_write(const struct df_mla_shape *s, const float *kv_a, const float *norm_w,
                                   const float *rope_table, const struct df_step *step, void *cache)
{
    struct df_cache_write_job j = { s, kv_a, norm_w, rope_table, step, cache };
    df_rows(step->n, (long long)step->n * (s->kv_lora + s->rope_dim), mla_cache_write_rows, &j);
}

/* The workspace mla_attend needs for n tokens: the SIMD path keeps every
 * token's absorbed query (with its RoPE part) and latent output (simd_mla.h);
 * the plain C path uses kv_lora + max_context + kv_lora floats, then a cache
 * row (kv_lora + rope_dim) widened from bf16. */
#define DF_MLA_WS_FLOATS(n, heads, kv_lora, rope_dim, max_context)                                          \
    ((size_t)(n) * (size_t)(heads) * (2 * (size_t)(kv_lora) + (size_t)(rope_dim)) + 3 * (size_t)(kv_lora) + \
     (size_t)(rope_dim) + (size_t)(max_context))

#include "simd_mla.h"

/* ws: DF_MLA_WS_FLOATS(n, ...) floats. */
static inline void mla_attend(const struct df_mla_shape *s, const struct df_mat *kv_b, const float *q,
                              const void *cache, const struct df_step *step, float *ws, float *out)
{
#if DF_SIMD
    if (df_isa != DF_ISA_SCALAR && kv_b->cols <= DF_SIMD_MAX_K) {
        mla_attend_simd(s, kv_b, q, cache, step, ws, out);
        return;
    }
#endif
    const int qk_head = s->nope + s->rope_dim;
    float *q_lat = ws, *score = ws + s->kv_lora, *o_lat = score + s->max_context, *row_buf = o_lat + s->kv_lora;
    for (int t = 0; t < step->n; t++) {
        const int len = step->pos[t] + 1, slot = step->slot[t];
        for (int h = 0; h < s->heads; h++) {
            const float *qh = q + ((size_t)t * s->heads + h) * qk_head;
            const int w_row = h * (s->nope + s->v_head);
            memset(q_lat, 0, sizeof(float) * (size_t)s->kv_lora);
            for (int d = 0; d < s->nope; d++)
                mat_axpy_row(kv_b, w_row + d, qh[d], q_lat);
            float max = -INFINITY;
            for (int p = 0; p < len; p++) {
                const float *e = mla_cache_row(s, cache, slot, p, row_buf);
                float a = 0.0f, b = 0.0f;
                for (int c = 0; c < s->kv_lora; c++)
                    a += q_lat[c] * e[c];
                for (int c = 0; c < s->rope_dim; c++)
                    b += qh[s->nope + c] * e[s->kv_lora + c];
                score[p] = (a + b) * s->softmax_scale;
                max = score[p] > max ? score[p] : max;
            }
            float sum = 0.0f;
            for (int p = 0; p < len; p++) {
                score[p] = expf(score[p] - max);
                sum += score[p];
            }
            memset(o_lat, 0, sizeof(float) * (size_t)s->kv_lora);
            for (int p = 0; p < len; p++) {
                const float *e = mla_cache_row(s, cache, slot, p, row_buf);
                const float pr = score[p] / sum;
                for (int c = 0; c < s->kv_lora; c++)
                    o_lat[c] += pr * e[c];
            }
            float *oh = out + ((size_t)t * s->heads + h) * s->v_head;
            for (int d = 0; d < s->v_head; d++)
                oh[d] = mat_dot_row(kv_b, w_row + s->nope + d, o_lat);
        }
    }
}

#endif
