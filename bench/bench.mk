# bench/bench.mk: `make bench` (included by the Makefile; see bench/README.md).
#
# Four DeepSeek-V3-shaped models of random weights, bf16 (specs/bench_v3.lua), FP8
# blocks (specs/bench_v3_fp8.lua), bf16 with bf16 activations (specs/bench_v3_bf16act.lua)
# and FP8 with FP8 activations (specs/bench_v3_fp8act.lua):
# generated, built and packed under build/bench/, then bench/run.sh measures the machine
# and the models and prints one table.
# Not part of `make test` (it takes a few minutes and ~11 GB of disk).

BENCH_MODELS := bench_v3 bench_v3_fp8 bench_v3_bf16act bench_v3_fp8act
BENCH_DIR    := build/bench
BENCH_RT     := $(filter-out runtime/main.c,$(RUNTIME_SRC))
BENCH_RUNS   ?= 5

.PHONY: bench bench-build

# $(1): model name
define BENCH_MODEL
$(eval $(call MODEL,$(1),--spec specs/$(1).lua,$(BENCH_DIR)/$(1)/hf,$(BENCH_DIR)/$(1)/src,$(BENCH_DIR)/$(1)))

$(BENCH_DIR)/$(1)/random_checkpoint: bench/random_checkpoint.c $(BENCH_DIR)/$(1)/src/forward.c
	$(CC) $(CFLAGS) -Iruntime -o $$@ bench/random_checkpoint.c $(BENCH_DIR)/$(1)/src/manifest.c -lm

$(BENCH_DIR)/$(1)/hf/model.safetensors: $(BENCH_DIR)/$(1)/random_checkpoint
	@mkdir -p $(BENCH_DIR)/$(1)/hf
	$(BENCH_DIR)/$(1)/random_checkpoint --out $(BENCH_DIR)/$(1)/hf

$(BENCH_DIR)/$(1)/$(1).weights: $(BENCH_DIR)/$(1)/hf/model.safetensors

# the benchmark driver: the binary's runtime and model, its own main; -DDF_STATS counts expert bytes
$(BENCH_DIR)/$(1)/bench: bench/bench.c $(BENCH_DIR)/$(1)/src/forward.c $(BENCH_RT) $(RUNTIME_HDR) $(call tok_obj,$(BENCH_DIR)/$(1)/hf,$(BENCH_DIR)/$(1))
	$(CC) $(CFLAGS) -DDF_STATS -Iruntime -I$(BENCH_DIR)/$(1)/src -o $$@ bench/bench.c $(BENCH_RT) \
	    $(addprefix $(BENCH_DIR)/$(1)/src/,$(GEN_C)) $(call tok_obj,$(BENCH_DIR)/$(1)/hf,$(BENCH_DIR)/$(1)) $(LDLIBS)
endef

$(foreach m,$(BENCH_MODELS),$(eval $(call BENCH_MODEL,$(m))))

bench-build: $(foreach m,$(BENCH_MODELS),$(BENCH_DIR)/$(m)/bench $(BENCH_DIR)/$(m)/$(m).weights)

bench: bench-build
	BENCH_RUNS=$(BENCH_RUNS) sh bench/run.sh $(BENCH_DIR) $(BENCH_MODELS)
