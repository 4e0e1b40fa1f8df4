# mk/unfused.mk: reference models for CUDA without the schedule's launch fusions (gen/main.lua
# --unfused; gen/schedule.lua, fuse_launches: all but rope_in, which the split-KV attention
# needs), whose logits must equal the fused builds' bit for bit, as each fusion computes every
# output as the ops it replaces do (docs/cuda.md, "Runtime"): tests/simt/run.sh checks it on the
# emulated device (mk/simt.mk, included before this file), tools/gpu-check.sh on the GPU, where
# nvcc contracts each kernel's multiply-adds its own way. They run with the reference builds'
# packed weights (the same manifest).
#
#   make build/simt/unfused/<m>_cuda/<m>_cuda     emulated
#   make build/unfused/<m>_cuda/<m>_cuda          for the GPU (tests/cuda/run.sh builds them)
#
# The models: tiny (the fused SwiGLU, linear_pair, rope_cache, moe_shared), tiny_fp8 (the same
# over FP8 weights), v3_h16 (moe_shared with the split-KV attention's layers) and tiny_fp8act
# (a product accumulated into the residual stream; cuBLASLt's GEMMs). Their sources are
# generated into build/cuda_bench_src/unfused/, carried to a GPU machine.
UNFUSED_MODELS := tiny tiny_fp8 v3_h16 tiny_fp8act
UNFUSED_SRC    := $(CUDA_BENCH_SRC)/unfused

$(foreach m,$(UNFUSED_MODELS),$(eval $(call CUDA_MODEL,$(m)_cuda,--spec specs/$(m)_cuda.lua --unfused --quiet,tests/fixtures/$(m)/hf,$(UNFUSED_SRC)/$(m)_cuda,build/unfused/$(m)_cuda)))
$(foreach m,$(UNFUSED_MODELS),$(eval $(call SIMT_MODEL,build/simt/unfused/$(m)_cuda/$(m)_cuda,$(UNFUSED_SRC)/$(m)_cuda,build/unfused/$(m)_cuda/obj,tests/fixtures/$(m))))

simt-all: $(foreach m,$(UNFUSED_MODELS),build/simt/unfused/$(m)_cuda/$(m)_cuda)
cuda-bench-generate: $(foreach m,$(UNFUSED_MODELS),$(UNFUSED_SRC)/$(m)_cuda/forward.c)
