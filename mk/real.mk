# mk/real.mk: the real DeepSeek configurations, specs/deepseek_*.lua (included by the
# Makefile, after mk/cuda.mk whose CUDA_MODEL it uses).
#
#   make generate-real      generate each into build/real/<name>/src and print its memory report
#   make compile-real       that, and compile and link each for CUDA: build/real/<name>/<name>
#   make compile-real-cpu   each for the CPU (deploy.target=cpu): build/real/cpu/<name>/<name>
#
# Their generated sources are large (V3: about 45 MB, most of it the manifest) and are not
# committed. There are no weights here: these targets show the generator and the compilers
# take the real shapes. With a checkpoint in build/real/hf/<name> (config.json, safetensors),
# make build/real/<name>/<name>.weights packs it.
#
# V3, V3.1, R1 and V2 declare one 80 GiB H800 and do not fit on it: generating them from
# their specs stops with exit 3 and the report. Here their budget is raised to
# REAL_POOLED_GIB, the memory of one 8 x H200 node counted as if it were one GPU: a stand-in
# until multi-GPU exists, so that their code is generated and compiled. Their report still
# shows what one GPU would need.

$(if $(value CUDA_MODEL),,$(error mk/real.mk needs CUDA_MODEL from mk/cuda.mk, included first))

REAL_MODELS     := deepseek_v3 deepseek_v3_1 deepseek_r1 deepseek_v2 deepseek_v2_lite deepseek_coder_v2_lite
REAL_MULTI_GPU  := deepseek_v3 deepseek_v3_1 deepseek_r1 deepseek_v2
REAL_POOLED_GIB := 1128
REAL_HF         := build/real/hf
# The generator's input for model $(1): quiet (generate-real prints the reports from plan.txt).
real_gen = --spec specs/$(1).lua --quiet $(if $(filter $(1),$(REAL_MULTI_GPU)),--set deploy.gpu_memory_gib=$(REAL_POOLED_GIB))

.PHONY: generate-real compile-real compile-real-cpu

generate-real: $(foreach m,$(REAL_MODELS),build/real/$(m)/src/forward.c)
	@for m in $(REAL_MODELS); do echo; sed -n '/^memory per GPU/,$$p' build/real/$$m/src/plan.txt; done

compile-real: generate-real $(foreach m,$(REAL_MODELS),build/real/$(m)/$(m))

compile-real-cpu: $(foreach m,$(REAL_MODELS),build/real/cpu/$(m)/$(m))

$(foreach m,$(REAL_MODELS),$(eval $(call CUDA_MODEL,$(m),$(call real_gen,$(m)),$(REAL_HF)/$(m),build/real/$(m)/src,build/real/$(m))))
$(foreach m,$(REAL_MODELS),$(eval $(call MODEL,$(m),--spec specs/$(m).lua --quiet --set deploy.target=cpu,$(REAL_HF)/$(m),build/real/cpu/$(m)/src,build/real/cpu/$(m))))
