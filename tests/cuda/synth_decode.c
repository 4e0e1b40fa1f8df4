/* synth_decode.c: the model it is linked with (mk/cuda_bench.mk), on synthetic weights made on
 * the device (synth_weights.cu), through the binary's own step loop: for timing real shapes
 * (DeepSeek-V2-Lite, V3's layers) in a GPU session too short to write, pack and upload their
 * random checkpoints (docs/cuda.md, "Real shapes on synthetic weights").
 *
 *   synth_decode --batch B --prompt P -n N [--seed S] [--print-ids] [--logits FILE]
 *
 * B prompts of P token ids (each from its own stream of the sampler's generator, seeded by S),
 * then N greedy tokens each, as `<model> --batch-file F -n N` runs them; --print-ids prints
 * them, a line per prompt; --logits writes every step's logits rows to FILE as the CLI's
 * --logits does (picked on the host then: for comparing two kernels' bits). The
 * environment is the binary's (DF_CUDA_STATS=1 for the step times, DF_CUDA_GRAPH, DF_CUDA_PDL,
 * DF_CUDA_PROFILE). The weights file, its signature and the tokenizer are not involved: only
 * speed, and that a run repeats itself, mean anything. Exit 2 on bad arguments, 1 on a failure. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "generate.h"
#include "model.h"
#include "synth_weights.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int usage(const char *prog)
{
    fprintf(stderr, "usage: %s --batch B --prompt P -n N [--seed S] [--print-ids] [--logits FILE]\n"
            "  1 <= B <= %d (the max batch), P >= 1, N >= 1, P + N <= %d (the max context)\n", prog,
            df_model.max_batch, df_model.max_context);
    return 2;
}

static bool int_arg(const char *s, long lo, long hi, int *out)
{
    char *end = NULL;
    const long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

int main(int argc, char **argv)
{
    const struct df_model *m = &df_model;
    int batch = 0, plen = 0, n = 0;
    uint64_t seed = 1;
    bool print_ids = false;
    const char *logits_path = NULL;
    for (int i = 1; i < argc; i++) {
        const bool has = i + 1 < argc;
        if (!strcmp(argv[i], "--batch") && has) {
            if (!int_arg(argv[++i], 1, m->max_batch, &batch))
                return usage(argv[0]);
        } else if (!strcmp(argv[i], "--prompt") && has) {
            if (!int_arg(argv[++i], 1, m->max_context, &plen))
                return usage(argv[0]);
        } else if (!strcmp(argv[i], "-n") && has) {
            if (!int_arg(argv[++i], 1, m->max_context, &n))
                return usage(argv[0]);
        } else if (!strcmp(argv[i], "--seed") && has) {
            char *end = NULL;
            seed = strtoull(argv[++i], &end, 10);
            if (!*argv[i] || *end)
                return usage(argv[0]);
        } else if (!strcmp(argv[i], "--print-ids")) {
            print_ids = true;
        } else if (!strcmp(argv[i], "--logits") && has) {
            logits_path = argv[++i];
        } else {
            return usage(argv[0]);
        }
    }
    if (!batch || !plen || !n || (long)plen + n > m->max_context)
        return usage(argv[0]);

    int rc = 1;
    char err[512];
    struct df_prompts prompts = { 0 };
    struct df_sampler sampler = { 0 };
    const struct df_sampling greedy = { .temperature = 0.0f, .top_k = 0, .top_p = 1.0f, .seed = 0 };
    struct df_engine e = { .model = m };
    FILE *logits = NULL;
    int **out = calloc((size_t)batch, sizeof *out);
    if (!out || df_sampler_init(&sampler, &greedy, m->vocab) != 0)
        goto oom;
    for (int b = 0; b < batch; b++) {
        int *ids = malloc(sizeof(int) * (size_t)plen);
        if (!ids || !(out[b] = malloc(sizeof(int) * (size_t)n))) {
            free(ids);
            goto oom;
        }
        uint64_t rng = df_rng_seed(seed, b); /* the sampler's stream of sequence b (sample.h) */
        for (int i = 0; i < plen; i++)
            ids[i] = (int)(df_sample_draw(&rng) % (uint32_t)m->vocab);
        if (df_prompts_add(&prompts, ids, plen) != 0) {
            free(ids);
            goto oom;
        }
    }

    if (logits_path && !(logits = fopen(logits_path, "wb"))) {
        fprintf(stderr, "%s: cannot write %s\n", argv[0], logits_path);
        goto done;
    }
    const double t0 = now_ms();
    if (!(e.weights = df_synth_weights(m->manifest, seed, err, sizeof err)) ||
        !(e.arena = m->backend->arena_create(m->arena_bytes, err, sizeof err))) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        goto done;
    }
    m->init(e.arena);
    fprintf(stderr, "%s: %s: %.2f GB of synthetic weights, a %.2f GB arena and the model's init in %.0f ms\n",
            argv[0], m->manifest->model_name, (double)m->manifest->data_bytes / 1e9, (double)m->arena_bytes / 1e9,
            now_ms() - t0);
    if (df_generate(&e, &prompts, n, &sampler, logits, out) != 0)
        goto done;
    if (logits && fclose(logits) != 0) {
        logits = NULL;
        fprintf(stderr, "%s: cannot write %s\n", argv[0], logits_path);
        goto done;
    }
    logits = NULL;
    for (int b = 0; print_ids && b < batch; b++)
        for (int k = 0; k < n; k++)
            printf("%d%c", out[b][k], k + 1 < n ? ',' : '\n');
    rc = fflush(stdout) == 0 ? 0 : 1;
    goto done;
oom:
    fprintf(stderr, "%s: out of memory\n", argv[0]);
done:
    if (logits)
        fclose(logits);
    if (e.arena)
        m->backend->arena_destroy(e.arena); /* prints DF_CUDA_STATS */
    if (e.weights)
        m->backend->detach_weights(e.weights);
    for (int b = 0; out && b < batch; b++)
        free(out[b]);
    free(out);
    df_sampler_free(&sampler);
    df_prompts_free(&prompts);
    return rc;
}
