/* linear.h: y[t] = W x[t] for the n token rows of a step (no bias: DeepSeek
 * has none). Each output is one mat_dot_row computed whole by one thread,
 * so a token's result depends neither on the other rows of the batch nor on
 * the thread count. Threads split the output rows (the weight matrix), so
 * each thread streams its share of W once for all n tokens. */
#ifndef DF_KERNELS_LINEAR_H
#define DF_KERNELS_LINEAR_H

#include "../threads.h"
#include "mat.h"

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

/* Below this many multiply-adds a job is not worth waking the pool. */
#define DF_PARALLEL_MIN_WORK 32768

static inline void linear(const struct df_mat *m, const float *x, int n, float *y)
{
    struct df_linear_job j = { m, x, n, y };
    if ((long long)m->rows * m->cols * n < DF_PARALLEL_MIN_WORK)
        linear_rows(&j, 0, m->rows);
    else
        df_parallel_for(m->rows, linear_rows, &j);
}

#endif
