-- plan.lua: the static memory plan. Every buffer of the schedule gets a fixed
-- offset in one arena. Two buffers may share bytes only if their values are
-- never alive at the same op: a value lives from the op that defines it (writes
-- it whole without reading it: schedule.op_defines) to the last op that names
-- the buffer before the next definition, so a buffer that every layer writes
-- and reads again (the attention's and the experts' scratch, the MLP's gate)
-- is alive in short stretches and free in between. Persistent buffers (KV
-- caches, RoPE table, logits, on CUDA the step arrays) never share.
-- Placement is greedy, largest first, at the lowest offset that fits: the
-- offline planner of TFLite Micro and TVM's AOT executor, with a buffer's
-- lifetime a list of intervals instead of one. On CUDA the plan is the whole
-- device arena: the step arrays, the routed experts' scratch and cuBLASLt's
-- input and workspace are buffers of the schedule like the others.
local util = require("util")
local schedule = require("schedule")

local M = {}
-- Where buffers start (and what their sizes are rounded to), by target: a cache line and an
-- AVX-512 vector on the CPU; on CUDA 256 bytes, more than any of its loads or cuBLASLt's
-- pointers need.
M.ALIGN = { cpu = 64, cuda = 256 }
local ELEM = { f32 = 4, i32 = 4, bf16 = 2, u8 = 1 }
M.PHASES = { "prefill", "decode" }

-- Each buffer's values: name -> list of { first, last } op positions in the phase's flat op list
-- (schedule.flatten), phase by phase in order (positions of the decode phase offset past the
-- prefill's, so that one list is sorted). A buffer named before any op of the phase defined it
-- starts a value there too (plan_check refuses such a schedule).
function M.values(sched)
  local values, base = {}, 0
  for _, phase in ipairs(M.PHASES) do
    local ops = schedule.flatten(sched, phase)
    local current = {}
    for i, o in ipairs(ops) do
      local defines = {}
      for _, b in ipairs(schedule.op_defines(o)) do defines[b] = true end
      for _, b in ipairs(schedule.op_buffers(sched, o)) do
        local v = current[b]
        if defines[b] or not v then
          v = { base + i, base + i }
          current[b] = v
          values[b] = values[b] or {}
          table.insert(values[b], v)
        end
        v[2] = base + i
      end
    end
    base = base + #ops
  end
  return values
end

-- Whether two sorted, disjoint interval lists meet (one pass over both).
local function meet(a, b)
  local i, j = 1, 1
  while i <= #a and j <= #b do
    if a[i][2] < b[j][1] then i = i + 1
    elseif b[j][2] < a[i][1] then j = j + 1
    else return true end
  end
  return false
end

local function conflict(a, b, values)
  return a.persistent or b.persistent or meet(values[a.name] or {}, values[b.name] or {})
end

function M.build(sched, target)
  local align = assert(M.ALIGN[target], "plan: no alignment for target " .. tostring(target))
  local values = M.values(sched)
  local bufs, total = {}, 0
  for _, name in ipairs(sched.buffer_order) do
    local b = sched.buffers[name]
    b.bytes = util.round_up(b.rows * b.width * ELEM[b.elem], align)
    total = total + b.bytes
    bufs[#bufs + 1] = b
  end
  -- Largest first; ties by declaration order, so placement is deterministic.
  local rank = {}
  for i, b in ipairs(bufs) do rank[b.name] = i end
  local by_size = { table.unpack(bufs) }
  table.sort(by_size, function(a, b)
    if a.bytes ~= b.bytes then return a.bytes > b.bytes end
    return rank[a.name] < rank[b.name]
  end)
  local placed, peak = {}, 0
  for _, b in ipairs(by_size) do
    local clashes = {}
    for _, p in ipairs(placed) do
      if conflict(b, p, values) then clashes[#clashes + 1] = p end
    end
    table.sort(clashes, function(x, y) return x.offset < y.offset end)
    local off = 0
    for _, p in ipairs(clashes) do
      if off + b.bytes <= p.offset then break end
      off = math.max(off, p.offset + p.bytes)
    end
    b.offset = off
    placed[#placed + 1] = b
    peak = math.max(peak, off + b.bytes)
  end
  return { buffers = bufs, peak = peak, unshared = total, values = values }
end

-- plan.txt: what an auditor reads to see where every byte lives.
function M.describe(plan, spec)
  local lines = {
    string.format("memory plan for %s: arena %d bytes (%.2f MiB); %d bytes if no buffer shared memory",
      spec.model.name, plan.peak, plan.peak / 1048576, plan.unshared),
    string.format("%-20s %12s %12s  %-22s %s", "buffer", "offset", "bytes", "shape", "what"),
  }
  local sorted = { table.unpack(plan.buffers) }
  table.sort(sorted, function(a, b)
    if a.offset ~= b.offset then return a.offset < b.offset end
    return a.name < b.name
  end)
  for _, b in ipairs(sorted) do
    lines[#lines + 1] = string.format("%-20s %12d %12d  %-22s %s%s", b.name, b.offset, b.bytes,
      string.format("[%d][%d] %s", b.rows, b.width, b.elem), b.what, b.persistent and " (persistent)" or "")
  end
  return table.concat(lines, "\n") .. "\n"
end

return M
