-- plan_check.lua: a spec's memory plan (gen/plan.lua) is a valid static arena, checked
-- from the schedule with code of its own.
--
--   lua5.4 tests/gen/plan_check.lua SPEC [key=value ...]   (deploy fields to set)
--
-- The plan is what every byte of the arena means: on CUDA the runtime's step arrays, the
-- routed experts' scratch and cuBLASLt's regions are buffers of it too, so a fault here is
-- silent corruption on the device. Checked:
--   - every buffer an op names is planned, at an offset and size that are multiples of the
--     target's alignment, its bytes at least its rows x width elements;
--   - walking each phase's ops in order, no two buffers in use at once share a byte: a buffer
--     is in use from the first op that names it to the last (per phase), and a persistent one
--     always (the KV caches, the RoPE table, the logits, the step arrays);
--   - the first op of a phase that names a buffer that is not persistent writes it without
--     reading it (what a buffer holds when a phase starts is another's bytes);
--   - the arena's size is the end of its last buffer;
--   - on CUDA the buffers the runtime and kernels.cu size are there: step (6 x chunk ints),
--     expert_ws (moe_scratch_floats for the chunk) with MoE layers; with products through
--     cuBLASLt gemm_in (the chunk rounded up to 4 rows of the widest input: a byte a column
--     FP8, two bf16), gemm_scales for FP8 (its 1x128 blocks for those rows) and gemm_ws.
-- Prints a line of counts; exit 1 with the first fault.
package.path = "gen/?.lua;tests/gen/?.lua;" .. package.path
local spec_mod = require("spec")
local shapes_mod = require("shapes")
local manifest = require("manifest")
local schedule = require("schedule")
local plan_mod = require("plan")

local path, set = require("spec_args")(arg, "usage: lua5.4 tests/gen/plan_check.lua SPEC [key=value ...]")
local spec = spec_mod.load(path, set)
local shapes = shapes_mod.derive(spec)
local sched = schedule.build(spec, shapes, manifest.build(spec, shapes))
local plan = plan_mod.build(sched, spec.deploy.target)

local function fail(fmt, ...)
  io.stderr:write(string.format("plan_check %s: " .. fmt .. "\n", path, ...))
  os.exit(1)
end

local ELEM = { f32 = 4, i32 = 4, bf16 = 2, u8 = 1 }
local align = plan_mod.ALIGN[spec.deploy.target]
local peak = 0
for _, b in ipairs(plan.buffers) do
  if not b.offset then fail("%s has no offset", b.name) end
  if b.offset % align ~= 0 or b.bytes % align ~= 0 then
    fail("%s at %d, %d bytes: not multiples of %d", b.name, b.offset, b.bytes, align)
  end
  if b.bytes < b.rows * b.width * ELEM[b.elem] then fail("%s: %d bytes for [%d][%d] %s", b.name, b.bytes, b.rows, b.width, b.elem) end
  peak = math.max(peak, b.offset + b.bytes)
end
if peak ~= plan.peak then fail("the arena is %d bytes, its last buffer ends at %d", plan.peak, peak) end

-- Whether op o writes buffer b without reading it first: b is among the buffers it writes, not
-- its input x (in place or read), not a product's y it adds into (accumulate), not the gate a
-- silu_mul multiplies in place, not a GEMM input it reuses.
local function writes_first(o, b)
  local written = false
  for _, w in ipairs(schedule.op_writes(o)) do written = written or w == b end
  if o.gemm_in == b or o.gemm_scales == b then written = not o.reuse_input end
  if o.gemm_ws == b then written = true end
  return written and o.x ~= b and not (o.accumulate and o.y == b) and not (o.op == "silu_mul" and o.g == b)
end

local function overlap(a, b) return a.offset < b.offset + b.bytes and b.offset < a.offset + a.bytes end
local pairs_checked = 0
for _, phase in ipairs({ "prefill", "decode" }) do
  local ops = schedule.flatten(sched, phase)
  local first, last = {}, {}
  for i, o in ipairs(ops) do
    for _, f in ipairs({ "x", "y", "y2", "out", "g", "u", "q", "kv_a", "rope", "cache", "ws", "logits", "ids",
                         "weights", "gemm_in", "gemm_scales", "gemm_ws" }) do
      local name = o[f]
      if type(name) == "string" then
        local b = sched.buffers[name]
        if not b then fail("op %d of %s (%s) names %s, which is not planned", i, phase, o.op, name) end
        if not first[name] and not b.persistent and not writes_first(o, name) then
          fail("op %d of %s (%s) reads %s before any op of the phase wrote it", i, phase, o.op, name)
        end
        first[name] = first[name] or i
        last[name] = i
      end
    end
  end
  for i = 1, #ops do
    local live = {}
    for _, b in ipairs(plan.buffers) do
      if b.persistent or first[b.name] and first[b.name] <= i and i <= last[b.name] then live[#live + 1] = b end
    end
    for a = 1, #live do
      for c = a + 1, #live do
        pairs_checked = pairs_checked + 1
        if overlap(live[a], live[c]) then
          fail("at op %d of %s (%s) %s [%d, +%d) and %s [%d, +%d) are both in use and share bytes", i, phase, ops[i].op,
            live[a].name, live[a].offset, live[a].bytes, live[c].name, live[c].offset, live[c].bytes)
        end
      end
    end
  end
end

local function need(name, bytes, why)
  local b = sched.buffers[name]
  if not b then fail("no %s buffer (%s)", name, why) end
  if b.bytes < bytes then fail("%s is %d bytes, %s needs %d", name, b.bytes, why, bytes) end
end
if spec.deploy.target == "cuda" then
  local s, N = shapes, shapes.chunk
  need("step", schedule.STEP_ARRAYS * N * 4, "the runtime's step arrays")
  if not sched.buffers.step.persistent then fail("step is not persistent") end
  local moe, gemm = false, false
  for _, f in ipairs(sched.functions) do
    for _, o in ipairs(f.ops) do
      moe = moe or o.op == "moe_experts"
      gemm = gemm or o.gemm ~= nil
    end
  end
  if moe then need("expert_ws", (N * s.topk * (s.moe_inter + s.hidden) + s.routed * (N + 1)) * 4, "moe_experts") end
  if gemm then
    local rows = (N + 3) // 4 * 4
    for _, f in ipairs(sched.functions) do
      for _, o in ipairs(f.ops) do
        if o.gemm then
          need("gemm_in", rows * o.din * (o.gemm == "fp8" and 1 or 2), "the GEMM input of " .. o.w)
          if o.gemm == "fp8" then need("gemm_scales", (o.din + 127) // 128 * rows * 4, "the input scales of " .. o.w) end
        end
      end
    end
    need("gemm_ws", schedule.GEMM_WS_BYTES, "cuBLASLt's workspace")
  end
end
print(string.format("plan_check %s: %d buffers, arena %d bytes, %d checks of two buffers in use at once", path,
  #plan.buffers, plan.peak, pairs_checked))
