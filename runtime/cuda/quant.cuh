/* quant.cuh: activations to FP8 e4m3 with one f32 scale per 1x128 block, as
 * DeepSeek-V3 quantizes them for its FP8 GEMMs (inference/kernel.py, act_quant:
 * scale = amax / 448, code = e4m3(x / scale)): operand B of the block-scaled
 * GEMM of lt_gemm.h, whose layout of the scales (df_fp8_xscale_index) it writes.
 *
 * The arithmetic is runtime/kernels/quant.h's (DF_HD, shared with the CPU's
 * FP8-activation precision): the device kernel (lt_gemm.cu, a warp per
 * block) and the host run the same code, so CI tests it on the CPU
 * (tests/cuda/test_quant.cu) and the GPU check compares the kernel's output
 * with act_quant_host bit for bit. The warp's amax is a max, exact in any
 * order, so it equals the sequential one here. */
#ifndef DF_CUDA_QUANT_CUH
#define DF_CUDA_QUANT_CUH

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "lt_gemm.h"
#include "kernels/quant.h"

/* One block of n <= 128 values: its codes, and its scale returned. */
DF_HD static inline float act_quant_block(const float *x, int n, uint8_t *q)
{
    const float s = act_block_scale(x, n);
    for (int i = 0; i < n; i++)
        q[i] = act_code(x[i], s);
    return s;
}

/* x [m x k] row-major to codes q [m x k] and scales at df_fp8_xscale_index (the last block of a
 * row is k % 128 wide when k is not a multiple of 128): what df_fp8_act_quant computes. */
static inline void act_quant_host(const float *x, int m, int k, uint8_t *q, float *scale)
{
    for (int t = 0; t < m; t++)
        for (int kb = 0; kb < df_fp8_kblocks(k); kb++) {
            const int c0 = kb * DF_FP8_BLOCK, n = k - c0 < DF_FP8_BLOCK ? k - c0 : DF_FP8_BLOCK;
            scale[df_fp8_xscale_index(t, kb, m)] = act_quant_block(x + (size_t)t * k + c0, n, q + (size_t)t * k + c0);
        }
}

#endif
