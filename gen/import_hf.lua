-- import_hf.lua: a Hugging Face config.json (DeepSeek-V2/V3 family) as a spec.
--
-- The table below maps each spec field to its config.json key. The default
-- deployment is the reference precision: weights as the checkpoint stores them,
-- f32 activations and KV cache.
local cjson = require("cjson")
local spec = require("spec")
local util = require("util")

local M = {}

-- spec field, config.json key, default when the key is absent or null
-- (a function of model_type where V2 and V3 differ; nil: the key is required).
local by_type = function(v2, v3) return function(mt) return mt == "deepseek_v2" and v2 or v3 end end
local FIELDS = {
  { "vocab", "vocab_size" }, { "hidden", "hidden_size" }, { "layers", "num_hidden_layers" },
  { "first_k_dense", "first_k_dense_replace", 0 }, { "heads", "num_attention_heads" },
  { "q_lora_rank", "q_lora_rank", 0 }, { "kv_lora_rank", "kv_lora_rank" },
  { "qk_nope", "qk_nope_head_dim" }, { "qk_rope", "qk_rope_head_dim" }, { "v_head", "v_head_dim" },
  { "dense_inter", "intermediate_size" }, { "moe_inter", "moe_intermediate_size" },
  { "routed_experts", "n_routed_experts" }, { "shared_experts", "n_shared_experts", 0 },
  { "experts_per_token", "num_experts_per_tok" }, { "n_group", "n_group", 1 }, { "topk_group", "topk_group", 1 },
  { "scoring", "scoring_func", by_type("softmax", "sigmoid") },
  { "topk_method", "topk_method", by_type("greedy", "noaux_tc") },
  { "norm_topk_prob", "norm_topk_prob", by_type(false, true) },
  { "routed_scaling", "routed_scaling_factor", 1.0 }, { "rms_eps", "rms_norm_eps" },
  { "mtp_layers", "num_nextn_predict_layers", 0 },
}
local YARN_FIELDS = {
  { "factor", "factor" }, { "original_max", "original_max_position_embeddings" },
  { "beta_fast", "beta_fast", 32 }, { "beta_slow", "beta_slow", 1 },
  { "mscale", "mscale", 1 }, { "mscale_all_dim", "mscale_all_dim", 0 },
}
local INT_FIELDS = {
  vocab = true, hidden = true, layers = true, first_k_dense = true, heads = true, q_lora_rank = true,
  kv_lora_rank = true, qk_nope = true, qk_rope = true, v_head = true, dense_inter = true,
  moe_inter = true, routed_experts = true, shared_experts = true, experts_per_token = true,
  n_group = true, topk_group = true, mtp_layers = true, original_max = true,
}

-- JSON numbers arrive as floats; integer fields must hold whole numbers.
local function take(src, cfg, key, field, default, model_type)
  local v = cfg[key]
  if v == nil or v == cjson.null then
    if default == nil then spec.fail(src, key, "missing") end
    if type(default) == "function" then return default(model_type) end
    return default
  end
  if INT_FIELDS[field] then
    local i = type(v) == "number" and math.tointeger(v)
    if not i then spec.fail(src, key, "must be an integer, got " .. spec.show(v)) end
    return i
  end
  return v
end

local function rope_part(src, cfg)
  -- transformers 5 writes rope_parameters; DeepSeek's own configs rope_theta + rope_scaling.
  local rp = cfg.rope_parameters
  local rs = cfg.rope_scaling
  if rs == nil or rs == cjson.null then rs = rp end
  local theta = cfg.rope_theta
  if (theta == nil or theta == cjson.null) and type(rp) == "table" then theta = rp.rope_theta end
  if theta == nil or theta == cjson.null then theta = 10000.0 end
  local rope = { theta = theta }
  if type(rs) == "table" then
    local kind = rs.type or rs.rope_type
    if kind == "yarn" then
      local y = {}
      for _, f in ipairs(YARN_FIELDS) do
        y[f[1]] = take(src, rs, f[2], f[1], f[3])
      end
      rope.yarn = y
    elseif kind ~= "default" and kind ~= nil then
      spec.fail(src, "rope_scaling.type", "unsupported rope scaling " .. spec.show(kind) .. " (only yarn)")
    end
  end
  return rope
end

local function weights_precision(src, cfg)
  local q = cfg.quantization_config
  if type(q) == "table" then
    if q.quant_method ~= "fp8" then
      spec.fail(src, "quantization_config.quant_method", "unsupported " .. spec.show(q.quant_method) .. " (only fp8)")
    end
    local b = q.weight_block_size
    if type(b) ~= "table" or b[1] ~= 128 or b[2] ~= 128 then
      spec.fail(src, "quantization_config.weight_block_size", "must be [128, 128]")
    end
    return "fp8"
  end
  local dt = cfg.torch_dtype or cfg.dtype
  if dt == "bfloat16" then return "bf16" end
  if dt == "float32" or dt == "float16" then return "f32" end
  spec.fail(src, "torch_dtype", "unsupported " .. spec.show(dt) .. " (bfloat16, float16, float32, or an fp8 quantization_config)")
end

-- Fields whose only supported value is the DeepSeek one: refuse anything else
-- rather than run a different architecture silently.
local function check_fixed(src, cfg)
  local function must(key, ok, want)
    local v = cfg[key]
    if v ~= nil and v ~= cjson.null and not ok(v) then
      spec.fail(src, key, string.format("unsupported value %s (supported: %s)", spec.show(v), want))
    end
  end
  must("model_type", function(v) return v == "deepseek_v2" or v == "deepseek_v3" end, "deepseek_v2, deepseek_v3")
  must("tie_word_embeddings", function(v) return v == false end, "false")
  must("hidden_act", function(v) return v == "silu" end, "silu")
  must("attention_bias", function(v) return v == false end, "false")
  must("moe_layer_freq", function(v) return v == 1 end, "1")
  must("num_key_value_heads", function(v) return v == cfg.num_attention_heads end, "num_attention_heads")
end

-- deploy: overrides from the command line, e.g. { max_batch = 8 }.
function M.import(config_path, name, deploy)
  local text, err = util.read_file(config_path)
  if not text then spec.fail(config_path, "config.json", "cannot read: " .. err) end
  local ok, cfg = pcall(cjson.decode, text)
  if not ok or type(cfg) ~= "table" then spec.fail(config_path, "config.json", "not a JSON object: " .. tostring(cfg)) end
  check_fixed(config_path, cfg)
  local model_type = cfg.model_type
  local m = { name = name }
  for _, f in ipairs(FIELDS) do
    m[f[1]] = take(config_path, cfg, f[2], f[1], f[3], model_type)
  end
  m.rope = rope_part(config_path, cfg)
  local max_pos = take(config_path, cfg, "max_position_embeddings", "max_context", 4096)
  local d = {
    target = "cpu", max_batch = 4, max_context = math.min(math.tointeger(max_pos) or 4096, 4096),
    weights = weights_precision(config_path, cfg), activations = "f32", kv_cache = "f32",
  }
  for k, v in pairs(deploy or {}) do d[k] = v end
  -- FP8 activations are DeepSeek's act_quant with scale amax / 448 (runtime/kernels/quant.h);
  -- checkpoints whose quantization_config sets scale_fmt (V3.1: "ue8m0", scales rounded up to
  -- powers of two) quantize activations with other scales.
  local q = cfg.quantization_config
  if d.activations == "fp8" and type(q) == "table" and q.scale_fmt ~= nil and q.scale_fmt ~= cjson.null then
    spec.fail(config_path, "quantization_config.scale_fmt", string.format(
      "%s: deploy.activations = \"fp8\" computes scales as amax / 448 only; use \"f32\"", spec.show(q.scale_fmt)))
  end
  return spec.validate({ model = m, deploy = d }, config_path)
end

return M
