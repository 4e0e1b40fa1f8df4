/* prompts.h: token-id prompts from the command line or a batch file. */
#ifndef DF_PROMPTS_H
#define DF_PROMPTS_H

#include <stddef.h>

#define DF_MAX_SEQUENCES 4096

struct df_prompts {
    int n;          /* sequences */
    int *len;       /* [n] prompt lengths */
    int **ids;      /* [n][len[i]] */
};

/* "1,2,3": ids in [0, vocab), at least one. 0 on success, else err says why. */
int df_parse_ids(const char *text, int vocab, int **ids, int *len, char *err, size_t errlen);

/* Append one prompt. 0 on success. */
int df_prompts_add(struct df_prompts *p, int *ids, int len);

/* One comma-separated prompt per line; blank lines are an error. */
int df_prompts_read_file(const char *path, int vocab, struct df_prompts *p, char *err, size_t errlen);

void df_prompts_free(struct df_prompts *p);

#endif
