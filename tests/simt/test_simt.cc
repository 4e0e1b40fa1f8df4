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
 *                       value read is the poison in one order or the other (exit 1) */
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
 * poison, after it the bytes; a source size of 4 fills the other 12 with zeros. */
__global__ void async_k(const unsigned *src, unsigned *out)
{
    __shared__ __align__(16) unsigned buf[8];
    simt::async_copy(buf, src, 16);
    simt::async_copy(buf + 4, src, 4);
    out[0] = buf[0];
    simt::async_commit();
    simt::async_wait(0);
    for (int i = 0; i < 8; i++)
        out[1 + i] = buf[i];
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

int main(int argc, char **argv)
{
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
    printf("test_simt: %s\n", failures ? "FAILED" : "collectives and cp.async as defined");
    return failures != 0;
}
