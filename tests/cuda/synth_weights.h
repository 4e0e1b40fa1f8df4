/* synth_weights.h: synthetic weights made on the device, for timing a model at shapes whose
 * random checkpoint would be too large to write and pack (tests/cuda/synth_decode.c). */
#ifndef DF_SYNTH_WEIGHTS_H
#define DF_SYNTH_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Device memory of the manifest's data size (df_cuda_weights_alloc), every tensor filled as
 * bench/random_checkpoint.c fills it but from a hash of (seed, tensor, element): matrices
 * uniform in +-sqrt(3 / cols) (the embeddings +-1; FP8: e4m3 codes of a uniform in +-448, and
 * their block scales sqrt(3 / cols) / 448 within +-25%), norms 1, other vectors (the routers'
 * correction bias) uniform in +-0.01. The same seed gives the same bytes. Free it with the
 * backend's detach_weights. NULL on failure, with err set. */
const unsigned char *df_synth_weights(const struct df_manifest *m, uint64_t seed, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
