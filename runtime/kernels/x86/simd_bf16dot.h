/* simd_bf16dot.h: the bf16-activation products (bf16 weights, activations
 * rounded to bf16) with AVX-512 BF16's vdpbf16ps, 32 multiply-adds per
 * instruction instead of 16. Included once by simd.h, after the AVX-512
 * kernels, whose emulation of this instruction it must match bit for bit.
 *
 * vdpbf16ps(acc, w, x) adds, in each f32 lane j, w[2j+1] x[2j+1] and then
 * w[2j] x[2j], each as a fused multiply-add with denormals read as zero and
 * flushed (tested against exactly that on this instruction; the products
 * of two bf16 values are exact in f32). Its operands are the weight row as
 * stored (32 columns, 64 bytes: no conversion) and the activations rounded
 * to bf16 in column order. The generic kernels compute the same sums from
 * the DF_BF16A layout (odd columns, then even, as f32) under MXCSR's DAZ
 * and FTZ (simd.h), and every output is summed over its 16 lanes by the same
 * tree: so this path gives the same bits as AVX-512 without BF16, as AVX2,
 * and as itself for any token count, micro-kernel or thread.
 *
 * Activations: bf16 in df_xbuf (as uint16), 32 per step; one row per token
 * (decode: a few tokens), or tiles of at most DF_PT tokens interleaved by
 * step (prefill: step s of token i of a tile of T at tile + (s T + i) 32),
 * which the micro-kernel reads as one stream while the R weight rows are
 * read in place. */

#define DF_TDOT DF_T512 ",avx512bf16"
#define DF_DAI static inline __attribute__((target(DF_TDOT) DF_ALWAYS_INLINE))
#define DF_DFN static __attribute__((target(DF_TDOT), noinline))

/* 32 activations (n of them real, then zeros) as bf16 at dst. */
DF_DAI void dot_prep32(const float *x, int n, uint16_t *dst)
{
    const __mmask16 lo = (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1u);
    const __mmask16 hi = (__mmask16)(n >= 32 ? 0xffff : n <= 16 ? 0 : (1u << (n - 16)) - 1u);
    const __m512 x0 = _mm512_maskz_loadu_ps(lo, x), x1 = _mm512_maskz_loadu_ps(hi, x + 16);
    const __m512bh v = _mm512_cvtne2ps_pbh(x1, x0);
    _mm512_storeu_si512((void *)dst, (__m512i)v);
}

/* The tokens t0 .. t0 + nt - 1 (x rows xrow[t], or t) rounded to bf16 into
 * df_xbuf: tiles (panel) or a row of ld values per token. */
DF_DAI void dot_prep_group(const float *x, size_t ldx, const int *xrow, int t0, int nt, int K, int kp, bool panel,
                           int ld)
{
    uint16_t *buf = (uint16_t *)(void *)df_xbuf;
    for (int k = 0, t = 0; t < nt; k++) {
        const int T = panel ? tile_size_avx512(nt, k) : 1;
        for (int i = 0; i < T; i++) {
            const int u = t + i, row = xrow ? xrow[t0 + u] : t0 + u;
            const float *xr = x + (size_t)row * ldx;
            uint16_t *dst = panel ? buf + (size_t)t * kp + 32 * i : buf + (size_t)u * ld;
            const size_t step = panel ? 32 * (size_t)T : 32;
            for (int c = 0; c < kp; c += 32, dst += step)
                dot_prep32(xr + c, K - c < 0 ? 0 : K - c, dst);
        }
        t += T;
    }
}

/* y[t * ldy + r] = dot(row r, token t) for R rows in place (row r at
 * w + r * rb bytes, rb = 2 K) and T tokens (step s of token t at
 * x + s * xk + t * xt), over `steps` steps of 32 columns (the last masked to
 * the row's end). Decode (pfd): the rows pfd bytes on come into L2 in
 * address order, as in mk_otf. */
DF_DAI void dot_mk(const unsigned char *w, size_t rb, const uint16_t *x, size_t xt, size_t xk, int steps, float *y,
                   size_t ldy, size_t pfd, const int R, const int T)
{
    __m512 acc[DF_PR * DF_PT > DF_MVR ? DF_PR * DF_PT : DF_MVR];
    const int tail = (int)(rb / 2 % 32);
    const __mmask32 tmask = tail ? (__mmask32)((1u << tail) - 1u) : (__mmask32)0xffffffffu;
DF_UNROLL(32)
    for (int k = 0; k < R * T; k++)
        acc[k] = _mm512_setzero_ps();
    for (int s = 0; s < steps; s++, x += xk) {
        __m512i wv[DF_MVR];
DF_UNROLL(8)
        for (int r = 0; r < R; r++) {
            const unsigned char *p = w + r * rb + (size_t)s * 64;
            if (pfd)
                _mm_prefetch((const char *)w + pfd + ((size_t)s * R + r) * 64, _MM_HINT_T1);
            wv[r] = s == steps - 1 && tail ? _mm512_maskz_loadu_epi16(tmask, p) : _mm512_loadu_si512((const void *)p);
        }
DF_UNROLL(8)
        for (int t = 0; t < T; t++) {
            const __m512bh xv = (__m512bh)_mm512_loadu_si512((const void *)(x + t * xt));
DF_UNROLL(8)
            for (int r = 0; r < R; r++)
                acc[r * T + t] = _mm512_dpbf16_ps(acc[r * T + t], (__m512bh)wv[r], xv);
        }
    }
    store_sums_avx512(acc, R, T, y, ldy, false);
}

#define DF_DOT_NAME_(R, T) dot_##R##x##T
#define DF_DOT_NAME(R, T) DF_DOT_NAME_(R, T)
#define DF_DOT(R, T)                                                                                  \
    DF_DFN void DF_DOT_NAME(R, T)(const unsigned char *w, size_t rb, const uint16_t *x, size_t xt, size_t xk, \
                                  int steps, float *y, size_t ldy, size_t pfd)                        \
    {                                                                                                 \
        dot_mk(w, rb, x, xt, xk, steps, y, ldy, pfd, R, T);                                           \
    }
DF_DOT(1, 1) DF_DOT(1, 2) DF_DOT(1, 3) DF_DOT(1, 4) DF_DOT(1, 5) DF_DOT(1, 6)
DF_DOT(4, 1) DF_DOT(4, 2) DF_DOT(4, 3) DF_DOT(4, 4) DF_DOT(4, 5) DF_DOT(4, 6) DF_DOT(8, 1)

typedef void (*dot_fn)(const unsigned char *, size_t, const uint16_t *, size_t, size_t, int, float *, size_t, size_t);
/* [1 row, 4 rows][T - 1] */
static const dot_fn dot_table[2][6] = {
    { DF_DOT_NAME(1, 1), DF_DOT_NAME(1, 2), DF_DOT_NAME(1, 3), DF_DOT_NAME(1, 4), DF_DOT_NAME(1, 5), DF_DOT_NAME(1, 6) },
    { DF_DOT_NAME(4, 1), DF_DOT_NAME(4, 2), DF_DOT_NAME(4, 3), DF_DOT_NAME(4, 4), DF_DOT_NAME(4, 5), DF_DOT_NAME(4, 6) },
};

/* Rows [a, b) times the nt tokens in df_xbuf: y[t * ldy + r - a]. Decode
 * (no tiles): 8 rows (one token) or 4 rows x up to 4 tokens a call, the
 * next rows prefetched; prefill: blocks of 16 rows (32 KB at K = 1024, in
 * L1; 8 rows beyond, in L2), each multiplied by every tile in turn, 4 rows
 * x a tile a call. */
DF_DAI void dot_rows(const struct df_mat *m, int a, int b, int kp, int nt, bool panel, int ld, float *y, size_t ldy)
{
    const size_t rb = (size_t)m->cols * 2;
    const int steps = kp / 32, ahead = (int)((DF_PF_AHEAD + rb - 1) / rb);
    const unsigned char *w = (const unsigned char *)m->w;
    const uint16_t *x = (const uint16_t *)(const void *)df_xbuf;
#define DF_PFD(R) ((size_t)(ahead > (R) ? ahead : (R)) * rb)
    if (!panel) {
        int r = a;
        if (nt == 1)
            for (; r + 8 <= b; r += 8)
                DF_DOT_NAME(8, 1)(w + (size_t)r * rb, rb, x, 0, 32, steps, y + (r - a), ldy, DF_PFD(8));
        while (r < b) {
            const int R = b - r >= 4 ? 4 : 1;
            for (int t = 0; t < nt; t += 4) {
                const int T = nt - t < 4 ? nt - t : 4;
                dot_table[R == 1 ? 0 : 1][T - 1](w + (size_t)r * rb, rb, x + (size_t)t * ld, (size_t)ld, 32, steps,
                                                  y + (size_t)t * ldy + (r - a), ldy, t ? 0 : DF_PFD(R));
            }
            r += R;
        }
        return;
    }
#undef DF_PFD
    const int tiles = tiles_avx512(nt), block = kp <= 1024 ? 16 : 8;
    for (int r0 = a; r0 < b; r0 += block) {
        const int r1 = r0 + block < b ? r0 + block : b;
        for (int k = 0, t = 0; k < tiles; k++) {
            const int T = tile_size_avx512(nt, k);
            for (int r = r0; r < r1;) {
                const int R = r1 - r >= 4 ? 4 : 1;
                dot_table[R == 1 ? 0 : 1][T - 1](w + (size_t)r * rb, rb, x + (size_t)t * kp, 32, 32 * (size_t)T, steps,
                                                  y + (size_t)t * ldy + (r - a), ldy, 0);
                r += R;
            }
            t += T;
        }
    }
}

/* y[i][t * ldy + r - r0] = dot(row r of m[i], x row xrow[t]) for bf16
 * matrices with bf16 activations: df_simd_gemm_n's contract. */
static __attribute__((target(DF_TDOT))) int gemm_bf16dot(const struct df_mat *m, int nm, const float *x, size_t ldx,
                                                         const int *xrow, int n, float *const *y, size_t ldy, int r0,
                                                         int r1)
{
    const int K = m->cols, kp = (K + 31) / 32 * 32, cap = 2 * DF_XBUF_FLOATS; /* bf16 values in df_xbuf */
    if (K > DF_SIMD_MAX_K)
        return -1;
    const bool panel = n >= DF_PANEL_MIN_TOKENS && DF_PT * kp <= cap;
    const int ld = panel ? kp : kp % 512 ? kp : kp + 32; /* rows of a multiple of 1 KB 64 bytes longer (as gemm) */
    const int tg = group_tokens_avx512(n, ld, cap, panel);
    for (int t0 = 0; t0 < n; t0 += tg) {
        const int nt = n - t0 < tg ? n - t0 : tg;
        dot_prep_group(x, ldx, xrow, t0, nt, K, kp, panel, ld);
        for (int mi = 0; mi < nm; mi++)
            dot_rows(&m[mi], r0, r1, kp, nt, panel, ld, y[mi] + (size_t)t0 * ldy, ldy);
    }
    return 0;
}

#undef DF_DOT
#undef DF_DOT_NAME
#undef DF_DOT_NAME_
#undef DF_DAI
#undef DF_DFN
#undef DF_TDOT
