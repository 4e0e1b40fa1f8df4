/* lt_linear.cu: the products of the reduced-precision activation modes through cuBLASLt
 * (cuda_rt.h, df_cuda_lt_linear; the plans are lt_gemm.h's): FP8 activations through the
 * block-scaled FP8 GEMM, bf16 activations through the bf16 GEMM.
 *
 * Which products: those the generator renders as linear_fp8gemm_* or linear_bf16gemm_*
 * (gen/shapes.lua, gemm: CUDA, deploy.activations "fp8" or "bf16", a weight of that type whose
 * k is a multiple of 16 (FP8) or 8 (bf16) and whose rows are a multiple of 4). The others keep
 * the backend's own kernels, on the same prepared inputs.
 *
 * Batch invariance. cuBLASLt's heuristic picks its algorithm (tile, split-K) per shape AND per
 * number of rows, so a token's sums could change with the batch. Here each shape has one plan,
 * made at start-up, the heuristic asked for PLAN_ROWS rows (or the most the shape runs,
 * the chunk's or the batch's, where that is more), so that builds of one model with different
 * prefill chunks up to PLAN_ROWS pick the same algorithm: the first of the heuristic's
 * candidates that runs with split-K off at every row count up to those, from one token's (4
 * rows for FP8, 1 for bf16) (df_lt_fix, cublasLtMatmulAlgoCheck),
 * then run at every row count (df_lt_set_rows, checked again at each new count): the tile over the k dimension and its order are the
 * algorithm's, whatever the rows. Whether that makes a token's outputs bit-identical at every
 * row count is a property of cuBLASLt's kernels that only a GPU can show:
 * tests/cuda/fp8_gemm_check ("fixed algorithm") and the conformance's invariance checks of
 * tiny_fp8act_cuda and tiny_bf16act_cuda measure it.
 *
 * Nothing is allocated on the device: the prepared input, its scales and cuBLASLt's workspace
 * are buffers of the plan (gemm_in, gemm_scales, gemm_ws). The plans are host objects, made at
 * start-up by the generated init (forward.c: df_cuda_lt_linear_plan for each shape), so that no
 * step pays for them: on an H200 a model's first step took 1.1 to 2.1 s longer while they were
 * made there (2026-11-30). A step that finds its shape unplanned, or planned for fewer rows
 * than it may run, or given another workspace than cuBLASLt's handle holds, stops the binary
 * (a generator's fault: tests/gen/golden.sh checks the init). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_rt.h"
#include "lt_gemm.h"

namespace {

constexpr int MAX_SHAPES = 64;
constexpr int PLAN_ROWS = 512; /* the rows every plan is made for, at least (a common prefill chunk) */
const char *const KIND_NAME[2] = { "FP8", "bf16" };

struct gemm_shape {
    enum df_cuda_gemm kind;
    int n_out, k;
    int planned;              /* the most rows the plan was checked for */
    int rows;                 /* the rows the plan is set to run now */
    struct df_lt_gemm *plan;
};

struct {
    struct df_lt *lt;
    void *workspace; /* the one lt was made with */
    gemm_shape shapes[MAX_SHAPES];
    int count;
} st;

/* No way back to the caller from inside a step: report and exit 1, as a CUDA error does. */
[[noreturn]] void fail(enum df_cuda_gemm kind, int n_out, int k, int rows, const char *what, const char *why)
{
    fprintf(stderr, "%s: cuBLASLt %s GEMM %dx%d on %d rows: %s%s%s\n", df_model.manifest->model_name,
            KIND_NAME[kind], n_out, k, rows, what, why ? ": " : "", why ? why : "");
    exit(1);
}

/* The rows a GEMM of this kind runs for n tokens: the block-scaled FP8 one needs a multiple of 4. */
int gemm_rows(enum df_cuda_gemm kind, int n)
{
    return kind == DF_CUDA_GEMM_FP8 ? df_fp8_gemm_rows(n) : n;
}

gemm_shape *find(enum df_cuda_gemm kind, int n_out, int k)
{
    for (int i = 0; i < st.count; i++)
        if (st.shapes[i].kind == kind && st.shapes[i].n_out == n_out && st.shapes[i].k == k)
            return &st.shapes[i];
    return NULL;
}

} /* namespace */

extern "C" void df_cuda_lt_linear_plan(enum df_cuda_gemm kind, int n_out, int k, int cap, void *workspace)
{
    char err[256];
    if (!st.lt) {
        if (!(st.lt = df_lt_create(workspace, DF_CUDA_GEMM_WS_BYTES, err, sizeof err)))
            fail(kind, n_out, k, 0, "cannot create cuBLASLt's handle", err);
        st.workspace = workspace;
    } else if (workspace != st.workspace) {
        fail(kind, n_out, k, 0, "planned with another workspace than the one cuBLASLt's handle holds", NULL);
    }
    const int rows = gemm_rows(kind, cap > PLAN_ROWS ? cap : PLAN_ROWS);
    const gemm_shape *seen = find(kind, n_out, k);
    if (seen) { /* planned for another of its products: the same rows unless cap passes PLAN_ROWS */
        if (seen->planned < rows)
            fail(kind, n_out, k, rows, "planned before for fewer rows", NULL);
        return;
    }
    if (st.count == MAX_SHAPES)
        fail(kind, n_out, k, 0, "more distinct shapes than the backend's table holds", NULL);
    struct df_lt_gemm *plan = df_lt_plan(st.lt, kind == DF_CUDA_GEMM_FP8 ? DF_LT_FP8_BLOCK : DF_LT_BF16,
                                         DF_LT_OUT_F32, n_out, k, rows, err, sizeof err);
    if (!plan)
        fail(kind, n_out, k, rows, "no plan", err);
    /* one algorithm for every step, from a decode of one token to a whole chunk, checked at every
     * row count a step can have and more (so that no step finds it refused) */
    const int rc = df_lt_fix(plan, gemm_rows(kind, 1), kind == DF_CUDA_GEMM_FP8 ? 4 : 1);
    if (rc != 0)
        fail(kind, n_out, k, rows, "no candidate of the heuristic runs every row count up to the most", df_lt_status(rc));
    st.shapes[st.count++] = gemm_shape{ kind, n_out, k, rows, rows, plan };
}

extern "C" void df_cuda_lt_linear(enum df_cuda_gemm kind, int n_out, int k, int cap, const unsigned char *w,
                                  const unsigned char *w_scale, const float *x, int n, float *y, unsigned char *in,
                                  float *scales, void *workspace, int reuse_input)
{
    if (n <= 0) /* a prefill chunk in which no prompt ends has no logits rows */
        return;
    gemm_shape *s = find(kind, n_out, k);
    if (!s)
        fail(kind, n_out, k, n, "not planned: the model's init plans every GEMM shape", NULL);
    if (workspace != st.workspace)
        fail(kind, n_out, k, n, "another workspace than the one cuBLASLt's handle holds", NULL);
    if (gemm_rows(kind, cap) > s->planned)
        fail(kind, n_out, k, cap, "planned for fewer rows than this product may run", NULL);
    const int rows = gemm_rows(kind, n);
    if (s->rows != rows) {
        const int rc = df_lt_set_rows(s->plan, rows);
        if (rc != 0)
            fail(kind, n_out, k, rows, "the shape's algorithm cannot run this many rows", df_lt_status(rc));
        s->rows = rows;
    }
    cudaStream_t stream = df_cuda_stream();
    if (!reuse_input) {
        const int e = kind == DF_CUDA_GEMM_FP8 ? df_fp8_act_quant(x, rows, k, in, scales, stream)
                                               : df_bf16_convert(x, (size_t)rows * (size_t)k, in, stream);
        if (e != 0)
            fail(kind, n_out, k, rows, "its input could not be prepared", cudaGetErrorString((cudaError_t)e));
        df_cuda_launched(kind == DF_CUDA_GEMM_FP8 ? "fp8_act_quant" : "bf16_convert");
    }
    const int rc = df_lt_run(s->plan, w, (const float *)(const void *)w_scale, in, scales, y, stream);
    if (rc != 0)
        fail(kind, n_out, k, rows, "cublasLtMatmul", df_lt_status(rc));
    df_cuda_launched(kind == DF_CUDA_GEMM_FP8 ? "cublasLt_fp8_gemm" : "cublasLt_bf16_gemm");
}

extern "C" void df_cuda_lt_linear_describe(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < st.count; i++) {
        const gemm_shape *s = &st.shapes[i];
        char desc[256], item[320];
        df_lt_describe_algo(s->plan, desc, sizeof desc); /* the algorithm alone: what fixes the sums' order */
        const int n = snprintf(item, sizeof item, "%s%s %dx%d: %s", i ? "; " : "", KIND_NAME[s->kind], s->n_out, s->k,
                               desc);
        if (n < 0 || (size_t)n >= sizeof item || used + (size_t)n + 4 > len) { /* room for "..." and the NUL */
            if (used + 4 <= len)
                memcpy(buf + used, "...", 4);
            return;
        }
        memcpy(buf + used, item, (size_t)n + 1);
        used += (size_t)n;
    }
}

extern "C" void df_cuda_lt_linear_release(int report)
{
    for (int i = 0; i < st.count; i++) {
        const gemm_shape *s = &st.shapes[i];
        if (report) {
            char desc[256];
            df_lt_describe(s->plan, desc, sizeof desc);
            fprintf(stderr, "%s: cuda stats: %s GEMM %dx%d (one algorithm for every row count, split-K off): %s\n",
                    df_model.manifest->model_name, KIND_NAME[s->kind], s->n_out, s->k, desc);
        }
        df_lt_plan_destroy(s->plan);
    }
    st.count = 0;
    df_lt_destroy(st.lt);
    st.lt = NULL;
    st.workspace = NULL;
}
