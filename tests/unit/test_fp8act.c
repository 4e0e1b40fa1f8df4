/* test_fp8act.c: the FP8-activation precision's quantization (kernels/quant.h,
 * act_quant_fp8: deploy.activations = "fp8") against a reference written from
 * its definition, DeepSeek-V3's act_quant: per 1x128 block of a row (the last
 * one dim % 128 wide), scale s = max(amax, 2^-100) / 448 in float32; each
 * value x becomes c * s, c the e4m3 value nearest x / s (ties to the even
 * code; beyond 448, 448). Here the nearest value is found by searching all
 * codes (the kernel computes it from the bits), as doubles decoded by the
 * tests' own ref_e4m3. Bit-exact: the definition fixes every rounding. */
#include "check.h"
#include "kernels/elementwise.h"
#include "kernels/quant.h"
#include "threads.h"

/* The value of x / s's nearest e4m3 code, times s. */
static float ref_value(float x, float s)
{
    const float y = x / s;
    const double a = fabs((double)y);
    int best = 0;
    for (int c = 1; c <= 0x7e; c++) {
        const double d = fabs(ref_e4m3((uint8_t)c) - a), db = fabs(ref_e4m3((uint8_t)best) - a);
        if (d < db || (d == db && c % 2 == 0))
            best = c;
    }
    const float v = (float)ref_e4m3((uint8_t)best);
    return (signbit(y) ? -v : v) * s;
}

static void ref_row(const float *x, int dim, float *out)
{
    for (int c0 = 0; c0 < dim; c0 += 128) {
        const int n = dim - c0 < 128 ? dim - c0 : 128;
        double amax = 0.0;
        for (int i = 0; i < n; i++)
            amax = fmax(amax, fabs((double)x[c0 + i]));
        const float s = (float)fmax(amax, 0x1p-100) / 448.0f;
        for (int i = 0; i < n; i++)
            out[c0 + i] = ref_value(x[c0 + i], s);
    }
}

/* Values across many binades (and some exact zeros), so that blocks have codes from the
 * subnormal range to 448. */
static float *spread_vec(size_t n)
{
    float *v = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++)
        v[i] = rnd_int(17) == 0 ? 0.0f : rnd_sym(1.0) * ldexpf(1.0f, rnd_int(24) - 12);
    return v;
}

static void test_rows(int rows, int dim)
{
    char name[96];
    snprintf(name, sizeof name, "act_quant_fp8: %d rows of %d (blocks of 128, the last %d wide)", rows, dim,
             dim % 128 ? dim % 128 : 128);
    case_begin(name);
    float *x = spread_vec((size_t)rows * dim), *want = malloc(sizeof(float) * (size_t)rows * dim);
    if (rows > 1) /* a zero block: codes 0, values 0 */
        memset(x + dim, 0, sizeof(float) * (size_t)(dim < 128 ? dim : 128));
    for (int t = 0; t < rows; t++)
        ref_row(x + (size_t)t * dim, dim, want + (size_t)t * dim);
    act_quant_fp8(x, rows, dim);
    for (size_t i = 0; i < (size_t)rows * dim; i++)
        CHECK(memcmp(&x[i], &want[i], sizeof(float)) == 0, "value %zu: got %.9g, want %.9g", i, x[i], want[i]);
    free(x);
    free(want);
    case_end();
}

static void test_edges(void)
{
    case_begin("act_quant_fp8: a block's largest value maps to 448, ties to even, blocks independent");
    float x[256];
    for (int i = 0; i < 256; i++)
        x[i] = 1.0f;
    x[0] = 448.0f;  /* s = 1: every other value is itself a code */
    x[1] = 17.0f;   /* between 16 and 18: a tie, to 16 (code 0x60, even) */
    x[2] = 19.0f;   /* between 18 and 20: a tie, to 20 (code 0x62, even) */
    x[3] = -0x1.8p-9f; /* 1.5 x 2^-9, between the subnormals 2^-9 and 2^-8 (codes 1, 2): a tie, to 2^-8 */
    x[128] = 3.0f;  /* block 1: s = 3 / 448 */
    act_quant_fp8_row(x, 256);
    CHECK(x[0] == 448.0f && x[1] == 16.0f && x[2] == 20.0f && x[4] == 1.0f, "block 0: %g %g %g %g", x[0], x[1],
          x[2], x[4]);
    CHECK(x[3] == -0x1p-8f, "subnormal tie: %g", x[3]);
    const float s1 = 3.0f / 448.0f;
    CHECK(x[128] == 448.0f * s1 && x[129] == ref_value(1.0f, s1), "block 1 has its own scale: %.9g %.9g", x[128],
          x[129]);
    case_end();
}

/* e4m3_round(y) = e4m3_to_f32(f32_to_e4m3(y)) bit for bit (NaN: NaN): around every code and
 * every midpoint (8 floats each way), the edges, and a sweep of all floats below 2^10 in
 * magnitude (every 61st bit pattern, both signs). */
static void test_round(void)
{
    case_begin("e4m3_round = e4m3_to_f32(f32_to_e4m3(y)): codes, midpoints, edges, a sweep of the floats");
    long bad = 0, n = 0;
#define ROUND_CHECK(y)                                                                                        \
    do {                                                                                                     \
        const float y_ = (y), got_ = e4m3_round(y_), want_ = e4m3_to_f32(f32_to_e4m3(y_));                  \
        n++;                                                                                                 \
        if (isnan(want_) ? !isnan(got_) : memcmp(&got_, &want_, sizeof got_) != 0) {                         \
            if (bad++ == 0)                                                                                  \
                failf("y %a: %a, want %a", (double)y_, (double)got_, (double)want_);                         \
        }                                                                                                    \
    } while (0)
    for (int c = 0; c < 0x7e; c++) {
        const float lo = e4m3_to_f32((uint8_t)c), hi = e4m3_to_f32((uint8_t)(c + 1)), mid = (lo + hi) / 2;
        float u = mid, d = mid, p = lo;
        for (int k = 0; k < 8; k++, u = nextafterf(u, INFINITY), d = nextafterf(d, 0.0f), p = nextafterf(p, INFINITY)) {
            ROUND_CHECK(u); ROUND_CHECK(-u); ROUND_CHECK(d); ROUND_CHECK(-d); ROUND_CHECK(p); ROUND_CHECK(-p);
        }
    }
    const float edges[] = { 0.0f, 448.0f, 447.99997f, 448.00003f, 464.0f, 463.99997f, 480.0f, 1e30f, INFINITY,
                            0x1p-6f, 0x1.fffffep-7f, 0x1p-9f, 0x1p-10f, 0x1.000002p-10f, 0x1p-11f, 0x1p-149f,
                            0x1p-126f, NAN };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        ROUND_CHECK(edges[i]);
        ROUND_CHECK(-edges[i]);
    }
    for (uint32_t b = 0; b < 0x44800000u; b += 61) {
        float y;
        memcpy(&y, &b, sizeof y);
        ROUND_CHECK(y);
        ROUND_CHECK(-y);
    }
#undef ROUND_CHECK
    CHECK(bad == 0, "%ld of %ld differ", bad, n);
    case_end();
}

/* Quantizing quantized values gives back their codes and their scales, bit for bit: the CUDA
 * backend's cuBLASLt GEMMs re-quantize the buffers act_quant_fp8 has quantized in place
 * (runtime/cuda/lt_linear.cu), so they multiply exactly the codes and scales computed here.
 * Why the scale comes back: s = amax / 448 rounded; the largest value's code is 448 and its
 * value 448 s rounded, whose quotient by 448 rounds back to s. Not true of every float s (of
 * the 2^23 significands, about a fifth do not come back), but of every s that is amax / 448
 * rounded: an amax with every significand in 2 binades and every 61st in all the others did
 * (51 million, 2026-11-28); here 400000 random blocks whose amax spans 2^-60 .. 2^60. */
static void test_requantize(void)
{
    case_begin("act_quant_fp8 of quantized values: the same codes and scales (the CUDA GEMMs re-quantize)");
    long bad = 0, n = 0;
    float x[DF_ACT_BLOCK], q[DF_ACT_BLOCK];
    for (int it = 0; it < 400000; it++) {
        const int len = 1 + (int)(rnd_unit() * DF_ACT_BLOCK) % DF_ACT_BLOCK;
        const double mag = ldexp(1.0 + rnd_unit(), (int)(rnd_unit() * 120) - 60);
        for (int i = 0; i < len; i++)
            x[i] = (float)(mag * (2.0 * rnd_unit() - 1.0) * (i % 7 == 0 ? 1.0 : 0.03));
        memcpy(q, x, sizeof(float) * (size_t)len);
        act_quant_fp8_block(q, len);
        const float s = act_block_scale(x, len), sq = act_block_scale(q, len);
        int same = s == sq;
        for (int i = 0; i < len && same; i++)
            same = act_code(q[i], sq) == act_code(x[i], s);
        bad += !same;
        n++;
    }
    CHECK(bad == 0, "%ld of %ld blocks differ", bad, n);
    case_end();
}

int main(void)
{
    rng_seed(8128);
    test_round();
    test_edges();
    test_requantize();
    test_rows(1, 1);
    test_rows(3, 5);
    test_rows(2, 128);
    test_rows(5, 200); /* tiny_fp8act's hidden: 128 + 72 */
    test_rows(4, 328);
    test_rows(2, 7168); /* DeepSeek-V3's hidden */
    case_begin("act_quant_fp8: 3 threads = 1 thread (rows split whole)");
    CHECK(df_threads_start(3) == 0, "threads");
    const int rows = 256, dim = 2048; /* enough work to be split (DF_PARALLEL_MIN_WORK) */
    float *a = spread_vec((size_t)rows * dim), *b = malloc(sizeof(float) * (size_t)rows * dim);
    memcpy(b, a, sizeof(float) * (size_t)rows * dim);
    act_quant_fp8(a, rows, dim);
    df_threads_stop();
    act_quant_fp8(b, rows, dim);
    CHECK(memcmp(a, b, sizeof(float) * (size_t)rows * dim) == 0, "differ");
    free(a);
    free(b);
    case_end();
    return finish();
}
