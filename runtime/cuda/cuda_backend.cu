/* cuda_backend.cu: the CUDA backend (struct df_backend) and the step driver
 * the generated forward pass calls (cuda_rt.h).
 *
 * Device memory: one cudaMalloc for the packed weights (uploaded once through
 * two pinned staging buffers, the copy of one chunk overlapping the filling
 * of the next), one for the arena (the plan's size: every buffer, the step
 * arrays, the experts' scratch and cuBLASLt's among them; zeroed). Host memory
 * pinned once at start: the step's metadata (and the tokens picked on the
 * device, and the random draws of sampled ones) and the logits rows. Nothing is
 * allocated during a step.
 *
 * All work runs on one stream. A decode step is captured once as a CUDA graph
 * (its first node copies the step's token/slot/pos from the pinned buffer, so a
 * replay sees the tokens written there before the launch) and replayed for
 * every later step with the same number of tokens. Prefill runs its kernels
 * directly. One token's products come in three kinds of the same bits (linear_one.cuh);
 * the first decode step of each token count times the three in its graph
 * and keeps the fastest (tune_one_token), unless DF_CUDA_LINEAR_ONE names one.
 *
 * Environment: DF_CUDA_GRAPH=0 runs decode without graphs (for comparison; so does DF_TRACE,
 * runtime/trace.h); DF_CUDA_PDL=1 launches every step's kernels with programmatic dependent
 * launch, DF_CUDA_PDL=0 none, and without the variable those of the steps of one token
 * (launch.cuh, pdl_on); DF_CUDA_LINEAR_ONE=linear_k, rows or async fixes the kind of one token's
 * products, =tune times them (without the variable: tune on a device, linear_one.cuh);
 * DF_CUDA_STATS=1 prints, at exit, the steps run and their mean wall time
 * (from the step's start to its logits, or picked tokens, on the host), and for decode the
 * wall time per step from one decode step's end to the next one's, which also holds the host's
 * work between steps (sampling the copied rows, with --logits). DF_CUDA_PROFILE=1 (which
 * turns graphs off) times every kernel with events between launches and
 * prints, at exit, each kernel's share of the steps' device time. */
#include <cuda_runtime.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vector>

extern "C" {
#include "backend.h"
#include "model.h"
#include "trace.h"
}
#include "cuda_rt.h"
#include "linear_one.cuh"
#include "lt_gemm.h"
#include "pick.cuh"

namespace {

struct state {
    cudaStream_t stream = nullptr;
    bool stream_ok = false;
    int *step_host = nullptr;        /* pinned: the step buffer's arrays (cuda_rt.h), 6 x cap ints */
    size_t step_bytes = 0;
    size_t step_offset = 0;          /* the plan's step buffer in the arena, and its cap */
    int step_cap = 0;
    float *logits_host = nullptr;    /* pinned: max_batch x vocab floats */
    size_t logits_bytes = 0;
    cudaGraphExec_t graph = nullptr; /* the decode step, for graph_n tokens */
    int graph_n = -1;
    bool use_graph = true;
    /* DF_CUDA_STATS */
    bool stats = false;
    int pending = -1;                /* phase of the step in flight, -1 none */
    double t_start = 0.0;
    long steps[2] = { 0, 0 };
    double seconds[2] = { 0.0, 0.0 };
    double first_decode = 0.0;
    /* decode's wall time: from one decode step's end to the next one's (host work between them
     * included), over the steps that follow a decode step */
    double wall = 0.0, last_decode_end = -1.0;
    long wall_steps = 0;
    int captures = 0;
    /* one token's products: timed (tune_one_token), the events that time them, and each token
     * count's times and kind kept */
    bool tune = false;
    cudaEvent_t tune_ev[2] = { nullptr, nullptr };
    struct tuned_count {
        int n, kind;
        float ms[dfc::LINEAR_ONE_KINDS];
    };
    std::vector<tuned_count> tuned;
};

state g;

/* DF_CUDA_PROFILE: an event after each launch of a step; at the step's end the time
 * between consecutive events goes to the kernel launched between them (per phase and
 * kernel name). The events are created once; a step with more launches than events
 * leaves the rest untimed and says so. */
struct profile {
    static constexpr int EVENTS = 8192, NAMES = 64;
    bool on = false;
    cudaEvent_t ev[EVENTS];
    const char *of[EVENTS];
    int n = 0;                       /* events recorded in the step in flight */
    long untimed = 0;
    struct entry {
        const char *name;
        double ms;
        long calls;
    } e[2][NAMES];
    int names[2] = { 0, 0 };
    long steps[2] = { 0, 0 };        /* steps timed: each phase's first is not (it holds set-up) */
};

profile prof;

double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *model_name(void)
{
    return df_model.manifest->model_name;
}

/* A CUDA error during a step has no way back to the caller: report and exit 1. */
void fatal(cudaError_t e, const char *what)
{
    fprintf(stderr, "%s: CUDA error in %s: %s (%s)\n", model_name(), what, cudaGetErrorString(e), cudaGetErrorName(e));
    exit(1);
}

void check(cudaError_t e, const char *what)
{
    if (e != cudaSuccess)
        fatal(e, what);
}

void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

double gib(size_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0 * 1024.0);
}

/* A size for a message: "1.25 GiB", or "3.4 MiB" below a GiB. */
struct size_text {
    char s[32];
    explicit size_text(size_t bytes)
    {
        if (gib(bytes) >= 0.9995) /* what would print as 1024.0 MiB */
            snprintf(s, sizeof s, "%.2f GiB", gib(bytes));
        else
            snprintf(s, sizeof s, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
    }
};

/* "cannot allocate N bytes (SIZE) on NAME for WHAT: out of memory (SIZE free of SIZE)" */
void alloc_error(char *err, size_t errlen, const char *what, size_t bytes, cudaError_t e)
{
    size_t free_b = 0, total_b = 0;
    cudaDeviceProp prop;
    const char *dev = cudaGetDeviceProperties(&prop, 0) == cudaSuccess ? prop.name : "the GPU";
    cudaGetLastError();
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
        cudaGetLastError();
        set_err(err, errlen, "cannot allocate %zu bytes (%s) on %s for %s: %s", bytes, size_text(bytes).s, dev, what,
                cudaGetErrorString(e));
        return;
    }
    set_err(err, errlen, "cannot allocate %zu bytes (%s) on %s for %s: %s (%s free of %s)", bytes, size_text(bytes).s,
            dev, what, cudaGetErrorString(e), size_text(free_b).s, size_text(total_b).s);
}

void drop_tune_events(void)
{
    for (cudaEvent_t &e : g.tune_ev) {
        if (e)
            cudaEventDestroy(e);
        e = nullptr;
    }
}

/* The device must exist and be a Hopper (the binary holds sm_90a code only). */
bool open_device(char *err, size_t errlen)
{
    if (g.stream_ok)
        return true;
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        set_err(err, errlen, "no CUDA device: %s%s", e != cudaSuccess ? cudaGetErrorString(e) : "none found",
                e == cudaErrorInsufficientDriver ? " (no NVIDIA driver, or one older than this CUDA runtime)" : "");
        return false;
    }
    cudaDeviceProp prop;
    if ((e = cudaGetDeviceProperties(&prop, 0)) != cudaSuccess) {
        set_err(err, errlen, "cannot query CUDA device 0: %s", cudaGetErrorString(e));
        return false;
    }
    if (prop.major != 9 || prop.minor != 0) {
        set_err(err, errlen, "CUDA device 0 (%s) has compute capability %d.%d; this binary is built for sm_90a "
                "(Hopper: H100, H200, H800)", prop.name, prop.major, prop.minor);
        return false;
    }
    if ((e = cudaSetDevice(0)) != cudaSuccess ||
        (e = cudaStreamCreateWithFlags(&g.stream, cudaStreamNonBlocking)) != cudaSuccess) {
        set_err(err, errlen, "cannot start CUDA on %s: %s", prop.name, cudaGetErrorString(e));
        return false;
    }
    const char *gr = getenv("DF_CUDA_GRAPH"), *st = getenv("DF_CUDA_STATS");
    const char *pr = getenv("DF_CUDA_PROFILE");
    g.use_graph = !(gr && !strcmp(gr, "0")) && !df_trace_on();
    g.stats = st && *st && strcmp(st, "0");
    prof.on = pr && *pr && strcmp(pr, "0");
    if (prof.on) {
        g.use_graph = false;
        dfc::pdl_mode = 0;
        g.stats = true;
        for (int i = 0; i < profile::EVENTS; i++)
            if ((e = cudaEventCreate(&prof.ev[i])) != cudaSuccess) {
                set_err(err, errlen, "DF_CUDA_PROFILE: cannot create its events: %s", cudaGetErrorString(e));
                while (i-- > 0)
                    cudaEventDestroy(prof.ev[i]);
                cudaStreamDestroy(g.stream);
                return false;
            }
    }
    const int one = dfc::linear_one_setting();
    g.tune = one == dfc::LINEAR_ONE_TUNE && g.use_graph;
    dfc::linear_one = one == dfc::LINEAR_ONE_TUNE ? dfc::LINEAR_ONE_WARP : one;
    if (g.tune && ((e = cudaEventCreate(&g.tune_ev[0])) != cudaSuccess ||
                   (e = cudaEventCreate(&g.tune_ev[1])) != cudaSuccess)) {
        set_err(err, errlen, "cannot create the events that time one token's products: %s", cudaGetErrorString(e));
        drop_tune_events();
        cudaStreamDestroy(g.stream);
        return false;
    }
    g.stream_ok = true;
    return true;
}

/* ---- df_backend ------------------------------------------------------------------------- */

const size_t STAGE_BYTES = (size_t)64 << 20;

} /* namespace */

extern "C" unsigned char *df_cuda_weights_alloc(uint64_t bytes, char *err, size_t errlen)
{
    if (!open_device(err, errlen))
        return NULL;
    unsigned char *dev = NULL;
    const cudaError_t e = cudaMalloc((void **)&dev, bytes ? (size_t)bytes : 1);
    if (e != cudaSuccess) {
        cudaGetLastError();
        alloc_error(err, errlen, "the weights", (size_t)bytes, e);
        return NULL;
    }
    return dev;
}

namespace {

const unsigned char *attach_weights(const unsigned char *data, uint64_t bytes, char *err, size_t errlen)
{
    unsigned char *dev = df_cuda_weights_alloc(bytes, err, errlen);
    if (!dev)
        return NULL;
    cudaError_t e = cudaSuccess;
    /* Two pinned buffers: fill one from the mapped file while the other is copied. */
    const size_t stage = bytes < STAGE_BYTES ? (size_t)bytes : STAGE_BYTES;
    unsigned char *buf[2] = { NULL, NULL };
    cudaEvent_t done[2] = { NULL, NULL };
    const bool progress = bytes >= ((uint64_t)1 << 30) && isatty(2);
    for (int i = 0; i < 2; i++) {
        if ((e = cudaHostAlloc((void **)&buf[i], stage ? stage : 1, cudaHostAllocDefault)) != cudaSuccess ||
            (e = cudaEventCreateWithFlags(&done[i], cudaEventDisableTiming)) != cudaSuccess) {
            set_err(err, errlen, "cannot allocate %zu bytes of pinned host memory for the weights upload: %s",
                    stage, cudaGetErrorString(e));
            goto fail;
        }
    }
    {
        int shown = -1;
        uint64_t off = 0;
        for (int i = 0; off < bytes; i ^= 1) {
            const size_t len = bytes - off < stage ? (size_t)(bytes - off) : stage;
            if ((e = cudaEventSynchronize(done[i])) != cudaSuccess)
                break;
            memcpy(buf[i], data + off, len);
            if ((e = cudaMemcpyAsync(dev + off, buf[i], len, cudaMemcpyHostToDevice, g.stream)) != cudaSuccess ||
                (e = cudaEventRecord(done[i], g.stream)) != cudaSuccess)
                break;
            off += len;
            const int pct = (int)(100.0 * (double)off / (double)bytes);
            if (progress && pct != shown) {
                fprintf(stderr, "\r%s: uploading weights %3d%% (%.1f of %.1f GiB)", model_name(), pct, gib(off),
                        gib(bytes));
                shown = pct;
            }
        }
        if (e == cudaSuccess)
            e = cudaStreamSynchronize(g.stream);
        if (progress)
            fputc('\n', stderr);
        if (e != cudaSuccess) {
            set_err(err, errlen, "uploading the weights to the GPU: %s", cudaGetErrorString(e));
            goto fail;
        }
    }
    for (int i = 0; i < 2; i++) {
        cudaEventDestroy(done[i]);
        cudaFreeHost(buf[i]);
    }
    return dev;
fail:
    cudaStreamSynchronize(g.stream); /* a copy that failed later must not still read a buffer freed here */
    for (int i = 0; i < 2; i++) {
        if (done[i])
            cudaEventDestroy(done[i]);
        if (buf[i])
            cudaFreeHost(buf[i]);
    }
    cudaFree(dev);
    cudaGetLastError();
    return NULL;
}

void detach_weights(const unsigned char *weights)
{
    cudaFree((void *)weights);
    if (g.stream_ok) {
        if (prof.on)
            for (int i = 0; i < profile::EVENTS; i++)
                cudaEventDestroy(prof.ev[i]);
        drop_tune_events();
        g.tuned.clear();
        cudaStreamDestroy(g.stream);
        g.stream_ok = false;
    }
}

unsigned char *arena_create(size_t bytes, char *err, size_t errlen)
{
    if (!open_device(err, errlen))
        return NULL;
    unsigned char *a = NULL;
    cudaError_t e = cudaMalloc((void **)&a, bytes);
    if (e != cudaSuccess) {
        cudaGetLastError();
        alloc_error(err, errlen, "the arena (activations, KV cache, workspaces)", bytes, e);
        return NULL;
    }
    /* zeroed: among the rest, greedy_k's counts of its rows' slices done start at 0 (the step
     * buffer's picks' area; each launch's last block of a row resets its count) */
    if ((e = cudaMemset(a, 0, bytes)) != cudaSuccess || (e = cudaDeviceSynchronize()) != cudaSuccess) {
        set_err(err, errlen, "cannot clear the arena: %s", cudaGetErrorString(e));
        cudaFree(a);
        return NULL;
    }
    const struct df_model *m = &df_model;
    g.step_bytes = DF_CUDA_STEP_ARRAYS_BYTES(m->prefill_chunk);
    g.logits_bytes = (size_t)m->max_batch * (size_t)m->vocab * sizeof(float);
    if ((e = cudaHostAlloc((void **)&g.step_host, g.step_bytes, cudaHostAllocDefault)) != cudaSuccess ||
        (e = cudaHostAlloc((void **)&g.logits_host, g.logits_bytes, cudaHostAllocDefault)) != cudaSuccess) {
        set_err(err, errlen, "cannot allocate %zu bytes of pinned host memory: %s", g.step_bytes + g.logits_bytes,
                cudaGetErrorString(e));
        if (g.step_host)
            cudaFreeHost(g.step_host);
        g.step_host = NULL;
        cudaFree(a);
        return NULL;
    }
    memset(g.step_host, 0, g.step_bytes);
    return a;
}

void print_stats(void)
{
    const char *name[2] = { "prefill", "decode" };
    const char *pdl[3] = { "off", "on", "on for the steps of one token" };
    fprintf(stderr, "%s: cuda stats: graphs %s, %d captured; programmatic dependent launch %s; one token's products %s\n",
            model_name(), g.use_graph ? "on" : "off", g.captures, pdl[dfc::pdl_read_mode()],
            g.tune ? "timed" : dfc::linear_one_names[dfc::linear_one_kind()]);
    for (const state::tuned_count &t : g.tuned)
        fprintf(stderr, "%s: cuda stats: decode graph of %d token(s), one token's products linear_k / rows / async: "
                "%.4f / %.4f / %.4f ms/step, %s kept\n", model_name(), t.n, t.ms[dfc::LINEAR_ONE_WARP],
                t.ms[dfc::LINEAR_ONE_ROWS], t.ms[dfc::LINEAR_ONE_ASYNC], dfc::linear_one_names[t.kind]);
    for (int p = 0; p < 2; p++) {
        if (!g.steps[p])
            continue;
        fprintf(stderr, "%s: cuda stats: %s %ld steps, %.4f ms/step", model_name(), name[p], g.steps[p],
                1e3 * g.seconds[p] / (double)g.steps[p]);
        if (p == DF_CUDA_DECODE && g.steps[p] > 1)
            fprintf(stderr, ", first %.4f ms, after the first %.4f ms/step, wall %.4f ms/step", 1e3 * g.first_decode,
                    1e3 * (g.seconds[p] - g.first_decode) / (double)(g.steps[p] - 1),
                    g.wall_steps ? 1e3 * g.wall / (double)g.wall_steps : 0.0);
        fputc('\n', stderr);
    }
}

/* The time between the step's events, to the kernels launched between them. */
void profile_step(int phase)
{
    if (g.steps[phase] == 0) { /* the phase's first step: one-time work (cuBLASLt's plans) in its gaps */
        prof.n = 0;
        return;
    }
    prof.steps[phase]++;
    for (int i = 1; i < prof.n; i++) {
        float ms = 0.0f;
        check(cudaEventElapsedTime(&ms, prof.ev[i - 1], prof.ev[i]), "timing a kernel");
        profile::entry *e = prof.e[phase];
        int k = 0;
        while (k < prof.names[phase] && strcmp(e[k].name, prof.of[i]))
            k++;
        if (k == profile::NAMES)
            continue;
        if (k == prof.names[phase])
            e[prof.names[phase]++] = { prof.of[i], 0.0, 0 };
        e[k].ms += ms;
        e[k].calls++;
    }
    prof.n = 0;
}

void print_profile(void)
{
    const char *name[2] = { "prefill", "decode" };
    for (int p = 0; p < 2; p++) {
        const long steps = prof.steps[p];
        if (!steps) {
            if (g.steps[p])
                fprintf(stderr, "%s: cuda profile: %s, 1 step, not timed (a phase's first step is not)\n",
                        model_name(), name[p]);
            continue;
        }
        double total = 0.0;
        for (int k = 0; k < prof.names[p]; k++)
            total += prof.e[p][k].ms;
        fprintf(stderr, "%s: cuda profile: %s, %ld steps, %.4f ms/step of kernels (events between launches, "
                "graphs off; the phase's first step left out)\n", model_name(), name[p], steps, total / (double)steps);
        profile::entry sorted[profile::NAMES];
        memcpy(sorted, prof.e[p], sizeof(profile::entry) * (size_t)prof.names[p]);
        qsort(sorted, (size_t)prof.names[p], sizeof sorted[0], [](const void *a, const void *b) { /* largest first */
            const double x = ((const profile::entry *)a)->ms, y = ((const profile::entry *)b)->ms;
            return (x < y) - (x > y);
        });
        for (int k = 0; k < prof.names[p]; k++)
            fprintf(stderr, "%s: cuda profile: %s %-16s %6.1f%%  %.4f ms/step  %.1f launches/step\n", model_name(),
                    name[p], sorted[k].name, 100.0 * sorted[k].ms / (total > 0 ? total : 1),
                    sorted[k].ms / (double)steps, (double)sorted[k].calls / (double)steps);
    }
    if (prof.untimed)
        fprintf(stderr, "%s: cuda profile: %ld launches past %d events per step were not timed\n", model_name(),
                prof.untimed, profile::EVENTS);
}

void arena_destroy(unsigned char *arena)
{
    if (g.stats)
        print_stats();
    if (prof.on)
        print_profile();
    if (g.graph) {
        cudaGraphExecDestroy(g.graph);
        g.graph = NULL;
        g.graph_n = -1;
    }
    df_cuda_lt_linear_release(g.stats); /* its workspace is in the arena */
    cudaFree(arena);
    cudaFreeHost(g.step_host);
    cudaFreeHost(g.logits_host);
    g.step_host = NULL;
    g.logits_host = NULL;
}

/* The end of a step: wait for it (and the copies enqueued after it); DF_CUDA_STATS. */
void step_done(void)
{
    check(cudaStreamSynchronize(g.stream), "the step");
    if (g.pending >= 0) {
        const double t = now(), dt = t - g.t_start;
        if (g.pending == DF_CUDA_DECODE && g.steps[DF_CUDA_DECODE] == 0)
            g.first_decode = dt;
        if (g.pending == DF_CUDA_DECODE && g.last_decode_end >= 0.0) {
            g.wall += t - g.last_decode_end;
            g.wall_steps++;
        }
        g.last_decode_end = g.pending == DF_CUDA_DECODE ? t : -1.0;
        if (prof.on)
            profile_step(g.pending);
        g.steps[g.pending]++;
        g.seconds[g.pending] += dt;
        g.pending = -1;
    }
}

const float *read_logits(unsigned char *arena, size_t offset, int rows, int vocab)
{
    const size_t bytes = (size_t)(rows > 0 ? rows : 0) * (size_t)vocab * sizeof(float);
    if (bytes > g.logits_bytes) {
        fprintf(stderr, "%s: internal error: %d logits rows exceed the max batch\n", model_name(), rows);
        exit(1);
    }
    if (bytes)
        check(cudaMemcpyAsync(g.logits_host, arena + offset, bytes, cudaMemcpyDeviceToHost, g.stream),
              "reading the logits");
    step_done();
    return g.logits_host;
}

/* The rows a pick reads: within the step's cap and the pinned logits buffer's max batch. */
void check_pick_rows(int rows, int vocab)
{
    if (rows > g.step_cap || (size_t)(rows > 0 ? rows : 0) * (size_t)vocab * sizeof(float) > g.logits_bytes) {
        fprintf(stderr, "%s: internal error: %d logits rows exceed the step's %d or the max batch\n", model_name(), rows,
                g.step_cap);
        exit(1);
    }
}

/* The step buffer's next[] (on the device) and the pinned buffer's, where a pick's tokens go. */
int *step_slot(unsigned char *arena, int slot)
{
    return (int *)(void *)(arena + g.step_offset) + slot * g.step_cap;
}

/* After a pick kernel wrote next[rows]: those ints (and nothing else) to the host, into out. */
void read_picks(unsigned char *arena, int rows, int *out)
{
    int *next_host = g.step_host + DF_CUDA_STEP_NEXT * g.step_cap;
    if (rows > 0)
        check(cudaMemcpyAsync(next_host, step_slot(arena, DF_CUDA_STEP_NEXT), sizeof(int) * (size_t)rows,
                              cudaMemcpyDeviceToHost, g.stream),
              "reading the picked tokens");
    step_done();
    memcpy(out, next_host, sizeof(int) * (size_t)(rows > 0 ? rows : 0));
}

/* The greedy tokens of the first rows of the logits: picked on the device (dfc::greedy_k, its
 * slices' picks in the step buffer's picks' area). */
void greedy_tokens(unsigned char *arena, size_t offset, int rows, int vocab, int *out)
{
    check_pick_rows(rows, vocab);
    if (rows > 0) {
        (void)dfc::launch_greedy(g.stream, (const float *)(const void *)(arena + offset), rows, vocab,
                                 step_slot(arena, DF_CUDA_STEP_NEXT), step_slot(arena, DF_CUDA_STEP_PICK), df_cuda_launched);
    }
    read_picks(arena, rows, out);
}

/* The sampled tokens of the first rows of the logits, row r with draw[r]: the draws go to the
 * step buffer's draw[] (through the pinned buffer), dfc::launch_sample picks on the device (its
 * largest logits' picks in the step buffer's picks' area) and uses the rows up. */
void sample_tokens(unsigned char *arena, size_t offset, int rows, int vocab, const struct df_sample_params *p,
                   const uint32_t *draw, int *out)
{
    check_pick_rows(rows, vocab);
    if (rows > 0) {
        int *draw_host = g.step_host + DF_CUDA_STEP_DRAW * g.step_cap;
        memcpy(draw_host, draw, sizeof(uint32_t) * (size_t)rows);
        int *draw_dev = step_slot(arena, DF_CUDA_STEP_DRAW);
        check(cudaMemcpyAsync(draw_dev, draw_host, sizeof(uint32_t) * (size_t)rows, cudaMemcpyHostToDevice, g.stream),
              "copying the random draws");
        (void)dfc::launch_sample(g.stream, (float *)(void *)(arena + offset), rows, vocab, *p,
                                 (const uint32_t *)(const void *)draw_dev, step_slot(arena, DF_CUDA_STEP_NEXT),
                                 step_slot(arena, DF_CUDA_STEP_PICK), df_cuda_launched);
    }
    read_picks(arena, rows, out);
}

/* "NVIDIA H200, compute capability 9.0, 132 SMs, driver 13000" (device 0, which the backend uses). */
void device_name(char *buf, size_t len)
{
    cudaDeviceProp prop;
    int driver = 0;
    if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess || cudaDriverGetVersion(&driver) != cudaSuccess) {
        cudaGetLastError();
        snprintf(buf, len, "unknown CUDA device");
        return;
    }
    /* cuBLASLt's version too: with FP8 or bf16 activations its GEMMs' algorithms, so the bits, are its */
    snprintf(buf, len, "%s, compute capability %d.%d, %d SMs, driver %d, cuBLASLt %zu", prop.name, prop.major,
             prop.minor, prop.multiProcessorCount, driver, df_lt_version());
}

} /* namespace */

/* ---- cuda_rt.h -------------------------------------------------------------------------- */

cudaStream_t df_cuda_stream(void)
{
    return g.stream;
}

extern "C" void df_cuda_launched(const char *kernel)
{
    const cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) {
        char what[128];
        snprintf(what, sizeof what, "launching %s", kernel);
        fatal(e, what);
    }
    if (prof.on && prof.n > 0) {
        if (prof.n == profile::EVENTS) {
            prof.untimed++;
            return;
        }
        prof.of[prof.n] = kernel;
        check(cudaEventRecord(prof.ev[prof.n++], g.stream), "DF_CUDA_PROFILE");
    }
}

/* model.h (a trace build): the rows copied to the host once the step's work so far is done.
 * DF_TRACE turns graphs off (open_device): a captured step could not copy in the middle. */
extern "C" void df_trace(const char *label, const float *rows, int n_rows, int width)
{
    if (!df_trace_on())
        return;
    const size_t bytes = (size_t)n_rows * (size_t)width * sizeof(float);
    float *host = (float *)malloc(bytes ? bytes : 1);
    if (!host) {
        fprintf(stderr, "%s: DF_TRACE: out of memory\n", model_name());
        exit(1);
    }
    check(cudaStreamSynchronize(g.stream), "DF_TRACE: the step so far");
    check(cudaMemcpy(host, rows, bytes, cudaMemcpyDeviceToHost), "DF_TRACE: copying a trace point");
    df_trace_write(label, host, n_rows, width);
    free(host);
}

/* model.h (a liveness-checking build): in stream order, so a captured step replays it. */
extern "C" void df_poison(void *bytes, size_t n)
{
    check(cudaMemsetAsync(bytes, 0xff, n, g.stream), "df_poison");
}

/* On the backend's stream, then waited for: a cudaMemcpy from pageable memory may return while its
 * last bytes are still on their way, and the legacy stream it uses does not order the kernels of
 * g.stream (a non-blocking stream) after it. */
extern "C" void df_cuda_upload(void *dst, const void *src, size_t bytes)
{
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, g.stream), "uploading a table");
    check(cudaStreamSynchronize(g.stream), "uploading a table");
}

/* The decode step as a graph: the copy of the step's arrays (dev, bytes), then its kernels. */
cudaGraphExec_t capture_decode(df_cuda_ops_fn ops, const unsigned char *w, unsigned char *arena,
                               const struct df_step *step, int *dev, size_t bytes)
{
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    check(cudaStreamBeginCapture(g.stream, cudaStreamCaptureModeThreadLocal), "capturing the decode step");
    check(cudaMemcpyAsync(dev, g.step_host, bytes, cudaMemcpyHostToDevice, g.stream), "capturing the step copy");
    ops(w, arena, step);
    check(cudaStreamEndCapture(g.stream, &graph), "capturing the decode step");
    check(cudaGraphInstantiate(&exec, graph, 0), "instantiating the decode graph");
    check(cudaGraphDestroy(graph), "capturing the decode step");
    g.captures++;
    return exec;
}

/* The decode graph of step->n tokens with the fastest kind of one token's products: captured
 * with each and launched once (the first launch uploads a graph), then, ROUNDS times, each
 * kind's graph launched REPS times between two events, the kinds in turn (so that a clock
 * that drifts favours none); a kind's time is its best round's. The kinds give the same bits
 * (the GPU's conformance compares them), and a decode step writes only what it computes from
 * what it reads (its tokens' KV rows, the activations, the logits), so the 15 launches leave
 * what one leaves. Once a token count: the kind is kept for the later captures of the same
 * count (g.tuned), and stays linear_one for what runs outside graphs. */
cudaGraphExec_t tune_one_token(df_cuda_ops_fn ops, const unsigned char *w, unsigned char *arena,
                               const struct df_step *step, int *dev, size_t bytes)
{
    constexpr int ROUNDS = 2, REPS = 2, KINDS = dfc::LINEAR_ONE_KINDS;
    state::tuned_count t = { step->n, 0, {} };
    cudaGraphExec_t exec[KINDS];
    for (int k = 0; k < KINDS; k++) {
        dfc::linear_one = k;
        exec[k] = capture_decode(ops, w, arena, step, dev, bytes);
        check(cudaGraphLaunch(exec[k], g.stream), "timing the decode graph");
    }
    for (int round = 0; round < ROUNDS; round++)
        for (int k = 0; k < KINDS; k++) {
            check(cudaEventRecord(g.tune_ev[0], g.stream), "timing the decode graph");
            for (int i = 0; i < REPS; i++)
                check(cudaGraphLaunch(exec[k], g.stream), "timing the decode graph");
            check(cudaEventRecord(g.tune_ev[1], g.stream), "timing the decode graph");
            check(cudaEventSynchronize(g.tune_ev[1]), "timing the decode graph");
            float ms = 0.0f;
            check(cudaEventElapsedTime(&ms, g.tune_ev[0], g.tune_ev[1]), "timing the decode graph");
            ms /= REPS;
            t.ms[k] = round == 0 || ms < t.ms[k] ? ms : t.ms[k];
        }
    for (int k = 1; k < KINDS; k++)
        t.kind = t.ms[k] < t.ms[t.kind] ? k : t.kind;
    for (int k = 0; k < KINDS; k++)
        if (k != t.kind)
            check(cudaGraphExecDestroy(exec[k]), "dropping a slower decode graph");
    dfc::linear_one = t.kind;
    g.tuned.push_back(t);
    return exec[t.kind];
}

extern "C" void df_cuda_step(enum df_cuda_phase phase, const struct df_step *step, int cap, size_t step_offset,
                             df_cuda_ops_fn ops, const unsigned char *w, unsigned char *arena)
{
    if (step->n < 1 || step->n > cap || step->n_emit < 0 || step->n_emit > step->n) {
        fprintf(stderr, "%s: internal error: a step of %d tokens (%d emitting), the chunk is %d\n", model_name(),
                step->n, step->n_emit, cap);
        exit(1);
    }
    /* The previous step (and its reads of the staging buffer) is over before it is refilled. */
    check(cudaStreamSynchronize(g.stream), "the previous step");
    g.pending = phase;
    g.t_start = now();
    df_cuda_pack_step(step, cap, g.step_host);
    g.step_offset = step_offset;
    g.step_cap = cap;
    dfc::pdl_one_token_step = step->n == 1; /* a captured graph keeps its launches' attribute */
    const size_t bytes = DF_CUDA_STEP_IN_BYTES(cap);
    int *dev = (int *)(void *)(arena + step_offset);
    if (phase == DF_CUDA_DECODE && g.use_graph) {
        if (g.graph_n != step->n) {
            if (g.graph) {
                check(cudaGraphExecDestroy(g.graph), "dropping the decode graph");
                g.graph = NULL;
            }
            const state::tuned_count *t = nullptr;
            for (const state::tuned_count &c : g.tuned)
                t = c.n == step->n ? &c : t;
            if (g.tune && !t) {
                g.graph = tune_one_token(ops, w, arena, step, dev, bytes);
            } else {
                if (t)
                    dfc::linear_one = t->kind;
                g.graph = capture_decode(ops, w, arena, step, dev, bytes);
            }
            g.graph_n = step->n;
        }
        check(cudaGraphLaunch(g.graph, g.stream), "launching the decode graph");
    } else {
        check(cudaMemcpyAsync(dev, g.step_host, bytes, cudaMemcpyHostToDevice, g.stream), "copying the step");
        if (prof.on) {
            check(cudaEventRecord(prof.ev[0], g.stream), "DF_CUDA_PROFILE");
            prof.n = 1;
        }
        ops(w, arena, step);
    }
}

extern "C" const struct df_backend df_cuda_backend = {
    "cuda", attach_weights, detach_weights, arena_create, arena_destroy, read_logits, greedy_tokens, sample_tokens,
    device_name, df_cuda_lt_linear_describe,
};
