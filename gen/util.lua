-- util.lua: small helpers shared by the generator stages.
local M = {}

-- Shortest decimal text that reads back as exactly the same double.
function M.num(v)
  if math.type(v) == "integer" then return tostring(v) end
  if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return string.format("%.1f", v) end
  for digits = 1, 17 do
    local s = string.format("%." .. digits .. "g", v)
    if tonumber(s) == v then
      if not s:find("[.eE]") then s = s .. ".0" end
      return s
    end
  end
end

function M.read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("a")
  f:close()
  return s
end

function M.write_file(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

-- ${key} substitution in a template (tname names it in errors); a key with no
-- value is a generator bug, not a blank.
function M.render(tmpl, vars, tname)
  return (tmpl:gsub("%${([%w_]+)}", function(k)
    local v = vars[k]
    if v == nil then error(string.format("template %s: no value for ${%s}", tname, k)) end
    return tostring(v)
  end))
end

function M.ceil_div(a, b) return (a + b - 1) // b end

function M.round_up(a, b) return M.ceil_div(a, b) * b end

return M
