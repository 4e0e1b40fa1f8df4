/* kernels.cuh: the generic CUDA kernels of the reference-precision backend,
 * and their host-side launchers.
 *
 * The counterpart of runtime/kernels/ (C): the generated kernels.cu fixes each
 * kernel's shape as template arguments (one instance per distinct shape) and
 * calls the launcher on the backend's one stream. Numerics are the CPU's
 * (docs/numerics.md): weights widened to f32 as read (the same bf16_to_f32 /
 * e4m3_to_f32, FP8 as code x block scale), f32 activations, f32 accumulation,
 * and every reduction in an order fixed by the shapes alone, so a token's
 * result does not depend on the batch, its place in the step, or its slot:
 *   - row . vector: one warp per output row; lane l takes the V-wide column
 *     vectors l, l+32, ... in order, then the 32 lane sums meet in a fixed
 *     xor butterfly. FP8: each 128-column block is summed that way, then
 *     multiplied by its scale, then the blocks are added in order;
 *   - RMSNorm: the same lane/butterfly order for the sum of squares;
 *   - attention: one block per (token, head), absorbed MLA as in mla.h, the
 *     positions in chunks of 64 with an online softmax (running max and sum);
 *   - MoE: routing per token with moe_route_token itself; each (token, chosen
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
#include <string.h>

#include "cuda_rt.h"
#include "kernels/hd.h"
#include "kernels/mat.h"
#include "kernels/rope.h"

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
constexpr int THREADS = 256;            /* every kernel's block size */
constexpr int WARPS = THREADS / WARP;   /* rows (or tokens) per block in warp-per-row kernels */
constexpr int TOKEN_TILE = 8;           /* tokens that share one read of a weight row in linear */
constexpr int ATTN_CHUNK = 64;          /* positions per online-softmax chunk in mla_attend */

static inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

/* ---- lane-level pieces (host and device) ------------------------------------------------ */

/* Bytes per element of a packed dtype. */
template <int DT> struct esize { static constexpr int value = DT == DF_F32 ? 4 : DT == DF_BF16 ? 2 : 1; };

/* Columns each lane reads per step along a row of COLS columns: the widest of 8, 4, 2, 1
 * that divides COLS (so every row of a row-major matrix, and every activation row, starts
 * aligned for it) within 16 bytes of weights; at most 4 for FP8, so that one warp step
 * (32 x V columns) never crosses a 128-column scale block. */
template <int DT, int COLS> struct row_vec {
    static constexpr int MAXV = DT == DF_F8E4M3 ? 4 : 16 / esize<DT>::value;
    static constexpr int V = (MAXV >= 8 && COLS % 8 == 0) ? 8
                             : (MAXV >= 4 && COLS % 4 == 0) ? 4
                             : (COLS % 2 == 0) ? 2 : 1;
    static constexpr int STEP = WARP * V;           /* columns per warp step */
    static constexpr int BLOCKS = (COLS + DF_FP8_BLOCK - 1) / DF_FP8_BLOCK; /* FP8 scale blocks per row */
};

/* V floats from p (aligned for V). */
template <int V> DF_HD inline void load_x(const float *p, float *v)
{
#ifdef __CUDA_ARCH__
    if constexpr (V == 8) {
        const float4 a = reinterpret_cast<const float4 *>(p)[0], b = reinterpret_cast<const float4 *>(p)[1];
        v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w; v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
    } else if constexpr (V == 4) {
        const float4 a = *reinterpret_cast<const float4 *>(p);
        v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w;
    } else if constexpr (V == 2) {
        const float2 a = *reinterpret_cast<const float2 *>(p);
        v[0] = a.x; v[1] = a.y;
    } else {
        v[0] = p[0];
    }
#else
    memcpy(v, p, sizeof(float) * V);
#endif
}

/* V weights of a packed row from p (aligned for V), widened to f32; FP8 as bare codes
 * (the caller applies the block scale to the block's sum, as mat_dot_row does). The
 * V * esize bytes are read as one access (little-endian words), then split. */
template <int DT, int V> DF_HD inline void load_w(const unsigned char *p, float *v)
{
    if constexpr (DT == DF_F32) {
        load_x<V>(reinterpret_cast<const float *>(p), v);
    } else {
        constexpr int B = V * esize<DT>::value, NW = B >= 4 ? B / 4 : 1;
        uint32_t wd[NW];
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
DF_UNROLL
        for (int j = 0; j < V; j++) {
            if constexpr (DT == DF_BF16)
                v[j] = bf16_to_f32((uint16_t)(wd[j / 2] >> (16 * (j % 2))));
            else
                v[j] = e4m3_to_f32((uint8_t)(wd[j / 4] >> (8 * (j % 4))));
        }
    }
}

/* One lane's share of row . x for nt <= T vectors (x + t * xstride): the V-column vectors
 * c = c0 + lane * V + k * 32 * V below c1, in order, added into part[t]. c0 is 0 or a
 * block start; c1 is COLS or a block end. */
template <int DT, int COLS, int T>
DF_HD inline void lane_dot(const unsigned char *wrow, const float *x, int xstride, int nt, int lane, int c0, int c1,
                           float (&part)[T])
{
    constexpr int V = row_vec<DT, COLS>::V;
    for (int c = c0 + lane * V; c < c1; c += WARP * V) {
        float wv[V];
        load_w<DT, V>(wrow + (size_t)c * esize<DT>::value, wv);
DF_UNROLL
        for (int t = 0; t < T; t++) {
            if (t < nt) {
                float xv[V];
                load_x<V>(x + (size_t)t * xstride + c, xv);
DF_UNROLL
                for (int j = 0; j < V; j++)
                    part[t] = fmaf(wv[j], xv[j], part[t]);
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

/* Row r's products with nt <= T vectors, computed by the whole warp; every lane gets acc. */
template <int DT, int COLS, int T>
__device__ __forceinline__ void row_dot(const unsigned char *w, const float *scale, int r, const float *x, int xstride,
                                        int nt, int lane, float (&acc)[T])
{
    const unsigned char *wrow = w + (size_t)r * COLS * esize<DT>::value;
#pragma unroll
    for (int t = 0; t < T; t++)
        acc[t] = 0.0f;
    if constexpr (DT != DF_F8E4M3) {
        lane_dot<DT, COLS, T>(wrow, x, xstride, nt, lane, 0, COLS, acc);
#pragma unroll
        for (int t = 0; t < T; t++)
            acc[t] = warp_sum(acc[t]);
    } else {
        constexpr int NB = row_vec<DT, COLS>::BLOCKS;
        const float *srow = scale + (size_t)(r / DF_FP8_BLOCK) * NB;
        for (int b = 0; b < NB; b++) {
            float part[T];
#pragma unroll
            for (int t = 0; t < T; t++)
                part[t] = 0.0f;
            const int c0 = b * DF_FP8_BLOCK, c1 = c0 + DF_FP8_BLOCK < COLS ? c0 + DF_FP8_BLOCK : COLS;
            lane_dot<DT, COLS, T>(wrow, x, xstride, nt, lane, c0, c1, part);
            const float sc = srow[b];
#pragma unroll
            for (int t = 0; t < T; t++)
                acc[t] = fmaf(warp_sum(part[t]), sc, acc[t]);
        }
    }
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
        return e4m3_to_f32(w[i]) * scale[(r / DF_FP8_BLOCK) * row_vec<DT, COLS>::BLOCKS + c / DF_FP8_BLOCK];
}

/* out = x / rms(x) * w over one row of DIM, by one warp (out may alias x). */
template <int DIM>
__device__ __forceinline__ void warp_rmsnorm(const float *x, const float *w, float eps, float *out, int lane)
{
    float ss = 0.0f;
    for (int i = lane; i < DIM; i += WARP)
        ss = fmaf(x[i], x[i], ss);
    ss = warp_sum(ss);
    const float inv = 1.0f / sqrtf(ss / (float)DIM + eps);
    for (int i = lane; i < DIM; i += WARP)
        out[i] = x[i] * inv * w[i];
}

/* ---- kernels ---------------------------------------------------------------------------- */

/* y[t][r] = W[r] . x[t]: a warp per row, TOKEN_TILE tokens per read of the row. */
template <int DT, int ROWS, int COLS>
__global__ void __launch_bounds__(THREADS) linear_k(const unsigned char *w, const float *scale, const float *x, int n,
                                                    float *y)
{
    const int lane = threadIdx.x % WARP, r = blockIdx.x * WARPS + threadIdx.x / WARP;
    const int t0 = blockIdx.y * TOKEN_TILE;
    if (r >= ROWS)
        return;
    const int nt = n - t0 < TOKEN_TILE ? n - t0 : TOKEN_TILE;
    float acc[TOKEN_TILE];
    row_dot<DT, COLS, TOKEN_TILE>(w, scale, r, x + (size_t)t0 * COLS, COLS, nt, lane, acc);
#pragma unroll
    for (int t = 0; t < TOKEN_TILE; t++)
        if (lane == t && t < nt)
            y[(size_t)(t0 + t) * ROWS + r] = acc[t];
}

/* A warp per row. */
template <int DIM>
__global__ void __launch_bounds__(THREADS) rmsnorm_k(const float *x, const float *w, int n, float eps, float *out)
{
    const int t = blockIdx.x * WARPS + threadIdx.x / WARP;
    if (t >= n)
        return;
    warp_rmsnorm<DIM>(x + (size_t)t * DIM, w, eps, out + (size_t)t * DIM, threadIdx.x % WARP);
}

/* A block per token. */
template <int DT, int NVOCAB, int DIM>
__global__ void __launch_bounds__(THREADS) embed_k(const unsigned char *w, const float *scale, const int *tokens,
                                                   float *out)
{
    const int t = blockIdx.x, id = tokens[t];
    for (int c = threadIdx.x; c < DIM; c += THREADS)
        out[(size_t)t * DIM + c] = elem<DT, DIM>(w, scale, id, c);
}

template <int DIM>
__global__ void __launch_bounds__(THREADS) residual_add_k(float *x, const float *y, int n)
{
    const size_t total = (size_t)n * DIM;
    for (size_t i = (size_t)blockIdx.x * THREADS + threadIdx.x; i < total; i += (size_t)gridDim.x * THREADS)
        x[i] += y[i];
}

template <int DIM>
__global__ void __launch_bounds__(THREADS) silu_mul_k(float *g, const float *u, int n)
{
    const size_t total = (size_t)n * DIM;
    for (size_t i = (size_t)blockIdx.x * THREADS + threadIdx.x; i < total; i += (size_t)gridDim.x * THREADS)
        g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

/* A block per emitted row. */
template <int DIM>
__global__ void __launch_bounds__(THREADS) gather_rows_k(const float *x, const int *rows, float *out)
{
    const float *src = x + (size_t)rows[blockIdx.x] * DIM;
    for (int c = threadIdx.x; c < DIM; c += THREADS)
        out[(size_t)blockIdx.x * DIM + c] = src[c];
}

/* A thread per (token, head): rope_rotate on the head's rope part. */
template <int NHEADS, int NOPE, int ROPE>
__global__ void __launch_bounds__(THREADS) rope_heads_k(float *q, const float *rope, const int *pos, int n)
{
    const int i = blockIdx.x * THREADS + threadIdx.x;
    if (i >= n * NHEADS)
        return;
    const int t = i / NHEADS;
    rope_rotate(q + (size_t)i * (NOPE + ROPE) + NOPE, rope, pos[t], ROPE);
}

/* A warp per token: the normed latent and the rotated shared key into the token's cache row. */
template <int L, int ROPE, int CTX>
__global__ void __launch_bounds__(THREADS) mla_cache_write_k(const float *kv_a, const float *norm, const float *rope,
                                                             const int *slot, const int *pos, int n, float eps,
                                                             float *cache)
{
    constexpr int ROW = L + ROPE;
    const int t = blockIdx.x * WARPS + threadIdx.x / WARP, lane = threadIdx.x % WARP;
    if (t >= n)
        return;
    const float *src = kv_a + (size_t)t * ROW;
    float *dst = cache + ((size_t)slot[t] * CTX + (size_t)pos[t]) * ROW;
    warp_rmsnorm<L>(src, norm, eps, dst, lane);
    if (lane == 0) {
        for (int c = 0; c < ROPE; c++)
            dst[L + c] = src[L + c];
        rope_rotate(dst + L, rope, pos[t], ROPE);
    }
}

/* Absorbed MLA (runtime/kernels/mla.h), a block per (token, head):
 *   q_lat = W_uk(h)^T q_nope            (thread per latent column, heads' nope rows in order)
 *   score = (q_lat . c_kv[p] + q_pe . k_pe[p]) * scale   (warp per position)
 *   o_lat = softmax-weighted sum of c_kv over 0..pos (online, chunks of ATTN_CHUNK positions)
 *   out   = W_uv(h) o_lat                (warp per output row, row_dot) */
template <int DT, int NHEADS, int NOPE, int ROPE, int VH, int L, int CTX>
__global__ void __launch_bounds__(THREADS) mla_attend_k(const unsigned char *kv_b, const float *kv_b_scale,
                                                        const float *q, const float *cache, const int *slot,
                                                        const int *pos, float sm_scale, float *out)
{
    constexpr int ROW = L + ROPE, QK = NOPE + ROPE, P = ATTN_CHUNK, OPT = (L + THREADS - 1) / THREADS;
    __shared__ __align__(16) float s_q[QK];
    __shared__ __align__(16) float s_qlat[L];
    __shared__ __align__(16) float s_olat[L];
    __shared__ float s_p[P];
    const int t = blockIdx.x / NHEADS, h = blockIdx.x % NHEADS;
    const int tid = threadIdx.x, lane = tid % WARP, warp = tid / WARP;
    const float *qh = q + ((size_t)t * NHEADS + h) * QK;
    for (int i = tid; i < QK; i += THREADS)
        s_q[i] = qh[i];
    __syncthreads();

    const int w_row = h * (NOPE + VH);
    for (int c = tid; c < L; c += THREADS) {
        float a = 0.0f;
        for (int d = 0; d < NOPE; d++)
            a = fmaf(s_q[d], elem<DT, L>(kv_b, kv_b_scale, w_row + d, c), a);
        s_qlat[c] = a;
    }
    __syncthreads();

    const int len = pos[t] + 1;
    const float *kv = cache + (size_t)slot[t] * CTX * ROW;
    float m = -INFINITY, s = 0.0f, o[OPT];
#pragma unroll
    for (int k = 0; k < OPT; k++)
        o[k] = 0.0f;
    for (int p0 = 0; p0 < len; p0 += P) {
        const int np = len - p0 < P ? len - p0 : P;
        for (int i = warp; i < np; i += WARPS) {
            const float *e = kv + (size_t)(p0 + i) * ROW;
            float a = 0.0f, b = 0.0f;
            for (int c = lane; c < L; c += WARP)
                a = fmaf(s_qlat[c], e[c], a);
            for (int c = lane; c < ROPE; c += WARP)
                b = fmaf(s_q[NOPE + c], e[L + c], b);
            a = warp_sum(a);
            b = warp_sum(b);
            if (lane == 0)
                s_p[i] = (a + b) * sm_scale;
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
                for (int i = 0; i < np; i++)
                    acc = fmaf(s_p[i], kv[(size_t)(p0 + i) * ROW + c], acc);
                o[k] = acc;
            }
        }
        m = mnew;
        __syncthreads();
    }
#pragma unroll
    for (int k = 0; k < OPT; k++) {
        const int c = tid + k * THREADS;
        if (c < L)
            s_olat[c] = o[k] / s;
    }
    __syncthreads();

    float *oh = out + ((size_t)t * NHEADS + h) * VH;
    for (int d = warp; d < VH; d += WARPS) {
        float acc[1];
        row_dot<DT, L, 1>(kv_b, kv_b_scale, w_row + NOPE + d, s_olat, 0, 1, lane, acc);
        if (lane == 0)
            oh[d] = acc[0];
    }
}

/* A thread per token: moe_route_token, with its scratch in registers/local memory. */
template <int E, int K, int G>
__global__ void __launch_bounds__(THREADS) moe_route_k(const struct df_route_shape shape, const float *logits,
                                                       const float *bias, int n, int *ids, float *weights)
{
    const int t = blockIdx.x * THREADS + threadIdx.x;
    if (t >= n)
        return;
    float score[E], choice[E], group_score[G];
    bool allowed[E], group_ok[G];
    moe_route_token(&shape, logits + (size_t)t * E, bias, score, choice, allowed, group_score, group_ok,
                    ids + (size_t)t * K, weights + (size_t)t * K);
}

/* The routed experts' weight offsets, passed by value (kernel parameter space). */
template <int E> struct expert_table {
    struct df_expert e[E];
};

/* Per (token, chosen expert) pair and output row r < INTER, by one warp:
 * act[pair][r] = silu(gate_r . x_t) * (up_r . x_t). */
template <int DT, int DIM, int INTER, int E, int K>
__global__ void __launch_bounds__(THREADS) moe_gate_up_k(const unsigned char *w, const __grid_constant__ expert_table<E> tab,
                                                         const float *x, const int *ids, float *act)
{
    const int lane = threadIdx.x % WARP, r = blockIdx.x * WARPS + threadIdx.x / WARP, pair = blockIdx.y;
    if (r >= INTER)
        return;
    const struct df_expert &e = tab.e[ids[pair]];
    const float *xt = x + (size_t)(pair / K) * DIM;
    float g[1], u[1];
    row_dot<DT, DIM, 1>(w + e.gate, reinterpret_cast<const float *>(w + e.gate_scale), r, xt, 0, 1, lane, g);
    row_dot<DT, DIM, 1>(w + e.up, reinterpret_cast<const float *>(w + e.up_scale), r, xt, 0, 1, lane, u);
    if (lane == 0)
        act[(size_t)pair * INTER + r] = g[0] / (1.0f + expf(-g[0])) * u[0];
}

/* y[pair][r] = down_r . act[pair], r < DIM, by one warp. */
template <int DT, int DIM, int INTER, int E, int K>
__global__ void __launch_bounds__(THREADS) moe_down_k(const unsigned char *w, const __grid_constant__ expert_table<E> tab,
                                                      const int *ids, const float *act, float *y)
{
    const int lane = threadIdx.x % WARP, r = blockIdx.x * WARPS + threadIdx.x / WARP, pair = blockIdx.y;
    if (r >= DIM)
        return;
    const struct df_expert &e = tab.e[ids[pair]];
    float acc[1];
    row_dot<DT, INTER, 1>(w + e.down, reinterpret_cast<const float *>(w + e.down_scale), r,
                          act + (size_t)pair * INTER, 0, 1, lane, acc);
    if (lane == 0)
        y[(size_t)pair * DIM + r] = acc[0];
}

/* out[t] = sum over k, best first, of weight[t][k] * y[t][k]. */
template <int DIM, int K>
__global__ void __launch_bounds__(THREADS) moe_combine_k(const float *y, const float *weights, int n, float *out)
{
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

template <int DT, int ROWS, int COLS>
void linear(const unsigned char *w, const unsigned char *scale, const float *x, int n, float *y)
{
    if (n <= 0)
        return;
    const dim3 grid(ceil_div(ROWS, WARPS), ceil_div(n, TOKEN_TILE));
    linear_k<DT, ROWS, COLS><<<grid, THREADS, 0, df_cuda_stream()>>>(
        w, reinterpret_cast<const float *>(scale), x, n, y);
    df_cuda_launched("linear");
}

template <int DIM> void rmsnorm(const float *x, const unsigned char *w, int n, float eps, float *out)
{
    if (n <= 0)
        return;
    rmsnorm_k<DIM><<<ceil_div(n, WARPS), THREADS, 0, df_cuda_stream()>>>(x, reinterpret_cast<const float *>(w), n,
                                                                         eps, out);
    df_cuda_launched("rmsnorm");
}

template <int DT, int NVOCAB, int DIM>
void embed(const unsigned char *w, const unsigned char *scale, const int *tokens, int n, float *out)
{
    if (n <= 0)
        return;
    embed_k<DT, NVOCAB, DIM><<<n, THREADS, 0, df_cuda_stream()>>>(w, reinterpret_cast<const float *>(scale), tokens,
                                                                  out);
    df_cuda_launched("embed");
}

template <int DIM> void residual_add(float *x, const float *y, int n)
{
    if (n <= 0)
        return;
    residual_add_k<DIM><<<elementwise_blocks((size_t)n * DIM), THREADS, 0, df_cuda_stream()>>>(x, y, n);
    df_cuda_launched("residual_add");
}

template <int DIM> void silu_mul(float *g, const float *u, int n)
{
    if (n <= 0)
        return;
    silu_mul_k<DIM><<<elementwise_blocks((size_t)n * DIM), THREADS, 0, df_cuda_stream()>>>(g, u, n);
    df_cuda_launched("silu_mul");
}

template <int DIM> void gather_rows(const float *x, const int *rows, int n, float *out)
{
    if (n <= 0)
        return;
    gather_rows_k<DIM><<<n, THREADS, 0, df_cuda_stream()>>>(x, rows, out);
    df_cuda_launched("gather_rows");
}

template <int NHEADS, int NOPE, int ROPE> void rope_heads(float *q, const float *rope, const int *pos, int n)
{
    if (n <= 0)
        return;
    rope_heads_k<NHEADS, NOPE, ROPE><<<ceil_div(n * NHEADS, THREADS), THREADS, 0, df_cuda_stream()>>>(q, rope, pos, n);
    df_cuda_launched("rope_heads");
}

template <int L, int ROPE, int CTX>
void mla_cache_write(const float *kv_a, const unsigned char *norm, const float *rope, const int *slot, const int *pos,
                     int n, float eps, float *cache)
{
    if (n <= 0)
        return;
    mla_cache_write_k<L, ROPE, CTX><<<ceil_div(n, WARPS), THREADS, 0, df_cuda_stream()>>>(
        kv_a, reinterpret_cast<const float *>(norm), rope, slot, pos, n, eps, cache);
    df_cuda_launched("mla_cache_write");
}

template <int DT, int NHEADS, int NOPE, int ROPE, int VH, int L, int CTX>
void mla_attend(const unsigned char *kv_b, const unsigned char *kv_b_scale, const float *q, const float *cache,
                const int *slot, const int *pos, int n, float sm_scale, float *out)
{
    if (n <= 0)
        return;
    mla_attend_k<DT, NHEADS, NOPE, ROPE, VH, L, CTX><<<n * NHEADS, THREADS, 0, df_cuda_stream()>>>(
        kv_b, reinterpret_cast<const float *>(kv_b_scale), q, cache, slot, pos, sm_scale, out);
    df_cuda_launched("mla_attend");
}

template <int E, int K, int G>
void moe_route(const struct df_route_shape &shape, const float *logits, const unsigned char *bias, int n, int *ids,
               float *weights)
{
    if (n <= 0)
        return;
    moe_route_k<E, K, G><<<ceil_div(n, THREADS), THREADS, 0, df_cuda_stream()>>>(
        shape, logits, reinterpret_cast<const float *>(bias), n, ids, weights);
    df_cuda_launched("moe_route");
}

/* scratch: n * K * (INTER + DIM) floats (the arena's region beyond the plan). */
template <int DT, int DIM, int INTER, int E, int K>
void moe_experts(const unsigned char *w, const struct df_expert *table, const float *x, const int *ids,
                 const float *weights, int n, float *scratch, float *out)
{
    if (n <= 0)
        return;
    expert_table<E> tab;
    memcpy(tab.e, table, sizeof tab.e);
    float *act = scratch, *y = scratch + (size_t)n * K * INTER;
    moe_gate_up_k<DT, DIM, INTER, E, K><<<dim3(ceil_div(INTER, WARPS), n * K), THREADS, 0, df_cuda_stream()>>>(
        w, tab, x, ids, act);
    df_cuda_launched("moe_experts (gate, up)");
    moe_down_k<DT, DIM, INTER, E, K><<<dim3(ceil_div(DIM, WARPS), n * K), THREADS, 0, df_cuda_stream()>>>(
        w, tab, ids, act, y);
    df_cuda_launched("moe_experts (down)");
    moe_combine_k<DIM, K><<<elementwise_blocks((size_t)n * DIM), THREADS, 0, df_cuda_stream()>>>(y, weights, n, out);
    df_cuda_launched("moe_experts (combine)");
}

#endif /* __CUDACC__ */

} /* namespace dfc */

#endif
