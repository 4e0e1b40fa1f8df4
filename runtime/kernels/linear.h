/* linear.h: y[t] = W x[t] for the n token rows of a step (no bias: DeepSeek
 * has none). Each output is one mat_dot_row computed whole by one thread,
 * so a token's result depends neither on the other rows of the batch nor on
 * the thread count. Threads split the output rows (the weight matrix), so
 * each thread streams its share of W once for all n tokens. */
#ifndef DF_KERNELS_LINEAR_H
#define DF_KERNELS_LINEAR_H

#include "../threads.h"
#include "mat.h"
#include "simd.h"

struct df_linear_job {
    const struct df_mat *m;
    const float *x;
    int n;
    float *y;
};

static inline void linear_rows(void *ctx, int r0, int r1)
{
    const struct df_linear_job *j = ctx;
    for (int t = 0; t < j->n; t++)
        for (int r = r0; r < r1; r++)
            j->y[(size_t)t * j->m->rows + r] = mat_dot_row(j->m, r, j->x + (size_t)t * j->m->cols);
}

#if DF_SIMD
/* Whether the SIMD kernels take this matrix (any DeepSeek shape does). */
static inline bool df_simd_takes(const struct df_mat *m)
{
    return df_isa != DF_ISA_SCALAR && m->cols <= DF_SIMD_MAX_K;
}

/* The SIMD path: threads take whole blocks of DF_ROW_BLOCK rows. */
static inline void linear_simd_blocks(void *ctx, int b0, int b1)
{
    const struct df_linear_job *j = ctx;
    const int r1 = b1 * DF_ROW_BLOCK < j->m->rows ? b1 * DF_ROW_BLOCK : j->m->rows;
    df_simd_gemm(j->m, j->x, (size_t)j->m->cols, NULL, j->n, j->y + b0 * DF_ROW_BLOCK, (size_t)j->m->rows, b0 * DF_ROW_BLOCK, r1);
}
#endif

static inline void linear(const struct df_mat *m, const float *x, int n, float *y)
{
    struct df_linear_job j = { m, x, n, y };
#if DF_SIMD
    if (df_simd_takes(m)) {
        df_rows((m->rows + DF_ROW_BLOCK - 1) / DF_ROW_BLOCK, (long long)m->rows * m->cols * n, linear_simd_blocks, &j);
        return;
    }
#endif
    df_rows(m->rows, (long long)m->rows * m->cols * n, linear_rows, &j);
}

#endif
