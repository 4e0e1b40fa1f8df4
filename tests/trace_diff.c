/* trace_diff.c: where two traces of one model part (runtime/trace.h; a trace build is
 * gen/main.lua --trace; docs/testing.md, "Op-level traces").
 *
 *   trace_diff [--tol T] REFERENCE OTHER
 *
 * Takes REFERENCE's records in their order (the forward pass's order in the build that wrote
 * it) and finds OTHER's record of the same label and occurrence (two targets may fuse ops
 * differently, so their records come in different orders). A record's distance is max|d| over
 * its values divided by the standard deviation of REFERENCE's values (the measure of
 * tests/compare_logits.c; 1 where they are all equal, so that the bound is then absolute),
 * infinite where exactly one of a pair is NaN. The first record whose
 * distance exceeds T (default 1e-3, the conformance bound on the logits) is where the builds
 * part (on stderr):
 *   trace_diff: first divergence at "layer 2 attn last" #1: max|d|/std 0.83 (tol 0.001); row 0
 *   column 17: 0.125 vs 0.5
 * exit 1; so does a record either file lacks, or one OTHER holds at another shape. Otherwise (on
 * stdout)
 *   trace_diff: 123 records within 0.001; the largest max|d|/std 4.1e-06 at "head logits first" #3
 * exit 0. Exit 2: a file that cannot be read or is not a trace. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

struct record {
    char label[DF_TRACE_LABEL];
    int32_t occ, rows, width;
    float *v;
};

struct trace {
    struct record *r;
    int n;
};

static int bad_file(const char *path, const char *why)
{
    fprintf(stderr, "trace_diff: %s: %s\n", path, why);
    return 2;
}

static int read_trace(const char *path, struct trace *t)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return bad_file(path, "cannot open");
    int cap = 0;
    char magic[4];
    size_t got;
    while ((got = fread(magic, 1, 4, f)) == 4) {
        struct record rec;
        int32_t head[3];
        if (memcmp(magic, "DFTR", 4) || fread(rec.label, 1, DF_TRACE_LABEL, f) != DF_TRACE_LABEL ||
            fread(head, sizeof head[0], 3, f) != 3 || rec.label[DF_TRACE_LABEL - 1] != '\0' || head[0] < 0 ||
            head[1] < 0 || head[2] < 0) {
            fclose(f);
            return bad_file(path, "not a trace (runtime/trace.h), or cut short");
        }
        rec.occ = head[0], rec.rows = head[1], rec.width = head[2];
        const size_t count = (size_t)rec.rows * (size_t)rec.width;
        if (!(rec.v = malloc(count ? count * sizeof(float) : 1)) || fread(rec.v, sizeof(float), count, f) != count) {
            fclose(f);
            return bad_file(path, "a record cut short, or out of memory");
        }
        if (t->n == cap) {
            cap = cap ? 2 * cap : 64;
            struct record *nr = realloc(t->r, sizeof *nr * (size_t)cap);
            if (!nr) {
                fclose(f);
                return bad_file(path, "out of memory");
            }
            t->r = nr;
        }
        t->r[t->n++] = rec;
    }
    fclose(f);
    if (got != 0)
        return bad_file(path, "cut short");
    if (t->n == 0)
        return bad_file(path, "no records");
    return 0;
}

/* t's record of want's label and occurrence, searched from *hint on (the two files mostly share
 * their order), which it leaves after the record found. */
static struct record *find(const struct trace *t, const struct record *want, int *hint)
{
    for (int k = 0; k < t->n; k++) {
        const int i = (*hint + k) % t->n;
        if (t->r[i].occ == want->occ && !strncmp(t->r[i].label, want->label, DF_TRACE_LABEL)) {
            *hint = i + 1;
            return &t->r[i];
        }
    }
    return NULL;
}

/* max|a - b| / std(a), and where the largest difference is (idx). */
static double distance(const struct record *a, const struct record *b, size_t *idx)
{
    const size_t count = (size_t)a->rows * (size_t)a->width;
    double sum = 0.0, sum2 = 0.0, worst = 0.0;
    size_t finite = 0;
    *idx = 0;
    for (size_t i = 0; i < count; i++) {
        const double x = a->v[i], y = b->v[i];
        if (!isnan(x) != !isnan(y)) {
            *idx = i;
            return INFINITY;
        }
        if (isfinite(x)) {
            sum += x;
            sum2 += x * x;
            finite++;
        }
        const double d = isnan(x) || x == y ? 0.0 : fabs(x - y);
        if (d > worst || isnan(d)) {
            worst = isnan(d) ? INFINITY : d;
            *idx = i;
        }
    }
    const double mean = finite ? sum / (double)finite : 0.0;
    const double var = finite ? sum2 / (double)finite - mean * mean : 0.0;
    const double sd = var > 0.0 ? sqrt(var) : 1.0;
    return worst / sd;
}

int main(int argc, char **argv)
{
    double tol = 1e-3;
    int a = 1;
    if (argc == 5 && !strcmp(argv[1], "--tol")) {
        char *end = NULL;
        tol = strtod(argv[2], &end);
        if (*end || !(tol >= 0.0))
            a = -1;
        else
            a = 3;
    }
    if (a < 0 || argc - a != 2) {
        fprintf(stderr, "usage: %s [--tol T] REFERENCE OTHER\n", argv[0]);
        return 2;
    }
    struct trace ref = { 0 }, other = { 0 };
    int rc = read_trace(argv[a], &ref);
    if (rc || (rc = read_trace(argv[a + 1], &other)))
        return rc;
    double largest = -1.0;
    const struct record *at = NULL;
    int hint = 0;
    for (int i = 0; i < ref.n; i++) {
        const struct record *r = &ref.r[i];
        struct record *o = find(&other, r, &hint);
        if (!o) {
            fprintf(stderr, "trace_diff: \"%s\" #%d is not in %s\n", r->label, r->occ, argv[a + 1]);
            return 1;
        }
        if (o->rows != r->rows || o->width != r->width) {
            fprintf(stderr, "trace_diff: \"%s\" #%d: %d x %d in %s, %d x %d in %s\n", r->label, r->occ, r->rows, r->width,
                   argv[a], o->rows, o->width, argv[a + 1]);
            return 1;
        }
        size_t idx;
        const double d = distance(r, o, &idx);
        if (d > tol) {
            fprintf(stderr, "trace_diff: first divergence at \"%s\" #%d: max|d|/std %.3g (tol %g); row %zu column %zu: "
                    "%.9g vs %.9g\n", r->label, r->occ, d, tol, idx / (size_t)r->width, idx % (size_t)r->width,
                    (double)r->v[idx], (double)o->v[idx]);
            return 1;
        }
        if (d > largest) {
            largest = d;
            at = r;
        }
        o->occ = -1 - o->occ; /* matched: found no more */
    }
    for (int i = 0; i < other.n; i++)
        if (other.r[i].occ >= 0) {
            fprintf(stderr, "trace_diff: \"%s\" #%d is not in %s\n", other.r[i].label, other.r[i].occ, argv[a]);
            return 1;
        }
    printf("trace_diff: %d records within %g; the largest max|d|/std %.3g at \"%s\" #%d\n", ref.n, tol, largest,
           at->label, at->occ);
    return 0;
}
