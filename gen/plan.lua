-- plan.lua: the static memory plan. Every buffer of the schedule gets a fixed
-- offset in one arena. Two buffers may share bytes only if no phase has both
-- alive at once (liveness = first to last op touching it, per phase);
-- persistent buffers (KV caches, RoPE table, logits, on CUDA the step arrays)
-- never share.
-- Placement is greedy, largest first, at the lowest offset that fits: the
-- classic offline planner of TFLite Micro and TVM's AOT executor. On CUDA the
-- plan is the whole device arena: the step arrays, the routed experts' scratch
-- and cuBLASLt's input and workspace are buffers of the schedule like the others.
local util = require("util")
local schedule = require("schedule")

local M = {}
-- Where buffers start (and what their sizes are rounded to), by target: a cache line and an
-- AVX-512 vector on the CPU; on CUDA 256 bytes, more than any of its loads or cuBLASLt's
-- pointers need.
M.ALIGN = { cpu = 64, cuda = 256 }
local ELEM = { f32 = 4, i32 = 4, bf16 = 2, u8 = 1 }

local function live_ranges(sched)
  local ranges = {} -- name -> list of {first, last}, one per phase that uses it
  for _, phase in ipairs({ "prefill", "decode" }) do
    local seen = {}
    for i, o in ipairs(schedule.flatten(sched, phase)) do
      for _, b in ipairs(schedule.op_buffers(sched, o)) do
        local r = seen[b]
        if not r then
          r = { i, i, phase = phase }
          seen[b] = r
          ranges[b] = ranges[b] or {}
          table.insert(ranges[b], r)
        end
        r[2] = i
      end
    end
  end
  return ranges
end

local function conflict(a, b, ranges)
  if a.persistent or b.persistent then return true end
  for _, ra in ipairs(ranges[a.name] or {}) do
    for _, rb in ipairs(ranges[b.name] or {}) do
      if ra.phase == rb.phase and ra[1] <= rb[2] and rb[1] <= ra[2] then return true end
    end
  end
  return false
end

function M.build(sched, target)
  local align = assert(M.ALIGN[target], "plan: no alignment for target " .. tostring(target))
  local ranges = live_ranges(sched)
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
      if conflict(b, p, ranges) then clashes[#clashes + 1] = p end
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
  return { buffers = bufs, peak = peak, unshared = total, ranges = ranges }
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
