# mk/cuda_mla.mk: the split-KV MLA decode kernel's tests (runtime/cuda/mla_decode.cuh,
# docs/cuda-mla.md); mk/cuda.mk's NVCC, NVCCFLAGS and CUDA_INC, read when the recipes run.
#
#   make build/cuda/test_mla_split   host tests of its __host__ __device__ pieces (CI, no GPU)
#   make build/cuda/test_mla_bf16    the same of its bf16-cache variant (runtime/cuda/mla_decode_bf16.cuh)
#   make build/cuda/mla_check        the kernel against mla_attend and fp64 on a GPU, and its GB/s
#
# The headers are listed here rather than through mk/cuda.mk's CUDA_HDR, which may not be set
# yet when this file is read (prerequisites expand at once).
MLA_HDR := $(wildcard runtime/*.h runtime/kernels/*.h runtime/cuda/*.h runtime/cuda/*.cuh tests/cuda/*.h tests/cuda/*.cuh)

# Built with the other CUDA tests and tools (tests/cuda/run.sh, tools/gpu-check.sh).
cuda-tests: build/cuda/test_mla_split build/cuda/test_mla_bf16 build/cuda/mla_check

build/cuda/test_mla_split: tests/cuda/test_mla_split.cu $(MLA_HDR)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) $(CUDA_INC) -o $@ $< -lm

build/cuda/test_mla_bf16: tests/cuda/test_mla_bf16.cu $(MLA_HDR)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) $(CUDA_INC) -o $@ $< -lm

build/cuda/mla_check: tests/cuda/mla_check.cu $(MLA_HDR)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) $(CUDA_INC) -cudart static -o $@ $< -lm
