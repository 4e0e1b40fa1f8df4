/* cuda_runtime.h of the emulated builds (tests/simt/README.md): the part of the CUDA runtime API
 * the backend calls, on host memory. A stream runs what it is given at once, in order, unless it
 * is capturing: then launches and copies are recorded into the graph, and run when the graph is
 * launched (a copy from host memory reads it then, as a graph's copy node does). A launch is
 * checked as the device checks it (block size, grid; and, against what ptxas compiled the kernel
 * to need, its registers, its __launch_bounds__, its static shared memory with the dynamic and
 * the kernel's opt-in) and fails with the device's error. One device: 132 SMs, compute
 * capability 9.0. */
#ifndef DF_SIMT_CUDA_RUNTIME_H
#define DF_SIMT_CUDA_RUNTIME_H

#include "simt.h"

#include <stddef.h>

enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInsufficientDriver = 35,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorLaunchOutOfResources = 701,
    cudaErrorStreamCaptureUnsupported = 900
};
typedef enum cudaError cudaError_t;

struct CUstream_st;
struct CUevent_st;
struct CUgraph_st;
struct CUgraphExec_st;
typedef struct CUstream_st *cudaStream_t;
typedef struct CUevent_st *cudaEvent_t;
typedef struct CUgraph_st *cudaGraph_t;
typedef struct CUgraphExec_st *cudaGraphExec_t;

enum cudaMemcpyKind { cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3 };
enum cudaStreamCaptureMode { cudaStreamCaptureModeThreadLocal = 1 };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount = 16 };
enum cudaLaunchAttributeID { cudaLaunchAttributeProgrammaticStreamSerialization = 5 };
#define cudaStreamNonBlocking 0x01u
#define cudaHostAllocDefault 0x00u
#define cudaEventDisableTiming 0x02u

struct cudaDeviceProp {
    char name[256];
    int major, minor, multiProcessorCount;
    size_t totalGlobalMem, sharedMemPerBlockOptin;
};
union cudaLaunchAttributeValue { int programmaticStreamSerializationAllowed; };
struct cudaLaunchAttribute {
    cudaLaunchAttributeID id;
    cudaLaunchAttributeValue val;
};
struct cudaLaunchConfig_t {
    dim3 gridDim, blockDim;
    size_t dynamicSmemBytes;
    cudaStream_t stream;
    cudaLaunchAttribute *attrs;
    unsigned numAttrs;
};

const char *cudaGetErrorString(cudaError_t e);
const char *cudaGetErrorName(cudaError_t e);
cudaError_t cudaGetLastError(void);
cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaGetDevice(int *dev);
cudaError_t cudaSetDevice(int dev);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int dev);
cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr, int dev);
cudaError_t cudaDriverGetVersion(int *version);
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaMalloc(void **p, size_t bytes);
cudaError_t cudaFree(void *p);
cudaError_t cudaHostAlloc(void **p, size_t bytes, unsigned flags);
cudaError_t cudaFreeHost(void *p);
cudaError_t cudaMemset(void *p, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t s);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s = 0);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *graph);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long flags);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s);
cudaError_t cudaEventCreate(cudaEvent_t *e);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned flags);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = 0);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);

namespace simt {
/* What ptxas compiled a kernel to need of an SM, for sm_90a. tests/simt/resources.sh writes a
 * table of them for each source of device code, and a program links its sources' tables (the
 * emulator's own test makes up its own); a kernel launched without a record stops the program. */
struct KernelResources {
    const char *name;  /* mangled, as the program's exported symbol */
    int registers;     /* per thread */
    int static_shared; /* bytes of __shared__ */
    int max_threads;   /* __launch_bounds__, 0 for none */
};
/* Registers a table: each table's file has one, a static object. */
struct ResourceTable {
    ResourceTable(const KernelResources *kernels, size_t count);
};
cudaError_t func_set_max_dynamic_shared(const void *kernel, int bytes);
/* Run `work` on the stream now, or record it into the graph being captured. */
cudaError_t stream_enqueue(cudaStream_t s, std::function<void()> work);
/* A launch's configuration as the device checks it. */
cudaError_t check_launch(const void *kernel, dim3 grid, dim3 block, size_t dynamic_bytes);
} /* namespace simt */

/* The runtime's C++ overload: any pointer's address. */
template <typename T> cudaError_t cudaMalloc(T **p, size_t bytes)
{
    return cudaMalloc(reinterpret_cast<void **>(p), bytes);
}

template <typename... P>
cudaError_t cudaFuncSetAttribute(void (*kernel)(P...), cudaFuncAttribute, int value)
{
    return simt::func_set_max_dynamic_shared((const void *)kernel, value);
}

/* The kernel's parameters are converted once, at the launch (as the device copies them); each
 * thread's call copies them again into its own parameters. */
template <typename... P, typename... A>
cudaError_t cudaLaunchKernelEx(const cudaLaunchConfig_t *cfg, void (*kernel)(P...), A &&...args)
{
    const cudaError_t e = simt::check_launch((const void *)kernel, cfg->gridDim, cfg->blockDim, cfg->dynamicSmemBytes);
    if (e != cudaSuccess)
        return e;
    std::tuple<std::decay_t<P>...> params(static_cast<A &&>(args)...);
    const dim3 grid = cfg->gridDim, block = cfg->blockDim;
    const size_t bytes = cfg->dynamicSmemBytes;
    return simt::stream_enqueue(cfg->stream, [=]() {
        simt::run_grid(grid, block, bytes, (const void *)kernel, [&params, kernel]() { std::apply(kernel, params); });
    });
}

#endif
