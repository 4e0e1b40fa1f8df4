/* kernels.h: the kernel instances v3_h16_cuda uses, one per distinct shape: host
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
void rmsnorm_128(const float *x, const unsigned char *w, int n, float *out);
void linear_pair_bf16_128x96_320(const unsigned char *w, const unsigned char *w2, const float *x, int n, float *y, float *y2);
void rmsnorm_96(const float *x, const unsigned char *w, int n, float *out);
void linear_bf16_96x1536(const unsigned char *w, const float *x, int n, float *y);
void mla_attend_split_rope_bf16_h16_256p64_v32(const unsigned char *kv_b, const float *q, const float *kv_a, const unsigned char *norm, const float *rope, float *cache, const int *slot, const int *pos, const int *pos_host, int n, float *ws, float *out);
void linear_bf16_512x128(const unsigned char *w, const float *x, int n, float *y);
void add_rmsnorm_128(float *x, const float *y, const unsigned char *w, int n, float *out);
void swiglu_bf16_128x256(const unsigned char *gate, const unsigned char *up, const float *x, int n, float *g);
void linear_bf16_256x128(const unsigned char *w, const float *x, int n, float *y);
void linear_f32_128x16(const unsigned char *w, const float *x, int n, float *y);
void moe_route_e16_k4(const float *logits, const unsigned char *bias, int n, int *ids, float *weights);
void moe_shared_bf16_128x64_k4_s64(const unsigned char *w, const struct df_expert *table, const float *x, const int *ids, const float *weights, int n, float *ws, float *out, const unsigned char *gate, const unsigned char *up, const unsigned char *down, float *g);
void residual_add_128(float *x, const float *y, int n);
void embed_bf16_1000x128(const unsigned char *w, const int *tokens, int n, float *out);
void gather_rows_128(const float *x, const int *rows, int n, float *out);
void linear_bf16_128x1000(const unsigned char *w, const float *x, int n, float *y);

#ifdef __cplusplus
}
#endif

#endif
