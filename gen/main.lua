-- main.lua: the generator's command line.
--
--   lua5.4 gen/main.lua --spec specs/tiny.lua --out generated/tiny
--   lua5.4 gen/main.lua --hf path/to/checkpoint --name mymodel --out generated/mymodel
--                       [--set deploy.max_batch=8 ...]
--
-- Stages: spec -> shapes -> manifest -> schedule -> plan -> memory (the report,
-- checked against deploy.gpu_memory_gib) -> emit. Output files are written only
-- after every stage succeeded; the same spec always gives byte-identical files.
local here = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path

local spec_mod = require("spec")
local import_hf = require("import_hf")
local shapes_mod = require("shapes")
local manifest = require("manifest")
local schedule = require("schedule")
local plan_mod = require("plan")
local memory = require("memory")
local emit = require("emit")
local trust = require("trust")
local provenance = require("provenance")
local sha256 = require("sha256")
local util = require("util")

local USAGE = [[
usage: gen/main.lua (--spec FILE | --hf DIR --name NAME) --out DIR [--set deploy.KEY=VALUE ...] [--quiet]
  --spec FILE   a spec (specs/*.lua)
  --hf DIR      a Hugging Face checkpoint directory (its config.json is imported)
  --name NAME   the model's name (with --hf)
  --set K=V     override a deploy field of the spec or the imported config, e.g. deploy.max_batch=8,
                deploy.trusted_keys=keys/a.pub.pem,keys/b.pub.pem, deploy.allow_no_verify=true
  --out DIR     where the generated sources go (created)
  --print-spec  print the normalized spec and stop
  --print-memory  print plan.txt (where every buffer lives, then the memory report) and stop, whether
                or not it fits deploy.gpu_memory_gib
  --trace       a debugging build: the forward pass also hands its activations at fixed points of each
                layer to df_trace (runtime/trace.c; DF_TRACE=FILE writes them), for tests/trace_diff.c
                to compare two builds of one model op by op (deploy.activations = "f32" only)
  --poison      a checking build: after the last op that reads a buffer's value, the forward pass
                fills the buffer with all-ones bytes (df_poison: NaN as floats, -1 as ints), so that
                an op reading a value the memory plan counts as dead makes garbage (tests/poison.sh)
  --unfused     a checking build (CUDA): the schedule without the launch fusions it can do without
                (gen/schedule.lua, fuse_launches), whose logits must equal the fused build's bit for
                bit (tests/simt/run.sh)]]

local function usage_error(msg)
  io.stderr:write("gen: " .. msg .. "\n" .. USAGE .. "\n")
  os.exit(2)
end

local function parse_args(argv)
  local a = { set = {} }
  local i = 1
  while i <= #argv do
    local k = argv[i]
    if k == "--quiet" then a.quiet = true
    elseif k == "--print-spec" then a.print_spec = true
    elseif k == "--print-memory" then a.print_memory = true
    elseif k == "--trace" then a.trace = true
    elseif k == "--poison" then a.poison = true
    elseif k == "--unfused" then a.unfused = true
    elseif k == "--help" or k == "-h" then print(USAGE) os.exit(0)
    elseif k == "--spec" or k == "--hf" or k == "--name" or k == "--out" or k == "--set" then
      local v = argv[i + 1] or usage_error(k .. " needs a value")
      if k == "--set" then
        local key, val = v:match("^deploy%.([%w_]+)=(.+)$")
        if not key then usage_error("--set wants deploy.KEY=VALUE, got " .. v) end
        if key == "trusted_keys" then -- a comma-separated list of PEM paths
          local list = {}
          for p in val:gmatch("[^,]+") do list[#list + 1] = p end
          a.set[key] = list
        elseif val == "true" or val == "false" then
          a.set[key] = val == "true"
        else -- a number (an integer when it is one: 8, not 8.0) or else the text
          local n = tonumber(val)
          a.set[key] = n and (math.tointeger(n) or n) or val
        end
      else
        a[k:sub(3)] = v
      end
      i = i + 1
    else
      usage_error("unknown argument " .. k)
    end
    i = i + 1
  end
  if (a.spec == nil) == (a.hf == nil) then usage_error("give exactly one of --spec or --hf") end
  if a.hf and not a.name then usage_error("--hf needs --name") end
  if not a.out and not a.print_spec and not a.print_memory then usage_error("--out is required") end
  return a
end

local function generate(a)
  local spec, source
  if a.spec then
    spec, source = spec_mod.load(a.spec, a.set), a.spec
  else
    source = a.hf .. "/config.json"
    spec = import_hf.import(source, a.name, a.set)
  end
  local spec_text = spec_mod.serialize(spec)
  if a.print_spec then io.write(spec_text) os.exit(0) end
  local tdir = here .. "/../templates/" .. spec.deploy.target
  if not util.read_file(tdir .. "/ops.lua") then
    spec_mod.fail(source, "deploy.target", spec_mod.show(spec.deploy.target) .. " backend is not available in this tree (no templates/" .. spec.deploy.target .. ")")
  end
  if a.unfused and spec.deploy.target ~= "cuda" then
    spec_mod.fail(source, "deploy.target", "--unfused leaves out the CUDA schedule's launch fusions; this model's target is "
      .. spec_mod.show(spec.deploy.target) .. ", whose schedule has none")
  end
  local shapes = shapes_mod.derive(spec)
  local man = manifest.build(spec, shapes)
  local sched = schedule.build(spec, shapes, man, { unfused = a.unfused })
  local plan = plan_mod.build(sched, spec.deploy.target)
  local mem = memory.report(spec, shapes, man, plan)
  local plan_txt = plan_mod.describe(plan, spec) .. "\n" .. memory.describe(mem, spec)
  if a.print_memory then io.write(plan_txt) os.exit(0) end
  memory.check(mem, spec, source)
  if a.trace and spec.deploy.activations ~= "f32" then
    spec_mod.fail(source, "deploy.activations", "--trace compares f32 activations; this model's are " ..
      spec_mod.show(spec.deploy.activations) .. " (its buffers hold prepared GEMM inputs)")
  end
  local files = emit.emit({
    trace = a.trace, poison = a.poison,
    spec = spec, shapes = shapes, manifest = man, schedule = sched, plan = plan,
    template_dir = tdir,
    common_dir = here .. "/../templates/common",
    -- Only the file's base name: generated code must not depend on where it was run.
    spec_file = a.spec and a.spec:match("[^/]*$") or "an imported config.json",
    spec_sha256 = sha256(spec_text),
  })
  -- The trusted signing keys and the verify policy (target-independent).
  files["trust.c"] = trust.render(spec, source, util.read_file(here .. "/../templates/common/trust.c.in"),
    { name = spec.model.name, spec_file = a.spec and a.spec:match("[^/]*$") or "an imported config.json" })
  files["spec.lua"] = spec_text
  files["manifest.json"] = man.json
  files["plan.txt"] = plan_txt
  -- Last: it hashes every other file (what `<binary> audit` reports).
  files[provenance.FILE] = provenance.render(files, util.read_file(here .. "/../templates/common/provenance.c.in"),
    { name = spec.model.name, spec_file = a.spec and a.spec:match("[^/]*$") or "an imported config.json",
      spec_sha256 = sha256(spec_text), generator_version = emit.GENERATOR_VERSION })
  return spec, man, plan, files, mem
end

local a = parse_args(arg)
local ok, spec, man, plan, files, mem = pcall(generate, a)
if not ok then
  local e = spec
  if type(e) == "table" and e.spec_error then
    io.stderr:write("gen: " .. e.spec_error .. "\n")
    os.exit(3)
  end
  io.stderr:write("gen: internal error: " .. tostring(e) .. "\n")
  os.exit(1)
end

os.execute("mkdir -p '" .. a.out:gsub("'", "'\\''") .. "'")
local names = {}
for name in pairs(files) do names[#names + 1] = name end
table.sort(names)
for _, name in ipairs(names) do util.write_file(a.out .. "/" .. name, files[name]) end
if not a.quiet then
  io.stderr:write(string.format("gen: %s: %d tensors, %.1f MiB of weights; arena %.2f MiB (%.2f MiB unshared); wrote %d files to %s\n",
    spec.model.name, #man.tensors, man.data_bytes / 1048576, plan.peak / 1048576, plan.unshared / 1048576, #names, a.out))
  io.stderr:write(memory.describe(mem, spec))
end
