/* test_simd.c: the AVX-512 and AVX2 kernels (runtime/kernels/simd.h), on
 * every ISA this machine supports.
 *
 * 1. The conversions: all 65536 bf16 and all 256 FP8 codes through the vector
 *    layer equal the definition (FP8: code * 2^-8 exactly; the NaN codes,
 *    which DeepSeek checkpoints never contain, read as +-480 * 2^-8).
 * 2. linear() against a model of the canonical order written in this file
 *    from the description in simd.h (16 lanes, fmaf, the fixed tree): bit for
 *    bit, for every dtype, shapes with and without tails, and token counts
 *    that take each micro-kernel (1 token, a few, a panel).
 * 3. Against the exact (double) product, with the same rigorous bound as
 *    test_kernels.c: gamma_(K+2) * sum |w x|, margin 2 (FP8 adds the rounding
 *    of x * scale: one more unit per term, inside K + 2).
 * 4. Invariance: each token of a step equals the token alone; 3 threads equal
 *    1; AVX2 equals AVX-512; for linear, the grouped experts and attention.
 *    (moe_experts and mla_attend against their references: test_moe.c and
 *    test_mla.c, which run on the SIMD path wherever the CPU has one.) */
#include "check.h"
#include "cpu_features.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/mla.h"
#include "kernels/moe.h"
#include "kernels/simd.h"
#include "threads.h"

#if DF_SIMD

static struct df_mat as_mat(const struct tmat *t)
{
    struct df_mat m = { t->w, t->scale, t->rows, t->cols, t->dt, t->act };
    return m;
}

/* ---- conversions ------------------------------------------------------------------------ */

__attribute__((target(DF_T512))) static void fp8_512(const uint8_t *codes, float *out)
{
    df512_v v[4];
    df512_fp8(codes, v);
    for (int i = 0; i < 4; i++)
        df512_store(out + 16 * i, v[i]);
}

__attribute__((target(DF_T256))) static void fp8_256(const uint8_t *codes, float *out)
{
    df256_v v[4];
    df256_fp8(codes, v);
    for (int i = 0; i < 4; i++)
        df256_store(out + 16 * i, v[i]);
}

__attribute__((target(DF_T512))) static void bf16_512(const uint16_t *p, float *e, float *o)
{
    df512_v a, b;
    df512_bf16(p, &a, &b);
    df512_store(e, a);
    df512_store(o, b);
}

__attribute__((target(DF_T256))) static void bf16_256(const uint16_t *p, float *e, float *o)
{
    df256_v a, b;
    df256_bf16(p, &a, &b);
    df256_store(e, a);
    df256_store(o, b);
}

/* 32 floats rounded to bf16 by the path each ISA's bf16-activation products
 * take: vcvtne2ps2bf16 (AVX-512 BF16), the vector layers' emulation. */
__attribute__((target(DF_T512 ",avx512bf16"))) static void round_dot(const float *x, float *out)
{
    uint16_t h[32];
    dot_prep32(x, 32, h);
    for (int j = 0; j < 32; j++)
        out[j] = bf16_to_f32(h[j]);
}

/* The bf16-activation layout (odd columns, then even) back in column order. */
static void column_order(const float *p, float *out)
{
    for (int j = 0; j < 16; j++) {
        out[2 * j + 1] = p[j];
        out[2 * j] = p[16 + j];
    }
}

__attribute__((target(DF_T512))) static void round_512(const float *x, float *out)
{
    float p[32];
    df512_prep_bf16a(x, p, 16);
    column_order(p, out);
}

__attribute__((target(DF_T256))) static void round_256(const float *x, float *out)
{
    float p[32];
    df256_prep_bf16a(x, p, 16);
    column_order(p, out);
}

/* Rounding to bf16 (mat.h's f32_round_bf16: nearest even, denormal inputs
 * and results to zero, NaN kept) in every path, on random bit patterns
 * (every exponent, denormals, infinities, NaNs, exact halfway cases). */
static void test_round_bf16(int isa)
{
    char name[96];
    snprintf(name, sizeof name, "%s: activations rounded to bf16 as f32_round_bf16", df_isa_name(isa));
    case_begin(name);
    for (int k = 0; k < 20000; k++) {
        float x[32], got[32];
        for (int j = 0; j < 32; j++) {
            uint32_t b = (uint32_t)rnd64();
            if (j % 4 == 1)
                b &= 0x807fffffu; /* denormal or zero */
            else if (j % 4 == 2)
                b = (b & 0xffff0000u) | (j % 8 == 2 ? 0x8000u : 0x7fffu); /* halfway, just below */
            else if (j % 16 == 3)
                b |= 0x7f800000u; /* infinity or NaN */
            memcpy(&x[j], &b, sizeof b);
        }
        (isa >= DF_ISA_AVX512BF16 ? round_dot : isa >= DF_ISA_AVX512 ? round_512 : round_256)(x, got);
        for (int j = 0; j < 32; j++) {
            const float want = f32_round_bf16(x[j]);
            CHECK((isnan(want) && isnan(got[j])) || memcmp(&want, &got[j], sizeof want) == 0,
                  "%a: got %a, want %a", (double)x[j], (double)got[j], (double)want);
        }
    }
    case_end();
}

static void test_conversions(int isa)
{
    char name[96];
    snprintf(name, sizeof name, "%s: all FP8 codes (x 2^-8) and all bf16 codes", df_isa_name(isa));
    case_begin(name);
    uint8_t codes[256];
    float got[256];
    for (int c = 0; c < 256; c++)
        codes[c] = (uint8_t)c;
    float lanes[256];
    for (int b = 0; b < 4; b++)
        (isa == DF_ISA_AVX512 ? fp8_512 : fp8_256)(codes + 64 * b, lanes + 64 * b);
    for (int c = 0; c < 256; c++) { /* the vector layer's column order, undone */
        const int o = c % 64;
        got[c] = lanes[c - o + 16 * (2 * (o / 32) + (o / 8) % 2) + 8 * ((o / 16) % 2) + o % 8];
    }
    for (int c = 0; c < 256; c++) {
        const double want = (c & 0x7f) == 0x7f ? ((c & 0x80) ? -480.0 : 480.0) * 0x1p-8 : ref_e4m3((uint8_t)c) * 0x1p-8;
        CHECK((double)got[c] == want && !signbit(got[c]) == !signbit(want), "code 0x%02x: got %.9g want %.9g", c,
              got[c], want);
    }
    static uint16_t all[65536];
    for (int v = 0; v < 65536; v++)
        all[v] = (uint16_t)v;
    for (int v = 0; v < 65536; v += 32) {
        float e[16], o[16];
        (isa == DF_ISA_AVX512 ? bf16_512 : bf16_256)(all + v, e, o);
        for (int j = 0; j < 16; j++) {
            const double we = ref_bf16((uint16_t)(v + 2 * j)), wo = ref_bf16((uint16_t)(v + 2 * j + 1));
            CHECK((isnan(we) && isnan(e[j])) || ((double)e[j] == we && !signbit(e[j]) == !signbit(we)),
                  "bf16 0x%04x", v + 2 * j);
            CHECK((isnan(wo) && isnan(o[j])) || ((double)o[j] == wo && !signbit(o[j]) == !signbit(wo)),
                  "bf16 0x%04x", v + 2 * j + 1);
        }
    }
    case_end();
}

/* ---- the vectorized exp (attention softmax) and silu ------------------------------------ */

__attribute__((target(DF_T512))) static void exp_silu_512(const float *x, float *e, float *si)
{
    df512_store(e, df512_exp(df512_load(x)));
    df512_store(si, df512_silu(df512_load(x)));
}

__attribute__((target(DF_T256))) static void exp_silu_256(const float *x, float *e, float *si)
{
    df256_store(e, df256_exp(df256_load(x)));
    df256_store(si, df256_silu(df256_load(x)));
}

/* exp on [-110, 0] within 3 ulps (subnormal results: within 1.5 * 2^-149),
 * silu on [-110, 110] within 6 ulps (+ 2|x| 2^-149 where e^-|x| is
 * subnormal); AVX2 = AVX-512 bit for bit. */
static void test_exp_silu(int isa, int n_isa)
{
    char name[96];
    snprintf(name, sizeof name, "%s: vector exp and silu against libm", df_isa_name(isa));
    case_begin(name);
    for (int k = 0; k < 20000; k++) {
        float x[16], e[16], si[16], e2[16], si2[16];
        for (int j = 0; j < 16; j++)
            x[j] = k < 10 ? -(float)(k * 16 + j) * 0.7f : rnd_sym(110.0);
        float xe[16];
        for (int j = 0; j < 16; j++)
            xe[j] = -fabsf(x[j]);
        (isa == DF_ISA_AVX512 ? exp_silu_512 : exp_silu_256)(xe, e, si);
        (isa == DF_ISA_AVX512 ? exp_silu_512 : exp_silu_256)(x, e2, si2);
        for (int j = 0; j < 16; j++) {
            const double we = exp((double)xe[j]), ws = (double)x[j] / (1.0 + exp(-(double)x[j]));
            expect_close("exp", (long)k * 16 + j, e[j], we, 3.0 * U32 * we + 1.5 * 0x1p-149);
            /* below x = -87, e^x is subnormal: |x| times its absolute error */
            expect_close("silu", (long)k * 16 + j, si2[j], ws, 6.0 * U32 * fabs(ws) + 2.0 * fabs(x[j]) * 0x1p-149);
        }
        if (n_isa == 2 && isa == DF_ISA_AVX512) {
            float e3[16], si3[16];
            exp_silu_256(x, e3, si3);
            CHECK(memcmp(e3, e2, sizeof e3) == 0 && memcmp(si3, si2, sizeof si3) == 0, "AVX2 differs from AVX-512");
        }
    }
    case_end();
}

/* ---- the canonical order, modelled from its description ------------------------------- */

/* Column c's (step, lane): bf16 and f32: within each 32-column chunk the
 * even columns are one step, the odd ones the next (bf16 activations: the
 * odd columns first, as vdpbf16ps adds them);
 * FP8: within each 64-column chunk, 8-column groups: step g holds columns
 * 32(g / 2) + 8(g % 2) + [0, 8) in lanes 0-7 and the 8 columns 16 further on
 * in lanes 8-15. */
static void step_lane(enum df_dtype dt, enum df_act act, int c, int *step, int *lane)
{
    if (dt == DF_F8E4M3) {
        const int i = c / 64, o = c % 64;
        *step = 4 * i + 2 * (o / 32) + (o / 8) % 2;
        *lane = 8 * ((o / 16) % 2) + o % 8;
    } else {
        const int i = c / 32, o = c % 32;
        *step = 2 * i + (act == DF_ACT_BF16 ? 1 - (o & 1) : (o & 1));
        *lane = o >> 1;
    }
}

static float model_dot(const struct tmat *t, int r, const float *x)
{
    const int K = t->cols;
    const int steps = (K + 63) / 64 * 4 + 4;
    float acc[16] = { 0 };
    /* products per (step, lane): at most one column each */
    float *w = calloc((size_t)steps * 16, sizeof(float)), *xv = calloc((size_t)steps * 16, sizeof(float));
    for (int c = 0; c < K; c++) {
        int s, l;
        step_lane(t->dt, t->act, c, &s, &l);
        const size_t i = (size_t)r * K + c;
        if (t->dt == DF_F32) {
            w[s * 16 + l] = ((const float *)t->w)[i];
            xv[s * 16 + l] = x[c];
        } else if (t->dt == DF_BF16) {
            w[s * 16 + l] = (float)ref_bf16(((const uint16_t *)t->w)[i]);
            xv[s * 16 + l] = t->act == DF_ACT_BF16 ? f32_round_bf16(x[c]) : x[c];
        } else {
            w[s * 16 + l] = (float)(ref_e4m3(((const uint8_t *)t->w)[i]) * 0x1p-8);
            const float sc = t->scale[(r / 128) * t->sbc + c / 128] * 256.0f;
            xv[s * 16 + l] = x[c] * sc;
        }
    }
    /* bf16 activations: the products' denormals read as zero and flushed */
    const unsigned int csr = _mm_getcsr();
    if (t->act == DF_ACT_BF16)
        _mm_setcsr(csr | 0x8040u);
    for (int s = 0; s < steps; s++)
        for (int l = 0; l < 16; l++)
            acc[l] = fmaf(w[s * 16 + l], xv[s * 16 + l], acc[l]);
    for (int h = 8; h >= 1; h /= 2)
        for (int l = 0; l < h; l++)
            acc[l] = acc[l] + acc[l + h];
    _mm_setcsr(csr);
    free(w);
    free(xv);
    return acc[0];
}

static double ref_dot(const struct tmat *t, int r, const float *x, double *mag)
{
    double s = 0.0, a = 0.0;
    for (int c = 0; c < t->cols; c++) {
        const double p = tmat_ref(t, r, c) * (t->act == DF_ACT_BF16 ? f32_round_bf16(x[c]) : x[c]);
        s += p;
        a += fabs(p);
    }
    *mag = a;
    return s;
}

/* ---- linear ------------------------------------------------------------------------------ */

#define MAXN 13
static const int NS[] = { 1, 2, 3, 5, 6, 7, 13 };
#define NNS ((int)(sizeof NS / sizeof NS[0]))

struct lin {
    struct tmat t;
    float *x;               /* [MAXN][cols] */
    float *y[NNS];          /* y for n = NS[i], first ISA tested */
};

static void run_all(struct lin *L, float **y)
{
    const struct df_mat m = as_mat(&L->t);
    for (int i = 0; i < NNS; i++) {
        y[i] = nan_vec((size_t)NS[i] * L->t.rows);
        linear(&m, L->x, NS[i], y[i]);
    }
}

static void test_linear(struct lin *L, int isa, int first)
{
    char name[128];
    const int rows = L->t.rows, cols = L->t.cols;
    snprintf(name, sizeof name, "%s: linear %s%s %dx%d, n = 1..%d: canonical order bit for bit, exact bound%s",
             df_isa_name(isa), dt_name(L->t.dt), L->t.act == DF_ACT_BF16 ? " (bf16 activations)" : "", rows, cols,
             MAXN, first ? "" : ", equals the first ISA");
    case_begin(name);
    df_isa_set(isa);
    float *y[NNS];
    run_all(L, y);
    for (int i = 0; i < NNS; i++)
        for (int t = 0; t < NS[i]; t++)
            for (int r = 0; r < rows; r++) {
                const float *xt = L->x + (size_t)t * cols;
                const float got = y[i][(size_t)t * rows + r];
                double mag, want = ref_dot(&L->t, r, xt, &mag);
                /* bf16 activations: each of the cols + 2 operations may also flush a
                 * result below 2^-126 or read such an input as zero */
                const double flush = L->t.act == DF_ACT_BF16 ? 2.0 * (cols + 2) * 0x1p-126 : 0.0;
                if (!expect_close("y", (long)r, got, want, 2.0 * (cols + 2) * U32 * mag + flush))
                    break;
                const float model = model_dot(&L->t, r, xt);
                CHECK(memcmp(&got, &model, sizeof got) == 0, "n=%d token %d row %d: %.9g, canonical model %.9g",
                      NS[i], t, r, got, model);
            }
    for (int i = 0; i < NNS; i++) {
        if (first)
            L->y[i] = y[i];
        else {
            CHECK(memcmp(y[i], L->y[i], sizeof(float) * (size_t)NS[i] * rows) == 0, "n=%d differs between ISAs", NS[i]);
            free(y[i]);
        }
    }
    case_end();
}

static void test_linear_threads(struct lin *L, int isa)
{
    char name[128];
    snprintf(name, sizeof name, "%s: linear %s%s %dx%d, 3 threads bit-identical to 1", df_isa_name(isa),
             dt_name(L->t.dt), L->t.act == DF_ACT_BF16 ? " (bf16 activations)" : "", L->t.rows, L->t.cols);
    case_begin(name);
    df_isa_set(isa);
    float *y[NNS];
    run_all(L, y);
    for (int i = 0; i < NNS; i++) {
        CHECK(memcmp(y[i], L->y[i], sizeof(float) * (size_t)NS[i] * L->t.rows) == 0, "n=%d differs", NS[i]);
        free(y[i]);
    }
    case_end();
}

/* ---- grouped experts and attention: batch, thread and ISA invariance ------------------- */

#define MX_E 6
#define MX_DIM 160
#define MX_INTER 144
#define MX_K 3
#define MX_N 7

struct moe_fix {
    enum df_dtype dt;
    enum df_act act;
    unsigned char *blob;
    struct df_expert table[MX_E];
    float *x, wts[MX_N * MX_K];
    int ids[MX_N * MX_K];
    float *ref;      /* [MX_N][MX_DIM]: n = MX_N, first ISA, 1 thread */
};

static uint64_t blob_put(unsigned char *blob, uint64_t *at, const void *src, size_t bytes)
{
    const uint64_t off = *at;
    memcpy(blob + off, src, bytes);
    *at = (off + bytes + 63) & ~(uint64_t)63;
    return off;
}

static void moe_fix_init(struct moe_fix *f, enum df_dtype dt, enum df_act act)
{
    const size_t es = dt == DF_BF16 ? 2 : 1, mb = (size_t)MX_DIM * MX_INTER * es;
    f->dt = dt;
    f->act = act;
    f->blob = calloc((size_t)MX_E * 3 * (mb + 4096), 1);
    uint64_t at = 64;
    for (int e = 0; e < MX_E; e++) {
        struct tmat g, u, d;
        tmat_init(&g, dt, MX_INTER, MX_DIM, 0.2);
        tmat_init(&u, dt, MX_INTER, MX_DIM, 0.2);
        tmat_init(&d, dt, MX_DIM, MX_INTER, 0.2);
        f->table[e].gate = blob_put(f->blob, &at, g.w, mb);
        f->table[e].up = blob_put(f->blob, &at, u.w, mb);
        f->table[e].down = blob_put(f->blob, &at, d.w, mb);
        f->table[e].gate_scale = f->table[e].up_scale = f->table[e].down_scale = 0;
        if (dt == DF_F8E4M3) {
            f->table[e].gate_scale = blob_put(f->blob, &at, g.scale, tmat_scale_bytes(&g));
            f->table[e].up_scale = blob_put(f->blob, &at, u.scale, tmat_scale_bytes(&u));
            f->table[e].down_scale = blob_put(f->blob, &at, d.scale, tmat_scale_bytes(&d));
        }
        tmat_free(&g);
        tmat_free(&u);
        tmat_free(&d);
    }
    f->x = rnd_vec((size_t)MX_N * MX_DIM, 2.0);
    for (int t = 0; t < MX_N; t++) /* distinct experts per token, best first; some shared */
        for (int k = 0; k < MX_K; k++) {
            f->ids[t * MX_K + k] = (t * 2 + k * (1 + t % 2)) % MX_E;
            f->wts[t * MX_K + k] = (float)(0.1 + rnd_unit());
        }
    f->ref = NULL;
}

static void moe_run(const struct moe_fix *f, const int *ids, const float *x, const float *wts, int n, float *out)
{
    const struct df_experts_shape s = { MX_K, MX_DIM, MX_INTER, f->dt, f->act };
    float *ws = nan_vec(DF_MOE_WS_FLOATS(n, MX_K, MX_DIM, MX_INTER));
    moe_experts(&s, f->blob, f->table, x, ids, wts, n, ws, out);
    free(ws);
}

static void test_moe_invariance(struct moe_fix *f, int isa, int first, int threads)
{
    char name[128];
    snprintf(name, sizeof name, "%s: moe_experts %s%s, %d threads: each token alone = in the batch%s",
             df_isa_name(isa), dt_name(f->dt), f->act == DF_ACT_BF16 ? " (bf16 activations)" : "", threads,
             first ? "" : " = the first ISA, 1 thread");
    case_begin(name);
    df_isa_set(isa);
    float *out = nan_vec((size_t)MX_N * MX_DIM), *one = nan_vec(MX_DIM);
    moe_run(f, f->ids, f->x, f->wts, MX_N, out);
    for (int t = 0; t < MX_N; t++) {
        moe_run(f, f->ids + t * MX_K, f->x + (size_t)t * MX_DIM, f->wts + t * MX_K, 1, one);
        CHECK(memcmp(one, out + (size_t)t * MX_DIM, sizeof(float) * MX_DIM) == 0, "token %d differs alone", t);
    }
    if (first && !f->ref)
        f->ref = out;
    else {
        CHECK(memcmp(out, f->ref, sizeof(float) * MX_N * MX_DIM) == 0, "differs from the first ISA / 1 thread");
        free(out);
    }
    free(one);
    case_end();
}

#define AT_H 12      /* two head groups: 8 and 4 */
#define AT_NOPE 24
#define AT_ROPE 16
#define AT_V 20
#define AT_L 144     /* not a multiple of 64 or 128 */
#define AT_CTX 48    /* positions in 3 blocks of 16 */
#define AT_SLOTS 3
#define AT_N 7        /* >= DF_PANEL_MIN_TOKENS: the batch takes the converted-panel path */

struct mla_fix {
    struct tmat kvb;
    struct df_mat m;
    struct df_mla_shape s;
    float *cache, *q;
    int slot[AT_N], pos[AT_N];
    float *ref;
};

static void mla_fix_init(struct mla_fix *f, enum df_dtype dt)
{
    tmat_init(&f->kvb, dt, AT_H * (AT_NOPE + AT_V), AT_L, 0.3);
    f->m = (struct df_mat){ f->kvb.w, f->kvb.scale, f->kvb.rows, f->kvb.cols, dt, DF_ACT_F32 };
    f->s = (struct df_mla_shape){ AT_H, AT_NOPE, AT_ROPE, AT_V, AT_L, AT_CTX, 0.17f, 1e-6f, false };
    f->cache = rnd_vec((size_t)AT_SLOTS * AT_CTX * (AT_L + AT_ROPE), 1.0);
    f->q = rnd_vec((size_t)AT_N * AT_H * (AT_NOPE + AT_ROPE), 1.0);
    static const int slots[AT_N] = { 0, 1, 1, 2, 0, 2, 1 }, poss[AT_N] = { 3, 0, 16, 33, 47, 15, 31 };
    memcpy(f->slot, slots, sizeof slots);
    memcpy(f->pos, poss, sizeof poss);
    f->ref = NULL;
}

static void mla_run(const struct mla_fix *f, int t0, int n, float *out)
{
    int token[AT_N] = { 0 };
    const struct df_step st = { n, token, f->slot + t0, f->pos + t0, 0, NULL };
    float *ws = nan_vec(DF_MLA_WS_FLOATS(n, AT_H, AT_L, AT_ROPE, AT_CTX));
    mla_attend(&f->s, &f->m, f->q + (size_t)t0 * AT_H * (AT_NOPE + AT_ROPE), f->cache, &st, ws, out);
    free(ws);
}

static void test_mla_invariance(struct mla_fix *f, int isa, int first, int threads)
{
    char name[128];
    snprintf(name, sizeof name, "%s: mla_attend %s, %d threads: each token alone = in the batch%s", df_isa_name(isa),
             dt_name(f->kvb.dt), threads, first ? "" : " = the first ISA, 1 thread");
    case_begin(name);
    df_isa_set(isa);
    const size_t row = (size_t)AT_H * AT_V;
    float *out = nan_vec(AT_N * row), *one = nan_vec(row);
    mla_run(f, 0, AT_N, out);
    for (int t = 0; t < AT_N; t++) {
        mla_run(f, t, 1, one);
        CHECK(memcmp(one, out + t * row, sizeof(float) * row) == 0, "token %d differs alone", t);
        for (size_t i = 0; i < row; i++)
            CHECK(isfinite(one[i]), "token %d: output %zu not finite", t, i);
    }
    if (first && !f->ref)
        f->ref = out;
    else {
        CHECK(memcmp(out, f->ref, sizeof(float) * AT_N * row) == 0, "differs from the first ISA / 1 thread");
        free(out);
    }
    free(one);
    case_end();
}

/* deploy.kv_cache = "bf16" on one ISA (plain C too): the cache write stores each value of the
 * f32 path's row rounded (f32_bf16_bits), and attention over the bf16 cache gives the bits of
 * attention over an f32 cache holding the values it stands for (the SIMD path widens blocks of
 * rows into df_xbuf, the plain one row by row). */
static void test_mla_bf16_cache(const struct mla_fix *f, int isa)
{
    char name[128];
    snprintf(name, sizeof name, "%s: bf16 KV cache (%s): write = f32 row rounded; attend = attend over the widened values",
             df_isa_name(isa), dt_name(f->kvb.dt));
    case_begin(name);
    df_isa_set(isa);
    const int row = AT_L + AT_ROPE;
    const size_t cells = (size_t)AT_SLOTS * AT_CTX * row, out_n = (size_t)AT_N * AT_H * AT_V;
    struct df_mla_shape s16 = f->s;
    s16.cache_bf16 = true;
    /* the write: the step's tokens into an f32 and a bf16 cache */
    float *kv_a = rnd_vec((size_t)AT_N * row, 3.0), *norm_w = rnd_vec(AT_L, 1.0), *rope = nan_vec((size_t)AT_CTX * AT_ROPE);
    const struct df_yarn y = { 1.0, 0, 0, 0 };
    rope_table_init(rope, AT_CTX, AT_ROPE, 10000.0, &y);
    int token[AT_N] = { 0 };
    const struct df_step st = { AT_N, token, f->slot, f->pos, 0, NULL };
    float *c32 = nan_vec(cells);
    uint16_t *c16 = calloc(cells, sizeof *c16);
    mla_cache_write(&f->s, kv_a, norm_w, rope, &st, c32);
    mla_cache_write(&s16, kv_a, norm_w, rope, &st, c16);
    for (int t = 0; t < AT_N; t++)
        for (int c = 0; c < row; c++) {
            const size_t at = mla_cache_index(&f->s, f->slot[t], f->pos[t]) + (size_t)c;
            CHECK(c16[at] == f32_bf16_bits(c32[at]), "token %d col %d: %04x, f32 %a", t, c, c16[at], c32[at]);
        }
    /* attention: over the fixture's cache rounded, and over its widened values */
    float *wide = nan_vec(cells), *o16 = nan_vec(out_n), *o32 = nan_vec(out_n);
    for (size_t i = 0; i < cells; i++) {
        c16[i] = f32_bf16_bits(f->cache[i]);
        wide[i] = bf16_to_f32(c16[i]);
    }
    float *ws = nan_vec(DF_MLA_WS_FLOATS(AT_N, AT_H, AT_L, AT_ROPE, AT_CTX));
    mla_attend(&s16, &f->m, f->q, c16, &st, ws, o16);
    mla_attend(&f->s, &f->m, f->q, wide, &st, ws, o32);
    CHECK(memcmp(o16, o32, sizeof(float) * out_n) == 0, "attention over the bf16 cache differs from the widened one");
    for (size_t i = 0; i < out_n; i++)
        CHECK(isfinite(o16[i]), "output %zu not finite", i);
    free(kv_a); free(norm_w); free(rope); free(c32); free(c16); free(wide); free(o16); free(o32); free(ws);
    case_end();
}

int main(void)
{
    rng_seed(7);
    const int best = df_isa_supported();
    printf("# this CPU supports: %s\n", df_isa_name(best));
    int isas[3], n_isa = 0;
    if (best >= DF_ISA_AVX512BF16)
        isas[n_isa++] = DF_ISA_AVX512BF16;
    if (best >= DF_ISA_AVX512)
        isas[n_isa++] = DF_ISA_AVX512;
    if (best >= DF_ISA_AVX2)
        isas[n_isa++] = DF_ISA_AVX2;
    const int n_vec = best >= DF_ISA_AVX512BF16 ? n_isa - 1 : n_isa; /* the vector layers: AVX-512, AVX2 */
    for (int i = n_isa - n_vec; i < n_isa; i++) {
        test_conversions(isas[i]);
        test_exp_silu(isas[i], n_vec);
    }
    for (int i = 0; i < n_isa; i++)
        test_round_bf16(isas[i]);

    static const struct { enum df_dtype dt; int rows, cols; enum df_act act; double w_amp, x_amp; } shapes[] = {
        { DF_F32, 37, 200, DF_ACT_F32, 1.0, 1.0 },   { DF_BF16, 37, 200, DF_ACT_F32, 1.0, 1.0 },  { DF_F8E4M3, 37, 200, DF_ACT_F32, 1.0, 1.0 },  /* tails everywhere */
        { DF_F32, 64, 16, DF_ACT_F32, 1.0, 1.0 },    { DF_BF16, 40, 32, DF_ACT_F32, 1.0, 1.0 },   { DF_F8E4M3, 40, 64, DF_ACT_F32, 1.0, 1.0 },   /* one whole chunk */
        { DF_BF16, 9, 1, DF_ACT_F32, 1.0, 1.0 },     { DF_F8E4M3, 9, 1, DF_ACT_F32, 1.0, 1.0 },   { DF_F32, 9, 3, DF_ACT_F32, 1.0, 1.0 },        /* one column */
        { DF_F8E4M3, 300, 328, DF_ACT_F32, 1.0, 1.0 },                                             /* three row blocks */
        { DF_BF16, 260, 1024, DF_ACT_F32, 1.0, 1.0 }, { DF_F8E4M3, 130, 1000, DF_ACT_F32, 1.0, 1.0 }, { DF_F32, 130, 513, DF_ACT_F32, 1.0, 1.0 },
        /* bf16 activations: tails, one chunk, one column, long rows, 4 KB rows */
        { DF_BF16, 37, 200, DF_ACT_BF16, 1.0, 1.0 }, { DF_BF16, 40, 32, DF_ACT_BF16, 1.0, 1.0 }, { DF_BF16, 9, 1, DF_ACT_BF16, 1.0, 1.0 },
        { DF_BF16, 260, 1024, DF_ACT_BF16, 1.0, 1.0 }, { DF_BF16, 70, 2048, DF_ACT_BF16, 1.0, 1.0 },
        /* bf16 activations where products and sums fall below 2^-126: only DAZ and FTZ give the
         * instruction's bits there */
        { DF_BF16, 37, 200, DF_ACT_BF16, 0x1p-60, 0x1p-66 }, { DF_BF16, 20, 1024, DF_ACT_BF16, 0x1p-62, 0x1p-64 },
    };
    const int n_shapes = (int)(sizeof shapes / sizeof shapes[0]);
    struct lin *L = calloc((size_t)n_shapes, sizeof *L);
    for (int s = 0; s < n_shapes; s++) {
        tmat_init(&L[s].t, shapes[s].dt, shapes[s].rows, shapes[s].cols, shapes[s].w_amp);
        L[s].t.act = shapes[s].act;
        L[s].x = rnd_vec((size_t)MAXN * shapes[s].cols, shapes[s].x_amp);
        for (int i = 0; i < n_isa; i++)
            test_linear(&L[s], isas[i], i == 0);
    }
    struct moe_fix mf[3];
    struct mla_fix af[2];
    const enum df_dtype mdt[2] = { DF_BF16, DF_F8E4M3 };
    for (int d = 0; d < 2; d++) {
        moe_fix_init(&mf[d], mdt[d], DF_ACT_F32);
        mla_fix_init(&af[d], mdt[d]);
        for (int i = 0; i < n_isa; i++) {
            test_moe_invariance(&mf[d], isas[i], i == 0, 1);
            test_mla_invariance(&af[d], isas[i], i == 0, 1);
            test_mla_bf16_cache(&af[d], isas[i]);
        }
        test_mla_bf16_cache(&af[d], DF_ISA_SCALAR);
    }
    moe_fix_init(&mf[2], DF_BF16, DF_ACT_BF16);
    for (int i = 0; i < n_isa; i++)
        test_moe_invariance(&mf[2], isas[i], i == 0, 1);
    case_begin("df_threads_start(3)");
    CHECK(df_threads_start(3) == 0, "start failed");
    case_end();
    for (int s = 0; s < n_shapes; s++)
        if ((long long)L[s].t.rows * L[s].t.cols >= DF_PARALLEL_MIN_WORK)
            for (int i = 0; i < n_isa; i++)
                test_linear_threads(&L[s], isas[i]);
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < n_isa; i++) {
            test_moe_invariance(&mf[d], isas[i], 0, 3);
            test_mla_invariance(&af[d], isas[i], 0, 3);
            test_mla_bf16_cache(&af[d], isas[i]);
        }
    for (int i = 0; i < n_isa; i++)
        test_moe_invariance(&mf[2], isas[i], 0, 3);
    df_threads_stop();
    for (int d = 0; d < 3; d++) {
        free(mf[d].blob);
        free(mf[d].x);
        free(mf[d].ref);
    }
    for (int d = 0; d < 2; d++) {
        tmat_free(&af[d].kvb);
        free(af[d].cache);
        free(af[d].q);
        free(af[d].ref);
    }
    for (int s = 0; s < n_shapes; s++) {
        for (int i = 0; n_isa && i < NNS; i++)
            free(L[s].y[i]);
        tmat_free(&L[s].t);
        free(L[s].x);
    }
    free(L);
    return finish();
}

#else
int main(void)
{
    printf("# no SIMD kernels on this platform\n");
    return 0;
}
#endif
