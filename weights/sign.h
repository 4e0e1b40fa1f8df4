/* sign.h: signing keys (ECDSA P-256, PEM files) and sealing a weight file's
 * integrity section. mbedTLS does the elliptic-curve work; nothing outside
 * sign.c sees its types.
 *
 * A key is named by its key id: SHA-256 of its public key in DER
 * (SubjectPublicKeyInfo), the bytes inside a "BEGIN PUBLIC KEY" PEM block,
 * so `openssl pkey -pubin -in KEY.pub.pem -outform DER | sha256sum` gives it. */
#ifndef DF_SIGN_H
#define DF_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "integrity.h"

struct df_key;   /* an EC P-256 key pair, or a public key alone */

/* A private key from a PEM file (SEC1 "EC PRIVATE KEY" or PKCS#8, not
 * encrypted). DF_OK, DF_BAD (not an unencrypted P-256 private key) or DF_IO. */
int df_key_load_private(const char *path, struct df_key **out, char *err, size_t errlen);
/* A public key from PEM text ("BEGIN PUBLIC KEY"). DF_OK or DF_BAD. */
int df_key_parse_public(const char *pem, struct df_key **out, char *err, size_t errlen);
/* A public key from a PEM file (a private key's file gives its public half). */
int df_key_load_public(const char *path, struct df_key **out, char *err, size_t errlen);
void df_key_free(struct df_key *k);
const uint8_t *df_key_id(const struct df_key *k);                    /* 32 bytes */
int df_key_has_private(const struct df_key *k);

/* ECDSA over a SHA-256 digest: DER signature into sig (DF_SIG_MAX bytes).
 * Deterministic (RFC 6979), so packing twice gives the same file. */
int df_key_sign(const struct df_key *k, const uint8_t digest[32], uint8_t sig[DF_SIG_MAX], uint32_t *len,
                char *err, size_t errlen);
/* 0 if sig is k's valid signature of digest, else DF_BAD. */
int df_key_verify(const struct df_key *k, const uint8_t digest[32], const uint8_t *sig, size_t len);

/* A new key pair: the private key to priv_path (mode 0600) and the public key
 * to pub_path, neither of which may exist. DF_OK, DF_IO or DF_BAD. */
int df_key_generate(const char *priv_path, const char *pub_path, char *err, size_t errlen);

/* Completes the integrity section `in` whose chunk_bytes, n_chunks and hashes
 * are set, for the file whose final header bytes are `header` (decoded: h):
 * hash_alg, header_sha256, root, and with a private key the signature
 * (sig_alg, key_id, sig); with key NULL the section is unsigned. */
int df_seal(const unsigned char header[DF_HEADER_BYTES], const struct df_header *h, struct df_integrity *in,
            const struct df_key *key, char *err, size_t errlen);

/* The SHA-256 of the signed message df_seal signs. */
void df_message_digest(const unsigned char header[DF_HEADER_BYTES], const struct df_header *h,
                       const struct df_integrity *in, uint8_t digest[32]);

#endif
