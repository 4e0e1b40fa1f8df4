/* audit_json.c: the audit record as JSON, read back, and compared
 * (audit.h; the format is described in docs/reproducibility.md). */
#include "audit.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../weights/integrity.h"
#include "../weights/json.h"
#include "../weights/sha256.h"
#include "provenance.h"

/* ---- writing ------------------------------------------------------------------------------ */

void df_audit_ids_text(char *out, size_t n, const int *ids, int k)
{
    out[0] = '\0';
    for (int t = 0; t < k; t++)
        snprintf(out + strlen(out), n - strlen(out), "%s%d", t ? "," : "", ids[t]);
}

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* A string, or null when it is empty (no signer). */
static void put_string_or_null(FILE *f, const char *s)
{
    if (*s)
        put_string(f, s);
    else
        fputs("null", f);
}

static void put_ids(FILE *f, const int *ids, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%d", i ? ", " : "", ids[i]);
    fputc(']', f);
}

/* The shortest decimal that reads back as the same float (0.8, not 0.800000012). */
static void put_float(FILE *f, float v)
{
    char s[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(s, sizeof s, "%.*g", digits, (double)v);
        if (strtof(s, NULL) == v)
            break;
    }
    fputs(s, f);
}

void df_audit_write_json(FILE *f, const struct df_audit_record *r)
{
    fprintf(f, "{\n  \"deepfreeze_audit\": %d,\n  \"model\": ", r->format);
    put_string(f, r->model);
    fputs(",\n  \"backend\": ", f);
    put_string(f, r->backend);
    fputs(",\n  \"binary\": { \"sha256\": ", f);
    put_string(f, r->binary_sha256);
    fputs(" },\n  \"spec\": {\n    \"sha256\": ", f);
    put_string(f, r->spec_sha256);
    fputs(",\n    \"text\": ", f);
    put_string(f, df_provenance.spec_text);
    fputs("\n  },\n  \"generator\": { \"version\": ", f);
    put_string(f, r->generator_version);
    fputs(", \"sources_sha256\": ", f);
    put_string(f, r->sources_sha256);
    fputs(" },\n  \"build\": { \"compiler\": ", f);
    put_string(f, r->compiler);
    fputs(", \"flags\": ", f);
    put_string(f, r->flags);
    fputs(" },\n  \"weights\": {\n    \"root_sha256\": ", f);
    put_string(f, r->weights_root);
    fputs(",\n    \"manifest_sha256\": ", f);
    put_string(f, r->manifest_sha256);
    fputs(",\n    \"signer_key_id\": ", f);
    put_string_or_null(f, r->signer_key_id);
    fputs(",\n    \"signer_key\": ", f);
    put_string_or_null(f, r->signer_key);
    fputs("\n  },\n  \"cpu\": { \"arithmetic\": ", f);
    put_string(f, r->arithmetic);
    fputs(", \"kernels\": ", f);
    put_string(f, r->kernels);
    fputs(", \"model\": ", f);
    put_string(f, r->cpu_model);
    fprintf(f, ", \"threads\": %d },\n  \"device\": ", r->threads);
    put_string_or_null(f, r->device);
    fputs(",\n  \"gemms\": ", f);
    put_string_or_null(f, r->gemms);
    fputs(",\n", f);
    fprintf(f, "  \"outputs\": {\n    \"tokens\": %d,\n", r->n_new);
    fputs("    \"sampling\": { \"temperature\": ", f);
    put_float(f, r->sampling.temperature);
    fprintf(f, ", \"top_k\": %d, \"top_p\": ", r->sampling.top_k);
    put_float(f, r->sampling.top_p);
    fprintf(f, ", \"seed\": %llu },\n", (unsigned long long)r->sampling.seed);
    fputs("    \"prompts\": [\n", f);
    for (int i = 0; i < r->n_prompts; i++) {
        const struct df_audit_output *o = &r->out[i];
        fputs("      { \"prompt\": ", f);
        put_ids(f, o->prompt, o->len);
        fputs(",\n        \"greedy\": ", f);
        put_ids(f, o->greedy, r->n_new);
        fputs(", \"logits_sha256\": ", f);
        put_string(f, o->logits_sha256);
        fputs(",\n        \"sampled\": ", f);
        put_ids(f, o->sampled, r->n_new);
        fprintf(f, " }%s\n", i + 1 < r->n_prompts ? "," : "");
    }
    fputs("    ],\n    \"fingerprint\": ", f);
    put_string(f, r->fingerprint);
    fputs("\n  }\n}\n", f);
}

/* ---- the string fields: reading and comparing ----------------------------------------------- */

struct field {
    const char *path;  /* dotted, in the JSON */
    size_t off, size;  /* in struct df_audit_record */
    bool compared;     /* fixes the outputs; the others are informational */
    bool nullable;     /* null stands for "" */
};
#define FIELD(path, member, compared, nullable) \
    { path, offsetof(struct df_audit_record, member), sizeof(((struct df_audit_record *)0)->member), compared, nullable }
static const struct field fields[] = {
    FIELD("model", model, true, false),
    FIELD("backend", backend, true, false),
    FIELD("binary.sha256", binary_sha256, true, false),
    FIELD("spec.sha256", spec_sha256, true, false),
    FIELD("generator.version", generator_version, true, false),
    FIELD("generator.sources_sha256", sources_sha256, true, false),
    FIELD("build.compiler", compiler, true, false),
    FIELD("build.flags", flags, true, false),
    FIELD("weights.root_sha256", weights_root, true, false),
    FIELD("weights.manifest_sha256", manifest_sha256, true, false),
    FIELD("weights.signer_key_id", signer_key_id, true, true),
    FIELD("weights.signer_key", signer_key, false, true),
    FIELD("cpu.arithmetic", arithmetic, true, false),
    FIELD("cpu.kernels", kernels, false, false),
    FIELD("cpu.model", cpu_model, false, false),
    FIELD("device", device, false, true),
    FIELD("gemms", gemms, false, true),
    FIELD("outputs.fingerprint", fingerprint, true, false),
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

/* ---- reading -------------------------------------------------------------------------------- */

/* The node at a dotted path below obj, or NULL. */
static const struct json_node *at(const struct json_node *obj, const char *path)
{
    char key[64];
    while (obj && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        obj = obj->type == JSON_OBJECT ? json_get(obj, key) : NULL;
        path += n + (path[n] == '.');
    }
    return obj;
}

struct reader {
    char *err;
    size_t errlen;
    bool failed;
};

static const struct json_node *need(struct reader *rd, const struct json_node *obj, const char *path,
                                    enum json_type type)
{
    const struct json_node *n = at(obj, path);
    if (!rd->failed && (!n || n->type != type)) {
        snprintf(rd->err, rd->errlen, "%s: %s", path, n ? "has the wrong type" : "missing");
        rd->failed = true;
    }
    return rd->failed ? NULL : n;
}

static int64_t need_int(struct reader *rd, const struct json_node *obj, const char *path, int64_t lo, int64_t hi)
{
    const struct json_node *n = need(rd, obj, path, JSON_NUMBER);
    if (n && (!n->is_int || n->i < lo || n->i > hi)) {
        snprintf(rd->err, rd->errlen, "%s: must be an integer in [%lld, %lld]", path, (long long)lo, (long long)hi);
        rd->failed = true;
    }
    return rd->failed ? lo : n->i;
}

/* An array of exactly want ids (want < 0: 1 .. max of them); returns how many. */
static int need_ids(struct reader *rd, const struct json_node *obj, const char *path, int *ids, int want, int max)
{
    const struct json_node *a = need(rd, obj, path, JSON_ARRAY);
    if (!a)
        return 0;
    int n = (int)a->len;
    if (want >= 0 ? n != want : n < 1 || n > max) {
        snprintf(rd->err, rd->errlen, "%s: wrong number of ids (%d)", path, n);
        rd->failed = true;
        return 0;
    }
    int k = 0;
    for (const struct json_node *e = json_child(a); e; e = json_next(e)) {
        if (e->type != JSON_NUMBER || !e->is_int || e->i < 0 || e->i > INT32_MAX) {
            snprintf(rd->err, rd->errlen, "%s: not a token id", path);
            rd->failed = true;
            return 0;
        }
        ids[k++] = (int)e->i;
    }
    return n;
}

static void need_string(struct reader *rd, const struct json_node *obj, const char *path, char *dst, size_t size,
                        bool nullable)
{
    const struct json_node *n = at(obj, path);
    if (nullable && n && n->type == JSON_NULL) {
        dst[0] = '\0';
        return;
    }
    n = need(rd, obj, path, JSON_STRING);
    if (n && n->len >= size) {
        snprintf(rd->err, rd->errlen, "%s: too long", path);
        rd->failed = true;
    }
    if (!rd->failed)
        memcpy(dst, n->str, n->len + 1);
}

int df_audit_read_json(const char *text, size_t len, struct df_audit_record *r, char *err, size_t errlen)
{
    struct json_doc doc;
    struct json_error je;
    if (json_parse(text, len, &doc, &je) != 0) {
        snprintf(err, errlen, "not JSON (byte %zu: %s)", je.offset, je.msg);
        return -1;
    }
    struct reader rd = { err, errlen, false };
    const struct json_node *root = doc.root;
    *r = (struct df_audit_record){ 0 };
    r->format = (int)need_int(&rd, root, "deepfreeze_audit", DF_AUDIT_FORMAT, DF_AUDIT_FORMAT);
    for (size_t i = 0; i < N_FIELDS; i++)
        need_string(&rd, root, fields[i].path, (char *)r + fields[i].off, fields[i].size, fields[i].nullable);
    r->threads = (int)need_int(&rd, root, "cpu.threads", 1, 1 << 20);
    r->n_new = (int)need_int(&rd, root, "outputs.tokens", DF_AUDIT_NEW, DF_AUDIT_NEW);
    const struct json_node *samp = need(&rd, root, "outputs.sampling", JSON_OBJECT);
    const struct json_node *temp = need(&rd, samp, "temperature", JSON_NUMBER);
    const struct json_node *top_p = need(&rd, samp, "top_p", JSON_NUMBER);
    if (!rd.failed) {
        r->sampling.temperature = (float)temp->num;
        r->sampling.top_p = (float)top_p->num;
    }
    r->sampling.top_k = (int)need_int(&rd, samp, "top_k", 0, INT32_MAX);
    r->sampling.seed = (uint64_t)need_int(&rd, samp, "seed", 0, INT64_MAX);
    const struct json_node *prompts = need(&rd, root, "outputs.prompts", JSON_ARRAY);
    if (prompts && (prompts->len < 1 || prompts->len > DF_AUDIT_PROMPTS)) {
        snprintf(err, errlen, "outputs.prompts: 1 to %d prompts", DF_AUDIT_PROMPTS);
        rd.failed = true;
    }
    int i = 0;
    for (const struct json_node *p = prompts ? json_child(prompts) : NULL; p && !rd.failed; p = json_next(p), i++) {
        struct df_audit_output *o = &r->out[i];
        o->len = need_ids(&rd, p, "prompt", o->prompt, -1, DF_AUDIT_MAX_PROMPT);
        need_ids(&rd, p, "greedy", o->greedy, r->n_new, r->n_new);
        need_ids(&rd, p, "sampled", o->sampled, r->n_new, r->n_new);
        need_string(&rd, p, "logits_sha256", o->logits_sha256, sizeof o->logits_sha256, false);
    }
    r->n_prompts = i;
    /* The spec's text is what a third party regenerates from: it must be the hashed one. */
    const struct json_node *spec_text = need(&rd, root, "spec.text", JSON_STRING);
    if (spec_text) {
        uint8_t h[32];
        char hex[DF_HEX];
        df_sha256(spec_text->str, spec_text->len, h);
        df_hex(h, 32, hex);
        if (strcmp(hex, r->spec_sha256)) {
            snprintf(err, errlen, "spec.text does not match spec.sha256 (the record was edited)");
            rd.failed = true;
        }
    }
    json_free(&doc);
    return rd.failed ? -1 : 0;
}

/* ---- comparing ------------------------------------------------------------------------------ */

static int differ(FILE *f, const char *what, const char *want, const char *got)
{
    if (!strcmp(want, got))
        return 0;
    fprintf(f, "audit: %s differs: record \"%s\", now \"%s\"\n", what, want, got);
    return 1;
}

static int differ_ids(FILE *f, int prompt, const char *what, const int *want, int nw, const int *got, int ng)
{
    char a[DF_AUDIT_MAX_PROMPT * 12], b[DF_AUDIT_MAX_PROMPT * 12], name[64];
    df_audit_ids_text(a, sizeof a, want, nw);
    df_audit_ids_text(b, sizeof b, got, ng);
    snprintf(name, sizeof name, "outputs.prompts[%d].%s", prompt, what);
    return differ(f, name, a, b);
}

int df_audit_compare(FILE *f, const struct df_audit_record *want, const struct df_audit_record *got)
{
    int n = 0;
    for (size_t i = 0; i < N_FIELDS; i++)
        if (fields[i].compared)
            n += differ(f, fields[i].path, (const char *)want + fields[i].off, (const char *)got + fields[i].off);
    if (want->n_prompts != got->n_prompts) {
        fprintf(f, "audit: outputs.prompts differs: record %d prompts, now %d\n", want->n_prompts, got->n_prompts);
        return n + 1;
    }
    for (int i = 0; i < want->n_prompts; i++) {
        const struct df_audit_output *w = &want->out[i], *g = &got->out[i];
        char name[64];
        n += differ_ids(f, i, "prompt", w->prompt, w->len, g->prompt, g->len);
        n += differ_ids(f, i, "greedy", w->greedy, want->n_new, g->greedy, got->n_new);
        snprintf(name, sizeof name, "outputs.prompts[%d].logits_sha256", i);
        n += differ(f, name, w->logits_sha256, g->logits_sha256);
        n += differ_ids(f, i, "sampled", w->sampled, want->n_new, g->sampled, got->n_new);
    }
    return n;
}
