# mk/simt.mk: the CUDA reference models with their device code emulated on the CPU (tests/simt/,
# docs/testing.md "The CUDA code on the CPU"). Included by the Makefile after mk/cuda.mk,
# mk/cuda_bench.mk and mk/poison.mk (and before mk/trace.mk, whose sources it names by their
# directory, $(CUDA_BENCH_SRC)/trace, and mk/unfused.mk, which adds its models to simt-all).
#
#   make simt-all                     every emulated model: build/simt/<m>_cuda/<m>_cuda
#   make simt-ubsan                   some of them under UBSan: build/simt/ubsan/<m>_cuda/<m>_cuda
#   make simt-trace                   tiny's and v3_h16's trace builds: build/simt/trace/<m>_cuda/<m>_cuda
#
# g++ compiles each model's generated kernels.cu and the backend (runtime/cuda/cuda_backend.cu)
# as C++ with tests/simt/simt.h first and tests/simt/ before the system headers (its
# cuda_runtime.h); the host C objects are the CUDA build's; the binary reads the CUDA build's
# weights. cuBLASLt is tests/simt/cublas_lt.cc (the FP8- and bf16-activation models' products).
SIMT_MODELS  := $(CUDA_BASE_MODELS)
# the liveness-checking builds (mk/poison.mk) and 4-token prefill steps (mk/cuda_bench.mk)
SIMT_POISON_MODELS := $(POISON_MODELS)
SIMT_CHUNK_MODELS  := $(CUDA_CHUNK_MODELS)
SIMT_CXX     := g++
# Uninitialized locals filled with a pattern (the fibers' stacks are reused from block to block),
# a large frame probed page by page (it cannot jump a stack's guard page).
SIMT_FLAGS   := -std=c++20 -O2 -g -x c++ -D__CUDACC__ -DDF_SIMT -include tests/simt/simt.h -Itests/simt $(CUDA_INC) \
                -Wall -Wextra -Werror -Wno-unknown-pragmas -ffp-contract=off \
                -fstack-clash-protection -ftrivial-auto-var-init=pattern
SIMT_HDR     := $(CUDA_HDR) $(wildcard tests/simt/*.h)
SIMT_OBJ     := build/simt/obj
# The emulated kernels under UBSan too: their index arithmetic, shifts and alignment, which no
# sanitizer sees on the device.
SIMT_UBSAN   := -fsanitize=undefined -fno-sanitize-recover=all
SIMT_UBSAN_MODELS := tiny v3_h16 v3_h16_bf16kv tiny_fp8act tiny_bf16act
# their trace builds (mk/trace.mk), against the CPU's op by op
SIMT_TRACE_MODELS := tiny v3_h16
# What ptxas compiles each kernel to need (registers, static shared memory, __launch_bounds__),
# for the emulated launches' checks: a table per source of device code (tests/simt/resources.sh),
# linked into each program that runs it, compiled with the CUDA build's flags. $(1) the table's
# object, $(2) the sources, $(3) what they are made from, if not themselves (a model's kernels.cu
# is written with its forward.c), $(4) nvcc's flags beyond SIMT_PTX, $(5) headers beyond CUDA_HDR.
SIMT_PTX := $(NVCC) $(filter-out $(CUDA_ARCH),$(NVCCFLAGS)) -arch=sm_90a $(CUDA_INC)
define SIMT_RESOURCES
$(1:.o=.cc): $(or $(3),$(2)) $(CUDA_HDR) $(5) tests/simt/resources.sh tests/simt/resources.awk
	@mkdir -p $$(@D)
	sh tests/simt/resources.sh $$@ '$(SIMT_PTX) $(4)' $(2)
$(1): $(1:.o=.cc) $(SIMT_HDR)
	$(SIMT_CXX) $(SIMT_FLAGS) -c -o $$@ $$<
endef
SIMT_RT_RESOURCES := $(SIMT_OBJ)/resources/runtime.o
$(eval $(call SIMT_RESOURCES,$(SIMT_RT_RESOURCES),$(wildcard runtime/cuda/*.cu)))
$(eval $(call SIMT_RESOURCES,$(SIMT_OBJ)/resources/synth_weights.o,tests/cuda/synth_weights.cu))
$(eval $(call SIMT_RESOURCES,$(SIMT_OBJ)/resources/mla_check.o,tests/cuda/mla_check.cu,,,$(MLA_HDR)))
$(foreach t,launch_floor sample_check,$(eval $(call SIMT_RESOURCES,$(SIMT_OBJ)/resources/$(t).o,tests/cuda/$(t).cu)))

# simt_rt OBJDIR: the host C objects of the CUDA build, and the backend (runtime/cuda/*.cu) and the
# emulator compiled into OBJDIR, and the backend's kernels' resources
simt_rt = $(filter-out $(CUDA_OBJ)/runtime/cuda/%,$(CUDA_RT_OBJ)) \
          $(patsubst runtime/cuda/%.cu,$(1)/%.o,$(wildcard runtime/cuda/*.cu)) $(addprefix $(1)/,simt.o cuda_runtime.o cublas_lt.o) \
          $(SIMT_RT_RESOURCES)

.PHONY: simt-all simt-ubsan simt-trace
simt-all: $(foreach m,$(SIMT_MODELS),build/simt/$(m)_cuda/$(m)_cuda build/$(m)_cuda/$(m)_cuda.weights) \
          $(foreach m,$(SIMT_POISON_MODELS),build/simt/poison/$(m)_cuda/$(m)_cuda) \
          $(foreach m,$(SIMT_CHUNK_MODELS),build/simt/chunk4/$(m)_cuda/$(m)_cuda $(CUDA_BENCH_DIR)/$(m)_chunk4_cuda/$(m)_cuda.weights)
simt-ubsan: $(foreach m,$(SIMT_UBSAN_MODELS),build/simt/ubsan/$(m)_cuda/$(m)_cuda)
simt-trace: build/trace_diff $(foreach m,$(SIMT_TRACE_MODELS),build/simt/trace/$(m)_cuda/$(m)_cuda build/trace/$(m)/$(m))

# $(1) the object directory, $(2) flags beyond SIMT_FLAGS
define SIMT_RUNTIME
$(1)/%.o: runtime/cuda/%.cu $(SIMT_HDR)
	@mkdir -p $$(@D)
	$(SIMT_CXX) $(SIMT_FLAGS) $(2) -c -o $$@ $$<

$(1)/%.o: tests/simt/%.cc $(SIMT_HDR)
	@mkdir -p $$(@D)
	$(SIMT_CXX) $(SIMT_FLAGS) $(2) -c -o $$@ $$<
endef
$(eval $(call SIMT_RUNTIME,$(SIMT_OBJ),))
$(eval $(call SIMT_RUNTIME,build/simt/ubsan/obj,$(SIMT_UBSAN)))

# $(1) an emulated build's kernels.o, $(2) its generated sources, $(3) flags beyond SIMT_FLAGS;
# and its kernels' resources, resources.o beside it
define SIMT_KERNELS
$(1): $(2)/forward.c $(SIMT_HDR)
	@mkdir -p $$(@D)
	$(SIMT_CXX) $(SIMT_FLAGS) $(3) -I$(2) -c -o $$@ $(2)/kernels.cu
$(call SIMT_RESOURCES,$(dir $(1))resources.o,$(2)/kernels.cu,$(2)/forward.c,-I$(2))
endef

# $(1) the emulated binary, $(2) the build's generated sources, $(3) its host objects (the CUDA
# build's), $(4) the model's fixture (its tokenizer); optional $(5) the emulator's object directory
# and $(6) flags beyond SIMT_FLAGS (the UBSan builds'). kernels.cu is compiled again here.
define SIMT_MODEL
$(eval $(call SIMT_KERNELS,$(dir $(1))kernels.o,$(2),$(6)))
$(1): $(dir $(1))kernels.o $(dir $(1))resources.o $(addprefix $(3)/,$(CUDA_GEN_HOST:.c=.o)) \
      $(call simt_rt,$(or $(5),$(SIMT_OBJ))) \
      $(call tok_obj,$(4)/hf,$(patsubst %/obj,%,$(3)))
	$(SIMT_CXX) $(6) -rdynamic -o $$@ $$(filter %.o,$$^) $(LDLIBS)
endef
# the reference models
$(foreach m,$(SIMT_MODELS),$(eval $(call SIMT_MODEL,build/simt/$(m)_cuda/$(m)_cuda,generated/$(m)_cuda,build/$(m)_cuda/obj,tests/fixtures/$(m))))
$(foreach m,$(SIMT_POISON_MODELS),$(eval $(call SIMT_MODEL,build/simt/poison/$(m)_cuda/$(m)_cuda,$(POISON_SRC)/$(m)_cuda,build/poison/$(m)_cuda/obj,tests/fixtures/$(m))))
$(foreach m,$(SIMT_CHUNK_MODELS),$(eval $(call SIMT_MODEL,build/simt/chunk4/$(m)_cuda/$(m)_cuda,$(CUDA_BENCH_SRC)/$(m)_chunk4_cuda,$(CUDA_BENCH_DIR)/$(m)_chunk4_cuda/obj,tests/fixtures/$(m))))
$(foreach m,$(SIMT_TRACE_MODELS),$(eval $(call SIMT_MODEL,build/simt/trace/$(m)_cuda/$(m)_cuda,$(CUDA_BENCH_SRC)/trace/$(m)_cuda,build/trace/$(m)_cuda/obj,tests/fixtures/$(m))))
$(foreach m,$(SIMT_UBSAN_MODELS),$(eval $(call SIMT_MODEL,build/simt/ubsan/$(m)_cuda/$(m)_cuda,generated/$(m)_cuda,build/$(m)_cuda/obj,tests/fixtures/$(m),build/simt/ubsan/obj,$(SIMT_UBSAN))))

# a test program of one source, compiled against the emulator, linked with the objects it names
define simt_program
@mkdir -p $(@D)
$(SIMT_CXX) $(SIMT_FLAGS) -rdynamic -o $@ $< -x none $(filter %.o,$^) -lm
endef

build/simt/test_simt: tests/simt/test_simt.cc $(SIMT_OBJ)/simt.o $(SIMT_OBJ)/cuda_runtime.o $(SIMT_HDR)
	$(simt_program)

# the emulated cuBLASLt through the backend's plans, against lt_gemm.h's scale layouts
build/simt/test_lt: tests/simt/test_lt.cc $(addprefix $(SIMT_OBJ)/,lt_gemm.o cublas_lt.o simt.o cuda_runtime.o) \
                    $(SIMT_RT_RESOURCES) $(SIMT_HDR)
	$(simt_program)

# mla_check (tests/cuda/mla_check.cu) emulated: its quick cases and its stage variants at a short
# context, what a GPU session runs of it (the tf32 roundings there are the host's, compared with
# themselves)
build/simt/mla_check: tests/cuda/mla_check.cu $(SIMT_OBJ)/simt.o $(SIMT_OBJ)/cuda_runtime.o $(SIMT_OBJ)/resources/mla_check.o \
                      $(SIMT_HDR) $(MLA_HDR)
	$(simt_program)

# gpu-check's probes emulated, for what they print (tools/gpu-check-read.sh reads it; their times
# are the emulator's): the copy bandwidth (no kernel of its own), the launches of a step alone,
# the token picks against the host's
build/simt/bandwidth: tests/cuda/bandwidth.cu $(SIMT_OBJ)/simt.o $(SIMT_OBJ)/cuda_runtime.o $(SIMT_HDR)
	$(simt_program)
build/simt/launch_floor: tests/cuda/launch_floor.cu $(SIMT_OBJ)/simt.o $(SIMT_OBJ)/cuda_runtime.o \
                         $(SIMT_OBJ)/resources/launch_floor.o $(SIMT_HDR)
	$(simt_program)
build/simt/sample_check: tests/cuda/sample_check.cu $(SIMT_OBJ)/simt.o $(SIMT_OBJ)/cuda_runtime.o $(CUDA_OBJ)/runtime/sample.o \
                         $(SIMT_OBJ)/resources/sample_check.o $(SIMT_HDR)
	$(simt_program)

# synth_decode (tests/cuda/synth_decode.c: gpu-check's real shapes on weights made on the device)
# with two reference models' code, bf16 and FP8 weights: its weights' fill and its step loop
# emulated. build/simt/synth/<m>_cuda/synth_decode
SIMT_SYNTH_MODELS := v3_h16 tiny_fp8
$(SIMT_OBJ)/synth_weights.o: tests/cuda/synth_weights.cu $(SIMT_HDR)
	@mkdir -p $(@D)
	$(SIMT_CXX) $(SIMT_FLAGS) -c -o $@ $<

# $(1) the binary, $(2) its emulated kernels.o, $(3) the CUDA build's host objects, $(4) the
# tokenizer's object
define SIMT_SYNTH
$(1): $(2) $(dir $(2))resources.o $(addprefix $(3)/,$(CUDA_GEN_HOST:.c=.o)) \
        $(filter-out %/runtime/main.o,$(call simt_rt,$(SIMT_OBJ))) \
        $(CUDA_OBJ)/tests/cuda/synth_decode.o $(SIMT_OBJ)/synth_weights.o $(SIMT_OBJ)/resources/synth_weights.o $(4)
	@mkdir -p $$(@D)
	$(SIMT_CXX) -rdynamic -o $$@ $$(filter %.o,$$^) $(LDLIBS)
endef
$(foreach m,$(SIMT_SYNTH_MODELS),$(eval $(call SIMT_SYNTH,build/simt/synth/$(m)_cuda/synth_decode,build/simt/$(m)_cuda/kernels.o,\
    build/$(m)_cuda/obj,$(call tok_obj,tests/fixtures/$(m)/hf,build/$(m)_cuda))))

# The models at V3's and V2-Lite's widths that gpu-check runs (mk/cuda_bench.mk: the real shapes
# on synthetic weights and the mid-size models, whose FP8-activation one takes cuBLASLt's GEMMs
# at its widths), and V3's 8 layers with FP8 activations (as DeepSeek's own inference runs V3:
# cuBLASLt's FP8 GEMMs at V3's widths, k = 7168, 18432, 16384, 2048; generated here for this
# check only): their synth_decode emulated, to run with DF_SIMT_LAUNCHES=only
# (tests/simt/README.md): their whole schedule's launches and cuBLASLt plans, no kernel run.
# build/simt/real/<m>/synth_decode
$(eval $(call CUDA_MODEL,bench_v3_8l_cuda,--spec specs/bench_v3_8l_cuda.lua --set deploy.activations=fp8 --quiet,\
    $(CUDA_BENCH_DIR)/bench_v3_8l_fp8act_cuda/hf,$(CUDA_BENCH_SRC)/bench_v3_8l_fp8act_cuda,$(CUDA_BENCH_DIR)/bench_v3_8l_fp8act_cuda))
SIMT_REAL_MODELS := $(CUDA_SYNTH_MODELS) $(CUDA_BENCH_MODELS) bench_v3_8l_fp8act_cuda
$(foreach m,$(SIMT_REAL_MODELS),$(eval $(call SIMT_KERNELS,build/simt/real/$(m)/kernels.o,$(CUDA_BENCH_SRC)/$(m))) \
    $(eval $(call SIMT_SYNTH,build/simt/real/$(m)/synth_decode,build/simt/real/$(m)/kernels.o,$(CUDA_BENCH_DIR)/$(m)/obj,$(TOK_OBJ))))

# The model lists and the tables' nvcc, as shell assignments (tests/simt/run.sh evaluates them)
.PHONY: print-simt-models
print-simt-models:
	@echo "SIMT_MODELS='$(SIMT_MODELS)' SIMT_POISON_MODELS='$(SIMT_POISON_MODELS)'" \
	      "SIMT_CHUNK_MODELS='$(SIMT_CHUNK_MODELS)' SIMT_UBSAN_MODELS='$(SIMT_UBSAN_MODELS)'" \
	      "SIMT_TRACE_MODELS='$(SIMT_TRACE_MODELS)' SIMT_SYNTH_MODELS='$(SIMT_SYNTH_MODELS)'" \
	      "SIMT_REAL_MODELS='$(SIMT_REAL_MODELS)' SIMT_UNFUSED_MODELS='$(UNFUSED_MODELS)' SIMT_PTX='$(SIMT_PTX)'"
