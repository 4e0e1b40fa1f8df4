/* kernels.h: the kernel instances v3_h16_r32 uses, one per distinct shape.
 * Generated; do not edit. */
#ifndef DF_GENERATED_KERNELS_H
#define DF_GENERATED_KERNELS_H

#include "model.h"
#include "kernels/moe.h"

void rope_init(float *rope);
void rmsnorm_128(const float *x, const unsigned char *w, int n, float *out);
void linear_bf16_128x96(const unsigned char *w, const float *x, int n, float *y);
void linear_bf16_128x288(const unsigned char *w, const float *x, int n, float *y);
void rmsnorm_96(const float *x, const unsigned char *w, int n, float *out);
void linear_bf16_96x1024(const unsigned char *w, const float *x, int n, float *y);
void rope_heads_h16_32p32(float *q, const float *rope, const struct df_step *step);
void mla_cache_write_256p32(const float *kv_a, const unsigned char *norm, const float *rope, const struct df_step *step, float *cache);
void mla_attend_bf16_h16_256p32_v32(const unsigned char *kv_b, const float *q, const float *cache, const struct df_step *step, float *ws, float *out);
void linear_bf16_512x128(const unsigned char *w, const float *x, int n, float *y);
void add_rmsnorm_128(float *x, const float *y, const unsigned char *w, int n, float *out);
void linear_bf16_128x256(const unsigned char *w, const float *x, int n, float *y);
void silu_mul_256(float *g, const float *u, int n);
void linear_bf16_256x128(const unsigned char *w, const float *x, int n, float *y);
void linear_f32_128x16(const unsigned char *w, const float *x, int n, float *y);
void moe_route_e16_k4(const float *logits, const unsigned char *bias, int n, int *ids, float *weights);
void moe_experts_bf16_128x64_k4(const unsigned char *w, const struct df_expert *table, const float *x, const int *ids, const float *weights, int n, float *ws, float *out);
void linear_bf16_128x64(const unsigned char *w, const float *x, int n, float *y);
void silu_mul_64(float *g, const float *u, int n);
void linear_bf16_64x128(const unsigned char *w, const float *x, int n, float *y);
void residual_add_128(float *x, const float *y, int n);
void embed_bf16_1000x128(const unsigned char *w, const int *tokens, int n, float *out);
void gather_rows_128(const float *x, const int *rows, int n, float *out);
void linear_bf16_128x1000(const unsigned char *w, const float *x, int n, float *y);

#endif
