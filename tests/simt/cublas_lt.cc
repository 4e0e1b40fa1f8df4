/* cublas_lt.cc: cuBLASLt's matmul in the emulated builds (cublasLt.h; tests/simt/README.md).
 *
 * What a plan can ask for is what runtime/cuda/lt_gemm.cu asks of cuBLASLt on Hopper, and the
 * same requests are refused:
 *   - compute CUBLAS_COMPUTE_32F, scale type CUDA_R_32F; D of CUDA_R_32F or CUDA_R_16BF, C of D's
 *     type and shape;
 *   - e4m3 A and B: "TN" only (A transposed, B not), leading dimensions of A and B multiples of
 *     16 bytes; one scale per tensor (fast accumulation allowed), or A in 128x128 blocks
 *     (BLK128x128_32F) with B in 1x128 blocks (VEC128_32F), whose heuristic offers nothing
 *     without scale pointers (NVIDIA/CUDALibrarySamples issue #274) nor for a number of B columns
 *     that is not a multiple of 4 (cuBLASLt 13.1 on an H200 offered none for 1 and 7 and did for
 *     4 and 16: tests/cuda/fp8_gemm_check, 2026-11-28);
 *   - bf16 A and B: any transposes, no scales (scale pointers on a bf16 problem are an error).
 * The heuristic returns up to 3 candidates, the first splitting k in two and using the whole
 * workspace the preference allows, the second half of it, the third none; AlgoCheck accepts each
 * of them at any row count the problem allows (a test may make one refuse small ones:
 * simt::lt_refuse_below). An algorithm runs only on pointers with the
 * alignments it was chosen for (the preference's minimums, 256 bytes where none was given; the
 * scale pointers' alignment is not checked), and only with split-K off: the emulation sums k in
 * one sequence, and lt_gemm.cu turns split-K off for batch invariance (df_lt_set_rows), which
 * the emulated models thereby check.
 *
 * cublasLtMatmul reads alpha and beta (host pointers) and the descriptor's scale pointers when it
 * is called, as the device kernel takes its parameters, and enqueues the product on the stream
 * (runs it now, or records it into the graph being captured). The product is run as a kernel of
 * one thread, `simt::cublaslt_matmul`, so that a bad address is reported naming it; it first
 * fills the algorithm's workspace with 0xff bytes, as a kernel using it would overwrite it. The
 * arithmetic is cuBLAS's definition of the operation (the cuBLAS documentation, cublasLtMatmul and
 * "Scaling factors layouts"), its order this file's: f32 sums of exact products, per 128-deep
 * block and then scaled where the operands are block-scaled; the device's order is its own, so
 * the emulated bits are not the GPU's. */
#include "cublasLt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct cublasLtContext {
    int unused;
};

struct cublasLtMatmulDescOpaque {
    cublasComputeType_t compute;
    cudaDataType_t scale_type;
    int32_t trans_a = CUBLAS_OP_N, trans_b = CUBLAS_OP_N;
    int8_t fast_accum = 0;
    int32_t scale_mode_a = CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F, scale_mode_b = CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F;
    const void *scale_a = nullptr, *scale_b = nullptr;
};

struct cublasLtMatrixLayoutOpaque {
    cudaDataType_t type;
    uint64_t rows, cols;
    int64_t ld;
};

struct cublasLtMatmulPreferenceOpaque {
    uint64_t max_workspace = 0;
    uint32_t align[4] = { 256, 256, 256, 256 };
};

namespace {

constexpr int BLOCK = 128;
constexpr int CANDIDATES = 3, FIRST_ID = 66; /* candidate i's CUBLASLT_ALGO_CONFIG_ID: FIRST_ID + i */
uint64_t refuse_below[CANDIDATES];          /* simt::lt_refuse_below */
/* the bytes of each algorithm configuration attribute, as cublasLt.h declares them */
constexpr size_t CONFIG_BYTES[7] = { 4, 4, 4, 4, 4, 4, 2 };

/* OCP FP8 E4M3 (e4m3fn): bias 7, no infinities, S.1111.111 is NaN. */
float e4m3_value(uint8_t code)
{
    const int e = code >> 3 & 15, m = code & 7;
    const float v = e == 15 && m == 7 ? NAN : e ? ldexpf(1.0f + m / 8.0f, e - 7) : ldexpf(m / 8.0f, -6);
    return code & 0x80 ? -v : v;
}

float bf16_value(uint16_t bits)
{
    const uint32_t b = (uint32_t)bits << 16;
    float v;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* f32 to bf16, to nearest even (NaN stays NaN). */
uint16_t bf16_bits(float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    if (isnan(v))
        return (uint16_t)(b >> 16 | 0x40);
    return (uint16_t)((b + 0x7fffu + (b >> 16 & 1u)) >> 16);
}

float element(const void *p, cudaDataType_t t, size_t i)
{
    switch (t) {
    case CUDA_R_8F_E4M3: return e4m3_value(((const uint8_t *)p)[i]);
    case CUDA_R_16BF: return bf16_value(((const uint16_t *)p)[i]);
    default: return ((const float *)p)[i];
    }
}

bool block_scaled(const cublasLtMatmulDescOpaque &d)
{
    return d.scale_mode_a != CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F ||
           d.scale_mode_b != CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F;
}

/* The problem a descriptor and four layouts state, checked as cuBLASLt checks it: SUCCESS, or why
 * not (INVALID_VALUE: the shapes disagree; NOT_SUPPORTED: no algorithm does this). */
cublasStatus_t check_problem(const cublasLtMatmulDescOpaque &d, const cublasLtMatrixLayoutOpaque &a,
                             const cublasLtMatrixLayoutOpaque &b, const cublasLtMatrixLayoutOpaque &c,
                             const cublasLtMatrixLayoutOpaque &dl)
{
    const uint64_t m = d.trans_a == CUBLAS_OP_T ? a.cols : a.rows, ka = d.trans_a == CUBLAS_OP_T ? a.rows : a.cols;
    const uint64_t kb = d.trans_b == CUBLAS_OP_T ? b.cols : b.rows, n = d.trans_b == CUBLAS_OP_T ? b.rows : b.cols;
    if (ka != kb || dl.rows != m || dl.cols != n || c.rows != m || c.cols != n || c.type != dl.type)
        return CUBLAS_STATUS_INVALID_VALUE;
    for (const cublasLtMatrixLayoutOpaque *l : { &a, &b, &c, &dl })
        if (l->ld < (int64_t)l->rows || l->rows == 0 || l->cols == 0)
            return CUBLAS_STATUS_INVALID_VALUE;
    if (d.compute != CUBLAS_COMPUTE_32F || d.scale_type != CUDA_R_32F || a.type != b.type ||
        (dl.type != CUDA_R_32F && dl.type != CUDA_R_16BF))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (a.type == CUDA_R_16BF) /* scales are for 8-bit operands (cublasLt.h, A_SCALE_POINTER) */
        return d.scale_a || d.scale_b ? CUBLAS_STATUS_INVALID_VALUE
               : block_scaled(d)     ? CUBLAS_STATUS_NOT_SUPPORTED
                                     : CUBLAS_STATUS_SUCCESS;
    if (a.type != CUDA_R_8F_E4M3 || d.trans_a != CUBLAS_OP_T || d.trans_b != CUBLAS_OP_N || a.ld % 16 || b.ld % 16)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (!block_scaled(d))
        return CUBLAS_STATUS_SUCCESS;
    if (d.scale_mode_a != CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F ||
        d.scale_mode_b != CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F || d.fast_accum || !d.scale_a || !d.scale_b ||
        n % 4)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    return CUBLAS_STATUS_SUCCESS;
}

float waves(const cublasLtMatrixLayoutOpaque &dl)
{
    return (float)(((dl.rows + BLOCK - 1) / BLOCK) * ((dl.cols + BLOCK - 1) / BLOCK)) / 132.0f;
}

/* Everything a product needs, copied when cublasLtMatmul is called. */
struct matmul {
    cublasLtMatmulDescOpaque desc;
    cublasLtMatrixLayoutOpaque a, b, c, d;
    float alpha, beta;
    const void *pa, *pb, *pc;
    void *pd, *workspace;
    size_t workspace_bytes;

    /* A, B as op(A) [m x k] and op(B) [k x n] */
    float a_at(uint64_t i, uint64_t k) const
    {
        return element(pa, a.type, desc.trans_a == CUBLAS_OP_T ? i * a.ld + k : k * a.ld + i);
    }
    float b_at(uint64_t k, uint64_t j) const
    {
        return element(pb, b.type, desc.trans_b == CUBLAS_OP_T ? k * b.ld + j : j * b.ld + k);
    }

    /* The scales of one 128-deep block of the sum for D[i][j]. Stored A (k x m, transposed):
     * BLK128x128_32F, a tensor of ceil(k / 128) rows padded to a multiple of 4, ceil(m / 128)
     * columns, column-major. Stored B (k x n): VEC128_32F, ceil(k / 128) x n, row-major
     * ("outer-dim-major": block kb of every column, then block kb + 1). */
    float block_scale(uint64_t i, uint64_t j, uint64_t kb) const
    {
        const uint64_t a_kblocks = ((a.rows + BLOCK - 1) / BLOCK + 3) / 4 * 4;
        return ((const float *)desc.scale_a)[i / BLOCK * a_kblocks + kb] *
               ((const float *)desc.scale_b)[kb * b.cols + j];
    }

    float tensor_scale() const
    {
        const float sa = desc.scale_a ? *(const float *)desc.scale_a : 1.0f,
                    sb = desc.scale_b ? *(const float *)desc.scale_b : 1.0f;
        return a.type == CUDA_R_8F_E4M3 ? sa * sb : 1.0f;
    }

    void run() const
    {
        memset(workspace, 0xff, workspace_bytes);
        const uint64_t m = d.rows, n = d.cols, k = desc.trans_a == CUBLAS_OP_T ? a.rows : a.cols;
        const bool blocks = block_scaled(desc);
        const float scale = blocks ? 1.0f : tensor_scale();
        for (uint64_t j = 0; j < n; j++)
            for (uint64_t i = 0; i < m; i++) {
                float acc = 0.0f;
                for (uint64_t k0 = 0; k0 < k; k0 += BLOCK) {
                    float part = 0.0f;
                    for (uint64_t kk = k0; kk < k && kk < k0 + BLOCK; kk++)
                        part += a_at(i, kk) * b_at(kk, j);
                    acc += blocks ? part * block_scale(i, j, k0 / BLOCK) : part;
                }
                float v = alpha * (acc * scale);
                if (beta != 0.0f)
                    v += beta * element(pc, c.type, j * c.ld + i);
                if (d.type == CUDA_R_32F)
                    ((float *)pd)[j * d.ld + i] = v;
                else
                    ((uint16_t *)pd)[j * d.ld + i] = bf16_bits(v);
            }
    }
};

template <typename T> cublasStatus_t destroyed(T *object)
{
    delete object;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t set(void *field, size_t field_bytes, const void *buf, size_t size)
{
    if (!buf || size != field_bytes)
        return CUBLAS_STATUS_INVALID_VALUE;
    memcpy(field, buf, size);
    return CUBLAS_STATUS_SUCCESS;
}

/* The algorithm's own limit on the problem (simt::lt_refuse_below). */
cublasStatus_t check_algo(const cublasLtMatmulAlgo_t &algo, const cublasLtMatrixLayoutOpaque &d)
{
    const int64_t i = algo.config[CUBLASLT_ALGO_CONFIG_ID] - FIRST_ID;
    return i >= 0 && i < CANDIDATES && d.cols < refuse_below[i] ? CUBLAS_STATUS_NOT_SUPPORTED : CUBLAS_STATUS_SUCCESS;
}

} /* namespace */

namespace simt {
/* The name a product's faults are reported under (run_grid names the kernel by its address). */
void cublaslt_matmul() {}

void lt_refuse_below(int index, uint64_t rows)
{
    if (index >= 0 && index < CANDIDATES)
        refuse_below[index] = rows;
}
} /* namespace simt */

size_t cublasLtGetVersion(void) { return 0; }

const char *cublasLtGetStatusString(cublasStatus_t status)
{
    switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    }
    return "CUBLAS_STATUS_UNKNOWN";
}

cublasStatus_t cublasLtCreate(cublasLtHandle_t *handle)
{
    *handle = new cublasLtContext{};
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle) { return destroyed(handle); }

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *desc, cublasComputeType_t compute, cudaDataType_t scale)
{
    *desc = new cublasLtMatmulDescOpaque{};
    (*desc)->compute = compute;
    (*desc)->scale_type = scale;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc) { return destroyed(desc); }

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr,
                                              const void *buf, size_t size)
{
    switch (attr) {
    case CUBLASLT_MATMUL_DESC_TRANSA: return set(&d->trans_a, sizeof d->trans_a, buf, size);
    case CUBLASLT_MATMUL_DESC_TRANSB: return set(&d->trans_b, sizeof d->trans_b, buf, size);
    case CUBLASLT_MATMUL_DESC_FAST_ACCUM: return set(&d->fast_accum, sizeof d->fast_accum, buf, size);
    case CUBLASLT_MATMUL_DESC_A_SCALE_POINTER: return set(&d->scale_a, sizeof d->scale_a, buf, size);
    case CUBLASLT_MATMUL_DESC_B_SCALE_POINTER: return set(&d->scale_b, sizeof d->scale_b, buf, size);
    case CUBLASLT_MATMUL_DESC_A_SCALE_MODE: return set(&d->scale_mode_a, sizeof d->scale_mode_a, buf, size);
    case CUBLASLT_MATMUL_DESC_B_SCALE_MODE: return set(&d->scale_mode_b, sizeof d->scale_mode_b, buf, size);
    }
    return CUBLAS_STATUS_INVALID_VALUE;
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *layout, cudaDataType_t type, uint64_t rows,
                                          uint64_t cols, int64_t ld)
{
    *layout = new cublasLtMatrixLayoutOpaque{ type, rows, cols, ld };
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout) { return destroyed(layout); }

cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t attr,
                                                const void *buf, size_t size)
{
    return set(attr == CUBLASLT_MATRIX_LAYOUT_ROWS ? &l->rows : &l->cols, sizeof l->rows, buf, size);
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *pref)
{
    *pref = new cublasLtMatmulPreferenceOpaque{};
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) { return destroyed(pref); }

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p,
                                                    cublasLtMatmulPreferenceAttributes_t attr, const void *buf,
                                                    size_t size)
{
    if (attr == CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES)
        return set(&p->max_workspace, sizeof p->max_workspace, buf, size);
    uint32_t a = 0; /* a power of two */
    const cublasStatus_t s = set(&a, sizeof a, buf, size);
    if (s != CUBLAS_STATUS_SUCCESS || a == 0 || (a & (a - 1)))
        return CUBLAS_STATUS_INVALID_VALUE;
    p->align[attr - CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES] = a;
    return s;
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a,
                                              cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c,
                                              cublasLtMatrixLayout_t d, cublasLtMatmulPreference_t pref,
                                              int requested, cublasLtMatmulHeuristicResult_t *results, int *returned)
{
    *returned = 0;
    if (requested < 1)
        return CUBLAS_STATUS_INVALID_VALUE;
    const cublasStatus_t s = check_problem(*desc, *a, *b, *c, *d);
    if (s != CUBLAS_STATUS_SUCCESS)
        return s;
    for (int i = 0; i < CANDIDATES && i < requested; i++) {
        cublasLtMatmulHeuristicResult_t &r = results[i];
        r = cublasLtMatmulHeuristicResult_t{};
        /* id, tile, split-K (the first candidate splits, reducing in place), reduction, swizzle,
         * stages, cluster */
        const int64_t config[7] = { FIRST_ID + i, 20 + i, i == 0 ? 2 : 1, i == 0 ? CUBLASLT_REDUCTION_SCHEME_INPLACE : 0,
                                    i, 8 + i, 1 };
        memcpy(r.algo.config, config, sizeof config);
        memcpy(r.algo.align, pref->align, sizeof r.algo.align);
        r.algo.workspace = i == 0 ? pref->max_workspace : i == 1 ? pref->max_workspace / 2 : 0;
        r.workspaceSize = r.algo.workspace;
        r.wavesCount = waves(*d);
        (*returned)++;
    }
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulAlgoCheck(cublasLtHandle_t, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a,
                                       cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                       const cublasLtMatmulAlgo_t *algo, cublasLtMatmulHeuristicResult_t *result)
{
    cublasStatus_t s = check_problem(*desc, *a, *b, *c, *d);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = check_algo(*algo, *d);
    if (s != CUBLAS_STATUS_SUCCESS)
        return s;
    *result = cublasLtMatmulHeuristicResult_t{};
    result->algo = *algo;
    result->workspaceSize = algo->workspace;
    result->wavesCount = waves(*d);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulAlgoConfigSetAttribute(cublasLtMatmulAlgo_t *algo,
                                                    cublasLtMatmulAlgoConfigAttributes_t attr, const void *buf,
                                                    size_t size)
{
    if ((unsigned)attr >= 7 || size != CONFIG_BYTES[attr] || !buf)
        return CUBLAS_STATUS_INVALID_VALUE;
    int64_t v = 0; /* little-endian: the low bytes */
    memcpy(&v, buf, size);
    algo->config[attr] = v;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulAlgoConfigGetAttribute(const cublasLtMatmulAlgo_t *algo,
                                                    cublasLtMatmulAlgoConfigAttributes_t attr, void *buf, size_t size,
                                                    size_t *written)
{
    if ((unsigned)attr >= 7)
        return CUBLAS_STATUS_INVALID_VALUE;
    *written = CONFIG_BYTES[attr];
    if (size == 0 && !buf)
        return CUBLAS_STATUS_SUCCESS;
    if (size != CONFIG_BYTES[attr] || !buf)
        return CUBLAS_STATUS_INVALID_VALUE;
    memcpy(buf, &algo->config[attr], size);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t, cublasLtMatmulDesc_t desc, const void *alpha, const void *a,
                              cublasLtMatrixLayout_t a_layout, const void *b, cublasLtMatrixLayout_t b_layout,
                              const void *beta, const void *c, cublasLtMatrixLayout_t c_layout, void *d,
                              cublasLtMatrixLayout_t d_layout, const cublasLtMatmulAlgo_t *algo, void *workspace,
                              size_t workspace_bytes, cudaStream_t stream)
{
    const cublasStatus_t s = check_problem(*desc, *a_layout, *b_layout, *c_layout, *d_layout);
    if (s != CUBLAS_STATUS_SUCCESS)
        return s;
    if (!algo || !alpha || !beta || !a || !b || !d || algo->workspace > workspace_bytes ||
        (algo->workspace && !workspace))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (algo->config[CUBLASLT_ALGO_CONFIG_SPLITK_NUM] != 1) /* the sums are emulated in one sequence only */
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (check_algo(*algo, *d_layout) != CUBLAS_STATUS_SUCCESS)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    const void *const pointers[4] = { a, b, c, d };
    for (int i = 0; i < 4; i++)
        if ((uintptr_t)pointers[i] % algo->align[i])
            return CUBLAS_STATUS_NOT_SUPPORTED;
    const matmul mm{ *desc, *a_layout, *b_layout, *c_layout, *d_layout, *(const float *)alpha, *(const float *)beta,
                     a, b, c, d, workspace, algo->workspace };
    simt::stream_enqueue(stream, [mm]() {
        simt::run_grid(dim3(1), dim3(1), 0, (const void *)&simt::cublaslt_matmul, [&mm]() { mm.run(); });
    });
    return CUBLAS_STATUS_SUCCESS;
}
