/* mla_decode.cuh: absorbed MLA decode attention over the f32 latent cache, split along the
 * sequence (FlashMLA's plan, on the reference-precision cache; docs/cuda-mla.md).
 *
 * In:  q      [token][head][L + R]  absorbed queries [q_lat | q_pe] (runtime/kernels/mla.h:
 *                                   q_lat = W_uk(h)^T q_nope, q_pe roped)
 *      cache  per slot CTX rows of [c_kv (L) | k_pe (R)] floats (mla_cache_write's layout)
 *      slot, pos per token: it attends to positions 0..pos of its slot
 * Out: o_lat  [token][head][L] = sum_p softmax_p(scale (q_lat . c_kv[p] + q_pe . k_pe[p])) c_kv[p]
 *      (W_uv is applied afterwards: mla_split.cuh's mla_combine_out_k merges the partials and
 *      applies it in one launch; mla_decode's combine_k leaves o_lat).
 *
 * Plan:
 *  - a block holds 16 x MT heads of one token (the M side of the tensor-core products), so one
 *    pass over the cache serves them all: DeepSeek-V2-Lite's 16 heads are one block, V3's 128
 *    are 8 / MT blocks launched side by side, whose repeated reads L2 serves;
 *  - a token's positions are cut into chunks whose length is a function of its position alone
 *    (chunk_len); each chunk gives, per head, a partial (max m, sum l, unnormalized o) written
 *    to the workspace; a block takes chunks y, y + gridDim.y, ... (which block computes a chunk
 *    changes no bit of it, so gridDim.y may follow the batch and the SM count);
 *  - a block streams its chunks' tiles of T positions through shared memory, STAGES deep
 *    (cp.async, across chunk ends); per tile: S = Q K^T over the L + R columns, the online
 *    softmax per head, O = O corr + P V;
 *  - the products are tensor-core mma.sync m16n8k8 in 3xTF32: each float x is hi + lo (two
 *    tf32, x - hi - lo within 2^-22 |x|), and x y = hi_x hi_y + hi_x lo_y + lo_x hi_y to about
 *    2^-21 relative: float32-level results at a third of the tensor-core tf32 rate, where one
 *    tf32 product would keep 3 decimal digits;
 *  - a second kernel merges each (token, head)'s partials in chunk order.
 * Every sum runs in an order fixed by the shapes and the token's position, without atomics:
 * a token's output has the same bits alone or in any batch, in any slot, on any grid.
 *
 * The pure pieces (chunks, the softmax state and merge, the tf32 split, fragment layouts,
 * the shared-memory swizzle) are __host__ __device__ and tested on the CPU by
 * tests/cuda/test_mla_split.cu; tests/cuda/mla_check.cu runs the kernels on a GPU. */
#ifndef DF_CUDA_MLA_DECODE_CUH
#define DF_CUDA_MLA_DECODE_CUH

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cuda_rt.h"
#include "kernels/hd.h"
#include "launch.cuh"

namespace dfc {
namespace mla {

constexpr int WARP = 32, WARPS = 8, THREADS = WARP * WARPS; /* the partial kernel's block */

/* Warp w's k-steps of S (8 columns each) are [ks_first(w, KS), ks_first(w + 1, KS)): KS / 8 a
 * warp when the 8 warps divide KS (L + R a multiple of 64), else floor and ceil shares (a row of
 * 288: 36 k-steps, 4 and 5 by turns). */
DF_HD constexpr int ks_first(int w, int KS) { return w * KS / WARPS; }

/* ---- chunks: a function of the position alone ------------------------------------------- */

/* Positions per chunk for a token attending to len positions: C while that makes at most JMAX
 * chunks, else the smallest multiple of C that does (the workspace holds JMAX partials per
 * token). Chunk j covers [j cl, min((j + 1) cl, len)). */
DF_HD constexpr int chunk_len(int len, int C, int JMAX) { return C * ((len + C * JMAX - 1) / (C * JMAX)); }
DF_HD constexpr int chunk_count(int len, int C, int JMAX)
{
    return (len + chunk_len(len, C, JMAX) - 1) / chunk_len(len, C, JMAX);
}

/* A block takes chunks y, y + ny, ... (ny = gridDim.y) and streams their tiles of T positions
 * in order, chunk j's tile i; the loads run STAGES - 1 tiles ahead, across chunk ends. */
struct tile_cursor {
    int j, i;
};

DF_HD constexpr int chunk_tiles(int j, int cl, int len, int T)
{
    return (((j + 1) * cl < len ? cl : len - j * cl) + T - 1) / T;
}

DF_HD inline void next_tile(tile_cursor &c, int cl, int len, int T, int ny)
{
    if (++c.i == chunk_tiles(c.j, cl, len, T)) {
        c.i = 0;
        c.j += ny;
    }
}

/* ---- the online softmax of one head over a chunk, and the merge of chunks ----------------- */

/* m: the largest score so far; l: the sum of exp(score - m). */
struct run {
    float m, l;
};

DF_HD inline run run_start() { return { -INFINITY, 0.0f }; }

/* Before a tile whose largest score is tmax: the new max (*mnew) and corr = exp(m - mnew), the
 * factor for what was summed with the old max (0 on a chunk's first tile: m = -inf). */
DF_HD inline float run_corr(const run &r, float tmax, float *mnew)
{
    *mnew = fmaxf(r.m, tmax);
    return expf(r.m - *mnew);
}

/* After it: tsum = the tile's sum of exp(score - mnew). */
DF_HD inline void run_add(run &r, float mnew, float corr, float tsum)
{
    r.l = fmaf(r.l, corr, tsum);
    r.m = mnew;
}

/* A (token, head)'s nj chunk partials, (m, l) at ml + j * stride, merged: M = max m_j (exact
 * in any order), each chunk's weight w_j = exp(m_j - M) (independent of the others: combine_one
 * computes them a thread each) and L = sum_j w_j l_j, summed in chunk order. */
DF_HD inline float combine_max(const float *ml, int nj, size_t stride)
{
    float M = -INFINITY;
    for (int j = 0; j < nj; j++)
        M = fmaxf(M, ml[j * stride]);
    return M;
}
DF_HD inline float combine_weight(const float *ml, int j, size_t stride, float M) { return expf(ml[j * stride] - M); }
DF_HD inline float combine_sum(const float *w, const float *ml, int nj, size_t stride)
{
    float L = 0.0f;
    for (int j = 0; j < nj; j++)
        L = fmaf(w[j], ml[j * stride + 1], L);
    return L;
}

/* All three by one thread: w[j] for every chunk; returns L. */
DF_HD inline float combine_weights(const float *ml, int nj, size_t stride, float *w)
{
    const float M = combine_max(ml, nj, stride);
    for (int j = 0; j < nj; j++)
        w[j] = combine_weight(ml, j, stride, M);
    return combine_sum(w, ml, nj, stride);
}

/* One column: sum_j w_j o_j (o_j at o + j * stride) in chunk order. The o_j are read 8 at a
 * time before they are summed, so that a GPU thread has 8 loads in flight, not one. */
DF_HD inline float combine_column(const float *w, const float *o, int nj, size_t stride)
{
    float acc = 0.0f;
    int j = 0;
    for (; j + 8 <= nj; j += 8) {
        float v[8];
        for (int u = 0; u < 8; u++)
            v[u] = o[(j + u) * stride];
        for (int u = 0; u < 8; u++)
            acc = fmaf(w[j + u], v[u], acc);
    }
    for (; j < nj; j++)
        acc = fmaf(w[j], o[j * stride], acc);
    return acc;
}

/* ---- 3xTF32 ------------------------------------------------------------------------------- */

/* cvt.rna.tf32.f32: x rounded to 10 mantissa bits, ties away from zero; the low 13 bits 0.
 * (ptxas emulates it: three instructions on sm_90a, counted in the kernels' machine code.) The
 * host computes the same bits for every finite x and the infinities; a NaN stays a NaN on both,
 * but for a payload only in the low 13 bits, which the device's rounding makes infinite. */
DF_HD inline uint32_t tf32_rna(float x)
{
#ifdef __CUDA_ARCH__
    uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return r;
#else
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return (b & 0x7fffffffu) > 0x7f800000u ? (b | 0x400000u) & 0xffffe000u : (b + 0x1000u) & 0xffffe000u;
#endif
}

DF_HD inline float tf32_value(uint32_t b)
{
#ifdef __CUDA_ARCH__
    return __uint_as_float(b);
#else
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
#endif
}

/* cvt.rn.tf32.f32 (sm_90): x rounded to 10 mantissa bits, ties to even: one instruction on
 * sm_90a. Whatever the conversion leaves in the low 13 bits, they are cleared (one more), so
 * that the value the split subtracts is exactly the tf32 the mma reads. The host computes the
 * same bits for every finite x and the infinities; a NaN stays a NaN. */
DF_HD inline uint32_t tf32_rn(float x)
{
#ifdef __CUDA_ARCH__
    uint32_t r;
    asm("cvt.rn.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return r & 0xffffe000u;
#else
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return (b & 0x7fffffffu) > 0x7f800000u ? (b | 0x400000u) & 0xffffe000u
                                           : (b + 0xfffu + ((b >> 13) & 1u)) & 0xffffe000u;
#endif
}

/* x = hi + lo + e with |e| <= 2^-22 |x|: x - hi is exact, and lo rounds it to 11 bits; both
 * parts by cvt.rna, or with RN by cvt.rn (ties to even: the same bound, fewer instructions). */
template <bool RN = false> DF_HD inline void split_tf32(float x, uint32_t &hi, uint32_t &lo)
{
    if constexpr (RN) {
        hi = tf32_rn(x);
        lo = tf32_rn(x - tf32_value(hi));
    } else {
        hi = tf32_rna(x);
        lo = tf32_rna(x - tf32_value(hi));
    }
}

/* ---- mma.m16n8k8 fragments (PTX ISA, "Matrix Fragments for mma.m16n8k8", .tf32) -----------
 * lane = 4 g + t (g = groupID, t = threadID_in_group). A is 16 x 8 (row), B is 8 x 8 (col),
 * C/D is 16 x 8 f32; element i of a lane's fragment sits at: */
DF_HD constexpr int frag_a_row(int lane, int i) { return (lane >> 2) + 8 * (i & 1); }
DF_HD constexpr int frag_a_col(int lane, int i) { return (lane & 3) + 4 * (i >> 1); }
DF_HD constexpr int frag_b_k(int lane, int i) { return (lane & 3) + 4 * i; }
DF_HD constexpr int frag_b_n(int lane) { return lane >> 2; }
DF_HD constexpr int frag_c_row(int lane, int i) { return (lane >> 2) + 8 * (i >> 1); }
DF_HD constexpr int frag_c_col(int lane, int i) { return 2 * (lane & 3) + (i & 1); }

/* ---- shared-memory layouts ---------------------------------------------------------------- */

/* A tile of cache rows (ROW floats each, ROW % 32 == 0, so every row starts in bank 0): the
 * 16-byte groups of row r are permuted within each aligned run of 8 by group ^ key(r), key =
 * 0 2 4 6 1 3 5 7 for r mod 8. Then both B-fragment loads of a warp touch 32 different banks
 * (the scores read 8 rows x 4 columns, P V reads 4 rows x 8 columns; test_mla_split checks),
 * and each 8 consecutive 16-byte cp.async stores fill one 128-byte line. */
DF_HD constexpr int swz_key(int r) { return ((r << 1) | ((r >> 2) & 1)) & 7; }
template <int ROW> DF_HD constexpr int tile_at(int r, int c)
{
    return r * ROW + ((((c >> 2) ^ swz_key(r)) << 2) | (c & 3));
}

/* The B fragment of K^T for S = Q K^T: tile rows (positions) n0..n0+7, columns k0..k0+7. */
template <int ROW> DF_HD inline void frag_k(const float *tile, int n0, int k0, int lane, float (&b)[2])
{
    for (int i = 0; i < 2; i++)
        b[i] = tile[tile_at<ROW>(n0 + frag_b_n(lane), k0 + frag_b_k(lane, i))];
}

/* The B fragment of V for O = P V: tile rows (positions) k0..k0+7, latent columns n0..n0+7. */
template <int ROW> DF_HD inline void frag_v(const float *tile, int k0, int n0, int lane, float (&b)[2])
{
    for (int i = 0; i < 2; i++)
        b[i] = tile[tile_at<ROW>(k0 + frag_b_k(lane, i), n0 + frag_b_n(lane))];
}

/* The A fragment of P (heads h0..h0+15, positions k0..k0+7) from p[head][SP]. */
template <int SP> DF_HD inline void frag_p(const float *p, int h0, int k0, int lane, float (&a)[4])
{
    for (int i = 0; i < 4; i++)
        a[i] = p[(h0 + frag_a_row(lane, i)) * SP + k0 + frag_a_col(lane, i)];
}

/* The block's queries in fragment order, so that a lane's A fragment (m-tile mt, k-step ks)
 * is one 16-byte load at float index ((mt KS + ks) 32 + lane) 4: element idx holds head h,
 * column c of the block's queries. The layout's definition: the kernel writes it by
 * qunit_store, which tests/cuda/test_mla_split.cu checks against this. */
template <int KS> DF_HD inline void qfrag_source(int idx, int &h, int &c)
{
    const int i = idx & 3, lane = (idx >> 2) & (WARP - 1), ks = (idx >> 7) % KS, mt = (idx >> 7) / KS;
    h = mt * 16 + frag_a_row(lane, i);
    c = ks * 8 + frag_a_col(lane, i);
}

/* The queries' loads into that order (f32_tiles::queries) by units: unit u is heads g = u % 8
 * and g + 8 of m-tile u / 8 / KS over the 8 columns of k-step (u / 8) % KS, four 16-byte loads;
 * its store s < 4 is lane 4 g + t's whole fragment, t = (s + g / 2) % 4, whose element i is head
 * g + 8 (i & 1), column t + 4 (i >> 1) of them. The rotation by g / 2 puts the 16-byte stores of
 * 8 units (one k-step) in 8 different groups of 4 banks. Returns the store's float index; t. */
template <int KS> DF_HD inline int qunit_store(int u, int s, int &t)
{
    const int g = u % 8, ks = (u / 8) % KS, mt = u / 8 / KS;
    t = (s + g / 2) % 4;
    return ((mt * KS + ks) * WARP + 4 * g + t) * 4;
}

} /* namespace mla */

/* ---- a layer's shape and the kernel's choices -----------------------------------------------
 * HEADS, L (kv_lora), R (rope), CTX (positions per slot); C: chunk length (positions), JMAX:
 * partials per token; MT: 16-head m-tiles per block; T: positions per tile; STAGES: tiles in
 * flight; TF32_RN: the 3xTF32 splits by cvt.rn rather than cvt.rna (tf32_rn: the same accuracy,
 * 5 instructions a split instead of 8; mla_check measures both). The workspace is ws_floats(n)
 * floats: per (token, chunk) a record of HEADS x L floats (o) then HEADS x 2 (m, l), a token's
 * records `stride` apart (JMAX, or fewer for tokens that all have at most that many chunks:
 * mla_split.cuh's prefill slices). */
template <int HEADS_, int L_, int R_, int CTX_, int C_, int JMAX_, int MT_, int T_, int STAGES_, bool TF32_RN_ = false>
struct mla_decode_cfg {
    static constexpr int HEADS = HEADS_, L = L_, R = R_, CTX = CTX_, C = C_, JMAX = JMAX_, MT = MT_, T = T_,
                         STAGES = STAGES_;
    static constexpr bool TF32_RN = TF32_RN_;
    static constexpr int ROW = L + R, KS = ROW / 8, HG = 16 * MT, GROUPS = HEADS / HG;
    static constexpr int KSW = (KS + mla::WARPS - 1) / mla::WARPS; /* k-steps of S per warp, at most */
    static constexpr int NTS = T / 8;               /* n-tiles (8 positions) of S */
    static constexpr int NTO = L / 8 / mla::WARPS;  /* n-tiles (8 latent columns) of O per warp */
    static constexpr int HPW = HG / mla::WARPS;     /* heads per warp in the softmax */
    static constexpr int SP = T + 4;                /* row stride of the score and P arrays */
    static constexpr int Q_F = HG * ROW, K_F = STAGES * T * ROW, PART_F = mla::WARPS * HG * SP, P_F = HG * SP;
    static constexpr size_t SMEM = sizeof(float) * (size_t)(Q_F + K_F + PART_F + P_F + HG);
    static constexpr size_t REC = (size_t)HEADS * (L + 2);
    static constexpr size_t ws_floats(int n) { return (size_t)n * JMAX * REC; }
    DF_HD static constexpr size_t rec_at(int t, int j, int stride = JMAX) { return ((size_t)t * stride + j) * REC; }

    static_assert(HEADS % HG == 0, "heads: a multiple of 16 x MT");
    static_assert(ROW % 32 == 0, "L + R: a multiple of 32 (the swizzle permutes runs of 8 groups of 4)");
    static_assert(L % (8 * mla::WARPS) == 0, "L: a multiple of 64 (the warps split the columns of O)");
    static_assert(T % 8 == 0 && T <= mla::WARP, "T: 8, 16, 24 or 32 (a lane per position in the softmax)");
    static_assert(C % T == 0, "C: a multiple of T (so only a token's last tile is partial)");
    static_assert(STAGES >= 2, "STAGES: at least 2");
    static_assert(SMEM <= 227 * 1024, "shared memory over Hopper's 227 KB per block");
};

#ifdef __CUDACC__

namespace mla {

/* ---- device pieces ------------------------------------------------------------------------ */

__device__ __forceinline__ float lanes_max(float v)
{
#pragma unroll
    for (int m = WARP / 2; m > 0; m /= 2)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, m));
    return v;
}

/* The xor butterfly (every lane ends with the same bits; test_mla_split models it). */
__device__ __forceinline__ float lanes_sum(float v)
{
#pragma unroll
    for (int m = WARP / 2; m > 0; m /= 2)
        v += __shfl_xor_sync(0xffffffffu, v, m);
    return v;
}

__device__ __forceinline__ void mma_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2])
{
#ifndef DF_SIMT
    asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    simt::mma(simt::MMA_TF32, d, a, b[0], b[1]);
#endif
}

/* d += a b in 3xTF32, the two small cross terms first. */
__device__ __forceinline__ void mma3(float (&d)[4], const uint32_t (&ahi)[4], const uint32_t (&alo)[4],
                                     const uint32_t (&bhi)[2], const uint32_t (&blo)[2])
{
    mma_tf32(d, alo, bhi);
    mma_tf32(d, ahi, blo);
    mma_tf32(d, ahi, bhi);
}

template <bool RN, int N>
__device__ __forceinline__ void split_frag(const float (&x)[N], uint32_t (&hi)[N], uint32_t (&lo)[N])
{
#pragma unroll
    for (int i = 0; i < N; i++)
        split_tf32<RN>(x[i], hi[i], lo[i]);
}

/* Tile rows p_first .. p_first + T - 1 of a slot (kv) into dst; rows from p_end on are zeros
 * (never read: past the token's position the slot holds stale rows, or ends). */
template <class D>
__device__ __forceinline__ void load_tile(const float *kv, int p_first, int p_end, float *dst, int tid)
{
    constexpr int GPR = D::ROW / 4, N = D::T * GPR;
    for (int i = tid; i < N; i += THREADS) {
        const int r = i / GPR, g = i % GPR, p = p_first + r;
        const bool ok = p < p_end;
        cp_async16(dst + tile_at<D::ROW>(r, 4 * g), kv + (size_t)(ok ? p : p_first) * D::ROW + 4 * g, ok ? 16 : 0);
    }
}

/* Warp w's share of S = Q K^T for one tile: its k-steps (ks_first) of every (m-tile,
 * n-tile), into part[w][head][position]. The softmax adds the 8 warps' parts in order. The
 * k-steps' loop is written out to KSW of them, the last skipped where a warp has fewer, so that
 * the compiler can load a k-step's fragments while the one before is on the tensor cores (with
 * the count known only at run time, ptxas kept it a loop: each k-step's loads and splits
 * waited for the one before). */
template <class D>
__device__ __forceinline__ void tile_scores(const float *sQ, const float *tile, float *sPart, int w, int lane)
{
    float acc[D::MT][D::NTS][4] = {};
    const int ks0 = ks_first(w, D::KS), nks = ks_first(w + 1, D::KS) - ks0;
#pragma unroll
    for (int k = 0; k < D::KSW; k++) {
        if (k >= nks)
            break;
        const int ks = ks0 + k;
        uint32_t ahi[D::MT][4], alo[D::MT][4];
#pragma unroll
        for (int mt = 0; mt < D::MT; mt++) {
            const float4 v = reinterpret_cast<const float4 *>(sQ)[(mt * D::KS + ks) * WARP + lane];
            const float a[4] = { v.x, v.y, v.z, v.w };
            split_frag<D::TF32_RN, 4>(a, ahi[mt], alo[mt]);
        }
#pragma unroll
        for (int nt = 0; nt < D::NTS; nt++) {
            float b[2];
            uint32_t bhi[2], blo[2];
            frag_k<D::ROW>(tile, nt * 8, ks * 8, lane, b);
            split_frag<D::TF32_RN, 2>(b, bhi, blo);
#pragma unroll
            for (int mt = 0; mt < D::MT; mt++)
                mma3(acc[mt][nt], ahi[mt], alo[mt], bhi, blo);
        }
    }
    float *part = sPart + w * D::HG * D::SP;
#pragma unroll
    for (int mt = 0; mt < D::MT; mt++)
#pragma unroll
        for (int nt = 0; nt < D::NTS; nt++)
#pragma unroll
            for (int i = 0; i < 4; i++)
                part[(mt * 16 + frag_c_row(lane, i)) * D::SP + nt * 8 + frag_c_col(lane, i)] = acc[mt][nt][i];
}

/* Warp w's heads w, w + 8, ...: lane p takes position tile_p + p. The score is the 8 warps'
 * parts added in order, times scale; past p_end it is -inf. Writes P = exp(s - mnew) and corr
 * for the P V step and updates the warp's running (m, l) of those heads. */
template <class D>
__device__ __forceinline__ void tile_softmax(const float *sPart, float *sP, float *sCorr, run (&st)[D::HPW], int tile_p,
                                             int p_end, float scale, int w, int lane)
{
#pragma unroll
    for (int k = 0; k < D::HPW; k++) {
        const int h = w + WARPS * k;
        const bool valid = lane < D::T && tile_p + lane < p_end;
        float s = -INFINITY;
        if (valid) {
            float a = 0.0f;
#pragma unroll
            for (int v = 0; v < WARPS; v++)
                a += sPart[(v * D::HG + h) * D::SP + lane];
            s = a * scale;
        }
        float mnew;
        const float corr = run_corr(st[k], lanes_max(s), &mnew);
        const float e = valid ? expf(s - mnew) : 0.0f;
        if (lane < D::T)
            sP[h * D::SP + lane] = e;
        run_add(st[k], mnew, corr, lanes_sum(e));
        if (lane == 0)
            sCorr[h] = corr;
    }
}

/* Warp w's latent columns [w NTO 8, (w + 1) NTO 8): per 8 columns the tile's P V summed from
 * zero on the tensor cores, then o = o corr + that (one rounding per tile). NB n-tiles at a
 * time, so that a warp has MT NB independent chains of mma in flight. */
template <class D>
__device__ __forceinline__ void tile_pv(const float *tile, const float *sP, const float *sCorr,
                                        float (&o)[D::MT][D::NTO][4], int w, int lane)
{
    constexpr int KT = D::T / 8, NB = D::MT >= 4 ? 1 : 4 / D::MT;
    static_assert(D::NTO % NB == 0, "NTO: a multiple of NB");
    uint32_t phi[KT][D::MT][4], plo[KT][D::MT][4];
    float clo[D::MT], chi[D::MT];
#pragma unroll
    for (int mt = 0; mt < D::MT; mt++) {
#pragma unroll
        for (int kk = 0; kk < KT; kk++) {
            float a[4];
            frag_p<D::SP>(sP, mt * 16, kk * 8, lane, a);
            split_frag<D::TF32_RN, 4>(a, phi[kk][mt], plo[kk][mt]);
        }
        clo[mt] = sCorr[mt * 16 + frag_c_row(lane, 0)];
        chi[mt] = sCorr[mt * 16 + frag_c_row(lane, 2)];
    }
#pragma unroll
    for (int nb = 0; nb < D::NTO; nb += NB) {
        float acc[D::MT][NB][4] = {};
#pragma unroll
        for (int kk = 0; kk < KT; kk++)
#pragma unroll
            for (int u = 0; u < NB; u++) {
                float b[2];
                uint32_t bhi[2], blo[2];
                frag_v<D::ROW>(tile, kk * 8, (w * D::NTO + nb + u) * 8, lane, b);
                split_frag<D::TF32_RN, 2>(b, bhi, blo);
#pragma unroll
                for (int mt = 0; mt < D::MT; mt++)
                    mma3(acc[mt][u], phi[kk][mt], plo[kk][mt], bhi, blo);
            }
#pragma unroll
        for (int mt = 0; mt < D::MT; mt++)
#pragma unroll
            for (int u = 0; u < NB; u++)
#pragma unroll
                for (int i = 0; i < 4; i++)
                    o[mt][nb + u][i] = fmaf(o[mt][nb + u][i], i < 2 ? clo[mt] : chi[mt], acc[mt][u][i]);
    }
}

/* ---- kernels ------------------------------------------------------------------------------ */

/* A chunk's partial into its workspace record rec: o (the C fragments of warp w's latent
 * columns, MT m-tiles) at [head][column] for head group g, then each head's (m, l); both reset
 * for the next chunk. */
template <class D, int MT>
__device__ __forceinline__ void write_partial(float *rec, int g, float (&o)[MT][D::NTO][4], run (&st)[D::HPW], int w,
                                              int lane)
{
    float *ro = rec + (size_t)g * D::HG * D::L;
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int nt = 0; nt < D::NTO; nt++)
#pragma unroll
            for (int i = 0; i < 4; i += 2) {
                const int h = mt * 16 + frag_c_row(lane, i), c = (w * D::NTO + nt) * 8 + frag_c_col(lane, i);
                *reinterpret_cast<float2 *>(ro + (size_t)h * D::L + c) = make_float2(o[mt][nt][i], o[mt][nt][i + 1]);
                o[mt][nt][i] = o[mt][nt][i + 1] = 0.0f;
            }
    float *rml = rec + (size_t)D::HEADS * D::L + 2 * (size_t)g * D::HG;
#pragma unroll
    for (int k = 0; k < D::HPW; k++) {
        if (lane == 0) {
            rml[2 * (w + WARPS * k)] = st[k].m;
            rml[2 * (w + WARPS * k) + 1] = st[k].l;
        }
        st[k] = run_start();
    }
}

/* The partial kernels' body, over either cache (K: this file's f32_tiles, or mla_decode_bf16.cuh's
 * bf16_tiles). Block (head group g, y, token t) streams the tiles of its chunks y, y + gridDim.y,
 * ... of token t through shared memory, STAGES deep with cp.async (the loads run ahead across
 * chunk ends), and writes each chunk's partial for heads g HG .. g HG + HG - 1 to its record
 * (records `stride` apart a token; each token has at most that many chunks).
 * K gives: elem (the cache's element); MT (16-head m-tiles a block); load_tile(kv, p_first,
 * p_end, smem, stage, tid) (one tile's copies; rows from p_end on zeros); queries(q, smem, tid)
 * (the block's queries into shared memory); and a landed tile's three stages, which this
 * function separates by barriers: scores(smem, stage, w, lane) (warp w's part of S),
 * softmax(smem, tile_p, p_end, scale, st, w, lane) (the online softmax over the parts: the
 * weights P and corr), pv(smem, stage, o, w, lane) (o = o corr + P V on warp w's columns).
 * (tests/cuda/mla_stages.cuh times the kernel with stages left out.) */
template <class D, class K>
__device__ __forceinline__ void stream_chunks(const float *q, const typename K::elem *cache, const int *slot,
                                              const int *pos, float scale, int stride, float *ws, unsigned char *smem)
{
    const int g = blockIdx.x, ny = gridDim.y, t = blockIdx.z, tid = threadIdx.x, lane = tid % WARP, w = tid / WARP;
    const int len = pos[t] + 1, cl = chunk_len(len, D::C, D::JMAX), nj = (len + cl - 1) / cl;
    if ((int)blockIdx.y >= nj)
        return;
    const typename K::elem *kv = cache + (size_t)slot[t] * D::CTX * D::ROW;

    /* the first tiles in flight, then the queries (the loop's first barrier orders their stores) */
    tile_cursor cur = { (int)blockIdx.y, 0 }, ld = cur;
    for (int s = 0; s < D::STAGES - 1; s++) {
        if (ld.j < nj) {
            K::load_tile(kv, ld.j * cl + ld.i * D::T, min((ld.j + 1) * cl, len), smem, s, tid);
            next_tile(ld, cl, len, D::T, ny);
        }
        cp_async_commit();
    }
    K::queries(q + ((size_t)t * D::HEADS + (size_t)g * D::HG) * D::ROW, smem, tid);

    run st[D::HPW];
#pragma unroll
    for (int k = 0; k < D::HPW; k++)
        st[k] = run_start();
    float o[K::MT][D::NTO][4] = {};
    for (int k = 0; cur.j < nj; k++) {
        /* the stream's tile k has landed (this thread's copies, then everyone's); the stage of
         * tile k - 1 is free for tile k + STAGES - 1 */
        cp_async_wait<D::STAGES - 2>();
        __syncthreads();
        if (ld.j < nj) {
            K::load_tile(kv, ld.j * cl + ld.i * D::T, min((ld.j + 1) * cl, len), smem, (k + D::STAGES - 1) % D::STAGES, tid);
            next_tile(ld, cl, len, D::T, ny);
        }
        cp_async_commit();

        const int p0 = cur.j * cl, p_end = min(p0 + cl, len);
        K::scores(smem, k % D::STAGES, w, lane);
        __syncthreads(); /* the softmax adds every warp's part of S */
        K::softmax(smem, p0 + cur.i * D::T, p_end, scale, st, w, lane);
        __syncthreads(); /* P V reads every head's weights */
        K::pv(smem, k % D::STAGES, o, w, lane);
        if (cur.i == chunk_tiles(cur.j, cl, len, D::T) - 1) /* the chunk's partial, then a fresh one */
            write_partial<D, K::MT>(ws + D::rec_at(t, cur.j, stride), g, o, st, w, lane);
        next_tile(cur, cl, len, D::T, ny);
    }
}

/* The f32 cache's tile work (shared memory: the queries in fragment order, the STAGES tiles,
 * the 8 warps' score parts, P, corr). */
template <class D> struct f32_tiles {
    using elem = float;
    static constexpr int MT = D::MT;
    static __device__ float *sQ(unsigned char *smem) { return reinterpret_cast<float *>(smem); }
    static __device__ float *sK(unsigned char *smem) { return sQ(smem) + D::Q_F; }
    static __device__ float *sPart(unsigned char *smem) { return sK(smem) + D::K_F; }
    static __device__ float *sP(unsigned char *smem) { return sPart(smem) + D::PART_F; }
    static __device__ float *sCorr(unsigned char *smem) { return sP(smem) + D::P_F; }
    static __device__ float *sTile(unsigned char *smem, int stage) { return sK(smem) + stage * D::T * D::ROW; }

    static __device__ void load_tile(const float *kv, int p_first, int p_end, unsigned char *smem, int stage, int tid)
    {
        mla::load_tile<D>(kv, p_first, p_end, sTile(smem, stage), tid);
    }
    /* The block's queries by units (qunit_store), every 16-byte load before the first store:
     * one trip to L2 (12 loads a thread for 16 heads of 576), where a float at a time in
     * fragment order took a trip for every 4 (ptxas unrolled by 4); then 16-byte stores, whole
     * fragments, 8 units' in all 32 banks. */
    static __device__ void queries(const float *qt, unsigned char *smem, int tid)
    {
        constexpr int UNITS = D::MT * D::KS * 8, PER = (UNITS + THREADS - 1) / THREADS;
        float4 v[PER][4]; /* head g columns 0-3, 4-7; head g + 8 columns 0-3, 4-7 */
#pragma unroll
        for (int k = 0; k < PER; k++) {
            const int u = tid + k * THREADS;
            if (u < UNITS) {
                const float4 *r = reinterpret_cast<const float4 *>(
                    qt + (size_t)((u / 8 / D::KS) * 16 + u % 8) * D::ROW + (u / 8) % D::KS * 8);
                v[k][0] = r[0];
                v[k][1] = r[1];
                v[k][2] = r[2 * D::ROW]; /* head g + 8: 8 rows of ROW floats on */
                v[k][3] = r[2 * D::ROW + 1];
            }
        }
        const auto at = [](const float4 &a, int t) { return t == 0 ? a.x : t == 1 ? a.y : t == 2 ? a.z : a.w; };
#pragma unroll
        for (int k = 0; k < PER; k++) {
            const int u = tid + k * THREADS;
            if (u < UNITS)
#pragma unroll
                for (int s = 0; s < 4; s++) {
                    int t;
                    const int idx = qunit_store<D::KS>(u, s, t);
                    *reinterpret_cast<float4 *>(sQ(smem) + idx) =
                        make_float4(at(v[k][0], t), at(v[k][2], t), at(v[k][1], t), at(v[k][3], t));
                }
        }
    }
    static __device__ void scores(unsigned char *smem, int stage, int w, int lane)
    {
        tile_scores<D>(sQ(smem), sTile(smem, stage), sPart(smem), w, lane);
    }
    static __device__ void softmax(unsigned char *smem, int tile_p, int p_end, float scale, run (&st)[D::HPW], int w,
                                   int lane)
    {
        tile_softmax<D>(sPart(smem), sP(smem), sCorr(smem), st, tile_p, p_end, scale, w, lane);
    }
    static __device__ void pv(unsigned char *smem, int stage, float (&o)[D::MT][D::NTO][4], int w, int lane)
    {
        tile_pv<D>(sTile(smem, stage), sP(smem), sCorr(smem), o, w, lane);
    }
};

template <class D>
__global__ void __launch_bounds__(THREADS, 1) partial_k(const float *q, const float *cache, const int *slot,
                                                        const int *pos, float scale, int stride, float *ws)
{
    pdl_enter();
    DFC_DYNAMIC_SHARED(smem_f32);
    stream_chunks<D, f32_tiles<D>>(q, cache, slot, pos, scale, stride, ws, smem_f32);
}

/* Column threadIdx.x of (token t, head h)'s o_lat = (sum_j w_j o_j) / (sum_j w_j l_j), chunks in
 * order, by every thread of a block of L, one column each. The partials' (m, l) are gathered into
 * shared memory by all threads at once; warp 0 finds their max, every thread computes its chunks'
 * weights, and while thread 0 sums L in chunk order each thread sums its column (combine_column:
 * 8 loads in flight a thread, L threads a block). combine_k, and mla_split.cuh's
 * mla_combine_out_k, which applies W_uv in the same block. */
template <class D>
__device__ __forceinline__ float combine_one(const int *pos, int stride, const float *ws, int h, int t)
{
    static_assert(D::L % WARP == 0 && D::L <= 1024, "L: whole warps, at most 1024 threads (a column each)");
    __shared__ float sw[D::JMAX], sml[2 * D::JMAX];
    __shared__ float sM, sL;
    const int c = threadIdx.x;
    const int nj = chunk_count(pos[t] + 1, D::C, D::JMAX);
    const float *rec = ws + D::rec_at(t, 0, stride), *ml = rec + (size_t)D::HEADS * D::L + 2 * (size_t)h;
    for (int j = c; j < nj; j += D::L) {
        sml[2 * j] = ml[j * D::REC];
        sml[2 * j + 1] = ml[j * D::REC + 1];
    }
    __syncthreads();
    if (c < WARP) { /* combine_max's value: a max is exact in any order */
        float m = -INFINITY;
        for (int j = c; j < nj; j += WARP)
            m = fmaxf(m, sml[2 * j]);
        m = lanes_max(m);
        if (c == 0)
            sM = m;
    }
    __syncthreads();
    for (int j = c; j < nj; j += D::L)
        sw[j] = combine_weight(sml, j, 2, sM);
    __syncthreads();
    if (c == 0)
        sL = combine_sum(sw, sml, nj, 2);
    const float o = combine_column(sw, rec + (size_t)h * D::L + c, nj, D::REC);
    __syncthreads();
    return o / sL;
}

/* Block (head h, token t) of L threads: o_lat[t][h] (combine_one). */
template <class D>
__global__ void __launch_bounds__(D::L) combine_k(const int *pos, int stride, const float *ws, float *out)
{
    pdl_enter();
    const int h = blockIdx.x, t = blockIdx.y;
    out[((size_t)t * D::HEADS + h) * D::L + threadIdx.x] = combine_one<D>(pos, stride, ws, h, t);
}

/* The SM count that sizes the grid (setup_partial). */
inline int sm_count = 0;

/* Once per partial kernel, before its first launch and outside graph capture (it is not a
 * stream operation): its shared memory over 48 KB, the SM count. */
template <class K> cudaError_t setup_partial(K *kernel, size_t smem)
{
    cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    int dev = 0;
    if (e == cudaSuccess)
        e = cudaGetDevice(&dev);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, dev);
    return e;
}

/* gridDim.y (blocks per token and head group) for n tokens: one wave, a block per SM (the
 * shared memory allows no second): every block resident from the start, the groups' blocks of
 * a (token, y) side by side, each streaming its chunks (the counts differ by at most one). It
 * decides which block computes a chunk, never a bit. */
inline int grid_y(int n, int groups, int jmax)
{
    const int ny = sm_count / (n * groups);
    return ny < 1 ? 1 : ny > jmax ? jmax : ny;
}

} /* namespace mla */

/* Once per configuration, before its first launch and outside graph capture. */
template <class D> cudaError_t mla_decode_setup() { return mla::setup_partial(mla::partial_k<D>, D::SMEM); }

namespace mla {
/* A partial kernel (partial_k, mla_decode_bf16.cuh's partial16_k, or a variant of either:
 * tests/cuda/mla_stages.cuh) for n > 0 tokens, checked under its name. No token has more than
 * `stride` chunks (gridDim.y at most that: the blocks past a token's chunks would have nothing
 * to do). */
template <class D, class E>
void launch_partial(void (*partial)(const float *, const E *, const int *, const int *, float, int, float *),
                    const char *name, const float *q, const E *cache, const int *slot, const int *pos, int n,
                    float scale, int stride, float *ws)
{
    dfc::launch(name, partial, dim3(D::GROUPS, grid_y(n, D::GROUPS, stride), n), THREADS, D::SMEM, q, cache, slot, pos,
                scale, stride, ws);
}

/* The combine kernel over the records a partial kernel left, for n > 0 tokens. */
template <class D>
void launch_combine(const char *name, const int *pos, int n, int stride, const float *ws, float *o_lat)
{
    dfc::launch(name, combine_k<D>, dim3(D::HEADS, n), D::L, 0, pos, stride, ws, o_lat);
}

/* Both, for n tokens. */
template <class D, class E>
void launch(void (*partial)(const float *, const E *, const int *, const int *, float, int, float *),
            const char *partial_name, const char *combine_name, const float *q, const E *cache, const int *slot,
            const int *pos, int n, float scale, int stride, float *ws, float *o_lat)
{
    if (n <= 0)
        return;
    launch_partial<D>(partial, partial_name, q, cache, slot, pos, n, scale, stride, ws);
    launch_combine<D>(combine_name, pos, n, stride, ws, o_lat);
}
} /* namespace mla */

/* o_lat for n tokens; ws: n x stride records (D::ws_floats(n) floats at stride JMAX), a token's
 * chunks at most stride. */
template <class D>
void mla_decode(const float *q, const float *cache, const int *slot, const int *pos, int n, float scale, float *ws,
                float *o_lat, int stride = D::JMAX)
{
    mla::launch<D>(mla::partial_k<D>, "mla_decode (partial)", "mla_decode (combine)", q, cache, slot, pos, n, scale, stride,
                   ws, o_lat);
}

#endif /* __CUDACC__ */

} /* namespace dfc */

#endif
