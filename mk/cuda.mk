# mk/cuda.mk: the CUDA backend's build (included by the Makefile).
#
#   make cuda-all                     the reference models for CUDA (tests/models): binary, packer, weights
#   make build/tiny_cuda/tiny_cuda    one of them (<name>_cuda)
#   make cuda-generate                regenerate their committed generated/<m>_cuda sources
#   make cuda-tests                   the host-side tests and the GPU tools (tests/cuda/), among them
#                                     build/cuda/fp8_gemm_check (cuBLASLt's FP8 GEMMs, docs/cuda-fp8-gemm.md)
#   make gpu-check                    on a machine with a Hopper GPU: tools/gpu-check.sh
#   make gpu-deps                     headers and static libraries for a GPU machine that lacks them
#   make NAME=x HF=dir TARGET=cuda    a user model for CUDA (see docs/cuda.md)
#   make DF_NO_REGEN=1 ...            never regenerate generated/ (a machine without lua5.4)
#
# nvcc compiles the kernel instances (generated kernels.cu) and the backend
# (runtime/cuda/cuda_backend.cu) for sm_90a only, host code under the
# project's warning standard; the host C (the CLI and step loop of runtime/,
# the generated forward.c and manifest.c) is compiled by $(CC) with $(CFLAGS),
# as for the CPU; nvcc links, with the static CUDA runtime. The runtime's C
# objects and the backend are compiled once and shared by every CUDA model.

CUDA_HOME ?= /usr/local/cuda
ifeq ($(origin NVCC),undefined)
NVCC := $(or $(shell command -v nvcc 2>/dev/null),$(CUDA_HOME)/bin/nvcc)
endif
CUDA_ARCH := -gencode=arch=compute_90a,code=sm_90a
NVCCFLAGS := -std=c++20 -O2 -g -lineinfo $(CUDA_ARCH) -Werror all-warnings \
             -Xcompiler -Wall,-Wextra,-Werror,-ffp-contract=off,-ffile-prefix-map=$(CURDIR)=.
CUDA_INC  := -Iruntime -Iruntime/cuda

# The reference models built for CUDA too (tests/models).
CUDA_BASE_MODELS := $(call ref_models,cuda)
CUDA_REF_MODELS := $(addsuffix _cuda,$(CUDA_BASE_MODELS))
CUDA_GEN_SRC    := $(filter-out templates/cpu/%,$(GEN_SRC)) $(wildcard templates/cuda/* templates/common/*)
CUDA_HDR        := $(RUNTIME_HDR) $(wildcard runtime/cuda/*.h runtime/cuda/*.cuh tests/cuda/*.h)
CUDA_OBJ        := build/cuda/obj
# The runtime of the CPU binary, but the CUDA backend for the CPU one.
CUDA_RT_OBJ     := $(patsubst %.c,$(CUDA_OBJ)/%.o,$(filter-out runtime/cpu_backend.c,$(RUNTIME_SRC))) \
                   $(patsubst %.cu,$(CUDA_OBJ)/%.o,$(wildcard runtime/cuda/*.cu))
# cuBLASLt (every CUDA binary links it: the FP8/bf16-activation products, runtime/cuda/lt_linear.cu)
# has no static library here: the shared one, found at run time through the rpath. A machine
# whose toolkit lacks it names another copy (tools/gpu-check.sh finds the one of PyTorch's
# nvidia-cublas wheel): CUBLASLT_DIR=dir, and CUBLASLT_LIB=-l:libcublasLt.so.13 where the
# directory has no unversioned libcublasLt.so.
CUBLASLT_DIR ?= $(CUDA_HOME)/lib64
CUBLASLT_LIB ?= -lcublasLt
CUBLASLT_LINK = -L$(CUBLASLT_DIR) -Xlinker -rpath,$(CUBLASLT_DIR) $(CUBLASLT_LIB)

.PHONY: cuda-all cuda-generate cuda-tests gpu-check

cuda-all: $(foreach m,$(CUDA_REF_MODELS),build/$(m)/$(m) build/$(m)/$(m)-pack build/$(m)/$(m).weights)

cuda-generate: $(foreach m,$(CUDA_REF_MODELS),generated/$(m)/forward.c)

cuda-tests: build/cuda/test_hd build/cuda/test_quant build/cuda/test_pick build/cuda/bandwidth build/cuda/launch_floor \
            build/cuda/fp8_gemm_check build/cuda/sample_check

gpu-check:
	bash tools/gpu-check.sh

$(CUDA_OBJ)/%.o: %.c $(RUNTIME_HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iruntime -c -o $@ $<

$(CUDA_OBJ)/runtime/cuda/%.o: runtime/cuda/%.cu $(CUDA_HDR)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) $(CUDA_INC) -c -o $@ $<

# ---- one CUDA model: generated sources, binary, packer, weights ----------------------------
# The Makefile's MODEL arguments: $(1) name, $(2) generator input (--spec FILE or --hf DIR ...),
# $(3) HF checkpoint dir, $(4) generated-source dir, $(5) build dir. forward.c stands for all
# generated files (they are written together). The packer and weights rules are the Makefile's
# MODEL_PACK. Optional: $(6) and $(7), another build of the same model (its generated-source
# and build dirs) whose kernels.o this one takes when its kernels.cu and the headers that
# includes are the same files (a trace build's: mk/trace.mk), instead of compiling it again.
CUDA_GEN_HOST := $(filter-out kernels.c,$(GEN_C))
# $(call same_kernels,DIR,OTHER_DIR): a shell test, true when both hold the same kernels.cu and
# generated headers
same_kernels = $(foreach f,kernels.cu kernels.h config.h weights.h,cmp -s $(1)/$(f) $(2)/$(f) &&) true
define CUDA_MODEL
$(4)/forward.c: $(if $(DF_NO_REGEN),,$(CUDA_GEN_SRC) $(if $(findstring --spec,$(2)),$(word 2,$(2)),$(3)/config.json))
	$(GEN) $(2) --out $(4)

$(addprefix $(5)/obj/,$(CUDA_GEN_HOST:.c=.o)): $(5)/obj/%.o: $(4)/forward.c $(CUDA_HDR)
	@mkdir -p $$(@D)
	$(CC) $(CFLAGS) $(CUDA_INC) -I$(4) -c -o $$@ $(4)/$$*.c

$(5)/obj/kernels.o: $(4)/forward.c $(CUDA_HDR) $(if $(7),$(7)/obj/kernels.o)
	@mkdir -p $$(@D)
	$(if $(7),if $(call same_kernels,$(4),$(6)); then cp $(7)/obj/kernels.o $$@; else )$(NVCC) $(NVCCFLAGS) $(CUDA_INC) -I$(4) -c -o $$@ $(4)/kernels.cu$(if $(7),; fi)

$(5)/$(1): $(addprefix $(5)/obj/,$(CUDA_GEN_HOST:.c=.o)) $(5)/obj/kernels.o $(CUDA_RT_OBJ) $(call tok_obj,$(3),$(5))
	$(NVCC) $(CUDA_ARCH) -cudart static -o $$@ $$(filter %.o,$$^) $(CUBLASLT_LINK) $(LDLIBS)

$(call MODEL_PACK,$(1),$(2),$(3),$(4),$(5))
endef

$(foreach m,$(CUDA_BASE_MODELS),$(eval $(call CUDA_MODEL,$(m)_cuda,--spec specs/$(m)_cuda.lua,tests/fixtures/$(m)/hf,generated/$(m)_cuda,build/$(m)_cuda)))

# ---- the GPU machine --------------------------------------------------------------------------
# It can install nothing: the headers and static libraries of LDLIBS's -lmbed* that it lacks are
# copied to build/gpu-deps/ here (make gpu-deps), carried along, and found there by
# tools/gpu-check.sh through CPATH and LIBRARY_PATH.
GPU_DEPS_LIBS := $(patsubst -l%,lib%.a,$(filter -lmbed%,$(LDLIBS)))

.PHONY: gpu-deps
gpu-deps:
	rm -rf build/gpu-deps
	mkdir -p build/gpu-deps/include build/gpu-deps/lib
	$(if $(GPU_DEPS_LIBS),cp -r /usr/include/mbedtls /usr/include/psa build/gpu-deps/include/)
	$(foreach l,$(GPU_DEPS_LIBS),cp "$$($(CC) -print-file-name=$(l))" build/gpu-deps/lib/ &&) true

# ---- tests and tools (tests/cuda/) -----------------------------------------------------------
build/cuda/test_hd: tests/cuda/test_hd.cu $(CUDA_HDR)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) $(CUDA_INC) -o $@ $< -lm

build/cuda/bandwidth: tests/cuda/bandwidth.cu
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) -cudart static -o $@ $<

build/cuda/launch_floor: tests/cuda/launch_floor.cu $(CUDA_HDR)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) $(CUDA_INC) -cudart static -o $@ $<

build/cuda/test_quant: tests/cuda/test_quant.cu $(CUDA_HDR)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) $(CUDA_INC) -o $@ $< -lm

build/cuda/test_pick: tests/cuda/test_pick.cu $(CUDA_OBJ)/runtime/sample.o $(CUDA_HDR)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) $(CUDA_INC) -o $@ $< $(CUDA_OBJ)/runtime/sample.o -lm

# The host tests again under AddressSanitizer and UBSan (make cuda-asan-tests; tests/cuda/run.sh):
# the kernels' pieces that run on the CPU, checked for what they do with memory and integers.
# gcc's runtimes are named on the link line (nvcc does not pass -fsanitize to its link step, and
# its host compiler is gcc); test_pick's sampler object is built by gcc too, for the same runtime.
CUDA_SAN_TESTS := test_hd test_quant test_mla_split test_mla_bf16 test_pick
CUDA_SAN_OPTS  := -fsanitize=address -fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
.PHONY: cuda-asan-tests
cuda-asan-tests: $(addprefix build/cuda/asan/,$(CUDA_SAN_TESTS))

build/cuda/asan/%: tests/cuda/%.cu $(CUDA_HDR)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) $(addprefix -Xcompiler=,$(CUDA_SAN_OPTS)) $(CUDA_INC) -o $@ $< $(filter %.o,$^) -lm -lasan -lubsan

build/cuda/asan/test_pick: build/cuda/asan/sample.o

build/cuda/asan/sample.o: runtime/sample.c $(RUNTIME_HDR)
	@mkdir -p $(@D)
	gcc $(CFLAGS) $(CUDA_SAN_OPTS) -Iruntime -c -o $@ $<

build/cuda/sample_check: tests/cuda/sample_check.cu $(CUDA_OBJ)/runtime/sample.o $(CUDA_HDR)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) $(CUDA_INC) -cudart static -o $@ $< $(CUDA_OBJ)/runtime/sample.o -lm

build/cuda/fp8_gemm_check: tests/cuda/fp8_gemm_check.cu $(CUDA_OBJ)/runtime/cuda/lt_gemm.o $(CUDA_HDR)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) $(CUDA_INC) -cudart static -o $@ $< $(CUDA_OBJ)/runtime/cuda/lt_gemm.o $(CUBLASLT_LINK)
