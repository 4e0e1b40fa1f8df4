/* sha256.h: SHA-256 (FIPS 180-4) for the weight file's integrity section.
 *
 * Two compression functions behind one interface: the x86 SHA extensions
 * (SHA-NI: sha256rnds2, sha256msg1, sha256msg2), chosen at run time when
 * cpuid reports them, and mbedTLS's portable implementation everywhere else.
 * Both give the same digests (tests/weights/test_sha256.c checks every length
 * from 0 to 4096 and large buffers against mbedTLS). */
#ifndef DF_SHA256_H
#define DF_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct df_sha256 {
    uint32_t h[8];
    uint64_t bytes;           /* total bytes fed */
    unsigned char buf[64];    /* a partial block */
    size_t fill;              /* bytes in buf */
};

void df_sha256_init(struct df_sha256 *c);
void df_sha256_update(struct df_sha256 *c, const void *data, size_t n);
void df_sha256_final(struct df_sha256 *c, uint8_t out[32]);
void df_sha256(const void *data, size_t n, uint8_t out[32]);

/* The implementation in use: "sha-ni" or "mbedtls". */
const char *df_sha256_impl(void);
/* 1 if this CPU has the SHA extensions (and SSSE3, SSE4.1) and this build has
 * the SHA-NI code. */
int df_sha256_have_shani(void);
/* Select "sha-ni", "mbedtls" or "auto" (the default: SHA-NI if the CPU has
 * it) for tests and benchmarks. Returns 0, or -1 if unavailable here. Not
 * thread-safe: call before hashing starts. */
int df_sha256_select(const char *impl);

#endif
