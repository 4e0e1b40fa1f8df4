/* sign.c: see sign.h. */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>

#include "sha256.h"
#include "status.h"

struct df_key {
    mbedtls_pk_context pk;
    uint8_t id[32];
    int priv;
};

static void mbed_err(int ret, char *buf, size_t n)
{
    mbedtls_strerror(ret, buf, n);
}

/* A random generator for mbedTLS (key generation; blinding when signing). */
struct rng {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
};

static int rng_init(struct rng *r)
{
    static const unsigned char who[] = "deepfreeze weights signing";
    mbedtls_entropy_init(&r->entropy);
    mbedtls_ctr_drbg_init(&r->drbg);
    return mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy, who, sizeof who - 1);
}

static void rng_free(struct rng *r)
{
    mbedtls_ctr_drbg_free(&r->drbg);
    mbedtls_entropy_free(&r->entropy);
}

/* The key must be EC on P-256; then its id. */
static int finish_key(struct df_key *k, const char *what, char *err, size_t errlen)
{
    unsigned char der[256];
    mbedtls_pk_type_t t = mbedtls_pk_get_type(&k->pk);
    if ((t != MBEDTLS_PK_ECKEY && t != MBEDTLS_PK_ECDSA) ||
        mbedtls_pk_ec(k->pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
        snprintf(err, errlen, "%s: not an ECDSA P-256 (prime256v1) key", what);
        return DF_BAD;
    }
    int n = mbedtls_pk_write_pubkey_der(&k->pk, der, sizeof der);
    if (n <= 0) {
        snprintf(err, errlen, "%s: cannot encode its public key", what);
        return DF_BAD;
    }
    df_sha256(der + sizeof der - n, (size_t)n, k->id);
    return DF_OK;
}

static struct df_key *key_new(void)
{
    struct df_key *k = calloc(1, sizeof *k);
    if (k)
        mbedtls_pk_init(&k->pk);
    return k;
}

void df_key_free(struct df_key *k)
{
    if (!k)
        return;
    mbedtls_pk_free(&k->pk);
    free(k);
}

const uint8_t *df_key_id(const struct df_key *k)
{
    return k->id;
}

int df_key_has_private(const struct df_key *k)
{
    return k->priv;
}

/* The whole of a small file, NUL-terminated. */
static int read_small(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return DF_IO;
    }
    char *buf = malloc(65537);
    size_t n = buf ? fread(buf, 1, 65537, f) : 0;
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        snprintf(err, errlen, "%s: read error", path);
        return DF_IO;
    }
    if (n > 65536) {
        free(buf);
        snprintf(err, errlen, "%s: too large for a PEM key file", path);
        return DF_BAD;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return DF_OK;
}

int df_key_load_private(const char *path, struct df_key **out, char *err, size_t errlen)
{
    char *pem;
    size_t len;
    char why[160];
    *out = NULL;
    int rc = read_small(path, &pem, &len, err, errlen);
    if (rc != DF_OK)
        return rc;
    struct df_key *k = key_new();
    if (!k) {
        free(pem);
        snprintf(err, errlen, "out of memory");
        return DF_IO;
    }
    int ret = mbedtls_pk_parse_key(&k->pk, (const unsigned char *)pem, len + 1, NULL, 0);
    memset(pem, 0, len);
    free(pem);
    if (ret != 0) {
        mbed_err(ret, why, sizeof why);
        snprintf(err, errlen, "%s: not an unencrypted PEM private key (%s)", path, why);
        df_key_free(k);
        return DF_BAD;
    }
    k->priv = 1;
    if ((rc = finish_key(k, path, err, errlen)) != DF_OK) {
        df_key_free(k);
        return rc;
    }
    *out = k;
    return DF_OK;
}

int df_key_parse_public(const char *pem, struct df_key **out, char *err, size_t errlen)
{
    char why[160];
    *out = NULL;
    struct df_key *k = key_new();
    if (!k) {
        snprintf(err, errlen, "out of memory");
        return DF_IO;
    }
    int ret = mbedtls_pk_parse_public_key(&k->pk, (const unsigned char *)pem, strlen(pem) + 1);
    if (ret != 0) {
        mbed_err(ret, why, sizeof why);
        snprintf(err, errlen, "not a PEM public key (%s)", why);
        df_key_free(k);
        return DF_BAD;
    }
    int rc = finish_key(k, "public key", err, errlen);
    if (rc != DF_OK) {
        df_key_free(k);
        return rc;
    }
    *out = k;
    return DF_OK;
}

int df_key_load_public(const char *path, struct df_key **out, char *err, size_t errlen)
{
    char *pem;
    size_t len;
    char why[400];
    int rc = read_small(path, &pem, &len, err, errlen);
    if (rc != DF_OK)
        return rc;
    if (strstr(pem, "PRIVATE KEY-----")) {
        free(pem);
        rc = df_key_load_private(path, out, err, errlen);
        if (rc == DF_OK)
            (*out)->priv = 0;   /* used as a public key only */
        return rc;
    }
    rc = df_key_parse_public(pem, out, why, sizeof why);
    free(pem);
    if (rc != DF_OK)
        snprintf(err, errlen, "%s: %s", path, why);
    return rc;
}

int df_key_sign(const struct df_key *k, const uint8_t digest[32], uint8_t sig[DF_SIG_MAX], uint32_t *len,
                char *err, size_t errlen)
{
    struct rng r;
    unsigned char buf[MBEDTLS_ECDSA_MAX_LEN];
    size_t n = 0;
    char why[160];
    if (!k->priv) {
        snprintf(err, errlen, "signing needs a private key");
        return DF_BAD;
    }
    int ret = rng_init(&r);
    if (ret == 0)
        ret = mbedtls_pk_sign((mbedtls_pk_context *)&k->pk, MBEDTLS_MD_SHA256, digest, 32, buf, &n,
                              mbedtls_ctr_drbg_random, &r.drbg);
    rng_free(&r);
    if (ret != 0 || n > DF_SIG_MAX) {
        mbed_err(ret, why, sizeof why);
        snprintf(err, errlen, "signing failed (%s)", ret ? why : "signature too long");
        return DF_IO;
    }
    memset(sig, 0, DF_SIG_MAX);
    memcpy(sig, buf, n);
    *len = (uint32_t)n;
    return DF_OK;
}

int df_key_verify(const struct df_key *k, const uint8_t digest[32], const uint8_t *sig, size_t len)
{
    return mbedtls_pk_verify((mbedtls_pk_context *)&k->pk, MBEDTLS_MD_SHA256, digest, 32, sig, len) == 0 ? DF_OK
                                                                                                           : DF_BAD;
}

/* Writes text to a new file of the given mode; never replaces one. */
static int write_new(const char *path, const unsigned char *text, size_t n, mode_t mode, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return DF_IO;
    }
    size_t done = 0;
    while (done < n) {
        ssize_t k = write(fd, text + done, n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        done += (size_t)k;
    }
    int bad = done < n, saved = errno;
    if (!bad && fsync(fd) != 0)
        bad = 1, saved = errno;
    if (close(fd) != 0 && !bad)
        bad = 1, saved = errno;
    if (bad) {
        snprintf(err, errlen, "%s: write: %s", path, strerror(saved));
        unlink(path);
        return DF_IO;
    }
    return DF_OK;
}

int df_key_generate(const char *priv_path, const char *pub_path, char *err, size_t errlen)
{
    struct rng r;
    mbedtls_pk_context pk;
    unsigned char priv[1024], pub[1024];
    char why[160];
    int rc = DF_IO;
    mbedtls_pk_init(&pk);
    int ret = rng_init(&r);
    if (ret == 0)
        ret = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    if (ret == 0)
        ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk), mbedtls_ctr_drbg_random, &r.drbg);
    if (ret == 0)
        ret = mbedtls_pk_write_key_pem(&pk, priv, sizeof priv);
    if (ret == 0)
        ret = mbedtls_pk_write_pubkey_pem(&pk, pub, sizeof pub);
    if (ret != 0) {
        mbed_err(ret, why, sizeof why);
        snprintf(err, errlen, "key generation failed (%s)", why);
    } else if ((rc = write_new(priv_path, priv, strlen((char *)priv), 0600, err, errlen)) == DF_OK &&
               (rc = write_new(pub_path, pub, strlen((char *)pub), 0644, err, errlen)) != DF_OK) {
        unlink(priv_path);
    }
    memset(priv, 0, sizeof priv);
    mbedtls_pk_free(&pk);
    rng_free(&r);
    return rc;
}

void df_message_digest(const unsigned char header[DF_HEADER_BYTES], const struct df_header *h,
                       const struct df_integrity *in, uint8_t digest[32])
{
    uint8_t hh[32];
    unsigned char msg[DF_SIGNED_MESSAGE_BYTES];
    df_sha256(header, DF_HEADER_BYTES, hh);
    df_signed_message(h, hh, in, msg);
    df_sha256(msg, sizeof msg, digest);
}

int df_seal(const unsigned char header[DF_HEADER_BYTES], const struct df_header *h, struct df_integrity *in,
            const struct df_key *key, char *err, size_t errlen)
{
    uint8_t digest[32];
    in->hash_alg = DF_HASH_SHA256;
    df_sha256(header, DF_HEADER_BYTES, in->header_sha256);
    df_integrity_root(in->hashes, in->n_chunks, in->root);
    memset(in->key_id, 0, sizeof in->key_id);
    memset(in->sig, 0, sizeof in->sig);
    in->sig_len = 0;
    in->sig_alg = DF_SIG_NONE;
    if (!key)
        return DF_OK;
    in->sig_alg = DF_SIG_ECDSA_P256_SHA256;
    memcpy(in->key_id, key->id, 32);
    df_message_digest(header, h, in, digest);
    int rc = df_key_sign(key, digest, in->sig, &in->sig_len, err, errlen);
    if (rc == DF_OK && (!df_sig_der_ok(in->sig, in->sig_len) || df_key_verify(key, digest, in->sig, in->sig_len))) {
        snprintf(err, errlen, "the new signature does not verify (mbedTLS fault?)");
        rc = DF_IO;
    }
    return rc;
}
