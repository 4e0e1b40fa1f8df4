/* audit.h: the audit record (docs/reproducibility.md).
 *
 * `<binary> audit --weights FILE` prints, as JSON, everything a third party
 * needs to re-derive this binary's outputs: the binary's own SHA-256, the spec
 * and its hash, the generator version and the hash of the generated sources,
 * the compiler and flags, the weights file's root hash and signer, the CPU
 * features the kernels use, and the outputs on a built-in set of prompts
 * (greedy ids, a hash of the logits' bits, ids sampled with a seed).
 * `<binary> audit --check RECORD --weights FILE` makes the record again and
 * names every field that differs (exit 5), or exits 0.
 *
 * The built-in prompts are token ids from a fixed generator (any vocab), so
 * the record needs no tokenizer; batch and thread invariance (docs/numerics.md)
 * make the outputs independent of --threads and of how the prompts are batched. */
#ifndef DF_AUDIT_H
#define DF_AUDIT_H

#include <stdio.h>

#include "sample.h"
#include "session.h"

#define DF_AUDIT_FORMAT 3     /* 2: with "device"; 3: with "gemms" */
#define DF_AUDIT_PROMPTS 3      /* built-in prompts of 1, 7 and 29 tokens */
#define DF_AUDIT_MAX_PROMPT 29
#define DF_AUDIT_NEW 8          /* tokens generated per prompt, greedy and sampled */
#define DF_HEX 65               /* a SHA-256 in hex, with its NUL */

struct df_audit_output {
    int len;                          /* prompt tokens */
    int prompt[DF_AUDIT_MAX_PROMPT];
    int greedy[DF_AUDIT_NEW];         /* greedy ids */
    char logits_sha256[DF_HEX];       /* of the greedy run's logits rows (float32 bits, little-endian) */
    int sampled[DF_AUDIT_NEW];        /* ids sampled with the record's sampling settings */
};

struct df_audit_record {
    int format;
    char model[64], backend[16];
    char binary_sha256[DF_HEX];
    char spec_sha256[DF_HEX];
    char generator_version[32], sources_sha256[DF_HEX];
    char compiler[160], flags[512];
    char weights_root[DF_HEX], manifest_sha256[DF_HEX];
    char signer_key_id[DF_HEX];       /* "" when the file is unsigned */
    char signer_key[256];             /* the trusted key's path in the spec, "" if none */
    char arithmetic[16];              /* what fixes the bits: "simd16", "scalar" or the GPU backend's name */
    char kernels[16], cpu_model[96];  /* informational: the ISA in use, the CPU's name */
    char device[160];                 /* informational: the GPU's name and properties, "" on the CPU */
    char gemms[4096];                 /* informational: the algorithm of each GEMM shape of the model
                                       * (cuBLASLt's, on a GPU), "" where there is none */
    int threads;                      /* informational */
    struct df_sampling sampling;
    int n_new, n_prompts;
    struct df_audit_output out[DF_AUDIT_PROMPTS];
    char fingerprint[DF_HEX];         /* of the outputs, see df_audit_fingerprint */
};

/* The built-in prompts for df_model (their lengths fit its max context).
 * Returns 0, or -1 if the model's context is too short for any. */
int df_audit_prompts(struct df_audit_record *r);

/* Fills r for the running binary and the verified session: provenance,
 * build, weights, CPU, then runs the prompts (greedy and sampled with
 * r->sampling, which the caller sets). Returns 0, or an exit code after
 * printing why on stderr. */
int df_audit_make(struct df_audit_record *r, struct df_session *s, const char *prog, int threads);

/* SHA-256 over the text "<logits_sha256> <greedy ids> <sampled ids>\n" per
 * prompt (ids comma-separated), so it can be re-derived from the JSON. */
void df_audit_fingerprint(const struct df_audit_record *r, char hex[DF_HEX]);

/* ids as "1,2,3" into out[n]. */
void df_audit_ids_text(char *out, size_t n, const int *ids, int k);

/* The record as JSON (audit_json.c), with the spec's text. */
void df_audit_write_json(FILE *f, const struct df_audit_record *r);

/* Reads a record written by df_audit_write_json. Returns 0, or -1 with a
 * one-line reason in err (not JSON, a missing or mistyped field, a spec text
 * that does not match its hash). */
int df_audit_read_json(const char *text, size_t len, struct df_audit_record *r, char *err, size_t errlen);

/* Prints "audit: FIELD differs: record X, now Y" for each difference of the
 * fields that fix the outputs (not the informational ones); returns how many. */
int df_audit_compare(FILE *f, const struct df_audit_record *want, const struct df_audit_record *got);

/* `<binary> audit ...` (runtime/subcommands.c). */
int df_audit_command(int argc, char **argv);

#endif
