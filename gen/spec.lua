-- spec.lua: the model spec: its schema, loading from specs/*.lua, validation.
--
-- A spec is plain data with two parts, `model` (the architecture) and `deploy`
-- (how this binary runs it). Every field is listed in SCHEMA below with its type;
-- anything missing, mistyped, unknown or inconsistent stops generation with one
-- message naming the source file and the field.
local util = require("util")
local M = {}

local function is_int(v) return math.type(v) == "integer" end

local function check_type(kind, v)
  if kind == "int" then return is_int(v), "an integer" end
  if kind == "pos" then return is_int(v) and v > 0, "a positive integer" end
  if kind == "nat" then return is_int(v) and v >= 0, "an integer >= 0" end
  if kind == "num" then return type(v) == "number" and v == v and v > 0 and v < math.huge, "a positive number" end
  if kind == "nnum" then return type(v) == "number" and v == v and v >= 0 and v < math.huge, "a number >= 0" end
  if kind == "bool" then return type(v) == "boolean", "true or false" end
  if kind == "paths" then -- a list of file paths (deploy.trusted_keys)
    local want = "a list of file paths (letters, digits, . _ - / + @ ~)"
    if type(v) ~= "table" then return false, want end
    local n = 0
    for _ in pairs(v) do n = n + 1 end
    if n ~= #v then return false, want end
    for _, p in ipairs(v) do
      if type(p) ~= "string" or not p:match("^[%w%._/%-+@~]+$") then return false, want end
    end
    return true
  end
  if kind == "name" then
    return type(v) == "string" and v:match("^[a-z][a-z0-9_]*$") ~= nil and #v <= 48,
      "a lowercase C identifier (letters, digits, _; at most 48 chars)"
  end
  if type(kind) == "table" then -- an enumeration
    for _, ok in ipairs(kind) do
      if v == ok then return true end
    end
    return false, "one of " .. table.concat(kind, ", ")
  end
  error("spec schema: unknown kind " .. tostring(kind))
end

-- Field order here is the order of the normalized spec and of its hash.
M.SCHEMA = {
  model = {
    { "name", "name" }, { "vocab", "pos" }, { "hidden", "pos" }, { "layers", "pos" },
    { "first_k_dense", "nat" }, { "heads", "pos" },
    { "q_lora_rank", "nat" }, -- 0: a plain q_proj (V2-Lite)
    { "kv_lora_rank", "pos" }, { "qk_nope", "pos" }, { "qk_rope", "pos" }, { "v_head", "pos" },
    { "dense_inter", "pos" }, { "moe_inter", "pos" },
    { "routed_experts", "pos" }, { "shared_experts", "nat" }, { "experts_per_token", "pos" },
    { "n_group", "pos" }, { "topk_group", "pos" },
    { "scoring", { "sigmoid", "softmax" } },
    { "topk_method", { "greedy", "group_limited_greedy", "noaux_tc" } },
    { "norm_topk_prob", "bool" }, { "routed_scaling", "num" }, { "rms_eps", "num" },
    { "mtp_layers", "nat" },
    { "rope", "table" },
  },
  rope = { { "theta", "num" }, { "yarn", "table", optional = true } },
  yarn = {
    { "factor", "num" }, { "original_max", "pos" }, { "beta_fast", "num" }, { "beta_slow", "num" },
    { "mscale", "nnum" }, { "mscale_all_dim", "nnum" }, -- 0: no attention-scale correction
  },
  deploy = {
    { "target", { "cpu", "cuda" } }, { "max_batch", "pos" }, { "max_context", "pos" },
    { "prefill_chunk", "pos", optional = true },
    { "weights", { "f32", "bf16", "fp8" } }, { "activations", { "f32", "bf16", "fp8" } }, { "kv_cache", { "f32", "bf16" } },
    -- PEM public keys (paths relative to where the generator runs: the repo root
    -- under make) whose signatures the binary accepts; none: unsigned weights are
    -- accepted, checked by their chunk hashes only. See docs/signing.md.
    { "trusted_keys", "paths", optional = true },
    -- true: the binary offers --no-verify (development only); default false.
    { "allow_no_verify", "bool", optional = true },
    -- The memory of the one GPU this binary runs on, in GiB (2^30 bytes; e.g.
    -- 80 for an H800). Generation stops if the per-GPU memory report (gen/memory.lua:
    -- weights, KV cache, activations, workspaces) exceeds it. Absent: nothing is
    -- checked. Target cpu: not checked either (the report says so), so one spec
    -- can be generated for both targets.
    { "gpu_memory_gib", "num", optional = true },
  },
}

-- Raise the one error message generation stops with.
local function fail(source, field, msg)
  error({ spec_error = string.format("%s: %s: %s", source, field, msg) }, 0)
end
M.fail = fail

local function check_table(source, path, t, schema)
  if type(t) ~= "table" then fail(source, path, "must be a table") end
  local known = {}
  for _, f in ipairs(schema) do
    local key, kind = f[1], f[2]
    known[key] = true
    local v, field = t[key], path .. "." .. key
    if v == nil then
      if not f.optional then fail(source, field, "missing") end
    elseif kind == "table" then
      if type(v) ~= "table" then fail(source, field, "must be a table") end
    else
      local ok, want = check_type(kind, v)
      if not ok then fail(source, field, string.format("must be %s, got %s", want, M.show(v))) end
    end
  end
  local extra = {}
  for k in pairs(t) do
    if not known[k] then extra[#extra + 1] = tostring(k) end
  end
  table.sort(extra)
  if #extra > 0 then fail(source, path .. "." .. extra[1], "unknown field") end
end

function M.show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "table" then return "a table" end
  return tostring(v)
end

-- Rules between fields. Each names the field a user would edit.
local function check_consistency(source, m, d)
  local function need(cond, field, msg) if not cond then fail(source, field, msg) end end
  need(m.first_k_dense <= m.layers, "model.first_k_dense",
    string.format("%d exceeds model.layers (%d)", m.first_k_dense, m.layers))
  need(m.qk_rope % 2 == 0, "model.qk_rope", "must be even (RoPE rotates pairs)")
  need(m.experts_per_token <= m.routed_experts, "model.experts_per_token",
    string.format("%d exceeds model.routed_experts (%d)", m.experts_per_token, m.routed_experts))
  need(m.topk_group <= m.n_group, "model.topk_group",
    string.format("%d exceeds model.n_group (%d)", m.topk_group, m.n_group))
  need(m.routed_experts % m.n_group == 0, "model.n_group",
    string.format("model.routed_experts (%d) is not divisible into %d groups", m.routed_experts, m.n_group))
  need(m.routed_experts <= 1024, "model.routed_experts", "at most 1024 (the runtime's routing scratch)")
  need(m.n_group <= 64, "model.n_group", "at most 64 (the runtime's routing scratch)")
  local per_group = m.routed_experts // m.n_group
  if m.topk_method ~= "greedy" then
    need(m.experts_per_token <= m.topk_group * per_group, "model.experts_per_token",
      string.format("%d exceeds the %d experts of the %d allowed groups", m.experts_per_token,
        m.topk_group * per_group, m.topk_group))
  end
  if m.topk_method == "noaux_tc" then
    need(per_group >= 2, "model.n_group", "noaux_tc scores a group by its top-2 experts: need >= 2 experts per group")
  end
  local y = m.rope.yarn
  if y then
    need(y.factor >= 1, "model.rope.yarn.factor", "must be >= 1")
    need(y.beta_fast > y.beta_slow, "model.rope.yarn.beta_fast", "must exceed beta_slow")
  end
  need(d.max_context >= 2, "deploy.max_context", "must be at least 2")
  local chunk = d.prefill_chunk
  need(chunk >= d.max_batch, "deploy.prefill_chunk",
    string.format("%d is below deploy.max_batch (%d): a decode step must fit in one chunk", chunk, d.max_batch))
  if d.activations == "bf16" then -- docs/numerics.md: bf16 activations
    need(d.weights == "bf16", "deploy.activations",
      string.format("\"bf16\" needs deploy.weights = \"bf16\" (got %s): FP8 and f32 weights take f32 activations",
        M.show(d.weights)))
  end
  if d.activations == "fp8" then -- docs/numerics.md: FP8 activations
    need(d.weights == "fp8", "deploy.activations",
      string.format("\"fp8\" needs deploy.weights = \"fp8\" (got %s): only products with FP8 weights quantize their input",
        M.show(d.weights)))
  end
  if d.kv_cache == "bf16" then -- runtime/kernels/simd_shapes.h: DF_MLA_MAX_ROW
    local row = m.kv_lora_rank + m.qk_rope
    need(row <= 2048, "deploy.kv_cache",
      string.format("\"bf16\" takes cache rows of at most 2048 values; kv_lora_rank + qk_rope is %d", row))
  end
  if d.target == "cuda" and d.activations == "fp8" then -- cuBLASLt's FP8 GEMM runs on multiples of 4 rows
    need(chunk % 4 == 0, "deploy.prefill_chunk",
      string.format("%d is not a multiple of 4: with FP8 activations on CUDA, cuBLASLt's FP8 GEMMs run on "
        .. "multiples of 4 tokens, and every activation buffer must hold them", chunk))
  end
  if d.target == "cuda" then
    -- the absorbed query's lanes take 8 latent columns (4 of f32) at a time (absorb_part)
    need(m.kv_lora_rank % 8 == 0, "model.kv_lora_rank",
      string.format("%d is not a multiple of 8, which the CUDA backend's attention kernels read a lane's columns in",
        m.kv_lora_rank))
    -- the per-(token, expert) MoE kernels put the pairs on a grid's y (runtime/cuda/kernels.cuh)
    need(chunk * m.experts_per_token <= 65535, "deploy.prefill_chunk",
      string.format("%d tokens x %d experts per token = %d (token, expert) pairs in a step, over the CUDA backend's 65535",
        chunk, m.experts_per_token, chunk * m.experts_per_token))
  end
end

-- Validate a spec table in place; fill optional fields with their defaults.
function M.validate(spec, source)
  check_table(source, "spec", spec, { { "model", "table" }, { "deploy", "table" } })
  local m, d = spec.model, spec.deploy
  check_table(source, "model", m, M.SCHEMA.model)
  check_table(source, "model.rope", m.rope, M.SCHEMA.rope)
  if m.rope.yarn then check_table(source, "model.rope.yarn", m.rope.yarn, M.SCHEMA.yarn) end
  check_table(source, "deploy", d, M.SCHEMA.deploy)
  if d.prefill_chunk == nil then
    d.prefill_chunk = math.max(d.max_batch, math.min(d.max_context, 256))
    if d.target == "cuda" and d.activations == "fp8" then -- a multiple of 4 (check_consistency)
      d.prefill_chunk = (d.prefill_chunk + 3) // 4 * 4
    end
  end
  if d.trusted_keys == nil then d.trusted_keys = {} end
  if d.allow_no_verify == nil then d.allow_no_verify = false end
  check_consistency(source, m, d)
  return spec
end

-- Load specs/<x>.lua: plain data, evaluated with no access to the environment.
-- deploy: overrides of deploy fields (the generator's --set), e.g. { max_batch = 8 };
-- they are validated as if the file held them.
function M.load(path, deploy)
  local chunk, err = loadfile(path, "t", {})
  if not chunk then fail(path, "spec", err) end
  local ok, spec = pcall(chunk)
  if not ok then fail(path, "spec", tostring(spec)) end
  if type(spec) == "table" and type(spec.deploy) == "table" then
    for k, v in pairs(deploy or {}) do spec.deploy[k] = v end
  end
  return M.validate(spec, path)
end

-- The normalized spec as Lua source: fixed field order, so its hash is stable.
function M.serialize(spec)
  local out = { "return {" }
  local function emit_part(indent, key, t, schema)
    out[#out + 1] = string.format("%s%s = {", indent, key)
    for _, f in ipairs(schema) do
      local k, v = f[1], t[f[1]]
      if v ~= nil then
        if f[2] == "paths" then
          local items = {}
          for i, p in ipairs(v) do items[i] = M.show(p) end
          out[#out + 1] = string.format("%s  %s = {%s},", indent, k,
            #items > 0 and " " .. table.concat(items, ", ") .. " " or "")
        elseif type(v) == "table" then
          emit_part(indent .. "  ", k, v, M.SCHEMA[k])
        elseif math.type(v) == "float" then
          out[#out + 1] = string.format("%s  %s = %s,", indent, k, util.num(v))
        else
          out[#out + 1] = string.format("%s  %s = %s,", indent, k, M.show(v))
        end
      end
    end
    out[#out + 1] = indent .. "},"
  end
  emit_part("  ", "model", spec.model, M.SCHEMA.model)
  emit_part("  ", "deploy", spec.deploy, M.SCHEMA.deploy)
  out[#out + 1] = "}"
  return table.concat(out, "\n") .. "\n"
end

return M
