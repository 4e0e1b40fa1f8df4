/* threads.c: the pool behind df_parallel_for. Workers sleep on a condition
 * variable; each job bumps a generation counter, every worker runs its
 * range, and the last to finish wakes the caller. Threads are created once,
 * at start, never per token.
 *
 * A forward step posts a hundred jobs or more, with little serial work in
 * between, so before sleeping a worker (and the caller, waiting for the
 * workers) spins for a while (DF_SPIN_NS) on the atomic counters: a job then
 * starts in about a microsecond instead of a futex wake-up's 5-10. The spin
 * yields the CPU every few microseconds, so that on an oversubscribed
 * machine a spinning thread does not hold up the one it waits for. */
#include "threads.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* How long a thread spins before it sleeps. */
#ifndef DF_SPIN_NS
#define DF_SPIN_NS 200000L
#endif

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Spin until *v != old (or the time is up): 1 if it changed. */
static int spin_while_equal(const atomic_ulong *v, unsigned long old, const atomic_int *stop)
{
    long long end = 0;
    for (int i = 0;; i++) {
        if (atomic_load_explicit(v, memory_order_acquire) != old || atomic_load_explicit(stop, memory_order_relaxed))
            return 1;
        cpu_relax();
        if ((i & 63) == 63) {
            const long long t = now_ns();
            if (!end)
                end = t + DF_SPIN_NS;
            else if (t > end)
                return 0;
            sched_yield();
        }
    }
}

static struct {
    int n;                    /* threads, including the caller's */
    pthread_t *workers;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    atomic_ulong generation;  /* bumped (under lock) to post a job */
    atomic_int pending;       /* workers still running the current job */
    atomic_int stopping;
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
    for (;;) {
        if (!spin_while_equal(&pool.generation, seen, &pool.stopping)) {
            pthread_mutex_lock(&pool.lock);
            while (atomic_load(&pool.generation) == seen && !atomic_load(&pool.stopping))
                pthread_cond_wait(&pool.wake, &pool.lock);
            pthread_mutex_unlock(&pool.lock);
        }
        if (atomic_load(&pool.stopping))
            break;
        /* fn, ctx and items were written before the generation's release */
        seen = atomic_load_explicit(&pool.generation, memory_order_acquire);
        df_range_fn fn = pool.fn;
        void *ctx = pool.ctx;
        int begin, end;
        range_of(t, pool.items, &begin, &end);
        if (begin < end)
            fn(ctx, begin, end);
        if (atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&pool.lock);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.lock);
        }
    }
    return NULL;
}

int df_threads_start(int n)
{
    if (n < 1 || n > DF_MAX_THREADS)
        return -1;
    pool.workers = calloc((size_t)n, sizeof(pthread_t));
    if (!pool.workers)
        return -1;
    atomic_store(&pool.stopping, 0);
    for (int t = 1; t < n; t++) {
        struct worker_start *start = malloc(sizeof *start);
        if (start) {
            start->index = t;
            start->generation = atomic_load(&pool.generation);
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
    atomic_store(&pool.stopping, 1);
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
    pool.fn = fn;
    pool.ctx = ctx;
    pool.items = n;
    atomic_store_explicit(&pool.pending, pool.n - 1, memory_order_relaxed);
    pthread_mutex_lock(&pool.lock);
    atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    int begin, end;
    range_of(0, n, &begin, &end);
    fn(ctx, begin, end);
    long long until = 0;
    for (int i = 0; atomic_load_explicit(&pool.pending, memory_order_acquire) > 0; i++) {
        cpu_relax();
        if ((i & 63) == 63) {
            const long long t = now_ns();
            if (!until)
                until = t + DF_SPIN_NS;
            else if (t > until)
                break;
            sched_yield();
        }
    }
    if (atomic_load_explicit(&pool.pending, memory_order_acquire) > 0) {
        pthread_mutex_lock(&pool.lock);
        while (atomic_load(&pool.pending) > 0)
            pthread_cond_wait(&pool.done, &pool.lock);
        pthread_mutex_unlock(&pool.lock);
    }
}
