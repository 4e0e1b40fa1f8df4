/* session.h: a model ready to compute: its weights file opened and verified,
 * the weights attached to the backend, the arena allocated and initialized,
 * the worker threads started. Shared by the run (main.c) and `audit`. */
#ifndef DF_SESSION_H
#define DF_SESSION_H

#include <stdbool.h>

#include "generate.h"
#include "weights_file.h"

struct df_session {
    struct df_weights file;        /* the mapped, verified weights file */
    struct df_engine engine;       /* what df_generate needs */
    bool file_open, threads_started;
};

/* Opens path for df_model and verifies it before anything reads it
 * (no_verify: see df_verify_before_run), then attaches, allocates and starts
 * threads. Returns 0, or an exit code (exit_codes.h) after printing why on
 * stderr prefixed with prog; the session must be closed either way. */
int df_session_open(struct df_session *s, const char *prog, const char *path, bool no_verify, int threads);
void df_session_close(struct df_session *s);

/* Whether --threads does anything: the CPU backend's kernels run on the worker threads; a GPU
 * build's run on the device (it accepts the flag, so that scripts serve both, and says so). */
bool df_threads_matter(void);

#endif
