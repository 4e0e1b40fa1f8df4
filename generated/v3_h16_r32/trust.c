/* trust.c: the signing keys v3_h16_r32's binary trusts and its verification
 * policy (deploy.trusted_keys, deploy.allow_no_verify of v3_h16_r32.lua).
 * The binary verifies its weights against these before the first
 * computation (runtime/verify.h). Generated; do not edit. */
#include "verify.h"

static const struct df_trusted_key keys[1] = {
    { "tests/keys/test-signing.pub.pem",
      "-----BEGIN PUBLIC KEY-----\n"
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2W6SvxHYEi1PUdTe8IZ9jDQbXuD2\n"
      "ek3CXV42SPk1vRXVxRUYV86aGbZloU590b5kFUIlyXiy85oF56x2wBJUtA==\n"
      "-----END PUBLIC KEY-----\n",
      /* key id 3abc789992e92c2c18747aed51fa16b0a46a4c39784ae90b7190f15db473a74e */
      { 0x3a, 0xbc, 0x78, 0x99, 0x92, 0xe9, 0x2c, 0x2c, 0x18, 0x74, 0x7a, 0xed, 0x51, 0xfa, 0x16, 0xb0,
        0xa4, 0x6a, 0x4c, 0x39, 0x78, 0x4a, 0xe9, 0x0b, 0x71, 0x90, 0xf1, 0x5d, 0xb4, 0x73, 0xa7, 0x4e } },
};

const struct df_trust df_trust = {
    .n_keys = 1,
    .keys = keys,
    .allow_no_verify = 0,
};
