/* model.h: what a generated model tells the runtime about itself.
 *
 * The generator writes one `struct df_model` and one table of `struct df_tensor`
 * per model (generated/<name>/model.c and manifest.c). The runtime (CLI, loader,
 * sampler) and the packer only ever see a model through these two structs. */
#ifndef DF_MODEL_H
#define DF_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

/* Element types of packed tensors. Values are part of the weight-file format. */
enum df_dtype { DF_F32 = 0, DF_BF16 = 1, DF_F8E4M3 = 2 };

/* One tensor of the packed weight file, as the manifest lays it out. */
struct df_tensor {
    const char *name;     /* packed name, e.g. "l1.attn.q_a_proj" */
    const char *hf_name;  /* the tensor's name in the HF checkpoint */
    enum df_dtype dtype;  /* element type in the packed file */
    int ndim;             /* 1 or 2 */
    int64_t shape[2];     /* rows, cols (cols = 1 for 1-D tensors) */
    int scale;            /* index of its 128x128 block-scale tensor, -1 if none */
    uint64_t offset;      /* byte offset from the start of the data section */
    uint64_t bytes;       /* byte size in the packed file */
};

/* One step of the forward pass: n tokens, each belonging to a sequence slot
 * (0 .. max_batch-1) at a position in that sequence. Tokens of one slot appear
 * in increasing position order; their KV entries are written, then each token
 * attends to positions 0..pos of its slot. */
struct df_step {
    int n;              /* tokens in this step */
    const int *token;   /* [n] token ids */
    const int *slot;    /* [n] sequence slot */
    const int *pos;     /* [n] position within the slot's sequence */
    int n_emit;         /* rows whose logits are wanted (prefill: last prompt tokens) */
    const int *emit;    /* [n_emit] indices into the step's tokens */
};

/* The packed layout of a model's weights (generated/<name>/manifest.c).
 * The packer links only this; the binary links it with the forward pass. */
struct df_manifest {
    const char *model_name;
    const char *generator_version;
    uint8_t sha256[32];             /* of manifest.json: identifies the layout */
    int n_tensors;
    const struct df_tensor *tensors;
    uint64_t data_bytes;            /* size of the packed data section */
};

struct df_model {
    const struct df_manifest *manifest;
    const struct df_backend *backend;
    const char *spec_sha256;        /* hex, of the normalized spec */
    int vocab, max_batch, max_context;
    int prefill_chunk;              /* most tokens one prefill step takes */
    size_t arena_bytes;             /* the static memory plan's peak */
    size_t logits_offset;           /* [max_batch][vocab] floats in the arena */
    /* Prepare constant tables (RoPE) inside the arena; once, before any step.
     * Weights and arena pointers are the backend's (device memory on a GPU). */
    void (*init)(unsigned char *arena);
    /* Prefill writes the logits of the step's emit rows to the arena's
     * logits buffer, row i for step->emit[i]. */
    void (*prefill)(const unsigned char *weights, unsigned char *arena,
                    const struct df_step *step);
    /* Decode: every token of the step emits, row i for token i (n <= max_batch). */
    void (*decode)(const unsigned char *weights, unsigned char *arena,
                   const struct df_step *step);
};

/* What a trace build's generated code (gen/main.lua --trace) calls after the ops that write its
 * trace points: rows x width floats of an activation buffer (in the backend's memory), labelled
 * "layer 3 attn last" and the like; each backend brings them to the host for trace.h's records. */
void df_trace(const char *label, const float *rows, int n_rows, int width);

/* What a liveness-checking build's generated code (gen/main.lua --poison) calls after the last op
 * that reads a buffer's value: fill its bytes (the backend's memory, in stream order on a GPU)
 * with 0xff, NaN as f32 or bf16, NaN as e4m3, -1 as int32, so that an op reading a value the
 * memory plan counts as dead computes garbage (tests/poison.sh). */
void df_poison(void *bytes, size_t n);

/* Each generated model defines exactly these two. */
extern const struct df_manifest df_manifest;
extern const struct df_model df_model;

#endif
