/* pack_main.c: the packer's command line,
 * `<name>-pack --hf DIR --out FILE [--sign KEY.pem] [--chunk-bytes N]`.
 * Linked with one model's generated manifest.c and trust.c, so each model has
 * its own packer, the layout can never be taken from the wrong model, and the
 * packer knows which keys the model's binary trusts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/verify.h"
#include "integrity.h"
#include "pack.h"

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s --hf DIR --out FILE [--sign KEY.pem] [--chunk-bytes N]\n"
            "Packs the Hugging Face checkpoint in DIR (*.safetensors) into FILE, laid out\n"
            "for model '%s', with the SHA-256 of every chunk of N bytes (a power of two,\n"
            "default 4 MiB) and, with --sign, an ECDSA P-256 signature by the private key\n"
            "in KEY.pem (docs/signing.md). This model's binary trusts %d key(s)%s.\n"
            "Writes FILE.tmp and renames it when complete.\n"
            "Exit codes: 0 ok, 2 usage, 3 bad, missing or mismatched checkpoint content\n"
            "or a bad key, 4 I/O error.\n",
            prog, df_manifest.model_name, df_trust.n_keys,
            df_trust.n_keys ? ": it refuses unsigned weights" : " and accepts unsigned weights");
}

static int is_trusted(const uint8_t id[32])
{
    for (int k = 0; k < df_trust.n_keys; k++)
        if (memcmp(df_trust.keys[k].key_id, id, 32) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    const char *hf = NULL, *out = NULL, *sign = NULL, *chunk = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout, prog);
            return 0;
        }
        const char **slot = strcmp(argv[i], "--hf") == 0            ? &hf
                            : strcmp(argv[i], "--out") == 0         ? &out
                            : strcmp(argv[i], "--sign") == 0        ? &sign
                            : strcmp(argv[i], "--chunk-bytes") == 0 ? &chunk
                                                                    : NULL;
        if (!slot || i + 1 == argc || *slot) {
            fprintf(stderr, "%s: %s '%s'\n", prog,
                    !slot ? "unknown argument" : *slot ? "repeated option" : "missing value for", argv[i]);
            usage(stderr, prog);
            return 2;
        }
        *slot = argv[++i];
    }
    if (!hf || !out) {
        fprintf(stderr, "%s: --hf and --out are required\n", prog);
        usage(stderr, prog);
        return 2;
    }

    struct df_pack_options opt = { sign, 0 };
    if (chunk) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(chunk, &end, 10);
        if (errno || *end || df_chunk_count(1, v) == 0) {
            fprintf(stderr, "%s: --chunk-bytes: \"%s\" is not a power of two in [%u, %u]\n", prog, chunk,
                    DF_CHUNK_BYTES_MIN, DF_CHUNK_BYTES_MAX);
            return 2;
        }
        opt.chunk_bytes = v;
    }

    struct df_pack_stats st;
    char err[1024];
    int rc = df_pack(&df_manifest, hf, out, &opt, &st, err, sizeof err);
    if (rc != DF_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return rc;
    }
    double mb = (double)st.bytes / 1e6;
    char id[65] = "";
    if (st.is_signed)
        df_hex(st.key_id, 32, id);
    fprintf(stderr, "%s: %d tensors (%d checkpoint tensors unused), %.1f MB in %.1f s, %.1f MB/s, %llu chunk hashes, "
            "%s%.16s -> %s\n", prog, st.tensors, st.unused, mb, st.seconds, st.seconds > 0 ? mb / st.seconds : 0.0,
            (unsigned long long)st.chunks, st.is_signed ? "signed by key " : "unsigned", id, out);
    /* Say now what the binary would say at run time. */
    if (!st.is_signed && df_trust.n_keys > 0)
        fprintf(stderr, "%s: warning: %s is NOT signed, and %s's binary runs only weights signed by its trusted "
                "keys: pack with --sign KEY.pem or sign it with df-sign\n", prog, out, df_manifest.model_name);
    else if (!st.is_signed)
        fprintf(stderr, "%s: note: %s is not signed; %s's binary trusts no key and accepts it, checking chunk "
                "hashes only\n", prog, out, df_manifest.model_name);
    else if (df_trust.n_keys > 0 && !is_trusted(st.key_id))
        fprintf(stderr, "%s: warning: key %.16s is not one of the keys %s's binary trusts: it will refuse %s\n",
                prog, id, df_manifest.model_name, out);
    return 0;
}
