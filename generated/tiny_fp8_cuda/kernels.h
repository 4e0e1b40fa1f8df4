/* kernels.h: the kernel instances tiny_fp8_cuda uses, one per distinct shape: host
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
void rmsnorm_200(const float *x, const unsigned char *w, int n, float *out);
void linear_pair_fp8_200x136_160(const unsigned char *w, const unsigned char *w_scale, const unsigned char *w2, const unsigned char *w2_scale, const float *x, int n, float *y, float *y2);
void rmsnorm_136(const float *x, const unsigned char *w, int n, float *out);
void linear_fp8_136x192(const unsigned char *w, const unsigned char *w_scale, const float *x, int n, float *y);
void rope_cache_h4_32p16_144p16(float *q, const float *kv_a, const unsigned char *norm, const float *rope, const int *slot, const int *pos, int n, float *cache);
void mla_attend_fp8_h4_144p16_v40(const unsigned char *kv_b, const unsigned char *kv_b_scale, const float *q, const float *cache, const int *slot, const int *pos, int n, float *ws, float *out);
void linear_fp8_160x200(const unsigned char *w, const unsigned char *w_scale, const float *x, int n, float *y);
void add_rmsnorm_200(float *x, const float *y, const unsigned char *w, int n, float *out);
void swiglu_fp8_200x328(const unsigned char *gate, const unsigned char *gate_scale, const unsigned char *up, const unsigned char *up_scale, const float *x, int n, float *g);
void linear_fp8_328x200(const unsigned char *w, const unsigned char *w_scale, const float *x, int n, float *y);
void linear_f32_200x16(const unsigned char *w, const float *x, int n, float *y);
void moe_route_e16_k4(const float *logits, const unsigned char *bias, int n, int *ids, float *weights);
void moe_shared_fp8_200x72_k4_s72(const unsigned char *w, const struct df_expert *table, const float *x, const int *ids, const float *weights, int n, float *ws, float *out, const unsigned char *gate, const unsigned char *gate_scale, const unsigned char *up, const unsigned char *up_scale, const unsigned char *down, const unsigned char *down_scale, float *g);
void residual_add_200(float *x, const float *y, int n);
void embed_bf16_1000x200(const unsigned char *w, const int *tokens, int n, float *out);
void gather_rows_200(const float *x, const int *rows, int n, float *out);
void linear_bf16_200x1000(const unsigned char *w, const float *x, int n, float *y);

#ifdef __cplusplus
}
#endif

#endif
