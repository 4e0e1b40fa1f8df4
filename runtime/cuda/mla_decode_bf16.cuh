/* mla_decode_bf16.cuh: the split-KV MLA decode kernel (mla_decode.cuh) over a bf16 latent cache
 * (deploy.kv_cache = "bf16"; docs/cuda-mla.md, "The bf16 cache").
 *
 * In:  q      [token][head][L + R]  absorbed queries [q_lat | q_pe], f32
 *      cache  per slot CTX rows of [c_kv (L) | k_pe (R)] bf16 values (their bits)
 *      slot, pos per token: it attends to positions 0..pos of its slot
 * Out: the same workspace records as mla_decode.cuh's partial kernel, merged by its combine
 *      kernel into o_lat [token][head][L] (mla_split.cuh: by mla_combine_out_k, with W_uv).
 *
 * mla_decode.cuh's plan (a block per 16 heads of a token; chunks a function of the position;
 * tiles of T positions streamed STAGES deep with cp.async; per tile S = Q K^T, the online
 * softmax, O = O corr + P V; partials merged in chunk order), with the cache's own type on the
 * tensor cores: mma.sync m16n8k16, bf16 operands, f32 accumulation. What changes:
 *  - the cache values are bf16 already, so K and V enter the products exactly, loaded by
 *    ldmatrix (V transposed) from a tile swizzled at 16-byte granularity;
 *  - the queries enter as QT bf16 terms and the softmax weights as PT terms: x = t0 + t1 + ...,
 *    t0 = bf16(x), each next term bf16 of what is left (split_bf16; every difference exact).
 *    Products of bf16 values are exact in f32, so three query terms compute the scores from the
 *    exact f32 query (for |q| >= 2^-103) (the kernel's only error is the f32 accumulation) and two weight terms
 *    leave each weight within 2^-16 relative: the attention of the f32 reference over the
 *    rounded cache, to well within the mode's tolerance (docs/numerics.md), at under half of
 *    mla_decode.cuh's tensor time per position (0.84 of its multiply-adds, at twice the rate)
 *    and half its bytes;
 *  - warp w computes S for a quarter of the k-steps (w / 2) of half the tile's positions
 *    (w % 2): it reads a quarter of the queries' fragments a tile, not all of them; the four
 *    parts are added in order; O is scaled by corr, then accumulated in place.
 * Every sum runs in an order fixed by the shapes and the token's position, without atomics: a
 * token's output has the same bits alone or in any batch, in any slot, on any grid.
 *
 * The pure pieces (the split, the fragment layouts, ldmatrix's addressing, the swizzle, the
 * weights' fragment order) are __host__ __device__ and tested on the CPU by
 * tests/cuda/test_mla_bf16.cu; tests/cuda/mla_check.cu runs the kernel on a GPU. */
#ifndef DF_CUDA_MLA_DECODE_BF16_CUH
#define DF_CUDA_MLA_DECODE_BF16_CUH

#include "kernels/mat.h"
#include "mla_decode.cuh"

namespace dfc {
namespace mla {

/* ---- bf16 terms ---------------------------------------------------------------------------- */

/* x as N bf16 terms (their bits), largest first: t[0] = bf16(x), t[k] = bf16(x - t[0] - ... -
 * t[k-1]) (f32_bf16_bits: to nearest even). Each difference is exact, so |x - sum| <= 2^-8N |x|,
 * and three terms hold x exactly when |x| >= 2^-103 (f32_bf16_bits flushes a leftover below
 * 2^-126 to zero, so below that the last term can be lost). */
template <int N> DF_HD inline void split_bf16(float x, uint16_t (&t)[N])
{
    float left = x;
    for (int k = 0; k < N; k++) {
        t[k] = f32_bf16_bits(left);
        left -= bf16_to_f32(t[k]);
    }
}

/* Two bf16 values in one register, the first (lower-numbered) in the low half. */
DF_HD constexpr uint32_t pack_bf16(uint16_t lo_elem, uint16_t hi_elem) { return (uint32_t)lo_elem | ((uint32_t)hi_elem << 16); }

/* ---- mma.m16n8k16 fragments (PTX ISA, "Matrix Fragments for mma.m16n8k16", .bf16) -------------
 * lane = 4 g + t. A 16 x 16 (row): register r (0..3) holds elements (row, col) and (row, col + 1);
 * B 16 x 8 (col): register r (0..1) holds (k, n) and (k + 1, n); C 16 x 8 f32 as m16n8k8's
 * (frag_c_row, frag_c_col). */
DF_HD constexpr int frag16_a_row(int lane, int r) { return (lane >> 2) + 8 * (r & 1); }
DF_HD constexpr int frag16_a_col(int lane, int r) { return 2 * (lane & 3) + 8 * (r >> 1); }
DF_HD constexpr int frag16_b_k(int lane, int r) { return 2 * (lane & 3) + 8 * r; }
DF_HD constexpr int frag16_b_n(int lane) { return lane >> 2; }

/* ---- the tile of cache rows ------------------------------------------------------------------
 * ROW bf16 values a row (ROW % 64 == 0: every row starts in bank 0, and its 16-byte groups come
 * in aligned runs of 8); group g of row r sits at group g ^ (r mod 8) of its run. ldmatrix reads
 * an 8 x 8 matrix as 16 bytes from each of 8 rows r0..r0+7 (r0 % 8 == 0) at one group: 8 different
 * 16-byte columns of the banks, one wavefront (test_mla_bf16 checks). */
template <int ROW> DF_HD constexpr int tile16_at(int r, int c) { return r * ROW + ((((c >> 3) ^ (r & 7)) << 3) | (c & 7)); }

/* ldmatrix.x4: lane l gives the row address of matrix l / 8, row l % 8; register m of lane l
 * receives matrix m's (row l / 4, columns 2 (l % 4), + 1), or with .trans its (rows 2 (l % 4), + 1,
 * column l / 4). The element (tile row, column) each lane's address points at: */

/* S's B operand (K^T) for k-step ks of the n-tiles at positions n0, n0 + 8: matrix m holds rows
 * n0 + 8 (m >> 1) .., columns 16 ks + 8 (m & 1) ..: registers 0, 1 are n-tile n0's B, 2, 3
 * n-tile n0 + 8's. */
DF_HD constexpr int ldm_k_row(int lane, int n0) { return n0 + (lane & 7) + 8 * (lane >> 4); }
DF_HD constexpr int ldm_k_col(int lane, int ks) { return 16 * ks + 8 * ((lane >> 3) & 1); }

/* P V's B operand (V, transposed) for the k-step at position p0 and n-tiles c0, c0 + 8: matrix m
 * holds rows p0 + 8 (m & 1) .., columns c0 + 8 (m >> 1) ..: registers 0, 1 are n-tile c0's B,
 * 2, 3 n-tile c0 + 8's. */
DF_HD constexpr int ldm_v_row(int lane, int p0) { return p0 + (lane & 7) + 8 * ((lane >> 3) & 1); }
DF_HD constexpr int ldm_v_col(int lane, int c0) { return c0 + 8 * (lane >> 4); }

/* ---- the A operands in fragment order ----------------------------------------------------------
 * A lane's A fragment of one term and k-step is 4 registers, one 16-byte load: uint32 index
 * ((term KS + ks) 32 + lane) 4 + r. The element (row, column) register r's low half holds: */
DF_HD inline void afrag_source(int ks, int lane, int r, int &row, int &col)
{
    row = frag16_a_row(lane, r);
    col = 16 * ks + frag16_a_col(lane, r);
}

/* Where the softmax writes weight (head h, tile position p) of one term: its uint16 index in
 * the term's block of KT k-steps (the inverse of afrag_source, halves included). */
DF_HD constexpr int pfrag_at(int h, int p)
{
    return (((p >> 4) * 32 + 4 * (h & 7) + ((p & 7) >> 1)) * 4 + (h >> 3) + 2 * ((p >> 3) & 1)) * 2 + (p & 1);
}

} /* namespace mla */

/* ---- a layer's shape and the kernel's choices ------------------------------------------------
 * HEADS, L, R, CTX, C, JMAX as mla_decode_cfg (the same workspace records, so its combine kernel
 * merges them); 16 heads a block; T: positions per tile (32 or 64); STAGES: tiles in flight;
 * QT, PT: bf16 terms of the queries and of the softmax weights. */
template <int HEADS_, int L_, int R_, int CTX_, int C_, int JMAX_, int T_, int STAGES_, int QT_, int PT_>
struct mla_decode_bf16_cfg {
    static constexpr int HEADS = HEADS_, L = L_, R = R_, CTX = CTX_, C = C_, JMAX = JMAX_, T = T_, STAGES = STAGES_,
                         QT = QT_, PT = PT_;
    static constexpr int ROW = L + R, KS = ROW / 16, HG = 16, GROUPS = HEADS / HG;
    static constexpr int NTS = T / 8;               /* n-tiles (8 positions) of S */
    static constexpr int KP = 4;                    /* parts of S's k-steps, a warp each per half tile */
    static constexpr int NTW = NTS / 2;             /* n-tiles of S per warp (half the tile) */
    static constexpr int KSW = KS / KP;             /* k-steps of S per warp */
    static constexpr int NTO = L / 8 / mla::WARPS;  /* n-tiles (8 latent columns) of O per warp */
    static constexpr int KT = T / 16;               /* k-steps of P V */
    static constexpr int HPW = HG / mla::WARPS;     /* heads per warp in the softmax */
    static constexpr int PPL = T / mla::WARP;       /* positions per lane in the softmax */
    static constexpr int SP = T + 4;                /* row stride of the score parts */
    /* shared memory, bytes: the tiles, the queries' terms, the score parts, the weights' terms, corr */
    static constexpr size_t K_B = (size_t)STAGES * T * ROW * 2, Q_B = (size_t)QT * KS * 512, S_B = (size_t)KP * HG * SP * 4,
                            P_B = (size_t)PT * KT * 512, CORR_B = HG * 4;
    static constexpr size_t SMEM = K_B + Q_B + S_B + P_B + CORR_B;
    static constexpr size_t REC = (size_t)HEADS * (L + 2);
    static constexpr size_t ws_floats(int n) { return (size_t)n * JMAX * REC; }
    DF_HD static constexpr size_t rec_at(int t, int j, int stride = JMAX) { return ((size_t)t * stride + j) * REC; }

    static_assert(HEADS % HG == 0, "heads: a multiple of 16");
    static_assert(ROW % 64 == 0, "L + R: a multiple of 64 (16-byte groups in swizzled runs of 8)");
    static_assert(T == 32 || T == 64, "T: 32 or 64 (whole lanes of positions in the softmax)");
    static_assert(KS % KP == 0, "L + R: a multiple of 64 (4 parts of whole k-steps)");
    static_assert(NTW % 2 == 0, "T: n-tiles of S in pairs per warp (ldmatrix.x4)");
    static_assert(L % (16 * mla::WARPS) == 0, "L: a multiple of 128 (n-tile pairs of O per warp)");
    static_assert(C % T == 0, "C: a multiple of T (so only a token's last tile is partial)");
    static_assert(STAGES >= 2, "STAGES: at least 2");
    static_assert(QT >= 1 && QT <= 3 && PT >= 1 && PT <= 3, "QT, PT: 1 to 3 terms");
    static_assert(SMEM <= 227 * 1024, "shared memory over Hopper's 227 KB per block");
};

#ifdef __CUDACC__

namespace mla {

__device__ __forceinline__ void mma_bf16(float (&d)[4], const uint4 &a, uint32_t b0, uint32_t b1)
{
#ifndef DF_SIMT
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a.x), "r"(a.y), "r"(a.z), "r"(a.w), "r"(b0), "r"(b1));
#else
    const uint32_t w[4] = { a.x, a.y, a.z, a.w };
    simt::mma(simt::MMA_BF16, d, w, b0, b1);
#endif
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const uint16_t *p)
{
#ifndef DF_SIMT
    const unsigned a = (unsigned)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
#else
    simt::warp_collective(simt::LDMATRIX, 0xffffffffu, &p, sizeof p, r);
#endif
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const uint16_t *p)
{
#ifndef DF_SIMT
    const unsigned a = (unsigned)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
#else
    simt::warp_collective(simt::LDMATRIX_T, 0xffffffffu, &p, sizeof p, r);
#endif
}

/* Tile rows p_first .. p_first + T - 1 of a slot (kv) into dst; rows from p_end on are zeros
 * (never read: past the token's position the slot holds stale rows, or ends). */
template <class D>
__device__ __forceinline__ void load_tile16(const uint16_t *kv, int p_first, int p_end, uint16_t *dst, int tid)
{
    constexpr int GPR = D::ROW / 8, N = D::T * GPR;
    for (int i = tid; i < N; i += THREADS) {
        const int r = i / GPR, g = i % GPR, p = p_first + r;
        const bool ok = p < p_end;
        cp_async16(dst + tile16_at<D::ROW>(r, 8 * g), kv + (size_t)(ok ? p : p_first) * D::ROW + 8 * g, ok ? 16 : 0);
    }
}

/* The block's queries as QT terms in fragment order (afrag_source). */
template <class D> __device__ __forceinline__ void load_queries16(const float *qt, uint32_t *sQ, int tid)
{
    for (int i = tid; i < D::KS * WARP * 4; i += THREADS) {
        const int r = i & 3, lane = (i >> 2) & (WARP - 1), ks = i >> 7;
        int h, c;
        afrag_source(ks, lane, r, h, c);
        uint16_t a[D::QT], b[D::QT];
        split_bf16<D::QT>(qt[h * D::ROW + c], a);
        split_bf16<D::QT>(qt[h * D::ROW + c + 1], b);
#pragma unroll
        for (int k = 0; k < D::QT; k++)
            sQ[(size_t)k * D::KS * WARP * 4 + i] = pack_bf16(a[k], b[k]);
    }
}

/* Warp w's part of S = Q K^T for one tile: k-steps [(w / 2) KSW, + KSW) of the n-tiles of half
 * w % 2 of the tile, each k-step's query terms loaded once for all of them, each product the QT
 * terms' mma, the smallest first. Two accumulators per n-tile take the k-steps in turn (2 NTW
 * independent chains of mma), added at the end; into part[w / 2][head][position]. */
template <class D>
__device__ __forceinline__ void tile_scores16(const uint32_t *sQ, const uint16_t *tile, float *sS, int w, int lane)
{
    const int kp = w / 2, n0 = (w % 2) * D::NTW * 8;
    float acc[2][D::NTW][4] = {};
#pragma unroll
    for (int s = 0; s < D::KSW; s++) {
        const int ks = kp * D::KSW + s;
        uint4 a[D::QT];
#pragma unroll
        for (int k = 0; k < D::QT; k++)
            a[k] = reinterpret_cast<const uint4 *>(sQ)[((size_t)k * D::KS + ks) * WARP + lane];
#pragma unroll
        for (int np = 0; np < D::NTW / 2; np++) {
            uint32_t b[4];
            ldmatrix_x4(b, tile + tile16_at<D::ROW>(ldm_k_row(lane, n0 + 16 * np), ldm_k_col(lane, ks)));
#pragma unroll
            for (int u = 0; u < 2; u++)
#pragma unroll
                for (int k = D::QT - 1; k >= 0; k--)
                    mma_bf16(acc[s & 1][2 * np + u], a[k], b[2 * u], b[2 * u + 1]);
        }
    }
    float *part = sS + (size_t)kp * D::HG * D::SP;
#pragma unroll
    for (int nt = 0; nt < D::NTW; nt++)
#pragma unroll
        for (int i = 0; i < 4; i++)
            part[frag_c_row(lane, i) * D::SP + n0 + nt * 8 + frag_c_col(lane, i)] = acc[0][nt][i] + acc[1][nt][i];
}

/* Warp w's heads w, w + 8: lane l takes positions tile_p + l + 32 i. The score is the KP parts
 * added in order, times scale; past p_end it is -inf. Writes each weight exp(s - mnew) as PT
 * terms in fragment order, and corr, and updates the warp's running (m, l) of those heads; a
 * lane's PPL weights are added in order before the butterfly. */
template <class D>
__device__ __forceinline__ void tile_softmax16(const float *sS, uint16_t *sP, float *sCorr, run (&st)[D::HPW], int tile_p,
                                               int p_end, float scale, int w, int lane)
{
#pragma unroll
    for (int k = 0; k < D::HPW; k++) {
        const int h = w + WARPS * k;
        float s[D::PPL], lmax = -INFINITY;
#pragma unroll
        for (int i = 0; i < D::PPL; i++) {
            const int p = lane + WARP * i;
            s[i] = -INFINITY;
            if (tile_p + p < p_end) {
                float a = 0.0f;
#pragma unroll
                for (int v = 0; v < D::KP; v++)
                    a += sS[((size_t)v * D::HG + h) * D::SP + p];
                s[i] = a * scale;
            }
            lmax = fmaxf(lmax, s[i]);
        }
        float mnew;
        const float corr = run_corr(st[k], lanes_max(lmax), &mnew);
        float lsum = 0.0f;
#pragma unroll
        for (int i = 0; i < D::PPL; i++) {
            const int p = lane + WARP * i;
            const float e = tile_p + p < p_end ? expf(s[i] - mnew) : 0.0f;
            lsum += e;
            uint16_t t[D::PT];
            split_bf16<D::PT>(e, t);
#pragma unroll
            for (int j = 0; j < D::PT; j++)
                sP[(size_t)j * D::KT * 256 + pfrag_at(h, p)] = t[j];
        }
        run_add(st[k], mnew, corr, lanes_sum(lsum));
        if (lane == 0)
            sCorr[h] = corr;
    }
}

/* Warp w's latent columns [w NTO 8, (w + 1) NTO 8): o = o corr, then += P V, k-steps in order,
 * each the PT terms' products, the smallest first; the warp's NTO n-tiles are independent
 * chains, so consecutive mma go to different n-tiles. */
template <class D>
__device__ __forceinline__ void tile_pv16(const uint16_t *tile, const uint16_t *sP, const float *sCorr,
                                          float (&o)[D::NTO][4], int w, int lane)
{
    const float c_lo = sCorr[frag_c_row(lane, 0)], c_hi = sCorr[frag_c_row(lane, 2)];
#pragma unroll
    for (int nt = 0; nt < D::NTO; nt++)
#pragma unroll
        for (int i = 0; i < 4; i++)
            o[nt][i] *= i < 2 ? c_lo : c_hi;
#pragma unroll
    for (int kk = 0; kk < D::KT; kk++) {
        uint32_t b[D::NTO / 2][4];
#pragma unroll
        for (int np = 0; np < D::NTO / 2; np++)
            ldmatrix_x4_trans(b[np], tile + tile16_at<D::ROW>(ldm_v_row(lane, 16 * kk), ldm_v_col(lane, (w * D::NTO + 2 * np) * 8)));
#pragma unroll
        for (int j = D::PT - 1; j >= 0; j--) {
            const uint4 a = reinterpret_cast<const uint4 *>(sP)[((size_t)j * D::KT + kk) * WARP + lane];
#pragma unroll
            for (int nt = 0; nt < D::NTO; nt++)
                mma_bf16(o[nt], a, b[nt / 2][2 * (nt % 2)], b[nt / 2][2 * (nt % 2) + 1]);
        }
    }
}

/* The bf16 cache's tile work for stream_chunks (mla_decode.cuh; shared memory: the STAGES
 * tiles, the queries' terms, the score parts, the weights' terms, corr). */
template <class D> struct bf16_tiles {
    using elem = uint16_t;
    static constexpr int MT = 1;
    static __device__ uint16_t *sK(unsigned char *smem) { return reinterpret_cast<uint16_t *>(smem); }
    static __device__ uint32_t *sQ(unsigned char *smem) { return reinterpret_cast<uint32_t *>(smem + D::K_B); }
    static __device__ float *sS(unsigned char *smem) { return reinterpret_cast<float *>(smem + D::K_B + D::Q_B); }
    static __device__ uint16_t *sP(unsigned char *smem)
    {
        return reinterpret_cast<uint16_t *>(smem + D::K_B + D::Q_B + D::S_B);
    }
    static __device__ float *sCorr(unsigned char *smem)
    {
        return reinterpret_cast<float *>(smem + D::K_B + D::Q_B + D::S_B + D::P_B);
    }
    static __device__ uint16_t *sTile(unsigned char *smem, int stage) { return sK(smem) + (size_t)stage * D::T * D::ROW; }

    static __device__ void load_tile(const uint16_t *kv, int p_first, int p_end, unsigned char *smem, int stage, int tid)
    {
        load_tile16<D>(kv, p_first, p_end, sTile(smem, stage), tid);
    }
    static __device__ void queries(const float *qt, unsigned char *smem, int tid) { load_queries16<D>(qt, sQ(smem), tid); }
    static __device__ void scores(unsigned char *smem, int stage, int w, int lane)
    {
        tile_scores16<D>(sQ(smem), sTile(smem, stage), sS(smem), w, lane);
    }
    static __device__ void softmax(unsigned char *smem, int tile_p, int p_end, float scale, run (&st)[D::HPW], int w,
                                   int lane)
    {
        tile_softmax16<D>(sS(smem), sP(smem), sCorr(smem), st, tile_p, p_end, scale, w, lane);
    }
    static __device__ void pv(unsigned char *smem, int stage, float (&o)[1][D::NTO][4], int w, int lane)
    {
        tile_pv16<D>(sTile(smem, stage), sP(smem), sCorr(smem), o[0], w, lane);
    }
};

template <class D>
__global__ void __launch_bounds__(THREADS, 1) partial16_k(const float *q, const uint16_t *cache, const int *slot,
                                                          const int *pos, float scale, int stride, float *ws)
{
    pdl_enter();
    DFC_DYNAMIC_SHARED(smem_bf16);
    stream_chunks<D, bf16_tiles<D>>(q, cache, slot, pos, scale, stride, ws, smem_bf16);
}

} /* namespace mla */

/* Once per configuration, before its first launch and outside graph capture. */
template <class D> cudaError_t mla_decode_bf16_setup() { return mla::setup_partial(mla::partial16_k<D>, D::SMEM); }

/* o_lat for n tokens over a bf16 cache; ws and stride as mla_decode's. The grid as mla_decode's. */
template <class D>
void mla_decode_bf16(const float *q, const uint16_t *cache, const int *slot, const int *pos, int n, float scale,
                     float *ws, float *o_lat, int stride = D::JMAX)
{
    mla::launch<D>(mla::partial16_k<D>, "mla_decode_bf16 (partial)", "mla_decode_bf16 (combine)", q, cache, slot, pos, n,
                   scale, stride, ws, o_lat);
}

#endif /* __CUDACC__ */

} /* namespace dfc */

#endif
