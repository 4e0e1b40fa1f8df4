/* kernels.cu: tiny_bf16act_cuda's kernel instances for CUDA (sm_90a). Each launches a
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

void rmsnorm_round_128(const float *x, const unsigned char *w, int n, float *out)
{
    dfc::rmsnorm<128, DF_ACT_BF16>(x, w, n, RMS_EPS, out);
}

void linear_bf16gemm_128x96(const unsigned char *w, const float *x, int n, float *y, unsigned char *in, float *scales, void *workspace, int reuse_input)
{
    static_assert(PREFILL_CHUNK * 128 * 2 <= 131072u, "the plan's gemm_in holds the bf16 values");
    static_assert(DF_CUDA_GEMM_WS_BYTES <= 33554432u, "the plan's gemm_ws holds cuBLASLt's workspace");
    static_assert(PREFILL_CHUNK * 128 * sizeof(float) <= 131072u, "x holds the rows the GEMM reads");
    static_assert(PREFILL_CHUNK * 96 * sizeof(float) <= 98304u, "y holds the rows the GEMM writes");
    df_cuda_lt_linear(DF_CUDA_GEMM_BF16, 96, 128, PREFILL_CHUNK, w, NULL, x, n, y, in, scales, workspace, reuse_input);
}

void linear_bf16gemm_128x80(const unsigned char *w, const float *x, int n, float *y, unsigned char *in, float *scales, void *workspace, int reuse_input)
{
    static_assert(PREFILL_CHUNK * 128 * 2 <= 131072u, "the plan's gemm_in holds the bf16 values");
    static_assert(DF_CUDA_GEMM_WS_BYTES <= 33554432u, "the plan's gemm_ws holds cuBLASLt's workspace");
    static_assert(PREFILL_CHUNK * 128 * sizeof(float) <= 131072u, "x holds the rows the GEMM reads");
    static_assert(PREFILL_CHUNK * 80 * sizeof(float) <= 81920u, "y holds the rows the GEMM writes");
    df_cuda_lt_linear(DF_CUDA_GEMM_BF16, 80, 128, PREFILL_CHUNK, w, NULL, x, n, y, in, scales, workspace, reuse_input);
}

void rmsnorm_round_96(const float *x, const unsigned char *w, int n, float *out)
{
    dfc::rmsnorm<96, DF_ACT_BF16>(x, w, n, RMS_EPS, out);
}

void linear_bf16gemm_96x192(const unsigned char *w, const float *x, int n, float *y, unsigned char *in, float *scales, void *workspace, int reuse_input)
{
    static_assert(PREFILL_CHUNK * 96 * 2 <= 131072u, "the plan's gemm_in holds the bf16 values");
    static_assert(DF_CUDA_GEMM_WS_BYTES <= 33554432u, "the plan's gemm_ws holds cuBLASLt's workspace");
    static_assert(PREFILL_CHUNK * 96 * sizeof(float) <= 98304u, "x holds the rows the GEMM reads");
    static_assert(PREFILL_CHUNK * 192 * sizeof(float) <= 196608u, "y holds the rows the GEMM writes");
    df_cuda_lt_linear(DF_CUDA_GEMM_BF16, 192, 96, PREFILL_CHUNK, w, NULL, x, n, y, in, scales, workspace, reuse_input);
}

void rope_cache_h4_32p16_64p16(float *q, const float *kv_a, const unsigned char *norm, const float *rope, const int *slot, const int *pos, int n, float *cache)
{
    dfc::rope_cache<4, 32, 16, 64, 256>(q, kv_a, norm, rope, slot, pos, n, RMS_EPS, cache);
}

void mla_attend_bf16_h4_64p16_v32(const unsigned char *kv_b, const float *q, const float *cache, const int *slot, const int *pos, int n, float *ws, float *out)
{
    (void)ws; /* the CPU's serial scratch: each (token, head) block keeps its own in shared memory */
    dfc::mla_attend<DF_BF16, 4, 32, 16, 32, 64, 256>(kv_b, NULL, q, cache, slot, pos, n, SOFTMAX_SCALE, out);
}

void act_round_bf16_128(float *x, int n)
{
    dfc::act_round_bf16<128>(x, n);
}

void linear_bf16gemm_128x128(const unsigned char *w, const float *x, int n, float *y, unsigned char *in, float *scales, void *workspace, int reuse_input)
{
    static_assert(PREFILL_CHUNK * 128 * 2 <= 131072u, "the plan's gemm_in holds the bf16 values");
    static_assert(DF_CUDA_GEMM_WS_BYTES <= 33554432u, "the plan's gemm_ws holds cuBLASLt's workspace");
    static_assert(PREFILL_CHUNK * 128 * sizeof(float) <= 131072u, "x holds the rows the GEMM reads");
    static_assert(PREFILL_CHUNK * 128 * sizeof(float) <= 131072u, "y holds the rows the GEMM writes");
    df_cuda_lt_linear(DF_CUDA_GEMM_BF16, 128, 128, PREFILL_CHUNK, w, NULL, x, n, y, in, scales, workspace, reuse_input);
}

void add_rmsnorm_round_128(float *x, const float *y, const unsigned char *w, int n, float *out)
{
    dfc::add_rmsnorm<128, DF_ACT_BF16>(x, y, w, n, RMS_EPS, out);
}

void linear_bf16gemm_128x256(const unsigned char *w, const float *x, int n, float *y, unsigned char *in, float *scales, void *workspace, int reuse_input)
{
    static_assert(PREFILL_CHUNK * 128 * 2 <= 131072u, "the plan's gemm_in holds the bf16 values");
    static_assert(DF_CUDA_GEMM_WS_BYTES <= 33554432u, "the plan's gemm_ws holds cuBLASLt's workspace");
    static_assert(PREFILL_CHUNK * 128 * sizeof(float) <= 131072u, "x holds the rows the GEMM reads");
    static_assert(PREFILL_CHUNK * 256 * sizeof(float) <= 262144u, "y holds the rows the GEMM writes");
    df_cuda_lt_linear(DF_CUDA_GEMM_BF16, 256, 128, PREFILL_CHUNK, w, NULL, x, n, y, in, scales, workspace, reuse_input);
}

void silu_mul_round_256(float *g, const float *u, int n)
{
    dfc::silu_mul_round<256>(g, u, n);
}

void linear_bf16gemm_256x128(const unsigned char *w, const float *x, int n, float *y, unsigned char *in, float *scales, void *workspace, int reuse_input)
{
    static_assert(PREFILL_CHUNK * 256 * 2 <= 131072u, "the plan's gemm_in holds the bf16 values");
    static_assert(DF_CUDA_GEMM_WS_BYTES <= 33554432u, "the plan's gemm_ws holds cuBLASLt's workspace");
    static_assert(PREFILL_CHUNK * 256 * sizeof(float) <= 262144u, "x holds the rows the GEMM reads");
    static_assert(PREFILL_CHUNK * 128 * sizeof(float) <= 131072u, "y holds the rows the GEMM writes");
    df_cuda_lt_linear(DF_CUDA_GEMM_BF16, 128, 256, PREFILL_CHUNK, w, NULL, x, n, y, in, scales, workspace, reuse_input);
}

void add_rmsnorm_128(float *x, const float *y, const unsigned char *w, int n, float *out)
{
    dfc::add_rmsnorm<128, DF_ACT_F32>(x, y, w, n, RMS_EPS, out);
}

void linear_f32_128x16(const unsigned char *w, const float *x, int n, float *y)
{
    dfc::linear<DF_F32, 16, 128>(w, NULL, x, n, y);
}

void moe_route_e16_k4(const float *logits, const unsigned char *bias, int n, int *ids, float *weights)
{
    dfc::moe_route<16, 4, 4>(ROUTE, logits, bias, n, ids, weights);
}

void moe_experts_bf16_128x64_k4_bf16act(const unsigned char *w, const struct df_expert *table, const float *x, const int *ids, const float *weights, int n, float *ws, float *out)
{
    static_assert(dfc::moe_scratch_floats<128, 64, 16, 4>(PREFILL_CHUNK) * sizeof(float) <= 803072u, "the plan's expert_ws");
    dfc::moe_experts<DF_BF16, 128, 64, 16, 4, DF_ACT_BF16>(w, table, x, ids, weights, n, ws, out);
}

void linear_bf16gemm_128x64(const unsigned char *w, const float *x, int n, float *y, unsigned char *in, float *scales, void *workspace, int reuse_input)
{
    static_assert(PREFILL_CHUNK * 128 * 2 <= 131072u, "the plan's gemm_in holds the bf16 values");
    static_assert(DF_CUDA_GEMM_WS_BYTES <= 33554432u, "the plan's gemm_ws holds cuBLASLt's workspace");
    static_assert(PREFILL_CHUNK * 128 * sizeof(float) <= 131072u, "x holds the rows the GEMM reads");
    static_assert(PREFILL_CHUNK * 64 * sizeof(float) <= 65536u, "y holds the rows the GEMM writes");
    df_cuda_lt_linear(DF_CUDA_GEMM_BF16, 64, 128, PREFILL_CHUNK, w, NULL, x, n, y, in, scales, workspace, reuse_input);
}

void silu_mul_round_64(float *g, const float *u, int n)
{
    dfc::silu_mul_round<64>(g, u, n);
}

void linear_bf16gemm_64x128(const unsigned char *w, const float *x, int n, float *y, unsigned char *in, float *scales, void *workspace, int reuse_input)
{
    static_assert(PREFILL_CHUNK * 64 * 2 <= 131072u, "the plan's gemm_in holds the bf16 values");
    static_assert(DF_CUDA_GEMM_WS_BYTES <= 33554432u, "the plan's gemm_ws holds cuBLASLt's workspace");
    static_assert(PREFILL_CHUNK * 64 * sizeof(float) <= 65536u, "x holds the rows the GEMM reads");
    static_assert(PREFILL_CHUNK * 128 * sizeof(float) <= 131072u, "y holds the rows the GEMM writes");
    df_cuda_lt_linear(DF_CUDA_GEMM_BF16, 128, 64, PREFILL_CHUNK, w, NULL, x, n, y, in, scales, workspace, reuse_input);
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

void linear_bf16gemm_128x1000(const unsigned char *w, const float *x, int n, float *y, unsigned char *in, float *scales, void *workspace, int reuse_input)
{
    static_assert(MAX_BATCH * 128 * 2 <= 131072u, "the plan's gemm_in holds the bf16 values");
    static_assert(DF_CUDA_GEMM_WS_BYTES <= 33554432u, "the plan's gemm_ws holds cuBLASLt's workspace");
    static_assert(MAX_BATCH * 128 * sizeof(float) <= 2048u, "x holds the rows the GEMM reads");
    static_assert(MAX_BATCH * 1000 * sizeof(float) <= 16128u, "y holds the rows the GEMM writes");
    df_cuda_lt_linear(DF_CUDA_GEMM_BF16, 1000, 128, MAX_BATCH, w, NULL, x, n, y, in, scales, workspace, reuse_input);
}

