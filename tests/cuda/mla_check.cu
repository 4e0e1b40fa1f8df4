/* mla_check.cu: the split-KV MLA decode kernels (runtime/cuda/mla_decode.cuh over an f32 cache,
 * mla_decode_bf16.cuh over a bf16 one) on a Hopper GPU: correctness against today's mla_attend
 * (kernels.cuh) and fp64, batch invariance, and the bandwidth they read the latent cache at,
 * against the copy bandwidth measured here.
 * Run by tools/gpu-check.sh; docs/cuda-mla.md.
 *
 *   build/cuda/mla_check        under a minute on an H200; exit 0 if every check passed, 1 on a
 *                               failure; "skip mla_check: no CUDA device" and exit 0 without a GPU
 *   build/cuda/mla_check quick  contexts 100 and 1024, batches 1 and 4, checks without timing:
 *                               for compute-sanitizer (memcheck, racecheck, synccheck)
 *   build/cuda/mla_check profile  each 16-head configuration (f32 and bf16 cache) run once at
 *                               32768 positions, batch 1 then 16, nothing checked: for ncu
 *                               (8 partial-kernel launches, in the order printed)
 *   build/cuda/mla_check stages [CTX]  where the 16-head configurations' time goes (f32 cache A
 *                               and B, bf16 A; CTX positions, 32768 unless given, batch 1 and
 *                               16): the partial kernel with stages left out
 *                               (tests/cuda/mla_stages.cuh), the combine kernel alone; times
 *                               only, a few seconds (tests/simt runs it emulated at 1024)
 *
 * Layers: V2-Lite-like (16 heads) and V3-like (128 heads), kv_lora 512 + rope 64, a cache of
 * 16 slots x 32768 positions (f32, 1.2 GB), each twice: over the f32 cache, and over the cache
 * rounded to bf16 ("-bf16": deploy.kv_cache = "bf16"; the f32 cache then holds the rounded
 * values, which mla_attend and fp64 take, and mla_attend over the bf16 cache must give the bits
 * of mla_attend over them). Contexts 1, 100, 1024, 4096, 32768 and batches 1,
 * 4, 16: token t sits in slot t and attends to len_t = ctx - (61 t mod max(1, ctx / 2))
 * positions (lengths across tile and chunk edges). Two configurations of the kernel per layer
 * (A, B below). Data: fresh random values for every case (cache uniform in [-1, 1), queries
 * in +-2.5, scale 0.135 as V3's: scores spread over about +-10, so a few dozen positions carry
 * most of the weight), plus three rows per token whose key matches one head's query (its
 * signs): at its last position, at the last multiple of 256 before it (a chunk edge for chunks
 * of 64, 128 and 256) and at position 0, so that dropping or misplacing a chunk edge moves an
 * output by about 1.
 *
 * First (not under profile or stages): the splits' tf32 roundings (tf32_rna, tf32_rn) on the
 * device against their host definitions, bit for bit, over every float of four binades.
 * Per case:
 *  1. mla_attend (the reference path, unchanged) computes o_lat through an identity W_uv: its
 *     q_nope is one-hot (NOPE = 16 = the batch), W_uk's rows are the tokens' absorbed queries,
 *     so its q_lat is theirs exactly, and its output is o_lat exactly.
 *  2. Each configuration: outputs and workspace poisoned (NaN) before the run, every output
 *     must be finite after it; max |d| against mla_attend over all outputs, and against fp64
 *     (computed here) for the first and last tokens, 4 heads each (the three spiked ones).
 *     Tolerance 1e-4 (the values are at most 1): both sides are f32 with different summation
 *     orders (and 3xTF32 products, 2^-21 relative, in the new kernel; in the bf16 one the
 *     query exact in 3 bf16 terms and the weights within 2^-16 in 2); the worst-case bound
 *     of a 32768-term f32 sum is 2e-3 of its magnitude, typical errors are 1e-6 (fp64 above),
 *     and a misplaced or dropped position among the few dozen that matter moves an output by
 *     1e-2 or more (by about 1 at the spikes).
 *  3. Batch invariance: each token of the batch run alone (its own query, slot and position):
 *     its output must have the same bits as in the batch; and the batch with its tokens'
 *     partial records as few apart as their chunks allow (mla_decode's stride, which
 *     mla_split.cuh's prefill slices use) the same bits as at stride JMAX.
 *  4. Times (CUDA events, median of 3 to 25 runs after a warm-up, L2 flushed by a 256 MiB
 *     memset before each run, outside the events): the new kernel (partial + combine) and
 *     mla_attend; GB/s = cache bytes / time, cache bytes = sum_t len_t x 576 x 4 (x 2 for bf16;
 *     each row once), against the device-to-device copy (read + write, best of 10 over 2 GiB, as
 *     tests/cuda/bandwidth.cu); TFLOP/s = 2 (576 + 512) heads flops per position / time (128
 *     heads make the f32 kernel arithmetic-bound, docs/cuda-mla.md).
 * Prints a line per case as it goes, then one table, then the summary lines tools/gpu-check.sh
 * reads ("mla_check: ..."). */
#include <cuda_runtime.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cuda_rt.h"
#include "kernels.cuh"
#include "mla_decode.cuh"
#include "mla_decode_bf16.cuh"
#include "mla_split_cfg.cuh"
#include "mla_stages.cuh"

/* ---- what the launchers need from the backend -------------------------------------------- */
static cudaStream_t g_stream;
cudaStream_t df_cuda_stream(void) { return g_stream; }

static void cuda_ok(cudaError_t e, const char *what, int line)
{
    if (e != cudaSuccess) {
        fprintf(stderr, "mla_check: line %d: %s: %s\n", line, what, cudaGetErrorString(e));
        exit(1);
    }
}
#define CUDA_OK(call) cuda_ok((call), #call, __LINE__)

extern "C" void df_cuda_launched(const char *kernel) { cuda_ok(cudaGetLastError(), kernel, __LINE__); }

/* ---- shapes -------------------------------------------------------------------------------- */
constexpr int L = 512, R = 64, ROW = L + R, CTX = 32768, SLOTS = 16, NMAX = 16, NOPE_OLD = NMAX;
constexpr float SCALE = 0.135f, QAMP = 2.5f;
constexpr double TOL = 1e-4;
constexpr size_t FLUSH_BYTES = (size_t)256 << 20;
static const std::vector<int> CTXS = { 1, 100, 1024, 4096, 32768 }, BATCHES = { 1, 4, 16 };
static const std::vector<int> QUICK_CTXS = { 100, 1024 }, QUICK_BATCHES = { 1, 4 };

/* A: the backend's configuration (mla_split_cfg.cuh: 32-position tiles, double-buffered, the
 * 3xTF32 splits by cvt.rn; chunks of 64 positions for 16 heads, of 256 for 128: split_chunk); for
 * V2-Lite, B: A with the splits by cvt.rna (8 instructions a split, not 5: the backend's until
 * 2026-11-30, when the H200 measured the cvt.rn form faster in every case; B was 16-position
 * tiles 4 deep until 2026-11-29); for V3, B: 32 heads a block, 512-position chunks,
 * 16-position tiles, cvt.rna. test_mla_split checks V2A's, V2B's and V3B's layouts and products. */
using V2A = dfc::mla_split_cfg<16, L, R, CTX>;
using V2B = dfc::mla_decode_cfg<16, L, R, CTX, V2A::C, V2A::JMAX, 1, 32, 2, false>;
using V3A = dfc::mla_split_cfg<128, L, R, CTX>;
using V3B = dfc::mla_decode_cfg<128, L, R, CTX, 512, 64, 2, 16, 3>;
/* Over a bf16 cache, A: the backend's configuration (mla_split_cfg.cuh: tiles of 64
 * double-buffered, the queries as 3 bf16 terms and the weights as 2; chunks of 128 positions for
 * 16 heads, 256 for 128); B: tiles of 32, 4 deep, A's chunks. test_mla_bf16 checks both layouts. */
using V2A16 = dfc::mla_split_bf16_cfg<16, L, R, CTX>;
using V2B16 = dfc::mla_decode_bf16_cfg<16, L, R, CTX, V2A16::C, V2A16::JMAX, 32, 4, 3, 2>;
using V3A16 = dfc::mla_split_bf16_cfg<128, L, R, CTX>;
using V3B16 = dfc::mla_decode_bf16_cfg<128, L, R, CTX, V3A16::C, V3A16::JMAX, 32, 4, 3, 2>;
static_assert(V2A::C == 64 && V2A16::C == 128 && V3A::C == 256 && V3A16::C == 256, "the chunks the variants' names say");

/* cache: float, or uint16_t (bf16) for the layers that say so */
/* stride: a token's partial records apart in ws (0: the configuration's JMAX) */
typedef void (*new_fn)(const float *q, const void *cache, const int *slot, const int *pos, int n, float *ws, float *o,
                       int stride);
typedef void (*old_fn)(const unsigned char *kv_b, const float *q, const float *cache, const int *slot, const int *pos,
                       int n, float *o);

struct variant {
    const char *what;
    new_fn run;
    cudaError_t (*setup)();
    size_t ws_max, smem;
    int C, JMAX; /* its chunks */
};

template <class D>
void run_new(const float *q, const void *cache, const int *slot, const int *pos, int n, float *ws, float *o, int stride)
{
    dfc::mla_decode<D>(q, static_cast<const float *>(cache), slot, pos, n, SCALE, ws, o, stride ? stride : D::JMAX);
}
template <class D> variant make_variant(const char *what)
{
    return { what, run_new<D>, dfc::mla_decode_setup<D>, D::ws_floats(NMAX), D::SMEM, D::C, D::JMAX };
}
template <class D>
void run_new16(const float *q, const void *cache, const int *slot, const int *pos, int n, float *ws, float *o, int stride)
{
    dfc::mla_decode_bf16<D>(q, static_cast<const uint16_t *>(cache), slot, pos, n, SCALE, ws, o, stride ? stride : D::JMAX);
}
template <class D> variant make_variant16(const char *what)
{
    return { what, run_new16<D>, dfc::mla_decode_bf16_setup<D>, D::ws_floats(NMAX), D::SMEM, D::C, D::JMAX };
}

template <int H>
void run_old(const unsigned char *kv_b, const float *q, const float *cache, const int *slot, const int *pos, int n, float *o)
{
    dfc::mla_attend<DF_F32, H, NOPE_OLD, R, L, L, CTX>(kv_b, nullptr, q, cache, slot, pos, n, SCALE, o);
}
template <int H>
void run_old16(const unsigned char *kv_b, const float *q, const uint16_t *cache, const int *slot, const int *pos, int n,
               float *o)
{
    dfc::mla_attend<DF_F32, H, NOPE_OLD, R, L, L, CTX>(kv_b, nullptr, q, cache, slot, pos, n, SCALE, o);
}
typedef void (*old16_fn)(const unsigned char *kv_b, const float *q, const uint16_t *cache, const int *slot,
                         const int *pos, int n, float *o);

struct layer {
    const char *name;
    int heads;
    old_fn old;
    variant v[2];
    old16_fn old16; /* a bf16-cache layer: mla_attend over that cache; null over the f32 cache */
};

/* ---- device helpers ------------------------------------------------------------------------ */
__device__ inline float hash_uniform(uint64_t seed, uint64_t i) /* splitmix64 -> [-1, 1) */
{
    uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)((int64_t)(z >> 40) - (1 << 23)) * 0x1p-23f;
}

__global__ void fill_k(float *p, size_t n, uint64_t seed, float amp)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        p[i] = amp * hash_uniform(seed, i);
}

/* The bf16 cache from the f32 one (mla_cache_write's rounding), and the f32 cache set to the
 * values it stands for. */
__global__ void round_cache_k(float *c32, uint16_t *c16, size_t n)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        c16[i] = f32_bf16_bits(c32[i]);
        c32[i] = bf16_to_f32(c16[i]);
    }
}

/* mla_attend's inputs for the same o_lat: per head, W_uk rows = the tokens' q_lat (zero rows
 * past n), then W_uv = I (L x L); q_old[t][h] = [one-hot t (NOPE_OLD) | q_pe]. */
__global__ void old_inputs_k(const float *q, int n, int heads, float *kv_b, float *q_old)
{
    const size_t rows = (size_t)heads * (NOPE_OLD + L), total = rows * L;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        const int c = (int)(i % L), r = (int)(i / L % (NOPE_OLD + L)), h = (int)(i / L / (NOPE_OLD + L));
        kv_b[i] = r < NOPE_OLD ? (r < n ? q[((size_t)r * heads + h) * ROW + c] : 0.0f) : (r - NOPE_OLD == c ? 1.0f : 0.0f);
    }
    constexpr int QK = NOPE_OLD + R;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (size_t)n * heads * QK; i += (size_t)gridDim.x * blockDim.x) {
        const int d = (int)(i % QK), th = (int)(i / QK), t = th / heads;
        q_old[i] = d < NOPE_OLD ? (d == t ? 1.0f : 0.0f) : q[(size_t)th * ROW + L + (d - NOPE_OLD)];
    }
}

/* ---- host helpers -------------------------------------------------------------------------- */
static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fill(float *p, size_t n, uint64_t seed, float amp)
{
    dfc::launch_on(g_stream, false, fill_k, dim3(1024), dim3(256), 0, p, n, seed, amp);
    df_cuda_launched("fill");
}

static void poison(void *p, size_t bytes) { CUDA_OK(cudaMemsetAsync(p, 0xff, bytes, g_stream)); } /* NaN */

/* Every transfer goes through the one stream (non-blocking: the legacy stream would not order
 * it against the kernels). From pageable memory the bytes are staged before this returns. */
static void upload(void *dst, const void *src, size_t bytes)
{
    CUDA_OK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, g_stream));
}

static bool all_finite(const std::vector<float> &v)
{
    for (float x : v)
        if (!isfinite(x))
            return false;
    return true;
}

static std::vector<float> download(const float *d, size_t n)
{
    std::vector<float> h(n);
    CUDA_OK(cudaMemcpyAsync(h.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost, g_stream));
    CUDA_OK(cudaStreamSynchronize(g_stream));
    return h;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = std::max(m, fabs((double)a[i] - (double)b[i]));
    return m;
}

/* o_lat of one head in fp64 from its query row and the token's cache rows 0..len-1. */
static void ref_head(const float *qrow, const float *rows, int len, double *o)
{
    std::vector<double> s(len);
    double mx = -INFINITY, sum = 0.0;
    for (int p = 0; p < len; p++) {
        double d = 0.0;
        for (int c = 0; c < ROW; c++)
            d += (double)qrow[c] * rows[(size_t)p * ROW + c];
        s[p] = d * (double)SCALE;
        mx = std::max(mx, s[p]);
    }
    for (int c = 0; c < L; c++)
        o[c] = 0.0;
    for (int p = 0; p < len; p++) {
        const double e = exp(s[p] - mx);
        sum += e;
        for (int c = 0; c < L; c++)
            o[c] += e * rows[(size_t)p * ROW + c];
    }
    for (int c = 0; c < L; c++)
        o[c] /= sum;
}

/* Median time in ms of fn over reps runs, each after an L2 flush; reps from a first run:
 * about budget_ms in all, 3 to max_reps. */
template <class F> static double time_ms(F fn, unsigned char *flush, double budget_ms, int max_reps)
{
    cudaEvent_t a, b;
    CUDA_OK(cudaEventCreate(&a));
    CUDA_OK(cudaEventCreate(&b));
    fn(); /* warm-up */
    std::vector<float> ms;
    int reps = 1;
    for (int r = 0; r < reps; r++) {
        CUDA_OK(cudaMemsetAsync(flush, r & 0xff, FLUSH_BYTES, g_stream));
        CUDA_OK(cudaEventRecord(a, g_stream));
        fn();
        CUDA_OK(cudaEventRecord(b, g_stream));
        CUDA_OK(cudaEventSynchronize(b));
        float t;
        CUDA_OK(cudaEventElapsedTime(&t, a, b));
        ms.push_back(t);
        if (r == 0)
            reps = std::max(3, std::min(max_reps, (int)(budget_ms / std::max(t, 1e-3f))));
    }
    CUDA_OK(cudaEventDestroy(a));
    CUDA_OK(cudaEventDestroy(b));
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

static int n_failed; /* the failed checks and cases */

/* ---- the tf32 roundings on the device = the host's ----------------------------------------------- */
/* Float i of the TF32_COUNT checked (its bits): every float of exponent field 0 (the subnormals),
 * 1, 127 and 254 (the top), both signs; then the two infinities. */
constexpr uint32_t TF32_COUNT = (8u << 23) + 2;
__host__ __device__ inline uint32_t tf32_pattern(uint32_t i)
{
    if (i >= 8u << 23)
        return i == 8u << 23 ? 0x7f800000u : 0xff800000u;
    const uint32_t k = i >> 24 & 3u, exponent = k == 0 ? 0u : k == 1 ? 1u : k == 2 ? 127u : 254u;
    return (i & 1u) << 31 | exponent << 23 | (i >> 1 & 0x7fffffu);
}
__global__ void tf32_k(uint32_t *rna, uint32_t *rn, uint32_t *rn_raw)
{
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < TF32_COUNT; i += gridDim.x * blockDim.x) {
        const float x = __uint_as_float(tf32_pattern(i));
        rna[i] = dfc::mla::tf32_rna(x);
        rn[i] = dfc::mla::tf32_rn(x);
#ifndef DF_SIMT
        asm("cvt.rn.tf32.f32 %0, %1;" : "=r"(rn_raw[i]) : "f"(x)); /* without tf32_rn's clearing */
#else /* the emulated run (tests/simt) has no device conversion: its own rounding, cleared */
        rn_raw[i] = dfc::mla::tf32_rn(x);
#endif
    }
}

/* The splits' roundings (mla_decode.cuh: cvt.rna, and cvt.rn with its low bits cleared) against
 * their host definitions, which test_mla_split checks against the nearest tf32. NaNs are left
 * out: the host keeps every NaN a NaN, the device's rna not those with a payload only in the
 * low 13 bits (mla_decode.cuh). Also counted, not checked: the floats whose bare cvt.rn leaves
 * low bits set (none would let tf32_rn drop its clearing, 2 of a split's 5 instructions). */
static void check_tf32(void)
{
    uint32_t *d;
    const size_t n = TF32_COUNT;
    CUDA_OK(cudaMalloc(&d, 3 * n * sizeof(uint32_t)));
    dfc::launch_on(g_stream, false, tf32_k, dim3(1024), dim3(256), 0, d, d + n, d + 2 * n);
    df_cuda_launched("tf32");
    std::vector<uint32_t> h(3 * n);
    CUDA_OK(cudaMemcpyAsync(h.data(), d, 3 * n * sizeof(uint32_t), cudaMemcpyDeviceToHost, g_stream));
    CUDA_OK(cudaStreamSynchronize(g_stream));
    CUDA_OK(cudaFree(d));
    size_t bad[2] = { 0, 0 }, low_bits = 0;
    uint32_t first[2] = { 0, 0 };
    for (size_t i = 0; i < n; i++) {
        const uint32_t xb = tf32_pattern((uint32_t)i);
        float x;
        memcpy(&x, &xb, sizeof x);
        const uint32_t want[2] = { dfc::mla::tf32_rna(x), dfc::mla::tf32_rn(x) };
        for (int r = 0; r < 2; r++)
            if (h[r * n + i] != want[r] && bad[r]++ == 0)
                first[r] = xb;
        low_bits += (h[2 * n + i] & 0x1fffu) != 0;
    }
    printf("mla_check: tf32 roundings on the device = the host's over %zu floats (the subnormal, 2^-126, 1.0 and top "
           "binades, both signs; the infinities): rna %zu differ, rn %zu differ; bare cvt.rn leaves low bits set "
           "for %zu\n",
           n, bad[0], bad[1], low_bits);
    for (int r = 0; r < 2; r++)
        if (bad[r]) {
            printf("FAIL tf32 %s on the device: first at x = %08x\n", r ? "rn" : "rna", first[r]);
            n_failed++;
        }
}

static double copy_bandwidth(void)
{
    const size_t bytes = (size_t)2 << 30;
    void *a, *b;
    CUDA_OK(cudaMalloc(&a, bytes));
    CUDA_OK(cudaMalloc(&b, bytes));
    CUDA_OK(cudaMemsetAsync(a, 1, bytes, g_stream));
    CUDA_OK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, g_stream));
    cudaEvent_t t0, t1;
    CUDA_OK(cudaEventCreate(&t0));
    CUDA_OK(cudaEventCreate(&t1));
    float best = 1e30f;
    for (int i = 0; i < 10; i++) {
        CUDA_OK(cudaEventRecord(t0, g_stream));
        CUDA_OK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, g_stream));
        CUDA_OK(cudaEventRecord(t1, g_stream));
        CUDA_OK(cudaEventSynchronize(t1));
        float ms;
        CUDA_OK(cudaEventElapsedTime(&ms, t0, t1));
        best = std::min(best, ms);
    }
    CUDA_OK(cudaEventDestroy(t0));
    CUDA_OK(cudaEventDestroy(t1));
    CUDA_OK(cudaFree(a));
    CUDA_OK(cudaFree(b));
    return 2.0 * (double)bytes / (best * 1e-3) / 1e9;
}

/* ---- one case ------------------------------------------------------------------------------ */
struct result {
    std::string name;
    int ctx, n;
    double mb, gflop, old_ms, ms[2], d_old[2], ref_old, ref[2];
    bool ok, invariant[2];
};

struct buffers {
    float *cache, *q, *q_old, *kv_b, *ws, *out_old, *out[2], *out1;
    uint16_t *cache16;
    int *slot, *pos;
    unsigned char *flush;
};

/* A case's inputs on the device: the tokens' slots and positions (into slot and len), the cache
 * (f32, and for a bf16 layer rounded into the bf16 one) with its spikes, the queries (returned,
 * as the host sees them). */
static std::vector<float> prepare_case(const layer &ly, int ctx, int n, const buffers &B, uint64_t seed,
                                       std::vector<int> &slot, std::vector<int> &len)
{
    const int H = ly.heads;
    std::vector<int> pos(n);
    slot.resize(n);
    len.resize(n);
    for (int t = 0; t < n; t++) {
        slot[t] = t;
        len[t] = ctx - (61 * t) % std::max(1, ctx / 2);
        pos[t] = len[t] - 1;
    }
    fill(B.cache, (size_t)SLOTS * CTX * ROW, seed, 1.0f);
    fill(B.q, (size_t)NMAX * H * ROW, seed ^ 0x5bd1e995u, QAMP);
    /* the spikes: key = sign(query) of head t + k at positions len - 1, the last multiple of 256 before it, 0 */
    const std::vector<float> q = download(B.q, (size_t)n * H * ROW);
    for (int t = 0; t < n; t++) {
        const int at[3] = { len[t] - 1, (len[t] - 1) / 256 * 256, 0 };
        for (int k = 0; k < 3; k++) {
            float row[ROW];
            const float *qr = &q[((size_t)t * H + (t + k) % H) * ROW];
            for (int c = 0; c < ROW; c++)
                row[c] = qr[c] < 0.0f ? -1.0f : 1.0f;
            upload(B.cache + ((size_t)slot[t] * CTX + at[k]) * ROW, row, sizeof row);
        }
    }
    if (ly.old16) {
        dfc::launch_on(g_stream, false, round_cache_k, dim3(1024), dim3(256), 0, B.cache, B.cache16,
                       (size_t)SLOTS * CTX * ROW);
        df_cuda_launched("round_cache");
    }
    upload(B.slot, slot.data(), sizeof(int) * n);
    upload(B.pos, pos.data(), sizeof(int) * n);
    return q;
}

static const void *case_cache(const layer &ly, const buffers &B)
{
    return ly.old16 ? (const void *)B.cache16 : (const void *)B.cache;
}

/* The cache bytes a case reads: each of its tokens' rows once. */
static double case_bytes(const layer &ly, const std::vector<int> &len)
{
    double bytes = 0.0;
    for (int l : len)
        bytes += (double)l * ROW * (ly.old16 ? sizeof(uint16_t) : sizeof(float));
    return bytes;
}

static result run_case(const layer &ly, int ctx, int n, const buffers &B, uint64_t seed, bool time_new, bool time_old)
{
    const int H = ly.heads;
    result res = {};
    res.name = ly.name;
    res.ctx = ctx;
    res.n = n;
    res.ok = true;
    std::vector<int> slot, len;
    const std::vector<float> q = prepare_case(ly, ctx, n, B, seed, slot, len);
    const void *cache = case_cache(ly, B);
    const double bytes = case_bytes(ly, len);
    res.mb = bytes / 1e6;
    res.gflop = bytes / (ROW * (ly.old16 ? sizeof(uint16_t) : sizeof(float))) * 2.0 * (ROW + L) * H / 1e9;
    const size_t outn = (size_t)n * H * L;

    dfc::launch_on(g_stream, false, old_inputs_k, dim3(1024), dim3(256), 0, B.q, n, H, B.kv_b, B.q_old);
    df_cuda_launched("old_inputs");
    const unsigned char *kv_b = reinterpret_cast<const unsigned char *>(B.kv_b);
    poison(B.out_old, outn * sizeof(float));
    ly.old(kv_b, B.q_old, B.cache, B.slot, B.pos, n, B.out_old);
    const std::vector<float> o_old = download(B.out_old, outn);
    if (!all_finite(o_old)) {
        printf("FAIL %s ctx %d batch %d: mla_attend left non-finite outputs\n", ly.name, ctx, n);
        res.ok = false;
    }
    if (ly.old16) { /* mla_attend reading the bf16 cache = reading the values it stands for */
        poison(B.out1, (size_t)H * L * sizeof(float));
        ly.old16(kv_b, B.q_old, B.cache16, B.slot, B.pos, 1, B.out1);
        if (download(B.out1, (size_t)H * L) != std::vector<float>(o_old.begin(), o_old.begin() + (size_t)H * L)) {
            printf("FAIL %s ctx %d batch %d: mla_attend over the bf16 cache differs from over its values\n", ly.name,
                   ctx, n);
            res.ok = false;
        }
    }

    std::vector<float> o_new[2];
    for (int v = 0; v < 2; v++) {
        const variant &va = ly.v[v];
        poison(B.ws, va.ws_max * sizeof(float));
        poison(B.out[v], outn * sizeof(float));
        va.run(B.q, cache, B.slot, B.pos, n, B.ws, B.out[v], 0);
        o_new[v] = download(B.out[v], outn);
        if (!all_finite(o_new[v])) {
            printf("FAIL %s ctx %d batch %d %s: non-finite outputs (an output or a partial not written)\n", ly.name,
                   ctx, n, va.what);
            res.ok = false;
        }
        res.d_old[v] = max_abs_diff(o_new[v].data(), o_old.data(), outn);
        res.invariant[v] = true;
        for (int t = 0; n > 1 && t < n; t++) {
            poison(B.out1, (size_t)H * L * sizeof(float));
            va.run(B.q + (size_t)t * H * ROW, cache, B.slot + t, B.pos + t, 1, B.ws, B.out1, 0);
            const std::vector<float> alone = download(B.out1, (size_t)H * L);
            if (memcmp(alone.data(), &o_new[v][(size_t)t * H * L], sizeof(float) * H * L) != 0)
                res.invariant[v] = false;
        }
        int stride = 1; /* the batch's records as few apart as its tokens' chunks allow */
        for (int t = 0; t < n; t++)
            stride = std::max(stride, dfc::mla::chunk_count(len[t], va.C, va.JMAX));
        if (stride < va.JMAX) {
            poison(B.ws, va.ws_max * sizeof(float));
            float *other = B.out[1 - v]; /* (the other variant's output, not yet written or already read) */
            poison(other, outn * sizeof(float));
            va.run(B.q, cache, B.slot, B.pos, n, B.ws, other, stride);
            if (download(other, outn) != o_new[v]) { /* (NaN never equals: poison left unwritten fails too) */
                printf("FAIL %s ctx %d batch %d %s: records %d apart differ from %d apart\n", ly.name, ctx, n, va.what,
                       stride, va.JMAX);
                res.ok = false;
            }
        }
        if (!res.invariant[v]) {
            printf("FAIL %s ctx %d batch %d %s: a token alone differs from its row in the batch\n", ly.name, ctx, n,
                   va.what);
            res.ok = false;
        }
    }

    /* fp64 for the first and last tokens, the three spiked heads and the last */
    std::vector<int> sampled = { 0 };
    if (n > 1)
        sampled.push_back(n - 1);
    for (int t : sampled) {
        const std::vector<float> rows = download(B.cache + (size_t)slot[t] * CTX * ROW, (size_t)len[t] * ROW);
        for (int h : { t % H, (t + 1) % H, (t + 2) % H, H - 1 }) {
            double o[L];
            ref_head(&q[((size_t)t * H + h) * ROW], rows.data(), len[t], o);
            const size_t at = ((size_t)t * H + h) * L;
            for (int c = 0; c < L; c++) {
                res.ref_old = std::max(res.ref_old, fabs(o_old[at + c] - o[c]));
                for (int v = 0; v < 2; v++)
                    res.ref[v] = std::max(res.ref[v], fabs(o_new[v][at + c] - o[c]));
            }
        }
    }
    for (int v = 0; v < 2; v++)
        if (!(res.d_old[v] <= TOL && res.ref[v] <= TOL)) {
            printf("FAIL %s ctx %d batch %d %s: max|d| %.3g against mla_attend, %.3g against fp64 (tolerance %.0e)\n",
                   ly.name, ctx, n, ly.v[v].what, res.d_old[v], res.ref[v], TOL);
            res.ok = false;
        }
    if (!(res.ref_old <= TOL)) {
        printf("FAIL %s ctx %d batch %d: mla_attend max|d| %.3g against fp64\n", ly.name, ctx, n, res.ref_old);
        res.ok = false;
    }

    for (int v = 0; v < 2; v++)
        res.ms[v] = time_new ? time_ms([&] { ly.v[v].run(B.q, cache, B.slot, B.pos, n, B.ws, B.out[v], 0); }, B.flush,
                                       150.0, 25)
                             : NAN;
    res.old_ms = time_old ? time_ms([&] { ly.old(kv_b, B.q_old, B.cache, B.slot, B.pos, n, B.out_old); }, B.flush,
                                    300.0, 5)
                          : NAN;
    if (!res.ok)
        n_failed++;
    return res;
}

/* ---- mla_check stages ------------------------------------------------------------------------ */
/* A layer's configuration (its variant vi) with its stage variants (mla_stages.cuh). */
struct stage_set {
    const layer *ly;
    int vi;
    stages::variant v[stages::VARIANTS];
};

/* Each set at ctx positions, batch 1 and NMAX: mla_decode's launch (partial + combine; the
 * backend's merge also applies W_uv since 2026-11-30: mla_split.cuh's mla_combine_out_k),
 * then every variant, timed as the cases are (L2 flushed before each run); a table, and a
 * summary line per (layer, batch) for gpu-check. */
template <int N>
static void run_stages(stage_set (&sets)[N], const buffers &B, uint64_t seed, double copy_gbs, int ctx)
{
    for (stage_set &s : sets)
        for (const stages::variant &v : s.v)
            if (v.setup)
                CUDA_OK(v.setup());
    printf("\nstages at %d positions a token\n| layer | batch | cache MB | what runs | ms | cache GB/s | %% of copy |\n"
           "|---|---|---|---|---|---|---|\n",
           ctx);
    std::vector<std::string> summary;
    for (stage_set &s : sets)
        for (int n : { 1, NMAX }) {
            std::vector<int> slot, len;
            prepare_case(*s.ly, ctx, n, B, seed++, slot, len);
            const void *cache = case_cache(*s.ly, B);
            const double mb = case_bytes(*s.ly, len) / 1e6;
            const auto row = [&](const char *what, double ms) {
                printf("| %s %c | %d | %.2f | %s | %.4f | %.0f | %.1f |\n", s.ly->name, 'A' + s.vi, n, mb, what, ms,
                       mb / ms, 100.0 * mb / ms / copy_gbs);
            };
            const auto production = [&] { s.ly->v[s.vi].run(B.q, cache, B.slot, B.pos, n, B.ws, B.out[0], 0); };
            const double launch = time_ms(production, B.flush, 150.0, 25);
            row("the launch (partial + combine)", launch);
            double ms[stages::VARIANTS];
            for (int i = 0; i < stages::VARIANTS; i++) {
                const auto variant = [&] { s.v[i].run(B.q, cache, B.slot, B.pos, n, SCALE, B.ws, B.out[0]); };
                ms[i] = time_ms(variant, B.flush, 150.0, 25);
                row(s.v[i].what, ms[i]);
            }
            using namespace stages;
            char line[400];
            snprintf(line, sizeof line,
                     "mla_check stages: %s %c batch %d: launch %.4f ms = partial %.4f + combine %.4f; loads alone %.4f "
                     "ms (%.1f%% of copy); no loads %.4f ms; added to the loads: S %+.4f, softmax %+.4f, P V %+.4f ms",
                     s.ly->name, 'A' + s.vi, n, launch, ms[EVERY_STAGE], ms[COMBINE], ms[LOADS_ALONE],
                     100.0 * mb / ms[LOADS_ALONE] / copy_gbs, ms[NO_LOADS], ms[LOADS_S] - ms[LOADS_ALONE],
                     ms[LOADS_S_SOFTMAX] - ms[LOADS_S], ms[EVERY_STAGE] - ms[LOADS_S_SOFTMAX]);
            summary.push_back(line);
        }
    printf("the launch: mla_decode as the backend calls it; the rest: tests/cuda/mla_stages.cuh's variants of the partial\n"
           "kernel (stages left out) and the combine kernel alone; %% of copy: cache bytes over the copy bandwidth.\n");
    for (const std::string &l : summary)
        printf("%s\n", l.c_str());
}

int main(int argc, char **argv)
{
    const bool quick = argc > 1 && strcmp(argv[1], "quick") == 0, profile = argc > 1 && strcmp(argv[1], "profile") == 0,
               staged = argc > 1 && strcmp(argv[1], "stages") == 0;
    char *end = nullptr;
    const long stage_ctx = staged && argc > 2 ? strtol(argv[2], &end, 10) : CTX;
    if ((argc > 1 && !quick && !profile && !staged) || argc > 2 + staged || stage_ctx < 1 || stage_ctx > CTX ||
        (end && (end == argv[2] || *end))) {
        fprintf(stderr, "usage: %s [quick | profile | stages [CTX, 1 to %d]]\n", argv[0], CTX);
        return 2;
    }
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
        printf("skip mla_check: no CUDA device\n");
        return 0;
    }
    cudaDeviceProp prop;
    CUDA_OK(cudaGetDeviceProperties(&prop, 0));
    if (prop.major != 9) {
        printf("mla_check: %s is compute capability %d.%d; the kernels are built for sm_90a (Hopper) only\n", prop.name,
               prop.major, prop.minor);
        return 1;
    }
    const double t_start = seconds();
    CUDA_OK(cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking));
    const double copy_gbs = copy_bandwidth();
    printf("mla_check: %s, %d SMs; copy %.1f GB/s (cudaMemcpy D2D 2 GiB, read + write, best of 10)\n", prop.name,
           prop.multiProcessorCount, copy_gbs);
    if (!profile && !staged)
        check_tf32();

    const layer layers[4] = {
        { "v2lite", 16, run_old<16>,
          { make_variant<V2A>("A: chunk 64, tile 32 x 2 stages, splits by cvt.rn"),
            make_variant<V2B>("B: chunk 64, tile 32 x 2 stages, splits by cvt.rna") },
          nullptr },
        { "v3", 128, run_old<128>,
          { make_variant<V3A>("A: 16 heads a block, chunk 256, tile 32 x 2 stages, splits by cvt.rn"),
            make_variant<V3B>("B: 32 heads a block, chunk 512, tile 16 x 3 stages") },
          nullptr },
        { "v2lite-bf16", 16, run_old<16>,
          { make_variant16<V2A16>("A: chunk 128, tile 64 x 2 stages, 3 + 2 terms"),
            make_variant16<V2B16>("B: chunk 128, tile 32 x 4 stages, 3 + 2 terms") },
          run_old16<16> },
        { "v3-bf16", 128, run_old<128>,
          { make_variant16<V3A16>("A: 16 heads a block, chunk 256, tile 64 x 2 stages, 3 + 2 terms"),
            make_variant16<V3B16>("B: 16 heads a block, chunk 256, tile 32 x 4 stages, 3 + 2 terms") },
          run_old16<128> },
    };
    buffers B = {};
    size_t ws_max = 0;
    for (const layer &ly : layers)
        for (const variant &v : ly.v) {
            CUDA_OK(v.setup());
            ws_max = std::max(ws_max, v.ws_max);
            printf("  %s %s: %zu bytes of shared memory, workspace %.1f MB at batch %d\n", ly.name, v.what, v.smem,
                   v.ws_max * 4.0 / 1e6, NMAX);
        }
    const int HMAX = 128;
    CUDA_OK(cudaMalloc(&B.cache, sizeof(float) * SLOTS * CTX * ROW));
    CUDA_OK(cudaMalloc(&B.cache16, sizeof(uint16_t) * SLOTS * CTX * ROW));
    CUDA_OK(cudaMalloc(&B.q, sizeof(float) * NMAX * HMAX * ROW));
    CUDA_OK(cudaMalloc(&B.q_old, sizeof(float) * NMAX * HMAX * (NOPE_OLD + R)));
    CUDA_OK(cudaMalloc(&B.kv_b, sizeof(float) * HMAX * (NOPE_OLD + L) * L));
    CUDA_OK(cudaMalloc(&B.ws, sizeof(float) * ws_max));
    CUDA_OK(cudaMalloc(&B.out_old, sizeof(float) * NMAX * HMAX * L));
    CUDA_OK(cudaMalloc(&B.out[0], sizeof(float) * NMAX * HMAX * L));
    CUDA_OK(cudaMalloc(&B.out[1], sizeof(float) * NMAX * HMAX * L));
    CUDA_OK(cudaMalloc(&B.out1, sizeof(float) * HMAX * L));
    CUDA_OK(cudaMalloc(&B.slot, sizeof(int) * NMAX));
    CUDA_OK(cudaMalloc(&B.pos, sizeof(int) * NMAX));
    CUDA_OK(cudaMalloc(&B.flush, FLUSH_BYTES));

    std::vector<result> rows;
    uint64_t seed = 0x6d6c615f636865ull ^ (uint64_t)time(NULL);
    printf("  seed %llu\n", (unsigned long long)seed);
    if (profile) { /* for ncu: each 16-head configuration once, 32768 positions, batch 1 then 16 */
        for (const layer &ly : layers)
            for (int n : { 1, NMAX })
                if (ly.heads == 16) {
                    std::vector<int> slot, len;
                    prepare_case(ly, CTXS.back(), n, B, seed++, slot, len);
                    for (const variant &v : ly.v) {
                        v.run(B.q, case_cache(ly, B), B.slot, B.pos, n, B.ws, B.out[0], 0);
                        CUDA_OK(cudaStreamSynchronize(g_stream));
                        printf("mla_check profile: %s batch %d %s\n", ly.name, n, v.what);
                    }
                }
        return 0;
    }
    if (staged) {
        stage_set sets[3] = { { &layers[0], 0, {} }, { &layers[0], 1, {} }, { &layers[2], 0, {} } };
        stages::variants<V2A, dfc::mla::f32_tiles<V2A>>(sets[0].v);
        stages::variants<V2B, dfc::mla::f32_tiles<V2B>>(sets[1].v);
        stages::variants<V2A16, dfc::mla::bf16_tiles<V2A16>>(sets[2].v);
        run_stages(sets, B, seed, copy_gbs, (int)stage_ctx);
        return 0;
    }
    for (const layer &ly : layers)
        for (int ctx : quick ? QUICK_CTXS : CTXS)
            for (int n : quick ? QUICK_BATCHES : BATCHES) {
                const bool time_old = !quick && seconds() - t_start < 40.0;
                const result r = run_case(ly, ctx, n, B, seed++, !quick, time_old);
                printf("  %s ctx %5d batch %2d: %s; new %.4f / %.4f ms, mla_attend %.4f ms (%.0f s)\n", r.name.c_str(),
                       ctx, n, r.ok ? "ok" : "FAILED", r.ms[0], r.ms[1], r.old_ms, seconds() - t_start);
                fflush(stdout);
                rows.push_back(r);
            }

    const auto gbs = [](double mb, double ms) { return mb / ms; }; /* MB / ms = GB/s */
    const auto tfs = [](double gflop, double ms) { return gflop / ms; }; /* GFLOP / ms = TFLOP/s */
    printf("\n| layer | ctx | batch | cache MB | mla_attend ms (GB/s) | A ms | A GB/s | A %% of copy | B ms | B GB/s | "
           "B %% of copy | TFLOP/s A / B | max\\|d\\| vs mla_attend A / B | vs fp64 mla_attend / A / B | alone = in batch |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    double worst = 0.0;
    for (const result &r : rows) {
        printf("| %s | %d | %d | %.2f | %.3f (%.0f) | %.4f | %.0f | %.1f | %.4f | %.0f | %.1f | %.1f / %.1f | %.1e / %.1e | "
               "%.1e / %.1e / %.1e | %s |\n",
               r.name.c_str(), r.ctx, r.n, r.mb, r.old_ms, gbs(r.mb, r.old_ms), r.ms[0], gbs(r.mb, r.ms[0]),
               100.0 * gbs(r.mb, r.ms[0]) / copy_gbs, r.ms[1], gbs(r.mb, r.ms[1]), 100.0 * gbs(r.mb, r.ms[1]) / copy_gbs,
               tfs(r.gflop, r.ms[0]), tfs(r.gflop, r.ms[1]), r.d_old[0], r.d_old[1], r.ref_old, r.ref[0], r.ref[1],
               r.n == 1 ? "-" : r.invariant[0] && r.invariant[1] ? "yes" : "NO");
        worst = std::max({ worst, r.d_old[0], r.d_old[1], r.ref[0], r.ref[1] });
    }
    printf("A and B: the two configurations of each layer (listed at the top); %% of copy: cache GB/s over the copy's;\n"
           "TFLOP/s: 2 (576 + 512) heads flops per position read (the float32 arithmetic; 3xTF32 issues 3 times that,\n"
           "the bf16 kernel 3 (S) and 2 (P V) times that in bf16).\n");
    /* a line for gpu-check's table per layer at the longest context run, batch 1 and 16 (quick:
     * 1024 positions, batch 1, untimed: nan, which tests/simt reads as gpu-check does) */
    const int longest = (quick ? QUICK_CTXS : CTXS).back();
    for (const layer &ly : layers)
        for (const result &r : rows)
            if (r.name == ly.name && r.ctx == longest && (r.n == 1 || r.n == 16)) {
                const int b = r.ms[1] < r.ms[0];
                printf("mla_check: %s %d positions, batch %d: %.0f GB/s = %.1f%% of copy, %.1f TFLOP/s (%c); "
                       "mla_attend %.0f GB/s\n",
                       ly.name, r.ctx, r.n, gbs(r.mb, r.ms[b]), 100.0 * gbs(r.mb, r.ms[b]) / copy_gbs,
                       tfs(r.gflop, r.ms[b]), 'A' + b, gbs(r.mb, r.old_ms));
            }
    printf("mla_check: %zu cases, %d failed; largest difference %.1e (tolerance %.0e); %.0f s\n", rows.size(), n_failed,
           worst, TOL, seconds() - t_start);
    return n_failed == 0 ? 0 : 1;
}
