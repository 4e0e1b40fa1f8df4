/* bench.c: the CPU benchmark behind `make bench` (bench/README.md).
 *
 *   bench --machine [--runs R]
 *       the machine's read bandwidth and f32 FMA peak, 1 and 2 threads, and
 *       its bf16 dot-product peak (vdpbf16ps) where the CPU has AVX-512 BF16
 *   bench --weights FILE [--threads LIST] [--runs R] [--bw1 GB/s --bw2 GB/s --fma1 GF --fma2 GF
 *         [--dot1 GF --dot2 GF]]
 *       the model it is linked with: prefill of 128 and 512 tokens, decode
 *       at batch 1 (after 128 and after 512 prompt tokens) and at max batch,
 *       the weight bytes each decoded token reads, effective bandwidth and
 *       the share of the measured bandwidth (--bw*) and FMA peak (--fma*;
 *       a model with bf16 activations computed with vdpbf16ps: also of the
 *       bf16 dot peak, --dot*)
 *
 * Every figure is the median of R runs (decode: of R steps per run, every
 * step timed), shown with its spread (min-max). The model is driven through
 * its df_model entry points, as the CLI's step loop does, on random prompt
 * tokens; weights are mapped as the binary maps them (the file is not hashed
 * here: `verify` does that). The routed experts' bytes are counted by the
 * MoE kernel (-DDF_STATS), so bytes per token are the bytes actually read. */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "cpu_features.h"
#include "model.h"
#include "threads.h"
#include "weights_file.h"

unsigned long long df_stat_expert_bytes; /* counted by the MoE kernels (DF_STATS) */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct stat3 {
    double med, lo, hi;
};

static struct stat3 stats(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    struct stat3 s = { n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]), v[0], v[n - 1] };
    return s;
}

/* ---- the machine ------------------------------------------------------------------------- */

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* Sum of the floats of p[0..n), read as S interleaved streams (S regions
 * read side by side, as the decode kernels read 8 weight rows), each
 * prefetched (to L2) pf bytes ahead. */
__attribute__((target("avx512f"))) static float read512(const unsigned char *p, size_t n, int S, int pf)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const size_t per = n / (size_t)S;
    for (size_t i = 0; i < per; i += 256)
        for (int s = 0; s < S; s++) {
            const unsigned char *q = p + (size_t)s * per + i;
            if (pf)
                for (int l = 0; l < 256; l += 64)
                    _mm_prefetch((const char *)q + pf + l, _MM_HINT_T1);
            a0 = _mm512_add_ps(a0, _mm512_load_ps(q));
            a1 = _mm512_add_ps(a1, _mm512_load_ps(q + 64));
            a2 = _mm512_add_ps(a2, _mm512_load_ps(q + 128));
            a3 = _mm512_add_ps(a3, _mm512_load_ps(q + 192));
        }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

__attribute__((target("avx2"))) static float read256(const unsigned char *p, size_t n, int S, int pf)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const size_t per = n / (size_t)S;
    for (size_t i = 0; i < per; i += 128)
        for (int s = 0; s < S; s++) {
            const unsigned char *q = p + (size_t)s * per + i;
            if (pf)
                for (int l = 0; l < 128; l += 64)
                    _mm_prefetch((const char *)q + pf + l, _MM_HINT_T1);
            a0 = _mm256_add_ps(a0, _mm256_load_ps((const float *)(const void *)q));
            a1 = _mm256_add_ps(a1, _mm256_load_ps((const float *)(const void *)(q + 32)));
            a2 = _mm256_add_ps(a2, _mm256_load_ps((const float *)(const void *)(q + 64)));
            a3 = _mm256_add_ps(a3, _mm256_load_ps((const float *)(const void *)(q + 96)));
        }
    float o[8];
    _mm256_storeu_ps(o, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    return o[0] + o[1] + o[2] + o[3] + o[4] + o[5] + o[6] + o[7];
}

/* FMA chains: enough independent ones to fill both FMA pipes; f32. */
__attribute__((target("avx512f,fma"))) static float fma512(long iters)
{
    __m512 a[24];
    for (int i = 0; i < 24; i++)
        a[i] = _mm512_set1_ps((float)i * 1e-3f);
    const __m512 b = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(1e-4f);
    for (long k = 0; k < iters; k++)
#pragma GCC unroll 24
        for (int i = 0; i < 24; i++)
            a[i] = _mm512_fmadd_ps(a[i], b, c);
    __m512 s = a[0];
    for (int i = 1; i < 24; i++)
        s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}

/* bf16 dot-product chains (vdpbf16ps: 2 multiply-adds per f32 lane), as fma512. */
__attribute__((target("avx512f,avx512bf16"))) static float dot512(long iters)
{
    __m512 a[24];
    for (int i = 0; i < 24; i++)
        a[i] = _mm512_set1_ps((float)i * 1e-3f);
    const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.5f), _mm512_set1_ps(0.25f));
    const __m512bh c = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-4f), _mm512_set1_ps(-1e-4f));
    for (long k = 0; k < iters; k++)
#pragma GCC unroll 24
        for (int i = 0; i < 24; i++)
            a[i] = _mm512_dpbf16_ps(a[i], b, c);
    __m512 s = a[0];
    for (int i = 1; i < 24; i++)
        s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static float fma256(long iters)
{
    __m256 a[12];
    for (int i = 0; i < 12; i++)
        a[i] = _mm256_set1_ps((float)i * 1e-3f);
    const __m256 b = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(1e-4f);
    for (long k = 0; k < iters; k++)
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++)
            a[i] = _mm256_fmadd_ps(a[i], b, c);
    __m256 s = a[0];
    for (int i = 1; i < 12; i++)
        s = _mm256_add_ps(s, a[i]);
    float o[8];
    _mm256_storeu_ps(o, s);
    return o[0];
}
#endif

static float read_plain(const unsigned char *p, size_t n, int S, int pf)
{
    (void)S;
    (void)pf;
    float s = 0.0f;
    for (size_t i = 0; i < n; i += 64)
        s += *(const float *)(const void *)(p + i);
    return s;
}

static float fma_plain(long iters)
{
    float a[8] = { 0 };
    for (long k = 0; k < iters; k++)
        for (int i = 0; i < 8; i++)
            a[i] = fmaf(a[i], 0.9999f, 1e-4f);
    return a[0];
}

static float (*read_fn)(const unsigned char *, size_t, int, int) = read_plain;
static float (*fma_fn)(long) = fma_plain;
static double flops_per_iter = 16.0;

static volatile float sink;

struct mjob {
    const unsigned char *p;
    size_t n;
    int streams, pf;
    long iters;
    pthread_barrier_t *bar;
    double t;
};

static void *read_thread(void *arg)
{
    struct mjob *j = arg;
    pthread_barrier_wait(j->bar);
    const double t0 = now();
    sink = read_fn(j->p, j->n, j->streams, j->pf);
    j->t = now() - t0;
    return NULL;
}

static void *fma_thread(void *arg)
{
    struct mjob *j = arg;
    pthread_barrier_wait(j->bar);
    const double t0 = now();
    sink = fma_fn(j->iters);
    j->t = now() - t0;
    return NULL;
}

/* One measurement with nt threads: GB/s (read) or GFLOPS (fma). */
static double measure(int nt, int fma, const unsigned char *buf, size_t bytes, int streams, int pf, long iters)
{
    pthread_t th[2];
    struct mjob j[2];
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, (unsigned)nt);
    for (int i = 0; i < nt; i++) {
        j[i] = (struct mjob){ buf + bytes / nt * i, bytes / nt, streams, pf, iters, &bar, 0.0 };
        pthread_create(&th[i], NULL, fma ? fma_thread : read_thread, &j[i]);
    }
    double t = 0.0;
    for (int i = 0; i < nt; i++) {
        pthread_join(th[i], NULL);
        t = j[i].t > t ? j[i].t : t;
    }
    pthread_barrier_destroy(&bar);
    return fma ? (double)nt * (double)iters * flops_per_iter / t / 1e9 : (double)bytes / t / 1e9;
}

static int machine(int runs)
{
#if defined(__x86_64__) || defined(__i386__)
    if (df_isa_supported() >= DF_ISA_AVX512) {
        read_fn = read512;
        fma_fn = fma512;
        flops_per_iter = 24 * 16 * 2;
    } else if (df_isa_supported() >= DF_ISA_AVX2) {
        read_fn = read256;
        fma_fn = fma256;
        flops_per_iter = 12 * 8 * 2;
    }
#endif
    const size_t bytes = (size_t)1 << 30; /* far beyond any cache */
    unsigned char *buf = aligned_alloc(4096, bytes);
    if (!buf)
        return 1;
    uint64_t r = 88172645463325252ull;
    for (size_t i = 0; i < bytes / 8; i++) { /* distinct pages: nothing to merge or share */
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        ((uint64_t *)(void *)buf)[i] = r & 0x3f3f3f3f3f3f3f3full;
    }
    printf("machine: %s, kernels use %s\n", df_isa_name(df_isa_supported()), df_isa_name(df_isa));
    for (int nt = 1; nt <= 2; nt++) {
        /* read: the best of 1, 4 and 8 streams per thread, each with and without
         * software prefetch 16 KB ahead, each a median of runs */
        double best = 0.0;
        struct stat3 bs = { 0, 0, 0 };
        static const int streams[3] = { 1, 4, 8 };
        for (int k = 0; k < 6; k++) {
            const int pf = k % 2 ? 16384 : 0, st = streams[k / 2];
            double v[64];
            for (int r = 0; r < runs; r++)
                v[r] = measure(nt, 0, buf, bytes, st, pf, 0);
            struct stat3 s = stats(v, runs);
            if (s.med > best) {
                best = s.med;
                bs = s;
            }
        }
        double f[64];
        for (int k = 0; k < runs; k++)
            f[k] = measure(nt, 1, NULL, 0, 0, 0, 20000000);
        const struct stat3 fs = stats(f, runs);
        printf("machine_bw%d %.2f %.2f %.2f\n", nt, bs.med, bs.lo, bs.hi);
        printf("machine_fma%d %.1f %.1f %.1f\n", nt, fs.med, fs.lo, fs.hi);
#if defined(__x86_64__) || defined(__i386__)
        if (df_isa_supported() >= DF_ISA_AVX512BF16) {
            float (*const f32_fn)(long) = fma_fn;
            const double f32_flops = flops_per_iter;
            fma_fn = dot512;
            flops_per_iter = 24 * 16 * 4;
            for (int k = 0; k < runs; k++)
                f[k] = measure(nt, 1, NULL, 0, 0, 0, 20000000);
            const struct stat3 ds = stats(f, runs);
            printf("machine_dot%d %.1f %.1f %.1f\n", nt, ds.med, ds.lo, ds.hi);
            fma_fn = f32_fn;
            flops_per_iter = f32_flops;
        }
#endif
    }
    free(buf);
    return 0;
}

/* ---- the model ------------------------------------------------------------------------------ */

static const struct df_model *M = &df_model;
static const unsigned char *W;
static unsigned char *A;
static int tok[PREFILL_CHUNK > MAX_BATCH ? PREFILL_CHUNK : MAX_BATCH], slot[PREFILL_CHUNK > MAX_BATCH ? PREFILL_CHUNK : MAX_BATCH],
    posv[PREFILL_CHUNK > MAX_BATCH ? PREFILL_CHUNK : MAX_BATCH], emit[PREFILL_CHUNK > MAX_BATCH ? PREFILL_CHUNK : MAX_BATCH];
static uint64_t rs = 12345;

static int rnd_token(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (int)(rs % (uint64_t)M->vocab);
}

/* Prefill nseq sequences of len tokens each (slots 0..nseq-1) in steps of at most PREFILL_CHUNK. */
static double prefill(int nseq, int len)
{
    struct df_step st = { 0, tok, slot, posv, 0, emit };
    double t = 0.0;
    for (int s = 0, p = 0; s < nseq;) {
        st.n = st.n_emit = 0;
        while (s < nseq && st.n < PREFILL_CHUNK) {
            tok[st.n] = rnd_token();
            slot[st.n] = s;
            posv[st.n] = p;
            if (p == len - 1)
                emit[st.n_emit++] = st.n;
            st.n++;
            if (++p == len) {
                p = 0;
                s++;
            }
        }
        const double t0 = now();
        M->prefill(W, A, &st);
        t += now() - t0;
    }
    return t;
}

/* One decode step for sequences 0..n-1 at positions pos..: seconds, and expert bytes read. */
static double decode_step(int n, int pos, unsigned long long *expert_bytes)
{
    struct df_step st = { n, tok, slot, posv, 0, emit };
    for (int i = 0; i < n; i++) {
        tok[i] = rnd_token();
        slot[i] = i;
        posv[i] = pos;
    }
    const unsigned long long e0 = df_stat_expert_bytes;
    const double t0 = now();
    M->decode(W, A, &st);
    const double t = now() - t0;
    *expert_bytes = df_stat_expert_bytes - e0;
    return t;
}

/* Weight bytes every decode step reads whatever the routing: all but the
 * embedding table (one row per token instead), the routed experts (counted
 * per step) and layers the forward pass does not run (MTP). */
static unsigned long long static_bytes;
static int hidden_bytes_per_row;

static void count_static(void)
{
    const struct df_manifest *m = M->manifest;
    for (int i = 0; i < m->n_tensors; i++) {
        const struct df_tensor *t = &m->tensors[i];
        int layer = -1;
        if (!strcmp(t->name, "embed")) {
            hidden_bytes_per_row = (int)(t->bytes / (uint64_t)t->shape[0]);
            continue;
        }
        if (sscanf(t->name, "l%d.", &layer) == 1 && layer >= LAYERS)
            continue; /* MTP */
        int e;
        if (layer >= 0 && sscanf(strchr(t->name, '.') + 1, "e%d.", &e) == 1)
            continue; /* routed expert */
        static_bytes += t->bytes;
    }
}

struct row {
    struct stat3 s; /* of the per-run values */
};

static double flops_prefill(int n, int len0)
{
    /* multiply-adds per token in the matrix products, from the manifest (routed experts: top-k of them) */
    const struct df_manifest *m = M->manifest;
    double per_tok = 0.0, lm_head = 0.0;
    for (int i = 0; i < m->n_tensors; i++) {
        const struct df_tensor *t = &m->tensors[i];
        int layer = -1, e;
        if (t->ndim != 2 || !strcmp(t->name, "embed") || strstr(t->name, ".scale"))
            continue;
        if (sscanf(t->name, "l%d.", &layer) == 1 && layer >= LAYERS)
            continue;
        const double macs = (double)t->shape[0] * (double)t->shape[1];
        if (!strcmp(t->name, "lm_head"))
            lm_head = macs;
        else if (layer >= 0 && sscanf(strchr(t->name, '.') + 1, "e%d.", &e) == 1)
            per_tok += macs * EXPERTS_PER_TOKEN / ROUTED_EXPERTS;
        else
            per_tok += macs; /* kv_b: absorbed, the same multiply-adds per token */
    }
    /* attention: per token and head, (pos + 1) * (kv_lora + rope + kv_lora) */
    double attn = 0.0;
    for (int p = len0; p < len0 + n; p++)
        attn += (double)(p + 1) * HEADS * (2.0 * KV_LORA_RANK + QK_ROPE) * LAYERS;
    return 2.0 * (per_tok * n + attn + lm_head);
}

int main(int argc, char **argv)
{
    const char *weights = NULL, *threads = "1,2", *what = "all";
    int runs = 5, mach = 0;
    double bw[3] = { 0 }, fmap[3] = { 0 }, dotp[3] = { 0 };
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--machine"))
            mach = 1;
        else if (!strcmp(argv[i], "--weights") && i + 1 < argc)
            weights = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            what = argv[++i];
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--bw1") && i + 1 < argc)
            bw[1] = atof(argv[++i]);
        else if (!strcmp(argv[i], "--bw2") && i + 1 < argc)
            bw[2] = atof(argv[++i]);
        else if (!strcmp(argv[i], "--fma1") && i + 1 < argc)
            fmap[1] = atof(argv[++i]);
        else if (!strcmp(argv[i], "--fma2") && i + 1 < argc)
            fmap[2] = atof(argv[++i]);
        else if (!strcmp(argv[i], "--dot1") && i + 1 < argc)
            dotp[1] = atof(argv[++i]);
        else if (!strcmp(argv[i], "--dot2") && i + 1 < argc)
            dotp[2] = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: %s --machine | --weights FILE [--threads 1,2] [--runs R] [--only prefill|decode] [--bw1 X --bw2 X --fma1 X --fma2 X [--dot1 X --dot2 X]]\n",
                    argv[0]);
            return 2;
        }
    }
    runs = runs < 1 ? 1 : runs > 64 ? 64 : runs;
    if (mach)
        return machine(runs);
    if (!weights) {
        fprintf(stderr, "%s: --weights FILE or --machine\n", argv[0]);
        return 2;
    }
    char err[512];
    struct df_weights wf;
    if (df_weights_open(weights, M->manifest, &wf, err, sizeof err) != DF_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        return 3;
    }
    W = M->backend->attach_weights(wf.data, wf.data_bytes, err, sizeof err);
    A = M->backend->arena_create(M->arena_bytes, err, sizeof err);
    if (!W || !A) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        return 1;
    }
    M->init(A);
    count_static();
    /* read every weight once, so that the first run does not measure page faults */
    {
        volatile unsigned char s = 0;
        for (uint64_t i = 0; i < wf.data_bytes; i += 4096)
            s ^= W[i];
        (void)s;
    }
    const char *wdt = "?";
    for (int i = 0; i < M->manifest->n_tensors; i++)
        if (!strcmp(M->manifest->tensors[i].name, "l0.o_proj"))
            wdt = M->manifest->tensors[i].dtype == DF_F8E4M3 ? "fp8 e4m3 128x128 blocks"
                  : M->manifest->tensors[i].dtype == DF_BF16 ? "bf16" : "f32";
    printf("model %s: %.1f MB of %s weights, arena %.1f MB, max batch %d, kernels %s\n", M->manifest->model_name,
           (double)wf.data_bytes / 1e6, wdt, (double)M->arena_bytes / 1e6, M->max_batch, df_isa_name(df_isa));
    for (const char *p = threads; *p;) {
        const int nt = atoi(p);
        while (*p && *p != ',')
            p++;
        if (*p == ',')
            p++;
        if (nt < 1 || nt > 2 || df_threads_start(nt) != 0)
            continue;
        double v[64];
        if (!strcmp(what, "profile-decode")) { /* for a profiler: one prompt, then many steps */
            prefill(1, 128);
            double t = 0.0;
            unsigned long long eb;
            for (int i = 0; i < 200; i++)
                t += decode_step(1, 128 + i % 64, &eb);
            printf("profile-decode t%d %.2f tokens/s\n", nt, 200 / t);
            df_threads_stop();
            continue;
        }
        /* prefill */
        const int plens[2] = { 128, 512 };
        for (int k = 0; k < 2 && strcmp(what, "decode"); k++) {
            prefill(1, plens[k]); /* warm-up */
            for (int r = 0; r < runs; r++)
                v[r] = plens[k] / prefill(1, plens[k]);
            const struct stat3 s = stats(v, runs);
            const double gf = flops_prefill(plens[k], 0) / (plens[k] / s.med) / 1e9;
            printf("prefill%d t%d %.1f %.1f %.1f gflops %.1f peak %.0f", plens[k], nt, s.med, s.lo, s.hi, gf,
                   fmap[nt] > 0 ? 100.0 * gf / fmap[nt] : 0.0);
            if (ACTIVATIONS_BF16 && dotp[nt] > 0 && df_isa >= DF_ISA_AVX512BF16) /* the dot product in use */
                printf(" dotpeak %.0f", 100.0 * gf / dotp[nt]);
            printf("\n");
        }
        /* decode at batch 1, after 128 and after 512 prompt tokens */
        const int ctx[2] = { 128, 512 };
        for (int k = 0; k < 2 && strcmp(what, "prefill"); k++) {
            double bytes_sum = 0.0, tsum = 0.0;
            int steps = 0;
            const int per_run = 8;
            double tv[64 * 8];
            for (int r = 0; r < runs; r++) {
                prefill(1, ctx[k]);
                for (int i = 0; i < per_run; i++) {
                    unsigned long long eb;
                    const double t = decode_step(1, ctx[k] + i, &eb);
                    tv[steps++] = t;
                    tsum += t;
                    bytes_sum += (double)(static_bytes + eb + (unsigned long long)hidden_bytes_per_row);
                }
            }
            const double bytes = bytes_sum / steps;
            const struct stat3 ts = stats(tv, steps);
            const double gbs = bytes / ts.med / 1e9;
            printf("decode1_ctx%d t%d %.2f %.2f %.2f ms %.2f mb %.1f gbs %.2f bw %.0f\n", ctx[k], nt, 1.0 / ts.med,
                   1.0 / ts.hi, 1.0 / ts.lo, ts.med * 1e3, bytes / 1e6, gbs, bw[nt] > 0 ? 100.0 * gbs / bw[nt] : 0.0);
            (void)tsum;
        }
        /* decode at max batch: every sequence 32 prompt tokens, then one token each per step */
        if (strcmp(what, "prefill")) {
            const int B = M->max_batch, per_run = 4;
            double tv[64 * 4], bytes_sum = 0.0;
            int steps = 0;
            for (int r = 0; r < runs; r++) {
                prefill(B, 32);
                for (int i = 0; i < per_run; i++) {
                    unsigned long long eb;
                    const double t = decode_step(B, 32 + i, &eb);
                    tv[steps++] = t;
                    bytes_sum += (double)(static_bytes + eb + (unsigned long long)hidden_bytes_per_row * B);
                }
            }
            const double bytes = bytes_sum / steps;
            const struct stat3 ts = stats(tv, steps);
            const double gbs = bytes / ts.med / 1e9;
            printf("decode%d t%d %.2f %.2f %.2f ms %.2f mb %.1f gbs %.2f bw %.0f\n", B, nt, B / ts.med, B / ts.hi,
                   B / ts.lo, ts.med * 1e3, bytes / B / 1e6, gbs, bw[nt] > 0 ? 100.0 * gbs / bw[nt] : 0.0);
        }
        df_threads_stop();
    }
    /* resident memory against weights + arena */
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        long hwm = 0;
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "VmHWM:", 6))
                hwm = atol(line + 6);
        fclose(f);
        const double planned = (double)wf.data_bytes + (double)M->arena_bytes;
        printf("rss %.1f %.1f %+.1f\n", hwm * 1024.0 / 1e6, planned / 1e6, 100.0 * (hwm * 1024.0 - planned) / planned);
    }
    M->backend->arena_destroy(A);
    M->backend->detach_weights(W);
    df_weights_close(&wf);
    return 0;
}
