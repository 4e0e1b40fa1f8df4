/* trace.c: trace.h's records. */
#include "trace.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *trace_path(void)
{
    static int read;
    static const char *path;
    if (!read) {
        const char *v = getenv("DF_TRACE");
        path = v && *v ? v : NULL;
        read = 1;
    }
    return path;
}

int df_trace_on(void) { return trace_path() != NULL; }

/* The labels seen so far and their counts (a trace build has a few per layer). */
#define MAX_LABELS 1024 /* V3: 61 layers x 7 points and the head's 2 */
static char seen_label[MAX_LABELS][DF_TRACE_LABEL];
static int32_t seen_count[MAX_LABELS];
static int n_seen;

static int32_t occurrence(const char *label)
{
    for (int i = 0; i < n_seen; i++)
        if (!strncmp(seen_label[i], label, DF_TRACE_LABEL))
            return seen_count[i]++;
    if (n_seen == MAX_LABELS) {
        fprintf(stderr, "DF_TRACE: more than %d trace labels\n", MAX_LABELS);
        exit(1);
    }
    strncpy(seen_label[n_seen], label, DF_TRACE_LABEL);
    seen_count[n_seen++] = 1;
    return 0;
}

void df_trace_write(const char *label, const float *rows_host, int rows, int width)
{
    static FILE *f;
    const char *path = trace_path();
    if (!path)
        return;
    if (strlen(label) >= DF_TRACE_LABEL) {
        fprintf(stderr, "DF_TRACE: label \"%s\" longer than %d bytes\n", label, DF_TRACE_LABEL - 1);
        exit(1);
    }
    if (!f && !(f = fopen(path, "wb"))) {
        perror(path);
        exit(1);
    }
    char name[DF_TRACE_LABEL] = { 0 };
    memcpy(name, label, strlen(label));
    const int32_t head[3] = { occurrence(label), rows, width };
    if (fwrite("DFTR", 1, 4, f) != 4 || fwrite(name, 1, sizeof name, f) != sizeof name ||
        fwrite(head, sizeof head[0], 3, f) != 3 ||
        fwrite(rows_host, sizeof(float), (size_t)rows * (size_t)width, f) != (size_t)rows * (size_t)width ||
        fflush(f) != 0) {
        perror(path);
        exit(1);
    }
}
