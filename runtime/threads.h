/* threads.h: a persistent pool of worker threads with a fixed partition.
 *
 * df_parallel_for(n, fn, ctx) splits [0, n) into one contiguous range per
 * thread, always the same ranges for the same n and thread count, and runs
 * them at once; the caller's thread takes the first. Kernels use it only so
 * that each output element is computed whole by one thread, in the same
 * order as with one thread: results are identical for any thread count. */
#ifndef DF_THREADS_H
#define DF_THREADS_H

#define DF_MAX_THREADS 256

typedef void (*df_range_fn)(void *ctx, int begin, int end);

/* Start n - 1 workers (n = 1: none). 0 on success. */
int df_threads_start(int n);
void df_threads_stop(void);
int df_threads_count(void);

void df_parallel_for(int n, df_range_fn fn, void *ctx);

/* Below this much work (multiply-adds, or elements of a row-wise op) a job
 * is not worth waking the pool. */
#define DF_PARALLEL_MIN_WORK 32768

/* fn over [0, n) on the pool, or on the caller alone when work is small. */
static inline void df_rows(int n, long long work, df_range_fn fn, void *ctx)
{
    if (work >= DF_PARALLEL_MIN_WORK)
        df_parallel_for(n, fn, ctx);
    else
        fn(ctx, 0, n);
}

#endif
