/* test_threads.c: df_parallel_for covers every index exactly once, with a
 * fixed partition, and the pool survives being started and stopped again.
 *
 * Every job's context here is a static object, so that a job run at the
 * wrong time shows up as a count of 2 instead of a wild write. */
#include <pthread.h>
#include <time.h>

#include "check.h"
#include "threads.h"

#define MAX_ITEMS 100003
#define MAX_CALLS 64

struct job {
    int *hits, cap;
    pthread_mutex_t lock;
    int calls, begin[MAX_CALLS], end[MAX_CALLS];
};

static void count_fn(void *ctx, int begin, int end)
{
    struct job *j = ctx;
    for (int i = begin; i < end; i++)
        j->hits[i]++;
    pthread_mutex_lock(&j->lock);
    if (j->calls < MAX_CALLS) {
        j->begin[j->calls] = begin;
        j->end[j->calls] = end;
    }
    j->calls++;
    pthread_mutex_unlock(&j->lock);
}

static void job_init(struct job *j, int cap)
{
    j->hits = calloc((size_t)cap, sizeof(int));
    j->cap = cap;
    j->calls = 0;
    pthread_mutex_init(&j->lock, NULL);
}

static void job_reset(struct job *j)
{
    memset(j->hits, 0, sizeof(int) * (size_t)j->cap);
    j->calls = 0;
}

/* 0 if every index of [0, n) was hit exactly once and nothing beyond n. */
static int check_once(const struct job *j, int n, const char *what)
{
    for (int i = 0; i < j->cap; i++) {
        const int want = i < n ? 1 : 0;
        if (j->hits[i] != want) {
            failf("%s: index %d of n=%d run %d times", what, i, n, j->hits[i]);
            return -1;
        }
    }
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { 0, ms * 1000000L };
    nanosleep(&ts, NULL);
}

static struct job job_a, job_b;
#define ROUNDS 8
#define QUICK_ROUNDS 50
static struct job rounds[ROUNDS], quick[QUICK_ROUNDS];

/* The sorted (begin, end) ranges of a job's calls. */
static void sorted_ranges(const struct job *j, int *b, int *e)
{
    const int k = j->calls < MAX_CALLS ? j->calls : MAX_CALLS;
    for (int i = 0; i < k; i++) {
        b[i] = j->begin[i];
        e[i] = j->end[i];
    }
    for (int i = 1; i < k; i++)
        for (int m = i; m > 0 && b[m] < b[m - 1]; m--) {
            int tb = b[m], te = e[m];
            b[m] = b[m - 1]; e[m] = e[m - 1];
            b[m - 1] = tb; e[m - 1] = te;
        }
}

static void test_cover(int threads)
{
    const int ns[] = { 0, 1, threads - 1, threads, threads + 1, 1000, MAX_ITEMS };
    char name[96];
    snprintf(name, sizeof name, "df_parallel_for covers each index once, %d threads", threads);
    case_begin(name);
    CHECK(df_threads_count() == threads, "df_threads_count() = %d", df_threads_count());
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        const int n = ns[k];
        if (n < 0)
            continue;
        char what[48];
        snprintf(what, sizeof what, "n=%d", n);
        job_reset(&job_a);
        df_parallel_for(n, count_fn, &job_a);
        check_once(&job_a, n, what);
        CHECK(job_a.calls <= threads, "n=%d: %d calls for %d threads", n, job_a.calls, threads);
        /* the partition is a function of (n, threads): run again, same ranges */
        job_reset(&job_b);
        df_parallel_for(n, count_fn, &job_b);
        check_once(&job_b, n, what);
        int b1[MAX_CALLS], e1[MAX_CALLS], b2[MAX_CALLS], e2[MAX_CALLS];
        sorted_ranges(&job_a, b1, e1);
        sorted_ranges(&job_b, b2, e2);
        CHECK(job_a.calls == job_b.calls, "n=%d: %d then %d calls", n, job_a.calls, job_b.calls);
        for (int i = 0; i < job_a.calls && i < job_b.calls && i < MAX_CALLS; i++)
            CHECK(b1[i] == b2[i] && e1[i] == e2[i], "n=%d: range [%d,%d) then [%d,%d)", n, b1[i], e1[i],
                  b2[i], e2[i]);
    }
    case_end();
}

int main(void)
{
    job_init(&job_a, MAX_ITEMS);
    job_init(&job_b, MAX_ITEMS);
    for (int r = 0; r < ROUNDS; r++)
        job_init(&rounds[r], 1000);
    for (int r = 0; r < QUICK_ROUNDS; r++)
        job_init(&quick[r], 1000);

    test_cover(1); /* the pool not started: one thread */

    case_begin("df_threads_start refuses 0 and > DF_MAX_THREADS");
    CHECK(df_threads_start(0) != 0, "0 accepted");
    CHECK(df_threads_start(DF_MAX_THREADS + 1) != 0, "%d accepted", DF_MAX_THREADS + 1);
    CHECK(df_threads_count() == 1, "count %d after refusals", df_threads_count());
    case_end();

    case_begin("df_threads_start(3)");
    CHECK(df_threads_start(3) == 0, "failed");
    case_end();
    test_cover(3);
    df_threads_stop();

    case_begin("df_threads_stop leaves one thread");
    CHECK(df_threads_count() == 1, "count %d", df_threads_count());
    case_end();

    /* Start and stop again and again; each round runs one job on a context
     * of its own. Before its job, each round waits a moment so that freshly
     * started workers are idle: a worker that ran anything then would rerun
     * an earlier round's job (its count would become 2). */
    case_begin("start/stop repeatedly: each job runs exactly once");
    const int ths[ROUNDS] = { 3, 2, 4, 3, 1, 3, 2, 3 };
    for (int r = 0; r < ROUNDS; r++) {
        if (df_threads_start(ths[r]) != 0) {
            failf("round %d: start(%d) failed", r, ths[r]);
            break;
        }
        sleep_ms(20);
        df_parallel_for(1000, count_fn, &rounds[r]);
        sleep_ms(5);
        df_threads_stop();
        char what[48];
        for (int q = 0; q <= r; q++) {
            snprintf(what, sizeof what, "round %d's job, after round %d", q, r);
            check_once(&rounds[q], 1000, what);
        }
    }
    case_end();

    case_begin("start/stop repeatedly without pauses");
    for (int r = 0; r < QUICK_ROUNDS; r++) {
        if (df_threads_start(2 + r % 3) != 0) {
            failf("round %d: start failed", r);
            break;
        }
        df_parallel_for(1000, count_fn, &quick[r]);
        df_threads_stop();
    }
    for (int r = 0; r < QUICK_ROUNDS; r++) {
        char what[48];
        snprintf(what, sizeof what, "round %d's job", r);
        check_once(&quick[r], 1000, what);
    }
    CHECK(df_threads_count() == 1, "count %d at the end", df_threads_count());
    case_end();
    free(job_a.hits);
    free(job_b.hits);
    for (int r = 0; r < ROUNDS; r++)
        free(rounds[r].hits);
    for (int r = 0; r < QUICK_ROUNDS; r++)
        free(quick[r].hits);
    return finish();
}
