/* integrity.c: see integrity.h. */
#include "integrity.h"
#include "le.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sha256.h"
#include "status.h"

/* Byte offsets of the fixed part's fields. */
enum {
    I_MAGIC = 0, I_HASH_ALG = 8, I_SIG_ALG = 12, I_CHUNK_BYTES = 16, I_N_CHUNKS = 24, I_HEADER_SHA = 32,
    I_ROOT = 64, I_KEY_ID = 96, I_SIG_LEN = 128, I_SIG = 132, I_END = I_SIG + DF_SIG_MAX,   /* 204; zero to 256 */
};

/* Byte offsets of the signed message's fields. */
enum {
    M_DOMAIN = 0, M_VERSION = 32, M_HASH_ALG = 36, M_SIG_ALG = 40, M_MANIFEST = 44, M_MODEL = 76,
    M_GENERATOR = 140, M_HEADER_SHA = 172, M_DATA_BYTES = 204, M_CHUNK_BYTES = 212, M_N_CHUNKS = 220,
    M_ROOT = 228, M_KEY_ID = 260, M_END = 292,
};
_Static_assert(M_END == DF_SIGNED_MESSAGE_BYTES, "signed message size");
_Static_assert(sizeof DF_SIGNED_DOMAIN == 32, "signed message domain is 32 bytes with its NUL");
_Static_assert(I_END <= DF_INTEGRITY_FIXED, "integrity fixed part");

void df_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = 0;
}

static int chunk_size_ok(uint64_t c)
{
    return c >= DF_CHUNK_BYTES_MIN && c <= DF_CHUNK_BYTES_MAX && (c & (c - 1)) == 0;
}

uint64_t df_chunk_count(uint64_t data_bytes, uint64_t chunk_bytes)
{
    if (!chunk_size_ok(chunk_bytes))
        return 0;
    return data_bytes / chunk_bytes + (data_bytes % chunk_bytes != 0);
}

uint64_t df_integrity_bytes(uint64_t n_chunks)
{
    if (n_chunks > (UINT64_MAX - DF_INTEGRITY_FIXED) / 32)
        return 0;
    return DF_INTEGRITY_FIXED + 32 * n_chunks;
}

void df_integrity_encode(const struct df_integrity *in, unsigned char out[DF_INTEGRITY_FIXED])
{
    memset(out, 0, DF_INTEGRITY_FIXED);
    memcpy(out + I_MAGIC, DF_INTEGRITY_MAGIC, 8);
    put32(out + I_HASH_ALG, in->hash_alg);
    put32(out + I_SIG_ALG, in->sig_alg);
    put64(out + I_CHUNK_BYTES, in->chunk_bytes);
    put64(out + I_N_CHUNKS, in->n_chunks);
    memcpy(out + I_HEADER_SHA, in->header_sha256, 32);
    memcpy(out + I_ROOT, in->root, 32);
    memcpy(out + I_KEY_ID, in->key_id, 32);
    put32(out + I_SIG_LEN, in->sig_len);
    memcpy(out + I_SIG, in->sig, in->sig_len <= DF_SIG_MAX ? in->sig_len : DF_SIG_MAX);
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

int df_integrity_parse(const unsigned char *sec, uint64_t sec_bytes, const struct df_header *h,
                       struct df_integrity *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (sec_bytes < DF_INTEGRITY_FIXED) {
        snprintf(err, errlen, "corrupt integrity section: %" PRIu64 " bytes, at least %u needed", sec_bytes,
                 DF_INTEGRITY_FIXED);
        return DF_BAD;
    }
    if (memcmp(sec + I_MAGIC, DF_INTEGRITY_MAGIC, 8) != 0) {
        snprintf(err, errlen, "corrupt integrity section: bad magic (not \"" DF_INTEGRITY_MAGIC "\")");
        return DF_BAD;
    }
    out->hash_alg = get32(sec + I_HASH_ALG);
    out->sig_alg = get32(sec + I_SIG_ALG);
    out->chunk_bytes = get64(sec + I_CHUNK_BYTES);
    out->n_chunks = get64(sec + I_N_CHUNKS);
    memcpy(out->header_sha256, sec + I_HEADER_SHA, 32);
    memcpy(out->root, sec + I_ROOT, 32);
    memcpy(out->key_id, sec + I_KEY_ID, 32);
    out->sig_len = get32(sec + I_SIG_LEN);
    if (out->hash_alg != DF_HASH_SHA256) {
        snprintf(err, errlen, "corrupt integrity section: hash algorithm %" PRIu32 " (only 1, SHA-256, exists)",
                 out->hash_alg);
        return DF_BAD;
    }
    if (out->sig_alg != DF_SIG_NONE && out->sig_alg != DF_SIG_ECDSA_P256_SHA256) {
        snprintf(err, errlen, "corrupt integrity section: signature algorithm %" PRIu32
                 " (0 unsigned or 1 ECDSA P-256)", out->sig_alg);
        return DF_BAD;
    }
    uint64_t n = df_chunk_count(h->data_bytes, out->chunk_bytes);
    if (n == 0 && !(h->data_bytes == 0 && chunk_size_ok(out->chunk_bytes))) {
        snprintf(err, errlen, "corrupt integrity section: chunk size %" PRIu64 " is not a power of two in [%u, %u]",
                 out->chunk_bytes, DF_CHUNK_BYTES_MIN, DF_CHUNK_BYTES_MAX);
        return DF_BAD;
    }
    if (out->n_chunks != n || df_integrity_bytes(n) != sec_bytes) {
        snprintf(err, errlen, "corrupt integrity section: %" PRIu64 " chunk hashes in %" PRIu64 " bytes, but %" PRIu64
                 " data bytes in chunks of %" PRIu64 " make %" PRIu64, out->n_chunks, sec_bytes, h->data_bytes,
                 out->chunk_bytes, n);
        return DF_BAD;
    }
    if (out->sig_alg == DF_SIG_NONE) {
        if (out->sig_len != 0 || !all_zero(sec + I_KEY_ID, 32) || !all_zero(sec + I_SIG, DF_SIG_MAX)) {
            snprintf(err, errlen, "corrupt integrity section: unsigned, but the key id or signature fields are not zero");
            return DF_BAD;
        }
    } else {
        if (out->sig_len < 8 || out->sig_len > DF_SIG_MAX || !all_zero(sec + I_SIG + out->sig_len,
                                                                       DF_SIG_MAX - out->sig_len)) {
            snprintf(err, errlen, "corrupt signature encoding: length %" PRIu32 " (8 to %u, zero after it)",
                     out->sig_len, DF_SIG_MAX);
            return DF_BAD;
        }
        memcpy(out->sig, sec + I_SIG, out->sig_len);
    }
    if (!all_zero(sec + I_END, DF_INTEGRITY_FIXED - I_END)) {
        snprintf(err, errlen, "corrupt integrity section: reserved bytes are not zero");
        return DF_BAD;
    }
    out->hashes = sec + DF_INTEGRITY_FIXED;
    return DF_OK;
}

void df_integrity_root(const uint8_t *hashes, uint64_t n_chunks, uint8_t root[32])
{
    struct df_sha256 c;
    df_sha256_init(&c);
    for (uint64_t i = 0; i < n_chunks; i++)
        df_sha256_update(&c, hashes + 32 * i, 32);
    df_sha256_final(&c, root);
}

void df_signed_message(const struct df_header *h, const uint8_t header_sha256[32], const struct df_integrity *in,
                       unsigned char out[DF_SIGNED_MESSAGE_BYTES])
{
    memset(out, 0, DF_SIGNED_MESSAGE_BYTES);
    memcpy(out + M_DOMAIN, DF_SIGNED_DOMAIN, sizeof DF_SIGNED_DOMAIN);
    put32(out + M_VERSION, h->format_version);
    put32(out + M_HASH_ALG, in->hash_alg);
    put32(out + M_SIG_ALG, in->sig_alg);
    memcpy(out + M_MANIFEST, h->manifest_sha256, 32);
    memcpy(out + M_MODEL, h->model_name, 64);
    memcpy(out + M_GENERATOR, h->generator_version, 32);
    memcpy(out + M_HEADER_SHA, header_sha256, 32);
    put64(out + M_DATA_BYTES, h->data_bytes);
    put64(out + M_CHUNK_BYTES, in->chunk_bytes);
    put64(out + M_N_CHUNKS, in->n_chunks);
    memcpy(out + M_ROOT, in->root, 32);
    memcpy(out + M_KEY_ID, in->key_id, 32);
}

/* One DER INTEGER at *p (within end): a positive, minimally encoded value of
 * 1 to 32 bytes (33 with the leading zero a high bit needs). */
static int der_integer(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *q = *p;
    if (end - q < 2 || q[0] != 0x02)
        return 0;
    size_t len = q[1];
    q += 2;
    if (len < 1 || len > 33 || (size_t)(end - q) < len)
        return 0;
    if (q[0] & 0x80)
        return 0;                                   /* negative */
    if (len > 1 && q[0] == 0 && !(q[1] & 0x80))
        return 0;                                   /* not minimal */
    if (len == 33 && q[0] != 0)
        return 0;                                   /* more than 256 bits */
    if (len == 1 && q[0] == 0)
        return 0;                                   /* zero is never a valid r or s */
    *p = q + len;
    return 1;
}

int df_sig_der_ok(const uint8_t *sig, size_t len)
{
    if (len < 8 || len > DF_SIG_MAX || sig[0] != 0x30 || sig[1] != len - 2)
        return 0;
    const uint8_t *p = sig + 2, *end = sig + len;
    return der_integer(&p, end) && der_integer(&p, end) && p == end;
}
