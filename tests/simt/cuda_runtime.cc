/* cuda_runtime.cc: the runtime API of the emulated builds on host memory (cuda_runtime.h). */
#include "cuda_runtime.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include <map>
#include <string>
#include <vector>

struct CUgraph_st {
    std::vector<std::function<void()>> work;
};
struct CUgraphExec_st {
    std::vector<std::function<void()>> work;
};
struct CUstream_st {
    CUgraph_st *capture = nullptr;
};
struct CUevent_st {
    double ms = 0;
};

static cudaError_t last_error = cudaSuccess;
static std::map<const void *, int> max_dynamic_shared;
constexpr int SMS = 132;
/* Shared memory a block may have: static and dynamic together, without the kernel's opt-in and at
 * most with it; an SM's registers, in 4 partitions that a block's warps are dealt to in turn (a
 * block takes its warps rounded up to 4; a warp's registers are allocated 256 at a time: CUDA's
 * cuda_occupancy.h counts them so). */
constexpr int DEFAULT_SHARED = 48 << 10, OPTIN_SHARED = 232448, SM_REGISTERS = 65536, WARP_REGISTER_UNIT = 256;

/* The device's memory: 16 GiB, or DF_SIMT_DEVICE_MIB MiB (a small device, for the paths of an
 * allocation that does not fit); cudaMalloc counts each allocation at its size rounded up to 256
 * bytes. */
static size_t device_bytes(void)
{
    static const size_t bytes = [] {
        const char *v = getenv("DF_SIMT_DEVICE_MIB");
        char *end = nullptr;
        const unsigned long long mib = v && *v ? strtoull(v, &end, 10) : 16384;
        if (v && *v && (*end || mib == 0 || mib > (1ull << 24))) {
            fprintf(stderr, "simt: DF_SIMT_DEVICE_MIB wants a whole number of MiB, 1 to 2^24, not %s\n", v);
            exit(3);
        }
        return (size_t)mib << 20;
    }();
    return bytes;
}
static size_t device_used = 0;

static cudaError_t note(cudaError_t e)
{
    if (e != cudaSuccess)
        last_error = e;
    return e;
}

const char *cudaGetErrorName(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    }
    return "cudaErrorUnknown";
}
/* The CUDA runtime's own strings, which the backend's messages quote. */
const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    }
    return "unknown error";
}

cudaError_t cudaGetLastError(void)
{
    const cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}

cudaError_t cudaGetDeviceCount(int *count) { return *count = 1, cudaSuccess; }
cudaError_t cudaGetDevice(int *dev) { return *dev = 0, cudaSuccess; }
cudaError_t cudaSetDevice(int dev) { return note(dev == 0 ? cudaSuccess : cudaErrorInvalidValue); }
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int dev)
{
    if (dev != 0)
        return note(cudaErrorInvalidValue);
    *prop = cudaDeviceProp{};
    snprintf(prop->name, sizeof prop->name, "simt (the device code emulated on the CPU)");
    prop->major = 9;
    prop->minor = 0;
    prop->multiProcessorCount = SMS;
    prop->totalGlobalMem = device_bytes();
    prop->sharedMemPerBlockOptin = OPTIN_SHARED;
    return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr, int dev)
{
    if (dev != 0 || attr != cudaDevAttrMultiProcessorCount)
        return note(cudaErrorInvalidValue);
    return *value = SMS, cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int *version) { return *version = 13000, cudaSuccess; }
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes)
{
    *total_bytes = device_bytes();
    *free_bytes = device_bytes() - device_used;
    return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }

/* Device memory: filled with 0xff bytes (NaN floats), as nothing on a device clears it, and mapped
 * so that its end (rounded up to 256 bytes) meets an inaccessible page: a read or write past it
 * faults (simt.cc names the thread). */
struct mapping {
    void *map;
    size_t span, bytes; /* mapped, counted */
};
static std::map<void *, mapping> mappings;
cudaError_t cudaMalloc(void **p, size_t bytes)
{
    if (bytes > device_bytes() - device_used) /* before rounding, which could wrap */
        return note(cudaErrorMemoryAllocation);
    const size_t page = 4096, rounded = (bytes + 255) / 256 * 256, span = (rounded + page - 1) / page * page + page;
    if (rounded > device_bytes() - device_used)
        return note(cudaErrorMemoryAllocation);
    void *m = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return note(cudaErrorMemoryAllocation);
    unsigned char *guard = (unsigned char *)m + span - page;
    mprotect(guard, page, PROT_NONE);
    *p = guard - rounded;
    if (!simt::launches_only())
        memset(*p, 0xff, rounded);
    mappings[*p] = { m, span, rounded };
    device_used += rounded;
    return cudaSuccess;
}
cudaError_t cudaFree(void *p)
{
    if (!p)
        return cudaSuccess;
    const auto it = mappings.find(p);
    if (it == mappings.end())
        return note(cudaErrorInvalidValue);
    munmap(it->second.map, it->second.span);
    device_used -= it->second.bytes;
    mappings.erase(it);
    return cudaSuccess;
}
cudaError_t cudaHostAlloc(void **p, size_t bytes, unsigned)
{
    return (*p = malloc(bytes ? bytes : 1)) ? cudaSuccess : note(cudaErrorMemoryAllocation);
}
cudaError_t cudaFreeHost(void *p) { return free(p), cudaSuccess; }
/* With DF_SIMT_LAUNCHES=only, device memory is not set and not copied within the device (which
 * would touch its pages); copies to and from the host still are: they are small there. */
static void device_memset(void *p, int value, size_t bytes)
{
    if (!simt::launches_only())
        memset(p, value, bytes);
}
static void copy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
    if (!simt::launches_only() || kind != cudaMemcpyDeviceToDevice)
        memcpy(dst, src, bytes);
}
cudaError_t cudaMemset(void *p, int value, size_t bytes) { return device_memset(p, value, bytes), cudaSuccess; }
cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t s)
{
    return simt::stream_enqueue(s, [=]() { device_memset(p, value, bytes); });
}
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
    return copy(dst, src, bytes, kind), cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s)
{
    return simt::stream_enqueue(s, [=]() { copy(dst, src, bytes, kind); });
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned) { return *s = new CUstream_st, cudaSuccess; }
cudaError_t cudaStreamDestroy(cudaStream_t s) { return delete s, cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
    return note(s && s->capture ? cudaErrorStreamCaptureUnsupported : cudaSuccess);
}
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode)
{
    if (!s || s->capture)
        return note(cudaErrorInvalidValue);
    s->capture = new CUgraph_st;
    return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *graph)
{
    if (!s || !s->capture)
        return note(cudaErrorInvalidValue);
    *graph = s->capture;
    s->capture = nullptr;
    return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long)
{
    *exec = new CUgraphExec_st{ graph->work };
    return cudaSuccess;
}
cudaError_t cudaGraphDestroy(cudaGraph_t graph) { return delete graph, cudaSuccess; }
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) { return delete exec, cudaSuccess; }
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s)
{
    if (s && s->capture)
        return note(cudaErrorStreamCaptureUnsupported);
    for (const auto &w : exec->work)
        w();
    return cudaSuccess;
}

/* Events time the host's work, which is what the emulator spends. */
static double now_ms()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}
cudaError_t cudaEventCreate(cudaEvent_t *e) { return *e = new CUevent_st, cudaSuccess; }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned) { return cudaEventCreate(e); }
cudaError_t cudaEventDestroy(cudaEvent_t e) { return delete e, cudaSuccess; }
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s)
{
    return simt::stream_enqueue(s, [e]() { e->ms = now_ms(); });
}
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end)
{
    return *ms = (float)(end->ms - start->ms), cudaSuccess;
}

namespace simt {

/* ---- the kernels' resources (tests/simt/resources.sh) ---------------------------------------- */

static std::map<std::string, KernelResources> &resource_tables()
{
    static std::map<std::string, KernelResources> tables;
    return tables;
}

ResourceTable::ResourceTable(const KernelResources *kernels, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const KernelResources &k = kernels[i];
        const auto [at, fresh] = resource_tables().emplace(k.name, k);
        const KernelResources &was = at->second;
        if (!fresh && (was.registers != k.registers || was.static_shared != k.static_shared ||
                       was.max_threads != k.max_threads)) {
            fprintf(stderr, "simt: two tables give kernel %s different resources\n", k.name);
            exit(3);
        }
    }
}

/* The kernel's resources, found by its exported name. A kernel that has no exported name (internal
 * linkage) or no record is a fault of the build: named, the end. */
static const KernelResources &resources_of(const void *kernel)
{
    const char *name = exported_name(kernel);
    if (!name) {
        fprintf(stderr, "simt: the kernel at %p has no exported name (give it external linkage: the emulator "
                        "finds its resources by its name)\n", kernel);
        exit(3);
    }
    const auto at = resource_tables().find(name);
    if (at == resource_tables().end()) {
        fprintf(stderr, "simt: no resources recorded for kernel %s (is its source's table, tests/simt/resources.sh, "
                        "linked?)\n", name);
        exit(3);
    }
    return at->second;
}

/* A refusal the device gives without a word, said here: which kernel, and what it asked for. */
static cudaError_t refuse(cudaError_t e, const KernelResources &k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "simt: %s: ", k.name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return note(e);
}

/* The opt-in's bytes with the static ones may not pass what a block can have at most. */
cudaError_t func_set_max_dynamic_shared(const void *kernel, int bytes)
{
    if (bytes < 0 || bytes > OPTIN_SHARED)
        return note(cudaErrorInvalidValue);
    const KernelResources &k = resources_of(kernel);
    if (k.static_shared + bytes > OPTIN_SHARED)
        return refuse(cudaErrorInvalidValue, k, "an opt-in of %d bytes of dynamic shared memory with %d static, over "
                                                "the %d a block may have", bytes, k.static_shared, OPTIN_SHARED);
    max_dynamic_shared[kernel] = bytes;
    return cudaSuccess;
}

cudaError_t stream_enqueue(cudaStream_t s, std::function<void()> work)
{
    if (s && s->capture)
        s->capture->work.push_back(std::move(work));
    else
        work();
    return cudaSuccess;
}

cudaError_t check_launch(const void *kernel, dim3 grid, dim3 block, size_t dynamic_bytes)
{
    const size_t threads = (size_t)block.x * block.y * block.z;
    if (grid.x < 1 || grid.y < 1 || grid.z < 1 || grid.x >= (1u << 31) || grid.y > 65535 || grid.z > 65535 ||
        block.x < 1 || block.y < 1 || block.z < 1 || threads > 1024 || block.z > 64)
        return note(cudaErrorInvalidConfiguration);
    const KernelResources &k = resources_of(kernel);
    const auto opt = max_dynamic_shared.find(kernel);
    const bool opted = opt != max_dynamic_shared.end();
    if (opted ? dynamic_bytes > (size_t)opt->second : k.static_shared + dynamic_bytes > DEFAULT_SHARED)
        return refuse(cudaErrorInvalidValue, k, "%zu bytes of dynamic shared memory with %d static, over %s",
                      dynamic_bytes, k.static_shared, opted ? "its opt-in" : "the 48 KB a block has without an opt-in");
    if (k.max_threads && threads > (size_t)k.max_threads)
        return refuse(cudaErrorLaunchOutOfResources, k, "%zu threads a block, over its __launch_bounds__ of %d",
                      threads, k.max_threads);
    const size_t warp_registers =
        ((size_t)k.registers * 32 + WARP_REGISTER_UNIT - 1) / WARP_REGISTER_UNIT * WARP_REGISTER_UNIT;
    if ((threads + 127) / 128 * 4 * warp_registers > SM_REGISTERS)
        return refuse(cudaErrorLaunchOutOfResources, k, "%zu threads a block at %d registers each, over the SM's %d",
                      threads, k.registers, SM_REGISTERS);
    return cudaSuccess;
}

} /* namespace simt */
