# mk/unfused.mk: reference models for CUDA without the schedule's launch fusions (gen/main.lua
# --unfused; gen/schedule.lua, fuse_launches: all but rope_in, which the split-KV attention
# needs), emulated on the CPU (mk/simt.mk, included before this file): tests/simt/run.sh checks
# that their logits equal the fused builds' bit for bit, as each fusion computes every output as
# the ops it replaces do (docs/cuda.md, "Runtime"). Their host objects are built as a CUDA
# model's, their kernels.cu only by the emulator; they run with the reference builds' packed
# weights (the same manifest).
#
#   make build/simt/unfused/<m>_cuda/<m>_cuda
#
# The models: tiny (the fused SwiGLU, linear_pair, rope_cache, moe_shared), tiny_fp8 (the same
# over FP8 weights) and v3_h16 (moe_shared with the split-KV attention's layers).
UNFUSED_MODELS := tiny tiny_fp8 v3_h16
UNFUSED_SRC    := $(CUDA_BENCH_SRC)/unfused

$(foreach m,$(UNFUSED_MODELS),$(eval $(call CUDA_MODEL,$(m)_cuda,--spec specs/$(m)_cuda.lua --unfused --quiet,tests/fixtures/$(m)/hf,$(UNFUSED_SRC)/$(m)_cuda,build/unfused/$(m)_cuda)))
$(foreach m,$(UNFUSED_MODELS),$(eval $(call SIMT_MODEL,build/simt/unfused/$(m)_cuda/$(m)_cuda,$(UNFUSED_SRC)/$(m)_cuda,build/unfused/$(m)_cuda/obj,tests/fixtures/$(m))))

simt-all: $(foreach m,$(UNFUSED_MODELS),build/simt/unfused/$(m)_cuda/$(m)_cuda)
