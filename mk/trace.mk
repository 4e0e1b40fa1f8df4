# mk/trace.mk: trace builds of the reference models and the tool that compares their traces
# (gen/main.lua --trace, runtime/trace.h, tests/trace_diff.c; docs/testing.md, "Op-level
# traces"). Included by the Makefile after mk/cuda.mk and mk/cuda_bench.mk (CUDA_MODEL,
# CUDA_BENCH_SRC).
#
#   make build/trace/<m>/<m>              tests/models' <m> for the CPU, writing DF_TRACE=FILE
#   make build/trace/<m>_cuda/<m>_cuda    the same for CUDA
#   make build/trace_diff                 where two traces part: trace_diff REFERENCE OTHER
#
# The models whose activations are f32 (a trace compares them; the FP8- and bf16-activation
# models' buffers hold prepared GEMM inputs). Their sources are generated into
# build/cuda_bench_src/trace/, which make cuda-bench-prepare makes and a GPU machine gets
# carried; they run with the reference builds' packed weights (the same manifest).
TRACE_MODELS := $(filter-out %act,$(CUDA_BASE_MODELS))
TRACE_SRC    := $(CUDA_BENCH_SRC)/trace

build/trace_diff: tests/trace_diff.c runtime/trace.h
	@mkdir -p build
	$(CC) $(CFLAGS) -Iruntime -o $@ $< -lm

$(foreach m,$(TRACE_MODELS),$(eval $(call MODEL,$(m),--spec specs/$(m).lua --trace --quiet,tests/fixtures/$(m)/hf,$(TRACE_SRC)/$(m),build/trace/$(m))))
# A trace build's kernels.cu is the reference build's (df_trace calls are in forward.c): its
# kernels.o is taken from there rather than compiled again, when the files are the same.
$(foreach m,$(TRACE_MODELS),$(eval $(call CUDA_MODEL,$(m)_cuda,--spec specs/$(m)_cuda.lua --trace --quiet,tests/fixtures/$(m)/hf,$(TRACE_SRC)/$(m)_cuda,build/trace/$(m)_cuda,generated/$(m)_cuda,build/$(m)_cuda)))

cuda-bench-generate: $(foreach m,$(TRACE_MODELS),$(TRACE_SRC)/$(m)/forward.c $(TRACE_SRC)/$(m)_cuda/forward.c)
