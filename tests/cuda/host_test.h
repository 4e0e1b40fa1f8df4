/* host_test.h: the small harness of the CUDA host tests (test_hd.cu,
 * test_quant.cu, ...) and the random numbers of the CUDA checks: one case at
 * a time, its first failure kept as the detail; "ok NAME" / "FAIL NAME:
 * detail" per case, host_test_summary() prints "N passed, M failed".
 * Random numbers: host_rng.h. */
#ifndef DF_HOST_TEST_H
#define DF_HOST_TEST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "host_rng.h"

static int n_passed, n_failed, case_fails;
static const char *case_name;
static char case_detail[400];

static void case_begin(const char *name)
{
    case_name = name;
    case_fails = 0;
    case_detail[0] = '\0';
}

__attribute__((format(printf, 1, 2))) static void failf(const char *fmt, ...)
{
    if (case_fails++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(case_detail, sizeof case_detail, fmt, ap);
        va_end(ap);
    }
}

static void case_end(void)
{
    if (case_fails == 0) {
        printf("ok %s\n", case_name);
        n_passed++;
    } else {
        printf("FAIL %s: %s%s\n", case_name, case_detail, case_fails > 1 ? " (and more)" : "");
        n_failed++;
    }
}

#define CHECK(cond, ...) do { if (!(cond)) failf(__VA_ARGS__); } while (0)

/* Prints the totals; the exit status of the test program. */
static int host_test_summary(void)
{
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed == 0 ? 0 : 1;
}

/* The xor butterfly of a warp's sum (__shfl_xor_sync over 32 lanes) emulated lane by
 * lane: lane l adds lane l ^ m's value, m = 16, 8, 4, 2, 1. Returns lane 0's value; *same
 * tells whether all 32 lanes end with the same bits. */
static inline float warp_butterfly(const float *lanes, bool *same)
{
    enum { LANES = 32 };
    float a[LANES], b[LANES];
    memcpy(a, lanes, sizeof a);
    for (int m = LANES / 2; m > 0; m /= 2) {
        for (int l = 0; l < LANES; l++)
            b[l] = a[l] + a[l ^ m];
        memcpy(a, b, sizeof a);
    }
    *same = true;
    for (int l = 1; l < LANES; l++)
        if (memcmp(&a[l], &a[0], sizeof(float)) != 0)
            *same = false;
    return a[0];
}

#endif
