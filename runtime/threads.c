/* threads.c: the pool behind df_parallel_for. Workers sleep on a condition
 * variable; each job bumps a generation counter, every worker runs its
 * range, and the last to finish wakes the caller. Threads are created once,
 * at start, never per token. */
#include "threads.h"

#include <pthread.h>
#include <stdlib.h>

static struct {
    int n;                    /* threads, including the caller's */
    pthread_t *workers;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    unsigned long generation;
    int pending;              /* workers still running the current job */
    int stopping;
    df_range_fn fn;
    void *ctx;
    int items;
} pool = { .n = 1, .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
           .done = PTHREAD_COND_INITIALIZER };

static void range_of(int t, int items, int *begin, int *end)
{
    *begin = (int)((long long)items * t / pool.n);
    *end = (int)((long long)items * (t + 1) / pool.n);
}

/* A worker is born knowing the generation of the last job posted before it,
 * so it never runs a job that finished before it started. */
struct worker_start {
    int index;
    unsigned long generation;
};

static void *worker(void *arg)
{
    const struct worker_start start = *(struct worker_start *)arg;
    const int t = start.index;
    unsigned long seen = start.generation;
    free(arg);
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (pool.generation == seen && !pool.stopping)
            pthread_cond_wait(&pool.wake, &pool.lock);
        if (pool.stopping)
            break;
        seen = pool.generation;
        df_range_fn fn = pool.fn;
        void *ctx = pool.ctx;
        int begin, end;
        range_of(t, pool.items, &begin, &end);
        pthread_mutex_unlock(&pool.lock);
        if (begin < end)
            fn(ctx, begin, end);
        pthread_mutex_lock(&pool.lock);
        if (--pool.pending == 0)
            pthread_cond_signal(&pool.done);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

int df_threads_start(int n)
{
    if (n < 1 || n > DF_MAX_THREADS)
        return -1;
    pool.workers = calloc((size_t)n, sizeof(pthread_t));
    if (!pool.workers)
        return -1;
    pool.stopping = 0;
    for (int t = 1; t < n; t++) {
        struct worker_start *start = malloc(sizeof *start);
        if (start) {
            start->index = t;
            start->generation = pool.generation;
        }
        if (!start || pthread_create(&pool.workers[t], NULL, worker, start) != 0) {
            free(start);
            pool.n = t;
            df_threads_stop();
            return -1;
        }
        pool.n = t + 1;
    }
    pool.n = n;
    return 0;
}

void df_threads_stop(void)
{
    pthread_mutex_lock(&pool.lock);
    pool.stopping = 1;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    for (int t = 1; t < pool.n; t++)
        pthread_join(pool.workers[t], NULL);
    free(pool.workers);
    pool.workers = NULL;
    pool.n = 1;
}

int df_threads_count(void)
{
    return pool.n;
}

void df_parallel_for(int n, df_range_fn fn, void *ctx)
{
    if (pool.n == 1 || n < pool.n) {
        fn(ctx, 0, n);
        return;
    }
    pthread_mutex_lock(&pool.lock);
    pool.fn = fn;
    pool.ctx = ctx;
    pool.items = n;
    pool.pending = pool.n - 1;
    pool.generation++;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    int begin, end;
    range_of(0, n, &begin, &end);
    fn(ctx, begin, end);
    pthread_mutex_lock(&pool.lock);
    while (pool.pending > 0)
        pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
}
