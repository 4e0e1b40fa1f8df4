-- schedule.lua: the fixed op sequence of each phase, backend-neutral.
--
-- An op is a record: its kind (`op`), shapes, the weights it reads (packed
-- names from the manifest) and the arena buffers it reads and writes. The
-- layer stack is one straight list, every layer written out, dense or MoE
-- decided here. Phases:
--   layers   the decoder layers over the step's n tokens (shared by both phases)
--   prefill  embed, layers, keep the last prompt token of each sequence, head
--   decode   embed, layers, head over every token
-- Buffers are declared with their row width and row count; the plan (plan.lua)
-- places them in the arena.
local util = require("util")

local M = {}

-- cuBLASLt's workspace on CUDA: DF_CUDA_GEMM_WS_BYTES (runtime/cuda/cuda_rt.h; kernels.cu
-- checks the plan's gemm_ws holds it), cuBLAS's advice for Hopper.
M.GEMM_WS_BYTES = 32 << 20
-- The step arrays on CUDA: token, slot, pos, emit, next, draw (DF_CUDA_STEP_*, cuda_rt.h), of
-- prefill_chunk ints each; then for each of max_batch rows the device picks' ints
-- (DF_CUDA_PICK_ROW_INTS: greedy_k's DF_CUDA_PICK_SLICES = 32 slices' (value, index) pairs and a
-- count, which a sample reads too; forward.c's _Static_assert checks the two agree).
M.STEP_ARRAYS = 6
M.PICK_ROW_INTS = 2 * 32 + 1

-- Ops fused into the norms, one pass over the rows instead of two (and on a GPU one launch
-- instead of two); each row's arithmetic is unchanged:
--   a residual add that the next sublayer's norm follows (only a comment between) becomes
--   part of it: add_rmsnorm (x += y, then out = rmsnorm(x));
--   an act_quant (act_round_bf16) right after a norm or a SwiGLU gate (silu_mul), of its
--   output, becomes its quant (round) flag.
local function fuse_into_norms(list)
  local out, pending = {}, nil -- pending: the position in out of a residual add not yet consumed
  for _, o in ipairs(list) do
    local last = out[#out]
    if o.op == "rmsnorm" and pending and out[pending].x == o.x and o.out ~= o.x and out[pending].rows == o.rows
        and out[pending].dim == o.dim then
      local a = table.remove(out, pending)
      for k = pending, #out do -- the comment of the next layer, which the add now follows
        out[k].text = out[k].text .. "; its first op adds the previous layer's output to the residual stream"
      end
      out[#out + 1] = { op = "add_rmsnorm", w = o.w, x = o.x, y = a.y, out = o.out, dim = o.dim, rows = o.rows }
      pending = nil
    elseif (o.op == "act_quant" or o.op == "act_round_bf16") and last
        and ((last.op == "rmsnorm" or last.op == "add_rmsnorm") and last.out == o.x or last.op == "silu_mul" and last.g == o.x) then
      if o.op == "act_quant" then last.quant = true else last.round = true end
    else
      out[#out + 1] = o
      if o.op == "residual_add" then pending = #out elseif o.op ~= "comment" then pending = nil end
    end
  end
  return out
end

-- On a GPU, products that run as one launch instead of several: a decode step is about 20 small
-- kernels a layer, a few microseconds each (docs/cuda.md, "Mid-size decode measurement"). Each
-- output's arithmetic is the unfused ops' (the kernels compute every row as `linear` does), so no
-- bit changes:
--   swiglu       a SwiGLU's gate and up products and silu(gate) * up (dense and shared MLPs);
--   linear_pair  two products of the same input, one right after the other (q_a and kv_a);
--   accumulate   a product whose output is only added into another buffer right after
--                (residual_add, then dead) adds into that buffer itself: y + W x, the add's sum
--                (the shared experts' down projection into the routed experts' output);
--   rope_cache   rope_heads on the queries and the mla_cache_write after it (other buffers),
--                side by side in one launch;
--   moe_shared   the routed experts (f32 activations), then the shared experts' swiglu of the
--                same input and their down projection accumulated into the routed experts'
--                output: the shared rows in the routed experts' two launches (kernels.cuh,
--                moe_experts with SINTER);
--   rope_in      rope_heads and mla_cache_write, then the split-KV attention (mla_attend with
--                split) of the queries, which are dead after it: the rotation in the
--                attention's first launch, which copies the rope parts anyway, and the cache
--                rows in more blocks of it (mla_split.cuh); the queries stay unrotated. The
--                split path has no other form: templates/cuda/ops.lua refuses a split attention
--                without it, and the build without fusions (gen/main.lua --unfused) keeps it.
-- Products through cuBLASLt (gemm), and SwiGLUs that prepare their output (quant, round), stay.
local function plain_product(o) return o and o.op == "linear" and not o.gemm end
local function plain_linear(o) return plain_product(o) and not o.accumulate end
-- The fields of an op that name buffers, in argument order.
-- (gemm_in, gemm_scales, gemm_ws: a product through cuBLASLt's prepared input, its FP8 scales
-- and cuBLASLt's workspace.)
local BUF_FIELDS = { "x", "y", "y2", "out", "g", "u", "q", "kv_a", "rope", "cache", "ws", "logits", "ids", "weights",
                     "gemm_in", "gemm_scales", "gemm_ws" }
M.BUF_FIELDS = BUF_FIELDS -- (tests/gen/plan_check.lua checks every name in them is planned)
-- Whether op o names buffer b (tests/gen/fusion.lua asks too).
function M.touches(o, b)
  for _, f in ipairs(BUF_FIELDS) do
    if o[f] == b then return true end
  end
  return false
end
-- Whether buffer b of the layers' list is dead after position i: the next op that touches it
-- is a product (its own kernel's or cuBLASLt's; a fused pair or SwiGLU too) writing all its rows
-- from another buffer (any other touch counts as a read), or none does and b is not the
-- residual stream x, which the layers hand to the head.
local function dead_after(list, i, b)
  for k = i + 1, #list do
    local o = list[k]
    if M.touches(o, b) then
      return (o.op == "linear" and not o.accumulate and o.y == b or o.op == "linear_pair" and (o.y == b or o.y2 == b)
        or o.op == "swiglu" and o.g == b) and o.x ~= b and o.rows == "n"
    end
  end
  return b ~= "x"
end
local function same_product(a, b)
  return a.x == b.x and a.rows == b.rows and a.dtype == b.dtype and a.act == b.act and a.din == b.din
end
-- A copy of op o with the fields of changes set (tests/gen/fusion.lua uses it too).
local function with(o, changes)
  local t = {}
  for k, v in pairs(o) do t[k] = v end
  for k, v in pairs(changes) do t[k] = v end
  return t
end
M.with = with
-- One pass of fusions over list: at each position fusion(list, i) gives the fused op and the
-- count of ops it stands for, or nothing (the op stays).
local function fuse_pass(list, fusion)
  local out, i = {}, 1
  while i <= #list do
    local fused, count = fusion(list, i)
    out[#out + 1] = fused or list[i]
    i = i + (fused and count or 1)
  end
  return out
end
-- Whether a is rope_heads and b the mla_cache_write after it, of other buffers and the same rope
-- dims (rope_cache's and rope_in's first two ops).
local function rope_then_cache(a, b)
  return a.op == "rope_heads" and b and b.op == "mla_cache_write" and b.rows == a.rows and b.kv_a ~= a.x
    and b.rope_dim == a.rope_dim
end
-- rope_in (the first pass, over the unfused list).
local function rope_in_at(list, i)
  local a, b, c = list[i], list[i + 1], list[i + 2]
  if rope_then_cache(a, b) and b.rope == a.rope and c and c.op == "mla_attend" and c.split
      and c.q == a.x and c.cache == b.cache and c.kv == b.kv and c.rows == a.rows and c.heads == a.heads
      and c.nope == a.nope and c.rope_dim == a.rope_dim and c.kv_lora == b.kv_lora
      and c.max_context == b.max_context and b.kv_a ~= c.out and b.kv_a ~= c.ws and dead_after(list, i + 2, a.x) then
    return with(c, { kv_a = b.kv_a, norm = b.norm, rope = a.rope, rope_in = true }), 3
  end
end
-- Then swiglu, linear_pair, rope_cache, accumulate.
local function products_at(list, i)
  local a, b, c = list[i], list[i + 1], list[i + 2]
  if plain_linear(a) and plain_linear(b) and same_product(a, b) and a.dout == b.dout and c and c.op == "silu_mul"
      and c.g == a.y and c.u == b.y and not c.quant and not c.round and a.y ~= a.x
      and dead_after(list, i + 2, b.y) then
    return { op = "swiglu", w = a.w, w2 = b.w, dtype = a.dtype, act = a.act, din = a.din, dout = a.dout, x = a.x,
             g = a.y, rows = a.rows }, 3
  elseif plain_linear(a) and plain_linear(b) and same_product(a, b) and a.y ~= a.x and b.y ~= a.x and a.y ~= b.y then
    return { op = "linear_pair", w = a.w, w2 = b.w, dtype = a.dtype, act = a.act, din = a.din, dout = a.dout,
             dout2 = b.dout, x = a.x, y = a.y, y2 = b.y, rows = a.rows }, 2
  elseif rope_then_cache(a, b) then
    return { op = "rope_cache", x = a.x, rope = a.rope, heads = a.heads, nope = a.nope, rope_dim = a.rope_dim,
             kv_a = b.kv_a, norm = b.norm, cache = b.cache, kv = b.kv, kv_lora = b.kv_lora,
             max_context = b.max_context, rows = a.rows }, 2
  elseif plain_linear(a) and b and b.op == "residual_add" and b.y == a.y and b.x ~= a.x and b.x ~= a.y
      and b.dim == a.dout and b.rows == a.rows and dead_after(list, i + 1, a.y) then
    return with(a, { y = b.x, accumulate = true }), 2
  end
end
-- moe_shared, over a list whose SwiGLUs and accumulates are fused already.
local function moe_shared_at(list, i)
  local a, b, c = list[i], list[i + 1], list[i + 2]
  if a.op == "moe_experts" and a.act == "f32" and b and b.op == "swiglu" and b.x == a.x and b.rows == a.rows
      and b.dtype == a.dtype and b.act == "f32" and b.din == a.dim and b.g ~= a.out and b.g ~= a.x
      and b.g ~= a.ids and b.g ~= a.weights and b.g ~= a.ws
      and c and plain_product(c) and c.accumulate and c.x == b.g and c.y == a.out and c.rows == a.rows
      and c.dtype == a.dtype and c.act == "f32" and c.din == b.dout and c.dout == a.dim
      and dead_after(list, i + 2, b.g) then
    return with(a, { op = "moe_shared", sgate = b.w, sup = b.w2, sdown = c.w, sinter = b.dout, g = b.g }), 3
  end
end
-- (M.fuse_launches: tests/gen/fuse_cases.lua tries its guards on made-up lists.) required_only:
-- only what the kernels need (rope_in), for a build that checks the fusions' bits (--unfused).
function M.fuse_launches(list, required_only)
  list = fuse_pass(list, rope_in_at)
  if required_only then return list end
  return fuse_pass(fuse_pass(list, products_at), moe_shared_at)
end

-- opts.unfused: the CUDA schedule without the launch fusions it can do without (gen/main.lua --unfused).
function M.build(spec, shapes, man, opts)
  local s, m = shapes, spec.model
  local wdt = function(name) return man.by_name[name].dtype end
  -- The activations a product with weights of this dtype takes: deploy.activations
  -- where it names the weights' own type ("bf16" for bf16 weights, "fp8" for FP8
  -- ones); f32 otherwise (f32 weights are the router's, which DeepSeek computes in
  -- f32 whatever the model's precision; with FP8 activations, the bf16 lm_head
  -- takes f32 as DeepSeek's takes bf16, unquantized).
  local ACT_OF = { bf16 = "bf16", f8e4m3 = "fp8" }
  local act = function(dtype) return ACT_OF[dtype] == spec.deploy.activations and spec.deploy.activations or "f32" end
  local buffers, order = {}, {}
  local function buf(name, rows, width, what, opts)
    if not buffers[name] then
      buffers[name] = { name = name, rows = rows, width = width, what = what,
                        elem = opts and opts.elem or "f32", persistent = opts and opts.persistent }
      order[#order + 1] = name
    end
    return name
  end
  local N, B = s.chunk, s.max_batch

  -- Activations: one row per token of a step.
  buf("x", N, s.hidden, "residual stream")
  buf("h", N, s.hidden, "normed input of a sublayer")
  buf("proj", N, s.hidden, "output of a sublayer before the residual add")
  if s.q_lora > 0 then buf("q_a", N, s.q_lora, "low-rank query") end
  buf("q", N, s.q_out, "queries, per head: nope then rope part")
  buf("kv_a", N, s.kv_a_out, "latent c_kv then the shared RoPE key")
  buf("attn", N, s.o_in, "attention output, per head v_head values")
  if spec.deploy.target == "cpu" then -- DF_MLA_WS_FLOATS: every token's absorbed queries and latent outputs
    buf("attn_ws", 1, N * s.heads * (2 * s.kv_lora + s.qk_rope) + 3 * s.kv_lora + s.qk_rope + s.max_context,
      "attention scratch: absorbed queries and latent outputs of the step's tokens")
  elseif s.mla_split then
    buf("attn_ws", 1, s.mla_split_floats,
      "attention scratch: the step's absorbed queries, split-KV partials of max_batch tokens "
      .. "at every chunk (a slice of a step takes as many tokens as they hold)")
  else
    buf("attn_ws", 1, 2 * s.kv_lora + s.max_context, "attention scratch: absorbed query, scores, latent sum")
  end
  buf("xe", B, s.hidden, "rows that produce logits")
  buf("he", B, s.hidden, "final-normed rows")
  buf("logits", B, s.vocab, "the step's logits (read by the runtime)", { persistent = true })
  buf("rope", s.max_context, s.qk_rope, "RoPE cos/sin per position (YaRN frequencies)", { persistent = true })
  if spec.deploy.target == "cuda" then -- written by the runtime before and read after each step
    buf("step", 1, M.STEP_ARRAYS * N + M.PICK_ROW_INTS * B, "the step's token, slot, pos and emit arrays, "
      .. "the tokens picked on the device, the sampling draws, the device picks' area (runtime/cuda/cuda_rt.h)",
      { elem = "i32", persistent = true })
  end

  -- Inputs prepared in place: with FP8 activations a buffer is quantized (act_quant),
  -- with bf16 ones on CUDA rounded (act_round_bf16, gen/shapes.lua), once, before the
  -- first product of that precision that reads it; any op that writes it makes it
  -- plain again (op below). No other product reads a prepared one.
  local prepared = {} -- buffer -> "fp8" | "bf16"
  local ops = {}
  -- cuBLASLt's GEMMs (CUDA): their widest input row in bytes and its 1x128 scale blocks (FP8),
  -- which size the plan's gemm_in and gemm_scales
  local gemm_row_bytes, gemm_scale_blocks = 0, 0
  -- The buffer whose prepared copy gemm_in holds: the input of the last product through
  -- cuBLASLt, until an op writes that buffer. The next such product reading it reuses the copy.
  local staged
  local function op(t)
    ops[#ops + 1] = t
    for _, b in ipairs(M.op_writes(t)) do
      prepared[b] = nil
      if b == staged then staged = nil end
    end
  end
  local function preparation(a) return (a == "fp8" or a == "bf16" and s.round_bf16_inputs) and a or nil end
  local function prepare(x, kind, rows)
    if prepared[x] ~= kind then
      op({ op = kind == "fp8" and "act_quant" or "act_round_bf16", x = x, dim = buffers[x].width, rows = rows or "n" })
      prepared[x] = kind
    end
  end
  -- The op record of a product (its input prepared by the caller); cap: "batch" where it never
  -- runs more rows than a batch (the head), which a GEMM is planned for.
  local function linear_op(wname, x, y, rows, cap)
    local t = man.by_name[wname]
    local a = act(t.dtype)
    local gemm = s.gemm(a, t.cols, t.rows)
    if gemm then
      gemm_row_bytes = math.max(gemm_row_bytes, t.cols * (gemm == "fp8" and 1 or 2))
      if gemm == "fp8" then gemm_scale_blocks = math.max(gemm_scale_blocks, (t.cols + 127) // 128) end
    end
    -- act: what the product does with its input; an FP8 one takes the act_quant'ed buffer as it is
    -- gemm: on CUDA, where the shape allows, through cuBLASLt's GEMM of that kind, with its
    -- prepared input (gemm_in; FP8 scales in gemm_scales) and cuBLASLt's workspace (gemm_ws),
    -- each field the plan's buffer of that name
    return { op = "linear", w = wname, dtype = t.dtype, act = a == "fp8" and "f32" or a, din = t.cols, dout = t.rows,
             x = x, y = y, rows = rows or "n", gemm = gemm, cap = gemm and cap or nil,
             gemm_in = gemm and "gemm_in", gemm_scales = gemm == "fp8" and "gemm_scales" or nil,
             gemm_ws = gemm and "gemm_ws" }
  end
  local function linear(wname, x, y, rows)
    local kind = preparation(act(wdt(wname)))
    if kind then prepare(x, kind, rows) end
    assert(prepared[x] == kind, "schedule: " .. wname .. " would read the prepared " .. x)
    local o = linear_op(wname, x, y, rows)
    if o.gemm then
      o.reuse_input = staged == x or nil -- (a layer's products all run the step's n rows)
      staged = x
    end
    op(o)
  end
  local function rmsnorm(wname, x, out, dim, rows)
    op({ op = "rmsnorm", w = wname, x = x, out = out, dim = dim, rows = rows or "n" })
  end
  local function swiglu(prefix, inter, out, tag)
    local g = buf(tag .. "_gate", N, inter, tag .. " MLP gate, then silu(gate) * up")
    local u = buf(tag .. "_up", N, inter, tag .. " MLP up")
    linear(prefix .. ".gate_proj", "h", g)
    linear(prefix .. ".up_proj", "h", u)
    op({ op = "silu_mul", g = g, u = u, dim = inter, rows = "n" })
    linear(prefix .. ".down_proj", g, out)
  end

  local function attention(L)
    local p = "l" .. L.index
    local cache = buf("kv_cache." .. p, B * s.max_context, s.cache_row,
      "layer " .. L.index .. " latent KV cache: [slot][position] c_kv then k_pe",
      { persistent = true, elem = spec.deploy.kv_cache })
    rmsnorm(p .. ".attn_norm", "x", "h", s.hidden)
    -- kv_a right after the other product of h: with cuBLASLt's GEMMs it reuses h's prepared input
    if s.q_lora > 0 then
      linear(p .. ".q_a_proj", "h", "q_a")
      linear(p .. ".kv_a_proj", "h", "kv_a")
      rmsnorm(p .. ".q_a_norm", "q_a", "q_a", s.q_lora)
      linear(p .. ".q_b_proj", "q_a", "q")
    else
      linear(p .. ".q_proj", "h", "q")
      linear(p .. ".kv_a_proj", "h", "kv_a")
    end
    op({ op = "rope_heads", x = "q", rope = "rope", heads = s.heads, nope = s.qk_nope, rope_dim = s.qk_rope,
         rows = "n" })
    op({ op = "mla_cache_write", kv_a = "kv_a", rope = "rope", norm = p .. ".kv_a_norm", cache = cache,
         kv = spec.deploy.kv_cache, kv_lora = s.kv_lora, rope_dim = s.qk_rope, max_context = s.max_context, rows = "n" })
    op({ op = "mla_attend", q = "q", w = p .. ".kv_b_proj", dtype = wdt(p .. ".kv_b_proj"), cache = cache,
         kv = spec.deploy.kv_cache,
         out = "attn", ws = "attn_ws", heads = s.heads, nope = s.qk_nope, rope_dim = s.qk_rope,
         v_head = s.v_head, kv_lora = s.kv_lora, max_context = s.max_context, rows = "n",
         split = s.mla_split and { step = N, slice = B, ws_floats = s.mla_split_floats } or nil })
    linear(p .. ".o_proj", "attn", "proj")
    op({ op = "residual_add", x = "x", y = "proj", dim = s.hidden, rows = "n" })
  end

  local function moe(L)
    local p = "l" .. L.index
    local logits = buf("router_logits", N, s.routed, "router scores per expert")
    local ids = buf("route_ids", N, s.topk, "chosen experts per token, best first", { elem = "i32" })
    local wts = buf("route_w", N, s.topk, "their combine weights")
    local ws = spec.deploy.target == "cpu"
      and buf("expert_ws", N * s.topk, 2 * s.moe_inter + s.hidden + 2,
        "expert scratch: gate, up, output of each (token, expert) pair, grouped by expert (DF_MOE_WS_FLOATS)")
      or buf("expert_ws", 1, N * s.topk * (s.moe_inter + s.hidden) + s.routed * (N + 1), "expert scratch: "
        .. "silu(gate) * up, then the output, of each (token, expert) pair; each expert's pair count and list (ints)")
    linear(p .. ".router", "h", logits)
    op({ op = "moe_route", logits = logits, bias = man.by_name[p .. ".router_bias"] and (p .. ".router_bias"),
         ids = ids, weights = wts, experts = s.routed, topk = s.topk, n_group = s.n_group,
         topk_group = s.topk_group, method = m.topk_method, scoring = m.scoring,
         norm = m.norm_topk_prob, scaling = m.routed_scaling, rows = "n" })
    local eact = act(wdt(p .. ".e0.gate_proj"))
    local ekind = preparation(eact)
    if ekind then prepare("h", ekind) end -- after the router, which reads h as it is
    op({ op = "moe_experts", layer = L.index, prefix = p, dtype = wdt(p .. ".e0.gate_proj"),
         act = eact, x = "h",
         ids = ids, weights = wts, ws = ws, out = "proj", experts = s.routed, topk = s.topk,
         dim = s.hidden, inter = s.moe_inter, rows = "n" })
    if s.shared > 0 then
      local sh = buf("shared_out", N, s.hidden, "shared experts' output")
      swiglu(p .. ".shared", s.shared_inter, sh, "shared")
      op({ op = "residual_add", x = "proj", y = sh, dim = s.hidden, rows = "n" })
    end
  end

  for _, L in ipairs(s.layers) do
    op({ op = "comment", text = string.format("layer %d: %s", L.index, L.moe and string.format(
      "MoE, %d routed (%d groups, top-%d groups, top-%d experts) + %d shared",
      s.routed, s.n_group, s.topk_group, s.topk, s.shared) or "dense FFN") })
    attention(L)
    rmsnorm("l" .. L.index .. ".ffn_norm", "x", "h", s.hidden)
    if L.moe then moe(L) else swiglu("l" .. L.index, s.dense_inter, "proj", "dense") end
    op({ op = "residual_add", x = "x", y = "proj", dim = s.hidden, rows = "n" })
  end
  local layer_ops = fuse_into_norms(ops)
  if spec.deploy.target == "cuda" then layer_ops = M.fuse_launches(layer_ops, opts and opts.unfused) end

  -- The head's product takes f32 inputs (lm_head is bf16 in every DeepSeek checkpoint); an FP8
  -- lm_head with FP8 activations would need its input quantized here.
  if act(wdt("lm_head")) == "fp8" then
    error("gen: an FP8 lm_head with deploy.activations = \"fp8\" is not supported (DeepSeek's lm_head is bf16)", 0)
  end
  local embed = { op = "embed", w = "embed", dtype = wdt("embed"), vocab = s.vocab, dim = s.hidden, out = "x", rows = "n" }
  -- The final norm of x's rows (rounding its output, as fuse_into_norms would, with bf16
  -- activations on CUDA), then lm_head.
  local function head(x, rows)
    return { op = "rmsnorm", w = "norm", x = x, out = "he", dim = s.hidden, rows = rows,
             round = preparation(act(wdt("lm_head"))) == "bf16" or nil },
      linear_op("lm_head", "he", "logits", rows, "batch")
  end
  local prefill = { embed, { op = "call", fn = "layers" },
    { op = "gather_rows", x = "x", out = "xe", dim = s.hidden, rows = "n_emit" }, head("xe", "n_emit") }
  local decode = { embed, { op = "call", fn = "layers" }, head("x", "n") }

  -- The products through cuBLASLt (CUDA): the widest prepared input of a chunk (the FP8 GEMM
  -- runs a multiple of 4 rows), its 1x128 scales ([block][row]), cuBLASLt's workspace.
  if gemm_row_bytes > 0 then
    local rows = util.round_up(N, 4)
    buf("gemm_in", rows, gemm_row_bytes, "the input of cuBLASLt's GEMMs, prepared: e4m3 codes or bf16 values",
      { elem = "u8" })
    if gemm_scale_blocks > 0 then buf("gemm_scales", gemm_scale_blocks, rows, "their 1x128 block scales (FP8)") end
    buf("gemm_ws", 1, M.GEMM_WS_BYTES, "cuBLASLt's workspace", { elem = "u8" })
  end

  -- Buffers no op touches (a fused SwiGLU's up) are not planned.
  local kept = {}
  for _, name in ipairs(order) do
    local used = buffers[name].persistent
    for _, list in ipairs({ layer_ops, prefill, decode }) do
      for _, o in ipairs(list) do used = used or M.touches(o, name) end
    end
    if used then kept[#kept + 1] = name else buffers[name] = nil end
  end
  order = kept

  return {
    buffers = buffers, buffer_order = order,
    functions = { { name = "layers", ops = layer_ops }, { name = "prefill", ops = prefill }, { name = "decode", ops = decode } },
  }
end

-- The buffers an op writes: its output fields, and x for the ops that work in place (ids and
-- weights are moe_experts' inputs, moe_route's outputs: listing them for both is harmless, as
-- no product reads them).
local WRITE_FIELDS = { "y", "y2", "out", "g", "cache", "ids", "weights", "ws" }
local IN_PLACE = { residual_add = true, rope_heads = true, rope_cache = true, act_quant = true, act_round_bf16 = true,
                   add_rmsnorm = true }
function M.op_writes(o)
  local list = {}
  for _, f in ipairs(WRITE_FIELDS) do
    if type(o[f]) == "string" then list[#list + 1] = o[f] end
  end
  if IN_PLACE[o.op] then list[#list + 1] = o.x end
  return list
end

-- The buffers an op defines: those whose every element it runs over (the step's rows) it
-- writes without reading what was there. A buffer's value lives from the op that defines it
-- to the last op that names it before the next definition (plan.lua: two buffers whose values
-- are never alive at the same op may share bytes). Every other buffer an op names it reads, or
-- reads and writes in place, so listing too few here only costs memory; listing one too many
-- would let another buffer overwrite a value still to be read, which a liveness-checking build
-- (gen/main.lua --poison, tests/poison.sh) catches. Per op kind, the fields it defines:
local DEFINES = {
  embed = { "out" }, gather_rows = { "out" }, rmsnorm = { "out" }, add_rmsnorm = { "out" },
  linear = { "y", "gemm_in", "gemm_scales", "gemm_ws" }, linear_pair = { "y", "y2" }, swiglu = { "g" },
  mla_attend = { "out", "ws" }, moe_route = { "ids", "weights" }, moe_experts = { "out", "ws" },
  moe_shared = { "out", "ws", "g" },
  mla_cache_write = { "cache" }, rope_cache = { "cache" },
  -- in place, or adding into a buffer
  residual_add = {}, rope_heads = {}, silu_mul = {}, act_quant = {}, act_round_bf16 = {},
}
function M.op_defines(o)
  local list = {}
  for _, f in ipairs(assert(DEFINES[o.op], "schedule: what op " .. o.op .. " defines is not known")) do
    local b = o[f]
    -- a buffer another field names too (an input: rmsnorm of q_a into q_a), a sum added into
    -- (accumulate) and a GEMM input prepared by an earlier product (reuse_input) are read
    local read = o.accumulate and f == "y" or o.reuse_input and (f == "gemm_in" or f == "gemm_scales")
    for _, g in ipairs(BUF_FIELDS) do read = read or g ~= f and o[g] == b end
    if type(b) == "string" and not read then list[#list + 1] = b end
  end
  return list
end

-- The buffers an op touches, in argument order.
function M.op_buffers(sched, o)
  local list = {}
  for _, f in ipairs(BUF_FIELDS) do
    local v = o[f]
    if type(v) == "string" and sched.buffers[v] then list[#list + 1] = v end
  end
  return list
end

-- A phase as one flat op list, calls expanded.
function M.flatten(sched, fname)
  local fns = {}
  for _, f in ipairs(sched.functions) do fns[f.name] = f end
  local out = {}
  local function walk(name)
    for _, o in ipairs(fns[name].ops) do
      if o.op == "call" then walk(o.fn) elseif o.op ~= "comment" then out[#out + 1] = o end
    end
  end
  walk(fname)
  return out
end

return M
