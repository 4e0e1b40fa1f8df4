/* fuzz_header.c: libFuzzer target for the weight-file header decoder and
 * validator (weights/format.c). The input is the file: a header it accepts
 * must re-encode to the very bytes it was decoded from. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../weights/format_io.h"

static const struct df_tensor tensors[] = {
    { "w", "model.w", DF_F32, 2, { 2, 4 }, -1, 0, 32 },
};
static const struct df_manifest manifest = { "fuzz", "gen-1", { 0xAA, 0xBB }, 1, tensors, 64 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct df_header h;
    char err[512];
    const struct df_manifest *m = size > 0 && data[size - 1] == 'M' ? &manifest : NULL;
    if (df_header_check(size >= DF_HEADER_BYTES ? data : NULL, size, m, &h, err, sizeof err) == DF_OK) {
        unsigned char again[DF_HEADER_BYTES];
        df_header_encode(&h, again);
        if (memcmp(again, data, DF_HEADER_BYTES) != 0 || h.file_bytes != size)
            abort();
    } else if (memchr(err, 0, sizeof err) == NULL) {
        abort();
    }
    return 0;
}
