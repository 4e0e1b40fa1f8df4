-- fuse_cases.lua: the guards of gen/schedule.lua's fuse_launches on made-up op lists: what it
-- fuses and, above all, what it must leave alone (a buffer still read later, a product through
-- cuBLASLt, an output that is its own input, a SwiGLU that prepares its output, an attention
-- that is not the split path's).
--
--   lua5.4 tests/gen/fuse_cases.lua      (prints "ok CASE" / "FAIL CASE: ..."; exit 1 on a failure)
package.path = "gen/?.lua;" .. package.path
local schedule = require("schedule")

local function lin(w, x, y, more)
  local o = { op = "linear", w = w, x = x, y = y, dtype = "bf16", act = "bf16", din = 64, dout = 32, rows = "n" }
  for k, v in pairs(more or {}) do o[k] = v end
  return o
end
local function add(x, y) return { op = "residual_add", x = x, y = y, dim = 32, rows = "n" } end
local function silu(g, u, more)
  local o = { op = "silu_mul", g = g, u = u, dim = 32, rows = "n" }
  for k, v in pairs(more or {}) do o[k] = v end
  return o
end
local with = schedule.with
local rope = { op = "rope_heads", x = "q", rope = "rope", heads = 2, nope = 4, rope_dim = 4, rows = "n" }
local function cache(kv_a, rope_dim)
  return { op = "mla_cache_write", kv_a = kv_a, rope = "rope", norm = "l0.kv_a_norm", cache = "kv_cache.l0", kv = "f32",
           kv_lora = 8, rope_dim = rope_dim or 4, max_context = 16, rows = "n" }
end

-- The split-KV attention of the queries q over cache kv_cache.l0 (more: fields to change).
local function attend(more)
  return with({ op = "mla_attend", q = "q", w = "l0.kv_b_proj", dtype = "bf16", cache = "kv_cache.l0", kv = "f32",
                out = "attn", ws = "attn_ws", heads = 2, nope = 4, rope_dim = 4, v_head = 4, kv_lora = 8,
                max_context = 16, rows = "n", split = { step = 4, slice = 2, ws_floats = 1000 } }, more or {})
end

local function moe(more)
  local o = { op = "moe_experts", layer = 1, prefix = "l1", dtype = "bf16", act = "f32", x = "h", ids = "ids",
              weights = "wts", ws = "ews", out = "proj", experts = 8, topk = 2, dim = 32, inter = 16, rows = "n" }
  for k, v in pairs(more or {}) do o[k] = v end
  return o
end
-- A MoE layer's ops (f32 activations unless more.act says): the routed experts, then the shared
-- experts' gate and up of h (or shared_x), their SwiGLU, down into sh, added into the experts'
-- output; then the ops of rest.
local function moe_layer(more, shared_x, rest)
  local a = more and more.act or "f32"
  local list = { moe(more), lin("sg", shared_x or "h", "sgate", { act = a, din = 32, dout = 16 }),
    lin("su", shared_x or "h", "sup", { act = a, din = 32, dout = 16 }), silu("sgate", "sup"),
    lin("sd", "sgate", "sh", { act = a, din = 16, dout = 32 }), add("proj", "sh") }
  for _, o in ipairs(rest or {}) do list[#list + 1] = o end
  return list
end

-- Each case: a list, then the fused list's ops as "kind" or, for products, "kind:y" (the output
-- it writes; kind "accumulate" for a linear that adds into it), in order; true fourth: only the
-- fusions the kernels need (fuse_launches' required_only, gen/main.lua --unfused).
local cases = {
  { "swiglu", { lin("g", "h", "gate"), lin("u", "h", "up"), silu("gate", "up"), lin("d", "gate", "out") },
    { "swiglu:gate", "linear:out" } },
  { "swiglu, up read later: a pair, and the SwiGLU stays",
    { lin("g", "h", "gate"), lin("u", "h", "up"), silu("gate", "up"), add("x", "up") },
    { "linear_pair:gate", "silu_mul", "residual_add" } },
  { "swiglu that quantizes its output: a pair, the SwiGLU stays",
    { lin("g", "h", "gate"), lin("u", "h", "up"), silu("gate", "up", { quant = true }) },
    { "linear_pair:gate", "silu_mul" } },
  { "products through cuBLASLt: nothing", { lin("a", "h", "qa", { gemm = "fp8" }), lin("b", "h", "kva", { gemm = "fp8" }) },
    { "linear:qa", "linear:kva" } },
  { "two products of different inputs: nothing", { lin("a", "h", "qa"), lin("b", "h2", "kva") },
    { "linear:qa", "linear:kva" } },
  { "a product of its own output: no pair", { lin("a", "h", "h"), lin("b", "h", "kva") }, { "linear:h", "linear:kva" } },
  { "accumulate", { lin("d", "gate", "sh"), add("proj", "sh"), lin("d2", "gate", "sh") },
    { "accumulate:proj", "linear:sh" } },
  { "accumulate, the output read later: nothing", { lin("d", "gate", "sh"), add("proj", "sh"), add("x", "sh") },
    { "linear:sh", "residual_add", "residual_add" } },
  { "accumulate, the output overwritten for fewer rows first: nothing",
    { lin("d", "gate", "sh"), add("proj", "sh"), lin("d2", "gate", "sh", { rows = "n_emit" }) },
    { "linear:sh", "residual_add", "linear:sh" } },
  { "accumulate into the product's own input: nothing", { lin("d", "proj", "sh"), add("proj", "sh") },
    { "linear:sh", "residual_add" } },
  { "accumulate, the residual stream left unwritten at the end: nothing", { lin("d", "gate", "x"), add("proj", "x") },
    { "linear:x", "residual_add" } },
  { "moe_shared", moe_layer(), { "moe_shared" } },
  { "moe_shared, the next layer's SwiGLU redefining the shared gate: both fused",
    moe_layer(nil, nil, moe_layer()), { "moe_shared", "moe_shared" } },
  { "moe_shared, the shared gate read later: nothing", moe_layer(nil, nil, { add("x", "sgate") }),
    { "moe_experts", "swiglu:sgate", "accumulate:proj", "residual_add" } },
  { "moe_shared with bf16 activations: nothing", moe_layer({ act = "bf16" }),
    { "moe_experts", "swiglu:sgate", "accumulate:proj" } },
  { "moe_shared, the shared experts of another input: nothing", moe_layer(nil, "h2"),
    { "moe_experts", "swiglu:sgate", "accumulate:proj" } },
  { "moe_shared, the shared gate written into the experts' ids: nothing", moe_layer({ ids = "sgate" }),
    { "moe_experts", "swiglu:sgate", "accumulate:proj" } },
  { "rope_cache", { rope, cache("kv_a") }, { "rope_cache" } },
  { "rope_cache over the queries themselves: nothing", { rope, cache("q") }, { "rope_heads", "mla_cache_write" } },
  { "rope_cache of other rope dims: nothing", { rope, cache("kv_a", 8) }, { "rope_heads", "mla_cache_write" } },
  { "rope_in", { rope, cache("kv_a"), attend(), lin("o", "attn", "proj") }, { "rope_in", "linear:proj" } },
  { "rope_in, the next layer's product redefining the queries", { rope, cache("kv_a"), attend(), lin("qb", "qa", "q") },
    { "rope_in", "linear:q" } },
  { "rope_in, the next layer's product through cuBLASLt redefining the queries",
    { rope, cache("kv_a"), attend(), lin("qb", "qa", "q", { gemm = "fp8" }) }, { "rope_in", "linear:q" } },
  { "rope_in, the queries redefined for fewer rows first: nothing",
    { rope, cache("kv_a"), attend(), lin("qb", "qa", "q", { rows = "n_emit" }) },
    { "rope_cache", "mla_attend", "linear:q" } },
  { "rope_in, the cache row rotated by another table: nothing",
    { rope, with(cache("kv_a"), { rope = "rope2" }), attend() }, { "rope_cache", "mla_attend" } },
  { "rope_in in a build without the other fusions (--unfused)",
    { rope, cache("kv_a"), attend(), lin("qp", "h", "q"), lin("kva", "h", "kv_a") },
    { "rope_in", "linear:q", "linear:kv_a" }, true },
  { "rope_in, kv_a the attention's output: nothing", { rope, cache("kv_a"), attend({ out = "kv_a" }) },
    { "rope_cache", "mla_attend" } },
  { "rope_in, the next layer's pair of products redefining the queries",
    { rope, cache("kv_a"), attend(), lin("qp", "h", "q"), lin("kva", "h", "kv_a") }, { "rope_in", "linear_pair:q" } },
  { "rope_in, the next layer's pair of products of the queries: nothing",
    { rope, cache("kv_a"), attend(), lin("qp", "q", "q2"), lin("kva", "q", "kv_a") },
    { "rope_cache", "mla_attend", "linear_pair:q2" } },
  { "rope_in, the attention not split: nothing", { rope, cache("kv_a"), attend({ split = false }) },
    { "rope_cache", "mla_attend" } },
  { "rope_in, the rotated queries read later: nothing", { rope, cache("kv_a"), attend(), add("x", "q") },
    { "rope_cache", "mla_attend", "residual_add" } },
  { "rope_in, another layer's cache: nothing", { rope, cache("kv_a"), attend({ cache = "kv_cache.l1" }) },
    { "rope_cache", "mla_attend" } },
  { "rope_in, kv_a the attention's workspace: nothing", { rope, cache("kv_a"), attend({ ws = "kv_a" }) },
    { "rope_cache", "mla_attend" } },
}

local failed = 0
for _, c in ipairs(cases) do
  local got = {}
  for _, o in ipairs(schedule.fuse_launches(c[2], c[4])) do
    local kind = o.accumulate and "accumulate" or o.rope_in and "rope_in" or o.op
    got[#got + 1] = (o.op == "linear" or o.op == "linear_pair" or o.op == "swiglu") and (kind .. ":" .. (o.y or o.g)) or kind
  end
  local want, g = table.concat(c[3], " "), table.concat(got, " ")
  if g == want then print("ok " .. c[1]) else print("FAIL " .. c[1] .. ": got " .. g .. ", want " .. want); failed = failed + 1 end
end
os.exit(failed == 0 and 0 or 1)
