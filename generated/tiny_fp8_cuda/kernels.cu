/* kernels.cu: tiny_fp8_cuda's kernel instances for CUDA (sm_90a). Each launches a
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

void rmsnorm_200(const float *x, const unsigned char *w, int n, float *out)
{
    dfc::rmsnorm<200, DF_ACT_F32>(x, w, n, RMS_EPS, out);
}

void linear_pair_fp8_200x136_160(const unsigned char *w, const unsigned char *w_scale, const unsigned char *w2, const unsigned char *w2_scale, const float *x, int n, float *y, float *y2)
{
    dfc::linear_pair<DF_F8E4M3, 136, 160, 200>(w, w_scale, w2, w2_scale, x, n, y, y2);
}

void rmsnorm_136(const float *x, const unsigned char *w, int n, float *out)
{
    dfc::rmsnorm<136, DF_ACT_F32>(x, w, n, RMS_EPS, out);
}

void linear_fp8_136x192(const unsigned char *w, const unsigned char *w_scale, const float *x, int n, float *y)
{
    dfc::linear<DF_F8E4M3, 192, 136>(w, w_scale, x, n, y);
}

void rope_cache_h4_32p16_144p16(float *q, const float *kv_a, const unsigned char *norm, const float *rope, const int *slot, const int *pos, int n, float *cache)
{
    dfc::rope_cache<4, 32, 16, 144, 256>(q, kv_a, norm, rope, slot, pos, n, RMS_EPS, cache);
}

void mla_attend_fp8_h4_144p16_v40(const unsigned char *kv_b, const unsigned char *kv_b_scale, const float *q, const float *cache, const int *slot, const int *pos, int n, float *ws, float *out)
{
    (void)ws; /* the CPU's serial scratch: each (token, head) block keeps its own in shared memory */
    dfc::mla_attend<DF_F8E4M3, 4, 32, 16, 40, 144, 256>(kv_b, kv_b_scale, q, cache, slot, pos, n, SOFTMAX_SCALE, out);
}

void linear_fp8_160x200(const unsigned char *w, const unsigned char *w_scale, const float *x, int n, float *y)
{
    dfc::linear<DF_F8E4M3, 200, 160>(w, w_scale, x, n, y);
}

void add_rmsnorm_200(float *x, const float *y, const unsigned char *w, int n, float *out)
{
    dfc::add_rmsnorm<200, DF_ACT_F32>(x, y, w, n, RMS_EPS, out);
}

void swiglu_fp8_200x328(const unsigned char *gate, const unsigned char *gate_scale, const unsigned char *up, const unsigned char *up_scale, const float *x, int n, float *g)
{
    dfc::swiglu<DF_F8E4M3, 328, 200>(gate, gate_scale, up, up_scale, x, n, g);
}

void linear_fp8_328x200(const unsigned char *w, const unsigned char *w_scale, const float *x, int n, float *y)
{
    dfc::linear<DF_F8E4M3, 200, 328>(w, w_scale, x, n, y);
}

void linear_f32_200x16(const unsigned char *w, const float *x, int n, float *y)
{
    dfc::linear<DF_F32, 16, 200>(w, NULL, x, n, y);
}

void moe_route_e16_k4(const float *logits, const unsigned char *bias, int n, int *ids, float *weights)
{
    dfc::moe_route<16, 4, 4>(ROUTE, logits, bias, n, ids, weights);
}

void moe_shared_fp8_200x72_k4_s72(const unsigned char *w, const struct df_expert *table, const float *x, const int *ids, const float *weights, int n, float *ws, float *out, const unsigned char *gate, const unsigned char *gate_scale, const unsigned char *up, const unsigned char *up_scale, const unsigned char *down, const unsigned char *down_scale, float *g)
{
    static_assert(dfc::moe_scratch_floats<200, 72, 16, 4>(PREFILL_CHUNK) * sizeof(float) <= 1130752u, "the plan's expert_ws");
    dfc::moe_experts<DF_F8E4M3, 200, 72, 16, 4, DF_ACT_F32, 72>(w, table, x, ids, weights, n, ws, out, { gate, gate_scale, up, up_scale, down, down_scale, g });
}

void residual_add_200(float *x, const float *y, int n)
{
    dfc::residual_add<200>(x, y, n);
}

void embed_bf16_1000x200(const unsigned char *w, const int *tokens, int n, float *out)
{
    dfc::embed<DF_BF16, 1000, 200>(w, NULL, tokens, n, out);
}

void gather_rows_200(const float *x, const int *rows, int n, float *out)
{
    dfc::gather_rows<200>(x, rows, n, out);
}

void linear_bf16_200x1000(const unsigned char *w, const float *x, int n, float *y)
{
    dfc::linear<DF_BF16, 1000, 200>(w, NULL, x, n, y);
}

