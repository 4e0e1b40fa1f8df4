# deepfreeze: spec -> Lua generator -> specialized C -> one binary per model.
#
#   make demo                                  the bundled tiny model: generate, build, pack, run
#   make NAME=mymodel HF=path/to/checkpoint    any DeepSeek-V2/V3-family HF checkpoint
#   make test                                  every test
#   make generate                              regenerate the committed generated/ sources
#   make bench                                 the CPU benchmark (bench/README.md; a few minutes)
#
# Builds go to build/<name>/: the binary <name>, its packer <name>-pack and,
# for models with a checkpoint, the packed <name>.weights.

LUA      := lua5.4
CC       := cc
# -ffp-contract=off: no a * b + c fused into an fma behind the source's back (ISO C mode already
# says so to gcc; the flag keeps it in any mode and for clang), which the sampler's weights
# (runtime/kernels/sample_select.h) need to round as the GPU's do.
BASE_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -ffp-contract=off -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
# with_flags FLAGS: FLAGS, plus -ffile-prefix-map (no path of the build machine in the binary:
# reproducible builds) and DF_BUILD_FLAGS, the flags as `<binary> audit` reports them
# (runtime/audit.c; without the prefix map, which names the build directory).
with_flags = $(1) -ffile-prefix-map=$(CURDIR)=. -DDF_BUILD_FLAGS='"$(strip $(1))"'
CFLAGS   := $(call with_flags,$(BASE_CFLAGS))
LDLIBS   := -lmbedcrypto -lm -lpthread
GEN      := $(LUA) gen/main.lua
GEN_SRC  := $(wildcard gen/*.lua templates/cpu/* templates/common/* tests/keys/*.pub.pem)

# Integrity and signatures (docs/signing.md): SHA-256 (SHA-NI or mbedTLS), the integrity
# section, ECDSA P-256 keys. build/df-sign makes keys and (re)signs packed files.
SIGN_SRC    := weights/integrity.c weights/sha256.c weights/sign.c
DF_SIGN_SRC := weights/sign_main.c weights/format.c runtime/weights_file.c runtime/verify.c $(SIGN_SRC)
# The test-only key pair (tests/keys/README.md). A model whose spec trusts TEST_PUB gets
# its weights signed with TEST_KEY; SIGN_KEY=path signs with another key.
TEST_KEY := tests/keys/test-signing.key.pem
TEST_PUB := tests/keys/test-signing.pub.pem
SIGN_KEY ?=
sign_key  = $(or $(SIGN_KEY),$(if $(shell grep -s -F '"$(TEST_PUB)"' $(1)/spec.lua),$(TEST_KEY)))

RUNTIME_SRC := runtime/main.c runtime/subcommands.c runtime/cpu_backend.c runtime/generate.c runtime/prompts.c runtime/sample.c runtime/threads.c \
               runtime/weights_file.c runtime/verify.c runtime/verify_cmd.c weights/format.c $(SIGN_SRC) \
               runtime/session.c runtime/audit.c runtime/audit_json.c runtime/audit_cmd.c weights/json.c runtime/trace.c
RUNTIME_HDR := $(wildcard runtime/*.h runtime/kernels/*.h weights/*.h)
# The CPU kernels' instruction set, chosen at start (runtime/cpu_features.c; SIMD in runtime/kernels/x86/).
RUNTIME_SRC += runtime/cpu_features.c
RUNTIME_HDR += $(wildcard runtime/kernels/x86/*.h)
# The tokenizer (docs/tokenizer.md). Its data is generated from a tokenizer.json at build time
# into one object per tokenizer: the bundled DeepSeek-V3 one (TOK_OBJ), or build/<name>/tokenizer.o
# for a checkpoint that brings its own tokenizer.json (tok_obj HF-DIR BUILD-DIR).
TOK_SRC     := runtime/tokenizer.c runtime/tokenizer_none.c runtime/tokenizer_unicode.c runtime/chat.c
RUNTIME_SRC += $(TOK_SRC) runtime/tokenizer_cli.c
TOK_DIR     := tokenizers/deepseek-v3
TOK_OBJ     := build/tokenizers/deepseek-v3.o
tok_obj      = $(if $(wildcard $(1)/tokenizer.json),$(2)/tokenizer.o,$(TOK_OBJ))
PACK_SRC    := weights/pack_main.c weights/pack.c weights/safetensors.c weights/json.c weights/convert.c \
               weights/format.c $(SIGN_SRC)
GEN_C       := forward.c kernels.c manifest.c trust.c provenance.c

# The reference models: committed specs, generated sources and HF fixtures (tests/models).
ref_models  = $(shell sed -n 's/^\([a-z0-9_]*\) .*\<$(1)\>.*/\1/p' tests/models)
REF_MODELS := $(call ref_models,cpu)

NAME ?=
HF   ?=

.PHONY: all demo generate test unit-tests deps clean user-model bench-verify
.DEFAULT_GOAL := $(if $(NAME),user-model,all)

all: $(foreach m,$(REF_MODELS),build/$(m)/$(m)) build/df-sign

# ---- one model: binary, packer, weights -----------------------------------------------
# $(1): name, $(2): generator input (--spec FILE or --hf DIR ...), $(3): HF checkpoint dir,
# $(4): generated-source dir, $(5): build dir
# The packer and the packed weights of a model, whatever its target (mk/cuda.mk uses it too).
define MODEL_PACK
$(5)/$(1)-pack: $(4)/forward.c $(PACK_SRC) $(RUNTIME_HDR)
	@mkdir -p $(5)
	$(CC) $(CFLAGS) -Iruntime -o $$@ $(PACK_SRC) $(4)/manifest.c $(4)/trust.c $(LDLIBS)

$(5)/$(1).weights: $(5)/$(1)-pack $(wildcard $(3)/*.safetensors) $(wildcard $(TEST_KEY))
	$(5)/$(1)-pack --hf $(3) --out $$@ $$(addprefix --sign ,$$(call sign_key,$(4)))
endef

define MODEL
$(4)/forward.c: $(if $(DF_NO_REGEN),,$(GEN_SRC) $(if $(findstring --spec,$(2)),$(word 2,$(2)),$(3)/config.json))
	$(GEN) $(2) --out $(4)

$(5)/$(1): $(4)/forward.c $(RUNTIME_SRC) $(RUNTIME_HDR) $(call tok_obj,$(3),$(5))
	@mkdir -p $(5)
	$(CC) $(CFLAGS) -Iruntime -I$(4) -o $$@ $(RUNTIME_SRC) $(addprefix $(4)/,$(GEN_C)) $(call tok_obj,$(3),$(5)) $(LDLIBS)

$(call MODEL_PACK,$(1),$(2),$(3),$(4),$(5))
endef

$(foreach m,$(REF_MODELS),$(eval $(call MODEL,$(m),--spec specs/$(m).lua,tests/fixtures/$(m)/hf,generated/$(m),build/$(m))))

# Backends other than the CPU add their rules here (mk/cuda.mk: TARGET=cuda, the CUDA reference models),
# sorted: mk/cuda_bench.mk needs mk/cuda.mk first, and make before 4.3 does not sort wildcard.
-include $(sort $(wildcard mk/*.mk))

# A model of your own: NAME=x with HF=checkpoint-dir (its config.json is imported, SET="k=v ..."
# overrides deploy fields) or SPEC=file.lua (+ HF for its weights). OUT=dir puts the generated
# sources in OUT/src and the build in OUT instead of generated/NAME and build/NAME.
ifneq ($(NAME),)
ifeq ($(filter $(NAME),$(REF_MODELS))$(HF)$(SPEC)$(OUT),$(NAME))
user-model: build/$(NAME)/$(NAME) build/$(NAME)/$(NAME).weights
else
ifeq ($(HF),)
$(error NAME=$(NAME) needs HF=path/to/hf-checkpoint)
endif
USER_GEN   := $(if $(SPEC),--spec $(SPEC),--hf $(HF) --name $(NAME) $(foreach s,$(SET),--set deploy.$(s)) \
              $(if $(filter cuda,$(TARGET)),--set deploy.target=cuda))
USER_SRC   := $(if $(OUT),$(OUT)/src,generated/$(NAME))
USER_BUILD := $(if $(OUT),$(OUT),build/$(NAME))
$(eval $(call $(if $(filter cuda,$(TARGET)),CUDA_MODEL,MODEL),$(NAME),$(USER_GEN),$(HF),$(USER_SRC),$(USER_BUILD)))
user-model: $(USER_BUILD)/$(NAME) $(USER_BUILD)/$(NAME).weights
	@echo "built $(USER_BUILD)/$(NAME); run: $(USER_BUILD)/$(NAME) --weights $(USER_BUILD)/$(NAME).weights --ids 0,1,2 -n 16 --print-ids"
endif
endif

# `make bench`: the CPU benchmark (bench/README.md); not part of `make test`.
include bench/bench.mk

build/df-sign: $(DF_SIGN_SRC) $(RUNTIME_HDR)
	@mkdir -p build
	$(CC) $(CFLAGS) -Iruntime -o $@ $(DF_SIGN_SRC) $(LDLIBS)

# ---- the demo ----------------------------------------------------------------------------
DEMO_IDS := 1,15,300,42,7,512,99
demo: deps build/tiny/tiny build/tiny/tiny.weights
	build/tiny/tiny --weights build/tiny/tiny.weights --ids $(DEMO_IDS) -n 16 --print-ids

# ---- regenerate the committed sources ------------------------------------------------------
generate: $(foreach m,$(REF_MODELS),generated/$(m)/forward.c)

# ---- tests ---------------------------------------------------------------------------------
SAN_CC     := clang
# $(comma): a literal comma inside $(call)'s argument (a bare one would split it there and drop
# UBSan, as it once did)
comma      := ,
SAN_CFLAGS := $(call with_flags,$(filter-out -O2,$(BASE_CFLAGS)) -O1 -fno-omit-frame-pointer \
              -fsanitize=address$(comma)undefined -fno-sanitize-recover=all)
UNIT_TESTS := $(patsubst tests/unit/%.c,build/unit/%,$(wildcard tests/unit/test_*.c))
UNIT_DEPS  := runtime/threads.c runtime/sample.c runtime/prompts.c runtime/cpu_features.c

WEIGHTS_TESTS := build/weights/test_json build/weights/test_pack build/weights/test_sha256 build/weights/test_verify \
                 build/weights/random_checkpoint_tiny_fp8
FUZZERS       := build/fuzz/fuzz_json build/fuzz/fuzz_safetensors build/fuzz/fuzz_header build/fuzz/fuzz_integrity build/fuzz/fuzz_audit
FUZZ_CFLAGS   := -std=c11 -g -O1 -D_POSIX_C_SOURCE=200809L -fsanitize=fuzzer,address,undefined \
                 -fno-sanitize-recover=all

test: deps all $(foreach m,$(REF_MODELS),build/$(m)/$(m).weights) build/compare_logits unit-tests \
      build/asan/tiny build/asan/tiny-pack build/asan/test_simd build/asan/test_sample $(WEIGHTS_TESTS) $(FUZZERS) build/df-sign
	tests/run.sh

unit-tests: $(UNIT_TESTS)

build/unit/%: tests/unit/%.c $(UNIT_DEPS) $(RUNTIME_HDR) $(wildcard tests/unit/*.h)
	@mkdir -p build/unit
	$(CC) $(CFLAGS) -Iruntime -o $@ $< $(UNIT_DEPS) $(LDLIBS)

build/compare_logits: tests/compare_logits.c
	@mkdir -p build
	$(CC) $(CFLAGS) -o $@ $< -lm

build/weights/test_json: tests/weights/test_json.c weights/json.c weights/json.h
	@mkdir -p build/weights
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^)

build/weights/test_pack: tests/weights/test_pack.c $(filter-out weights/pack_main.c,$(PACK_SRC)) runtime/weights_file.c $(RUNTIME_HDR)
	@mkdir -p build/weights
	$(CC) $(CFLAGS) -Iruntime -o $@ $(filter %.c,$^) $(LDLIBS)

# the benchmarks' random-checkpoint writer (bench/random_checkpoint.c) for tiny_fp8's manifest:
# tests/weights/run.sh packs what it writes
build/weights/random_checkpoint_tiny_fp8: bench/random_checkpoint.c generated/tiny_fp8/forward.c $(RUNTIME_HDR)
	@mkdir -p build/weights
	$(CC) $(CFLAGS) -Iruntime -o $@ bench/random_checkpoint.c generated/tiny_fp8/manifest.c -lm

build/weights/test_sha256: tests/weights/test_sha256.c weights/sha256.c weights/sha256.h
	@mkdir -p build/weights
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^) $(LDLIBS)

build/weights/test_verify: tests/weights/test_verify.c $(filter-out weights/pack_main.c,$(PACK_SRC)) runtime/weights_file.c \
                           runtime/verify.c $(RUNTIME_HDR)
	@mkdir -p build/weights
	$(CC) $(CFLAGS) -Iruntime -o $@ $(filter %.c,$^) $(LDLIBS)

# SHA-256 speed (SHA-NI vs mbedTLS, one thread and all) and the tiny model's verify time.
build/bench/bench_sha256: tests/weights/bench_sha256.c weights/sha256.c weights/sha256.h
	@mkdir -p build/bench
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^) $(LDLIBS)

bench-verify: build/bench/bench_sha256 build/tiny/tiny build/tiny/tiny.weights
	build/bench/bench_sha256
	build/tiny/tiny verify --weights build/tiny/tiny.weights

# libFuzzer targets over every parser of untrusted bytes (tests/weights/run.sh runs them briefly).
build/fuzz/fuzz_json: tests/fuzz/fuzz_json.c weights/json.c
build/fuzz/fuzz_safetensors: tests/fuzz/fuzz_safetensors.c weights/safetensors.c weights/json.c
build/fuzz/fuzz_header: tests/fuzz/fuzz_header.c weights/format.c
build/fuzz/fuzz_integrity: tests/fuzz/fuzz_integrity.c weights/format.c runtime/verify.c $(SIGN_SRC) $(wildcard runtime/*.h)
build/fuzz/fuzz_integrity: FUZZ_LIBS := -lmbedcrypto -lpthread
build/fuzz/fuzz_audit: tests/fuzz/fuzz_audit.c runtime/audit_json.c weights/json.c weights/integrity.c weights/sha256.c \
                      generated/tiny/provenance.c $(wildcard runtime/*.h)
build/fuzz/fuzz_audit: FUZZ_LIBS := -lmbedcrypto
build/fuzz/fuzz_audit: FUZZ_CFLAGS += -Iruntime
build/fuzz/%: $(wildcard weights/*.h)
	@mkdir -p build/fuzz
	$(SAN_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(FUZZ_LIBS)

# The tiny model and its packer under AddressSanitizer + UBSan (tests/sanitizers.sh).
build/asan/tiny: generated/tiny/forward.c $(RUNTIME_SRC) $(RUNTIME_HDR) $(TOK_OBJ)
	@mkdir -p build/asan
	$(SAN_CC) $(SAN_CFLAGS) -Iruntime -Igenerated/tiny -o $@ $(RUNTIME_SRC) $(addprefix generated/tiny/,$(GEN_C)) $(TOK_OBJ) $(LDLIBS)

build/asan/tiny-pack: generated/tiny/forward.c $(PACK_SRC) $(RUNTIME_HDR)
	@mkdir -p build/asan
	$(SAN_CC) $(SAN_CFLAGS) -Iruntime -o $@ $(PACK_SRC) generated/tiny/manifest.c generated/tiny/trust.c $(LDLIBS)

# Unit tests too: the SIMD kernels' (every ISA's paths, AVX-512 BF16 among them) and the
# sampler's (its radix selection's shifts and sums) under the sanitizers.
build/asan/test_%: tests/unit/test_%.c $(UNIT_DEPS) $(RUNTIME_HDR) $(wildcard tests/unit/*.h)
	@mkdir -p build/asan
	$(SAN_CC) $(SAN_CFLAGS) -Iruntime -o $@ $< $(UNIT_DEPS) $(LDLIBS)

# ---- the tokenizer (docs/tokenizer.md) -------------------------------------------------------
# tokenizers/deepseek-v3/tokenizer.json.xz is unpacked, checked against SHA256SUMS and turned into
# C data (gen/tokenizer.lua) once; every binary links the object. NAME=x HF=dir with a
# dir/tokenizer.json: that one, as build/x/tokenizer.o (gen/tokenizer.lua warns, and the binary
# refuses to tokenize, when its shape is not one the runtime implements).
# DF_NO_REGEN=1 (a machine without lua5.4, given the C data): never remade once it exists.
build/tokenizers/deepseek-v3.c: $(if $(DF_NO_REGEN),,$(TOK_DIR)/tokenizer.json.xz $(TOK_DIR)/SHA256SUMS \
                                $(TOK_DIR)/tokenizer_config.json gen/tokenizer.lua gen/sha256.lua)
	@mkdir -p build/tokenizers/deepseek-v3
	xz -dc $(TOK_DIR)/tokenizer.json.xz > build/tokenizers/deepseek-v3/tokenizer.json
	cd build/tokenizers/deepseek-v3 && sha256sum --check --quiet $(CURDIR)/$(TOK_DIR)/SHA256SUMS
	$(LUA) gen/tokenizer.lua --json build/tokenizers/deepseek-v3/tokenizer.json --config $(TOK_DIR)/tokenizer_config.json \
	    --name deepseek-v3 --sha256 $$(cut -d' ' -f1 $(TOK_DIR)/SHA256SUMS) --out $@

$(TOK_OBJ): build/tokenizers/deepseek-v3.c runtime/tokenizer_data.h
	$(CC) $(CFLAGS) -Iruntime -c -o $@ $<

# $(1): checkpoint dir with tokenizer.json, $(2): build dir, $(3): name
define TOKENIZER
$(2)/tokenizer.c: $(1)/tokenizer.json $(wildcard $(1)/tokenizer_config.json) gen/tokenizer.lua gen/sha256.lua
	@mkdir -p $(2)
	$(LUA) gen/tokenizer.lua --json $(1)/tokenizer.json $(if $(wildcard $(1)/tokenizer_config.json),--config $(1)/tokenizer_config.json) \
	    --name $(3) --sha256 $$$$(sha256sum < $(1)/tokenizer.json | cut -d' ' -f1) --out $$@

$(2)/tokenizer.o: $(2)/tokenizer.c runtime/tokenizer_data.h
	$(CC) $(CFLAGS) -Iruntime -c -o $$@ $$<
endef
ifneq ($(USER_BUILD),)
ifneq ($(wildcard $(HF)/tokenizer.json),)
$(eval $(call TOKENIZER,$(HF),$(USER_BUILD),$(NAME)))
endif
endif

# The Unicode table of the pre-tokenizer, from Debian's unicode-data (committed; a test compares).
unicode-tables:
	$(LUA) gen/tokenizer_unicode.lua --out runtime/tokenizer_unicode

# Tests (tests/tokenizer/run.sh), the fuzzer, and the benchmark (C vs HF tokenizers if Python has it).
build/tokenizer/test_tokenizer: tests/tokenizer/test_tokenizer.c weights/json.c $(TOK_SRC) $(TOK_OBJ) $(RUNTIME_HDR)
	@mkdir -p build/tokenizer
	$(CC) $(CFLAGS) -Iruntime -Iweights -o $@ $(filter %.c %.o,$^) $(LDLIBS)

build/fuzz/fuzz_tokenizer: tests/fuzz/fuzz_tokenizer.c $(TOK_SRC) build/tokenizers/deepseek-v3.c $(RUNTIME_HDR) \
                           runtime/tokenizer_cli.c
build/fuzz/fuzz_tokenizer: FUZZ_CFLAGS += -Iruntime

test: build/tokenizer/test_tokenizer build/fuzz/fuzz_tokenizer

bench-tokenizer: build/tokenizer/test_tokenizer build/tiny/tiny
	tests/tokenizer/bench.sh

.PHONY: unicode-tables bench-tokenizer

# ---- system packages (Debian) --------------------------------------------------------------
deps:
	@tools/install-deps.sh

clean:
	rm -rf build
