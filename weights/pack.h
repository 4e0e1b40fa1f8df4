/* pack.h: packing an HF checkpoint into a weight file laid out by a manifest. */
#ifndef DF_PACK_H
#define DF_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/model.h"
#include "status.h"

struct df_pack_options {
    const char *sign_key;    /* PEM private key (ECDSA P-256) to sign with; NULL: unsigned */
    uint64_t chunk_bytes;    /* integrity chunk size; 0: DF_CHUNK_BYTES_DEFAULT (4 MiB) */
};

struct df_pack_stats {
    int tensors;        /* manifest tensors written */
    int unused;         /* checkpoint tensors the manifest does not use */
    uint64_t bytes;     /* bytes of the file, header and integrity section included */
    uint64_t chunks;    /* chunk hashes in the integrity section */
    int is_signed;
    uint8_t key_id[32]; /* the signing key's id, when signed */
    double seconds;
};

/* Packs the checkpoint in hf_dir into out_path for manifest m. Everything is
 * checked (every tensor found, shape and dtype convertible, the signing key
 * readable) before writing starts; the file is written as out_path.tmp,
 * tensor by tensor, hashing each chunk as it goes, then the integrity section
 * (signed when opt->sign_key is set) and the header, and renamed only on
 * success. opt may be NULL (unsigned, 4 MiB chunks). Returns DF_OK, DF_BAD
 * (bad, missing or mismatched checkpoint content, a bad key, or a broken
 * manifest) or DF_IO, with a one-line message in err. */
int df_pack(const struct df_manifest *m, const char *hf_dir, const char *out_path, const struct df_pack_options *opt,
            struct df_pack_stats *stats, char *err, size_t errlen);

#endif
