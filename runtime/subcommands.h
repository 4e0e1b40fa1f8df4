/* subcommands.h: `<binary> NAME ...` runs a subcommand instead of generating
 * (verify, tokenize, audit, ... as issues add them). Each lives in its own
 * file; the table in subcommands.c lists them. */
#ifndef DF_SUBCOMMANDS_H
#define DF_SUBCOMMANDS_H

#include <stdbool.h>

struct df_subcommand {
    const char *name;
    const char *summary;               /* one line for --help */
    int (*run)(int argc, char **argv); /* argv[0] is the binary, argv[1] the name */
};

/* If argv[1] names a subcommand, run it and store its exit code in *rc. */
bool df_run_subcommand(int argc, char **argv, int *rc);

/* Print "  NAME  summary" lines for the usage text. */
void df_list_subcommands(void *file);

#endif
