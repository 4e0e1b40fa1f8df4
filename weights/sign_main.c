/* sign_main.c: df-sign, the signing-key tool (docs/signing.md).
 *
 *   df-sign keygen PREFIX                 new key pair: PREFIX.key.pem (private, 0600), PREFIX.pub.pem
 *   df-sign keyid KEY.pem                 the key id of a public or private key file
 *   df-sign sign --key KEY.pem FILE       check FILE's hashes, then sign it in place (replaces a signature)
 *   df-sign verify [--pub KEY.pub.pem]... [--threads N] FILE
 *                                         verify FILE against those keys; one JSON line on stdout
 *   df-sign message FILE                  the signed message (292 bytes) on stdout
 *   df-sign signature FILE                the DER signature on stdout
 *
 * It works on the weights file of any model: it reads the model's identity
 * from the header and checks no manifest. Exit codes: 0 ok, 2 usage, 3 a bad
 * key or file (refused), 4 I/O error. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../runtime/verify.h"
#include "../runtime/weights_file.h"
#include "integrity.h"
#include "sha256.h"
#include "sign.h"
#include "status.h"

static const char *prog = "df-sign";

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: %s keygen PREFIX                 new key pair: PREFIX.key.pem (private), PREFIX.pub.pem\n"
            "       %s keyid KEY.pem                 print the key id (SHA-256 of the public key, DER)\n"
            "       %s sign --key KEY.pem FILE       check FILE's chunk hashes, then sign it in place\n"
            "       %s verify [--pub KEY.pub.pem]... [--threads N] FILE\n"
            "                                          verify FILE (with no --pub: hashes only); JSON on stdout\n"
            "       %s message FILE                  the signed message on stdout (see docs/weights-format.md)\n"
            "       %s signature FILE                the DER signature on stdout\n"
            "Exit codes: 0 ok, 2 usage, 3 bad key or file, 4 I/O error.\n",
            prog, prog, prog, prog, prog, prog);
    return rc;
}

static int keygen(const char *prefix)
{
    char priv[4096], pub[4096], err[512];
    snprintf(priv, sizeof priv, "%s.key.pem", prefix);
    snprintf(pub, sizeof pub, "%s.pub.pem", prefix);
    int rc = df_key_generate(priv, pub, err, sizeof err);
    if (rc != DF_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return rc;
    }
    struct df_key *k;
    if (df_key_load_public(pub, &k, err, sizeof err) == DF_OK) {
        char id[65];
        df_hex(df_key_id(k), 32, id);
        fprintf(stderr, "%s: wrote %s (private: keep it secret) and %s, key id %s\n", prog, priv, pub, id);
        df_key_free(k);
    }
    return DF_OK;
}

static int keyid(const char *path)
{
    struct df_key *k;
    char err[512], id[65];
    int rc = df_key_load_public(path, &k, err, sizeof err);
    if (rc != DF_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return rc;
    }
    df_hex(df_key_id(k), 32, id);
    printf("%s\n", id);
    df_key_free(k);
    return DF_OK;
}

static int write_at(int fd, const void *buf, size_t n, off_t pos)
{
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t k = pwrite(fd, p, n, pos);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
        pos += k;
    }
    return 0;
}

static int sign_file(const char *key_path, const char *path)
{
    char err[1024];
    struct df_key *key;
    struct df_weights w;
    struct df_verify_report r;
    static const struct df_trust none = { 0, NULL, 0 };
    int rc = df_key_load_private(key_path, &key, err, sizeof err);
    if (rc != DF_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return rc;
    }
    if ((rc = df_weights_open(path, NULL, &w, err, sizeof err)) != DF_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        df_key_free(key);
        return rc;
    }
    /* Never sign bytes that do not match their hashes. */
    struct df_verify_options opt = { 0, -1 };
    if ((rc = df_weights_verify(&w, NULL, &none, &opt, &r, err, sizeof err)) != DF_OK) {
        fprintf(stderr, "%s: %s: %s: not signing\n", prog, path, err);
        goto out;
    }
    struct df_integrity in = w.integrity;
    unsigned char fixed[DF_INTEGRITY_FIXED];
    if ((rc = df_seal(w.map, &w.header, &in, key, err, sizeof err)) != DF_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto out;
    }
    df_integrity_encode(&in, fixed);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write_at(fd, fixed, sizeof fixed, (off_t)w.header.integrity_offset) || fsync(fd)) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        rc = DF_IO;
    } else {
        char id[65];
        df_hex(df_key_id(key), 32, id);
        fprintf(stderr, "%s: signed %s (model '%s', %llu chunks checked) with key %s\n", prog, path,
                w.header.model_name, (unsigned long long)w.integrity.n_chunks, id);
    }
    if (fd >= 0 && close(fd) != 0 && rc == DF_OK) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        rc = DF_IO;
    }
out:
    df_weights_close(&w);
    df_key_free(key);
    return rc;
}

#define MAX_PUB 16

static int verify(int argc, char **argv)
{
    struct df_trusted_key keys[MAX_PUB];
    struct df_key *loaded[MAX_PUB];
    int n = 0, threads = 0, rc = DF_OK;
    const char *file = NULL;
    char err[2048] = "";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--pub") == 0 && i + 1 < argc && n < MAX_PUB) {
            const char *p = argv[++i];
            if ((rc = df_key_load_public(p, &loaded[n], err, sizeof err)) != DF_OK) {
                fprintf(stderr, "%s: %s\n", prog, err);
                goto out;
            }
            keys[n].path = p;
            keys[n].pem = NULL;
            memcpy(keys[n].key_id, df_key_id(loaded[n]), 32);
            n++;
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (!file && argv[i][0] != '-') {
            file = argv[i];
        } else {
            rc = usage(stderr, 2);
            goto out;
        }
    }
    if (!file) {
        rc = usage(stderr, 2);
        goto out;
    }
    /* The keys as PEM text, as a binary embeds them. */
    static char pem[MAX_PUB][512];
    for (int k = 0; k < n; k++) {
        FILE *f = fopen(keys[k].path, "rb");
        size_t len = f ? fread(pem[k], 1, sizeof pem[k] - 1, f) : 0;
        if (f)
            fclose(f);
        pem[k][len] = 0;
        if (strstr(pem[k], "PRIVATE KEY")) {
            fprintf(stderr, "%s: %s: give the public key (df-sign keygen writes PREFIX.pub.pem)\n", prog, keys[k].path);
            rc = 2;
            goto out;
        }
        keys[k].pem = pem[k];
    }
    struct df_trust trust = { n, keys, 0 };
    struct df_weights w;
    struct df_verify_report r = { 0 };
    struct df_verify_options opt = { threads, -1 };
    char json[4096];
    rc = df_weights_open(file, NULL, &w, err, sizeof err);
    if (rc == DF_OK) {
        char why[800];
        rc = df_weights_verify(&w, NULL, &trust, &opt, &r, why, sizeof why);
        if (rc != DF_OK)
            snprintf(err, sizeof err, "%s: %s", file, why);
        df_verify_report_json(&r, file, w.header.model_name, err, json, sizeof json);
        df_weights_close(&w);
    } else {
        r.status = rc;
        df_verify_report_json(&r, file, NULL, err, json, sizeof json);
    }
    printf("%s\n", json);
    if (rc != DF_OK)
        fprintf(stderr, "%s: %s\n", prog, err);
    else if (r.note[0])
        fprintf(stderr, "%s: note: %s\n", prog, r.note);
out:
    for (int k = 0; k < n; k++)
        df_key_free(loaded[k]);
    return rc;
}

/* message / signature: the bytes an independent checker needs, e.g.
 *   openssl dgst -sha256 -verify KEY.pub.pem -signature sig.der message.bin */
static int dump(const char *what, const char *path)
{
    char err[1024];
    struct df_weights w;
    int rc = df_weights_open(path, NULL, &w, err, sizeof err);
    if (rc != DF_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return rc;
    }
    if (strcmp(what, "message") == 0) {
        uint8_t hh[32];
        unsigned char msg[DF_SIGNED_MESSAGE_BYTES];
        df_sha256(w.map, DF_HEADER_BYTES, hh);
        df_signed_message(&w.header, hh, &w.integrity, msg);
        rc = fwrite(msg, 1, sizeof msg, stdout) == sizeof msg ? DF_OK : DF_IO;
    } else if (w.integrity.sig_len == 0) {
        fprintf(stderr, "%s: %s is not signed\n", prog, path);
        rc = DF_BAD;
    } else {
        rc = fwrite(w.integrity.sig, 1, w.integrity.sig_len, stdout) == w.integrity.sig_len ? DF_OK : DF_IO;
    }
    df_weights_close(&w);
    if (fflush(stdout) != 0)
        rc = DF_IO;
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr, 2);
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
        return usage(stdout, 0);
    if (strcmp(cmd, "keygen") == 0 && argc == 3)
        return keygen(argv[2]);
    if (strcmp(cmd, "keyid") == 0 && argc == 3)
        return keyid(argv[2]);
    if (strcmp(cmd, "sign") == 0 && argc == 5 && strcmp(argv[2], "--key") == 0)
        return sign_file(argv[3], argv[4]);
    if (strcmp(cmd, "verify") == 0)
        return verify(argc - 2, argv + 2);
    if ((strcmp(cmd, "message") == 0 || strcmp(cmd, "signature") == 0) && argc == 3)
        return dump(cmd, argv[2]);
    fprintf(stderr, "%s: unknown command or wrong arguments: %s\n", prog, cmd);
    return usage(stderr, 2);
}
