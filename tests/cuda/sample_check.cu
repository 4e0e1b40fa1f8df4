/* sample_check.cu: the device's token picks (runtime/cuda/pick.cuh) against the host's on the
 * same rows: launch_sample (greedy_k, sample_weights_k, sample_k) against df_sample_with
 * (runtime/sample.c) with the same 24-bit draws, and greedy_k against df_argmax. Both samplers
 * compute kernels/sample_select.h's integer definition, so every row must give the same token:
 * no tolerance.
 *
 *   build/cuda/sample_check   a few seconds; exit 0 if every row agreed, 1 otherwise;
 *                             "skip sample_check: no CUDA device" and exit 0 without a GPU
 *
 * Rows (batches of 16, each row its own shape and draw): vocabularies 1, 3, 100, 1024, 2049,
 * 4097, 40000, 100003, DeepSeek-V3's 129280 and 131077; logits of sample_rows.h's shapes (ties,
 * infinities, NaNs, denormals, ...); temperatures 0.05 to 1000, top-k 0 (none), 1, 40, 1999,
 * 2^30, top-p 1 (none), 0.95, 0.5, 1e-6, 0. Then the time of one sample (launch_sample's three
 * launches; CUDA events, median of 20) for 1 and 16 rows of V3's vocabulary with temperature
 * 0.8, top-k 40 and top-p 0.95,
 * printed as "sample_check: time ...", and of one greedy_k launch for the same rows
 * ("sample_check: greedy time ..."), which tools/gpu-check.sh reports. */
#include <cuda_runtime.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <algorithm>
#include <vector>

#include "pick.cuh"
extern "C" {
#include "sample.h"
}

#include "sample_rows.h"

static void cuda_ok(cudaError_t e, const char *what)
{
    if (e != cudaSuccess) {
        fprintf(stderr, "sample_check: %s: %s\n", what, cudaGetErrorString(e));
        exit(1);
    }
}

static struct df_sampler sampler(int vocab, float temp, int top_k, float top_p)
{
    struct df_sampler s;
    const struct df_sampling cfg = { temp, top_k, top_p, 1 };
    if (df_sampler_init(&s, &cfg, vocab) != 0) {
        fprintf(stderr, "sample_check: df_sampler_init(%d) failed\n", vocab);
        exit(1);
    }
    return s;
}

struct device_rows {
    float *logits = nullptr;
    uint32_t *draw = nullptr;
    int *next = nullptr;
    int *picks = nullptr; /* greedy_k's picks' area, the step buffer's (cuda_rt.h), its counts 0 */
    explicit device_rows(size_t floats)
    {
        const size_t pick_bytes = 16 * DF_CUDA_PICK_ROW_INTS * sizeof(int);
        cuda_ok(cudaMalloc((void **)&logits, floats * sizeof(float)), "cudaMalloc");
        cuda_ok(cudaMalloc((void **)&draw, 16 * sizeof(uint32_t)), "cudaMalloc");
        cuda_ok(cudaMalloc((void **)&next, 16 * sizeof(int)), "cudaMalloc");
        cuda_ok(cudaMalloc((void **)&picks, pick_bytes), "cudaMalloc");
        cuda_ok(cudaMemset(picks, 0, pick_bytes), "cudaMemset");
    }
    ~device_rows()
    {
        cudaFree(logits);
        cudaFree(draw);
        cudaFree(next);
        cudaFree(picks);
    }
};

/* One batch of 16 rows of one vocabulary, each row its own shape and configuration; returns the
 * rows whose device token differs from the host's (sampled, then greedy). */
static int batch(device_rows &d, int vocab)
{
    static const float temp[] = { 0.05f, 0.7f, 1.0f, 3.0f, 1000.0f };
    static const int top_k[] = { 0, 1, 40, 1999, 1 << 30 };
    static const float top_p[] = { 1.0f, 0.95f, 0.5f, 1e-6f, 0.0f };
    const int rows = 16;
    std::vector<float> l((size_t)rows * vocab);
    std::vector<uint32_t> draw(rows);
    std::vector<int> got(rows);
    int differ = 0;
    /* one configuration for the batch (launch_sample takes one), a shape and a draw per row */
    struct df_sampler s = sampler(vocab, temp[rnd64() % 5], top_k[rnd64() % 5], top_p[rnd64() % 5]);
    for (int r = 0; r < rows; r++) {
        const int kind = (int)(rnd64() % SAMPLE_ROW_KINDS);
        for (int i = 0; i < vocab; i++)
            l[(size_t)r * vocab + i] = sample_row_logit(kind, i, vocab);
        draw[r] = (uint32_t)(rnd64() >> 40);
    }
    for (int pass = 0; pass < 2; pass++) {
        cuda_ok(cudaMemcpy(d.logits, l.data(), l.size() * sizeof(float), cudaMemcpyHostToDevice), "upload");
        cuda_ok(cudaMemcpy(d.draw, draw.data(), rows * sizeof(uint32_t), cudaMemcpyHostToDevice), "upload");
        if (pass == 0)
            cuda_ok(dfc::launch_sample(nullptr, d.logits, rows, vocab, s.params, d.draw, d.next, d.picks), "launch_sample");
        else
            cuda_ok(dfc::launch_greedy(nullptr, d.logits, rows, vocab, d.next, d.picks), "greedy_k");
        cuda_ok(cudaMemcpy(got.data(), d.next, rows * sizeof(int), cudaMemcpyDeviceToHost), "download");
        for (int r = 0; r < rows; r++) {
            const float *row = &l[(size_t)r * vocab];
            const int want = pass == 0 ? df_sample_with(&s, row, draw[r]) : df_argmax(row, vocab);
            if (got[r] != want && differ++ < 5)
                printf("sample_check: %s differs: vocab %d, T %g, top-k %d, top-p %g, draw %u: device %d, host %d\n",
                       pass == 0 ? "sampled" : "greedy", vocab, (double)s.cfg.temperature, s.cfg.top_k,
                       (double)s.cfg.top_p, draw[r], got[r], want);
        }
    }
    df_sampler_free(&s);
    return differ;
}

/* Median time of one sample (launch_sample's three launches; greedy: greedy_k's one) over rows
 * rows of vocab logits (refilled before each). */
static double time_us(device_rows &d, int vocab, int rows, bool greedy)
{
    struct df_sampler s = sampler(vocab, 0.8f, 40, 0.95f);
    std::vector<float> l((size_t)rows * vocab);
    for (float &x : l)
        x = rnd_sym(8.0);
    cudaEvent_t a, b;
    cuda_ok(cudaEventCreate(&a), "event");
    cuda_ok(cudaEventCreate(&b), "event");
    std::vector<double> t;
    for (int k = 0; k < 21; k++) {
        cuda_ok(cudaMemcpy(d.logits, l.data(), l.size() * sizeof(float), cudaMemcpyHostToDevice), "upload");
        cuda_ok(cudaEventRecord(a), "event");
        if (greedy)
            cuda_ok(dfc::launch_greedy(nullptr, d.logits, rows, vocab, d.next, d.picks), "greedy_k");
        else
            cuda_ok(dfc::launch_sample(nullptr, d.logits, rows, vocab, s.params, d.draw, d.next, d.picks), "launch_sample");
        cuda_ok(cudaEventRecord(b), "event");
        cuda_ok(cudaEventSynchronize(b), "event");
        float ms;
        cuda_ok(cudaEventElapsedTime(&ms, a, b), "event");
        if (k > 0)
            t.push_back(ms * 1000.0);
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    df_sampler_free(&s);
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

int main(void)
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
        printf("skip sample_check: no CUDA device\n");
        return 0;
    }
    /* 4097, 100003, 131077: greedy_k's last slice shorter, and past 32 slices of 4096 */
    static const int vocab[] = { 1, 3, 100, 1024, 2049, 4097, 40000, 100003, 129280, 131077 };
    const int vocabs = (int)(sizeof vocab / sizeof *vocab);
    device_rows d((size_t)16 * vocab[vocabs - 1]);
    int differ = 0, batches = 0;
    for (int v = 0; v < vocabs; v++)
        for (int k = 0; k < (vocab[v] > 40000 ? 8 : 30); k++, batches++)
            differ += batch(d, vocab[v]);
    const std::vector<uint32_t> draws(16, 0x5a5a5a);
    cuda_ok(cudaMemcpy(d.draw, draws.data(), 16 * sizeof(uint32_t), cudaMemcpyHostToDevice), "upload");
    const double t1 = time_us(d, 129280, 1, false), t16 = time_us(d, 129280, 16, false);
    const double g1 = time_us(d, 129280, 1, true), g16 = time_us(d, 129280, 16, true);
    printf("sample_check: %d rows sampled and %d picked greedily, %d differ from the host\n", batches * 16,
           batches * 16, differ);
    printf("sample_check: time for vocab 129280, T 0.8, top-k 40, top-p 0.95: %.1f us for 1 row, %.1f us for 16\n", t1,
           t16);
    printf("sample_check: greedy time for vocab 129280: %.1f us for 1 row, %.1f us for 16\n", g1, g16);
    return differ ? 1 : 0;
}
