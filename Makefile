# deepfreeze: spec -> Lua generator -> specialized C -> one binary per model.
#
#   make demo                                  the bundled tiny model: generate, build, pack, run
#   make NAME=mymodel HF=path/to/checkpoint    any DeepSeek-V2/V3-family HF checkpoint
#   make test                                  every test
#   make generate                              regenerate the committed generated/ sources
#
# Builds go to build/<name>/: the binary <name>, its packer <name>-pack and,
# for models with a checkpoint, the packed <name>.weights.

LUA      := lua5.4
CC       := cc
# -ffile-prefix-map: no path of the build machine in the binary (reproducible builds)
CFLAGS   := -std=c11 -O2 -g -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
            -ffile-prefix-map=$(CURDIR)=.
LDLIBS   := -lm -lpthread
GEN      := $(LUA) gen/main.lua
GEN_SRC  := $(wildcard gen/*.lua templates/cpu/*)

RUNTIME_SRC := runtime/main.c runtime/subcommands.c runtime/cpu_backend.c runtime/generate.c runtime/prompts.c runtime/sample.c runtime/threads.c \
               runtime/weights_file.c weights/format.c
RUNTIME_HDR := $(wildcard runtime/*.h runtime/kernels/*.h weights/*.h)
PACK_SRC    := weights/pack_main.c weights/pack.c weights/safetensors.c weights/json.c weights/convert.c \
               weights/format.c
GEN_C       := forward.c kernels.c manifest.c

# The reference models: committed specs, generated sources and HF fixtures.
REF_MODELS := tiny tiny_fp8 v2_lite v2_group

NAME ?=
HF   ?=

.PHONY: all demo generate test unit-tests deps clean user-model
.DEFAULT_GOAL := $(if $(NAME),user-model,all)

all: $(foreach m,$(REF_MODELS),build/$(m)/$(m))

# ---- one model: binary, packer, weights -----------------------------------------------
# $(1): name, $(2): generator input (--spec FILE or --hf DIR ...), $(3): HF checkpoint dir,
# $(4): generated-source dir, $(5): build dir
define MODEL
$(4)/forward.c: $(GEN_SRC) $(if $(findstring --spec,$(2)),$(word 2,$(2)),$(3)/config.json)
	$(GEN) $(2) --out $(4)

$(5)/$(1): $(4)/forward.c $(RUNTIME_SRC) $(RUNTIME_HDR)
	@mkdir -p $(5)
	$(CC) $(CFLAGS) -Iruntime -I$(4) -o $$@ $(RUNTIME_SRC) $(addprefix $(4)/,$(GEN_C)) $(LDLIBS)

$(5)/$(1)-pack: $(4)/forward.c $(PACK_SRC) $(RUNTIME_HDR)
	@mkdir -p $(5)
	$(CC) $(CFLAGS) -Iruntime -o $$@ $(PACK_SRC) $(4)/manifest.c $(LDLIBS)

$(5)/$(1).weights: $(5)/$(1)-pack $(wildcard $(3)/*.safetensors)
	$(5)/$(1)-pack --hf $(3) --out $$@
endef

$(foreach m,$(REF_MODELS),$(eval $(call MODEL,$(m),--spec specs/$(m).lua,tests/fixtures/$(m)/hf,generated/$(m),build/$(m))))

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
USER_GEN   := $(if $(SPEC),--spec $(SPEC),--hf $(HF) --name $(NAME) $(foreach s,$(SET),--set deploy.$(s)))
USER_SRC   := $(if $(OUT),$(OUT)/src,generated/$(NAME))
USER_BUILD := $(if $(OUT),$(OUT),build/$(NAME))
$(eval $(call MODEL,$(NAME),$(USER_GEN),$(HF),$(USER_SRC),$(USER_BUILD)))
user-model: $(USER_BUILD)/$(NAME) $(USER_BUILD)/$(NAME).weights
	@echo "built $(USER_BUILD)/$(NAME); run: $(USER_BUILD)/$(NAME) --weights $(USER_BUILD)/$(NAME).weights --ids 0,1,2 -n 16 --print-ids"
endif
endif

# Backends other than the CPU add their rules here (mk/cuda.mk: TARGET=cuda, the CUDA reference models).
-include $(wildcard mk/*.mk)

# ---- the demo ----------------------------------------------------------------------------
DEMO_IDS := 1,15,300,42,7,512,99
demo: deps build/tiny/tiny build/tiny/tiny.weights
	build/tiny/tiny --weights build/tiny/tiny.weights --ids $(DEMO_IDS) -n 16 --print-ids

# ---- regenerate the committed sources ------------------------------------------------------
generate: $(foreach m,$(REF_MODELS),generated/$(m)/forward.c)

# ---- tests ---------------------------------------------------------------------------------
SAN_CC     := clang
SAN_CFLAGS := $(filter-out -O2,$(CFLAGS)) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=all
UNIT_TESTS := $(patsubst tests/unit/%.c,build/unit/%,$(wildcard tests/unit/test_*.c))
UNIT_DEPS  := runtime/threads.c runtime/sample.c runtime/prompts.c

WEIGHTS_TESTS := build/weights/test_json build/weights/test_pack
FUZZERS       := build/fuzz/fuzz_json build/fuzz/fuzz_safetensors build/fuzz/fuzz_header
FUZZ_CFLAGS   := -std=c11 -g -O1 -D_POSIX_C_SOURCE=200809L -fsanitize=fuzzer,address,undefined \
                 -fno-sanitize-recover=all

test: deps all $(foreach m,$(REF_MODELS),build/$(m)/$(m).weights) build/compare_logits unit-tests \
      build/asan/tiny build/asan/tiny-pack $(WEIGHTS_TESTS) $(FUZZERS)
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

# libFuzzer targets over every parser of untrusted bytes (tests/weights/run.sh runs them briefly).
build/fuzz/fuzz_json: tests/fuzz/fuzz_json.c weights/json.c
build/fuzz/fuzz_safetensors: tests/fuzz/fuzz_safetensors.c weights/safetensors.c weights/json.c
build/fuzz/fuzz_header: tests/fuzz/fuzz_header.c weights/format.c
build/fuzz/%: $(wildcard weights/*.h)
	@mkdir -p build/fuzz
	$(SAN_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

# The tiny model and its packer under AddressSanitizer + UBSan (tests/sanitizers.sh).
build/asan/tiny: generated/tiny/forward.c $(RUNTIME_SRC) $(RUNTIME_HDR)
	@mkdir -p build/asan
	$(SAN_CC) $(SAN_CFLAGS) -Iruntime -Igenerated/tiny -o $@ $(RUNTIME_SRC) $(addprefix generated/tiny/,$(GEN_C)) $(LDLIBS)

build/asan/tiny-pack: generated/tiny/forward.c $(PACK_SRC) $(RUNTIME_HDR)
	@mkdir -p build/asan
	$(SAN_CC) $(SAN_CFLAGS) -Iruntime -o $@ $(PACK_SRC) generated/tiny/manifest.c $(LDLIBS)

# ---- system packages (Debian) --------------------------------------------------------------
deps:
	@tools/install-deps.sh

clean:
	rm -rf build
