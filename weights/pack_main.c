/* pack_main.c: the packer's command line, `<name>-pack --hf DIR --out FILE`.
 * Linked with one model's generated manifest.c, so each model has its own
 * packer and the layout can never be taken from the wrong model. */
#include <stdio.h>
#include <string.h>

#include "pack.h"

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s --hf DIR --out FILE\n"
            "Packs the Hugging Face checkpoint in DIR (*.safetensors) into FILE, laid out\n"
            "for model '%s'. Writes FILE.tmp and renames it when complete.\n"
            "Exit codes: 0 ok, 2 usage, 3 bad, missing or mismatched checkpoint content,\n"
            "4 I/O error.\n",
            prog, df_manifest.model_name);
}

int main(int argc, char **argv)
{
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    const char *hf = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout, prog);
            return 0;
        }
        const char **slot = strcmp(argv[i], "--hf") == 0 ? &hf : strcmp(argv[i], "--out") == 0 ? &out : NULL;
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

    struct df_pack_stats st;
    char err[1024];
    int rc = df_pack(&df_manifest, hf, out, &st, err, sizeof err);
    if (rc != DF_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return rc;
    }
    double mb = (double)st.bytes / 1e6;
    fprintf(stderr, "%s: %d tensors (%d checkpoint tensors unused), %.1f MB in %.1f s, %.1f MB/s -> %s\n", prog,
            st.tensors, st.unused, mb, st.seconds, st.seconds > 0 ? mb / st.seconds : 0.0, out);
    return 0;
}
