/* hd.h: DF_HD marks the small pure-math functions of runtime/kernels/ that the
 * CUDA kernels call too (e4m3/bf16 decoding, RoPE rotation, MoE routing), so
 * both backends run the same code: __host__ __device__ under nvcc, nothing
 * for a C compiler. */
#ifndef DF_KERNELS_HD_H
#define DF_KERNELS_HD_H

#ifdef __CUDACC__
#define DF_HD __host__ __device__
#else
#define DF_HD
#endif

#endif
