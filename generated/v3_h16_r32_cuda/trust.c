/* trust.c: the signing keys v3_h16_r32_cuda's binary trusts and its verification
 * policy (deploy.trusted_keys, deploy.allow_no_verify of v3_h16_r32_cuda.lua).
 * The binary verifies its weights against these before the first
 * computation (runtime/verify.h). Generated; do not edit. */
#include "verify.h"

/* no trusted keys: unsigned weights are accepted, checked by their chunk hashes */

const struct df_trust df_trust = {
    .n_keys = 0,
    .keys = NULL,
    .allow_no_verify = 0,
};
