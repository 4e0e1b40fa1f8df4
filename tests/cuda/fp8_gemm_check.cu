/* fp8_gemm_check.cu: the FP8 block-scaled GEMM path (runtime/cuda/lt_gemm.h) on a
 * Hopper GPU: correctness against an fp64 reference, speed against cuBLASLt's
 * plain FP8 and bf16 GEMMs of the same shape and, at decode's few tokens, against
 * the backend's own warp-per-row `linear` (kernels.cuh). Run by tools/gpu-check.sh.
 *
 *   build/cuda/fp8_gemm_check        about 30 s on an H200; exit 0 if every check passed,
 *                                    1 on a failure or without a CUDA device
 *
 * Shapes: DeepSeek-V3's expert down and gate/up, q_b_proj, kv_a_proj (576 rows: a
 * partial 128-row block) and dense down_proj; V2-Lite's expert down (k = 1408: 11
 * k-blocks, so the weight scales' padded rows matter) and dense down (k = 10944, not a
 * multiple of 128). Tokens M = 1, 4, 7 (not a multiple of 4), 16, 128, 512, 4096.
 * Data: random, never zeros: weight codes of a triangular distribution with one
 * random scale per 128x128 block (2^-12 .. 2^-6); activations with a random scale per
 * token, outlier channels (x20) and one all-zero 1x128 block (token 2, block 1).
 *
 * Per shape and M:
 *  1. df_fp8_act_quant on the device must equal act_quant_host bit for bit (all M x k).
 *  2. The block-scaled GEMM (bf16 out; f32 out where cuBLASLt has it) against the
 *     fp64 reference of the SAME quantized operands, sum_kb ws * xs * sum_k w x over
 *     codes: that isolates the GEMM, so the tolerance is accumulation and output
 *     rounding, not e4m3's 3 mantissa bits. Per element |y - ref| <= rel |ref| +
 *     2^-12 sum|w x|: rel 2^-7 for bf16 output (one unit in its last place, twice its
 *     rounding), 2^-22 for f32; 2^-12 is twice the 2^-13 that the tensor cores' 14-bit
 *     partial sums within a 128-deep block could lose (DeepSeek-V3 report, 3.3.2). And
 *     ||y - ref|| / ||ref|| <= 4e-3 for bf16 output (its rounding alone is about
 *     1.1e-3), 1e-3 for f32. Sampled: up to 16 tokens x 192 columns (block edges, the
 *     last rows, random), but every output is poisoned (NaN) before the run and must be
 *     finite after it. A wrong scale layout is far outside these bounds (errors of the
 *     size of |ref|); if the documented layout fails, the other plausible layouts are
 *     tried and the ones that pass named (for the first 3 failures).
 *  3. Informative: ||y - W x|| / ||W x|| with x unquantized, the price of FP8
 *     activations against the reference precision.
 *  4. Sanity of the ceilings: the per-tensor FP8 GEMM against the sum of code products,
 *     the bf16 GEMM against W x, ||.|| / ||ref|| < 0.1: loose, as fast accumulation can
 *     lose 2% at k = 4096 (DeepSeek-V3 report, 3.3.2), but a wrong operand or layout is
 *     off by the whole result.
 *  5. M <= 16: `linear` (f32 activations, f32 sums) against W x, per element within
 *     2 (k + 4) 2^-24 sum|w x| as tests/cuda/test_hd.cu.
 *  6. Times (CUDA events, 3 warm-ups, median of 5 to 50 runs queued behind a busy kernel,
 *     so that the host's enqueueing is not timed): the block GEMM, the
 *     quantization, the per-tensor FP8 GEMM (fast accumulation: the ceiling), the bf16
 *     GEMM, `linear` for M <= 16; the weights rotate over copies of about 256 MiB in all
 *     (at most 64) so that no run finds them in the 60 MB L2 (decode reads each weight
 *     from HBM once per step). Then every heuristic candidate of the block GEMM, to see whether its
 *     first choice is the fastest.
 * Prints the chosen algorithms and any failure as it goes, then one table and the
 * summary lines tools/gpu-check.sh reads ("fp8_gemm_check: ..."). */
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <algorithm>
#include <vector>

#include "host_rng.h"
#include "cuda_rt.h"
#include "lt_gemm.h"
#include "kernels.cuh"
#include "quant.cuh"

/* ---- what kernels.cuh's launchers need from the backend ---------------------------------- */
static cudaStream_t g_stream;
cudaStream_t df_cuda_stream(void) { return g_stream; }

static void cuda_ok(cudaError_t e, const char *what, int line)
{
    if (e != cudaSuccess) {
        fprintf(stderr, "fp8_gemm_check: line %d: %s: %s\n", line, what, cudaGetErrorString(e));
        exit(1);
    }
}
#define CUDA_OK(call) cuda_ok((call), #call, __LINE__)

extern "C" void df_cuda_launched(const char *kernel)
{
    cuda_ok(cudaGetLastError(), kernel, __LINE__);
}

static void lt_ok(int status, const char *what)
{
    if (status != 0) {
        fprintf(stderr, "fp8_gemm_check: %s: %s\n", what, df_lt_status(status));
        exit(1);
    }
}

/* ---- shapes ------------------------------------------------------------------------------- */
typedef void (*linear_fn)(const unsigned char *w, const unsigned char *scale, const float *x, int n, float *y);
template <int N, int K>
void own_linear(const unsigned char *w, const unsigned char *scale, const float *x, int n, float *y)
{
    dfc::linear<DF_F8E4M3, N, K>(w, scale, x, n, y);
}

struct shape {
    int n, k;
    const char *what;
    linear_fn linear;
};
static const shape SHAPES[] = {
    { 7168, 2048, "V3 expert down", own_linear<7168, 2048> },
    { 2048, 7168, "V3 expert gate/up", own_linear<2048, 7168> },
    { 24576, 1536, "V3 q_b_proj", own_linear<24576, 1536> },
    { 576, 7168, "V3 kv_a_proj", own_linear<576, 7168> },
    { 7168, 18432, "V3 dense down", own_linear<7168, 18432> },
    { 2048, 1408, "V2-Lite expert down", own_linear<2048, 1408> },
    { 2048, 10944, "V2-Lite dense down", own_linear<2048, 10944> },
};
static const int MS[] = { 1, 4, 7, 16, 128, 512, 4096 };
constexpr int MMAX = 4096, DECODE_M = 16, SAMPLE_T = 16, SAMPLE_C = 192;

/* Tolerances: see the header. */
constexpr double TOL_MAG = 0x1p-12, TOL_REL_BF16 = 0x1p-7, TOL_REL_F32 = 0x1p-22;
constexpr double TOL_NORM_BF16 = 4e-3, TOL_NORM_F32 = 1e-3, TOL_NORM_CEILING = 0.1;
constexpr size_t ROTATE_BYTES = (size_t)256 << 20;
constexpr double TUNE_UNTIL_S = 100.0; /* no candidate sweep after this many seconds */

/* ---- host helpers ------------------------------------------------------------------------- */
static float rnd_tri(void) { return (float)(rnd_unit() + rnd_unit() - 1.0); } /* triangular, -1 .. 1 */

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float bf16_bits_to_f32(uint16_t h)
{
    const uint32_t b = (uint32_t)h << 16;
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static float e4m3_lut[256];

/* ---- device helpers ----------------------------------------------------------------------- */
/* The bf16 GEMM's operands: W dequantized (code x its block's scale), x rounded. */
__global__ void dequant_bf16_k(const uint8_t *w, const float *scale, int n, int k, __nv_bfloat16 *out)
{
    const size_t total = (size_t)n * k;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        const int r = (int)(i / k), c = (int)(i % k);
        out[i] = __float2bfloat16_rn(e4m3_to_f32(w[i]) * scale[df_fp8_wscale_index(r, c, k)]);
    }
}

__global__ void f32_to_bf16_k(const float *x, size_t count, __nv_bfloat16 *out)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += (size_t)gridDim.x * blockDim.x)
        out[i] = __float2bfloat16_rn(x[i]);
}

/* Every copy goes through the one stream, so it is ordered with the kernels (a plain cudaMemcpy
 * from pageable memory may still be in flight when it returns). */
static void upload(void *dst, const void *src, size_t bytes)
{
    CUDA_OK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, g_stream));
    CUDA_OK(cudaStreamSynchronize(g_stream));
}

static void download(void *dst, const void *src, size_t bytes)
{
    CUDA_OK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, g_stream));
    CUDA_OK(cudaStreamSynchronize(g_stream));
}

template <class T> static T *dalloc(size_t count)
{
    void *p = nullptr;
    CUDA_OK(cudaMalloc(&p, count * sizeof(T) + 256));
    return static_cast<T *>(p);
}

/* Busy for us microseconds: queued ahead of the timed runs, it lets the host enqueue them all
 * before the first starts, so the events time the GPU alone, not cuBLASLt's host overhead
 * (the forward pass replays decode as a CUDA graph, which has none). */
__global__ void spin_k(unsigned long long us)
{
    unsigned long long t0, t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    do
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    while (t - t0 < us * 1000ull);
}

/* The median of per-run event times of op(i), i the run's index (it picks a weight copy). */
template <class F> static double time_us(F &&op, int max_reps)
{
    enum { MAXR = 50 };
    cudaEvent_t ev[2 * MAXR];
    for (auto &e : ev)
        CUDA_OK(cudaEventCreate(&e));
    for (int i = 0; i < 3; i++)
        op(i);
    CUDA_OK(cudaEventRecord(ev[0], g_stream));
    op(3);
    CUDA_OK(cudaEventRecord(ev[1], g_stream));
    CUDA_OK(cudaEventSynchronize(ev[1]));
    float ms = 0.0f;
    CUDA_OK(cudaEventElapsedTime(&ms, ev[0], ev[1]));
    const int reps = std::max(5, std::min({ max_reps, (int)MAXR, (int)(40.0 / std::max(ms, 1e-3f)) }));
    spin_k<<<1, 1, 0, g_stream>>>(500ull + 30ull * (unsigned long long)reps);
    df_cuda_launched("spin");
    for (int r = 0; r < reps; r++) {
        CUDA_OK(cudaEventRecord(ev[2 * r], g_stream));
        op(4 + r);
        CUDA_OK(cudaEventRecord(ev[2 * r + 1], g_stream));
    }
    CUDA_OK(cudaEventSynchronize(ev[2 * reps - 1]));
    std::vector<float> t(reps);
    for (int r = 0; r < reps; r++)
        CUDA_OK(cudaEventElapsedTime(&t[r], ev[2 * r], ev[2 * r + 1]));
    for (auto &e : ev)
        CUDA_OK(cudaEventDestroy(e));
    std::sort(t.begin(), t.end());
    return 1e3 * (double)t[reps / 2];
}

/* ---- one shape's data ---------------------------------------------------------------------- */
struct data {
    int n, k, nkb, nnb, ncopy, ncopy_b;
    std::vector<uint8_t> w;        /* codes [n x k] */
    std::vector<float> ws;         /* logical scales [nnb][nkb] */
    std::vector<float> x;          /* [MMAX x k] */
    uint8_t *d_w;                  /* ncopy copies of the codes */
    float *d_ws;                   /* scales: lt_gemm.h's layout, the packed file's (linear reads it too) */
    __nv_bfloat16 *d_wb, *d_xb;    /* ncopy_b copies of W dequantized; x rounded */
    float *d_x, *d_xs, *d_y, *d_one;
    uint8_t *d_xq;
    float *d_ws_probe, *d_xs_probe;
    std::vector<uint8_t> y4;       /* the f32-out GEMM's rows at M = 4 (batch invariance) */
};

static void make_data(data &d, int n, int k)
{
    d.n = n;
    d.k = k;
    d.nkb = df_fp8_kblocks(k);
    d.nnb = (n + 127) / 128;
    d.w.resize((size_t)n * k);
    d.ws.resize((size_t)d.nnb * d.nkb);
    for (auto &s : d.ws)
        s = (float)ldexp(1.0 + rnd_unit(), -12 + (int)(rnd64() % 6));
    /* codes of 448 x a triangular variate, drawn by quantile: 12 random bits a code */
    static uint8_t tri_code[4096];
    for (int i = 0; i < 4096; i++) {
        const double p = (i + 0.5) / 4096.0, v = p < 0.5 ? sqrt(2.0 * p) - 1.0 : 1.0 - sqrt(2.0 * (1.0 - p));
        tri_code[i] = f32_to_e4m3((float)(448.0 * v));
    }
    for (size_t i = 0; i < d.w.size(); i += 5) {
        const uint64_t r = rnd64();
        for (size_t j = i; j < std::min(i + 5, d.w.size()); j++)
            d.w[j] = tri_code[(r >> (12 * (j - i))) & 4095];
    }
    d.x.resize((size_t)MMAX * k);
    for (int t = 0; t < MMAX; t++) {
        const float ts = (float)ldexp(1.0, (int)(rnd64() % 5) - 2);
        for (int c = 0; c < k; c++)
            d.x[(size_t)t * k + c] = rnd_tri() * ts * (c % 97 == 13 ? 20.0f : 1.0f);
    }
    if (k > 256)
        for (int c = 128; c < 256; c++)
            d.x[(size_t)2 * k + c] = 0.0f;

    const size_t wbytes = (size_t)n * k;
    d.ncopy = (int)std::min<size_t>(64, std::max<size_t>(1, (ROTATE_BYTES + wbytes - 1) / wbytes));
    d.ncopy_b = (int)std::min<size_t>(64, std::max<size_t>(1, (ROTATE_BYTES + 2 * wbytes - 1) / (2 * wbytes)));
    d.d_w = dalloc<uint8_t>(wbytes * d.ncopy);
    upload(d.d_w, d.w.data(), wbytes);
    for (int i = 1; i < d.ncopy; i++)
        CUDA_OK(cudaMemcpyAsync(d.d_w + i * wbytes, d.d_w, wbytes, cudaMemcpyDeviceToDevice, g_stream));
    std::vector<float> wsl(df_fp8_wscale_count(n, k), 0.0f);
    for (int nb = 0; nb < d.nnb; nb++)
        for (int kb = 0; kb < d.nkb; kb++)
            wsl[df_fp8_wscale_index(nb * 128, kb * 128, k)] = d.ws[(size_t)nb * d.nkb + kb];
    d.d_ws = dalloc<float>(wsl.size());
    upload(d.d_ws, wsl.data(), wsl.size() * sizeof(float));
    d.d_wb = dalloc<__nv_bfloat16>(wbytes * d.ncopy_b);
    dequant_bf16_k<<<1024, 256, 0, g_stream>>>(d.d_w, d.d_ws, n, k, d.d_wb);
    df_cuda_launched("dequant_bf16");
    for (int i = 1; i < d.ncopy_b; i++)
        CUDA_OK(cudaMemcpyAsync(d.d_wb + i * wbytes, d.d_wb, wbytes * 2, cudaMemcpyDeviceToDevice, g_stream));
    d.d_x = dalloc<float>((size_t)MMAX * k);
    upload(d.d_x, d.x.data(), d.x.size() * sizeof(float));
    d.d_xb = dalloc<__nv_bfloat16>((size_t)MMAX * k);
    f32_to_bf16_k<<<1024, 256, 0, g_stream>>>(d.d_x, (size_t)MMAX * k, d.d_xb);
    df_cuda_launched("f32_to_bf16");
    d.d_xq = dalloc<uint8_t>((size_t)MMAX * k);
    d.d_xs = dalloc<float>(df_fp8_xscale_count(MMAX, k));
    d.d_y = dalloc<float>((size_t)MMAX * n);
    d.d_one = dalloc<float>(1);
    const float one = 1.0f;
    upload(d.d_one, &one, sizeof one);
    d.d_ws_probe = dalloc<float>((size_t)((d.nnb + 3) / 4 * 4) * ((d.nkb + 3) / 4 * 4));
    d.d_xs_probe = dalloc<float>((size_t)d.nkb * MMAX);
    CUDA_OK(cudaStreamSynchronize(g_stream));
}

static void free_data(data &d)
{
    void *ptrs[] = { d.d_w, d.d_ws, d.d_wb, d.d_xb, d.d_x, d.d_xs, d.d_y, d.d_one, d.d_xq,
                     d.d_ws_probe, d.d_xs_probe };
    for (void *p : ptrs)
        CUDA_OK(cudaFree(p));
}

/* ---- the reference ------------------------------------------------------------------------ */
/* For the sampled outputs (t, j): per k-block, the sums of code products (p), of their
 * magnitudes (pa), and of W's codes times the unquantized x (r, ra). Any scale layout's
 * reference follows from these and the logical scales. */
struct sample {
    std::vector<int> tok, col;
    std::vector<double> p, pa, r, ra; /* [tok][col][kb] */
};

static void pick(std::vector<int> &v, int count, int limit, std::initializer_list<int> must)
{
    v.clear();
    auto add = [&](int i) {
        if (i >= 0 && i < limit && std::find(v.begin(), v.end(), i) == v.end())
            v.push_back(i);
    };
    for (int i : must)
        add(i);
    while ((int)v.size() < std::min(count, limit))
        add((int)(rnd64() % (uint64_t)limit));
}

static void make_sample(sample &s, const data &d, int m, const std::vector<uint8_t> &xq)
{
    pick(s.tok, SAMPLE_T, m, { 0, m - 1, 2, m / 2 });
    const int last = (d.n - 1) / 128 * 128;
    pick(s.col, SAMPLE_C, d.n, { 0, 1, 127, 128, 129, d.n - 1, d.n - 2, last, last - 1 });
    const size_t nt = s.tok.size(), nc = s.col.size(), nkb = (size_t)d.nkb;
    s.p.assign(nt * nc * nkb, 0.0);
    s.pa = s.r = s.ra = s.p;
    for (size_t a = 0; a < nt; a++)
        for (size_t b = 0; b < nc; b++) {
            const int t = s.tok[a], j = s.col[b];
            const uint8_t *wr = &d.w[(size_t)j * d.k], *qr = &xq[(size_t)t * d.k];
            const float *xr = &d.x[(size_t)t * d.k];
            for (int kb = 0; kb < d.nkb; kb++) {
                double p = 0, pa = 0, r = 0, ra = 0;
                for (int c = kb * 128; c < std::min(d.k, kb * 128 + 128); c++) {
                    const double wv = e4m3_lut[wr[c]], pq = wv * e4m3_lut[qr[c]], px = wv * xr[c];
                    p += pq;
                    pa += fabs(pq);
                    r += px;
                    ra += fabs(px);
                }
                const size_t i = (a * nc + b) * nkb + (size_t)kb;
                s.p[i] = p;
                s.pa[i] = pa;
                s.r[i] = r;
                s.ra[i] = ra;
            }
        }
}

/* Which reference: the block GEMM (codes, both scales), the per-tensor one (codes, no scales),
 * or W x with x unquantized. */
enum ref_kind { REF_BLOCK, REF_CODES, REF_X };

struct errors {
    double norm, ratio; /* ||y - ref|| / ||ref||; max over elements of |y - ref| / tol */
};

/* y: the device output copied back ([m x n], bf16 or f32). xs: logical [m][nkb]. */
static errors compare(const sample &s, const data &d, const std::vector<float> &xs, const void *y, bool bf16,
                      ref_kind kind, double rel)
{
    const size_t nc = s.col.size(), nkb = (size_t)d.nkb;
    double num = 0, den = 0, ratio = 0;
    for (size_t a = 0; a < s.tok.size(); a++)
        for (size_t b = 0; b < nc; b++) {
            const int t = s.tok[a], j = s.col[b];
            double ref = 0, mag = 0;
            for (size_t kb = 0; kb < nkb; kb++) {
                const size_t i = (a * nc + b) * nkb + kb;
                const double ws = d.ws[(size_t)(j / 128) * nkb + kb], xsc = xs[(size_t)t * nkb + kb];
                if (kind == REF_BLOCK) {
                    ref += ws * xsc * s.p[i];
                    mag += fabs(ws * xsc) * s.pa[i];
                } else if (kind == REF_CODES) {
                    ref += s.p[i];
                    mag += s.pa[i];
                } else {
                    ref += ws * s.r[i];
                    mag += ws * s.ra[i];
                }
            }
            const size_t o = (size_t)t * d.n + j;
            const double got = bf16 ? bf16_bits_to_f32(static_cast<const uint16_t *>(y)[o])
                                    : static_cast<const float *>(y)[o];
            const double tol = rel * fabs(ref) + (kind == REF_X ? 2.0 * (d.k + 4) * 0x1p-24 : TOL_MAG) * mag;
            num += (got - ref) * (got - ref);
            den += ref * ref;
            ratio = std::max(ratio, isfinite(got) ? fabs(got - ref) / tol : INFINITY);
        }
    return { sqrt(num / std::max(den, 1e-300)), ratio };
}

/* Copy y back; count its non-finite values (every output was poisoned before the run). */
static long fetch(std::vector<uint8_t> &host, const float *d_y, int m, int n, bool bf16)
{
    const size_t count = (size_t)m * n;
    host.resize(count * (bf16 ? 2 : 4));
    download(host.data(), d_y, host.size());
    long bad = 0;
    for (size_t i = 0; i < count; i++) {
        float v;
        if (bf16) {
            uint16_t h;
            memcpy(&h, &host[2 * i], 2);
            v = bf16_bits_to_f32(h);
        } else {
            memcpy(&v, &host[4 * i], 4);
        }
        bad += !isfinite(v);
    }
    return bad;
}

/* A run's status: false, with the reason printed, if cuBLASLt refused it. */
static bool ran(int status, const char *what, const data &d, int m)
{
    if (status != 0)
        printf("  FAIL %dx%d M=%d %s: %s\n", d.n, d.k, m, what, df_lt_status(status));
    return status == 0;
}

/* ---- the device's e4m3 widening ------------------------------------------------------------ */
/* Every code through kernels.cuh's device widen (the hardware e4m3x2 -> f16x2 conversion),
 * 16 codes a thread as linear reads them, out[c] for code c. */
__global__ void widen_all_k(float *out)
{
    uint32_t wd[4];
    for (int k = 0; k < 4; k++) {
        const uint32_t c = 16u * threadIdx.x + 4u * k;
        wd[k] = c | (c + 1) << 8 | (c + 2) << 16 | (c + 3) << 24;
    }
    float v[16];
    dfc::widen<DF_F8E4M3, 16>(wd, v);
    for (int j = 0; j < 16; j++)
        out[16 * threadIdx.x + j] = v[j];
}

/* The device's widening = e4m3_to_f32 for all 256 codes (NaN for NaN); 0 or the mismatches. */
static int check_widen(void)
{
    float *d = dalloc<float>(256);
    widen_all_k<<<1, 16, 0, g_stream>>>(d);
    CUDA_OK(cudaGetLastError());
    float got[256];
    download(got, d, sizeof got);
    CUDA_OK(cudaFree(d));
    int bad = 0;
    for (int c = 0; c < 256; c++) {
        const float want = e4m3_to_f32((uint8_t)c);
        if (isnan(want) ? !isnan(got[c]) : memcmp(&got[c], &want, sizeof want) != 0) {
            if (bad++ < 4)
                printf("  FAIL e4m3 code 0x%02x: device %.9g, e4m3_to_f32 %.9g\n", c, got[c], want);
        }
    }
    printf("fp8_gemm_check: e4m3 widening on the device (all 256 codes) %s\n", bad ? "FAIL" : "= e4m3_to_f32");
    return bad;
}

/* The FP8-activation precision's in-place quantization (kernels.cuh, act_quant_fp8) = the
 * CPU's act_quant_fp8_row, bit for bit: rows of DIM values across many binades, zeros and a
 * zero block included (DIM: tiny_fp8act's widths with partial blocks, and V3's hidden). */
template <int DIM> static int check_act_quant_rows(void)
{
    constexpr int ROWS = 37;
    std::vector<float> x((size_t)ROWS * DIM), want;
    for (size_t i = 0; i < x.size(); i++)
        x[i] = rnd64() % 17 == 0 ? 0.0f : rnd_tri() * (float)ldexp(1.0, (int)(rnd64() % 24) - 12);
    for (int c = 0; c < (DIM < 128 ? DIM : 128); c++)
        x[(size_t)DIM + c] = 0.0f;
    want = x;
    for (int t = 0; t < ROWS; t++)
        act_quant_fp8_row(want.data() + (size_t)t * DIM, DIM);
    float *d = dalloc<float>(x.size());
    upload(d, x.data(), x.size() * sizeof(float));
    dfc::act_quant_fp8<DIM>(d, ROWS);
    download(x.data(), d, x.size() * sizeof(float));
    CUDA_OK(cudaFree(d));
    int bad = 0;
    for (size_t i = 0; i < x.size(); i++)
        if (memcmp(&x[i], &want[i], sizeof(float)) != 0 && bad++ < 4)
            printf("  FAIL act_quant_fp8<%d> value %zu: device %.9g, host %.9g\n", DIM, i, x[i], want[i]);
    return bad;
}

static int check_act_quant(void)
{
    const int bad = check_act_quant_rows<72>() + check_act_quant_rows<200>() + check_act_quant_rows<328>() +
                    check_act_quant_rows<7168>();
    printf("fp8_gemm_check: FP8-activation quantization on the device (act_quant_fp8, widths 72, 200, 328, 7168) %s\n",
           bad ? "FAIL" : "= act_quant_fp8_row");
    return bad;
}

/* ---- the layout probe (only after a failure) ---------------------------------------------- */
static const char *W_LAYOUTS[] = { "documented (row of k-blocks padded to 4)", "k-blocks unpadded",
                                   "n-blocks fastest", "n-blocks fastest, padded to 4" };
/* (m is already a multiple of 4 here: df_fp8_gemm_rows) */
static const char *X_LAYOUTS[] = { "documented (tokens fastest, stride m)", "k-blocks fastest per token" };

static void probe_layouts(struct df_lt_gemm *g, const data &d, int m, const sample &s, const std::vector<float> &xs)
{
    const int nkb = d.nkb, nnb = d.nnb, nkb4 = (nkb + 3) / 4 * 4, nnb4 = (nnb + 3) / 4 * 4;
    std::vector<uint8_t> y;
    for (int wl = 0; wl < 4; wl++)
        for (int xl = 0; xl < 2; xl++) {
            std::vector<float> wv((size_t)nnb4 * nkb4, 0.0f), xv((size_t)nkb * m, 0.0f);
            for (int nb = 0; nb < nnb; nb++)
                for (int kb = 0; kb < nkb; kb++) {
                    const size_t i = wl == 0   ? (size_t)nb * nkb4 + kb
                                     : wl == 1 ? (size_t)nb * nkb + kb
                                     : wl == 2 ? (size_t)kb * nnb + nb
                                               : (size_t)kb * nnb4 + nb;
                    wv[i] = d.ws[(size_t)nb * nkb + kb];
                }
            for (int t = 0; t < m; t++)
                for (int kb = 0; kb < nkb; kb++) {
                    const size_t i = xl == 0 ? (size_t)kb * m + t : (size_t)t * nkb + kb;
                    xv[i] = xs[(size_t)t * nkb + kb];
                }
            upload(d.d_ws_probe, wv.data(), wv.size() * sizeof(float));
            upload(d.d_xs_probe, xv.data(), xv.size() * sizeof(float));
            CUDA_OK(cudaMemsetAsync(d.d_y, 0xff, (size_t)m * d.n * 2, g_stream));
            if (!ran(df_lt_run(g, d.d_w, d.d_ws_probe, d.d_xq, d.d_xs_probe, d.d_y, g_stream), "probe run", d, m))
                continue;
            fetch(y, d.d_y, m, d.n, true);
            const errors e = compare(s, d, xs, y.data(), true, REF_BLOCK, TOL_REL_BF16);
            const bool ok = e.norm <= TOL_NORM_BF16 && e.ratio <= 1.0;
            printf("  layout probe %dx%d M=%d: weights %s, activations %s: err %.2e%s\n", d.n, d.k, m, W_LAYOUTS[wl],
                   X_LAYOUTS[xl], e.norm, ok ? "  <- PASSES" : "");
        }
}

/* ---- one case ------------------------------------------------------------------------------ */
struct result {
    int n, k, m;
    bool planned, quant_ok, ok_bf16, has_f32, ok_f32, ceil_ok, lin_ok;
    bool lin_rows_same, lin_async_same; /* M = 1: linear_rows_k / linear_async_k gave linear_k's bits */
    long nonfinite;
    double err_bf16, ratio_bf16, err_f32, cost, t_block, t_quant, t_tensor, t_bf16, t_lin, t_lin_rows, t_lin_async,
        t_best;
    int best, n_cand;
    int invariant; /* f32 out: the first 4 tokens' rows = M = 4's, bit for bit (1), not (0), not compared (-1) */
};

static struct df_lt_gemm *plan(struct df_lt *lt, df_lt_kind kind, df_lt_out out, int n, int k, int m, const char *name)
{
    char err[256];
    struct df_lt_gemm *g = df_lt_plan(lt, kind, out, n, k, m, err, sizeof err);
    if (!g)
        printf("  %s %dx%d M=%d: no plan: %s\n", name, n, k, m, err);
    return g;
}

static result run_case(struct df_lt *lt, data &d, const shape &sh, int m, double t_start)
{
    result r = {};
    r.n = d.n;
    r.k = d.k;
    r.m = m;
    r.invariant = -1;
    const int n = d.n, k = d.k, nkb = d.nkb;
    const size_t wbytes = (size_t)n * k;

    /* 1. quantization: device = host, bit for bit, of the mq rows the block GEMM runs on
     * (m rounded up to 4; the first m are the tokens, the outputs of the others unused) */
    const int mq = df_fp8_gemm_rows(m);
    CUDA_OK((cudaError_t)df_fp8_act_quant(d.d_x, mq, k, d.d_xq, d.d_xs, g_stream));
    std::vector<uint8_t> xq((size_t)mq * k), xq_dev((size_t)mq * k);
    std::vector<float> xs_dev(df_fp8_xscale_count(mq, k)), xs_host(xs_dev.size());
    act_quant_host(d.x.data(), mq, k, xq.data(), xs_host.data());
    download(xq_dev.data(), d.d_xq, xq_dev.size());
    download(xs_dev.data(), d.d_xs, xs_dev.size() * sizeof(float));
    r.quant_ok = xq == xq_dev && memcmp(xs_host.data(), xs_dev.data(), xs_dev.size() * sizeof(float)) == 0;
    if (!r.quant_ok)
        printf("  FAIL %dx%d M=%d: df_fp8_act_quant differs from act_quant_host\n", n, k, m);
    std::vector<float> xs((size_t)mq * nkb); /* logical [t][kb] */
    for (int t = 0; t < mq; t++)
        for (int kb = 0; kb < nkb; kb++)
            xs[(size_t)t * nkb + kb] = xs_host[df_fp8_xscale_index(t, kb, mq)];
    sample s;
    make_sample(s, d, m, xq);
    std::vector<uint8_t> y;

    /* 2, 3. the block GEMM */
    struct df_lt_gemm *g = plan(lt, DF_LT_FP8_BLOCK, DF_LT_OUT_BF16, n, k, mq, "block FP8");
    r.planned = g != nullptr;
    r.ok_bf16 = k % DF_FP8_BLOCK != 0; /* without a plan: a failure only where k is whole blocks */
    if (g) {
        char desc[256];
        df_lt_describe(g, desc, sizeof desc);
        printf("  block FP8 %dx%d M=%d: %s\n", n, k, m, desc);
        r.n_cand = df_lt_candidates(g);
        CUDA_OK(cudaMemsetAsync(d.d_y, 0xff, (size_t)mq * n * 2, g_stream));
        if (ran(df_lt_run(g, d.d_w, d.d_ws, d.d_xq, d.d_xs, d.d_y, g_stream), "block FP8 run", d, m)) {
            r.nonfinite = fetch(y, d.d_y, m, n, true);
            const errors e = compare(s, d, xs, y.data(), true, REF_BLOCK, TOL_REL_BF16);
            r.err_bf16 = e.norm;
            r.ratio_bf16 = e.ratio;
            r.ok_bf16 = r.nonfinite == 0 && e.norm <= TOL_NORM_BF16 && e.ratio <= 1.0;
            r.cost = compare(s, d, xs, y.data(), true, REF_X, 0.0).norm;
            if (!r.ok_bf16) {
                printf("  FAIL %dx%d M=%d block FP8, bf16 out: err %.2e, max |d|/tol %.2f, %ld outputs not finite\n",
                       n, k, m, e.norm, e.ratio, r.nonfinite);
                static int probes_left = 3; /* enough to name the layout; each costs 12 GEMMs */
                if (probes_left-- > 0)
                    probe_layouts(g, d, mq, s, xs);
            }
        } else {
            df_lt_plan_destroy(g);
            g = nullptr;
            r.planned = r.ok_bf16 = false;
        }
    }
    struct df_lt_gemm *gf = plan(lt, DF_LT_FP8_BLOCK, DF_LT_OUT_F32, n, k, mq, "block FP8 f32 out");
    r.has_f32 = gf != nullptr;
    if (gf) {
        CUDA_OK(cudaMemsetAsync(d.d_y, 0xff, (size_t)mq * n * 4, g_stream));
        if (ran(df_lt_run(gf, d.d_w, d.d_ws, d.d_xq, d.d_xs, d.d_y, g_stream), "block FP8 f32 run", d, m)) {
            const long bad = fetch(y, d.d_y, m, n, false);
            /* Batch invariance: do tokens 0-3 get the same bits whatever M the GEMM runs at
             * (the heuristic's algorithm, tile and split-K may change with M)? MS runs M = 4
             * before the larger M of a shape. */
            if (m == 4)
                d.y4.assign(y.begin(), y.begin() + (size_t)4 * n * 4);
            else if (m > 4 && !d.y4.empty())
                r.invariant = memcmp(y.data(), d.y4.data(), d.y4.size()) == 0;
            const errors e = compare(s, d, xs, y.data(), false, REF_BLOCK, TOL_REL_F32);
            r.err_f32 = e.norm;
            r.ok_f32 = bad == 0 && e.norm <= TOL_NORM_F32 && e.ratio <= 1.0;
            r.cost = compare(s, d, xs, y.data(), false, REF_X, 0.0).norm;
            if (!r.ok_f32)
                printf("  FAIL %dx%d M=%d block FP8, f32 out: err %.2e, max |d|/tol %.2f, %ld not finite\n", n, k, m,
                       e.norm, e.ratio, bad);
        }
        df_lt_plan_destroy(gf);
    }

    /* 4. the ceilings, once for correctness: within TOL_NORM_CEILING of ref, every output finite
     * (r.ceil_ok false otherwise); false if the GEMM did not run at all */
    auto ceiling_ran = [&](struct df_lt_gemm *g, const void *w, const float *w_scale, const void *x,
                           const float *x_scale, bool bf16_out, ref_kind ref, const char *name) {
        CUDA_OK(cudaMemsetAsync(d.d_y, 0xff, (size_t)m * n * (bf16_out ? 2 : 4), g_stream));
        if (!ran(df_lt_run(g, w, w_scale, x, x_scale, d.d_y, g_stream), name, d, m)) {
            r.ceil_ok = false;
            return false;
        }
        const long bad = fetch(y, d.d_y, m, n, bf16_out);
        const double e = compare(s, d, xs, y.data(), bf16_out, ref, 0.0).norm;
        if (bad || e > TOL_NORM_CEILING) {
            printf("  FAIL %dx%d M=%d %s: err %.2e, %ld not finite\n", n, k, m, name, e, bad);
            r.ceil_ok = false;
        }
        return true;
    };
    struct df_lt_gemm *gt = plan(lt, DF_LT_FP8_TENSOR, DF_LT_OUT_BF16, n, k, m, "tensor FP8");
    struct df_lt_gemm *gb = plan(lt, DF_LT_BF16, DF_LT_OUT_BF16, n, k, m, "bf16");
    /* the bf16 GEMM with f32 output: the bf16-activation products' (runtime/cuda/lt_linear.cu) */
    struct df_lt_gemm *gbf = plan(lt, DF_LT_BF16, DF_LT_OUT_F32, n, k, m, "bf16 f32 out");
    r.ceil_ok = gt && gb && gbf;
    if (gt && !ceiling_ran(gt, d.d_w, d.d_one, d.d_xq, d.d_one, true, REF_CODES, "tensor FP8")) {
        df_lt_plan_destroy(gt); /* not timed below */
        gt = nullptr;
    }
    if (gb && !ceiling_ran(gb, d.d_wb, nullptr, d.d_xb, nullptr, true, REF_X, "bf16 GEMM")) {
        df_lt_plan_destroy(gb);
        gb = nullptr;
    }
    if (gbf) {
        ceiling_ran(gbf, d.d_wb, nullptr, d.d_xb, nullptr, false, REF_X, "bf16 GEMM, f32 out");
        df_lt_plan_destroy(gbf);
    }

    /* 5. linear at decode sizes */
    r.lin_ok = true;
    if (m <= DECODE_M) {
        CUDA_OK(cudaMemsetAsync(d.d_y, 0xff, (size_t)m * n * 4, g_stream));
        sh.linear(d.d_w, reinterpret_cast<const unsigned char *>(d.d_ws), d.d_x, m, d.d_y);
        const long bad = fetch(y, d.d_y, m, n, false);
        const errors e = compare(s, d, xs, y.data(), false, REF_X, 0.0);
        r.lin_ok = bad == 0 && e.ratio <= 1.0;
        if (!r.lin_ok)
            printf("  FAIL %dx%d M=%d linear: max |d|/tol %.2f, %ld not finite\n", n, k, m, e.ratio, bad);
        if (m == 1) { /* the other one-token kernels (DF_CUDA_LINEAR_ONE=rows, async): the same bits */
            const auto same_as_warp = [&](int kind, const char *kernel) {
                std::vector<uint8_t> y_other;
                dfc::linear_one = kind;
                CUDA_OK(cudaMemsetAsync(d.d_y, 0xff, (size_t)m * n * 4, g_stream));
                sh.linear(d.d_w, reinterpret_cast<const unsigned char *>(d.d_ws), d.d_x, m, d.d_y);
                fetch(y_other, d.d_y, m, n, false);
                dfc::linear_one = dfc::LINEAR_ONE_WARP;
                if (y_other != y)
                    printf("  FAIL %dx%d M=1: %s for one token differs from linear_k\n", n, k, kernel);
                return y_other == y;
            };
            r.lin_rows_same = same_as_warp(dfc::LINEAR_ONE_ROWS, "linear_rows_k");
            r.lin_async_same = same_as_warp(dfc::LINEAR_ONE_ASYNC, "linear_async_k");
            r.lin_ok = r.lin_ok && r.lin_rows_same && r.lin_async_same;
        }
    }

    /* 6. times */
    const double nan = NAN;
    r.t_block = r.t_tensor = r.t_bf16 = r.t_lin = r.t_lin_rows = r.t_lin_async = r.t_best = nan;
    r.t_quant = time_us([&](int) { CUDA_OK((cudaError_t)df_fp8_act_quant(d.d_x, mq, k, d.d_xq, d.d_xs, g_stream)); },
                        50);
    auto block = [&](int i) {
        lt_ok(df_lt_run(g, d.d_w + (size_t)(i % d.ncopy) * wbytes, d.d_ws, d.d_xq, d.d_xs, d.d_y, g_stream), "block");
    };
    if (g)
        r.t_block = time_us(block, 50);
    if (gt)
        r.t_tensor = time_us([&](int i) {
            lt_ok(df_lt_run(gt, d.d_w + (size_t)(i % d.ncopy) * wbytes, d.d_one, d.d_xq, d.d_one, d.d_y, g_stream),
                  "tensor");
        }, 50);
    if (gb)
        r.t_bf16 = time_us([&](int i) {
            lt_ok(df_lt_run(gb, d.d_wb + (size_t)(i % d.ncopy_b) * wbytes, nullptr, d.d_xb, nullptr, d.d_y, g_stream),
                  "bf16");
        }, 50);
    auto own = [&](int i) {
        sh.linear(d.d_w + (size_t)(i % d.ncopy) * wbytes, reinterpret_cast<const unsigned char *>(d.d_ws), d.d_x, m,
                  d.d_y);
    };
    if (m <= DECODE_M)
        r.t_lin = time_us(own, 50);
    if (m == 1) {
        dfc::linear_one = dfc::LINEAR_ONE_ROWS;
        r.t_lin_rows = time_us(own, 50);
        dfc::linear_one = dfc::LINEAR_ONE_ASYNC;
        r.t_lin_async = time_us(own, 50);
        dfc::linear_one = dfc::LINEAR_ONE_WARP;
    }
    r.best = 0;
    r.t_best = r.t_block;
    if (g && seconds() - t_start < TUNE_UNTIL_S) {
        for (int c = 1; c < r.n_cand; c++) {
            df_lt_choose(g, c);
            if (!ran(df_lt_run(g, d.d_w, d.d_ws, d.d_xq, d.d_xs, d.d_y, g_stream), "a heuristic candidate", d, m))
                continue;
            const double t = time_us(block, 10);
            if (t < r.t_best) {
                r.t_best = t;
                r.best = c;
            }
        }
        if (r.best != 0) {
            char desc[256];
            df_lt_choose(g, r.best);
            df_lt_describe(g, desc, sizeof desc);
            printf("  block FP8 %dx%d M=%d: faster: %s (%.1f us, first choice %.1f us)\n", n, k, m, desc, r.t_best,
                   r.t_block);
        }
    }
    df_lt_plan_destroy(g);
    df_lt_plan_destroy(gt);
    df_lt_plan_destroy(gb);
    return r;
}

/* 7. The backend's way (runtime/cuda/lt_linear.cu): one plan at the chunk's M (plan_m: 256, the
 * default chunk, or 512, the mid-size models'), f32 out, the candidate df_lt_fix keeps, run at
 * every M with split-K off (df_lt_set_rows); the block-scaled FP8 GEMM (FP8 activations) or, with
 * bf16, the bf16 GEMM on the dequantized weights (bf16 activations). Are tokens 0-3's rows at
 * every M bit-identical to M = 4's (token 0 at M = 1 too, for bf16, which runs 1 row), and what
 * does the fixed algorithm cost at decode sizes against the heuristic's choice for that M (res:
 * this shape's cases; for bf16 the heuristic's bf16-output GEMM)? Returns 1 if invariant, 0 if
 * not, -1 if it could not run. */
static int fixed_algorithm(struct df_lt *lt, data &d, const std::vector<result> &res, int plan_m, bool bf16)
{
    const int n = d.n, k = d.k;
    const char *what = bf16 ? "bf16" : "FP8";
    struct df_lt_gemm *g = plan(lt, bf16 ? DF_LT_BF16 : DF_LT_FP8_BLOCK, DF_LT_OUT_F32, n, k, plan_m,
                                "fixed algorithm");
    if (!g)
        return -1;
    const int fixed = df_lt_fix(g, bf16 ? 1 : 4, bf16 ? 1 : 4);
    if (fixed != 0) {
        printf("  fixed %s algorithm %dx%d planned at M=%d: no candidate runs one token and M=%d: %s\n", what, n, k,
               plan_m, plan_m, df_lt_status(fixed));
        df_lt_plan_destroy(g);
        return -1;
    }
    std::vector<uint8_t> y, y4;
    int invariant = 1;
    for (int m : { 4, 1, 7, 16, 128, 512, 4096 }) { /* M = 4 first: the others compare with it */
        const int rows = bf16 ? m : df_fp8_gemm_rows(m);
        const int rc = df_lt_set_rows(g, rows);
        if (rc != 0) {
            printf("  fixed %s algorithm %dx%d planned at M=%d: cannot run M=%d: %s\n", what, n, k, plan_m, rows,
                   df_lt_status(rc));
            invariant = -1;
            break;
        }
        const unsigned char *w = bf16 ? (const unsigned char *)d.d_wb : d.d_w;
        const void *x = bf16 ? (const void *)d.d_xb : d.d_xq;
        const float *ws = bf16 ? nullptr : d.d_ws, *xs = bf16 ? nullptr : d.d_xs;
        const size_t wbytes = (size_t)n * k * (bf16 ? 2 : 1);
        const int copies = bf16 ? d.ncopy_b : d.ncopy;
        if (!bf16)
            CUDA_OK((cudaError_t)df_fp8_act_quant(d.d_x, rows, k, d.d_xq, d.d_xs, g_stream));
        CUDA_OK(cudaMemsetAsync(d.d_y, 0xff, (size_t)rows * n * 4, g_stream));
        if (!ran(df_lt_run(g, w, ws, x, xs, d.d_y, g_stream), "fixed algorithm run", d, m)) {
            invariant = -1;
            break;
        }
        fetch(y, d.d_y, m, n, false);
        const size_t common = (size_t)(m < 4 ? m : 4) * n * 4;
        if (m == 4)
            y4.assign(y.begin(), y.begin() + common);
        else if (memcmp(y.data(), y4.data(), common) != 0) {
            printf("  fixed %s algorithm %dx%d planned at M=%d: tokens 0-%d differ at M=%d from M=4\n", what, n, k,
                   plan_m, (m < 4 ? m : 4) - 1, m);
            invariant = 0;
        }
        if (m <= DECODE_M) {
            const double t = time_us([&](int i) {
                lt_ok(df_lt_run(g, w + (size_t)(i % copies) * wbytes, ws, x, xs, d.d_y, g_stream), "fixed");
            }, 50);
            for (const result &r : res)
                if (r.n == n && r.k == k && r.m == m)
                    printf("  fixed %s algorithm %dx%d planned at M=%d, run at M=%d: %.1f us (the heuristic's for "
                           "M=%d: %.1f us)\n", what, n, k, plan_m, m, t, m, bf16 ? r.t_bf16 : r.t_block);
        }
    }
    char desc[256];
    df_lt_describe(g, desc, sizeof desc);
    printf("  fixed %s algorithm %dx%d planned at M=%d: %s: %s\n", what, n, k, plan_m, desc,
           invariant > 0 ? "invariant" : invariant == 0 ? "NOT invariant" : "did not run");
    df_lt_plan_destroy(g);
    return invariant;
}

/* ---- main ---------------------------------------------------------------------------------- */
static double tflops(const result &r, double us)
{
    return 2.0 * r.m * (double)r.n * r.k / (us * 1e-6) / 1e12;
}

/* The table and the summary lines; returns the number of failed cases. */
static int report(const std::vector<result> &res)
{
    printf("\n| N x K | M | block FP8 err: bf16 out (max elem / tol) / f32 out | FP8-act cost "
           "| block FP8 us (TFLOP/s, weight GB/s) | act quant us | tensor FP8 us (TFLOP/s) | bf16 us (TFLOP/s) "
           "| linear us | best candidate |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    int failed = 0, unsupported = 0, lin_wins = 0, decode_cases = 0;
    double worst_bf16 = 0, worst_f32 = 0;
    for (const result &r : res) {
        const bool ok = r.quant_ok && r.ceil_ok && r.lin_ok && r.ok_bf16 && (!r.has_f32 || r.ok_f32);
        failed += !ok;
        unsupported += !r.planned;
        if (r.planned) {
            worst_bf16 = std::max(worst_bf16, r.err_bf16);
            if (r.has_f32)
                worst_f32 = std::max(worst_f32, r.err_f32);
        }
        char err_s[64] = "no plan", cost[16] = "-", blk[64] = "-", lin[32] = "-", best[48] = "-", f32s[16] = "n/a";
        if (r.has_f32)
            snprintf(f32s, sizeof f32s, "%.1e", r.err_f32);
        if (r.planned) {
            snprintf(cost, sizeof cost, "%.1e", r.cost);
            snprintf(err_s, sizeof err_s, "%.1e (%.2f) / %s", r.err_bf16, r.ratio_bf16, f32s);
            snprintf(blk, sizeof blk, "%.1f (%.1f, %.0f)", r.t_block, tflops(r, r.t_block),
                     (double)r.n * r.k / (r.t_block * 1e3));
            snprintf(best, sizeof best, "#%d of %d, %.1f us", r.best, r.n_cand, r.t_best);
        }
        if (!ok)
            strcat(err_s, " FAIL");
        if (r.m <= DECODE_M)
            snprintf(lin, sizeof lin, "%.1f", r.t_lin);
        printf("| %dx%d | %d | %s | %s | %s | %.1f | %.1f (%.1f) | %.1f (%.1f) | %s | %s |\n", r.n, r.k, r.m, err_s,
               cost, blk, r.t_quant, r.t_tensor, tflops(r, r.t_tensor), r.t_bf16, tflops(r, r.t_bf16), lin, best);
        if (r.m <= DECODE_M && r.planned) {
            decode_cases++;
            lin_wins += r.t_lin < r.t_quant + r.t_block;
        }
    }
    printf("\nfp8_gemm_check: correctness %s: %zu cases, %d failed, %d without a block FP8 plan; "
           "worst normwise error: %.1e bf16 out, %.1e f32 out\n",
           failed ? "FAIL" : "pass", res.size(), failed, unsupported, worst_bf16, worst_f32);
    for (const result &r : res)
        if (r.n == 7168 && r.k == 18432 && r.m == MMAX)
            printf("fp8_gemm_check: prefill 7168x18432 M=%d TFLOP/s: block FP8 %.0f (best candidate %.0f), "
                   "tensor FP8 %.0f, bf16 %.0f\n",
                   r.m, tflops(r, r.t_block), tflops(r, r.t_best), tflops(r, r.t_tensor), tflops(r, r.t_bf16));
    int inv_same = 0, inv_cases = 0;
    for (const result &r : res)
        if (r.invariant >= 0) {
            inv_cases++;
            inv_same += r.invariant;
        }
    printf("fp8_gemm_check: batch invariance (f32 out; tokens 0-3 at M = 7 .. %d bit-identical to M = 4): %d of %d "
           "cases;", MMAX, inv_same, inv_cases);
    for (const result &r : res)
        if (r.invariant == 0)
            printf(" differ %dx%d M=%d;", r.n, r.k, r.m);
    printf("\n");
    printf("fp8_gemm_check: decode M <= %d: linear faster than act quant + block FP8 in %d of %d cases; M=1 us, "
           "linear / quant + block:", DECODE_M, lin_wins, decode_cases);
    for (const result &r : res)
        if (r.m == 1)
            printf(" %dx%d %.1f / %.1f;", r.n, r.k, r.t_lin, r.t_quant + r.t_block);
    printf("\n");
    int rows_wins = 0, async_wins = 0, rows_cases = 0, rows_same = 0;
    for (const result &r : res)
        if (r.m == 1) {
            rows_cases++;
            rows_wins += r.t_lin_rows < r.t_lin && r.t_lin_rows < r.t_lin_async;
            async_wins += r.t_lin_async < r.t_lin && r.t_lin_async <= r.t_lin_rows;
            rows_same += r.lin_rows_same && r.lin_async_same;
        }
    printf("fp8_gemm_check: one token, linear_k / linear_rows_k / linear_async_k (DF_CUDA_LINEAR_ONE=rows, async): the "
           "same bits in %d of %d shapes, rows fastest in %d, async in %d; us:", rows_same, rows_cases, rows_wins,
           async_wins);
    for (const result &r : res)
        if (r.m == 1)
            printf(" %dx%d %.1f / %.1f / %.1f;", r.n, r.k, r.t_lin, r.t_lin_rows, r.t_lin_async);
    printf("\n");
    return failed;
}

int main(void)
{
    const double t_start = seconds();
    /* linear_k at one token unless a case says otherwise, whatever DF_CUDA_LINEAR_ONE says */
    dfc::linear_one = dfc::LINEAR_ONE_WARP;
    const size_t v = df_lt_version();
    printf("fp8_gemm_check: cuBLASLt %zu.%zu.%zu\n", v / 10000, v / 100 % 100, v % 100);
    cudaDeviceProp prop;
    cudaError_t e = cudaGetDeviceProperties(&prop, 0);
    if (e != cudaSuccess) {
        fprintf(stderr, "fp8_gemm_check: no CUDA device: %s\n", cudaGetErrorString(e));
        return 1;
    }
    printf("fp8_gemm_check: %s, compute capability %d.%d, %d SMs\n", prop.name, prop.major, prop.minor,
           prop.multiProcessorCount);
    if (prop.major != 9) {
        fprintf(stderr, "fp8_gemm_check: needs a Hopper GPU (compute capability 9.x), found %d.%d\n", prop.major,
                prop.minor);
        return 1;
    }
    CUDA_OK(cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking));
    for (int c = 0; c < 256; c++)
        e4m3_lut[c] = e4m3_to_f32((uint8_t)c);
    char err[256];
    const size_t ws_bytes = (size_t)64 << 20;
    void *ws = dalloc<unsigned char>(ws_bytes);
    struct df_lt *lt = df_lt_create(ws, ws_bytes, err, sizeof err);
    if (!lt) {
        fprintf(stderr, "fp8_gemm_check: %s\n", err);
        return 1;
    }

    const int widen_bad = check_widen() + check_act_quant();
    std::vector<result> res;
    int fixed_same = 0, fixed_bad = 0;
    for (const shape &sh : SHAPES) {
        data d = {};
        make_data(d, sh.n, sh.k);
        printf("%s: %d x %d, weights in %d copies (%d bf16)\n", sh.what, sh.n, sh.k, d.ncopy, d.ncopy_b);
        fflush(stdout);
        for (int m : MS) {
            res.push_back(run_case(lt, d, sh, m, t_start));
            fflush(stdout);
        }
        for (bool bf16 : { false, true })
            for (int plan_m : { 256, 512 }) {
                const int fixed = fixed_algorithm(lt, d, res, plan_m, bf16);
                fixed_same += fixed > 0;
                fixed_bad += fixed < 0;
            }
        free_data(d);
    }
    df_lt_destroy(lt);
    CUDA_OK(cudaFree(ws));

    printf("fp8_gemm_check: fixed algorithm (the backend's: FP8 and bf16, planned at M = 256 and 512, split-K off, "
           "run at every M): tokens 0-3 bit-identical at M = 1 .. %d to M = 4 in %d of %zu cases, %d could not run\n",
           MMAX, fixed_same, 4 * (sizeof SHAPES / sizeof SHAPES[0]), fixed_bad);
    const int failed = report(res) + widen_bad + fixed_bad;
    printf("fp8_gemm_check: %.0f s\n", seconds() - t_start);
    return failed ? 1 : 0;
}
