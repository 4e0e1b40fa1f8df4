/* verify.c: see verify.h.
 *
 * Cheap checks first (header hash, root of the chunk-hash list, signature:
 * microseconds to a millisecond), then the data: chunks are handed out one
 * at a time from an atomic counter to hashing threads, so a slow page-in of
 * one chunk does not hold the others back. */
#include "verify.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../weights/integrity.h"
#include "../weights/sha256.h"
#include "../weights/sign.h"
#include "weights_file.h"

#define MAX_VERIFY_THREADS 256
#define PROGRESS_MIN_BYTES (1ull << 30)   /* a bar only for at least 1 GiB */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the chunks ----------------------------------------------------------- */

struct job {
    const unsigned char *data;
    uint64_t data_bytes, chunk_bytes, n;
    const uint8_t *hashes;
    atomic_uint_fast64_t next, done_bytes;
    atomic_int running;                   /* workers not yet finished */
    pthread_mutex_t lock;
    uint64_t bad_count;
    uint64_t bad[DF_VERIFY_MAX_BAD];      /* the lowest failing indices, sorted */
};

static void record_bad(struct job *j, uint64_t i)
{
    pthread_mutex_lock(&j->lock);
    uint64_t k = j->bad_count < DF_VERIFY_MAX_BAD ? j->bad_count : DF_VERIFY_MAX_BAD;
    if (k < DF_VERIFY_MAX_BAD || i < j->bad[k - 1]) {
        if (k == DF_VERIFY_MAX_BAD)
            k--;                          /* drop the largest */
        while (k > 0 && j->bad[k - 1] > i) {
            j->bad[k] = j->bad[k - 1];
            k--;
        }
        j->bad[k] = i;
    }
    j->bad_count++;
    pthread_mutex_unlock(&j->lock);
}

static void *hash_chunks(void *arg)
{
    struct job *j = arg;
    for (;;) {
        uint64_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n)
            break;
        uint64_t begin = i * j->chunk_bytes;
        size_t len = (size_t)(j->data_bytes - begin < j->chunk_bytes ? j->data_bytes - begin : j->chunk_bytes);
        uint8_t h[32];
        /* Start reading the whole chunk in now (a hint; aligned: the data
         * section starts a page into the mapping and chunks are 2^k >= 4096). */
        posix_madvise((void *)(uintptr_t)(j->data + begin), len, POSIX_MADV_WILLNEED);
        df_sha256(j->data + begin, len, h);
        if (memcmp(h, j->hashes + 32 * i, 32) != 0)
            record_bad(j, i);
        atomic_fetch_add(&j->done_bytes, len);
    }
    atomic_fetch_sub(&j->running, 1);
    return NULL;
}

static void progress_line(const struct job *j, double t0, int final)
{
    uint64_t done = atomic_load(&j->done_bytes);
    double s = now() - t0, pct = j->data_bytes ? 100.0 * (double)done / (double)j->data_bytes : 100.0;
    int bar = (int)(pct / 2.5);
    char b[41];
    for (int i = 0; i < 40; i++)
        b[i] = i < bar ? '#' : '.';
    b[40] = 0;
    fprintf(stderr, "\rverifying weights [%s] %5.1f%% %.1f/%.1f GB %.2f GB/s%s", b, pct, (double)done / 1e9,
            (double)j->data_bytes / 1e9, s > 0 ? (double)done / s / 1e9 : 0.0, final ? "\n" : "");
    fflush(stderr);
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_VERIFY_THREADS ? MAX_VERIFY_THREADS : (int)n;
}

/* Hashes every chunk with `threads` threads (the caller's among them unless
 * it draws the progress bar). Returns the threads used. */
static int run_chunks(struct job *j, int threads, int progress)
{
    pthread_t tid[MAX_VERIFY_THREADS];
    int workers = (uint64_t)threads > j->n ? (j->n > 0 ? (int)j->n : 1) : threads;
    int spawn = progress ? workers : workers - 1, started = 0;
    atomic_store(&j->running, spawn);
    for (int t = 0; t < spawn; t++) {
        if (pthread_create(&tid[t], NULL, hash_chunks, j) != 0)
            break;
        started++;
    }
    atomic_fetch_sub(&j->running, spawn - started);
    double t0 = now();
    int here = !progress || started == 0;   /* the caller hashes too (no bar, or no thread could start) */
    if (progress) {
        while (started > 0 && atomic_load(&j->running) > 0) {
            progress_line(j, t0, 0);
            struct timespec ts = { 0, 200 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    if (here) {
        atomic_fetch_add(&j->running, 1);
        hash_chunks(j);
    }
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    if (progress)
        progress_line(j, t0, 1);
    return started + here;
}

/* ---- naming what a chunk holds --------------------------------------------- */

/* "tensors 'a', 'b' and 3 more" for the data bytes [begin, end). */
static void describe_range(const struct df_manifest *m, uint64_t begin, uint64_t end, char *out, size_t outlen)
{
    int lo = 0, hi = m ? m->n_tensors : 0, first = -1, count = 0;
    size_t len = 0;
    out[0] = 0;
    /* The first tensor ending after begin (offsets increase). */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (m->tensors[mid].offset + m->tensors[mid].bytes <= begin)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int i = lo; m && i < m->n_tensors && m->tensors[i].offset < end; i++) {
        if (m->tensors[i].bytes == 0)
            continue;
        if (first < 0)
            first = i;
        if (count < 3)
            len += (size_t)snprintf(out + len, len < outlen ? outlen - len : 0, "%s'%s'", count ? ", " : "",
                                    m->tensors[i].name);
        count++;
    }
    if (!m)
        snprintf(out, outlen, "(no manifest to name its tensors)");
    else if (count == 0)
        snprintf(out, outlen, "only padding between tensors");
    else if (count > 3)
        snprintf(out + len, len < outlen ? outlen - len : 0, " and %d more", count - 3);
}

static void describe_bad(const struct df_manifest *m, const struct job *j, char *err, size_t errlen)
{
    uint64_t i = j->bad[0], begin = i * j->chunk_bytes;
    uint64_t end = begin + j->chunk_bytes < j->data_bytes ? begin + j->chunk_bytes : j->data_bytes;
    char what[400];
    describe_range(m, begin, end, what, sizeof what);
    int n = snprintf(err, errlen, "chunk %" PRIu64 " of %" PRIu64 " (data bytes %" PRIu64 "..%" PRIu64
                     ") does not match its hash: the weights were modified or corrupted; it holds %s%s",
                     i, j->n, begin, end - 1, m && strncmp(what, "only", 4) && what[0] != '(' ? "tensors " : "",
                     what);
    if (j->bad_count > 1 && n > 0 && (size_t)n < errlen) {
        size_t len = (size_t)n;
        len += (size_t)snprintf(err + len, errlen - len, " (%" PRIu64 " bad chunks in all:", j->bad_count);
        uint64_t k = j->bad_count < DF_VERIFY_MAX_BAD ? j->bad_count : DF_VERIFY_MAX_BAD;
        for (uint64_t b = 0; b < k && len < errlen; b++)
            len += (size_t)snprintf(err + len, errlen - len, " %" PRIu64, j->bad[b]);
        if (len < errlen)
            snprintf(err + len, errlen - len, "%s)", j->bad_count > k ? " ..." : "");
    }
}

/* ---- the signature ------------------------------------------------------- */

static void short_id(const uint8_t id[32], char out[17])
{
    df_hex(id, 8, out);
}

static int check_signature(const struct df_weights *w, const struct df_trust *t, struct df_verify_report *r,
                           char *err, size_t errlen)
{
    const struct df_integrity *in = &w->integrity;
    char id[17], why[300];
    r->is_signed = in->sig_alg != DF_SIG_NONE;
    if (!r->is_signed) {
        if (t->n_keys > 0) {
            size_t len = (size_t)snprintf(err, errlen, "not signed, but this binary runs only weights signed by one "
                                          "of its trusted keys (");
            for (int k = 0; k < t->n_keys && len < errlen; k++)
                len += (size_t)snprintf(err + len, errlen - len, "%s%s", k ? ", " : "", t->keys[k].path);
            if (len < errlen)
                snprintf(err + len, errlen - len, "): pack with --sign KEY.pem or sign it with df-sign");
            return DF_BAD;
        }
        snprintf(r->note, sizeof r->note, "weights are NOT signed and this binary trusts no signing key: their "
                 "chunk hashes catch corruption, not deliberate changes");
        return DF_OK;
    }
    df_hex(in->key_id, 32, r->key_id);
    short_id(in->key_id, id);
    if (t->n_keys == 0) {
        snprintf(r->note, sizeof r->note, "weights are signed by key %s, but this binary trusts no signing key: "
                 "signature NOT checked, chunk hashes only", id);
        return DF_OK;
    }
    const struct df_trusted_key *tk = NULL;
    for (int k = 0; k < t->n_keys && !tk; k++)
        if (memcmp(t->keys[k].key_id, in->key_id, 32) == 0)
            tk = &t->keys[k];
    if (!tk) {
        size_t len = (size_t)snprintf(err, errlen, "signed by key %s, which this binary does not trust (it trusts ",
                                      id);
        for (int k = 0; k < t->n_keys && len < errlen; k++) {
            char kid[17];
            short_id(t->keys[k].key_id, kid);
            len += (size_t)snprintf(err + len, errlen - len, "%s%s from %s", k ? ", " : "", kid, t->keys[k].path);
        }
        if (len < errlen)
            snprintf(err + len, errlen - len, ")");
        return DF_BAD;
    }
    r->key_path = tk->path;
    if (!df_sig_der_ok(in->sig, in->sig_len)) {
        snprintf(err, errlen, "corrupt signature encoding: the %" PRIu32 " signature bytes are not a DER ECDSA "
                 "signature (SEQUENCE of two positive INTEGERs)", in->sig_len);
        return DF_BAD;
    }
    struct df_key *key;
    if (df_key_parse_public(tk->pem, &key, why, sizeof why) != DF_OK) {
        snprintf(err, errlen, "trusted key %s embedded in this binary is broken: %s", tk->path, why);
        return DF_BAD;
    }
    int same = memcmp(df_key_id(key), tk->key_id, 32) == 0;
    uint8_t digest[32];
    df_message_digest((const unsigned char *)w->map, &w->header, in, digest);
    int ok = same && df_key_verify(key, digest, in->sig, in->sig_len) == DF_OK;
    df_key_free(key);
    if (!same) {
        snprintf(err, errlen, "trusted key %s embedded in this binary does not match its key id", tk->path);
        return DF_BAD;
    }
    if (!ok) {
        snprintf(err, errlen, "signature does not verify with trusted key %s (%s): the header or the integrity "
                 "section was changed after signing, or the signature is damaged", id, tk->path);
        return DF_BAD;
    }
    r->key_trusted = 1;
    return DF_OK;
}

/* ---- all of it ----------------------------------------------------------- */

int df_weights_verify(const struct df_weights *w, const struct df_manifest *m, const struct df_trust *t,
                      const struct df_verify_options *opt, struct df_verify_report *r, char *err, size_t errlen)
{
    const struct df_integrity *in = &w->integrity;
    double t0 = now();
    uint8_t h[32];
    memset(r, 0, sizeof *r);
    r->chunks = in->n_chunks;
    r->chunk_bytes = in->chunk_bytes;
    r->data_bytes = w->data_bytes;
    r->sha256_impl = df_sha256_impl();
    r->status = DF_BAD;
    err[0] = 0;

    r->stage = "header";
    df_sha256(w->map, DF_HEADER_BYTES, h);
    if (memcmp(h, in->header_sha256, 32) != 0) {
        snprintf(err, errlen, "header does not match the hash in its integrity section: the header was changed or "
                 "corrupted");
        return r->status;
    }
    r->stage = "integrity";
    df_integrity_root(in->hashes, in->n_chunks, h);
    if (memcmp(h, in->root, 32) != 0) {
        snprintf(err, errlen, "the chunk-hash list does not match its root hash: the integrity section was changed "
                 "or corrupted");
        return r->status;
    }
    r->stage = "signature";
    if (check_signature(w, t, r, err, errlen) != DF_OK)
        return r->status;

    r->stage = "chunks";
    struct job j = { .data = w->data, .data_bytes = w->data_bytes, .chunk_bytes = in->chunk_bytes, .n = in->n_chunks,
                     .hashes = in->hashes, .lock = PTHREAD_MUTEX_INITIALIZER };
    atomic_init(&j.next, 0);
    atomic_init(&j.done_bytes, 0);
    atomic_init(&j.running, 0);
    int threads = opt && opt->threads > 0 ? opt->threads : online_cpus();
    if (threads > MAX_VERIFY_THREADS)
        threads = MAX_VERIFY_THREADS;
    int progress = opt ? opt->progress : -1;
    if (progress < 0)
        progress = isatty(2) && w->data_bytes >= PROGRESS_MIN_BYTES;
    double h0 = now();
    r->threads = run_chunks(&j, threads, progress);
    r->hash_seconds = now() - h0;
    pthread_mutex_destroy(&j.lock);
    r->bad_chunks = j.bad_count;
    memcpy(r->bad, j.bad, sizeof r->bad);
    r->seconds = now() - t0;
    if (j.bad_count > 0) {
        describe_bad(m, &j, err, errlen);
        return r->status;
    }
    r->stage = "done";
    r->status = DF_OK;
    return DF_OK;
}

/* ---- JSON ------------------------------------------------------------------ */

struct buf {
    char *p;
    size_t n, len;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p + b->len, b->len < b->n ? b->n - b->len : 0, fmt, ap);
    va_end(ap);
    if (k > 0)
        b->len += (size_t)k;
}

static void put_str(struct buf *b, const char *key, const char *s)
{
    put(b, "%s\"%s\":", b->len > 1 ? "," : "", key);
    if (!s) {
        put(b, "null");
        return;
    }
    put(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            put(b, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            put(b, "\\u%04x", c);
        else
            put(b, "%c", c);
    }
    put(b, "\"");
}

void df_verify_report_json(const struct df_verify_report *r, const char *path, const char *model, const char *error,
                           char *out, size_t outlen)
{
    struct buf b = { out, outlen, 0 };
    if (outlen == 0)
        return;
    put(&b, "{");
    put_str(&b, "file", path);
    put_str(&b, "model", model);
    put(&b, ",\"verified\":%s", r->status == 0 ? "true" : "false");
    put(&b, ",\"exit\":%d", r->status);
    put_str(&b, "stage", r->stage ? r->stage : "open");
    put(&b, ",\"signed\":%s,\"trusted_signature\":%s", r->is_signed ? "true" : "false",
        r->key_trusted ? "true" : "false");
    put_str(&b, "key_id", r->key_id[0] ? r->key_id : NULL);
    put_str(&b, "trusted_key", r->key_path);
    put(&b, ",\"data_bytes\":%" PRIu64 ",\"chunk_bytes\":%" PRIu64 ",\"chunks\":%" PRIu64 ",\"bad_chunks\":%" PRIu64
        ",\"first_bad_chunks\":[", r->data_bytes, r->chunk_bytes, r->chunks, r->bad_chunks);
    uint64_t k = r->bad_chunks < DF_VERIFY_MAX_BAD ? r->bad_chunks : DF_VERIFY_MAX_BAD;
    for (uint64_t i = 0; i < k; i++)
        put(&b, "%s%" PRIu64, i ? "," : "", r->bad[i]);
    put(&b, "],\"threads\":%d", r->threads);
    put_str(&b, "sha256", r->sha256_impl);
    put(&b, ",\"seconds\":%.6f,\"hash_gb_per_s\":%.3f", r->seconds,
        r->hash_seconds > 0 ? (double)r->data_bytes / r->hash_seconds / 1e9 : 0.0);
    put_str(&b, "note", r->note[0] ? r->note : NULL);
    put_str(&b, "error", error && error[0] ? error : NULL);
    put(&b, "}");
    if (b.len >= outlen)
        out[outlen - 1] = 0;
}
