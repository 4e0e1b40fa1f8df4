/* test_lt.cc: the emulated cuBLASLt (cublas_lt.cc) through the backend's own plans
 * (runtime/cuda/lt_gemm.cu), against lt_gemm.h's statement of the scale layouts, which the GPU
 * check verified on an H200 (tests/cuda/fp8_gemm_check, 2026-11-28). cublas_lt.cc reads the
 * layouts from its own reading of cuBLAS's documentation; here the reference reads them
 * through lt_gemm.h's index functions: the emulated models' GEMMs are right only if both agree.
 *
 * Per case (shapes chosen for the layouts' edges: a weight's last 128-row block partial, k-block
 * counts that need the scale rows' padding to 4, a k that is not a multiple of 128):
 *   1. df_fp8_act_quant (the emulated act_quant_k) = act_quant_host, codes and scales bit for bit;
 *   2. the block-scaled GEMM as lt_linear.cu runs it (df_lt_plan, then df_lt_fix: one algorithm,
 *      split-K off), f32 and bf16 outputs poisoned before, against the fp64 sum over the same
 *      codes and scales, per element within a bound on f32 summation:
 *      |y - ref| <= 2 (k + 16) 2^-24 sum|terms| (plus half a bf16 unit of |ref| for bf16 output);
 *      the workspace is all 0xff after it (the emulation's scribble);
 *   3. the per-tensor FP8 GEMM (one scale each), and the bf16 GEMM on df_bf16_convert's values,
 *      the same bound; df_bf16_convert = f32_bf16_bits bit for bit, subnormals, infinities and
 *      NaN included;
 *   4. a run captured into a graph reads its inputs at replay: the bf16 one the x written after
 *      the capture, the FP8 one the scales its call pointed to, rewritten after the capture
 *      (doubled: the output doubles exactly), though a later call pointed the plan elsewhere;
 *   5. refusals: a plan run before df_lt_fix (its first candidate splits k), a block-scaled plan
 *      set to 5 rows (cuBLASLt offers no algorithm for a number not a multiple of 4), x 8 bytes
 *      off the alignment its plan was chosen for;
 *   6. df_lt_fix's choice when candidates refuse small row counts (simt::lt_refuse_below): the
 *      first candidate that runs every row count from one token's up, and a failure, the first
 *      candidate left chosen, when none does.
 * Prints failures; exit 0 when everything passes. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include <cublasLt.h> /* the emulation's: simt::lt_refuse_below */
#include <cuda_runtime.h>

#include "kernels/mat.h"
#include "lt_gemm.h"
#include "quant.cuh"

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (failures++ < 20) {
        fputs("test_lt: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t next_u32()
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static float uniform(float lo, float hi) { return lo + (hi - lo) * (float)(next_u32() >> 8) / 16777216.0f; }

template <typename T> static T *device(size_t count)
{
    void *p = nullptr;
    if (cudaMalloc(&p, count * sizeof(T)) != cudaSuccess) {
        fprintf(stderr, "test_lt: cudaMalloc of %zu bytes\n", count * sizeof(T));
        exit(1);
    }
    return (T *)p;
}

static const size_t WS_BYTES = 1 << 20;
static unsigned char *workspace; /* cuBLASLt's, WS_BYTES */

/* The workspace as the emulated product leaves it: every byte 0xff. */
static bool scribbled()
{
    std::vector<unsigned char> ws(WS_BYTES);
    cudaMemcpy(ws.data(), workspace, WS_BYTES, cudaMemcpyDeviceToHost);
    for (unsigned char b : ws)
        if (b != 0xff)
            return false;
    return true;
}

/* Random e4m3 codes, none of them NaN. */
static std::vector<uint8_t> random_codes(size_t count)
{
    std::vector<uint8_t> codes(count);
    for (auto &c : codes) {
        do
            c = (uint8_t)next_u32();
        while ((c & 0x7f) == 0x7f);
    }
    return codes;
}

/* The bound of the header, item 2: f32 sums of `terms` against their fp64 value. */
static bool within(double y, double ref, double abs_sum, int k, bool bf16_out)
{
    const double bound = 2.0 * (k + 16) * ldexp(abs_sum, -24) + (bf16_out ? ldexp(fabs(ref), -8) : 0.0);
    return fabs(y - ref) <= bound && isfinite(y);
}

/* Every output got(i), i = t n + r, of m tokens by n rows against the fp64 sum over c < k of
 * term(t, r, c), within that bound; the first 3 misses reported under `what`. */
template <typename Got, typename Term>
static void check_outputs(const char *what, int m, int n, int k, bool bf16_out, Got got, Term term)
{
    int bad = 0;
    for (int t = 0; t < m; t++)
        for (int r = 0; r < n; r++) {
            double ref = 0.0, abs_sum = 0.0;
            for (int c = 0; c < k; c++) {
                const double v = term(t, r, c);
                ref += v;
                abs_sum += fabs(v);
            }
            const double y = got((size_t)t * n + r);
            if (!within(y, ref, abs_sum, k, bf16_out) && bad++ < 3)
                fail("%s: y[%d][%d] = %.9g, fp64 %.9g (sum|terms| %.3g)", what, t, r, y, ref, abs_sum);
        }
}

/* 4 for FP8: g (fixed, f32 output) run on d_xs gave y; the same run captured, then d_xs rewritten
 * with every scale doubled, then the plan run at once with a copy of the first scales: that run
 * gives y again, the replay twice y, exactly. */
static void captured_scales(struct df_lt_gemm *g, const uint8_t *d_w, const float *d_ws, const uint8_t *d_q,
                            float *d_xs, const std::vector<float> &xs, const std::vector<float> &y)
{
    float *d_xs_first = device<float>(xs.size()), *d_now = device<float>(y.size()),
          *d_replay = device<float>(y.size());
    cudaMemcpy(d_xs_first, xs.data(), xs.size() * 4, cudaMemcpyHostToDevice);
    cudaMemset(d_replay, 0xff, y.size() * 4);
    cudaStream_t s;
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal);
    const int rc = df_lt_run(g, d_w, d_ws, d_q, d_xs, d_replay, s);
    cudaStreamEndCapture(s, &graph);
    cudaGraphInstantiate(&exec, graph, 0);
    std::vector<float> doubled(xs);
    for (float &v : doubled)
        v *= 2.0f;
    cudaMemcpy(d_xs, doubled.data(), xs.size() * 4, cudaMemcpyHostToDevice);
    const int rc_now = df_lt_run(g, d_w, d_ws, d_q, d_xs_first, d_now, nullptr);
    cudaGraphLaunch(exec, s);
    cudaStreamSynchronize(s);
    std::vector<float> now(y.size()), replay(y.size()), twice(y.size());
    cudaMemcpy(now.data(), d_now, y.size() * 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(replay.data(), d_replay, y.size() * 4, cudaMemcpyDeviceToHost);
    for (size_t i = 0; i < y.size(); i++)
        twice[i] = 2.0f * y[i];
    if (rc || rc_now)
        fail("fp8 captured run: df_lt_run: %s", df_lt_status(rc ? rc : rc_now));
    if (memcmp(now.data(), y.data(), y.size() * 4))
        fail("fp8: a run with a copy of the scales differs from the first run");
    if (memcmp(replay.data(), twice.data(), y.size() * 4))
        fail("fp8: the replay did not read its call's scale pointer as rewritten after the capture");
    cudaMemcpy(d_xs, xs.data(), xs.size() * 4, cudaMemcpyHostToDevice);
    cudaGraphExecDestroy(exec), cudaGraphDestroy(graph), cudaStreamDestroy(s);
    cudaFree(d_xs_first), cudaFree(d_now), cudaFree(d_replay);
}

/* 3: the per-tensor FP8 GEMM, codes W [n x k] and x [m x k] with one scale each. */
static void tensor_case(struct df_lt *lt, int n, int k, int m)
{
    const std::vector<uint8_t> w = random_codes((size_t)n * k), x = random_codes((size_t)m * k);
    const float scales[2] = { 0.0625f, 0.375f };
    uint8_t *d_w = device<uint8_t>(w.size()), *d_x = device<uint8_t>(x.size());
    float *d_scales = device<float>(2), *d_y = device<float>((size_t)m * n);
    cudaMemcpy(d_w, w.data(), w.size(), cudaMemcpyHostToDevice);
    cudaMemcpy(d_x, x.data(), x.size(), cudaMemcpyHostToDevice);
    cudaMemcpy(d_scales, scales, sizeof scales, cudaMemcpyHostToDevice);
    cudaMemset(d_y, 0xff, (size_t)m * n * 4);
    char err[256];
    struct df_lt_gemm *g = df_lt_plan(lt, DF_LT_FP8_TENSOR, DF_LT_OUT_F32, n, k, m, err, sizeof err);
    if (!g) {
        fail("fp8 per tensor %dx%d m %d: no plan: %s", n, k, m, err);
        return;
    }
    int rc = df_lt_fix(g, 1, 1);
    if (rc == 0)
        rc = df_lt_run(g, d_w, d_scales, d_x, d_scales + 1, d_y, nullptr);
    if (rc != 0)
        fail("fp8 per tensor %dx%d m %d: %s", n, k, m, df_lt_status(rc));
    std::vector<float> y((size_t)m * n);
    cudaMemcpy(y.data(), d_y, y.size() * 4, cudaMemcpyDeviceToHost);
    check_outputs("fp8 per tensor", m, n, k, false, [&](size_t i) { return y[i]; }, [&](int t, int r, int c) {
        return (double)e4m3_to_f32(w[(size_t)r * k + c]) * e4m3_to_f32(x[(size_t)t * k + c]) * scales[0] * scales[1];
    });
    df_lt_plan_destroy(g);
    cudaFree(d_w), cudaFree(d_x), cudaFree(d_scales), cudaFree(d_y);
}

/* One block-scaled case: W [n x k] e4m3 codes with block scales, x [m x k]. */
static void fp8_case(struct df_lt *lt, int n, int k, int m)
{
    const int rows = df_fp8_gemm_rows(m);
    const std::vector<uint8_t> w = random_codes((size_t)n * k);
    std::vector<float> ws(df_fp8_wscale_count(n, k), NAN), x((size_t)rows * k);
    for (int r = 0; r < (n + 127) / 128; r++)
        for (int kb = 0; kb < df_fp8_kblocks(k); kb++)
            ws[df_fp8_wscale_index(r * 128, kb * 128, k)] = ldexpf(uniform(1.0f, 2.0f), -(int)(next_u32() % 7) - 6);
    for (int t = 0; t < rows; t++) {
        const float scale = ldexpf(1.0f, (int)(next_u32() % 9) - 4);
        for (int c = 0; c < k; c++)
            x[(size_t)t * k + c] = scale * uniform(-1.0f, 1.0f) * (c % 97 == 5 ? 20.0f : 1.0f);
    }
    std::vector<uint8_t> q_host((size_t)rows * k), q((size_t)rows * k);
    std::vector<float> xs_host(df_fp8_xscale_count(rows, k)), xs(xs_host.size());
    act_quant_host(x.data(), rows, k, q_host.data(), xs_host.data());

    uint8_t *d_w = device<uint8_t>(w.size()), *d_q = device<uint8_t>(q.size());
    float *d_ws = device<float>(ws.size()), *d_x = device<float>(x.size()), *d_xs = device<float>(xs.size());
    float *d_y = device<float>((size_t)rows * n);
    uint16_t *d_yb = device<uint16_t>((size_t)rows * n);
    cudaMemcpy(d_w, w.data(), w.size(), cudaMemcpyHostToDevice);
    cudaMemcpy(d_ws, ws.data(), ws.size() * 4, cudaMemcpyHostToDevice);
    cudaMemcpy(d_x, x.data(), x.size() * 4, cudaMemcpyHostToDevice);
    if (df_fp8_act_quant(d_x, rows, k, d_q, d_xs, nullptr) != 0)
        fail("fp8 %dx%d m %d: df_fp8_act_quant refused", n, k, m);
    cudaMemcpy(q.data(), d_q, q.size(), cudaMemcpyDeviceToHost);
    cudaMemcpy(xs.data(), d_xs, xs.size() * 4, cudaMemcpyDeviceToHost);
    if (q != q_host || memcmp(xs.data(), xs_host.data(), xs.size() * 4))
        fail("fp8 %dx%d m %d: df_fp8_act_quant differs from act_quant_host", n, k, m);

    for (const enum df_lt_out out : { DF_LT_OUT_F32, DF_LT_OUT_BF16 }) {
        char err[256];
        struct df_lt_gemm *g = df_lt_plan(lt, DF_LT_FP8_BLOCK, out, n, k, rows, err, sizeof err);
        if (!g) {
            fail("fp8 %dx%d m %d: no plan: %s", n, k, m, err);
            continue;
        }
        void *y = out == DF_LT_OUT_F32 ? (void *)d_y : (void *)d_yb;
        if (df_lt_run(g, d_w, d_ws, d_q, d_xs, y, nullptr) == 0)
            fail("fp8 %dx%d m %d: a plan run before df_lt_fix (split-K on) was accepted", n, k, m);
        if (df_lt_fix(g, 4, 4) != 0)
            fail("fp8 %dx%d m %d: df_lt_fix found no candidate", n, k, m);
        cudaMemset(y, 0xff, (size_t)rows * n * (out == DF_LT_OUT_F32 ? 4 : 2)); /* NaN */
        cudaMemset(workspace, 0, WS_BYTES);
        const int rc = df_lt_run(g, d_w, d_ws, d_q, d_xs, y, nullptr);
        if (rc != 0)
            fail("fp8 %dx%d m %d: df_lt_run: %s", n, k, m, df_lt_status(rc));
        if (!scribbled())
            fail("fp8 %dx%d m %d: the workspace was not overwritten", n, k, m);
        std::vector<float> yf((size_t)rows * n);
        std::vector<uint16_t> yb((size_t)rows * n);
        if (out == DF_LT_OUT_F32)
            cudaMemcpy(yf.data(), d_y, yf.size() * 4, cudaMemcpyDeviceToHost);
        else
            cudaMemcpy(yb.data(), d_yb, yb.size() * 2, cudaMemcpyDeviceToHost);
        char what[64];
        snprintf(what, sizeof what, "fp8 %dx%d m %d %s out", n, k, m, out == DF_LT_OUT_F32 ? "f32" : "bf16");
        check_outputs(
            what, rows, n, k, out == DF_LT_OUT_BF16,
            [&](size_t i) { return out == DF_LT_OUT_F32 ? yf[i] : bf16_to_f32(yb[i]); },
            [&](int t, int r, int c) {
                return (double)e4m3_to_f32(w[(size_t)r * k + c]) * ws[df_fp8_wscale_index(r, c, k)] *
                       e4m3_to_f32(q[(size_t)t * k + c]) * xs[df_fp8_xscale_index(t, c / DF_FP8_BLOCK, rows)];
            });
        if (out == DF_LT_OUT_F32) {
            captured_scales(g, d_w, d_ws, d_q, d_xs, xs, yf);
            /* 5. fewer rows than a multiple of 4; x off the plan's alignment */
            if (df_lt_set_rows(g, 5) == 0)
                fail("fp8 %dx%d: a block-scaled GEMM set to 5 rows was accepted", n, k);
            if (df_lt_set_rows(g, rows) != 0)
                fail("fp8 %dx%d: set back to %d rows refused", n, k, rows);
            if (df_lt_run(g, d_w, d_ws, d_q + 8, d_xs, y, nullptr) == 0)
                fail("fp8 %dx%d m %d: x 8 bytes off its plan's alignment was accepted", n, k, m);
        }
        df_lt_plan_destroy(g);
    }
    cudaFree(d_w), cudaFree(d_q), cudaFree(d_ws), cudaFree(d_x), cudaFree(d_xs), cudaFree(d_y), cudaFree(d_yb);
}

/* The bf16 GEMM on df_bf16_convert's values; then the same run captured and replayed. */
static void bf16_case(struct df_lt *lt, int n, int k, int m)
{
    std::vector<uint16_t> w((size_t)n * k);
    for (auto &b : w)
        b = f32_bf16_bits(uniform(-1.0f, 1.0f));
    std::vector<float> x((size_t)m * k);
    for (auto &v : x)
        v = uniform(-3.0f, 3.0f); /* not rounded to bf16 yet */
    uint16_t *d_w = device<uint16_t>(w.size()), *d_xb = device<uint16_t>(x.size());
    float *d_x = device<float>(x.size()), *d_y = device<float>((size_t)m * n);
    cudaMemcpy(d_w, w.data(), w.size() * 2, cudaMemcpyHostToDevice);
    cudaMemcpy(d_x, x.data(), x.size() * 4, cudaMemcpyHostToDevice);
    char err[256];
    struct df_lt_gemm *g = df_lt_plan(lt, DF_LT_BF16, DF_LT_OUT_F32, n, k, m, err, sizeof err);
    if (!g) {
        fail("bf16 %dx%d m %d: no plan: %s", n, k, m, err);
        return;
    }
    if (df_lt_fix(g, 1, 1) != 0)
        fail("bf16 %dx%d m %d: df_lt_fix found no candidate", n, k, m);
    cudaStream_t s;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    /* 4. captured while x holds zeros: the replay must read the x written after */
    cudaMemset(d_xb, 0, x.size() * 2);
    cudaMemset(d_y, 0xff, (size_t)m * n * 4);
    cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal);
    const int rc = df_lt_run(g, d_w, nullptr, d_xb, nullptr, d_y, s);
    cudaStreamEndCapture(s, &graph);
    cudaGraphInstantiate(&exec, graph, 0);
    if (rc != 0)
        fail("bf16 %dx%d m %d: df_lt_run: %s", n, k, m, df_lt_status(rc));
    if (df_bf16_convert(d_x, x.size(), (uint8_t *)d_xb, nullptr) != 0)
        fail("bf16: df_bf16_convert refused");
    cudaGraphLaunch(exec, s);
    cudaStreamSynchronize(s);
    std::vector<uint16_t> xb(x.size());
    std::vector<float> y((size_t)m * n);
    cudaMemcpy(xb.data(), d_xb, xb.size() * 2, cudaMemcpyDeviceToHost);
    cudaMemcpy(y.data(), d_y, y.size() * 4, cudaMemcpyDeviceToHost);
    for (size_t i = 0; i < x.size(); i++)
        if (xb[i] != f32_bf16_bits(x[i])) {
            fail("bf16: df_bf16_convert(%.9g) = %04x, f32_bf16_bits %04x", x[i], xb[i], f32_bf16_bits(x[i]));
            break;
        }
    check_outputs("bf16 (graph replay)", m, n, k, false, [&](size_t i) { return y[i]; }, [&](int t, int r, int c) {
        return (double)bf16_to_f32(w[(size_t)r * k + c]) * bf16_to_f32(xb[(size_t)t * k + c]);
    });
    cudaGraphExecDestroy(exec), cudaGraphDestroy(graph), cudaStreamDestroy(s);
    df_lt_plan_destroy(g);
    cudaFree(d_w), cudaFree(d_xb), cudaFree(d_x), cudaFree(d_y);
}

/* 3: df_bf16_convert on the values where roundings differ: subnormals, infinities, NaN, ties. */
static void bf16_specials()
{
    const float x[8] = { 1e-40f, -3e-39f, INFINITY, -INFINITY, NAN, -0.0f, 1.0f + 0x1p-8f, 1.0f + 0x1.8p-7f };
    float *d_x = device<float>(8);
    uint16_t *d_b = device<uint16_t>(8), b[8];
    cudaMemcpy(d_x, x, sizeof x, cudaMemcpyHostToDevice);
    if (df_bf16_convert(d_x, 8, (uint8_t *)d_b, nullptr) != 0)
        fail("bf16: df_bf16_convert refused");
    cudaMemcpy(b, d_b, sizeof b, cudaMemcpyDeviceToHost);
    for (int i = 0; i < 8; i++)
        if (b[i] != f32_bf16_bits(x[i]))
            fail("bf16: df_bf16_convert(%a) = %04x, f32_bf16_bits %04x", x[i], b[i], f32_bf16_bits(x[i]));
    cudaFree(d_x), cudaFree(d_b);
}

/* 6. */
static void fix_fallback(struct df_lt *lt)
{
    char err[256], desc[256];
    struct df_lt_gemm *g = df_lt_plan(lt, DF_LT_FP8_BLOCK, DF_LT_OUT_F32, 256, 256, 16, err, sizeof err);
    if (!g) {
        fail("fallback: no plan: %s", err);
        return;
    }
    simt::lt_refuse_below(0, 8); /* the first candidate refuses 4 rows: the second is chosen */
    if (df_lt_fix(g, 4, 4) != 0)
        fail("fallback: df_lt_fix refused with a candidate that runs every row count");
    df_lt_describe_algo(g, desc, sizeof desc);
    if (strncmp(desc, "cand 1/3 ", 9))
        fail("fallback: df_lt_fix chose \"%s\", want candidate 1", desc);
    simt::lt_refuse_below(1, 12), simt::lt_refuse_below(2, 16); /* and then no candidate runs 4 rows */
    if (df_lt_fix(g, 4, 4) == 0)
        fail("fallback: df_lt_fix accepted although no candidate runs 4 rows");
    df_lt_describe_algo(g, desc, sizeof desc);
    if (strncmp(desc, "cand 0/3 ", 9))
        fail("fallback: after the failure \"%s\" is chosen, want candidate 0", desc);
    for (int i = 0; i < 3; i++)
        simt::lt_refuse_below(i, 0);
    df_lt_plan_destroy(g);
}

int main()
{
    char err[256];
    workspace = device<unsigned char>(WS_BYTES);
    struct df_lt *lt = df_lt_create(workspace, WS_BYTES, err, sizeof err);
    if (!lt) {
        fprintf(stderr, "test_lt: %s\n", err);
        return 1;
    }
    fp8_case(lt, 200, 1408, 4); /* 11 k-blocks (scale rows padded to 12), a partial 128-row block */
    fp8_case(lt, 256, 256, 7);  /* m rounded up to 8 */
    fp8_case(lt, 130, 400, 12); /* k not a multiple of 128: a last block of 16 */
    fix_fallback(lt);
    tensor_case(lt, 72, 272, 3);
    bf16_case(lt, 96, 200, 3);
    bf16_specials();
    df_lt_destroy(lt);
    cudaFree(workspace);
    if (failures)
        fprintf(stderr, "test_lt: %d failures\n", failures);
    else
        printf("test_lt: all passed\n");
    return failures != 0;
}
