/* format.c: see format_io.h. */
#include "format_io.h"
#include "le.h"

#include "integrity.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Byte offsets of the fields in the encoded header. */
enum {
    O_MAGIC = 0, O_VERSION = 8, O_HEADER_BYTES = 12, O_DATA_OFFSET = 16, O_DATA_BYTES = 24,
    O_FILE_BYTES = 32, O_SHA = 40, O_MODEL = 72, O_GENERATOR = 136, O_INTEGRITY_OFFSET = 168,
    O_INTEGRITY_BYTES = 176,
};

void df_header_encode(const struct df_header *h, unsigned char out[DF_HEADER_BYTES])
{
    memset(out, 0, DF_HEADER_BYTES);
    memcpy(out + O_MAGIC, h->magic, sizeof h->magic);
    put32(out + O_VERSION, h->format_version);
    put32(out + O_HEADER_BYTES, h->header_bytes);
    put64(out + O_DATA_OFFSET, h->data_offset);
    put64(out + O_DATA_BYTES, h->data_bytes);
    put64(out + O_FILE_BYTES, h->file_bytes);
    memcpy(out + O_SHA, h->manifest_sha256, sizeof h->manifest_sha256);
    memcpy(out + O_MODEL, h->model_name, sizeof h->model_name);
    memcpy(out + O_GENERATOR, h->generator_version, sizeof h->generator_version);
    put64(out + O_INTEGRITY_OFFSET, h->integrity_offset);
    put64(out + O_INTEGRITY_BYTES, h->integrity_bytes);
}

void df_header_decode(const unsigned char in[DF_HEADER_BYTES], struct df_header *h)
{
    memcpy(h->magic, in + O_MAGIC, sizeof h->magic);
    h->format_version = get32(in + O_VERSION);
    h->header_bytes = get32(in + O_HEADER_BYTES);
    h->data_offset = get64(in + O_DATA_OFFSET);
    h->data_bytes = get64(in + O_DATA_BYTES);
    h->file_bytes = get64(in + O_FILE_BYTES);
    memcpy(h->manifest_sha256, in + O_SHA, sizeof h->manifest_sha256);
    memcpy(h->model_name, in + O_MODEL, sizeof h->model_name);
    memcpy(h->generator_version, in + O_GENERATOR, sizeof h->generator_version);
    h->integrity_offset = get64(in + O_INTEGRITY_OFFSET);
    h->integrity_bytes = get64(in + O_INTEGRITY_BYTES);
}

void df_header_for(const struct df_manifest *m, struct df_header *h)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, DF_MAGIC, sizeof h->magic);
    h->format_version = DF_FORMAT_VERSION;
    h->header_bytes = DF_HEADER_BYTES;
    h->data_offset = DF_HEADER_BYTES;
    h->data_bytes = m->data_bytes;
    h->integrity_offset = DF_HEADER_BYTES + m->data_bytes;
    h->file_bytes = h->integrity_offset;   /* + integrity_bytes, which the packer sets */
    memcpy(h->manifest_sha256, m->sha256, sizeof h->manifest_sha256);
    memcpy(h->model_name, m->model_name, strlen(m->model_name));
    memcpy(h->generator_version, m->generator_version, strlen(m->generator_version));
}

/* A NUL-padded text field: printable ASCII, then only NULs, at least one. */
static int padded_text_ok(const char *s, size_t size)
{
    size_t n = 0;
    while (n < size && s[n] != 0) {
        if (s[n] < 0x20 || s[n] > 0x7E)
            return 0;
        n++;
    }
    if (n == size)
        return 0;
    for (; n < size; n++)
        if (s[n] != 0)
            return 0;
    return 1;
}

static void hex(const uint8_t sha[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", sha[i]);
}

int df_header_check(const unsigned char *buf, uint64_t file_bytes, const struct df_manifest *m,
                    struct df_header *h, char *err, size_t errlen)
{
    if (file_bytes < DF_HEADER_BYTES) {
        snprintf(err, errlen, "too short for a deepfreeze weights file (%" PRIu64 " bytes, the header alone is %u)",
                 file_bytes, DF_HEADER_BYTES);
        return DF_BAD;
    }
    df_header_decode(buf, h);
    if (memcmp(h->magic, DF_MAGIC, sizeof h->magic) != 0) {
        snprintf(err, errlen, "not a deepfreeze weights file");
        return DF_BAD;
    }
    if (h->format_version == 1) {
        snprintf(err, errlen, "format version 1 has no integrity section: repack with this binary's packer "
                 "(format version %u)", DF_FORMAT_VERSION);
        return DF_BAD;
    }
    if (h->format_version != DF_FORMAT_VERSION) {
        snprintf(err, errlen, "format version %" PRIu32 ", this binary reads %u", h->format_version,
                 DF_FORMAT_VERSION);
        return DF_BAD;
    }
    if (h->header_bytes != DF_HEADER_BYTES || h->data_offset != h->header_bytes) {
        snprintf(err, errlen, "corrupt header: header_bytes %" PRIu32 ", data_offset %" PRIu64 " (both must be %u)",
                 h->header_bytes, h->data_offset, DF_HEADER_BYTES);
        return DF_BAD;
    }
    for (size_t i = DF_HEADER_USED; i < DF_HEADER_BYTES; i++) {
        if (buf[i] != 0) {
            snprintf(err, errlen, "corrupt header: reserved byte %zu is not zero", i);
            return DF_BAD;
        }
    }
    if (!padded_text_ok(h->model_name, sizeof h->model_name) ||
        !padded_text_ok(h->generator_version, sizeof h->generator_version)) {
        snprintf(err, errlen, "corrupt header: model name or generator version is not NUL-padded printable text");
        return DF_BAD;
    }
    /* The integrity section right after the data: a 256-byte fixed part and
     * 32 bytes per chunk (weights/integrity.c checks the rest). */
    uint64_t data_end = h->data_offset + h->data_bytes;
    if (h->data_bytes > UINT64_MAX - h->data_offset || h->integrity_offset != data_end ||
        h->integrity_bytes > UINT64_MAX - data_end || h->integrity_bytes < DF_INTEGRITY_FIXED ||
        (h->integrity_bytes - DF_INTEGRITY_FIXED) % 32 != 0) {
        snprintf(err, errlen, "corrupt header: data section [%" PRIu64 ", +%" PRIu64 "), integrity section [%" PRIu64
                 ", +%" PRIu64 ") do not fit together", h->data_offset, h->data_bytes, h->integrity_offset,
                 h->integrity_bytes);
        return DF_BAD;
    }
    if (m) {
        if (strcmp(h->model_name, m->model_name) != 0) {
            snprintf(err, errlen, "packed for model '%s', this binary runs '%s'", h->model_name, m->model_name);
            return DF_BAD;
        }
        if (memcmp(h->manifest_sha256, m->sha256, sizeof m->sha256) != 0) {
            char a[65], b[65];
            hex(h->manifest_sha256, a);
            hex(m->sha256, b);
            snprintf(err, errlen, "same model name but a different tensor layout (manifest hash %s vs %s): "
                     "repack with this binary's packer", a, b);
            return DF_BAD;
        }
        if (h->data_bytes != m->data_bytes) {
            snprintf(err, errlen, "corrupt header: data section of %" PRIu64 " bytes, the manifest says %" PRIu64,
                     h->data_bytes, m->data_bytes);
            return DF_BAD;
        }
    }
    if (h->file_bytes != data_end + h->integrity_bytes) {
        snprintf(err, errlen, "corrupt header: file_bytes %" PRIu64 ", but its sections end at %" PRIu64,
                 h->file_bytes, data_end + h->integrity_bytes);
        return DF_BAD;
    }
    if (file_bytes < h->file_bytes) {
        snprintf(err, errlen, "truncated: %" PRIu64 " bytes, header says %" PRIu64, file_bytes, h->file_bytes);
        return DF_BAD;
    }
    if (file_bytes > h->file_bytes) {
        snprintf(err, errlen, "has extra bytes: %" PRIu64 " bytes, header says %" PRIu64, file_bytes, h->file_bytes);
        return DF_BAD;
    }
    return DF_OK;
}

size_t df_dtype_size(enum df_dtype t)
{
    switch (t) {
    case DF_F32: return 4;
    case DF_BF16: return 2;
    case DF_F8E4M3: return 1;
    }
    return 0;
}

const char *df_dtype_name(enum df_dtype t)
{
    switch (t) {
    case DF_F32: return "F32";
    case DF_BF16: return "BF16";
    case DF_F8E4M3: return "F8_E4M3";
    }
    return "?";
}

static int64_t ceil128(int64_t n)
{
    return (n + 127) / 128;
}

int64_t df_fp8_scale_blocks(int64_t cols)
{
    return ceil128(cols);
}

int64_t df_fp8_scale_cols(int64_t cols)
{
    return (ceil128(cols) + 3) / 4 * 4;
}

static int check_tensor(const struct df_manifest *m, int i, uint64_t prev_end, char *err, size_t errlen)
{
    const struct df_tensor *t = &m->tensors[i];
    size_t esize = df_dtype_size(t->dtype);
    if (!t->name || !t->hf_name) {
        snprintf(err, errlen, "manifest: tensor %d has no name", i);
        return DF_BAD;
    }
    if (esize == 0 || (t->ndim != 1 && t->ndim != 2) || t->shape[0] < 1 || t->shape[1] < 1 ||
        (t->ndim == 1 && t->shape[1] != 1) || t->shape[0] > (INT64_MAX >> 8) / t->shape[1]) {
        snprintf(err, errlen, "manifest: tensor '%s': bad dtype, ndim or shape", t->name);
        return DF_BAD;
    }
    uint64_t bytes = (uint64_t)t->shape[0] * (uint64_t)t->shape[1] * esize;
    if (t->bytes != bytes) {
        snprintf(err, errlen, "manifest: tensor '%s': %" PRIu64 " bytes, its shape and dtype need %" PRIu64,
                 t->name, t->bytes, bytes);
        return DF_BAD;
    }
    if (t->offset % DF_TENSOR_ALIGN != 0 || t->offset < prev_end || t->offset > m->data_bytes ||
        t->bytes > m->data_bytes - t->offset) {
        snprintf(err, errlen, "manifest: tensor '%s': offset %" PRIu64 " is unaligned, out of order or out of the "
                 "data section", t->name, t->offset);
        return DF_BAD;
    }
    if (t->dtype == DF_F8E4M3 && (t->ndim != 2 || t->scale < 0)) {
        snprintf(err, errlen, "manifest: FP8 tensor '%s' needs 2 dimensions and a scale tensor", t->name);
        return DF_BAD;
    }
    if (t->scale >= 0) {
        const struct df_tensor *s = t->scale < m->n_tensors ? &m->tensors[t->scale] : NULL;
        if (t->dtype != DF_F8E4M3 || !s || s->dtype != DF_F32 || s->ndim != 2 ||
            s->shape[0] != ceil128(t->shape[0]) || s->shape[1] != df_fp8_scale_cols(t->shape[1])) {
            snprintf(err, errlen, "manifest: tensor '%s': scale %d is not an F32 tensor of its 128x128 blocks "
                     "(rows padded to 4)",
                     t->name, t->scale);
            return DF_BAD;
        }
    }
    return DF_OK;
}

int df_manifest_check(const struct df_manifest *m, char *err, size_t errlen)
{
    if (!m->model_name || !m->generator_version || m->model_name[0] == 0 ||
        strlen(m->model_name) >= sizeof((struct df_header *)0)->model_name ||
        strlen(m->generator_version) >= sizeof((struct df_header *)0)->generator_version) {
        snprintf(err, errlen, "manifest: model name (1 to 63 bytes) or generator version (up to 31) missing or too long");
        return DF_BAD;
    }
    if (!padded_text_ok(m->model_name, strlen(m->model_name) + 1) ||
        !padded_text_ok(m->generator_version, strlen(m->generator_version) + 1)) {
        snprintf(err, errlen, "manifest: model name or generator version is not printable ASCII");
        return DF_BAD;
    }
    if (m->n_tensors < 0 || (m->n_tensors > 0 && !m->tensors) ||
        m->data_bytes > UINT64_MAX - DF_HEADER_BYTES) {
        snprintf(err, errlen, "manifest: bad tensor count or data size");
        return DF_BAD;
    }
    uint64_t end = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        if (check_tensor(m, i, end, err, errlen) != DF_OK)
            return DF_BAD;
        end = m->tensors[i].offset + m->tensors[i].bytes;
    }
    return DF_OK;
}
