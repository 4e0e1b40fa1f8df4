/* pack.c: see pack.h.
 *
 * Two passes over the manifest: the first finds every tensor in the checkpoint
 * and checks shape and dtype, so a wrong checkpoint is refused in seconds
 * rather than after hours of writing; the second streams the tensors through
 * a small conversion buffer into the file, hashing each chunk of the data
 * section on the way. Nothing bigger than that buffer (and the list of chunk
 * hashes, 32 bytes per 4 MiB) is ever held in memory: the shards are mapped
 * and read once, in order. */
#include "pack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "convert.h"
#include "format_io.h"
#include "integrity.h"
#include "safetensors.h"
#include "sha256.h"
#include "sign.h"

#define CHUNK (8u << 20)   /* bytes of converted data per write */

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

/* cols: the columns the checkpoint's tensor has (source_cols). */
static int shape_matches(const struct df_tensor *t, int64_t cols, const struct st_tensor *s)
{
    return s->ndim == t->ndim && s->shape[0] == t->shape[0] && (t->ndim == 1 || s->shape[1] == cols);
}

/* cols[i]: the columns manifest tensor i has in the checkpoint. They are its
 * own, except for an FP8 weight's scales, whose rows the packed file pads to a
 * multiple of 4 (df_fp8_scale_cols): the checkpoint has ceil(cols / 128). */
static void source_cols(const struct df_manifest *m, int64_t *cols)
{
    for (int i = 0; i < m->n_tensors; i++)
        cols[i] = m->tensors[i].shape[1];
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].scale >= 0)
            cols[m->tensors[i].scale] = df_fp8_scale_blocks(m->tensors[i].shape[1]);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct hf_names of m, sorted, into names (room for n_tensors). */
static int distinct_names(const struct df_manifest *m, const char **names)
{
    int n = 0;
    for (int i = 0; i < m->n_tensors; i++)
        names[i] = m->tensors[i].hf_name;
    qsort(names, (size_t)m->n_tensors, sizeof *names, cmp_str);
    for (int i = 0; i < m->n_tensors; i++)
        if (n == 0 || strcmp(names[n - 1], names[i]) != 0)
            names[n++] = names[i];
    return n;
}

/* The likely mistake behind a missing or misshapen tensor is the wrong
 * checkpoint: most of the model's tensors do not fit it, or (for a missing
 * one) it has tensors the model does not know. Say so after the error. */
static void hint_other_model(const struct df_manifest *m, const int64_t *cols, const struct st_checkpoint *ck,
                             const char **names, int missing, char *err, size_t errlen)
{
    int fit = 0, n = distinct_names(m, names), unused = 0;
    const char *example = NULL;
    for (int i = 0; i < m->n_tensors; i++) {
        const struct st_tensor *s = st_find(ck, m->tensors[i].hf_name);
        fit += s && shape_matches(&m->tensors[i], cols[i], s);
    }
    for (int i = 0; i < ck->n_tensors; i++) {
        if (!bsearch(&ck->tensors[i]->name, names, (size_t)n, sizeof *names, cmp_str)) {
            example = example ? example : ck->tensors[i]->name;
            unused++;
        }
    }
    size_t len = strlen(err);
    if (2 * fit < m->n_tensors)
        snprintf(err + len, errlen - len, " (only %d of the %d tensors of model '%s' are in the checkpoint with the "
                 "right shape: is it a checkpoint of another model?)", fit, m->n_tensors, m->model_name);
    else if (missing && unused > 0)
        snprintf(err + len, errlen - len, " (the checkpoint has %d tensors model '%s' does not use, such as '%s': "
                 "is it a checkpoint of another model?)", unused, m->model_name, example);
}

/* Pass 1: src[i] is manifest tensor i's checkpoint tensor. */
static int match(const struct df_manifest *m, const int64_t *cols, const struct st_checkpoint *ck,
                 const struct st_tensor **src, const char **names, char *err, size_t errlen)
{
    for (int i = 0; i < m->n_tensors; i++) {
        const struct df_tensor *t = &m->tensors[i];
        const struct st_tensor *s = st_find(ck, t->hf_name);
        const char *why;
        if (!s) {
            fail(err, errlen, DF_BAD, "%s: tensor '%s' (packed as '%s') is not in the checkpoint", ck->dir,
                 t->hf_name, t->name);
            hint_other_model(m, cols, ck, names, 1, err, errlen);
            return DF_BAD;
        }
        if (!shape_matches(t, cols[i], s)) {
            char a[200], b[64];
            const int64_t want[2] = { t->shape[0], cols[i] };
            st_format_shape(s->shape, s->ndim, a, sizeof a);
            st_format_shape(want, t->ndim, b, sizeof b);
            fail(err, errlen, DF_BAD, "%s: tensor '%s' (packed as '%s'): checkpoint shape %s, the model needs %s",
                 s->file, t->hf_name, t->name, a, b);
            hint_other_model(m, cols, ck, names, 0, err, errlen);
            return DF_BAD;
        }
        if ((why = df_convert_refusal(s->dtype, t->dtype)) != NULL)
            return fail(err, errlen, DF_BAD, "%s: tensor '%s' (packed as '%s'): %s to %s %s", s->file, t->hf_name,
                        t->name, st_dtype_name(s->dtype), df_dtype_name(t->dtype), why);
        src[i] = s;
    }
    return DF_OK;
}

static int write_at(int fd, const void *buf, size_t n, uint64_t pos)
{
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t k = pwrite(fd, p, n, (off_t)pos);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
        pos += (uint64_t)k;
    }
    return 0;
}

/* The data section's writer: every byte goes to the file at pos and into the
 * hash of its chunk (hashes[i] = SHA-256 of data bytes [i*chunk, (i+1)*chunk)). */
struct data_out {
    int fd;
    uint64_t pos;            /* file offset of the next byte */
    uint64_t chunk_bytes, in_chunk, index;
    struct df_sha256 ctx;
    uint8_t *hashes;
};

static int emit(struct data_out *o, const unsigned char *p, size_t n)
{
    if (write_at(o->fd, p, n, o->pos))
        return -1;
    o->pos += n;
    while (n > 0) {
        size_t k = o->chunk_bytes - o->in_chunk < n ? (size_t)(o->chunk_bytes - o->in_chunk) : n;
        df_sha256_update(&o->ctx, p, k);
        o->in_chunk += k;
        p += k;
        n -= k;
        if (o->in_chunk == o->chunk_bytes) {
            df_sha256_final(&o->ctx, o->hashes + 32 * o->index++);
            df_sha256_init(&o->ctx);
            o->in_chunk = 0;
        }
    }
    return 0;
}

/* Zeros up to file offset end: the padding between tensors. */
static int pad_to(struct data_out *o, uint64_t end)
{
    static const unsigned char zeros[4096];
    while (o->pos < end) {
        size_t n = end - o->pos < sizeof zeros ? (size_t)(end - o->pos) : sizeof zeros;
        if (emit(o, zeros, n))
            return -1;
    }
    return 0;
}

/* Pass 2: data section, tensor by tensor, then the integrity section, then
 * the header last, so that an interrupted .tmp file never carries a valid
 * header. */
static int write_file(const struct df_manifest *m, const int64_t *cols, const struct st_tensor **src,
                      struct data_out *o, const struct df_key *key, unsigned char *buf, struct df_integrity *in,
                      char *err, size_t errlen)
{
    for (int i = 0; i < m->n_tensors; i++) {
        const struct df_tensor *t = &m->tensors[i];
        size_t in_size = st_dtype_size(src[i]->dtype), out_size = df_dtype_size(t->dtype);
        uint64_t n = (uint64_t)t->shape[0] * (uint64_t)t->shape[1], step = CHUNK / out_size;
        if (pad_to(o, DF_HEADER_BYTES + t->offset))
            goto io;
        if (cols[i] != t->shape[1]) {
            /* FP8 scales (small): each row, then zeros to the padded width */
            for (int64_t r = 0; r < t->shape[0]; r++) {
                df_convert(buf, t->dtype, src[i]->data + (size_t)(r * cols[i]) * in_size, src[i]->dtype,
                           (size_t)cols[i]);
                if (emit(o, buf, (size_t)cols[i] * out_size) ||
                    pad_to(o, o->pos + (uint64_t)(t->shape[1] - cols[i]) * out_size))
                    goto io;
            }
            continue;
        }
        for (uint64_t done = 0; done < n; done += step) {
            size_t k = (size_t)(n - done < step ? n - done : step);
            df_convert(buf, t->dtype, src[i]->data + done * in_size, src[i]->dtype, k);
            if (emit(o, buf, k * out_size))
                goto io;
        }
    }
    if (pad_to(o, DF_HEADER_BYTES + m->data_bytes))
        goto io;
    if (o->in_chunk > 0)
        df_sha256_final(&o->ctx, o->hashes + 32 * o->index++);

    struct df_header h;
    unsigned char header[DF_HEADER_BYTES];
    df_header_for(m, &h);
    h.integrity_bytes = df_integrity_bytes(in->n_chunks);
    h.file_bytes += h.integrity_bytes;
    df_header_encode(&h, header);
    in->hashes = o->hashes;
    int rc = df_seal(header, &h, in, key, err, errlen);
    if (rc != DF_OK)
        return rc;
    df_integrity_encode(in, buf);
    if (write_at(o->fd, buf, DF_INTEGRITY_FIXED, h.integrity_offset) ||
        write_at(o->fd, o->hashes, (size_t)(32 * in->n_chunks), h.integrity_offset + DF_INTEGRITY_FIXED) ||
        write_at(o->fd, header, DF_HEADER_BYTES, 0))
        goto io;
    return DF_OK;
io:
    snprintf(err, errlen, "write: %s", strerror(errno));
    return DF_IO;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int df_pack(const struct df_manifest *m, const char *hf_dir, const char *out_path, const struct df_pack_options *opt,
            struct df_pack_stats *stats, char *err, size_t errlen)
{
    struct st_checkpoint *ck = NULL;
    const struct st_tensor **src = NULL;
    int64_t *cols = NULL;
    const char **names = NULL;
    unsigned char *buf = NULL;
    char *tmp = NULL;
    struct df_key *key = NULL;
    struct df_integrity in = { 0 };
    struct data_out o = { 0 };
    int rc;
    double t0 = now();
    memset(stats, 0, sizeof *stats);
    if ((rc = df_manifest_check(m, err, errlen)) != DF_OK)
        return rc;
    in.chunk_bytes = opt && opt->chunk_bytes ? opt->chunk_bytes : DF_CHUNK_BYTES_DEFAULT;
    in.n_chunks = df_chunk_count(m->data_bytes, in.chunk_bytes);
    if (in.n_chunks == 0 && (m->data_bytes > 0 || df_chunk_count(1, in.chunk_bytes) == 0))
        return fail(err, errlen, DF_BAD, "chunk size %llu is not a power of two in [%u, %u]",
                    (unsigned long long)in.chunk_bytes, DF_CHUNK_BYTES_MIN, DF_CHUNK_BYTES_MAX);
    if (opt && opt->sign_key && (rc = df_key_load_private(opt->sign_key, &key, err, errlen)) != DF_OK)
        return rc;
    if ((rc = st_open(hf_dir, &ck, err, errlen)) != DF_OK) {
        df_key_free(key);
        return rc;
    }
    src = calloc((size_t)m->n_tensors + 1, sizeof *src);
    cols = calloc((size_t)m->n_tensors + 1, sizeof *cols);
    names = calloc((size_t)m->n_tensors + 1, sizeof *names);
    buf = malloc(CHUNK);
    tmp = malloc(strlen(out_path) + 5);
    o.hashes = malloc(32 * (size_t)in.n_chunks + 32);
    if (!src || !cols || !names || !buf || !tmp || !o.hashes) {
        rc = fail(err, errlen, DF_IO, "out of memory");
        goto out;
    }
    source_cols(m, cols);
    if ((rc = match(m, cols, ck, src, names, err, errlen)) != DF_OK)
        goto out;

    snprintf(tmp, strlen(out_path) + 5, "%s.tmp", out_path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = fail(err, errlen, DF_IO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    /* fsync before rename: after a crash the name holds all the data or nothing. */
    char why[512];
    o.fd = fd;
    o.pos = DF_HEADER_BYTES;
    o.chunk_bytes = in.chunk_bytes;
    df_sha256_init(&o.ctx);
    rc = write_file(m, cols, src, &o, key, buf, &in, why, sizeof why);
    if (rc == DF_OK && fsync(fd) != 0) {
        rc = DF_IO;
        snprintf(why, sizeof why, "fsync: %s", strerror(errno));
    }
    if (close(fd) && rc == DF_OK) {
        rc = DF_IO;
        snprintf(why, sizeof why, "close: %s", strerror(errno));
    }
    if (rc != DF_OK || rename(tmp, out_path)) {
        if (rc != DF_OK)
            fail(err, errlen, rc, "%s: %s", tmp, why);
        else
            rc = fail(err, errlen, DF_IO, "%s: rename: %s", out_path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    stats->tensors = m->n_tensors;
    stats->unused = ck->n_tensors - distinct_names(m, names);
    stats->bytes = DF_HEADER_BYTES + m->data_bytes + df_integrity_bytes(in.n_chunks);
    stats->chunks = in.n_chunks;
    stats->is_signed = key != NULL;
    if (key)
        memcpy(stats->key_id, df_key_id(key), 32);
    stats->seconds = now() - t0;
out:
    df_key_free(key);
    free(o.hashes);
    free(tmp);
    free(buf);
    free(names);
    free(src);
    free(cols);
    st_close(ck);
    return rc;
}
