/* exit_codes.h: what a generated binary's exit status means, for every
 * command and subcommand (README.md "Exit codes"). */
#ifndef DF_EXIT_CODES_H
#define DF_EXIT_CODES_H

enum df_exit {
    DF_EXIT_OK = 0,
    DF_EXIT_OTHER = 1,    /* anything else: out of memory, no device, ... */
    DF_EXIT_USAGE = 2,    /* usage error, or a request the binary cannot take */
    DF_EXIT_WEIGHTS = 3,  /* the weights file is refused */
    DF_EXIT_IO = 4,       /* an I/O error */
    DF_EXIT_AUDIT = 5,    /* `audit --check`: the re-run does not match the record */
};

#endif
