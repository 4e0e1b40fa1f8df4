/* fuzz_safetensors.c: libFuzzer target for weights/safetensors.c, through
 * the buffer entry point st_parse (the same checks st_open runs on a mapped
 * shard). Accepted tensors must lie inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../weights/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct st_shard sh = { 0 };
    char err[512];
    if (st_parse(data, size, "fuzz.safetensors", &sh, err, sizeof err) == DF_OK) {
        for (int i = 0; i < sh.n_tensors; i++) {
            const struct st_tensor *t = &sh.tensors[i];
            uint64_t n = st_dtype_size(t->dtype);
            for (int k = 0; k < t->ndim; k++)
                n *= (uint64_t)t->shape[k];
            if (t->data < data || t->bytes > size || (size_t)(t->data - data) > size - t->bytes ||
                n != t->bytes || strlen(t->name) == 0)
                abort();
            /* Touch the first and last byte: ASan flags anything outside the input. */
            volatile uint8_t sink = 0;
            if (t->bytes)
                sink = (uint8_t)(t->data[0] ^ t->data[t->bytes - 1]);
            (void)sink;
        }
    } else if (memchr(err, 0, sizeof err) == NULL) {
        abort();
    }
    st_shard_free(&sh);
    return 0;
}
