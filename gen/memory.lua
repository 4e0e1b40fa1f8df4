-- memory.lua: the memory one deployment needs, line by line, and the check
-- against the GPU it declares (deploy.gpu_memory_gib).
--
-- The lines add up to exactly what the binary allocates: the packed weights
-- (one allocation of the manifest's data section) and the arena, which is the
-- plan (plan.txt; on CUDA the runtime's step arrays, the routed experts' scratch
-- and cuBLASLt's input and workspace are buffers of it like the others). The arena's lines:
-- the KV caches, the other persistent buffers, and the rest, in which a step's
-- activations and workspaces share bytes by liveness (hence one line for all of
-- them, which names the largest).
-- Not counted: what CUDA itself takes (context, graphs: a few hundred MiB) and
-- pinned host memory.
local spec_mod = require("spec")
local util = require("util")

local M = {}

local GIB = 1 << 30

-- 1536 -> "1.50 KiB": two decimals (or digits) in the largest unit that is at most the value;
-- rounded up with up (a need stated so that it never reads as less than it is).
local UNITS = { { "GiB", 1 << 30 }, { "MiB", 1 << 20 }, { "KiB", 1 << 10 } }
local function human(bytes, digits, up)
  digits = digits or 2
  for _, u in ipairs(UNITS) do
    if bytes >= u[2] then
      local v = bytes / u[2]
      if up then v = math.ceil(v * 10 ^ digits) / 10 ^ digits end
      return string.format("%." .. digits .. "f %s", v, u[1])
    end
  end
  return string.format("%d B", bytes)
end

-- The report: { title, lines = { {label, bytes, what}, ... }, total, weights }.
function M.report(spec, shapes, man, plan)
  local s, d = shapes, spec.deploy
  local kv, persistent, names, rest = 0, 0, {}, {}
  for _, b in ipairs(plan.buffers) do
    if b.name:match("^kv_cache%.") then
      kv = kv + b.bytes
    elseif b.persistent then
      persistent = persistent + b.bytes
      names[#names + 1] = b.name
    else
      rest[#rest + 1] = b
    end
  end
  table.sort(names)
  -- The largest of the shared buffers (ties by name: the report is deterministic).
  table.sort(rest, function(a, b)
    if a.bytes ~= b.bytes then return a.bytes > b.bytes end
    return a.name < b.name
  end)
  local largest = {}
  for i = 1, math.min(3, #rest) do largest[i] = rest[i].name .. " " .. human(rest[i].bytes) end
  local lines = {
    { "weights", man.data_bytes, string.format("the packed tensors, deploy.weights = %s (manifest.json data_bytes)", d.weights) },
    { "KV cache", kv, string.format("%d layers x %d sequences x %d positions x %d %s (c_kv, k_pe)",
        #s.layers, s.max_batch, s.max_context, s.cache_row, d.kv_cache) },
    { "other persistent", persistent, table.concat(names, ", ") .. ": the plan's other buffers that never share bytes" },
    { "activations", plan.peak - kv - persistent, string.format(
        "the rest of the arena: a %d-token step's activations and workspaces, sharing bytes by liveness; largest %s",
        s.chunk, table.concat(largest, ", ")) },
  }
  local total = 0
  for _, l in ipairs(lines) do total = total + l[2] end
  return {
    title = string.format("%s for %s (target %s; max batch %d, max context %d, prefill chunk %d)",
      d.target == "cuda" and "memory per GPU" or "host memory", spec.model.name, d.target, s.max_batch,
      s.max_context, s.chunk),
    lines = lines, total = total, weights = man.data_bytes,
  }
end

-- The last column of the total: the verdict against the declared GPU.
local function verdict(rep, spec)
  local gib = spec.deploy.gpu_memory_gib
  if spec.deploy.target ~= "cuda" then
    return "the mapped weights file + the arena" ..
      (gib and string.format("; deploy.gpu_memory_gib = %s is for target cuda: not checked", util.num(gib)) or "")
  end
  if not gib then return "no deploy.gpu_memory_gib declared: not checked" end
  local left = gib * GIB - rep.total
  if left >= 0 then return string.format("fits deploy.gpu_memory_gib = %s (%s left)", util.num(gib), human(left)) end
  return string.format("does NOT fit deploy.gpu_memory_gib = %s (over by %s)", util.num(gib), human(-left))
end

-- The report as text (the generator's stderr and the end of plan.txt).
function M.describe(rep, spec)
  local out = { rep.title .. ":" }
  local function row(label, bytes, what)
    out[#out + 1] = string.format("  %-19s %15d  %12s  %s", label, bytes, human(bytes), what)
  end
  for _, l in ipairs(rep.lines) do row(l[1], l[2], l[3]) end
  row("total", rep.total, verdict(rep, spec))
  return table.concat(out, "\n") .. "\n"
end

-- Stop generation (exit 3, nothing written) when the report exceeds the budget.
function M.check(rep, spec, source)
  local gib = spec.deploy.gpu_memory_gib
  if spec.deploy.target ~= "cuda" or not gib or rep.total <= gib * GIB then return end
  local parts = {}
  for _, l in ipairs(rep.lines) do
    if l[2] > 0 then parts[#parts + 1] = l[1] .. " " .. human(l[2], 1) end
  end
  local why = rep.weights > gib * GIB
    and "the weights alone exceed one GPU: this model needs several GPUs (multi-GPU is not supported yet)"
    or "lower deploy.max_batch or deploy.max_context (the KV cache grows with both) or declare a larger GPU"
  -- the total rounded up: a need just over the budget must not read as equal to it
  spec_mod.fail(source, "deploy.gpu_memory_gib", string.format("needs %s (%s) but deploy.gpu_memory_gib is %s; %s",
    human(rep.total, 1, true), table.concat(parts, ", "), util.num(gib), why))
end

return M
