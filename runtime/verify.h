/* verify.h: checking a mapped weight file's integrity section before the
 * first computation: the header's hash, the chunk-hash list's root, the
 * signature against the binary's trusted keys, then every chunk of the data
 * section, spread over threads.
 *
 * The trusted keys and the policy come from the spec (deploy.trusted_keys,
 * deploy.allow_no_verify); the generator writes them into trust.c
 * (templates/common/trust.c.in), which every binary and packer links. */
#ifndef DF_VERIFY_H
#define DF_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct df_weights;

struct df_trusted_key {
    const char *path;      /* as the spec names it (for messages) */
    const char *pem;       /* "-----BEGIN PUBLIC KEY-----..." */
    uint8_t key_id[32];    /* SHA-256 of the key's DER SubjectPublicKeyInfo */
};

struct df_trust {
    int n_keys;                            /* 0: unsigned files are accepted (chunk hashes still checked) */
    const struct df_trusted_key *keys;
    int allow_no_verify;                   /* the binary offers --no-verify */
};

/* Each generated model defines it (generated/<name>/trust.c). */
extern const struct df_trust df_trust;

struct df_verify_options {
    int threads;     /* hashing threads; <= 0: one per online CPU */
    int progress;    /* -1: a bar on stderr when it is a terminal and the data is large; 0 never; 1 always */
};

#define DF_VERIFY_MAX_BAD 8   /* failing chunks listed by index */

struct df_verify_report {
    int status;                 /* DF_OK, DF_BAD, DF_IO */
    const char *stage;          /* the check that failed (or "done"): "header", "integrity", "signature", "chunks" */
    int is_signed;              /* the file carries a signature */
    int key_trusted;            /* ... by a key this binary trusts, and it verified */
    char key_id[65];            /* hex, "" when unsigned */
    const char *key_path;       /* the trusted key's path in the spec, or NULL */
    uint64_t chunks, chunk_bytes, data_bytes;
    uint64_t bad_chunks;        /* chunks whose hash does not match */
    uint64_t bad[DF_VERIFY_MAX_BAD];
    int threads;
    const char *sha256_impl;    /* "sha-ni" or "mbedtls" */
    double seconds;             /* the whole verification */
    double hash_seconds;        /* the chunks alone */
    char note[256];             /* a warning for the user when accepted with less than a trusted signature */
};

/* Verifies the file w (opened by df_weights_open, header already checked
 * against manifest m, which may be NULL: then failing chunks name no tensors)
 * under trust t. Returns the report's status: DF_OK only if the header hash,
 * root, signature (as t requires) and every chunk are good; otherwise DF_BAD
 * with a one-line message in err naming what failed (for chunks: the chunk
 * index and the tensors it overlaps). */
int df_weights_verify(const struct df_weights *w, const struct df_manifest *m, const struct df_trust *t,
                      const struct df_verify_options *opt, struct df_verify_report *r, char *err, size_t errlen);

/* The report as one line of JSON (no newline), for `<binary> verify`. */
void df_verify_report_json(const struct df_verify_report *r, const char *path, const char *model, const char *error,
                           char *out, size_t outlen);

/* verify_cmd.c: `<binary> verify --weights FILE [--threads N]` (runtime/subcommands.c). */
int df_verify_command(int argc, char **argv);
/* The check main.c runs after opening the weights and before anything else
 * touches them: 0, or the exit code (3 refused, 4 I/O) after printing why.
 * no_verify (only where df_trust.allow_no_verify) skips it with a warning. */
int df_verify_before_run(const char *prog, const char *path, const struct df_weights *w, int no_verify);

#endif
