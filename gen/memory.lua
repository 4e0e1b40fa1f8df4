-- memory.lua: the memory one deployment needs, line by line, and the check
-- against the GPU it declares (deploy.gpu_memory_gib).
--
-- The lines add up to exactly what the binary allocates: the packed weights
-- (one allocation of the manifest's data section) and the arena. The arena is
-- the plan's buffers (plan.txt) and, for target cuda, the regions forward.c
-- adds after them, laid out as templates/cuda/forward.c.in lays them out:
--   STEP_OFFSET   = DF_CUDA_ALIGN(plan bytes)
--   MOE_WS_OFFSET = DF_CUDA_ALIGN(STEP_OFFSET + 6 x prefill_chunk ints)
--   GEMM_OFFSET   = DF_CUDA_ALIGN(MOE_WS_OFFSET + prefill_chunk x topk x (moe_inter + hidden) floats
--                   + routed x (prefill_chunk + 1) ints)
--   ARENA_BYTES   = GEMM_OFFSET + DF_CUDA_GEMM_BYTES(prefill_chunk, row_bytes, scale_blocks): the
--                   cuBLASLt GEMMs' prepared input (and FP8 scales) and cuBLASLt's workspace
--                   (none when no product uses them: row_bytes 0)
-- Not counted: what CUDA itself takes (context, graphs: a few hundred MiB) and
-- pinned host memory.
local spec_mod = require("spec")
local util = require("util")

local M = {}

local GIB = 1 << 30
local CUDA_ALIGN = 256  -- DF_CUDA_ALIGN, runtime/cuda/cuda_rt.h
local STEP_ARRAYS = 6   -- token, slot, pos, emit, next, draw: DF_CUDA_STEP_BYTES, runtime/cuda/cuda_rt.h
local GEMM_WS = 32 << 20 -- DF_CUDA_GEMM_WS_BYTES, runtime/cuda/cuda_rt.h
local INT, FLOAT = 4, 4

-- Plan buffers counted on a line of their own, by name; the rest of the plan
-- is "activations".
local function plan_sum(plan, pattern)
  local n = 0
  for _, b in ipairs(plan.buffers) do
    if b.name:match(pattern) then n = n + b.bytes end
  end
  return n
end

-- The report: { title, lines = { {label, bytes, what}, ... }, total, weights }.
function M.report(spec, shapes, man, plan, sched)
  local s, d = shapes, spec.deploy
  local kv = plan_sum(plan, "^kv_cache%.")
  local ws = plan_sum(plan, "_ws$")
  local cuda = d.target == "cuda"
  local plan_end = cuda and util.round_up(plan.peak, CUDA_ALIGN) or plan.peak
  local lines = {
    { "weights", man.data_bytes, string.format("the packed tensors, deploy.weights = %s (manifest.json data_bytes)", d.weights) },
    { "KV cache", kv, string.format("%d layers x %d sequences x %d positions x %d %s (c_kv, k_pe)",
        #s.layers, s.max_batch, s.max_context, s.cache_row, d.kv_cache) },
    { "activations", plan_end - kv - ws, string.format(
        "the plan's other buffers: a %d-token step's activations, logits, RoPE table", s.chunk) },
    { "workspaces", ws, not cuda and "the plan's attn_ws, expert_ws (attention and expert scratch)"
                        or s.mla_split and "the plan's attn_ws (split-KV attention of max_batch tokens), expert_ws (unused)"
                        or "the plan's serial attn_ws, expert_ws (unused on the GPU)" },
  }
  if cuda then
    local step_end = util.round_up(plan_end + STEP_ARRAYS * s.chunk * INT, CUDA_ALIGN)
    local experts = util.round_up(s.chunk * s.topk * (s.moe_inter + s.hidden) * FLOAT
      + s.routed * (s.chunk + 1) * INT, CUDA_ALIGN)
    table.insert(lines, { "step arrays", step_end - plan_end,
      string.format("token, slot, pos, emit, next, draw: %d x %d ints (CUDA, beyond the plan)", STEP_ARRAYS, s.chunk) })
    table.insert(lines, { "expert scratch", experts, string.format(
      "%d tokens x %d experts x (%d + %d) floats, %d experts' pair lists (CUDA, beyond the plan)", s.chunk,
      s.topk, s.moe_inter, s.hidden, s.routed) })
    local row, blocks, rows = sched.gemm_row_bytes, sched.gemm_scale_blocks, util.round_up(s.chunk, 4)
    if row > 0 then
      table.insert(lines, { "GEMM input", util.round_up(rows * row, CUDA_ALIGN)
        + util.round_up(rows * blocks * FLOAT, CUDA_ALIGN), string.format(
        "%d tokens x %d bytes, %s (cuBLASLt's GEMMs; CUDA, beyond the plan)", rows, row,
        blocks > 0 and string.format("e4m3 codes, and %d 1x128 scales each", blocks) or "bf16 values") })
    end
    table.insert(lines, { "cuBLASLt workspace", row > 0 and GEMM_WS or 0, row > 0
      and string.format("cuBLASLt's GEMMs (%s activations; CUDA, beyond the plan)", d.activations)
      or "none: cuBLASLt's GEMMs serve deploy.activations = \"fp8\" or \"bf16\" only" })
  end
  local total = 0
  for _, l in ipairs(lines) do total = total + l[2] end
  return {
    title = string.format("%s for %s (target %s; max batch %d, max context %d, prefill chunk %d)",
      cuda and "memory per GPU" or "host memory", spec.model.name, d.target, s.max_batch, s.max_context, s.chunk),
    lines = lines, total = total, weights = man.data_bytes,
  }
end

-- 1536 -> "1.50 KiB": two decimals in the largest unit that is at most the value.
local UNITS = { { "GiB", 1 << 30 }, { "MiB", 1 << 20 }, { "KiB", 1 << 10 } }
local function human(bytes, digits)
  for _, u in ipairs(UNITS) do
    if bytes >= u[2] then return string.format("%." .. (digits or 2) .. "f %s", bytes / u[2], u[1]) end
  end
  return string.format("%d B", bytes)
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
  spec_mod.fail(source, "deploy.gpu_memory_gib", string.format("needs %s (%s) but deploy.gpu_memory_gib is %s; %s",
    human(rep.total, 1), table.concat(parts, ", "), util.num(gib), why))
end

return M
