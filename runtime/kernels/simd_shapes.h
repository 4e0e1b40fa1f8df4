/* simd_shapes.h: shapes shared by the plain C kernels and the SIMD ones. */
#ifndef DF_KERNELS_SIMD_SHAPES_H
#define DF_KERNELS_SIMD_SHAPES_H

#include <stdbool.h>
#include <stddef.h>

/* Multi-head Latent Attention (mla.h). cache_bf16: the latent cache holds
 * bf16 values (deploy.kv_cache = "bf16"), else f32. */
struct df_mla_shape {
    int heads, nope, rope_dim, v_head, kv_lora, max_context;
    float softmax_scale, eps;
    bool cache_bf16;
};

/* The widest cache row (kv_lora + rope_dim) a bf16 cache takes: the cache
 * write builds a row in f32 on the stack before rounding it, and the SIMD
 * attention widens 16 rows at a time into its thread's df_xbuf (gen/spec.lua
 * refuses wider rows; DeepSeek's are 576). */
#define DF_MLA_MAX_ROW 2048

/* Where row p of a slot starts in the cache, in elements (f32 or bf16). */
static inline size_t mla_cache_index(const struct df_mla_shape *s, int slot, int p)
{
    return ((size_t)slot * s->max_context + (size_t)p) * (size_t)(s->kv_lora + s->rope_dim);
}

#endif
