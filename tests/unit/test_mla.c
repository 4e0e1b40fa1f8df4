/* test_mla.c: mla_cache_write + mla_attend (weight absorption over the latent
 * cache) against a NON-absorbed double-precision reference: per head,
 *   k_nope = W_uk(h) c_kv,  v = W_uv(h) c_kv   (kv_b_proj rows of head h:
 *   nope rows, then v_head rows), score = (q_nope.k_nope + q_pe.k_pe) * scale,
 *   causal over the slot's positions 0..pos, softmax, out = sum_p p v.
 * Several slots, two sequences' tokens interleaved in one step, positions
 * not starting at 0 (the cache filled by an earlier step); kv_b in bf16 and
 * FP8 with kv_lora = 144 (not a multiple of 128) and 160 rows (two row blocks).
 * Unwritten cache entries and the workspace start as NaN, so any read
 * outside positions 0..pos of the token's own slot shows up in the output. */
#include "check.h"
#include "kernels/mla.h"

#define HEADS 4
#define NOPE 24
#define ROPE 8
#define VH 16
#define LORA 144
#define CTX 16
#define SLOTS 3
#define ROW (LORA + ROPE)
#define QKH (NOPE + ROPE)

static const double THETA = 10000.0;

/* YaRN factor 4, original 64, beta 32/1 (written from DeepSeek's formula). */
static double ref_freq(int i)
{
    const double pi = 3.14159265358979323846, factor = 4, orig = 64;
    const double base = exp(-(2.0 * i / ROPE) * log(THETA));
    double low = floor(ROPE * log(orig / (32 * 2 * pi)) / (2 * log(THETA)));
    double high = ceil(ROPE * log(orig / (1 * 2 * pi)) / (2 * log(THETA)));
    if (low < 0) low = 0;
    if (high > ROPE - 1) high = ROPE - 1;
    if (low == high) high += 0.001;
    double ramp = (i - low) / (high - low);
    ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
    return base / factor * ramp + base * (1 - ramp);
}

/* The reference cache: exact normalized latents and rotated keys. */
static double rc_kv[SLOTS][CTX][LORA], rc_pe[SLOTS][CTX][ROPE];
/* |x0| + |x1| of each pair before rotation: the scale of the rotation's error */
static double rc_pe_mag[SLOTS][CTX][ROPE / 2];
static int rc_written[SLOTS][CTX];

static const float EPS = 1e-6f;

static void ref_write(const float *kv_a, const float *norm_w, int slot, int pos)
{
    double ss = 0.0;
    for (int c = 0; c < LORA; c++)
        ss += (double)kv_a[c] * kv_a[c];
    const double inv = 1.0 / sqrt(ss / LORA + (double)EPS);
    for (int c = 0; c < LORA; c++)
        rc_kv[slot][pos][c] = kv_a[c] * inv * norm_w[c];
    for (int i = 0; i < ROPE / 2; i++) {
        const double a = pos * ref_freq(i), x0 = kv_a[LORA + 2 * i], x1 = kv_a[LORA + 2 * i + 1];
        rc_pe[slot][pos][2 * i] = x0 * cos(a) - x1 * sin(a);
        rc_pe[slot][pos][2 * i + 1] = x0 * sin(a) + x1 * cos(a);
        rc_pe_mag[slot][pos][i] = fabs(x0) + fabs(x1);
    }
    rc_written[slot][pos] = 1;
}

struct fixture {
    struct tmat kvb;
    struct df_mat m;
    float norm_w[LORA];
    float rope[CTX * ROPE];
    float *cache;          /* [SLOTS][CTX][ROW], NaN where not written */
    struct df_mla_shape s;
};

/* Write the step's tokens (kernel and reference), check the cache, attend,
 * check the output against the non-absorbed reference. */
static void run_step(struct fixture *f, const char *label, int n, const int *slot, const int *pos)
{
    char name[128];
    snprintf(name, sizeof name, "mla %s %s: cache write", dt_name(f->kvb.dt), label);
    case_begin(name);
    float *kv_a = rnd_vec((size_t)n * ROW, 3.0);
    float *q = rnd_vec((size_t)n * HEADS * QKH, 1.0);
    int token[64] = { 0 };
    const struct df_step step = { n, token, slot, pos, 0, NULL };
    mla_cache_write(&f->s, kv_a, f->norm_w, f->rope, &step, f->cache);
    for (int t = 0; t < n; t++)
        ref_write(kv_a + (size_t)t * ROW, f->norm_w, slot[t], pos[t]);
    for (int sl = 0; sl < SLOTS; sl++)
        for (int p = 0; p < CTX; p++) {
            const float *e = f->cache + ((size_t)sl * CTX + p) * ROW;
            const long at = ((long)sl * CTX + p) * ROW;
            if (!rc_written[sl][p]) {
                for (int c = 0; c < ROW; c++)
                    CHECK(isnan(e[c]), "cache[slot %d][pos %d][%d] written but no token has it", sl, p, c);
                continue;
            }
            /* rmsnorm: (LORA/2 + 6)u relative (see test_kernels.c), margin 2 */
            for (int c = 0; c < LORA; c++)
                expect_close("c_kv", at + c, e[c], rc_kv[sl][p][c], 2.0 * (LORA / 2 + 8) * U32 * fabs(rc_kv[sl][p][c]));
            /* rotation: 2.5u(|x0| + |x1|), margin 2 */
            for (int c = 0; c < ROPE; c++)
                expect_close("k_pe", at + LORA + c, e[LORA + c], rc_pe[sl][p][c], 5.0 * U32 * rc_pe_mag[sl][p][c / 2]);
        }
    case_end();

    snprintf(name, sizeof name, "mla %s %s: attend vs non-absorbed reference", dt_name(f->kvb.dt), label);
    case_begin(name);
    float *ws = nan_vec(DF_MLA_WS_FLOATS(n, HEADS, LORA, ROPE, CTX));
    float *out = nan_vec((size_t)n * HEADS * VH);
    mla_attend(&f->s, &f->m, q, f->cache, &step, ws, out);
    const double scale = f->s.softmax_scale;
    for (int t = 0; t < n; t++) {
        const int sl = slot[t], len = pos[t] + 1;
        for (int h = 0; h < HEADS; h++) {
            const float *qh = q + ((size_t)t * HEADS + h) * QKH;
            const int r0 = h * (NOPE + VH);
            double s[CTX], a[CTX], v[CTX][VH], vabs[CTX][VH], max = -INFINITY, amax = 0.0;
            for (int p = 0; p < len; p++) {
                double sc = 0.0, mag = 0.0;
                for (int d = 0; d < NOPE; d++) {
                    double k = 0.0, kabs = 0.0;
                    for (int c = 0; c < LORA; c++) {
                        k += tmat_ref(&f->kvb, r0 + d, c) * rc_kv[sl][p][c];
                        kabs += fabs(tmat_ref(&f->kvb, r0 + d, c) * rc_kv[sl][p][c]);
                    }
                    sc += qh[d] * k;
                    mag += fabs((double)qh[d]) * kabs;
                }
                for (int i = 0; i < ROPE / 2; i++) {
                    sc += qh[NOPE + 2 * i] * rc_pe[sl][p][2 * i] + qh[NOPE + 2 * i + 1] * rc_pe[sl][p][2 * i + 1];
                    mag += (fabs(qh[NOPE + 2 * i]) + fabs(qh[NOPE + 2 * i + 1])) * rc_pe_mag[sl][p][i];
                }
                s[p] = sc * scale;
                a[p] = mag * scale;
                max = s[p] > max ? s[p] : max;
                amax = a[p] > amax ? a[p] : amax;
                for (int d = 0; d < VH; d++) {
                    double x = 0.0, xa = 0.0;
                    for (int c = 0; c < LORA; c++) {
                        x += tmat_ref(&f->kvb, r0 + NOPE + d, c) * rc_kv[sl][p][c];
                        xa += fabs(tmat_ref(&f->kvb, r0 + NOPE + d, c) * rc_kv[sl][p][c]);
                    }
                    v[p][d] = x;
                    vabs[p][d] = xa;
                }
            }
            double sum = 0.0, pr[CTX];
            for (int p = 0; p < len; p++)
                sum += pr[p] = exp(s[p] - max);
            for (int p = 0; p < len; p++)
                pr[p] /= sum;
            /* Error bound, first order, every term a sum of float roundings:
             *  score: q_lat (NOPE terms), q_lat.c_kv (LORA), q_pe.k_pe (ROPE), the
             *   cached c_kv (LORA/2 + 8 relative), k_pe (2.5 of |x0|+|x1|), the scale
             *   and max subtraction (2 of the largest |score|):
             *   dS = u (NOPE + LORA + ROPE + LORA/2 + 16) * max_p a_p,
             *   a_p = scale * (sum|q_nope W c_kv| + sum (|q0|+|q1|)(|x0|+|x1|));
             *  softmax: dp_p <= p_p (2 dS + (len + 6) u)   (exp, sum, quotient);
             *  o_lat (len terms) then W_uv o_lat (LORA terms, FP8 block scaling +2):
             *   (len + LORA + LORA/2 + 12) u relative to M_d = sum_p p_p sum_c |W c_kv|;
             *  so |out_d - ref_d| <= M_d (2 dS + (2 len + 1.5 LORA + 18) u); margin 2. */
            const double dS = U32 * (NOPE + LORA + ROPE + LORA / 2 + 16) * amax;
            for (int d = 0; d < VH; d++) {
                double want = 0.0, M = 0.0;
                for (int p = 0; p < len; p++) {
                    want += pr[p] * v[p][d];
                    M += pr[p] * vabs[p][d];
                }
                const double tol = 2.0 * M * (2.0 * dS + U32 * (2.0 * len + 1.5 * LORA + 18));
                expect_close("out", ((long)t * HEADS + h) * VH + d, out[((size_t)t * HEADS + h) * VH + d], want, tol);
            }
        }
    }
    free(ws); free(out); free(kv_a); free(q);
    case_end();
}

static void test_mla(enum df_dtype dt)
{
    struct fixture f;
    /* magnitudes that keep the scores of order 1..10: a real softmax, not one-hot */
    tmat_init(&f.kvb, dt, HEADS * (NOPE + VH), LORA, 0.3);
    f.m = (struct df_mat){ f.kvb.w, f.kvb.scale, f.kvb.rows, f.kvb.cols, dt, DF_ACT_F32 };
    for (int c = 0; c < LORA; c++)
        f.norm_w[c] = (float)(0.5 + rnd_unit());
    const struct df_yarn y = { 4.0, 64, 32, 1 };
    rope_table_init(f.rope, CTX, ROPE, THETA, &y);
    f.cache = nan_vec((size_t)SLOTS * CTX * ROW);
    f.s = (struct df_mla_shape){ HEADS, NOPE, ROPE, VH, LORA, CTX, (float)(1.0 / sqrt(QKH)), EPS, false };
    memset(rc_written, 0, sizeof rc_written);

    /* an earlier step: slot 0 at 0..4, slot 2 at 0..2 (a prefill of two prompts) */
    const int s1[] = { 0, 0, 0, 0, 0, 2, 2, 2 }, p1[] = { 0, 1, 2, 3, 4, 0, 1, 2 };
    run_step(&f, "prefill 2 sequences", 8, s1, p1);
    /* this step: slot 0 and slot 2 interleaved, continuing; a new sequence in slot 1 */
    const int s2[] = { 0, 2, 0, 2, 1, 0, 1 }, p2[] = { 5, 3, 6, 4, 0, 7, 1 };
    run_step(&f, "interleaved step at pos > 0", 7, s2, p2);
    /* decode: one token per slot, the longest at the end of the context */
    const int s3[] = { 2, 1, 0 }, p3[] = { 5, 2, 8 };
    run_step(&f, "decode", 3, s3, p3);
    /* fill slot 1 up to the last position, one token of it */
    int s4[CTX], p4[CTX], n4 = 0;
    for (int p = 3; p < CTX; p++) {
        s4[n4] = 1;
        p4[n4++] = p;
    }
    run_step(&f, "slot 1 to the end of the context", n4, s4, p4);
    free(f.cache);
    tmat_free(&f.kvb);
}

int main(void)
{
    rng_seed(777);
    test_mla(DF_BF16);
    test_mla(DF_F8E4M3);
    return finish();
}
