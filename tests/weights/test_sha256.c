/* test_sha256.c: weights/sha256.c against mbedTLS, with each implementation
 * this machine has (SHA-NI when the CPU has it, the mbedTLS-backed fallback
 * always): every length 0..4096 at every alignment mod 16, the same inputs
 * fed in random pieces, large buffers, and the FIPS 180-4 examples. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "../../weights/sha256.h"

static int passed, failed;

static void check(int ok, const char *impl, const char *what)
{
    printf("%s: [%s] %s\n", ok ? "ok" : "FAIL", impl, what);
    if (ok)
        passed++;
    else
        failed++;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void ref(const unsigned char *p, size_t n, uint8_t out[32])
{
    mbedtls_sha256_ret(p, n, out, 0);
}

static void hex_is(const uint8_t d[32], const char *want, const char *impl, const char *what)
{
    char got[65];
    for (int i = 0; i < 32; i++)
        snprintf(got + 2 * i, 3, "%02x", d[i]);
    check(strcmp(got, want) == 0, impl, what);
}

static void run(const char *impl, unsigned char *buf, size_t big)
{
    uint8_t a[32], b[32];
    int bad = 0;
    for (size_t n = 0; n <= 4096; n++) {
        const unsigned char *p = buf + n % 16;   /* every alignment mod 16 */
        df_sha256(p, n, a);
        ref(p, n, b);
        bad += memcmp(a, b, 32) != 0;
    }
    check(bad == 0, impl, "every length 0..4096, one call, vs mbedTLS");

    bad = 0;
    for (size_t n = 0; n <= 4096; n++) {
        struct df_sha256 c;
        size_t done = 0;
        df_sha256_init(&c);
        while (done < n) {
            size_t k = (size_t)(next() % 150);
            k = k > n - done ? n - done : k;
            df_sha256_update(&c, buf + 3 + done, k);
            done += k;
        }
        df_sha256_final(&c, a);
        ref(buf + 3, n, b);
        bad += memcmp(a, b, 32) != 0;
    }
    check(bad == 0, impl, "every length 0..4096 in random pieces (0..149 bytes), vs mbedTLS");

    size_t sizes[] = { big, big - 1, big - 63, 4u << 20, (4u << 20) + 55 };
    bad = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        df_sha256(buf + 1, sizes[i], a);
        ref(buf + 1, sizes[i], b);
        bad += memcmp(a, b, 32) != 0;
    }
    check(bad == 0, impl, "large buffers (4 MiB, 64 MiB, odd sizes), vs mbedTLS");

    df_sha256("abc", 3, a);
    hex_is(a, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", impl, "FIPS 180-4: \"abc\"");
    df_sha256("", 0, a);
    hex_is(a, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", impl, "FIPS 180-4: empty");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    df_sha256(two, strlen(two), a);
    hex_is(a, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", impl, "FIPS 180-4: 448 bits");
    unsigned char *as = malloc(1000000);
    memset(as, 'a', 1000000);
    df_sha256(as, 1000000, a);
    free(as);
    hex_is(a, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", impl, "FIPS 180-4: a million 'a'");
}

int main(void)
{
    size_t big = 64u << 20;
    unsigned char *buf = malloc(big + 64);
    if (!buf)
        return 1;
    for (size_t i = 0; i < big + 64; i += 8) {
        uint64_t v = next();
        memcpy(buf + i, &v, 8);
    }
    printf("default implementation here: %s\n", df_sha256_impl());
    if (df_sha256_select("sha-ni") == 0)
        run("sha-ni", buf, big);
    else
        printf("skip: [sha-ni] this CPU has no SHA extensions\n");
    check(df_sha256_select("mbedtls") == 0, "mbedtls", "select the fallback");
    run("mbedtls", buf, big);
    check(df_sha256_select("bogus") == -1, "auto", "an unknown implementation is refused");
    df_sha256_select("auto");
    check(strcmp(df_sha256_impl(), df_sha256_have_shani() ? "sha-ni" : "mbedtls") == 0, "auto",
          "auto picks SHA-NI exactly when the CPU has it");
    free(buf);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
