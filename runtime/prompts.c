/* prompts.c: strict parsing of token-id lists: anything but digits and
 * single commas, an empty list or an id outside the vocabulary is refused. */
#include "prompts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int df_parse_ids(const char *text, int vocab, int **ids, int *len, char *err, size_t errlen)
{
    size_t cap = 1;
    for (const char *c = text; *c; c++)
        cap += *c == ',';
    int *out = malloc(sizeof(int) * cap);
    if (!out) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int n = 0;
    const char *c = text;
    for (;;) {
        if (*c < '0' || *c > '9') {
            snprintf(err, errlen, "token %d: expected a decimal id at \"%.20s\"", n + 1, c);
            free(out);
            return -1;
        }
        char *end;
        errno = 0;
        long v = strtol(c, &end, 10);
        if (errno || v >= vocab) {
            snprintf(err, errlen, "token %d: id %.*s is outside the vocabulary [0, %d)", n + 1,
                     (int)(end - c < 24 ? end - c : 24), c, vocab);
            free(out);
            return -1;
        }
        out[n++] = (int)v;
        if (*end == '\0')
            break;
        if (*end != ',') {
            snprintf(err, errlen, "token %d: unexpected \"%.20s\" after an id", n, end);
            free(out);
            return -1;
        }
        c = end + 1;
    }
    *ids = out;
    *len = n;
    return 0;
}

int df_prompts_add(struct df_prompts *p, int *ids, int len)
{
    if (p->n >= DF_MAX_SEQUENCES)
        return -1;
    int **nids = realloc(p->ids, sizeof(int *) * (size_t)(p->n + 1));
    if (!nids)
        return -1;
    p->ids = nids;
    int *nlen = realloc(p->len, sizeof(int) * (size_t)(p->n + 1));
    if (!nlen)
        return -1;
    p->len = nlen;
    p->ids[p->n] = ids;
    p->len[p->n] = len;
    p->n++;
    return 0;
}

int df_prompts_read_file(const char *path, int vocab, struct df_prompts *p, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int lineno = 0, rc = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        char why[160];
        int *ids, len;
        if (df_parse_ids(line, vocab, &ids, &len, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            rc = -1;
            break;
        }
        if (df_prompts_add(p, ids, len) != 0) {
            free(ids);
            snprintf(err, errlen, "%s:%d: too many sequences (at most %d)", path, lineno, DF_MAX_SEQUENCES);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = -1;
    }
    if (rc == 0 && p->n == 0) {
        snprintf(err, errlen, "%s: no prompts", path);
        rc = -1;
    }
    free(line);
    fclose(f);
    return rc;
}

void df_prompts_free(struct df_prompts *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->ids[i]);
    free(p->ids);
    free(p->len);
    memset(p, 0, sizeof *p);
}
