/* linear_one.cuh: which kind of kernel computes one token's products (host code): the
 * generated launchers (kernels.cuh) read it when they launch, the backend (cuda_backend.cu) sets
 * it, timing the kinds in the decode graph unless DF_CUDA_LINEAR_ONE names one. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace dfc {

/* One token's product, of three kinds: linear_k (a warp per row, the token read through L1 by
 * every warp); rows, linear_rows_k for one token (R rows per warp, each of the token's vectors
 * read through L1 once for the R rows: block_rows_dot); async, linear_async_k (linear_k's layout,
 * the weights through shared memory, 4 steps in flight per warp) where its rows allow. And
 * linear_pair_k's blocks as its, swiglu_k's for one token, and the routed experts' per-pair
 * kernels (each pair one token's products) their rows the same way (moe_gate_up_k,
 * moe_down_combine_k); with rows, moe_down_combine_k's warps take R rows each. All give the same
 * bits, so which one runs is a matter of speed only: the backend times them on the device
 * (cuda_backend.cu, tune_one_token) unless DF_CUDA_LINEAR_ONE names one (linear_one_setting).
 * -1: read the variable at the first call; the backend and the tests set it directly. */
enum { LINEAR_ONE_WARP = 0, LINEAR_ONE_ROWS = 1, LINEAR_ONE_ASYNC = 2, LINEAR_ONE_KINDS = 3, LINEAR_ONE_TUNE = 3 };
inline const char *const linear_one_names[LINEAR_ONE_KINDS] = { "linear_k", "rows", "async" };
inline int linear_one = -1;

/* DF_CUDA_LINEAR_ONE: one of linear_one_names, or tune (timed at the first decode step of each
 * token count, with graphs). Without it: tune on a device; linear_k on the emulated one
 * (tests/simt), whose timings say nothing of a GPU's and where every run would pay for them. */
inline int linear_one_setting()
{
    const char *v = getenv("DF_CUDA_LINEAR_ONE");
#ifdef DF_SIMT
    constexpr int unset = LINEAR_ONE_WARP;
#else
    constexpr int unset = LINEAR_ONE_TUNE;
#endif
    if (!v)
        return unset;
    if (!strcmp(v, "tune"))
        return LINEAR_ONE_TUNE;
    for (int k = 0; k < LINEAR_ONE_KINDS; k++)
        if (!strcmp(v, linear_one_names[k]))
            return k;
    fprintf(stderr, "DF_CUDA_LINEAR_ONE=%s: not linear_k, rows, async or tune; linear_k runs\n", v);
    return LINEAR_ONE_WARP;
}

inline int linear_one_kind()
{
    if (linear_one < 0) {
        const int s = linear_one_setting();
        linear_one = s == LINEAR_ONE_TUNE ? LINEAR_ONE_WARP : s;
    }
    return linear_one;
}

} /* namespace dfc */
