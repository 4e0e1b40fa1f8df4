/* test_simt.cc: the emulator's own checks (tests/simt/run.sh). Built as the emulated models are
 * (simt.h first, cuda_runtime.h), so these kernels are written as the backend's are.
 *
 *   test_simt           the collectives and cp.async against their definitions; exit 0 when all pass
 *   test_simt deadlock  half a warp at a shuffle, the other half at __syncthreads: the emulator
 *                       stops (exit 3, "deadlock")
 *   test_simt mask      a lane outside a shuffle's mask reaches it (exit 3)
 *   test_simt fault     a thread reads through a null pointer: the emulator names the kernel,
 *                       block and thread (exit 3)
 *   test_simt race      threads read a neighbour's shared slot with no barrier between: the
 *                       value read is the poison in one order or the other (exit 1)
 *   test_simt unrecorded  a kernel that no table of resources has (exit 3)
 *   test_simt hidden    a kernel of internal linkage: no name to find its resources by (exit 3) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>

static int failures;

static void expect(bool ok, const char *what, int lane, unsigned got, unsigned want)
{
    if (!ok && failures++ < 10)
        fprintf(stderr, "test_simt: %s: lane %d got %08x, want %08x\n", what, lane, got, want);
}

/* Two warps; out[8][64]: the shuffles' and the ballot's results, one row per operation. */
__global__ void collectives_k(unsigned *out)
{
    const int t = (int)threadIdx.x, l = t % 32;
    const unsigned v = 1000u * (unsigned)t + 7u;
    out[0 * 64 + t] = __shfl_xor_sync(0xffffffffu, v, 5);
    out[1 * 64 + t] = __shfl_up_sync(0xffffffffu, v, 3);
    out[2 * 64 + t] = __shfl_up_sync(0xffffffffu, v, 2, 8);
    out[3 * 64 + t] = __shfl_sync(0xffffffffu, v, 9, 16);
    out[4 * 64 + t] = __ballot_sync(0xffffffffu, l % 3 == 0 || t == 40);
    if (l < 16) /* a half-warp collective */
        out[5 * 64 + t] = __shfl_xor_sync(0x0000ffffu, v, 8);
    else
        out[5 * 64 + t] = 0;
    __shared__ unsigned slot[64];
    slot[t] = v;
    __syncthreads();
    out[6 * 64 + t] = slot[(t + 1) % 64];
    float f = (float)t;
    for (int m = 16; m > 0; m /= 2)
        f += __shfl_xor_sync(0xffffffffu, f, m);
    out[7 * 64 + t] = (unsigned)f;
}

static unsigned want_collective(int op, int t)
{
    const int l = t % 32, w0 = t - l;
    const auto v = [](int u) { return 1000u * (unsigned)u + 7u; };
    switch (op) {
    case 0: return v(w0 + (l ^ 5));
    case 1: return v(l >= 3 ? t - 3 : t);
    case 2: return v(l % 8 >= 2 ? t - 2 : t);
    case 3: return v(w0 + (l & ~15) + 9);
    case 4: {
        unsigned b = 0;
        for (int i = 0; i < 32; i++)
            b |= (unsigned)(i % 3 == 0 || w0 + i == 40) << i;
        return b;
    }
    case 5: return l < 16 ? v(w0 + (l ^ 8)) : 0;
    case 6: return v((t + 1) % 64);
    default: return (unsigned)(32 * (2 * w0 + 31) / 2); /* the sum of the warp's t */
    }
}

/* One thread copies 16 bytes to shared memory by cp.async: before the wait the slot holds the
 * poison, after it the bytes; a source size of 4 fills the other 12 with zeros; wait_group 1
 * leaves the later of two groups pending. */
__global__ void async_k(const unsigned *src, unsigned *out)
{
    __shared__ __align__(16) unsigned buf[12];
    simt::async_copy(buf, src, 16);
    simt::async_copy(buf + 4, src, 4);
    out[0] = buf[0];
    simt::async_commit();
    simt::async_copy(buf + 8, src, 16);
    simt::async_commit();
    simt::async_wait(1); /* the first group, not the second */
    for (int i = 0; i < 8; i++)
        out[1 + i] = buf[i];
    out[9] = buf[8];
    simt::async_wait(0);
    out[10] = buf[8];
}

/* Regressions, each a pattern CUDA allows: two half-warp collectives of different kinds waiting
 * at once; lanes that exit before a __syncthreads; a half warp's __syncwarp before a full-warp
 * shuffle; an xor shuffle with width 16 reading from the earlier segment. out[5][64]. */
__global__ void patterns_k(unsigned *out)
{
    const int t = (int)threadIdx.x, l = t % 32;
    const unsigned v = 1000u * (unsigned)t + 7u;
    if (l < 16)
        out[t] = __shfl_xor_sync(0x0000ffffu, v, 1);
    else
        out[t] = __ballot_sync(0xffff0000u, l % 2);
    if (l >= 16)
        __syncwarp(0xffff0000u);
    out[64 + t] = __shfl_sync(0xffffffffu, v, 31 - l);
    out[128 + t] = __shfl_xor_sync(0xffffffffu, v, 16, 16);
    out[192 + t] = (unsigned)(__shfl_xor_sync(0xffffffffu, (unsigned long long)v << 32 | (unsigned)t, 3) >> 32);
    if (t >= 32)
        return;
    __syncthreads(); /* the second warp has exited: it counts as arrived */
    out[256 + t] = (unsigned)t;
}

static unsigned want_pattern(int op, int t)
{
    const int l = t % 32, w0 = t - l;
    const auto v = [](int u) { return 1000u * (unsigned)u + 7u; };
    switch (op) {
    case 0: return l < 16 ? v(t ^ 1) : 0xaaaa0000u;
    case 1: return v(w0 + 31 - l);
    case 2: return l < 16 ? v(t) : v(t - 16); /* a later segment is out of reach: the lane's own value */
    case 3: return v(t ^ 3);
    default: return t < 32 ? (unsigned)t : 0xffffffffu;
    }
}

/* 2D blocks: threadIdx.x fastest, then y. out[t] = x + 100 y for the t-th thread. */
__global__ void index_k(unsigned *out)
{
    out[threadIdx.y * blockDim.x + threadIdx.x] = threadIdx.x + 100 * threadIdx.y;
}

/* mma.sync through the emulator, the fragments laid out as the PTX ISA says (g = lane / 4,
 * t = lane % 4), against D = C + A B computed plainly. A, B, C small integers (exact sums);
 * tf32: A[0][0] = 1 + 2^-20, whose bits below tf32's the instruction does not read. */
__global__ void mma_k(const float *A, const float *B, const float *C, float *D, float *D16)
{
    const int l = (int)threadIdx.x, g = l / 4, t = l % 4;
    uint32_t a[4], b0, b1;
    float d[4];
    for (int i = 0; i < 4; i++) {
        a[i] = __float_as_uint(A[(g + 8 * (i & 1)) * 16 + t + 4 * (i >> 1)]);
        d[i] = C[(g + 8 * (i >> 1)) * 8 + 2 * t + (i & 1)];
    }
    b0 = __float_as_uint(B[t * 8 + g]);
    b1 = __float_as_uint(B[(t + 4) * 8 + g]);
    simt::mma(simt::MMA_TF32, d, a, b0, b1);
    for (int i = 0; i < 4; i++)
        D[(g + 8 * (i >> 1)) * 8 + 2 * t + (i & 1)] = d[i];
    const auto bf = [](float x) { return __float_as_uint(x) >> 16; }; /* small integers: exact in bf16 */
    for (int i = 0; i < 4; i++) {
        const int r = g + 8 * (i & 1), c = 2 * t + 8 * (i >> 1);
        a[i] = bf(A[r * 16 + c]) | bf(A[r * 16 + c + 1]) << 16;
        d[i] = C[(g + 8 * (i >> 1)) * 8 + 2 * t + (i & 1)];
    }
    b0 = bf(B[2 * t * 8 + g]) | bf(B[(2 * t + 1) * 8 + g]) << 16;
    b1 = bf(B[(2 * t + 8) * 8 + g]) | bf(B[(2 * t + 9) * 8 + g]) << 16;
    simt::mma(simt::MMA_BF16, d, a, b0, b1);
    for (int i = 0; i < 4; i++)
        D16[(g + 8 * (i >> 1)) * 8 + 2 * t + (i & 1)] = d[i];
}

/* ldmatrix .x4 and .trans from dynamic shared memory: four 8 x 8 matrices of b16, element
 * (m, r, c) = 256 m + 16 r + c; out[lane][8]: the four registers, then the four transposed. */
__global__ void ldmatrix_k(uint32_t *out)
{
    uint16_t *tile = (uint16_t *)simt::dynamic_shared();
    const int l = (int)threadIdx.x;
    for (int i = l; i < 256; i += 32)
        tile[i] = (uint16_t)(256 * (i / 64) + 16 * (i / 8 % 8) + i % 8);
    __syncwarp();
    const uint16_t *row = tile + 64 * (l / 8) + 8 * (l % 8);
    simt::warp_collective(simt::LDMATRIX, 0xffffffffu, &row, sizeof row, out + 8 * l);
    simt::warp_collective(simt::LDMATRIX_T, 0xffffffffu, &row, sizeof row, out + 8 * l + 4);
}

/* a thread's mark, for the launches checked against a kernel's resources */
__global__ void mark_k(unsigned *out)
{
    out[threadIdx.x] = 1;
}
__global__ void wide_k(unsigned *out)
{
    out[threadIdx.x] = 4;
}

/* launched without a record of its resources, and without an exported name */
__global__ void unrecorded_k(unsigned *out)
{
    out[threadIdx.x] = 2;
}
static __global__ void hidden_k(unsigned *out)
{
    out[threadIdx.x] = 3;
}

__global__ void deadlock_k()
{
    if (threadIdx.x < 16)
        (void)__shfl_xor_sync(0xffffffffu, 1, 1);
    else
        __syncthreads();
}

__global__ void mask_k(int *out)
{
    out[threadIdx.x] = __shfl_xor_sync(0x0000ffffu, (int)threadIdx.x, 1);
}

__global__ void fault_k(const unsigned *p, unsigned *out)
{
    out[threadIdx.x] = p[threadIdx.x]; /* p is null: the bug */
}

__global__ void race_k(unsigned *out)
{
    __shared__ unsigned slot[64];
    slot[threadIdx.x] = threadIdx.x;
    out[threadIdx.x] = slot[(threadIdx.x + 63) % 64]; /* no __syncthreads before: the bug */
}

template <typename... P, typename... A> static void launch(void (*k)(P...), unsigned threads, A... args)
{
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(1);
    cfg.blockDim = dim3(threads);
    if (cudaLaunchKernelEx(&cfg, k, args...) != cudaSuccess) {
        fprintf(stderr, "test_simt: launch refused\n");
        exit(1);
    }
}

/* What ptxas would compile each kernel to need, made up here: a launch is checked against its
 * kernel's figures (cuda_runtime.cc, check_launch), and a kernel without them is not launched. */
static void register_resources()
{
    const auto name_of = simt::exported_name;
    static simt::KernelResources table[] = {
        { name_of((const void *)collectives_k), 32, 0, 0 },
        { name_of((const void *)async_k), 32, 0, 0 },
        { name_of((const void *)patterns_k), 32, 0, 0 },
        { name_of((const void *)mma_k), 32, 0, 0 },
        { name_of((const void *)deadlock_k), 32, 0, 0 },
        { name_of((const void *)mask_k), 32, 0, 0 },
        { name_of((const void *)fault_k), 32, 0, 0 },
        { name_of((const void *)race_k), 32, 0, 0 },
        { name_of((const void *)index_k), 81, 0, 0 },        /* a warp's 2592 registers take 2816 */
        { name_of((const void *)wide_k), 200, 0, 0 },        /* a warp's 6400, a block's warps counted by 4 */
        { name_of((const void *)mark_k), 16, 0, 256 },       /* __launch_bounds__(256) */
        { name_of((const void *)ldmatrix_k), 32, 40 << 10, 0 }, /* 40 KB of __shared__ */
    };
    static const simt::ResourceTable registered(table, sizeof table / sizeof *table);
}

int main(int argc, char **argv)
{
    register_resources();
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "deadlock")) {
        launch(deadlock_k, 32);
        return 0;
    }
    unsigned *out;
    cudaMalloc((void **)&out, 8 * 64 * sizeof *out);
    if (!strcmp(mode, "mask")) {
        launch(mask_k, 32, (int *)out);
        return 0;
    }
    if (!strcmp(mode, "fault")) {
        launch(fault_k, 32, (const unsigned *)nullptr, out);
        return 0;
    }
    if (!strcmp(mode, "unrecorded") || !strcmp(mode, "hidden")) {
        launch(mode[0] == 'u' ? unrecorded_k : hidden_k, 32, out);
        return 0;
    }
    if (!strcmp(mode, "race")) {
        launch(race_k, 64, out);
        for (int t = 0; t < 64; t++)
            if (out[t] != (unsigned)(t + 63) % 64) {
                fprintf(stderr, "test_simt: %s order: lane %d read %08x\n", getenv("DF_SIMT_ORDER") ? "reverse" : "forward",
                        t, out[t]);
                return 1;
            }
        return 0;
    }
    launch(collectives_k, 64, out);
    static const char *const ops[] = { "shfl_xor 5", "shfl_up 3", "shfl_up 2 width 8", "shfl 9 width 16", "ballot",
                                       "half-warp shfl_xor 8", "shared slot after __syncthreads", "xor butterfly sum" };
    for (int op = 0; op < 8; op++)
        for (int t = 0; t < 64; t++)
            expect(out[op * 64 + t] == want_collective(op, t), ops[op], t, out[op * 64 + t], want_collective(op, t));
    unsigned src[4] = { 0x11111111u, 0x22222222u, 0x33333333u, 0x44444444u };
    launch(async_k, 1, (const unsigned *)src, out);
    expect(out[0] == 0xffffffffu, "cp.async: before its wait", 0, out[0], 0xffffffffu);
    for (int i = 0; i < 8; i++) {
        const unsigned want = i < 4 ? src[i] : i == 4 ? src[0] : 0;
        expect(out[1 + i] == want, "cp.async: after its wait", i, out[1 + i], want);
    }
    expect(out[9] == 0xffffffffu, "cp.async: the later group after wait_group 1", 0, out[9], 0xffffffffu);
    expect(out[10] == src[0], "cp.async: the later group after wait_group 0", 0, out[10], src[0]);
    cudaMemset(out, 0xff, 8 * 64 * sizeof *out);
    launch(patterns_k, 64, out);
    static const char *const pats[] = { "half-warp shuffle beside a half-warp ballot", "shuffle after a half warp's __syncwarp",
                                        "xor 16 width 16", "64-bit shuffle", "__syncthreads after a warp exits" };
    for (int op = 0; op < 5; op++)
        for (int t = 0; t < 64; t++)
            expect(out[op * 64 + t] == want_pattern(op, t), pats[op], t, out[op * 64 + t], want_pattern(op, t));

    cudaLaunchConfig_t cfg2d = {};
    cfg2d.gridDim = dim3(1);
    cfg2d.blockDim = dim3(8, 4);
    cudaLaunchKernelEx(&cfg2d, index_k, out);
    for (int t = 0; t < 32; t++)
        expect(out[t] == (unsigned)(t % 8 + 100 * (t / 8)), "2D block's threadIdx", t, out[t], (unsigned)(t % 8 + 100 * (t / 8)));

    float *A, *B, *C, *D, *D16;
    cudaMalloc((void **)&A, 16 * 16 * sizeof *A);
    cudaMalloc((void **)&B, 16 * 8 * sizeof *B);
    cudaMalloc((void **)&C, 16 * 8 * sizeof *C);
    cudaMalloc((void **)&D, 16 * 8 * sizeof *D);
    cudaMalloc((void **)&D16, 16 * 8 * sizeof *D16);
    for (int i = 0; i < 256; i++)
        A[i] = (float)((i * 7) % 11 - 5);
    for (int i = 0; i < 128; i++) {
        B[i] = (float)((i * 5) % 9 - 4);
        C[i] = (float)(i % 13);
    }
    A[0] = 1.0f + 0x1p-20f;
    launch(mma_k, 32, (const float *)A, (const float *)B, (const float *)C, D, D16);
    for (int r = 0; r < 16; r++)
        for (int n = 0; n < 8; n++) {
            double want = C[r * 8 + n], want16 = C[r * 8 + n];
            for (int k = 0; k < 16; k++) {
                const double a = r == 0 && k == 0 ? 1.0 : A[r * 16 + k];
                if (k < 8)
                    want += a * B[k * 8 + n];
                want16 += a * B[k * 8 + n];
            }
            expect(D[r * 8 + n] == (float)want, "mma m16n8k8 tf32", r * 8 + n, __float_as_uint(D[r * 8 + n]),
                   __float_as_uint((float)want));
            expect(D16[r * 8 + n] == (float)want16, "mma m16n8k16 bf16", r * 8 + n, __float_as_uint(D16[r * 8 + n]),
                   __float_as_uint((float)want16));
        }

    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(1);
    cfg.blockDim = dim3(32);
    cfg.dynamicSmemBytes = 512;
    cudaLaunchKernelEx(&cfg, ldmatrix_k, (uint32_t *)out);
    for (int l = 0; l < 32; l++)
        for (int m = 0; m < 4; m++) {
            const int g = l / 4, t = l % 4;
            const auto at = [&](int r, int c) { return (unsigned)(256 * m + 16 * r + c); };
            const unsigned plain = at(g, 2 * t) | at(g, 2 * t + 1) << 16, trans = at(2 * t, g) | at(2 * t + 1, g) << 16;
            expect(out[8 * l + m] == plain, "ldmatrix.x4", l, out[8 * l + m], plain);
            expect(out[8 * l + 4 + m] == trans, "ldmatrix.x4.trans", l, out[8 * l + 4 + m], trans);
        }

    cfg.blockDim = dim3(1025);
    cfg.dynamicSmemBytes = 0;
    expect(cudaLaunchKernelEx(&cfg, index_k, out) == cudaErrorInvalidConfiguration, "1025 threads refused", 0, 0, 0);
    cfg.blockDim = dim3(32);
    cfg.dynamicSmemBytes = 64 << 10;
    expect(cudaLaunchKernelEx(&cfg, ldmatrix_k, (uint32_t *)out) == cudaErrorInvalidValue,
           "64 KB of dynamic shared memory without the opt-in refused", 0, 0, 0);
    cudaGetLastError();

    /* Launches against the kernels' resources (register_resources' figures) */
    unsigned *marks;
    cudaMalloc((void **)&marks, 1024 * sizeof *marks);
    const auto launched = [&](auto kernel, unsigned threads, size_t dynamic, auto arg) {
        cfg.blockDim = dim3(threads);
        cfg.dynamicSmemBytes = dynamic;
        const cudaError_t e = cudaLaunchKernelEx(&cfg, kernel, arg);
        cudaGetLastError();
        return e;
    };
    expect(launched(index_k, 640, 0, marks) == cudaSuccess, "20 warps of 2816 registers", 0, 0, 0);
    expect(launched(index_k, 768, 0, marks) == cudaErrorLaunchOutOfResources, "24 warps of 2816 registers refused", 0,
           0, 0);
    expect(launched(wide_k, 256, 0, marks) == cudaSuccess, "8 warps of 6400 registers", 0, 0, 0);
    expect(launched(wide_k, 288, 0, marks) == cudaErrorLaunchOutOfResources,
           "9 warps of 6400 registers, counted as 12, refused", 0, 0, 0);
    expect(launched(mark_k, 256, 0, marks) == cudaSuccess, "256 threads within __launch_bounds__(256)", 0, 0, 0);
    expect(launched(mark_k, 257, 0, marks) == cudaErrorLaunchOutOfResources, "257 threads over __launch_bounds__(256)",
           0, 0, 0);
    expect(launched(ldmatrix_k, 32, 8 << 10, (uint32_t *)out) == cudaSuccess, "40 KB static and 8 KB dynamic", 0, 0, 0);
    expect(launched(ldmatrix_k, 32, (8 << 10) + 16, (uint32_t *)out) == cudaErrorInvalidValue,
           "40 KB static and 8 KB + 16 dynamic without the opt-in refused", 0, 0, 0);
    expect(cudaFuncSetAttribute(ldmatrix_k, cudaFuncAttributeMaxDynamicSharedMemorySize, 232448 - (40 << 10) + 1) ==
               cudaErrorInvalidValue,
           "an opt-in that with the static passes 227 KB refused", 0, 0, 0);
    cudaGetLastError();
    expect(cudaFuncSetAttribute(ldmatrix_k, cudaFuncAttributeMaxDynamicSharedMemorySize, 232448 - (40 << 10)) ==
               cudaSuccess,
           "an opt-in that with the static makes 227 KB", 0, 0, 0);
    expect(launched(ldmatrix_k, 32, 232448 - (40 << 10), (uint32_t *)out) == cudaSuccess,
           "40 KB static and the rest of 227 KB dynamic, opted in", 0, 0, 0);

    printf("test_simt: %s\n", failures ? "FAILED" : "collectives, mma, ldmatrix, cp.async and launches as defined");
    return failures != 0;
}
