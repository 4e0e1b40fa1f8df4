# specs.sh: every bad spec stops the generator with exit 3, one message naming
# the file and the field, and nothing written. Sourced by tests/run.sh.

# bad_spec NAME FIELD-PATTERN LUA-EDIT: the tiny spec edited by a gsub on its text
bad_spec() {
    name=$1 pattern=$2 from=$3 to=$4
    spec="$T/bad_$name.lua"
    lua5.4 -e "local s = io.open('specs/tiny.lua'):read('a'); local n; s, n = s:gsub($from, $to, 1)
               assert(n == 1, 'edit did not apply'); io.open('$spec', 'w'):write(s)" || { fail "spec/$name" "edit"; return; }
    rm -rf "$T/out_$name"
    expect_fail "spec/$name" 3 "bad_$name.lua: $pattern" lua5.4 gen/main.lua --spec "$spec" --out "$T/out_$name"
    [ ! -e "$T/out_$name" ] || fail "spec/$name/nothing-written"
}

bad_spec missing-field    "model.heads: missing"               "'heads = 4, '" "''"
bad_spec mistyped-field   "model.heads: must be a positive integer" "'heads = 4'" "'heads = \"4\"'"
bad_spec float-for-int    "model.hidden: must be a positive integer" "'hidden = 128'" "'hidden = 128.5'"
bad_spec unknown-field    "model.hiden: unknown field"         "'hidden = 128'" "'hidden = 128, hiden = 128'"
bad_spec topk-group       "model.topk_group: 5 exceeds model.n_group" "'topk_group = 2'" "'topk_group = 5'"
bad_spec indivisible      "model.n_group: model.routed_experts \\(15\\) is not divisible" "'routed_experts = 16'" "'routed_experts = 15'"
bad_spec too-many-chosen  "model.experts_per_token: 17 exceeds" "'experts_per_token = 4'" "'experts_per_token = 17'"
bad_spec odd-rope         "model.qk_rope: must be even"        "'qk_rope = 16'" "'qk_rope = 15'"
bad_spec precision        "deploy.weights: must be one of f32, bf16, fp8" "'weights = \"bf16\"'" "'weights = \"int4\"'"
bad_spec act-precision    "deploy.activations: must be one of f32, bf16, fp8" "'activations = \"f32\"'" "'activations = \"int8\"'"
bad_spec act-fp8-bf16     "deploy.activations: \"fp8\" needs deploy.weights = \"fp8\" \\(got \"bf16\"\\)" "'activations = \"f32\"'" "'activations = \"fp8\"'"
bad_spec act-bf16-fp8     "deploy.activations: \"bf16\" needs deploy.weights = \"bf16\" \\(got \"fp8\"\\)" "'weights = \"bf16\", activations = \"f32\"'" "'weights = \"fp8\", activations = \"bf16\"'"
bad_spec fp8-gemm-chunk   "deploy.prefill_chunk: 6 is not a multiple of 4: with FP8 activations on CUDA" "'target = \"cpu\", max_batch = 4,(.-)weights = \"bf16\", activations = \"f32\"'" "'target = \"cuda\", max_batch = 4, prefill_chunk = 6,%1weights = \"fp8\", activations = \"fp8\"'"
bad_spec kv-precision     "deploy.kv_cache: must be one of f32, bf16" "'kv_cache = \"f32\"'" "'kv_cache = \"fp8\"'"
bad_spec kv-bf16-row      "deploy.kv_cache: \"bf16\" takes cache rows of at most 2048 values; kv_lora_rank \\+ qk_rope is 2056" \
    "'kv_lora_rank = 64,(.-)kv_cache = \"f32\"'" "'kv_lora_rank = 2040,%1kv_cache = \"bf16\"'"
bad_spec scoring          "model.scoring: must be one of sigmoid, softmax" "'\"sigmoid\"'" "'\"relu\"'"
bad_spec yarn-missing     "model.rope.yarn.beta_fast: missing" "'beta_fast = 32.0, '" "''"
bad_spec dense-too-many   "model.first_k_dense: 4 exceeds model.layers" "'first_k_dense = 1'" "'first_k_dense = 4'"
bad_spec target           "deploy.target: must be one of cpu, cuda" "'target = \"cpu\"'" "'target = \"tpu\"'"
bad_spec chunk-too-small  "deploy.prefill_chunk: 2 is below deploy.max_batch" "'max_batch = 4,'" "'max_batch = 4, prefill_chunk = 2,'"
bad_spec cuda-chunk       "deploy.prefill_chunk: 16384 tokens x 4 experts per token = 65536 \\(token, expert\\) pairs in a step, over the CUDA backend's 65535" \
    "'target = \"cpu\", max_batch = 4,'" "'target = \"cuda\", max_batch = 4, prefill_chunk = 16384,'"
bad_spec syntax           "spec: .*unexpected symbol|spec: .*expected" "'return {'" "'return {{'"
bad_spec not-a-table      "spec.model: must be a table"        "'model = {'" "'model = 1, m = {'"
bad_spec gpu-memory-zero  "deploy.gpu_memory_gib: must be a positive number, got 0" "'kv_cache = \"f32\"'" "'kv_cache = \"f32\", gpu_memory_gib = 0'"
bad_spec gpu-memory-minus "deploy.gpu_memory_gib: must be a positive number, got -80" "'kv_cache = \"f32\"'" "'kv_cache = \"f32\", gpu_memory_gib = -80'"
bad_spec gpu-memory-text  "deploy.gpu_memory_gib: must be a positive number, got \"80\"" "'kv_cache = \"f32\"'" "'kv_cache = \"f32\", gpu_memory_gib = \"80\"'"

# A CUDA deployment larger than deploy.gpu_memory_gib (here 0.006 GiB = 6.14 MiB for tiny_cuda's
# 6.33) stops generation the same way, naming the numbers; --set overrides a spec's deploy field
# and is validated as the file's own value would be.
# On CUDA the latent rank must be a multiple of 8 (the attention kernels read a lane's 8 columns at once).
lua5.4 -e "local s = io.open('specs/tiny.lua'):read('a'); s = s:gsub('kv_lora_rank = 64', 'kv_lora_rank = 60', 1)
           io.open('$T/bad_kv_lora.lua', 'w'):write(s)"
expect_fail "spec/cuda-kv-lora-rank" 3 "bad_kv_lora.lua: model.kv_lora_rank: 60 is not a multiple of 8" \
    lua5.4 gen/main.lua --spec "$T/bad_kv_lora.lua" --set deploy.target=cuda --out "$T/out_kv_lora"
check "spec/cuda-kv-lora-rank/cpu-takes-it" lua5.4 gen/main.lua --quiet --spec "$T/bad_kv_lora.lua" --out "$T/out_kv_lora_cpu"
rm -rf "$T/out_gpu"
expect_fail "spec/gpu-memory-exceeded" 3 "tiny_cuda.lua: deploy.gpu_memory_gib: needs 6.4 MiB \(weights 4.2 MiB, KV cache 960.0 KiB, .*\) but deploy.gpu_memory_gib is 0.006; lower deploy.max_batch" \
    lua5.4 gen/main.lua --spec specs/tiny_cuda.lua --set deploy.gpu_memory_gib=0.006 --out "$T/out_gpu"
[ ! -e "$T/out_gpu" ] || fail "spec/gpu-memory-exceeded/nothing-written"
expect_fail "spec/set-bad-value" 3 'tiny_cuda.lua: deploy.gpu_memory_gib: must be a positive number, got "lots"' \
    lua5.4 gen/main.lua --spec specs/tiny_cuda.lua --set deploy.gpu_memory_gib=lots --out "$T/out_gpu"

# A bad HF config.json: the message names the config key.
bad_config() {
    name=$1 pattern=$2 from=$3 to=$4
    mkdir -p "$T/cfg_$name"
    sed "s/$from/$to/" tests/fixtures/tiny/hf/config.json > "$T/cfg_$name/config.json"
    cmp -s "$T/cfg_$name/config.json" tests/fixtures/tiny/hf/config.json && { fail "config/$name" "edit"; return; }
    expect_fail "config/$name" 3 "config.json: $pattern" lua5.4 gen/main.lua --hf "$T/cfg_$name" --name x --out "$T/cfg_$name/out"
    [ ! -e "$T/cfg_$name/out" ] || fail "config/$name/nothing-written"
}
bad_config missing-key   "kv_lora_rank: missing"              '"kv_lora_rank": 64,' ''
bad_config not-integer   "qk_rope_head_dim: must be an integer" '"qk_rope_head_dim": 16' '"qk_rope_head_dim": 16.5'
bad_config tied          "tie_word_embeddings: unsupported value true" '"tie_word_embeddings": false' '"tie_word_embeddings": true'
bad_config model-type    "model_type: unsupported value \"llama\"" '"model_type": "deepseek_v3"' '"model_type": "llama"'
bad_config dtype         "torch_dtype: unsupported \"int8\"" '"torch_dtype": "bfloat16"' '"torch_dtype": "int8"'
bad_config not-json      "not a JSON object"                  '^{' '['
expect_fail "config/no-file" 3 "config.json: cannot read" lua5.4 gen/main.lua --hf "$T/nowhere" --name x --out "$T/nowhere_out"
expect_fail "gen/usage" 2 "give exactly one of --spec or --hf" lua5.4 gen/main.lua --out "$T/x"
# a build without the launch fusions (mk/unfused.mk) is a CUDA schedule's: a CPU spec is refused
expect_fail "gen/unfused-cpu-refused" 3 "deploy.target: --unfused leaves out the CUDA schedule's launch fusions" \
    lua5.4 gen/main.lua --spec specs/tiny.lua --unfused --out "$T/unfused_cpu"

# An imported config.json gives the committed spec of the same model; with a precision asked
# for, tiny's and tiny_fp8's checkpoints give tiny_bf16act, tiny_bf16kv and tiny_fp8act.
for m in tiny tiny_fp8 v2_lite v2_group v3_h16 tiny_bf16act:activations=bf16 tiny_bf16kv:kv_cache=bf16 \
    tiny_fp8act:activations=fp8; do
    case $m in *:*) set="--set deploy.${m#*:}" ;; *) set= ;; esac
    m=${m%%:*}
    check "import/$m" sh -c "lua5.4 gen/main.lua --hf tests/fixtures/$m/hf --name $m --set deploy.max_context=256 $set --set deploy.trusted_keys=tests/keys/test-signing.pub.pem --print-spec >'$T/imp.lua' &&
                             lua5.4 gen/main.lua --spec specs/$m.lua --print-spec | diff - '$T/imp.lua'"
done
