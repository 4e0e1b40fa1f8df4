/* session.c: from a weights path to a model ready to compute (session.h). */
#include "session.h"

#include <stdio.h>
#include <string.h>

#include "exit_codes.h"
#include "threads.h"
#include "verify.h"

int df_session_open(struct df_session *s, const char *prog, const char *path, bool no_verify, int threads)
{
    const struct df_model *m = &df_model;
    char err[512];
    *s = (struct df_session){ .engine = { .model = m } };
    int st = df_weights_open(path, m->manifest, &s->file, err, sizeof err);
    if (st != DF_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return st == DF_BAD ? DF_EXIT_WEIGHTS : DF_EXIT_IO;
    }
    s->file_open = true;
    /* Nothing reads the weights before they are verified. */
    int rc = df_verify_before_run(prog, path, &s->file, no_verify);
    if (rc)
        return rc;
    if (!(s->engine.weights = m->backend->attach_weights(s->file.data, s->file.data_bytes, err, sizeof err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return DF_EXIT_OTHER;
    }
    /* The arena: one allocation of the generated plan's size, before any step. */
    if (!(s->engine.arena = m->backend->arena_create(m->arena_bytes, err, sizeof err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return DF_EXIT_OTHER;
    }
    m->init(s->engine.arena);
    if (threads > 1 && !df_threads_matter())
        fprintf(stderr, "%s: note: --threads %d changes nothing: this build computes on the GPU\n", prog, threads);
    if (df_threads_start(threads) != 0) {
        fprintf(stderr, "%s: cannot start %d threads\n", prog, threads);
        return DF_EXIT_OTHER;
    }
    s->threads_started = true;
    return 0;
}

bool df_threads_matter(void) { return strcmp(df_model.backend->name, "cpu") == 0; }

void df_session_close(struct df_session *s)
{
    const struct df_model *m = &df_model;
    if (s->threads_started)
        df_threads_stop();
    if (s->engine.arena)
        m->backend->arena_destroy(s->engine.arena);
    if (s->engine.weights)
        m->backend->detach_weights(s->engine.weights);
    if (s->file_open)
        df_weights_close(&s->file);
    *s = (struct df_session){ 0 };
}
