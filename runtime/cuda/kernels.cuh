/* kernels.cuh: the generic CUDA kernels of the reference-precision backend,
 * and their host-side launchers.
 *
 * The counterpart of runtime/kernels/ (C): the generated kernels.cu fixes each
 * kernel's shape as template arguments (one instance per distinct shape) and
 * calls the launcher on the backend's one stream (launch.cuh: every kernel begins with
 * pdl_enter, for programmatic dependent launch; the linear kernels prefetch their weight rows
 * into L2 before it). Numerics are the CPU's
 * (docs/numerics.md): weights widened to f32 as read (the same bf16_to_f32 /
 * e4m3_to_f32, FP8 as code x block scale), f32 activations, f32 accumulation,
 * and every reduction in an order fixed by the shapes alone, so a token's
 * result does not depend on the batch, its place in the step, or its slot:
 *   - row . vector: one warp per output row; lane l takes the V-wide column
 *     vectors l, l+32, ... in order (16 bytes of weights each, four of them
 *     loaded ahead), then the 32 lane sums meet in a fixed xor butterfly.
 *     FP8: each vector's sum is multiplied by its block's scale as it is
 *     added into the lane's sum;
 *   - RMSNorm: a block per token; the threads' sums of squares meet in the
 *     butterfly, then the 8 warps' sums are added in order;
 *   - attention: one block per (token, head), absorbed MLA as in mla.h, the
 *     positions in chunks of 64 with an online softmax (running max and sum);
 *   - MoE: routing with a warp per token, choosing as moe_route_token does
 *     (every argmax a butterfly of a total order); each (token, chosen
 *     expert) runs alone; the outputs are combined best-first.
 * Only the summation order differs from the CPU (and FMA contraction), which
 * is float32 rounding: the conformance tolerance is the CPU's.
 *
 * The lane-level pieces (row_vec, lane_dot, butterfly order, softmax chunks)
 * are __host__ __device__ and tested on the CPU by tests/cuda/test_hd.cu. */
#ifndef DF_CUDA_KERNELS_CUH
#define DF_CUDA_KERNELS_CUH

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_rt.h"
#include "kernels/argmax.h"
#include "kernels/hd.h"
#include "kernels/mat.h"
#include "kernels/rope.h"
#include "launch.cuh"
#include "linear_one.cuh"

/* moe.h gives the routing (moe_route_token) and struct df_expert. It includes
 * linear.h, the CPU's threaded linear, which is C but not C++ (it converts a
 * void * implicitly); nothing here uses it, so stand in for it. The CPU-only
 * moe_experts that calls linear() is never instantiated in this file. */
#ifndef DF_KERNELS_LINEAR_H
#define DF_KERNELS_LINEAR_H
void linear(const struct df_mat *m, const float *x, int n, float *y);
#endif
#include "kernels/moe.h"

/* #pragma unroll in __host__ __device__ code: for the device pass only (the host
 * compiler does not know it). */
#ifdef __CUDA_ARCH__
#define DF_UNROLL _Pragma("unroll")
#else
#define DF_UNROLL
#endif

namespace dfc {

constexpr int WARP = 32;
constexpr int THREADS = 256;            /* every kernel's block size (moe_down_combine_k's: down_threads) */
constexpr int WARPS = THREADS / WARP;   /* rows (or tokens) per block in warp-per-row kernels */
constexpr int TOKEN_TILE = 8;           /* tokens that share one read of a weight row in linear */
/* The grouped MoE from this many (token, expert) pairs per expert on average: on the H200 it
 * lost at 1.5 (decode at batch 16: 0.66 against 0.43 ms a step) and won at 48 (512-token
 * prefill: 6.8 against 9.7 ms); a full tile of 8 sits between. Both give the same bits. */
constexpr int MOE_GROUPED_MIN_PAIRS_PER_EXPERT = 8;
/* The shared experts' rows run in the routed experts' per-pair launches (moe_experts with
 * SINTER) for steps of at most this many tokens: there each token's warps read the shared
 * matrices whole, where swiglu_k and linear_rows_k read them once per TOKEN_TILE tokens, so the
 * launches saved pay only for a lone token (decode at batch 1; unmeasured). Same bits either way. */
constexpr int MOE_SHARED_IN_PAIRS_MAX_TOKENS = 1;
constexpr int ATTN_CHUNK = 64;          /* positions per online-softmax chunk in mla_attend */

static inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

/* ---- lane-level pieces (host and device) ------------------------------------------------ */

/* Bytes per element of a packed dtype. */
template <int DT> struct esize { static constexpr int value = DT == DF_F32 ? 4 : DT == DF_BF16 ? 2 : 1; };

/* Columns each lane reads per step along a row of COLS columns: the widest of 16, 8, 4, 2, 1
 * that divides COLS (so every row of a row-major matrix, and every activation row, starts
 * aligned for it) within 16 bytes of weights. Every width divides 128, so a lane's vector
 * never crosses an FP8 scale block. U steps are loaded before the first is used: a lane
 * keeps U x 16 bytes in flight, which a row stream needs to approach HBM bandwidth (one
 * 16-byte load per lane at a time reached under a fifth of it on an H200). */
template <int DT, int COLS> struct row_vec {
    static constexpr int MAXV = 16 / esize<DT>::value;
    static constexpr int V = (MAXV >= 16 && COLS % 16 == 0) ? 16
                             : (MAXV >= 8 && COLS % 8 == 0) ? 8
                             : (MAXV >= 4 && COLS % 4 == 0) ? 4
                             : (COLS % 2 == 0) ? 2 : 1;
    static constexpr int STEP = WARP * V;           /* columns per warp step */
    static constexpr int U = 4;                     /* steps in flight per lane */
    static constexpr int STEPS = (COLS + STEP - 1) / STEP;      /* steps of a row */
    static constexpr int U_ROW = U < STEPS ? U : STEPS;         /* U, or all of a shorter row's */
    static constexpr int WORDS = (V * esize<DT>::value + 3) / 4; /* 32-bit words of one lane's vector */
    static constexpr bool FULL = V * esize<DT>::value == 16;    /* 16-byte vectors: every real shape */
    static constexpr int SCALE_LD = DF_FP8_SCALE_LD(COLS); /* FP8: floats per row of block scales */
};

/* Row r of a packed matrix w, and its row of FP8 block scales (none for other types). */
template <int DT, int COLS> DF_HD inline const unsigned char *w_row(const unsigned char *w, int r)
{
    return w + (size_t)r * COLS * esize<DT>::value;
}
template <int DT, int COLS> DF_HD inline const float *s_row(const float *scale, int r)
{
    return DT == DF_F8E4M3 ? scale + (size_t)(r / DF_FP8_BLOCK) * row_vec<DT, COLS>::SCALE_LD : nullptr;
}

/* V floats from p (aligned for V): 16-byte loads where V allows. */
template <int V> DF_HD inline void load_x(const float *p, float *v)
{
#ifdef __CUDA_ARCH__
    if constexpr (V % 4 == 0) {
DF_UNROLL
        for (int i = 0; i < V / 4; i++) {
            const float4 a = reinterpret_cast<const float4 *>(p)[i];
            v[4 * i] = a.x; v[4 * i + 1] = a.y; v[4 * i + 2] = a.z; v[4 * i + 3] = a.w;
        }
    } else if constexpr (V == 2) {
        const float2 a = *reinterpret_cast<const float2 *>(p);
        v[0] = a.x; v[1] = a.y;
    } else {
        static_assert(V == 1, "load_x: V is 1, 2 or a multiple of 4");
        v[0] = p[0];
    }
#else
    memcpy(v, p, sizeof(float) * V);
#endif
}

/* Where column c of an activation row staged in shared memory lies in the row's KC floats there
 * (block_rows_dot's tokens, token t's row at t KC; mla_attend_k's and mla_combine_out_k's o_lat):
 * at staged_index<G>(c), G = stage_units of the rows that read it (lane_dot_rows, lane_dot_each
 * with STAGED). A lane reads its V floats as V / 4 16-byte units, and its neighbour's start 4 V
 * bytes further on. Shared memory serves a warp's 16-byte loads a quarter warp (8 lanes) a
 * wavefront, from 8 groups of 4 banks; in plain order those 8 lanes' units fall in 2 of the
 * groups for V = 16 (FP8 rows: a 4-way conflict, 4 wavefronts each) and in 4 for V = 8 (bf16:
 * 2-way). So the G units of each aligned run (one lane's vector, G = V / 4) are rotated by
 * unit / 8: the 8 lanes' k-th units then fall in 8 distinct groups, whatever the row's width
 * (test_hd checks every load and store of rows up to KCOLS wide), and the staging's stores, 8
 * consecutive units a quarter warp, still do. G = 1: plain order. */
template <int G> DF_HD inline int staged_index(int c)
{
    const int u = c >> 2;
    return G == 1 ? c : (((u & ~(G - 1)) | ((u + (u >> 3)) & (G - 1))) << 2) | (c & 3);
}

/* The units staged_index rotates for rows of COLS columns of DT: all of a lane's 16-byte weight
 * vector (FP8: 4, bf16: 2), which every real shape has. Other rows stay in plain order (G = 1):
 * f32's vectors meet no conflict, and the rotation's address registers made a tiny model's
 * grouped kernel of 8-byte FP8 vectors spill (tiny_fp8act: 200 columns). */
template <int DT, int COLS> DF_HD constexpr int stage_units()
{
    return row_vec<DT, COLS>::FULL ? row_vec<DT, COLS>::V / 4 : 1;
}

/* The V floats of columns c .. c + V - 1 (c a multiple of V) of a row staged with G units
 * rotated: load_x's values. Unit k of the vector is at staged_index's place, c + 4 ((k + c / 32)
 * mod G): a run of G units starts at a multiple of G and never crosses a multiple of 8. */
template <int V, int G> DF_HD inline void load_x_staged(const float *xs, int c, float *v)
{
    if constexpr (G > 1) {
        static_assert(V == 4 * G, "load_x_staged: the rotated units are the lane's vector");
DF_UNROLL
        for (int k = 0; k < G; k++)
            load_x<4>(xs + c + 4 * ((k + (c >> 5)) & (G - 1)), v + 4 * k);
    } else {
        load_x<V>(xs + c, v);
    }
}

/* A lane's vector of activations, columns c .. of the row at x, for rows of COLS columns of DT:
 * load_x's, or with STAGED (the row in staged_index's order) load_x_staged's. */
template <int DT, int COLS, bool STAGED> DF_HD inline void load_x_at(const float *x, int c, float *v)
{
    constexpr int V = row_vec<DT, COLS>::V;
    if constexpr (STAGED)
        load_x_staged<V, stage_units<DT, COLS>()>(x, c, v);
    else
        load_x<V>(x + c, v);
}

/* The V * esize bytes of V packed weights at p (aligned for V), read as one access
 * (little-endian words). */
template <int DT, int V> DF_HD inline void load_raw(const unsigned char *p, uint32_t *wd)
{
    constexpr int B = V * esize<DT>::value;
#ifdef __CUDA_ARCH__
    if constexpr (B == 16) {
        const uint4 u = *reinterpret_cast<const uint4 *>(p);
        wd[0] = u.x; wd[1] = u.y; wd[2] = u.z; wd[3] = u.w;
    } else if constexpr (B == 8) {
        const uint2 u = *reinterpret_cast<const uint2 *>(p);
        wd[0] = u.x; wd[1] = u.y;
    } else if constexpr (B == 4) {
        wd[0] = *reinterpret_cast<const uint32_t *>(p);
    } else if constexpr (B == 2) {
        wd[0] = *reinterpret_cast<const uint16_t *>(p);
    } else {
        wd[0] = *p;
    }
#else
    wd[0] = 0;
    memcpy(wd, p, B);
#endif
}

#ifdef __CUDA_ARCH__
/* Two e4m3 codes (the low byte first) to floats by the hardware's e4m3x2 -> f16x2 conversion
 * (sm_89 and later), then f16 -> f32: every e4m3 value, subnormals included, is an f16 value,
 * so both steps are exact and this is e4m3_to_f32, in 3 instructions instead of about 24. */
__device__ __forceinline__ void e4m3x2_to_f32(uint32_t codes, float &lo, float &hi)
{
    asm("{\n\t.reg .b32 h2;\n\t.reg .b16 l, h;\n\t"
        "cvt.rn.f16x2.e4m3x2 h2, %2;\n\tmov.b32 {l, h}, h2;\n\t"
        "cvt.f32.f16 %0, l;\n\tcvt.f32.f16 %1, h;\n\t}"
        : "=f"(lo), "=f"(hi)
        : "h"((unsigned short)codes));
}
#endif

/* The words of load_raw widened to V floats; FP8 as bare codes (the caller applies the
 * block scale to the vector's sum). */
template <int DT, int V> DF_HD inline void widen(const uint32_t *wd, float *v)
{
#ifdef __CUDA_ARCH__
    constexpr bool HW_FP8 = DT == DF_F8E4M3 && V % 2 == 0;
#else
    constexpr bool HW_FP8 = false;
#endif
    if constexpr (HW_FP8) {
#ifdef __CUDA_ARCH__
DF_UNROLL
        for (int j = 0; j < V; j += 2)
            e4m3x2_to_f32(wd[j / 4] >> (8 * (j % 4)), v[j], v[j + 1]);
#endif
    } else {
DF_UNROLL
        for (int j = 0; j < V; j++) {
            if constexpr (DT == DF_F32)
                memcpy(&v[j], &wd[j], sizeof(float));
            else if constexpr (DT == DF_BF16)
                v[j] = bf16_to_f32((uint16_t)(wd[j / 2] >> (16 * (j % 2))));
            else
                v[j] = e4m3_to_f32((uint8_t)(wd[j / 4] >> (8 * (j % 4))));
        }
    }
}

/* part + the V products wv[j] xv[j], summed as every row product here sums them: in
 * column order, or for FP8 the vector's own sum times its block's scale. One function
 * for the one-row and several-row kernels, whose sums must agree bit for bit. */
template <int DT, int V>
DF_HD inline float vec_acc(const float *wv, const float *xv, float scale, float part)
{
    if constexpr (DT == DF_F8E4M3) {
        float s = 0.0f;
DF_UNROLL
        for (int j = 0; j < V; j++)
            s = fmaf(wv[j], xv[j], s);
        return fmaf(s, scale, part);
    } else {
DF_UNROLL
        for (int j = 0; j < V; j++)
            part = fmaf(wv[j], xv[j], part);
        return part;
    }
}

/* One V-column vector of a row (its words wd, at column c) times nt <= T activation
 * vectors (x[t * xstride + c], or with STAGED in staged_index's order), added into part[t]:
 * column by column, or for FP8 the vector's sum times the scale of its block (srow: the row's
 * block scales). */
template <int DT, int COLS, int T, bool STAGED = false>
DF_HD inline void vec_fma(const uint32_t *wd, const float *srow, const float *x, int xstride, int nt, int c,
                          float (&part)[T])
{
    constexpr int V = row_vec<DT, COLS>::V;
    float wv[V];
    widen<DT, V>(wd, wv);
DF_UNROLL
    for (int t = 0; t < T; t++) {
        if (t < nt) {
            float xv[V];
            load_x_at<DT, COLS, STAGED>(x + (size_t)t * xstride, c, xv);
            part[t] = vec_acc<DT, V>(wv, xv, DT == DF_F8E4M3 ? srow[c / DF_FP8_BLOCK] : 0.0f, part[t]);
        }
    }
}

/* One lane's share of row . x for nt <= T vectors (x + t * xstride): the V-column vectors
 * c = lane * V + k * 32 * V below COLS, in order, added into part[t]; U of them are loaded
 * before any is used. The order depends on the shape alone, never on nt. */
template <int DT, int COLS, int T>
DF_HD inline void lane_dot(const unsigned char *wrow, const float *srow, const float *x, int xstride, int nt,
                           int lane, float (&part)[T])
{
    using RV = row_vec<DT, COLS>;
    constexpr int V = RV::V, U = RV::U, STEP = RV::STEP;
    int c = lane * V;
    for (; c + (U - 1) * STEP < COLS; c += U * STEP) {
        uint32_t wd[U][RV::WORDS];
DF_UNROLL
        for (int u = 0; u < U; u++)
            load_raw<DT, V>(wrow + (size_t)(c + u * STEP) * esize<DT>::value, wd[u]);
DF_UNROLL
        for (int u = 0; u < U; u++)
            vec_fma<DT, COLS, T>(wd[u], srow, x, xstride, nt, c + u * STEP, part);
    }
    for (; c < COLS; c += STEP) {
        uint32_t wd[RV::WORDS];
        load_raw<DT, V>(wrow + (size_t)c * esize<DT>::value, wd);
        vec_fma<DT, COLS, T>(wd, srow, x, xstride, nt, c, part);
    }
}

/* lane_dot for R rows at once, row r at wrow[r] (scales srow[r]) with its own vector x[r]
 * (one token each; STAGED: in staged_index's order): the U steps' loads of all R rows are issued
 * before any of their products, so that a warp has R rows' loads in flight instead of one row's.
 * Each row's products are lane_dot's, in lane_dot's order, so each part[r] has lane_dot's bits. */
template <int DT, int COLS, int R, bool STAGED = false>
DF_HD inline void lane_dot_each(const unsigned char *const (&wrow)[R], const float *const (&srow)[R],
                                const float *const (&x)[R], int lane, float (&part)[R][1])
{
    using RV = row_vec<DT, COLS>;
    constexpr int V = RV::V, U = RV::U_ROW, STEP = RV::STEP; /* a row of 2 or 3 steps: all at once */
    int c = lane * V;
    for (; c + (U - 1) * STEP < COLS; c += U * STEP) {
        uint32_t wd[R][U][RV::WORDS];
DF_UNROLL
        for (int r = 0; r < R; r++)
DF_UNROLL
            for (int u = 0; u < U; u++)
                load_raw<DT, V>(wrow[r] + (size_t)(c + u * STEP) * esize<DT>::value, wd[r][u]);
DF_UNROLL
        for (int r = 0; r < R; r++)
DF_UNROLL
            for (int u = 0; u < U; u++)
                vec_fma<DT, COLS, 1, STAGED>(wd[r][u], srow[r], x[r], 0, 1, c + u * STEP, part[r]);
    }
    for (; c < COLS; c += STEP) {
        uint32_t wd[R][RV::WORDS];
DF_UNROLL
        for (int r = 0; r < R; r++)
            load_raw<DT, V>(wrow[r] + (size_t)c * esize<DT>::value, wd[r]);
DF_UNROLL
        for (int r = 0; r < R; r++)
            vec_fma<DT, COLS, 1, STAGED>(wd[r], srow[r], x[r], 0, 1, c, part[r]);
    }
}

/* A warp's ring (ring_lane_dots) over R rows of COLS columns: a row's steps (a warp's STEP
 * columns, 16 bytes a lane), and the STAGES of the stream's R x STEPS steps a warp keeps in
 * flight (4: 2 KB a warp, 16 KB of shared memory a block of 8 warps, so that 6 blocks an SM, as registers
 * allow, leave L1 room for the token's row, which every warp reads: 28 KB at 7168 columns, 72 KB
 * at 18432; fewer only for a stream of fewer steps). PENDING: the groups a lane's wait leaves in
 * flight when it reads a step (its own and every later one started: STAGES - 1).
 * Only for 16-byte vectors (COLS a multiple of 16 FP8, 8 bf16 or 4 f32 columns: every real
 * shape); other rows take linear_k's and lane_dot_each's loads. */
template <int DT, int COLS, int R = 1> struct async_rows {
    using RV = row_vec<DT, COLS>;
    static constexpr bool OK = RV::FULL;
    static constexpr int STEPS = RV::STEPS;
    static constexpr int STAGES = R * STEPS < 4 ? R * STEPS : 4;
    static constexpr int PENDING = STAGES - 1;
    /* the steps of a row the device code writes out: all of a short row's (the experts' 4 to
     * 14), 4 at a time for a long one (a row of V3's 18432 bf16 columns is 72 steps) */
    static constexpr int UNROLL = STEPS <= 16 ? STEPS : 4;
    /* a lane's step k of a row: its first column (-1 past the row); a stream step's slot */
    DF_HD static int column(int lane, int k)
    {
        const int c = lane * RV::V + k * RV::STEP;
        return k < STEPS && c < COLS ? c : -1;
    }
    DF_HD static int slot(int g) { return g % STAGES; }
};

/* wrow[r] for an r the compiler may not know, as a select over the R pointers (indexing the
 * array with it would put the array in local memory). */
template <int R> DF_HD inline const unsigned char *pick_row(const unsigned char *const (&wrow)[R], int r)
{
    const unsigned char *row = wrow[0];
DF_UNROLL
    for (int i = 1; i < R; i++)
        if (r == i)
            row = wrow[i];
    return row;
}

/* A warp's ring over R rows of one token's products, one row after the other (linear_async_k,
 * and the per-pair experts with DF_CUDA_LINEAR_ONE=async): the rows make one stream of R x STEPS
 * steps; lane l's 16 bytes of step g (row g / STEPS, the lane's vector of that row's step
 * g % STEPS) are copied into slot g % STAGES, STAGES - 1 steps before they are read: into the
 * slot that step g - 1 was read from, and across the rows' ends, so that a warp keeps STAGES x
 * 512 bytes in flight from the first step of the first row to the last of the last.
 * part[r] = the lane's share of row r . x[r] (srow[r]: its block scales): lane_dot's vectors in
 * lane_dot's order, each through vec_fma as lane_dot adds it, so lane_dot's bits.
 * Every lane starts one copy a step, an empty one where its column is past the row (half the
 * lanes at the end of a row of 1408 bf16 columns) or the step past the stream, so each lane's
 * groups and waits follow one fixed schedule.
 * copy(g, r, c): start copying step g, row r, column c, as one group of its own (c < 0: an
 * empty group); read(g, wd): wait until at most PENDING of the lane's groups are in flight
 * (step g's has landed), load its words. The kernels' copy is cp.async and their read
 * cp_async_wait<PENDING> then a shared load (async_lane_dots); test_hd's model the groups, each
 * landing at once or as late as the wait allows. */
#pragma nv_exec_check_disable /* copy is the kernel's device lambda, or a test's host one */
template <int DT, int COLS, int R, class Copy> DF_HD inline void ring_start(Copy &copy, int g, int lane)
{ /* step g of the stream: its row, and this lane's column there (-1: past the row or the stream) */
    using A = async_rows<DT, COLS, R>;
    copy(g, g / A::STEPS, g / A::STEPS < R ? A::column(lane, g % A::STEPS) : -1);
}

#pragma nv_exec_check_disable /* copy and read are the kernel's device lambdas, or a test's host ones */
template <int DT, int COLS, int R, class Copy, class Read>
DF_HD inline void ring_lane_dots(Copy copy, Read read, const float *const (&srow)[R], const float *const (&x)[R],
                                 int lane, float (&part)[R][1])
{
    using A = async_rows<DT, COLS, R>;
    using RV = row_vec<DT, COLS>;
DF_UNROLL
    for (int g = 0; g < A::STAGES - 1; g++)
        ring_start<DT, COLS, R>(copy, g, lane);
DF_UNROLL
    for (int r = 0; r < R; r++)
#ifdef __CUDA_ARCH__
#pragma unroll(A::UNROLL)
#endif
        for (int k = 0; k < A::STEPS; k++) {
            const int g = r * A::STEPS + k, c = A::column(lane, k);
            ring_start<DT, COLS, R>(copy, g + A::STAGES - 1, lane); /* into the slot step g - 1 was read from */
            if (c >= 0) {             /* lane_dot's vectors, in its order */
                uint32_t wd[RV::WORDS];
                read(g, wd);
                vec_fma<DT, COLS, 1>(wd, srow[r], x[r], 0, 1, c, part[r]);
            }
        }
}

/* Rows that share one read of the activations in lane_dot_rows: R x V widened weights stay in
 * registers (32 floats: 4 bf16 rows, 2 FP8 rows), the loads of the R rows in flight together. */
template <int DT, int COLS> struct rows_per_warp {
    static constexpr int R = 32 / row_vec<DT, COLS>::V > 4 ? 4 : 32 / row_vec<DT, COLS>::V < 1 ? 1
                             : 32 / row_vec<DT, COLS>::V;
};

/* Steps of each of R rows that lane_dot_rows keeps in flight: row_vec's U_ROW, fewer where R
 * passes rows_per_warp's count, so that a warp has at least the bytes in flight it had with
 * rows_per_warp's rows (4 KB for FP8 rows of 4 steps or more; 4 for 3, where 2 rows had 3). */
template <int DT, int COLS, int R> DF_HD constexpr int rows_steps()
{
    constexpr int U = (row_vec<DT, COLS>::U_ROW * rows_per_warp<DT, COLS>::R + R - 1) / R;
    return U > row_vec<DT, COLS>::U_ROW ? row_vec<DT, COLS>::U_ROW : U;
}

/* Rows a warp of linear_rows_k for one token (DF_CUDA_LINEAR_ONE=rows), which reads the token in
 * place through L1. A lane's 16 bytes of an FP8 row take 64 bytes of the token, and a warp's
 * 16-byte load of it spans 16 cache lines, so the token's reads, not the weights', fill L1
 * (docs/cuda.md, "What remains": FP8 rows): FP8 rows of 16-byte vectors go 4 a warp, a quarter
 * of linear_k's reads of the token per weight byte, 2 steps of each in flight (rows_steps), in
 * 128 registers for V3's shapes, as many blocks an SM as 2 rows took. Others take
 * rows_per_warp's count. (The experts' down rows stay rows_per_warp's: moe_experts.) */
template <int DT, int COLS> DF_HD constexpr int one_token_rows()
{
    return DT == DF_F8E4M3 && row_vec<DT, COLS>::FULL ? 4 : rows_per_warp<DT, COLS>::R;
}

/* Rows a warp of a product's kernel for T tokens a read of the rows: linear_k's one (T = 0),
 * one_token_rows (T = 1), rows_per_warp's (several tokens). */
template <int DT, int COLS, int T> DF_HD constexpr int warp_row_count()
{
    return T == 0 ? 1 : T == 1 ? one_token_rows<DT, COLS>() : rows_per_warp<DT, COLS>::R;
}

/* lane_dot for rows r0 .. r0 + R - 1 of w (the first nr of them exist) and nt <= T vectors,
 * over the columns [c0, c1) (c0 a multiple of STEP): each activation vector is read once for
 * the R rows, column c of token t at x[t * xstride + c - c0] (STAGED: at x[t * xstride +
 * staged_index<G>(c - c0)], block_rows_dot's staging buffer); the R rows' loads of U steps are
 * issued before any of their products. Every (row, token) sum takes lane_dot's vectors in
 * lane_dot's order with lane_dot's arithmetic, so calls over consecutive column ranges, in
 * order, give lane_dot's bits. */
template <int DT, int COLS, int T, int R, int U = 1, bool STAGED = false>
DF_HD inline void lane_dot_rows(const unsigned char *w, const float *scale, int r0, int nr, const float *x,
                                int xstride, int nt, int lane, int c0, int c1, float (&part)[R][T])
{
    using RV = row_vec<DT, COLS>;
    constexpr int V = RV::V, STEP = RV::STEP;
    for (int c = c0 + lane * V; c < c1; c += U * STEP) {
        uint32_t wd[U][R][RV::WORDS];
DF_UNROLL
        for (int u = 0; u < U; u++)
DF_UNROLL
            for (int r = 0; r < R; r++)
                if (r < nr && c + u * STEP < c1)
                    load_raw<DT, V>(w + ((size_t)(r0 + r) * COLS + c + u * STEP) * esize<DT>::value, wd[u][r]);
DF_UNROLL
        for (int u = 0; u < U; u++) {
            const int cu = c + u * STEP;
            if (cu >= c1)
                break;
            float wv[R][V], sc[R];
DF_UNROLL
            for (int r = 0; r < R; r++) {
                sc[r] = 0.0f;
                if (r < nr) {
                    widen<DT, V>(wd[u][r], wv[r]);
                    if constexpr (DT == DF_F8E4M3)
                        sc[r] = scale[(size_t)((r0 + r) / DF_FP8_BLOCK) * RV::SCALE_LD + cu / DF_FP8_BLOCK];
                }
            }
DF_UNROLL
            for (int t = 0; t < T; t++) {
                if (t < nt) {
                    float xv[V];
                    load_x_at<DT, COLS, STAGED>(x + (size_t)t * xstride, cu - c0, xv);
DF_UNROLL
                    for (int r = 0; r < R; r++)
                        if (r < nr)
                            part[r][t] = vec_acc<DT, V>(wv[r], xv, sc[r], part[r][t]);
                }
            }
        }
    }
}

/* The online softmax over one chunk of scores (np of them, in place): from the running max
 * m and sum s of the chunks before, the new max; s is rescaled and gets this chunk's
 * exponentials, which replace the scores; *corr is the factor that rescales what was
 * accumulated with the old max. Every thread of a block calls it on the same values in the
 * same order and gets the same bits. Device code splits the exponentials over threads; this
 * is the order they follow. */
DF_HD inline float softmax_chunk_max(const float *score, int np, float m)
{
    for (int i = 0; i < np; i++)
        m = score[i] > m ? score[i] : m;
    return m;
}

DF_HD inline float softmax_chunk_sum(const float *e, int np)
{
    float s = 0.0f;
    for (int i = 0; i < np; i++)
        s += e[i];
    return s;
}

/* The absorbed query q_lat = W_uk(h)^T q_nope of head h (mla_attend_k, and the split path's
 * mla_absorb_k), in tiles of TILE columns (absorb_tile): a block's warps share the nope rows,
 * warp w the rows w, w + WARPS, ...; a lane takes V columns, 16 bytes of weights (f32: 4
 * columns), at most 8 (FP8: 8 bytes, within one 128-column block of scales). Each column's
 * WARPS parts are then added in warp order. tests/cuda/test_hd.cu runs a block's lanes and
 * columns through these functions against fp64. */
template <int DT> struct absorb_vec {
    static constexpr int V = 16 / esize<DT>::value < 8 ? 16 / esize<DT>::value : 8;
    static constexpr int TILE = WARP * V;
};
template <int DT, int L> DF_HD constexpr int absorb_tiles()
{
    return (L + absorb_vec<DT>::TILE - 1) / absorb_vec<DT>::TILE;
}

/* One lane's part: for its columns c0 .. c0 + V - 1, the sums over the nope rows d = warp,
 * warp + WARPS, ... in that order, each weight as elem gives it (FP8: the code times its
 * block's scale); the loads of up to 8 rows are issued before their products. */
template <int DT, int NOPE, int VH, int L>
DF_HD inline void absorb_part(const unsigned char *kv_b, const float *kv_b_scale, const float *q_nope, int h, int c0,
                              int warp, float (&acc)[absorb_vec<DT>::V])
{
    constexpr int V = absorb_vec<DT>::V, ROWS = (NOPE + WARPS - 1) / WARPS, U = ROWS < 8 ? ROWS : 8;
DF_UNROLL
    for (int j = 0; j < V; j++)
        acc[j] = 0.0f;
DF_UNROLL
    for (int i0 = 0; i0 < ROWS; i0 += U) {
        uint32_t wd[U][4] = {};
        float sc[U] = {};
DF_UNROLL
        for (int u = 0; u < U; u++) {
            const int d = warp + (i0 + u) * WARPS, row = h * (NOPE + VH) + d;
            if (i0 + u < ROWS && d < NOPE) {
                load_raw<DT, V>(w_row<DT, L>(kv_b, row) + (size_t)c0 * esize<DT>::value, wd[u]);
                sc[u] = DT == DF_F8E4M3 ? s_row<DT, L>(kv_b_scale, row)[c0 / DF_FP8_BLOCK] : 1.0f;
            }
        }
DF_UNROLL
        for (int u = 0; u < U; u++) {
            const int d = warp + (i0 + u) * WARPS;
            if (i0 + u < ROWS && d < NOPE) {
                float v[V];
                widen<DT, V>(wd[u], v);
DF_UNROLL
                for (int j = 0; j < V; j++)
                    acc[j] = fmaf(q_nope[d], DT == DF_F8E4M3 ? v[j] * sc[u] : v[j], acc[j]);
            }
        }
    }
}

/* Where lane's column j of a tile waits in a warp's row of the parts; column i's WARPS parts
 * added in warp order. */
template <int DT> DF_HD inline int absorb_slot(int lane, int j) { return lane * absorb_vec<DT>::V + j; }
template <int DT> DF_HD inline float absorb_column(const float (*part)[absorb_vec<DT>::TILE], int i)
{
    float s = part[0][i];
    for (int w = 1; w < WARPS; w++)
        s += part[w][i];
    return s;
}

/* ---- device pieces ---------------------------------------------------------------------- */

#ifdef __CUDACC__

/* The xor butterfly: every lane ends with the same bits (each step adds two values that
 * both partners hold, and a + b == b + a exactly). */
__device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
    for (int m = WARP / 2; m > 0; m /= 2)
        v += __shfl_xor_sync(0xffffffffu, v, m);
    return v;
}

/* silu(g) * u: a SwiGLU's value, as kernels/elementwise.h computes it, wherever a kernel does. */
__device__ __forceinline__ float silu_times(float g, float u) { return g / (1.0f + expf(-g)) * u; }

/* Row r's products with nt <= T vectors, computed by the whole warp; every lane gets acc. */
template <int DT, int COLS, int T>
__device__ __forceinline__ void row_dot(const unsigned char *w, const float *scale, int r, const float *x, int xstride,
                                        int nt, int lane, float (&acc)[T])
{
#pragma unroll
    for (int t = 0; t < T; t++)
        acc[t] = 0.0f;
    lane_dot<DT, COLS, T>(w_row<DT, COLS>(w, r), s_row<DT, COLS>(scale, r), x, xstride, nt, lane, acc);
#pragma unroll
    for (int t = 0; t < T; t++)
        acc[t] = warp_sum(acc[t]);
}

/* Element (r, c) of a packed matrix, scaled: mat_elem. */
template <int DT, int COLS>
__device__ __forceinline__ float elem(const unsigned char *w, const float *scale, int r, int c)
{
    const size_t i = (size_t)r * COLS + c;
    if constexpr (DT == DF_F32)
        return reinterpret_cast<const float *>(w)[i];
    else if constexpr (DT == DF_BF16)
        return bf16_to_f32(reinterpret_cast<const uint16_t *>(w)[i]);
    else
        return e4m3_to_f32(w[i]) * scale[(r / DF_FP8_BLOCK) * row_vec<DT, COLS>::SCALE_LD + c / DF_FP8_BLOCK];
}

/* The latent cache's elements (deploy.kv_cache): f32, or bf16 (its bits as uint16_t), written
 * rounded to nearest even (f32_round_bf16, as the CPU) and read back as the f32 they stand for. */
DF_HD inline float cache_get(const float *c, size_t i) { return c[i]; }
DF_HD inline float cache_get(const uint16_t *c, size_t i) { return bf16_to_f32(c[i]); }
DF_HD inline void cache_put(float *c, size_t i, float v) { c[i] = v; }
DF_HD inline void cache_put(uint16_t *c, size_t i, float v) { c[i] = f32_bf16_bits(v); }

/* out = x / rms(x) * w over one row of DIM, by one warp (out may alias x; a bf16 cache row's
 * values rounded as they are stored). */
template <int DIM, typename OUT>
__device__ __forceinline__ void warp_rmsnorm(const float *x, const float *w, float eps, OUT *out, int lane)
{
    constexpr int PER = (DIM + WARP - 1) / WARP;
    float xv[PER], wv[PER], ss = 0.0f; /* loads first, then the stores (see rmsnorm_k) */
#pragma unroll
    for (int j = 0; j < PER; j++) {
        const int i = lane + j * WARP;
        xv[j] = i < DIM ? x[i] : 0.0f;
        wv[j] = i < DIM ? w[i] : 0.0f;
    }
#pragma unroll
    for (int j = 0; j < PER; j++)
        if (lane + j * WARP < DIM)
            ss = fmaf(xv[j], xv[j], ss);
    ss = warp_sum(ss);
    const float inv = 1.0f / sqrtf(ss / (float)DIM + eps);
#pragma unroll
    for (int j = 0; j < PER; j++)
        if (lane + j * WARP < DIM)
            cache_put(out, lane + j * WARP, xv[j] * inv * wv[j]);
}

/* dst[c] = get(c) for the DIM columns of a row, by the block (column c on thread c % THREADS):
 * every get before the first store, which the compiler would otherwise keep each load behind
 * (see rmsnorm_k). */
template <int DIM, class F> __device__ __forceinline__ void block_row_store(F get, float *dst)
{
    constexpr int PER = (DIM + THREADS - 1) / THREADS;
    float v[PER];
#pragma unroll
    for (int j = 0; j < PER; j++) {
        const int c = threadIdx.x + j * THREADS;
        v[j] = c < DIM ? get(c) : 0.0f;
    }
#pragma unroll
    for (int j = 0; j < PER; j++) {
        const int c = threadIdx.x + j * THREADS;
        if (c < DIM)
            dst[c] = v[j];
    }
}

/* ---- kernels ---------------------------------------------------------------------------- */

/* Block bx of a product for a lone token, after pdl_enter: a warp per row, y[r] = W[r] . x (ACC:
 * y[r] += it, the residual add the schedule fused into the product: y + p, residual_add's sum). */
template <int DT, int ROWS, int COLS, bool ACC>
__device__ __forceinline__ void linear_one_block(const unsigned char *w, const float *scale, const float *x, float *y,
                                                 int bx)
{
    const int lane = threadIdx.x % WARP, r = bx * WARPS + threadIdx.x / WARP;
    if (r >= ROWS)
        return;
    float acc[1];
    row_dot<DT, COLS, 1>(w, scale, r, x, COLS, 1, lane, acc);
    if (lane == 0)
        y[r] = ACC ? y[r] + acc[0] : acc[0];
}

/* Columns of the activations a block stages in shared memory at a time (T x KCOLS floats):
 * a multiple of every STEP. */
constexpr int KCOLS = 1024;

/* Columns c0 .. c0 + kc - 1 of the nt rows xrow[t] (COLS floats each) into xs, KC floats a
 * token, in staged_index<G>'s order: thread `thread` of `threads` copies every threads-th
 * 16-byte unit (every threads-th float where COLS is not a multiple of 4). */
template <int COLS, int KC, int G>
DF_HD inline void stage_x(const float *const *xrow, int nt, int c0, int kc, float *xs, int thread, int threads)
{
    if constexpr (COLS % 4 == 0) { /* 16-byte loads: rows and ranges start aligned */
        for (int i = thread; i < nt * KC / 4; i += threads) {
            const int t = i / (KC / 4), c = 4 * (i % (KC / 4));
            if (c < kc) {
                float *to = &xs[t * KC + staged_index<G>(c)];
#ifdef __CUDA_ARCH__
                *reinterpret_cast<float4 *>(to) = *reinterpret_cast<const float4 *>(&xrow[t][c0 + c]);
#else
                memcpy(to, &xrow[t][c0 + c], 4 * sizeof(float));
#endif
            }
        }
    } else {
        for (int i = thread; i < nt * KC; i += threads) {
            const int t = i / KC, c = i % KC;
            if (c < kc)
                xs[t * KC + staged_index<G>(c)] = xrow[t][c0 + c];
        }
    }
}

/* How block_rows_dot is given its tokens' rows (token_rows): T pointers, or one token's row. */
template <int T> struct token_rows_of { using type = const float *const *; };
template <> struct token_rows_of<1> { using type = const float *; };

/* acc[r][t] += W[r0 + r] . xrow[t] for the nr <= R rows of this warp and nt <= T activation
 * rows (token_rows: T row pointers in shared memory, the first nt set, or a lone token's row
 * itself). Several tokens: the block stages the rows KCOLS columns at a time in xs (stage_x, in
 * staged_index's order, which spares the warps' reads bank conflicts), where its warps read them
 * (a tile of x for a large K would not stay in L1: 8 tokens of 18432 columns are 590 KB). One
 * token (T = 1, DF_CUDA_LINEAR_ONE=rows): each warp reads its row in place through L1, with no
 * barrier, the warp's R rows' loads of rows_steps' steps in flight together (4 KB a warp for 4
 * FP8 rows: one_token_rows), so that each activation vector serves R rows where linear_k's warp
 * reads it for one (an FP8 row's 16 weight bytes a lane take 64 bytes of the token). Every
 * thread of the block calls it (nr may be 0); each (row, token) sum has linear_k's bits
 * (lane_dot_rows over consecutive column ranges). */
template <int DT, int COLS, int T, int R>
__device__ __forceinline__ void block_rows_dot(const unsigned char *w, const float *scale, int r0, int nr,
                                               typename token_rows_of<T>::type xrow, int nt, float *xs,
                                               float (&acc)[R][T])
{
    constexpr int KC = COLS < KCOLS ? COLS : KCOLS;
    static_assert(KC == COLS || KCOLS % row_vec<DT, COLS>::STEP == 0, "KCOLS: a multiple of the warp's step");
    const int lane = threadIdx.x % WARP;
    if constexpr (T == 1) {
        if (nr > 0 && nt > 0)
            lane_dot_rows<DT, COLS, 1, R, rows_steps<DT, COLS, R>()>(w, scale, r0, nr, xrow, 0, 1, lane, 0, COLS, acc);
    } else {
        for (int c0 = 0; c0 < COLS; c0 += KC) {
            const int kc = COLS - c0 < KC ? COLS - c0 : KC;
            __syncthreads(); /* the previous range (or the caller's xrow) is ready */
            stage_x<COLS, KC, stage_units<DT, COLS>()>(xrow, nt, c0, kc, xs, threadIdx.x, THREADS);
            __syncthreads();
            if (nr > 0)
                lane_dot_rows<DT, COLS, T, R, 1, true>(w, scale, r0, nr, xs, KC, nt, lane, c0, c0 + kc, acc);
        }
    }
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int t = 0; t < T; t++)
            acc[r][t] = warp_sum(acc[r][t]);
}

/* This warp's rows in block bx of a kernel of R rows per warp over ROWS rows: r0, and how many
 * of the R exist (0 past the end; such warps still join their block's barriers). */
template <int ROWS, int R> __device__ __forceinline__ int warp_rows(int bx, int &r0)
{
    r0 = (bx * WARPS + threadIdx.x / WARP) * R;
    return ROWS - r0 < R ? (ROWS - r0 > 0 ? ROWS - r0 : 0) : R;
}

/* f(r, t) for each of block_rows_dot's R x T sums that exists (r < nr, t < nt) and that this
 * lane writes out: lane (r T + t) % WARP, so that the stores spread over the warp. */
template <int R, int T, class F> __device__ __forceinline__ void each_own_sum(int nr, int nt, F f)
{
    const int lane = threadIdx.x % WARP;
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int t = 0; t < T; t++)
            if (lane == (r * T + t) % WARP && r < nr && t < nt)
                f(r, t);
}

/* Shared memory of block_rows_dot: the staged columns (for one token, which is not staged, 4
 * unused floats) and the row pointers. */
template <int COLS, int T> struct rows_smem {
    static constexpr int KC = COLS < KCOLS ? COLS : KCOLS;
    __align__(16) float xs[T == 1 ? 4 : T * KC];
    const float *xrow[T];
};

/* The rows of tokens t0 .. t0 + T - 1 of x (COLS floats each) as block_rows_dot reads them
 * (token_rows_of<T>): for one token its row itself, a pointer the compiler knows to be global
 * memory, read with no barrier; for several, pointers in sm.xrow that threads < T set
 * (block_rows_dot's first barrier orders them). */
template <int COLS, int T>
__device__ __forceinline__ typename token_rows_of<T>::type token_rows(rows_smem<COLS, T> &sm, const float *x, int t0)
{
    if constexpr (T == 1) {
        return x + (size_t)t0 * COLS;
    } else {
        if (threadIdx.x < T)
            sm.xrow[threadIdx.x] = x + (size_t)(t0 + threadIdx.x) * COLS;
        return sm.xrow;
    }
}

/* Block (bx, blockIdx.y) of a product for several tokens, after pdl_enter: y[t][r] = W[r] . x[t]
 * (ACC: +=, as linear_one_block), a warp per R rows (warp_row_count), T tokens per read of the
 * rows (block_rows_dot, in the kernel's sm: one per kernel, whichever matrix its block takes),
 * tokens blockIdx.y T onwards. */
template <int DT, int ROWS, int COLS, int T, bool ACC>
__device__ __forceinline__ void linear_rows_block(const unsigned char *w, const float *scale, const float *x, int n,
                                                  float *y, int bx, rows_smem<COLS, T> &sm)
{
    constexpr int R = warp_row_count<DT, COLS, T>();
    const int t0 = blockIdx.y * T, nt = n - t0 < T ? n - t0 : T;
    int r0;
    const int nr = warp_rows<ROWS, R>(bx, r0);
    float acc[R][T] = {};
    block_rows_dot<DT, COLS, T, R>(w, scale, r0, nr, token_rows(sm, x, t0), nt, sm.xs, acc);
    each_own_sum<R, T>(nr, nt, [&](int r, int t) {
        float *out = &y[(size_t)(t0 + t) * ROWS + r0 + r];
        *out = ACC ? *out + acc[r][t] : acc[r][t];
    });
}

/* Before pdl_enter (launch.cuh): block bx's weight rows of a product into L2, each warp's own,
 * in linear_k's layout (T = 0: a row a warp) or linear_rows_k's (R rows a warp; the blocks of the
 * first token tile only). */
template <int DT, int ROWS, int COLS, int T>
__device__ __forceinline__ void prefetch_block(const unsigned char *w, int bx)
{
    constexpr int R = warp_row_count<DT, COLS, T>(), ROW_BYTES = COLS * esize<DT>::value;
    int r0;
    const int nr = warp_rows<ROWS, R>(bx, r0);
    if (threadIdx.x % WARP == 0 && blockIdx.y == 0)
        prefetch_rows<ROW_BYTES>(w + (size_t)r0 * ROW_BYTES, nr);
}

/* y[r] = W[r] . x for a lone token (linear_rows_k takes several tokens). */
template <int DT, int ROWS, int COLS, bool ACC>
__global__ void __launch_bounds__(THREADS) linear_k(const unsigned char *w, const float *scale, const float *x, float *y)
{
    prefetch_block<DT, ROWS, COLS, 0>(w, blockIdx.x);
    pdl_enter();
    linear_one_block<DT, ROWS, COLS, ACC>(w, scale, x, y, blockIdx.x);
}

/* The warps' rings in shared memory (a kernel's, for streams of R rows): each of its NW warps'
 * STAGES slots of a warp step's bytes. */
template <int DT, int COLS, int R = 1, int NW = WARPS> struct async_stage {
    __align__(16) unsigned char b[NW][async_rows<DT, COLS, R>::STAGES][WARP * 16];
};

/* ring_lane_dots through a warp's ring (its slots of async_stage) with cp.async: a lane copies
 * and reads back only its own 16 bytes of each slot, so no barrier is needed. */
template <int DT, int COLS, int R>
__device__ __forceinline__ void async_lane_dots(const unsigned char *const (&wrow)[R], const float *const (&srow)[R],
                                                const float *const (&x)[R],
                                                unsigned char (&ring)[async_rows<DT, COLS, R>::STAGES][WARP * 16],
                                                int lane, float (&part)[R][1])
{
    using A = async_rows<DT, COLS, R>;
    static_assert(A::OK, "async_lane_dots: 16-byte vectors only");
    ring_lane_dots<DT, COLS, R>(
        [&](int g, int r, int c) {
            if (c >= 0)
                cp_async16(&ring[A::slot(g)][lane * 16], pick_row<R>(wrow, r) + (size_t)c * esize<DT>::value, 16);
            cp_async_commit();
        },
        [&](int g, uint32_t *wd) {
            cp_async_wait<A::PENDING>();
            const uint4 u = *reinterpret_cast<const uint4 *>(&ring[A::slot(g)][lane * 16]);
            wd[0] = u.x, wd[1] = u.y, wd[2] = u.z, wd[3] = u.w;
        },
        srow, x, lane, part);
}

/* Block bx of linear_async_k, after pdl_enter (linear_one_block's rows; st: the kernel's ring). */
template <int DT, int ROWS, int COLS, bool ACC>
__device__ __forceinline__ void linear_async_block(const unsigned char *w, const float *scale, const float *x,
                                                   float *y, int bx, async_stage<DT, COLS> &st)
{
    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP, r = bx * WARPS + warp;
    if (r >= ROWS)
        return;
    const unsigned char *const wr[1] = { w_row<DT, COLS>(w, r) };
    const float *const sr[1] = { s_row<DT, COLS>(scale, r) }, *const xs[1] = { x };
    float part[1][1] = {};
    async_lane_dots<DT, COLS, 1>(wr, sr, xs, st.b[warp], lane, part);
    const float acc = warp_sum(part[0][0]);
    if (lane == 0)
        y[r] = ACC ? y[r] + acc : acc;
}

/* linear_k with the row's weights streamed through shared memory: each lane copies its own 16
 * bytes of each step STAGES - 1 steps ahead (cp.async) and reads back only those (no barrier),
 * so a warp keeps STAGES x 512 bytes of its row in flight without holding them in registers.
 * (ptxas, saving registers, spreads linear_k's four loads of a step group between their
 * products, as the SASS shows: then a warp waits for each load in turn.) ring_lane_dots over
 * the same vectors: linear_k's bits. */
template <int DT, int ROWS, int COLS, bool ACC>
__global__ void __launch_bounds__(THREADS) linear_async_k(const unsigned char *w, const float *scale, const float *x,
                                                          float *y)
{
    __shared__ async_stage<DT, COLS> st;
    prefetch_block<DT, ROWS, COLS, 0>(w, blockIdx.x);
    pdl_enter();
    linear_async_block<DT, ROWS, COLS, ACC>(w, scale, x, y, blockIdx.x, st);
}

template <int DT, int ROWS, int COLS, int T, bool ACC>
__global__ void __launch_bounds__(THREADS) linear_rows_k(const unsigned char *w, const float *scale, const float *x,
                                                         int n, float *y)
{
    __shared__ rows_smem<COLS, T> sm;
    prefetch_block<DT, ROWS, COLS, T>(w, blockIdx.x);
    pdl_enter();
    linear_rows_block<DT, ROWS, COLS, T, ACC>(w, scale, x, n, y, blockIdx.x, sm);
}

/* Blocks along x of a product of ROWS rows: linear_k's (T = 0) or linear_rows_k's. */
template <int DT, int ROWS, int COLS, int T> DF_HD constexpr int linear_blocks()
{
    constexpr int RB = WARPS * warp_row_count<DT, COLS, T>(); /* rows per block */
    return (ROWS + RB - 1) / RB;
}

/* Two products of the same input in one launch (the schedule's linear_pair: q_a and kv_a): the
 * first linear_blocks of the first, then the second's, each block as linear_k (T = 0; ASYNC: as
 * linear_async_k) or linear_rows_k computes it, so each output has their bits. */
template <int DT, int ROWS1, int ROWS2, int COLS, int T, bool ASYNC>
__global__ void __launch_bounds__(THREADS) linear_pair_k(const unsigned char *w1, const float *scale1,
                                                         const unsigned char *w2, const float *scale2, const float *x,
                                                         int n, float *y1, float *y2)
{
    constexpr int B1 = linear_blocks<DT, ROWS1, COLS, T>();
    const bool first = blockIdx.x < B1;
    if (first)
        prefetch_block<DT, ROWS1, COLS, T>(w1, blockIdx.x);
    else
        prefetch_block<DT, ROWS2, COLS, T>(w2, blockIdx.x - B1);
    pdl_enter();
    if constexpr (T == 0 && ASYNC) {
        __shared__ async_stage<DT, COLS> st;
        if (first)
            linear_async_block<DT, ROWS1, COLS, false>(w1, scale1, x, y1, blockIdx.x, st);
        else
            linear_async_block<DT, ROWS2, COLS, false>(w2, scale2, x, y2, blockIdx.x - B1, st);
    } else if constexpr (T == 0) {
        if (first)
            linear_one_block<DT, ROWS1, COLS, false>(w1, scale1, x, y1, blockIdx.x);
        else
            linear_one_block<DT, ROWS2, COLS, false>(w2, scale2, x, y2, blockIdx.x - B1);
    } else {
        __shared__ rows_smem<COLS, T> sm;
        if (first)
            linear_rows_block<DT, ROWS1, COLS, T, false>(w1, scale1, x, n, y1, blockIdx.x, sm);
        else
            linear_rows_block<DT, ROWS2, COLS, T, false>(w2, scale2, x, n, y2, blockIdx.x - B1, sm);
    }
}

/* silu(gate . x) * (up . x) for this warp's rows r0 .. r0 + nr - 1 and the nt activation rows
 * (token_rows; block_rows_dot twice): the gate's sums wait in gate (the warp's R x T floats of
 * shared memory) while the up projection's are made, so that one set of sums is in registers at
 * a time (both would double them, and halve the blocks per SM); store(r, t, v) takes each
 * existing (row, token) value, on lane (r T + t) % WARP. Every thread of the block calls it. */
template <int DT, int COLS, int T, int R, class F>
__device__ __forceinline__ void swiglu_rows(const unsigned char *wg, const float *sg, const unsigned char *wu,
                                            const float *su, int r0, int nr, typename token_rows_of<T>::type xrow,
                                            int nt, float *xs, float (&gate)[R][T], F store)
{
    {
        float a[R][T] = {};
        block_rows_dot<DT, COLS, T, R>(wg, sg, r0, nr, xrow, nt, xs, a);
        each_own_sum<R, T>(nr, nt, [&](int r, int t) { gate[r][t] = a[r][t]; });
    }
    float u[R][T] = {};
    block_rows_dot<DT, COLS, T, R>(wu, su, r0, nr, xrow, nt, xs, u);
    each_own_sum<R, T>(nr, nt, [&](int r, int t) { store(r, t, silu_times(gate[r][t], u[r][t])); });
}

/* silu(gate_r . x) * (up_r . x) for one row r of one token by the whole warp (every lane gets
 * it): two row_dots' sums, then silu_mul's value. The two rows' lane shares are computed
 * together (lane_dot_each: their loads in flight at once), then the two butterflies. */
template <int DT, int COLS>
__device__ __forceinline__ float swiglu_row(const unsigned char *wg, const float *sg, const unsigned char *wu,
                                            const float *su, int r, const float *x, int lane)
{
    const unsigned char *const wr[2] = { w_row<DT, COLS>(wg, r), w_row<DT, COLS>(wu, r) };
    const float *const sr[2] = { s_row<DT, COLS>(sg, r), s_row<DT, COLS>(su, r) }, *const xs[2] = { x, x };
    float part[2][1] = {};
    lane_dot_each<DT, COLS, 2>(wr, sr, xs, lane, part);
    return silu_times(warp_sum(part[0][0]), warp_sum(part[1][0]));
}

/* swiglu_row with the two rows through the warp's ring (async_lane_dots, DF_CUDA_LINEAR_ONE=async):
 * the same lanes' shares, so the same bits. */
template <int DT, int COLS>
__device__ __forceinline__ float swiglu_row_async(const unsigned char *wg, const float *sg, const unsigned char *wu,
                                                  const float *su, int r, const float *x,
                                                  unsigned char (&ring)[async_rows<DT, COLS, 2>::STAGES][WARP * 16],
                                                  int lane)
{
    const unsigned char *const wr[2] = { w_row<DT, COLS>(wg, r), w_row<DT, COLS>(wu, r) };
    const float *const sr[2] = { s_row<DT, COLS>(sg, r), s_row<DT, COLS>(su, r) }, *const xs[2] = { x, x };
    float part[2][1] = {};
    async_lane_dots<DT, COLS, 2>(wr, sr, xs, ring, lane, part);
    return silu_times(warp_sum(part[0][0]), warp_sum(part[1][0]));
}

/* A SwiGLU's gate and up products and silu(gate) * up in one launch (the schedule's swiglu):
 * g[t][r] = silu(Wg[r] . x[t]) * (Wu[r] . x[t]), each product computed as linear_k (T = 0: a
 * warp per row) or linear_rows_k does, then silu_mul's value (silu_times): the bits of the three
 * ops it replaces, as moe_gate_up_k and moe_grouped_k compute an expert's. ASYNC (T = 0, with
 * DF_CUDA_LINEAR_ONE=async): the gate and up rows through the warp's ring (async_lane_dots), as
 * moe_gate_up_k's. */
template <int DT, int INTER, int COLS, int T, bool ASYNC>
__global__ void __launch_bounds__(THREADS) swiglu_k(const unsigned char *wg, const float *sg, const unsigned char *wu,
                                                    const float *su, const float *x, int n, float *g)
{
    const int lane = threadIdx.x % WARP;
    prefetch_block<DT, INTER, COLS, T>(wg, blockIdx.x);
    prefetch_block<DT, INTER, COLS, T>(wu, blockIdx.x);
    pdl_enter();
    if constexpr (T == 0) {
        const int r = blockIdx.x * WARPS + threadIdx.x / WARP;
        if (r >= INTER)
            return;
        float v;
        if constexpr (ASYNC) {
            __shared__ async_stage<DT, COLS, 2> st;
            v = swiglu_row_async<DT, COLS>(wg, sg, wu, su, r, x, st.b[threadIdx.x / WARP], lane);
        } else {
            v = swiglu_row<DT, COLS>(wg, sg, wu, su, r, x, lane);
        }
        if (lane == 0)
            g[r] = v;
    } else {
        constexpr int R = warp_row_count<DT, COLS, T>();
        __shared__ rows_smem<COLS, T> sm;
        const int t0 = blockIdx.y * T, nt = n - t0 < T ? n - t0 : T;
        int r0;
        const int nr = warp_rows<INTER, R>(blockIdx.x, r0);
        __shared__ float gate[WARPS][R][T];
        swiglu_rows<DT, COLS, T, R>(wg, sg, wu, su, r0, nr, token_rows(sm, x, t0), nt, sm.xs,
                                    gate[threadIdx.x / WARP],
                                    [&](int r, int t, float v) { g[(size_t)(t0 + t) * INTER + r0 + r] = v; });
    }
}

/* out = x / rms(x) * w, a block per token (out may alias x): each thread squares DIM / THREADS
 * elements held in registers, the warps' sums meet in shared memory and every thread adds
 * the WARPS of them in the same order. One token's row is read once, all of it in flight.
 * What the schedule fuses into it (the same bits as the separate ops):
 *   ADD: first x += y (residual_add's sum, written back); out must not alias x then;
 *   OUT (enum df_act): what the output is prepared for. DF_ACT_FP8: quantized as act_quant_fp8
 *   does (FP8 activations): thread t holds columns t + 256 j, which lie in 128-column block
 *   2 j + t / 128, so a block's amax is the max of four warps' maxima (exact in any order),
 *   then kernels/quant.h's arithmetic. DF_ACT_BF16: rounded as act_round_bf16 does (bf16
 *   activations). DF_ACT_F32: as it is. */
template <int DIM, bool ADD, int OUT>
__global__ void __launch_bounds__(THREADS) rmsnorm_k(float *x, const float *y, const float *w, float eps, float *out)
{
    pdl_enter();
    constexpr int PER = (DIM + THREADS - 1) / THREADS;
    static_assert(OUT != DF_ACT_FP8 || THREADS == 2 * DF_ACT_BLOCK, "a thread's columns 256 apart: blocks 2 j and 2 j + 1");
    __shared__ float s_warp[WARPS];
    float *xt = x + (size_t)blockIdx.x * DIM;
    /* Every load before the first store: x, y and w may alias out and x as far as
     * the compiler knows, so a load after a store waits for it, one trip to L2 per column group
     * (the SASS of 2026-11-29: 55 such trips a token at 7168 columns). */
    float v[PER], yv[PER], wv[PER], ss = 0.0f;
#pragma unroll
    for (int j = 0; j < PER; j++) {
        const int i = threadIdx.x + j * THREADS;
        v[j] = i < DIM ? xt[i] : 0.0f;
        yv[j] = ADD && i < DIM ? y[(size_t)blockIdx.x * DIM + i] : 0.0f;
        wv[j] = i < DIM ? w[i] : 0.0f;
    }
#pragma unroll
    for (int j = 0; j < PER; j++) {
        const int i = threadIdx.x + j * THREADS;
        if (ADD && i < DIM) {
            v[j] += yv[j];
            xt[i] = v[j];
        }
        ss = fmaf(v[j], v[j], ss);
    }
    ss = warp_sum(ss);
    if (threadIdx.x % WARP == 0)
        s_warp[threadIdx.x / WARP] = ss;
    __syncthreads();
    ss = 0.0f;
#pragma unroll
    for (int k = 0; k < WARPS; k++)
        ss += s_warp[k];
    const float inv = 1.0f / sqrtf(ss / (float)DIM + eps);
    float *ot = out + (size_t)blockIdx.x * DIM;
    if constexpr (OUT == DF_ACT_FP8) {
        __shared__ float s_amax[PER][WARPS];
        float o[PER];
#pragma unroll
        for (int j = 0; j < PER; j++) {
            const int i = threadIdx.x + j * THREADS;
            o[j] = i < DIM ? v[j] * inv * wv[j] : 0.0f;
            float m = fabsf(o[j]);
#pragma unroll
            for (int d = WARP / 2; d > 0; d /= 2)
                m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, d));
            if (threadIdx.x % WARP == 0)
                s_amax[j][threadIdx.x / WARP] = m;
        }
        __syncthreads();
        const int w0 = threadIdx.x / DF_ACT_BLOCK * (DF_ACT_BLOCK / WARP); /* the first warp of my blocks */
#pragma unroll
        for (int j = 0; j < PER; j++) {
            const int i = threadIdx.x + j * THREADS;
            float amax = s_amax[j][w0];
#pragma unroll
            for (int k = 1; k < DF_ACT_BLOCK / WARP; k++)
                amax = fmaxf(amax, s_amax[j][w0 + k]);
            const float s = act_scale(amax);
            if (i < DIM)
                ot[i] = e4m3_round(o[j] / s) * s;
        }
    } else {
#pragma unroll
        for (int j = 0; j < PER; j++) {
            const int i = threadIdx.x + j * THREADS;
            if (i < DIM)
                ot[i] = OUT == DF_ACT_BF16 ? f32_round_bf16(v[j] * inv * wv[j]) : v[j] * inv * wv[j];
        }
    }
}

/* A block per token. */
template <int DT, int NVOCAB, int DIM>
__global__ void __launch_bounds__(THREADS) embed_k(const unsigned char *w, const float *scale, const int *tokens,
                                                   float *out)
{
    pdl_enter();
    const int t = blockIdx.x, id = tokens[t];
    block_row_store<DIM>([&](int c) { return elem<DT, DIM>(w, scale, id, c); }, out + (size_t)t * DIM);
}

template <int DIM>
__global__ void __launch_bounds__(THREADS) residual_add_k(float *x, const float *y, int n)
{
    pdl_enter();
    const size_t total = (size_t)n * DIM;
    for (size_t i = (size_t)blockIdx.x * THREADS + threadIdx.x; i < total; i += (size_t)gridDim.x * THREADS)
        x[i] += y[i];
}

/* ROUND: the result rounded as act_round_bf16 does (bf16 activations). */
template <int DIM, bool ROUND>
__global__ void __launch_bounds__(THREADS) silu_mul_k(float *g, const float *u, int n)
{
    pdl_enter();
    const size_t total = (size_t)n * DIM;
    for (size_t i = (size_t)blockIdx.x * THREADS + threadIdx.x; i < total; i += (size_t)gridDim.x * THREADS) {
        const float v = silu_times(g[i], u[i]);
        g[i] = ROUND ? f32_round_bf16(v) : v;
    }
}

/* The bf16-activation precision's rounding in place (f32_round_bf16, mat.h: the CPU's rounding of
 * a product's input, bit for bit). */
template <int DIM>
__global__ void __launch_bounds__(THREADS) act_round_bf16_k(float *x, int n)
{
    pdl_enter();
    const size_t total = (size_t)n * DIM;
    for (size_t i = (size_t)blockIdx.x * THREADS + threadIdx.x; i < total; i += (size_t)gridDim.x * THREADS)
        x[i] = f32_round_bf16(x[i]);
}

/* The FP8-activation precision's quantization (kernels/quant.h) in place: a warp per (row,
 * 128-column block), lane l on columns l, l + 32, l + 64, l + 96 of the block. The block's amax
 * is the warp's max, exact in any order, and every value is act_quant_fp8_block's.
 * SILU (silu_mul fused before it): the block first becomes silu(x) * u as silu_mul_k computes it. */
template <int DIM, bool SILU>
__global__ void __launch_bounds__(THREADS) act_quant_fp8_k(float *x, const float *u, int n)
{
    pdl_enter();
    constexpr int NB = (DIM + DF_ACT_BLOCK - 1) / DF_ACT_BLOCK;
    const int item = blockIdx.x * WARPS + threadIdx.x / WARP, lane = threadIdx.x % WARP;
    if (item >= n * NB)
        return;
    const int c0 = item % NB * DF_ACT_BLOCK, width = DIM - c0 < DF_ACT_BLOCK ? DIM - c0 : DF_ACT_BLOCK;
    const size_t at = (size_t)(item / NB) * DIM + c0; /* the block's first value */
    float *b = x + at;
    float v[DF_ACT_BLOCK / WARP], amax = 0.0f;
#pragma unroll
    for (int i = 0; i < DF_ACT_BLOCK / WARP; i++) {
        v[i] = lane + WARP * i < width ? b[lane + WARP * i] : 0.0f;
        if (SILU && lane + WARP * i < width)
            v[i] = silu_times(v[i], u[at + lane + WARP * i]);
        amax = fmaxf(amax, fabsf(v[i]));
    }
#pragma unroll
    for (int o = WARP / 2; o > 0; o /= 2)
        amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    const float s = act_scale(amax);
#pragma unroll
    for (int i = 0; i < DF_ACT_BLOCK / WARP; i++)
        if (lane + WARP * i < width)
            b[lane + WARP * i] = e4m3_round(v[i] / s) * s;
}

/* A block per emitted row. */
template <int DIM>
__global__ void __launch_bounds__(THREADS) gather_rows_k(const float *x, const int *rows, float *out)
{
    pdl_enter();
    const float *src = x + (size_t)rows[blockIdx.x] * DIM;
    block_row_store<DIM>([&](int c) { return src[c]; }, out + (size_t)blockIdx.x * DIM);
}

/* Block bx of rope_heads, after pdl_enter: a thread per (token, head), rope_rotate on the head's
 * rope part. */
template <int NHEADS, int NOPE, int ROPE>
__device__ __forceinline__ void rope_heads_block(float *q, const float *rope, const int *pos, int n, int bx)
{
    const int i = bx * THREADS + threadIdx.x;
    if (i >= n * NHEADS)
        return;
    const int t = i / NHEADS;
    /* rotated in registers: in place, each pair's loads would wait for the pair before's stores */
    float *v = q + (size_t)i * (NOPE + ROPE) + NOPE, r[ROPE];
#pragma unroll
    for (int c = 0; c < ROPE; c++)
        r[c] = v[c];
    rope_rotate(r, rope, pos[t], ROPE);
#pragma unroll
    for (int c = 0; c < ROPE; c++)
        v[c] = r[c];
}

template <int NHEADS, int NOPE, int ROPE>
__global__ void __launch_bounds__(THREADS) rope_heads_k(float *q, const float *rope, const int *pos, int n)
{
    pdl_enter();
    rope_heads_block<NHEADS, NOPE, ROPE>(q, rope, pos, n, blockIdx.x);
}

/* Block bx of mla_cache_write, after pdl_enter: a warp per token, the normed latent and the
 * rotated shared key into the token's cache row (CE: the cache's element, float or bf16 bits). */
template <int L, int ROPE, int CTX, typename CE>
__device__ __forceinline__ void mla_cache_write_block(const float *kv_a, const float *norm, const float *rope,
                                                      const int *slot, const int *pos, int n, float eps, CE *cache,
                                                      int bx)
{
    constexpr int ROW = L + ROPE;
    const int t = bx * WARPS + threadIdx.x / WARP, lane = threadIdx.x % WARP;
    if (t >= n)
        return;
    const float *src = kv_a + (size_t)t * ROW;
    CE *dst = cache + ((size_t)slot[t] * CTX + (size_t)pos[t]) * ROW;
    warp_rmsnorm<L>(src, norm, eps, dst, lane);
    if (lane == 0) {
        float k_pe[ROPE];
        for (int c = 0; c < ROPE; c++)
            k_pe[c] = src[L + c];
        rope_rotate(k_pe, rope, pos[t], ROPE);
        for (int c = 0; c < ROPE; c++)
            cache_put(dst, L + c, k_pe[c]);
    }
}

template <int L, int ROPE, int CTX, typename CE>
__global__ void __launch_bounds__(THREADS) mla_cache_write_k(const float *kv_a, const float *norm, const float *rope,
                                                             const int *slot, const int *pos, int n, float eps,
                                                             CE *cache)
{
    pdl_enter();
    mla_cache_write_block<L, ROPE, CTX, CE>(kv_a, norm, rope, slot, pos, n, eps, cache, blockIdx.x);
}

/* rope_heads on q and mla_cache_write from kv_a in one launch (the schedule's rope_cache: two
 * ops on different buffers): the first rope_blocks(n) blocks are rope_heads_k's, the rest
 * mla_cache_write_k's. */
DF_HD constexpr int rope_blocks(int n, int heads) { return (n * heads + THREADS - 1) / THREADS; }

template <int NHEADS, int NOPE, int ROPE, int L, int CTX, typename CE>
__global__ void __launch_bounds__(THREADS) rope_cache_k(float *q, const float *kv_a, const float *norm,
                                                        const float *rope, const int *slot, const int *pos, int n,
                                                        float eps, CE *cache)
{
    pdl_enter();
    const int br = rope_blocks(n, NHEADS);
    if ((int)blockIdx.x < br)
        rope_heads_block<NHEADS, NOPE, ROPE>(q, rope, pos, n, blockIdx.x);
    else
        mla_cache_write_block<L, ROPE, CTX, CE>(kv_a, norm, rope, slot, pos, n, eps, cache, blockIdx.x - br);
}

/* Columns tile * TILE .. of q_lat (those below L) into out[c]: every lane's absorb_part into its
 * absorb_slot of part (the block's WARPS x TILE floats of shared memory, free again on return),
 * then absorb_column for each column. Every thread of the block calls it. */
template <int DT, int NOPE, int VH, int L>
__device__ void absorb_tile(const unsigned char *kv_b, const float *kv_b_scale, const float *q_nope, int h, int tile,
                            float (*part)[absorb_vec<DT>::TILE], float *out)
{
    constexpr int V = absorb_vec<DT>::V, TILE = absorb_vec<DT>::TILE;
    static_assert(L % V == 0 && TILE <= THREADS, "absorb_tile: whole vectors, a thread per column of a tile");
    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP, c0 = tile * TILE + lane * V;
    if (c0 < L) {
        float acc[V];
        absorb_part<DT, NOPE, VH, L>(kv_b, kv_b_scale, q_nope, h, c0, warp, acc);
#pragma unroll
        for (int j = 0; j < V; j++)
            part[warp][absorb_slot<DT>(lane, j)] = acc[j];
    }
    __syncthreads();
    if (threadIdx.x < TILE && tile * TILE + (int)threadIdx.x < L)
        out[tile * TILE + threadIdx.x] = absorb_column<DT>(part, threadIdx.x);
    __syncthreads();
}

/* Absorbed MLA (runtime/kernels/mla.h), a block per (token, head):
 *   q_lat = W_uk(h)^T q_nope            (absorb_tile: the nope rows shared among the warps)
 *   score = (q_lat . c_kv[p] + q_pe . k_pe[p]) * scale   (warp per position)
 *   o_lat = softmax-weighted sum of c_kv over 0..pos (online, chunks of ATTN_CHUNK positions)
 *   out   = W_uv(h) o_lat                (a warp per rows_per_warp rows, each row row_dot's sum) */
template <int DT, int NHEADS, int NOPE, int ROPE, int VH, int L, int CTX, typename CE>
__global__ void __launch_bounds__(THREADS) mla_attend_k(const unsigned char *kv_b, const float *kv_b_scale,
                                                        const float *q, const CE *cache, const int *slot,
                                                        const int *pos, float sm_scale, float *out)
{
    pdl_enter();
    constexpr int ROW = L + ROPE, QK = NOPE + ROPE, P = ATTN_CHUNK, OPT = (L + THREADS - 1) / THREADS;
    __shared__ __align__(16) float s_q[QK];
    __shared__ __align__(16) float s_qlat[L];
    __shared__ __align__(16) float s_olat[L];
    __shared__ float s_p[P];
    __shared__ float s_part[WARPS][absorb_vec<DT>::TILE];
    const int t = blockIdx.x / NHEADS, h = blockIdx.x % NHEADS;
    const int tid = threadIdx.x, lane = tid % WARP, warp = tid / WARP;
    const float *qh = q + ((size_t)t * NHEADS + h) * QK;
    for (int i = tid; i < QK; i += THREADS)
        s_q[i] = qh[i];
    __syncthreads();
    const int w_row = h * (NOPE + VH);
    for (int tile = 0; tile < absorb_tiles<DT, L>(); tile++)
        absorb_tile<DT, NOPE, VH, L>(kv_b, kv_b_scale, s_q, h, tile, s_part, s_qlat);

    const int len = pos[t] + 1;
    const CE *kv = cache + (size_t)slot[t] * CTX * ROW;
    float m = -INFINITY, s = 0.0f, o[OPT];
#pragma unroll
    for (int k = 0; k < OPT; k++)
        o[k] = 0.0f;
    for (int p0 = 0; p0 < len; p0 += P) {
        const int np = len - p0 < P ? len - p0 : P;
        /* a warp per position, SP of them at a time (their loads in flight together), each
           position's sums in column order then the butterfly */
        constexpr int SP = 4;
        for (int i0 = warp; i0 < np; i0 += SP * WARPS) {
            float a[SP] = {}, b[SP] = {};
#pragma unroll
            for (int u = 0; u < SP; u++) {
                const int i = i0 + u * WARPS;
                if (i < np) {
                    const CE *e = kv + (size_t)(p0 + i) * ROW;
#pragma unroll
                    for (int c = lane; c < L; c += WARP)
                        a[u] = fmaf(s_qlat[c], cache_get(e, c), a[u]);
#pragma unroll
                    for (int c = lane; c < ROPE; c += WARP)
                        b[u] = fmaf(s_q[NOPE + c], cache_get(e, L + c), b[u]);
                }
            }
#pragma unroll
            for (int u = 0; u < SP; u++) {
                const int i = i0 + u * WARPS;
                if (i < np) { /* the same for the whole warp */
                    a[u] = warp_sum(a[u]);
                    b[u] = warp_sum(b[u]);
                    if (lane == 0)
                        s_p[i] = (a[u] + b[u]) * sm_scale;
                }
            }
        }
        __syncthreads();
        const float mnew = softmax_chunk_max(s_p, np, m);
        const float corr = expf(m - mnew); /* 0 for the first chunk (m = -inf) */
        __syncthreads();
        if (tid < np)
            s_p[tid] = expf(s_p[tid] - mnew);
        __syncthreads();
        s = s * corr + softmax_chunk_sum(s_p, np);
#pragma unroll
        for (int k = 0; k < OPT; k++) {
            const int c = tid + k * THREADS;
            if (c < L) {
                float acc = o[k] * corr;
#pragma unroll 16
                for (int i = 0; i < np; i++)
                    acc = fmaf(s_p[i], cache_get(kv, (size_t)(p0 + i) * ROW + c), acc);
                o[k] = acc;
            }
        }
        m = mnew;
        __syncthreads();
    }
#pragma unroll
    for (int k = 0; k < OPT; k++) {
        const int c = tid + k * THREADS;
        if (c < L) /* (in staged_index's order, as lane_dot_rows reads it below) */
            s_olat[staged_index<stage_units<DT, L>()>(c)] = o[k] / s;
    }
    __syncthreads();

    /* W_uv: a warp per RU consecutive rows, their loads in flight together (lane_dot_rows:
       each row's sum is row_dot's), o_lat read without bank conflicts (STAGED) */
    constexpr int RU = rows_per_warp<DT, L>::R;
    float *oh = out + ((size_t)t * NHEADS + h) * VH;
    for (int d0 = warp * RU; d0 < VH; d0 += WARPS * RU) {
        const int nr = VH - d0 < RU ? VH - d0 : RU;
        float acc[RU][1] = {};
        lane_dot_rows<DT, L, 1, RU, 1, true>(kv_b, kv_b_scale, w_row + NOPE + d0, nr, s_olat, L, 1, lane, 0, L, acc);
#pragma unroll
        for (int r = 0; r < RU; r++) {
            acc[r][0] = warp_sum(acc[r][0]);
            if (lane == 0 && r < nr)
                oh[d0 + r] = acc[r][0];
        }
    }
}

/* The routing's argmax across a warp (kernels/argmax.h's order: argmax_allowed's, but a NaN
 * never wins, so every lane ends with the same winner and a token never gets one expert twice;
 * argmax_allowed keeps a NaN only where it comes first, and the outputs are NaN either way). */
#ifdef __CUDACC__
__device__ __forceinline__ void warp_argmax_pick(float &v, int &i)
{
#pragma unroll
    for (int m = WARP / 2; m > 0; m /= 2)
        argmax_pick(&v, &i, __shfl_xor_sync(0xffffffffu, v, m), __shfl_xor_sync(0xffffffffu, i, m));
}
#endif

/* The best two of a set in argmax_pick's order, (v1, i1) then (v2, i2) (an index < 0: none; a
 * missing one keeps the value 0): top2_pick takes one more candidate (v, i) into them, and
 * top2_merge another set's best two. The order is total, so the two are the set's whatever
 * order its members come in: a butterfly of top2_merge gives every lane a group's best and its
 * runner-up, which moe_route_token finds by two scans. */
DF_HD inline void top2_pick(float &v1, int &i1, float &v2, int &i2, float v, int i)
{
    /* selects, not branches: the lanes of a warp differ in which way each goes */
    const bool first = argmax_beats(v, i, v1, i1), second = argmax_beats(v, i, v2, i2);
    v2 = first ? v1 : second ? v : v2;
    i2 = first ? i1 : second ? i : i2;
    v1 = first ? v : v1;
    i1 = first ? i : i1;
}
DF_HD inline void top2_merge(float &v1, int &i1, float &v2, int &i2, float w1, int j1, float w2, int j2)
{
    top2_pick(v1, i1, v2, i2, w1, j1);
    top2_pick(v1, i1, v2, i2, w2, j2);
}

/* argmax_allowed's pick among G groups, in registers: the first allowed group of the largest
 * score is kept and no longer allowed. Every index is a constant once the loops unroll, where
 * argmax_allowed over the arrays and keep[its pick] put moe_route_k's scores in local memory. */
template <int G>
DF_HD inline void keep_best_group(const float (&score)[G], bool (&ok)[G], bool (&keep)[G])
{
    int best = -1;
    float v = 0.0f;
DF_UNROLL
    for (int g = 0; g < G; g++)
        if (ok[g] && (best < 0 || score[g] > v)) {
            best = g;
            v = score[g];
        }
DF_UNROLL
    for (int g = 0; g < G; g++)
        if (g == best) {
            keep[g] = true;
            ok[g] = false;
        }
}

/* moe_route_token with a warp per token: lane l holds experts l, l + 32, ...; every argmax
 * of the serial version is a warp_argmax_pick, and each group's best two (its two scans) a
 * butterfly of top2_merge, in the same order, so the same experts are chosen in the same
 * order (for scores that are not NaN). Softmax sums (V2) add in the butterfly's order. */
template <int E, int K, int G>
__global__ void __launch_bounds__(THREADS) moe_route_k(const struct df_route_shape shape, const float *logits,
                                                       const float *bias, int n, int *ids, float *weights)
{
    pdl_enter();
    constexpr int NE = (E + WARP - 1) / WARP;
    const int lane = threadIdx.x % WARP, t = blockIdx.x * WARPS + threadIdx.x / WARP;
    if (t >= n)
        return;
    const float *lg = logits + (size_t)t * E;
    float score[NE], choice[NE];
    bool allowed[NE];
#pragma unroll
    for (int j = 0; j < NE; j++) {
        const int e = lane + j * WARP;
        score[j] = e < E ? lg[e] : -INFINITY;
    }
    if (shape.softmax) {
        float mx = -INFINITY, sum = 0.0f;
#pragma unroll
        for (int j = 0; j < NE; j++)
            mx = score[j] > mx ? score[j] : mx;
#pragma unroll
        for (int m = WARP / 2; m > 0; m /= 2) {
            const float o = __shfl_xor_sync(0xffffffffu, mx, m);
            mx = o > mx ? o : mx;
        }
#pragma unroll
        for (int j = 0; j < NE; j++) {
            score[j] = lane + j * WARP < E ? expf(score[j] - mx) : 0.0f;
            sum += score[j];
        }
        sum = warp_sum(sum);
#pragma unroll
        for (int j = 0; j < NE; j++)
            score[j] /= sum;
    } else {
#pragma unroll
        for (int j = 0; j < NE; j++)
            score[j] = 1.0f / (1.0f + expf(-score[j]));
    }
#pragma unroll
    for (int j = 0; j < NE; j++) {
        const int e = lane + j * WARP;
        choice[j] = e < E && bias ? score[j] + bias[e] : score[j];
        allowed[j] = e < E;
    }
    if (shape.method != DF_GREEDY && G > 1) {
        constexpr int PER = E / G;
        /* each group's best two choices (top2_pick), the lane's own, then the butterfly of
         * top2_merge round by round for all the groups at once: five rounds in a row where a
         * best and then a runner-up for each group in turn were ten each */
        float v1[G], v2[G], group_score[G];
        int i1[G], i2[G];
        bool group_ok[G];
#pragma unroll
        for (int g = 0; g < G; g++) {
            v1[g] = v2[g] = 0.0f;
            i1[g] = i2[g] = -1;
        }
#pragma unroll
        for (int j = 0; j < NE; j++)
#pragma unroll
            for (int g = 0; g < G; g++)
                if (allowed[j] && (lane + j * WARP) / PER == g)
                    top2_pick(v1[g], i1[g], v2[g], i2[g], choice[j], lane + j * WARP);
#pragma unroll
        for (int m = WARP / 2; m > 0; m /= 2)
#pragma unroll
            for (int g = 0; g < G; g++)
                top2_merge(v1[g], i1[g], v2[g], i2[g], __shfl_xor_sync(0xffffffffu, v1[g], m),
                           __shfl_xor_sync(0xffffffffu, i1[g], m), __shfl_xor_sync(0xffffffffu, v2[g], m),
                           __shfl_xor_sync(0xffffffffu, i2[g], m));
#pragma unroll
        for (int g = 0; g < G; g++) {
            group_score[g] = shape.method == DF_NOAUX_TC ? v1[g] + v2[g] : v1[g];
            group_ok[g] = true;
        }
        bool keep[G];
#pragma unroll
        for (int g = 0; g < G; g++)
            keep[g] = false;
        for (int k = 0; k < shape.topk_group; k++)
            keep_best_group<G>(group_score, group_ok, keep);
#pragma unroll
        for (int j = 0; j < NE; j++) {
            bool kept = false;
#pragma unroll
            for (int g = 0; g < G; g++)
                kept = kept || (keep[g] && (lane + j * WARP) / PER == g);
            allowed[j] = allowed[j] && kept;
        }
    }
    float sum = 0.0f, w[K];
    int id[K];
#pragma unroll
    for (int k = 0; k < K; k++) {
        float v = 0.0f;
        int e = -1;
#pragma unroll
        for (int j = 0; j < NE; j++)
            if (allowed[j])
                argmax_pick(&v, &e, choice[j], lane + j * WARP);
        warp_argmax_pick(v, e);
        float sc = 0.0f;
#pragma unroll
        for (int j = 0; j < NE; j++)
            if (lane + j * WARP == e) {
                sc = score[j];
                allowed[j] = false;
            }
        sc = __shfl_sync(0xffffffffu, sc, e % WARP);
        id[k] = e;
        w[k] = sc;
        sum += sc;
    }
    if (lane == 0)
#pragma unroll
        for (int k = 0; k < K; k++) {
            ids[(size_t)t * K + k] = id[k];
            weights[(size_t)t * K + k] = (shape.norm_topk_prob ? w[k] / sum : w[k]) * shape.scaling;
        }
}

/* The routed experts' weight offsets, passed by value (kernel parameter space). */
template <int E> struct expert_table {
    struct df_expert e[E];
};

/* The shared experts of a MoE layer where the routed experts' per-pair kernels run them too (the
 * schedule's moe_shared): their gate and up matrices (SINTER rows of DIM columns), down (DIM rows
 * of SINTER columns), each with its FP8 block scales (NULL otherwise), and act, silu(gate) * up of
 * each token (SINTER floats a token: the schedule's shared_gate). */
struct shared_ffn {
    const unsigned char *gate, *gate_scale, *up, *up_scale, *down, *down_scale;
    float *act;
};

/* Blocks along y that moe_gate_up_k gives each token's SINTER shared rows, INTER rows a block
 * row (the routed pairs' block rows): 0 without shared experts. */
template <int SINTER, int INTER> DF_HD constexpr int shared_block_rows() { return (SINTER + INTER - 1) / INTER; }

/* Per (token, chosen expert) pair and output row r < INTER, by one warp:
 * act[pair][r] = silu(gate_r . x_t) * (up_r . x_t), swiglu_row's value. ASYNC (with
 * DF_CUDA_LINEAR_ONE=async): the two rows through the warp's ring (async_lane_dots), each lane's
 * shares lane_dot's, so the same bits. SINTER > 0: the n tokens' shared experts too, in the
 * blocks past the n K pairs' (SP a token, INTER of its SINTER rows each): sh.act[t][r], the value
 * swiglu_k gives. */
template <int DT, int DIM, int INTER, int E, int K, bool ASYNC, int SINTER = 0>
__global__ void __launch_bounds__(THREADS) moe_gate_up_k(const unsigned char *w, const __grid_constant__ expert_table<E> tab,
                                                         const float *x, const int *ids, float *act, int n,
                                                         const shared_ffn sh)
{
    pdl_enter();
    constexpr int SP = SINTER > 0 ? shared_block_rows<SINTER, INTER>() : 1; /* (1: no shared blocks) */
    const int lane = threadIdx.x % WARP, rb = blockIdx.x * WARPS + threadIdx.x / WARP, pair = blockIdx.y;
    if (rb >= INTER)
        return;
    const bool shared = SINTER > 0 && pair >= n * K;
    const int i = pair - n * K, r = shared ? (i % SP) * INTER + rb : rb; /* shared: token i / SP */
    if (shared && r >= SINTER)
        return;
    const unsigned char *wg, *wu;
    const float *sg, *su, *xt;
    if (shared) {
        wg = sh.gate, wu = sh.up;
        sg = reinterpret_cast<const float *>(sh.gate_scale), su = reinterpret_cast<const float *>(sh.up_scale);
        xt = x + (size_t)(i / SP) * DIM;
    } else {
        const struct df_expert &e = tab.e[ids[pair]];
        wg = w + e.gate, wu = w + e.up;
        sg = reinterpret_cast<const float *>(w + e.gate_scale), su = reinterpret_cast<const float *>(w + e.up_scale);
        xt = x + (size_t)(pair / K) * DIM;
    }
    float v;
    if constexpr (ASYNC) {
        __shared__ async_stage<DT, DIM, 2> st;
        v = swiglu_row_async<DT, DIM>(wg, sg, wu, su, r, xt, st.b[threadIdx.x / WARP], lane);
    } else {
        v = swiglu_row<DT, DIM>(wg, sg, wu, su, r, xt, lane);
    }
    if (lane == 0) /* (the destination found after the products: no pointer kept across them) */
        (shared ? sh.act + (size_t)(i / SP) * SINTER : act + (size_t)pair * INTER)[r] = v;
}

/* The parts of an output row of moe_down_combine_k, a warp each: one per chosen expert, and the
 * shared experts' row where they run there (SINTER > 0); the rows a block takes, as many as fill
 * WARPS warps (at least one); its threads. */
template <int K, int SINTER> DF_HD constexpr int down_parts() { return K + (SINTER > 0 ? 1 : 0); }
template <int K, int SINTER> DF_HD constexpr int down_block_rows()
{
    return down_parts<K, SINTER>() >= WARPS ? 1 : WARPS / down_parts<K, SINTER>();
}
template <int K, int SINTER> DF_HD constexpr int down_threads()
{
    return WARP * down_parts<K, SINTER>() * down_block_rows<K, SINTER>();
}

/* out[t][r] = sum over k, best first, of weight[t][k] (down_r . act[t K + k]) with the down rows
 * of token t's k-th expert, r < DIM: moe_combine_k's weighted sum (the bits of the grouped path's
 * down and combine, in one launch). A warp per (RD rows, part): part k < K is expert k's products
 * (lane_dot's shares; with ASYNC the row through the warp's ring, async_lane_dots; with RD > 1,
 * DF_CUDA_LINEAR_ONE=rows, the RD consecutive rows by lane_dot_rows, which reads each vector of
 * the pair's act row once for all of them: the same shares), each sum row_dot's; part K, where
 * SINTER > 0, the shared experts' down rows . sh.act[t] (row_dot's sums). The parts' sums meet in
 * shared memory, and one thread a row adds them in k order, the shared part last, as the
 * schedule's accumulate adds it (linear_k with ACC: y + W x). So a token's rows are read by K (or
 * K + 1) warps at once, not one after the other by one warp: at batch 1 the bytes in flight are
 * what bound this kernel (the H200, 2026-11-30: 486 GB/s with a warp per row, two experts' loads
 * at a time, on the mid-size model). */
template <int DT, int DIM, int INTER, int E, int K, bool ASYNC, int SINTER = 0, int RD = 1>
__global__ void __launch_bounds__(down_threads<K, SINTER>())
    moe_down_combine_k(const unsigned char *w, const __grid_constant__ expert_table<E> tab, const int *ids,
                       const float *act, const float *weights, float *out, const shared_ffn sh)
{
    pdl_enter();
    constexpr int P = down_parts<K, SINTER>(), RB = down_block_rows<K, SINTER>() * RD; /* RB: the block's rows */
    static_assert(down_threads<K, SINTER>() <= 1024, "moe_down_combine_k: a warp per part, at most 32 a block");
    static_assert(RD == 1 || !ASYNC, "moe_down_combine_k: the warps' rings take a row a warp");
    __shared__ float sums[RB][P];
    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP, k = warp % P, t = blockIdx.y;
    const int rw = warp / P * RD, r0 = blockIdx.x * RB + rw, nr = DIM - r0 < RD ? DIM - r0 : RD;
    if (nr > 0) { /* (no return: the block meets at the barrier below) */
        float part[RD][1] = {};
        if (k < K) {
            const int pair = t * K + k;
            const struct df_expert &e = tab.e[ids[pair]];
            const float *const scale = reinterpret_cast<const float *>(w + e.down_scale);
            const float *const x = act + (size_t)pair * INTER;
            if constexpr (RD > 1) {
                lane_dot_rows<DT, INTER, 1, RD, rows_steps<DT, INTER, RD>()>(w + e.down, scale, r0, nr, x, 0, 1, lane,
                                                                             0, INTER, part);
            } else {
                const unsigned char *const wr[1] = { w_row<DT, INTER>(w + e.down, r0) };
                const float *const sr[1] = { s_row<DT, INTER>(scale, r0) }, *const xs[1] = { x };
                if constexpr (ASYNC) {
                    __shared__ async_stage<DT, INTER, 1, P * RB> st;
                    async_lane_dots<DT, INTER, 1>(wr, sr, xs, st.b[warp], lane, part);
                } else {
                    lane_dot<DT, INTER, 1>(wr[0], sr[0], xs[0], 0, 1, lane, part[0]);
                }
            }
        }
        if constexpr (SINTER > 0)
            if (k == K)
                lane_dot_rows<DT, SINTER, 1, RD, rows_steps<DT, SINTER, RD>()>(
                    sh.down, reinterpret_cast<const float *>(sh.down_scale), r0, nr, sh.act + (size_t)t * SINTER, 0, 1,
                    lane, 0, SINTER, part);
#pragma unroll
        for (int r = 0; r < RD; r++) {
            const float s = warp_sum(part[r][0]);
            if (lane == 0 && r < nr)
                sums[rw + r][k] = s;
        }
    }
    __syncthreads();
    const int ro = blockIdx.x * RB + (int)threadIdx.x;
    if ((int)threadIdx.x < RB && ro < DIM) {
        float sum = 0.0f;
#pragma unroll
        for (int j = 0; j < K; j++)
            sum = fmaf(weights[t * K + j], sums[threadIdx.x][j], sum);
        if constexpr (SINTER > 0)
            sum += sums[threadIdx.x][K];
        out[(size_t)t * DIM + ro] = sum;
    }
}

/* ---- MoE grouped by expert (steps of several tokens) --------------------------------------
 * A block per (expert, group of rows) takes the (token, expert) pairs that chose its expert, in
 * pair order (moe_pairs_k's list), and runs them through block_rows_dot T at a time, so an expert's
 * rows are read once per T of its tokens instead of once per pair. Every (pair, row) sum has
 * the bits of the per-pair kernels above (lane_dot's order), so the launcher may choose either
 * by the step's size. */

/* The pairs p = t * K + k with ids[p] == e, in increasing order, into list (at most n of them:
 * a token picks an expert once); returns their count to every thread of the block, which all
 * call it. */
template <int K>
__device__ int expert_pairs(const int *ids, int n, int e, int *list, int *warp_count)
{
    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP, np = n * K;
    int total = 0;
    for (int base = 0; base < np; base += THREADS) {
        const int p = base + threadIdx.x;
        const bool mine = p < np && ids[p] == e;
        const unsigned ballot = __ballot_sync(0xffffffffu, mine);
        if (lane == 0)
            warp_count[warp] = __popc(ballot);
        __syncthreads();
        int at = total;
        for (int v = 0; v < warp; v++)
            at += warp_count[v];
        if (mine)
            list[at + __popc(ballot & ((1u << lane) - 1u))] = p;
        for (int v = 0; v < WARPS; v++)
            total += warp_count[v];
        __syncthreads();
    }
    return total;
}

/* Once a layer, before the grouped products: expert blockIdx.x's pairs (expert_pairs) into
 * lists + e n, their count into counts[e]. Every block of both products then reads its
 * expert's list instead of scanning all n K choices itself. */
template <int K>
__global__ void __launch_bounds__(THREADS) moe_pairs_k(const int *ids, int n, int *counts, int *lists)
{
    pdl_enter();
    __shared__ int warp_count[WARPS];
    const int e = blockIdx.x, count = expert_pairs<K>(ids, n, e, lists + (size_t)e * n, warp_count);
    if (threadIdx.x == 0)
        counts[e] = count;
}

/* The pairs of expert blockIdx.y (moe_pairs_k's list) through one of its matrices: DOWN false,
 * the gate and up rows (act[pair][r] = silu(gate_r . x_t) * (up_r . x_t), r < INTER); DOWN
 * true, the down rows (out[pair][r] = down_r . act[pair], r < DIM). */
template <int DT, int DIM, int INTER, int E, int K, int T, bool DOWN>
__global__ void __launch_bounds__(THREADS) moe_grouped_k(const unsigned char *w, const __grid_constant__ expert_table<E> tab,
                                                         const float *in, const int *counts, const int *lists, int n,
                                                         float *out)
{
    pdl_enter();
    constexpr int ROWS = DOWN ? DIM : INTER, COLS = DOWN ? INTER : DIM, R = rows_per_warp<DT, COLS>::R;
    static_assert(T > 1, "several tokens: block_rows_dot reads a lone token's row pointer with no barrier, "
                         "where this kernel rewrites sm.xrow for each tile of its pairs");
    __shared__ rows_smem<COLS, T> sm;
    const int count = counts[blockIdx.y], *list = lists + (size_t)blockIdx.y * n;
    const struct df_expert &e = tab.e[blockIdx.y];
    int r0;
    const int nr = warp_rows<ROWS, R>(blockIdx.x, r0);
    for (int p0 = 0; p0 < count; p0 += T) {
        const int nt = count - p0 < T ? count - p0 : T;
        if ((int)threadIdx.x < nt) /* down reads the pair's act row, gate and up its token's x row */
            sm.xrow[threadIdx.x] = in + (size_t)(DOWN ? list[p0 + threadIdx.x] : list[p0 + threadIdx.x] / K) * COLS;
        const auto store = [&](int r, int t, float v) { out[(size_t)list[p0 + t] * ROWS + r0 + r] = v; };
        if constexpr (DOWN) {
            float a[R][T] = {};
            block_rows_dot<DT, COLS, T, R>(w + e.down, reinterpret_cast<const float *>(w + e.down_scale), r0, nr,
                                           sm.xrow, nt, sm.xs, a);
            each_own_sum<R, T>(nr, nt, [&](int r, int t) { store(r, t, a[r][t]); });
        } else {
            __shared__ float gate[WARPS][R][T];
            swiglu_rows<DT, COLS, T, R>(w + e.gate, reinterpret_cast<const float *>(w + e.gate_scale),
                                        w + e.up, reinterpret_cast<const float *>(w + e.up_scale), r0, nr, sm.xrow, nt,
                                        sm.xs, gate[threadIdx.x / WARP], store);
        }
    }
}

/* out[t] = sum over k, best first, of weight[t][k] * y[t][k]. */
template <int DIM, int K>
__global__ void __launch_bounds__(THREADS) moe_combine_k(const float *y, const float *weights, int n, float *out)
{
    pdl_enter();
    const size_t total = (size_t)n * DIM;
    for (size_t i = (size_t)blockIdx.x * THREADS + threadIdx.x; i < total; i += (size_t)gridDim.x * THREADS) {
        const size_t t = i / DIM, c = i % DIM;
        float acc = 0.0f;
#pragma unroll
        for (int k = 0; k < K; k++)
            acc = fmaf(weights[t * K + k], y[(t * K + k) * DIM + c], acc);
        out[i] = acc;
    }
}

/* ---- launchers (host) ------------------------------------------------------------------- */

/* Blocks for a grid-stride elementwise kernel over count elements. */
static inline unsigned elementwise_blocks(size_t count)
{
    size_t b = (count + THREADS - 1) / THREADS;
    return (unsigned)(b < 1024 ? (b ? b : 1) : 1024);
}

/* Whether one token's products over rows of COLS columns take the warps' rings (ring_lane_dots):
 * DF_CUDA_LINEAR_ONE=async, and rows of 16-byte vectors. */
template <int DT, int COLS> bool one_token_ring()
{
    return async_rows<DT, COLS>::OK && linear_one_kind() == LINEAR_ONE_ASYNC;
}

/* The token tile of a product over n tokens: 0 for linear_k's layout (one token, a warp per row:
 * linear_k or linear_async_k), else T tokens per read of the rows (linear_rows_k's; 1 for one
 * token with DF_CUDA_LINEAR_ONE=rows). */
inline int linear_tile(int n) { return n > 1 ? TOKEN_TILE : linear_one_kind() == LINEAR_ONE_ROWS ? 1 : 0; }

/* The grid of a product kernel of `blocks` blocks along x at token tile T over n tokens. */
inline dim3 linear_grid(int blocks, int tile, int n) { return dim3(blocks, tile > 1 ? ceil_div(n, tile) : 1); }

/* f.template operator()<T>() for the token tile T of n tokens (linear_tile): which instance of a
 * product kernel runs. */
template <class F> void with_tile(int n, F &&f)
{
    switch (linear_tile(n)) {
    case 0: f.template operator()<0>(); break;
    case 1: f.template operator()<1>(); break;
    default: f.template operator()<TOKEN_TILE>();
    }
}

/* The kernel of a lone token's product in linear_k's layout: linear_async_k where chosen and its
 * rows allow, else linear_k. */
template <int DT, int ROWS, int COLS, bool ACC> auto linear_one_kernel()
{
    if constexpr (async_rows<DT, COLS>::OK) /* (no async instance for other rows) */
        if (one_token_ring<DT, COLS>())
            return linear_async_k<DT, ROWS, COLS, ACC>;
    return linear_k<DT, ROWS, COLS, ACC>;
}

/* y = W x over n tokens; ACC: y += W x (the schedule's accumulate: a residual add fused in). */
template <int DT, int ROWS, int COLS, bool ACC = false>
void linear(const unsigned char *w, const unsigned char *scale, const float *x, int n, float *y)
{
    if (n <= 0)
        return;
    const float *sc = reinterpret_cast<const float *>(scale);
    with_tile(n, [&]<int T>() {
        const dim3 grid = linear_grid(linear_blocks<DT, ROWS, COLS, T>(), T, n);
        if constexpr (T == 0)
            launch(ACC ? "linear_add" : "linear", linear_one_kernel<DT, ROWS, COLS, ACC>(), grid, THREADS, 0, w, sc, x,
                   y);
        else
            launch(ACC ? "linear_add" : "linear", linear_rows_k<DT, ROWS, COLS, T, ACC>, grid, THREADS, 0, w, sc, x, n, y);
    });
}

/* linear_pair_k's instance for token tile T: as linear_async_k at one token where chosen and
 * its rows allow (linear_one_kernel). */
template <int DT, int ROWS1, int ROWS2, int COLS, int T> auto linear_pair_kernel()
{
    if constexpr (T == 0 && async_rows<DT, COLS>::OK)
        if (one_token_ring<DT, COLS>())
            return linear_pair_k<DT, ROWS1, ROWS2, COLS, T, true>;
    return linear_pair_k<DT, ROWS1, ROWS2, COLS, T, false>;
}

/* y1 = W1 x and y2 = W2 x over n tokens in one launch (linear_pair_k). */
template <int DT, int ROWS1, int ROWS2, int COLS>
void linear_pair(const unsigned char *w1, const unsigned char *scale1, const unsigned char *w2,
                 const unsigned char *scale2, const float *x, int n, float *y1, float *y2)
{
    if (n <= 0)
        return;
    const float *s1 = reinterpret_cast<const float *>(scale1), *s2 = reinterpret_cast<const float *>(scale2);
    with_tile(n, [&]<int T>() {
        constexpr int B = linear_blocks<DT, ROWS1, COLS, T>() + linear_blocks<DT, ROWS2, COLS, T>();
        launch("linear_pair", linear_pair_kernel<DT, ROWS1, ROWS2, COLS, T>(), linear_grid(B, T, n), THREADS, 0, w1,
               s1, w2, s2, x, n, y1, y2);
    });
}

/* g = silu(Wg x) * (Wu x) over n tokens in one launch (swiglu_k). */
template <int DT, int INTER, int COLS>
void swiglu(const unsigned char *wg, const unsigned char *gate_scale, const unsigned char *wu,
            const unsigned char *up_scale, const float *x, int n, float *g)
{
    if (n <= 0)
        return;
    const float *sg = reinterpret_cast<const float *>(gate_scale), *su = reinterpret_cast<const float *>(up_scale);
    with_tile(n, [&]<int T>() {
        const dim3 grid = linear_grid(linear_blocks<DT, INTER, COLS, T>(), T, n);
        if (T == 0 && one_token_ring<DT, COLS>())
            launch("swiglu (async)", swiglu_k<DT, INTER, COLS, T, T == 0 && async_rows<DT, COLS>::OK>, grid, THREADS, 0,
                   wg, sg, wu, su, x, n, g);
        else
            launch("swiglu", swiglu_k<DT, INTER, COLS, T, false>, grid, THREADS, 0, wg, sg, wu, su, x, n, g);
    });
}

/* OUT: what the output is prepared for (rmsnorm_k); x is only read (ADD false). */
template <int DIM, int OUT> void rmsnorm(const float *x, const unsigned char *w, int n, float eps, float *out)
{
    if (n <= 0)
        return;
    launch(OUT == DF_ACT_FP8 ? "rmsnorm_quant" : OUT == DF_ACT_BF16 ? "rmsnorm_round" : "rmsnorm",
           rmsnorm_k<DIM, false, OUT>, n, THREADS, 0, const_cast<float *>(x), nullptr,
           reinterpret_cast<const float *>(w), eps, out);
}

template <int DIM, int OUT>
void add_rmsnorm(float *x, const float *y, const unsigned char *w, int n, float eps, float *out)
{
    if (n <= 0)
        return;
    launch(OUT == DF_ACT_FP8 ? "add_rmsnorm_quant" : OUT == DF_ACT_BF16 ? "add_rmsnorm_round" : "add_rmsnorm",
           rmsnorm_k<DIM, true, OUT>, n, THREADS, 0, x, y, reinterpret_cast<const float *>(w), eps, out);
}

template <int DT, int NVOCAB, int DIM>
void embed(const unsigned char *w, const unsigned char *scale, const int *tokens, int n, float *out)
{
    if (n <= 0)
        return;
    launch("embed", embed_k<DT, NVOCAB, DIM>, n, THREADS, 0, w, reinterpret_cast<const float *>(scale), tokens, out);
}

template <int DIM> void residual_add(float *x, const float *y, int n)
{
    if (n <= 0)
        return;
    launch("residual_add", residual_add_k<DIM>, elementwise_blocks((size_t)n * DIM), THREADS, 0, x, y, n);
}

template <int DIM> void silu_mul(float *g, const float *u, int n)
{
    if (n <= 0)
        return;
    launch("silu_mul", silu_mul_k<DIM, false>, elementwise_blocks((size_t)n * DIM), THREADS, 0, g, u, n);
}

/* g = silu(g) * u, then g rounded to bf16 (bf16 activations): silu_mul and act_round_bf16 in one launch. */
template <int DIM> void silu_mul_round(float *g, const float *u, int n)
{
    if (n <= 0)
        return;
    launch("silu_mul_round", silu_mul_k<DIM, true>, elementwise_blocks((size_t)n * DIM), THREADS, 0, g, u, n);
}

template <int DIM> void act_quant_fp8(float *x, int n)
{
    if (n <= 0)
        return;
    launch("act_quant_fp8", act_quant_fp8_k<DIM, false>, ceil_div(n * ceil_div(DIM, DF_ACT_BLOCK), WARPS), THREADS, 0,
           x, nullptr, n);
}

template <int DIM> void act_round_bf16(float *x, int n)
{
    if (n <= 0)
        return;
    launch("act_round_bf16", act_round_bf16_k<DIM>, elementwise_blocks((size_t)n * DIM), THREADS, 0, x, n);
}

/* g = silu(g) * u, then g quantized (FP8 activations): silu_mul and act_quant_fp8 in one launch. */
template <int DIM> void silu_mul_quant(float *g, const float *u, int n)
{
    if (n <= 0)
        return;
    launch("silu_mul_quant", act_quant_fp8_k<DIM, true>, ceil_div(n * ceil_div(DIM, DF_ACT_BLOCK), WARPS), THREADS, 0,
           g, u, n);
}

template <int DIM> void gather_rows(const float *x, const int *rows, int n, float *out)
{
    if (n <= 0)
        return;
    launch("gather_rows", gather_rows_k<DIM>, n, THREADS, 0, x, rows, out);
}

template <int NHEADS, int NOPE, int ROPE> void rope_heads(float *q, const float *rope, const int *pos, int n)
{
    if (n <= 0)
        return;
    launch("rope_heads", rope_heads_k<NHEADS, NOPE, ROPE>, rope_blocks(n, NHEADS), THREADS, 0, q, rope, pos, n);
}

template <int L, int ROPE, int CTX, typename CE>
void mla_cache_write(const float *kv_a, const unsigned char *norm, const float *rope, const int *slot, const int *pos,
                     int n, float eps, CE *cache)
{
    if (n <= 0)
        return;
    launch("mla_cache_write", mla_cache_write_k<L, ROPE, CTX, CE>, ceil_div(n, WARPS), THREADS, 0, kv_a,
           reinterpret_cast<const float *>(norm), rope, slot, pos, n, eps, cache);
}

template <int NHEADS, int NOPE, int ROPE, int L, int CTX, typename CE>
void rope_cache(float *q, const float *kv_a, const unsigned char *norm, const float *rope, const int *slot,
                const int *pos, int n, float eps, CE *cache)
{
    if (n <= 0)
        return;
    launch("rope_cache", rope_cache_k<NHEADS, NOPE, ROPE, L, CTX, CE>, rope_blocks(n, NHEADS) + ceil_div(n, WARPS),
           THREADS, 0, q, kv_a, reinterpret_cast<const float *>(norm), rope, slot, pos, n, eps, cache);
}

template <int DT, int NHEADS, int NOPE, int ROPE, int VH, int L, int CTX, typename CE>
void mla_attend(const unsigned char *kv_b, const unsigned char *kv_b_scale, const float *q, const CE *cache,
                const int *slot, const int *pos, int n, float sm_scale, float *out)
{
    if (n <= 0)
        return;
    launch("mla_attend", mla_attend_k<DT, NHEADS, NOPE, ROPE, VH, L, CTX, CE>, n * NHEADS, THREADS, 0, kv_b,
           reinterpret_cast<const float *>(kv_b_scale), q, cache, slot, pos, sm_scale, out);
}

template <int E, int K, int G>
void moe_route(const struct df_route_shape &shape, const float *logits, const unsigned char *bias, int n, int *ids,
               float *weights)
{
    if (n <= 0)
        return;
    launch("moe_route", moe_route_k<E, K, G>, ceil_div(n, WARPS), THREADS, 0, shape, logits,
           reinterpret_cast<const float *>(bias), n, ids, weights);
}

/* The scratch of moe_experts for n tokens, in floats (its ints are as wide): per (token, chosen
 * expert) pair silu(gate) * up (INTER) and the expert's output (DIM), then per expert its pair
 * count and list (E * (n + 1) ints). The plan's expert_ws (gen/schedule.lua) holds it for a
 * chunk; kernels.cu checks that at compile time. */
template <int DIM, int INTER, int E, int K> DF_HD constexpr size_t moe_scratch_floats(int n)
{
    return (size_t)n * K * (INTER + DIM) + (size_t)E * ((size_t)n + 1);
}

/* scratch: moe_scratch_floats(n) floats (the plan's expert_ws). ACT:
 * the precision of the products' inputs (enum df_act): x comes prepared (quantized or rounded
 * by the schedule), and down's input (silu(gate) * up) is quantized (DF_ACT_FP8) or rounded
 * (DF_ACT_BF16) here. SINTER > 0 (the schedule's moe_shared, f32 activations): the shared
 * experts too, sh.act = silu(gate x) * (up x) and out += down sh.act, in the per-pair kernels'
 * launches (two for the whole MoE layer) for a lone token (MOE_SHARED_IN_PAIRS_MAX_TOKENS), else
 * as swiglu and linear with ACC after the routed experts: the bits of the three ops either way. */
template <int DT, int DIM, int INTER, int E, int K, int ACT, int SINTER = 0>
void moe_experts(const unsigned char *w, const struct df_expert *table, const float *x, const int *ids,
                 const float *weights, int n, float *scratch, float *out, const shared_ffn &sh = {})
{
    static_assert(SINTER == 0 || ACT == DF_ACT_F32, "the shared experts run here with f32 activations only");
    if (n <= 0)
        return;
    /* few tokens per expert: each (token, expert) alone, a warp per row (fills the GPU better),
     * its rows through the warp's ring with DF_CUDA_LINEAR_ONE=async (one token's products, as
     * linear_async_k), R down rows a warp with rows (as linear_rows_k for one token): the same
     * bits; else grouped by expert */
    const bool per_pair = n * K < MOE_GROUPED_MIN_PAIRS_PER_EXPERT * E;
    if constexpr (SINTER > 0)
        if (!per_pair || n > MOE_SHARED_IN_PAIRS_MAX_TOKENS) { /* the shared experts after the routed */
            moe_experts<DT, DIM, INTER, E, K, ACT>(w, table, x, ids, weights, n, scratch, out);
            swiglu<DT, SINTER, DIM>(sh.gate, sh.gate_scale, sh.up, sh.up_scale, x, n, sh.act);
            linear<DT, DIM, SINTER, true>(sh.down, sh.down_scale, sh.act, n, out);
            return;
        }
    expert_table<E> tab;
    memcpy(tab.e, table, sizeof tab.e);
    float *act = scratch, *y = scratch + (size_t)n * K * INTER;
    int *counts = reinterpret_cast<int *>(y + (size_t)n * K * DIM), *lists = counts + E;
    if (per_pair) {
        const dim3 grid(ceil_div(INTER, WARPS), n * (K + shared_block_rows<SINTER, INTER>()));
        if (one_token_ring<DT, DIM>())
            launch("moe_experts (gate, up; async)", moe_gate_up_k<DT, DIM, INTER, E, K, async_rows<DT, DIM>::OK, SINTER>,
                   grid, THREADS, 0, w, tab, x, ids, act, n, sh);
        else
            launch("moe_experts (gate, up)", moe_gate_up_k<DT, DIM, INTER, E, K, false, SINTER>, grid, THREADS, 0, w,
                   tab, x, ids, act, n, sh);
    } else {
        launch("moe_experts (pairs by expert)", moe_pairs_k<K>, E, THREADS, 0, ids, n, counts, lists);
        launch("moe_experts (gate, up; by expert)", moe_grouped_k<DT, DIM, INTER, E, K, TOKEN_TILE, false>,
               dim3(ceil_div(INTER, WARPS * rows_per_warp<DT, DIM>::R), E), THREADS, 0, w, tab, x, counts, lists, n,
               act);
    }
    if constexpr (ACT == DF_ACT_FP8)
        act_quant_fp8<INTER>(act, n * K);
    else if constexpr (ACT == DF_ACT_BF16)
        act_round_bf16<INTER>(act, n * K);
    if (per_pair) {
        const dim3 grid(ceil_div(DIM, down_block_rows<K, SINTER>()), n);
        const int threads = down_threads<K, SINTER>();
        /* (at one_token_rows' 4 FP8 rows a warp, V3's kernel with the shared expert took 134
         * registers: one block of 288 threads an SM, where 2 fit at 2 rows) */
        constexpr int RD = rows_per_warp<DT, INTER>::R;
        if (one_token_ring<DT, INTER>())
            launch("moe_experts (down, combine; async)",
                   moe_down_combine_k<DT, DIM, INTER, E, K, async_rows<DT, INTER>::OK, SINTER>, grid, threads, 0, w, tab,
                   ids, act, weights, out, sh);
        else if (linear_one_kind() == LINEAR_ONE_ROWS)
            launch("moe_experts (down, combine; rows)", moe_down_combine_k<DT, DIM, INTER, E, K, false, SINTER, RD>,
                   dim3(ceil_div(DIM, down_block_rows<K, SINTER>() * RD), n), threads, 0, w, tab, ids, act, weights,
                   out, sh);
        else
            launch("moe_experts (down, combine)", moe_down_combine_k<DT, DIM, INTER, E, K, false, SINTER>, grid, threads,
                   0, w, tab, ids, act, weights, out, sh);
        return;
    }
    launch("moe_experts (down; by expert)", moe_grouped_k<DT, DIM, INTER, E, K, TOKEN_TILE, true>,
           dim3(ceil_div(DIM, WARPS * rows_per_warp<DT, INTER>::R), E), THREADS, 0, w, tab, act, counts, lists, n, y);
    launch("moe_experts (combine)", moe_combine_k<DIM, K>, elementwise_blocks((size_t)n * DIM), THREADS, 0, y, weights,
           n, out);
}

#endif /* __CUDACC__ */

} /* namespace dfc */

#endif
