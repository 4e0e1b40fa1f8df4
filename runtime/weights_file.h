/* weights_file.h: opening a packed weight file (weights/format.h) for the
 * binary whose manifest it must match. */
#ifndef DF_WEIGHTS_FILE_H
#define DF_WEIGHTS_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "../weights/format_io.h"
#include "../weights/integrity.h"
#include "model.h"

struct df_weights {
    const unsigned char *data;  /* the data section: tensor i at data + tensors[i].offset */
    uint64_t data_bytes;
    struct df_header header;
    struct df_integrity integrity;  /* parsed; its hashes point into the mapping */
    void *map;                  /* the whole file, mapped read-only */
    size_t map_bytes;
};

/* Maps path read-only and checks its header against manifest m (see
 * df_header_check for the order of checks; m may be NULL: any model) and
 * the structure of its integrity section (df_integrity_parse). Nothing is
 * hashed here: df_weights_verify (verify.h) does that. Returns DF_OK, DF_BAD
 * (not a valid file for this binary) or DF_IO (could not open, stat or map),
 * with a one-line message naming the file in err. The data section is
 * 64-byte aligned: the mapping is page aligned and the header is 4096 bytes. */
int df_weights_open(const char *path, const struct df_manifest *m, struct df_weights *w, char *err, size_t errlen);
void df_weights_close(struct df_weights *w);

#endif
