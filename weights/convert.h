/* convert.h: element conversion from checkpoint dtypes to packed dtypes.
 *
 * Only exact conversions are done: F32, BF16 and F16 to F32, BF16 to BF16,
 * F8_E4M3 to F8E4M3. Anything that would round (F32 to BF16) or need the FP8
 * block scales (F8 to F32) is refused, so the packed file holds exactly the
 * checkpoint's values. */
#ifndef DF_CONVERT_H
#define DF_CONVERT_H

#include <stddef.h>

#include "../runtime/model.h"
#include "safetensors.h"

/* NULL if `from` converts exactly to `to`, else the reason it does not
 * (a phrase such as "would lose precision"). */
const char *df_convert_refusal(enum st_dtype from, enum df_dtype to);

/* Converts n elements from src (dtype from, any alignment) to dst (dtype to).
 * Returns DF_OK, or DF_BAD without writing if the pair is refused. */
int df_convert(void *dst, enum df_dtype to, const void *src, enum st_dtype from, size_t n);

#endif
