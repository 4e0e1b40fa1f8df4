/* test_pick.cu: the device sampler's plan (runtime/cuda/pick.cuh, launch_sample) run on the CPU,
 * thread by thread and lane by lane, against the host's sampler (df_sample_with): in CI, where
 * there is no GPU, the check that the kernel's way of splitting the work gives the host's
 * token. Compiled by nvcc, with pick.cuh's constants and the shared kernels/sample_select.h
 * pieces (the very functions the kernel calls); what the device adds is emulated here:
 *   - greedy_k (a sample's first launch, for the row's largest logit): each slice's
 *     block_argmax, each of its 256 threads' strided scan (vectors of 4 columns where the slice
 *     allows), the warps' xor butterflies, every thread across the warps' winners; then a
 *     warp's strided scan and butterfly across the slices' picks (merge_picks);
 *   - a pass's histogram (integer atomics: their order cannot matter; the threads are run
 *     last to first anyway);
 *   - warp_pick: each lane's sum of its 64 buckets, the inclusive __shfl_up scan across the
 *     lanes, df_select_short, and the one crossing lane's walk (exactly one lane must write);
 *   - the draw: each thread's contiguous run of ids, the warp scans and warp totals of
 *     block_exclusive_sum, and the one thread whose run holds the point (exactly one).
 * The GPU check of the kernel itself is build/cuda/sample_check.
 *
 * Rows: vocabularies at every edge of the 1024-thread runs and 32-lane warps (1 to 2049, 40000,
 * 129280) and of greedy_k's slices (4097, 100003, 131077), logits of sample_rows.h's shapes
 * (ties, infinities, NaNs, denormals, ...);
 * temperatures 1e-20 to 1e30;
 * top-k 0 (none), 1 to 2^30; top-p 1 (none) to 0; draws random, 0 and 2^24 - 1. Every row must
 * give the host's token: no tolerance. Prints "ok NAME" / "FAIL NAME: detail", then
 * "N passed, M failed". */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "host_test.h"
#include "pick.cuh"
#include "sample_rows.h"
extern "C" {
#include "sample.h"
}

using dfc::SAMPLE_LANE_BUCKETS;
using dfc::SAMPLE_THREADS;

static int anomalies; /* a pick written by no lane or thread, or by several */

struct emu_smem {
    uint32_t count[DF_SAMPLE_BUCKETS];
    uint64_t sum[DF_SAMPLE_BUCKETS];
    struct df_select sel;
};

/* The xor butterflies of warps of 32 threads, in place. */
static void butterflies(std::vector<float> &v, std::vector<int> &id)
{
    for (int m = 16; m > 0; m /= 2) {
        const std::vector<float> ov = v;
        const std::vector<int> oi = id;
        for (size_t t = 0; t < v.size(); t++)
            argmax_pick(&v[t], &id[t], ov[t ^ m], oi[t ^ m]);
    }
}

static int block_argmax(const float *row, int vocab, float *value, int threads)
{
    std::vector<float> v(threads, -INFINITY);
    std::vector<int> id(threads, -1);
    const bool by4 = vocab % 4 == 0 && reinterpret_cast<uintptr_t>(row) % 16 == 0; /* vectors of 4 */
    for (int t = 0; t < threads; t++)
        if (by4)
            for (int c = t; c < vocab / 4; c += threads)
                for (int k = 0; k < 4; k++)
                    argmax_pick(&v[t], &id[t], row[4 * c + k], 4 * c + k);
        else
            for (int c = t; c < vocab; c += threads)
                argmax_pick(&v[t], &id[t], row[c], c);
    butterflies(v, id);
    float bv = v[0];
    int bi = id[0];
    for (int w = 1; w < threads / 32; w++)
        argmax_pick(&bv, &bi, v[w * 32], id[w * 32]);
    *value = bv;
    return bi;
}

/* greedy_k: each slice's block_argmax (GREEDY_THREADS), its pick's index in the row, then the
 * last block's warp across the slices' picks (merge_picks, lane l: slices l, l + 32, ...; the
 * butterfly), its value in *value (sample_weights_k's largest). *slices: how many the row took. */
static int greedy_k(const float *row, int vocab, int *slices, float *value)
{
    const int len = dfc::greedy_slice_len(vocab), n = dfc::greedy_slices(vocab);
    std::vector<float> v(32, -INFINITY);
    std::vector<int> id(32, -1);
    for (int s = 0; s < n; s++) {
        float sv;
        const int lo = s * len, si = block_argmax(row + lo, std::min(len, vocab - lo), &sv, dfc::GREEDY_THREADS);
        argmax_pick(&v[s % 32], &id[s % 32], sv, si < 0 ? -1 : lo + si);
    }
    butterflies(v, id);
    *slices = n;
    *value = v[0];
    return id[0];
}

/* The order stated directly: the first index of the largest value, a NaN read as -inf (and
 * index 0 when every value is NaN or -inf). */
static int first_largest(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if ((v[i] == v[i] ? v[i] : -INFINITY) > (v[best] == v[best] ? v[best] : -INFINITY))
            best = i;
    return best;
}

static void warp_pick(emu_smem &sh, int by_sum, uint64_t need, uint64_t low)
{
    struct df_select sel[32];
    uint64_t c[32], s[32], ci[32], si[32];
    int top[32];
    for (int lane = 0; lane < 32; lane++) {
        top[lane] = DF_SAMPLE_BUCKETS - 1 - lane * SAMPLE_LANE_BUCKETS;
        sel[lane] = sh.sel;
        c[lane] = s[lane] = 0;
        for (int j = 0; j < SAMPLE_LANE_BUCKETS; j++) {
            c[lane] += sh.count[top[lane] - j];
            s[lane] += sh.sum[top[lane] - j];
        }
        ci[lane] = c[lane];
        si[lane] = s[lane];
    }
    for (int o = 1; o < 32; o *= 2) { /* __shfl_up_sync: lanes below o keep their value */
        uint64_t oc[32], os[32];
        memcpy(oc, ci, sizeof ci);
        memcpy(os, si, sizeof si);
        for (int lane = o; lane < 32; lane++) {
            ci[lane] += oc[lane - o];
            si[lane] += os[lane - o];
        }
    }
    int writers = 0;
    struct df_select out = sh.sel;
    for (int lane = 0; lane < 32; lane++) {
        if (df_select_short(&sel[lane], by_sum, need, low, ci[31], si[31])) {
            if (lane == 0) {
                out = sel[lane];
                writers++;
            }
            continue;
        }
        const uint64_t left = df_select_need(&sel[lane], by_sum, need);
        uint64_t ac = ci[lane] - c[lane], as = si[lane] - s[lane];
        if (df_select_measure(by_sum, ac, as) < left && left <= df_select_measure(by_sum, ci[lane], si[lane])) {
            int d = top[lane];
            for (int j = 0; j < SAMPLE_LANE_BUCKETS; j++) {
                d = top[lane] - j;
                if (df_select_measure(by_sum, ac + sh.count[d], as + sh.sum[d]) >= left)
                    break;
                ac += sh.count[d];
                as += sh.sum[d];
            }
            df_select_take(&sel[lane], d, ac, as, sh.count[d], sh.sum[d]);
            out = sel[lane];
            writers++;
        }
    }
    anomalies += writers != 1;
    if (writers == 0)
        out.done = 1; /* stop: the row fails anyway */
    sh.sel = out;
}

static struct df_sample_cut select_cut(const uint32_t *w, int vocab, int bits, uint64_t low, int by_sum,
                                       uint64_t need, emu_smem &sh)
{
    df_select_begin(&sh.sel, bits);
    for (int pass = 0; !sh.sel.done; pass++) {
        if (pass > 8) { /* a 55-bit key has at most 5 digits */
            anomalies++;
            break;
        }
        memset(sh.count, 0, sizeof sh.count);
        memset(sh.sum, 0, sizeof sh.sum);
        const struct df_select sel = sh.sel;
        for (int t = SAMPLE_THREADS - 1; t >= 0; t--)
            for (int i = t; i < vocab; i += SAMPLE_THREADS) {
                const uint64_t key = df_sample_key(w[i], i, bits);
                if (key >= low && df_select_in(&sel, key)) {
                    const int d = df_select_digit(&sel, key);
                    sh.count[d]++;
                    sh.sum[d] += w[i];
                }
            }
        warp_pick(sh, by_sum, need, low);
    }
    return sh.sel.cut;
}

static int emulated_sample_k(const float *logits, int vocab, const struct df_sample_params &p, uint32_t draw)
{
    static emu_smem sh;
    float largest;
    int slices;
    const int best = greedy_k(logits, vocab, &slices, &largest);
    std::vector<uint32_t> w(vocab);
    for (int i = 0; i < vocab; i++)
        w[i] = df_sample_weight(logits[i], largest, p.scale);
    const int bits = p.index_bits;
    struct df_sample_cut cut = select_cut(w.data(), vocab, bits, df_sample_key_min(bits), 0, p.top_k, sh);
    if (cut.sum == 0)
        return best;
    if (p.p24 < DF_SAMPLE_P_ONE)
        cut = select_cut(w.data(), vocab, bits, cut.key, 1, df_sample_top_p_target(p.p24, cut.sum), sh);
    const uint64_t point = df_sample_point(draw, cut.sum);
    const int run = (vocab + SAMPLE_THREADS - 1) / SAMPLE_THREADS;
    std::vector<uint64_t> mine(SAMPLE_THREADS), incl(SAMPLE_THREADS);
    for (int t = 0; t < SAMPLE_THREADS; t++) {
        const int lo = std::min(vocab, t * run), hi = std::min(vocab, lo + run);
        mine[t] = 0;
        for (int i = lo; i < hi; i++)
            if (df_sample_key(w[i], i, bits) >= cut.key)
                mine[t] += w[i];
    }
    incl = mine;
    for (int o = 1; o < 32; o *= 2) {
        const std::vector<uint64_t> old = incl;
        for (int t = 0; t < SAMPLE_THREADS; t++)
            if (t % 32 >= o)
                incl[t] += old[t - o];
    }
    int next = -1, writers = 0;
    for (int t = 0; t < SAMPLE_THREADS; t++) {
        uint64_t sum = incl[t] - mine[t];
        for (int v = 0; v < t / 32; v++)
            sum += incl[v * 32 + 31];
        const int lo = std::min(vocab, t * run), hi = std::min(vocab, lo + run);
        if (sum <= point && point < sum + mine[t])
            for (int i = lo; i < hi; i++)
                if (df_sample_key(w[i], i, bits) >= cut.key && (sum += w[i]) > point) {
                    next = i;
                    writers++;
                    break;
                }
    }
    anomalies += writers != 1;
    return next;
}

int main(void)
{
    /* ... and for greedy_k's slices: one (up to 4096), several of 4096 or fewer with a shorter last
     * one (4097: 2052 and 2045, a last slice column by column after a slice in vectors; 100003),
     * 32 of 4040 (129280), and the cap, slices longer than 4096 (131077: 32 of 4100, the last
     * 3977) */
    static const int vocab[] = { 1,    2,    3,    5,    31,   32,   33,    100,    1023,   1024,
                                 1025, 2047, 2048, 2049, 4097, 40000, 100003, 129280, 131077 };
    const int vocabs = (int)(sizeof vocab / sizeof *vocab);
    static const float temp[] = { 1e-20f, 0.05f, 0.7f, 1.0f, 3.0f, 1000.0f, 1e30f };
    static const int top_k[] = { 0, 1, 2, 3, 40, 64, 1024, 1999, 1 << 30 };
    static const float top_p[] = { 1.0f, 0.99999999f, 0.999999f, 0.95f, 0.5f, 1e-6f, 1e-9f, 0.0f };
    const int rows = 2500;

    case_begin("launch_sample's plan emulated thread by thread = df_sample_with (2500 rows)");
    int differ = 0;
    for (int r = 0; r < rows; r++) {
        const int n = vocab[rnd64() % vocabs], kind = (int)(rnd64() % SAMPLE_ROW_KINDS);
        std::vector<float> l(n);
        for (int i = 0; i < n; i++)
            l[i] = sample_row_logit(kind, i, n);
        const struct df_sampling cfg = { temp[rnd64() % 7], top_k[rnd64() % 9], top_p[rnd64() % 8], 1 };
        struct df_sampler s;
        if (df_sampler_init(&s, &cfg, n) != 0) {
            failf("df_sampler_init(%d) failed", n);
            break;
        }
        uint32_t u = (uint32_t)(rnd64() >> 40);
        if (r % 8 == 0)
            u = r % 16 ? 0 : (1u << 24) - 1;
        const int want = df_sample_with(&s, l.data(), u), got = emulated_sample_k(l.data(), n, s.params, u);
        if (got != want && differ++ == 0)
            failf("row %d (vocab %d, kind %d, T %g, top-k %d, top-p %g, draw %u): emulated %d, host %d", r, n, kind,
                  (double)cfg.temperature, cfg.top_k, (double)cfg.top_p, u, got, want);
        df_sampler_free(&s);
    }
    CHECK(differ == 0, "%d of %d rows differ", differ, rows);
    CHECK(anomalies == 0, "%d picks written by no lane or thread, or by several", anomalies);
    case_end();

    /* greedy_k's pick, by both of block_argmax's scans: in vectors of 4 (an aligned row whose
     * length is a multiple of 4) and column by column (the same rows one float further on);
     * against df_argmax and against the order stated directly (first_largest) */
    case_begin("greedy_k's plan (slices of block_argmax, then a warp across them) emulated thread by thread = "
               "df_argmax = the first largest logit, NaN as -inf; in vectors of 4 and column by column");
    int wrong = 0, by4 = 0, most_slices = 0;
    for (int r = 0; r < 600; r++) {
        const int n = vocab[rnd64() % vocabs], kind = (int)(rnd64() % SAMPLE_ROW_KINDS);
        std::vector<float> buf(n + 4);
        float *rows_at[2] = { buf.data(), buf.data() + 1 };
        for (float *row : rows_at) {
            for (int i = 0; i < n; i++)
                row[i] = sample_row_logit(kind, i, n);
            by4 += n % 4 == 0 && reinterpret_cast<uintptr_t>(row) % 16 == 0;
            int slices;
            float largest;
            const int got = greedy_k(row, n, &slices, &largest), want = df_argmax(row, n);
            /* the value a sample's weights are taken against: the row's own, bit for bit */
            if (got >= 0 && memcmp(&largest, &row[got], sizeof largest) != 0 && wrong++ == 0)
                failf("row %d (vocab %d, kind %d): the pick's value %a is not row[%d] = %a", r, n, kind,
                      (double)largest, got, (double)row[got]);
            most_slices = std::max(most_slices, slices);
            if ((got != want || got != first_largest(row, n)) && wrong++ == 0)
                failf("row %d (vocab %d, kind %d, offset %d): emulated %d, df_argmax %d", r, n, kind,
                      (int)(row - buf.data()), got, want);
        }
    }
    CHECK(wrong == 0, "%d rows differ", wrong);
    CHECK(by4 > 100, "only %d rows took the vectors of 4", by4);
    CHECK(most_slices == DF_CUDA_PICK_SLICES, "at most %d slices a row", most_slices);
    case_end();
    return host_test_summary();
}
