/* safetensors.h: reading an HF checkpoint directory of .safetensors shards.
 *
 * A shard is: 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "BF16", "shape": [r, c], "data_offsets": [begin, end]},
 *  ..., "__metadata__": {"key": "value"}}, then the data area that the
 * offsets index. Every entry is validated when the shard is opened; shards
 * are mapped read-only and tensors point into the mapping. */
#ifndef DF_SAFETENSORS_H
#define DF_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "status.h"

#define ST_MAX_HEADER 100000000u   /* bytes of a shard's JSON header */
#define ST_MAX_DIMS 8

enum st_dtype {
    ST_BOOL, ST_U8, ST_I8, ST_F8_E4M3, ST_F8_E5M2, ST_U16, ST_I16, ST_F16, ST_BF16,
    ST_U32, ST_I32, ST_F32, ST_U64, ST_I64, ST_F64,
};

struct st_tensor {
    const char *name;
    enum st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const unsigned char *data;  /* no alignment guaranteed */
    uint64_t bytes;
    const char *file;           /* the shard's path, for messages */
};

/* One shard's parsed header; the tensors point into the caller's buffer. */
struct st_shard {
    char *path;
    void *map;
    size_t map_bytes;
    struct json_doc doc;        /* owns the tensor names */
    int n_tensors;
    struct st_tensor *tensors;
};

struct st_checkpoint {
    char *dir;
    int n_shards;
    struct st_shard *shards;
    int n_tensors;
    const struct st_tensor **tensors;   /* all shards' tensors, sorted by name */
};

/* Parses the safetensors file in buf[0..size) (path names it in messages)
 * into shard->doc and shard->tensors. Returns DF_OK, DF_BAD or DF_IO (out of
 * memory) with a one-line message in err. st_shard_free releases the doc,
 * the tensors and, where set, path and map; call it on failure too. */
int st_parse(const unsigned char *buf, uint64_t size, const char *path, struct st_shard *shard,
             char *err, size_t errlen);
void st_shard_free(struct st_shard *shard);

/* Opens the checkpoint in dir: the shards named by model.safetensors.index.json,
 * else model.safetensors, else every *.safetensors in name order. */
int st_open(const char *dir, struct st_checkpoint **out, char *err, size_t errlen);
void st_close(struct st_checkpoint *ck);

/* The tensor called name, or NULL. */
const struct st_tensor *st_find(const struct st_checkpoint *ck, const char *name);

const char *st_dtype_name(enum st_dtype t);
size_t st_dtype_size(enum st_dtype t);

/* "[2, 3]": a shape for messages. */
void st_format_shape(const int64_t *shape, int ndim, char *out, size_t outlen);

#endif
