/* mla_split_cfg.cuh: the split-KV decode kernels' configurations that mla_split.cuh runs, and
 * the workspace they need (gen/shapes.lua sizes the plan's attn_ws by the same count). Apart
 * from mla_split.cuh so that the host tests (tests/cuda/test_mla_split.cu, test_mla_bf16.cu)
 * check the backend's own configurations without the backend's kernels. */
#ifndef DF_CUDA_MLA_SPLIT_CFG_CUH
#define DF_CUDA_MLA_SPLIT_CFG_CUH

#include <stddef.h>
#include <stdint.h>

#include "mla_decode.cuh"
#include "mla_decode_bf16.cuh"

namespace dfc {

/* C, the chunk length, for a layer of H heads and rows of L + R cached values of E bytes: the
 * shortest multiple of 64 positions whose cache rows have at least 4 times the bytes of the
 * partial record a chunk leaves (H (L + 2) floats, written, then read by the combine), and at
 * most 256. A block's time is the SM's work on its tiles, one after another (docs/cuda-mla.md),
 * so a lone token's context of 1024 positions took 4 blocks of 8 tiles at C = 256; the shorter a
 * chunk, the more SMs share a short context. 16 heads over an f32 cache: 64 (16 blocks of 2
 * tiles), over a bf16 one 128; 128 heads (V3): 256, the cap. */
DF_HD constexpr int split_chunk(int H, int L, int R, int E)
{
    const long rec_bytes = 4L * H * (L + 2), row_bytes = (long)(L + R) * E;
    const long c = (4 * rec_bytes + 64 * row_bytes - 1) / (64 * row_bytes) * 64;
    return c < 256 ? (int)c : 256;
}

/* The configurations: chunks of split_chunk's C positions (64 or 128 for 16 heads, 256 for
 * V3's 128) up to CTX / 256 of them (JMAX; longer contexts take longer chunks, so the workspace
 * is the same for every C), a block per 16 heads; over an f32 cache tiles of 32 positions two in
 * flight, the 3xTF32 splits by cvt.rn (mla_check's V2-Lite configuration B: as accurate as A, the
 * same bits but at exact ties, and faster in all 15 of its cases on an H200 on 2026-11-30, 8% at
 * 32768 positions: docs/cuda-mla.md), over a bf16 cache
 * (deploy.kv_cache = "bf16") tiles of 64 two in flight, the queries as 3 bf16 terms and the
 * weights as 2 (mla_check's bf16 A). Both keep the same workspace records. */
template <int H, int L, int R, int CTX>
using mla_split_cfg = mla_decode_cfg<H, L, R, CTX, split_chunk(H, L, R, 4), (CTX + 255) / 256, 1, 32, 2, true>;
template <int H, int L, int R, int CTX>
using mla_split_bf16_cfg =
    mla_decode_bf16_cfg<H, L, R, CTX, split_chunk(H, L, R, 2), (CTX + 255) / 256, 64, 2, 3, 2>;

/* The configuration over a cache of CE: float, or uint16_t (bf16). */
template <int H, int L, int R, int CTX, typename CE> struct split_cfg_for {
    using type = mla_split_cfg<H, L, R, CTX>;
};
template <int H, int L, int R, int CTX> struct split_cfg_for<H, L, R, CTX, uint16_t> {
    using type = mla_split_bf16_cfg<H, L, R, CTX>;
};

/* Floats of the workspace for steps of at most N tokens in slices of S over a cache of CE: the
 * absorbed queries of N tokens, the split kernel's partials of S (gen/shapes.lua sizes the plan's
 * attn_ws by the same count, the same for both caches; o_lat never leaves the combine's block). */
template <int H, int L, int R, int CTX, typename CE> constexpr size_t mla_split_floats(int N, int S)
{
    return (size_t)N * H * (L + R) + split_cfg_for<H, L, R, CTX, CE>::type::ws_floats(S);
}

} /* namespace dfc */

#endif
