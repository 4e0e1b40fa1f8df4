/* safetensors.c: see safetensors.h. */
#include "safetensors.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define INDEX_NAME "model.safetensors.index.json"
#define SINGLE_NAME "model.safetensors"
#define SUFFIX ".safetensors"

static const struct {
    const char *name;
    unsigned size;
} dtypes[] = {
    [ST_BOOL] = { "BOOL", 1 }, [ST_U8] = { "U8", 1 }, [ST_I8] = { "I8", 1 },
    [ST_F8_E4M3] = { "F8_E4M3", 1 }, [ST_F8_E5M2] = { "F8_E5M2", 1 },
    [ST_U16] = { "U16", 2 }, [ST_I16] = { "I16", 2 }, [ST_F16] = { "F16", 2 }, [ST_BF16] = { "BF16", 2 },
    [ST_U32] = { "U32", 4 }, [ST_I32] = { "I32", 4 }, [ST_F32] = { "F32", 4 },
    [ST_U64] = { "U64", 8 }, [ST_I64] = { "I64", 8 }, [ST_F64] = { "F64", 8 },
};
#define N_DTYPES (int)(sizeof dtypes / sizeof dtypes[0])

const char *st_dtype_name(enum st_dtype t)
{
    return (int)t >= 0 && (int)t < N_DTYPES ? dtypes[t].name : "?";
}

size_t st_dtype_size(enum st_dtype t)
{
    return (int)t >= 0 && (int)t < N_DTYPES ? dtypes[t].size : 0;
}

void st_format_shape(const int64_t *shape, int ndim, char *out, size_t outlen)
{
    size_t n = (size_t)snprintf(out, outlen, "[");
    for (int i = 0; i < ndim && n < outlen; i++)
        n += (size_t)snprintf(out + n, outlen - n, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (n < outlen)
        snprintf(out + n, outlen - n, "]");
}

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

/* Text from a file, made safe for a one-line message. */
static const char *show(const char *s, size_t len, char out[64])
{
    size_t i;
    for (i = 0; i < len && i < 63; i++)
        out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7F ? '?' : s[i];
    out[i] = 0;
    return out;
}

/* A tensor or shard name must be usable as a C string on one line. */
static int name_ok(const char *s, size_t len)
{
    if (len == 0 || strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return 0;
    return 1;
}

/* A JSON array of at most max non-negative integers into v; -1 if it isn't. */
static int int_array(const struct json_node *a, int64_t *v, int max)
{
    int n = 0;
    if (a->type != JSON_ARRAY)
        return -1;
    for (const struct json_node *c = json_child(a); c; c = json_next(c)) {
        if (n == max || c->type != JSON_NUMBER || !c->is_int || c->i < 0)
            return -1;
        v[n++] = c->i;
    }
    return n;
}

static int parse_entry(const struct json_node *e, const unsigned char *data, uint64_t data_bytes,
                       const char *path, struct st_tensor *t, char *err, size_t errlen)
{
    const struct json_node *dtype = NULL, *shape = NULL, *offsets = NULL;
    char s1[64];
    t->name = e->key;
    t->file = path;
    if (!name_ok(e->key, e->key_len))
        return fail(err, errlen, DF_BAD, "%s: tensor name '%s' is empty or has control characters", path,
                    show(e->key, e->key_len, s1));
    if (e->type != JSON_OBJECT)
        return fail(err, errlen, DF_BAD, "%s: tensor '%s': entry is a %s, not an object", path, t->name,
                    json_type_name(e->type));
    for (const struct json_node *f = json_child(e); f; f = json_next(f)) {
        if (strcmp(f->key, "dtype") == 0) dtype = f;
        else if (strcmp(f->key, "shape") == 0) shape = f;
        else if (strcmp(f->key, "data_offsets") == 0) offsets = f;
        else
            return fail(err, errlen, DF_BAD, "%s: tensor '%s': unknown field '%s'", path, t->name,
                        show(f->key, f->key_len, s1));
    }
    if (!dtype || !shape || !offsets)
        return fail(err, errlen, DF_BAD, "%s: tensor '%s': missing field '%s'", path, t->name,
                    !dtype ? "dtype" : !shape ? "shape" : "data_offsets");

    int k = 0;
    if (dtype->type == JSON_STRING)
        while (k < N_DTYPES && strcmp(dtype->str, dtypes[k].name) != 0)
            k++;
    if (dtype->type != JSON_STRING || k == N_DTYPES || strlen(dtype->str) != dtype->len)
        return fail(err, errlen, DF_BAD, "%s: tensor '%s': unknown dtype %s", path, t->name,
                    dtype->type == JSON_STRING ? show(dtype->str, dtype->len, s1) : json_type_name(dtype->type));
    t->dtype = (enum st_dtype)k;

    t->ndim = int_array(shape, t->shape, ST_MAX_DIMS);
    if (t->ndim < 0)
        return fail(err, errlen, DF_BAD, "%s: tensor '%s': shape is not an array of at most %d non-negative integers",
                    path, t->name, ST_MAX_DIMS);
    int64_t off[2];
    if (int_array(offsets, off, 2) != 2 || off[0] > off[1] || (uint64_t)off[1] > data_bytes)
        return fail(err, errlen, DF_BAD, "%s: tensor '%s': data_offsets are not [begin, end] within the %" PRIu64
                    "-byte data area", path, t->name, data_bytes);

    /* The element count can overflow 64 bits in a hostile header. */
    uint64_t n = 1, esize = dtypes[k].size;
    int overflow = 0;
    for (int i = 0; i < t->ndim; i++) {
        uint64_t d = (uint64_t)t->shape[i];
        if (d != 0 && n > UINT64_MAX / d)
            overflow = 1;
        n *= d;
    }
    if (overflow || n > UINT64_MAX / esize || n * esize != (uint64_t)(off[1] - off[0])) {
        char s2[200];
        st_format_shape(t->shape, t->ndim, s2, sizeof s2);
        return fail(err, errlen, DF_BAD, "%s: tensor '%s': shape %s of %s does not fit data_offsets [%" PRId64
                    ", %" PRId64 "]", path, t->name, s2, dtypes[k].name, off[0], off[1]);
    }
    t->data = data + off[0];
    t->bytes = n * esize;
    return DF_OK;
}

static int check_metadata(const struct json_node *m, const char *path, char *err, size_t errlen)
{
    if (m->type != JSON_OBJECT)
        return fail(err, errlen, DF_BAD, "%s: __metadata__ is not an object", path);
    for (const struct json_node *c = json_child(m); c; c = json_next(c))
        if (c->type != JSON_STRING)
            return fail(err, errlen, DF_BAD, "%s: __metadata__ value is a %s, not a string", path,
                        json_type_name(c->type));
    return DF_OK;
}

int st_parse(const unsigned char *buf, uint64_t size, const char *path, struct st_shard *shard,
             char *err, size_t errlen)
{
    struct json_error je;
    memset(&shard->doc, 0, sizeof shard->doc);
    shard->n_tensors = 0;
    shard->tensors = NULL;
    if (size < 8)
        return fail(err, errlen, DF_BAD, "%s: %" PRIu64 " bytes, too short for a safetensors file", path, size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | buf[i];
    if (n > ST_MAX_HEADER || n > size - 8)
        return fail(err, errlen, DF_BAD, "%s: header length %" PRIu64 " exceeds the file (%" PRIu64
                    " bytes) or the limit (%u)", path, n, size, ST_MAX_HEADER);
    int rc = json_parse((const char *)buf + 8, n, &shard->doc, &je);
    if (rc != 0)
        return fail(err, errlen, rc == JSON_NOMEM ? DF_IO : DF_BAD, "%s: header JSON at byte %zu: %s", path,
                    je.offset + 8, je.msg);
    const struct json_node *root = shard->doc.root;
    if (root->type != JSON_OBJECT)
        return fail(err, errlen, DF_BAD, "%s: header is a JSON %s, not an object", path, json_type_name(root->type));

    shard->tensors = calloc(root->len + 1u, sizeof *shard->tensors);
    if (!shard->tensors)
        return fail(err, errlen, DF_IO, "%s: out of memory", path);
    const unsigned char *data = buf + 8 + n;
    uint64_t data_bytes = size - 8 - n;
    for (const struct json_node *e = json_child(root); e; e = json_next(e)) {
        if (strcmp(e->key, "__metadata__") == 0 && e->key_len == strlen("__metadata__"))
            rc = check_metadata(e, path, err, errlen);
        else
            rc = parse_entry(e, data, data_bytes, path, &shard->tensors[shard->n_tensors++], err, errlen);
        if (rc != DF_OK)
            return rc;
    }
    return DF_OK;
}

void st_shard_free(struct st_shard *shard)
{
    json_free(&shard->doc);
    free(shard->tensors);
    if (shard->map)
        munmap(shard->map, shard->map_bytes);
    free(shard->path);
    memset(shard, 0, sizeof *shard);
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *s = malloc(a + b + 2);
    if (s) {
        memcpy(s, dir, a);
        s[a] = '/';
        memcpy(s + a + 1, name, b + 1);
    }
    return s;
}

static int exists(const char *dir, const char *name)
{
    struct stat sb;
    char *path = join(dir, name);
    int yes = path && stat(path, &sb) == 0;
    free(path);
    return yes;
}

/* Maps dir/name and parses it into the next free slot of ck->shards. */
static int open_shard(struct st_checkpoint *ck, const char *name, char *err, size_t errlen)
{
    struct st_shard *sh = &ck->shards[ck->n_shards];
    struct stat sb;
    int rc;
    memset(sh, 0, sizeof *sh);
    if (!(sh->path = join(ck->dir, name)))
        return fail(err, errlen, DF_IO, "%s: out of memory", ck->dir);
    int fd = open(sh->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = fail(err, errlen, errno == ENOENT ? DF_BAD : DF_IO, "%s: %s", sh->path, strerror(errno));
    } else if (fstat(fd, &sb) != 0) {
        rc = fail(err, errlen, DF_IO, "%s: %s", sh->path, strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        rc = fail(err, errlen, DF_BAD, "%s: not a regular file", sh->path);
    } else if (sb.st_size > 0 &&
               (sh->map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
        sh->map = NULL;
        rc = fail(err, errlen, DF_IO, "%s: mmap: %s", sh->path, strerror(errno));
    } else {
        /* An empty file is not mapped (mmap refuses 0 bytes); st_parse rejects it. */
        sh->map_bytes = (size_t)sb.st_size;
        rc = st_parse(sh->map, sh->map_bytes, sh->path, sh, err, errlen);
    }
    if (fd >= 0)
        close(fd);
    if (rc != DF_OK)
        st_shard_free(sh);
    else
        ck->n_shards++;
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_tensor(const void *a, const void *b)
{
    return strcmp((*(const struct st_tensor *const *)a)->name, (*(const struct st_tensor *const *)b)->name);
}

/* Opens the given shard names (sorted, unique). */
static int open_shards(struct st_checkpoint *ck, const char **names, int n, char *err, size_t errlen)
{
    if (!(ck->shards = calloc((size_t)n + 1, sizeof *ck->shards)))
        return fail(err, errlen, DF_IO, "%s: out of memory", ck->dir);
    for (int i = 0; i < n; i++) {
        int rc = open_shard(ck, names[i], err, errlen);
        if (rc != DF_OK)
            return rc;
    }
    return DF_OK;
}

/* Without an index: every *.safetensors in the directory, in name order.
 * Hidden files are skipped (e.g. "._x.safetensors" left by macOS copies). */
static int open_listed(struct st_checkpoint *ck, char *err, size_t errlen)
{
    DIR *d = opendir(ck->dir);
    struct dirent *de;
    char **names = NULL;
    int n = 0, cap = 0, rc = DF_OK;
    if (!d)
        return fail(err, errlen, DF_IO, "%s: %s", ck->dir, strerror(errno));
    while (rc == DF_OK && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len <= strlen(SUFFIX) || strcmp(de->d_name + len - strlen(SUFFIX), SUFFIX) != 0)
            continue;
        if (n == cap) {
            char **bigger = realloc(names, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *names);
            if (!bigger) {
                rc = fail(err, errlen, DF_IO, "%s: out of memory", ck->dir);
                break;
            }
            names = bigger;
        }
        if (!(names[n] = strdup(de->d_name)))
            rc = fail(err, errlen, DF_IO, "%s: out of memory", ck->dir);
        else
            n++;
    }
    closedir(d);
    if (rc == DF_OK && n == 0)
        rc = fail(err, errlen, DF_BAD, "%s: no %s, %s or other *%s files", ck->dir, INDEX_NAME, SINGLE_NAME, SUFFIX);
    if (rc == DF_OK) {
        qsort(names, (size_t)n, sizeof *names, cmp_str);
        rc = open_shards(ck, (const char **)names, n, err, errlen);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static int read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    struct stat sb;
    int rc = DF_OK;
    *text = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, DF_IO, "%s: %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0)
        rc = fail(err, errlen, DF_IO, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode) || sb.st_size > ST_MAX_HEADER)
        rc = fail(err, errlen, DF_BAD, "%s: not a regular file of at most %u bytes", path, ST_MAX_HEADER);
    else if (!(*text = malloc((size_t)sb.st_size + 1)))
        rc = fail(err, errlen, DF_IO, "%s: out of memory", path);
    while (rc == DF_OK && *len < (size_t)sb.st_size) {
        ssize_t got = read(fd, *text + *len, (size_t)sb.st_size - *len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            rc = fail(err, errlen, DF_IO, "%s: read: %s", path, got < 0 ? strerror(errno) : "file shrank");
        else
            *len += (size_t)got;
    }
    close(fd);
    if (rc != DF_OK) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

/* With an index: parse it into *index and open the shards its weight_map names. */
static int open_indexed(struct st_checkpoint *ck, struct json_doc *index, char *err, size_t errlen)
{
    char *path = join(ck->dir, INDEX_NAME), *text = NULL, s1[64];
    const char **names = NULL;
    const struct json_node *map;
    struct json_error je;
    size_t len = 0;
    int rc, n = 0, u = 0;
    if (!path)
        return fail(err, errlen, DF_IO, "%s: out of memory", ck->dir);
    if ((rc = read_file(path, &text, &len, err, errlen)) != DF_OK)
        goto out;
    if ((rc = json_parse(text, len, index, &je)) != 0) {
        rc = fail(err, errlen, rc == JSON_NOMEM ? DF_IO : DF_BAD, "%s: JSON at byte %zu: %s", path, je.offset, je.msg);
        goto out;
    }
    map = json_get(index->root, "weight_map");
    if (!map || map->type != JSON_OBJECT || map->len == 0) {
        rc = fail(err, errlen, DF_BAD, "%s: no \"weight_map\" object with entries", path);
        goto out;
    }
    if (!(names = calloc(map->len, sizeof *names))) {
        rc = fail(err, errlen, DF_IO, "%s: out of memory", path);
        goto out;
    }
    for (const struct json_node *e = json_child(map); e; e = json_next(e)) {
        /* Shard names come from a file: they must not lead out of the directory. */
        if (e->type != JSON_STRING || !name_ok(e->str, e->len) || strchr(e->str, '/') ||
            strcmp(e->str, ".") == 0 || strcmp(e->str, "..") == 0) {
            rc = fail(err, errlen, DF_BAD, "%s: tensor '%s': shard is not a plain file name", path,
                      show(e->key, e->key_len, s1));
            goto out;
        }
        names[n++] = e->str;
    }
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n; i++)
        if (u == 0 || strcmp(names[u - 1], names[i]) != 0)
            names[u++] = names[i];
    rc = open_shards(ck, names, u, err, errlen);
out:
    free(names);
    free(text);
    free(path);
    return rc;
}

/* Every tensor the index names must be in the shard it names. */
static int check_index(const struct st_checkpoint *ck, const struct json_doc *index, char *err, size_t errlen)
{
    char s1[64];
    const struct json_node *map = json_get(index->root, "weight_map");
    for (const struct json_node *e = json_child(map); e; e = json_next(e)) {
        if (!name_ok(e->key, e->key_len))
            return fail(err, errlen, DF_BAD, "%s/%s: tensor name '%s' is empty or has control characters", ck->dir,
                        INDEX_NAME, show(e->key, e->key_len, s1));
        const struct st_tensor *t = st_find(ck, e->key);
        const char *base = t ? strrchr(t->file, '/') + 1 : NULL;
        if (!t)
            return fail(err, errlen, DF_BAD, "%s/%s: tensor '%s' is missing (%s puts it there)", ck->dir, e->str,
                        e->key, INDEX_NAME);
        if (strcmp(base, e->str) != 0)
            return fail(err, errlen, DF_BAD, "%s: tensor '%s' is there, but %s puts it in %s", t->file, e->key,
                        INDEX_NAME, e->str);
    }
    return DF_OK;
}

/* All tensors of all shards, sorted by name; a name in two shards is an error. */
static int build_table(struct st_checkpoint *ck, char *err, size_t errlen)
{
    int n = 0;
    for (int i = 0; i < ck->n_shards; i++)
        n += ck->shards[i].n_tensors;
    if (!(ck->tensors = calloc((size_t)n + 1, sizeof *ck->tensors)))
        return fail(err, errlen, DF_IO, "%s: out of memory", ck->dir);
    for (int i = 0; i < ck->n_shards; i++)
        for (int j = 0; j < ck->shards[i].n_tensors; j++)
            ck->tensors[ck->n_tensors++] = &ck->shards[i].tensors[j];
    qsort(ck->tensors, (size_t)n, sizeof *ck->tensors, cmp_tensor);
    for (int i = 1; i < n; i++)
        if (strcmp(ck->tensors[i - 1]->name, ck->tensors[i]->name) == 0)
            return fail(err, errlen, DF_BAD, "%s: tensor '%s' is in both %s and %s", ck->dir, ck->tensors[i]->name,
                        ck->tensors[i - 1]->file, ck->tensors[i]->file);
    return DF_OK;
}

int st_open(const char *dir, struct st_checkpoint **out, char *err, size_t errlen)
{
    struct json_doc index = { 0 };
    struct stat sb;
    int rc;
    *out = NULL;
    if (stat(dir, &sb) != 0)
        return fail(err, errlen, DF_IO, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return fail(err, errlen, DF_BAD, "%s: not a directory", dir);
    struct st_checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck || !(ck->dir = strdup(dir))) {
        free(ck);
        return fail(err, errlen, DF_IO, "%s: out of memory", dir);
    }
    int indexed = exists(dir, INDEX_NAME);
    if (indexed) {
        rc = open_indexed(ck, &index, err, errlen);
    } else if (exists(dir, SINGLE_NAME)) {
        const char *single = SINGLE_NAME;
        rc = open_shards(ck, &single, 1, err, errlen);
    } else {
        rc = open_listed(ck, err, errlen);
    }
    if (rc == DF_OK)
        rc = build_table(ck, err, errlen);
    if (rc == DF_OK && indexed)
        rc = check_index(ck, &index, err, errlen);
    json_free(&index);
    if (rc != DF_OK) {
        st_close(ck);
        return rc;
    }
    *out = ck;
    return DF_OK;
}

void st_close(struct st_checkpoint *ck)
{
    if (!ck)
        return;
    for (int i = 0; i < ck->n_shards; i++)
        st_shard_free(&ck->shards[i]);
    free(ck->shards);
    free(ck->tensors);
    free(ck->dir);
    free(ck);
}

static int cmp_find(const void *key, const void *elem)
{
    return strcmp(key, (*(const struct st_tensor *const *)elem)->name);
}

const struct st_tensor *st_find(const struct st_checkpoint *ck, const char *name)
{
    const struct st_tensor *const *t =
        bsearch(name, ck->tensors, (size_t)ck->n_tensors, sizeof *ck->tensors, cmp_find);
    return t ? *t : NULL;
}
