/* launch.cuh: how the backend launches its kernels, and what every kernel does first.
 *
 * Programmatic dependent launch (Hopper; by default for the steps of one token, pdl_on below): a
 * kernel launched with the programmatic-stream-serialization attribute may be
 * scheduled while the kernel before it on the stream still runs, once every block of that
 * kernel has executed griddepcontrol.launch_dependents (or exited). A decode step is about 20
 * small kernels a layer, each a few microseconds (docs/cuda.md, "Mid-size decode
 * measurement"); the next kernel's launch, and the first reads of its weights, can then hide
 * behind the current one.
 *
 * Every kernel of the backend begins with pdl_enter():
 *   griddepcontrol.wait: until the kernel before has completed and its writes are visible
 *   (at once for a kernel launched without the attribute);
 *   griddepcontrol.launch_dependents: from here the next kernel may be scheduled.
 * So at most two kernels are resident at a time: the one that runs and the next one's blocks,
 * waiting. Nothing a kernel does before pdl_enter may touch memory that a kernel writes; the
 * only thing the kernels do there is prefetch_rows, a hint that brings weight rows (which no
 * kernel writes) into L2. The order of the arithmetic does not change, nor any bit.
 * tests/cuda/run.sh checks that every kernel calls pdl_enter and that nothing in runtime/cuda
 * launches with <<< >>> (which the emulated builds, tests/simt, could not compile). */
#ifndef DF_CUDA_LAUNCH_CUH
#define DF_CUDA_LAUNCH_CUH

#include <stdlib.h>
#include <string.h>

#include "cuda_rt.h"

namespace dfc {

#ifdef __CUDACC__

/* The start of every kernel (all its threads call it; see above). */
__device__ __forceinline__ void pdl_enter()
{
#ifndef DF_SIMT /* the emulator runs one kernel at a time (tests/simt) */
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

/* A hint: fetch `rows` rows of row_bytes bytes from p into L2 (cp.async.bulk.prefetch: p
 * 16-byte aligned, the size a multiple of 16, so only for rows whose bytes are; tensors start
 * 64-byte aligned, gen/manifest.lua). Called by one thread. */
template <int ROW_BYTES> __device__ __forceinline__ void prefetch_rows(const unsigned char *p, int rows)
{
#ifndef DF_SIMT
    if constexpr (ROW_BYTES % 16 == 0) {
        if (rows > 0)
            asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(__cvta_generic_to_global(p)),
                         "r"((unsigned)(rows * ROW_BYTES))
                         : "memory");
    }
#else
    (void)p, (void)rows;
#endif
}

/* 16 bytes global -> shared, asynchronously (cp.async, through L2 only); bytes = 0 fills zeros
 * and reads nothing. The copies a thread commits as a group complete, for it, at
 * cp_async_wait<N> once at most N of its later groups are pending. */
#ifndef DF_SIMT
__device__ __forceinline__ void cp_async16(void *dst, const void *src, int bytes)
{
    const unsigned d = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(d), "l"(src), "r"(bytes) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory"); }
/* A kernel's dynamic shared memory, 16-byte aligned. */
#define DFC_DYNAMIC_SHARED(name) extern __shared__ __align__(16) unsigned char name[]
#else /* the emulator's: each copy lands at the wait that retires its group */
inline void cp_async16(void *dst, const void *src, int bytes) { simt::async_copy(dst, src, bytes); }
inline void cp_async_commit() { simt::async_commit(); }
template <int N> inline void cp_async_wait() { simt::async_wait(N); }
#define DFC_DYNAMIC_SHARED(name) unsigned char *const name = simt::dynamic_shared()
#endif

/* Which launches are programmatic. DF_CUDA_PDL=0: none; DF_CUDA_PDL=1 (any other value): every
 * step's; unset: the kernels of a step of one token (pdl_one_token_step, which the backend sets
 * before each step's launches). An H200 measured PDL at batch 1 faster by 1 to 7% a decode step
 * (4 of 5 models, the fifth the same); at batch 16 and in prefill it was slower by 5 to 12%
 * with f32 activations, and within 2% either way with FP8 ones (2026-11-30,
 * docs/gpu-runs/2026-11-30-h200/). The bits are the same either way. pdl_mode: -1
 * until the variable is read at the first launch, then 0 none, 1 every step, 2 one-token steps;
 * the backend sets 0 under DF_CUDA_PROFILE (whose events between launches would break the
 * overlap anyway). */
inline int pdl_mode = -1;
inline bool pdl_one_token_step = false;

inline int pdl_read_mode()
{
    if (pdl_mode < 0) {
        const char *v = getenv("DF_CUDA_PDL");
        pdl_mode = !v || !*v ? 2 : strcmp(v, "0") ? 1 : 0;
    }
    return pdl_mode;
}

inline bool pdl_on()
{
    const int mode = pdl_read_mode();
    return mode == 1 || (mode == 2 && pdl_one_token_step);
}

/* kernel<<<grid, block, smem, stream>>>(args...), with the programmatic attribute when
 * `programmatic`; returns cudaLaunchKernelEx's error (also the thread's last error). */
template <typename... P, typename... A>
cudaError_t launch_on(cudaStream_t stream, bool programmatic, void (*kernel)(P...), dim3 grid, dim3 block,
                      size_t smem, A &&...args)
{
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = stream;
    cfg.attrs = attr;
    cfg.numAttrs = programmatic ? 1 : 0;
    return cudaLaunchKernelEx(&cfg, kernel, static_cast<A &&>(args)...);
}

/* launch_on the backend's stream; a launch error exits naming the kernel (df_cuda_launched:
 * every launch before was checked the same way, so no earlier launch's error is still pending
 * in the thread's last error). */
template <typename... P, typename... A>
void launch_as(bool programmatic, const char *name, void (*kernel)(P...), dim3 grid, dim3 block, size_t smem,
               A &&...args)
{
    (void)launch_on(df_cuda_stream(), programmatic, kernel, grid, block, smem, static_cast<A &&>(args)...);
    df_cuda_launched(name);
}

/* The step's kernels: programmatic when pdl_on says so. */
template <typename... P, typename... A>
void launch(const char *name, void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, A &&...args)
{
    launch_as(pdl_on(), name, kernel, grid, block, smem, static_cast<A &&>(args)...);
}

#endif /* __CUDACC__ */

} /* namespace dfc */

#endif
