/* mla_stages.cuh: the split-KV MLA partial kernels (runtime/cuda/mla_decode.cuh over an f32
 * cache, mla_decode_bf16.cuh over a bf16 one) with stages left out, for `mla_check stages`.
 *
 * A lent GPU may not let ncu read the hardware counters (docs/cuda-mla.md), and without them
 * the time inside one kernel is placed by timing variants that leave a stage out and taking
 * differences. The partial kernel's work per tile is four stages: the loads (cp.async of the
 * next tiles), S (each warp's part of the scores), the online softmax (the weights P and corr)
 * and P V. Each variant here is the production kernel's own body (stream_chunks, with its
 * barriers, pipeline and partial records) over the production tile struct K, with some of
 * those stages replaced by nothing; what a stage left out would have read is then whatever
 * shared memory holds (the times, not the values, are what count: nothing here is checked).
 * The loads alone give the pipeline's bandwidth ceiling; the math without loads, the time the
 * SMs need per tile; the loads plus S, plus the softmax, plus P V, each stage's added cost. */
#ifndef DF_TESTS_CUDA_MLA_STAGES_CUH
#define DF_TESTS_CUDA_MLA_STAGES_CUH

#include "mla_decode.cuh"

namespace stages {

enum : unsigned { LOADS = 1, SCORES = 2, SOFTMAX = 4, PV = 8, ALL = 15 };

/* K with the stages not in KEEP replaced by nothing. */
template <class K, unsigned KEEP> struct ablated : K {
    template <class... A> static __device__ void load_tile(A &&...a)
    {
        if constexpr ((KEEP & LOADS) != 0)
            K::load_tile(static_cast<A &&>(a)...);
    }
    template <class... A> static __device__ void scores(A &&...a)
    {
        if constexpr ((KEEP & SCORES) != 0)
            K::scores(static_cast<A &&>(a)...);
    }
    template <class... A> static __device__ void softmax(A &&...a)
    {
        if constexpr ((KEEP & SOFTMAX) != 0)
            K::softmax(static_cast<A &&>(a)...);
    }
    template <class... A> static __device__ void pv(A &&...a)
    {
        if constexpr ((KEEP & PV) != 0)
            K::pv(static_cast<A &&>(a)...);
    }
};

template <class D, class K>
__global__ void __launch_bounds__(dfc::mla::THREADS, 1) ablated_k(const float *q, const typename K::elem *cache,
                                                                   const int *slot, const int *pos, float scale,
                                                                   int stride, float *ws)
{
    DFC_DYNAMIC_SHARED(smem_ablated);
    dfc::mla::stream_chunks<D, K>(q, cache, slot, pos, scale, stride, ws, smem_ablated);
}

/* One variant's launch, as mla_decode makes it (mla::launch_partial, mla::launch_combine: the
 * production grid, records JMAX apart); o: the combine's output. */
typedef void (*launch_fn)(const float *q, const void *cache, const int *slot, const int *pos, int n, float scale,
                          float *ws, float *o);

template <class D, class K, unsigned KEEP>
void launch_ablated(const float *q, const void *cache, const int *slot, const int *pos, int n, float scale, float *ws,
                    float *)
{
    dfc::mla::launch_partial<D>(ablated_k<D, ablated<K, KEEP>>, "mla_stages (partial, stages left out)", q,
                                static_cast<const typename K::elem *>(cache), slot, pos, n, scale, D::JMAX, ws);
}

template <class D, class K, unsigned KEEP> cudaError_t setup_ablated()
{
    return dfc::mla::setup_partial(ablated_k<D, ablated<K, KEEP>>, D::SMEM);
}

/* The combine kernel alone, over the records a partial run left. */
template <class D>
void launch_combine(const float *, const void *, const int *, const int *pos, int n, float, float *ws, float *o)
{
    dfc::mla::launch_combine<D>("mla_stages (combine)", pos, n, D::JMAX, ws, o);
}

/* The variants, in the order timed (their indices): the whole partial kernel, then the combine over
 * the records it left (the variants after it leave garbage there, which would time the combine on
 * NaN), then the partial kernel with stages left out. */
enum { EVERY_STAGE, COMBINE, LOADS_ALONE, LOADS_S, LOADS_S_SOFTMAX, NO_LOADS, VARIANTS };
struct variant {
    const char *what;
    launch_fn run;
    cudaError_t (*setup)(); /* null: nothing to set up */
};

template <class D, class K> void variants(variant (&v)[VARIANTS])
{
    v[EVERY_STAGE] = { "partial kernel, every stage", launch_ablated<D, K, ALL>, setup_ablated<D, K, ALL> };
    v[COMBINE] = { "combine kernel alone", launch_combine<D>, nullptr };
    v[LOADS_ALONE] = { "loads alone", launch_ablated<D, K, LOADS>, setup_ablated<D, K, LOADS> };
    v[LOADS_S] = { "loads + S", launch_ablated<D, K, LOADS | SCORES>, setup_ablated<D, K, LOADS | SCORES> };
    v[LOADS_S_SOFTMAX] = { "loads + S + softmax", launch_ablated<D, K, LOADS | SCORES | SOFTMAX>,
                           setup_ablated<D, K, LOADS | SCORES | SOFTMAX> };
    v[NO_LOADS] = { "S + softmax + P V, no loads", launch_ablated<D, K, SCORES | SOFTMAX | PV>,
                    setup_ablated<D, K, SCORES | SOFTMAX | PV> };
}

} /* namespace stages */

#endif
