/* mla_model.h: what the host tests of the split-KV MLA decode kernels (test_mla_split.cu over
 * an f32 cache, test_mla_bf16.cu over a bf16 one) share to model a token's whole attention:
 * its scores and values, the combine kernel's merge, and the two tests built on a model of the
 * partial kernel's steps over a token (a "block model": model(d, y, ny, t, h, ws) runs block y
 * of ny for token t, head h, into the workspace records):
 *  - softmax_split: the partials merged in chunk order against a one-pass fp64 softmax, for
 *    lengths at every tile and chunk edge, past the JMAX cap, and with scores rising by 0.5
 *    per position (later chunks' maxima far beyond expf's range from the first's);
 *  - invariance: a token alone = in a batch of 16, bit for bit, whatever grid and chunk order. */
#ifndef DF_MLA_MODEL_H
#define DF_MLA_MODEL_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "host_test.h"
#include "mla_decode.cuh"

namespace mla_model {

using namespace dfc::mla;

constexpr int NCOL = 8; /* value columns the model carries (of D::L) */
constexpr double U = 0x1p-24;

struct token_data {
    int len;
    std::vector<float> s, v; /* scores s[0..len), values v[p][NCOL] */
};

/* Scores random in +-8, plus slope x position; values in +-1, each through value (a bf16 cache
 * holds them rounded). */
inline token_data random_token(int len, float slope, float (*value)(float))
{
    token_data d;
    d.len = len;
    d.s.resize(len);
    d.v.resize((size_t)len * NCOL);
    for (int p = 0; p < len; p++)
        d.s[p] = rnd_sym(8.0) + slope * (float)p;
    for (auto &x : d.v)
        x = value(rnd_sym(1.0));
    return d;
}

/* A chunk's partial for head h into its record (write_partial's layout), o and st reset. */
template <class D> void write_partial(float *rec, int h, float (&o)[NCOL], run &st)
{
    for (int c = 0; c < NCOL; c++) {
        rec[(size_t)h * D::L + c] = o[c];
        o[c] = 0.0f;
    }
    rec[(size_t)D::HEADS * D::L + 2 * h] = st.m;
    rec[(size_t)D::HEADS * D::L + 2 * h + 1] = st.l;
    st = run_start();
}

/* combine_k for one (token, head): the chunks' (m, l) gathered, the weights, each column. */
template <class D> void combine(const float *ws, int len, int t, int h, float *out)
{
    const int nj = chunk_count(len, D::C, D::JMAX);
    std::vector<float> w(nj), ml(2 * (size_t)nj);
    const float *rec = ws + D::rec_at(t, 0);
    for (int j = 0; j < nj; j++) {
        ml[2 * j] = rec[(size_t)j * D::REC + (size_t)D::HEADS * D::L + 2 * h];
        ml[2 * j + 1] = rec[(size_t)j * D::REC + (size_t)D::HEADS * D::L + 2 * h + 1];
    }
    const float L = combine_weights(ml.data(), nj, 2, w.data());
    for (int c = 0; c < NCOL; c++)
        out[c] = combine_column(w.data(), rec + (size_t)h * D::L + c, nj, D::REC) / L;
}

/* A tile's swizzle: at(r, c), the element index of row r, column c, keeps each of the T rows
 * in its own ROW elements and is a permutation of them. */
template <class F> void check_row_permutation(int T, int ROW, F at)
{
    for (int r = 0; r < T; r++) {
        std::vector<int> seen(ROW, 0);
        for (int c = 0; c < ROW; c++) {
            const int e = at(r, c) - r * ROW;
            CHECK(e >= 0 && e < ROW, "row %d col %d -> %d", r, c, e);
            if (e >= 0 && e < ROW)
                seen[e]++;
        }
        for (int e = 0; e < ROW; e++)
            CHECK(seen[e] == 1, "row %d: slot %d used %d times", r, e, seen[e]);
    }
}

/* Tolerance: the roundings on a term's way (its exp, 2 ulps; the tile sum, T; the fold over the
 * chunk's tiles, 2 per tile; the merge, 2 per chunk and an exp; the division), twice (the sums
 * of the weights see the same), relative to sum p |v|; plus extra (the model's own relative
 * error in the weights: a bf16 kernel's terms). */
template <class D, class M>
void softmax_split(const char *name, M model, double extra, int max_len, float (*value)(float))
{
    case_begin(name);
    std::vector<int> lens;
    for (int e : { 1, 2, 31, 32, 33, D::T - 1, D::T, D::T + 1, D::C - 1, D::C, D::C + 1, 3 * D::C + 5, D::C * D::JMAX - 1,
                   D::C * D::JMAX, D::C * D::JMAX + 1, 2 * D::C * D::JMAX + 3 })
        if (e >= 1 && e <= max_len)
            lens.push_back(e);
    for (int k = 0; k < 6; k++)
        lens.push_back(1 + (int)(rnd64() % (uint64_t)max_len));
    const size_t rising = lens.size();
    lens.push_back(4 * D::C + 3);
    std::vector<float> ws(D::ws_floats(1));
    double worst = 0.0;
    for (size_t k = 0; k < lens.size(); k++) {
        const int len = lens[k];
        const token_data d = random_token(len, k == rising ? 0.5f : 0.0f, value);
        const int nj = chunk_count(len, D::C, D::JMAX), h = 3;
        model(d, 0, 1, 0, h, ws.data());
        float got[NCOL];
        combine<D>(ws.data(), len, 0, h, got);
        double mx = -INFINITY, sum = 0.0;
        for (int p = 0; p < len; p++)
            mx = std::max(mx, (double)d.s[p]);
        for (int p = 0; p < len; p++)
            sum += exp(d.s[p] - mx);
        const int tiles = (chunk_len(len, D::C, D::JMAX) + D::T - 1) / D::T;
        for (int c = 0; c < NCOL; c++) {
            double want = 0.0, mag = 0.0;
            for (int p = 0; p < len; p++) {
                const double pr = exp(d.s[p] - mx) / sum;
                want += pr * d.v[(size_t)p * NCOL + c];
                mag += pr * fabs(d.v[(size_t)p * NCOL + c]);
            }
            const double tol = (extra + 2.0 * (D::T + 2 * tiles + 2 * nj + 8) * U) * mag;
            worst = std::max(worst, fabs(got[c] - want) / mag);
            CHECK(fabs(got[c] - want) <= tol, "len %d col %d: %.9g, fp64 %.9g (tol %.3g)", len, c, got[c], want, tol);
        }
    }
    case_end();
    printf("   (worst |error| / sum p|v| = %.2e)\n", worst);
}

/* A batch of 16 tokens of lengths 1..max_len in one workspace, their records as many apart as
 * the most chunks any of them has (the kernels' stride: JMAX once a token reaches the cap, fewer
 * in a prefill slice of short prompts), their chunks streamed by the blocks of a grid of ny = 3,
 * against each token alone (record 0) on a grid of ny = 7, the blocks run last to first: the
 * same bits. */
template <class D, class M> void invariance(const char *name, int max_len, M model, float (*value)(float))
{
    case_begin(name);
    const int n = 16;
    std::vector<token_data> tok;
    int stride = 1;
    for (int t = 0; t < n; t++) {
        tok.push_back(random_token(1 + (int)(rnd64() % (uint64_t)max_len), 0.0f, value));
        stride = std::max(stride, chunk_count(tok[t].len, D::C, D::JMAX));
    }
    std::vector<float> ws(D::rec_at(n, 0, stride)), ws1(D::ws_floats(1));
    for (int y = 0; y < 3; y++)
        for (int t = 0; t < n; t++)
            for (int h = 0; h < 2; h++)
                model(tok[t], y, 3, 0, h, ws.data() + D::rec_at(t, 0, stride));
    for (int t = 0; t < n; t++)
        for (int h = 0; h < 2; h++) {
            float batch[NCOL], alone[NCOL];
            combine<D>(ws.data() + D::rec_at(t, 0, stride), tok[t].len, 0, h, batch);
            for (int y = 6; y >= 0; y--)
                model(tok[t], y, 7, 0, h, ws1.data());
            combine<D>(ws1.data(), tok[t].len, 0, h, alone);
            CHECK(memcmp(batch, alone, sizeof batch) == 0, "token %d (len %d) head %d: %.9g in the batch, %.9g alone", t,
                  tok[t].len, h, batch[0], alone[0]);
        }
    case_end();
}

} /* namespace mla_model */

#endif
