/* cuda_rt.h: what the generated CUDA forward pass calls in the CUDA runtime
 * (runtime/cuda/cuda_backend.cu). Plain C, so the generated host code
 * (forward.c) stays C; kernels.cu (C++) sees the stream too.
 *
 * The device arena of a CUDA model is its plan (gen/plan.lua, plan.txt): every
 * buffer at a fixed offset, 256-byte aligned, among them
 *   - the step buffer: token, slot, pos, emit of the step's tokens, `cap` ints
 *     each (cap = the model's prefill chunk), copied from a pinned host buffer at
 *     the start of each step (inside the decode graph); then next, `cap` ints, the
 *     tokens the device picks from the logits (greedy_tokens, sample_tokens), and
 *     draw, `cap` 24-bit random draws for sample_tokens; then the picks' area,
 *     greedy_k's slices' picks and a count for each of the max batch's rows
 *     (below: DF_CUDA_PICK_ROW_INTS);
 *   - expert_ws, the routed experts' scratch (kernels.cuh, moe_scratch_floats);
 *   - with FP8 or bf16 activations, gemm_in, gemm_scales and gemm_ws: the input of
 *     cuBLASLt's GEMMs (df_cuda_lt_linear below), rows of e4m3 codes or bf16 values
 *     ([rows][row_bytes]) and for FP8 their 1x128 block scales ([scale_blocks][rows]),
 *     rows the chunk rounded up to 4; and cuBLASLt's workspace.
 * The generated forward.c and kernels.cu check at compile time that the plan's
 * step buffer and gemm_ws hold what the macros below say, and expert_ws what
 * moe_scratch_floats says. */
#ifndef DF_CUDA_RT_H
#define DF_CUDA_RT_H

#include <stddef.h>
#include <string.h>

#include "backend.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The step buffer: token[cap], slot[cap], pos[cap], emit[cap] (the part copied in at each step),
 * next[cap], draw[cap] (DF_CUDA_STEP_ARRAYS_BYTES: the pinned staging buffer's layout too); then,
 * for each of the batch's rows whose token can be picked on the device, greedy_k's
 * (runtime/cuda/pick.cuh) DF_CUDA_PICK_SLICES picks of its slices of the row, (value, index)
 * pairs, and the count of those slices done (0 between launches); a sample's sample_weights_k
 * reads the picks for the row's largest logit. gen/schedule.lua sizes the
 * plan's step buffer by the same count (STEP_ARRAYS, PICK_ROW_INTS). */
#define DF_CUDA_PICK_SLICES 32
#define DF_CUDA_PICK_ROW_INTS (2 * DF_CUDA_PICK_SLICES + 1)
#define DF_CUDA_STEP_IN_BYTES(cap) ((size_t)4 * (size_t)(cap) * sizeof(int))
#define DF_CUDA_STEP_ARRAYS_BYTES(cap) ((size_t)6 * (size_t)(cap) * sizeof(int))
#define DF_CUDA_STEP_BYTES(cap, batch) \
    (DF_CUDA_STEP_ARRAYS_BYTES(cap) + (size_t)DF_CUDA_PICK_ROW_INTS * (size_t)(batch) * sizeof(int))
enum {
    DF_CUDA_STEP_TOKEN = 0,
    DF_CUDA_STEP_SLOT = 1,
    DF_CUDA_STEP_POS = 2,
    DF_CUDA_STEP_EMIT = 3,
    DF_CUDA_STEP_NEXT = 4,
    DF_CUDA_STEP_DRAW = 5,
    DF_CUDA_STEP_PICK = 6 /* the picks' area begins where a 7th array would */
};

/* cuBLASLt's workspace: 32 MiB is cuBLAS's advice for Hopper (the plan's gemm_ws). */
#define DF_CUDA_GEMM_WS_BYTES ((size_t)32 << 20)

/* The kinds of GEMM df_cuda_lt_linear runs. */
enum df_cuda_gemm { DF_CUDA_GEMM_FP8 = 0, DF_CUDA_GEMM_BF16 = 1 };

enum df_cuda_phase { DF_CUDA_PREFILL = 0, DF_CUDA_DECODE = 1 };

/* The ops of one phase: enqueue every kernel of the step on the stream. */
typedef void (*df_cuda_ops_fn)(const unsigned char *w, unsigned char *arena, const struct df_step *step);

/* One step: copy the step's host arrays into the pinned staging buffer, then
 * on the stream copy them to arena + step_offset and run ops. A decode step
 * is captured as a CUDA graph at its first call (again whenever n changes)
 * and replayed afterwards; the copy is the graph's first node. Returns once
 * the work is enqueued; read_logits or greedy_tokens waits for it. */
void df_cuda_step(enum df_cuda_phase phase, const struct df_step *step, int cap, size_t step_offset,
                  df_cuda_ops_fn ops, const unsigned char *w, unsigned char *arena);

/* Fill the staging layout (token, slot, pos, emit; cap ints each) from a step. */
static inline void df_cuda_pack_step(const struct df_step *step, int cap, int *staging)
{
    memcpy(staging + DF_CUDA_STEP_TOKEN * cap, step->token, sizeof(int) * (size_t)step->n);
    memcpy(staging + DF_CUDA_STEP_SLOT * cap, step->slot, sizeof(int) * (size_t)step->n);
    memcpy(staging + DF_CUDA_STEP_POS * cap, step->pos, sizeof(int) * (size_t)step->n);
    if (step->n_emit > 0)
        memcpy(staging + DF_CUDA_STEP_EMIT * cap, step->emit, sizeof(int) * (size_t)step->n_emit);
}

/* Device memory for a model's weights (the device opened and checked first), as the backend's
 * attach_weights allocates it before the upload, left unwritten; the backend's detach_weights
 * frees it. Only for tests/cuda/synth_decode.c, which writes synthetic weights there (a binary
 * that serves a model takes its weights from a verified file). NULL on failure, with err set. */
unsigned char *df_cuda_weights_alloc(uint64_t bytes, char *err, size_t errlen);

/* Copy bytes from the host to device memory, synchronously (start-up only);
 * exits with a message on a CUDA error. */
void df_cuda_upload(void *dst, const void *src, size_t bytes);

/* After a kernel launch: exits with a message if it could not be enqueued. */
void df_cuda_launched(const char *kernel);

/* y[n][n_out] = x[n][k] W^T through cuBLASLt, f32 output (runtime/cuda/lt_linear.cu,
 * docs/cuda-fp8-gemm.md). x holds values the schedule has prepared in place:
 *   DF_CUDA_GEMM_FP8: W an FP8 weight with its packed block scales (w_scale), x quantized per
 *     1x128 block (act_quant): x's codes and scales into in and scales (quantizing quantized
 *     values gives back their codes and scales: test_fp8act), then the block-scaled FP8 GEMM on
 *     n rounded up to 4 rows (x and y hold that many: the chunk is a multiple of 4, and the
 *     extra rows' outputs are not used);
 *   DF_CUDA_GEMM_BF16: W a bf16 weight (w_scale NULL), x rounded to bf16 (act_round_bf16): x as
 *     bf16 into in (exact), then the bf16 GEMM on n rows (scales unused).
 * With reuse_input, in (and scales) already hold this x, prepared by the call before on the
 * same rows (the generator says so: gen/schedule.lua), and are not prepared again.
 * Each shape's algorithm is chosen once, at start-up (df_cuda_lt_linear_plan, below), and run
 * with split-K off for every n, so that a token's outputs do not depend on the batch, nor on
 * the chunk the binary was built with (up to 512). Nothing for n = 0 (a prefill chunk in which
 * no prompt ends has no logits rows). Exits with a message if cuBLASLt fails, and if the shape
 * was not planned, was planned for fewer rows than cap, or workspace is not the plans'. */
void df_cuda_lt_linear(enum df_cuda_gemm kind, int n_out, int k, int cap, const unsigned char *w,
                       const unsigned char *w_scale, const float *x, int n, float *y, unsigned char *in, float *scales,
                       void *workspace, int reuse_input);

/* A shape's plan: cuBLASLt's heuristic asked for 512 rows, or cap (the most the shape runs: the
 * chunk, or the batch for the output head) where that is more, and the first of its candidates
 * that runs with split-K off at every row count up to those. The generated init calls it for
 * each GEMM shape of the model, so that no step pays for the plans. A shape planned before is
 * kept. Exits with a message if cuBLASLt fails, or if workspace is not the first plan's. */
void df_cuda_lt_linear_plan(enum df_cuda_gemm kind, int n_out, int k, int cap, void *workspace);

/* Drop the GEMM plans and cuBLASLt's handle (before the arena goes); with report, first print
 * each shape's algorithm to stderr. */
void df_cuda_lt_linear_release(int report);

/* Each planned shape's algorithm (df_lt_describe_algo: not the heuristic's workspace and waves
 * figures), "FP8 7168x2048: cand 0/8 algo ...; bf16 ...", into buf (len
 * bytes; "..." ends it where it does not fit); "" before any plan. For the audit record. */
void df_cuda_lt_linear_describe(char *buf, size_t len);

extern const struct df_backend df_cuda_backend;

#ifdef __cplusplus
}
#endif

#ifdef __CUDACC__
#include <cuda_runtime.h>
/* The one stream every kernel runs on (created when the weights are attached). */
cudaStream_t df_cuda_stream(void);
#endif

#endif
