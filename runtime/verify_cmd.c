/* verify_cmd.c: the binary's side of weight verification: the `verify`
 * subcommand (one JSON line on stdout) and the check main.c runs before the
 * first computation. Exit codes as everywhere: 0 verified, 2 usage, 3 the
 * weights file is refused, 4 an I/O error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exit_codes.h"
#include "verify.h"
#include "weights_file.h"


static void verify_usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s verify --weights FILE [--threads N]\n"
            "  Checks FILE as a run would before computing, and computes nothing: header and\n"
            "  manifest hash, the signature (this binary trusts %d key(s)%s), then the\n"
            "  SHA-256 of every chunk. Prints one JSON line on stdout (\"verified\": true|false,\n"
            "  the failing stage, chunks, key id, timing) and the reason for a refusal on stderr.\n"
            "  --threads N   hashing threads (default: one per online CPU)\n"
            "  Exit codes: 0 verified, 2 usage, 3 refused, 4 I/O error.\n",
            prog, df_trust.n_keys, df_trust.n_keys ? "; unsigned files are refused" : ", so unsigned files pass");
}

int df_verify_command(int argc, char **argv)
{
    const char *prog = argv[0], *path = NULL;
    long threads = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            verify_usage(stdout, prog);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s verify: %s needs a value (or is unknown)\n", prog, argv[i]);
            verify_usage(stderr, prog);
            return DF_EXIT_USAGE;
        }
        if (!strcmp(argv[i], "--weights") && !path) {
            path = argv[++i];
        } else if (!strcmp(argv[i], "--threads")) {
            char *end;
            errno = 0;
            threads = strtol(argv[++i], &end, 10);
            if (errno || *end || threads < 1 || threads > 256) {
                fprintf(stderr, "%s verify: bad value for --threads: \"%s\"\n", prog, argv[i]);
                return DF_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "%s verify: unknown or repeated option %s\n", prog, argv[i]);
            verify_usage(stderr, prog);
            return DF_EXIT_USAGE;
        }
    }
    if (!path) {
        fprintf(stderr, "%s verify: --weights FILE is required\n", prog);
        verify_usage(stderr, prog);
        return DF_EXIT_USAGE;
    }

    struct df_weights w;
    struct df_verify_report r = { 0 };
    struct df_verify_options opt = { (int)threads, -1 };
    char err[1024] = "", json[4096];
    int st = df_weights_open(path, &df_manifest, &w, err, sizeof err);
    if (st == DF_OK) {
        char why[900];
        st = df_weights_verify(&w, &df_manifest, &df_trust, &opt, &r, why, sizeof why);
        if (st != DF_OK)
            snprintf(err, sizeof err, "%s: %s", path, why);
        df_weights_close(&w);
    } else {
        r.status = st;
        r.stage = st == DF_IO ? "open" : "header";
    }
    df_verify_report_json(&r, path, df_manifest.model_name, err, json, sizeof json);
    printf("%s\n", json);
    if (st != DF_OK)
        fprintf(stderr, "%s: %s\n", prog, err);
    else if (r.note[0])
        fprintf(stderr, "%s: warning: %s: %s\n", prog, path, r.note);
    if (fflush(stdout) != 0 && st == DF_OK)
        st = DF_EXIT_IO;
    return st == DF_OK ? 0 : st == DF_BAD ? DF_EXIT_WEIGHTS : DF_EXIT_IO;
}

int df_verify_before_run(const char *prog, const char *path, const struct df_weights *w, int no_verify)
{
    if (no_verify) {
        fprintf(stderr,
                "%s: WARNING: --no-verify: the signature and checksums of %s are NOT checked; this run may compute "
                "with modified or corrupted weights (development only)\n",
                prog, path);
        return 0;
    }
    struct df_verify_report r;
    struct df_verify_options opt = { 0, -1 };
    char err[900];
    if (df_weights_verify(w, &df_manifest, &df_trust, &opt, &r, err, sizeof err) != DF_OK) {
        fprintf(stderr, "%s: %s: %s; refusing to compute\n", prog, path, err);
        return r.status == DF_IO ? DF_EXIT_IO : DF_EXIT_WEIGHTS;
    }
    if (r.note[0])
        fprintf(stderr, "%s: warning: %s: %s\n", prog, path, r.note);
    return 0;
}
