/* lt_absent.cc: the emulated builds have no cuBLASLt (tests/simt/README.md). Its products are those of
 * the FP8- and bf16-activation precisions, whose models are not emulated; a model that reaches one
 * stops here with a message. */
#include <stdio.h>
#include <stdlib.h>

#include "cuda_rt.h"
#include "lt_gemm.h"

void df_cuda_lt_linear(enum df_cuda_gemm, int, int, int, const unsigned char *, const unsigned char *, const float *, int,
                       float *, unsigned char *, float *, void *, int)
{
    fprintf(stderr, "simt: cuBLASLt's GEMMs are not emulated (a model with FP8 or bf16 activations)\n");
    exit(1);
}

void df_cuda_lt_linear_release(int) {}

void df_cuda_lt_linear_describe(char *buf, size_t len)
{
    if (len)
        buf[0] = 0;
}

size_t df_lt_version(void) { return 0; }
