-- templates/cuda/ops.lua: how each schedule op becomes CUDA for the cuda backend.
--
-- As for the CPU (templates/cpu/ops.lua): for every op kind, `name` gives the
-- kernel instance (one per distinct shape, sizes in the name), `params` and
-- `body` its definition in kernels.cu (a host function launching the generic
-- kernel of runtime/cuda/kernels.cuh with the shape as template arguments),
-- and `args` the arguments at the call site in forward.c. Pointers are device
-- pointers: `c.weight` gives `w + OFFSET` into the uploaded weights, `c.buf` an
-- arena buffer (`c.bytes` its planned size), `c.ctype` an element's C type (`params` and `body`
-- get `c` too); the step's token/slot/pos/emit are the STEP_* arrays of the plan's step buffer
-- (forward.c), the row counts the host's step->n / step->n_emit. An op may also have `init`:
-- a line for forward.c's init, run once at start-up (each distinct line once; `c.offset` gives
-- a buffer's offset in the arena): the cuBLASLt GEMMs' plans.
local DT = { f32 = "DF_F32", bf16 = "DF_BF16", f8e4m3 = "DF_F8E4M3" }
local SHORT = { f32 = "f32", bf16 = "bf16", f8e4m3 = "fp8" }
local GEMM_KIND = { fp8 = "DF_CUDA_GEMM_FP8", bf16 = "DF_CUDA_GEMM_BF16" }
-- The most rows a product through cuBLASLt runs, which its plan is made for: the output head's
-- are at most a batch, the others' a prefill chunk.
local function gemm_cap(o) return o.cap == "batch" and "MAX_BATCH" or "PREFILL_CHUNK" end
local ACT = { f32 = "DF_ACT_F32", bf16 = "DF_ACT_BF16", fp8 = "DF_ACT_FP8" }
local fmt = string.format
-- The suffix of the instances that take a bf16 latent cache (deploy.kv_cache; its element's C
-- type is c.ctype(o.kv); kernels.cuh: cache_get, cache_put).
local function kv_suffix(o) return o.kv == "bf16" and "_bf16kv" or "" end

-- A weight matrix parameter, plus its block scales for FP8.
local function mat_params(dtype, name)
  if dtype == "f8e4m3" then return fmt("const unsigned char *%s, const unsigned char *%s_scale", name, name) end
  return fmt("const unsigned char *%s", name)
end
-- A norm or SwiGLU whose output the schedule quantizes (FP8 activations) or rounds (bf16
-- activations) says so in its name; OUT is the kernels' name of that (enum df_act).
local function prep_suffix(o) return o.quant and "_quant" or o.round and "_round" or "" end
local function out_prep(o) return o.quant and "DF_ACT_FP8" or o.round and "DF_ACT_BF16" or "DF_ACT_F32" end
local function scale_arg(dtype, name) return dtype == "f8e4m3" and name .. "_scale" or "NULL" end
local function mat_args(c, dtype, wname)
  if dtype == "f8e4m3" then return c.weight(wname) .. ", " .. c.weight(wname .. ".scale") end
  return c.weight(wname)
end

-- The routed experts' launcher call (moe_experts, moe_shared: more template arguments and the
-- shared experts' struct after the routed ones') and its call-site arguments.
local function moe_body(o, c, act, more_targs, more_args)
  return fmt("static_assert(dfc::moe_scratch_floats<%d, %d, %d, %d>(PREFILL_CHUNK) * sizeof(float) <= %du, " ..
    "\"the plan's expert_ws\");\n" ..
    "    dfc::moe_experts<%s, %d, %d, %d, %d, %s%s>(w, table, x, ids, weights, n, ws, out%s);",
    o.dim, o.inter, o.experts, o.topk, c.bytes(o.ws), DT[o.dtype], o.dim, o.inter, o.experts, o.topk, ACT[act],
    more_targs, more_args or "")
end
local MOE_PARAMS = "const unsigned char *w, const struct df_expert *table, const float *x, const int *ids, "
  .. "const float *weights, int n, float *ws, float *out"
local function moe_args(o, c)
  return fmt("w, %s, %s, %s, %s, %s, %s, %s", c.expert_table(o), c.buf(o.x), c.buf(o.ids), c.buf(o.weights),
    c.rows(o), c.buf(o.ws), c.buf(o.out))
end

return {
  -- o.gemm ("fp8" or "bf16", gen/shapes.lua): through cuBLASLt's GEMM of that kind, its prepared
  -- input in the plan's o.gemm_in (FP8 scales in o.gemm_scales) and cuBLASLt's workspace in
  -- o.gemm_ws; o.reuse_input: o.gemm_in holds this input already (the product before read the
  -- same buffer). kernels.cu checks the three hold what df_cuda_lt_linear writes there.
  -- o.accumulate (gen/schedule.lua, fuse_launches): y += W x, the residual add after it fused in.
  linear = {
    name = function(o)
      return fmt("linear_%s_%dx%d%s", o.gemm and o.gemm .. "gemm" or SHORT[o.dtype], o.din, o.dout, o.accumulate and "_add" or "")
    end,
    params = function(o)
      return mat_params(o.dtype, "w") .. ", const float *x, int n, float *y" ..
        (o.gemm and ", unsigned char *in, float *scales, void *workspace, int reuse_input" or "")
    end,
    body = function(o, c)
      if o.gemm then -- planned for the most rows it runs (gemm_cap)
        local cap = gemm_cap(o)
        -- what df_cuda_lt_linear writes for cap rows: FP8, codes of cap rounded up to 4 rows and
        -- their scales [block][row]; bf16, the values of cap rows
        local rows4 = fmt("(%s + 3) / 4 * 4", cap)
        local checks = o.gemm == "fp8" and {
            fmt("%s * %d <= %du, \"the plan's gemm_in holds the FP8 codes\"", rows4, o.din, c.bytes(o.gemm_in)),
            fmt("%d * (%s) * sizeof(float) <= %du, \"the plan's gemm_scales holds their scales\"",
              (o.din + 127) // 128, rows4, c.bytes(o.gemm_scales)) }
          or { fmt("%s * %d * 2 <= %du, \"the plan's gemm_in holds the bf16 values\"", cap, o.din, c.bytes(o.gemm_in)) }
        checks[#checks + 1] = fmt("DF_CUDA_GEMM_WS_BYTES <= %du, \"the plan's gemm_ws holds cuBLASLt's workspace\"",
          c.bytes(o.gemm_ws))
        -- the rows the GEMM reads from x and writes to y: FP8, cap rounded up to 4 (the rows past
        -- n are computed and never read)
        local rows = o.gemm == "fp8" and rows4 or cap
        checks[#checks + 1] = fmt("%s * %d * sizeof(float) <= %du, \"x holds the rows the GEMM reads\"", rows, o.din,
          c.bytes(o.x))
        checks[#checks + 1] = fmt("%s * %d * sizeof(float) <= %du, \"y holds the rows the GEMM writes\"", rows, o.dout,
          c.bytes(o.y))
        return "static_assert(" .. table.concat(checks, ");\n    static_assert(") .. ");\n" ..
          fmt("    df_cuda_lt_linear(%s, %d, %d, %s, w, %s, x, n, y, in, scales, workspace, reuse_input);",
            GEMM_KIND[o.gemm], o.dout, o.din, cap, scale_arg(o.dtype, "w"))
      end
      return fmt("dfc::linear<%s, %d, %d%s>(w, %s, x, n, y);", DT[o.dtype], o.dout, o.din, o.accumulate and ", true" or "",
        scale_arg(o.dtype, "w"))
    end,
    -- at start-up (forward.c's init): the shape's cuBLASLt plan, so that no step pays for it
    init = function(o, c)
      return o.gemm and fmt("df_cuda_lt_linear_plan(%s, %d, %d, %s, arena + %d);", GEMM_KIND[o.gemm], o.dout, o.din,
        gemm_cap(o), c.offset(o.gemm_ws))
    end,
    args = function(o, c)
      return fmt("%s, %s, %s, %s%s", mat_args(c, o.dtype, o.w), c.buf(o.x), c.rows(o), c.buf(o.y),
        o.gemm and fmt(", %s, %s, %s, %s", c.buf(o.gemm_in), o.gemm_scales and c.buf(o.gemm_scales) or "NULL",
          c.buf(o.gemm_ws), o.reuse_input and "GEMM_INPUT_REUSE" or "GEMM_INPUT_NEW") or "")
    end,
  },
  -- Two products of one input in one launch (fuse_launches): y = W x, y2 = W2 x.
  linear_pair = {
    name = function(o) return fmt("linear_pair_%s_%dx%d_%d", SHORT[o.dtype], o.din, o.dout, o.dout2) end,
    params = function(o)
      return mat_params(o.dtype, "w") .. ", " .. mat_params(o.dtype, "w2") .. ", const float *x, int n, float *y, float *y2"
    end,
    body = function(o)
      return fmt("dfc::linear_pair<%s, %d, %d, %d>(w, %s, w2, %s, x, n, y, y2);", DT[o.dtype], o.dout, o.dout2, o.din,
        scale_arg(o.dtype, "w"), scale_arg(o.dtype, "w2"))
    end,
    args = function(o, c)
      return fmt("%s, %s, %s, %s, %s, %s", mat_args(c, o.dtype, o.w), mat_args(c, o.dtype, o.w2), c.buf(o.x), c.rows(o),
        c.buf(o.y), c.buf(o.y2))
    end,
  },
  -- A SwiGLU in one launch (fuse_launches): g = silu(gate x) * (up x) (the op's w is the gate, w2 up).
  swiglu = {
    name = function(o) return fmt("swiglu_%s_%dx%d", SHORT[o.dtype], o.din, o.dout) end,
    params = function(o)
      return mat_params(o.dtype, "gate") .. ", " .. mat_params(o.dtype, "up") .. ", const float *x, int n, float *g"
    end,
    body = function(o)
      return fmt("dfc::swiglu<%s, %d, %d>(gate, %s, up, %s, x, n, g);", DT[o.dtype], o.dout, o.din,
        scale_arg(o.dtype, "gate"), scale_arg(o.dtype, "up"))
    end,
    args = function(o, c)
      return fmt("%s, %s, %s, %s, %s", mat_args(c, o.dtype, o.w), mat_args(c, o.dtype, o.w2), c.buf(o.x), c.rows(o),
        c.buf(o.g))
    end,
  },
  rmsnorm = {
    name = function(o) return fmt("rmsnorm%s_%d", prep_suffix(o), o.dim) end,
    params = function() return "const float *x, const unsigned char *w, int n, float *out" end,
    body = function(o) return fmt("dfc::rmsnorm<%d, %s>(x, w, n, RMS_EPS, out);", o.dim, out_prep(o)) end,
    args = function(o, c) return fmt("%s, %s, %s, %s", c.buf(o.x), c.weight(o.w), c.rows(o), c.buf(o.out)) end,
  },
  add_rmsnorm = {
    name = function(o) return fmt("add_rmsnorm%s_%d", prep_suffix(o), o.dim) end,
    params = function() return "float *x, const float *y, const unsigned char *w, int n, float *out" end,
    body = function(o)
      return fmt("dfc::add_rmsnorm<%d, %s>(x, y, w, n, RMS_EPS, out);", o.dim, out_prep(o))
    end,
    args = function(o, c) return fmt("%s, %s, %s, %s, %s", c.buf(o.x), c.buf(o.y), c.weight(o.w), c.rows(o), c.buf(o.out)) end,
  },
  embed = {
    name = function(o) return fmt("embed_%s_%dx%d", SHORT[o.dtype], o.vocab, o.dim) end,
    params = function(o) return mat_params(o.dtype, "w") .. ", const int *tokens, int n, float *out" end,
    body = function(o)
      return fmt("dfc::embed<%s, %d, %d>(w, %s, tokens, n, out);", DT[o.dtype], o.vocab, o.dim, scale_arg(o.dtype, "w"))
    end,
    args = function(o, c) return fmt("%s, STEP_TOKEN, %s, %s", mat_args(c, o.dtype, o.w), c.rows(o), c.buf(o.out)) end,
  },
  residual_add = {
    name = function(o) return fmt("residual_add_%d", o.dim) end,
    params = function() return "float *x, const float *y, int n" end,
    body = function(o) return fmt("dfc::residual_add<%d>(x, y, n);", o.dim) end,
    args = function(o, c) return fmt("%s, %s, %s", c.buf(o.x), c.buf(o.y), c.rows(o)) end,
  },
  act_quant = {
    name = function(o) return fmt("act_quant_fp8_%d", o.dim) end,
    params = function() return "float *x, int n" end,
    body = function(o) return fmt("dfc::act_quant_fp8<%d>(x, n);", o.dim) end,
    args = function(o, c) return fmt("%s, %s", c.buf(o.x), c.rows(o)) end,
  },
  act_round_bf16 = {
    name = function(o) return fmt("act_round_bf16_%d", o.dim) end,
    params = function() return "float *x, int n" end,
    body = function(o) return fmt("dfc::act_round_bf16<%d>(x, n);", o.dim) end,
    args = function(o, c) return fmt("%s, %s", c.buf(o.x), c.rows(o)) end,
  },
  silu_mul = {
    name = function(o) return fmt("silu_mul%s_%d", prep_suffix(o), o.dim) end,
    params = function() return "float *g, const float *u, int n" end,
    body = function(o) return fmt("dfc::silu_mul%s<%d>(g, u, n);", prep_suffix(o), o.dim) end,
    args = function(o, c) return fmt("%s, %s, %s", c.buf(o.g), c.buf(o.u), c.rows(o)) end,
  },
  gather_rows = {
    name = function(o) return fmt("gather_rows_%d", o.dim) end,
    params = function() return "const float *x, const int *rows, int n, float *out" end,
    body = function(o) return fmt("dfc::gather_rows<%d>(x, rows, n, out);", o.dim) end,
    args = function(o, c) return fmt("%s, STEP_EMIT, %s, %s", c.buf(o.x), c.rows(o), c.buf(o.out)) end,
  },
  rope_heads = {
    name = function(o) return fmt("rope_heads_h%d_%dp%d", o.heads, o.nope, o.rope_dim) end,
    params = function() return "float *q, const float *rope, const int *pos, int n" end,
    body = function(o) return fmt("dfc::rope_heads<%d, %d, %d>(q, rope, pos, n);", o.heads, o.nope, o.rope_dim) end,
    args = function(o, c) return fmt("%s, %s, STEP_POS, %s", c.buf(o.x), c.buf(o.rope), c.rows(o)) end,
  },
  mla_cache_write = {
    name = function(o) return fmt("mla_cache_write_%dp%d%s", o.kv_lora, o.rope_dim, kv_suffix(o)) end,
    params = function(o, c)
      return "const float *kv_a, const unsigned char *norm, const float *rope, const int *slot, const int *pos, int n, "
        .. c.ctype(o.kv) .. " *cache"
    end,
    body = function(o)
      return fmt("dfc::mla_cache_write<%d, %d, %d>(kv_a, norm, rope, slot, pos, n, RMS_EPS, cache);",
        o.kv_lora, o.rope_dim, o.max_context)
    end,
    args = function(o, c)
      return fmt("%s, %s, %s, STEP_SLOT, STEP_POS, %s, %s", c.buf(o.kv_a), c.weight(o.norm), c.buf(o.rope), c.rows(o),
        c.buf(o.cache))
    end,
  },
  -- rope_heads and mla_cache_write in one launch (gen/schedule.lua, fuse_launches).
  rope_cache = {
    name = function(o)
      return fmt("rope_cache_h%d_%dp%d_%dp%d%s", o.heads, o.nope, o.rope_dim, o.kv_lora, o.rope_dim, kv_suffix(o))
    end,
    params = function(o, c)
      return "float *q, const float *kv_a, const unsigned char *norm, const float *rope, const int *slot, const int *pos, "
        .. "int n, " .. c.ctype(o.kv) .. " *cache"
    end,
    body = function(o)
      return fmt("dfc::rope_cache<%d, %d, %d, %d, %d>(q, kv_a, norm, rope, slot, pos, n, RMS_EPS, cache);", o.heads,
        o.nope, o.rope_dim, o.kv_lora, o.max_context)
    end,
    args = function(o, c)
      return fmt("%s, %s, %s, %s, STEP_SLOT, STEP_POS, %s, %s", c.buf(o.x), c.buf(o.kv_a), c.weight(o.norm), c.buf(o.rope),
        c.rows(o), c.buf(o.cache))
    end,
  },
  -- o.split: through the split-KV kernel (runtime/cuda/mla_split.cuh), whose first launch takes
  -- the rope_cache op before it in (o.rope_in, gen/schedule.lua, fuse_launches): that op's kv_a,
  -- norm and rope table, and the cache written.
  mla_attend = {
    name = function(o)
      assert(not o.split or o.rope_in, "mla_attend: the split path takes the rope_cache op before it in (rope_in)")
      return fmt("mla_attend%s_%s_h%d_%dp%d_v%d%s", o.split and "_split_rope" or "", SHORT[o.dtype], o.heads,
        o.kv_lora, o.rope_dim, o.v_head, kv_suffix(o))
    end,
    params = function(o, c)
      -- the split path also takes the positions on the host (step->pos), which size its slices
      return mat_params(o.dtype, "kv_b") .. ", const float *q, "
        .. (o.split and "const float *kv_a, const unsigned char *norm, const float *rope, " or "const ")
        .. c.ctype(o.kv) .. " *cache, const int *slot, const int *pos, " .. (o.split and "const int *pos_host, " or "")
        .. "int n, float *ws, float *out"
    end,
    body = function(o, c)
      if o.split then
        return fmt("static_assert(dfc::mla_split_floats<%d, %d, %d, %d, %s>(%d, %d) == %du, \"the plan's attn_ws\");\n" ..
          "    dfc::mla_attend_split<%s, %d, %d, %d, %d, %d, %d, %d, %d>(kv_b, %s, q, " ..
          "{ kv_a, reinterpret_cast<const float *>(norm), rope, RMS_EPS }, cache, slot, pos, pos_host, n, " ..
          "SOFTMAX_SCALE, ws, out);",
          o.heads, o.kv_lora, o.rope_dim, o.max_context, c.ctype(o.kv), o.split.step, o.split.slice, o.split.ws_floats,
          DT[o.dtype], o.heads, o.nope, o.rope_dim, o.v_head, o.kv_lora, o.max_context, o.split.step, o.split.slice,
          scale_arg(o.dtype, "kv_b"))
      end
      return fmt("(void)ws; /* the CPU's serial scratch: each (token, head) block keeps its own in shared memory */\n" ..
        "    dfc::mla_attend<%s, %d, %d, %d, %d, %d, %d>(kv_b, %s, q, cache, slot, pos, n, SOFTMAX_SCALE, out);",
        DT[o.dtype], o.heads, o.nope, o.rope_dim, o.v_head, o.kv_lora, o.max_context, scale_arg(o.dtype, "kv_b"))
    end,
    args = function(o, c)
      return fmt("%s, %s, %s%s, STEP_SLOT, STEP_POS, %s%s, %s, %s", mat_args(c, o.dtype, o.w), c.buf(o.q),
        o.split and fmt("%s, %s, %s, ", c.buf(o.kv_a), c.weight(o.norm), c.buf(o.rope)) or "", c.buf(o.cache),
        o.split and "step->pos, " or "", c.rows(o), c.buf(o.ws), c.buf(o.out))
    end,
  },
  moe_route = {
    name = function(o) return fmt("moe_route_e%d_k%d", o.experts, o.topk) end,
    params = function() return "const float *logits, const unsigned char *bias, int n, int *ids, float *weights" end,
    body = function(o)
      return fmt("dfc::moe_route<%d, %d, %d>(ROUTE, logits, bias, n, ids, weights);", o.experts, o.topk, o.n_group)
    end,
    args = function(o, c)
      return fmt("%s, %s, %s, %s, %s", c.buf(o.logits), o.bias and c.weight(o.bias) or "NULL", c.rows(o), c.buf(o.ids), c.buf(o.weights))
    end,
  },
  moe_experts = {
    name = function(o)
      return fmt("moe_experts_%s_%dx%d_k%d%s", SHORT[o.dtype], o.dim, o.inter, o.topk, o.act ~= "f32" and "_" .. o.act .. "act" or "")
    end,
    params = function() return MOE_PARAMS end,
    body = function(o, c) return moe_body(o, c, o.act, "") end,
    args = moe_args,
  },
  -- The routed experts with the shared ones in their launches (gen/schedule.lua, fuse_launches):
  -- o.sgate, o.sup, o.sdown the shared experts' matrices (o.sinter rows), o.g their
  -- silu(gate) * up.
  moe_shared = {
    name = function(o)
      return fmt("moe_shared_%s_%dx%d_k%d_s%d", SHORT[o.dtype], o.dim, o.inter, o.topk, o.sinter)
    end,
    params = function(o)
      return MOE_PARAMS .. ", " .. mat_params(o.dtype, "gate") .. ", " .. mat_params(o.dtype, "up") .. ", " .. mat_params(o.dtype, "down")
        .. ", float *g"
    end,
    body = function(o, c)
      return moe_body(o, c, "f32", fmt(", %d", o.sinter), fmt(", { gate, %s, up, %s, down, %s, g }",
        scale_arg(o.dtype, "gate"), scale_arg(o.dtype, "up"), scale_arg(o.dtype, "down")))
    end,
    args = function(o, c)
      return fmt("%s, %s, %s, %s, %s", moe_args(o, c), mat_args(c, o.dtype, o.sgate), mat_args(c, o.dtype, o.sup),
        mat_args(c, o.dtype, o.sdown), c.buf(o.g))
    end,
  },
}
