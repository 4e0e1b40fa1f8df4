/* simt.h: the CUDA backend's device code run on the CPU, thread by thread (tests/simt/README.md).
 *
 * g++ compiles the backend's .cu files and a model's generated kernels.cu with this header
 * included first (-include) and __CUDACC__ and DF_SIMT defined; <cuda_runtime.h> is
 * tests/simt/cuda_runtime.h, the runtime API on host memory. __CUDA_ARCH__ stays undefined, so
 * the __host__ __device__ pieces take their host definitions (the ones the host tests check).
 *
 * Every CUDA thread of a block is a fiber with a stack of its own (its locals are its
 * registers); it runs until it reaches a barrier or a warp collective (__syncthreads, a shuffle,
 * a ballot, __syncwarp, mma, ldmatrix) and waits there. Once no thread can run, the barriers
 * whose threads have all arrived are released; a collective's results are computed then, from
 * what each lane brought (simt.cc). Nothing else happens between two barriers, so what a
 * thread reads in shared memory is what the threads before it in the order wrote: a missing
 * barrier shows as a value read too early (DF_SIMT_ORDER=reverse runs the threads and blocks
 * the other way round). Shared memory is filled with 0xff bytes (a NaN in every float) before
 * each block, device memory when it is allocated. A barrier that the threads still running do
 * not all reach, lanes that wait at different collectives, or a lane at a collective whose mask
 * leaves it out end the program with a message and exit status 3.
 *
 * What it cannot show: the device's timing and memory order, the bits of its expf and of the
 * mma's internal sums (here exact products rounded once per instruction), cuBLASLt's order of
 * its sums (its matmuls are computed from their definition: cublas_lt.cc). */
#ifndef DF_SIMT_H
#define DF_SIMT_H

#if !defined(__x86_64__)
#error "tests/simt: the fibers' context switch is written for x86-64"
#endif

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

/* ---- what the CUDA language adds ------------------------------------------------------------ */
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __grid_constant__
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
/* Statics in a section of their own, so that the scheduler can poison every one of them. */
#define __shared__ static __attribute__((section("simt_shared")))

struct uint3 { unsigned x, y, z; };
struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct __attribute__((aligned(8))) float2 { float x, y; };
struct __attribute__((aligned(16))) float4 { float x, y, z, w; };
struct __attribute__((aligned(8))) uint2 { unsigned x, y; };
struct __attribute__((aligned(16))) uint4 { unsigned x, y, z, w; };
inline float2 make_float2(float x, float y) { return float2{ x, y }; }
inline float4 make_float4(float x, float y, float z, float w) { return float4{ x, y, z, w }; }

namespace simt {

unsigned lane(); /* of the thread that runs */
unsigned char *dynamic_shared();
/* A kernel's mangled name, as the program exports it (linked with -rdynamic); null for one of
 * internal linkage (static, or an anonymous namespace's), whose nearest exported name is not its. */
const char *exported_name(const void *kernel);
[[noreturn]] void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The collectives: the calling lane waits until every lane of `mask` has arrived with the same
 * kind and mask; `in` is what it brings (at most 48 bytes), `out` what it gets (16 bytes). */
enum Kind { SYNCWARP, SHUFFLE, BALLOT, MMA_TF32, MMA_BF16, LDMATRIX, LDMATRIX_T };
void warp_collective(Kind kind, unsigned mask, const void *in, size_t in_bytes, void *out);
void sync_block();

/* A lane's mma (MMA_TF32 or MMA_BF16): d += a b over the warp's fragments. */
inline void mma(Kind kind, float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1)
{
    uint32_t in[10] = { a[0], a[1], a[2], a[3], b0, b1 }, out[4];
    memcpy(in + 6, d, sizeof d);
    warp_collective(kind, 0xffffffffu, in, sizeof in, out);
    memcpy(d, out, sizeof d);
}

/* A lane's shuffle: its value and the lane it reads; one that reads outside `mask` fails. */
uint64_t shuffle(unsigned mask, uint64_t value, int src_lane);

/* cp.async: queued per thread, done at the wait that retires its group. */
void async_copy(void *dst, const void *src, int bytes);
void async_commit();
void async_wait(int pending);

/* One launch: every block of the grid, one after the other (none with DF_SIMT_LAUNCHES=only). */
bool launches_only();
void run_grid(dim3 grid, dim3 block, size_t dynamic_bytes, const void *kernel, const std::function<void()> &body);

} /* namespace simt */

/* The built-in variables: the scheduler sets them before it resumes a thread. */
extern uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;
#define warpSize 32

inline void __syncthreads() { simt::sync_block(); }
/* One fiber at a time over one memory: every write is seen by every later read already. */
inline void __threadfence() {}
inline void __syncwarp(unsigned mask = 0xffffffffu) { simt::warp_collective(simt::SYNCWARP, mask, nullptr, 0, nullptr); }

template <typename T> inline uint64_t simt_bits(T v)
{
    static_assert(sizeof(T) <= 8, "a shuffle moves at most 8 bytes");
    uint64_t b = 0;
    memcpy(&b, &v, sizeof v);
    return b;
}
template <typename T> inline T simt_value(uint64_t b)
{
    T v;
    memcpy(&v, &b, sizeof v);
    return v;
}
inline int simt_width(int width)
{
    if (width < 1 || width > 32 || (width & (width - 1)))
        simt::fail("a shuffle's width of %d: a power of 2 up to 32", width);
    return width;
}
/* width: segments of `width` lanes, as the hardware's shuffles take it */
template <typename T> inline T __shfl_sync(unsigned mask, T v, int src, int width = 32)
{
    const int base = (int)simt::lane() & ~(simt_width(width) - 1);
    return simt_value<T>(simt::shuffle(mask, simt_bits(v), base + (src & (width - 1))));
}
/* PTX's shfl.bfly: a lane may read from its own segment or an earlier one, not a later one. */
template <typename T> inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32)
{
    const int l = (int)simt::lane(), src = l ^ lane_mask;
    return simt_value<T>(simt::shuffle(mask, simt_bits(v), src <= (l | (simt_width(width) - 1)) ? src : l));
}
template <typename T> inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32)
{
    const int l = (int)simt::lane(), src = l - (int)delta;
    return simt_value<T>(simt::shuffle(mask, simt_bits(v), src >= (l & ~(simt_width(width) - 1)) ? src : l));
}
inline unsigned __ballot_sync(unsigned mask, int predicate)
{
    const unsigned in = predicate != 0;
    unsigned out[4];
    simt::warp_collective(simt::BALLOT, mask, &in, sizeof in, out);
    return out[0];
}

inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline float __uint_as_float(unsigned u) { return simt_value<float>(u); }
inline unsigned __float_as_uint(float f) { return (unsigned)simt_bits(f); }
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }

/* One fiber at a time: the read-modify-write is atomic by construction. */
template <typename T> inline T atomicAdd(T *p, T v)
{
    const T old = *p;
    *p = old + v;
    return old;
}

#endif /* __cplusplus */
#endif
