-- emit.lua: renders the schedule and plan through templates/<target>/ into
-- readable source. The op-to-code table (templates/<target>/ops.lua) and the
-- file skeletons (*.in) hold all target text; this file only walks.
local util = require("util")
local schedule = require("schedule")
local plan_mod = require("plan")

local M = {}
M.GENERATOR_VERSION = "0.1.0"

-- The C type of a buffer element (plan.lua's element kinds; bf16 as its bits).
local CTYPE = { f32 = "float", i32 = "int", bf16 = "uint16_t", u8 = "unsigned char" }
local function cname(packed) return (packed:gsub("%.", "_"):upper()) end
local function cvar(buffer) return (buffer:gsub("%.", "_")) end
local function flit(v) return util.num(v) .. (math.type(v) == "integer" and ".0f" or "f") end
local function dlit(v) return util.num(v) .. (math.type(v) == "integer" and ".0" or "") end

local function constants(spec, shapes)
  local m, s, y = spec.model, shapes, spec.model.rope.yarn
  local method = { greedy = "DF_GREEDY", group_limited_greedy = "DF_GROUP_LIMITED_GREEDY", noaux_tc = "DF_NOAUX_TC" }
  local rows = {
    { "VOCAB", s.vocab }, { "HIDDEN", s.hidden }, { "LAYERS", m.layers }, { "FIRST_K_DENSE", m.first_k_dense },
    { "HEADS", s.heads }, { "Q_LORA_RANK", s.q_lora }, { "KV_LORA_RANK", s.kv_lora },
    { "QK_NOPE", s.qk_nope }, { "QK_ROPE", s.qk_rope }, { "V_HEAD", s.v_head }, { "QK_HEAD", s.qk_head },
    { "DENSE_INTER", s.dense_inter }, { "MOE_INTER", s.moe_inter }, { "ROUTED_EXPERTS", s.routed },
    { "SHARED_EXPERTS", s.shared }, { "EXPERTS_PER_TOKEN", s.topk }, { "N_GROUP", s.n_group },
    { "TOPK_GROUP", s.topk_group }, { "TOPK_METHOD", method[m.topk_method] },
    { "SCORING_SOFTMAX", m.scoring == "softmax" and "true" or "false" },
    { "NORM_TOPK_PROB", m.norm_topk_prob and "true" or "false" }, { "ROUTED_SCALING", flit(m.routed_scaling) },
    { "RMS_EPS", flit(m.rms_eps) }, { "SOFTMAX_SCALE", flit(s.softmax_scale) .. " /* qk_head^-0.5 * yarn mscale^2 */" },
    { "ROPE_THETA", dlit(m.rope.theta) }, { "YARN_FACTOR", dlit(y and y.factor or 1) },
    { "YARN_ORIGINAL_MAX", dlit(y and y.original_max or 0) }, { "YARN_BETA_FAST", dlit(y and y.beta_fast or 0) },
    { "YARN_BETA_SLOW", dlit(y and y.beta_slow or 0) }, { "MTP_LAYERS", m.mtp_layers },
    { "MAX_BATCH", s.max_batch }, { "MAX_CONTEXT", s.max_context }, { "PREFILL_CHUNK", s.chunk },
    { "ACTIVATIONS_BF16", (spec.deploy.activations == "bf16" and "true" or "false")
      .. " /* deploy.activations: products with bf16 weights take bf16 inputs */" },
    { "KV_CACHE_BF16", (spec.deploy.kv_cache == "bf16" and "true" or "false")
      .. " /* deploy.kv_cache: the latent cache holds bf16 values */" },
  }
  local out = {}
  for _, r in ipairs(rows) do out[#out + 1] = string.format("#define %-18s %s", r[1], tostring(r[2])) end
  return table.concat(out, "\n")
end

local function offsets(man)
  local out = {}
  for _, t in ipairs(man.tensors) do
    local shape = t.ndim == 2 and string.format("[%d][%d]", t.rows, t.cols) or string.format("[%d]", t.rows)
    out[#out + 1] = string.format("#define %-22s %10du /* %s %s %s */", cname(t.name), t.offset, t.hf_name, t.dtype, shape)
  end
  return table.concat(out, "\n")
end

local function manifest_rows(man)
  local dt = { f32 = "DF_F32", bf16 = "DF_BF16", f8e4m3 = "DF_F8E4M3" }
  local out = {}
  for _, t in ipairs(man.tensors) do
    out[#out + 1] = string.format('    { "%s", "%s", %s, %d, { %d, %d }, %d, %du, %du },', t.name, t.hf_name,
      dt[t.dtype], t.ndim, t.rows, t.cols, t.scale and t.scale.index or -1, t.offset, t.bytes)
  end
  return table.concat(out, "\n")
end

-- The routed experts' weight offsets of each MoE layer, for moe_experts (and moe_shared: the same
-- experts with the shared ones, a CUDA fusion).
local function expert_tables(sched, man)
  local out = {}
  for _, o in ipairs(sched.functions[1].ops) do
    if o.op == "moe_experts" or o.op == "moe_shared" then
      out[#out + 1] = string.format("\n/* layer %d routed experts: gate, up, down%s */\nstatic const struct df_expert %s_EXPERTS[%d] = {",
        o.layer, o.dtype == "f8e4m3" and ", then their block scales" or "", o.prefix:upper(), o.experts)
      for e = 0, o.experts - 1 do
        local p = cname(o.prefix .. ".e" .. e)
        if o.dtype == "f8e4m3" then
          out[#out + 1] = string.format("    { %s_GATE_PROJ, %s_UP_PROJ, %s_DOWN_PROJ, %s_GATE_PROJ_SCALE, %s_UP_PROJ_SCALE, %s_DOWN_PROJ_SCALE },", p, p, p, p, p, p)
        else
          out[#out + 1] = string.format("    { %s_GATE_PROJ, %s_UP_PROJ, %s_DOWN_PROJ, 0, 0, 0 },", p, p, p)
        end
      end
      out[#out + 1] = "};"
    end
  end
  return table.concat(out, "\n") .. (#out > 0 and "\n" or "")
end

-- The files a target renders, each from NAME.in: the C set, unless the target
-- lists its own in templates/<target>/files.lua (CUDA: kernels.cu for kernels.c).
local C_FILES = { "config.h", "weights.h", "kernels.h", "kernels.c", "forward.c", "manifest.c" }
-- Trace points (gen/main.lua --trace): the buffers whose value at their first or last write in a
-- layer (or in the head, after the layers) means the same whatever the target fuses: the
-- sublayers' normed inputs, the q and kv_a products, the attention output, the router's scores,
-- the FFN or MoE output, the final norm and the logits. Op index -> { label, buffer } list.
local TRACE_WRITES = { h = { "first", "last" }, q = { "first" }, kv_a = { "first" }, attn = { "last" },
                       router_logits = { "first" }, proj = { "last" }, he = { "first" }, logits = { "first" } }
local function trace_points(sched, ops)
  local seg, seen, order = "head", {}, {}
  for i, o in ipairs(ops) do
    if o.op == "comment" then
      seg = o.text:match("^(layer %d+)") or seg
    elseif o.op ~= "call" then
      for _, b in ipairs(schedule.op_writes(o)) do
        if TRACE_WRITES[b] and sched.buffers[b] and sched.buffers[b].elem == "f32" then
          local key = seg .. " " .. b
          if not seen[key] then
            seen[key] = { buffer = b, first = i }
            order[#order + 1] = key
          end
          seen[key].last = i
        end
      end
    end
  end
  local points = {}
  for _, key in ipairs(order) do
    local t = seen[key]
    for _, which in ipairs(TRACE_WRITES[t.buffer]) do
      local i = t[which]
      points[i] = points[i] or {}
      table.insert(points[i], { label = key .. " " .. which, buffer = t.buffer })
    end
  end
  return points
end

-- Poison points (gen/main.lua --poison): op -> the buffers, not persistent, whose value it is the
-- last to name (plan.values) in every phase that runs it (the layers run in both; x's value ends
-- in the head). In the order of the schedule's buffers.
local function poison_points(sched, plan)
  local ends = {} -- position in plan.values' numbering -> set of names
  for _, name in ipairs(sched.buffer_order) do
    if not sched.buffers[name].persistent then
      for _, v in ipairs(plan.values[name] or {}) do
        ends[v[2]] = ends[v[2]] or {}
        ends[v[2]][name] = true
      end
    end
  end
  local points, base = {}, 0
  for _, phase in ipairs(plan_mod.PHASES) do
    local ops = schedule.flatten(sched, phase)
    for i, o in ipairs(ops) do
      local here = ends[base + i] or {}
      local list = {}
      for _, name in ipairs(points[o] or sched.buffer_order) do
        if here[name] then list[#list + 1] = name end
      end
      points[o] = list
    end
    base = base + #ops
  end
  return points
end

local function target_files(tdir)
  if util.read_file(tdir .. "/files.lua") then return dofile(tdir .. "/files.lua") end
  return C_FILES
end

function M.emit(ctx)
  local spec, shapes, man, sched, plan = ctx.spec, ctx.shapes, ctx.manifest, ctx.schedule, ctx.plan
  local tdir = ctx.template_dir
  local ops = dofile(tdir .. "/ops.lua")
  -- A target's own template, else the target-independent one of templates/common/.
  local function tmpl(name)
    return util.read_file(tdir .. "/" .. name) or util.read_file(ctx.common_dir .. "/" .. name)
      or error("missing template " .. name .. " in " .. tdir .. " and " .. ctx.common_dir)
  end

  local c = {
    weight = function(name)
      assert(man.by_name[name], "no tensor " .. name)
      return "w + " .. cname(name)
    end,
    buf = function(name) return cvar(name) end,
    bytes = function(name) return sched.buffers[name].bytes end,
    offset = function(name) return sched.buffers[name].offset end,
    ctype = function(elem) return CTYPE[elem] end,
    rows = function(o) return o.rows == "n_emit" and "step->n_emit" or "step->n" end,
    expert_table = function(o) return o.prefix:upper() .. "_EXPERTS" end,
  }

  -- Kernel instances, in order of first use. Ops that share an instance (its name) must
  -- render it the same way: a template whose name leaves out something its body depends on
  -- stops the generator here.
  local instances, inst_order = {}, {}
  local function instance(o)
    local k = assert(ops[o.op], "templates: no op " .. o.op)
    local name = k.name(o)
    local inst = { name = name, sig = string.format("void %s(%s)", name, k.params(o, c)), body = k.body(o, c) }
    local seen = instances[name]
    if not seen then
      instances[name] = inst
      inst_order[#inst_order + 1] = inst
    else
      assert(seen.sig == inst.sig and seen.body == inst.body, "templates: two different instances named " .. name)
    end
    return name, k
  end

  local poison = ctx.poison and poison_points(sched, plan) or {} -- (keyed by op: all functions at once)
  local function body(fn)
    local points = ctx.trace and trace_points(sched, fn.ops) or {}
    local used, lines = {}, {}
    for _, o in ipairs(fn.ops) do
      for _, b in ipairs(schedule.op_buffers(sched, o)) do used[b] = true end
    end
    for _, name in ipairs(sched.buffer_order) do
      if used[name] then
        local b = sched.buffers[name]
        local ctype = CTYPE[b.elem]
        lines[#lines + 1] = string.format("    %s *%s = (%s *)(void *)(arena + %d); /* [%d][%d] %s */",
          ctype, cvar(name), ctype, b.offset, b.rows, b.width, b.what)
      end
    end
    lines[#lines + 1] = ""
    for i, o in ipairs(fn.ops) do
      if o.op == "comment" then
        if #lines > 0 and lines[#lines] ~= "" then lines[#lines + 1] = "" end
        lines[#lines + 1] = "    /* " .. o.text .. " */"
      elseif o.op == "call" then
        lines[#lines + 1] = string.format("    %s(w, arena, step);", o.fn)
      else
        local name, k = instance(o)
        lines[#lines + 1] = string.format("    %s(%s);", name, k.args(o, c))
      end
      for _, p in ipairs(points[i] or {}) do
        lines[#lines + 1] = string.format('    df_trace("%s", %s, %s, %d);', p.label, cvar(p.buffer), c.rows(o),
          sched.buffers[p.buffer].width)
      end
      for _, name in ipairs(poison[o] or {}) do
        lines[#lines + 1] = string.format("    df_poison(%s, %d);", cvar(name), sched.buffers[name].bytes)
      end
    end
    return table.concat(lines, "\n")
  end

  local fn = {}
  for _, f in ipairs(sched.functions) do fn[f.name] = body(f) end

  -- What the model's init does for the ops beside the RoPE table (a template's `init`: on CUDA,
  -- cuBLASLt's plan of each GEMM shape), each line once, in order of first use.
  local init_calls, init_seen = {}, {}
  for _, f in ipairs(sched.functions) do
    for _, o in ipairs(f.ops) do
      local k = ops[o.op]
      local line = k and k.init and k.init(o, c)
      if line and not init_seen[line] then
        init_seen[line] = true
        init_calls[#init_calls + 1] = "    " .. line
      end
    end
  end

  local defs, decls = {}, { "void rope_init(float *rope);" }
  for _, i in ipairs(inst_order) do
    decls[#decls + 1] = i.sig .. ";"
    defs[#defs + 1] = string.format("%s\n{\n    %s\n}\n", i.sig, i.body)
  end

  local sha_bytes = {}
  for i = 1, 64, 2 do sha_bytes[#sha_bytes + 1] = "0x" .. man.sha256:sub(i, i + 1) end

  local vars = {
    name = spec.model.name, generator_version = M.GENERATOR_VERSION, spec_file = ctx.spec_file,
    spec_sha256 = ctx.spec_sha256, max_batch = shapes.max_batch,
    constants = constants(spec, shapes), offsets = offsets(man),
    declarations = table.concat(decls, "\n"), definitions = table.concat(defs, "\n"),
    expert_tables = expert_tables(sched, man),
    fn_layers = fn.layers, fn_prefill = fn.prefill, fn_decode = fn.decode,
    rope_offset = sched.buffers.rope.offset, logits_offset = sched.buffers.logits.offset,
    init_calls = #init_calls > 0 and "\n" .. table.concat(init_calls, "\n") or "",
    arena_bytes = plan.peak,
    step_offset = sched.buffers.step and sched.buffers.step.offset, step_bytes = sched.buffers.step and sched.buffers.step.bytes,
    n_tensors = #man.tensors, rows = manifest_rows(man), sha_bytes = table.concat(sha_bytes, ", "),
    data_bytes = man.data_bytes,
  }
  local files = {}
  for _, f in ipairs(target_files(tdir)) do
    files[f] = util.render(tmpl(f .. ".in"), vars, f .. ".in")
  end
  return files
end

return M
