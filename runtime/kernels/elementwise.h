/* elementwise.h: the small row-wise ops between the matrix products. */
#ifndef DF_KERNELS_ELEMENTWISE_H
#define DF_KERNELS_ELEMENTWISE_H

#include "../threads.h"
#include "mat.h"
#include "quant.h"
#include "simd.h"

/* A row-wise op on many rows is split across the pool by df_rows (whole
 * rows per thread: each row computed as alone, the same bits for any thread
 * count). */

/* Rows [t0, t1) of rmsnorm: out[t] = x[t] / rms(x[t]) * w; out may alias x.
 * Each row's sum of squares runs in order; eight rows' sums side by side,
 * so that the eight dependent chains overlap (the same bits as one by one). */
static inline void rmsnorm_rows(const float *x, const float *w, int t0, int t1, int dim, float eps, float *out)
{
    for (int t = t0; t < t1;) {
        const int k = t1 - t < 8 ? t1 - t : 8;
        float ss[8] = { 0.0f };
        for (int i = 0; i < dim; i++)
            for (int j = 0; j < k; j++)
                ss[j] += x[(size_t)(t + j) * dim + i] * x[(size_t)(t + j) * dim + i];
        for (int j = 0; j < k; j++, t++) {
            const float *xr = x + (size_t)t * dim;
            float *o = out + (size_t)t * dim;
            const float inv = 1.0f / sqrtf(ss[j] / (float)dim + eps);
#if DF_SIMD
            if (df_isa != DF_ISA_SCALAR) { /* the same products, 16 at a time */
                df_simd_scale_mul(o, xr, inv, w, (size_t)dim);
                continue;
            }
#endif
            for (int i = 0; i < dim; i++)
                o[i] = xr[i] * inv * w[i];
        }
    }
}

/* Rows [t0, t1) of x += y. */
static inline void add_rows(float *x, const float *y, int t0, int t1, int dim)
{
    x += (size_t)t0 * dim;
    y += (size_t)t0 * dim;
    const size_t n = (size_t)(t1 - t0) * dim;
#if DF_SIMD
    if (df_isa != DF_ISA_SCALAR) { /* the same sums, 16 at a time */
        df_simd_add(x, y, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++)
        x[i] += y[i];
}

/* The norm of the step's rows, with what the schedule fuses into it (gen/schedule.lua): the
 * residual add before it (x += y, add_rows) and the FP8 activations' quantization of its output
 * after it (quant.h). Each row's arithmetic is that of the separate ops one after the other,
 * so the bits are theirs. */
struct df_norm_job {
    float *x_add; /* x, when y is added to it first; NULL otherwise */
    const float *x, *y, *w;
    int dim;
    float eps;
    bool quant;
    float *out;
};

static inline void norm_job(void *ctx, int t0, int t1)
{
    const struct df_norm_job *j = (const struct df_norm_job *)ctx;
    if (j->x_add)
        add_rows(j->x_add, j->y, t0, t1, j->dim);
    rmsnorm_rows(j->x, j->w, t0, t1, j->dim, j->eps, j->out);
    if (j->quant)
        for (int t = t0; t < t1; t++)
            act_quant_fp8_row(j->out + (size_t)t * j->dim, j->dim);
}

static inline void norm_run(struct df_norm_job *j, int n)
{
    /* the add as much again as the norm; a quantization a few multiply-adds a value */
    df_rows(n, (long long)n * j->dim * (1 + (j->x_add ? 1 : 0) + (j->quant ? 4 : 0)), norm_job, j);
}

/* out = rmsnorm(x) (out may alias x) */
static inline void rmsnorm(const float *x, const float *w, int n, int dim, float eps, float *out)
{
    struct df_norm_job j = { NULL, x, NULL, w, dim, eps, false, out };
    norm_run(&j, n);
}

/* x += y, then out = rmsnorm(x): the residual add and the next sublayer's norm in one pass */
static inline void add_rmsnorm(float *x, const float *y, const float *w, int n, int dim, float eps, float *out)
{
    struct df_norm_job j = { x, x, y, w, dim, eps, false, out };
    norm_run(&j, n);
}

/* rmsnorm, then out quantized (act_quant_fp8): the norm of an FP8 product's input */
static inline void rmsnorm_quant(const float *x, const float *w, int n, int dim, float eps, float *out)
{
    struct df_norm_job j = { NULL, x, NULL, w, dim, eps, true, out };
    norm_run(&j, n);
}

/* add_rmsnorm, then out quantized */
static inline void add_rmsnorm_quant(float *x, const float *y, const float *w, int n, int dim, float eps, float *out)
{
    struct df_norm_job j = { x, x, y, w, dim, eps, true, out };
    norm_run(&j, n);
}

/* Two arrays of rows, x and y (dim floats each), for the ops below; quant: silu_mul's
 * output then quantized (FP8 activations, fused by the schedule: the same bits). */
struct df_rows2_job {
    float *x;
    const float *y;
    int dim;
    bool quant;
};

/* x += y */
static inline void residual_add_job(void *ctx, int t0, int t1)
{
    const struct df_rows2_job *j = (const struct df_rows2_job *)ctx;
    add_rows(j->x, j->y, t0, t1, j->dim);
}

static inline void residual_add(float *x, const float *y, int n, int dim)
{
    struct df_rows2_job j = { x, y, dim, false };
    df_rows(n, (long long)n * dim, residual_add_job, &j);
}

/* g = silu(g) * u, the SwiGLU gate */
static inline void silu_mul_job(void *ctx, int t0, int t1)
{
    const struct df_rows2_job *j = (const struct df_rows2_job *)ctx;
    float *g = j->x + (size_t)t0 * j->dim;
    const float *u = j->y + (size_t)t0 * j->dim;
    const size_t n = (size_t)(t1 - t0) * j->dim;
#if DF_SIMD
    if (df_isa != DF_ISA_SCALAR) /* vectorized exp: see simd.h */
        df_simd_silu_mul(g, u, n);
    else
#endif
        for (size_t i = 0; i < n; i++)
            g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
    if (j->quant)
        for (int t = t0; t < t1; t++)
            act_quant_fp8_row(j->x + (size_t)t * j->dim, j->dim);
}

static inline void silu_mul(float *g, const float *u, int n, int dim)
{
    struct df_rows2_job j = { g, u, dim, false };
    df_rows(n, (long long)n * dim, silu_mul_job, &j);
}

/* silu_mul, then g quantized (act_quant_fp8): the input of an FP8 down projection */
static inline void silu_mul_quant(float *g, const float *u, int n, int dim)
{
    struct df_rows2_job j = { g, u, dim, true };
    df_rows(n, (long long)n * dim * 5, silu_mul_job, &j);
}

/* The FP8-activation precision's quantization (quant.h), in place: each 1x128
 * block of a row replaced by the values of its e4m3 codes. */
struct df_act_quant_job {
    float *x;
    int dim;
};

static inline void act_quant_fp8_job(void *ctx, int t0, int t1)
{
    const struct df_act_quant_job *j = (const struct df_act_quant_job *)ctx;
    for (int t = t0; t < t1; t++)
        act_quant_fp8_row(j->x + (size_t)t * j->dim, j->dim);
}

static inline void act_quant_fp8(float *x, int n, int dim)
{
    struct df_act_quant_job j = { x, dim };
    /* a division and a conversion per value: worth a few multiply-adds each */
    df_rows(n, (long long)n * dim * 4, act_quant_fp8_job, &j);
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
