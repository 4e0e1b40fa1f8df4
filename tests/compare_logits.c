/* compare_logits.c: compares logits rows with reference rows.
 *
 *   compare_logits REF GOT VOCAB ROWS_PER_SEQ SEQS [FIRST_SEQ [MAX_TOL [MEDIAN_TOL [ARGMAX_MIN]]]]
 *
 * REF holds ROWS_PER_SEQ rows of VOCAB float32 for each reference sequence;
 * GOT holds the same for SEQS sequences, matching reference sequences
 * FIRST_SEQ.. (default 0). Prints max|d| / std(ref) over the compared rows
 * and exits 1 if it is not below MAX_TOL (default 1e-3, the reference
 * precision's, see tests/README.md); with MEDIAN_TOL, also the median of
 * |d| / std(ref) over all compared logits (a precision mode whose rounding
 * makes rare larger differences legitimate, tests/conformance.sh); with
 * ARGMAX_MIN, also the fraction of rows whose largest logit (the first, on a
 * tie) is the reference's, which must be at least ARGMAX_MIN (a teacher-forced
 * comparison, where the reference's ids were fed whatever the rows picked). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define TOLERANCE 1e-3

static int by_value(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long argmax(const float *row, long n)
{
    long best = 0;
    for (long i = 1; i < n; i++)
        if (row[i] > row[best])
            best = i;
    return best;
}

static float *load(const char *path, long *count)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    float *v = malloc((size_t)bytes + 1);
    if (!v || fread(v, 1, (size_t)bytes, f) != (size_t)bytes) {
        fprintf(stderr, "%s: read error\n", path);
        exit(2);
    }
    fclose(f);
    *count = bytes / (long)sizeof(float);
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: compare_logits REF GOT VOCAB ROWS_PER_SEQ SEQS [FIRST_SEQ [MAX_TOL [MEDIAN_TOL [ARGMAX_MIN]]]]\n");
        return 2;
    }
    long nref, ngot;
    float *ref = load(argv[1], &nref), *got = load(argv[2], &ngot);
    const long vocab = atol(argv[3]), rows = atol(argv[4]), seqs = atol(argv[5]);
    const long first = argc > 6 ? atol(argv[6]) : 0;
    const double tol = argc > 7 ? atof(argv[7]) : TOLERANCE, median_tol = argc > 8 ? atof(argv[8]) : 0.0;
    const double argmax_min = argc > 9 ? atof(argv[9]) : 0.0;
    if (argc > 9 && !(argmax_min > 0.0 && argmax_min <= 1.0)) {
        fprintf(stderr, "ARGMAX_MIN must be a fraction in (0, 1], got \"%s\"\n", argv[9]);
        return 2;
    }
    const long n = seqs * rows * vocab;
    if (ngot != n || nref < (first + seqs) * rows * vocab) {
        fprintf(stderr, "size mismatch: got %ld floats, want %ld (reference has %ld)\n", ngot, n, nref);
        return 1;
    }
    const float *r = ref + first * rows * vocab;
    double sum = 0, sum2 = 0, maxd = 0;
    for (long i = 0; i < n; i++) {
        sum += r[i];
        sum2 += (double)r[i] * r[i];
        double d = fabs((double)got[i] - r[i]);
        if (!(d <= maxd)) /* NaN counts as infinitely wrong */
            maxd = isnan(d) ? INFINITY : d;
    }
    const double mean = sum / n, std = sqrt(sum2 / n - mean * mean);
    const double rel = maxd / std;
    printf("max|d| %.3e, std(ref) %.4f, max|d|/std %.3e (tolerance %.0e)", maxd, std, rel, tol);
    int ok = rel < tol;
    if (median_tol > 0) {
        double *d = malloc(sizeof(double) * (size_t)n);
        if (!d) {
            fprintf(stderr, "out of memory\n");
            return 2;
        }
        for (long i = 0; i < n; i++)
            d[i] = fabs((double)got[i] - r[i]);
        qsort(d, (size_t)n, sizeof *d, by_value);
        const double med = d[n / 2] / std;
        printf(", median |d|/std %.3e (tolerance %.0e)", med, median_tol);
        ok = ok && med < median_tol;
        free(d);
    }
    if (argmax_min > 0) {
        long same = 0;
        for (long row = 0; row < seqs * rows; row++)
            same += argmax(r + row * vocab, vocab) == argmax(got + row * vocab, vocab);
        printf(", argmax agrees on %ld of %ld rows (at least %.0f%%)", same, seqs * rows, argmax_min * 100.0);
        ok = ok && (double)same >= argmax_min * (double)(seqs * rows);
    }
    printf("\n");
    return ok ? 0 : 1;
}
