/* test_moe.c: moe_route against a brute-force reference written from the
 * DeepSeekMoE description, and moe_experts against a double-precision
 * reference, bf16 and FP8.
 *
 * Routing reference: scores (sigmoid or softmax) and choices (score + bias)
 * in double; groups ranked by (group score desc, index asc), a group scored
 * by its best choice (group_limited_greedy) or its two best summed
 * (noaux_tc); experts of the kept groups ranked by (choice desc, index asc);
 * weight = unbiased score, normalized over the chosen if norm_topk_prob,
 * times the scaling. Random tokens whose decision would hinge on a gap
 * below 1e-5 (where float rounding may legitimately flip it) are redrawn;
 * exact ties are tested separately with equal inputs. */
#include <stdbool.h>

#include "check.h"
#include "kernels/moe.h"

/* ---- routing reference ----------------------------------------------------------------- */

struct ranked { double v; int i; };

static int by_value_desc(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return x->i - y->i;
}

struct ref_route {
    int ids[DF_MAX_EXPERTS];
    double w[DF_MAX_EXPERTS];
    bool group_kept[DF_MAX_GROUPS];
    double margin; /* smallest gap any decision (rank order included) hinged on */
};

/* method_override: -1, or a method to use instead of s->method (for "would
 * another rule choose differently" checks). */
static void ref_route(const struct df_route_shape *s, const float *logit, const float *bias, int method,
                      struct ref_route *r)
{
    const int E = s->experts;
    double score[DF_MAX_EXPERTS], choice[DF_MAX_EXPERTS];
    struct ranked rk[DF_MAX_EXPERTS];
    if (s->softmax) {
        double max = -INFINITY, sum = 0.0;
        for (int e = 0; e < E; e++)
            max = logit[e] > max ? logit[e] : max;
        for (int e = 0; e < E; e++)
            sum += score[e] = exp(logit[e] - max);
        for (int e = 0; e < E; e++)
            score[e] /= sum;
    } else {
        for (int e = 0; e < E; e++)
            score[e] = 1.0 / (1.0 + exp(-(double)logit[e]));
    }
    for (int e = 0; e < E; e++)
        choice[e] = score[e] + (bias ? bias[e] : 0.0);
    r->margin = INFINITY;
    bool allowed[DF_MAX_EXPERTS];
    for (int e = 0; e < E; e++)
        allowed[e] = true;
    for (int g = 0; g < DF_MAX_GROUPS; g++)
        r->group_kept[g] = g < s->n_group;
    if (method != DF_GREEDY && s->n_group > 1) {
        const int per = E / s->n_group;
        struct ranked gs[DF_MAX_GROUPS];
        for (int g = 0; g < s->n_group; g++) {
            for (int k = 0; k < per; k++)
                rk[k] = (struct ranked){ choice[g * per + k], g * per + k };
            qsort(rk, (size_t)per, sizeof rk[0], by_value_desc);
            gs[g] = (struct ranked){ method == DF_NOAUX_TC ? rk[0].v + rk[1].v : rk[0].v, g };
        }
        qsort(gs, (size_t)s->n_group, sizeof gs[0], by_value_desc);
        for (int g = 0; g < s->n_group; g++)
            r->group_kept[gs[g].i] = g < s->topk_group;
        const double gap = gs[s->topk_group - 1].v - gs[s->topk_group].v;
        r->margin = gap < r->margin ? gap : r->margin;
        for (int e = 0; e < E; e++)
            allowed[e] = r->group_kept[e / per];
    }
    int n = 0;
    for (int e = 0; e < E; e++)
        if (allowed[e])
            rk[n++] = (struct ranked){ choice[e], e };
    qsort(rk, (size_t)n, sizeof rk[0], by_value_desc);
    for (int k = 0; k < s->topk && k + 1 < n; k++) { /* the order of the chosen, and the cut */
        const double gap = rk[k].v - rk[k + 1].v;
        r->margin = gap < r->margin ? gap : r->margin;
    }
    double sum = 0.0;
    for (int k = 0; k < s->topk; k++) {
        r->ids[k] = rk[k].i;
        sum += r->w[k] = score[rk[k].i];
    }
    for (int k = 0; k < s->topk; k++)
        r->w[k] = (s->norm_topk_prob ? r->w[k] / sum : r->w[k]) * s->scaling;
}

static bool same_set(const int *a, const int *b, int k)
{
    for (int i = 0; i < k; i++) {
        bool found = false;
        for (int j = 0; j < k; j++)
            found |= a[i] == b[j];
        if (!found)
            return false;
    }
    return true;
}

/* Scores: softmax sums E exps (E + 4)u, sigmoid 4u; normalization over k
 * and the scaling (k + 2)u: (E + k + 8)u relative, margin 2. */
static double route_tol(const struct df_route_shape *s, double w)
{
    return 2.0 * (s->experts + s->topk + 8) * U32 * fabs(w);
}

/* Draws n tokens (logits amp, redrawn while a decision hinges on < 1e-5),
 * routes them in one call and compares. Returns how many tokens would be
 * routed differently (as a set) without the bias / with the other group rule. */
static void route_case(const char *name, const struct df_route_shape *s, const float *bias, int n, double amp,
                       int *changed_by_bias, int *changed_by_rule)
{
    case_begin(name);
    const int E = s->experts, K = s->topk;
    float *logits = malloc(sizeof(float) * (size_t)n * E);
    struct ref_route *ref = malloc(sizeof *ref * (size_t)n), alt;
    *changed_by_bias = *changed_by_rule = 0;
    for (int t = 0; t < n; t++) {
        float *l = logits + (size_t)t * E;
        for (int tries = 0;; tries++) {
            for (int e = 0; e < E; e++)
                l[e] = rnd_sym(amp);
            ref_route(s, l, bias, s->method, &ref[t]);
            if (ref[t].margin >= 1e-5)
                break;
            if (tries > 1000) {
                failf("could not draw a token with clear decisions");
                break;
            }
        }
        if (bias) {
            ref_route(s, l, NULL, s->method, &alt);
            *changed_by_bias += !same_set(alt.ids, ref[t].ids, K);
        }
        const int other = s->method == DF_NOAUX_TC ? DF_GROUP_LIMITED_GREEDY : DF_NOAUX_TC;
        ref_route(s, l, bias, other, &alt);
        *changed_by_rule += !same_set(alt.ids, ref[t].ids, K);
    }
    int *ids = malloc(sizeof(int) * (size_t)n * K);
    float *w = nan_vec((size_t)n * K);
    moe_route(s, logits, bias, n, ids, w);
    for (int t = 0; t < n; t++) {
        for (int k = 0; k < K; k++) {
            const int got = ids[t * K + k];
            CHECK(got == ref[t].ids[k], "token %d: choice %d is expert %d, want %d", t, k, got, ref[t].ids[k]);
            if (got >= 0 && got < E && s->method != DF_GREEDY && s->n_group > 1)
                CHECK(ref[t].group_kept[got / (E / s->n_group)], "token %d: expert %d of a masked group chosen", t, got);
            expect_close("weight", (long)t * K + k, w[t * K + k], ref[t].w[k], route_tol(s, ref[t].w[k]));
        }
    }
    free(logits); free(ref); free(ids); free(w);
    case_end();
}

static void test_route(void)
{
    int by_bias, by_rule;
    float bias[256];

    /* V3: sigmoid, noaux_tc, bias, normalized, scaled; the bias changes choices */
    struct df_route_shape v3 = { .experts = 16, .topk = 4, .n_group = 4, .topk_group = 2,
                                 .method = DF_NOAUX_TC, .softmax = false, .norm_topk_prob = true,
                                 .scaling = 2.5f };
    for (int e = 0; e < 16; e++)
        bias[e] = rnd_sym(0.3);
    route_case("moe_route sigmoid noaux_tc + bias (16e, 4 groups, top-2 groups, k 4)", &v3, bias, 300, 3.0,
               &by_bias, &by_rule);
    case_begin("moe_route noaux_tc: the bias changed the chosen set of some tokens (meaningful)");
    CHECK(by_bias > 0, "no token's choice depended on the bias");
    case_end();

    /* A crafted token: the bias alone makes group 3 and experts 14, 15 win;
     * their weights are their own (small) sigmoid scores, normalized, scaled. */
    case_begin("moe_route crafted: bias picks low-score experts, weights unbiased");
    {
        float l[16], b[16] = { 0 }, w[4];
        int ids[4];
        for (int e = 0; e < 16; e++)
            l[e] = e < 8 ? 2.0f - 0.1f * e : -2.0f - 0.05f * e;
        b[14] = 1.0f;
        b[15] = 0.9f;
        moe_route(&v3, l, b, 1, ids, w);
        const double s14 = 1 / (1 + exp(-(double)l[14])), s15 = 1 / (1 + exp(-(double)l[15]));
        const double s0 = 1 / (1 + exp(-(double)l[0])), s1 = 1 / (1 + exp(-(double)l[1]));
        /* choices: 14: s14 + 1, 15: s15 + 0.9, 0: s0, 1: s1; groups: 3 (sum ~ 2.02), 0 (~1.75) */
        const int want[4] = { 14, 15, 0, 1 };
        const double ws[4] = { s14, s15, s0, s1 }, sum = s14 + s15 + s0 + s1;
        for (int k = 0; k < 4; k++) {
            CHECK(ids[k] == want[k], "choice %d: expert %d, want %d", k, ids[k], want[k]);
            expect_close("weight", k, w[k], ws[k] / sum * 2.5, route_tol(&v3, ws[k] / sum * 2.5));
        }
    }
    case_end();

    /* all choices negative (bias -3..-2): masked groups must still never be
     * chosen (a rule that sets masked choices to 0 instead of excluding them,
     * as HF's V2 code does, would pick masked experts for every token here) */
    for (int e = 0; e < 16; e++)
        bias[e] = (float)(-2.0 - rnd_unit());
    route_case("moe_route sigmoid noaux_tc, negative score + bias", &v3, bias, 300, 3.0, &by_bias, &by_rule);

    /* V3 full size: 256 experts, 8 groups, top-4 groups, k 8 */
    struct df_route_shape v3big = v3;
    v3big.experts = 256; v3big.topk = 8; v3big.n_group = 8; v3big.topk_group = 4;
    for (int e = 0; e < 256; e++)
        bias[e] = rnd_sym(0.1);
    route_case("moe_route sigmoid noaux_tc + bias (256e, 8 groups, top-4, k 8)", &v3big, bias, 100, 4.0,
               &by_bias, &by_rule);

    /* V2-Lite-like: softmax, greedy (groups ignored even if set), no normalization */
    struct df_route_shape greedy = { .experts = 64, .topk = 6, .n_group = 8, .topk_group = 3,
                                     .method = DF_GREEDY, .softmax = true, .norm_topk_prob = false,
                                     .scaling = 1.0f };
    route_case("moe_route softmax greedy, no normalization (64e, k 6)", &greedy, NULL, 200, 4.0, &by_bias, &by_rule);
    greedy.scaling = 16.0f;
    route_case("moe_route softmax greedy, no normalization, scaling 16", &greedy, NULL, 100, 4.0, &by_bias, &by_rule);

    /* V2: softmax, group_limited_greedy (group score = its max) */
    struct df_route_shape glg = { .experts = 32, .topk = 6, .n_group = 8, .topk_group = 3,
                                  .method = DF_GROUP_LIMITED_GREEDY, .softmax = true, .norm_topk_prob = false,
                                  .scaling = 1.0f };
    route_case("moe_route softmax group_limited_greedy (32e, 8 groups, top-3, k 6)", &glg, NULL, 300, 3.0,
               &by_bias, &by_rule);
    case_begin("moe_route group_limited_greedy: max vs top-2 sum differ on some tokens (meaningful)");
    CHECK(by_rule > 0, "no token where the group rule matters");
    case_end();
    glg.norm_topk_prob = true;
    route_case("moe_route softmax group_limited_greedy, normalized", &glg, NULL, 100, 3.0, &by_bias, &by_rule);

    /* n_group 1: noaux_tc is a plain top-k over all experts */
    struct df_route_shape one = v3;
    one.n_group = 1;
    one.topk_group = 1;
    for (int e = 0; e < 16; e++)
        bias[e] = rnd_sym(0.3);
    route_case("moe_route sigmoid noaux_tc n_group 1", &one, bias, 200, 3.0, &by_bias, &by_rule);

    /* exact ties: equal logits everywhere -> lowest groups, lowest experts */
    case_begin("moe_route ties go to the lower index (groups and experts)");
    {
        float l[32], w[6];
        int ids[6];
        for (int e = 0; e < 32; e++)
            l[e] = 0.25f;
        struct df_route_shape cases[3] = { v3, glg, greedy };
        cases[2].experts = 32;
        for (int c = 0; c < 3; c++) {
            const struct df_route_shape *s = &cases[c];
            moe_route(s, l, NULL, 1, ids, w);
            for (int k = 0; k < s->topk; k++) {
                /* groups 0.. topk_group-1 are kept; within them, lowest experts first */
                CHECK(ids[k] == k, "case %d: choice %d is expert %d, want %d", c, k, ids[k], k);
                const double sc = s->softmax ? 1.0 / s->experts : 1 / (1 + exp(-0.25));
                const double want = (s->norm_topk_prob ? 1.0 / s->topk : sc) * s->scaling;
                expect_close("weight", k, w[k], want, route_tol(s, want));
            }
        }
        /* groups 0, 2, 3 tie for the second place: group 0 is kept (with group 1);
         * then the experts tied at -1 in groups 0 and 1: the lowest first */
        for (int e = 0; e < 16; e++)
            l[e] = -1.0f;
        l[5] = 2.0f;
        l[1] = l[9] = l[13] = 1.0f;
        moe_route(&v3, l, NULL, 1, ids, w);
        const int want[4] = { 5, 1, 0, 2 };
        for (int k = 0; k < 4; k++)
            CHECK(ids[k] == want[k], "pairs: choice %d is expert %d, want %d", k, ids[k], want[k]);
    }
    case_end();
}

/* ---- routed experts --------------------------------------------------------------------- */

#define NEXP 6
#define DIM 160
#define INTER 144
#define TOPK 3
#define NTOK 4

static uint64_t put(unsigned char *blob, uint64_t *at, const void *src, size_t bytes)
{
    const uint64_t off = *at;
    memcpy(blob + off, src, bytes);
    *at = (off + bytes + 63) & ~(uint64_t)63;
    return off;
}

static size_t elem_bytes(enum df_dtype dt)
{
    return dt == DF_F32 ? 4 : dt == DF_BF16 ? 2 : 1;
}

static void test_experts(enum df_dtype dt)
{
    char name[96];
    snprintf(name, sizeof name, "moe_experts %s (dim %d, inter %d, k %d, %d tokens)", dt_name(dt), DIM, INTER,
             TOPK, NTOK);
    case_begin(name);
    struct tmat g[NEXP], u[NEXP], d[NEXP];
    struct df_expert table[NEXP];
    unsigned char *blob = malloc((size_t)NEXP * 3 * (DIM * INTER * 4 + 4096));
    uint64_t at = 64; /* offset 0 is not special */
    for (int e = 0; e < NEXP; e++) {
        tmat_init(&g[e], dt, INTER, DIM, 0.2);
        tmat_init(&u[e], dt, INTER, DIM, 0.2);
        tmat_init(&d[e], dt, DIM, INTER, 0.2);
        const size_t mb = (size_t)DIM * INTER * elem_bytes(dt);
        table[e].gate = put(blob, &at, g[e].w, mb);
        table[e].up = put(blob, &at, u[e].w, mb);
        table[e].down = put(blob, &at, d[e].w, mb);
        if (dt == DF_F8E4M3) {
            table[e].gate_scale = put(blob, &at, g[e].scale, tmat_scale_bytes(&g[e]));
            table[e].up_scale = put(blob, &at, u[e].scale, tmat_scale_bytes(&u[e]));
            table[e].down_scale = put(blob, &at, d[e].scale, tmat_scale_bytes(&d[e]));
        } else {
            table[e].gate_scale = table[e].up_scale = table[e].down_scale = 0;
        }
    }
    float *x = rnd_vec((size_t)NTOK * DIM, 2.0), wts[NTOK * TOPK];
    int ids[NTOK * TOPK] = { 0, 5, 2, 5, 1, 3, 4, 0, 5, 2, 3, 1 }; /* best first; experts shared */
    for (int i = 0; i < NTOK * TOPK; i++)
        wts[i] = (float)(0.1 + rnd_unit());
    float *ws = nan_vec(DF_MOE_WS_FLOATS(NTOK, TOPK, DIM, INTER)), *out = nan_vec((size_t)NTOK * DIM);
    const struct df_experts_shape s = { TOPK, DIM, INTER, dt, DF_ACT_F32 };
    moe_experts(&s, blob, table, x, ids, wts, NTOK, ws, out);

    /* reference with a first-order error bound (every sum gamma_(K+2), margin 2):
     *  gate, up: dg_i = (DIM + 2)u sum_c|Wg x|, du_i likewise;
     *  h = silu(g) u: dh_i = 1.1 dg_i |u_i| + |silu(g_i)| du_i + 8u|h_i|  (|silu'| < 1.1);
     *  y = Wd h: dy_j = sum_i |Wd_ji| dh_i + (INTER + 2)u sum_i |Wd_ji h_i|;
     *  out = sum_k w_k y_k: sum_k |w_k| (dy_kj + (TOPK + 2)u |y|_abs,kj). */
    for (int t = 0; t < NTOK; t++) {
        double want[DIM] = { 0 }, tol[DIM] = { 0 };
        for (int k = 0; k < TOPK; k++) {
            const int e = ids[t * TOPK + k];
            const double wk = wts[t * TOPK + k];
            double h[INTER], dh[INTER], ha[INTER];
            for (int i = 0; i < INTER; i++) {
                double gv = 0, ga = 0, uv = 0, ua = 0;
                for (int c = 0; c < DIM; c++) {
                    const double pg = tmat_ref(&g[e], i, c) * x[t * DIM + c], pu = tmat_ref(&u[e], i, c) * x[t * DIM + c];
                    gv += pg; ga += fabs(pg);
                    uv += pu; ua += fabs(pu);
                }
                const double sg = gv / (1 + exp(-gv));
                h[i] = sg * uv;
                ha[i] = fabs(h[i]);
                dh[i] = 1.1 * (DIM + 2) * U32 * ga * fabs(uv) + fabs(sg) * (DIM + 2) * U32 * ua + 8 * U32 * ha[i];
            }
            for (int j = 0; j < DIM; j++) {
                double y = 0, ya = 0, dy = 0;
                for (int i = 0; i < INTER; i++) {
                    const double wd = tmat_ref(&d[e], j, i);
                    y += wd * h[i];
                    ya += fabs(wd * h[i]);
                    dy += fabs(wd) * dh[i];
                }
                dy += (INTER + 2) * U32 * ya;
                want[j] += wk * y;
                tol[j] += fabs(wk) * (dy + (TOPK + 2) * U32 * ya);
            }
        }
        for (int j = 0; j < DIM; j++)
            expect_close("out", (long)t * DIM + j, out[t * DIM + j], want[j], 2.0 * tol[j]);
    }
    case_end();

    if (dt == DF_F8E4M3) {
        /* FP8 activations (x quantized by the caller, down's input by the experts): the
         * whole-expert path (1 thread) and the phase path (4 threads, 6 experts: fewer than 2 per thread) quantize
         * at the same point, so they agree bit for bit; and the quantization happened. */
        case_begin("moe_experts fp8 with FP8 activations: 1 thread = 4 threads, != f32 activations");
        const struct df_experts_shape sq = { TOPK, DIM, INTER, dt, DF_ACT_FP8 };
        float *xq = malloc(sizeof(float) * NTOK * DIM), *o1 = nan_vec((size_t)NTOK * DIM);
        float *o3 = nan_vec((size_t)NTOK * DIM), *of = nan_vec((size_t)NTOK * DIM);
        memcpy(xq, x, sizeof(float) * NTOK * DIM);
        act_quant_fp8(xq, NTOK, DIM);
        moe_experts(&sq, blob, table, xq, ids, wts, NTOK, ws, o1);
        moe_experts(&s, blob, table, xq, ids, wts, NTOK, ws, of);
        CHECK(df_threads_start(4) == 0, "threads");
        moe_experts(&sq, blob, table, xq, ids, wts, NTOK, ws, o3);
        df_threads_stop();
        CHECK(memcmp(o1, o3, sizeof(float) * NTOK * DIM) == 0, "1 and 4 threads differ");
        CHECK(memcmp(o1, of, sizeof(float) * NTOK * DIM) != 0, "down's input was not quantized");
        free(xq); free(o1); free(o3); free(of);
        case_end();
    }
    for (int e = 0; e < NEXP; e++) {
        tmat_free(&g[e]); tmat_free(&u[e]); tmat_free(&d[e]);
    }
    free(blob); free(x); free(ws); free(out);
}

int main(void)
{
    rng_seed(31337);
    test_route();
    test_experts(DF_BF16);
    test_experts(DF_F8E4M3);
    test_experts(DF_F32);
    return finish();
}
