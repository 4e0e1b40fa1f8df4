/* pack.h: packing an HF checkpoint into a weight file laid out by a manifest. */
#ifndef DF_PACK_H
#define DF_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/model.h"
#include "status.h"

struct df_pack_stats {
    int tensors;        /* manifest tensors written */
    int unused;         /* checkpoint tensors the manifest does not use */
    uint64_t bytes;     /* bytes of the file, header included */
    double seconds;
};

/* Packs the checkpoint in hf_dir into out_path for manifest m. Everything is
 * checked (every tensor found, shape and dtype convertible) before writing
 * starts; the file is written as out_path.tmp, tensor by tensor, and renamed
 * only on success. Returns DF_OK, DF_BAD (bad, missing or mismatched
 * checkpoint content, or a broken manifest) or DF_IO, with a one-line message
 * in err. */
int df_pack(const struct df_manifest *m, const char *hf_dir, const char *out_path, struct df_pack_stats *stats,
            char *err, size_t errlen);

#endif
