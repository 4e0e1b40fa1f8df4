-- manifest.lua: every weight tensor of the packed file, in file order.
--
-- Each entry: packed name, HF checkpoint name, packed dtype, shape {rows, cols},
-- its block-scale tensor (fp8 only), byte offset in the data section and size.
-- A block-scale tensor is [ceil(rows/128)][ceil(cols/128) rounded up to 4]:
-- the checkpoint's weight_scale_inv with each row padded to 16 bytes (zeros),
-- the layout cuBLASLt's block-scaled GEMM reads (runtime/kernels/mat.h).
-- The packer and the binary both obey this table; its JSON form's SHA-256
-- identifies the layout (a binary refuses a file packed by another manifest).
local util = require("util")
local sha256 = require("sha256")

local M = {}

M.ALIGN = 64          -- every tensor starts on a cache line (and an AVX-512 vector)
M.FP8_BLOCK = 128     -- DeepSeek-V3's weight quantization block, 128 x 128
M.FP8_SCALE_ROW_ALIGN = 4  -- floats: a row of block scales is padded to 16 bytes
local ELEM_BYTES = { f32 = 4, bf16 = 2, f8e4m3 = 1 }
M.ELEM_BYTES = ELEM_BYTES

-- What each kind of tensor is packed as, per deploy.weights:
-- "linear": matrices inside layers; "big": embeddings and output heads;
-- "small": norms, router weights and biases (always f32: exact, and tiny).
local PACKED = {
  f32 = { linear = "f32", big = "f32", small = "f32" },
  bf16 = { linear = "bf16", big = "bf16", small = "f32" },
  fp8 = { linear = "f8e4m3", big = "bf16", small = "f32" },
}

function M.build(spec, shapes)
  local s, m = shapes, spec.model
  local packed = PACKED[spec.deploy.weights]
  local list, by_name = {}, {}

  local function add(name, hf, kind, rows, cols)
    local t = { name = name, hf_name = hf, dtype = packed[kind], rows = rows, cols = cols or 1,
                ndim = cols and 2 or 1 }
    list[#list + 1] = t
    by_name[name] = t
    if t.dtype == "f8e4m3" then
      local sc = { name = name .. ".scale", hf_name = hf:gsub("%.weight$", ".weight_scale_inv"), dtype = "f32",
                   rows = util.ceil_div(rows, M.FP8_BLOCK),
                   cols = util.round_up(util.ceil_div(cols, M.FP8_BLOCK), M.FP8_SCALE_ROW_ALIGN), ndim = 2 }
      list[#list + 1] = sc
      by_name[sc.name] = sc
      t.scale = sc
    end
    return t
  end

  local function mlp(prefix, hf, inter)
    add(prefix .. ".gate_proj", hf .. ".gate_proj.weight", "linear", inter, s.hidden)
    add(prefix .. ".up_proj", hf .. ".up_proj.weight", "linear", inter, s.hidden)
    add(prefix .. ".down_proj", hf .. ".down_proj.weight", "linear", s.hidden, inter)
  end

  local function decoder_layer(L)
    local p, hf = "l" .. L.index, "model.layers." .. L.index
    add(p .. ".attn_norm", hf .. ".input_layernorm.weight", "small", s.hidden)
    if s.q_lora > 0 then
      add(p .. ".q_a_proj", hf .. ".self_attn.q_a_proj.weight", "linear", s.q_lora, s.hidden)
      add(p .. ".q_a_norm", hf .. ".self_attn.q_a_layernorm.weight", "small", s.q_lora)
      add(p .. ".q_b_proj", hf .. ".self_attn.q_b_proj.weight", "linear", s.q_out, s.q_lora)
    else
      add(p .. ".q_proj", hf .. ".self_attn.q_proj.weight", "linear", s.q_out, s.hidden)
    end
    add(p .. ".kv_a_proj", hf .. ".self_attn.kv_a_proj_with_mqa.weight", "linear", s.kv_a_out, s.hidden)
    add(p .. ".kv_a_norm", hf .. ".self_attn.kv_a_layernorm.weight", "small", s.kv_lora)
    add(p .. ".kv_b_proj", hf .. ".self_attn.kv_b_proj.weight", "linear", s.kv_b_out, s.kv_lora)
    add(p .. ".o_proj", hf .. ".self_attn.o_proj.weight", "linear", s.hidden, s.o_in)
    add(p .. ".ffn_norm", hf .. ".post_attention_layernorm.weight", "small", s.hidden)
    if not L.moe then
      mlp(p, hf .. ".mlp", s.dense_inter)
      return
    end
    add(p .. ".router", hf .. ".mlp.gate.weight", "small", s.routed, s.hidden)
    if m.topk_method == "noaux_tc" then
      add(p .. ".router_bias", hf .. ".mlp.gate.e_score_correction_bias", "small", s.routed)
    end
    for e = 0, s.routed - 1 do
      mlp(p .. ".e" .. e, hf .. ".mlp.experts." .. e, s.moe_inter)
    end
    if s.shared > 0 then
      mlp(p .. ".shared", hf .. ".mlp.shared_experts", s.shared_inter)
    end
  end

  add("embed", "model.embed_tokens.weight", "big", s.vocab, s.hidden)
  for _, L in ipairs(s.layers) do decoder_layer(L) end
  add("norm", "model.norm.weight", "small", s.hidden)
  add("lm_head", "lm_head.weight", "big", s.vocab, s.hidden)
  -- Multi-token prediction layers (DeepSeek-V3): packed now, used by a later issue.
  for _, L in ipairs(s.mtp_layers) do
    local p, hf = "l" .. L.index, "model.layers." .. L.index
    add(p .. ".embed", hf .. ".embed_tokens.weight", "big", s.vocab, s.hidden)
    add(p .. ".enorm", hf .. ".enorm.weight", "small", s.hidden)
    add(p .. ".hnorm", hf .. ".hnorm.weight", "small", s.hidden)
    add(p .. ".eh_proj", hf .. ".eh_proj.weight", "big", s.hidden, 2 * s.hidden)
    decoder_layer(L)
    add(p .. ".head_norm", hf .. ".shared_head.norm.weight", "small", s.hidden)
    add(p .. ".head", hf .. ".shared_head.head.weight", "big", s.vocab, s.hidden)
  end

  local offset = 0
  for i, t in ipairs(list) do
    t.index = i - 1
    t.offset = offset
    t.bytes = t.rows * t.cols * ELEM_BYTES[t.dtype]
    offset = util.round_up(offset + t.bytes, M.ALIGN)
  end
  local man = { tensors = list, by_name = by_name, data_bytes = offset, model = m.name }
  man.json = M.to_json(man)
  man.sha256 = sha256(man.json)
  return man
end

-- Deterministic JSON: fixed key order, one tensor per line.
function M.to_json(man)
  local rows = {}
  for _, t in ipairs(man.tensors) do
    local shape = t.ndim == 2 and string.format("[%d, %d]", t.rows, t.cols) or string.format("[%d]", t.rows)
    rows[#rows + 1] = string.format(
      '    {"name": "%s", "hf_name": "%s", "dtype": "%s", "shape": %s, "scale": %s, "offset": %d, "bytes": %d}',
      t.name, t.hf_name, t.dtype, shape, t.scale and ('"' .. t.scale.name .. '"') or "null", t.offset, t.bytes)
  end
  return string.format('{\n  "format_version": 1,\n  "model": "%s",\n  "data_bytes": %d,\n  "tensors": [\n%s\n  ]\n}\n',
    man.model, man.data_bytes, table.concat(rows, ",\n"))
end

return M
