/* test_mla_bf16.cu: host-side tests of the bf16-cache split-KV MLA decode kernel's
 * __host__ __device__ pieces (runtime/cuda/mla_decode_bf16.cuh), run on the CPU in CI, where
 * there is no GPU. Compiled by nvcc, so these are the very functions the device code compiles.
 *
 *  - bf16 terms: each difference exact; three terms give x back, two within 2^-16 |x|;
 *  - fragments: the mma.m16n8k16 layouts are bijections; the weights' fragment order
 *    (pfrag_at) is the inverse of the A fragments' (afrag_source);
 *  - ldmatrix emulated lane by lane from the swizzled tile through the kernel's addresses:
 *    K^T's and V's B fragments as mma.m16n8k16 wants them, every address 16-byte aligned,
 *    every 8 x 8 matrix one wavefront (no bank conflict); the swizzle permutes each row and
 *    the cp.async stores are conflict-free;
 *  - one tile's S = Q K^T (QT query terms) and P V (PT weight terms), built lane by lane as the
 *    kernel does, with an emulated mma (exact products, one rounding per instruction), against
 *    fp64;
 *  - the block's steps over a token (the online softmax with PPL positions a lane, the weights
 *    as PT terms, o scaled then accumulated, partials merged by mla_decode.cuh's combine) against
 *    a one-pass fp64 softmax, and a token alone = in a batch, on any grid, bit for bit.
 * What the device adds (the mma's internal summation, expf's last bit, the shuffles) is not
 * modelled bit for bit; tests/cuda/mla_check.cu checks the kernel on a GPU.
 * Prints "ok NAME" / "FAIL NAME: detail" per case, then "N passed, M failed". */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "host_test.h"
#include "mla_decode_bf16.cuh"
#include "mla_model.h"
#include "mla_split_cfg.cuh"

using namespace dfc;
using namespace dfc::mla;

static const double U = 0x1p-24;

/* The configuration the generated code uses (mla_split_cfg.cuh: tiles of 64, 3 query and 2 weight
 * terms), one with tiles of 32 (two k-parts per n-tile) and 3 stages, and a small one whose
 * JMAX cap is reached at 1024 positions. */
using B64 = mla_split_bf16_cfg<16, 512, 64, 32768>;
using B32 = mla_decode_bf16_cfg<16, 512, 64, 32768, B64::C, 128, 32, 3, 2, 1>;
using BSMALL = mla_decode_bf16_cfg<16, 256, 64, 4096, 64, 16, 32, 2, 3, 2>;

static float bf16f(uint16_t b) { return bf16_to_f32(b); }

/* ---- bf16 terms ----------------------------------------------------------------------------- */
static void test_split(void)
{
    case_begin("bf16 terms: differences exact; 3 terms = x, 2 within 2^-16 |x|, 1 within 2^-8 |x|");
    for (int k = 0; k < 200000; k++) {
        const float x = (float)ldexp(2.0 * rnd_unit() - 1.0, (int)(rnd64() % 80) - 40);
        uint16_t t3[3], t2[2], t1[1];
        split_bf16<3>(x, t3);
        split_bf16<2>(x, t2);
        split_bf16<1>(x, t1);
        CHECK(t2[0] == t3[0] && t2[1] == t3[1] && t1[0] == t3[0], "x %a: the terms depend on their count", x);
        CHECK((double)x - bf16f(t3[0]) == (double)(x - bf16f(t3[0])), "x %a: x - t0 not exact", x);
        const double s3 = (double)bf16f(t3[0]) + bf16f(t3[1]) + bf16f(t3[2]), s2 = (double)bf16f(t2[0]) + bf16f(t2[1]);
        CHECK(s3 == (double)x, "x %a: three terms give %a", x, s3);
        CHECK(fabs(s2 - x) <= 0x1p-16 * fabs(x), "x %a: two terms off by %a", x, s2 - x);
        CHECK(fabs((double)bf16f(t1[0]) - x) <= 0x1p-8 * fabs(x), "x %a: one term off", x);
    }
    uint16_t z[3];
    split_bf16<3>(0.0f, z);
    CHECK(z[0] == 0 && z[1] == 0 && z[2] == 0, "zero");
    CHECK(pack_bf16(0x1234, 0xabcd) == 0xabcd1234u, "pack: the first element in the low half");
    case_end();
}

/* ---- fragments --------------------------------------------------------------------------------- */
template <class D> static void test_fragments(const char *what)
{
    char name[160];
    snprintf(name, sizeof name, "%s: mma.m16n8k16 A/B/C layouts bijections; pfrag_at inverts afrag_source (T=%d)", what, D::T);
    case_begin(name);
    int a[16][16] = {}, b[16][8] = {};
    for (int lane = 0; lane < WARP; lane++) {
        for (int r = 0; r < 4; r++)
            for (int e = 0; e < 2; e++)
                a[frag16_a_row(lane, r)][frag16_a_col(lane, r) + e]++;
        for (int r = 0; r < 2; r++)
            for (int e = 0; e < 2; e++)
                b[frag16_b_k(lane, r) + e][frag16_b_n(lane)]++;
    }
    for (int r = 0; r < 16; r++)
        for (int c = 0; c < 16; c++) {
            CHECK(a[r][c] == 1, "A (%d, %d) held %d times", r, c, a[r][c]);
            if (c < 8)
                CHECK(b[r][c] == 1, "B (%d, %d) held %d times", r, c, b[r][c]);
        }
    /* the weights: every (head, position) of a tile to its own slot, the slot's A element */
    std::vector<int> seen((size_t)D::KT * 256, 0);
    for (int h = 0; h < 16; h++)
        for (int p = 0; p < D::T; p++) {
            const int idx = pfrag_at(h, p), half = idx & 1, r = (idx >> 1) & 3, lane = (idx >> 3) & 31, kk = idx >> 8;
            CHECK(idx >= 0 && idx < D::KT * 256, "(%d, %d) -> %d", h, p, idx);
            if (idx < 0 || idx >= D::KT * 256)
                continue;
            seen[idx]++;
            int row, col;
            afrag_source(kk, lane, r, row, col);
            CHECK(row == h && col + half == p, "(%d, %d) -> slot of (%d, %d)", h, p, row, col + half);
        }
    for (size_t i = 0; i < seen.size(); i++)
        CHECK(seen[i] == 1, "weight slot %zu used %d times", i, seen[i]);
    case_end();
}

/* ---- ldmatrix and the swizzled tile --------------------------------------------------------------- */

/* ldmatrix.x4 (.trans) as the PTX ISA describes it: lane l's address gives row l % 8 of matrix
 * l / 8 (8 consecutive b16); register m of lane l gets matrix m's (row l / 4, columns 2 (l % 4),
 * + 1), or transposed its (rows 2 (l % 4), + 1, column l / 4), the first in the low half. */
static void emu_ldmatrix(const std::vector<uint16_t> &tile, const int (&addr)[WARP], bool trans, uint32_t (&reg)[WARP][4])
{
    for (int l = 0; l < WARP; l++)
        for (int m = 0; m < 4; m++) {
            const int g = l / 4, t = l % 4;
            uint16_t e[2];
            for (int j = 0; j < 2; j++)
                e[j] = trans ? tile[addr[8 * m + 2 * t + j] + g] : tile[addr[8 * m + g] + 2 * t + j];
            reg[l][m] = pack_bf16(e[0], e[1]);
        }
}

/* One 8 x 8 matrix's 8 row addresses: 16-byte aligned, 8 different 16-byte columns of the banks. */
static bool phase_ok(const int *addr8)
{
    bool used[8] = {};
    for (int i = 0; i < 8; i++) {
        if (addr8[i] % 8 != 0)
            return false;
        const int slot = addr8[i] / 8 % 8; /* 16-byte column of the 32 banks: byte offset / 16 mod 8 */
        if (used[slot])
            return false;
        used[slot] = true;
    }
    return true;
}

template <class D> static void test_ldmatrix(const char *what)
{
    char name[200];
    snprintf(name, sizeof name, "%s (T=%d): swizzle permutes rows; ldmatrix gives K^T's and V's B fragments, conflict-free; cp.async stores conflict-free",
             what, D::T);
    case_begin(name);
    constexpr int ROW = D::ROW, T = D::T;
    mla_model::check_row_permutation(T, ROW, [](int r, int c) { return tile16_at<ROW>(r, c); });
    /* a tile of distinct values: cache row p, column c holds id(p, c) */
    auto id = [](int p, int c) { return (uint16_t)((p * ROW + c) % 65521); };
    std::vector<uint16_t> tile((size_t)T * ROW);
    for (int p = 0; p < T; p++)
        for (int c = 0; c < ROW; c++)
            tile[tile16_at<ROW>(p, c)] = id(p, c);
    int addr[WARP];
    uint32_t reg[WARP][4];
    /* S: k-step ks, n-tiles n0, n0 + 8; B(k, n) = K^T(k, n) = cache row n0 + n, column k */
    for (int n0 = 0; n0 < T; n0 += 16)
        for (int ks = 0; ks < D::KS; ks++) {
            for (int l = 0; l < WARP; l++)
                addr[l] = tile16_at<ROW>(ldm_k_row(l, n0), ldm_k_col(l, ks));
            for (int m = 0; m < 4; m++)
                CHECK(phase_ok(addr + 8 * m), "K n0 %d ks %d matrix %d: misaligned or bank conflict", n0, ks, m);
            emu_ldmatrix(tile, addr, false, reg);
            for (int l = 0; l < WARP; l++)
                for (int u = 0; u < 2; u++)
                    for (int r = 0; r < 2; r++) {
                        const int k = 16 * ks + frag16_b_k(l, r), n = n0 + 8 * u + frag16_b_n(l);
                        CHECK(reg[l][2 * u + r] == pack_bf16(id(n, k), id(n, k + 1)), "K n0 %d ks %d lane %d reg %d", n0, ks,
                              l, 2 * u + r);
                    }
        }
    /* P V: k-step at p0, n-tiles c0, c0 + 8; B(k, n) = V(k, n) = cache row p0 + k, column c0 + n */
    for (int p0 = 0; p0 < T; p0 += 16)
        for (int c0 = 0; c0 < D::L; c0 += 16) {
            for (int l = 0; l < WARP; l++)
                addr[l] = tile16_at<ROW>(ldm_v_row(l, p0), ldm_v_col(l, c0));
            for (int m = 0; m < 4; m++)
                CHECK(phase_ok(addr + 8 * m), "V p0 %d c0 %d matrix %d: misaligned or bank conflict", p0, c0, m);
            emu_ldmatrix(tile, addr, true, reg);
            for (int l = 0; l < WARP; l++)
                for (int u = 0; u < 2; u++)
                    for (int r = 0; r < 2; r++) {
                        const int k = p0 + frag16_b_k(l, r), n = c0 + 8 * u + frag16_b_n(l);
                        CHECK(reg[l][2 * u + r] == pack_bf16(id(k, n), id(k + 1, n)), "V p0 %d c0 %d lane %d reg %d", p0,
                              c0, l, 2 * u + r);
                    }
        }
    /* load_tile16: thread i copies 16-byte group i, i + THREADS, ...; 8 lanes a wavefront */
    constexpr int GPR = ROW / 8, N = T * GPR;
    for (int base = 0; base < N; base += 8) {
        int a8[8];
        for (int l = 0; l < 8; l++) {
            const int gi = std::min(base + l, N - 1);
            a8[l] = tile16_at<ROW>(gi / GPR, 8 * (gi % GPR));
        }
        CHECK(base + 8 > N || phase_ok(a8), "cp.async groups %d..%d: bank conflict", base, base + 7);
    }
    case_end();
}

/* ---- one tile's products, lane by lane --------------------------------------------------------- */

/* mma.m16n8k16 (bf16) on a warp's fragments: D = C + A B, products exact, one rounding. */
static void emu_mma16(const uint32_t (&a)[WARP][4], const uint32_t (&b)[WARP][2], float (&c)[WARP][4])
{
    double A[16][16], B[16][8], Cm[16][8];
    for (int l = 0; l < WARP; l++) {
        for (int r = 0; r < 4; r++)
            for (int e = 0; e < 2; e++)
                A[frag16_a_row(l, r)][frag16_a_col(l, r) + e] = bf16f((uint16_t)(a[l][r] >> (16 * e)));
        for (int r = 0; r < 2; r++)
            for (int e = 0; e < 2; e++)
                B[frag16_b_k(l, r) + e][frag16_b_n(l)] = bf16f((uint16_t)(b[l][r] >> (16 * e)));
        for (int i = 0; i < 4; i++)
            Cm[frag_c_row(l, i)][frag_c_col(l, i)] = c[l][i];
    }
    for (int l = 0; l < WARP; l++)
        for (int i = 0; i < 4; i++) {
            const int r = frag_c_row(l, i), n = frag_c_col(l, i);
            double s = Cm[r][n];
            for (int k = 0; k < 16; k++)
                s += A[r][k] * B[k][n];
            c[l][i] = (float)s;
        }
}

/* The block's queries as the kernel's load_queries16 lays them out: uint32 index
 * ((term KS + ks) 32 + lane) 4 + r. */
template <class D> static std::vector<uint32_t> query_terms(const std::vector<float> &q)
{
    std::vector<uint32_t> sQ((size_t)D::QT * D::KS * WARP * 4);
    for (int i = 0; i < D::KS * WARP * 4; i++) {
        int h, c;
        afrag_source(i >> 7, (i >> 2) & (WARP - 1), i & 3, h, c);
        uint16_t a[D::QT], b[D::QT];
        split_bf16<D::QT>(q[(size_t)h * D::ROW + c], a);
        split_bf16<D::QT>(q[(size_t)h * D::ROW + c + 1], b);
        for (int k = 0; k < D::QT; k++)
            sQ[(size_t)k * D::KS * WARP * 4 + i] = pack_bf16(a[k], b[k]);
    }
    return sQ;
}

/* S (tile_scores16, then the KP parts added in order) and O = P V (tile_pv16 from o = 0) for a
 * tile of random bf16 rows, against fp64. */
template <class D> static void test_tile_products(const char *what)
{
    char name[200];
    snprintf(name, sizeof name, "%s: one tile's S = Q K^T (%d query terms) and P V (%d weight terms), emulated mma vs fp64", what,
             D::QT, D::PT);
    case_begin(name);
    constexpr int ROW = D::ROW, T = D::T;
    std::vector<float> q((size_t)16 * ROW), kv((size_t)T * ROW);
    std::vector<uint16_t> tile((size_t)T * ROW);
    for (auto &v : q)
        v = rnd_sym(2.5);
    for (int p = 0; p < T; p++)
        for (int c = 0; c < ROW; c++) {
            const uint16_t b = f32_bf16_bits(rnd_sym(1.0));
            kv[(size_t)p * ROW + c] = bf16f(b);
            tile[tile16_at<ROW>(p, c)] = b;
        }
    const std::vector<uint32_t> sQ = query_terms<D>(q);
    int addr[WARP];
    uint32_t reg[WARP][4];

    std::vector<float> part((size_t)D::KP * 16 * D::SP, 0.0f);
    for (int w = 0; w < WARPS; w++) { /* tile_scores16: k-part w / 2, half w % 2 of the tile */
        const int kp = w / 2, n0 = (w % 2) * D::NTW * 8;
        float acc[2][D::NTW][WARP][4] = {};
        for (int s = 0; s < D::KSW; s++) {
            const int ks = kp * D::KSW + s;
            for (int np = 0; np < D::NTW / 2; np++) {
                for (int l = 0; l < WARP; l++)
                    addr[l] = tile16_at<ROW>(ldm_k_row(l, n0 + 16 * np), ldm_k_col(l, ks));
                emu_ldmatrix(tile, addr, false, reg);
                for (int u = 0; u < 2; u++)
                    for (int k = D::QT - 1; k >= 0; k--) {
                        uint32_t a[WARP][4], b[WARP][2];
                        for (int l = 0; l < WARP; l++) {
                            for (int r = 0; r < 4; r++)
                                a[l][r] = sQ[(((size_t)k * D::KS + ks) * WARP + l) * 4 + r];
                            b[l][0] = reg[l][2 * u];
                            b[l][1] = reg[l][2 * u + 1];
                        }
                        emu_mma16(a, b, acc[s & 1][2 * np + u]);
                    }
            }
        }
        for (int nt = 0; nt < D::NTW; nt++)
            for (int l = 0; l < WARP; l++)
                for (int i = 0; i < 4; i++)
                    part[((size_t)kp * 16 + frag_c_row(l, i)) * D::SP + n0 + nt * 8 + frag_c_col(l, i)] =
                        acc[0][nt][l][i] + acc[1][nt][l][i];
    }
    double worst = 0.0;
    for (int h = 0; h < 16; h++)
        for (int p = 0; p < T; p++) {
            float s = 0.0f;
            for (int v = 0; v < D::KP; v++)
                s += part[((size_t)v * 16 + h) * D::SP + p];
            double want = 0.0, mag = 0.0;
            for (int c = 0; c < ROW; c++) {
                want += (double)q[(size_t)h * ROW + c] * kv[(size_t)p * ROW + c];
                mag += fabs((double)q[(size_t)h * ROW + c] * kv[(size_t)p * ROW + c]);
            }
            /* the query's terms (exact at 3), one rounding per mma, the two accumulators' sum and
             * the parts' */
            const double tol = (ldexp(1.0, -8 * D::QT) + (D::QT * D::KSW + D::KP + 3) * U) * mag;
            worst = std::max(worst, fabs(s - want) / mag);
            CHECK(fabs(s - want) <= tol, "S[%d][%d]: %.9g, fp64 %.9g (tol %.3g)", h, p, s, want, tol);
        }

    /* P V: weights in [0, 1] written as the softmax writes them, o as tile_pv16 sums it */
    std::vector<float> pw((size_t)16 * T);
    std::vector<uint16_t> sP((size_t)D::PT * D::KT * 256);
    for (int h = 0; h < 16; h++)
        for (int p = 0; p < T; p++) {
            pw[(size_t)h * T + p] = (float)rnd_unit();
            uint16_t t[D::PT];
            split_bf16<D::PT>(pw[(size_t)h * T + p], t);
            for (int j = 0; j < D::PT; j++)
                sP[(size_t)j * D::KT * 256 + pfrag_at(h, p)] = t[j];
        }
    for (int w = 0; w < WARPS; w++) {
        float o[D::NTO][WARP][4] = {};
        for (int kk = 0; kk < D::KT; kk++)
            for (int nt = 0; nt < D::NTO; nt += 2) {
                for (int l = 0; l < WARP; l++)
                    addr[l] = tile16_at<ROW>(ldm_v_row(l, 16 * kk), ldm_v_col(l, (w * D::NTO + nt) * 8));
                emu_ldmatrix(tile, addr, true, reg);
                for (int u = 0; u < 2; u++) /* per n-tile the same order as the kernel's */
                    for (int j = D::PT - 1; j >= 0; j--) {
                        uint32_t a[WARP][4], b[WARP][2];
                        for (int l = 0; l < WARP; l++) {
                            for (int r = 0; r < 4; r++) {
                                const size_t at = (((size_t)j * D::KT + kk) * WARP + l) * 8 + 2 * r;
                                a[l][r] = pack_bf16(sP[at], sP[at + 1]);
                            }
                            b[l][0] = reg[l][2 * u];
                            b[l][1] = reg[l][2 * u + 1];
                        }
                        emu_mma16(a, b, o[nt + u]);
                    }
            }
        for (int nt = 0; nt < D::NTO; nt++)
            for (int l = 0; l < WARP; l++)
                for (int i = 0; i < 4; i++) {
                    const int h = frag_c_row(l, i), c = (w * D::NTO + nt) * 8 + frag_c_col(l, i);
                    double want = 0.0, mag = 0.0;
                    for (int p = 0; p < T; p++) {
                        want += (double)pw[(size_t)h * T + p] * kv[(size_t)p * ROW + c];
                        mag += fabs((double)pw[(size_t)h * T + p] * kv[(size_t)p * ROW + c]);
                    }
                    const double tol = (ldexp(1.0, -8 * D::PT) + (D::PT * D::KT + 2) * U) * mag + 1e-30;
                    CHECK(fabs(o[nt][l][i] - want) <= tol, "O[%d][%d]: %.9g, fp64 %.9g (tol %.3g)", h, c, o[nt][l][i], want,
                          tol);
                }
    }
    case_end();
    printf("   (S: worst |error| / sum|q k| = %.2e)\n", worst);
}

/* ---- the block's steps over a token, and the merge (mla_model.h) ------------------------------ */

using mla_model::NCOL;
using mla_model::token_data;

/* One token, one head: block y of ny in partial16_k, tile by tile, step for step: the score of
 * lane l's positions l + 32 i, the lane's max, the tile max, corr; each weight, the lane's
 * weights added in order, the butterfly; o scaled by corr, then the tile's weights (as PT
 * terms) times the values added in position order (the model of the mma's sum); each chunk's
 * partial into its record. */
template <class D> static void model_block(const token_data &d, int y, int ny, int t, int h, float *ws)
{
    const int len = d.len, cl = chunk_len(len, D::C, D::JMAX), nj = (len + cl - 1) / cl;
    run st = run_start();
    float o[NCOL] = {};
    for (tile_cursor cur = { y, 0 }; cur.j < nj; next_tile(cur, cl, len, D::T, ny)) {
        const int p_end = std::min((cur.j + 1) * cl, len), tp = cur.j * cl + cur.i * D::T;
        float lmax[WARP], lsum[WARP], e[D::T] = {}, tmax = -INFINITY;
        for (int l = 0; l < WARP; l++) {
            lmax[l] = -INFINITY;
            for (int i = 0; i < D::PPL; i++) {
                const int p = l + WARP * i;
                lmax[l] = fmaxf(lmax[l], tp + p < p_end ? d.s[tp + p] : -INFINITY);
            }
            tmax = fmaxf(tmax, lmax[l]);
        }
        float mnew;
        const float corr = run_corr(st, tmax, &mnew);
        for (int l = 0; l < WARP; l++) {
            lsum[l] = 0.0f;
            for (int i = 0; i < D::PPL; i++) {
                const int p = l + WARP * i;
                e[p] = tp + p < p_end ? expf(d.s[tp + p] - mnew) : 0.0f;
                lsum[l] += e[p];
            }
        }
        bool same;
        run_add(st, mnew, corr, warp_butterfly(lsum, &same));
        for (int c = 0; c < NCOL; c++) {
            double acc = 0.0;
            for (int p = 0; p < D::T; p++) {
                uint16_t tm[D::PT];
                split_bf16<D::PT>(e[p], tm);
                double ep = 0.0;
                for (int j = 0; j < D::PT; j++)
                    ep += bf16f(tm[j]);
                acc += ep * (tp + p < p_end ? d.v[(size_t)(tp + p) * NCOL + c] : 0.0);
            }
            o[c] = (float)((double)(o[c] * corr) + acc);
        }
        if (cur.i == chunk_tiles(cur.j, cl, len, D::T) - 1)
            mla_model::write_partial<D>(ws + D::rec_at(t, cur.j), h, o, st);
    }
}

static float to_bf16(float x) { return bf16f(f32_bf16_bits(x)); }

int main(void)
{
    rng = 0x13198a2e03707344ull;
    test_split();
    test_fragments<B64>("tiles of 64");
    test_fragments<B32>("tiles of 32");
    test_ldmatrix<B64>("V2-Lite shape, 576 a row");
    test_ldmatrix<BSMALL>("kv_lora 256, 320 a row");
    test_tile_products<B64>("16 heads, T=64, 3+2 terms");
    test_tile_products<B32>("16 heads, T=32, 2+1 terms");
    /* the weights' PT terms: each within 2^-8 PT relative */
    mla_model::softmax_split<B64>("chunk 128, tiles of 64 (cap 128), 2 weight terms: partials merged in chunk order = "
                                  "fp64 softmax, also rising scores", model_block<B64>, ldexp(1.0, -8 * B64::PT), 40000, to_bf16);
    mla_model::softmax_split<BSMALL>("chunk 64, tiles of 32 (cap 16), 2 weight terms: partials merged in chunk order = "
                                     "fp64 softmax, also rising scores", model_block<BSMALL>, ldexp(1.0, -8 * BSMALL::PT), 5000,
                                     to_bf16);
    mla_model::invariance<BSMALL>("chunk 64, cap 16: a token alone = in a batch of 16, bit for bit, whatever grid and "
                                  "chunk order", 3 * BSMALL::C * BSMALL::JMAX / 2, model_block<BSMALL>, to_bf16);
    return host_test_summary();
}
