/* kernels.cu: v3_h16_bf16kv_cuda's kernel instances for CUDA (sm_90a). Each launches a
 * generic kernel of runtime/cuda/kernels.cuh with its shape as template
 * arguments, so the compiler specializes it, on the backend's one stream.
 * Generated; do not edit. */
#include "kernels.cuh"
#include "mla_split.cuh"

#include "config.h"
#include "kernels.h"

static const struct df_route_shape ROUTE = {
    .experts = ROUTED_EXPERTS, .topk = EXPERTS_PER_TOKEN, .n_group = N_GROUP, .topk_group = TOPK_GROUP,
    .method = TOPK_METHOD, .softmax = SCORING_SOFTMAX, .norm_topk_prob = NORM_TOPK_PROB,
    .scaling = ROUTED_SCALING,
};

void rmsnorm_128(const float *x, const unsigned char *w, int n, float *out)
{
    dfc::rmsnorm<128, DF_ACT_F32>(x, w, n, RMS_EPS, out);
}

void linear_pair_bf16_128x96_320(const unsigned char *w, const unsigned char *w2, const float *x, int n, float *y, float *y2)
{
    dfc::linear_pair<DF_BF16, 96, 320, 128>(w, NULL, w2, NULL, x, n, y, y2);
}

void rmsnorm_96(const float *x, const unsigned char *w, int n, float *out)
{
    dfc::rmsnorm<96, DF_ACT_F32>(x, w, n, RMS_EPS, out);
}

void linear_bf16_96x1536(const unsigned char *w, const float *x, int n, float *y)
{
    dfc::linear<DF_BF16, 1536, 96>(w, NULL, x, n, y);
}

void mla_attend_split_rope_bf16_h16_256p64_v32_bf16kv(const unsigned char *kv_b, const float *q, const float *kv_a, const unsigned char *norm, const float *rope, uint16_t *cache, const int *slot, const int *pos, const int *pos_host, int n, float *ws, float *out)
{
    static_assert(dfc::mla_split_floats<16, 256, 64, 256, uint16_t>(256, 4) == 1327232u, "the plan's attn_ws");
    dfc::mla_attend_split<DF_BF16, 16, 32, 64, 32, 256, 256, 256, 4>(kv_b, NULL, q, { kv_a, reinterpret_cast<const float *>(norm), rope, RMS_EPS }, cache, slot, pos, pos_host, n, SOFTMAX_SCALE, ws, out);
}

void linear_bf16_512x128(const unsigned char *w, const float *x, int n, float *y)
{
    dfc::linear<DF_BF16, 128, 512>(w, NULL, x, n, y);
}

void add_rmsnorm_128(float *x, const float *y, const unsigned char *w, int n, float *out)
{
    dfc::add_rmsnorm<128, DF_ACT_F32>(x, y, w, n, RMS_EPS, out);
}

void swiglu_bf16_128x256(const unsigned char *gate, const unsigned char *up, const float *x, int n, float *g)
{
    dfc::swiglu<DF_BF16, 256, 128>(gate, NULL, up, NULL, x, n, g);
}

void linear_bf16_256x128(const unsigned char *w, const float *x, int n, float *y)
{
    dfc::linear<DF_BF16, 128, 256>(w, NULL, x, n, y);
}

void linear_f32_128x16(const unsigned char *w, const float *x, int n, float *y)
{
    dfc::linear<DF_F32, 16, 128>(w, NULL, x, n, y);
}

void moe_route_e16_k4(const float *logits, const unsigned char *bias, int n, int *ids, float *weights)
{
    dfc::moe_route<16, 4, 4>(ROUTE, logits, bias, n, ids, weights);
}

void moe_shared_bf16_128x64_k4_s64(const unsigned char *w, const struct df_expert *table, const float *x, const int *ids, const float *weights, int n, float *ws, float *out, const unsigned char *gate, const unsigned char *up, const unsigned char *down, float *g)
{
    static_assert(dfc::moe_scratch_floats<128, 64, 16, 4>(PREFILL_CHUNK) * sizeof(float) <= 803072u, "the plan's expert_ws");
    dfc::moe_experts<DF_BF16, 128, 64, 16, 4, DF_ACT_F32, 64>(w, table, x, ids, weights, n, ws, out, { gate, NULL, up, NULL, down, NULL, g });
}

void residual_add_128(float *x, const float *y, int n)
{
    dfc::residual_add<128>(x, y, n);
}

void embed_bf16_1000x128(const unsigned char *w, const int *tokens, int n, float *out)
{
    dfc::embed<DF_BF16, 1000, 128>(w, NULL, tokens, n, out);
}

void gather_rows_128(const float *x, const int *rows, int n, float *out)
{
    dfc::gather_rows<128>(x, rows, n, out);
}

void linear_bf16_128x1000(const unsigned char *w, const float *x, int n, float *y)
{
    dfc::linear<DF_BF16, 1000, 128>(w, NULL, x, n, y);
}

