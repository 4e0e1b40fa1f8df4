/* mla_slices.cuh: how mla_split.cuh cuts a step's tokens into slices whose split-KV partial
 * records its workspace holds (the plan's attn_ws: max batch tokens' records, each token's JMAX
 * apart). Host code of the split path, tested on the CPU (tests/cuda/test_mla_split.cu). */
#ifndef DF_CUDA_MLA_SLICES_CUH
#define DF_CUDA_MLA_SLICES_CUH

#include "mla_decode.cuh"

namespace dfc {

/* A slice of a step's tokens: the first, how many, and the partial records each takes in the
 * workspace (mla_decode's stride: the most chunks any of them has). */
struct split_slice {
    int t0, n, stride;
};

/* The slice from token t0 of a step of n. With at most S tokens left, all of them at stride JMAX:
 * a decode step (n <= S, the max batch) is one slice whatever its positions, so the graph that
 * captures it holds for every later step. Otherwise as many tokens as the records of S tokens at
 * stride JMAX hold, at the stride of the most chunks among them: a prefill's tokens of short
 * prompts have few chunks, so a slice takes far more than S of them (V2-Lite's shape, positions
 * 256..511: slices of 146 tokens of up to 7 chunks and 110 of 8, where S is 8). pos_host: the
 * step's positions, on the host (read only past S tokens). */
template <int C, int JMAX, int S> split_slice next_split_slice(const int *pos_host, int t0, int n)
{
    if (n - t0 <= S)
        return { t0, n - t0, JMAX };
    split_slice s = { t0, 0, 1 };
    for (int t = t0; t < n; t++) {
        const int nj = mla::chunk_count(pos_host[t] + 1, C, JMAX), stride = nj > s.stride ? nj : s.stride;
        if ((long)(s.n + 1) * stride > (long)S * JMAX)
            break;
        s.n++;
        s.stride = stride;
    }
    return s;
}

} /* namespace dfc */

#endif
