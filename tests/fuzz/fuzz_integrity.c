/* fuzz_integrity.c: libFuzzer target for the integrity-section parser
 * (weights/integrity.c) and the whole verification (runtime/verify.c: header
 * hash, root, DER signature reader, ECDSA verification through mbedTLS,
 * chunk hashes) on an in-memory weights file of any model. Properties:
 *   - a section the parser accepts re-encodes to the same 256 bytes;
 *   - every refusal has a one-line message;
 *   - under a binary trusting the test key, only a file that key signed passes
 *     (the seeds: nobody can forge a signature by mutation);
 *   - df_sig_der_ok and mbedTLS agree enough never to crash on any bytes.
 * Seeds in tests/fuzz/corpus/fuzz_integrity/ (one to three chunks of 4 KiB). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/verify.h"
#include "../../runtime/weights_file.h"
#include "../../weights/format_io.h"
#include "../../weights/integrity.h"
#include "../../weights/sign.h"

/* tests/keys/test-signing.pub.pem (TEST ONLY). */
static const struct df_trusted_key test_key = {
    "tests/keys/test-signing.pub.pem",
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2W6SvxHYEi1PUdTe8IZ9jDQbXuD2\n"
    "ek3CXV42SPk1vRXVxRUYV86aGbZloU590b5kFUIlyXiy85oF56x2wBJUtA==\n"
    "-----END PUBLIC KEY-----\n",
    { 0x3a, 0xbc, 0x78, 0x99, 0x92, 0xe9, 0x2c, 0x2c, 0x18, 0x74, 0x7a, 0xed, 0x51, 0xfa, 0x16, 0xb0,
      0xa4, 0x6a, 0x4c, 0x39, 0x78, 0x4a, 0xe9, 0x0b, 0x71, 0x90, 0xf1, 0x5d, 0xb4, 0x73, 0xa7, 0x4e },
};
static const struct df_trust trust_test = { 1, &test_key, 0 }, trust_none = { 0, NULL, 0 };

static void one_line(const char *err, size_t n)
{
    if (!memchr(err, 0, n) || strchr(err, '\n'))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct df_weights w;
    struct df_verify_report r;
    struct df_verify_options opt = { 1, 0 };
    char err[1024];
    memset(&w, 0, sizeof w);

    /* Any bytes as a signature: the strict reader, then mbedTLS behind it. */
    size_t sl = size < DF_SIG_MAX ? size : DF_SIG_MAX;
    if (df_sig_der_ok(data, sl)) {
        static struct df_key *k;
        if (!k && df_key_parse_public(test_key.pem, &k, err, sizeof err) != DF_OK)
            abort();
        uint8_t digest[32] = { 0 };
        if (df_key_verify(k, digest, data, sl) == DF_OK)
            abort();   /* a signature of the zero digest found by mutation: impossible */
    }

    if (df_header_check(size >= DF_HEADER_BYTES ? data : NULL, size, NULL, &w.header, err, sizeof err) != DF_OK)
        return 0;
    const uint8_t *sec = data + w.header.integrity_offset;
    if (df_integrity_parse(sec, w.header.integrity_bytes, &w.header, &w.integrity, err, sizeof err) != DF_OK) {
        one_line(err, sizeof err);
        return 0;
    }
    unsigned char again[DF_INTEGRITY_FIXED];
    df_integrity_encode(&w.integrity, again);
    if (memcmp(again, sec, DF_INTEGRITY_FIXED) != 0 || w.integrity.hashes != sec + DF_INTEGRITY_FIXED)
        abort();

    w.map = (void *)(uintptr_t)data;
    w.map_bytes = size;
    w.data = data + w.header.data_offset;
    w.data_bytes = w.header.data_bytes;
    int rc = df_weights_verify(&w, NULL, &trust_test, &opt, &r, err, sizeof err);
    if (rc != DF_OK)
        one_line(err, sizeof err);
    else if (!r.key_trusted || memcmp(w.integrity.key_id, test_key.key_id, 32) != 0)
        abort();
    rc = df_weights_verify(&w, NULL, &trust_none, &opt, &r, err, sizeof err);
    if (rc != DF_OK)
        one_line(err, sizeof err);
    char json[4096];
    df_verify_report_json(&r, "fuzz", w.header.model_name, rc ? err : NULL, json, sizeof json);
    if (!memchr(json, 0, sizeof json))
        abort();
    return 0;
}
