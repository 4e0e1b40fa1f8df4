/* mla_split.cuh: a step's absorbed MLA attention through the split-KV decode kernel
 * (mla_decode.cuh), for the layers whose shapes its configuration (mla_split_cfg.cuh) takes
 * (heads a multiple of 16, L a multiple of 256, L + R of 32 over an f32 cache and of 64 over a
 * bf16 one; gen/shapes.lua decides). mla_attend's math (kernels.cuh) in three steps:
 *   1. q_abs[t][h] = [W_uk(h)^T q_nope(t, h) | q_pe(t, h)] for the step's tokens: a block per
 *      (token, head, tile of columns), absorb_tile as mla_attend's; the schedule's rope_cache
 *      op is taken in (rope_in): q_pe is rotated here, rope_heads' arithmetic, and more blocks
 *      of the launch write the step's rows into the cache, mla_cache_write's;
 *   2. per slice of the tokens (split_slice: as many as the workspace's partial records hold),
 *      the partial kernel of mla_decode (an f32 cache) or mla_decode_bf16 (a bf16 one): per
 *      chunk of the cache rows 0..pos, its softmax-weighted sum's partial record;
 *   3. and in a second launch per slice, the records merged into o_lat[t][h] (combine_one, the
 *      combine kernel's value) in shared memory, then out[t][h][d] = W_uv(h)[d] . o_lat[t][h]
 *      by row_dot (mla_attend's last phase has its bits).
 * A decode step (at most the max batch of tokens) is one slice: 3 launches.
 * A token's result depends on its position and slot alone (mla_decode's chunks are a function
 * of the position; where its records lie in the workspace changes no arithmetic), so the
 * slicing changes no bit and prefill gives decode's bits. */
#ifndef DF_CUDA_MLA_SPLIT_CUH
#define DF_CUDA_MLA_SPLIT_CUH

#include <stdio.h>
#include <stdlib.h>

#include "kernels.cuh"
#include "mla_slices.cuh"
#include "mla_split_cfg.cuh"

namespace dfc {

#ifdef __CUDACC__

/* The rope_cache op's inputs, which step 1 takes in (gen/schedule.lua, fuse_launches: rope_in):
 * the step's kv_a rows, the latent's norm, the RoPE table; its cache is the attention's. */
struct rope_cache_in {
    const float *kv_a, *norm, *rope;
    float eps;
};

/* Step 1's grid along x: the n x H blocks of each tile, then mla_cache_write's, a warp per token
 * (those of the tiles past 0 return at once). */
DF_HD constexpr int absorb_grid_x(int n, int heads) { return n * heads + (n + WARPS - 1) / WARPS; }

/* 1: a block per (token, head, tile of absorb_vec's TILE columns: absorb_tile); the tiles at 0
 * rotate the rope part into place (rope_pair, a thread a pair: rope_rotate's arithmetic, so
 * rope_heads' bits), q's own left as it is; then the blocks of mla_cache_write. */
template <int DT, int H, int NOPE, int R, int VH, int L, int CTX, typename CE>
__global__ void __launch_bounds__(THREADS) mla_absorb_k(const unsigned char *kv_b, const float *kv_b_scale,
                                                        const float *q, rope_cache_in rc, const int *slot,
                                                        const int *pos, int n, CE *cache, float *q_abs)
{
    constexpr int QK = NOPE + R;
    static_assert(R % 2 == 0 && R / 2 <= THREADS, "a thread per rope pair");
    __shared__ float s_q[QK];
    __shared__ float part[WARPS][absorb_vec<DT>::TILE];
    pdl_enter();
    if ((int)blockIdx.x >= n * H) {
        if (blockIdx.y == 0)
            mla_cache_write_block<L, R, CTX, CE>(rc.kv_a, rc.norm, rc.rope, slot, pos, n, rc.eps, cache,
                                                 blockIdx.x - n * H);
        return;
    }
    const int t = blockIdx.x / H, h = blockIdx.x % H;
    const float *qh = q + ((size_t)t * H + h) * QK;
    for (int i = threadIdx.x; i < QK; i += THREADS)
        s_q[i] = qh[i];
    __syncthreads();
    float *qa = q_abs + ((size_t)t * H + h) * (L + R);
    absorb_tile<DT, NOPE, VH, L>(kv_b, kv_b_scale, s_q, h, blockIdx.y, part, qa);
    if (blockIdx.y == 0 && (int)threadIdx.x < R / 2) {
        const int i = 2 * threadIdx.x;
        float v[2] = { s_q[NOPE + i], s_q[NOPE + i + 1] };
        rope_pair(v, rc.rope + (size_t)pos[t] * R + i);
        qa[L + i] = v[0];
        qa[L + i + 1] = v[1];
    }
}

/* 3: block (head h, token t) of L threads: o_lat[t][h] into shared memory (combine_one: a
 * column a thread), then out[t][h][d] = W_uv(h)[d] . o_lat for every d < VH: warp w takes rows
 * w, w + L / 32, ..., G (up to 8: all of a warp's rows for V3's and V2-Lite's 128 of 512, one trip
 * to memory where 4 took two) at a time with their loads in flight together (lane_dot_each: each
 * row's sum row_dot's, so mla_attend's bits), o_lat in staged_index's order (no bank conflicts
 * where the warps read it). */
template <class D, int DT, int NOPE, int VH>
__global__ void __launch_bounds__(D::L) mla_combine_out_k(const unsigned char *kv_b, const float *kv_b_scale,
                                                          const int *pos, int stride, const float *ws, float *out)
{
    constexpr int NW = D::L / WARP, RW = (VH + NW - 1) / NW, G = RW < 8 ? RW : 8;
    pdl_enter();
    __shared__ __align__(16) float s_o[D::L];
    const int h = blockIdx.x, t = blockIdx.y, lane = threadIdx.x % WARP, w = threadIdx.x / WARP;
    s_o[staged_index<stage_units<DT, D::L>()>(threadIdx.x)] = mla::combine_one<D>(pos, stride, ws, h, t);
    __syncthreads();
    const auto row_of = [&](int i) { /* W_uv(h)'s row for the warp's i-th d (the last again past the end) */
        const int d = w + NW * i;
        return h * (NOPE + VH) + NOPE + (d < VH ? d : VH - 1);
    };
    for (int i0 = 0; i0 < RW; i0 += G) {
        const unsigned char *wr[G];
        const float *sr[G], *xs[G];
        float part[G][1] = {};
#pragma unroll
        for (int g = 0; g < G; g++) {
            wr[g] = w_row<DT, D::L>(kv_b, row_of(i0 + g));
            sr[g] = s_row<DT, D::L>(kv_b_scale, row_of(i0 + g));
            xs[g] = s_o;
        }
        lane_dot_each<DT, D::L, G, true>(wr, sr, xs, lane, part);
#pragma unroll
        for (int g = 0; g < G; g++) {
            const int d = w + NW * (i0 + g);
            const float v = warp_sum(part[g][0]);
            if (lane == 0 && i0 + g < RW && d < VH)
                out[((size_t)t * D::HEADS + h) * VH + d] = v;
        }
    }
}

/* Step 2 over the cache's type: its kernel's setup and its launch (the partial kernel alone). */
template <int H, int L, int R, int CTX> cudaError_t split_setup(const float *)
{
    return mla_decode_setup<mla_split_cfg<H, L, R, CTX>>();
}
template <int H, int L, int R, int CTX> cudaError_t split_setup(const uint16_t *)
{
    return mla_decode_bf16_setup<mla_split_bf16_cfg<H, L, R, CTX>>();
}
template <int H, int L, int R, int CTX>
void split_partial(const float *q_abs, const float *cache, const int *slot, const int *pos, int n, float scale,
                   float *part, int stride)
{
    using D = mla_split_cfg<H, L, R, CTX>;
    mla::launch_partial<D>(mla::partial_k<D>, "mla_decode (partial)", q_abs, cache, slot, pos, n, scale, stride, part);
}
template <int H, int L, int R, int CTX>
void split_partial(const float *q_abs, const uint16_t *cache, const int *slot, const int *pos, int n, float scale,
                   float *part, int stride)
{
    using D = mla_split_bf16_cfg<H, L, R, CTX>;
    mla::launch_partial<D>(mla::partial16_k<D>, "mla_decode_bf16 (partial)", q_abs, cache, slot, pos, n, scale, stride,
                           part);
}

/* The step's n <= N tokens, the split kernel's in slices (next_split_slice); ws:
 * mla_split_floats<H, L, R, CTX, CE>(N, S) floats; CE: the cache's element (float, or uint16_t:
 * bf16); pos on the device, pos_host the same on the host. q's rope parts unrotated and the
 * step's rows not yet in the cache: step 1 does the rope_cache op's work (rc). The split
 * kernel's shared-memory opt-in is made on the first call, which is a prefill (a decode step,
 * the one captured as a graph, always follows one). */
template <int DT, int H, int NOPE, int R, int VH, int L, int CTX, int N, int S, typename CE>
void mla_attend_split(const unsigned char *kv_b, const unsigned char *kv_b_scale, const float *q, rope_cache_in rc,
                      CE *cache, const int *slot, const int *pos, const int *pos_host, int n, float sm_scale, float *ws,
                      float *out)
{
    static_assert(N >= S, "a step holds at least the max batch (a decode step: one slice)");
    static bool ready = false;
    if (!ready) {
        const cudaError_t e = split_setup<H, L, R, CTX>(cache);
        if (e != cudaSuccess) {
            fprintf(stderr, "CUDA error in the split-KV MLA kernel's setup: %s\n", cudaGetErrorString(e));
            exit(1);
        }
        ready = true;
    }
    if (n <= 0)
        return;
    using D = typename split_cfg_for<H, L, R, CTX, CE>::type;
    const float *sc = reinterpret_cast<const float *>(kv_b_scale);
    float *q_abs = ws, *part = ws + (size_t)N * H * (L + R);
    launch("mla_split (absorb, rope, cache)", mla_absorb_k<DT, H, NOPE, R, VH, L, CTX, CE>,
           dim3(absorb_grid_x(n, H), absorb_tiles<DT, L>()), THREADS, 0, kv_b, sc, q, rc, slot, pos, n, cache, q_abs);
    for (int t0 = 0; t0 < n;) {
        const split_slice s = next_split_slice<D::C, D::JMAX, S>(pos_host, t0, n);
        split_partial<H, L, R, CTX>(q_abs + (size_t)t0 * H * (L + R), cache, slot + t0, pos + t0, s.n, sm_scale, part,
                                    s.stride);
        launch("mla_split (combine, out)", mla_combine_out_k<D, DT, NOPE, VH>, dim3(H, s.n), L, 0, kv_b, sc, pos + t0,
               s.stride, part, out + (size_t)t0 * H * VH);
        t0 += s.n;
    }
}

#endif /* __CUDACC__ */

} /* namespace dfc */

#endif
