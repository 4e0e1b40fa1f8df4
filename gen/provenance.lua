-- provenance.lua: what a binary says about its own making (`<binary> audit`,
-- docs/reproducibility.md): the normalized spec and its hash, the generator
-- version, and one hash over every other generated file.
--
-- The sources hash is the SHA-256 of a sha256sum-style listing ("<hex>  <name>\n"
-- per file, names in byte order), so an auditor re-derives it from a checkout
-- with standard tools:
--   cd generated/<name> && ls | LC_ALL=C sort | grep -vx provenance.c | xargs sha256sum | sha256sum
local sha256 = require("sha256")
local util = require("util")

local M = {}

M.FILE = "provenance.c"

-- A C string literal per line of text, so the spec reads as itself in the source.
local function c_lines(text)
  local out = {}
  for line in text:gmatch("([^\n]*)\n") do
    local esc = line:gsub('[\\"]', "\\%0"):gsub("[%c\128-\255]", function(c)
      return string.format("\\%03o", c:byte())
    end)
    out[#out + 1] = '    "' .. esc .. '\\n"'
  end
  return table.concat(out, "\n")
end

-- files: name -> text of every other generated file; vars: name, spec_file,
-- spec_sha256, generator_version. Returns provenance.c's text.
function M.render(files, template, vars)
  local names = {}
  for name in pairs(files) do names[#names + 1] = name end
  table.sort(names)
  local listing, rows = {}, {}
  for _, name in ipairs(names) do
    local h = sha256(files[name])
    listing[#listing + 1] = h .. "  " .. name .. "\n"
    rows[#rows + 1] = string.format('    { "%s", "%s" },', name, h)
  end
  local v = {
    name = vars.name, spec_file = vars.spec_file, spec_sha256 = vars.spec_sha256,
    generator_version = vars.generator_version,
    spec_text = c_lines(files["spec.lua"]),
    sources_sha256 = sha256(table.concat(listing)), n_sources = #rows, source_rows = table.concat(rows, "\n"),
  }
  return util.render(template, v, M.FILE .. ".in")
end

return M
