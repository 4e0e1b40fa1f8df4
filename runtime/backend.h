/* backend.h: what differs between a CPU and a GPU binary outside the
 * generated forward pass: where weights and the arena live, and how the
 * runtime reads a step's logits or greedy tokens. The generated df_model names its backend. */
#ifndef DF_BACKEND_H
#define DF_BACKEND_H

#include <stddef.h>
#include <stdint.h>

struct df_sample_params; /* kernels/sample_select.h */

struct df_backend {
    const char *name; /* "cpu", "cuda" */
    /* Make the packed data section usable by the kernels (the CPU uses the
     * mapping itself; a GPU uploads it). NULL on failure, with err set. */
    const unsigned char *(*attach_weights)(const unsigned char *data, uint64_t bytes, char *err, size_t errlen);
    void (*detach_weights)(const unsigned char *weights);
    /* One zeroed allocation of the plan's size, made once at start. */
    unsigned char *(*arena_create)(size_t bytes, char *err, size_t errlen);
    void (*arena_destroy)(unsigned char *arena);
    /* A host-readable copy of the first rows of the logits buffer. */
    const float *(*read_logits)(unsigned char *arena, size_t offset, int rows, int vocab);
    /* The greedy token of each of those rows into out[rows] (df_argmax's pick), without
     * bringing the rows themselves to the host: what greedy decoding needs of a step. */
    void (*greedy_tokens)(unsigned char *arena, size_t offset, int rows, int vocab, int *out);
    /* The sampled token of each of those rows into out[rows], row r with the random draw
     * draw[r] (df_sample_with's pick), again without bringing the rows to the host; the rows
     * are used up. NULL where the runtime samples the rows read_logits gives (the CPU's cost
     * nothing to read). */
    void (*sample_tokens)(unsigned char *arena, size_t offset, int rows, int vocab, const struct df_sample_params *p,
                          const uint32_t *draw, int *out);
    /* The accelerator's name and properties for the audit record, into buf (len bytes);
     * NULL for the CPU backend, which has none. */
    void (*device_name)(char *buf, size_t len);
    /* For the audit record: the algorithm of each GEMM shape run so far, "; "-separated, into
     * buf (len bytes, cut short with "..." if it does not fit); NULL for the CPU backend. */
    void (*gemm_algorithms)(char *buf, size_t len);
};

extern const struct df_backend df_cpu_backend;

#endif
