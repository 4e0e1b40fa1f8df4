/* elementwise.h: the small row-wise ops between the matrix products. */
#ifndef DF_KERNELS_ELEMENTWISE_H
#define DF_KERNELS_ELEMENTWISE_H

#include "mat.h"
#include "simd.h"

/* out[t] = x[t] / rms(x[t]) * w; out may alias x. */
static inline void rmsnorm(const float *x, const float *w, int n, int dim, float eps, float *out)
{
    for (int t = 0; t < n; t++) {
        const float *xr = x + (size_t)t * dim;
        float *o = out + (size_t)t * dim;
        float ss = 0.0f;
        for (int i = 0; i < dim; i++)
            ss += xr[i] * xr[i];
        const float inv = 1.0f / sqrtf(ss / (float)dim + eps);
        for (int i = 0; i < dim; i++)
            o[i] = xr[i] * inv * w[i];
    }
}

/* x += y */
static inline void residual_add(float *x, const float *y, int n, int dim)
{
    for (size_t i = 0; i < (size_t)n * dim; i++)
        x[i] += y[i];
}

/* g = silu(g) * u, the SwiGLU gate */
static inline void silu_mul(float *g, const float *u, int n, int dim)
{
#if DF_SIMD
    if (df_isa != DF_ISA_SCALAR) { /* vectorized exp: see simd.h */
        df_simd_silu_mul(g, u, (size_t)n * (size_t)dim);
        return;
    }
#endif
    for (size_t i = 0; i < (size_t)n * dim; i++)
        g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

/* out[i] = x[rows[i]] */
static inline void gather_rows(const float *x, const int *rows, int n, int dim, float *out)
{
    for (int i = 0; i < n; i++)
        memcpy(out + (size_t)i * dim, x + (size_t)rows[i] * dim, sizeof(float) * (size_t)dim);
}

/* out[t] = embedding row of token t */
static inline void embed(const struct df_mat *table, const int *tokens, int n, float *out)
{
    for (int t = 0; t < n; t++)
        for (int c = 0; c < table->cols; c++)
            out[(size_t)t * table->cols + c] = mat_elem(table, tokens[t], c);
}

#endif
