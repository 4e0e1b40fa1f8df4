/* audit.c: making an audit record (audit.h): what the binary knows about
 * itself, what it verified about its weights, and its outputs on the
 * built-in prompts. */
#include "audit.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../weights/integrity.h"
#include "../weights/sha256.h"
#include "cpu_features.h"
#include "exit_codes.h"
#include "provenance.h"
#include "verify.h"

#if defined(__clang__)
#define DF_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define DF_COMPILER "gcc " __VERSION__
#else
#error "which compiler? runtime/audit.c records it"
#endif
#ifndef DF_BUILD_FLAGS
#error "the Makefile passes DF_BUILD_FLAGS (the C flags, which `audit` records)"
#endif

static const int prompt_len[DF_AUDIT_PROMPTS] = { 29, 7, 1 };

int df_audit_prompts(struct df_audit_record *r)
{
    const struct df_model *m = &df_model;
    r->n_new = DF_AUDIT_NEW;
    /* Every prompt in one batch, so that sequence i samples from stream i
     * (sample.h) however the batch is cut: at most max_batch of them. */
    r->n_prompts = m->max_batch < DF_AUDIT_PROMPTS ? m->max_batch : DF_AUDIT_PROMPTS;
    int room = m->max_context - DF_AUDIT_NEW;
    if (room < 1)
        return -1;
    for (int i = 0; i < r->n_prompts; i++) {
        struct df_audit_output *o = &r->out[i];
        o->len = prompt_len[i] < room ? prompt_len[i] : room;
        /* A 64-bit LCG (Knuth's MMIX constants) per prompt; ids spread over the vocab. */
        uint64_t x = (uint64_t)i + 1;
        for (int t = 0; t < o->len; t++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            o->prompt[t] = (int)((x >> 33) % (uint64_t)m->vocab);
        }
    }
    return 0;
}

static int sha256_file(const char *path, char hex[DF_HEX])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    struct df_sha256 c;
    df_sha256_init(&c);
    static unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        df_sha256_update(&c, buf, n);
    int bad = ferror(f);
    fclose(f);
    uint8_t h[32];
    df_sha256_final(&c, h);
    df_hex(h, 32, hex);
    return bad ? -1 : 0;
}

/* The "model name" line of /proc/cpuinfo, or "". */
static void cpu_model(char *out, size_t n)
{
    out[0] = '\0';
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!strncmp(line, "model name", 10) && colon) {
            snprintf(out, n, "%s", colon + 1 + (colon[1] == ' '));
            out[strcspn(out, "\n")] = '\0';
            break;
        }
    }
    fclose(f);
}

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src);
}

static void describe(struct df_audit_record *r, const struct df_session *s, int threads)
{
    const struct df_model *m = &df_model;
    const struct df_provenance *p = &df_provenance;
    const struct df_integrity *in = &s->file.integrity;
    r->format = DF_AUDIT_FORMAT;
    copy(r->model, sizeof r->model, m->manifest->model_name);
    copy(r->backend, sizeof r->backend, m->backend->name);
    copy(r->spec_sha256, sizeof r->spec_sha256, p->spec_sha256);
    copy(r->generator_version, sizeof r->generator_version, p->generator_version);
    copy(r->sources_sha256, sizeof r->sources_sha256, p->sources_sha256);
    copy(r->compiler, sizeof r->compiler, DF_COMPILER);
    copy(r->flags, sizeof r->flags, DF_BUILD_FLAGS);
    df_hex(in->root, 32, r->weights_root);
    df_hex(m->manifest->sha256, 32, r->manifest_sha256);
    r->signer_key_id[0] = r->signer_key[0] = '\0';
    if (in->sig_len > 0) {
        df_hex(in->key_id, 32, r->signer_key_id);
        for (int k = 0; k < df_trust.n_keys; k++)
            if (!memcmp(df_trust.keys[k].key_id, in->key_id, 32))
                copy(r->signer_key, sizeof r->signer_key, df_trust.keys[k].path);
    }
    /* The CPU kernels' bits depend only on plain C vs the 16-lane order
     * (AVX2 and AVX-512 agree bit for bit: cpu_features.h). */
    bool cpu = !strcmp(m->backend->name, "cpu");
    copy(r->arithmetic, sizeof r->arithmetic, !cpu ? m->backend->name : df_isa == DF_ISA_SCALAR ? "scalar" : "simd16");
    copy(r->kernels, sizeof r->kernels, cpu ? df_isa_name(df_isa) : m->backend->name);
    cpu_model(r->cpu_model, sizeof r->cpu_model);
    r->device[0] = '\0';
    if (m->backend->device_name)
        m->backend->device_name(r->device, sizeof r->device);
    r->threads = threads;
}

/* Runs the built-in prompts as one batch with sampling cfg; with logits, also
 * hashes each sequence's logits rows. Returns 0 or an exit code. */
static int run(struct df_audit_record *r, struct df_session *s, const char *prog, const struct df_sampling *cfg,
               int (*ids)[DF_AUDIT_NEW], bool logits)
{
    const struct df_model *m = &df_model;
    int *prompt[DF_AUDIT_PROMPTS], len[DF_AUDIT_PROMPTS], *out[DF_AUDIT_PROMPTS];
    for (int i = 0; i < r->n_prompts; i++) {
        prompt[i] = r->out[i].prompt;
        len[i] = r->out[i].len;
        out[i] = ids[i];
    }
    const struct df_prompts p = { r->n_prompts, len, prompt };
    struct df_sampler sampler;
    if (df_sampler_init(&sampler, cfg, m->vocab) != 0) {
        fprintf(stderr, "%s: audit: out of memory\n", prog);
        return DF_EXIT_OTHER;
    }
    FILE *rows = NULL;
    int rc = DF_EXIT_OK;
    if (logits && !(rows = tmpfile())) {
        fprintf(stderr, "%s: audit: a temporary file for the logits: %s\n", prog, strerror(errno));
        rc = DF_EXIT_IO;
    } else if (df_generate(&s->engine, &p, r->n_new, &sampler, rows, out) != 0) {
        fprintf(stderr, "%s: audit: writing the logits to a temporary file failed\n", prog);
        rc = DF_EXIT_IO;
    }
    /* Sequence i's rows: n_new rows of vocab floats, one after the other. */
    size_t seq_bytes = (size_t)r->n_new * (size_t)m->vocab * sizeof(float);
    for (int i = 0; rows && rc == DF_EXIT_OK && i < r->n_prompts; i++) {
        static unsigned char buf[1 << 16];
        struct df_sha256 c;
        df_sha256_init(&c);
        if (fseek(rows, (long)(i * seq_bytes), SEEK_SET) != 0)
            rc = DF_EXIT_IO;
        for (size_t left = seq_bytes; rc == DF_EXIT_OK && left > 0;) {
            size_t n = fread(buf, 1, left < sizeof buf ? left : sizeof buf, rows);
            if (n == 0)
                rc = DF_EXIT_IO;
            df_sha256_update(&c, buf, n);
            left -= n;
        }
        uint8_t h[32];
        df_sha256_final(&c, h);
        df_hex(h, 32, r->out[i].logits_sha256);
        if (rc)
            fprintf(stderr, "%s: audit: reading the logits back from a temporary file failed\n", prog);
    }
    if (rows)
        fclose(rows);
    df_sampler_free(&sampler);
    return rc;
}

void df_audit_fingerprint(const struct df_audit_record *r, char hex[DF_HEX])
{
    struct df_sha256 c;
    df_sha256_init(&c);
    for (int i = 0; i < r->n_prompts; i++) {
        const struct df_audit_output *o = &r->out[i];
        char greedy[DF_AUDIT_NEW * 12], sampled[DF_AUDIT_NEW * 12], line[DF_HEX + sizeof greedy + sizeof sampled + 4];
        df_audit_ids_text(greedy, sizeof greedy, o->greedy, r->n_new);
        df_audit_ids_text(sampled, sizeof sampled, o->sampled, r->n_new);
        snprintf(line, sizeof line, "%s %s %s\n", o->logits_sha256, greedy, sampled);
        df_sha256_update(&c, line, strlen(line));
    }
    uint8_t h[32];
    df_sha256_final(&c, h);
    df_hex(h, 32, hex);
}

int df_audit_make(struct df_audit_record *r, struct df_session *s, const char *prog, int threads)
{
    describe(r, s, threads);
    if (sha256_file("/proc/self/exe", r->binary_sha256) != 0) {
        fprintf(stderr, "%s: audit: cannot read the binary itself (/proc/self/exe): %s\n", prog, strerror(errno));
        return DF_EXIT_IO;
    }
    int greedy[DF_AUDIT_PROMPTS][DF_AUDIT_NEW], sampled[DF_AUDIT_PROMPTS][DF_AUDIT_NEW];
    const struct df_sampling argmax = { 0.0f, 0, 1.0f, 0 };
    int rc = run(r, s, prog, &argmax, greedy, true);
    if (!rc)
        rc = run(r, s, prog, &r->sampling, sampled, false);
    if (rc)
        return rc;
    /* the GEMM plans a GPU's model made at start-up (its init), each shape's algorithm */
    r->gemms[0] = '\0';
    if (s->engine.model->backend->gemm_algorithms)
        s->engine.model->backend->gemm_algorithms(r->gemms, sizeof r->gemms);
    for (int i = 0; i < r->n_prompts; i++) {
        memcpy(r->out[i].greedy, greedy[i], sizeof greedy[i]);
        memcpy(r->out[i].sampled, sampled[i], sizeof sampled[i]);
    }
    df_audit_fingerprint(r, r->fingerprint);
    return 0;
}
