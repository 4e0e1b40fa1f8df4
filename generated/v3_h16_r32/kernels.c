/* kernels.c: v3_h16_r32's kernel instances. Each fixes the shape of a generic
 * kernel from runtime/kernels/ as constants, so the compiler specializes its
 * loops. Generated; do not edit. */
#include "config.h"
#include "kernels.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/mla.h"
#include "kernels/moe.h"
#include "kernels/rope.h"

static const struct df_mla_shape MLA = {
    .heads = HEADS, .nope = QK_NOPE, .rope_dim = QK_ROPE, .v_head = V_HEAD, .kv_lora = KV_LORA_RANK,
    .max_context = MAX_CONTEXT, .softmax_scale = SOFTMAX_SCALE, .eps = RMS_EPS, .cache_bf16 = KV_CACHE_BF16,
};

static const struct df_route_shape ROUTE = {
    .experts = ROUTED_EXPERTS, .topk = EXPERTS_PER_TOKEN, .n_group = N_GROUP, .topk_group = TOPK_GROUP,
    .method = TOPK_METHOD, .softmax = SCORING_SOFTMAX, .norm_topk_prob = NORM_TOPK_PROB,
    .scaling = ROUTED_SCALING,
};

void rope_init(float *rope)
{
    const struct df_yarn yarn = { YARN_FACTOR, YARN_ORIGINAL_MAX, YARN_BETA_FAST, YARN_BETA_SLOW };
    rope_table_init(rope, MAX_CONTEXT, QK_ROPE, ROPE_THETA, &yarn);
}

void rmsnorm_128(const float *x, const unsigned char *w, int n, float *out)
{
    rmsnorm(x, (const float *)(const void *)w, n, 128, RMS_EPS, out);
}

void linear_bf16_128x96(const unsigned char *w, const float *x, int n, float *y)
{
    const struct df_mat m = { w, NULL, 96, 128, DF_BF16, DF_ACT_F32 };
    linear(&m, x, n, y);
}

void linear_bf16_128x288(const unsigned char *w, const float *x, int n, float *y)
{
    const struct df_mat m = { w, NULL, 288, 128, DF_BF16, DF_ACT_F32 };
    linear(&m, x, n, y);
}

void rmsnorm_96(const float *x, const unsigned char *w, int n, float *out)
{
    rmsnorm(x, (const float *)(const void *)w, n, 96, RMS_EPS, out);
}

void linear_bf16_96x1024(const unsigned char *w, const float *x, int n, float *y)
{
    const struct df_mat m = { w, NULL, 1024, 96, DF_BF16, DF_ACT_F32 };
    linear(&m, x, n, y);
}

void rope_heads_h16_32p32(float *q, const float *rope, const struct df_step *step)
{
    rope_heads(q, rope, step->pos, step->n, 16, 32, 32);
}

void mla_cache_write_256p32(const float *kv_a, const unsigned char *norm, const float *rope, const struct df_step *step, float *cache)
{
    mla_cache_write(&MLA, kv_a, (const float *)(const void *)norm, rope, step, cache);
}

void mla_attend_bf16_h16_256p32_v32(const unsigned char *kv_b, const float *q, const float *cache, const struct df_step *step, float *ws, float *out)
{
    const struct df_mat m = { kv_b, NULL, 1024, 256, DF_BF16, DF_ACT_F32 };
    mla_attend(&MLA, &m, q, cache, step, ws, out);
}

void linear_bf16_512x128(const unsigned char *w, const float *x, int n, float *y)
{
    const struct df_mat m = { w, NULL, 128, 512, DF_BF16, DF_ACT_F32 };
    linear(&m, x, n, y);
}

void add_rmsnorm_128(float *x, const float *y, const unsigned char *w, int n, float *out)
{
    add_rmsnorm(x, y, (const float *)(const void *)w, n, 128, RMS_EPS, out);
}

void linear_bf16_128x256(const unsigned char *w, const float *x, int n, float *y)
{
    const struct df_mat m = { w, NULL, 256, 128, DF_BF16, DF_ACT_F32 };
    linear(&m, x, n, y);
}

void silu_mul_256(float *g, const float *u, int n)
{
    silu_mul(g, u, n, 256);
}

void linear_bf16_256x128(const unsigned char *w, const float *x, int n, float *y)
{
    const struct df_mat m = { w, NULL, 128, 256, DF_BF16, DF_ACT_F32 };
    linear(&m, x, n, y);
}

void linear_f32_128x16(const unsigned char *w, const float *x, int n, float *y)
{
    const struct df_mat m = { w, NULL, 16, 128, DF_F32, DF_ACT_F32 };
    linear(&m, x, n, y);
}

void moe_route_e16_k4(const float *logits, const unsigned char *bias, int n, int *ids, float *weights)
{
    moe_route(&ROUTE, logits, bias ? (const float *)(const void *)bias : NULL, n, ids, weights);
}

void moe_experts_bf16_128x64_k4(const unsigned char *w, const struct df_expert *table, const float *x, const int *ids, const float *weights, int n, float *ws, float *out)
{
    const struct df_experts_shape s = { 4, 128, 64, DF_BF16, DF_ACT_F32 };
    moe_experts(&s, w, table, x, ids, weights, n, ws, out);
}

void linear_bf16_128x64(const unsigned char *w, const float *x, int n, float *y)
{
    const struct df_mat m = { w, NULL, 64, 128, DF_BF16, DF_ACT_F32 };
    linear(&m, x, n, y);
}

void silu_mul_64(float *g, const float *u, int n)
{
    silu_mul(g, u, n, 64);
}

void linear_bf16_64x128(const unsigned char *w, const float *x, int n, float *y)
{
    const struct df_mat m = { w, NULL, 128, 64, DF_BF16, DF_ACT_F32 };
    linear(&m, x, n, y);
}

void residual_add_128(float *x, const float *y, int n)
{
    residual_add(x, y, n, 128);
}

void embed_bf16_1000x128(const unsigned char *w, const int *tokens, int n, float *out)
{
    const struct df_mat m = { w, NULL, 1000, 128, DF_BF16, DF_ACT_F32 };
    embed(&m, tokens, n, out);
}

void gather_rows_128(const float *x, const int *rows, int n, float *out)
{
    gather_rows(x, rows, n, 128, out);
}

void linear_bf16_128x1000(const unsigned char *w, const float *x, int n, float *y)
{
    const struct df_mat m = { w, NULL, 1000, 128, DF_BF16, DF_ACT_F32 };
    linear(&m, x, n, y);
}

