/* fuzz_audit.c: libFuzzer target for the audit record reader
 * (runtime/audit_json.c, over weights/json.c). Any input must either be
 * refused with a reason or give a record whose strings are terminated inside
 * their fields and whose counts are in range; a record compares equal to
 * itself. tests/audit.sh seeds it with a real record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct df_audit_record r;
    char err[256];
    if (df_audit_read_json((const char *)data, size, &r, err, sizeof err) != 0) {
        if (!memchr(err, 0, sizeof err) || !err[0])
            abort();
        return 0;
    }
    if (r.n_prompts < 1 || r.n_prompts > DF_AUDIT_PROMPTS || r.n_new != DF_AUDIT_NEW)
        abort();
    for (int i = 0; i < r.n_prompts; i++)
        if (r.out[i].len < 1 || r.out[i].len > DF_AUDIT_MAX_PROMPT || !memchr(r.out[i].logits_sha256, 0, DF_HEX))
            abort();
    if (!memchr(r.flags, 0, sizeof r.flags) || !memchr(r.fingerprint, 0, sizeof r.fingerprint))
        abort();
    FILE *sink = fopen("/dev/null", "w");
    if (df_audit_compare(sink, &r, &r) != 0)
        abort();
    fclose(sink);
    return 0;
}
