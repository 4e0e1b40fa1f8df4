-- templates/cpu/ops.lua: how each schedule op becomes C for the CPU backend.
--
-- For every op kind: `name` gives the kernel instance (one per distinct shape,
-- sizes in the name), `params` and `body` its definition in kernels.c (the
-- shape as constants, calling the generic kernel in runtime/kernels/), and
-- `args` the arguments at the call site in forward.c. `c` gives a weight's
-- C expression (`w + L1_Q_A_PROJ`), `buf` a buffer's, `rows` the row count,
-- `ctype` an element's C type (`params` gets `c` too).
local DT = { f32 = "DF_F32", bf16 = "DF_BF16", f8e4m3 = "DF_F8E4M3" }
local ACT = { f32 = "DF_ACT_F32", bf16 = "DF_ACT_BF16", fp8 = "DF_ACT_FP8" }
local SHORT = { f32 = "f32", bf16 = "bf16", f8e4m3 = "fp8" }
local fmt = string.format

-- A weight matrix parameter (plus its block scales for FP8) and its df_mat.
local function mat_params(dtype, name)
  if dtype == "f8e4m3" then return fmt("const unsigned char *%s, const unsigned char *%s_scale", name, name) end
  return fmt("const unsigned char *%s", name)
end
-- act: the activations the products take (f32 where absent: embedding, attention).
local function mat_value(dtype, name, rows, cols, act)
  local scale = dtype == "f8e4m3" and fmt("(const float *)(const void *)%s_scale", name) or "NULL"
  return fmt("{ %s, %s, %s, %s, %s, %s }", name, scale, rows, cols, DT[dtype], ACT[act or "f32"])
end
-- Instances with bf16 or FP8 activations say so in their name.
local function act_suffix(o) return (o.act == "bf16" or o.act == "fp8") and "_" .. o.act .. "act" or "" end
-- A norm or SwiGLU whose output the schedule quantizes (FP8 activations) says so in its name.
local function quant_suffix(o) return o.quant and "_quant" or "" end
local function mat_args(c, dtype, wname)
  if dtype == "f8e4m3" then return c.weight(wname) .. ", " .. c.weight(wname .. ".scale") end
  return c.weight(wname)
end
local F32 = "(const float *)(const void *)"
-- The suffix of the instances that take a bf16 latent cache (deploy.kv_cache; its element's C
-- type is c.ctype(o.kv)).
local function kv_suffix(o) return o.kv == "bf16" and "_bf16kv" or "" end

return {
  linear = {
    name = function(o) return fmt("linear_%s_%dx%d%s", SHORT[o.dtype], o.din, o.dout, act_suffix(o)) end,
    params = function(o) return mat_params(o.dtype, "w") .. ", const float *x, int n, float *y" end,
    body = function(o)
      return fmt("const struct df_mat m = %s;\n    linear(&m, x, n, y);", mat_value(o.dtype, "w", o.dout, o.din, o.act))
    end,
    args = function(o, c) return fmt("%s, %s, %s, %s", mat_args(c, o.dtype, o.w), c.buf(o.x), c.rows(o), c.buf(o.y)) end,
  },
  rmsnorm = {
    name = function(o) return fmt("rmsnorm%s_%d", quant_suffix(o), o.dim) end,
    params = function() return "const float *x, const unsigned char *w, int n, float *out" end,
    body = function(o) return fmt("rmsnorm%s(x, %sw, n, %d, RMS_EPS, out);", quant_suffix(o), F32, o.dim) end,
    args = function(o, c) return fmt("%s, %s, %s, %s", c.buf(o.x), c.weight(o.w), c.rows(o), c.buf(o.out)) end,
  },
  add_rmsnorm = {
    name = function(o) return fmt("add_rmsnorm%s_%d", quant_suffix(o), o.dim) end,
    params = function() return "float *x, const float *y, const unsigned char *w, int n, float *out" end,
    body = function(o) return fmt("add_rmsnorm%s(x, y, %sw, n, %d, RMS_EPS, out);", quant_suffix(o), F32, o.dim) end,
    args = function(o, c) return fmt("%s, %s, %s, %s, %s", c.buf(o.x), c.buf(o.y), c.weight(o.w), c.rows(o), c.buf(o.out)) end,
  },
  embed = {
    name = function(o) return fmt("embed_%s_%dx%d", SHORT[o.dtype], o.vocab, o.dim) end,
    params = function() return "const unsigned char *w, const int *tokens, int n, float *out" end,
    body = function(o) return fmt("const struct df_mat m = %s;\n    embed(&m, tokens, n, out);", mat_value(o.dtype, "w", o.vocab, o.dim)) end,
    args = function(o, c) return fmt("%s, step->token, %s, %s", c.weight(o.w), c.rows(o), c.buf(o.out)) end,
  },
  residual_add = {
    name = function(o) return fmt("residual_add_%d", o.dim) end,
    params = function() return "float *x, const float *y, int n" end,
    body = function(o) return fmt("residual_add(x, y, n, %d);", o.dim) end,
    args = function(o, c) return fmt("%s, %s, %s", c.buf(o.x), c.buf(o.y), c.rows(o)) end,
  },
  act_quant = {
    name = function(o) return fmt("act_quant_fp8_%d", o.dim) end,
    params = function() return "float *x, int n" end,
    body = function(o) return fmt("act_quant_fp8(x, n, %d);", o.dim) end,
    args = function(o, c) return fmt("%s, %s", c.buf(o.x), c.rows(o)) end,
  },
  silu_mul = {
    name = function(o) return fmt("silu_mul%s_%d", quant_suffix(o), o.dim) end,
    params = function() return "float *g, const float *u, int n" end,
    body = function(o) return fmt("silu_mul%s(g, u, n, %d);", quant_suffix(o), o.dim) end,
    args = function(o, c) return fmt("%s, %s, %s", c.buf(o.g), c.buf(o.u), c.rows(o)) end,
  },
  gather_rows = {
    name = function(o) return fmt("gather_rows_%d", o.dim) end,
    params = function() return "const float *x, const int *rows, int n, float *out" end,
    body = function(o) return fmt("gather_rows(x, rows, n, %d, out);", o.dim) end,
    args = function(o, c) return fmt("%s, step->emit, %s, %s", c.buf(o.x), c.rows(o), c.buf(o.out)) end,
  },
  rope_heads = {
    name = function(o) return fmt("rope_heads_h%d_%dp%d", o.heads, o.nope, o.rope_dim) end,
    params = function() return "float *q, const float *rope, const struct df_step *step" end,
    body = function(o) return fmt("rope_heads(q, rope, step->pos, step->n, %d, %d, %d);", o.heads, o.nope, o.rope_dim) end,
    args = function(o, c) return fmt("%s, %s, step", c.buf(o.x), c.buf(o.rope)) end,
  },
  mla_cache_write = {
    name = function(o) return fmt("mla_cache_write_%dp%d%s", o.kv_lora, o.rope_dim, kv_suffix(o)) end,
    params = function(o, c)
      return "const float *kv_a, const unsigned char *norm, const float *rope, const struct df_step *step, " .. c.ctype(o.kv) .. " *cache"
    end,
    body = function() return "mla_cache_write(&MLA, kv_a, " .. F32 .. "norm, rope, step, cache);" end,
    args = function(o, c)
      return fmt("%s, %s, %s, step, %s", c.buf(o.kv_a), c.weight(o.norm), c.buf(o.rope), c.buf(o.cache))
    end,
  },
  mla_attend = {
    name = function(o)
      return fmt("mla_attend_%s_h%d_%dp%d_v%d%s", SHORT[o.dtype], o.heads, o.kv_lora, o.rope_dim, o.v_head, kv_suffix(o))
    end,
    params = function(o, c)
      return mat_params(o.dtype, "kv_b") .. ", const float *q, const " .. c.ctype(o.kv)
        .. " *cache, const struct df_step *step, float *ws, float *out"
    end,
    body = function(o)
      return fmt("const struct df_mat m = %s;\n    mla_attend(&MLA, &m, q, cache, step, ws, out);",
        mat_value(o.dtype, "kv_b", o.heads * (o.nope + o.v_head), o.kv_lora))
    end,
    args = function(o, c)
      return fmt("%s, %s, %s, step, %s, %s", mat_args(c, o.dtype, o.w), c.buf(o.q), c.buf(o.cache), c.buf(o.ws), c.buf(o.out))
    end,
  },
  moe_route = {
    name = function(o) return fmt("moe_route_e%d_k%d", o.experts, o.topk) end,
    params = function() return "const float *logits, const unsigned char *bias, int n, int *ids, float *weights" end,
    body = function() return "moe_route(&ROUTE, logits, bias ? " .. F32 .. "bias : NULL, n, ids, weights);" end,
    args = function(o, c)
      return fmt("%s, %s, %s, %s, %s", c.buf(o.logits), o.bias and c.weight(o.bias) or "NULL", c.rows(o), c.buf(o.ids), c.buf(o.weights))
    end,
  },
  moe_experts = {
    name = function(o) return fmt("moe_experts_%s_%dx%d_k%d%s", SHORT[o.dtype], o.dim, o.inter, o.topk, act_suffix(o)) end,
    params = function()
      return "const unsigned char *w, const struct df_expert *table, const float *x, const int *ids, const float *weights, int n, float *ws, float *out"
    end,
    body = function(o)
      return fmt("const struct df_experts_shape s = { %d, %d, %d, %s, %s };\n    moe_experts(&s, w, table, x, ids, weights, n, ws, out);",
        o.topk, o.dim, o.inter, DT[o.dtype], ACT[o.act])
    end,
    args = function(o, c)
      return fmt("w, %s, %s, %s, %s, %s, %s, %s", c.expert_table(o), c.buf(o.x), c.buf(o.ids), c.buf(o.weights), c.rows(o), c.buf(o.ws), c.buf(o.out))
    end,
  },
}
