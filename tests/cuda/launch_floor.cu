/* launch_floor.cu: what a decode step's kernel launches cost by themselves on this GPU
 * (tools/gpu-check.sh; docs/cuda.md, "Mid-size decode measurement").
 *
 *   build/cuda/launch_floor [N]     N launches a step (default 107), 1 to 100000
 *
 * A decode step is a chain of N small kernels on one stream, replayed as one CUDA graph. Here
 * the same chain of N kernels that do nothing but the backend's pdl_enter, launched through the
 * backend's own launch (runtime/cuda/launch.cuh) without and with programmatic dependent launch
 * (DF_CUDA_PDL), on a grid of one warp and on one of the SM count x 256 threads (the size of a
 * streaming kernel's grid); as a captured graph (the mean of 100 replays after 3) and as plain
 * launches (graphs off). The time a real step needs beyond its kernels' work is about this.
 * Prints a line per way, then one summary line:
 *   launch_floor: 107 launches: graph 0.xxx ms (x.xx us a launch) ...
 * Exit 1 with the CUDA error if there is no device, 2 on a bad argument. */
#include <cuda_runtime.h>

#include <stdio.h>
#include <stdlib.h>

#include "cuda_rt.h"
#include "launch.cuh"

static cudaStream_t g_stream;
cudaStream_t df_cuda_stream(void) { return g_stream; }

static void cuda_ok(cudaError_t e, const char *what)
{
    if (e != cudaSuccess) {
        fprintf(stderr, "launch_floor: %s: %s\n", what, cudaGetErrorString(e));
        exit(1);
    }
}

extern "C" void df_cuda_launched(const char *kernel) { cuda_ok(cudaGetLastError(), kernel); }

__global__ void empty_k() { dfc::pdl_enter(); }

static void chain(long n, dim3 grid, dim3 block)
{
    for (long i = 0; i < n; i++)
        dfc::launch("empty", empty_k, grid, block, 0);
}

/* Mean ms of reps runs of fn on the stream, after 3. */
template <class F> static double mean_ms(F fn, int reps)
{
    cudaEvent_t a, b;
    cuda_ok(cudaEventCreate(&a), "cudaEventCreate");
    cuda_ok(cudaEventCreate(&b), "cudaEventCreate");
    for (int i = 0; i < 3; i++)
        fn();
    cuda_ok(cudaEventRecord(a, g_stream), "cudaEventRecord");
    for (int i = 0; i < reps; i++)
        fn();
    cuda_ok(cudaEventRecord(b, g_stream), "cudaEventRecord");
    cuda_ok(cudaEventSynchronize(b), "cudaEventSynchronize");
    float ms = 0.0f;
    cuda_ok(cudaEventElapsedTime(&ms, a, b), "cudaEventElapsedTime");
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return ms / reps;
}

/* The chain as a graph, replayed; and launched plainly. */
static double graph_ms(long n, dim3 grid, dim3 block)
{
    cudaGraph_t g;
    cudaGraphExec_t x;
    cuda_ok(cudaStreamBeginCapture(g_stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
    chain(n, grid, block);
    cuda_ok(cudaStreamEndCapture(g_stream, &g), "cudaStreamEndCapture");
    cuda_ok(cudaGraphInstantiate(&x, g, 0), "cudaGraphInstantiate");
    const double ms = mean_ms([&] { cuda_ok(cudaGraphLaunch(x, g_stream), "cudaGraphLaunch"); }, 100);
    cudaGraphExecDestroy(x);
    cudaGraphDestroy(g);
    return ms;
}

int main(int argc, char **argv)
{
    char *end = NULL;
    const long n = argc > 1 ? strtol(argv[1], &end, 10) : 107;
    if (argc > 2 || (argc > 1 && (end == argv[1] || *end)) || n < 1 || n > 100000) {
        fprintf(stderr, "usage: %s [N]   (N launches a step, 1 to 100000)\n", argv[0]);
        return 2;
    }
    cudaDeviceProp prop;
    cuda_ok(cudaGetDeviceProperties(&prop, 0), "no CUDA device");
    cuda_ok(cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking), "cudaStreamCreate");
    const dim3 grids[2] = { dim3(1), dim3(prop.multiProcessorCount) }, blocks[2] = { dim3(32), dim3(256) };
    double graph[2][2], plain[2][2]; /* [grid][pdl] */
    for (int gi = 0; gi < 2; gi++)
        for (int pdl = 0; pdl < 2; pdl++) {
            dfc::pdl_mode = pdl;
            graph[gi][pdl] = graph_ms(n, grids[gi], blocks[gi]);
            plain[gi][pdl] = mean_ms([&] { chain(n, grids[gi], blocks[gi]); }, 20);
            printf("launch_floor: %s, %ld launches of %u x %u threads, %s: graph %.4f ms (%.2f us a launch), "
                   "plain launches %.4f ms (%.2f us)\n",
                   prop.name, n, grids[gi].x, blocks[gi].x, pdl ? "programmatic dependent launch" : "no PDL",
                   graph[gi][pdl], 1e3 * graph[gi][pdl] / n, plain[gi][pdl], 1e3 * plain[gi][pdl] / n);
        }
    printf("launch_floor: %ld launches: graph %.3f ms (%.2f us a launch), with PDL %.3f ms; %d x 256 threads each: "
           "%.3f / %.3f ms; without a graph (1 warp / %d x 256, no PDL) %.3f / %.3f ms\n",
           n, graph[0][0], 1e3 * graph[0][0] / n, graph[0][1], prop.multiProcessorCount, graph[1][0], graph[1][1],
           prop.multiProcessorCount, plain[0][0], plain[1][0]);
    return 0;
}
