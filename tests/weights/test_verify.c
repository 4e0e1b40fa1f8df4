/* test_verify.c: the integrity section end to end, in process: pack a small
 * model (12 chunks of 4 KiB) signed and unsigned with keys made here, then
 * verify good files under each trust policy and refuse every kind of damage:
 * each byte of the header and of the integrity section flipped, a byte in
 * each chunk, spliced data, a re-hashed but unsigned edit, truncation and
 * extension, untrusted and missing signatures, broken signature encodings.
 * Everything happens in a mkdtemp directory that is removed at the end. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runtime/verify.h"
#include "../../runtime/weights_file.h"
#include "../../weights/integrity.h"
#include "../../weights/pack.h"
#include "../../weights/sha256.h"
#include "../../weights/sign.h"

static int passed, failed;
static char root[256];

static void check(int ok, const char *what, const char *detail)
{
    int show = !ok && detail && *detail;   /* the message only when it explains a failure */
    printf("%s: %s%s%s\n", ok ? "ok" : "FAIL", what, show ? " -- " : "", show ? detail : "");
    if (ok)
        passed++;
    else
        failed++;
}

/* ---- the model: four F32 tensors, 48192 data bytes, 12 chunks of 4096 ---- */

static const struct df_tensor tensors[] = {
    { "a", "model.a", DF_F32, 2, { 16, 64 }, -1, 0, 4096 },
    { "b", "model.b", DF_F32, 2, { 10, 100 }, -1, 4096, 4000 },
    { "c", "model.c", DF_F32, 2, { 50, 200 }, -1, 8128, 40000 },
    { "d", "model.d", DF_F32, 1, { 8, 1 }, -1, 48128, 32 },
};
#define DATA 48192u
#define CHUNK 4096u
#define NCHUNK 12u
#define ISEC (256u + 32u * NCHUNK)
#define FILE_BYTES (4096u + DATA + ISEC)
static const struct df_manifest manifest = {
    "vmodel", "test-gen-2", { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                              17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 },
    4, tensors, DATA,
};

static void path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", root, name);
}

static void write_file(const char *name, const void *a, size_t n)
{
    char path[512];
    path_of(path, sizeof path, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(a, 1, n, f) != n || fclose(f)) {
        perror(path);
        exit(1);
    }
}

static size_t read_file(const char *name, unsigned char *buf, size_t cap)
{
    char path[512];
    path_of(path, sizeof path, name);
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap, f) : 0;
    if (f)
        fclose(f);
    return n;
}

/* A safetensors checkpoint of the model in directory dir, values from seed. */
static void write_checkpoint(const char *dir, unsigned seed)
{
    char path[512], header[1024];
    path_of(path, sizeof path, dir);
    mkdir(path, 0700);
    size_t elems[] = { 16 * 64, 10 * 100, 50 * 200, 8 }, total = 0;
    int h = snprintf(header, sizeof header,
                     "{\"model.a\":{\"dtype\":\"F32\",\"shape\":[16,64],\"data_offsets\":[0,4096]},"
                     "\"model.b\":{\"dtype\":\"F32\",\"shape\":[10,100],\"data_offsets\":[4096,8096]},"
                     "\"model.c\":{\"dtype\":\"F32\",\"shape\":[50,200],\"data_offsets\":[8096,48096]},"
                     "\"model.d\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[48096,48128]}}");
    for (int i = 0; i < 4; i++)
        total += elems[i];
    while (h % 8)
        header[h++] = ' ';
    size_t n = 8 + (size_t)h + 4 * total;
    unsigned char *buf = malloc(n);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)h >> 8 * i);
    memcpy(buf + 8, header, (size_t)h);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < total; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        float f = (float)(x % 20001) / 1000.0f - 10.0f;
        memcpy(buf + 8 + h + 4 * i, &f, 4);
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    write_file(path, buf, n);
    free(buf);
}

static int pack_to(const char *dir, const char *out, const char *key)
{
    char hf[512], path[512], err[1024] = "";
    struct df_pack_stats st;
    struct df_pack_options opt = { NULL, CHUNK };
    char keypath[512];
    if (key) {
        path_of(keypath, sizeof keypath, key);
        opt.sign_key = keypath;
    }
    path_of(hf, sizeof hf, dir);
    path_of(path, sizeof path, out);
    int rc = df_pack(&manifest, hf, path, &opt, &st, err, sizeof err);
    if (rc != DF_OK)
        printf("pack %s: %s\n", out, err);
    return rc;
}

/* ---- trust -------------------------------------------------------------- */

static char pem_a[512], pem_b[512];
static struct df_trusted_key key_a, key_b;
static struct df_trust trust_a, trust_none, trust_b;

static void load_trusted(const char *name, char *pem, struct df_trusted_key *tk)
{
    size_t n = read_file(name, (unsigned char *)pem, 511);
    pem[n] = 0;
    struct df_key *k;
    char err[512];
    if (df_key_parse_public(pem, &k, err, sizeof err) != DF_OK) {
        printf("FAIL: parse %s: %s\n", name, err);
        exit(1);
    }
    tk->path = name;
    tk->pem = pem;
    memcpy(tk->key_id, df_key_id(k), 32);
    df_key_free(k);
}

/* ---- verifying ------------------------------------------------------------ */

/* Writes bytes as a file, opens and verifies it; returns the status and the
 * message (open's or verify's) in err. */
static int verify_bytes(const unsigned char *bytes, size_t n, const struct df_trust *t, int threads,
                        struct df_verify_report *r, char *err, size_t errlen)
{
    char path[512];
    struct df_weights w;
    struct df_verify_options opt = { threads, 0 };
    write_file("case.weights", bytes, n);
    path_of(path, sizeof path, "case.weights");
    memset(r, 0, sizeof *r);
    int rc = df_weights_open(path, &manifest, &w, err, errlen);
    if (rc != DF_OK)
        return rc;
    rc = df_weights_verify(&w, &manifest, t, &opt, r, err, errlen);
    df_weights_close(&w);
    return rc;
}

static void refuse(const char *label, const unsigned char *bytes, size_t n, const struct df_trust *t,
                   const char *phrase)
{
    char err[1024] = "", what[200];
    struct df_verify_report r;
    int rc = verify_bytes(bytes, n, t, 2, &r, err, sizeof err);
    snprintf(what, sizeof what, "refuse %s", label);
    check(rc == DF_BAD && strstr(err, phrase) && !strchr(err, '\n'), what, err);
}

static unsigned char good[FILE_BYTES], unsigned_file[FILE_BYTES], by_b[FILE_BYTES], other[FILE_BYTES];
static unsigned char work[FILE_BYTES + 1];

static void test_good(void)
{
    char err[1024] = "", what[160];
    struct df_verify_report r;
    for (int threads = 1; threads <= 16; threads *= 2) {
        int rc = verify_bytes(good, sizeof good, &trust_a, threads, &r, err, sizeof err);
        snprintf(what, sizeof what, "signed file verifies with the trusted key, %d thread(s)", threads);
        check(rc == DF_OK && r.is_signed && r.key_trusted && r.chunks == NCHUNK && r.bad_chunks == 0 &&
              r.threads == (threads < (int)NCHUNK ? threads : (int)NCHUNK) && !r.note[0], what, err);
    }
    int rc = verify_bytes(unsigned_file, sizeof unsigned_file, &trust_none, 0, &r, err, sizeof err);
    check(rc == DF_OK && !r.is_signed && strstr(r.note, "NOT signed"),
          "unsigned file accepted, with a note, when no key is trusted", rc ? err : r.note);
    rc = verify_bytes(good, sizeof good, &trust_none, 0, &r, err, sizeof err);
    check(rc == DF_OK && r.is_signed && !r.key_trusted && strstr(r.note, "signature NOT checked"),
          "signed file under a binary that trusts no key: accepted, signature not checked, said so",
          rc ? err : r.note);
    rc = verify_bytes(by_b, sizeof by_b, &trust_b, 0, &r, err, sizeof err);
    check(rc == DF_OK && r.key_trusted, "file signed by key B verifies where B is trusted", err);

    char json[4096];
    df_verify_report_json(&r, "x\"y.weights", "vmodel", NULL, json, sizeof json);
    check(strstr(json, "\"file\":\"x\\\"y.weights\"") && strstr(json, "\"verified\":true") &&
          strstr(json, "\"chunks\":12") && strstr(json, "\"error\":null") && json[strlen(json) - 1] == '}',
          "report as one JSON line, strings escaped", json);
}

static void test_flips(void)
{
    char err[1024], what[200];
    struct df_verify_report r;
    /* Every header byte. */
    int missed = 0;
    for (size_t i = 0; i < 4096; i++) {
        memcpy(work, good, sizeof good);
        work[i] ^= 0x01;
        if (verify_bytes(work, sizeof good, &trust_a, 1, &r, err, sizeof err) != DF_BAD) {
            if (!missed)
                printf("     header byte %zu flipped is accepted\n", i);
            missed++;
        }
    }
    snprintf(what, sizeof what, "refuse each of the 4096 header bytes flipped (%d accepted)", missed);
    check(missed == 0, what, NULL);

    /* Every byte of the integrity section. */
    missed = 0;
    for (size_t i = 4096 + DATA; i < FILE_BYTES; i++) {
        memcpy(work, good, sizeof good);
        work[i] ^= 0x80;
        if (verify_bytes(work, sizeof good, &trust_a, 1, &r, err, sizeof err) != DF_BAD) {
            if (!missed)
                printf("     integrity byte %zu flipped is accepted\n", i - 4096 - DATA);
            missed++;
        }
    }
    snprintf(what, sizeof what, "refuse each of the %u integrity-section bytes flipped (%d accepted)", ISEC, missed);
    check(missed == 0, what, NULL);

    /* One byte in each chunk: the message names that chunk. */
    missed = 0;
    for (unsigned c = 0; c < NCHUNK; c++) {
        size_t at = 4096 + (size_t)c * CHUNK + (c * 997) % (c + 1 < NCHUNK ? CHUNK : DATA - (NCHUNK - 1) * CHUNK);
        char want[64];
        memcpy(work, good, sizeof good);
        work[at] ^= 0x10;
        snprintf(want, sizeof want, "chunk %u of %u ", c, NCHUNK);
        int rc = verify_bytes(work, sizeof good, &trust_a, 3, &r, err, sizeof err);
        if (rc != DF_BAD || !strstr(err, want) || r.bad_chunks != 1 || r.bad[0] != c) {
            printf("     chunk %u: %s\n", c, err);
            missed++;
        }
    }
    check(missed == 0, "refuse one flipped byte in each of the 12 chunks, naming the chunk", NULL);

    memcpy(work, good, sizeof good);
    work[4096 + 5000] ^= 1;   /* in 'b' (4096..8095), chunk 1 (4096..8191), which also holds 'c' */
    refuse("a flipped byte in tensor b", work, sizeof good, &trust_a,
           "chunk 1 of 12 (data bytes 4096..8191) does not match its hash: the weights were modified or corrupted; "
           "it holds tensors 'b', 'c'");
    memcpy(work, good, sizeof good);
    work[4096 + 8100] ^= 1;   /* padding between 'b' and 'c' */
    refuse("a flipped padding byte", work, sizeof good, &trust_a, "chunk 1 of 12");
    memcpy(work, good, sizeof good);
    work[4096 + 3 * CHUNK] ^= 1;
    work[4096 + 7 * CHUNK + 9] ^= 1;
    work[4096 + 11 * CHUNK] ^= 1;
    refuse("three bad chunks, all listed", work, sizeof good, &trust_a, "(3 bad chunks in all: 3 7 11)");
    memcpy(work, good, sizeof good);
    work[4096 + DATA - 1] ^= 1;
    refuse("the last byte of the data (tensor d)", work, sizeof good, &trust_a, "chunk 11 of 12 (data bytes "
           "45056..48191) does not match its hash: the weights were modified or corrupted; it holds tensors 'c', 'd'");
}

/* The damage a careful forger does: change a tensor, recompute its chunk hash,
 * the root and the header hash. Only the signature stops it. */
static void test_rehashed_edit(void)
{
    char err[1024];
    memcpy(work, good, sizeof good);
    work[4096 + 100] ^= 0x40;
    unsigned char *sec = work + 4096 + DATA;
    df_sha256(work + 4096, CHUNK, sec + 256);   /* chunk 0's hash */
    df_integrity_root(sec + 256, NCHUNK, sec + 64);
    refuse("a tensor edit with chunk hash and root recomputed", work, sizeof good, &trust_a,
           "signature does not verify with trusted key");

    /* Same with an edited model-identity byte in the header (generator version),
     * its hash recomputed too. */
    memcpy(work, good, sizeof good);
    work[136] = 'X';
    df_sha256(work, 4096, sec + 32);
    refuse("a header edit with the header hash recomputed", work, sizeof good, &trust_a,
           "signature does not verify with trusted key");

    /* Unsigned, the same edit passes the hashes: that is what unsigned means. */
    memcpy(work, unsigned_file, sizeof good);
    work[4096 + 100] ^= 0x40;
    df_sha256(work + 4096, CHUNK, sec + 256);
    df_integrity_root(sec + 256, NCHUNK, sec + 64);
    struct df_verify_report r;
    int rc = verify_bytes(work, sizeof good, &trust_none, 1, &r, err, sizeof err);
    check(rc == DF_OK && strstr(r.note, "not deliberate changes"),
          "unsigned: a consistently re-hashed edit passes, and the note says hashes stop corruption only", err);
}

static void test_signature_cases(void)
{
    unsigned char *sec;
    refuse("a file signed by an untrusted key", by_b, sizeof by_b, &trust_a,
           "which this binary does not trust (it trusts ");
    refuse("an unsigned file where a signature is required", unsigned_file, sizeof unsigned_file, &trust_a,
           "not signed, but this binary runs only weights signed by one of its trusted keys (a.pub.pem)");

    memcpy(work, good, sizeof good);
    sec = work + 4096 + DATA;
    sec[132] = 0x31;   /* DER SEQUENCE tag */
    refuse("a signature whose DER tag is broken", work, sizeof good, &trust_a, "corrupt signature encoding");
    memcpy(work, good, sizeof good);
    sec[133] ^= 0x04;  /* DER SEQUENCE length */
    refuse("a signature whose DER length is broken", work, sizeof good, &trust_a, "corrupt signature encoding");
    memcpy(work, good, sizeof good);
    sec[128] = 200;    /* sig_len */
    refuse("a signature length over 72", work, sizeof good, &trust_a, "corrupt signature encoding: length 200");
    memcpy(work, good, sizeof good);
    uint32_t len = sec[128];
    sec[128] = (unsigned char)(len - 1);   /* drops the last byte, which must now be zero */
    refuse("a signature one byte short", work, sizeof good, &trust_a, "corrupt signature encoding");
    memcpy(work, good, sizeof good);
    sec[132 + 10] ^= 0x01;   /* inside r */
    refuse("a flipped bit inside r", work, sizeof good, &trust_a, "signature does not verify");
    memcpy(work, good, sizeof good);
    sec[12] = 0;   /* claims unsigned while carrying a signature */
    refuse("a signed file relabelled unsigned", work, sizeof good, &trust_none,
           "unsigned, but the key id or signature fields are not zero");
    memcpy(work, by_b, sizeof by_b);
    memcpy(sec + 96, key_a.key_id, 32);   /* B's signature claiming to be A's */
    refuse("key B's signature labelled with key A's id", work, sizeof good, &trust_a, "signature does not verify");

    /* The strict DER reader on its own. */
    static const uint8_t ok1[] = { 0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01 };
    static const uint8_t neg[] = { 0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01 };
    static const uint8_t pad[] = { 0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01 };
    static const uint8_t zero[] = { 0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01 };
    static const uint8_t hi[] = { 0x30, 0x07, 0x02, 0x02, 0x00, 0x81, 0x02, 0x01, 0x01 };
    static const uint8_t trail[] = { 0x30, 0x08, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00, 0x00 };
    check(df_sig_der_ok(ok1, sizeof ok1) && !df_sig_der_ok(neg, sizeof neg) && !df_sig_der_ok(pad, sizeof pad) &&
          !df_sig_der_ok(zero, sizeof zero) && df_sig_der_ok(hi, sizeof hi) && !df_sig_der_ok(trail, sizeof trail) &&
          !df_sig_der_ok(ok1, 7),
          "DER: minimal positive integers only, nothing after", NULL);
}

static void test_other_data(void)
{
    /* Another checkpoint's tensors in this file's frame: every chunk differs. */
    memcpy(work, good, sizeof good);
    memcpy(work + 4096, other + 4096, DATA);
    refuse("tensors from another checkpoint spliced in", work, sizeof good, &trust_a,
           "(12 bad chunks in all: 0 1 2 3 4 5 6 7 ...)");
    /* The other checkpoint's file, signed by the untrusted key. */
    refuse("another checkpoint's file signed by an untrusted key", other, sizeof other, &trust_a,
           "does not trust");
    /* Its integrity section on our data. */
    memcpy(work, good, sizeof good);
    memcpy(work + 4096 + DATA, other + 4096 + DATA, ISEC);
    refuse("another file's (validly signed) integrity section on this data", work, sizeof good, &trust_b,
           "(12 bad chunks in all:");

    char err[1024];
    struct df_verify_report r;
    check(verify_bytes(good, sizeof good - 1, &trust_a, 1, &r, err, sizeof err) == DF_BAD &&
          strstr(err, "truncated"), "refuse a truncated file", err);
    memcpy(work, good, sizeof good);
    work[sizeof good] = 0;
    check(verify_bytes(work, sizeof good + 1, &trust_a, 1, &r, err, sizeof err) == DF_BAD &&
          strstr(err, "extra bytes"), "refuse an extended file", err);
}

/* Re-signing (what df-sign does) and the byte layout of the signed message. */
static void test_reseal_and_message(void)
{
    char err[1024], path[512];
    struct df_key *kb;
    struct df_weights w;
    struct df_verify_report r;
    path_of(path, sizeof path, "b.key.pem");
    df_key_load_private(path, &kb, err, sizeof err);
    write_file("reseal.weights", good, sizeof good);
    path_of(path, sizeof path, "reseal.weights");
    int rc = df_weights_open(path, &manifest, &w, err, sizeof err);
    struct df_integrity in = w.integrity;
    rc = rc ? rc : df_seal(w.map, &w.header, &in, kb, err, sizeof err);
    memcpy(work, good, sizeof good);
    df_integrity_encode(&in, work + 4096 + DATA);
    check(rc == DF_OK && memcmp(in.key_id, key_b.key_id, 32) == 0 &&
          verify_bytes(work, sizeof good, &trust_b, 2, &r, err, sizeof err) == DF_OK && r.key_trusted &&
          verify_bytes(work, sizeof good, &trust_a, 2, &r, err, sizeof err) == DF_BAD,
          "re-signing with key B: B's binary accepts it, A's refuses it", err);

    unsigned char msg[DF_SIGNED_MESSAGE_BYTES];
    uint8_t hh[32];
    df_sha256(w.map, 4096, hh);
    df_signed_message(&w.header, hh, &w.integrity, msg);
    check(memcmp(msg, "deepfreeze weights signature v1\0", 32) == 0 && msg[32] == 2 && msg[36] == 1 && msg[40] == 1 &&
          memcmp(msg + 44, manifest.sha256, 32) == 0 && strcmp((char *)msg + 76, "vmodel") == 0 &&
          strcmp((char *)msg + 140, "test-gen-2") == 0 && memcmp(msg + 172, hh, 32) == 0 &&
          msg[204] == (DATA & 0xff) && msg[205] == (DATA >> 8) && msg[212 + 1] == (CHUNK >> 8) &&
          msg[220] == NCHUNK && memcmp(msg + 228, w.integrity.root, 32) == 0 &&
          memcmp(msg + 260, key_a.key_id, 32) == 0,
          "signed message: fields at the offsets docs/weights-format.md gives", NULL);
    df_weights_close(&w);
    df_key_free(kb);
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    char sub[1024];
    while (d && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
        struct stat sb;
        if (lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
            remove_tree(sub);
        else
            unlink(sub);
    }
    if (d)
        closedir(d);
    rmdir(path);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    char a_key[512], a_pub[512], b_key[512], b_pub[512], err[512];
    snprintf(root, sizeof root, "%s/df-test-verify-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        perror(root);
        return 1;
    }
    path_of(a_key, sizeof a_key, "a.key.pem");
    path_of(a_pub, sizeof a_pub, "a.pub.pem");
    path_of(b_key, sizeof b_key, "b.key.pem");
    path_of(b_pub, sizeof b_pub, "b.pub.pem");
    int rc = df_key_generate(a_key, a_pub, err, sizeof err);
    rc = rc ? rc : df_key_generate(b_key, b_pub, err, sizeof err);
    check(rc == DF_OK, "generate two key pairs", err);
    check(df_key_generate(a_key, a_pub, err, sizeof err) == DF_IO && strstr(err, "File exists"),
          "key generation never overwrites a key", err);
    struct stat sb;
    check(stat(a_key, &sb) == 0 && (sb.st_mode & 077) == 0, "private key file is mode 0600", NULL);
    load_trusted("a.pub.pem", pem_a, &key_a);
    load_trusted("b.pub.pem", pem_b, &key_b);
    trust_a = (struct df_trust){ 1, &key_a, 0 };
    trust_b = (struct df_trust){ 1, &key_b, 0 };
    trust_none = (struct df_trust){ 0, NULL, 0 };
    struct df_key *k;
    check(df_key_load_private(a_pub, &k, err, sizeof err) == DF_BAD, "a public key is not a signing key", err);
    const char *junk = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
    write_file("junk.pem", junk, strlen(junk));
    path_of(a_pub, sizeof a_pub, "junk.pem");
    check(df_key_load_private(a_pub, &k, err, sizeof err) == DF_BAD, "a broken PEM key is refused", err);

    write_checkpoint("hf", 1);
    write_checkpoint("hf2", 2);
    rc = pack_to("hf", "good.weights", "a.key.pem") | pack_to("hf", "again.weights", "a.key.pem") |
         pack_to("hf", "unsigned.weights", NULL) | pack_to("hf", "b.weights", "b.key.pem") |
         pack_to("hf2", "other.weights", "b.key.pem");
    check(rc == DF_OK && read_file("good.weights", good, sizeof good) == sizeof good &&
          read_file("unsigned.weights", unsigned_file, sizeof good) == sizeof good &&
          read_file("b.weights", by_b, sizeof good) == sizeof good &&
          read_file("other.weights", other, sizeof good) == sizeof good,
          "pack signed (keys A, B) and unsigned files of 12 chunks", NULL);
    read_file("again.weights", work, sizeof work);
    check(memcmp(work, good, sizeof good) == 0, "packing twice with one key gives the same bytes (RFC 6979)", NULL);
    struct df_pack_stats st;
    struct df_pack_options bad = { NULL, 5000 };
    char hf[512], out[512];
    path_of(hf, sizeof hf, "hf");
    path_of(out, sizeof out, "x.weights");
    check(df_pack(&manifest, hf, out, &bad, &st, err, sizeof err) == DF_BAD && strstr(err, "power of two"),
          "packer refuses a chunk size that is not a power of two", err);
    bad = (struct df_pack_options){ a_key, 0 };
    path_of(a_key, sizeof a_key, "nope.key.pem");
    check(df_pack(&manifest, hf, out, &bad, &st, err, sizeof err) == DF_IO && strstr(err, "nope.key.pem") &&
          access(out, F_OK) != 0, "packer refuses a missing key before writing anything", err);

    test_good();
    test_flips();
    test_rehashed_edit();
    test_signature_cases();
    test_other_data();
    test_reseal_and_message();
    remove_tree(root);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
