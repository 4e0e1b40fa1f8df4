/* check.h: the small harness shared by the kernel unit tests.
 *
 * A case is CASE_BEGIN(name) ... CASE_END(); inside, FAILF(...) records a
 * failure (the first detail is printed). Every program prints one line per
 * case, "ok <name>" or "FAIL <name>: <detail>", then "N passed, M failed",
 * and exits 0 only when M == 0.
 *
 * The references in the tests are written from the math in double precision;
 * the helpers here (PRNG, decoders of the packed formats, random matrices)
 * are the tests' own and share no code with the kernels. */
#ifndef UNIT_CHECK_H
#define UNIT_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/mat.h"
#include "model.h"

/* One float32 rounding: unit roundoff 2^-24. */
#define U32 0x1p-24

static int n_passed, n_failed;
static const char *case_name;
static int case_fails;
static char case_detail[400];

static inline void case_begin(const char *name)
{
    case_name = name;
    case_fails = 0;
    case_detail[0] = '\0';
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static inline void failf(const char *fmt, ...)
{
    if (case_fails++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(case_detail, sizeof case_detail, fmt, ap);
        va_end(ap);
    }
}

static inline void case_end(void)
{
    if (case_fails == 0) {
        printf("ok %s\n", case_name);
        n_passed++;
    } else {
        printf("FAIL %s: %s%s\n", case_name, case_detail,
               case_fails > 1 ? " (and more)" : "");
        n_failed++;
    }
    fflush(stdout);
}

static inline int finish(void)
{
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed == 0 ? 0 : 1;
}

#define CHECK(cond, ...) do { if (!(cond)) failf(__VA_ARGS__); } while (0)

/* |got - want| <= tol, NaN only where NaN is expected. 1 if it holds. */
static inline int expect_close(const char *what, long idx, double got, double want, double tol)
{
    if (isnan(want) || isnan(got)) {
        if (isnan(want) && isnan(got))
            return 1;
        failf("%s[%ld]: got %.9g, want %.9g", what, idx, got, want);
        return 0;
    }
    if (!(fabs(got - want) <= tol)) {
        failf("%s[%ld]: got %.9g, want %.9g (|diff| %.3g > tol %.3g)", what, idx, got, want,
              fabs(got - want), tol);
        return 0;
    }
    return 1;
}

/* ---- the tests' own PRNG (xorshift64*), fixed seeds ------------------------------------ */
static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static inline void rng_seed(uint64_t s)
{
    rng_state = s ? s : 1;
}

static inline uint64_t rnd64(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* uniform in [0, 1) */
static inline double rnd_unit(void)
{
    return (double)(rnd64() >> 11) * 0x1p-53;
}

/* uniform float in [-a, a) */
static inline float rnd_sym(double a)
{
    return (float)((2.0 * rnd_unit() - 1.0) * a);
}

static inline int rnd_int(int n)
{
    return (int)(rnd64() % (uint64_t)n);
}

/* ---- the packed formats, decoded from their definitions ------------------------------- */

/* bfloat16: 1 sign, 8 exponent (bias 127), 7 mantissa bits. */
static inline double ref_bf16(uint16_t v)
{
    const int s = v >> 15, e = (v >> 7) & 0xff, m = v & 0x7f;
    double x;
    if (e == 0)
        x = ldexp(m / 128.0, -126);
    else if (e == 255)
        x = m ? NAN : INFINITY;
    else
        x = ldexp(1.0 + m / 128.0, e - 127);
    return s ? -x : x;
}

/* FP8 e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa bits; exponent 0 is
 * subnormal (m/8 * 2^-6); S.1111.111 is NaN; there are no infinities. */
static inline double ref_e4m3(uint8_t c)
{
    const int s = c >> 7, e = (c >> 3) & 15, m = c & 7;
    double x;
    if (e == 15 && m == 7)
        return NAN;
    if (e == 0)
        x = ldexp(m / 8.0, -6);
    else
        x = ldexp(1.0 + m / 8.0, e - 7);
    return s ? -x : x;
}

static inline uint16_t bf16_of(float f) /* truncation: any bf16 value will do as test data */
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return (uint16_t)(b >> 16);
}

static inline uint8_t rnd_e4m3(void) /* a random non-NaN code, all exponents */
{
    for (;;) {
        uint8_t c = (uint8_t)rnd64();
        if ((c & 0x7f) != 0x7f)
            return c;
    }
}

/* ---- random weight matrices with a double-precision element reference ----------------- */
struct tmat {
    void *w;
    float *scale;     /* FP8: [ceil(rows/128)][sbc] */
    int rows, cols, sbc; /* sbc: floats per row of block scales, ceil(cols/128) padded to 4 */
    enum df_dtype dt;
    enum df_act act;  /* the activations the products take (tmat_init: f32) */
};

/* Elements of magnitude about amp (FP8: codes up to 448 times a per-block
 * scale of about amp/448, each block's scale different). */
static inline void tmat_init(struct tmat *t, enum df_dtype dt, int rows, int cols, double amp)
{
    const size_t n = (size_t)rows * (size_t)cols;
    t->rows = rows;
    t->cols = cols;
    t->dt = dt;
    t->act = DF_ACT_F32;
    t->scale = NULL;
    t->sbc = ((cols + 127) / 128 + 3) / 4 * 4; /* the packed file's scale rows: 16-byte aligned */
    if (dt == DF_F32) {
        float *w = malloc(sizeof(float) * n);
        for (size_t i = 0; i < n; i++)
            w[i] = rnd_sym(amp);
        t->w = w;
    } else if (dt == DF_BF16) {
        uint16_t *w = malloc(sizeof(uint16_t) * n);
        for (size_t i = 0; i < n; i++)
            w[i] = bf16_of(rnd_sym(amp));
        t->w = w;
    } else {
        uint8_t *w = malloc(n);
        for (size_t i = 0; i < n; i++)
            w[i] = rnd_e4m3();
        t->w = w;
        const int sbr = (rows + 127) / 128;
        t->scale = malloc(sizeof(float) * (size_t)(sbr * t->sbc));
        /* the padding NaN, so that a reader with the wrong stride shows */
        for (int i = 0; i < sbr * t->sbc; i++)
            t->scale[i] = i % t->sbc < (cols + 127) / 128 ? (float)(amp / 448.0 * (0.25 + 4.0 * rnd_unit())) : NAN;
    }
}

/* Bytes of an FP8 matrix's block scales. */
static inline size_t tmat_scale_bytes(const struct tmat *t)
{
    return sizeof(float) * (size_t)((t->rows + 127) / 128) * (size_t)t->sbc;
}

static inline void tmat_free(struct tmat *t)
{
    free(t->w);
    free(t->scale);
}

/* The exact value of element (r, c): decoded code times its block's scale. */
static inline double tmat_ref(const struct tmat *t, int r, int c)
{
    const size_t i = (size_t)r * (size_t)t->cols + (size_t)c;
    switch (t->dt) {
    case DF_F32: return ((const float *)t->w)[i];
    case DF_BF16: return ref_bf16(((const uint16_t *)t->w)[i]);
    case DF_F8E4M3:
        return ref_e4m3(((const uint8_t *)t->w)[i]) * (double)t->scale[(r / 128) * t->sbc + c / 128];
    }
    return NAN;
}

static inline const char *dt_name(enum df_dtype dt)
{
    return dt == DF_F32 ? "f32" : dt == DF_BF16 ? "bf16" : "fp8";
}

static inline float *rnd_vec(size_t n, double amp)
{
    float *v = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++)
        v[i] = rnd_sym(amp);
    return v;
}

static inline float *nan_vec(size_t n)
{
    float *v = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++)
        v[i] = NAN;
    return v;
}

#endif
