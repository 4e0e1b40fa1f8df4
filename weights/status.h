/* status.h: what the weights/ functions and the weights-file loader return.
 * The values are also the packer's exit codes, so "bad input" and "the
 * system failed us" stay distinguishable all the way to the shell. */
#ifndef DF_STATUS_H
#define DF_STATUS_H

enum df_status {
    DF_OK = 0,
    DF_BAD = 3,     /* invalid, missing or mismatched content */
    DF_IO = 4,      /* the system failed: open, read, write, mmap, memory */
};

#endif
