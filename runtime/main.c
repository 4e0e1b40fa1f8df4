/* main.c: the command line of every generated binary.
 *
 * Exit codes: 0 success; 2 usage error or a request the model cannot take
 * (bad ids, too long, too many sequences); 3 the weights file is refused;
 * 4 an I/O error; 1 anything else (out of memory). */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exit_codes.h"
#include "generate.h"
#include "model.h"
#include "prompts.h"
#include "sample.h"
#include "session.h"
#include "subcommands.h"
#include "threads.h"
#include "tokenizer_cli.h"
#include "verify.h"


static void usage(FILE *f, const char *prog)
{
    const struct df_model *m = &df_model;
    fprintf(f,
            "usage: %s --weights FILE (--ids 1,2,3 | --batch-file FILE | --prompt TEXT [--chat]) [options]\n"
            "  model %s: vocab %d, max batch %d, max context %d\n"
            "  --weights FILE      packed weights for this model (made by %s-pack)\n"
            "  --ids LIST          one prompt as comma-separated token ids\n"
            "  --batch-file FILE   one prompt per line, all run together as one batch\n"
            "  --prompt TEXT       one prompt as text: BOS + its tokens (the embedded tokenizer); the\n"
            "                      generated text is printed as it is produced, up to EOS or N tokens\n"
            "  --chat              with --prompt: the text is one user turn of the chat template\n"
            "  --system TEXT       with --chat: a system prompt\n"
            "  -n N                tokens to generate per prompt (default 16)\n"
            "  --temp T            temperature; 0 is greedy (default 0)\n"
            "  --top-k K           sample among the K most likely (default 0: all)\n"
            "  --top-p P           sample among the smallest set holding P of the mass (default 1)\n"
            "  --seed S            random seed for sampling (default 0)\n"
            "  --print-ids         print generated ids, one comma-separated line per prompt\n"
            "  --force-file FILE   teacher forcing: one line of ids per prompt (at least N - 1); each\n"
            "                      decode step feeds the next id of its line instead of the generated\n"
            "                      one, so --logits scores that continuation (--print-ids: the model's picks)\n"
            "  --logits FILE       write raw little-endian float32 logits: per prompt, row 0\n"
            "                      after the prompt, then one row per generated token but the last\n"
            "  --threads N         %s\n"
            "  --help              this text\n",
            prog, m->manifest->model_name, m->vocab, m->max_batch, m->max_context, m->manifest->model_name,
            df_threads_matter() ? "worker threads (default 1)" : "accepted and ignored: this build computes on the GPU");
    fprintf(f, "  The weights are verified before the first computation (signature, SHA-256 of every chunk;\n"
               "  this binary trusts %d signing key(s))%s\n", df_trust.n_keys,
            df_trust.allow_no_verify ? ";\n  --no-verify         skip that (development only: loudly logged)" : ".");
    fprintf(f, "subcommands (%s NAME --help for theirs):\n", prog);
    df_list_subcommands(f);
}

struct args {
    const char *weights, *ids, *batch_file, *force_file, *logits, *prompt, *system;
    int n, threads;
    bool print_ids, no_verify, chat;
    struct df_sampling sampling;
};

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_float(const char *s, float lo, float hi, float *out)
{
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

/* Returns 0, or prints why to stderr and returns DF_EXIT_USAGE. */
static int parse_options(int argc, char **argv, struct args *a)
{
    *a = (struct args){ .n = 16, .threads = 1, .sampling = { 0.0f, 0, 1.0f, 0 } };
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        if (!strcmp(k, "--help") || !strcmp(k, "-h")) {
            usage(stdout, argv[0]);
            exit(0);
        }
        if (!strcmp(k, "--print-ids")) {
            a->print_ids = true;
            continue;
        }
        if (!strcmp(k, "--chat")) {
            a->chat = true;
            continue;
        }
        if (!strcmp(k, "--no-verify")) {
            if (!df_trust.allow_no_verify) {
                fprintf(stderr, "%s: --no-verify: this binary always verifies its weights (its spec does not set "
                        "deploy.allow_no_verify)\n", argv[0]);
                return DF_EXIT_USAGE;
            }
            a->no_verify = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value (or is unknown)\n", argv[0], k);
            return DF_EXIT_USAGE;
        }
        const char *v = argv[++i];
        long l;
        bool ok = true;
        if (!strcmp(k, "--weights")) a->weights = v;
        else if (!strcmp(k, "--ids")) a->ids = v;
        else if (!strcmp(k, "--batch-file")) a->batch_file = v;
        else if (!strcmp(k, "--force-file")) a->force_file = v;
        else if (!strcmp(k, "--logits")) a->logits = v;
        else if (!strcmp(k, "-n")) { ok = parse_long(v, 1, INT_MAX, &l); a->n = (int)l; }
        else if (!strcmp(k, "--threads")) { ok = parse_long(v, 1, DF_MAX_THREADS, &l); a->threads = (int)l; }
        else if (!strcmp(k, "--top-k")) { ok = parse_long(v, 0, INT_MAX, &l); a->sampling.top_k = (int)l; }
        else if (!strcmp(k, "--seed")) { ok = parse_long(v, 0, LONG_MAX, &l); a->sampling.seed = (uint64_t)l; }
        else if (!strcmp(k, "--temp")) ok = parse_float(v, 0.0f, 100.0f, &a->sampling.temperature);
        else if (!strcmp(k, "--top-p")) ok = parse_float(v, 1e-6f, 1.0f, &a->sampling.top_p);
        else if (!strcmp(k, "--prompt")) a->prompt = v;
        else if (!strcmp(k, "--system")) a->system = v;
        else {
            fprintf(stderr, "%s: unknown option %s\n", argv[0], k);
            return DF_EXIT_USAGE;
        }
        if (!ok) {
            fprintf(stderr, "%s: bad value for %s: \"%s\"\n", argv[0], k, v);
            return DF_EXIT_USAGE;
        }
    }
    if (!a->weights || (!!a->ids + !!a->batch_file + !!a->prompt) != 1) {
        fprintf(stderr, "%s: need --weights and exactly one of --ids, --batch-file or --prompt\n", argv[0]);
        return DF_EXIT_USAGE;
    }
    if (a->force_file && a->prompt) {
        fprintf(stderr, "%s: --force-file takes token ids: use --ids or --batch-file\n", argv[0]);
        return DF_EXIT_USAGE;
    }
    if ((a->chat && !a->prompt) || (a->system && !a->chat)) {
        fprintf(stderr, "%s: --chat needs --prompt, --system needs --chat\n", argv[0]);
        return DF_EXIT_USAGE;
    }
    return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    int rc = parse_options(argc, argv, a);
    if (rc)
        usage(stderr, argv[0]);
    return rc;
}

/* The request must fit the binary's fixed shapes. */
static int check_fits(const char *prog, const struct df_prompts *p, int n)
{
    const struct df_model *m = &df_model;
    if (p->n > m->max_batch) {
        fprintf(stderr, "%s: %d prompts, but this binary's max batch is %d\n", prog, p->n, m->max_batch);
        return DF_EXIT_USAGE;
    }
    for (int i = 0; i < p->n; i++) {
        if ((long)p->len[i] + n > m->max_context) {
            fprintf(stderr, "%s: prompt %d: %d tokens + %d to generate exceed the max context of %d\n", prog,
                    i + 1, p->len[i], n, m->max_context);
            return DF_EXIT_USAGE;
        }
    }
    return 0;
}

/* --force-file: a line of at least n - 1 ids per prompt (teacher forcing, generate.h). */
static int read_force(const char *prog, const char *path, const struct df_prompts *p, int n, struct df_prompts *force)
{
    char err[512];
    if (df_prompts_read_file(path, df_model.vocab, force, err, sizeof err) != 0) {
        fprintf(stderr, "%s: --force-file: %s\n", prog, err);
        return DF_EXIT_USAGE;
    }
    if (force->n != p->n) {
        fprintf(stderr, "%s: --force-file: %d lines for %d prompts\n", prog, force->n, p->n);
        return DF_EXIT_USAGE;
    }
    for (int i = 0; i < p->n; i++)
        if (force->len[i] < n - 1) {
            fprintf(stderr, "%s: --force-file: line %d has %d ids; -n %d needs %d\n", prog, i + 1, force->len[i], n,
                    n - 1);
            return DF_EXIT_USAGE;
        }
    return 0;
}

int main(int argc, char **argv)
{
    const struct df_model *m = &df_model;
    struct args a;
    int rc;
    if (df_run_subcommand(argc, argv, &rc))
        return rc;
    rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;

    char err[512];
    struct df_prompts prompts = { 0 }, force = { 0 };
    struct df_session session = { 0 };
    struct df_sampler sampler = { 0 };
    int **out = NULL;
    FILE *logits = NULL;

    if (a.prompt || a.ids) { /* one prompt, as text or as ids */
        int *ids, len;
        if (a.prompt) {
            if ((rc = df_text_prompt(argv[0], a.prompt, a.chat, a.system, m->vocab, &ids, &len)))
                goto done;
        } else if (df_parse_ids(a.ids, m->vocab, &ids, &len, err, sizeof err) != 0) {
            fprintf(stderr, "%s: --ids: %s\n", argv[0], err);
            rc = DF_EXIT_USAGE;
            goto done;
        }
        if (df_prompts_add(&prompts, ids, len) != 0) {
            free(ids);
            rc = 1;
            goto done;
        }
    } else if (df_prompts_read_file(a.batch_file, m->vocab, &prompts, err, sizeof err) != 0) {
        fprintf(stderr, "%s: --batch-file: %s\n", argv[0], err);
        rc = DF_EXIT_USAGE;
        goto done;
    }
    if ((rc = check_fits(argv[0], &prompts, a.n)))
        goto done;
    if (a.force_file && (rc = read_force(argv[0], a.force_file, &prompts, a.n, &force)))
        goto done;

    if ((rc = df_session_open(&session, argv[0], a.weights, a.no_verify, a.threads)))
        goto done;
    rc = DF_EXIT_OTHER;
    out = calloc((size_t)prompts.n, sizeof(int *));
    if (!out || df_sampler_init(&sampler, &a.sampling, m->vocab) != 0) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        goto done;
    }
    for (int i = 0; i < prompts.n; i++) {
        if (!(out[i] = malloc(sizeof(int) * (size_t)a.n))) {
            fprintf(stderr, "%s: out of memory\n", argv[0]);
            goto done;
        }
    }
    if (a.logits && !(logits = fopen(a.logits, "wb"))) {
        fprintf(stderr, "%s: %s: %s\n", argv[0], a.logits, strerror(errno));
        rc = DF_EXIT_IO;
        goto done;
    }

    /* A text prompt: its generated text is printed as it is produced, up to EOS. */
    struct df_text_out text_out;
    const struct df_stream text_stream = { df_text_out_token, &text_out };
    int n_done = a.n;
    if (a.prompt)
        df_text_out_init(&text_out, stdout);
    int gen = df_generate_stream(&session.engine, &prompts, a.n, &sampler, logits, out, a.prompt ? &text_stream : NULL,
                                 &n_done, a.force_file ? &force : NULL);
    if (a.prompt && (df_text_out_finish(&text_out) != 0 || text_out.error)) {
        fprintf(stderr, "%s: stdout: write error\n", argv[0]);
        rc = DF_EXIT_IO;
        goto done;
    }
    if (logits) {
        if (fclose(logits) != 0)
            gen = -1;
        logits = NULL;
    }
    if (gen != 0) {
        fprintf(stderr, "%s: %s: write error\n", argv[0], a.logits);
        rc = DF_EXIT_IO;
        goto done;
    }
    if (a.print_ids) {
        for (int i = 0; i < prompts.n; i++)
            for (int k = 0; k < n_done; k++)
                printf("%d%c", out[i][k], k + 1 < n_done ? ',' : '\n');
    }
    rc = fflush(stdout) == 0 ? 0 : DF_EXIT_IO;

done:
    if (logits)
        fclose(logits);
    for (int i = 0; out && i < prompts.n; i++)
        free(out[i]);
    free(out);
    df_sampler_free(&sampler);
    df_session_close(&session);
    df_prompts_free(&prompts);
    df_prompts_free(&force);
    return rc;
}
