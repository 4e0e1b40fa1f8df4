/* format.h: the packed weight file (version 2; docs/weights-format.md).
 *
 *   [0, 4096)                      header (below), little-endian
 *   [data_offset, +data_bytes)     tensors at the manifest's offsets, 64-byte aligned
 *   [integrity_offset, +bytes)     the integrity section (weights/integrity.h):
 *                                  header hash, chunk hashes, root, signature
 *
 * The file is valid for a binary only if magic, version, model name and the
 * manifest hash all match what the generator compiled into it, and its
 * integrity section verifies (runtime/verify.h). Version 1 files had no
 * integrity section (integrity_bytes = 0); they are refused: repack. */
#ifndef DF_FORMAT_H
#define DF_FORMAT_H

#include <stdint.h>

#define DF_MAGIC "DFWEIGHT"
#define DF_FORMAT_VERSION 2u
#define DF_HEADER_BYTES 4096u
#define DF_TENSOR_ALIGN 64u

struct df_header {
    char magic[8];                /* "DFWEIGHT", no NUL */
    uint32_t format_version;      /* DF_FORMAT_VERSION */
    uint32_t header_bytes;        /* DF_HEADER_BYTES */
    uint64_t data_offset;         /* = header_bytes */
    uint64_t data_bytes;          /* from the manifest */
    uint64_t file_bytes;          /* the whole file */
    uint8_t manifest_sha256[32];
    char model_name[64];          /* NUL-padded */
    char generator_version[32];   /* NUL-padded */
    uint64_t integrity_offset;    /* = data_offset + data_bytes */
    uint64_t integrity_bytes;     /* 256 + 32 * chunks */
};
/* sizeof(struct df_header) = 184; the rest of the 4096 bytes are zero. */

#endif
