/* convert.c: see convert.h. */
#include "convert.h"

#include <stdint.h>
#include <string.h>

#include "format_io.h"

/* Checkpoints and packed files are little-endian, and elements are moved
 * with memcpy into host integers: the host must be little-endian too. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "deepfreeze assumes a little-endian host");

const char *df_convert_refusal(enum st_dtype from, enum df_dtype to)
{
    switch (to) {
    case DF_F32:
        if (from == ST_F32 || from == ST_BF16 || from == ST_F16)
            return NULL;
        if (from == ST_F8_E4M3 || from == ST_F8_E5M2)
            return "would need the FP8 block scales";
        if (from == ST_F64)
            return "would lose precision";
        break;
    case DF_BF16:
        if (from == ST_BF16)
            return NULL;
        if (from == ST_F32 || from == ST_F64 || from == ST_F16)
            return "would lose precision";
        break;
    case DF_F8E4M3:
        if (from == ST_F8_E4M3)
            return NULL;
        if (from == ST_F32 || from == ST_F64 || from == ST_F16 || from == ST_BF16)
            return "would need quantizing to FP8";
        break;
    }
    return "is not a supported conversion";
}

/* IEEE half to single: every half value, subnormals, infinities and NaN
 * payloads included, is exactly representable. */
static uint32_t f16_to_f32_bits(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = h >> 10 & 0x1F, mant = h & 0x3FF;
    if (exp == 0x1F)
        return sign | 0x7F800000u | mant << 13;
    if (exp != 0)
        return sign | (exp + 127 - 15) << 23 | mant << 13;
    if (mant == 0)
        return sign;
    /* Subnormal: mant * 2^-24, renormalized so the leading 1 is implicit. */
    int shift = 0;
    while (!(mant & 0x400)) {
        mant <<= 1;
        shift++;
    }
    return sign | (uint32_t)(127 - 15 + 1 - shift) << 23 | (mant & 0x3FF) << 13;
}

int df_convert(void *dst, enum df_dtype to, const void *src, enum st_dtype from, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (df_convert_refusal(from, to))
        return DF_BAD;
    if (st_dtype_size(from) == df_dtype_size(to)) {   /* same type: a copy */
        memcpy(d, s, n * df_dtype_size(to));
        return DF_OK;
    }
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        uint32_t f;
        memcpy(&h, s + 2 * i, 2);
        f = from == ST_BF16 ? (uint32_t)h << 16 : f16_to_f32_bits(h);
        memcpy(d + 4 * i, &f, 4);
    }
    return DF_OK;
}
