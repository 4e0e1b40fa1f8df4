/* synth_weights.cu: synthetic weights on the device (synth_weights.h).
 *
 * A checkpoint of random weights for DeepSeek-V2-Lite is 31 GB, for V3's shapes tens more: too
 * much to write, pack and upload in a GPU session of a few minutes. Speed does not depend on the
 * values, only on their being finite and in range, so for timing the weights are made where they
 * are used. Each element is a hash of (seed, tensor, index), so the fill order does not matter
 * and every run with one seed has the same bytes (the same routing, the same tokens). */
#include <cuda_runtime.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "cuda_rt.h"
}
#include "kernels/quant.h"
#include "launch.cuh"
#include "synth_weights.h"

namespace {

/* splitmix64's finalizer: a bijection of 64 bits whose outputs look independent. */
__host__ __device__ inline uint64_t mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

} /* namespace */

/* In dfc, as every kernel, not an anonymous namespace: the emulated build finds a kernel's
 * resources (tests/simt/resources.sh) by its exported name. */
namespace dfc {

/* Element i of a tensor is c + a u, u uniform in [-1, 1) from mix(key + i), in the tensor's type. */
__global__ void fill_k(unsigned char *dst, uint64_t count, enum df_dtype dtype, float c, float a, uint64_t key)
{
    const uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
    for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) {
        const float u = (float)(mix(key + i * 0x9e3779b97f4a7c15ull) >> 40) * 0x1p-23f - 1.0f;
        const float v = fmaf(a, u, c);
        if (dtype == DF_F32) {
            ((float *)dst)[i] = v;
        } else if (dtype == DF_BF16) {
            ((uint16_t *)dst)[i] = (uint16_t)(__float_as_uint(v) >> 16);
        } else {
            dst[i] = f32_to_e4m3(v); /* = cuda_fp8.h's __nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3) */
        }
    }
}

} /* namespace dfc */

namespace {

size_t elem_bytes(enum df_dtype dt)
{
    return dt == DF_F32 ? 4 : dt == DF_BF16 ? 2 : 1;
}

bool contains(const char *s, const char *part)
{
    return s && strstr(s, part) != nullptr;
}

void say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

} /* namespace */

extern "C" const unsigned char *df_synth_weights(const struct df_manifest *m, uint64_t seed, char *err,
                                                 size_t errlen)
{
    /* a block-scale tensor's values follow its weight's columns */
    int64_t *weight_cols = (int64_t *)calloc((size_t)m->n_tensors + 1, sizeof *weight_cols);
    if (!weight_cols) {
        say(err, errlen, "out of memory");
        return nullptr;
    }
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].scale >= 0 && m->tensors[i].scale < m->n_tensors)
            weight_cols[m->tensors[i].scale] = m->tensors[i].shape[1];
    for (int i = 0; i < m->n_tensors; i++) {
        const struct df_tensor *t = &m->tensors[i];
        const size_t es = elem_bytes(t->dtype);
        if (t->offset % es || t->bytes % es || t->offset > m->data_bytes || t->bytes > m->data_bytes - t->offset) {
            say(err, errlen, "tensor %s: %llu bytes at %llu do not fit the data section (%llu bytes) as %zu-byte "
                "elements", t->name, (unsigned long long)t->bytes, (unsigned long long)t->offset,
                (unsigned long long)m->data_bytes, es);
            free(weight_cols);
            return nullptr;
        }
    }
    unsigned char *dev = df_cuda_weights_alloc(m->data_bytes, err, errlen);
    if (!dev) {
        free(weight_cols);
        return nullptr;
    }
    cudaError_t e = cudaSuccess;
    for (int i = 0; i < m->n_tensors && e == cudaSuccess; i++) {
        const struct df_tensor *t = &m->tensors[i];
        const int64_t cols = t->ndim == 2 ? t->shape[1] : t->shape[0];
        float c = 0.0f, a;
        if (weight_cols[i]) { /* a block scale */
            c = sqrtf(3.0f / (float)weight_cols[i]) / 448.0f;
            a = 0.25f * c;
        } else if (t->dtype == DF_F8E4M3) {
            a = 448.0f;
        } else if (t->ndim == 1 && contains(t->hf_name, "norm")) {
            c = 1.0f, a = 0.0f;
        } else if (t->ndim == 1) {
            a = 0.01f;
        } else {
            a = contains(t->hf_name, "embed_tokens") ? 1.0f : sqrtf(3.0f / (float)cols);
        }
        const uint64_t count = t->bytes / elem_bytes(t->dtype);
        if (!count)
            continue;
        const uint64_t blocks = (count + 255) / 256;
        e = dfc::launch_on(nullptr, false, dfc::fill_k, dim3((unsigned)(blocks < 8192 ? blocks : 8192)), dim3(256), 0,
                           dev + t->offset, count, t->dtype, c, a, mix(seed ^ mix((uint64_t)i + 1)));
    }
    free(weight_cols);
    if (e == cudaSuccess)
        e = cudaDeviceSynchronize();
    if (e != cudaSuccess) {
        say(err, errlen, "making the synthetic weights: %s", cudaGetErrorString(e));
        cudaFree(dev);
        return nullptr;
    }
    return dev;
}
