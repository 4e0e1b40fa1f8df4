/* random_checkpoint.c: a Hugging Face style checkpoint of random weights for
 * the model whose generated manifest.c it is linked with (the benchmark's
 * models have no real checkpoint; nothing is downloaded).
 *
 *   random_checkpoint --out DIR [--seed N]
 *
 * writes DIR/model.safetensors with every tensor the manifest names, under
 * its HF name, in the dtype the packer expects (bf16, f32, or F8_E4M3 with
 * F32 weight_scale_inv block scales), then the packer packs it as usual.
 * Values are sane so activations stay in range through the layers: matrices
 * uniform in +-sqrt(3 / cols) (FP8: codes of a uniform in +-448, rounded to
 * nearest, block scale sqrt(3 / cols) / 448), norms 1, biases small. Only the
 * model's speed means anything; the same seed gives the same file. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static inline uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* uniform in [-a, a) */
static inline float uni(float a)
{
    return (float)((double)(next() >> 11) * 0x1p-53 * 2.0 - 1.0) * a;
}

/* FP8 e4m3 value of a positive code (no NaN) */
static double e4m3_value(int c)
{
    const int e = c >> 3, m = c & 7;
    return e ? ldexp(1.0 + m / 8.0, e - 7) : ldexp(m / 8.0, -6);
}

/* The code of |v| ~ uniform(0, 448) rounded to nearest, drawn from 16 random bits. */
static uint8_t code_table[65536];

static void init_code_table(void)
{
    /* code c takes |v| up to the midpoint with the next code; 0x7e = 448 is the largest */
    int i = 0;
    for (int c = 0; c <= 0x7e; c++) {
        const double hi = c == 0x7e ? 448.0 : 0.5 * (e4m3_value(c) + e4m3_value(c + 1));
        const int end = (int)(hi / 448.0 * 65536.0);
        for (; i < end && i < 65536; i++)
            code_table[i] = (uint8_t)c;
    }
    for (; i < 65536; i++)
        code_table[i] = 0x7e;
}

static const char *st_dtype(enum df_dtype dt)
{
    return dt == DF_F32 ? "F32" : dt == DF_BF16 ? "BF16" : "F8_E4M3";
}

static size_t esize(enum df_dtype dt)
{
    return dt == DF_F32 ? 4 : dt == DF_BF16 ? 2 : 1;
}

static int ends_with(const char *s, const char *suffix)
{
    const size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* Fill one tensor's bytes. cols_of_weight: for a scale tensor, its weight's columns. */
static void fill(const struct df_tensor *t, int64_t weight_cols, unsigned char *buf, size_t count)
{
    const int64_t cols = t->ndim == 2 ? t->shape[1] : t->shape[0];
    if (t->dtype == DF_F8E4M3) {
        for (size_t i = 0; i < count; i++) {
            const uint64_t r = next();
            buf[i] = (uint8_t)(code_table[r & 0xffff] | ((r >> 16) & 0x80));
        }
    } else if (t->dtype == DF_BF16) {
        const float a = strstr(t->hf_name, "embed_tokens") ? 1.0f : sqrtf(3.0f / (float)cols);
        for (size_t i = 0; i < count; i++) {
            const float f = uni(a);
            uint32_t b;
            memcpy(&b, &f, 4);
            const uint16_t h = (uint16_t)(b >> 16);
            memcpy(buf + 2 * i, &h, 2);
        }
    } else {
        float *f = (float *)(void *)buf;
        if (ends_with(t->hf_name, "weight_scale_inv")) {
            for (size_t i = 0; i < count; i++)
                f[i] = sqrtf(3.0f / (float)weight_cols) / 448.0f * (0.75f + 0.25f * (uni(1.0f) + 1.0f));
        } else if (t->ndim == 1 && strstr(t->hf_name, "norm")) {
            for (size_t i = 0; i < count; i++)
                f[i] = 1.0f;
        } else if (t->ndim == 1) { /* e_score_correction_bias */
            for (size_t i = 0; i < count; i++)
                f[i] = uni(0.01f);
        } else {
            const float a = sqrtf(3.0f / (float)cols);
            for (size_t i = 0; i < count; i++)
                f[i] = uni(a);
        }
    }
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s --out DIR [--seed N]\n", argv[0]);
            return 2;
        }
    }
    if (!out) {
        fprintf(stderr, "usage: %s --out DIR [--seed N]\n", argv[0]);
        return 2;
    }
    rng ^= seed * 0xd1b54a32d192ed03ull;
    init_code_table();
    const struct df_manifest *m = &df_manifest;
    int64_t *wcols = calloc((size_t)m->n_tensors, sizeof *wcols); /* scale tensor -> its weight's columns */
    int64_t *ck_cols = calloc((size_t)m->n_tensors, sizeof *ck_cols); /* the tensor's columns in the checkpoint */
    for (int i = 0; i < m->n_tensors; i++)
        ck_cols[i] = m->tensors[i].ndim == 2 ? m->tensors[i].shape[1] : 1;
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].scale >= 0) { /* a checkpoint's weight_scale_inv rows are unpadded (the packer pads them) */
            wcols[m->tensors[i].scale] = m->tensors[i].shape[1];
            ck_cols[m->tensors[i].scale] = (m->tensors[i].shape[1] + 127) / 128;
        }

    /* header: tensors in manifest order, data back to back */
    size_t cap = 256 + (size_t)m->n_tensors * 320, len = 0;
    char *hdr = malloc(cap);
    uint64_t off = 0;
    len += (size_t)snprintf(hdr + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\",\"source\":\"deepfreeze bench/random_checkpoint\"}");
    for (int i = 0; i < m->n_tensors; i++) {
        const struct df_tensor *t = &m->tensors[i];
        const uint64_t bytes = (uint64_t)t->shape[0] * (uint64_t)ck_cols[i] * esize(t->dtype);
        if (t->ndim == 2)
            len += (size_t)snprintf(hdr + len, cap - len, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%lld,%lld],\"data_offsets\":[%llu,%llu]}",
                                    t->hf_name, st_dtype(t->dtype), (long long)t->shape[0], (long long)ck_cols[i],
                                    (unsigned long long)off, (unsigned long long)(off + bytes));
        else
            len += (size_t)snprintf(hdr + len, cap - len, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%lld],\"data_offsets\":[%llu,%llu]}",
                                    t->hf_name, st_dtype(t->dtype), (long long)t->shape[0], (unsigned long long)off,
                                    (unsigned long long)(off + bytes));
        off += bytes;
    }
    len += (size_t)snprintf(hdr + len, cap - len, "}");
    while (len % 8)
        hdr[len++] = ' ';

    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", out);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", argv[0], path, strerror(errno));
        return 4;
    }
    unsigned char n8[8];
    for (int i = 0; i < 8; i++)
        n8[i] = (unsigned char)((uint64_t)len >> (8 * i));
    int ok = fwrite(n8, 1, 8, f) == 8 && fwrite(hdr, 1, len, f) == len;
    const size_t chunk = 8u << 20;
    unsigned char *buf = malloc(chunk);
    for (int i = 0; ok && i < m->n_tensors; i++) {
        const struct df_tensor *t = &m->tensors[i];
        uint64_t left = (uint64_t)t->shape[0] * (uint64_t)ck_cols[i] * esize(t->dtype);
        while (ok && left) {
            const size_t n = left < chunk ? (size_t)left : chunk;
            fill(t, wcols[i], buf, n / esize(t->dtype));
            ok = fwrite(buf, 1, n, f) == n;
            left -= n;
        }
    }
    if (fclose(f) != 0 || !ok) {
        fprintf(stderr, "%s: %s: write error\n", argv[0], path);
        remove(path);
        return 4;
    }
    printf("random_checkpoint: %s: %d tensors, %.1f MB\n", out, m->n_tensors, (double)off / 1e6);
    free(buf);
    free(hdr);
    free(wcols);
    free(ck_cols);
    return 0;
}
