-- fusion.lua: the CUDA schedule's fused ops (gen/schedule.lua, fuse_launches) stand for exactly
-- the ops they replace.
--
--   lua5.4 tests/gen/fusion.lua SPEC [key=value ...]   (a CUDA spec; deploy fields to set)
--
-- The spec's layer ops are built twice: for its CUDA target (fused) and with deploy.target =
-- "cpu" (nothing fused). Each fused op of the first is expanded back into the ops it stands for
-- (swiglu: gate, up, silu_mul; linear_pair: two products; accumulate: the product into its own
-- buffer, then residual_add; rope_cache: rope_heads, mla_cache_write; moe_shared: moe_experts,
-- then the shared experts' swiglu and accumulate, each expanded as above; rope_in: the rope_cache
-- it took in, expanded, then mla_attend), and the two lists must
-- then agree op by op on every field that says what is computed (kinds, weights, shapes,
-- buffers read and written). The buffers a fusion removed (a SwiGLU's up, a product's output
-- that was only added) cannot be named from the fused op: there the expansion holds a
-- placeholder, which must stand for the same buffer wherever it appears, and that buffer must
-- be dead after the placeholder's last use (the next op of the unfused list that touches it
-- overwrites it). So must the queries after a rope_in, which leaves them unrotated where the
-- unfused list rotates them in place. Prints the counts of fused ops; exit 1 on a difference
-- or if nothing was fused.
package.path = "gen/?.lua;tests/gen/?.lua;" .. package.path
local spec_mod = require("spec")
local shapes_mod = require("shapes")
local manifest = require("manifest")
local schedule = require("schedule")

local function layer_ops(path, set)
  local spec = spec_mod.load(path, set)
  local shapes = shapes_mod.derive(spec)
  local sched = schedule.build(spec, shapes, manifest.build(spec, shapes))
  for _, f in ipairs(sched.functions) do
    if f.name == "layers" then return f.ops end
  end
end

local copy = schedule.with

local HIDDEN = {} -- a removed buffer (compared by identity, bound on first use)
local stale = {} -- { buffer, op } for each buffer a fused op leaves other than the unfused ops do
local counts = { swiglu = 0, linear_pair = 0, accumulate = 0, rope_cache = 0, moe_shared = 0, rope_in = 0 }
-- (tally false: the parts of a moe_shared or rope_in, counted as its own)
local function expand(o, out, tally)
  local function add(t) out[#out + 1] = t end
  local kind = o.accumulate and "accumulate" or o.rope_in and "rope_in" or o.op
  if counts[kind] and tally ~= false then counts[kind] = counts[kind] + 1 end
  if o.op == "swiglu" then
    local up = setmetatable({}, HIDDEN)
    add(copy(o, { op = "linear", w2 = false, g = false, y = o.g }))
    add(copy(o, { op = "linear", w = o.w2, w2 = false, g = false, y = up }))
    add({ op = "silu_mul", g = o.g, u = up, dim = o.dout, rows = o.rows })
  elseif o.op == "linear_pair" then
    add(copy(o, { op = "linear", w2 = false, y2 = false, dout2 = false }))
    add(copy(o, { op = "linear", w = o.w2, w2 = false, y = o.y2, y2 = false, dout = o.dout2, dout2 = false }))
  elseif o.op == "rope_cache" then
    add({ op = "rope_heads", x = o.x, rope = o.rope, heads = o.heads, nope = o.nope, rope_dim = o.rope_dim,
          rows = o.rows })
    add({ op = "mla_cache_write", kv_a = o.kv_a, rope = o.rope, norm = o.norm, cache = o.cache, kv = o.kv,
          kv_lora = o.kv_lora, rope_dim = o.rope_dim, max_context = o.max_context, rows = o.rows })
  elseif o.op == "moe_shared" then
    add(copy(o, { op = "moe_experts", sgate = false, sup = false, sdown = false, sinter = false, g = false }))
    expand({ op = "swiglu", w = o.sgate, w2 = o.sup, dtype = o.dtype, act = o.act, din = o.dim, dout = o.sinter,
             x = o.x, g = o.g, rows = o.rows }, out, false)
    expand({ op = "linear", w = o.sdown, dtype = o.dtype, act = o.act, din = o.sinter, dout = o.dim, x = o.g,
             y = o.out, rows = o.rows, accumulate = true }, out, false)
  elseif o.op == "mla_attend" and o.rope_in then
    expand({ op = "rope_cache", x = o.q, rope = o.rope, heads = o.heads, nope = o.nope, rope_dim = o.rope_dim,
             kv_a = o.kv_a, norm = o.norm, cache = o.cache, kv = o.kv, kv_lora = o.kv_lora,
             max_context = o.max_context, rows = o.rows }, out, false)
    add(copy(o, { kv_a = false, norm = false, rope = false, rope_in = false }))
    stale[#stale + 1] = { o.q, #out }
  elseif o.op == "linear" and o.accumulate then
    local tmp = setmetatable({}, HIDDEN)
    add(copy(o, { accumulate = false, y = tmp }))
    add({ op = "residual_add", x = o.y, y = tmp, dim = o.dout, rows = o.rows })
  else
    add(o)
  end
end

-- The fields that say what an op computes (not how a backend runs it: gemm, split, ws).
local FIELDS = { "op", "w", "x", "y", "g", "u", "out", "q", "kv_a", "rope", "cache", "norm", "kv", "dtype", "act", "din",
                 "dout", "dim", "rows", "heads", "nope", "rope_dim", "kv_lora", "max_context", "experts", "topk", "quant",
                 "round", "text" }

local path, set = require("spec_args")(arg, "usage: lua5.4 tests/gen/fusion.lua SPEC [key=value ...]")
local fused = layer_ops(path, set)
set.target = "cpu"
local plain = layer_ops(path, set)
local expanded = {}
for _, o in ipairs(fused) do expand(o, expanded) end

local bound, last_use, bad = {}, {}, 0
local function same(a, b, i)
  if getmetatable(a) == HIDDEN then
    if bound[a] == nil then bound[a] = b end
    last_use[a] = i
    return bound[a] == b
  end
  return (a or false) == (b or false)
end
for i = 1, math.max(#expanded, #plain) do
  local e, p = expanded[i], plain[i]
  if not e or not p then
    print(string.format("op %d: %s against %s", i, e and e.op or "nothing", p and p.op or "nothing"))
    bad = bad + 1
    break
  end
  for _, f in ipairs(FIELDS) do
    if not same(e[f], p[f], i) then
      print(string.format("op %d (%s): %s is %s fused, %s unfused", i, p.op, f, tostring(e[f]), tostring(p[f])))
      bad = bad + 1
    end
  end
end
-- A buffer a fusion no longer writes (or leaves other than the unfused ops do) must be dead
-- after the ops it stood in: in the unfused list the next op that touches it writes all its
-- rows from another buffer without reading it, or none does and it is not the residual stream
-- x (which the layers hand to the head).
local function dead_after(name, last)
  for k = last + 1, #plain do
    local o = plain[k]
    if schedule.touches(o, name) then
      if not (o.op == "linear" and o.y == name and o.x ~= name and o.rows == "n") then
        print(string.format("op %d (%s) reads %s, which the fused list no longer writes as the unfused one does", k,
          o.op, name))
        bad = bad + 1
      end
      return
    end
  end
  if name == "x" then
    print("the fused list no longer writes x, which the layers hand to the head")
    bad = bad + 1
  end
end
for ph, name in pairs(bound) do dead_after(name, last_use[ph]) end
for _, s in ipairs(stale) do dead_after(s[1], s[2]) end
print(string.format("%s: %d ops fused into %d: %d swiglu, %d linear_pair, %d accumulate, %d rope_cache, %d moe_shared, "
  .. "%d rope_in", path, #plain, #fused, counts.swiglu, counts.linear_pair, counts.accumulate, counts.rope_cache,
  counts.moe_shared, counts.rope_in))
os.exit(bad == 0 and #fused < #plain and 0 or 1)
