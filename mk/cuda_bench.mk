# mk/cuda_bench.mk: the mid-size CUDA models that tools/gpu-check.sh measures against the
# weight-streaming floor (docs/cuda.md, "Mid-size decode measurement"). Included by the
# Makefile after mk/cuda.mk, whose CUDA_MODEL it uses.
#
#   make cuda-bench-prepare   here, where lua5.4 and mbedTLS are: what the GPU machine cannot make
#                             (the generated sources, the tokenizer object, build/gpu-deps);
#                             carry its CUDA_BENCH_CARRY paths (tools/gpu-check.sh's header)
#   make cuda-bench-build     the binaries, packers, random-checkpoint writers and floor tools
#   make cuda-bench           that and the weights: a random checkpoint, packed (5.6 GB of disk in all)
#   make DF_NO_REGEN=1 ...    never run the generator (the GPU machine: the sources were carried)
#
# The models: specs/bench_v3_cuda.lua and specs/bench_v3_fp8_cuda.lua, the CPU benchmark's
# DeepSeek-V3-shaped models (bench/README.md: 8 layers, 64 routed experts, 6 per token, the real
# vocabulary; 1.67 GB of bf16, 1.10 GB of FP8 weights) for the CUDA backend, and
# specs/bench_v3_fp8act_cuda.lua, the FP8 one with FP8 activations (cuBLASLt's FP8 GEMMs), which
# packs the FP8 one's checkpoint (CUDA_BENCH_CHECKPOINT_<m>). Their weights are random
# (bench/random_checkpoint.c, the CPU benchmark's writer, linked with each model's manifest.c),
# written and packed on the machine that runs them: nothing large travels.
# Generated sources go to build/cuda_bench_src/<m>/ (0.7 MB bf16, 1.4 MB FP8; not committed), which
# holds nothing else so that it can be carried whole; everything built goes to
# build/cuda_bench/<m>/: <m>, <m>-pack, <m>.weights, hf/model.safetensors, random_checkpoint,
# decode_floor (tests/cuda/decode_floor.c: the weight bytes a decode step reads).

$(if $(value CUDA_MODEL),,$(error mk/cuda_bench.mk needs CUDA_MODEL from mk/cuda.mk, included first))

# Beside them, three CUDA reference models again with deploy.prefill_chunk = 4, generated here
# too (build/cuda_bench_src/<m>_chunk4_cuda), built and packed (from their fixtures) on the GPU
# machine, where tools/gpu-check.sh runs the fixtures' prompts in several prefill steps against
# the reference build's single step, bit for bit. With cuBLASLt's GEMMs (tiny_fp8act,
# tiny_bf16act) the products run at 4 rows, and in tiny_bf16act (whose output head is a GEMM
# too) a step in which no prompt ends runs the head on 0 rows.
CUDA_CHUNK_MODELS := tiny tiny_fp8act tiny_bf16act

CUDA_BENCH_MODELS := bench_v3_cuda bench_v3_fp8_cuda bench_v3_fp8act_cuda
CUDA_BENCH_CHECKPOINT_bench_v3_fp8act_cuda := bench_v3_fp8_cuda
# real shapes on synthetic weights (the end of this file)
CUDA_SYNTH_MODELS := deepseek_v2_lite bench_v3_8l_cuda
CUDA_BENCH_SRC    := build/cuda_bench_src
CUDA_BENCH_DIR    := build/cuda_bench
# What the GPU machine needs from here, besides the working tree.
CUDA_BENCH_CARRY  := build/gpu-deps $(CUDA_BENCH_SRC) $(TOK_OBJ:.o=.c) $(TOK_OBJ)

.PHONY: cuda-bench-generate cuda-bench-prepare cuda-bench-build cuda-bench

cuda-bench-generate: $(foreach m,$(CUDA_BENCH_MODELS) $(CUDA_SYNTH_MODELS),$(CUDA_BENCH_SRC)/$(m)/forward.c) \
                     $(foreach m,$(CUDA_CHUNK_MODELS),$(CUDA_BENCH_SRC)/$(m)_chunk4_cuda/forward.c)

cuda-bench-prepare: cuda-bench-generate $(TOK_OBJ) gpu-deps
	@echo "carry: $(CUDA_BENCH_CARRY) ($$(du -csh $(CUDA_BENCH_CARRY) | tail -n 1 | cut -f1))"

cuda-bench-build: $(foreach m,$(CUDA_BENCH_MODELS),$(addprefix $(CUDA_BENCH_DIR)/$(m)/,$(m) $(m)-pack random_checkpoint decode_floor)) \
                  $(foreach m,$(CUDA_SYNTH_MODELS),$(addprefix $(CUDA_BENCH_DIR)/$(m)/,synth_decode decode_floor)) \
                  $(foreach m,$(CUDA_CHUNK_MODELS),$(addprefix $(CUDA_BENCH_DIR)/$(m)_chunk4_cuda/,$(m)_cuda $(m)_cuda-pack))

cuda-bench: cuda-bench-build $(foreach m,$(CUDA_BENCH_MODELS),$(CUDA_BENCH_DIR)/$(m)/$(m).weights)

# $(1): model name. The weight bytes a decode step of it reads.
define CUDA_FLOOR
$(CUDA_BENCH_DIR)/$(1)/decode_floor: tests/cuda/decode_floor.c $(CUDA_BENCH_SRC)/$(1)/forward.c $(RUNTIME_HDR)
	@mkdir -p $$(@D)
	$(CC) $(CFLAGS) -Iruntime -I$(CUDA_BENCH_SRC)/$(1) -o $$@ tests/cuda/decode_floor.c $(CUDA_BENCH_SRC)/$(1)/manifest.c -lm
endef

# $(1): model name; $(2): the model whose random checkpoint it packs (itself, or one with the
# same tensors)
define CUDA_BENCH_MODEL
$(eval $(call CUDA_MODEL,$(1),--spec specs/$(1).lua --quiet,$(CUDA_BENCH_DIR)/$(2)/hf,$(CUDA_BENCH_SRC)/$(1),$(CUDA_BENCH_DIR)/$(1)))
$(eval $(call CUDA_FLOOR,$(1)))

$(CUDA_BENCH_DIR)/$(1)/random_checkpoint: bench/random_checkpoint.c $(CUDA_BENCH_SRC)/$(1)/forward.c $(RUNTIME_HDR)
	@mkdir -p $$(@D)
	$(CC) $(CFLAGS) -Iruntime -o $$@ bench/random_checkpoint.c $(CUDA_BENCH_SRC)/$(1)/manifest.c -lm

# written beside, then moved: a run cut short leaves no checkpoint that looks complete
$(CUDA_BENCH_DIR)/$(1)/hf/model.safetensors: $(CUDA_BENCH_DIR)/$(1)/random_checkpoint
	@rm -rf $(CUDA_BENCH_DIR)/$(1)/hf.part
	@mkdir -p $(CUDA_BENCH_DIR)/$(1)/hf $(CUDA_BENCH_DIR)/$(1)/hf.part
	$(CUDA_BENCH_DIR)/$(1)/random_checkpoint --out $(CUDA_BENCH_DIR)/$(1)/hf.part
	mv $(CUDA_BENCH_DIR)/$(1)/hf.part/model.safetensors $$@
	@rmdir $(CUDA_BENCH_DIR)/$(1)/hf.part

$(CUDA_BENCH_DIR)/$(1)/$(1).weights: $(CUDA_BENCH_DIR)/$(2)/hf/model.safetensors
endef

$(foreach m,$(CUDA_BENCH_MODELS),$(eval $(call CUDA_BENCH_MODEL,$(m),$(or $(CUDA_BENCH_CHECKPOINT_$(m)),$(m)))))

$(foreach m,$(CUDA_CHUNK_MODELS),$(eval $(call CUDA_MODEL,$(m)_cuda,--spec specs/$(m)_cuda.lua --set deploy.prefill_chunk=4 --quiet,tests/fixtures/$(m)/hf,$(CUDA_BENCH_SRC)/$(m)_chunk4_cuda,$(CUDA_BENCH_DIR)/$(m)_chunk4_cuda)))

# ---- real shapes on synthetic weights (docs/cuda.md, "Real shapes on synthetic weights") ------
# DeepSeek-V2-Lite as its real spec declares it (bf16, 31.4 GB) and V3's first 8 layers
# (specs/bench_v3_8l_cuda.lua, FP8, 63 GB): random checkpoints of these sizes would take most of
# a GPU session to write, pack and upload, so their weights are made on the device
# (tests/cuda/synth_weights.cu) by build/cuda_bench/<m>/synth_decode: the model's generated code
# and the CLI's runtime with tests/cuda/synth_decode.c in place of runtime/main.c. Their sources
# are generated here with the others (cuda-bench-generate) and carried.
CUDA_SYNTH_OBJ    := $(CUDA_OBJ)/tests/cuda/synth_decode.o $(CUDA_OBJ)/tests/cuda/synth_weights.o

$(CUDA_OBJ)/tests/cuda/synth_decode.o: tests/cuda/synth_decode.c $(CUDA_HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iruntime -c -o $@ $<

$(CUDA_OBJ)/tests/cuda/synth_weights.o: tests/cuda/synth_weights.cu $(CUDA_HDR)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) $(CUDA_INC) -c -o $@ $<

# $(1): model name
define CUDA_SYNTH_MODEL
$(eval $(call CUDA_MODEL,$(1),--spec specs/$(1).lua --quiet,$(CUDA_BENCH_DIR)/$(1)/hf,$(CUDA_BENCH_SRC)/$(1),$(CUDA_BENCH_DIR)/$(1)))
$(eval $(call CUDA_FLOOR,$(1)))

$(CUDA_BENCH_DIR)/$(1)/synth_decode: $(addprefix $(CUDA_BENCH_DIR)/$(1)/obj/,$(CUDA_GEN_HOST:.c=.o)) \
        $(CUDA_BENCH_DIR)/$(1)/obj/kernels.o $(CUDA_SYNTH_OBJ) $(filter-out %/runtime/main.o,$(CUDA_RT_OBJ)) $(TOK_OBJ)
	$(NVCC) $(CUDA_ARCH) -cudart static -o $$@ $$(filter %.o,$$^) $(CUBLASLT_LINK) $(LDLIBS)
endef

$(foreach m,$(CUDA_SYNTH_MODELS),$(eval $(call CUDA_SYNTH_MODEL,$(m))))
