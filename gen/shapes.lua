-- shapes.lua: every dimension derived from the spec, each computed once by its formula.
local M = {}

function M.derive(spec)
  local m, d = spec.model, spec.deploy
  local s = {
    vocab = m.vocab, hidden = m.hidden, heads = m.heads,
    q_lora = m.q_lora_rank, kv_lora = m.kv_lora_rank,
    qk_nope = m.qk_nope, qk_rope = m.qk_rope, v_head = m.v_head,
    dense_inter = m.dense_inter, moe_inter = m.moe_inter,
    routed = m.routed_experts, shared = m.shared_experts, topk = m.experts_per_token,
    n_group = m.n_group, topk_group = m.topk_group,
    max_batch = d.max_batch, max_context = d.max_context, chunk = d.prefill_chunk,
  }
  s.qk_head = m.qk_nope + m.qk_rope                 -- per-head query/key width
  s.q_out = m.heads * s.qk_head                      -- q_proj / q_b_proj rows
  s.kv_a_out = m.kv_lora_rank + m.qk_rope            -- latent c_kv plus the shared RoPE key
  s.kv_b_out = m.heads * (m.qk_nope + m.v_head)      -- per head: key-nope rows, then value rows
  s.o_in = m.heads * m.v_head                        -- o_proj columns
  s.shared_inter = m.moe_inter * m.shared_experts    -- the shared experts as one MLP
  s.cache_row = m.kv_lora_rank + m.qk_rope           -- floats cached per token per layer
  -- CUDA attention through the split-KV decode kernel (runtime/cuda/mla_split.cuh) where its
  -- shapes allow; its workspace holds a step's (prefill_chunk tokens') absorbed queries and
  -- max_batch tokens' partials of up to max_context / 256 chunks each
  -- (mla_split_floats there, checked at compile time; a slice of a step takes as many tokens as
  -- those records hold: runtime/cuda/mla_slices.cuh).
  -- Its shared memory must fit 227 KB: over an f32 cache (80 cache_row + 5200) floats (tiles of
  -- 32 positions), over a bf16 one 352 cache_row + 21568 bytes (mla_decode_bf16.cuh: tiles of 64
  -- two deep, 3 query terms, 4 parts of the scores).
  local smem = d.kv_cache == "bf16" and 352 * s.cache_row + 21568 or (80 * s.cache_row + 5200) * 4
  -- Its cache rows: a multiple of 32 floats over an f32 cache (mla_decode.cuh's swizzle), of 64
  -- values over a bf16 one (16-byte groups in runs of 8).
  local row_unit = d.kv_cache == "bf16" and 64 or 32
  s.mla_split = d.target == "cuda" and m.heads % 16 == 0 and m.kv_lora_rank % 256 == 0 and s.cache_row % row_unit == 0
    and smem <= 227 * 1024
  s.mla_split_floats = d.prefill_chunk * m.heads * (m.kv_lora_rank + m.qk_rope)
    + d.max_batch * math.ceil(d.max_context / 256) * m.heads * (m.kv_lora_rank + 2)
  -- CUDA: a product in a reduced-precision activation mode (act: "fp8" or "bf16") runs through
  -- cuBLASLt (runtime/cuda/lt_linear.cu) where cuBLASLt takes its shape: the block-scaled FP8
  -- GEMM for "fp8" (rows of e4m3 codes 16-byte aligned: din % 16), the bf16 GEMM for "bf16"
  -- (din % 8), f32 output rows 16-byte aligned (dout % 4). Returns the GEMM's kind, or nil: the
  -- backend's own kernel.
  s.gemm = function(act, din, dout)
    if d.target ~= "cuda" or dout % 4 ~= 0 then return nil end
    if act == "fp8" and din % 16 == 0 then return "fp8" end
    if act == "bf16" and din % 8 == 0 then return "bf16" end
    return nil
  end
  -- CUDA with bf16 activations: the inputs of those products are rounded to bf16 in place first
  -- (act_round_bf16), as FP8 ones are quantized, since the CUDA kernels take f32 inputs; the CPU
  -- rounds them as it multiplies.
  s.round_bf16_inputs = d.target == "cuda" and d.activations == "bf16"
  -- Softmax scale: qk_head^-0.5, times m^2 where YaRN's m = 0.1 * mscale_all_dim * ln(factor) + 1.
  local scale = s.qk_head ^ -0.5
  local y = m.rope.yarn
  if y and y.factor > 1 and y.mscale_all_dim > 0 then
    local ms = 0.1 * y.mscale_all_dim * math.log(y.factor) + 1.0
    scale = scale * ms * ms
  end
  s.softmax_scale = scale
  -- Layers: dense for the first first_k_dense, MoE after (DeepSeek's moe_layer_freq is 1).
  s.layers = {}
  for i = 0, m.layers - 1 do
    s.layers[#s.layers + 1] = { index = i, moe = i >= m.first_k_dense }
  end
  s.mtp_layers = {}
  for i = m.layers, m.layers + m.mtp_layers - 1 do
    s.mtp_layers[#s.mtp_layers + 1] = { index = i, moe = i >= m.first_k_dense }
  end
  return s
end

return M
