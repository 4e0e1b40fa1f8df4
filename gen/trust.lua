-- trust.lua: the signing keys a spec trusts (deploy.trusted_keys) and its
-- verification policy (deploy.allow_no_verify), rendered through
-- templates/common/trust.c.in into trust.c, which the binary and the packer
-- link (runtime/verify.h). Each key must be a PEM "PUBLIC KEY" block holding
-- an ECDSA P-256 key; its key id is SHA-256 of that DER SubjectPublicKeyInfo.
local spec_mod = require("spec")
local sha256 = require("sha256")
local util = require("util")

local M = {}

-- The DER SubjectPublicKeyInfo of a P-256 key, up to the 65-byte uncompressed
-- point: SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING 04 ... }.
local P256_SPKI = "\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07"
  .. "\x03\x42\x00\x04"

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function b64decode(s)
  if #s % 4 ~= 0 or not s:match("^[%w+/]*=?=?$") then return nil end
  local out, bits, nbits = {}, 0, 0
  for i = 1, #s do
    local c = s:sub(i, i)
    if c == "=" then break end
    bits = bits << 6 | (B64:find(c, 1, true) - 1)
    nbits = nbits + 6
    if nbits >= 8 then
      nbits = nbits - 8
      out[#out + 1] = string.char(bits >> nbits & 0xff)
    end
  end
  return table.concat(out)
end

-- One key file: its canonical PEM text (64-column base64) and key id (hex).
local function load_key(source, field, path)
  local text, err = util.read_file(path)
  if not text then spec_mod.fail(source, field, "cannot read " .. path .. ": " .. tostring(err)) end
  if text:find("PRIVATE KEY", 1, true) then
    spec_mod.fail(source, field, path .. " holds a PRIVATE key: name the public key (*.pub.pem); private keys never go into a binary")
  end
  local body = text:match("%-%-%-%-%-BEGIN PUBLIC KEY%-%-%-%-%-(.-)%-%-%-%-%-END PUBLIC KEY%-%-%-%-%-")
  local der = body and b64decode((body:gsub("%s", "")))
  if not der then spec_mod.fail(source, field, path .. " is not a PEM public key (BEGIN PUBLIC KEY)") end
  if #der ~= 91 or der:sub(1, #P256_SPKI) ~= P256_SPKI then
    spec_mod.fail(source, field, path .. " is not an ECDSA P-256 public key (uncompressed point)")
  end
  local b64 = body:gsub("%s", "")
  local lines = { "-----BEGIN PUBLIC KEY-----" }
  for i = 1, #b64, 64 do lines[#lines + 1] = b64:sub(i, i + 63) end
  lines[#lines + 1] = "-----END PUBLIC KEY-----"
  return { path = path, lines = lines, id = sha256(der) }
end

local function key_entry(k)
  local pem = {}
  for _, l in ipairs(k.lines) do pem[#pem + 1] = string.format('      "%s\\n"', l) end
  local bytes = {}
  for i = 1, 64, 2 do bytes[#bytes + 1] = "0x" .. k.id:sub(i, i + 1) end
  return string.format("    { \"%s\",\n%s,\n      /* key id %s */\n      { %s,\n        %s } },", k.path,
    table.concat(pem, "\n"), k.id, table.concat(bytes, ", ", 1, 16), table.concat(bytes, ", ", 17, 32))
end

-- trust.c for spec (source: its file, for messages; vars: name, spec_file).
function M.render(spec, source, template, vars)
  local d = spec.deploy
  local keys, seen = {}, {}
  for i, path in ipairs(d.trusted_keys) do
    local field = string.format("deploy.trusted_keys[%d]", i)
    local k = load_key(source, field, path)
    if seen[k.id] then spec_mod.fail(source, field, "the same key as " .. seen[k.id]) end
    seen[k.id] = path
    keys[#keys + 1] = key_entry(k)
  end
  local v = {
    name = vars.name, spec_file = vars.spec_file, n_keys = #keys,
    keys = #keys > 0 and string.format("static const struct df_trusted_key keys[%d] = {\n%s\n};\n", #keys,
      table.concat(keys, "\n")) or "/* no trusted keys: unsigned weights are accepted, checked by their chunk hashes */\n",
    keys_ref = #keys > 0 and "keys" or "NULL",
    allow_no_verify = d.allow_no_verify and 1 or 0,
  }
  return util.render(template, v, "trust.c.in")
end

return M
