# real_configs.sh: the real DeepSeek configurations (specs/deepseek_*.lua) and the memory
# report (gen/memory.lua). Sourced by tests/run.sh (tests/lib.sh's check, expect_fail, $T).
#
# Each real spec is the model of its Hugging Face config.json (the keys the import reads are
# below, as DeepSeek's files write them) and prints its memory report; the V3 figures are
# checked against numbers worked out here; V3 on its declared 80 GiB H800 is refused (exit 3,
# nothing written) and a deployment that fits is accepted; V2-Lite's CUDA code compiles and
# links (when nvcc is installed), and so does V3's CPU code. About 85 s on 2 cores from
# clean, most of it the three V3-sized manifests (7 s each) and V3's CPU build.
REAL_MODELS="deepseek_v3 deepseek_v3_1 deepseek_r1 deepseek_v2 deepseek_v2_lite deepseek_coder_v2_lite"

# ---- the specs are the models of the real config.json files -----------------------------
# real_config NAME JSON: $T/hf_NAME/config.json
real_config() { mkdir -p "$T/hf_$1" && printf '%s\n' "$2" > "$T/hf_$1/config.json"; }
# The keys of huggingface.co/deepseek-ai/<model>/blob/main/config.json that gen/import_hf.lua
# reads or checks. V3.1's differs from V3's only by scale_fmt; R1's is V3's.
V3_KEYS='"model_type": "deepseek_v3", "vocab_size": 129280, "hidden_size": 7168, "num_hidden_layers": 61,
  "first_k_dense_replace": 3, "num_attention_heads": 128, "num_key_value_heads": 128,
  "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
  "intermediate_size": 18432, "moe_intermediate_size": 2048, "moe_layer_freq": 1,
  "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 8, "n_group": 8, "topk_group": 4,
  "scoring_func": "sigmoid", "topk_method": "noaux_tc", "norm_topk_prob": true, "routed_scaling_factor": 2.5,
  "rms_norm_eps": 1e-06, "num_nextn_predict_layers": 1, "max_position_embeddings": 163840,
  "rope_theta": 10000, "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0,
  "mscale_all_dim": 1.0, "original_max_position_embeddings": 4096, "type": "yarn"},
  "hidden_act": "silu", "attention_bias": false, "tie_word_embeddings": false, "torch_dtype": "bfloat16"'
real_config deepseek_v3 "{ $V3_KEYS, \"quantization_config\": {\"activation_scheme\": \"dynamic\", \"fmt\": \"e4m3\",
  \"quant_method\": \"fp8\", \"weight_block_size\": [128, 128]} }"
real_config deepseek_v3_1 "{ $V3_KEYS, \"quantization_config\": {\"activation_scheme\": \"dynamic\", \"fmt\": \"e4m3\",
  \"quant_method\": \"fp8\", \"scale_fmt\": \"ue8m0\", \"weight_block_size\": [128, 128]} }"
cp -r "$T/hf_deepseek_v3" "$T/hf_deepseek_r1"
real_config deepseek_v2 '{ "model_type": "deepseek_v2", "vocab_size": 102400, "hidden_size": 5120,
  "num_hidden_layers": 60, "first_k_dense_replace": 1, "num_attention_heads": 128, "num_key_value_heads": 128,
  "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
  "intermediate_size": 12288, "moe_intermediate_size": 1536, "moe_layer_freq": 1,
  "n_routed_experts": 160, "n_shared_experts": 2, "num_experts_per_tok": 6, "n_group": 8, "topk_group": 3,
  "scoring_func": "softmax", "topk_method": "group_limited_greedy", "norm_topk_prob": false,
  "routed_scaling_factor": 16.0, "rms_norm_eps": 1e-06, "max_position_embeddings": 163840,
  "rope_theta": 10000, "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 0.707,
  "mscale_all_dim": 0.707, "original_max_position_embeddings": 4096, "type": "yarn"},
  "hidden_act": "silu", "attention_bias": false, "tie_word_embeddings": false, "torch_dtype": "bfloat16" }'
real_config deepseek_v2_lite '{ "model_type": "deepseek_v2", "vocab_size": 102400, "hidden_size": 2048,
  "num_hidden_layers": 27, "first_k_dense_replace": 1, "num_attention_heads": 16, "num_key_value_heads": 16,
  "q_lora_rank": null, "kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
  "intermediate_size": 10944, "moe_intermediate_size": 1408, "moe_layer_freq": 1,
  "n_routed_experts": 64, "n_shared_experts": 2, "num_experts_per_tok": 6, "n_group": 1, "topk_group": 1,
  "scoring_func": "softmax", "topk_method": "greedy", "norm_topk_prob": false,
  "routed_scaling_factor": 1.0, "rms_norm_eps": 1e-06, "max_position_embeddings": 163840,
  "rope_theta": 10000, "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 0.707,
  "mscale_all_dim": 0.707, "original_max_position_embeddings": 4096, "type": "yarn"},
  "hidden_act": "silu", "attention_bias": false, "tie_word_embeddings": false, "torch_dtype": "bfloat16" }'
cp -r "$T/hf_deepseek_v2_lite" "$T/hf_deepseek_coder_v2_lite"

# The normalized spec, less the deploy fields an import defaults differently.
real_model_part() { lua5.4 gen/main.lua "$@" --print-spec | grep -Ev '^    (target|max_batch|max_context|prefill_chunk|gpu_memory_gib) = '; }
real_same_model() ( real_model_part --spec "specs/$1.lua" > "$T/spec_$1" && real_model_part --hf "$T/hf_$1" --name "$1" > "$T/imp_$1" &&
               diff "$T/spec_$1" "$T/imp_$1" )
for m in $REAL_MODELS; do check "real/$m/is-its-config.json" real_same_model "$m"; done
# FP8 activations: V3's config takes them; V3.1's power-of-two scales (scale_fmt) are refused.
check "real/deepseek_v3/fp8-activations" sh -c "lua5.4 gen/main.lua --hf '$T/hf_deepseek_v3' --name v3 --set deploy.activations=fp8 --print-spec | grep -q 'activations = \"fp8\"'"
expect_fail "real/deepseek_v3_1/fp8-activations-refused" 3 "quantization_config.scale_fmt: \"ue8m0\"" \
    lua5.4 gen/main.lua --hf "$T/hf_deepseek_v3_1" --name v3_1 --set deploy.activations=fp8 --print-spec

# ---- the memory report ------------------------------------------------------------------
real_report() ( lua5.4 gen/main.lua --spec "specs/$1.lua" --print-memory > "$T/mem_$1" &&
           grep -q "^memory per GPU for $1 (target cuda" "$T/mem_$1" && grep -q '^  total  ' "$T/mem_$1" )
for m in $REAL_MODELS; do check "real/$m/memory-report" real_report "$m"; done

# real_mem_is FILE LABEL AWK-EXPR: the bytes b of the report line LABEL satisfy AWK-EXPR
real_mem_is() ( b=$(sed -n "s/^  $2  *\([0-9][0-9]*\) .*/\1/p" "$1") && [ -n "$b" ] && awk -v b="$b" "BEGIN { exit !($3) }" )
# real_buf_is FILE BUFFER AWK-EXPR: the bytes b of the plan's buffer BUFFER satisfy AWK-EXPR
real_buf_is() ( b=$(awk -v n="$2" '$1 == n { print $3 }' "$1") && [ -n "$b" ] && awk -v b="$b" "BEGIN { exit !($3) }" )
# The byte column of every line but the total adds up to the total's.
real_adds_up() ( awk '/^  / { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) { n++; if ($1 == "total") t = $i; else s += $i; break } }
                 END { exit !(n > 1 && s == t) }' "$1" )

# V3's figures. Weights: Hugging Face lists DeepSeek-V3 at 685B parameters (671B of the main
# model + 14B of the MTP module, with its own copies of the embedding and the head), one byte
# each as FP8 e4m3, plus one more byte for each of the four 129280 x 7168 vocabulary matrices
# (embeddings and heads stay bf16): 685e9 + 4 x 129280 x 7168 = 688.7e9 bytes; the f32 block
# scales (4 bytes per 128 x 128 block) and the f32 norms and routers add about 0.1%. The
# packed weights must be within 1% of that (one MoE layer less is 1.6%; bf16 experts would
# double it). KV cache: 61 layers x 8 sequences x 8192 positions x (512 + 64) floats.
# Expert scratch (the plan's expert_ws): 256 tokens x 8 experts x (2048 + 7168) floats, and 256
# experts' pair lists (a count and up to 256 pairs each); the step buffer: 6 arrays of 256 ints,
# then greedy_k's picks' area, 2 x 32 + 1 ints for each of the 8 rows (runtime/cuda/cuda_rt.h),
# rounded up to 256 bytes as every buffer of the plan.
REAL_V3=$T/mem_deepseek_v3
check "real/deepseek_v3/weights-685B-params" real_mem_is "$REAL_V3" weights \
    "b > 0.99 * (685e9 + 4 * 129280 * 7168) && b < 1.01 * (685e9 + 4 * 129280 * 7168)"
check "real/deepseek_v3/kv-cache" real_mem_is "$REAL_V3" "KV cache" "b == 61 * 8 * 8192 * 576 * 4"
check "real/deepseek_v3/expert-scratch" real_buf_is "$REAL_V3" expert_ws "b == 256 * 8 * (2048 + 7168) * 4 + 256 * (256 + 1) * 4"
check "real/deepseek_v3/step-arrays" real_buf_is "$REAL_V3" step "b == int((6 * 256 * 4 + (2 * 32 + 1) * 8 * 4 + 255) / 256) * 256"
check "real/deepseek_v3/lines-add-up" real_adds_up "$REAL_V3"
check "real/deepseek_v3/over-80" grep -q 'does NOT fit deploy.gpu_memory_gib = 80 (over by' "$REAL_V3"

# On its declared 80 GiB, V3 is refused: exit 3, the field, the numbers, nothing written.
expect_fail "real/deepseek_v3/refused-at-80-gib" 3 \
    'deepseek_v3.lua: deploy.gpu_memory_gib: needs 650.[0-9] GiB \(weights 641.5 GiB, KV cache 8.6 GiB, other persistent [0-9.]* MiB, activations [0-9.]* MiB\) but deploy.gpu_memory_gib is 80; .*needs several GPUs \(multi-GPU is not supported yet\)' \
    lua5.4 gen/main.lua --spec specs/deepseek_v3.lua --out "$T/v3_refused"
[ ! -e "$T/v3_refused" ] || fail "real/deepseek_v3/refused/nothing-written"

# V2-Lite (44.508 GiB in all) is generated for its 80 GiB, its plan.txt what --print-memory
# printed, and for 44.51 GiB; at 44.5 it is refused, and the KV cache is what to cut.
real_in_plan() ( diff "$2" "$1/plan.txt" )
check "real/deepseek_v2_lite/accepted-at-80-gib" lua5.4 gen/main.lua --quiet --spec specs/deepseek_v2_lite.lua --out "$T/v2l"
check "real/deepseek_v2_lite/plan.txt-is-print-memory" real_in_plan "$T/v2l" "$T/mem_deepseek_v2_lite"
check "real/deepseek_v2_lite/adds-up" real_adds_up "$T/mem_deepseek_v2_lite"
check "real/deepseek_v2_lite/accepted-at-44.51" lua5.4 gen/main.lua --quiet --spec specs/deepseek_v2_lite.lua \
    --set deploy.gpu_memory_gib=44.51 --out "$T/v2l_fits"
expect_fail "real/deepseek_v2_lite/refused-at-44.5" 3 \
    'deepseek_v2_lite.lua: deploy.gpu_memory_gib: needs 44.6 GiB \(weights 29.3 GiB, KV cache 15.2 GiB, .*\) but deploy.gpu_memory_gib is 44.5; lower deploy.max_batch or deploy.max_context' \
    lua5.4 gen/main.lua --spec specs/deepseek_v2_lite.lua --set deploy.gpu_memory_gib=44.5 --out "$T/v2l_refused"
[ ! -e "$T/v2l_refused" ] || fail "real/deepseek_v2_lite/refused/nothing-written"
# With a bf16 KV cache the cache is half (27 layers x 8 x 32768 x 576 values of 2 bytes), and
# the refused 44.5 GiB is enough.
lua5.4 gen/main.lua --spec specs/deepseek_v2_lite.lua --set deploy.kv_cache=bf16 --print-memory >"$T/mem_v2l_bf16kv" 2>&1
check "real/deepseek_v2_lite/bf16-kv-cache-half" real_mem_is "$T/mem_v2l_bf16kv" "KV cache" "b == 27 * 8 * 32768 * 576 * 2"
check "real/deepseek_v2_lite/bf16-kv-cache-adds-up" real_adds_up "$T/mem_v2l_bf16kv"
check "real/deepseek_v2_lite/bf16-kv-cache-accepted-at-44.5" lua5.4 gen/main.lua --quiet --spec specs/deepseek_v2_lite.lua \
    --set deploy.kv_cache=bf16 --set deploy.gpu_memory_gib=44.5 --out "$T/v2l_bf16kv"

# ---- the generated code compiles (mk/real.mk's rules) ------------------------------------
check "real/deepseek_v3/cpu-build" make -s build/real/cpu/deepseek_v3/deepseek_v3
# The CUDA arena forward.c allocates (ARENA_BYTES) is the plan's and the report's (SRC: the
# generated sources).
real_cuda_arena() ( d=$1
    a=$(sed -n 's/^#define ARENA_BYTES \([0-9][0-9]*\)u$/\1/p' "$d/forward.c") && [ -n "$a" ] &&
    grep -q "^memory plan for .*: arena $a bytes" "$d/plan.txt" &&
    w=$(sed -n 's/^  weights  *\([0-9][0-9]*\) .*/\1/p' "$d/plan.txt") &&
    real_mem_is "$d/plan.txt" total "b - $w == $a" )
# With FP8 or bf16 activations the plan also holds the cuBLASLt GEMMs' input and workspace.
for m in tiny_fp8act_cuda tiny_bf16act_cuda; do
    check "real/$m/cuda-arena-is-the-report" real_cuda_arena generated/$m
    check "real/$m/gemm-workspace-planned" real_buf_is generated/$m/plan.txt gemm_ws "b == 33554432"
done
check "real/deepseek_v2_lite/cuda-generate" make -s build/real/deepseek_v2_lite/src/forward.c
check "real/deepseek_v2_lite/cuda-arena-is-the-report" real_cuda_arena build/real/deepseek_v2_lite/src
if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
    check "real/deepseek_v2_lite/cuda-build" make -s build/real/deepseek_v2_lite/deepseek_v2_lite
else
    echo "skip real/deepseek_v2_lite/cuda-build: no nvcc"
fi
