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
--   - walking each phase's ops in order, no two values alive at once share a byte: a value is
--     alive from the op that defines its buffer (schedule.op_defines: writes it whole without
--     reading it) to the last op naming that buffer before the next definition, found here
--     walking backwards (the planner walks forwards), and a persistent buffer always (the KV
--     caches, the RoPE table, the logits, the step arrays); whether op_defines tells the
--     kernels' truth is what a liveness-checking build tests (tests/poison.sh);
--   - no op names a buffer that is not persistent before an op of the phase defined it (what
--     a buffer holds when a phase starts is another's bytes);
--   - the arena's size is the end of its last buffer;
--   - on CUDA the buffers the runtime and kernels.cu size are there: step (6 x chunk ints, then
--     the picks' area, PICK_ROW_INTS x max_batch ints),
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

local function overlap(a, b) return a.offset < b.offset + b.bytes and b.offset < a.offset + a.bytes end
local pairs_checked = 0
for _, phase in ipairs(plan_mod.PHASES) do
  local ops = schedule.flatten(sched, phase)
  -- ends[i]: the buffers whose value op i names last (the next op naming them defines them anew,
  -- or none does); walking backwards, later[name] says an op after this one reads this value
  local ends, later = {}, {}
  for i = #ops, 1, -1 do
    ends[i] = {}
    for _, name in ipairs(schedule.op_buffers(sched, ops[i])) do
      if not later[name] then ends[i][name] = true end
      later[name] = true
    end
    for _, name in ipairs(schedule.op_defines(ops[i])) do later[name] = nil end
  end
  local defined, live = {}, {} -- live: name -> buffer, the values alive at the op
  for _, b in ipairs(plan.buffers) do
    if b.persistent then live[b.name] = b end
  end
  for i, o in ipairs(ops) do
    for _, name in ipairs(schedule.op_defines(o)) do defined[name] = true end
    for _, f in ipairs(schedule.BUF_FIELDS) do
      local name = o[f]
      if type(name) == "string" then
        local b = sched.buffers[name]
        if not b then fail("op %d of %s (%s) names %s, which is not planned", i, phase, o.op, name) end
        if not b.persistent and not defined[name] then
          fail("op %d of %s (%s) reads %s before any op of the phase defined it", i, phase, o.op, name)
        end
        live[name] = b
      end
    end
    local list = {}
    for _, b in ipairs(plan.buffers) do
      if live[b.name] then list[#list + 1] = b end
    end
    for a = 1, #list do
      for c = a + 1, #list do
        pairs_checked = pairs_checked + 1
        if overlap(list[a], list[c]) then
          fail("at op %d of %s (%s) %s [%d, +%d) and %s [%d, +%d) are both alive and share bytes", i, phase, o.op,
            list[a].name, list[a].offset, list[a].bytes, list[c].name, list[c].offset, list[c].bytes)
        end
      end
    end
    for name in pairs(ends[i]) do
      if not sched.buffers[name].persistent then live[name] = nil end
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
  need("step", (schedule.STEP_ARRAYS * N + schedule.PICK_ROW_INTS * s.max_batch) * 4,
    "the runtime's step arrays and device picks' area")
  if not sched.buffers.step.persistent then fail("step is not persistent") end
  local moe, gemm = false, false
  for _, f in ipairs(sched.functions) do
    for _, o in ipairs(f.ops) do
      moe = moe or o.op == "moe_experts" or o.op == "moe_shared"
      gemm = gemm or o.gemm ~= nil
    end
  end
  if moe then need("expert_ws", (N * s.topk * (s.moe_inter + s.hidden) + s.routed * (N + 1)) * 4, "moe_experts") end
  if s.shared > 0 and sched.buffers.shared_gate then
    need("shared_gate", N * s.shared_inter * 4, "the shared experts' SwiGLU")
  end
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
print(string.format("plan_check %s: %d buffers, arena %d bytes, %d checks of two values alive at once", path,
  #plan.buffers, plan.peak, pairs_checked))
