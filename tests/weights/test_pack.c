/* test_pack.c: the packer end to end on tiny checkpoints written here, its
 * refusals, element conversion, the header encoding and the weight-file
 * loader's refusals. Everything happens in a mkdtemp directory that is
 * removed at the end. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runtime/weights_file.h"
#include "../../weights/convert.h"
#include "../../weights/format_io.h"
#include "../../weights/pack.h"

static int passed, failed;
static char root[256];

static void check(int ok, const char *what, const char *detail)
{
    printf("%s: %s%s%s\n", ok ? "ok" : "FAIL", what, detail ? " -- " : "", detail ? detail : "");
    if (ok)
        passed++;
    else
        failed++;
}

/* ---- the test model ---------------------------------------------------- */

#define E "model.embed_tokens.weight"
#define N "model.norm.weight"
#define D "model.layers.0.mlp.down_proj.weight"
#define S "model.layers.0.mlp.down_proj.weight_scale_inv"
#define O "model.layers.0.self_attn.o_proj.weight"
#define U "model.layers.0.mlp.gate.e_score_correction_bias"

static const struct df_tensor tensors[] = {
    { "embed", E, DF_F32, 2, { 3, 5 }, -1, 0, 60 },            /* BF16 -> F32 */
    { "norm", N, DF_F32, 1, { 5, 1 }, -1, 64, 20 },            /* F16 -> F32 */
    { "l0.down", D, DF_F8E4M3, 2, { 130, 4 }, 3, 128, 520 },   /* F8 copy, scale below */
    { "l0.down.scale", S, DF_F32, 2, { 2, 4 }, -1, 704, 32 },  /* F32, rows padded from 1 to 4 */
    { "l0.o", O, DF_BF16, 2, { 2, 3 }, -1, 768, 12 },          /* BF16 copy */
};
#define DATA_BYTES 832u
#define INTEGRITY_BYTES (256u + 32u)             /* one 4 MiB chunk */
#define FILE_BYTES (4096u + DATA_BYTES + INTEGRITY_BYTES)

static const struct df_manifest manifest = {
    "testmodel", "test-gen-1",
    { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
      13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28 },
    5, tensors, DATA_BYTES,
};

/* Checkpoint contents. */
static uint16_t embed_bf16[15], o_bf16[6];
static const uint16_t norm_f16[5] = { 0x3c00, 0xc100, 0x0001, 0x7bff, 0x8000 };
static const float norm_f32[5] = { 1.0f, -2.5f, 5.9604644775390625e-08f, 65504.0f, -0.0f };
static uint8_t down_f8[520];
static const float scale_f32[2] = { 0.5f, 2.0f };
static const float bias_f32[4] = { 1, 2, 3, 4 };
static unsigned char expected[DATA_BYTES];

static void make_data(void)
{
    for (int i = 0; i < 15; i++)
        embed_bf16[i] = (uint16_t)(0x3f80 + 37 * i) ^ (uint16_t)(i & 1 ? 0x8000 : 0);
    for (int i = 0; i < 6; i++)
        o_bf16[i] = (uint16_t)(0x4000 + 1000 * i);
    for (int i = 0; i < 520; i++)
        down_f8[i] = (uint8_t)(i * 7 + 3);
    for (int i = 0; i < 15; i++) {
        uint32_t f = (uint32_t)embed_bf16[i] << 16;
        memcpy(expected + 4 * i, &f, 4);
    }
    memcpy(expected + 64, norm_f32, 20);
    memcpy(expected + 128, down_f8, 520);
    memcpy(expected + 704, &scale_f32[0], 4);   /* a row of block scales, then 3 zeros */
    memcpy(expected + 720, &scale_f32[1], 4);
    memcpy(expected + 768, o_bf16, 12);
}

/* ---- writing checkpoints ----------------------------------------------- */

struct src {
    const char *name, *dtype;
    int ndim;
    int64_t shape[3];
    const void *data;
    size_t bytes;
};

static const struct src s_embed = { E, "BF16", 2, { 3, 5 }, embed_bf16, 30 };
static const struct src s_norm = { N, "F16", 1, { 5 }, norm_f16, 10 };
static const struct src s_down = { D, "F8_E4M3", 2, { 130, 4 }, down_f8, 520 };
static const struct src s_scale = { S, "F32", 2, { 2, 1 }, scale_f32, 8 };
static const struct src s_o = { O, "BF16", 2, { 2, 3 }, o_bf16, 12 };
static const struct src s_bias = { U, "F32", 1, { 4 }, bias_f32, 16 };

static void path_in(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s/%s", root, dir, name);
}

static void write_bytes(const char *path, const void *a, size_t na, const void *b, size_t nb)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(a, 1, na, f) != na || (nb && fwrite(b, 1, nb, f) != nb) || fclose(f)) {
        perror(path);
        exit(1);
    }
}

/* A raw safetensors file: the 8-byte length (len_override unless ~0), header, data. */
static void write_raw(const char *dir, const char *name, const char *header, uint64_t len_override,
                      const void *data, size_t data_bytes)
{
    char path[512];
    size_t hl = strlen(header), n = 8 + hl + data_bytes;
    uint64_t len = len_override != ~0ull ? len_override : hl;
    unsigned char *buf = malloc(n + 1);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(len >> 8 * i);
    memcpy(buf + 8, header, hl);
    if (data_bytes)
        memcpy(buf + 8 + hl, data, data_bytes);
    path_in(path, sizeof path, dir, name);
    write_bytes(path, buf, n, NULL, 0);
    free(buf);
}

/* A well-formed safetensors file holding the given tensors, header padded
 * with spaces to 8 bytes as the reference writer does. */
static void write_st(const char *dir, const char *name, const struct src *const *t, int n)
{
    char header[4096], data[4096];
    size_t h = 0, d = 0;
    h += (size_t)snprintf(header + h, sizeof header - h, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 0; i < n; i++) {
        h += (size_t)snprintf(header + h, sizeof header - h, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t[i]->name,
                              t[i]->dtype);
        for (int k = 0; k < t[i]->ndim; k++)
            h += (size_t)snprintf(header + h, sizeof header - h, "%s%lld", k ? "," : "", (long long)t[i]->shape[k]);
        h += (size_t)snprintf(header + h, sizeof header - h, "],\"data_offsets\":[%zu,%zu]}", d, d + t[i]->bytes);
        memcpy(data + d, t[i]->data, t[i]->bytes);
        d += t[i]->bytes;
    }
    header[h++] = '}';
    while (h % 8)
        header[h++] = ' ';
    header[h] = 0;
    write_raw(dir, name, header, ~0ull, data, d);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[512];
    path_in(path, sizeof path, dir, name);
    write_bytes(path, text, strlen(text), NULL, 0);
}

static void make_dir(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, dir);
    if (mkdir(path, 0700) != 0) {
        perror(path);
        exit(1);
    }
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

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* ---- packing ------------------------------------------------------------ */

static int pack(const struct df_manifest *m, const char *dir, const char *out, struct df_pack_stats *st, char *err,
                size_t errlen)
{
    char hf[512], path[512];
    snprintf(hf, sizeof hf, "%s/%s", root, dir);
    snprintf(path, sizeof path, "%s/%s", root, out);
    return df_pack(m, hf, path, NULL, st, err, errlen);
}

static void pack_ok(const char *dir, int unused)
{
    char err[1024] = "", what[128], path[512];
    struct df_pack_stats st;
    struct df_weights w;
    int rc = pack(&manifest, dir, "out.weights", &st, err, sizeof err);
    snprintf(what, sizeof what, "pack %s", dir);
    check(rc == DF_OK && st.tensors == 5 && st.unused == unused && st.bytes == FILE_BYTES && st.chunks == 1 &&
          !st.is_signed, what,
          rc ? err : NULL);
    snprintf(path, sizeof path, "%s/out.weights", root);
    rc = df_weights_open(path, &manifest, &w, err, sizeof err);
    snprintf(what, sizeof what, "open %s's packed file", dir);
    check(rc == DF_OK, what, rc ? err : NULL);
    if (rc != DF_OK)
        return;
    snprintf(what, sizeof what, "%s: every data byte, padding zero", dir);
    check(w.data_bytes == DATA_BYTES && memcmp(w.data, expected, DATA_BYTES) == 0, what, NULL);
    snprintf(what, sizeof what, "%s: header fields, 64-byte aligned data", dir);
    const struct df_header *h = &w.header;
    check(h->data_offset == 4096 && h->file_bytes == FILE_BYTES && h->integrity_offset == 4096 + DATA_BYTES &&
          h->integrity_bytes == INTEGRITY_BYTES && strcmp(h->model_name, "testmodel") == 0 &&
          strcmp(h->generator_version, "test-gen-1") == 0 &&
          memcmp(h->manifest_sha256, manifest.sha256, 32) == 0 && (uintptr_t)w.data % 64 == 0, what, NULL);
    df_weights_close(&w);
    snprintf(path, sizeof path, "%s/out.weights.tmp", root);
    check(!exists(path), "no .tmp file left after success", NULL);
    snprintf(path, sizeof path, "%s/out.weights", root);
    unlink(path);
}

/* A refusal: the code, a phrase the message must contain, and no file left. */
static void pack_fails(const struct df_manifest *m, const char *dir, int want, const char *phrase, const char *label)
{
    char err[1024] = "", path[512], tmp[512], what[160];
    struct df_pack_stats st;
    int rc = pack(m, dir, "bad.weights", &st, err, sizeof err);
    snprintf(path, sizeof path, "%s/bad.weights", root);
    snprintf(tmp, sizeof tmp, "%s/bad.weights.tmp", root);
    snprintf(what, sizeof what, "refuse %s", label);
    check(rc == want && strstr(err, phrase) && !strchr(err, '\n') && !exists(path) && !exists(tmp), what, err);
}

static void test_pack_good(void)
{
    const struct src *shard1[] = { &s_embed, &s_norm, &s_bias }, *shard2[] = { &s_down, &s_scale, &s_o };
    const struct src *all[] = { &s_o, &s_scale, &s_down, &s_norm, &s_embed, &s_bias };

    make_dir("sharded");
    write_st("sharded", "model-00001-of-00002.safetensors", shard1, 3);
    write_st("sharded", "model-00002-of-00002.safetensors", shard2, 3);
    write_text("sharded", "model.safetensors.index.json",
               "{\"metadata\": {\"total_size\": 596}, \"weight_map\": {"
               "\"" E "\": \"model-00001-of-00002.safetensors\", \"" N "\": \"model-00001-of-00002.safetensors\", "
               "\"" U "\": \"model-00001-of-00002.safetensors\", \"" D "\": \"model-00002-of-00002.safetensors\", "
               "\"" S "\": \"model-00002-of-00002.safetensors\", \"" O "\": \"model-00002-of-00002.safetensors\"}}");
    write_st("sharded", "stray.safetensors", shard1, 1);   /* not in the index: never opened */
    pack_ok("sharded", 1);

    make_dir("single");
    write_st("single", "model.safetensors", all, 6);
    pack_ok("single", 1);

    make_dir("listed");
    write_st("listed", "b.safetensors", shard2, 3);
    write_st("listed", "a.safetensors", shard1, 2);
    pack_ok("listed", 0);
}

static void test_pack_refusals(void)
{
    const struct src *no_norm[] = { &s_embed, &s_down, &s_scale, &s_o };
    make_dir("missing");
    write_st("missing", "model.safetensors", no_norm, 4);
    pack_fails(&manifest, "missing", DF_BAD, "'" N "' (packed as 'norm') is not in the checkpoint", "missing tensor");

    struct src renamed = s_norm;
    renamed.name = "model.final_norm.weight";
    const struct src *other_names[] = { &s_embed, &renamed, &s_down, &s_scale, &s_o };
    make_dir("renamed");
    write_st("renamed", "model.safetensors", other_names, 5);
    pack_fails(&manifest, "renamed", DF_BAD, "(the checkpoint has 1 tensors model 'testmodel' does not use, such as "
               "'model.final_norm.weight': is it a checkpoint of another model?)", "missing tensor, unknown one present");

    struct src e53 = s_embed;
    e53.shape[0] = 5, e53.shape[1] = 3;
    const struct src *wrong_shape[] = { &e53, &s_norm, &s_down, &s_scale, &s_o };
    make_dir("shape");
    write_st("shape", "model.safetensors", wrong_shape, 5);
    pack_fails(&manifest, "shape", DF_BAD, "checkpoint shape [5, 3], the model needs [3, 5]", "wrong shape");

    static const float scale_padded[8] = { 0.5f, 0, 0, 0, 2.0f, 0, 0, 0 };
    struct src sp = { S, "F32", 2, { 2, 4 }, scale_padded, 32 };
    const struct src *padded[] = { &s_embed, &s_norm, &s_down, &sp, &s_o };
    make_dir("padded");
    write_st("padded", "model.safetensors", padded, 5);
    pack_fails(&manifest, "padded", DF_BAD, "'" S "' (packed as 'l0.down.scale'): checkpoint shape [2, 4], the model "
               "needs [2, 1]", "FP8 scales already padded: the checkpoint's are not");

    struct src n2 = s_norm;
    n2.ndim = 2, n2.shape[1] = 1;
    const struct src *wrong_ndim[] = { &s_embed, &n2, &s_down, &s_scale, &s_o };
    make_dir("ndim");
    write_st("ndim", "model.safetensors", wrong_ndim, 5);
    pack_fails(&manifest, "ndim", DF_BAD, "checkpoint shape [5, 1], the model needs [5]", "2-D for a 1-D tensor");

    static const float o_f32[6];
    struct src o32 = { O, "F32", 2, { 2, 3 }, o_f32, 24 };
    const struct src *lossy[] = { &s_embed, &s_norm, &s_down, &s_scale, &o32 };
    make_dir("lossy");
    write_st("lossy", "model.safetensors", lossy, 5);
    pack_fails(&manifest, "lossy", DF_BAD, "'" O "' (packed as 'l0.o'): F32 to BF16 would lose precision",
               "F32 to BF16");

    static const uint8_t e8[15];
    struct src ef8 = { E, "F8_E4M3", 2, { 3, 5 }, e8, 15 };
    const struct src *fp8[] = { &ef8, &s_norm, &s_down, &s_scale, &s_o };
    make_dir("fp8");
    write_st("fp8", "model.safetensors", fp8, 5);
    pack_fails(&manifest, "fp8", DF_BAD, "F8_E4M3 to F32 would need the FP8 block scales", "F8 to F32");

    struct src other = { "transformer.h.0.attn.c_attn.weight", "F32", 1, { 4 }, bias_f32, 16 };
    const struct src *gpt2[] = { &other };
    make_dir("other");
    write_st("other", "model.safetensors", gpt2, 1);
    pack_fails(&manifest, "other", DF_BAD, "is it a checkpoint of another model?", "another model's checkpoint");

    pack_fails(&manifest, "nonexistent", DF_IO, "No such file or directory", "missing checkpoint directory");
    make_dir("empty");
    pack_fails(&manifest, "empty", DF_BAD, "no model.safetensors.index.json, model.safetensors or other",
               "directory without safetensors");

    char err[1024] = "";
    struct df_pack_stats st;
    int rc = pack(&manifest, "single", "no/such/dir/out.weights", &st, err, sizeof err);
    check(rc == DF_IO && strstr(err, "out.weights.tmp: No such file or directory"), "refuse unwritable output", err);

    struct df_tensor bad_tensors[5];
    memcpy(bad_tensors, tensors, sizeof tensors);
    bad_tensors[1].offset = 72;
    struct df_manifest bad = manifest;
    bad.tensors = bad_tensors;
    pack_fails(&bad, "single", DF_BAD, "manifest: tensor 'norm': offset 72 is unaligned", "misaligned manifest");
    bad_tensors[1].offset = 64;
    bad_tensors[3].shape[0] = 1, bad_tensors[3].bytes = 16;
    pack_fails(&bad, "single", DF_BAD, "manifest: tensor 'l0.down': scale 3 is not", "manifest scale of wrong shape");
}

/* Malformed shards: each as the only model.safetensors of its directory. */
static void test_bad_safetensors(void)
{
    static const unsigned char zeros[64];
    static const struct {
        const char *label, *header;
        uint64_t len;   /* ~0: the header's length */
        size_t data;    /* bytes of data after the header */
        const char *phrase;
    } cases[] = {
        { "header length past the end", "{}", 100, 0, "header length 100 exceeds the file" },
        { "header length 2^40", "{}", 1ull << 40, 0, "header length 1099511627776 exceeds" },
        { "bad JSON", "{\"a\": {", ~0ull, 0, "header JSON at byte 15: unexpected end of input" },
        { "header not an object", "[]", ~0ull, 0, "header is a JSON array, not an object" },
        { "offsets out of range", "{\"" E "\":{\"dtype\":\"BF16\",\"shape\":[3,5],\"data_offsets\":[0,30]}}",
          ~0ull, 20, "data_offsets are not [begin, end] within the 20-byte data area" },
        { "begin after end", "{\"" E "\":{\"dtype\":\"BF16\",\"shape\":[0],\"data_offsets\":[8,4]}}", ~0ull, 20,
          "data_offsets are not" },
        { "size mismatch", "{\"" E "\":{\"dtype\":\"BF16\",\"shape\":[3,5],\"data_offsets\":[0,28]}}", ~0ull, 30,
          "shape [3, 5] of BF16 does not fit data_offsets [0, 28]" },
        { "shape overflow", "{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
          "\"data_offsets\":[0,0]}}", ~0ull, 0, "does not fit data_offsets" },
        { "negative dimension", "{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", ~0ull, 0,
          "shape is not an array" },
        { "unknown dtype", "{\"x\":{\"dtype\":\"Q4_K\",\"shape\":[1],\"data_offsets\":[0,1]}}", ~0ull, 1,
          "tensor 'x': unknown dtype Q4_K" },
        { "unknown field", "{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"crc\":1}}", ~0ull, 1,
          "tensor 'x': unknown field 'crc'" },
        { "missing field", "{\"x\":{\"dtype\":\"U8\",\"shape\":[1]}}", ~0ull, 1,
          "tensor 'x': missing field 'data_offsets'" },
        { "non-string metadata", "{\"__metadata__\":{\"n\":1}}", ~0ull, 0, "__metadata__ value is a number" },
        { "duplicate tensor in one shard", "{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
          "\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", ~0ull, 1, "duplicate key \"x\"" },
        { "control character in a name", "{\"a\\nb\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
          ~0ull, 1, "tensor name 'a?b' is empty or has control characters" },
    };
    char dir[32], err[1024];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(dir, sizeof dir, "badst%zu", i);
        make_dir(dir);
        write_raw(dir, "model.safetensors", cases[i].header, cases[i].len, zeros, cases[i].data);
        pack_fails(&manifest, dir, DF_BAD, cases[i].phrase, cases[i].label);
    }
    make_dir("short");
    write_text("short", "model.safetensors", "abc");
    pack_fails(&manifest, "short", DF_BAD, "3 bytes, too short for a safetensors file", "3-byte shard");

    /* The buffer entry point the fuzzer uses: the same checks without a file. */
    struct st_shard sh = { 0 };
    int rc = st_parse((const unsigned char *)"\x02\0\0\0\0\0\0\0{}", 10, "buf", &sh, err, sizeof err);
    check(rc == DF_OK && sh.n_tensors == 0, "st_parse of an empty header", rc ? err : NULL);
    st_shard_free(&sh);
}

static void test_bad_index(void)
{
    const struct src *one[] = { &s_embed }, *two[] = { &s_norm, &s_embed };
    make_dir("idx_missing");
    write_st("idx_missing", "s1.safetensors", one, 1);
    write_text("idx_missing", "model.safetensors.index.json",
               "{\"weight_map\": {\"" E "\": \"s1.safetensors\", \"" N "\": \"s1.safetensors\"}}");
    pack_fails(&manifest, "idx_missing", DF_BAD, "s1.safetensors: tensor '" N "' is missing",
               "tensor in the index but not in its shard");

    make_dir("idx_wrong");
    write_st("idx_wrong", "s1.safetensors", one, 1);
    write_st("idx_wrong", "s2.safetensors", two, 1);
    write_text("idx_wrong", "model.safetensors.index.json",
               "{\"weight_map\": {\"" E "\": \"s2.safetensors\", \"" N "\": \"s1.safetensors\"}}");
    pack_fails(&manifest, "idx_wrong", DF_BAD, "s1.safetensors: tensor '" E "' is there, but",
               "index names the wrong shard");

    make_dir("idx_escape");
    write_text("idx_escape", "model.safetensors.index.json", "{\"weight_map\": {\"" E "\": \"../x.safetensors\"}}");
    pack_fails(&manifest, "idx_escape", DF_BAD, "shard is not a plain file name", "index shard outside the directory");

    make_dir("idx_noshard");
    write_text("idx_noshard", "model.safetensors.index.json", "{\"weight_map\": {\"" E "\": \"gone.safetensors\"}}");
    pack_fails(&manifest, "idx_noshard", DF_BAD, "gone.safetensors: No such file", "index names a missing shard");

    make_dir("idx_nomap");
    write_text("idx_nomap", "model.safetensors.index.json", "{\"metadata\": {}}");
    pack_fails(&manifest, "idx_nomap", DF_BAD, "no \"weight_map\" object", "index without weight_map");

    make_dir("dup");
    write_st("dup", "a.safetensors", one, 1);
    write_st("dup", "b.safetensors", two, 2);
    pack_fails(&manifest, "dup", DF_BAD, "tensor '" E "' is in both", "tensor in two shards");
}

/* ---- conversion and header encoding ------------------------------------ */

/* An independent reference for half floats: sum of exact powers of two. */
static float half_reference(uint16_t h)
{
    int exp = h >> 10 & 0x1F, mant = h & 0x3FF;
    double v = exp ? 1024 + mant : mant, scale = 1;
    for (int e = exp ? exp : 1; e < 25; e++)
        scale /= 2;
    for (int e = 25; e < exp; e++)
        scale *= 2;
    v *= scale;
    return (float)(h & 0x8000 ? -v : v);
}

static void test_convert(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        uint16_t in = (uint16_t)h;
        uint32_t got, want;
        float ref = half_reference(in);
        df_convert(&got, DF_F32, &in, ST_F16, 1);
        memcpy(&want, &ref, 4);
        if ((h & 0x7C00) == 0x7C00)   /* inf and NaN: exponent all ones, payload shifted */
            want = (h & 0x8000u) << 16 | 0x7F800000u | (h & 0x3FFu) << 13;
        bad += got != want;
    }
    check(bad == 0, "F16 to F32: all 65536 values exact", NULL);

    unsigned char odd[7] = { 0, 0x80, 0x3f, 0x00, 0xc0, 0, 0 };
    float f[3];
    df_convert(f, DF_F32, odd + 1, ST_BF16, 3);
    check(f[0] == 1.0f && f[1] == -2.0f && f[2] == 0.0f, "BF16 to F32 from an unaligned source", NULL);

    static const struct { enum st_dtype from; enum df_dtype to; int ok; } pairs[] = {
        { ST_F32, DF_F32, 1 }, { ST_BF16, DF_F32, 1 }, { ST_F16, DF_F32, 1 }, { ST_BF16, DF_BF16, 1 },
        { ST_F8_E4M3, DF_F8E4M3, 1 }, { ST_F32, DF_BF16, 0 }, { ST_F16, DF_BF16, 0 }, { ST_F8_E4M3, DF_F32, 0 },
        { ST_F8_E5M2, DF_F8E4M3, 0 }, { ST_F64, DF_F32, 0 }, { ST_I64, DF_F32, 0 }, { ST_BF16, DF_F8E4M3, 0 },
    };
    int pairs_ok = 1;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char dst[8];
        int allowed = df_convert_refusal(pairs[i].from, pairs[i].to) == NULL;
        pairs_ok &= allowed == pairs[i].ok && (df_convert(dst, pairs[i].to, "\0\0\0\0", pairs[i].from, 1) == DF_OK) ==
                                                  pairs[i].ok;
    }
    check(pairs_ok, "allowed and refused dtype pairs", NULL);
}

static void test_header_encoding(void)
{
    struct df_header h, back;
    unsigned char buf[DF_HEADER_BYTES];
    df_header_for(&manifest, &h);
    df_header_encode(&h, buf);
    static const unsigned char start[40] = {
        'D', 'F', 'W', 'E', 'I', 'G', 'H', 'T', 2, 0, 0, 0, 0, 0x10, 0, 0,
        0, 0x10, 0, 0, 0, 0, 0, 0, 0x40, 0x03, 0, 0, 0, 0, 0, 0, 0x40, 0x13, 0, 0, 0, 0, 0, 0,
    };
    int rest_zero = 1;
    for (size_t i = DF_HEADER_USED; i < DF_HEADER_BYTES; i++)
        rest_zero &= buf[i] == 0;
    check(memcmp(buf, start, 40) == 0 && memcmp(buf + 40, manifest.sha256, 32) == 0 &&
          strcmp((char *)buf + 72, "testmodel") == 0 && strcmp((char *)buf + 136, "test-gen-1") == 0 && rest_zero,
          "header bytes at their little-endian offsets", NULL);
    df_header_decode(buf, &back);
    check(memcmp(&h, &back, sizeof h) == 0, "header decode(encode(h)) == h", NULL);
}

/* ---- the loader's refusals --------------------------------------------- */

static unsigned char good[FILE_BYTES];

static void load_case(const char *label, const unsigned char *bytes, size_t n, const struct df_manifest *m, int want,
                      const char *phrase)
{
    char path[512], err[1024] = "", what[160];
    struct df_weights w;
    snprintf(path, sizeof path, "%s/case.weights", root);
    write_bytes(path, bytes, n, NULL, 0);
    int rc = df_weights_open(path, m, &w, err, sizeof err);
    snprintf(what, sizeof what, "loader: %s", label);
    check(rc == want && strstr(err, phrase) && (rc == DF_OK || strstr(err, path) == err) && !strchr(err, '\n'), what,
          err);
    if (rc == DF_OK)
        df_weights_close(&w);
    unlink(path);
}

static void test_loader(void)
{
    char err[1024], path[512];
    struct df_pack_stats st;
    struct df_weights w;
    if (pack(&manifest, "single", "good.weights", &st, err, sizeof err) != DF_OK) {
        check(0, "loader: pack a file to start from", err);
        return;
    }
    snprintf(path, sizeof path, "%s/good.weights", root);
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(good, 1, sizeof good, f) : 0;
    if (f)
        fclose(f);
    unlink(path);
    check(n == sizeof good, "loader: packed file has header + data + integrity bytes", NULL);

    unsigned char *b = malloc(sizeof good + 1);
    load_case("a good file", good, sizeof good, &manifest, DF_OK, "");
    memcpy(b, good, sizeof good);
    b[0] = 'X';
    load_case("bad magic", b, sizeof good, &manifest, DF_BAD, ": not a deepfreeze weights file");
    memcpy(b, good, sizeof good);
    b[8] = 3;
    load_case("other version", b, sizeof good, &manifest, DF_BAD, "format version 3, this binary reads 2");
    b[8] = 1;
    load_case("version 1", b, sizeof good, &manifest, DF_BAD, "format version 1 has no integrity section: repack");

    struct df_manifest other = manifest;
    other.model_name = "othermodel";
    load_case("other model name", good, sizeof good, &other, DF_BAD,
              "packed for model 'testmodel', this binary runs 'othermodel'");
    other = manifest;
    other.sha256[31] ^= 1;
    load_case("other manifest hash", good, sizeof good, &other, DF_BAD,
              "same model name but a different tensor layout (manifest hash deadbeef0102");

    load_case("truncated file", good, sizeof good - 1, &manifest, DF_BAD, "truncated: 5215 bytes, header says 5216");
    memcpy(b, good, sizeof good);
    b[sizeof good] = 0;
    load_case("extended file", b, sizeof good + 1, &manifest, DF_BAD, "has extra bytes: 5217 bytes, header says 5216");
    load_case("empty file", good, 0, &manifest, DF_BAD, "too short for a deepfreeze weights file (0 bytes");
    load_case("header cut short", good, 100, &manifest, DF_BAD, "too short for a deepfreeze weights file (100 bytes");

    memcpy(b, good, sizeof good);
    b[13] = 0x20;
    load_case("bad header_bytes", b, sizeof good, &manifest, DF_BAD, "corrupt header: header_bytes");
    memcpy(b, good, sizeof good);
    b[4000] = 1;
    load_case("non-zero reserved byte", b, sizeof good, &manifest, DF_BAD, "reserved byte 4000 is not zero");
    memcpy(b, good, sizeof good);
    memset(b + 72, 'x', 64);
    load_case("unterminated model name", b, sizeof good, &manifest, DF_BAD, "not NUL-padded");
    memcpy(b, good, sizeof good);
    b[32] ^= 1;
    load_case("file_bytes inconsistent", b, sizeof good, &manifest, DF_BAD, "corrupt header: file_bytes 5217");
    memcpy(b, good, sizeof good);
    b[176] = 8;
    load_case("integrity section of a bad size", b, sizeof good, &manifest, DF_BAD, "do not fit together");
    memcpy(b, good, sizeof good);
    memset(b + 168, 0, 8);
    load_case("no integrity section (offset 0)", b, sizeof good, &manifest, DF_BAD, "do not fit together");
    memcpy(b, good, sizeof good);
    b[4096 + DATA_BYTES] = 'X';
    load_case("integrity section magic", b, sizeof good, &manifest, DF_BAD, "corrupt integrity section: bad magic");
    memcpy(b, good, sizeof good);
    b[4096 + DATA_BYTES + 16] = 1;   /* chunk size 4 MiB + 1 */
    load_case("integrity chunk size", b, sizeof good, &manifest, DF_BAD, "is not a power of two");
    memcpy(b, good, sizeof good);
    b[4096 + DATA_BYTES + 24] = 2;   /* 2 chunks claimed */
    load_case("integrity chunk count", b, sizeof good, &manifest, DF_BAD, "2 chunk hashes in 288 bytes");
    free(b);

    snprintf(path, sizeof path, "%s/none.weights", root);
    int rc = df_weights_open(path, &manifest, &w, err, sizeof err);
    check(rc == DF_IO && strstr(err, "No such file"), "loader: missing file is an I/O error", err);
    rc = df_weights_open(root, &manifest, &w, err, sizeof err);
    check(rc == DF_IO && strstr(err, "not a regular file"), "loader: a directory is an I/O error", err);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/df-test-pack-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        perror(root);
        return 1;
    }
    make_data();
    test_convert();
    test_header_encoding();
    test_pack_good();
    test_pack_refusals();
    test_bad_safetensors();
    test_bad_index();
    test_loader();
    remove_tree(root);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
