/* test_sample.c: the sampler (greedy, temperature, top-k, top-p, seeded
 * per-sequence streams) and the strict token-id parser.
 *
 * Frequencies: over N draws a token of probability p is counted
 * Binomial(N, p) times: mean N p, sigma sqrt(N p (1 - p)); a count is
 * accepted within 3 sigma. The seeds are fixed, so the outcome is
 * deterministic; a correct sampler fails a single 3-sigma check with
 * probability 0.27% over the choice of seed.
 *
 * Exactness: the sampled token is defined on integers (kernels/sample_select.h), so the sampler
 * (a radix selection, no sort) must pick exactly the token of the definition written out with a
 * sort (ref_sample below), and the weights must be floor(2^30 2^y) within one unit. */
#include <unistd.h>

#include "check.h"
#include "prompts.h"
#include "sample.h"

static double ref_probs(const float *l, int n, float temp, double *p)
{
    double max = -INFINITY, sum = 0.0;
    for (int i = 0; i < n; i++)
        max = l[i] > max ? l[i] : max;
    for (int i = 0; i < n; i++)
        sum += p[i] = exp(((double)l[i] - max) / temp);
    for (int i = 0; i < n; i++)
        p[i] /= sum;
    return sum;
}

static int ref_argmax(const float *v, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b])
            b = i;
    return b;
}

static struct df_sampler make(int vocab, float temp, int top_k, float top_p, uint64_t seed)
{
    struct df_sampler s;
    const struct df_sampling cfg = { temp, top_k, top_p, seed };
    if (df_sampler_init(&s, &cfg, vocab) != 0) {
        fprintf(stderr, "df_sampler_init failed\n");
        exit(2);
    }
    return s;
}

/* counts[i] of n draws within 3 sigma of n * want[i] (want normalized; zero
 * probability: never drawn). */
static void expect_freq(const char *what, const int *counts, const double *want, int k, int n)
{
    for (int i = 0; i < k; i++) {
        const double mean = n * want[i], sd = sqrt(n * want[i] * (1 - want[i]));
        if (want[i] == 0.0)
            CHECK(counts[i] == 0, "%s: token %d (outside the support) drawn %d times", what, i, counts[i]);
        else
            CHECK(fabs(counts[i] - mean) <= 3 * sd, "%s: token %d drawn %d times, want %.1f +- 3 * %.1f", what, i,
                  counts[i], mean, sd);
    }
}

static void test_greedy(void)
{
    case_begin("temperature 0 = argmax, ties to the lower index, rng untouched");
    const float l[] = { 1.0f, 3.0f, 3.0f, 2.0f, -INFINITY, 3.0f };
    struct df_sampler s = make(6, 0.0f, 0, 1.0f, 1);
    uint64_t rng = 12345;
    CHECK(df_sample(&s, l, &rng) == 1, "got %d, want 1", df_sample(&s, l, &rng));
    CHECK(rng == 12345, "rng advanced by a greedy draw");
    CHECK(df_argmax(l, 6) == 1, "df_argmax %d", df_argmax(l, 6));
    const float neg[] = { -5.0f, -1.0f, -1.0f };
    CHECK(df_argmax(neg, 3) == 1, "df_argmax all negative: %d", df_argmax(neg, 3));
    /* a NaN counts as -inf, first or not (the GPU's greedy pick agrees: kernels/argmax.h) */
    const float nan0[] = { NAN, -2.0f, 4.0f, NAN, 4.0f }, nans[] = { NAN, NAN }, ninf[] = { -INFINITY, NAN, -INFINITY };
    CHECK(df_argmax(nan0, 5) == 2, "df_argmax with NaNs: %d", df_argmax(nan0, 5));
    CHECK(df_argmax(nans, 2) == 0 && df_argmax(ninf, 3) == 0, "all NaN: %d; -inf, NaN, -inf: %d", df_argmax(nans, 2),
          df_argmax(ninf, 3));
    df_sampler_free(&s);
    s = make(100, 0.0f, 0, 1.0f, 1);
    float v[100];
    for (int trial = 0; trial < 200; trial++) {
        for (int i = 0; i < 100; i++)
            v[i] = (float)rnd_int(20); /* many ties */
        const int got = df_sample(&s, v, &rng), want = ref_argmax(v, 100);
        CHECK(got == want, "trial %d: got %d want %d", trial, got, want);
    }
    df_sampler_free(&s);
    case_end();
}

static void test_top1(const char *name, int top_k, float top_p)
{
    case_begin(name);
    struct df_sampler s = make(100, 1.0f, top_k, top_p, 7);
    uint64_t rng = df_rng_seed(7, 0);
    float v[100];
    for (int trial = 0; trial < 300; trial++) {
        for (int i = 0; i < 100; i++)
            v[i] = trial % 2 ? (float)rnd_int(10) : rnd_sym(3.0); /* odd trials: ties */
        const int got = df_sample(&s, v, &rng), want = ref_argmax(v, 100);
        CHECK(got == want, "trial %d: got %d want argmax %d", trial, got, want);
    }
    df_sampler_free(&s);
    case_end();
}

static void test_seeded(void)
{
    case_begin("same seed, same tokens; other sequence index, other tokens");
    float v[50];
    for (int i = 0; i < 50; i++)
        v[i] = rnd_sym(2.0);
    int a[300], b[300], c[300];
    struct df_sampler s = make(50, 0.8f, 20, 0.95f, 42);
    uint64_t r1 = df_rng_seed(42, 0), r2 = df_rng_seed(42, 0), r3 = df_rng_seed(42, 1);
    for (int i = 0; i < 300; i++)
        a[i] = df_sample(&s, v, &r1);
    df_sampler_free(&s);
    s = make(50, 0.8f, 20, 0.95f, 42); /* a fresh sampler: no hidden state */
    for (int i = 0; i < 300; i++) {
        b[i] = df_sample(&s, v, &r2);
        c[i] = df_sample(&s, v, &r3); /* interleaved with another sequence's draws */
    }
    df_sampler_free(&s);
    int same_ac = 0;
    for (int i = 0; i < 300; i++) {
        CHECK(a[i] == b[i], "draw %d: %d then %d", i, a[i], b[i]);
        same_ac += a[i] == c[i];
    }
    CHECK(same_ac < 150, "sequence 1 drew the same token as sequence 0 in %d of 300 draws", same_ac);
    case_end();

    case_begin("df_rng_seed(s, i) distinct across i and seeds");
    static uint64_t seen[4 * 1000];
    int k = 0;
    const uint64_t seeds[4] = { 0, 1, 42, 0xffffffffffffffffull };
    for (int si = 0; si < 4; si++)
        for (int i = 0; i < 1000; i++)
            seen[k++] = df_rng_seed(seeds[si], i);
    for (int i = 0; i < k; i++)
        for (int j = i + 1; j < k; j++)
            if (seen[i] == seen[j]) {
                failf("df_rng_seed: entries %d and %d equal", i, j);
                i = k;
                break;
            }
    case_end();
}

static void test_freq(float temp)
{
    char name[96];
    snprintf(name, sizeof name, "frequencies of 20000 draws at temperature %g within 3 sigma", temp);
    case_begin(name);
    const float l[5] = { 1.0f, 0.5f, 0.0f, -0.5f, 2.0f };
    double p[5];
    ref_probs(l, 5, temp, p);
    struct df_sampler s = make(5, temp, 0, 1.0f, 99);
    uint64_t rng = df_rng_seed(99, 3);
    int counts[5] = { 0 };
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        const int t = df_sample(&s, l, &rng);
        if (t < 0 || t >= 5) {
            failf("token %d out of range", t);
            break;
        }
        counts[t]++;
    }
    expect_freq(name, counts, p, 5, n);
    df_sampler_free(&s);
    case_end();
}

static void test_restrict(void)
{
    case_begin("top_k = 2 restricts the support, renormalized frequencies");
    {
        const float l[5] = { 0.1f, 2.0f, 1.5f, 1.9f, -1.0f };
        double p[5], want[5] = { 0 };
        ref_probs(l, 5, 1.0f, p);
        want[1] = p[1] / (p[1] + p[3]);
        want[3] = p[3] / (p[1] + p[3]);
        struct df_sampler s = make(5, 1.0f, 2, 1.0f, 5);
        uint64_t rng = df_rng_seed(5, 0);
        int counts[5] = { 0 };
        for (int i = 0; i < 20000; i++)
            counts[df_sample(&s, l, &rng)]++;
        expect_freq("top_k 2", counts, want, 5, 20000);
        df_sampler_free(&s);
    }
    case_end();

    case_begin("top_p = 0.7 keeps the smallest prefix holding 0.7 of the mass");
    {
        const float l[4] = { logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f) };
        const double want[4] = { 0.5 / 0.8, 0.3 / 0.8, 0, 0 };
        struct df_sampler s = make(4, 1.0f, 0, 0.7f, 6);
        uint64_t rng = df_rng_seed(6, 0);
        int counts[4] = { 0 };
        for (int i = 0; i < 20000; i++)
            counts[df_sample(&s, l, &rng)]++;
        expect_freq("top_p 0.7", counts, want, 4, 20000);
        df_sampler_free(&s);
    }
    case_end();

    case_begin("top_k larger than the vocabulary: no restriction");
    {
        const float l[3] = { 0.0f, 0.0f, 0.0f };
        const double want[3] = { 1 / 3.0, 1 / 3.0, 1 / 3.0 };
        struct df_sampler s = make(3, 1.0f, 10, 1.0f, 8);
        uint64_t rng = df_rng_seed(8, 0);
        int counts[3] = { 0 };
        for (int i = 0; i < 20000; i++)
            counts[df_sample(&s, l, &rng)]++;
        expect_freq("top_k 10 of 3", counts, want, 3, 20000);
        df_sampler_free(&s);
    }
    case_end();
}

/* ---- the integer definition, written out with a sort ------------------------------------- */

static const uint64_t *sort_keys; /* qsort has no context argument */

static int by_key_desc(const void *a, const void *b)
{
    const uint64_t x = sort_keys[*(const int *)a], y = sort_keys[*(const int *)b];
    return x > y ? -1 : x < y;
}

/* sample_select.h's steps 1-5: sort by key, keep the first top_k of positive weight, then the
 * shortest prefix reaching the top-p target, then draw in id order. */
static int ref_sample(const float *l, int n, const struct df_sample_params *p, uint32_t u24)
{
    const int best = df_argmax(l, n); /* tested above against a scan */
    uint32_t *w = malloc(sizeof *w * (size_t)n);
    uint64_t *key = malloc(sizeof *key * (size_t)n);
    int *order = malloc(sizeof *order * (size_t)n);
    char *kept = calloc((size_t)n, 1);
    for (int i = 0; i < n; i++) {
        w[i] = df_sample_weight(l[i], l[best], p->scale);
        key[i] = ((uint64_t)w[i] << 32) | (uint32_t)~(uint32_t)i; /* a key of its own: w, then the lower id */
        order[i] = i;
    }
    sort_keys = key;
    qsort(order, (size_t)n, sizeof *order, by_key_desc);
    int keep = 0;
    unsigned __int128 total = 0;
    while (keep < n && (uint64_t)keep < p->top_k && w[order[keep]] > 0)
        total += w[order[keep++]];
    if (keep > 0 && p->p24 < DF_SAMPLE_P_ONE) {
        unsigned __int128 target = (total * p->p24 + DF_SAMPLE_P_ONE - 1) / DF_SAMPLE_P_ONE, run = 0;
        if (target == 0)
            target = 1;
        int j = 0;
        while ((run += w[order[j]]) < target)
            j++;
        keep = j + 1;
        total = run;
    }
    for (int j = 0; j < keep; j++)
        kept[order[j]] = 1;
    int got = best;
    if (keep > 0) {
        const unsigned __int128 r = total * u24 / DF_SAMPLE_P_ONE;
        unsigned __int128 run = 0;
        for (int i = 0; i < n; i++)
            if (kept[i] && (run += w[i]) > r) {
                got = i;
                break;
            }
    }
    free(w);
    free(key);
    free(order);
    free(kept);
    return got;
}

/* A row of one of several shapes: smooth, many ties, with -inf and NaN, all NaN, with +inf. */
static void fill_row(float *l, int n, int kind)
{
    for (int i = 0; i < n; i++) {
        switch (kind) {
        case 0: l[i] = rnd_sym(6.0); break;
        case 1: l[i] = (float)rnd_int(8) * 0.25f; break;
        case 2: l[i] = rnd_int(10) == 0 ? (rnd_int(2) ? -INFINITY : NAN) : rnd_sym(30.0); break;
        case 3: l[i] = NAN; break;
        case 4: l[i] = rnd_int(50) == 0 ? INFINITY : rnd_sym(3.0); break;
        default: l[i] = -INFINITY; break;
        }
    }
}

static void test_definition(void)
{
    case_begin("df_sample_with = the definition written with a sort (6000 rows, all shapes and cuts)");
    static const int vocab[] = { 1, 2, 3, 17, 100, 2047, 2049, 5000, 40000 };
    static const float temp[] = { 0.05f, 0.7f, 1.0f, 3.0f, 1000.0f };
    static const int top_k[] = { 0, 1, 2, 40, 1999, 1 << 30 };
    static const float top_p[] = { 1.0f, 0.999999f, 0.95f, 0.5f, 1e-6f, 0.0f };
    int rows = 0, differ = 0;
    for (int trial = 0; trial < 6000; trial++) {
        const int n = vocab[rnd_int(9)], kind = rnd_int(6);
        float *l = malloc(sizeof *l * (size_t)n);
        fill_row(l, n, kind);
        struct df_sampler s = make(n, temp[rnd_int(5)], top_k[rnd_int(6)], top_p[rnd_int(6)], 1);
        const uint32_t u24 = (uint32_t)(rnd64() >> 40);
        const int got = df_sample_with(&s, l, u24), want = ref_sample(l, n, &s.params, u24);
        if (got != want && differ++ == 0)
            failf("trial %d (vocab %d, kind %d, T %g, top_k %d, top_p %g, u %u): got %d, want %d", trial, n, kind,
                  (double)s.cfg.temperature, s.cfg.top_k, (double)s.cfg.top_p, u24, got, want);
        rows++;
        df_sampler_free(&s);
        free(l);
    }
    CHECK(differ == 0, "%d of %d rows differ", differ, rows);
    case_end();

    case_begin("the extreme draws: u = 0 takes the first kept token, u = 2^24 - 1 the last");
    {
        const float l[6] = { 0.0f, 1.0f, NAN, 2.0f, 0.5f, -INFINITY };
        struct df_sampler s = make(6, 1.0f, 3, 1.0f, 1); /* keeps tokens 3, 1 and 4 */
        CHECK(df_sample_with(&s, l, 0) == 1, "u = 0: %d", df_sample_with(&s, l, 0));
        CHECK(df_sample_with(&s, l, (1u << 24) - 1) == 4, "u = max: %d", df_sample_with(&s, l, (1u << 24) - 1));
        df_sampler_free(&s);
    }
    case_end();
}

static void test_weights(void)
{
    case_begin("weights: floor(2^30 2^y) within 1, monotone in the logit, 0 below 2^-31");
    const double scale = 1.4426950408889634 / 0.8; /* log2(e) / T, T = 0.8 */
    double worst = 0.0;
    uint32_t prev = 0;
    int bad_order = 0;
    for (int k = 0; k <= 400000; k++) {
        const float l = -25.0f + 25.0f * (float)k / 400000.0f; /* rising to the largest, 0 */
        const uint32_t w = df_sample_weight(l, 0.0f, scale);
        const long double exact = 0x1p30L * exp2l((long double)l * (long double)scale);
        const double err = (double)fabsl((long double)w - floorl(exact));
        worst = err > worst ? err : worst;
        bad_order += w < prev;
        prev = w;
    }
    CHECK(worst <= 1.0, "a weight %.0f from floor(2^30 2^y)", worst);
    CHECK(bad_order == 0, "%d weights below the one of a smaller logit", bad_order);
    CHECK(df_sample_weight(0.0f, 0.0f, scale) == DF_SAMPLE_ONE && df_sample_weight(INFINITY, INFINITY, scale) ==
          DF_SAMPLE_ONE, "the largest logit's weight is not 2^30");
    CHECK(df_sample_weight(-22.0f, 0.0f, 1.4426950408889634) == 0 && df_sample_weight(NAN, 0.0f, scale) == 0 &&
          df_sample_weight(-INFINITY, 0.0f, scale) == 0 && df_sample_weight(1.0f, INFINITY, scale) == 0 &&
          df_sample_weight(1.0f, NAN, scale) == 0, "a weight of e^-22, a NaN or below an infinity is not 0");
    case_end();

    case_begin("top-p target and draw point: exact against 128-bit arithmetic");
    int wrong = 0;
    for (int k = 0; k < 200000; k++) {
        const uint64_t kept = rnd64() >> (9 + rnd_int(54)), p24 = rnd64() % (DF_SAMPLE_P_ONE + 1);
        const uint32_t u24 = (uint32_t)(rnd64() >> 40);
        unsigned __int128 t = ((unsigned __int128)kept * p24 + DF_SAMPLE_P_ONE - 1) / DF_SAMPLE_P_ONE;
        t = t ? t : 1;
        wrong += df_sample_top_p_target((uint32_t)p24, kept) != (uint64_t)t;
        wrong += kept > 0 && df_sample_point(u24, kept) != (uint64_t)((unsigned __int128)kept * u24 / DF_SAMPLE_P_ONE);
    }
    CHECK(wrong == 0, "%d of 400000 results differ", wrong);
    case_end();
}

/* ---- df_parse_ids ----------------------------------------------------------------------- */

static void test_parse(void)
{
    case_begin("df_parse_ids valid lists");
    static const struct { const char *text; int n; int ids[5]; } ok[] = {
        { "0", 1, { 0 } }, { "1,2,3", 3, { 1, 2, 3 } }, { "1023", 1, { 1023 } },
        { "5,5,5,0,1023", 5, { 5, 5, 5, 0, 1023 } }, { "42,7", 2, { 42, 7 } },
    };
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        int *ids = NULL, len = -1;
        char err[200] = "";
        const int rc = df_parse_ids(ok[k].text, 1024, &ids, &len, err, sizeof err);
        CHECK(rc == 0, "\"%s\" refused: %s", ok[k].text, err);
        if (rc == 0) {
            CHECK(len == ok[k].n, "\"%s\": %d ids, want %d", ok[k].text, len, ok[k].n);
            for (int i = 0; i < len && i < ok[k].n; i++)
                CHECK(ids[i] == ok[k].ids[i], "\"%s\": id %d is %d", ok[k].text, i, ids[i]);
            free(ids);
        }
    }
    /* a long list */
    char *big = malloc(6 * 2000 + 1), *p = big;
    for (int i = 0; i < 2000; i++)
        p += sprintf(p, i ? ",%d" : "%d", (i * 37) % 1024);
    int *ids = NULL, len = 0;
    char err[200] = "";
    CHECK(df_parse_ids(big, 1024, &ids, &len, err, sizeof err) == 0 && len == 2000, "2000 ids: %s", err);
    for (int i = 0; i < len; i++)
        CHECK(ids[i] == (i * 37) % 1024, "2000 ids: id %d is %d", i, ids[i]);
    free(ids);
    free(big);
    case_end();

    case_begin("df_parse_ids refusals");
    static const char *bad[] = {
        "", "1,,2", "1,", ",1", " 1", "1 ", "-1", "+1", "1a", "1024", "99999999999999999999",
        "2147483648", "4294967296", "1;2", "0x10", "1.5", ",", "1,2,", "\t1", "1\n",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int *out = NULL, n = -1;
        char why[200] = "";
        const int rc = df_parse_ids(bad[k], 1024, &out, &n, why, sizeof why);
        CHECK(rc != 0, "\"%s\" accepted (%d ids)", bad[k], n);
        CHECK(rc == 0 || why[0] != '\0', "\"%s\" refused without a message", bad[k]);
        if (rc == 0)
            free(out);
    }
    case_end();

    case_begin("df_prompts_read_file: lines, CRLF; refuses blank lines and empty files");
    {
        char path[] = "/tmp/df_unit_promptsXXXXXX";
        const int fd = mkstemp(path);
        CHECK(fd >= 0, "mkstemp");
        if (fd >= 0) {
            close(fd);
            static const struct { const char *text; int ok, n; } files[] = {
                { "1,2,3\n4\n", 1, 2 }, { "1,2\r\n3\r\n", 1, 2 }, { "7", 1, 1 },
                { "1\n\n2\n", 0, 0 }, { "", 0, 0 }, { "1\n2,x\n", 0, 0 }, { "1\n5000\n", 0, 0 },
            };
            for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
                FILE *f = fopen(path, "w");
                fputs(files[k].text, f);
                fclose(f);
                struct df_prompts pr = { 0, NULL, NULL };
                char why[300] = "";
                const int rc = df_prompts_read_file(path, 1024, &pr, why, sizeof why);
                if (files[k].ok)
                    CHECK(rc == 0 && pr.n == files[k].n, "file %zu: rc %d, %d prompts (%s)", k, rc, pr.n, why);
                else
                    CHECK(rc != 0 && why[0], "file %zu accepted", k);
                df_prompts_free(&pr);
            }
            unlink(path);
        }
    }
    case_end();
}

int main(void)
{
    rng_seed(4242);
    test_greedy();
    test_top1("top_k = 1 at temperature 1 equals argmax", 1, 1.0f);
    test_top1("top_p = 1e-6 at temperature 1 equals argmax", 0, 1e-6f);
    test_seeded();
    test_freq(1.0f);
    test_freq(0.5f);
    test_restrict();
    test_definition();
    test_weights();
    test_parse();
    return finish();
}
