/* pick.cuh: the kernels that pick each row's next token from the logits on the device:
 * greedy_k (df_argmax's token; a block per slice of the row, greedy_slices) and launch_sample's
 * three (df_sample_with's token for the row's 24-bit draw: kernels/sample_select.h's
 * definition, on the same integers, so it is the token the host's sampler picks from the same
 * row and draw).
 *
 * A sample is three launches (launch_sample): greedy_k's (the row's largest logit), then
 * sample_weights_k turns the row's logits, in place, into the integer weights (the rows are used
 * up: they are not read again in the step), a block per slice as greedy_k's, then sample_k, a
 * block per row, finds the top-k and top-p cuts by radix
 * selection, one pass over the row per 11-bit digit of the keys (5 passes for a vocabulary
 * of up to 2^17; histograms in shared memory, digit 0's counted in each thread's registers and
 * added once a pass; warp 0 picks the bucket), then draws in id order:
 * each thread sums a contiguous run of ids, a block scan, and the thread whose run holds the
 * point finds the token. Every sum is an integer, so no reduction order changes the pick. */
#ifndef DF_CUDA_PICK_CUH
#define DF_CUDA_PICK_CUH

#include <stdint.h>

#include "cuda_rt.h"
#include "kernels/argmax.h"
#include "kernels/sample_select.h"
#include "launch.cuh"

namespace dfc {

constexpr unsigned PICK_FULL_MASK = 0xffffffffu;

/* The row's argmax in kernels/argmax.h's total order (so any reduction order picks df_argmax's
 * token): each thread scans vectors of 4 columns t, t + THREADS, ..., 4 vectors' 16-byte loads
 * issued before their picks (columns t, t + THREADS, ... one at a time where the row is not
 * 16-byte aligned or vocab not a multiple of 4), then the warps' butterflies, then every thread
 * across the warps' winners. Every thread gets the index, and the value in *value. */
template <int THREADS>
__device__ int block_argmax(const float *row, int vocab, float *value)
{
    __shared__ float wv[THREADS / 32];
    __shared__ int wi[THREADS / 32];
    float v = -INFINITY;
    int i = -1;
    if (vocab % 4 == 0 && reinterpret_cast<uintptr_t>(row) % 16 == 0) {
        const float4 *row4 = reinterpret_cast<const float4 *>(row);
        const auto pick4 = [&](const float4 &x, int c) {
            argmax_pick(&v, &i, x.x, 4 * c);
            argmax_pick(&v, &i, x.y, 4 * c + 1);
            argmax_pick(&v, &i, x.z, 4 * c + 2);
            argmax_pick(&v, &i, x.w, 4 * c + 3);
        };
        int c = threadIdx.x;
        for (; c + 3 * THREADS < vocab / 4; c += 4 * THREADS) {
            float4 x[4];
#pragma unroll
            for (int u = 0; u < 4; u++)
                x[u] = row4[c + u * THREADS];
#pragma unroll
            for (int u = 0; u < 4; u++)
                pick4(x[u], c + u * THREADS);
        }
        for (; c < vocab / 4; c += THREADS)
            pick4(row4[c], c);
    } else {
        for (int c = threadIdx.x; c < vocab; c += THREADS)
            argmax_pick(&v, &i, row[c], c);
    }
    for (int m = 16; m > 0; m /= 2)
        argmax_pick(&v, &i, __shfl_xor_sync(PICK_FULL_MASK, v, m), __shfl_xor_sync(PICK_FULL_MASK, i, m));
    if (threadIdx.x % 32 == 0) {
        wv[threadIdx.x / 32] = v;
        wi[threadIdx.x / 32] = i;
    }
    __syncthreads();
    v = wv[0];
    i = wi[0];
    for (int w = 1; w < THREADS / 32; w++)
        argmax_pick(&v, &i, wv[w], wi[w]);
    __syncthreads(); /* every thread has read wv, wi (and the row) */
    *value = v;
    return i;
}

/* greedy_k's slices of a row: ceil(vocab / GREEDY_SLICE_TARGET) of them, at most
 * DF_CUDA_PICK_SLICES (so longer than the target past 32 x 4096 columns), of equal length
 * rounded up to a multiple of 4 columns (so that a slice of an aligned row of a multiple of 4
 * columns takes block_argmax's vectors of 4), the last one shorter; greedy_slices says how many
 * the row takes then. */
constexpr int GREEDY_THREADS = 256, GREEDY_SLICE_TARGET = 4096;
DF_HD inline int greedy_slice_len(int vocab)
{
    const int s = (vocab + GREEDY_SLICE_TARGET - 1) / GREEDY_SLICE_TARGET,
              n = s < DF_CUDA_PICK_SLICES ? s : DF_CUDA_PICK_SLICES;
    return ((vocab + n - 1) / n + 3) / 4 * 4;
}
DF_HD inline int greedy_slices(int vocab)
{
    const int len = greedy_slice_len(vocab);
    return (vocab + len - 1) / len;
}

/* The row's pick from its slices' picks (a row's part of the picks' area), by warp 0: lane l
 * takes slices l, l + 32, ..., then the butterfly, in kernels/argmax.h's total order; the index
 * in the row, and its value in *value (block_argmax's over the whole row: the row's value at
 * that index). */
__device__ __forceinline__ int merge_picks(const int *picks, int slices, float *value)
{
    const volatile int *parts = picks;
    float bv = -INFINITY;
    int bi = -1;
    for (int s = threadIdx.x; s < slices; s += 32)
        argmax_pick(&bv, &bi, __uint_as_float((unsigned)parts[2 * s]), parts[2 * s + 1]);
    for (int m = 16; m > 0; m /= 2)
        argmax_pick(&bv, &bi, __shfl_xor_sync(PICK_FULL_MASK, bv, m), __shfl_xor_sync(PICK_FULL_MASK, bi, m));
    *value = bv;
    return bi;
}

/* next[row] = df_argmax(row) by a block per (slice, row): block_argmax over its slice, the pick
 * (value, index in the row) into the row's part of the picks' area (picks: DF_CUDA_PICK_ROW_INTS
 * ints a row, cuda_rt.h); the block that counts the row's last slice done (the count, then reset
 * to 0 for the next launch) takes the slices' picks in kernels/argmax.h's total order, so the
 * order the blocks finish in cannot change the token. One SM's block per row read a row of V3's
 * 129280 logits in 18 us on the H200 (ncu, 2026-11-30: 29 GB/s); 32 slices spread it over 32. */
__global__ void __launch_bounds__(GREEDY_THREADS) greedy_k(const float *logits, int vocab, int *next, int *picks)
{
    pdl_enter();
    __shared__ bool last;
    const int row = blockIdx.y, slice = blockIdx.x, slices = gridDim.x, len = greedy_slice_len(vocab);
    const int lo = slice * len, n = min(len, vocab - lo);
    int *mine = picks + (size_t)row * DF_CUDA_PICK_ROW_INTS, *done = mine + 2 * DF_CUDA_PICK_SLICES;
    float v;
    const int i = block_argmax<GREEDY_THREADS>(logits + (size_t)row * (size_t)vocab + lo, n, &v);
    if (threadIdx.x == 0) {
        mine[2 * slice] = (int)__float_as_uint(v);
        mine[2 * slice + 1] = i < 0 ? -1 : lo + i;
        __threadfence(); /* the pick is visible to every block before the count says so */
        last = atomicAdd(done, 1) == slices - 1;
    }
    __syncthreads();
    if (!last || threadIdx.x >= 32)
        return;
    __threadfence(); /* (the other blocks' picks, read after their counts) */
    float bv;
    const int bi = merge_picks(mine, slices, &bv);
    if (threadIdx.x == 0) {
        next[row] = bi;
        *done = 0;
    }
}

/* A launch's error e, after launched(name) where given (the backend's df_cuda_launched: its
 * error, its profile event; the test programs give none). */
inline cudaError_t reported(cudaError_t e, void (*launched)(const char *), const char *name)
{
    if (launched)
        launched(name);
    return e;
}

/* greedy_k over rows rows of vocab logits on stream; picks: the picks' area (its counts 0); then
 * launched("greedy_k") (reported). The launch's error, or cudaSuccess. */
inline cudaError_t launch_greedy(cudaStream_t stream, const float *logits, int rows, int vocab, int *next, int *picks,
                                 void (*launched)(const char *) = nullptr)
{
    return reported(launch_on(stream, false, greedy_k, dim3(greedy_slices(vocab), rows), GREEDY_THREADS, 0, logits,
                              vocab, next, picks),
                    launched, "greedy_k");
}

/* sample_k's first pass, a block per (slice, row) as greedy_k's, launched after it: the row's
 * logits turned, in place, into the integer weights df_sample_weight gives against the row's
 * largest logit, the value of greedy_k's pick (merge_picks again over the row's slices' picks,
 * which greedy_k leaves in place; the row's own element at the pick may already be a weight). */
__global__ void __launch_bounds__(GREEDY_THREADS) sample_weights_k(float *logits, int vocab, double scale,
                                                                   const int *picks)
{
    pdl_enter();
    __shared__ float largest;
    const int row = blockIdx.y, len = greedy_slice_len(vocab), lo = blockIdx.x * len, hi = min(vocab, lo + len);
    if (threadIdx.x < 32) {
        float v;
        (void)merge_picks(picks + (size_t)row * DF_CUDA_PICK_ROW_INTS, gridDim.x, &v);
        if (threadIdx.x == 0)
            largest = v;
    }
    __syncthreads();
    float *r = logits + (size_t)row * (size_t)vocab;
    for (int i = lo + (int)threadIdx.x; i < hi; i += GREEDY_THREADS)
        r[i] = __uint_as_float(df_sample_weight(r[i], largest, scale));
}

constexpr int SAMPLE_THREADS = 1024, SAMPLE_WARPS = SAMPLE_THREADS / 32;
constexpr int SAMPLE_LANE_BUCKETS = DF_SAMPLE_BUCKETS / 32;

struct sample_smem {
    uint32_t count[DF_SAMPLE_BUCKETS];
    unsigned long long sum[DF_SAMPLE_BUCKETS];
    unsigned long long warp_sum[SAMPLE_WARPS];
    struct df_select sel;
};

/* A weight stored in a logits row's place. */
__device__ __forceinline__ uint32_t weight_at(const float *row, int i)
{
    return __float_as_uint(row[i]);
}

/* Warp 0's pick at the end of a pass, df_select_pick's result: lane l adds up the 64 buckets
 * 2047 - 64 l down to 1984 - 64 l, an inclusive scan across the lanes (lane 0 holds the largest
 * digits), and the one lane whose range reaches what is needed walks it. */
__device__ __forceinline__ void warp_pick(sample_smem &sh, int by_sum, uint64_t need, uint64_t low)
{
    const int lane = threadIdx.x, top = DF_SAMPLE_BUCKETS - 1 - lane * SAMPLE_LANE_BUCKETS;
    struct df_select sel = sh.sel;
    uint64_t c = 0, s = 0;
#pragma unroll 4
    for (int j = 0; j < SAMPLE_LANE_BUCKETS; j++) {
        c += sh.count[top - j];
        s += sh.sum[top - j];
    }
    uint64_t ci = c, si = s;
    for (int o = 1; o < 32; o *= 2) {
        const uint64_t cu = __shfl_up_sync(PICK_FULL_MASK, ci, o), su = __shfl_up_sync(PICK_FULL_MASK, si, o);
        if (lane >= o) {
            ci += cu;
            si += su;
        }
    }
    const uint64_t total_count = __shfl_sync(PICK_FULL_MASK, ci, 31), total_sum = __shfl_sync(PICK_FULL_MASK, si, 31);
    if (df_select_short(&sel, by_sum, need, low, total_count, total_sum)) {
        __syncwarp(); /* as below */
        if (lane == 0)
            sh.sel = sel;
        return;
    }
    const uint64_t left = df_select_need(&sel, by_sum, need);
    uint64_t ac = ci - c, as = si - s;
    const bool crossing = df_select_measure(by_sum, ac, as) < left && left <= df_select_measure(by_sum, ci, si);
    if (crossing) {
        int d = top;
#pragma unroll 1
        for (int j = 0; j < SAMPLE_LANE_BUCKETS; j++) {
            d = top - j;
            if (df_select_measure(by_sum, ac + sh.count[d], as + sh.sum[d]) >= left)
                break;
            ac += sh.count[d];
            as += sh.sum[d];
        }
        df_select_take(&sel, d, ac, as, sh.count[d], sh.sum[d]);
    }
    __syncwarp(); /* every lane's read of sh.sel (above) is done before one lane writes it */
    if (crossing)
        sh.sel = sel;
}

/* The cut of a radix selection over the row's keys >= low, by count (by_sum 0) or weight: the
 * block's version of sample.c's select_cut. */
__device__ __forceinline__ struct df_sample_cut select_cut(const float *row, int vocab, int bits, uint64_t low, int by_sum,
                                           uint64_t need, sample_smem &sh)
{
    if (threadIdx.x == 0)
        df_select_begin(&sh.sel, bits);
    for (;;) {
        for (int d = threadIdx.x; d < DF_SAMPLE_BUCKETS; d += SAMPLE_THREADS) {
            sh.count[d] = 0;
            sh.sum[d] = 0;
        }
        __syncthreads();
        const struct df_select sel = sh.sel;
        /* Digit 0, where most of a peaked row's tokens fall: counted in the thread's registers and
         * added once a pass, a warp's sums first (one address hit by every lane would serialize
         * the atomics, and a warp's sum per round cost a butterfly per round); the rest one pair
         * of atomics per token. */
        unsigned zero_count = 0;
        uint64_t zero_sum = 0;
        for (int i = threadIdx.x; i < vocab; i += SAMPLE_THREADS) {
            const uint32_t w = weight_at(row, i);
            const uint64_t key = df_sample_key(w, i, bits);
            const int d = key >= low && df_select_in(&sel, key) ? df_select_digit(&sel, key) : -1;
            if (d == 0) {
                zero_count++;
                zero_sum += w;
            } else if (d > 0) {
                atomicAdd(&sh.count[d], 1u);
                atomicAdd(&sh.sum[d], (unsigned long long)w);
            }
        }
        for (int m = 16; m > 0; m /= 2) {
            zero_count += __shfl_xor_sync(PICK_FULL_MASK, zero_count, m);
            zero_sum += __shfl_xor_sync(PICK_FULL_MASK, zero_sum, m);
        }
        if (threadIdx.x % 32 == 0 && zero_count > 0) {
            atomicAdd(&sh.count[0], zero_count);
            atomicAdd(&sh.sum[0], (unsigned long long)zero_sum);
        }
        __syncthreads();
        if (threadIdx.x < 32)
            warp_pick(sh, by_sum, need, low);
        __syncthreads();
        if (sh.sel.done)
            break;
    }
    const struct df_sample_cut cut = sh.sel.cut;
    __syncthreads(); /* every thread has read the cut before another selection begins */
    return cut;
}

/* The sum of v over the threads before this one (an exclusive block scan, integers). */
__device__ __forceinline__ uint64_t block_exclusive_sum(uint64_t v, sample_smem &sh)
{
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    uint64_t incl = v;
    for (int o = 1; o < 32; o *= 2) {
        const uint64_t u = __shfl_up_sync(PICK_FULL_MASK, incl, o);
        if (lane >= o)
            incl += u;
    }
    if (lane == 31)
        sh.warp_sum[warp] = incl;
    __syncthreads();
    uint64_t before = incl - v;
    for (int w = 0; w < warp; w++)
        before += sh.warp_sum[w];
    return before;
}

/* The row's token from its weights (sample_weights_k's), a block per row; next[row] holds
 * greedy_k's pick on entry, the token where no token can be drawn. */
__global__ void __launch_bounds__(SAMPLE_THREADS)
    sample_k(float *logits, int vocab, struct df_sample_params p, const uint32_t *draw, int *next)
{
    pdl_enter();
    __shared__ sample_smem sh;
    float *row = logits + (size_t)blockIdx.x * (size_t)vocab;
    const int bits = p.index_bits;
    struct df_sample_cut cut = select_cut(row, vocab, bits, df_sample_key_min(bits), 0, p.top_k, sh);
    if (cut.sum == 0) /* no positive weight (the row's largest is NaN): greedy_k's pick stays */
        return;
    if (p.p24 < DF_SAMPLE_P_ONE)
        cut = select_cut(row, vocab, bits, cut.key, 1, df_sample_top_p_target(p.p24, cut.sum), sh);
    const uint64_t point = df_sample_point(draw[blockIdx.x], cut.sum);
    const int run = (vocab + SAMPLE_THREADS - 1) / SAMPLE_THREADS;
    const int lo = min(vocab, (int)threadIdx.x * run), hi = min(vocab, lo + run);
    uint64_t mine = 0;
    for (int i = lo; i < hi; i++)
        if (df_sample_key(weight_at(row, i), i, bits) >= cut.key)
            mine += weight_at(row, i);
    uint64_t sum = block_exclusive_sum(mine, sh);
    if (sum <= point && point < sum + mine)
        for (int i = lo; i < hi; i++)
            if (df_sample_key(weight_at(row, i), i, bits) >= cut.key && (sum += weight_at(row, i)) > point) {
                next[blockIdx.x] = i;
                break;
            }
}

/* df_sample_with's token for rows rows of vocab logits on stream (used up: they hold weights
 * after), row r with draw[r]: greedy_k (the largest logit), sample_weights_k, sample_k; picks:
 * the picks' area (its counts 0). Each launch reported by its kernel's name (reported). The
 * first launch error, or cudaSuccess. */
inline cudaError_t launch_sample(cudaStream_t stream, float *logits, int rows, int vocab, const struct df_sample_params &p,
                                 const uint32_t *draw, int *next, int *picks, void (*launched)(const char *) = nullptr)
{
    cudaError_t e = launch_greedy(stream, logits, rows, vocab, next, picks, launched);
    if (e == cudaSuccess)
        e = reported(launch_on(stream, false, sample_weights_k, dim3(greedy_slices(vocab), rows), GREEDY_THREADS, 0,
                               logits, vocab, p.scale, (const int *)picks),
                     launched, "sample_weights_k");
    if (e == cudaSuccess)
        e = reported(launch_on(stream, false, sample_k, rows, SAMPLE_THREADS, 0, logits, vocab, p, draw, next), launched,
                     "sample_k");
    return e;
}

} // namespace dfc

#endif
