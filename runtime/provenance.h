/* provenance.h: what a generated binary knows about its own making: the
 * normalized spec, the generator version and the hashes of the sources it
 * was generated as (generated/<name>/provenance.c, gen/provenance.lua).
 * `<binary> audit` reports it (runtime/audit.h). */
#ifndef DF_PROVENANCE_H
#define DF_PROVENANCE_H

struct df_source_file {
    const char *name;    /* a file of generated/<name>/ */
    const char *sha256;  /* hex */
};

struct df_provenance {
    const char *generator_version;
    const char *spec_sha256;       /* hex, of spec_text */
    const char *spec_text;         /* the normalized spec, as generated/<name>/spec.lua */
    const char *sources_sha256;    /* hex, of the sha256sum-style listing of sources[] */
    int n_sources;
    const struct df_source_file *sources;
};

/* Each generated model defines it. */
extern const struct df_provenance df_provenance;

#endif
