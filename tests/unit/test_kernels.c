/* test_kernels.c: weight decoding, row products, linear, the elementwise ops
 * and RoPE against double-precision references written from the math.
 *
 * Tolerances. u = 2^-24 is float32's unit roundoff. A float32 dot product of
 * K terms summed in any order is within gamma_K * sum|w_i x_i| of the exact
 * value, gamma_K ~ K u (Higham, Accuracy and Stability, 3.1); the products
 * of exactly representable weights add one rounding each (already in gamma_K)
 * and FP8's block scaling adds one per block plus the block sums (< K + 2).
 * Every bound below is that rigorous first-order bound times a margin of 2;
 * the double-precision reference's own error (~2^-53) is negligible. */
#include "check.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/mat.h"
#include "kernels/rope.h"
#include "threads.h"

static struct df_mat as_mat(const struct tmat *t)
{
    struct df_mat m = { t->w, t->scale, t->rows, t->cols, t->dt, t->act };
    return m;
}

/* ---- packed formats ------------------------------------------------------------------ */

static void test_e4m3(void)
{
    case_begin("e4m3_to_f32 all 256 codes");
    for (int c = 0; c < 256; c++) {
        const float got = e4m3_to_f32((uint8_t)c);
        const double want = ref_e4m3((uint8_t)c);
        if (isnan(want)) {
            CHECK(isnan(got), "code 0x%02x: got %g, want NaN", c, got);
            continue;
        }
        CHECK(!isinf(got), "code 0x%02x: infinity", c);
        CHECK((double)got == want && !signbit(got) == !signbit(want),
              "code 0x%02x: got %.9g, want %.9g", c, got, want);
    }
    /* a few values spelled out, independent of ref_e4m3 */
    CHECK(e4m3_to_f32(0x7e) == 448.0f, "0x7e (max) = %g", e4m3_to_f32(0x7e));
    CHECK(e4m3_to_f32(0x01) == 0x1p-9f, "0x01 (min subnormal) = %g", e4m3_to_f32(0x01));
    CHECK(e4m3_to_f32(0x08) == 0x1p-6f, "0x08 (min normal) = %g", e4m3_to_f32(0x08));
    CHECK(e4m3_to_f32(0x38) == 1.0f, "0x38 = %g", e4m3_to_f32(0x38));
    CHECK(e4m3_to_f32(0xc4) == -3.0f, "0xc4 = %g", e4m3_to_f32(0xc4));
    CHECK(isnan(e4m3_to_f32(0x7f)) && isnan(e4m3_to_f32(0xff)), "0x7f/0xff not NaN");
    CHECK(e4m3_to_f32(0x80) == 0.0f && signbit(e4m3_to_f32(0x80)), "0x80 is not -0");
    case_end();
}

static void test_bf16(void)
{
    case_begin("bf16_to_f32 edge values and all 65536 codes");
    static const struct { uint16_t v; float want; } edge[] = {
        { 0x0000, 0.0f }, { 0x3f80, 1.0f }, { 0xbf80, -1.0f }, { 0x4049, 3.140625f },
        { 0x0001, 0x1p-133f }, { 0x007f, 0x1.fcp-127f }, { 0x0080, 0x1p-126f },
        { 0x7f7f, 0x1.fep127f }, { 0x7f80, INFINITY }, { 0xff80, -INFINITY },
    };
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
        CHECK(bf16_to_f32(edge[i].v) == edge[i].want, "0x%04x: got %g want %g", edge[i].v,
              bf16_to_f32(edge[i].v), edge[i].want);
    CHECK(bf16_to_f32(0x8000) == 0.0f && signbit(bf16_to_f32(0x8000)), "0x8000 not -0");
    CHECK(isnan(bf16_to_f32(0x7fc0)) && isnan(bf16_to_f32(0xffc1)) && isnan(bf16_to_f32(0x7f81)),
          "NaN codes");
    for (int v = 0; v < 65536; v++) {
        const float got = bf16_to_f32((uint16_t)v);
        const double want = ref_bf16((uint16_t)v);
        if (isnan(want))
            CHECK(isnan(got), "0x%04x: want NaN", v);
        else
            CHECK((double)got == want && !signbit(got) == !signbit(want), "0x%04x: got %g want %g",
                  v, got, want);
    }
    case_end();
}

/* ---- row products ---------------------------------------------------------------------- */

/* Exact sum_c W[r][c] x[c] and sum_c |W[r][c] x[c]|. */
static double ref_dot(const struct tmat *t, int r, const float *x, double *mag)
{
    double s = 0.0, a = 0.0;
    for (int c = 0; c < t->cols; c++) {
        const double p = tmat_ref(t, r, c) * x[c];
        s += p;
        a += fabs(p);
    }
    *mag = a;
    return s;
}

/* gamma_(K+2) * sum|w x| with margin 2: K roundings of the sum and products,
 * plus the block scale product and the sum over blocks (FP8). */
static double dot_tol(int k, double mag)
{
    return 2.0 * (k + 2) * U32 * mag;
}

static void test_dot(enum df_dtype dt, int rows, int cols)
{
    char name[96];
    snprintf(name, sizeof name, "mat_dot_row %s %dx%d", dt_name(dt), rows, cols);
    case_begin(name);
    struct tmat t;
    tmat_init(&t, dt, rows, cols, 1.0);
    const struct df_mat m = as_mat(&t);
    float *x = rnd_vec((size_t)cols, 1.0);
    for (int r = 0; r < rows; r++) {
        double mag, want = ref_dot(&t, r, x, &mag);
        expect_close("row", r, mat_dot_row(&m, r, x), want, dot_tol(cols, mag));
    }
    free(x);
    tmat_free(&t);
    case_end();
}

static void test_axpy(enum df_dtype dt, int rows, int cols)
{
    char name[96];
    snprintf(name, sizeof name, "mat_axpy_row %s %dx%d", dt_name(dt), rows, cols);
    case_begin(name);
    struct tmat t;
    tmat_init(&t, dt, rows, cols, 1.0);
    const struct df_mat m = as_mat(&t);
    const int rs[] = { 0, 1, 127, 128, rows - 1 };
    for (size_t k = 0; k < sizeof rs / sizeof rs[0]; k++) {
        float *acc = rnd_vec((size_t)cols, 2.0);
        float *acc0 = malloc(sizeof(float) * (size_t)cols);
        memcpy(acc0, acc, sizeof(float) * (size_t)cols);
        const float alpha = rnd_sym(3.0);
        mat_axpy_row(&m, rs[k], alpha, acc);
        for (int c = 0; c < cols; c++) {
            const double aw = alpha * tmat_ref(&t, rs[k], c);
            /* three roundings (scale product, alpha product, sum): 3u(|acc| + |aw|), margin 2 */
            expect_close("acc", (long)rs[k] * cols + c, acc[c], acc0[c] + aw,
                         6.0 * U32 * (fabs(acc0[c]) + fabs(aw)));
        }
        free(acc);
        free(acc0);
    }
    tmat_free(&t);
    case_end();
}

/* ---- linear: reference, batch invariance, thread invariance --------------------------- */

#define LIN_N 5
struct lin_case {
    enum df_dtype dt;
    int rows, cols;
    struct tmat t;
    float *x;           /* [LIN_N][cols] */
    float *y_batch;     /* [LIN_N][rows]: one call with n = LIN_N, 1 thread */
    float *y_alone;     /* [LIN_N][rows]: each token alone, n = 1, 1 thread */
};

static void lin_run(struct lin_case *lc, float *y_batch, float *y_alone)
{
    const struct df_mat m = as_mat(&lc->t);
    linear(&m, lc->x, LIN_N, y_batch);
    for (int t = 0; t < LIN_N; t++)
        linear(&m, lc->x + (size_t)t * lc->cols, 1, y_alone + (size_t)t * lc->rows);
}

static void test_linear_1thread(struct lin_case *lc)
{
    char name[96];
    snprintf(name, sizeof name, "linear %s %dx%d n=1 and n=%d vs reference, batch-invariant",
             dt_name(lc->dt), lc->rows, lc->cols, LIN_N);
    case_begin(name);
    tmat_init(&lc->t, lc->dt, lc->rows, lc->cols, 1.0);
    lc->x = rnd_vec((size_t)LIN_N * lc->cols, 1.0);
    lc->y_batch = nan_vec((size_t)LIN_N * lc->rows);
    lc->y_alone = nan_vec((size_t)LIN_N * lc->rows);
    lin_run(lc, lc->y_batch, lc->y_alone);
    for (int t = 0; t < LIN_N; t++)
        for (int r = 0; r < lc->rows; r++) {
            double mag, want = ref_dot(&lc->t, r, lc->x + (size_t)t * lc->cols, &mag);
            const size_t i = (size_t)t * lc->rows + r;
            expect_close("y", (long)i, lc->y_batch[i], want, dot_tol(lc->cols, mag));
        }
    for (int t = 0; t < LIN_N; t++)
        CHECK(memcmp(lc->y_batch + (size_t)t * lc->rows, lc->y_alone + (size_t)t * lc->rows,
                     sizeof(float) * (size_t)lc->rows) == 0,
              "token %d: batched row differs bitwise from the token alone", t);
    case_end();
}

static void test_linear_threads(struct lin_case *lc)
{
    char name[96];
    snprintf(name, sizeof name, "linear %s %dx%d 3 threads bit-identical to 1 thread",
             dt_name(lc->dt), lc->rows, lc->cols);
    case_begin(name);
    CHECK((long long)lc->rows * lc->cols >= DF_PARALLEL_MIN_WORK, "shape too small to use the pool");
    float *yb = nan_vec((size_t)LIN_N * lc->rows), *ya = nan_vec((size_t)LIN_N * lc->rows);
    lin_run(lc, yb, ya);
    CHECK(memcmp(yb, lc->y_batch, sizeof(float) * (size_t)LIN_N * lc->rows) == 0,
          "n=%d differs from 1 thread", LIN_N);
    CHECK(memcmp(ya, lc->y_alone, sizeof(float) * (size_t)LIN_N * lc->rows) == 0,
          "n=1 differs from 1 thread");
    free(yb);
    free(ya);
    tmat_free(&lc->t);
    free(lc->x);
    free(lc->y_batch);
    free(lc->y_alone);
    case_end();
}

/* ---- elementwise ----------------------------------------------------------------------- */

static void test_rmsnorm(void)
{
    case_begin("rmsnorm (and in place)");
    const int n = 4, dim = 200;
    const float eps = 1e-6f;
    float *x = rnd_vec((size_t)n * dim, 2.0), *w = malloc(sizeof(float) * dim);
    for (int i = 0; i < dim; i++)
        x[3 * dim + i] *= 1e-4f; /* a row where eps matters */
    for (int i = 0; i < dim; i++)
        w[i] = (float)(0.5 + rnd_unit());
    float *out = nan_vec((size_t)n * dim);
    rmsnorm(x, w, n, dim, eps, out);
    for (int t = 0; t < n; t++) {
        double ss = 0.0;
        for (int i = 0; i < dim; i++)
            ss += (double)x[t * dim + i] * x[t * dim + i];
        const double inv = 1.0 / sqrt(ss / dim + (double)eps);
        for (int i = 0; i < dim; i++) {
            const double want = x[t * dim + i] * inv * w[i];
            /* sum of squares: relative gamma_dim; sqrt halves it; then /dim, +eps,
             * sqrt, 1/, two products: (dim/2 + 6)u relative, margin 2 (8 for 6) */
            expect_close("out", t * dim + i, out[t * dim + i], want, 2.0 * (dim / 2 + 8) * U32 * fabs(want));
        }
    }
    float *in = malloc(sizeof(float) * (size_t)n * dim);
    memcpy(in, x, sizeof(float) * (size_t)n * dim);
    rmsnorm(in, w, n, dim, eps, in);
    CHECK(memcmp(in, out, sizeof(float) * (size_t)n * dim) == 0, "in-place result differs from out-of-place");
    free(x); free(w); free(out); free(in);
    case_end();
}

static void test_silu_mul(void)
{
    case_begin("silu_mul");
    const int n = 2, dim = 300;
    float *g = rnd_vec((size_t)n * dim, 20.0), *u = rnd_vec((size_t)n * dim, 3.0);
    const float special[] = { 0.0f, -0.0f, 100.0f, -100.0f, 88.0f, -88.0f, 1e-30f, -1e-30f };
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        g[i] = special[i];
    float *g0 = malloc(sizeof(float) * (size_t)n * dim);
    memcpy(g0, g, sizeof(float) * (size_t)n * dim);
    silu_mul(g, u, n, dim);
    for (int i = 0; i < n * dim; i++) {
        const double want = g0[i] / (1.0 + exp(-(double)g0[i])) * u[i];
        /* expf (< 2 ulp), the sum, the quotient, the product: <= 8u relative, margin 2;
         * plus 2^-126 absolute where the true result underflows below FLT_MIN */
        expect_close("g", i, g[i], want, 16.0 * U32 * fabs(want) + 0x1p-126);
    }
    free(g); free(u); free(g0);
    case_end();
}

static void test_residual_add(void)
{
    case_begin("residual_add (correctly rounded sum)");
    const int n = 3, dim = 129;
    float *x = rnd_vec((size_t)n * dim, 4.0), *y = rnd_vec((size_t)n * dim, 1e-3);
    float *x0 = malloc(sizeof(float) * (size_t)n * dim);
    memcpy(x0, x, sizeof(float) * (size_t)n * dim);
    residual_add(x, y, n, dim);
    for (int i = 0; i < n * dim; i++) /* the double sum of two floats is exact: one rounding */
        CHECK(x[i] == (float)((double)x0[i] + (double)y[i]), "x[%d]: got %.9g want %.9g", i, x[i],
              (double)x0[i] + y[i]);
    free(x); free(y); free(x0);
    case_end();
}

static void test_gather_rows(void)
{
    case_begin("gather_rows");
    const int dim = 37, rows[] = { 3, 0, 3, 7, 6 };
    float *x = rnd_vec((size_t)8 * dim, 1.0), *out = nan_vec((size_t)5 * dim);
    gather_rows(x, rows, 5, dim, out);
    for (int i = 0; i < 5; i++)
        for (int c = 0; c < dim; c++)
            CHECK(out[i * dim + c] == x[rows[i] * dim + c], "out[%d][%d]", i, c);
    free(x); free(out);
    case_end();
}

static void test_embed(enum df_dtype dt, int vocab, int dim)
{
    char name[96];
    snprintf(name, sizeof name, "embed %s table %dx%d", dt_name(dt), vocab, dim);
    case_begin(name);
    struct tmat t;
    tmat_init(&t, dt, vocab, dim, 1.0);
    const struct df_mat m = as_mat(&t);
    const int tok[] = { 5, 0, vocab - 1, 5, 130 % vocab, 128 % vocab };
    const int n = 6;
    float *out = nan_vec((size_t)n * dim);
    embed(&m, tok, n, out);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < dim; c++) /* code * scale in double is exact: one rounding to float */
            CHECK(out[i * dim + c] == (float)tmat_ref(&t, tok[i], c), "out[%d][%d] (token %d): got %g want %g",
                  i, c, tok[i], out[i * dim + c], (float)tmat_ref(&t, tok[i], c));
    free(out);
    tmat_free(&t);
    case_end();
}

/* ---- RoPE ------------------------------------------------------------------------------- */

struct yarn_ref { double factor, orig, beta_fast, beta_slow; };

/* Frequency of pair i, written from DeepSeek's YaRN formula. */
static double ref_freq(int i, int dim, double theta, const struct yarn_ref *y)
{
    const double pi = 3.14159265358979323846;
    const double base = exp(-(2.0 * i / dim) * log(theta));
    if (y->factor <= 1.0)
        return base;
    const double dfast = dim * log(y->orig / (y->beta_fast * 2 * pi)) / (2 * log(theta));
    const double dslow = dim * log(y->orig / (y->beta_slow * 2 * pi)) / (2 * log(theta));
    double low = floor(dfast), high = ceil(dslow);
    if (low < 0) low = 0;
    if (high > dim - 1) high = dim - 1;
    if (low == high) high += 0.001;
    double ramp = (i - low) / (high - low);
    ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
    return base / y->factor * ramp + base * (1 - ramp);
}

static void test_rope_table(const char *label, int dim, const struct yarn_ref *y)
{
    char name[128];
    snprintf(name, sizeof name, "rope_table_init %s dim %d", label, dim);
    case_begin(name);
    const int ctx = 300;
    const double theta = 10000.0;
    const struct df_yarn ky = { y->factor, y->orig, y->beta_fast, y->beta_slow };
    float *tab = nan_vec((size_t)ctx * dim);
    rope_table_init(tab, ctx, dim, theta, &ky);
    for (int p = 0; p < ctx; p++)
        for (int i = 0; i < dim / 2; i++) {
            const double a = p * ref_freq(i, dim, theta, y);
            /* cos/sin in [-1, 1] rounded once to float: <= 2^-25 off; tolerance 2^-24 */
            expect_close("cos", (long)p * dim + 2 * i, tab[(size_t)p * dim + 2 * i], cos(a), 0x1p-24);
            expect_close("sin", (long)p * dim + 2 * i + 1, tab[(size_t)p * dim + 2 * i + 1], sin(a), 0x1p-24);
        }
    free(tab);
    case_end();
}

/* rotate each pair of x by e^{j pos freq_i}: (x0 + j x1)(cos + j sin) */
static void ref_rotate(const float *x, double *out, int pos, int dim, double theta, const struct yarn_ref *y)
{
    for (int i = 0; i < dim / 2; i++) {
        const double a = pos * ref_freq(i, dim, theta, y), c = cos(a), s = sin(a);
        out[2 * i] = x[2 * i] * c - x[2 * i + 1] * s;
        out[2 * i + 1] = x[2 * i] * s + x[2 * i + 1] * c;
    }
}

/* table entries off by <= 2^-25 = u/2 each, two products and a sum: <= 2.5u(|x0| + |x1|); margin 2 */
static double rot_tol(float x0, float x1)
{
    return 5.0 * U32 * (fabs(x0) + fabs(x1));
}

static void test_rope_rotate(const char *label, int dim, const struct yarn_ref *y)
{
    char name[128];
    snprintf(name, sizeof name, "rope_rotate and rope_heads %s dim %d", label, dim);
    case_begin(name);
    const int ctx = 300;
    const double theta = 10000.0;
    const struct df_yarn ky = { y->factor, y->orig, y->beta_fast, y->beta_slow };
    float *tab = malloc(sizeof(float) * (size_t)ctx * dim);
    rope_table_init(tab, ctx, dim, theta, &ky);
    double *want = malloc(sizeof(double) * (size_t)dim);
    for (int k = 0; k < 50; k++) {
        const int pos = k < 2 ? k * (ctx - 1) : rnd_int(ctx);
        float *v = rnd_vec((size_t)dim, 3.0), *v0 = malloc(sizeof(float) * (size_t)dim);
        memcpy(v0, v, sizeof(float) * (size_t)dim);
        rope_rotate(v, tab, pos, dim);
        ref_rotate(v0, want, pos, dim, theta, y);
        for (int c = 0; c < dim; c++)
            expect_close("v", (long)pos * 1000 + c, v[c], want[c], rot_tol(v0[c & ~1], v0[c | 1]));
        free(v); free(v0);
    }
    /* rope_heads: 3 rows x 2 heads of [nope 5 | rope dim], each row at its own position */
    const int n = 3, heads = 2, nope = 5, hd = nope + dim, pos[] = { 7, 0, 299 };
    float *q = rnd_vec((size_t)n * heads * hd, 1.0), *q0 = malloc(sizeof(float) * (size_t)n * heads * hd);
    memcpy(q0, q, sizeof(float) * (size_t)n * heads * hd);
    rope_heads(q, tab, pos, n, heads, nope, dim);
    for (int t = 0; t < n; t++)
        for (int h = 0; h < heads; h++) {
            const size_t o = ((size_t)t * heads + h) * hd;
            for (int c = 0; c < nope; c++)
                CHECK(q[o + c] == q0[o + c], "rope_heads changed the nope part (row %d head %d)", t, h);
            ref_rotate(q0 + o + nope, want, pos[t], dim, theta, y);
            for (int c = 0; c < dim; c++)
                expect_close("q", (long)(o + nope + c), q[o + nope + c], want[c],
                             rot_tol(q0[o + nope + (c & ~1)], q0[o + nope + (c | 1)]));
        }
    free(q); free(q0); free(want); free(tab);
    case_end();
}

int main(void)
{
    rng_seed(20240611);
    test_e4m3();
    test_bf16();

    const enum df_dtype dts[] = { DF_F32, DF_BF16, DF_F8E4M3 };
    for (int d = 0; d < 3; d++) {
        test_dot(dts[d], 200, 328);
        test_dot(dts[d], 256, 128);
        test_dot(dts[d], 130, 1);
        test_axpy(dts[d], 200, 328);
    }

    struct lin_case lc[7] = {
        { DF_F32, 200, 328, { 0 }, 0, 0, 0 }, { DF_BF16, 200, 328, { 0 }, 0, 0, 0 },
        { DF_F8E4M3, 200, 328, { 0 }, 0, 0, 0 }, { DF_F32, 256, 128, { 0 }, 0, 0, 0 },
        { DF_BF16, 256, 128, { 0 }, 0, 0, 0 }, { DF_F8E4M3, 256, 128, { 0 }, 0, 0, 0 },
        { DF_F8E4M3, 20, 30, { 0 }, 0, 0, 0 }, /* below DF_PARALLEL_MIN_WORK: serial path */
    };
    for (int i = 0; i < 7; i++)
        test_linear_1thread(&lc[i]);
    /* The pool is started once here (see test_threads.c for start/stop). */
    case_begin("df_threads_start(3)");
    CHECK(df_threads_start(3) == 0 && df_threads_count() == 3, "start failed or count %d", df_threads_count());
    case_end();
    for (int i = 0; i < 6; i++)
        test_linear_threads(&lc[i]);
    df_threads_stop();
    tmat_free(&lc[6].t);
    free(lc[6].x); free(lc[6].y_batch); free(lc[6].y_alone);

    test_rmsnorm();
    test_silu_mul();
    test_residual_add();
    test_gather_rows();
    test_embed(DF_BF16, 50, 72);
    test_embed(DF_F8E4M3, 300, 200);
    test_embed(DF_F32, 10, 3);

    const struct yarn_ref plain = { 1.0, 64, 32, 1 }, yarn = { 4.0, 64, 32, 1 },
                          degenerate = { 4.0, 6, 32, 1 }; /* d(beta_slow) in (-1, 0]: low == high */
    test_rope_table("factor 1", 16, &plain);
    test_rope_table("factor 1", 64, &plain);
    test_rope_table("YaRN factor 4", 16, &yarn);
    test_rope_table("YaRN factor 4", 64, &yarn);
    test_rope_table("YaRN low == high", 16, &degenerate);
    test_rope_rotate("factor 1", 16, &plain);
    test_rope_rotate("YaRN factor 4", 64, &yarn);
    return finish();
}
