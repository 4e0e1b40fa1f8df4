/* cpu_backend.c: the CPU backend: kernels read the mapped weights directly
 * and the arena is ordinary memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "model.h"
#include "sample.h"
#include "trace.h"

static const unsigned char *attach_weights(const unsigned char *data, uint64_t bytes, char *err, size_t errlen)
{
    (void)bytes;
    (void)err;
    (void)errlen;
    return data;
}

static void detach_weights(const unsigned char *weights)
{
    (void)weights;
}

static unsigned char *arena_create(size_t bytes, char *err, size_t errlen)
{
    unsigned char *a = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!a) {
        snprintf(err, errlen, "cannot allocate the %zu-byte arena", bytes);
        return NULL;
    }
    memset(a, 0, bytes);
    return a;
}

static void arena_destroy(unsigned char *arena)
{
    free(arena);
}

static const float *read_logits(unsigned char *arena, size_t offset, int rows, int vocab)
{
    (void)rows;
    (void)vocab;
    return (const float *)(const void *)(arena + offset);
}

static void greedy_tokens(unsigned char *arena, size_t offset, int rows, int vocab, int *out)
{
    const float *logits = read_logits(arena, offset, rows, vocab);
    for (int r = 0; r < rows; r++)
        out[r] = df_argmax(logits + (size_t)r * (size_t)vocab, vocab);
}

/* model.h: the rows are in host memory already. */
void df_trace(const char *label, const float *rows, int n_rows, int width)
{
    df_trace_write(label, rows, n_rows, width);
}

/* model.h (a liveness-checking build). */
void df_poison(void *bytes, size_t n)
{
    memset(bytes, 0xff, n);
}

const struct df_backend df_cpu_backend = {
    "cpu", attach_weights, detach_weights, arena_create, arena_destroy, read_logits, greedy_tokens, NULL, NULL, NULL,
};
