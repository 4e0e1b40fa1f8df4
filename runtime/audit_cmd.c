/* audit_cmd.c: the `audit` subcommand (audit.h, docs/reproducibility.md).
 *
 *   <binary> audit --weights FILE [--threads N] [--seed S]          the record, JSON on stdout
 *   <binary> audit --check RECORD --weights FILE [--threads N]      0 if a re-run matches RECORD
 *
 * Exit codes as the binary's, and 5: the re-run differs from the record (each
 * differing field named on stderr). The weights are always verified first. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "exit_codes.h"
#include "session.h"
#include "threads.h"

/* The sampling a new record uses: typical chat settings, so that sampling
 * (temperature, top-k, top-p, the seeded streams) is part of the record. */
static const struct df_sampling default_sampling = { 0.8f, 40, 0.95f, 1 };

enum { MAX_RECORD = 1 << 20 };

static void audit_usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s audit --weights FILE [--threads N] [--seed S]\n"
            "       %s audit --check RECORD --weights FILE [--threads N]\n"
            "  Prints a JSON record of this binary (its SHA-256, spec, generator, compiler and flags),\n"
            "  its verified weights (root hash, signer), the CPU features its kernels use and its\n"
            "  outputs on %d built-in prompts: greedy ids, the SHA-256 of the logits' bits, and ids\n"
            "  sampled with temperature %.1f, top-k %d, top-p %.2f and seed S (default %llu).\n"
            "  --check RECORD   re-run with RECORD's settings; name every field that differs\n"
            "  --threads N      %s\n"
            "  Exit codes: 0 (--check: everything matches), 2 usage or a bad record, 3 weights refused,\n"
            "  4 I/O error, 5 the re-run differs from the record.\n",
            prog, prog, DF_AUDIT_PROMPTS, (double)default_sampling.temperature, default_sampling.top_k,
            (double)default_sampling.top_p, (unsigned long long)default_sampling.seed,
            df_threads_matter() ? "worker threads (the outputs do not depend on it; default 1)"
                                : "accepted and ignored: this build computes on the GPU");
}

struct audit_args {
    const char *weights, *check;
    int threads;
    long long seed;  /* -1: the default */
};

static int parse(int argc, char **argv, struct audit_args *a)
{
    *a = (struct audit_args){ .threads = 1, .seed = -1 };
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i];
        if (!strcmp(k, "--help") || !strcmp(k, "-h")) {
            audit_usage(stdout, argv[0]);
            exit(0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s audit: %s needs a value (or is unknown)\n", argv[0], k);
            return DF_EXIT_USAGE;
        }
        const char *v = argv[++i];
        char *end;
        errno = 0;
        if (!strcmp(k, "--weights")) {
            a->weights = v;
        } else if (!strcmp(k, "--check")) {
            a->check = v;
        } else if (!strcmp(k, "--threads") || !strcmp(k, "--seed")) {
            long long n = strtoll(v, &end, 10);
            bool threads = !strcmp(k, "--threads");
            if (errno || end == v || *end || n < threads || n > (threads ? DF_MAX_THREADS : LLONG_MAX)) {
                fprintf(stderr, "%s audit: bad value for %s: \"%s\"\n", argv[0], k, v);
                return DF_EXIT_USAGE;
            }
            if (threads)
                a->threads = (int)n;
            else
                a->seed = n;
        } else {
            fprintf(stderr, "%s audit: unknown option %s\n", argv[0], k);
            return DF_EXIT_USAGE;
        }
    }
    if (!a->weights) {
        fprintf(stderr, "%s audit: --weights FILE is required\n", argv[0]);
        return DF_EXIT_USAGE;
    }
    if (a->check && a->seed >= 0) {
        fprintf(stderr, "%s audit: --seed makes a new record; --check uses the record's\n", argv[0]);
        return DF_EXIT_USAGE;
    }
    return 0;
}

/* Reads and parses the record at path into r. Returns 0 or an exit code. */
static int read_record(const char *prog, const char *path, struct df_audit_record *r)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s audit: %s: %s\n", prog, path, strerror(errno));
        return DF_EXIT_IO;
    }
    char *text = malloc(MAX_RECORD);
    size_t n = text ? fread(text, 1, MAX_RECORD, f) : 0;
    int rc = !text ? DF_EXIT_OTHER : ferror(f) ? DF_EXIT_IO : n == MAX_RECORD ? DF_EXIT_USAGE : 0;
    fclose(f);
    char err[256];
    if (rc)
        fprintf(stderr, "%s audit: %s: %s\n", prog, path,
                rc == DF_EXIT_USAGE ? "larger than any audit record" : rc == DF_EXIT_IO ? "read error" : "out of memory");
    else if (df_audit_read_json(text, n, r, err, sizeof err) != 0) {
        fprintf(stderr, "%s audit: %s: not an audit record: %s\n", prog, path, err);
        rc = DF_EXIT_USAGE;
    }
    free(text);
    return rc;
}

int df_audit_command(int argc, char **argv)
{
    const char *prog = argv[0];
    struct audit_args a;
    int rc = parse(argc, argv, &a);
    if (rc) {
        audit_usage(stderr, prog);
        return rc;
    }
    static struct df_audit_record want, got;
    if (a.check && (rc = read_record(prog, a.check, &want)))
        return rc;
    got = (struct df_audit_record){ .sampling = a.check ? want.sampling : default_sampling };
    if (!a.check && a.seed >= 0)
        got.sampling.seed = (uint64_t)a.seed;
    if (df_audit_prompts(&got) != 0) {
        fprintf(stderr, "%s audit: the max context (%d) is too short for the built-in prompts\n", prog,
                df_model.max_context);
        return DF_EXIT_OTHER;
    }
    struct df_session s;
    rc = df_session_open(&s, prog, a.weights, false, a.threads);
    if (!rc)
        rc = df_audit_make(&got, &s, prog, a.threads);
    df_session_close(&s);
    if (rc)
        return rc;
    if (!a.check) {
        df_audit_write_json(stdout, &got);
        return fflush(stdout) == 0 ? DF_EXIT_OK : DF_EXIT_IO;
    }
    int differences = df_audit_compare(stderr, &want, &got);
    if (differences) {
        fprintf(stderr, "%s audit: %s: %d difference(s): this run does not reproduce the record\n", prog, a.check,
                differences);
        return DF_EXIT_AUDIT;
    }
    printf("audit: %s: reproduced (binary, spec, generator, build, weights, arithmetic and the outputs of %d "
           "prompts, fingerprint %.16s...)\n", a.check, got.n_prompts, got.fingerprint);
    return fflush(stdout) == 0 ? DF_EXIT_OK : DF_EXIT_IO;
}
