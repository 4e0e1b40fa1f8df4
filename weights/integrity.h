/* integrity.h: the integrity section of a packed weight file (format
 * version 2) and the message its signature covers. Byte layouts are in
 * docs/weights-format.md; this is their one implementation, shared by the
 * packer, the signing tool, the binary's loader and the fuzzer.
 *
 *   [integrity_offset, +256)      fixed part (below), little-endian
 *   [+256, +256 + 32 * n_chunks)  SHA-256 of each data chunk, in order
 *
 * The data section is cut into chunks of chunk_bytes (a power of two; the
 * last may be shorter). root = SHA-256(hash[0] || ... || hash[n-1]). The
 * signature is ECDSA P-256 over SHA-256(signed message), DER-encoded. */
#ifndef DF_INTEGRITY_H
#define DF_INTEGRITY_H

#include <stddef.h>
#include <stdint.h>

#include "format.h"

#define DF_INTEGRITY_MAGIC "DFINTEGR"
#define DF_INTEGRITY_FIXED 256u             /* bytes before the chunk hashes */
#define DF_CHUNK_BYTES_DEFAULT (4u << 20)   /* 4 MiB */
#define DF_CHUNK_BYTES_MIN 4096u
#define DF_CHUNK_BYTES_MAX (1u << 30)
#define DF_SIG_MAX 72u                      /* a DER ECDSA P-256 signature, at most */
#define DF_SIGNED_MESSAGE_BYTES 292u
#define DF_SIGNED_DOMAIN "deepfreeze weights signature v1"   /* 31 chars + NUL = 32 bytes */

enum { DF_HASH_SHA256 = 1 };
enum { DF_SIG_NONE = 0, DF_SIG_ECDSA_P256_SHA256 = 1 };

struct df_integrity {
    uint32_t hash_alg;            /* DF_HASH_SHA256 */
    uint32_t sig_alg;             /* DF_SIG_NONE or DF_SIG_ECDSA_P256_SHA256 */
    uint64_t chunk_bytes;
    uint64_t n_chunks;
    uint8_t header_sha256[32];    /* of the 4096 header bytes */
    uint8_t root[32];
    uint8_t key_id[32];           /* SHA-256 of the signer's public key (DER SubjectPublicKeyInfo); 0 unsigned */
    uint32_t sig_len;             /* 0 unsigned, else 8 .. DF_SIG_MAX */
    uint8_t sig[DF_SIG_MAX];      /* DER, zero after sig_len */
    const uint8_t *hashes;        /* n_chunks * 32 bytes (parse: into the caller's buffer) */
};

/* Chunks of a data section and the integrity section's size. Both 0 on
 * overflow or a chunk size that is not a power of two in range. */
uint64_t df_chunk_count(uint64_t data_bytes, uint64_t chunk_bytes);
uint64_t df_integrity_bytes(uint64_t n_chunks);

/* The fixed part: encode writes all 256 bytes; parse checks the whole section
 * (sec: the integrity_bytes bytes at integrity_offset) against header h:
 * magic, algorithms, chunk size, chunk count, section size, signature fields,
 * zero padding. Returns DF_OK or DF_BAD with a one-line reason. */
void df_integrity_encode(const struct df_integrity *in, unsigned char out[DF_INTEGRITY_FIXED]);
int df_integrity_parse(const unsigned char *sec, uint64_t sec_bytes, const struct df_header *h,
                       struct df_integrity *out, char *err, size_t errlen);

/* root = SHA-256 of the chunk-hash list. */
void df_integrity_root(const uint8_t *hashes, uint64_t n_chunks, uint8_t root[32]);

/* The signed message (docs/weights-format.md), from the header fields, the
 * SHA-256 of the header's bytes and the integrity section's fields. */
void df_signed_message(const struct df_header *h, const uint8_t header_sha256[32], const struct df_integrity *in,
                       unsigned char out[DF_SIGNED_MESSAGE_BYTES]);

/* Strict DER check of an ECDSA signature: SEQUENCE { INTEGER r, INTEGER s },
 * short-form lengths, minimal positive integers of at most 32 value bytes,
 * nothing after. 1 if well-formed. */
int df_sig_der_ok(const uint8_t *sig, size_t len);

void df_hex(const uint8_t *bytes, size_t n, char *out);   /* out: 2n + 1 chars */

#endif
