/* simd_shapes.h: shapes shared by the plain C kernels and the SIMD ones. */
#ifndef DF_KERNELS_SIMD_SHAPES_H
#define DF_KERNELS_SIMD_SHAPES_H

/* Multi-head Latent Attention (mla.h). */
struct df_mla_shape {
    int heads, nope, rope_dim, v_head, kv_lora, max_context;
    float softmax_scale, eps;
};

#endif
