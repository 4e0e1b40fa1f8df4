/* decode_floor.c: the weight bytes one decode step reads, for the model whose
 * generated manifest.c and config.h it is built with (mk/cuda_bench.mk): the
 * weight-streaming floor of tools/gpu-check.sh's mid-size decode measurement
 * (docs/cuda.md, "Mid-size decode measurement").
 *
 *   decode_floor [--gbs GB/s] [BATCH...]      default batches: 1 and the max batch
 *
 * Counted as bench/bench.c counts the CPU benchmark's "weight bytes read per
 * token" (so that batch 1 here equals that figure): every tensor the forward
 * pass reads whatever the routing (attention, the dense and shared FFNs, the
 * routers, the norms, the output head) once, plus one embedding row per token,
 * plus the routed experts the step picks, each read once per step:
 *   - batch 1: exactly EXPERTS_PER_TOKEN of them per MoE layer (top-k picks
 *     distinct experts);
 *   - batch B: the union of the B tokens' picks, which this tool cannot see
 *     (nothing counts the GPU's routing), so the expected union if every token
 *     picks k of the E experts with each expert equally likely and the tokens
 *     independent: E (1 - (1 - k/E)^B) per layer (16 tokens of 6 of 64: 50.75;
 *     the CPU benchmark measured about 50.3 on the same random weights).
 *     Its bounds, k and min(E, kB), are printed too.
 * Layers beyond LAYERS (multi-token prediction) are not run and not counted.
 *
 * One line per batch, for tools/gpu-check.sh (bytes in bytes, 1e6 = MB):
 *   decode_floor: NAME batch B bytes N experts U lo L hi H [floor_ms F at G GB/s]
 * with F = N / (G * 1e9) * 1e3 when --gbs G is given. Exit 2 on bad arguments. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "model.h"

/* tensor name "l<L>.<rest>": L, and whether rest is a routed expert's ("e<E>.") */
static int layer_of(const char *name, int *routed)
{
    int layer = -1, e = -1, n = 0;
    *routed = 0;
    if (sscanf(name, "l%d.%n", &layer, &n) != 1 || n == 0)
        return -1;
    if (sscanf(name + n, "e%d.", &e) == 1)
        *routed = 1;
    return layer;
}

int main(int argc, char **argv)
{
    const struct df_manifest *m = &df_manifest;
    double gbs = 0.0;
    int batch[64], nb = 0;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "--gbs") && i + 1 < argc) {
            gbs = strtod(argv[++i], &end);
            if (!(gbs > 0.0) || *end) {
                fprintf(stderr, "decode_floor: --gbs wants a positive number, not %s\n", argv[i]);
                return 2;
            }
            continue;
        }
        const long b = strtol(argv[i], &end, 10);
        if (*end || b < 1 || b > MAX_BATCH || nb == 64) {
            fprintf(stderr, "usage: %s [--gbs GB/s] [BATCH...]   (1 <= BATCH <= %d)\n", argv[0], MAX_BATCH);
            return 2;
        }
        batch[nb++] = (int)b;
    }
    if (!nb) {
        batch[nb++] = 1;
        if (MAX_BATCH > 1)
            batch[nb++] = MAX_BATCH;
    }

    uint64_t fixed = 0, routed = 0, embed_row = 0;
    int moe_layer[LAYERS] = { 0 };
    for (int i = 0; i < m->n_tensors; i++) {
        const struct df_tensor *t = &m->tensors[i];
        int is_routed;
        const int layer = layer_of(t->name, &is_routed);
        if (!strcmp(t->name, "embed")) {
            embed_row = t->bytes / (uint64_t)t->shape[0];
            continue;
        }
        if (layer >= LAYERS)
            continue; /* multi-token prediction: not run */
        if (is_routed) {
            routed += t->bytes;
            moe_layer[layer] = 1;
        } else {
            fixed += t->bytes;
        }
    }
    int n_moe = 0;
    for (int l = 0; l < LAYERS; l++)
        n_moe += moe_layer[l];
    const double E = ROUTED_EXPERTS, k = EXPERTS_PER_TOKEN;
    /* every routed expert of a model has the same shape: the mean is each one's bytes */
    const double expert = n_moe ? (double)routed / (n_moe * E) : 0.0;
    fprintf(stderr, "decode_floor: %s: %.1f MB read whatever the routing, %d MoE layers x %d experts of %.3f MB, "
            "embedding row %llu B\n", m->model_name, (double)fixed / 1e6, n_moe, ROUTED_EXPERTS, expert / 1e6,
            (unsigned long long)embed_row);

    for (int j = 0; j < nb; j++) {
        const int B = batch[j];
        const double u = B == 1 ? k : E * (1.0 - pow(1.0 - k / E, B));
        const double hi_u = fmin(E, k * B);
        const double base = (double)fixed + (double)embed_row * B;
        const double bytes = base + u * expert * n_moe;
        printf("decode_floor: %s batch %d bytes %.0f experts %.2f lo %.0f hi %.0f", m->model_name, B, bytes, u,
               base + k * expert * n_moe, base + hi_u * expert * n_moe);
        if (gbs > 0.0)
            printf(" floor_ms %.4f at %.1f GB/s", bytes / (gbs * 1e9) * 1e3, gbs);
        putchar('\n');
    }
    return 0;
}
