/* bench_sha256.c: SHA-256 throughput as weight verification uses it (4 MiB
 * chunks of a 512 MiB buffer, handed out to threads from a counter), for
 * weights/sha256.c with SHA-NI and for mbedTLS's mbedtls_sha256_ret, with one
 * thread and with one per online CPU. Best of 3 runs. `make bench-verify`.
 *
 *   bench_sha256 [MiB]      buffer size (default 512) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#include "../../weights/sha256.h"

#define CHUNK (4u << 20)

static unsigned char *buf;
static size_t bytes, chunks;
static atomic_size_t next_chunk;
static int use_mbedtls;
static uint8_t sink[32];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *work(void *arg)
{
    uint8_t h[32], acc = 0;
    (void)arg;
    for (;;) {
        size_t i = atomic_fetch_add(&next_chunk, 1);
        if (i >= chunks)
            break;
        size_t len = bytes - i * CHUNK < CHUNK ? bytes - i * CHUNK : CHUNK;
        if (use_mbedtls)
            mbedtls_sha256_ret(buf + i * CHUNK, len, h, 0);
        else
            df_sha256(buf + i * CHUNK, len, h);
        acc ^= h[0];
    }
    sink[0] ^= acc;
    return NULL;
}

static double run(int threads)
{
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        pthread_t t[256];
        atomic_store(&next_chunk, 0);
        double t0 = now();
        for (int k = 1; k < threads; k++)
            pthread_create(&t[k], NULL, work, NULL);
        work(NULL);
        for (int k = 1; k < threads; k++)
            pthread_join(t[k], NULL);
        double gbs = (double)bytes / (now() - t0) / 1e9;
        best = gbs > best ? gbs : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 512;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int all = ncpu < 1 ? 1 : ncpu > 256 ? 256 : (int)ncpu;
    bytes = (mib ? mib : 1) << 20;
    chunks = (bytes + CHUNK - 1) / CHUNK;
    buf = malloc(bytes);
    if (!buf)
        return 1;
    for (size_t i = 0; i < bytes; i++)
        buf[i] = (unsigned char)(i * 2654435761u >> 13);

    printf("SHA-256 over %zu MiB in 4 MiB chunks, best of 3; %d online CPUs\n", bytes >> 20, all);
    printf("%-10s %9s %14s %14s %10s\n", "impl", "threads", "GB/s", "GB/s/thread", "scaling");
    const char *impls[] = { "sha-ni", "mbedtls" };
    for (int k = 0; k < 2; k++) {
        if (k == 0 && df_sha256_select("sha-ni") != 0) {
            printf("%-10s (this CPU has no SHA extensions)\n", "sha-ni");
            continue;
        }
        use_mbedtls = k == 1;
        double one = run(1), many = all > 1 ? run(all) : one;
        printf("%-10s %9d %14.2f %14.2f %10s\n", impls[k], 1, one, one, "");
        if (all > 1)
            printf("%-10s %9d %14.2f %14.2f %9.2fx\n", impls[k], all, many, many / all, many / one);
    }
    df_sha256_select("auto");
    free(buf);
    return sink[0] == 0x5a && sink[1] == 0xa5;   /* keep the hashes alive */
}
