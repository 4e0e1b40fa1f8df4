# mk/poison.mk: liveness-checking builds of reference models (gen/main.lua --poison; docs/testing.md,
# "Liveness"). After the last op that reads a buffer's value, their forward pass fills the buffer
# with 0xff bytes (NaN as floats, -1 as ints), so their logits equal the plain build's bit for bit
# only if no op reads a value that the memory plan (gen/plan.lua) lets another buffer overwrite:
# a test of schedule.op_defines against what the kernels really read. Included by the Makefile
# after mk/cuda.mk and mk/cuda_bench.mk (CUDA_MODEL, CUDA_BENCH_SRC).
#
#   make build/poison/<m>/<m>              for the CPU (tests/poison.sh; the reference build's weights)
#   make build/poison/<m>_cuda/<m>_cuda    for CUDA (its kernels.o is the reference build's; run by
#                                          tools/gpu-check.sh)
#
# The models cover every op kind of both schedules and the kernels that write each buffer: tiny
# (dense and MoE layers, q_lora; on CUDA the fused SwiGLU, linear_pair, rope_cache and the
# accumulating product), v3_h16 (on CUDA the split-KV attention and its scratch), v3_h16_r32
# (its scratch with the records of a prefill slice fewer than JMAX apart: 1 of 4 for the
# fixtures' prompts, all shorter than a chunk),
# v3_h16_bf16kv (the bf16 cache's attention kernels), tiny_fp8act (act_quant; on CUDA the FP8
# GEMMs' gemm_in, gemm_scales and gemm_ws, an input reused by kv_a) and tiny_bf16act (bf16
# rounding and GEMMs).
# Their sources are generated into build/cuda_bench_src/poison/, carried to a GPU machine.
POISON_MODELS := tiny v3_h16 v3_h16_r32 v3_h16_bf16kv tiny_fp8act tiny_bf16act
POISON_SRC    := $(CUDA_BENCH_SRC)/poison

$(foreach m,$(POISON_MODELS),$(eval $(call MODEL,$(m),--spec specs/$(m).lua --poison --quiet,tests/fixtures/$(m)/hf,$(POISON_SRC)/$(m),build/poison/$(m))))
$(foreach m,$(POISON_MODELS),$(eval $(call CUDA_MODEL,$(m)_cuda,--spec specs/$(m)_cuda.lua --poison --quiet,tests/fixtures/$(m)/hf,$(POISON_SRC)/$(m)_cuda,build/poison/$(m)_cuda,generated/$(m)_cuda,build/$(m)_cuda)))

cuda-bench-generate: $(foreach m,$(POISON_MODELS),$(POISON_SRC)/$(m)/forward.c $(POISON_SRC)/$(m)_cuda/forward.c)
