/* format_io.h: reading, writing and checking the packed weight file's header
 * (layout in format.h) and the manifest that lays out its data section.
 *
 * The header is encoded field by field in little-endian order at fixed
 * offsets; the struct is never written as raw memory. */
#ifndef DF_FORMAT_IO_H
#define DF_FORMAT_IO_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/model.h"
#include "format.h"
#include "status.h"

#define DF_HEADER_USED 184u   /* encoded bytes of the fields; the rest is zero */

void df_header_encode(const struct df_header *h, unsigned char out[DF_HEADER_BYTES]);
void df_header_decode(const unsigned char in[DF_HEADER_BYTES], struct df_header *h);

/* The header a packer writes for manifest m (which passed df_manifest_check),
 * all but the integrity section's size: the packer sets integrity_bytes and
 * adds it to file_bytes. */
void df_header_for(const struct df_manifest *m, struct df_header *h);

/* Decodes and validates the header of a file of file_bytes bytes whose first
 * DF_HEADER_BYTES bytes are in buf (not read, may be NULL, when the file is
 * shorter than that). Checks, in order: size,
 * magic, version, structure, then (when m is not NULL) model name, manifest
 * hash and data size against m, and last the file size. Returns DF_OK or
 * DF_BAD with a one-line reason in err (without the file name). */
int df_header_check(const unsigned char *buf, uint64_t file_bytes, const struct df_manifest *m,
                    struct df_header *h, char *err, size_t errlen);

/* Checks a manifest's own consistency (the packer relies on it): names,
 * dtypes, shapes, sizes, 64-byte aligned offsets in increasing order inside
 * data_bytes, scale tensors. Returns DF_OK or DF_BAD. */
int df_manifest_check(const struct df_manifest *m, char *err, size_t errlen);

size_t df_dtype_size(enum df_dtype t);       /* 0 for an unknown value */
const char *df_dtype_name(enum df_dtype t);  /* "F32", "BF16", "F8_E4M3" */

/* The 128-column blocks of an FP8 weight of cols columns: the columns of its
 * scale tensor in a checkpoint (weight_scale_inv). */
int64_t df_fp8_scale_blocks(int64_t cols);

/* The columns of its scale tensor in the packed file: those blocks rounded up
 * to a multiple of 4 (each row of scales padded to 16 bytes with zeros, as
 * cuBLASLt reads them; runtime/kernels/mat.h). */
int64_t df_fp8_scale_cols(int64_t cols);

#endif
