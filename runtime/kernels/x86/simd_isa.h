/* simd_isa.h: the SIMD matrix kernels, written once over a 16-lane vector
 * layer and included by simd.h once per instruction set, with
 *   DF_V(op)   the vector layer's operation (df512_add, df256_add, ...)
 *   DF_VT      its vector type
 *   DF_SF(f)   the name of this ISA's copy of f (f_avx512, f_avx2)
 *   DF_TGT     the target attribute string
 *   DF_MVR     rows per micro-kernel for one token (matrix-vector)
 *   DF_OR, DF_OT  rows x tokens per micro-kernel for a few tokens
 *   DF_PR, DF_PT  rows x tokens per micro-kernel on a converted panel
 * No include guard, on purpose. The summation order every kernel here
 * follows is defined in simd.h ("The canonical dot product"). */

#define DF_FN static __attribute__((target(DF_TGT), noinline))
#define DF_AI static inline __attribute__((target(DF_TGT) DF_ALWAYS_INLINE))
/* (unused: a file without attention does not call them) */
#define DF_FNI static __attribute__((target(DF_TGT), noinline, unused))

/* ---- prepared activations -------------------------------------------------------------- */

/* One activation row x[0..K) in the canonical layout of kernel kind dt (a
 * dtype, or DF_BF16A), zero padded to kp, its 16-float vectors vs floats
 * apart (16: contiguous; a tile of T tokens: 16 T): bf16 and f32 take each
 * 32-column span's even columns, then its odd ones; DF_BF16A its odd
 * columns, then its even ones, rounded to bf16; FP8 multiplies each column
 * by its block's scale times 2^8 (cs: one per 128 columns) in its own
 * column order. */
DF_AI void DF_SF(prep_row)(int dt, const float *x, int K, int kp, const float *cs, float *xp, size_t vs)
{
#define DF_XP(c) xp[(size_t)(c) / 16 * vs + (c) % 16]
    if (dt == DF_BF16A) {
        int c0 = 0;
        for (; c0 + 32 <= K; c0 += 32)
            DF_V(prep_bf16a)(x + c0, &DF_XP(c0), vs);
        for (; c0 < kp; c0 += 32)
            for (int j = 0; j < 16; j++) {
                const int ce = c0 + 2 * j, co = ce + 1;
                DF_XP(c0 + j) = co < K ? f32_round_bf16(x[co]) : 0.0f;
                DF_XP(c0 + 16 + j) = ce < K ? f32_round_bf16(x[ce]) : 0.0f;
            }
    } else if (dt == DF_BF16 || dt == DF_F32) {
        int c0 = 0;
        for (; c0 + 32 <= K; c0 += 32)
            DF_V(prep_bf16)(x + c0, &DF_XP(c0), vs);
        for (; c0 < kp; c0 += 32)
            for (int j = 0; j < 16; j++) {
                const int ce = c0 + 2 * j, co = ce + 1;
                DF_XP(c0 + j) = ce < K ? x[ce] : 0.0f;
                DF_XP(c0 + 16 + j) = co < K ? x[co] : 0.0f;
            }
    } else if (dt == DF_F8E4M3) {
        /* scaled, then in the vector layer's column order (simd.h) */
        int c0 = 0;
        for (; c0 + 64 <= K; c0 += 64)
            DF_V(prep_fp8)(x + c0, cs[c0 / DF_FP8_BLOCK], &DF_XP(c0), vs);
        for (; c0 < kp; c0 += 64)
            for (int g = 0; g < 4; g++)
                for (int j = 0; j < 16; j++) {
                    const int c = c0 + 32 * (g >> 1) + 8 * (g & 1) + 16 * (j >> 3) + (j & 7);
                    DF_XP(c0 + 16 * g + j) = c < K ? x[c] * cs[c / DF_FP8_BLOCK] : 0.0f;
                }
    }
#undef DF_XP
}

/* ---- weight chunks: CB bytes of a row -> 16-lane vectors in canonical order ----------- */

/* A chunk: 32 f32 (128 bytes), 32 bf16 or 64 FP8 codes (64 bytes): 2, 2 or 4 vectors. */
#define DF_CB(dt) ((dt) == DF_F32 ? 128 : 64)
#define DF_NV(dt) ((dt) == DF_F8E4M3 ? 4 : 2)

DF_AI void DF_SF(chunk)(int dt, const unsigned char *p, DF_VT *v)
{
    if (dt == DF_F32)
        DF_V(f32pair)((const float *)(const void *)p, &v[0], &v[1]);
    else if (dt == DF_BF16)
        DF_V(bf16)((const uint16_t *)(const void *)p, &v[0], &v[1]);
    else if (dt == DF_BF16A) /* odd columns first, as vdpbf16ps sums them */
        DF_V(bf16)((const uint16_t *)(const void *)p, &v[1], &v[0]);
    else
        DF_V(fp8)((const uint8_t *)p, v);
}

/* The last, partial chunk of a row: its bytes, then zeros. */
DF_AI void DF_SF(chunk_tail)(int dt, const unsigned char *p, int bytes, DF_VT *v)
{
    unsigned char buf[128] __attribute__((aligned(64)));
    memcpy(buf, p, (size_t)bytes);
    memset(buf + bytes, 0, (size_t)(DF_CB(dt) - bytes));
    DF_SF(chunk)(dt, buf, v);
}

/* ---- micro-kernels --------------------------------------------------------------------- */

/* The canonical sums of acc[r * T + t] (row r, token t), stored by token,
 * y[t * ldy + r], or by row, y[r * ldy + t]: eight sums at a time in the
 * order stored, then each token's R (or each row's T) sums, contiguous in
 * y, copied at once (element by element, the compiler would make scatters
 * of them). */
DF_AI void DF_SF(store_sums)(const DF_VT *acc, const int R, const int T, float *y, size_t ldy, const bool by_row)
{
    const int n = R * T, runs = by_row ? R : T, len = by_row ? T : R;
#define DF_ACC(k) acc[by_row ? (k) : (k) % R * T + (k) / R]
    float s[DF_MVR * 4]; /* as many as any kernel's accumulators */
    int k = 0;
DF_UNROLL(4)
    for (; k + 8 <= n; k += 8)
        DF_V(sum8)(DF_ACC(k), DF_ACC(k + 1), DF_ACC(k + 2), DF_ACC(k + 3), DF_ACC(k + 4), DF_ACC(k + 5), DF_ACC(k + 6),
                   DF_ACC(k + 7), s + k);
DF_UNROLL(8)
    for (; k < n; k++)
        s[k] = DF_V(sum)(DF_ACC(k));
#undef DF_ACC
DF_UNROLL(8)
    for (int j = 0; j < runs; j++)
        memcpy(y + (size_t)j * ldy, s + j * len, sizeof(float) * (size_t)len);
}

/* y[t * ldy + r] = dot(row r, token t) for R rows (row r at w + r * rb bytes)
 * and T prepared tokens (token t at xp + t * ld), converting the weights in
 * registers. Every (r, t) has its own accumulator, fed chunk by chunk. */
DF_AI void DF_SF(mk_otf)(int dt, const unsigned char *w, size_t rb, int ld, const float *xp,
                         float *y, size_t ldy, size_t pfd, const int R, const int T)
{
    const int NV = DF_NV(dt), CB = DF_CB(dt), full = (int)(rb / (size_t)CB), tail = (int)(rb % (size_t)CB);
    DF_VT acc[DF_MVR * 4];
DF_UNROLL(32)
    for (int k = 0; k < R * T; k++)
        acc[k] = DF_V(zero)();
    for (int ch = 0; ch <= full; ch++) {
        if (ch == full && !tail)
            break;
        const float *xc = xp + (size_t)ch * 16 * NV;
DF_UNROLL(8)
        for (int r = 0; r < R; r++) {
            DF_VT wv[4];
            if (pfd) /* decode: the rows pfd bytes on, line by line in address order (a block
                      * of short rows is one region that R interleaved streams would cover
                      * in an order neither the hardware prefetcher nor DRAM likes) */
                for (int l = 0; l < CB; l += 64)
                    _mm_prefetch((const char *)w + pfd + ((size_t)ch * R + r) * CB + l, _MM_HINT_T1);
            if (ch < full)
                DF_SF(chunk)(dt, w + r * rb + (size_t)ch * CB, wv);
            else
                DF_SF(chunk_tail)(dt, w + r * rb + (size_t)ch * CB, tail, wv);
DF_UNROLL(4)
            for (int v = 0; v < NV; v++)
DF_UNROLL(8)
                for (int t = 0; t < T; t++)
                    acc[r * T + t] = DF_V(fma)(wv[v], DF_V(load)(xc + (size_t)t * ld + 16 * v), acc[r * T + t]);
        }
    }
    DF_SF(store_sums)(acc, R, T, y, ldy, false);
}

/* Lines to prefetch per step to issue pf_lines over the first steps of a
 * call: one, or more when the call is shorter than its share (a group of
 * tokens that is a single tile). */
DF_AI int DF_SF(pf_per_step)(int pf_lines, int steps) { return (pf_lines + steps - 1) / steps; }

/* One step (16 columns) of the panel kernel: R weight vectors (row r at
 * w + r * wr), each times T token vectors (token t at x + t * xt). */
DF_AI void DF_SF(panel_step)(DF_VT *acc, const float *w, size_t wr, const float *x, size_t xt, const int R,
                             const int T)
{
    DF_VT wv[DF_PR];
DF_UNROLL(8)
    for (int r = 0; r < R; r++)
        wv[r] = DF_V(load)(w + r * wr);
DF_UNROLL(8)
    for (int t = 0; t < T; t++) {
        const DF_VT xv = DF_V(load)(x + t * xt);
DF_UNROLL(8)
        for (int r = 0; r < R; r++)
            acc[r * T + t] = DF_V(fma)(wv[r], xv, acc[r * T + t]);
    }
}

/* The same products as mk_otf from converted weights, for R rows and T
 * tokens over `steps` vectors of 16 columns: step s of row r at
 * w + s * wk + r * wr, of token t at x + s * xk + t * xt (the GEMM packs
 * both interleaved, wk = 16 R and xk = 16 T, one stream each; attention
 * reads rows in place), stored by token or by row (store_sums). The same
 * FMAs in the same order. Meanwhile the next rows' weights come into L2, a
 * line per step for the first pf_lines steps (a burst would stall). */
DF_AI void DF_SF(mk_panel)(const float *w, size_t wr, size_t wk, const float *x, size_t xt, size_t xk, int steps,
                           float *y, size_t ldy, const char *pf, int pf_lines, const int R, const int T,
                           const bool by_row)
{
    DF_VT acc[DF_PR * DF_PT];
DF_UNROLL(32)
    for (int k = 0; k < R * T; k++)
        acc[k] = DF_V(zero)();
    const int lps = DF_SF(pf_per_step)(pf_lines, steps), npf = lps ? (pf_lines + lps - 1) / lps : 0;
    int s = 0;
    for (; s < npf; s++, w += wk, x += xk) {
        for (int l = 0; l < lps; l++)
            _mm_prefetch(pf + 64 * (size_t)(s * lps + l), _MM_HINT_T1);
        DF_SF(panel_step)(acc, w, wr, x, xt, R, T);
    }
    for (; s < steps; s++, w += wk, x += xk)
        DF_SF(panel_step)(acc, w, wr, x, xt, R, T);
    DF_SF(store_sums)(acc, R, T, y, ldy, by_row);
}

/* Chunk ch of R rows converted to f32 into the panel: vector s of row r
 * (columns 16s.. in the chunk order) at panel[(s * R + r) * 16], the layout
 * mk_panel reads. */
DF_AI void DF_SF(panel_chunk)(int dt, const unsigned char *w, size_t rb, int ch, float *panel, const int R)
{
    const int NV = DF_NV(dt), CB = DF_CB(dt), full = (int)(rb / (size_t)CB), tail = (int)(rb % (size_t)CB);
DF_UNROLL(8)
    for (int r = 0; r < R; r++) {
        DF_VT wv[4];
        if (ch < full)
            DF_SF(chunk)(dt, w + r * rb + (size_t)ch * CB, wv);
        else
            DF_SF(chunk_tail)(dt, w + r * rb + (size_t)ch * CB, tail, wv);
DF_UNROLL(4)
        for (int v = 0; v < NV; v++)
            DF_V(store)(panel + ((size_t)(ch * NV + v) * R + r) * 16, wv[v]);
    }
}

/* The first tile of R rows, converting them into the panel the later tiles
 * read. bf16 and f32: chunk by chunk while the tile's products run from the
 * panel, so that the conversion's stores overlap the FMAs instead of taking
 * a pass of their own; FP8 (whose conversion needs more registers than the
 * 24 accumulators leave) converts all first. */
DF_AI void DF_SF(mk_panel_first)(int dt, const unsigned char *w, size_t rb, float *panel, const float *x,
                                 float *y, size_t ldy, const char *pf, int pf_lines, const int R, const int T)
{
    const int NV = DF_NV(dt), CB = DF_CB(dt), chunks = (int)((rb + (size_t)CB - 1) / (size_t)CB);
    if (dt == DF_F8E4M3) {
        for (int ch = 0; ch < chunks; ch++)
            DF_SF(panel_chunk)(dt, w, rb, ch, panel, R);
        DF_SF(mk_panel)(panel, 16, 16 * (size_t)R, x, 16, 16 * (size_t)T, chunks * NV, y, ldy, pf, pf_lines, R, T, false);
        return;
    }
    const int lps = DF_SF(pf_per_step)(pf_lines, chunks * NV);
    DF_VT acc[DF_PR * DF_PT];
DF_UNROLL(32)
    for (int k = 0; k < R * T; k++)
        acc[k] = DF_V(zero)();
    for (int ch = 0, s = 0; ch < chunks; ch++) {
        DF_SF(panel_chunk)(dt, w, rb, ch, panel, R);
DF_UNROLL(4)
        for (int v = 0; v < NV; v++, s++) {
            for (int l = 0; l < lps && s * lps + l < pf_lines; l++)
                _mm_prefetch(pf + 64 * (size_t)(s * lps + l), _MM_HINT_T1);
            DF_SF(panel_step)(acc, panel + (size_t)s * R * 16, 16, x + (size_t)s * T * 16, 16, R, T);
        }
    }
    DF_SF(store_sums)(acc, R, T, y, ldy, false);
}

/* ---- instantiations: one function per (dtype, R, T) actually used -------------------- */

#define DF_OTF_NAME_(sfx, R, T) otf_##sfx##_##R##x##T
#define DF_OTF_NAME(sfx, R, T) DF_OTF_NAME_(sfx, R, T)
#define DF_OTF(dt, sfx, R, T)                                                                         \
    DF_FN void DF_SF(DF_OTF_NAME(sfx, R, T))(const unsigned char *w, size_t rb, int ld, const float *xp, \
                                             float *y, size_t ldy, size_t pfd)                       \
    {                                                                                                 \
        DF_SF(mk_otf)(dt, w, rb, ld, xp, y, ldy, pfd, R, T);                                          \
    }
#define DF_OTF_ALL(dt, sfx)                                                                           \
    DF_OTF(dt, sfx, DF_MVR, 1)                                                                        \
    DF_OTF(dt, sfx, 1, 1)                                                                             \
    DF_OTF(dt, sfx, DF_OR, 1)                                                                         \
    DF_OTF(dt, sfx, DF_OR, 2)                                                                         \
    DF_OTF(dt, sfx, DF_OR, 3)                                                                         \
    DF_OTF(dt, sfx, DF_OR, 4)                                                                         \
    DF_OTF(dt, sfx, 1, 2)                                                                             \
    DF_OTF(dt, sfx, 1, 3)                                                                             \
    DF_OTF(dt, sfx, 1, 4)
DF_OTF_ALL(DF_F32, f32)
DF_OTF_ALL(DF_BF16, bf16)
DF_OTF_ALL(DF_F8E4M3, fp8)
DF_OTF_ALL(DF_BF16A, bf16a)

typedef void (*DF_SF(otf_fn))(const unsigned char *, size_t, int, const float *, float *, size_t, size_t);

#define DF_OTF_ROW(sfx)                                                                               \
    { DF_SF(DF_OTF_NAME(sfx, 1, 1)), DF_SF(DF_OTF_NAME(sfx, 1, 2)), DF_SF(DF_OTF_NAME(sfx, 1, 3)),    \
      DF_SF(DF_OTF_NAME(sfx, 1, 4)) },                                                                \
    { DF_SF(DF_OTF_NAME(sfx, DF_OR, 1)), DF_SF(DF_OTF_NAME(sfx, DF_OR, 2)),                           \
      DF_SF(DF_OTF_NAME(sfx, DF_OR, 3)), DF_SF(DF_OTF_NAME(sfx, DF_OR, 4)) },                         \
    { DF_SF(DF_OTF_NAME(sfx, DF_MVR, 1)), NULL, NULL, NULL }
/* [kind][1 row, DF_OR rows, DF_MVR rows][T - 1] */
static const DF_SF(otf_fn) DF_SF(otf_table)[4][3][4] = { { DF_OTF_ROW(f32) }, { DF_OTF_ROW(bf16) },
                                                          { DF_OTF_ROW(fp8) }, { DF_OTF_ROW(bf16a) } };

#define DF_PAN_NAME_(R, T) pan_##R##x##T
#define DF_PAN_NAME(R, T) DF_PAN_NAME_(R, T)
#define DF_PAN(R, T)                                                                                  \
    DF_FN void DF_SF(DF_PAN_NAME(R, T))(const float *panel, int steps, const float *xt, float *y, size_t ldy, \
                                        const char *pf, int pf_lines)                                 \
    {                                                                                                 \
        DF_SF(mk_panel)(panel, 16, 16 * (R), xt, 16, 16 * (T), steps, y, ldy, pf, pf_lines, R, T, false); \
    }
DF_PAN(1, 1) DF_PAN(1, 2) DF_PAN(1, 3) DF_PAN(1, 4) DF_PAN(1, 5) DF_PAN(1, 6)
DF_PAN(DF_PR, 1) DF_PAN(DF_PR, 2) DF_PAN(DF_PR, 3) DF_PAN(DF_PR, 4) DF_PAN(DF_PR, 5) DF_PAN(DF_PR, 6)

typedef void (*DF_SF(pan_fn))(const float *, int, const float *, float *, size_t, const char *, int);
/* [1 row, DF_PR rows][T - 1] */
static const DF_SF(pan_fn) DF_SF(pan_table)[2][6] = {
    { DF_SF(DF_PAN_NAME(1, 1)), DF_SF(DF_PAN_NAME(1, 2)), DF_SF(DF_PAN_NAME(1, 3)), DF_SF(DF_PAN_NAME(1, 4)),
      DF_SF(DF_PAN_NAME(1, 5)), DF_SF(DF_PAN_NAME(1, 6)) },
    { DF_SF(DF_PAN_NAME(DF_PR, 1)), DF_SF(DF_PAN_NAME(DF_PR, 2)), DF_SF(DF_PAN_NAME(DF_PR, 3)),
      DF_SF(DF_PAN_NAME(DF_PR, 4)), DF_SF(DF_PAN_NAME(DF_PR, 5)), DF_SF(DF_PAN_NAME(DF_PR, 6)) },
};

/* The panel kernel on rows read in place, ld floats apart, the sums stored
 * by row (attention scores: heads' queries times cache rows, y[head][position]). */
#define DF_PANS_NAME_(R, T) pans_##R##x##T
#define DF_PANS_NAME(R, T) DF_PANS_NAME_(R, T)
#define DF_PANS(R, T)                                                                                 \
    DF_FNI void DF_SF(DF_PANS_NAME(R, T))(const float *w, const float *x, size_t ld, int steps, float *y, \
                                          size_t ldy)                                                 \
    {                                                                                                 \
        DF_SF(mk_panel)(w, ld, 16, x, ld, 16, steps, y, ldy, NULL, 0, R, T, true);                    \
    }
DF_PANS(1, 1) DF_PANS(1, 2) DF_PANS(1, 3) DF_PANS(1, 4) DF_PANS(1, 5) DF_PANS(1, 6)
DF_PANS(DF_PR, 1) DF_PANS(DF_PR, 2) DF_PANS(DF_PR, 3) DF_PANS(DF_PR, 4) DF_PANS(DF_PR, 5) DF_PANS(DF_PR, 6)

typedef void (*DF_SF(pans_fn))(const float *, const float *, size_t, int, float *, size_t);
/* [1 row, DF_PR rows][T - 1] (unused in a model without attention) */
__attribute__((unused)) static const DF_SF(pans_fn) DF_SF(pans_table)[2][6] = {
    { DF_SF(DF_PANS_NAME(1, 1)), DF_SF(DF_PANS_NAME(1, 2)), DF_SF(DF_PANS_NAME(1, 3)), DF_SF(DF_PANS_NAME(1, 4)),
      DF_SF(DF_PANS_NAME(1, 5)), DF_SF(DF_PANS_NAME(1, 6)) },
    { DF_SF(DF_PANS_NAME(DF_PR, 1)), DF_SF(DF_PANS_NAME(DF_PR, 2)), DF_SF(DF_PANS_NAME(DF_PR, 3)),
      DF_SF(DF_PANS_NAME(DF_PR, 4)), DF_SF(DF_PANS_NAME(DF_PR, 5)), DF_SF(DF_PANS_NAME(DF_PR, 6)) },
};

#define DF_PANF_NAME_(sfx, R, T) panf_##sfx##_##R##x##T
#define DF_PANF_NAME(sfx, R, T) DF_PANF_NAME_(sfx, R, T)
#define DF_PANF(dt, sfx, R, T)                                                                        \
    DF_FN void DF_SF(DF_PANF_NAME(sfx, R, T))(const unsigned char *w, size_t rb, float *panel, const float *xt, \
                                              float *y, size_t ldy, const char *pf, int pf_lines)     \
    {                                                                                                 \
        DF_SF(mk_panel_first)(dt, w, rb, panel, xt, y, ldy, pf, pf_lines, R, T);                      \
    }
#define DF_PANF_ALL(dt, sfx)                                                                          \
    DF_PANF(dt, sfx, 1, 1) DF_PANF(dt, sfx, 1, 2) DF_PANF(dt, sfx, 1, 3) DF_PANF(dt, sfx, 1, 4)       \
    DF_PANF(dt, sfx, 1, 5) DF_PANF(dt, sfx, 1, 6) DF_PANF(dt, sfx, DF_PR, 1) DF_PANF(dt, sfx, DF_PR, 2) \
    DF_PANF(dt, sfx, DF_PR, 3) DF_PANF(dt, sfx, DF_PR, 4) DF_PANF(dt, sfx, DF_PR, 5)                 \
    DF_PANF(dt, sfx, DF_PR, 6)
DF_PANF_ALL(DF_F32, f32)
DF_PANF_ALL(DF_BF16, bf16)
DF_PANF_ALL(DF_F8E4M3, fp8)
DF_PANF_ALL(DF_BF16A, bf16a)

typedef void (*DF_SF(panf_fn))(const unsigned char *, size_t, float *, const float *, float *, size_t, const char *,
                               int);
#define DF_PANF_ROW(sfx, R)                                                                           \
    { DF_SF(DF_PANF_NAME(sfx, R, 1)), DF_SF(DF_PANF_NAME(sfx, R, 2)), DF_SF(DF_PANF_NAME(sfx, R, 3)),  \
      DF_SF(DF_PANF_NAME(sfx, R, 4)), DF_SF(DF_PANF_NAME(sfx, R, 5)), DF_SF(DF_PANF_NAME(sfx, R, 6)) }
/* [kind][1 row, DF_PR rows][T - 1] */
static const DF_SF(panf_fn) DF_SF(panf_table)[4][2][6] = {
    { DF_PANF_ROW(f32, 1), DF_PANF_ROW(f32, DF_PR) },
    { DF_PANF_ROW(bf16, 1), DF_PANF_ROW(bf16, DF_PR) },
    { DF_PANF_ROW(fp8, 1), DF_PANF_ROW(fp8, DF_PR) },
    { DF_PANF_ROW(bf16a, 1), DF_PANF_ROW(bf16a, DF_PR) },
};

/* ---- a range of output rows for n tokens ---------------------------------------------- */

/* The panel path takes a group of nt tokens in tiles of at most DF_PT, of
 * sizes as equal as possible (14: 5, 5, 4, not 6, 6, 2); tile k holds
 * tokens [k * (nt / tiles) + min(k, nt % tiles), ...). */
DF_AI int DF_SF(tiles)(int nt) { return (nt + DF_PT - 1) / DF_PT; }
DF_AI int DF_SF(tile_size)(int nt, int k) { return nt / DF_SF(tiles)(nt) + (k < nt % DF_SF(tiles)(nt) ? 1 : 0); }

/* Tokens per group for n tokens of ld values each in a buffer of cap: as
 * many as fit, and a panel path's group whole tiles of DF_PT, the groups as
 * equal as possible. */
DF_AI int DF_SF(group_tokens)(int n, int ld, int cap, bool panel)
{
    int tg = cap / ld;
    if (panel) {
        tg -= tg % DF_PT;
        const int groups = (n + tg - 1) / tg, per = (n + groups - 1) / groups;
        tg = (per + DF_PT - 1) / DF_PT * DF_PT < tg ? (per + DF_PT - 1) / DF_PT * DF_PT : tg;
    }
    return tg;
}

/* Panels of DF_PR rows that share each visit of a tile of tokens: as many
 * as fit in L1 with the tile (about 32 KB of the 48), so that short rows
 * (K = 256 to 512) read each tile from L2 once per several panels. */
#define DF_MAX_PANELS 4
DF_AI int DF_SF(panels_per_block)(int kp)
{
    const int p = (8192 / kp - DF_PT) / DF_PR, room = DF_PANEL_FLOATS / (DF_PR * kp);
    return p < 1 ? 1 : p > DF_MAX_PANELS ? DF_MAX_PANELS : p > room ? room : p;
}

/* Rows [a, b) of m (one FP8 row block at most) times the nt tokens prepared
 * in tiles (xp: tile by tile, kp floats per token, interleaved by step):
 * y[t * ldy + r - a]. The rows in blocks of panels of DF_PR rows (the last
 * may be single rows), each converted once, by the first tile's kernel, and
 * multiplied by every tile; meanwhile the next block's weights come into L2,
 * spread over the calls. */
static inline __attribute__((target(DF_TGT))) void DF_SF(rows_panel)(const struct df_mat *m, int di, int a, int b,
                                                                      const float *xp, int kp, int nt, float *y,
                                                                      size_t ldy)
{
    const int dt = m->dtype, tiles = DF_SF(tiles)(nt);
    const int P = DF_SF(panels_per_block)(kp);
    const size_t rb = (size_t)m->cols * (dt == DF_F32 ? 4 : dt == DF_BF16 ? 2 : 1);
    const unsigned char *w = (const unsigned char *)m->w;
    for (int r = a; r < b;) {
        int pr[DF_MAX_PANELS], np = 0, r1 = r; /* the block: np panels of pr[] rows, rows [r, r1) */
        while (np < P && r1 < b) {
            pr[np] = b - r1 >= DF_PR ? DF_PR : 1;
            r1 += pr[np++];
        }
        const int nr = b - r1 < r1 - r ? b - r1 : r1 - r, calls = tiles * np;
        const int lines = (int)(((size_t)nr * rb + 63) / 64), per = (lines + calls - 1) / calls;
        const char *next = (const char *)(w + (size_t)r1 * rb);
        for (int k = 0, t = 0, c = 0; k < tiles; k++) {
            const int T = DF_SF(tile_size)(nt, k);
            for (int p = 0, rp = r; p < np; rp += pr[p++], c++) {
                const int R = pr[p], from = c * per < lines ? c * per : lines;
                const int n_pf = lines - from < per ? lines - from : per;
                float *pan = df_panel_buf + (size_t)p * DF_PR * kp;
                if (k == 0) /* converting the rows into the panel */
                    DF_SF(panf_table)[di][R == 1 ? 0 : 1][T - 1](w + (size_t)rp * rb, rb, pan, xp, y + (rp - a), ldy,
                                                                 next + 64 * (size_t)from, n_pf);
                else
                    DF_SF(pan_table)[R == 1 ? 0 : 1][T - 1](pan, kp / 16, xp + (size_t)t * kp,
                                                            y + (size_t)t * ldy + (rp - a), ldy, next + 64 * (size_t)from,
                                                            n_pf);
            }
            t += T;
        }
        r = r1;
    }
}

/* Rows [a, b) of m times the nt tokens prepared in xp (token t at xp + t * ld),
 * the weights converted in registers: y[t * ldy + r - a]. */
static inline __attribute__((target(DF_TGT))) void DF_SF(rows_otf)(const struct df_mat *m, int di, int a, int b,
                                                                    const float *xp, int ld, int nt, float *y,
                                                                    size_t ldy)
{
    const int dt = m->dtype;
    const size_t rb = (size_t)m->cols * (dt == DF_F32 ? 4 : dt == DF_BF16 ? 2 : 1);
    const unsigned char *w = (const unsigned char *)m->w;
    /* the register kernels prefetch DF_PF_AHEAD bytes of rows ahead (rows are
     * contiguous; past the matrix's end that is the next tensor, which the
     * schedule often reads next: an expert's up after its gate) */
    const int ahead = (int)((DF_PF_AHEAD + rb - 1) / rb);
#define DF_PFD(r, R) ((size_t)(ahead > (R) ? ahead : (R)) * rb)
    if (nt == 1) {
        int r = a;
        for (; r + DF_MVR <= b; r += DF_MVR)
            DF_SF(otf_table)[di][2][0](w + (size_t)r * rb, rb, ld, xp, y + (r - a), ldy, DF_PFD(r, DF_MVR));
        for (; r + DF_OR <= b; r += DF_OR)
            DF_SF(otf_table)[di][1][0](w + (size_t)r * rb, rb, ld, xp, y + (r - a), ldy, DF_PFD(r, DF_OR));
        for (; r < b; r++)
            DF_SF(otf_table)[di][0][0](w + (size_t)r * rb, rb, ld, xp, y + (r - a), ldy, DF_PFD(r, 1));
        return;
    }
    for (int r = a; r < b;) {
        const int R = b - r >= DF_OR ? DF_OR : 1;
        for (int t = 0; t < nt; t += DF_OT) {
            const int T = nt - t < DF_OT ? nt - t : DF_OT;
            DF_SF(otf_table)[di][R == 1 ? 0 : 1][T - 1](w + (size_t)r * rb, rb, ld, xp + (size_t)t * ld,
                                                        y + (size_t)t * ldy + (r - a), ldy, t ? 0 : DF_PFD(r, R));
        }
        r += R;
    }
#undef DF_PFD
}

/* The activations of tokens t0 .. t0 + nt - 1 (x rows xrow[t], or t) into
 * df_xbuf: in tiles for the panel kernel (step s of token i of a tile of T
 * at tile + (s * T + i) * 16), else a row per token, ld floats apart. */
static inline __attribute__((target(DF_TGT))) void DF_SF(prep_group)(int dt, const float *x, size_t ldx,
                                                                      const int *xrow, int t0, int nt, int K, int kp,
                                                                      const float *cs, bool panel, int ld)
{
    for (int k = 0, t = 0; t < nt; k++) {
        const int T = panel ? DF_SF(tile_size)(nt, k) : 1;
        for (int i = 0; i < T; i++) {
            const int u = t + i, row = xrow ? xrow[t0 + u] : t0 + u;
            if (u + 1 < nt) { /* the next token's row (often in L3), meanwhile */
                const char *next = (const char *)(x + (size_t)(xrow ? xrow[t0 + u + 1] : row + 1) * ldx);
                for (int l = 0; l < K * 4; l += 64)
                    _mm_prefetch(next + l, _MM_HINT_T0);
            }
            float *dst = panel ? df_xbuf + (size_t)t * kp + 16 * i : df_xbuf + (size_t)u * ld;
            DF_SF(prep_row)(dt, x + (size_t)row * ldx, K, kp, cs, dst, panel ? 16 * (size_t)T : 16);
        }
        t += T;
    }
}

/* y[i][t * ldy + r - r0] = dot(row r of m[i], x row xrow[t]) (xrow NULL:
 * row t) for rows [r0, r1), n tokens and nm matrices of the same shape and
 * type (bf16 and f32 prepare the activations once for all of them; FP8's
 * depend on each matrix's scales). Returns -1 (nothing done) when a row is
 * longer than DF_SIMD_MAX_K. */
static __attribute__((target(DF_TGT))) int DF_SF(gemm)(const struct df_mat *m, int nm, const float *x, size_t ldx,
                                                      const int *xrow, int n, float *const *y, size_t ldy, int r0,
                                                      int r1)
{
    const enum df_dtype dt = m->dtype;
    const int kind = DF_KIND(m), K = m->cols, per_chunk = dt == DF_F8E4M3 ? 64 : 32;
    const int kp = (K + per_chunk - 1) / per_chunk * per_chunk;
    if (K > DF_SIMD_MAX_K)
        return -1;
    const bool panel =
        n >= DF_PANEL_MIN_TOKENS && (size_t)DF_PR * kp <= DF_PANEL_FLOATS && (size_t)DF_PT * kp <= DF_XBUF_FLOATS;
    /* the register kernels: rows of the buffer 64 bytes apart from a multiple
     * of 4 KB, so that the rows a micro-kernel streams do not all fall in the
     * same L1 sets; the panel kernel: tiles of whole steps (one stream each) */
    const int ld = panel ? kp : kp % 256 ? kp : kp + 16, tg = DF_SF(group_tokens)(n, ld, DF_XBUF_FLOATS, panel);
    const int nb = (K + DF_FP8_BLOCK - 1) / DF_FP8_BLOCK;
    float cs[DF_SIMD_MAX_K / DF_FP8_BLOCK + 1];
    for (int t0 = 0; t0 < n; t0 += tg) {
        const int nt = n - t0 < tg ? n - t0 : tg;
        for (int mi = 0; mi < nm; mi++)
            for (int a = r0; a < r1;) {
                const int b = dt == DF_F8E4M3 && (a / DF_FP8_BLOCK + 1) * DF_FP8_BLOCK < r1
                                  ? (a / DF_FP8_BLOCK + 1) * DF_FP8_BLOCK : r1;
                const bool prep = dt == DF_F8E4M3 || (a == r0 && mi == 0);
                if (dt == DF_F8E4M3) {
                    const float *srow = m[mi].scale + (size_t)(a / DF_FP8_BLOCK) * DF_FP8_SCALE_LD(K);
                    for (int i = 0; i < nb; i++)
                        cs[i] = srow[i] * 256.0f;
                }
                if (prep)
                    DF_SF(prep_group)(kind, x, ldx, xrow, t0, nt, K, kp, cs, panel, ld);
                if (panel)
                    DF_SF(rows_panel)(&m[mi], kind, a, b, df_xbuf, kp, nt, y[mi] + (size_t)t0 * ldy + (a - r0), ldy);
                else
                    DF_SF(rows_otf)(&m[mi], kind, a, b, df_xbuf, ld, nt, y[mi] + (size_t)t0 * ldy + (a - r0), ldy);
                a = b;
            }
    }
    return 0;
}

/* ---- MLA attention (see simd_mla.h) ----------------------------------------------------- */

/* 64 columns c0.. of kv_b row r in column order, as f32 (FP8: code * 2^-8);
 * columns past the row's end read as zero. */
DF_AI void DF_SF(nat64)(const struct df_mat *m, int r, int c0, DF_VT v[4])
{
    const int es = m->dtype == DF_F32 ? 4 : m->dtype == DF_BF16 ? 2 : 1, left = m->cols - c0;
    const unsigned char *p = (const unsigned char *)m->w + ((size_t)r * m->cols + c0) * es;
    unsigned char buf[256] __attribute__((aligned(64)));
    if (left < 64) {
        memcpy(buf, p, (size_t)left * es);
        memset(buf + left * es, 0, (size_t)(64 - left) * es);
        p = buf;
    }
    if (m->dtype == DF_F32)
        DF_V(nat64_f32)(p, v);
    else if (m->dtype == DF_BF16)
        DF_V(nat64_bf16)(p, v);
    else
        DF_V(nat64_fp8)(p, v);
}

/* q_lat of T tokens (T = 6 or 1) for one 64-column block, from W_uk(h)
 * converted once (row d at panel + d * lp): each column sums d = 0 ..
 * nope-1 in order, fma(w, q_d, acc) (FP8: q_d times the block's scale * 2^8,
 * rounded, as in the dot products). The q_d are broadcast from memory (not
 * through a shuffle port): from q itself, or for FP8 from a copy scaled
 * once per 128-row block. */
DF_AI void DF_SF(qlat_block)(const struct df_mla_shape *s, const struct df_mat *kv_b, int h, const float *q,
                             int t0, int c0, float *q_lat, const float *panel, int lp, const int T)
{
    const int L = s->kv_lora, qk = s->nope + s->rope_dim, row0 = h * (s->nope + s->v_head);
    const int ld = DF_FP8_SCALE_LD(L);
    const bool fp8 = kv_b->dtype == DF_F8E4M3;
    DF_VT acc[6][4];
DF_UNROLL(6)
    for (int t = 0; t < T; t++)
DF_UNROLL(4)
        for (int v = 0; v < 4; v++)
            acc[t][v] = DF_V(zero)();
    float qs[6][DF_FP8_BLOCK] __attribute__((aligned(64)));
    for (int d0 = 0; d0 < s->nope;) {
        /* rows d0 .. d1-1: one FP8 row block */
        const int rb = (row0 + d0) / DF_FP8_BLOCK, d1 = (rb + 1) * DF_FP8_BLOCK - row0 < s->nope
                                                         ? (rb + 1) * DF_FP8_BLOCK - row0 : s->nope;
        const float *qd[6];
DF_UNROLL(6)
        for (int t = 0; t < T; t++) {
            qd[t] = q + ((size_t)(t0 + t) * s->heads + h) * qk;
            if (fp8) {
                const DF_VT f = DF_V(set1)(kv_b->scale[(size_t)rb * ld + c0 / DF_FP8_BLOCK] * 256.0f);
                int d = d0;
                for (; d + 16 <= d1; d += 16)
                    DF_V(store)(qs[t] + d - d0, DF_V(mul)(DF_V(load)(qd[t] + d), f));
                if (d < d1)
                    DF_V(store_first)(qs[t] + d - d0, DF_V(mul)(DF_V(load_first)(qd[t] + d, d1 - d), f), d1 - d);
                qd[t] = qs[t] - d0;
            }
        }
        for (int d = d0; d < d1; d++) {
            DF_VT w[4];
DF_UNROLL(4)
            for (int v = 0; v < 4; v++)
                w[v] = DF_V(load)(panel + (size_t)d * lp + c0 + 16 * v);
DF_UNROLL(6)
            for (int t = 0; t < T; t++) {
                const DF_VT qv = DF_V(set1)(qd[t][d]);
DF_UNROLL(4)
                for (int v = 0; v < 4; v++)
                    acc[t][v] = DF_V(fma)(w[v], qv, acc[t][v]);
            }
        }
        d0 = d1;
    }
DF_UNROLL(6)
    for (int t = 0; t < T; t++) {
        float *o = q_lat + ((size_t)(t0 + t) * s->heads + h) * (L + s->rope_dim) + c0;
DF_UNROLL(4)
        for (int v = 0; v < 4; v++) {
            const int left = L - c0 - 16 * v;
            if (left >= 16)
                DF_V(store)(o + 16 * v, acc[t][v]);
            else if (left > 0)
                DF_V(store_first)(o + 16 * v, acc[t][v], left);
        }
    }
}

/* The same sums for one token and 256 columns at once (16 accumulators). */
DF_AI void DF_SF(qlat_wide)(const struct df_mla_shape *s, const struct df_mat *kv_b, int h, const float *q, int t,
                            int c0, float *q_lat)
{
    const int L = s->kv_lora, qk = s->nope + s->rope_dim, row0 = h * (s->nope + s->v_head);
    const int ld = DF_FP8_SCALE_LD(L);
    DF_VT acc[16];
DF_UNROLL(16)
    for (int v = 0; v < 16; v++)
        acc[v] = DF_V(zero)();
    for (int d = 0; d < s->nope; d++) {
        const int r = row0 + d;
        const float qd = q[((size_t)t * s->heads + h) * qk + d];
DF_UNROLL(4)
        for (int k = 0; k < 4; k++) {
            const int c = c0 + 64 * k;
            if (c >= L)
                break;
            DF_VT w[4];
            DF_SF(nat64)(kv_b, r, c, w);
            const float f = kv_b->dtype == DF_F8E4M3 ? kv_b->scale[(size_t)(r / DF_FP8_BLOCK) * ld + c / DF_FP8_BLOCK] * 256.0f : 1.0f;
            const DF_VT qv = DF_V(set1)(kv_b->dtype == DF_F8E4M3 ? qd * f : qd);
DF_UNROLL(4)
            for (int v = 0; v < 4; v++)
                acc[4 * k + v] = DF_V(fma)(w[v], qv, acc[4 * k + v]);
        }
    }
    float *o = q_lat + ((size_t)t * s->heads + h) * (L + s->rope_dim);
DF_UNROLL(16)
    for (int v = 0; v < 16; v++) {
        const int left = L - c0 - 16 * v;
        if (left >= 16)
            DF_V(store)(o + c0 + 16 * v, acc[v]);
        else if (left > 0)
            DF_V(store_first)(o + c0 + 16 * v, acc[v], left);
    }
}

/* q_lat[t][h] = W_uk(h)^T q_nope[t][h] for every token of the step, each
 * followed by q_pe[t][h] (rows of kv_lora + rope_dim floats). */
DF_FNI void DF_SF(mla_qlat)(const struct df_mla_shape *s, const struct df_mat *kv_b, int h, const float *q, int n,
                           float *q_lat)
{
    for (int t = 0; t < n; t++)
        memcpy(q_lat + ((size_t)t * s->heads + h) * (s->kv_lora + s->rope_dim) + s->kv_lora,
               q + ((size_t)t * s->heads + h) * (s->nope + s->rope_dim) + s->nope, sizeof(float) * (size_t)s->rope_dim);
    /* many tokens: W_uk(h) converted once (column order, rows padded to 64) */
    const int lp = (s->kv_lora + 63) / 64 * 64, row0 = h * (s->nope + s->v_head);
    const float *panel = NULL;
    if (n >= DF_PANEL_MIN_TOKENS && (size_t)s->nope * lp <= DF_PANEL_FLOATS) {
        for (int d = 0; d < s->nope; d++)
            for (int c0 = 0; c0 < s->kv_lora; c0 += 64) {
                DF_VT w[4];
                DF_SF(nat64)(kv_b, row0 + d, c0, w);
                for (int v = 0; v < 4; v++)
                    DF_V(store)(df_panel_buf + (size_t)d * lp + c0 + 16 * v, w[v]);
            }
        panel = df_panel_buf;
    }
    if (!panel) { /* a few tokens: each W_uk row read once per token, in address order */
        for (int t = 0; t < n; t++)
            for (int c0 = 0; c0 < s->kv_lora; c0 += 256)
                DF_SF(qlat_wide)(s, kv_b, h, q, t, c0, q_lat);
        return;
    }
    /* tokens outer: a tile's q rows stay in L1 for all its column blocks */
    int t = 0;
    for (; t + 6 <= n; t += 6)
        for (int c0 = 0; c0 < s->kv_lora; c0 += 64)
            DF_SF(qlat_block)(s, kv_b, h, q, t, c0, q_lat, panel, lp, 6);
    for (; t < n; t++)
        for (int c0 = 0; c0 < s->kv_lora; c0 += 64)
            DF_SF(qlat_block)(s, kv_b, h, q, t, c0, q_lat, panel, lp, 1);
}

/* dot(a, b[i]) and dot(a2, b[i]) over n floats for 8 rows b[i] at once (each
 * row loaded once for both): 16-lane accumulators, then the canonical tree. */
DF_AI void DF_SF(dot8x2)(const float *a, const float *a2, const float *const b[8], int n, float out[8], float out2[8])
{
    DF_VT acc[8], acc2[8];
DF_UNROLL(8)
    for (int i = 0; i < 8; i++)
        acc[i] = acc2[i] = DF_V(zero)();
    int c = 0;
    for (; c + 16 <= n; c += 16) {
        const DF_VT av = DF_V(load)(a + c), av2 = DF_V(load)(a2 + c);
DF_UNROLL(8)
        for (int i = 0; i < 8; i++) {
            const DF_VT bv = DF_V(load)(b[i] + c);
            acc[i] = DF_V(fma)(av, bv, acc[i]);
            acc2[i] = DF_V(fma)(av2, bv, acc2[i]);
        }
    }
    if (c < n) {
        const DF_VT av = DF_V(load_first)(a + c, n - c), av2 = DF_V(load_first)(a2 + c, n - c);
DF_UNROLL(8)
        for (int i = 0; i < 8; i++) {
            const DF_VT bv = DF_V(load_first)(b[i] + c, n - c);
            acc[i] = DF_V(fma)(av, bv, acc[i]);
            acc2[i] = DF_V(fma)(av2, bv, acc2[i]);
        }
    }
    DF_V(sum8)(acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7], out);
    DF_V(sum8)(acc2[0], acc2[1], acc2[2], acc2[3], acc2[4], acc2[5], acc2[6], acc2[7], out2);
}

/* The running output o * corr as the block starts: zero in the first block
 * (o is not yet written; there corr = e^-inf = 0), o itself when corr is 1
 * (exactly the product), else the product. */
DF_AI DF_VT DF_SF(o_scaled)(const float *o, DF_VT cv, float corr, bool first)
{
    return first ? DF_V(zero)() : corr == 1.0f ? DF_V(load)(o) : DF_V(mul)(DF_V(load)(o), cv);
}

/* o[c] = o[c] * corr + sum_i e[i] c_i[c] for two heads' o at once (each
 * cache row c_i = c + i * row loaded once for both), positions in order. */
DF_AI void DF_SF(o_update2)(float *o, float *o2, float corr, float corr2, const float *e, const float *e2,
                            const float *c, size_t row, int np, int L, bool first)
{
    const DF_VT cv = DF_V(set1)(corr), cv2 = DF_V(set1)(corr2);
    int col = 0;
    for (; col + 128 <= L; col += 128) {
        DF_VT ov[8], ov2[8];
DF_UNROLL(8)
        for (int v = 0; v < 8; v++) {
            ov[v] = DF_SF(o_scaled)(o + col + 16 * v, cv, corr, first);
            ov2[v] = DF_SF(o_scaled)(o2 + col + 16 * v, cv2, corr2, first);
        }
        for (int i = 0; i < np; i++) {
            const DF_VT ei = DF_V(set1)(e[i]), ei2 = DF_V(set1)(e2[i]);
DF_UNROLL(8)
            for (int v = 0; v < 8; v++) {
                const DF_VT x = DF_V(load)(c + i * row + col + 16 * v);
                ov[v] = DF_V(fma)(ei, x, ov[v]);
                ov2[v] = DF_V(fma)(ei2, x, ov2[v]);
            }
        }
DF_UNROLL(8)
        for (int v = 0; v < 8; v++) {
            DF_V(store)(o + col + 16 * v, ov[v]);
            DF_V(store)(o2 + col + 16 * v, ov2[v]);
        }
    }
    for (; col < L; col += 16) {
        const int left = L - col < 16 ? L - col : 16;
        DF_VT ov = DF_V(zero)(), ov2 = ov;
        if (!first) {
            ov = DF_V(mul)(left == 16 ? DF_V(load)(o + col) : DF_V(load_first)(o + col, left), cv);
            ov2 = DF_V(mul)(left == 16 ? DF_V(load)(o2 + col) : DF_V(load_first)(o2 + col, left), cv2);
        }
        for (int i = 0; i < np; i++) {
            const float *ci = c + i * row + col;
            const DF_VT x = left == 16 ? DF_V(load)(ci) : DF_V(load_first)(ci, left);
            ov = DF_V(fma)(DF_V(set1)(e[i]), x, ov);
            ov2 = DF_V(fma)(DF_V(set1)(e2[i]), x, ov2);
        }
        if (left == 16) {
            DF_V(store)(o + col, ov);
            DF_V(store)(o2 + col, ov2);
        } else {
            DF_V(store_first)(o + col, ov, left);
            DF_V(store_first)(o2 + col, ov2, left);
        }
    }
}

/* o_g = o_g * corr_g + sum_i e_g[i] c_i for four heads at once (o_g at
 * o + g L, e_g at e + 16 g), NV column vectors at a time (4 x NV
 * accumulators: each cache row vector loaded once for the four), positions
 * in order. */
DF_AI void DF_SF(o_update4_cols)(float *o, int L, const DF_VT cv[4], const float corr[4], const float *e,
                                 const float *c, size_t row, int np, int col, bool first, const int NV)
{
    DF_VT acc[4][6];
DF_UNROLL(4)
    for (int g = 0; g < 4; g++)
DF_UNROLL(6)
        for (int v = 0; v < NV; v++)
            acc[g][v] = DF_SF(o_scaled)(o + (size_t)g * L + col + 16 * v, cv[g], corr[g], first);
    c += col;
    for (int i = 0; i < np; i++, c += row) {
        DF_VT ei[4];
DF_UNROLL(4)
        for (int g = 0; g < 4; g++)
            ei[g] = DF_V(set1)(e[16 * g + i]);
DF_UNROLL(6)
        for (int v = 0; v < NV; v++) {
            const DF_VT x = DF_V(load)(c + 16 * v);
DF_UNROLL(4)
            for (int g = 0; g < 4; g++)
                acc[g][v] = DF_V(fma)(ei[g], x, acc[g][v]);
        }
    }
DF_UNROLL(4)
    for (int g = 0; g < 4; g++)
DF_UNROLL(6)
        for (int v = 0; v < NV; v++)
            DF_V(store)(o + (size_t)g * L + col + 16 * v, acc[g][v]);
}

DF_AI void DF_SF(o_update4)(float *o, int L, const float corr[4], const float *e, const float *c, size_t row, int np,
                            bool first)
{
    DF_VT cv[4];
    for (int g = 0; g < 4; g++)
        cv[g] = DF_V(set1)(corr[g]);
    int col = 0;
    for (; col + 96 <= L; col += 96)
        DF_SF(o_update4_cols)(o, L, cv, corr, e, c, row, np, col, first, 6);
    for (; col + 64 <= L; col += 64)
        DF_SF(o_update4_cols)(o, L, cv, corr, e, c, row, np, col, first, 4);
    for (; col + 16 <= L; col += 16)
        DF_SF(o_update4_cols)(o, L, cv, corr, e, c, row, np, col, first, 1);
    if (col < L) { /* the partial last vector, two heads at a time */
        DF_SF(o_update2)(o + col, o + L + col, corr[0], corr[1], e, e + 16, c + col, row, np, L - col, first);
        DF_SF(o_update2)(o + 2 * L + col, o + 3 * L + col, corr[2], corr[3], e + 32, e + 48, c + col, row, np, L - col,
                         first);
    }
}

/* One block of np (<= 16) positions (cache rows c[i], consecutive from c[0],
 * their k_pe kpe[i]) for token t's heads [h0, h1), at most DF_MLA_GROUP: the
 * scores, one online-softmax step per head (m, l: the heads' running max and
 * sum), and the latent outputs o_lat += weights x rows (first: the first
 * block, o_lat not yet written). Per head, score = (q_lat . c_kv + q_pe .
 * k_pe) * scale (each dot: 16-lane accumulators and the canonical tree);
 * m = running max; block weights e = exp(score - m); the running sum and
 * latent output are rescaled by exp(m_old - m), then o += sum_p e_p c_kv[p]
 * in position order. */
DF_AI void DF_SF(mla_block)(const struct df_mla_shape *s, const float *q, int t, int h0, int h1, const float *const *c,
                            const float *const *kpe, int np, bool first, const float *q_lat,
                            float *o_lat, float *m, float *l)
{
    const int L = s->kv_lora, R = s->rope_dim, row = L + R, H = s->heads, qk = s->nope + R, G = h1 - h0;
    /* [q_lat | q_pe] . [c_kv | k_pe] as one dot product over a cache row when
     * the row is whole vectors (every DeepSeek shape): the panel kernel with
     * heads as rows and positions as tokens; else q_lat . c_kv + q_pe . k_pe */
    const bool fused = row % 16 == 0;
    float corr[DF_MLA_GROUP], ev[DF_MLA_GROUP][16] __attribute__((aligned(64)));
    /* scores: a[g][i] (+ b[g][i]) for the first np positions */
    float a[DF_MLA_GROUP][16] __attribute__((aligned(64))), b[DF_MLA_GROUP][16] __attribute__((aligned(64)));
    if (fused) {
        for (int g = 0; g < G;) {
            const int Rr = G - g >= DF_PR ? DF_PR : 1;
            for (int p = 0; p < np; p += DF_PT) {
                const int T = np - p < DF_PT ? np - p : DF_PT;
                DF_SF(pans_table)[Rr == 1 ? 0 : 1][T - 1](q_lat + ((size_t)t * H + h0 + g) * row, c[p], row, row / 16,
                                                          &a[g][p], 16);
            }
            g += Rr;
        }
    } else { /* scores, two heads at a time (an odd last head pairs with itself) */
        for (int g = 0; g < G; g += 2) {
            const int g2 = g + 1 < G ? g + 1 : g;
            const float *ql = q_lat + ((size_t)t * H + h0 + g) * row, *ql2 = q_lat + ((size_t)t * H + h0 + g2) * row;
            const float *qpe = q + ((size_t)t * H + h0 + g) * qk + s->nope, *qpe2 = q + ((size_t)t * H + h0 + g2) * qk + s->nope;
            for (int half = 0; half < (np > 8 ? 2 : 1); half++) {
                DF_SF(dot8x2)(ql, ql2, c + 8 * half, L, a[g] + 8 * half, a[g2] + 8 * half);
                DF_SF(dot8x2)(qpe, qpe2, kpe + 8 * half, R, b[g] + 8 * half, b[g2] + 8 * half);
            }
        }
    }
    /* online softmax, per head, on one vector of the block's scores
     * (lanes past np read as 0 and are left out) */
    for (int g = 0; g < G; g++) {
        const DF_VT sc = DF_V(mul)(DF_V(add)(DF_V(load_first)(a[g], np), fused ? DF_V(zero)() : DF_V(load_first)(b[g], np)),
                                   DF_V(set1)(s->softmax_scale));
        const float bm = DF_V(max_first)(sc, np), mb = bm > m[g] ? bm : m[g];
        corr[g] = mb == m[g] ? 1.0f : expf(m[g] - mb); /* (e^0 = 1 exactly: no call) */
        m[g] = mb;
        const DF_VT e = DF_V(first)(DF_V(exp)(DF_V(sub)(sc, DF_V(set1)(mb))), np);
        DF_V(store)(ev[g], e);
        l[g] = l[g] * corr[g] + DF_V(sum)(e);
    }
    /* latent outputs: four heads at a time, then two, then one */
    int g = 0;
    for (; g + 4 <= G; g += 4)
        DF_SF(o_update4)(o_lat + ((size_t)t * H + h0 + g) * L, L, corr + g, ev[g], c[0], row, np, first);
    for (; g < G; g += 2) {
        float *o = o_lat + ((size_t)t * H + h0 + g) * L;
        if (g + 1 < G)
            DF_SF(o_update2)(o, o + L, corr[g], corr[g + 1], ev[g], ev[g + 1], c[0], row, np, L, first);
        else /* an odd last head as both: the same values computed twice, stored twice */
            DF_SF(o_update2)(o, o, corr[g], corr[g], ev[g], ev[g], c[0], row, np, L, first);
    }
}

/* Token t, heads [h0, h1) (h0 a multiple of DF_MLA_GROUP, at most
 * DF_MLA_PASS heads): attention over positions 0..pos of its slot in blocks
 * of 16 positions, each block's cache rows brought in once for all these
 * heads, so that the call streams the latent cache once, then read from L1
 * or L2 by each group of DF_MLA_GROUP heads in turn (mla_block); at the end
 * o_lat = o / sum. Everything is a function of the token and head alone:
 * how heads are grouped into calls changes no bit. */
DF_FNI void DF_SF(mla_core)(const struct df_mla_shape *s, const float *q, const void *cache, const struct df_step *step,
                           int t, int h0, int h1, const float *q_lat, float *o_lat)
{
    const int L = s->kv_lora, row = L + s->rope_dim, H = s->heads, G = h1 - h0;
    const size_t base = mla_cache_index(s, step->slot[t], 0);
    const int len = step->pos[t] + 1;
    float m[DF_MLA_PASS], l[DF_MLA_PASS];
    for (int g = 0; g < G; g++) {
        m[g] = -INFINITY;
        l[g] = 0.0f;
    }
    for (int p0 = 0; p0 < len; p0 += 16) {
        const int np = len - p0 < 16 ? len - p0 : 16;
        /* the block's rows: in the cache, or (bf16) widened into df_xbuf */
        const float *rows = df_xbuf;
        if (s->cache_bf16) { /* 64 values a step in vectors (exact either way), then the tail */
            const uint16_t *src = (const uint16_t *)cache + base + (size_t)p0 * row;
            const size_t m = (size_t)np * row;
            size_t i = 0;
            for (; i + 64 <= m; i += 64) {
                DF_VT v[4];
                DF_V(nat64_bf16)(src + i, v);
                for (int k = 0; k < 4; k++)
                    DF_V(store)(df_xbuf + i + 16 * k, v[k]);
            }
            for (; i < m; i++)
                df_xbuf[i] = bf16_to_f32(src[i]);
        } else {
            rows = (const float *)cache + base + (size_t)p0 * row;
        }
        const float *c[16], *kpe[16];
        for (int i = 0; i < 16; i++) { /* rows past the last valid one repeat it; their weight is 0 */
            c[i] = rows + (size_t)(i < np ? i : np - 1) * row;
            kpe[i] = c[i] + L;
        }
        for (int hg = h0; hg < h1; hg += DF_MLA_GROUP)
            DF_SF(mla_block)(s, q, t, hg, hg + DF_MLA_GROUP < h1 ? hg + DF_MLA_GROUP : h1, c, kpe, np, p0 == 0, q_lat,
                             o_lat, m + (hg - h0), l + (hg - h0));
    }
    for (int g = 0; g < G; g++) {
        float *o = o_lat + ((size_t)t * H + h0 + g) * L;
        const DF_VT lv = DF_V(set1)(l[g]);
        int col = 0;
        for (; col + 16 <= L; col += 16)
            DF_V(store)(o + col, DF_V(div)(DF_V(load)(o + col), lv));
        for (; col < L; col++)
            o[col] = o[col] / l[g];
    }
}

/* ---- elementwise ------------------------------------------------------------------------- */

/* g[i] = silu(g[i]) * u[i] */
DF_FNI void DF_SF(silu_mul)(float *g, const float *u, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        DF_V(store)(g + i, DF_V(mul)(DF_V(silu)(DF_V(load)(g + i)), DF_V(load)(u + i)));
    if (i < n) {
        const int k = (int)(n - i);
        DF_V(store_first)(g + i, DF_V(mul)(DF_V(silu)(DF_V(load_first)(g + i, k)), DF_V(load_first)(u + i, k)), k);
    }
}

/* x[i] += y[i] */
DF_FNI void DF_SF(add)(float *x, const float *y, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        DF_V(store)(x + i, DF_V(add)(DF_V(load)(x + i), DF_V(load)(y + i)));
    if (i < n) {
        const int k = (int)(n - i);
        DF_V(store_first)(x + i, DF_V(add)(DF_V(load_first)(x + i, k), DF_V(load_first)(y + i, k)), k);
    }
}

/* o[i] = x[i] * s * w[i] (o may be x) */
DF_FNI void DF_SF(scale_mul)(float *o, const float *x, float s, const float *w, size_t n)
{
    const DF_VT sv = DF_V(set1)(s);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        DF_V(store)(o + i, DF_V(mul)(DF_V(mul)(DF_V(load)(x + i), sv), DF_V(load)(w + i)));
    if (i < n) {
        const int k = (int)(n - i);
        DF_V(store_first)(o + i, DF_V(mul)(DF_V(mul)(DF_V(load_first)(x + i, k), sv), DF_V(load_first)(w + i, k)), k);
    }
}

/* out = sum over k in order of w[k] * y[k], dim floats each */
DF_FNI void DF_SF(combine)(float *out, const float *const *y, const float *w, int topk, int dim)
{
    int c = 0;
    for (; c + 16 <= dim; c += 16) {
        DF_VT acc = DF_V(zero)();
        for (int k = 0; k < topk; k++)
            acc = DF_V(fma)(DF_V(set1)(w[k]), DF_V(load)(y[k] + c), acc);
        DF_V(store)(out + c, acc);
    }
    if (c < dim) {
        DF_VT acc = DF_V(zero)();
        for (int k = 0; k < topk; k++)
            acc = DF_V(fma)(DF_V(set1)(w[k]), DF_V(load_first)(y[k] + c, dim - c), acc);
        DF_V(store_first)(out + c, acc, dim - c);
    }
}

#undef DF_FN
#undef DF_FNI
#undef DF_AI
#undef DF_OTF
#undef DF_OTF_ALL
#undef DF_OTF_ROW
#undef DF_OTF_NAME
#undef DF_OTF_NAME_
#undef DF_PAN
#undef DF_PAN_NAME
#undef DF_PAN_NAME_
#undef DF_PANS
#undef DF_PANS_NAME
#undef DF_PANS_NAME_
#undef DF_PANF
#undef DF_PANF_ALL
#undef DF_PANF_ROW
#undef DF_PANF_NAME
#undef DF_PANF_NAME_
#undef DF_MAX_PANELS
