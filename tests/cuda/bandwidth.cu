/* bandwidth.cu: the GPU's device-to-device copy bandwidth (tools/gpu-check.sh),
 * the ceiling that memory-bound kernels are measured against.
 *
 *   build/cuda/bandwidth [GIB]      default 2: copies a GIB-GiB buffer into another
 *
 * One warm-up copy, then 10 timed with CUDA events; prints the best and the
 * mean, counting the bytes read plus the bytes written (2 x size per copy), in
 * GB/s (1e9 bytes), on one line:
 *   bandwidth: copy 2.00 GiB: best 0.987 ms = 4350.1 GB/s, mean ... (read + write), NAME
 * Exit 1 with the CUDA error if there is no device or no memory. */
#include <cuda_runtime.h>

#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, cudaError_t e)
{
    fprintf(stderr, "bandwidth: %s: %s\n", what, cudaGetErrorString(e));
    return 1;
}

int main(int argc, char **argv)
{
    const double gib = argc > 1 ? atof(argv[1]) : 2.0;
    if (!(gib > 0.0 && gib <= 64.0)) {
        fprintf(stderr, "usage: %s [GIB]   (0 < GIB <= 64)\n", argv[0]);
        return 2;
    }
    const size_t bytes = (size_t)(gib * 1073741824.0) / 256 * 256;
    cudaDeviceProp prop;
    cudaError_t e = cudaGetDeviceProperties(&prop, 0);
    if (e != cudaSuccess)
        return fail("no CUDA device", e);
    void *a = NULL, *b = NULL;
    if ((e = cudaMalloc(&a, bytes)) != cudaSuccess || (e = cudaMalloc(&b, bytes)) != cudaSuccess)
        return fail("cudaMalloc", e);
    if ((e = cudaMemset(a, 1, bytes)) != cudaSuccess || (e = cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice)) != cudaSuccess)
        return fail("warm-up copy", e);
    cudaEvent_t t0, t1;
    cudaEventCreate(&t0);
    cudaEventCreate(&t1);
    float best = 1e30f, total = 0.0f;
    const int reps = 10;
    for (int i = 0; i < reps; i++) {
        cudaEventRecord(t0);
        cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice);
        cudaEventRecord(t1);
        if ((e = cudaEventSynchronize(t1)) != cudaSuccess)
            return fail("copy", e);
        float ms;
        cudaEventElapsedTime(&ms, t0, t1);
        best = ms < best ? ms : best;
        total += ms;
    }
    const double mean = total / reps, moved = 2.0 * (double)bytes;
    printf("bandwidth: copy %.2f GiB: best %.3f ms = %.1f GB/s, mean %.3f ms = %.1f GB/s (read + write), %s\n",
           (double)bytes / 1073741824.0, best, moved / (best * 1e-3) / 1e9, mean, moved / (mean * 1e-3) / 1e9,
           prop.name);
    cudaFree(a);
    cudaFree(b);
    return 0;
}
