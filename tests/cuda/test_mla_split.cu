/* test_mla_split.cu: host-side tests of the split-KV MLA decode kernel's __host__ __device__
 * pieces (runtime/cuda/mla_decode.cuh), run on the CPU in CI, where there is no GPU.
 * Compiled by nvcc, so these are the very functions the device code compiles (host side).
 *
 *  - chunks: cover 0..pos exactly, at most JMAX, lengths a function of the position alone,
 *    fixed (C) while the context is short; the production C (split_chunk) the shortest multiple
 *    of 64 whose cache rows hold 4 times a chunk's record, at most 256; the blocks' tile streams
 *    cover every position once, each chunk whole in one block, whatever the grid;
 *  - 3xTF32: the split's bits and error, and the product's error (2^-20 relative bound);
 *  - fragments: the mma.m16n8k8 layouts and the fragment-ordered queries are bijections;
 *  - shared memory: the swizzle is a permutation of each row; the fragment loads and the
 *    cp.async stores of a warp are free of bank conflicts;
 *  - one tile's S = Q K^T and P V, built lane by lane from shared memory as the kernel does,
 *    with an emulated mma (the PTX layouts, exact products rounded once per instruction),
 *    against fp64;
 *  - the online softmax over tiles, the partials and their merge in chunk order (the
 *    kernel's steps, the warp butterfly emulated lane by lane) against a one-pass softmax in
 *    fp64, for lengths at every tile and chunk edge and past the JMAX cap;
 *  - a token's result has the same bits alone or in a batch of 16, on any grid, whatever
 *    order the chunks are computed in, its records JMAX apart or fewer;
 *  - a step's slices (mla_slices.cuh's next_split_slice): every token in one, in order, each
 *    within the workspace's records with no token's chunks past the stride, as many tokens as
 *    fit, and a step of at most S tokens (decode) one slice at stride JMAX whatever its positions.
 * What the device adds (the mma's internal summation, expf's last bit, the shuffles) is not
 * modelled bit for bit; tests/cuda/mla_check.cu checks the kernels on a GPU.
 *
 * Tolerances: a float32 sum of K terms is within K u sum|terms| of the exact one (u = 2^-24);
 * expf is within 2 ulps. Prints "ok NAME" / "FAIL NAME: detail" per case, then
 * "N passed, M failed". */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "host_test.h"
#include "mla_decode.cuh"
#include "mla_model.h"
#include "mla_slices.cuh"
#include "mla_split_cfg.cuh"

using namespace dfc;
using namespace dfc::mla;


static const double U = 0x1p-24;

/* The configurations the GPU check runs (tests/cuda/mla_check.cu), a small one whose JMAX cap
 * is reached at 1024 positions, and the mid-size benchmark model's (specs/bench_v3_cuda.lua:
 * kv_lora 256 + rope 32, a row of 288, whose 36 k-steps the 8 warps share 4 and 5). */
using V2A = mla_split_cfg<16, 512, 64, 32768>;
using V3B = mla_decode_cfg<128, 512, 64, 32768, 512, 64, 2, 16, 3>;
using SMALL = mla_decode_cfg<16, 512, 64, 4096, 64, 16, 1, 32, 2>;
using R288 = mla_split_cfg<16, 256, 32, 1024>;
using V2B = mla_decode_cfg<16, 512, 64, 32768, V2A::C, V2A::JMAX, 1, 32, 2, false>; /* mla_check's V2B: V2A, splits by cvt.rna */

/* ---- chunks ------------------------------------------------------------------------------- */
static void test_chunks(int C, int JMAX, int max_len, int step)
{
    char name[120];
    snprintf(name, sizeof name, "chunks C=%d JMAX=%d: cover 0..pos once, <= JMAX, multiples of C, C until C x JMAX", C,
             JMAX);
    case_begin(name);
    int prev = C;
    for (int len = 1; len <= max_len; len += (len < 3 * C ? 1 : step)) {
        const int cl = chunk_len(len, C, JMAX), nj = chunk_count(len, C, JMAX);
        CHECK(cl % C == 0 && cl >= C, "len %d: chunk length %d", len, cl);
        CHECK(nj >= 1 && nj <= JMAX, "len %d: %d chunks", len, nj);
        CHECK((long)(nj - 1) * cl < len && (long)nj * cl >= len, "len %d: %d chunks of %d", len, nj, cl);
        CHECK(len > C * JMAX || cl == C, "len %d: chunk %d before the cap", len, cl);
        CHECK(cl >= prev, "len %d: chunk length %d after %d", len, cl, prev);
        prev = cl;
    }
    case_end();
}

/* split_chunk for a layer's shape and cache element (E bytes): a multiple of 64 of at most 256
 * whose cache rows hold at least 4 times a chunk's record, the shortest such, or 256; and its
 * values for the shapes deployed (docs/cuda-mla.md). */
static void test_split_chunk(void)
{
    case_begin("split_chunk: the shortest multiple of 64 whose rows hold 4 records, at most 256");
    for (int H = 16; H <= 128; H += 16)
        for (int L = 128; L <= 1024; L += 128)
            for (int R : { 32, 64 })
                for (int E : { 2, 4 }) {
                    const int C = split_chunk(H, L, R, E);
                    const auto holds = [&](long c) { return c * (L + R) * E >= 4L * 4 * H * (L + 2); };
                    CHECK(C % 64 == 0 && C >= 64 && C <= 256, "H %d L %d R %d E %d: %d", H, L, R, E, C);
                    CHECK(C == 256 || holds(C), "H %d L %d R %d E %d: %d does not hold 4 records", H, L, R, E, C);
                    CHECK(C == 64 || !holds(C - 64), "H %d L %d R %d E %d: %d holds them already", H, L, R, E, C - 64);
                }
    CHECK(split_chunk(16, 512, 64, 4) == 64 && split_chunk(16, 512, 64, 2) == 128, "V2-Lite: %d and %d",
          split_chunk(16, 512, 64, 4), split_chunk(16, 512, 64, 2));
    CHECK(split_chunk(128, 512, 64, 4) == 256 && split_chunk(128, 512, 64, 2) == 256, "V3: %d and %d",
          split_chunk(128, 512, 64, 4), split_chunk(128, 512, 64, 2));
    CHECK(split_chunk(16, 256, 32, 4) == 64, "the mid-size models: %d", split_chunk(16, 256, 32, 4));
    case_end();
}

/* The partial kernel's blocks y = 0..ny-1 stream the tiles of chunks y, y + ny, ... with
 * next_tile: for any ny the launcher may pick, every position of every token lies in exactly
 * one tile of one block, a block's tiles go up, and a chunk's tiles are consecutive in one
 * block (its partial is complete when the block writes it). */
static void test_tile_stream(void)
{
    case_begin("tile stream: each position in one tile of one block, chunks whole, for ny = 1..JMAX");
    const int lens[] = { 1, 2, 31, 32, 33, 63, 64, 65, 255, 256, 257, 4096, 8192, 8193, 16385, 20000, 24577, 32768,
                         32768 + 5, 100000 };
    for (int len : lens) {
        const int cl = chunk_len(len, V2A::C, V2A::JMAX), nj = chunk_count(len, V2A::C, V2A::JMAX);
        for (int ny = 1; ny <= V2A::JMAX; ny++) {
            std::vector<int> seen(len, 0), chunk_block(nj, -1);
            for (int y = 0; y < std::min(ny, nj); y++) {
                int last = -1;
                for (tile_cursor c = { y, 0 }; c.j < nj; next_tile(c, cl, len, V2A::T, ny)) {
                    const int p0 = c.j * cl + c.i * V2A::T, p1 = std::min({ p0 + V2A::T, (c.j + 1) * cl, len });
                    CHECK(p0 > last, "len %d ny %d block %d: tile at %d after %d", len, ny, y, p0, last);
                    CHECK(chunk_block[c.j] == -1 || chunk_block[c.j] == y, "len %d ny %d: chunk %d in two blocks", len,
                          ny, c.j);
                    chunk_block[c.j] = y;
                    for (int p = p0; p < p1; p++)
                        seen[p]++;
                    last = p0;
                }
            }
            for (int p = 0; p < len; p++)
                CHECK(seen[p] == 1, "len %d ny %d: position %d in %d tiles", len, ny, p, seen[p]);
        }
    }
    case_end();
}

/* ---- a step's slices (mla_slices.cuh) ------------------------------------------------------ */
/* The slices of steps of n tokens at positions pos (host), for C and JMAX as mla_split_cfg's,
 * the workspace's partial records for S tokens at stride JMAX (mla_split_floats' count of them).
 * Returns the slices of the last step. */
template <int C, int JMAX, int S> static int check_slices(const std::vector<int> &pos, const char *what)
{
    const int n = (int)pos.size();
    const size_t room = (size_t)S * JMAX; /* records */
    int t0 = 0, slices = 0;
    while (t0 < n) {
        const split_slice s = next_split_slice<C, JMAX, S>(pos.data(), t0, n);
        CHECK(s.t0 == t0 && s.n >= 1 && t0 + s.n <= n, "%s: slice at %d: t0 %d, %d tokens of %d", what, t0, s.t0, s.n, n);
        if (s.n < 1)
            return slices;
        CHECK(s.stride >= 1 && s.stride <= JMAX, "%s: slice at %d: stride %d", what, t0, s.stride);
        CHECK((size_t)s.n * s.stride <= room, "%s: slice at %d of %d tokens at stride %d: over the workspace", what, t0,
              s.n, s.stride);
        int most = 1;
        for (int t = t0; t < t0 + s.n; t++)
            most = std::max(most, chunk_count(pos[t] + 1, C, JMAX));
        CHECK(most <= s.stride, "%s: slice at %d: a token of %d chunks, stride %d", what, t0, most, s.stride);
        if (n - t0 <= S)
            CHECK(s.n == n - t0 && s.stride == JMAX, "%s: %d tokens left of S = %d: %d in the slice, stride %d", what,
                  n - t0, S, s.n, s.stride);
        else if (t0 + s.n < n) { /* as many as fit: one more would not */
            const int more = std::max(most, chunk_count(pos[t0 + s.n] + 1, C, JMAX));
            CHECK((size_t)(s.n + 1) * more > room, "%s: slice at %d of %d tokens: one more fits", what, t0, s.n);
        }
        t0 += s.n;
        slices++;
    }
    return slices;
}

/* A prompt's positions p0 .. p0 + n - 1. */
static std::vector<int> run_of(int p0, int n)
{
    std::vector<int> pos(n);
    for (int i = 0; i < n; i++)
        pos[i] = p0 + i;
    return pos;
}

template <int H, int L, int R, int CTX, int S, typename CE = float> static void test_slices(const char *name)
{
    using D = typename split_cfg_for<H, L, R, CTX, CE>::type; /* the backend's configuration */
    case_begin(name);
    for (int n = 1; n <= S; n++) /* a decode step: any positions, one slice */
        for (int k = 0; k < 20; k++) {
            std::vector<int> pos(n);
            for (int &p : pos)
                p = (int)(rnd64() % CTX);
            check_slices<D::C, D::JMAX, S>(pos, "decode");
        }
    for (int k = 0; k < 200; k++) { /* prefill steps: prompts' runs, and random positions */
        std::vector<int> pos;
        const int n = 1 + (int)(rnd64() % 512);
        while ((int)pos.size() < n) {
            const int len = std::min(n - (int)pos.size(), 1 + (int)(rnd64() % 300)), p0 = (int)(rnd64() % (CTX - len + 1));
            for (int p : run_of(p0, len))
                pos.push_back(p);
        }
        check_slices<D::C, D::JMAX, S>(pos, "prefill runs");
        for (int &p : pos)
            p = (int)(rnd64() % CTX);
        check_slices<D::C, D::JMAX, S>(pos, "prefill, random positions");
    }
    case_end();
}

/* ---- 3xTF32 ------------------------------------------------------------------------------- */
static float bits_float(uint32_t b)
{
    float f;
    memcpy(&f, &b, 4);
    return f;
}

/* The merge's weights as one thread computed them before combine_k shared the work (frozen
 * here: the reference the kernel's pieces must reproduce bit for bit): the max, then each
 * weight and the sum of w_j l_j, interleaved, in chunk order. */
static float serial_weights(const float *ml, int nj, float *w)
{
    float M = -INFINITY;
    for (int j = 0; j < nj; j++)
        M = fmaxf(M, ml[2 * j]);
    float L = 0.0f;
    for (int j = 0; j < nj; j++) {
        w[j] = expf(ml[2 * j] - M);
        L = fmaf(w[j], ml[2 * j + 1], L);
    }
    return L;
}

/* combine_k's weights emulated: warp 0's lanes take chunks lane, lane + 32, ..., their maxima
 * meet in lanes_max's xor butterfly, a weight per chunk (combine_weight), thread 0's sum
 * (combine_sum); against serial_weights, bit for bit, with m values at the edges (+-0, +-inf,
 * NaN, 1e30, equal ones). The columns are combine_column's, unchanged. */
static void test_combine_weights(void)
{
    case_begin("combine_k's weights (warp max, a weight per thread, thread 0's sum) = one thread's, bit for bit");
    static const float edge[] = { 0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e30f, -1e30f, 3.0f };
    for (int trial = 0; trial < 3000; trial++) {
        const int nj = 1 + (int)(rnd64() % 160);
        std::vector<float> ml(2 * (size_t)nj), w(nj), w_ref(nj);
        for (int j = 0; j < nj; j++) {
            ml[2 * j] = trial % 3 == 0 && rnd64() % 4 == 0 ? edge[rnd64() % 8] : rnd_sym(20.0);
            ml[2 * j + 1] = (float)rnd_unit() * 50.0f;
        }
        const float L_ref = serial_weights(ml.data(), nj, w_ref.data());
        float lane_m[WARP];
        for (int l = 0; l < WARP; l++) {
            lane_m[l] = -INFINITY;
            for (int j = l; j < nj; j += WARP)
                lane_m[l] = fmaxf(lane_m[l], ml[2 * j]);
        }
        for (int m = WARP / 2; m > 0; m /= 2) {
            float next[WARP];
            for (int l = 0; l < WARP; l++)
                next[l] = fmaxf(lane_m[l], lane_m[l ^ m]);
            memcpy(lane_m, next, sizeof next);
        }
        for (int j = 0; j < nj; j++)
            w[j] = combine_weight(ml.data(), j, 2, lane_m[0]);
        const float L = combine_sum(w.data(), ml.data(), nj, 2);
        CHECK(memcmp(w.data(), w_ref.data(), sizeof(float) * nj) == 0 && memcmp(&L, &L_ref, 4) == 0,
              "trial %d (nj %d): L %.9g, one thread's %.9g", trial, nj, L, L_ref);
    }
    case_end();
}

/* The tf32 nearest to a finite float (its bits), from its two neighbours: x truncated to 10
 * mantissa bits, and one tf32 ulp further from zero (past the largest tf32, infinity, which for
 * the distance stands at 2^128); a tie goes away from zero, or with ties_even to the neighbour
 * whose last mantissa bit is 0. */
static uint32_t nearest_tf32(uint32_t xb, bool ties_even)
{
    const uint32_t down = xb & 0xffffe000u, up = down + 0x2000u;
    const double x = bits_float(xb), sign = xb >> 31 ? -1.0 : 1.0;
    const double vup = (up & 0x7fffffffu) == 0x7f800000u ? sign * 0x1p128 : (double)bits_float(up);
    const double dd = fabs(x - bits_float(down)), du = fabs(vup - x);
    if (dd != du)
        return dd < du ? down : up;
    return ties_even && ((down >> 13) & 1u) == 0 ? down : up;
}

/* Every float of the subnormal, the 1.0 and the top binades (both signs), then random floats
 * over 2^+-40: the rounding = nearest_tf32; the split: parts of 10 bits, x - hi exact, x - hi -
 * lo within 2^-22 |x|, the 3-term product within 2^-20. */
template <bool RN> static void check_split(void)
{
    const auto round = [](float x) { return RN ? tf32_rn(x) : tf32_rna(x); };
    for (uint32_t exp : { 0u, 127u, 254u })
        for (uint32_t sign : { 0u, 0x80000000u })
            for (uint32_t m = 0; m < (1u << 23); m++) {
                const uint32_t xb = sign | exp << 23 | m;
                CHECK(round(bits_float(xb)) == nearest_tf32(xb, RN), "x %08x: %08x, the nearest %08x", xb,
                      round(bits_float(xb)), nearest_tf32(xb, RN));
            }
    for (int k = 0; k < 200000; k++) {
        const float x = (float)ldexp(2.0 * rnd_unit() - 1.0, (int)(rnd64() % 80) - 40);
        const float y = (float)ldexp(2.0 * rnd_unit() - 1.0, (int)(rnd64() % 80) - 40);
        uint32_t xb;
        memcpy(&xb, &x, sizeof xb);
        CHECK(round(x) == nearest_tf32(xb, RN), "x %a: %08x, the nearest %08x", x, round(x), nearest_tf32(xb, RN));
        uint32_t xh, xl, yh, yl;
        split_tf32<RN>(x, xh, xl);
        split_tf32<RN>(y, yh, yl);
        CHECK((xh & 0x1fffu) == 0 && (xl & 0x1fffu) == 0, "x %a: parts %08x %08x", x, xh, xl);
        const double hx = bits_float(xh), lx = bits_float(xl), hy = bits_float(yh), ly = bits_float(yl);
        CHECK((double)(x - (float)hx) == (double)x - hx, "x %a: x - hi not exact", x);
        CHECK(fabs((double)x - hx - lx) <= 0x1p-22 * fabs((double)x), "x %a: hi %a lo %a", x, hx, lx);
        const double p = hx * hy + hx * ly + lx * hy, want = (double)x * (double)y;
        CHECK(fabs(p - want) <= 0x1p-20 * fabs(want), "%a * %a: 3xTF32 %.17g, exact %.17g", x, y, p, want);
    }
}

static void test_tf32(void)
{
    case_begin("tf32 split by cvt.rna: the nearest tf32, ties away (every subnormal, 1.0-binade and top-binade float); "
               "x - hi - lo within 2^-22 |x|; 3-term product within 2^-20");
    CHECK(tf32_value(tf32_rna(1.0f + 0x1p-11f)) == 1.0f + 0x1p-10f, "1 + 2^-11 should round up (tie, away)");
    CHECK(tf32_value(tf32_rna(-1.0f - 0x1p-11f)) == -1.0f - 0x1p-10f, "-(1 + 2^-11) should round away");
    CHECK(tf32_value(tf32_rna(1.0f + 0x1p-11f - 0x1p-23f)) == 1.0f, "1 + 2^-11 - 2^-23 should round down");
    CHECK(tf32_rna(0.0f) == 0u, "zero");
    CHECK(tf32_rna(bits_float(0x7f800000u)) == 0x7f800000u && tf32_rna(bits_float(0xff800000u)) == 0xff800000u,
          "infinities");
    CHECK(tf32_rna(bits_float(0x7f7fffffu)) == 0x7f800000u, "the largest float rounds to infinity (ties away)");
    for (uint32_t nan : { 0x7fc00000u, 0x7fffffffu, 0xffffffffu, 0x7f800001u, 0xffffe001u })
        CHECK(isnan(tf32_value(tf32_rna(bits_float(nan)))), "NaN %08x -> %08x", nan, tf32_rna(bits_float(nan)));
    check_split<false>();
    case_end();

    case_begin("tf32 split by cvt.rn: the nearest tf32, ties to even (every subnormal, 1.0-binade and top-binade "
               "float); the same bounds as cvt.rna's");
    CHECK(tf32_value(tf32_rn(1.0f + 0x1p-11f)) == 1.0f, "1 + 2^-11 should round to 1 (tie, even)");
    CHECK(tf32_value(tf32_rn(1.0f + 3 * 0x1p-11f)) == 1.0f + 0x1p-9f, "1 + 3 2^-11 should round up (tie, even)");
    CHECK(tf32_value(tf32_rn(-1.0f - 3 * 0x1p-11f)) == -1.0f - 0x1p-9f, "-(1 + 3 2^-11) should round to -(1 + 2^-9)");
    CHECK(tf32_rn(0.0f) == 0u && tf32_rn(-0.0f) == 0x80000000u, "zeros");
    CHECK(tf32_rn(bits_float(0x7f800000u)) == 0x7f800000u && tf32_rn(bits_float(0xff800000u)) == 0xff800000u,
          "infinities");
    CHECK(tf32_rn(bits_float(0x7f7fefffu)) == 0x7f7fe000u && tf32_rn(bits_float(0x7f7ff000u)) == 0x7f800000u,
          "the largest floats: below the last tf32's half ulp to it, from there on (a tie, to even) to infinity");
    for (uint32_t nan : { 0x7fc00000u, 0x7fffffffu, 0xffffffffu, 0x7f800001u, 0xffffe001u })
        CHECK(isnan(tf32_value(tf32_rn(bits_float(nan)))), "NaN %08x -> %08x", nan, tf32_rn(bits_float(nan)));
    check_split<true>();
    case_end();
}

/* ---- fragments and shared memory ----------------------------------------------------------- */
static void test_fragments(void)
{
    case_begin("mma.m16n8k8 fragments (A 16x8, B 8x8, C 16x8) and the fragment-ordered queries: bijections");
    int a[16][8] = {}, b[8][8] = {}, c[16][8] = {};
    for (int lane = 0; lane < WARP; lane++) {
        for (int i = 0; i < 4; i++) {
            a[frag_a_row(lane, i)][frag_a_col(lane, i)]++;
            c[frag_c_row(lane, i)][frag_c_col(lane, i)]++;
        }
        for (int i = 0; i < 2; i++)
            b[frag_b_k(lane, i)][frag_b_n(lane)]++;
    }
    for (int r = 0; r < 16; r++)
        for (int k = 0; k < 8; k++) {
            CHECK(a[r][k] == 1, "A (%d, %d) held %d times", r, k, a[r][k]);
            CHECK(c[r][k] == 1, "C (%d, %d) held %d times", r, k, c[r][k]);
            if (r < 8)
                CHECK(b[r][k] == 1, "B (%d, %d) held %d times", r, k, b[r][k]);
        }
    /* the C layout pairs columns 2t, 2t + 1 in elements (0, 1) and (2, 3): the kernel's float2 stores */
    for (int lane = 0; lane < WARP; lane++)
        CHECK(frag_c_col(lane, 1) == frag_c_col(lane, 0) + 1 && frag_c_row(lane, 1) == frag_c_row(lane, 0) &&
                  frag_c_col(lane, 0) % 2 == 0, "lane %d: C elements 0, 1 not a pair", lane);
    for (int mt = 1; mt <= 2; mt++) {
        const int HG = 16 * mt, ROW = 576, KS = ROW / 8;
        std::vector<int> seen((size_t)HG * ROW, 0);
        for (int idx = 0; idx < HG * ROW; idx++) {
            int h, col;
            qfrag_source<KS>(idx, h, col);
            CHECK(h >= 0 && h < HG && col >= 0 && col < ROW, "MT %d: index %d -> (%d, %d)", mt, idx, h, col);

            if (h >= 0 && h < HG && col >= 0 && col < ROW)
                seen[(size_t)h * ROW + col]++;
        }
        for (size_t e = 0; e < seen.size(); e++)
            CHECK(seen[e] == 1, "MT %d: query (%zu, %zu) held %d times", mt, e / ROW, e % ROW, seen[e]);
        /* the queries' loads by units (qunit_store): each store a lane's whole fragment, the
         * elements qfrag_source says, every index once, and a k-step's 8 units' stores s in 8
         * different groups of 4 banks */
        std::vector<int> stored((size_t)HG * ROW, 0);
        for (int u = 0; u < mt * KS * 8; u++)
            for (int s = 0; s < 4; s++) {
                int t;
                const int idx = qunit_store<KS>(u, s, t), g = u % 8, ks = (u / 8) % KS, m16 = u / 8 / KS * 16;
                CHECK(idx % 4 == 0 && idx >= 0 && idx + 4 <= HG * ROW, "MT %d unit %d store %d: index %d", mt, u, s,
                      idx);
                if (idx % 4 != 0 || idx < 0 || idx + 4 > HG * ROW)
                    continue;
                for (int i = 0; i < 4; i++) {
                    int h, col;
                    qfrag_source<KS>(idx + i, h, col);
                    CHECK(h == m16 + g + 8 * (i & 1) && col == ks * 8 + t + 4 * (i >> 1),
                          "MT %d unit %d store %d element %d: (%d, %d) where qfrag_source has (%d, %d)", mt, u, s, i,
                          m16 + g + 8 * (i & 1), ks * 8 + t + 4 * (i >> 1), h, col);
                    stored[idx + i]++;
                }
                if (g == 7) {
                    bool groups[8] = {};
                    for (int v = u - 7; v <= u; v++) {
                        int tv;
                        groups[qunit_store<KS>(v, s, tv) / 4 % 8] = true;
                    }
                    CHECK(std::count(groups, groups + 8, true) == 8, "MT %d units %d..%d store %d: banks shared", mt,
                          u - 7, u, s);
                }
            }
        for (size_t e = 0; e < stored.size(); e++)
            CHECK(stored[e] == 1, "MT %d: query index %zu stored %d times", mt, e, stored[e]);
    }
    case_end();
}

/* 32 lanes' 4-byte words at these float indices: 32 different banks (one wavefront). */
static bool banks_distinct(const int (&idx)[WARP])
{
    bool used[32] = {};
    for (int l = 0; l < WARP; l++) {
        const int bank = ((idx[l] % 32) + 32) % 32;
        if (used[bank])
            return false;
        used[bank] = true;
    }
    return true;
}

template <class D> static void test_banks(const char *what)
{
    char name[160];
    snprintf(name, sizeof name, "%s (T=%d): swizzle permutes each row; K, V, P fragment loads and cp.async stores conflict-free",
             what, D::T);
    case_begin(name);
    constexpr int ROW = D::ROW, T = D::T;
    mla_model::check_row_permutation(T, ROW, [](int r, int c) { return tile_at<ROW>(r, c); });
    for (int r = 0; r < T; r++)
        for (int col = 0; col < ROW; col += 4)
            CHECK((tile_at<ROW>(r, col) - r * ROW) % 4 == 0, "row %d col %d: a group does not start 16-byte aligned", r, col);
    /* the loaders read these addresses: recover them through a tile of indices */
    std::vector<float> tile((size_t)T * ROW);
    for (size_t e = 0; e < tile.size(); e++)
        tile[e] = (float)e;
    int idx[WARP];
    for (int i = 0; i < 2; i++) {
        for (int n0 = 0; n0 < T; n0 += 8)
            for (int k0 = 0; k0 < ROW; k0 += 8) {
                for (int l = 0; l < WARP; l++) {
                    float bk[2];
                    frag_k<ROW>(tile.data(), n0, k0, l, bk);
                    idx[l] = (int)bk[i];
                }
                CHECK(banks_distinct(idx), "K fragment n0 %d k0 %d element %d: bank conflict", n0, k0, i);
            }
        for (int k0 = 0; k0 < T; k0 += 8)
            for (int n0 = 0; n0 < D::L; n0 += 8) {
                for (int l = 0; l < WARP; l++) {
                    float bv[2];
                    frag_v<ROW>(tile.data(), k0, n0, l, bv);
                    idx[l] = (int)bv[i];
                }
                CHECK(banks_distinct(idx), "V fragment k0 %d n0 %d element %d: bank conflict", k0, n0, i);
            }
    }
    std::vector<float> p((size_t)D::HG * D::SP);
    for (size_t e = 0; e < p.size(); e++)
        p[e] = (float)e;
    for (int i = 0; i < 4; i++)
        for (int h0 = 0; h0 < D::HG; h0 += 16)
            for (int k0 = 0; k0 < T; k0 += 8) {
                for (int l = 0; l < WARP; l++) {
                    float a[4];
                    frag_p<D::SP>(p.data(), h0, k0, l, a);
                    idx[l] = (int)a[i];
                }
                CHECK(banks_distinct(idx), "P fragment h0 %d k0 %d element %d: bank conflict", h0, k0, i);
            }
    /* load_tile: thread i copies 16-byte group i, i + THREADS, ...; a 16-byte store wavefront is
     * 8 lanes, conflict-free when their 8 slots are 8 different 16-byte columns of the banks */
    constexpr int GPR = ROW / 4, N = T * GPR;
    for (int base = 0; base < N; base += 8) {
        bool used[8] = {};
        for (int l = 0; l < 8 && base + l < N; l++) {
            const int gi = base + l, r = gi / GPR, g = gi % GPR, slot16 = tile_at<ROW>(r, 4 * g) / 4 % 8;
            CHECK(!used[slot16], "cp.async groups %d..%d: bank conflict", base, base + 7);
            used[slot16] = true;
        }
    }
    case_end();
}

/* ---- one tile's products, lane by lane ----------------------------------------------------- */

/* mma.m16n8k8 on a warp's fragments: gather A and B through the layouts, D = C + A B with the
 * products exact and one rounding, scatter D back. */
static void emu_mma(uint32_t (&a)[WARP][4], uint32_t (&b)[WARP][2], float (&c)[WARP][4])
{
    double A[16][8], B[8][8], Cm[16][8];
    for (int l = 0; l < WARP; l++) {
        for (int i = 0; i < 4; i++) {
            A[frag_a_row(l, i)][frag_a_col(l, i)] = bits_float(a[l][i]);
            Cm[frag_c_row(l, i)][frag_c_col(l, i)] = c[l][i];
        }
        for (int i = 0; i < 2; i++)
            B[frag_b_k(l, i)][frag_b_n(l)] = bits_float(b[l][i]);
    }
    for (int l = 0; l < WARP; l++)
        for (int i = 0; i < 4; i++) {
            const int r = frag_c_row(l, i), n = frag_c_col(l, i);
            double s = Cm[r][n];
            for (int k = 0; k < 8; k++)
                s += A[r][k] * B[k][n];
            c[l][i] = (float)s;
        }
}

static void emu_mma3(uint32_t (&ah)[WARP][4], uint32_t (&al)[WARP][4], uint32_t (&bh)[WARP][2], uint32_t (&bl)[WARP][2],
                     float (&c)[WARP][4])
{
    emu_mma(al, bh, c);
    emu_mma(ah, bl, c);
    emu_mma(ah, bh, c);
}

/* S = Q K^T (tile_scores, then the 8 parts added in order as tile_softmax does) and O = P V
 * (tile_pv's per-tile sum), for D's head group, against fp64. */
template <class D> static void test_tile_products(const char *what)
{
    char name[160];
    snprintf(name, sizeof name, "%s: one tile's S = Q K^T and P V through shared memory and emulated 3xTF32 mma vs fp64",
             what);
    case_begin(name);
    constexpr int ROW = D::ROW, T = D::T, HG = D::HG;
    std::vector<float> q((size_t)HG * ROW), sQ(D::Q_F), tile((size_t)T * ROW), kv((size_t)T * ROW);
    for (auto &v : q)
        v = rnd_sym(2.5);
    for (auto &v : kv)
        v = rnd_sym(1.0);
    for (int i = 0; i < D::Q_F; i++) {
        int h, c;
        qfrag_source<D::KS>(i, h, c);
        sQ[i] = q[(size_t)h * ROW + c];
    }
    for (int r = 0; r < T; r++)
        for (int c = 0; c < ROW; c++)
            tile[tile_at<ROW>(r, c)] = kv[(size_t)r * ROW + c];

    /* scores: part[w][h][p] per warp, as tile_scores leaves them */
    std::vector<float> part((size_t)WARPS * HG * D::SP, 0.0f);
    for (int w = 0; w < WARPS; w++) {
        for (int mt = 0; mt < D::MT; mt++)
            for (int nt = 0; nt < D::NTS; nt++) {
                float acc[WARP][4] = {};
                for (int ks = ks_first(w, D::KS); ks < ks_first(w + 1, D::KS); ks++) {
                    uint32_t ah[WARP][4], al[WARP][4], bh[WARP][2], bl[WARP][2];
                    for (int l = 0; l < WARP; l++) {
                        for (int i = 0; i < 4; i++)
                            split_tf32<D::TF32_RN>(sQ[((size_t)(mt * D::KS + ks) * WARP + l) * 4 + i], ah[l][i], al[l][i]);
                        float b[2];
                        frag_k<ROW>(tile.data(), nt * 8, ks * 8, l, b);
                        for (int i = 0; i < 2; i++)
                            split_tf32<D::TF32_RN>(b[i], bh[l][i], bl[l][i]);
                    }
                    emu_mma3(ah, al, bh, bl, acc);
                }
                for (int l = 0; l < WARP; l++)
                    for (int i = 0; i < 4; i++)
                        part[((size_t)w * HG + mt * 16 + frag_c_row(l, i)) * D::SP + nt * 8 + frag_c_col(l, i)] = acc[l][i];
            }
    }
    double worst = 0.0;
    for (int h = 0; h < HG; h++)
        for (int p = 0; p < T; p++) {
            float s = 0.0f;
            for (int w = 0; w < WARPS; w++)
                s += part[((size_t)w * HG + h) * D::SP + p];
            double want = 0.0, mag = 0.0;
            for (int c = 0; c < ROW; c++) {
                want += (double)q[(size_t)h * ROW + c] * kv[(size_t)p * ROW + c];
                mag += fabs((double)q[(size_t)h * ROW + c] * kv[(size_t)p * ROW + c]);
            }
            /* 3xTF32 products within 2^-20; the mma chain (at most KSW k-steps) and the 8 parts:
             * 4 (KSW + 8) roundings */
            const double tol = (0x1p-20 + 4.0 * (D::KSW + 8) * U) * mag;
            worst = std::max(worst, fabs(s - want) / mag);
            CHECK(fabs(s - want) <= tol, "S[%d][%d]: %.9g, fp64 %.9g (tol %.3g)", h, p, s, want, tol);
        }

    /* P V: P in [0, 1] as tile_softmax writes it, o per 8 columns as tile_pv sums it */
    std::vector<float> sp((size_t)HG * D::SP, 0.0f);
    for (int h = 0; h < HG; h++)
        for (int p = 0; p < T; p++)
            sp[(size_t)h * D::SP + p] = (float)rnd_unit();
    for (int w = 0; w < WARPS; w++)
        for (int nt = 0; nt < D::NTO; nt++)
            for (int mt = 0; mt < D::MT; mt++) {
                float acc[WARP][4] = {};
                for (int kk = 0; kk < T / 8; kk++) {
                    uint32_t ah[WARP][4], al[WARP][4], bh[WARP][2], bl[WARP][2];
                    for (int l = 0; l < WARP; l++) {
                        float a[4], b[2];
                        frag_p<D::SP>(sp.data(), mt * 16, kk * 8, l, a);
                        for (int i = 0; i < 4; i++)
                            split_tf32<D::TF32_RN>(a[i], ah[l][i], al[l][i]);
                        frag_v<ROW>(tile.data(), kk * 8, (w * D::NTO + nt) * 8, l, b);
                        for (int i = 0; i < 2; i++)
                            split_tf32<D::TF32_RN>(b[i], bh[l][i], bl[l][i]);
                    }
                    emu_mma3(ah, al, bh, bl, acc);
                }
                for (int l = 0; l < WARP; l++)
                    for (int i = 0; i < 4; i++) {
                        const int h = mt * 16 + frag_c_row(l, i), c = (w * D::NTO + nt) * 8 + frag_c_col(l, i);
                        double want = 0.0, mag = 0.0;
                        for (int p = 0; p < T; p++) {
                            want += (double)sp[(size_t)h * D::SP + p] * kv[(size_t)p * ROW + c];
                            mag += fabs((double)sp[(size_t)h * D::SP + p] * kv[(size_t)p * ROW + c]);
                        }
                        const double tol = (0x1p-20 + 4.0 * T / 8 * U) * mag + 1e-30;
                        CHECK(fabs(acc[l][i] - want) <= tol, "O[%d][%d]: %.9g, fp64 %.9g (tol %.3g)", h, c, acc[l][i],
                              want, tol);
                    }
            }
    case_end();
    printf("   (S: worst |error| / sum|q k| = %.2e)\n", worst);
}

/* ---- the online softmax, the partials and the merge (mla_model.h) ------------------------- */

using mla_model::NCOL;
using mla_model::token_data;

/* One token, one head (scores s[0..len), values v[p][NCOL]): block y of ny in partial_k, tile
 * by tile, step for step (the tile's P V summed in position order: the model of the mma's
 * sum), each chunk's partial into its workspace record. */
template <class D> static void model_block(const token_data &d, int y, int ny, int t, int h, float *ws)
{
    const int len = d.len, cl = chunk_len(len, D::C, D::JMAX), nj = (len + cl - 1) / cl;
    run st = run_start();
    float o[NCOL] = {};
    for (tile_cursor cur = { y, 0 }; cur.j < nj; next_tile(cur, cl, len, D::T, ny)) {
        const int p_end = std::min((cur.j + 1) * cl, len), tp = cur.j * cl + cur.i * D::T;
        float sc[WARP], e[WARP], tmax = -INFINITY;
        for (int l = 0; l < WARP; l++) {
            sc[l] = l < D::T && tp + l < p_end ? d.s[tp + l] : -INFINITY;
            tmax = fmaxf(tmax, sc[l]);
        }
        float mnew;
        const float corr = run_corr(st, tmax, &mnew);
        for (int l = 0; l < WARP; l++)
            e[l] = l < D::T && tp + l < p_end ? expf(sc[l] - mnew) : 0.0f;
        bool same;
        run_add(st, mnew, corr, warp_butterfly(e, &same));
        for (int c = 0; c < NCOL; c++) {
            float acc = 0.0f;
            for (int l = 0; l < D::T; l++)
                acc += e[l] * (tp + l < p_end ? d.v[(size_t)(tp + l) * NCOL + c] : 0.0f);
            o[c] = fmaf(o[c], corr, acc);
        }
        if (cur.i == chunk_tiles(cur.j, cl, len, D::T) - 1)
            mla_model::write_partial<D>(ws + D::rec_at(t, cur.j), h, o, st);
    }
}

static float as_is(float x) { return x; }

int main(void)
{
    rng = 0x243f6a8885a308d3ull;
    test_chunks(8, 4, 200, 1);
    test_chunks(V2A::C, V2A::JMAX, 300000, 97);
    test_chunks(V3B::C, V3B::JMAX, 300000, 97);
    test_split_chunk();
    test_tile_stream();
    test_slices<16, 512, 64, 32768, 8>("slices, V2-Lite's shape (S 8, cap 128)");
    test_slices<128, 512, 64, 8192, 8>("slices, V3's shape (S 8, cap 32)");
    test_slices<16, 256, 32, 1024, 16>("slices, the mid-size models' shape (S 16, cap 4)");
    test_slices<16, 512, 64, 32768, 8, uint16_t>("slices, V2-Lite's shape over a bf16 cache (S 8, cap 128, chunks of "
                                                 "128)");
    {
        /* what the slices gain: V2-Lite's shape, a 512-token prompt in two steps of 256 */
        case_begin("slices, V2-Lite's shape: a 512-token prompt's steps (positions 0..255, 256..511) in 1 slice (up to "
                   "4 chunks a token) and 2 (146 tokens of up to 7 chunks, 110 of 8), S 8");
        const int first = check_slices<V2A::C, V2A::JMAX, 8>(run_of(0, 256), "0..255");
        const int second = check_slices<V2A::C, V2A::JMAX, 8>(run_of(256, 256), "256..511");
        const split_slice s = next_split_slice<V2A::C, V2A::JMAX, 8>(run_of(256, 256).data(), 0, 256);
        CHECK(first == 1 && second == 2 && s.n == 146 && s.stride == 7, "%d and %d slices; the second step's first: %d "
              "tokens at stride %d", first, second, s.n, s.stride);
        case_end();
    }
    test_tf32();
    test_combine_weights();
    test_fragments();
    test_banks<V2A>("V2-Lite shape, MT=1");
    test_banks<V3B>("V3 shape, MT=2");
    test_banks<R288>("a row of 288, MT=1");
    test_tile_products<V2A>("16 heads, T=32, the splits by cvt.rn");
    test_tile_products<V3B>("32 heads, T=16");
    test_tile_products<R288>("16 heads, a row of 288 (k-steps 4 and 5 a warp)");
    test_tile_products<V2B>("16 heads, T=32, the splits by cvt.rna");
    mla_model::softmax_split<V2A>("chunk 64, tiles of 32 (cap 128): partials merged in chunk order = fp64 softmax, "
                                  "also rising scores", model_block<V2A>, 0.0, 40000, as_is);
    mla_model::softmax_split<SMALL>("chunk 64, tiles of 32 (cap 16): partials merged in chunk order = fp64 softmax, "
                                    "also rising scores", model_block<SMALL>, 0.0, 5000, as_is);
    mla_model::invariance<SMALL>("chunk 64, cap 16: a token alone = in a batch of 16, bit for bit, whatever grid and "
                                 "chunk order", 3 * SMALL::C * SMALL::JMAX / 2, model_block<SMALL>, as_is);
    mla_model::invariance<SMALL>("chunk 64, cap 16, tokens of up to 6 chunks: their records fewer apart (a prefill "
                                 "slice's stride), the same bits", 6 * SMALL::C, model_block<SMALL>, as_is);
    return host_test_summary();
}
