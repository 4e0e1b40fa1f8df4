/* trace.h: activations written out at fixed points of the forward pass, for comparing two builds
 * of one model op by op (a debugging build: gen/main.lua --trace; tests/trace_diff.c reads the
 * files; docs/testing.md, "Op-level traces").
 *
 * A trace build's generated code calls df_trace (model.h) after the ops that write its trace
 * points; the backend brings the rows to the host and hands them to df_trace_write. With
 * DF_TRACE=FILE set, each call appends a record to FILE (created at the first call):
 *   "DFTR", label (48 bytes, zero-padded), occurrence, rows, width (int32 each), rows x width
 *   float32, all in the machine's byte order;
 * occurrence counts the label's earlier records (the k-th step through that point). Without
 * DF_TRACE nothing is written. */
#ifndef DF_TRACE_H
#define DF_TRACE_H

#define DF_TRACE_LABEL 48

/* Whether DF_TRACE is set (read once). */
int df_trace_on(void);

/* Appends one record of rows x width floats (host memory); exits with a message if FILE cannot
 * be written. */
void df_trace_write(const char *label, const float *rows_host, int rows, int width);

#endif
