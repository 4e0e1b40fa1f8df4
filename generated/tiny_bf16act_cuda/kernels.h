/* kernels.h: the kernel instances tiny_bf16act_cuda uses, one per distinct shape: host
 * functions (C linkage) that launch their kernel on the CUDA backend's stream
 * (kernels.cu). Pointers are device pointers into the weights and the arena.
 * Generated; do not edit. */
#ifndef DF_GENERATED_KERNELS_H
#define DF_GENERATED_KERNELS_H

#include "model.h"

struct df_expert;

#ifdef __cplusplus
extern "C" {
#endif

void rope_init(float *rope);
void rmsnorm_round_128(const float *x, const unsigned char *w, int n, float *out);
void linear_bf16gemm_128x96(const unsigned char *w, const float *x, int n, float *y, unsigned char *in, float *scales, void *workspace, int reuse_input);
void linear_bf16gemm_128x80(const unsigned char *w, const float *x, int n, float *y, unsigned char *in, float *scales, void *workspace, int reuse_input);
void rmsnorm_round_96(const float *x, const unsigned char *w, int n, float *out);
void linear_bf16gemm_96x192(const unsigned char *w, const float *x, int n, float *y, unsigned char *in, float *scales, void *workspace, int reuse_input);
void rope_cache_h4_32p16_64p16(float *q, const float *kv_a, const unsigned char *norm, const float *rope, const int *slot, const int *pos, int n, float *cache);
void mla_attend_bf16_h4_64p16_v32(const unsigned char *kv_b, const float *q, const float *cache, const int *slot, const int *pos, int n, float *ws, float *out);
void act_round_bf16_128(float *x, int n);
void linear_bf16gemm_128x128(const unsigned char *w, const float *x, int n, float *y, unsigned char *in, float *scales, void *workspace, int reuse_input);
void add_rmsnorm_round_128(float *x, const float *y, const unsigned char *w, int n, float *out);
void linear_bf16gemm_128x256(const unsigned char *w, const float *x, int n, float *y, unsigned char *in, float *scales, void *workspace, int reuse_input);
void silu_mul_round_256(float *g, const float *u, int n);
void linear_bf16gemm_256x128(const unsigned char *w, const float *x, int n, float *y, unsigned char *in, float *scales, void *workspace, int reuse_input);
void add_rmsnorm_128(float *x, const float *y, const unsigned char *w, int n, float *out);
void linear_f32_128x16(const unsigned char *w, const float *x, int n, float *y);
void moe_route_e16_k4(const float *logits, const unsigned char *bias, int n, int *ids, float *weights);
void moe_experts_bf16_128x64_k4_bf16act(const unsigned char *w, const struct df_expert *table, const float *x, const int *ids, const float *weights, int n, float *ws, float *out);
void linear_bf16gemm_128x64(const unsigned char *w, const float *x, int n, float *y, unsigned char *in, float *scales, void *workspace, int reuse_input);
void silu_mul_round_64(float *g, const float *u, int n);
void linear_bf16gemm_64x128(const unsigned char *w, const float *x, int n, float *y, unsigned char *in, float *scales, void *workspace, int reuse_input);
void residual_add_128(float *x, const float *y, int n);
void embed_bf16_1000x128(const unsigned char *w, const int *tokens, int n, float *out);
void gather_rows_128(const float *x, const int *rows, int n, float *out);
void linear_bf16gemm_128x1000(const unsigned char *w, const float *x, int n, float *y, unsigned char *in, float *scales, void *workspace, int reuse_input);

#ifdef __cplusplus
}
#endif

#endif
