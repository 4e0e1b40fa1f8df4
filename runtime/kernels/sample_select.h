/* sample_select.h: the arithmetic of sampling with temperature, top-k and top-p, shared by the
 * host's sampler (runtime/sample.c) and the CUDA backend's (runtime/cuda/pick.cuh), so that
 * both draw the same token from the same logits row and the same random draw.
 *
 * Every decision is made on integers, so no summation order can change it:
 *   1. m is the row's largest logit (kernels/argmax.h's pick).
 *   2. Each token gets an integer weight w = floor(2^30 * 2^y), y = (l - m) log2(e) / T, computed
 *      in double with the same operations on both sides (df_sample_weight): w(m) = 2^30, a NaN
 *      or a token below 2^-31 of the largest gets 0 and is never drawn.
 *   3. Tokens are ordered by weight, larger first, ties to the lower id: by a unique integer key,
 *      w above the id's complement (df_sample_key).
 *   4. top-k keeps the first k tokens of positive weight (all of them if fewer); of those, top-p
 *      keeps the shortest prefix whose weight reaches ceil(p * kept), p rounded to 2^-24.
 *   5. r = floor(u * total), u = a 24-bit draw / 2^24 and total the kept weight; the token is the
 *      kept one, in id order, where the running sum of kept weights first exceeds r.
 * Steps 4 find a key threshold ("keep keys >= cut") by radix selection over 11-bit digits of the
 * key, most significant first (the last one narrower): a histogram of the digit over the keys still in play, then the
 * bucket where the running count (top-k) or weight (top-p), from the largest digit down, reaches
 * what is needed. That takes one pass over the row per digit instead of a sort. */
#ifndef DF_KERNELS_SAMPLE_SELECT_H
#define DF_KERNELS_SAMPLE_SELECT_H

#include <math.h>
#include <stdint.h>

#include "hd.h"

#define DF_SAMPLE_ONE (1u << 30)     /* the weight of the largest logit */
#define DF_SAMPLE_DIGIT_BITS 11
#define DF_SAMPLE_BUCKETS (1 << DF_SAMPLE_DIGIT_BITS)
#define DF_SAMPLE_MAX_VOCAB (1 << 24) /* keys stay within 31 + 24 bits */
#define DF_SAMPLE_P_ONE (1u << 24)   /* top-p in units of 2^-24 */

/* One sampling configuration, as both samplers take it (df_sample_params_of in sample.h). */
struct df_sample_params {
    double scale;  /* log2(e) / temperature (temperature > 0) */
    uint64_t top_k; /* tokens kept; UINT64_MAX: no limit */
    uint32_t p24;   /* top-p * 2^24, rounded; DF_SAMPLE_P_ONE or more: no limit */
    int index_bits; /* the fewest bits that hold every token id */
};

/* Keys >= key: what steps 4 keep, count tokens of total weight sum. */
struct df_sample_cut {
    uint64_t key, count, sum;
};

/* The state of one radix selection: the digits chosen so far (prefix), the count and weight of
 * the keys above the prefix's range, the shift and width of the digit the next pass histograms
 * (11 bits from the top down, the last pass what is left). */
struct df_select {
    uint64_t prefix, above_count, above_sum;
    int shift, width;
    int done;
    struct df_sample_cut cut;
};

/* Double arithmetic that no compiler fuses into an fma (which would round differently on the
 * two sides): the device's explicit round-to-nearest intrinsics; on the host plain operations,
 * which the build keeps unfused (-ffp-contract=off: inlined, separate calls alone would not
 * stop gcc in GNU mode) and in double precision (checked below). */
#if !defined(__CUDA_ARCH__)
#include <float.h>
#if FLT_EVAL_METHOD != 0
#error "sample_select.h: the weights need double arithmetic without excess precision (FLT_EVAL_METHOD 0)"
#endif
#endif
static inline DF_HD double df_dmul(double a, double b)
{
#ifdef __CUDA_ARCH__
    return __dmul_rn(a, b);
#else
    return a * b;
#endif
}

static inline DF_HD double df_dadd(double a, double b)
{
#ifdef __CUDA_ARCH__
    return __dadd_rn(a, b);
#else
    return a + b;
#endif
}

/* Step 2. m is the row's largest logit (NaN only if every logit is NaN). */
static inline DF_HD uint32_t df_sample_weight(float l, float m, double scale)
{
    if (l == m)
        return DF_SAMPLE_ONE; /* the largest itself, an infinite one included */
    const double y = df_dmul(df_dadd((double)l, -(double)m), scale); /* < 0 */
    if (!(y > -30.5))
        return 0; /* NaN, or under 2^-30 of the largest (-inf included): floor(2^30 2^y) = 0 */
    /* 2^y = 2^n 2^f with n the nearest integer to y (n in [-30, 0]; y + 0.5 and y - n are
     * exact) and f in [-0.5, 0.5]; 2^f = e^(f ln 2) by its Taylor series to degree 9, whose
     * remainder there is below 2^-37: far more precision than the weight keeps. */
    const double n = floor(df_dadd(y, 0.5)), f = df_dadd(y, -n);
    double p = 1.0178086009239696e-07;
    p = df_dadd(df_dmul(p, f), 1.3215486790144305e-06);
    p = df_dadd(df_dmul(p, f), 1.5252733804059838e-05);
    p = df_dadd(df_dmul(p, f), 0.00015403530393381606);
    p = df_dadd(df_dmul(p, f), 0.0013333558146428441);
    p = df_dadd(df_dmul(p, f), 0.009618129107628477);
    p = df_dadd(df_dmul(p, f), 0.055504108664821576);
    p = df_dadd(df_dmul(p, f), 0.2402265069591007);
    p = df_dadd(df_dmul(p, f), 0.6931471805599453);
    p = df_dadd(df_dmul(p, f), 1.0);
    /* p in [0.70, 1.42], so p 2^31 < 2^32; shifting right by 1 - n gives p 2^(30 + n). */
    const uint64_t q = (uint64_t)df_dmul(p, 2147483648.0);
    return (uint32_t)(q >> (1 - (int)n));
}

/* Step 3: larger keys come first; every id has its own key. */
static inline DF_HD uint64_t df_sample_key(uint32_t w, int id, int index_bits)
{
    return ((uint64_t)w << index_bits) | (((uint64_t)1 << index_bits) - 1u - (uint64_t)id);
}

/* The smallest key of a positive weight: the cut that keeps every token that can be drawn. */
static inline DF_HD uint64_t df_sample_key_min(int index_bits)
{
    return (uint64_t)1 << index_bits;
}

static inline DF_HD int df_sample_index_bits(int vocab)
{
    int b = 1;
    while (((int64_t)1 << b) < (int64_t)vocab)
        b++;
    return b;
}

/* Step 4's top-p target: ceil(p24 kept / 2^24), at least 1, exact in 64 bits (kept < 2^55). */
static inline DF_HD uint64_t df_sample_top_p_target(uint32_t p24, uint64_t kept)
{
    const uint64_t hi = kept >> 24, lo = kept & (DF_SAMPLE_P_ONE - 1u);
    const uint64_t t = (uint64_t)p24 * hi + (((uint64_t)p24 * lo + (DF_SAMPLE_P_ONE - 1u)) >> 24);
    return t ? t : 1;
}

/* Step 5's point: floor(u24 total / 2^24) < total, exact in 64 bits. */
static inline DF_HD uint64_t df_sample_point(uint32_t u24, uint64_t total)
{
    const uint64_t hi = total >> 24, lo = total & (DF_SAMPLE_P_ONE - 1u);
    return (uint64_t)u24 * hi + (((uint64_t)u24 * lo) >> 24);
}

/* ---- radix selection ---------------------------------------------------------------------- */

static inline DF_HD void df_select_begin(struct df_select *s, int index_bits)
{
    s->prefix = s->above_count = s->above_sum = 0;
    s->width = DF_SAMPLE_DIGIT_BITS;
    s->shift = 31 + index_bits - DF_SAMPLE_DIGIT_BITS; /* keys have 31 + index_bits bits */
    s->done = 0;
    s->cut.key = s->cut.count = s->cut.sum = 0;
}

/* Whether a key is still in play: its digits above the next pass's equal the prefix. */
static inline DF_HD int df_select_in(const struct df_select *s, uint64_t key)
{
    return (key >> (s->shift + s->width)) == s->prefix;
}

static inline DF_HD int df_select_digit(const struct df_select *s, uint64_t key)
{
    return (int)((key >> s->shift) & (((uint64_t)1 << s->width) - 1u));
}

/* Counted or weighed: the measure a selection reaches. */
static inline DF_HD uint64_t df_select_measure(int by_sum, uint64_t count, uint64_t sum)
{
    return by_sum ? sum : count;
}

/* What the selection still needs of this pass's buckets. */
static inline DF_HD uint64_t df_select_need(const struct df_select *s, int by_sum, uint64_t need)
{
    return need - df_select_measure(by_sum, s->above_count, s->above_sum);
}

/* The end of a pass whose buckets hold total_count keys of total_sum weight: if that is less
 * than the selection still needs (only a first pass can find that: every later one works inside
 * a bucket that held enough), keep every key >= low and stop. 1 if it stopped. */
static inline DF_HD int df_select_short(struct df_select *s, int by_sum, uint64_t need, uint64_t low,
                                        uint64_t total_count, uint64_t total_sum)
{
    if (df_select_measure(by_sum, total_count, total_sum) >= df_select_need(s, by_sum, need))
        return 0;
    s->done = 1;
    s->cut.key = low;
    s->cut.count = total_count;
    s->cut.sum = total_sum;
    return 1;
}

/* This pass chose digit d, with count and sum in the digits above it (this pass's buckets) and
 * count_d, sum_d in it; after the last digit the key is whole: the cut. */
static inline DF_HD void df_select_take(struct df_select *s, int d, uint64_t count, uint64_t sum, uint64_t count_d,
                                        uint64_t sum_d)
{
    s->above_count += count;
    s->above_sum += sum;
    s->prefix = (s->prefix << s->width) | (uint64_t)d;
    if (s->shift == 0) {
        s->done = 1;
        s->cut.key = s->prefix;
        s->cut.count = s->above_count + count_d;
        s->cut.sum = s->above_sum + sum_d;
    } else {
        s->width = s->shift < DF_SAMPLE_DIGIT_BITS ? s->shift : DF_SAMPLE_DIGIT_BITS;
        s->shift -= s->width;
    }
}

/* The serial pick of a pass (the device's is a warp's, with the same result): from the largest
 * digit down, the bucket where the measure reaches need (>= 1 and at most the buckets' total);
 * its predecessors' count and sum into *count, *sum. */
static inline DF_HD int df_select_pick(const uint32_t *count, const uint64_t *sum, int by_sum, uint64_t need,
                                       uint64_t *above_count, uint64_t *above_sum)
{
    uint64_t c = 0, s = 0;
    int d = DF_SAMPLE_BUCKETS - 1;
    for (; d > 0; d--) {
        if (df_select_measure(by_sum, c + count[d], s + sum[d]) >= need)
            break;
        c += count[d];
        s += sum[d];
    }
    *above_count = c;
    *above_sum = s;
    return d;
}

#endif
