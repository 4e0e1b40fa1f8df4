/* test_hd.cu: host-side tests of the CUDA kernels' __host__ __device__
 * pieces (runtime/cuda/kernels.cuh, cuda_rt.h), run on the CPU in CI, where
 * there is no GPU. Compiled by nvcc, so the DF_HD functions are the very
 * ones the device code compiles (their host side).
 *
 * What the device adds to these pieces is only the warp's xor butterfly
 * (__shfl_xor_sync), which warp_butterfly() (host_test.h) reproduces lane for lane, and
 * vector loads, which the host replaces by memcpy of the same bytes.
 *
 * Tolerances: as tests/unit/test_kernels.c, a float32 sum of K terms is within
 * K u sum|terms| of the exact value (u = 2^-24); bounds are that times 2.
 * Prints "ok NAME" / "FAIL NAME: detail" per case, then "N passed, M failed". */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <deque>
#include <vector>

#include "host_test.h"

#include "cuda_rt.h"
#include "kernels.cuh"
#include "mla_split.cuh"

using namespace dfc;


/* ---- a random packed matrix and its exact elements --------------------------------------- */
struct tmat {
    std::vector<unsigned char> w;
    std::vector<float> scale;
    int rows, cols, dt;
};

/* Floats per row of 128x128 block scales: the blocks, padded to 4 (the packed file's layout). */
static int scale_ld(int cols)
{
    return ((cols + 127) / 128 + 3) / 4 * 4;
}

static double ref_elem(const tmat &m, int r, int c)
{
    const size_t i = (size_t)r * m.cols + c;
    if (m.dt == DF_F32) {
        float f;
        memcpy(&f, &m.w[i * 4], 4);
        return f;
    }
    if (m.dt == DF_BF16) {
        uint16_t h;
        memcpy(&h, &m.w[i * 2], 2);
        uint32_t b = (uint32_t)h << 16;
        float f;
        memcpy(&f, &b, 4);
        return f;
    }
    /* e4m3 from its definition: 1 sign, 4 exponent (bias 7), 3 mantissa bits */
    const uint8_t code = m.w[i];
    const int s = code >> 7, e = (code >> 3) & 15, mm = code & 7;
    const double x = e == 0 ? ldexp(mm / 8.0, -6) : ldexp(1.0 + mm / 8.0, e - 7);
    return (s ? -x : x) * (double)m.scale[(r / 128) * scale_ld(m.cols) + c / 128];
}

static tmat make_mat(int dt, int rows, int cols)
{
    tmat m;
    m.dt = dt;
    m.rows = rows;
    m.cols = cols;
    const size_t n = (size_t)rows * cols;
    if (dt == DF_F32) {
        m.w.resize(n * 4);
        for (size_t i = 0; i < n; i++) {
            const float f = rnd_sym(1.0);
            memcpy(&m.w[i * 4], &f, 4);
        }
    } else if (dt == DF_BF16) {
        m.w.resize(n * 2);
        for (size_t i = 0; i < n; i++) {
            const float f = rnd_sym(1.0);
            uint32_t b;
            memcpy(&b, &f, 4);
            const uint16_t h = (uint16_t)(b >> 16);
            memcpy(&m.w[i * 2], &h, 2);
        }
    } else {
        m.w.resize(n);
        for (size_t i = 0; i < n; i++) {
            uint8_t c;
            do
                c = (uint8_t)rnd64();
            while ((c & 0x7f) == 0x7f);
            m.w[i] = c;
        }
        /* the padding of each row of scales NaN: a reader with the wrong stride shows */
        for (int i = 0; i < (rows + 127) / 128 * scale_ld(cols); i++)
            m.scale.push_back(i % scale_ld(cols) < (cols + 127) / 128 ? (float)(1.0 / 448.0 * (0.25 + 4.0 * rnd_unit()))
                                                                     : NAN);
    }
    return m;
}

/* row_dot of the device, one warp emulated: lane_dot per lane (FP8: each vector's sum
 * times its block's scale), then the butterfly (kernels.cuh's row_dot, step for step). */
template <int DT, int COLS, int T>
static void emu_row_dot(const tmat &m, int r, const float *x, int xstride, int nt, float (&acc)[T], bool *same)
{
    const unsigned char *wrow = m.w.data() + (size_t)r * COLS * esize<DT>::value;
    const float *srow = DT == DF_F8E4M3 ? m.scale.data() + (size_t)(r / 128) * row_vec<DT, COLS>::SCALE_LD : nullptr;
    *same = true;
    float part[WARP][T];
    for (int l = 0; l < WARP; l++) {
        float p[T];
        for (int t = 0; t < T; t++)
            p[t] = 0.0f;
        lane_dot<DT, COLS, T>(wrow, srow, x, xstride, nt, l, p);
        for (int t = 0; t < T; t++)
            part[l][t] = p[t];
    }
    for (int t = 0; t < T; t++) {
        float lanes[WARP];
        bool s;
        for (int l = 0; l < WARP; l++)
            lanes[l] = part[l][t];
        acc[t] = warp_butterfly(lanes, &s);
        *same = *same && s;
    }
}

/* linear_rows_k's warp emulated: lane_dot_rows per lane over rows r0 .. r0 + nr - 1 (one token:
 * one_token_rows of them; several: rows_per_warp's, from block_rows_dot's staging buffer,
 * stage_x's), then the butterfly of each (row, token). */
template <int DT, int COLS, int T>
static void emu_rows_dot(const tmat &m, int r0, int nr, const float *x, int nt,
                         float (&acc)[warp_row_count<DT, COLS, T>()][T])
{
    constexpr int R = warp_row_count<DT, COLS, T>(), KC = COLS < KCOLS ? COLS : KCOLS;
    static float part[WARP][R][T], xs[T * KC];
    const float *xrow[T];
    for (int t = 0; t < T; t++)
        xrow[t] = x + (size_t)t * COLS;
    for (int l = 0; l < WARP; l++) {
        float p[R][T];
        for (int r = 0; r < R; r++)
            for (int t = 0; t < T; t++)
                p[r][t] = 0.0f;
        if constexpr (T == 1) /* one token: the whole row in one call, rows_steps at a time */
            lane_dot_rows<DT, COLS, 1, R, rows_steps<DT, COLS, R>()>(m.w.data(), m.scale.data(), r0, nr, x, 0, nt, l,
                                                                     0, COLS, p);
        else
            for (int c0 = 0; c0 < COLS; c0 += KC) { /* block_rows_dot's column ranges, staged as it stages them */
                const int kc = COLS - c0 < KC ? COLS - c0 : KC;
                for (auto &v : xs)
                    v = NAN; /* a read of what was not staged shows */
                stage_x<COLS, KC, stage_units<DT, COLS>()>(xrow, nt, c0, kc, xs, 0, 1);
                lane_dot_rows<DT, COLS, T, R, 1, true>(m.w.data(), m.scale.data(), r0, nr, xs, KC, nt, l, c0, c0 + kc, p);
            }
        memcpy(part[l], p, sizeof p);
    }
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) {
            float lanes[WARP];
            bool same;
            for (int l = 0; l < WARP; l++)
                lanes[l] = part[l][r][t];
            acc[r][t] = warp_butterfly(lanes, &same);
        }
}

/* Every column of every row is read exactly once, by the lane the layout says, in
 * aligned vectors of at most 16 bytes that stay inside one FP8 scale block. */
template <int DT, int COLS> static void check_coverage(void)
{
    constexpr int V = row_vec<DT, COLS>::V;
    std::vector<int> seen(COLS, 0);
    for (int l = 0; l < WARP; l++)
        for (int c = l * V; c < COLS; c += WARP * V)
            for (int j = 0; j < V; j++) {
                CHECK(c + j < COLS, "cols %d: lane %d reads column %d", COLS, l, c + j);
                if (c + j < COLS)
                    seen[c + j]++;
            }
    for (int c = 0; c < COLS; c++)
        CHECK(seen[c] == 1, "cols %d: column %d read %d times", COLS, c, seen[c]);
    CHECK(COLS % V == 0, "cols %d: V %d does not divide it", COLS, V);
    CHECK(V * esize<DT>::value <= 16, "cols %d: V %d over 16 bytes", COLS, V);
    CHECK(128 % V == 0, "cols %d: a vector of %d columns crosses a scale block", COLS, V);
}

/* ring_lane_dots (linear_async_k: one row; SwiGLU gate and up: 2; the experts' down rows: K, 6
 * for V2-Lite, 8 for V3) lane by lane, rows r, r + 5, ... (mod rows), row i with token i % T,
 * the copies as cp.async groups: each copy one group (its 16 bytes, or none), which lands (is
 * written into its slot) at once (eager) or as late as the reads allow (lazy: a read lands every
 * group but the newest PENDING, what cp.async.wait_group PENDING guarantees, and nothing more).
 * An empty group poisons its slot when it lands (the device leaves the slot alone), so a
 * schedule that reads a slot before its step's copy is waited for, or overwrites it before it is
 * read, fails. Each row's share must be lane_dot's, bit for bit. The rows are picked as the
 * kernels pick them (pick_row). */
template <int DT, int COLS, int R>
static void check_ring(const tmat &m, int rows, const float *x, int r, bool lazy)
{
    using A = async_rows<DT, COLS, R>;
    const unsigned char *wr[R];
    const float *sr[R], *xs[R];
    for (int i = 0; i < R; i++) {
        const int ri = (r + 5 * i) % rows;
        wr[i] = w_row<DT, COLS>(m.w.data(), ri);
        sr[i] = s_row<DT, COLS>(m.scale.data(), ri);
        xs[i] = x + (size_t)(i % TOKEN_TILE) * COLS;
    }
    struct group {
        int slot;
        bool full;
        uint32_t w[4];
    };
    for (int l = 0; l < WARP; l++) {
        uint32_t ring[A::STAGES][4];
        memset(ring, 0xff, sizeof ring); /* NaN codes until copied */
        std::deque<group> flight;
        const auto land = [&](const group &q) {
            if (q.full)
                memcpy(ring[q.slot], q.w, 16);
            else
                memset(ring[q.slot], 0xff, 16);
        };
        float got[R][1] = {};
        ring_lane_dots<DT, COLS, R>(
            [&](int g, int row, int c) {
                group q = { A::slot(g), c >= 0, {} };
                if (c >= 0)
                    memcpy(q.w, pick_row<R>(wr, row) + (size_t)c * esize<DT>::value, 16);
                if (lazy)
                    flight.push_back(q);
                else
                    land(q);
            },
            [&](int g, uint32_t *wd) {
                while ((int)flight.size() > A::PENDING) {
                    land(flight.front());
                    flight.pop_front();
                }
                memcpy(wd, ring[A::slot(g)], 16);
            },
            sr, xs, l, got);
        for (int i = 0; i < R; i++) {
            float want[1] = {};
            lane_dot<DT, COLS, 1>(wr[i], sr[i], xs[i], COLS, 1, l, want);
            CHECK(memcmp(got[i], want, sizeof want) == 0,
                  "%d rows from %d (%s), row %d lane %d: the ring %.9g, lane_dot %.9g", R, r, lazy ? "lazy" : "eager", i,
                  l, got[i][0], want[0]);
        }
    }
}

/* lane_dot_each over rows r + 5 g (mod rows), row g with token (g + 1) % 2 of x: each lane's
 * shares of every row = lane_dot's for that row alone, with the tokens as they are and staged
 * (STAGED: in staged_index's order, as mla_combine_out_k keeps its o_lat). */
template <int DT, int COLS, int R> static void check_each(const tmat &m, int rows, const float *x, int r)
{
    std::vector<float> staged(2 * COLS);
    for (int i = 0; i < 2 * COLS; i++)
        staged[staged_index<stage_units<DT, COLS>()>(i % COLS) + (i / COLS) * COLS] = x[i];
    const unsigned char *wr[R];
    const float *sr[R], *xs[R], *xst[R];
    for (int g = 0; g < R; g++) {
        wr[g] = w_row<DT, COLS>(m.w.data(), (r + 5 * g) % rows);
        sr[g] = s_row<DT, COLS>(m.scale.data(), (r + 5 * g) % rows);
        xs[g] = x + (size_t)((g + 1) % 2) * COLS;
        xst[g] = staged.data() + (size_t)((g + 1) % 2) * COLS;
    }
    for (int l = 0; l < WARP; l++) {
        float each[R][1] = {}, each_staged[R][1] = {}, alone[R][1] = {};
        lane_dot_each<DT, COLS, R>(wr, sr, xs, l, each);
        lane_dot_each<DT, COLS, R, true>(wr, sr, xst, l, each_staged);
        for (int g = 0; g < R; g++)
            lane_dot<DT, COLS, 1>(wr[g], sr[g], xs[g], COLS, 1, l, alone[g]);
        for (int g = 0; g < R; g++) {
            CHECK(memcmp(each[g], alone[g], sizeof(float)) == 0, "%d rows from %d, row %d lane %d: lane_dot_each %.9g, "
                  "lane_dot %.9g", R, r, g, l, each[g][0], alone[g][0]);
            CHECK(memcmp(each_staged[g], alone[g], sizeof(float)) == 0, "%d rows from %d, row %d lane %d: lane_dot_each "
                  "of the staged token %.9g, lane_dot %.9g", R, r, g, l, each_staged[g][0], alone[g][0]);
        }
    }
}

/* Row r among the R rows of a warp of linear_rows_k for T tokens a read (warp_row_count), first
 * or last of a group cut short: its sums for the tokens (a full tile, and one of fewer) = acc,
 * its sums alone, bit for bit. */
template <int DT, int COLS, int T>
static void check_rows_group(const tmat &m, int rows, const float *x, int r, const float *acc)
{
    constexpr int R = warp_row_count<DT, COLS, T>();
    for (int first = 0; first < 2; first++) {
        const int r0 = first ? r : (r - (R - 1) > 0 ? r - (R - 1) : 0), nr = first ? R : r - r0 + 1;
        if (r0 + nr > rows)
            continue;
        float rows_acc[R][T];
        const int nt = first || T < 4 ? T : T - 3;
        emu_rows_dot<DT, COLS, T>(m, r0, nr, x, nt, rows_acc);
        for (int t = 0; t < nt; t++)
            CHECK(memcmp(&rows_acc[r - r0][t], &acc[t], sizeof(float)) == 0,
                  "row %d token %d: %.9g among rows %d..%d (%d tokens, T = %d), %.9g alone", r, t, rows_acc[r - r0][t],
                  r0, r0 + nr - 1, nt, T, acc[t]);
    }
}

template <int DT, int COLS> static void test_row(const char *dtname)
{
    char name[160];
    snprintf(name, sizeof name, "row_dot %s x%d: layout, vs exact, every lane equal, token- and row-group-invariant, "
             "lane_dot_each = lane_dot%s", dtname, COLS, async_rows<DT, COLS>::OK ? " = the warps' rings of 1, 2, 6 and 8 rows" : "");
    case_begin(name);
    check_coverage<DT, COLS>();
    const int rows = 131; /* crosses a 128-row scale block */
    const tmat m = make_mat(DT, rows, COLS);
    constexpr int T = TOKEN_TILE;
    std::vector<float> x((size_t)T * COLS);
    for (auto &v : x)
        v = rnd_sym(1.0);
    for (int r = 0; r < rows; r += 13) {
        float acc[T];
        bool same;
        emu_row_dot<DT, COLS, T>(m, r, x.data(), COLS, T, acc, &same);
        CHECK(same, "row %d: lanes disagree after the butterfly", r);
        for (int t = 0; t < T; t++) {
            double exact = 0.0, mag = 0.0;
            for (int c = 0; c < COLS; c++) {
                const double p = ref_elem(m, r, c) * (double)x[(size_t)t * COLS + c];
                exact += p;
                mag += fabs(p);
            }
            const double tol = 2.0 * (COLS + 4) * 0x1p-24 * mag;
            CHECK(fabs(acc[t] - exact) <= tol, "row %d token %d: got %.9g, want %.9g (tol %.3g)", r, t, acc[t], exact,
                  tol);
            /* the same token alone, first in its tile: the same bits */
            float one[T];
            emu_row_dot<DT, COLS, T>(m, r, x.data() + (size_t)t * COLS, COLS, 1, one, &same);
            CHECK(memcmp(&one[0], &acc[t], sizeof(float)) == 0, "row %d token %d: %.9g alone, %.9g in a tile", r, t,
                  one[0], acc[t]);
            /* and in a tile of one (linear_k's T = 1 for a lone token) */
            float solo[1];
            emu_row_dot<DT, COLS, 1>(m, r, x.data() + (size_t)t * COLS, COLS, 1, solo, &same);
            CHECK(memcmp(&solo[0], &acc[t], sizeof(float)) == 0, "row %d token %d: %.9g with T = 1, %.9g in a tile", r,
                  t, solo[0], acc[t]);
        }
        /* the same row among the rows of a warp of linear_rows_k: all tokens, and token 0 in a
         * tile of one (DF_CUDA_LINEAR_ONE=rows) */
        check_rows_group<DT, COLS, T>(m, rows, x.data(), r, acc);
        check_rows_group<DT, COLS, 1>(m, rows, x.data(), r, acc);
        /* lane_dot_each: row r with token 1 beside row (r + 5) % rows with token 0 (swiglu_row),
         * and 8 rows r + 5 g with tokens (g + 1) % 2 (mla_combine_out_k's W_uv rows), each lane's
         * shares = lane_dot's for each row alone */
        check_each<DT, COLS, 2>(m, rows, x.data(), r);
        check_each<DT, COLS, 8>(m, rows, x.data(), r);
        /* the warps' rings (ring_lane_dots): linear_async_k's one row, the experts' two (gate
         * and up) and six (V2-Lite's down rows of a token) */
        if constexpr (async_rows<DT, COLS>::OK)
            for (const bool lazy : { false, true }) {
                check_ring<DT, COLS, 1>(m, rows, x.data(), r, lazy);
                check_ring<DT, COLS, 2>(m, rows, x.data(), r, lazy);
                check_ring<DT, COLS, 6>(m, rows, x.data(), r, lazy);
                check_ring<DT, COLS, 8>(m, rows, x.data(), r, lazy);
            }
    }
    case_end();
}

/* staged_index<G> over a staging buffer of `tokens` rows of kc floats (token t's column c at
 * t kc + staged_index<G>(c)), for lanes' vectors of V floats: a permutation that keeps each
 * vector (an aligned run of V floats) in its run; with CONFLICT_FREE, a quarter warp's 16-byte
 * loads (lanes 8q .. 8q + 7, the k-th unit of each lane's vector in a step) and the staging's
 * stores (8 consecutive units) fall in distinct groups of 4 banks: one wavefront each. */
template <int V, int G, bool CONFLICT_FREE> static void check_staged(int kc, int tokens)
{
    const int n = kc * tokens;
    const auto at = [&](int i) { return i / kc * kc + staged_index<G>(i % kc); };
    std::vector<int> hits(n, 0);
    for (int i = 0; i < n; i++) {
        const int p = at(i);
        CHECK(p >= 0 && p < n && p / V == i / V, "V %d G %d: float %d staged at %d, outside its vector", V, G, i, p);
        if (p >= 0 && p < n)
            hits[p]++;
    }
    for (int p = 0; p < n; p++)
        CHECK(hits[p] == 1, "V %d G %d: slot %d taken %d times", V, G, p, hits[p]);
    if constexpr (CONFLICT_FREE) {
        const auto distinct_groups = [](const int *unit, int count) {
            int seen = 0;
            for (int j = 0; j < count; j++)
                seen |= 1 << (unit[j] % 8);
            return __builtin_popcount(seen) == count;
        };
        for (int t = 0; t < tokens; t++)
            for (int step = 0; step < kc; step += 32 * V)
                for (int q = 0; q < 4; q++)
                    for (int k = 0; k < V / 4; k++) {
                        int unit[8], count = 0;
                        for (int j = 0; j < 8; j++)
                            if (step + (8 * q + j) * V < kc)
                                unit[count++] = at(t * kc + step + (8 * q + j) * V + 4 * k) / 4;
                        CHECK(distinct_groups(unit, count), "V %d kc %d: token %d, step at %d, lanes %d..%d, unit %d: "
                              "a bank conflict", V, kc, t, step, 8 * q, 8 * q + 7, k);
                    }
        for (int u0 = 0; u0 + 8 <= n / 4; u0 += 8) {
            int unit[8];
            for (int j = 0; j < 8; j++)
                unit[j] = at(4 * (u0 + j)) / 4;
            CHECK(distinct_groups(unit, 8), "V %d: the stores of units %d..%d: a bank conflict", V, u0, u0 + 7);
        }
    }
}

static void test_staged_layout(void)
{
    case_begin("staged activations (block_rows_dot): a permutation within each lane's vector, no bank conflicts");
    constexpr bool rotated = stage_units<DF_F8E4M3, 7168>() == 4 && stage_units<DF_BF16, 7168>() == 2;
    constexpr bool plain = stage_units<DF_F32, 7168>() == 1 && stage_units<DF_F8E4M3, 200>() == 1 &&
                           stage_units<DF_BF16, 6>() == 1;
    CHECK(rotated, "16-byte weight vectors rotate all their units");
    CHECK(plain, "f32 rows and narrower vectors stay in order");
    for (int kc = 16; kc <= KCOLS; kc += 16) /* every width of FP8 rows, and of bf16 rows below */
        check_staged<16, 4, true>(kc, 3);
    for (int kc = 8; kc <= KCOLS; kc += 8)
        check_staged<8, 2, true>(kc, 3);
    check_staged<16, 4, true>(KCOLS, TOKEN_TILE);
    check_staged<4, 1, true>(KCOLS, 2);
    check_staged<8, 1, false>(200, 2); /* tiny_fp8act's FP8 rows of 200: 8-byte vectors, plain */
    check_staged<2, 1, false>(200, 2);
    check_staged<1, 1, false>(7, 3);
    case_end();
}

/* V weights of a packed row from p, as the kernels read them: load_raw, then widen. */
template <int DT, int V> static void load_w(const unsigned char *p, float *v)
{
    uint32_t wd[(V * esize<DT>::value + 3) / 4];
    load_raw<DT, V>(p, wd);
    widen<DT, V>(wd, v);
}

static void test_load_w(void)
{
    case_begin("load_w: every bf16 and e4m3 code, every vector width, as bf16_to_f32 / e4m3_to_f32");
    for (int code = 0; code < 256; code++) {
        unsigned char b[16];
        for (int j = 0; j < 16; j++)
            b[j] = (unsigned char)(j == 0 ? code : code * (2 * j + 1) + 0x5a * j);
        float v16[16], v8[8], v4[4], v2[2], v1[1];
        load_w<DF_F8E4M3, 16>(b, v16);
        load_w<DF_F8E4M3, 8>(b, v8);
        load_w<DF_F8E4M3, 4>(b, v4);
        load_w<DF_F8E4M3, 2>(b, v2);
        load_w<DF_F8E4M3, 1>(b, v1);
        for (int j = 0; j < 16; j++) {
            const float want = e4m3_to_f32(b[j]);
            CHECK(memcmp(&v16[j], &want, 4) == 0, "e4m3 V=16 byte %d code 0x%02x", j, b[j]);
            if (j < 8)
                CHECK(memcmp(&v8[j], &want, 4) == 0, "e4m3 V=8 byte %d code 0x%02x", j, b[j]);
            if (j < 4)
                CHECK(memcmp(&v4[j], &want, 4) == 0, "e4m3 V=4 byte %d code 0x%02x", j, b[j]);
            if (j < 2)
                CHECK(memcmp(&v2[j], &want, 4) == 0, "e4m3 V=2 byte %d code 0x%02x", j, b[j]);
            if (j < 1)
                CHECK(memcmp(&v1[j], &want, 4) == 0, "e4m3 V=1 code 0x%02x", b[j]);
        }
    }
    for (uint32_t h = 0; h < 65536; h += 3) {
        uint16_t hs[8];
        for (int j = 0; j < 8; j++)
            hs[j] = (uint16_t)(h * (j + 1) + j);
        unsigned char b[16];
        memcpy(b, hs, sizeof b);
        float v8[8], v4[4], v2[2], v1[1];
        load_w<DF_BF16, 8>(b, v8);
        load_w<DF_BF16, 4>(b, v4);
        load_w<DF_BF16, 2>(b, v2);
        load_w<DF_BF16, 1>(b, v1);
        for (int j = 0; j < 8; j++) {
            const float want = bf16_to_f32(hs[j]);
            CHECK(memcmp(&v8[j], &want, 4) == 0, "bf16 V=8 element %d 0x%04x", j, hs[j]);
            if (j < 4)
                CHECK(memcmp(&v4[j], &want, 4) == 0, "bf16 V=4 element %d", j);
            if (j < 2)
                CHECK(memcmp(&v2[j], &want, 4) == 0, "bf16 V=2 element %d", j);
            if (j < 1)
                CHECK(memcmp(&v1[j], &want, 4) == 0, "bf16 V=1 element %d", j);
        }
    }
    case_end();
}

/* The chunked online softmax of mla_attend_k, done as the block does it, against
 * the two-pass softmax of runtime/kernels/mla.h, in double. */
static void test_online_softmax(void)
{
    case_begin("online softmax in chunks of ATTN_CHUNK = two-pass softmax (lengths 1..300)");
    const int D = 8; /* latent columns */
    for (int len = 1; len <= 300; len += (len < 70 ? 1 : 37)) {
        std::vector<float> score(len), val((size_t)len * D);
        for (auto &s : score)
            s = rnd_sym(8.0);
        for (auto &v : val)
            v = rnd_sym(1.0);
        float m = -INFINITY, s = 0.0f, o[D] = { 0 };
        float chunk[ATTN_CHUNK];
        for (int p0 = 0; p0 < len; p0 += ATTN_CHUNK) {
            const int np = len - p0 < ATTN_CHUNK ? len - p0 : ATTN_CHUNK;
            memcpy(chunk, &score[p0], sizeof(float) * np);
            const float mnew = softmax_chunk_max(chunk, np, m);
            const float corr = expf(m - mnew);
            for (int i = 0; i < np; i++)
                chunk[i] = expf(chunk[i] - mnew);
            s = s * corr + softmax_chunk_sum(chunk, np);
            for (int c = 0; c < D; c++) {
                float acc = o[c] * corr;
                for (int i = 0; i < np; i++)
                    acc = fmaf(chunk[i], val[(size_t)(p0 + i) * D + c], acc);
                o[c] = acc;
            }
            m = mnew;
        }
        double mx = -INFINITY, sum = 0.0;
        for (int p = 0; p < len; p++)
            mx = score[p] > mx ? score[p] : mx;
        for (int p = 0; p < len; p++)
            sum += exp(score[p] - mx);
        for (int c = 0; c < D; c++) {
            double want = 0.0, mag = 0.0;
            for (int p = 0; p < len; p++) {
                want += exp(score[p] - mx) / sum * val[(size_t)p * D + c];
                mag += exp(score[p] - mx) / sum * fabs(val[(size_t)p * D + c]);
            }
            const double got = o[c] / s, tol = 2.0 * (len + 16) * 0x1p-24 * (mag + 1e-30) * 4.0;
            CHECK(fabs(got - want) <= tol, "len %d col %d: got %.9g, want %.9g (tol %.3g)", len, c, got, want, tol);
        }
    }
    case_end();
}

/* rmsnorm_k<DIM, ADD, DF_ACT_FP8>'s quantization of its output: thread t holds columns t + 256 j, and a
 * 128-column block's amax is the max over warps 4 (t / 128) .. + 3 of each warp's max: emulated
 * thread by thread for widths with partial blocks, against the CPU's act_quant_fp8_row. */
static void test_norm_quant_layout(void)
{
    case_begin("rmsnorm_k's fused quantization: each 128-column block's amax from 4 warps = act_quant_fp8_row");
    const int dims[] = { 72, 200, 328, 1000, 7168 };
    for (int dim : dims) {
        const int per = (dim + THREADS - 1) / THREADS;
        std::vector<float> o(dim), want, got(dim, NAN), s_amax((size_t)per * WARPS);
        for (int i = 0; i < dim; i++)
            o[i] = rnd64() % 13 == 0 ? 0.0f : (float)(((double)(rnd64() >> 11) * 0x1p-53 - 0.5) * ldexp(1.0, (int)(rnd64() % 16) - 8));
        want = o;
        act_quant_fp8_row(want.data(), dim);
        for (int j = 0; j < per; j++)
            for (int w = 0; w < WARPS; w++) {
                float m = 0.0f;
                for (int lane = 0; lane < WARP; lane++) {
                    const int i = WARP * w + lane + j * THREADS;
                    m = fmaxf(m, fabsf(i < dim ? o[i] : 0.0f));
                }
                s_amax[(size_t)j * WARPS + w] = m;
            }
        for (int t = 0; t < THREADS; t++) {
            const int w0 = t / DF_ACT_BLOCK * (DF_ACT_BLOCK / WARP);
            for (int j = 0; j < per; j++) {
                const int i = t + j * THREADS;
                float amax = s_amax[(size_t)j * WARPS + w0];
                for (int k = 1; k < DF_ACT_BLOCK / WARP; k++)
                    amax = fmaxf(amax, s_amax[(size_t)j * WARPS + w0 + k]);
                const float sc = act_scale(amax);
                if (i < dim)
                    got[i] = e4m3_round(o[i] / sc) * sc;
            }
        }
        for (int i = 0; i < dim; i++)
            CHECK(memcmp(&got[i], &want[i], sizeof(float)) == 0, "dim %d column %d: %a, want %a", dim, i, (double)got[i],
                  (double)want[i]);
    }
    case_end();
}

/* moe_route_k's argmax: lane l's best of experts l, l + 32, ... (argmax_pick), then the
 * xor butterfly of argmax_pick: every lane ends with argmax_allowed's expert, ties included. */
static void test_route_pick(void)
{
    case_begin("argmax_pick: the warp's butterfly argmax = argmax_allowed, ties to the lower expert; lanes agree with NaNs");
    for (int trial = 0; trial < 2000; trial++) {
        const int E = trial % 3 == 0 ? 256 : trial % 3 == 1 ? 64 : 20;
        float v[256];
        bool allowed[256];
        for (int e = 0; e < E; e++) {
            v[e] = (float)(rnd64() % 7) * 0.25f; /* few values: many ties */
            if (trial % 5 == 4 && rnd64() % 3 == 0)
                v[e] = NAN;
            allowed[e] = rnd64() % 4 != 0;
        }
        allowed[rnd64() % E] = true;
        float lv[WARP];
        int li[WARP];
        for (int l = 0; l < WARP; l++) {
            lv[l] = 0.0f;
            li[l] = -1;
            for (int e = l; e < E; e += WARP)
                if (allowed[e])
                    argmax_pick(&lv[l], &li[l], v[e], e);
        }
        for (int m = WARP / 2; m > 0; m /= 2) {
            float nv[WARP];
            int ni[WARP];
            for (int l = 0; l < WARP; l++) {
                nv[l] = lv[l];
                ni[l] = li[l];
                argmax_pick(&nv[l], &ni[l], lv[l ^ m], li[l ^ m]);
            }
            memcpy(lv, nv, sizeof lv);
            memcpy(li, ni, sizeof li);
        }
        const bool nans = trial % 5 == 4; /* some scores NaN: every lane must still agree */
        if (!nans) {
            const int want = argmax_allowed(v, allowed, E);
            for (int l = 0; l < WARP; l++)
                CHECK(li[l] == want, "trial %d (E %d) lane %d: expert %d, argmax_allowed %d", trial, E, l, li[l], want);
        } else {
            for (int l = 1; l < WARP; l++)
                CHECK(li[l] == li[0] && li[0] >= 0 && allowed[li[0]], "trial %d (NaN scores) lane %d: expert %d, lane 0 %d",
                      trial, l, li[l], li[0]);
        }
    }
    case_end();
}

/* moe_route_k's group scores: each lane's best two of a group (top2_pick over its experts l,
 * l + 32, ...), then the butterfly of top2_merge, against two scans in argmax_pick's order (the
 * best, then the best of the rest) and, where no score is NaN, moe_route_token's two scans
 * (argmax_allowed): the same two experts, so the same sum (ties, -inf, NaN). */
static void test_route_top2(void)
{
    case_begin("top2_pick / top2_merge: a group's best two over a warp's butterfly = two scans (ties, -inf, NaN)");
    const int shapes[4][2] = { { 256, 8 }, { 64, 8 }, { 160, 8 }, { 16, 4 } }; /* experts, groups */
    for (int trial = 0; trial < 2000; trial++) {
        const int E = shapes[trial % 4][0], G = shapes[trial % 4][1], PER = E / G;
        const bool nans = trial % 5 == 4;
        float c[256];
        for (int e = 0; e < E; e++) {
            c[e] = (float)(rnd64() % 7) * 0.25f; /* few values: many ties */
            if (trial % 3 == 0 && rnd64() % 4 == 0)
                c[e] = -INFINITY;
            if (nans && rnd64() % 3 == 0)
                c[e] = NAN;
        }
        for (int g = 0; g < G; g++) {
            float v1[WARP], v2[WARP];
            int i1[WARP], i2[WARP];
            for (int l = 0; l < WARP; l++) {
                v1[l] = v2[l] = 0.0f;
                i1[l] = i2[l] = -1;
                for (int e = l; e < E; e += WARP)
                    if (e / PER == g)
                        top2_pick(v1[l], i1[l], v2[l], i2[l], c[e], e);
            }
            for (int m = WARP / 2; m > 0; m /= 2) {
                float n1[WARP], n2[WARP];
                int j1[WARP], j2[WARP];
                for (int l = 0; l < WARP; l++) {
                    n1[l] = v1[l], n2[l] = v2[l], j1[l] = i1[l], j2[l] = i2[l];
                    top2_merge(n1[l], j1[l], n2[l], j2[l], v1[l ^ m], i1[l ^ m], v2[l ^ m], i2[l ^ m]);
                }
                memcpy(v1, n1, sizeof v1), memcpy(v2, n2, sizeof v2);
                memcpy(i1, j1, sizeof i1), memcpy(i2, j2, sizeof i2);
            }
            float s1 = 0.0f, s2 = 0.0f; /* two scans in argmax_pick's order */
            int b1 = -1, b2 = -1;
            for (int e = g * PER; e < (g + 1) * PER; e++)
                argmax_pick(&s1, &b1, c[e], e);
            for (int e = g * PER; e < (g + 1) * PER; e++)
                if (e != b1)
                    argmax_pick(&s2, &b2, c[e], e);
            bool allowed[256];
            for (int e = 0; e < PER; e++)
                allowed[e] = true;
            const int a1 = g * PER + argmax_allowed(c + g * PER, allowed, PER);
            allowed[a1 - g * PER] = false;
            const int a2 = g * PER + argmax_allowed(c + g * PER, allowed, PER);
            for (int l = 0; l < WARP; l++) {
                CHECK(i1[l] == b1 && i2[l] == b2 && memcmp(&v1[l], &c[b1], sizeof(float)) == 0 &&
                          memcmp(&v2[l], &c[b2], sizeof(float)) == 0,
                      "trial %d (E %d) group %d lane %d: experts %d %d, the scans %d %d", trial, E, g, l, i1[l], i2[l],
                      b1, b2);
                if (!nans)
                    CHECK(i1[l] == a1 && i2[l] == a2, "trial %d (E %d) group %d lane %d: experts %d %d, argmax_allowed "
                          "%d %d", trial, E, g, l, i1[l], i2[l], a1, a2);
            }
        }
    }
    case_end();
}

/* moe_route_k's choice of groups (keep_best_group, topk_group times) = moe_route_token's
 * (argmax_allowed, then that group no longer allowed): ties, NaN scores, groups not allowed. */
static void test_keep_groups(void)
{
    case_begin("keep_best_group: moe_route_k's top groups = argmax_allowed's, in order (ties, NaN, disallowed groups)");
    constexpr int G = 8;
    for (int trial = 0; trial < 3000; trial++) {
        float score[G];
        bool ok[G], ok_ref[G], keep[G] = {}, keep_ref[G] = {};
        for (int g = 0; g < G; g++) {
            score[g] = trial % 4 == 3 && rnd64() % 3 == 0 ? NAN : (float)(rnd64() % 5) * 0.5f;
            ok[g] = ok_ref[g] = rnd64() % 5 != 0;
        }
        const int topk = 1 + (int)(rnd64() % G);
        for (int k = 0; k < topk; k++) {
            keep_best_group<G>(score, ok, keep);
            const int g = argmax_allowed(score, ok_ref, G);
            if (g >= 0) {
                keep_ref[g] = true;
                ok_ref[g] = false;
            }
        }
        CHECK(memcmp(keep, keep_ref, sizeof keep) == 0 && memcmp(ok, ok_ref, sizeof ok) == 0,
              "trial %d (top %d): the kept groups differ", trial, topk);
    }
    case_end();
}

static void test_step_layout(void)
{
    case_begin("step staging: token, slot, pos, emit at cap-int strides");
    const int cap = 7, token[5] = { 10, 11, 12, 13, 14 }, slot[5] = { 0, 0, 1, 2, 2 }, pos[5] = { 3, 4, 0, 8, 9 };
    const int emit[2] = { 1, 4 };
    const struct df_step step = { 5, token, slot, pos, 2, emit };
    std::vector<int> st(DF_CUDA_STEP_ARRAYS_BYTES(cap) / sizeof(int), -1);
    df_cuda_pack_step(&step, cap, st.data());
    for (int i = 0; i < 5; i++) {
        CHECK(st[DF_CUDA_STEP_TOKEN * cap + i] == token[i], "token %d", i);
        CHECK(st[DF_CUDA_STEP_SLOT * cap + i] == slot[i], "slot %d", i);
        CHECK(st[DF_CUDA_STEP_POS * cap + i] == pos[i], "pos %d", i);
    }
    CHECK(st[DF_CUDA_STEP_EMIT * cap] == 1 && st[DF_CUDA_STEP_EMIT * cap + 1] == 4, "emit");
    CHECK(st[DF_CUDA_STEP_TOKEN * cap + 5] == -1 && st[DF_CUDA_STEP_EMIT * cap + 2] == -1, "wrote past n");
    case_end();
}

/* The blocks of a fused pair (linear_pair_k): the first linear_blocks<..., T> take the first
 * matrix, the rest the second, each block's warps as linear_k (T = 0: a row each) or
 * linear_rows_k (R rows each) lay them out; every row of both is some warp's, once. */
template <int DT, int ROWS1, int ROWS2, int COLS, int T> static void pair_rows(void)
{
    constexpr int B1 = linear_blocks<DT, ROWS1, COLS, T>(), B2 = linear_blocks<DT, ROWS2, COLS, T>();
    constexpr int R = warp_row_count<DT, COLS, T>();
    std::vector<int> seen(ROWS1 + ROWS2, 0);
    for (int bx = 0; bx < B1 + B2; bx++) {
        const bool second = bx >= B1;
        const int rows = second ? ROWS2 : ROWS1, b = second ? bx - B1 : bx;
        for (int w = 0; w < WARPS; w++)
            for (int r = (b * WARPS + w) * R; r < (b * WARPS + w + 1) * R && r < rows; r++)
                seen[(second ? ROWS1 : 0) + r]++;
    }
    for (int i = 0; i < ROWS1 + ROWS2; i++)
        CHECK(seen[i] == 1, "dt %d %d+%d rows x %d, T %d: row %d of %s taken %d times", DT, ROWS1, ROWS2, COLS, T,
              i < ROWS1 ? i : i - ROWS1, i < ROWS1 ? "the first" : "the second", seen[i]);
    CHECK(B1 == 0 || (B1 - 1) * WARPS * R < ROWS1, "dt %d, T %d: a block of the first matrix has no row", DT, T);
}

static void test_pair_blocks(void)
{
    case_begin("fused launches: linear_pair_k's blocks cover both matrices' rows once, rope_cache_k's both ops (and "
               "mla_absorb_k's with it); the token grid; DF_CUDA_LINEAR_ONE's kinds");
    pair_rows<DF_BF16, 96, 320, 128, 0>();
    pair_rows<DF_BF16, 96, 320, 128, 1>();
    pair_rows<DF_BF16, 96, 320, 128, TOKEN_TILE>();
    pair_rows<DF_F8E4M3, 136, 160, 200, 0>();
    pair_rows<DF_F8E4M3, 136, 160, 200, TOKEN_TILE>();
    pair_rows<DF_F8E4M3, 136, 160, 208, 1>();            /* 4 rows a warp */
    pair_rows<DF_F8E4M3, 1536, 576, 7168, 1>();          /* V3's q_a and kv_a */
    pair_rows<DF_F8E4M3, 1536, 576, 7168, TOKEN_TILE>();
    /* one token's rows a warp (one_token_rows, rows_steps): 4 FP8 rows of 16-byte vectors, 2 steps
     * of each in flight, the 4 KB a warp of rows_per_warp's 2 rows of 4 steps */
    constexpr bool fp8 = one_token_rows<DF_F8E4M3, 7168>() == 4 && rows_steps<DF_F8E4M3, 7168, 4>() == 2 &&
                         rows_steps<DF_F8E4M3, 7168, 2>() == 4 && rows_steps<DF_F8E4M3, 7168, 1>() == 4;
    constexpr bool others = one_token_rows<DF_F8E4M3, 200>() == rows_per_warp<DF_F8E4M3, 200>::R &&
                            one_token_rows<DF_BF16, 7168>() == 4 && rows_steps<DF_BF16, 7168, 4>() == 4 &&
                            one_token_rows<DF_F32, 7168>() == rows_per_warp<DF_F32, 7168>::R;
    constexpr bool short_rows = rows_steps<DF_F8E4M3, 1408, 4>() == 2 && rows_steps<DF_F8E4M3, 1536, 4>() == 2 &&
                                rows_steps<DF_F8E4M3, 144, 4>() == 1;
    CHECK(fp8, "FP8 rows of 7168 columns");
    CHECK(others, "8-byte FP8 vectors, bf16 and f32 rows: rows_per_warp's count");
    CHECK(short_rows, "rows of 3 steps: 2 in flight (at least 2 rows' 3); of one step: that one");
    pair_rows<DF_F32, 7, 5, 6, 0>();
    pair_rows<DF_F32, 7, 5, 6, TOKEN_TILE>();
    for (int n = 1; n <= 40; n++)
        for (int t : { 0, 1, TOKEN_TILE }) {
            const dim3 g = linear_grid(3, t, n);
            const int covered = t > 1 ? (int)g.y * t : 1;
            CHECK(g.x == 3 && covered >= (t > 1 ? n : 1) && (t <= 1 || covered - t < n), "n %d tile %d: grid y %u", n, t,
                  g.y);
        }
    /* rope_cache_k: rope_blocks(n, heads) blocks of a thread per (token, head), then a warp per token */
    for (int n = 1; n <= 300; n += 7)
        for (int heads : { 1, 16, 128 }) {
            const int br = rope_blocks(n, heads), bc = ceil_div(n, WARPS);
            CHECK(br * THREADS >= n * heads && (br - 1) * THREADS < n * heads, "n %d heads %d: %d rope blocks", n, heads,
                  br);
            CHECK(bc * WARPS >= n && (bc - 1) * WARPS < n, "n %d: %d cache blocks", n, bc);
            /* mla_absorb_k, which takes the rope_cache op in: n x heads blocks, then the same cache blocks */
            CHECK(absorb_grid_x(n, heads) == n * heads + bc, "n %d heads %d: absorb grid %d", n, heads,
                  absorb_grid_x(n, heads));
        }
    /* DF_CUDA_LINEAR_ONE (linear_one_setting): each kind by its name, tune, and unset a device's
     * default, tune; another value runs linear_k (with a message); linear_one_kind takes tune as
     * linear_k until the backend has timed the kinds */
    for (int k = 0; k < LINEAR_ONE_KINDS; k++) {
        setenv("DF_CUDA_LINEAR_ONE", linear_one_names[k], 1);
        CHECK(linear_one_setting() == k, "DF_CUDA_LINEAR_ONE=%s", linear_one_names[k]);
    }
    setenv("DF_CUDA_LINEAR_ONE", "tune", 1);
    CHECK(linear_one_setting() == LINEAR_ONE_TUNE, "DF_CUDA_LINEAR_ONE=tune");
    linear_one = -1;
    CHECK(linear_one_kind() == LINEAR_ONE_WARP, "linear_one_kind before the timing");
    setenv("DF_CUDA_LINEAR_ONE", "fastest", 1);
    CHECK(linear_one_setting() == LINEAR_ONE_WARP, "DF_CUDA_LINEAR_ONE=fastest");
    unsetenv("DF_CUDA_LINEAR_ONE");
    CHECK(linear_one_setting() == LINEAR_ONE_TUNE, "DF_CUDA_LINEAR_ONE unset");
    linear_one = LINEAR_ONE_WARP; /* linear_k's layout for one token */
    CHECK(linear_tile(1) == 0 && linear_tile(2) == TOKEN_TILE && linear_tile(9) == TOKEN_TILE, "linear_tile");
    linear_one = LINEAR_ONE_ROWS;
    CHECK(linear_tile(1) == 1 && linear_tile(2) == TOKEN_TILE, "linear_tile with DF_CUDA_LINEAR_ONE=rows");
    linear_one = LINEAR_ONE_ASYNC; /* linear_async_k takes linear_k's layout */
    CHECK(linear_tile(1) == 0 && linear_tile(2) == TOKEN_TILE, "linear_tile with DF_CUDA_LINEAR_ONE=async");
    linear_one = -1;
    case_end();
}

/* absorb_tile's block emulated (the absorbed query of mla_attend_k and of the split path's
 * mla_absorb_k), through its own pieces: every lane of every warp of every tile through
 * absorb_part into its absorb_slot, each column then absorb_column; against the exact sum
 * over the nope rows (fp64), within float32's rounding of NOPE + WARPS additions of terms of
 * that size (and FP8's product with the scale); every column of a tile once. */
template <int DT, int NOPE, int VH, int L> static void absorb_case(int heads, const char *what)
{
    constexpr int V = absorb_vec<DT>::V, TILE = absorb_vec<DT>::TILE;
    const tmat m = make_mat(DT, heads * (NOPE + VH), L);
    std::vector<float> q(NOPE);
    for (float &v : q)
        v = (float)rnd_sym(1.0);
    for (int h = 0; h < heads; h++)
        for (int tile = 0; tile < absorb_tiles<DT, L>(); tile++) {
            std::vector<float> part_v((size_t)WARPS * TILE, NAN);
            float (*part)[TILE] = reinterpret_cast<float (*)[TILE]>(part_v.data());
            std::vector<int> seen(TILE, 0);
            for (int w = 0; w < WARPS; w++)
                for (int lane = 0; lane < WARP; lane++) {
                    const int c0 = tile * TILE + lane * V;
                    if (c0 >= L) /* absorb_tile's guard */
                        continue;
                    float acc[V];
                    absorb_part<DT, NOPE, VH, L>(m.w.data(), m.scale.data(), q.data(), h, c0, w, acc);
                    for (int j = 0; j < V; j++) {
                        part[w][absorb_slot<DT>(lane, j)] = acc[j];
                        seen[absorb_slot<DT>(lane, j)] += w == 0;
                    }
                }
            for (int i = 0; i < TILE && tile * TILE + i < L; i++) { /* absorb_tile's readers */
                const int c = tile * TILE + i;
                const float s = absorb_column<DT>(part, i);
                double exact = 0.0, mag = 0.0;
                for (int d = 0; d < NOPE; d++) {
                    const double t = (double)q[d] * ref_elem(m, h * (NOPE + VH) + d, c);
                    exact += t;
                    mag += fabs(t);
                }
                const double tol = 2.0 * (NOPE + WARPS + 1) * ldexp(1.0, -24) * mag;
                CHECK(seen[i] == 1, "%s head %d column %d: written %d times", what, h, c, seen[i]);
                CHECK(fabs(s - exact) <= tol, "%s head %d column %d: %.9g, exact %.9g (tol %.3g)", what, h, c, s, exact,
                      tol);
            }
        }
}

static void test_absorb(void)
{
    case_begin("absorbed query (absorb_tile's block emulated): every column once, against fp64");
    absorb_case<DF_BF16, 128, 128, 512>(3, "bf16 V2-Lite shape");
    absorb_case<DF_F8E4M3, 128, 128, 512>(3, "FP8 V3 shape");
    absorb_case<DF_F8E4M3, 32, 24, 144>(3, "FP8, head 2's rows across a scale block, a part tile"); /* rows 112..143 */
    absorb_case<DF_BF16, 32, 32, 256>(2, "bf16 v3_h16 shape");
    absorb_case<DF_F32, 32, 32, 256>(2, "f32");
    absorb_case<DF_BF16, 24, 40, 144>(2, "bf16, a part tile (144 columns)");
    absorb_case<DF_F8E4M3, 16, 16, 64>(9, "FP8, 64 columns");
    absorb_case<DF_F32, 16, 16, 144>(2, "f32, a part tile");
    case_end();
}

/* moe_route_token and rope_rotate are compiled here as __host__ __device__: their host
 * side must still be the CPU's function (tests/unit covers the math itself). */
static void test_shared_math(void)
{
    case_begin("rope_rotate and moe_route_token under nvcc (host side) as the C reference");
    float v[4] = { 1.0f, 2.0f, 3.0f, 4.0f };
    const float table[2 * 4] = { 1, 0, 1, 0, 0.6f, 0.8f, 0.0f, 1.0f }; /* pos 1: cos .6 sin .8; cos 0 sin 1 */
    rope_rotate(v, table, 1, 4);
    CHECK(v[0] == 1.0f * 0.6f - 2.0f * 0.8f && v[1] == 1.0f * 0.8f + 2.0f * 0.6f, "pair 0: %g %g", v[0], v[1]);
    CHECK(v[2] == -4.0f && v[3] == 3.0f, "pair 1: %g %g", v[2], v[3]);
    const struct df_route_shape s = { .experts = 8, .topk = 2, .n_group = 4, .topk_group = 2, .method = DF_NOAUX_TC,
                                      .softmax = false, .norm_topk_prob = true, .scaling = 2.0f };
    const float logit[8] = { 0.1f, 3.0f, -1.0f, 0.5f, 2.0f, 2.5f, -3.0f, 0.0f };
    float score[8], choice[8], gs[4], w[2];
    bool allowed[8], gok[4];
    int ids[2];
    moe_route_token(&s, logit, NULL, score, choice, allowed, gs, gok, ids, w);
    /* groups {0,1} {2,3} {4,5} {6,7}: top-2 sums favour groups 0 and 2; best experts 1 then 5 */
    CHECK(ids[0] == 1 && ids[1] == 5, "ids %d %d", ids[0], ids[1]);
    CHECK(fabsf(w[0] + w[1] - 2.0f) < 1e-6f, "weights sum %g", w[0] + w[1]);
    case_end();
}

int main(void)
{
    test_load_w();
    test_route_pick();
    test_route_top2();
    test_keep_groups();
    test_norm_quant_layout();
    test_pair_blocks();
    test_absorb();
    test_staged_layout();
    test_row<DF_BF16, 128>("bf16");
    test_row<DF_BF16, 96>("bf16");
    test_row<DF_BF16, 200>("bf16");
    test_row<DF_BF16, 72>("bf16");
    test_row<DF_BF16, 6>("bf16");
    test_row<DF_BF16, 7>("bf16");
    test_row<DF_BF16, 512>("bf16");  /* two steps a row: a ring of 2 slots for one row, 4 for more */
    test_row<DF_BF16, 1408>("bf16"); /* one U x STEP group and a tail of steps */
    test_row<DF_BF16, 2048>("bf16");
    test_row<DF_BF16, 7168>("bf16"); /* linear_async_k's ring of 4 slots, wrapped */
    test_row<DF_F32, 128>("f32");
    test_row<DF_F32, 16>("f32");
    test_row<DF_F32, 5>("f32");
    test_row<DF_F32, 2560>("f32"); /* 20 steps: the ring wrapped twice */
    test_row<DF_F8E4M3, 200>("fp8");
    test_row<DF_F8E4M3, 144>("fp8");
    test_row<DF_F8E4M3, 72>("fp8");
    test_row<DF_F8E4M3, 328>("fp8");
    test_row<DF_F8E4M3, 384>("fp8");
    test_row<DF_F8E4M3, 130>("fp8");
    test_row<DF_F8E4M3, 131>("fp8");
    test_row<DF_F8E4M3, 1408>("fp8");
    test_row<DF_F8E4M3, 7168>("fp8");
    test_online_softmax();
    test_step_layout();
    test_shared_math();
    return host_test_summary();
}
