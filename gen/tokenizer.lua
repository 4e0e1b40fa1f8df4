-- tokenizer.lua: a Hugging Face tokenizer.json (+ tokenizer_config.json) as C data.
--
--   lua5.4 gen/tokenizer.lua --json tokenizer.json [--config tokenizer_config.json]
--                            --name NAME [--sha256 HEX] --out FILE.c
--
-- Writes one C file that defines `df_tokenizer_data` (runtime/tokenizer_data.h):
-- what every id decodes to, the merges by rank as id triples, the added
-- tokens, BOS/EOS and which chat template applies. The runtime
-- (runtime/tokenizer.c) implements exactly one kind of tokenizer: byte-level
-- BPE with the DeepSeek-V3 pre-tokenizer (three Split regexes, then
-- ByteLevel). A tokenizer.json of another shape still gives a C file, with
-- `unsupported` saying why (the binary then refuses to tokenize, naming it),
-- and a warning here. The same input always gives the same bytes.
local here = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local cjson = require("cjson")
local sha256 = require("sha256")

local USAGE = "usage: tokenizer.lua --json FILE [--config FILE] --name NAME [--sha256 HEX] --out FILE.c"
local a = {}
do
  local i = 1
  while i <= #arg do
    local k, v = arg[i], arg[i + 1]
    if (k == "--json" or k == "--config" or k == "--name" or k == "--sha256" or k == "--out") and v then
      a[k:sub(3)] = v
      i = i + 2
    else
      io.stderr:write("gen/tokenizer: bad argument " .. tostring(k) .. "\n" .. USAGE .. "\n")
      os.exit(2)
    end
  end
  if not (a.json and a.name and a.out) then io.stderr:write(USAGE .. "\n") os.exit(2) end
end

local function die(msg, code)
  io.stderr:write("gen/tokenizer: " .. msg .. "\n")
  os.exit(code or 3)
end

local function read(path)
  local f, err = io.open(path, "rb")
  if not f then die(err, 4) end
  local s = f:read("a")
  f:close()
  return s
end

local function decode_json(path)
  local ok, v = pcall(cjson.decode, read(path))
  if not ok then die(path .. ": not JSON: " .. tostring(v)) end
  return v
end

local null = cjson.null
local function isnull(v) return v == nil or v == null end
local function int(v, what)
  local n = math.tointeger(v)
  if not n then die(a.json .. ": " .. what .. ": not an integer") end
  return n
end

local tok = decode_json(a.json)
local model = tok.model
if type(model) ~= "table" then die(a.json .. ": no model") end

-- ---- what the runtime implements; anything else is `unsupported` ----------------------
local P1 = "\\p{N}{1,3}"
local P2 = "[\u{4E00}-\u{9FA5}\u{3040}-\u{309F}\u{30A0}-\u{30FF}]+"
local P3 = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
  .. " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"

local function why_unsupported()
  if model.type ~= "BPE" then return "model type " .. tostring(model.type) .. " (only BPE)" end
  if model.byte_fallback == true then return "BPE byte_fallback" end
  if model.ignore_merges == true then return "BPE ignore_merges" end
  if not isnull(model.dropout) then return "BPE dropout" end
  if not isnull(model.continuing_subword_prefix) and model.continuing_subword_prefix ~= "" then
    return "BPE continuing_subword_prefix"
  end
  if not isnull(model.end_of_word_suffix) and model.end_of_word_suffix ~= "" then return "BPE end_of_word_suffix" end
  local n = tok.normalizer
  if not isnull(n) and not (n.type == "Sequence" and #n.normalizers == 0) then
    return "a normalizer (" .. tostring(n.type) .. ")"
  end
  local p = tok.pre_tokenizer
  local want = { P1, P2, P3 }
  if isnull(p) or p.type ~= "Sequence" or #p.pretokenizers ~= 4 then
    return "a pre-tokenizer other than DeepSeek-V3's (Sequence of 3 Split + ByteLevel)"
  end
  for i = 1, 3 do
    local s = p.pretokenizers[i]
    if s.type ~= "Split" or s.behavior ~= "Isolated" or s.invert ~= false or type(s.pattern) ~= "table"
        or s.pattern.Regex ~= want[i] then
      return "pre-tokenizer step " .. i .. " is not DeepSeek-V3's Split (pattern " ..
        cjson.encode(s.pattern or null) .. ")"
    end
  end
  local b = p.pretokenizers[4]
  if b.type ~= "ByteLevel" or b.add_prefix_space ~= false or b.use_regex ~= false then
    return "pre-tokenizer step 4 is not ByteLevel without prefix space and regex"
  end
  local d = tok.decoder
  if isnull(d) or d.type ~= "ByteLevel" then return "a decoder other than ByteLevel" end
  local pp = tok.post_processor
  if not isnull(pp) and pp.type ~= "ByteLevel" then
    return "a post-processor other than ByteLevel (" .. tostring(pp.type) .. ")"
  end
  for _, t in ipairs(tok.added_tokens or {}) do
    if t.lstrip or t.rstrip or t.single_word then
      return "added token " .. t.content .. " has lstrip/rstrip/single_word"
    end
  end
  return nil
end
local unsupported = why_unsupported()

-- ---- the byte-level alphabet (GPT-2 bytes_to_unicode) ------------------------------------
local byte_of = {}       -- UTF-8 char -> byte value
local char_of = {}       -- byte value -> UTF-8 char
do
  local n = 0
  for b = 0, 255 do
    local printable = (b >= 0x21 and b <= 0x7E) or (b >= 0xA1 and b <= 0xAC) or (b >= 0xAE and b <= 0xFF)
    local cp = printable and b or (256 + n)
    if not printable then n = n + 1 end
    char_of[b] = utf8.char(cp)
    byte_of[utf8.char(cp)] = b
  end
end

-- HF's ByteLevel decoder: a token whose every char is in the alphabet gives
-- those bytes; any other token gives its own UTF-8 text.
local function decode_token(s)
  local out = {}
  for _, cp in utf8.codes(s) do
    local b = byte_of[utf8.char(cp)]
    if not b then return s end
    out[#out + 1] = string.char(b)
  end
  return table.concat(out)
end

-- ---- ids, merges, added tokens ----------------------------------------------------------
local text_of = {}       -- id -> decoded bytes
local n_ids = 0
local byte_id = {}
local merges = {}
local added = {}
if not unsupported then
  local vocab = model.vocab
  if type(vocab) ~= "table" then die(a.json .. ": model.vocab is not an object") end
  for s, id in pairs(vocab) do
    id = int(id, "vocab id")
    if id < 0 or id > 0x7fffffff then die(a.json .. ": vocab id " .. id .. " out of range") end
    if s == "" then die(a.json .. ": empty token string (id " .. id .. ")") end
    if text_of[id] then die(a.json .. ": id " .. id .. " appears twice in the vocab") end
    text_of[id] = decode_token(s)
    if id + 1 > n_ids then n_ids = id + 1 end
  end
  for b = 0, 255 do
    byte_id[b] = vocab[char_of[b]] and int(vocab[char_of[b]], "vocab id")
    if not byte_id[b] then die(a.json .. string.format(": byte 0x%02x has no token", b)) end
  end
  for r, m in ipairs(model.merges or {}) do
    local l, rr
    if type(m) == "string" then
      l, rr = m:match("^([^ ]+) ([^ ]+)$")
    elseif type(m) == "table" then
      l, rr = m[1], m[2]
    end
    if not l then die(a.json .. ": merge " .. r .. ": not \"left right\"") end
    local li, ri, mi = vocab[l], vocab[rr], vocab[l .. rr]
    if not (li and ri and mi) then die(a.json .. ": merge " .. r .. " (" .. l .. " " .. rr .. "): a token is missing") end
    merges[#merges + 1] = { int(li, "id"), int(ri, "id"), int(mi, "id") }
  end
  for _, t in ipairs(tok.added_tokens or {}) do
    local id = int(t.id, "added token id")
    if type(t.content) ~= "string" or t.content == "" then die(a.json .. ": added token " .. id .. ": no content") end
    added[#added + 1] = { id = id, content = t.content, special = t.special == true and 1 or 0,
                           normalized = t.normalized ~= false and 1 or 0 }
    -- HF decodes an id through the added vocabulary first.
    text_of[id] = decode_token(t.content)
    if id + 1 > n_ids then n_ids = id + 1 end
  end
end

-- ---- tokenizer_config.json: BOS, EOS, chat template --------------------------------------
-- The chat template of the DeepSeek-V3 release (tokenizers/deepseek-v3/tokenizer_config.json),
-- which runtime/chat.c renders natively.
local V3_TEMPLATE_SHA256 = "3b8267e54b67df6500f231ffa969955cc9d26b3444a291ced4eb96ca7d3ca1ea"
local bos, eos, add_bos, chat, chat_why = -1, -1, 0, "DF_CHAT_NONE", "no tokenizer_config.json"
if a.config and not unsupported then
  local cfg = decode_json(a.config)
  local function token_id(v, what)
    if isnull(v) then return -1 end
    local s = type(v) == "table" and v.content or v
    for _, t in ipairs(added) do
      if t.content == s then return t.id end
    end
    local id = model.vocab[s]
    if id then return int(id, what) end
    die(a.config .. ": " .. what .. " " .. tostring(s) .. " is not a token")
  end
  bos = token_id(cfg.bos_token, "bos_token")
  eos = token_id(cfg.eos_token, "eos_token")
  add_bos = (cfg.add_bos_token == true and bos >= 0) and 1 or 0
  if type(cfg.chat_template) ~= "string" then
    chat_why = "tokenizer_config.json has no chat_template"
  elseif sha256(cfg.chat_template) == V3_TEMPLATE_SHA256 then
    chat, chat_why = "DF_CHAT_DEEPSEEK_V3", nil
    if bos < 0 then chat, chat_why = "DF_CHAT_NONE", "the chat template needs a bos_token" end
  else
    chat_why = "its chat template is not DeepSeek-V3's (sha256 " .. sha256(cfg.chat_template) ..
      "); only that one is rendered"
  end
end

-- ---- C output ---------------------------------------------------------------------------
local out = {}
local function w(s) out[#out + 1] = s end

-- A C string literal, cut into lines; octal escapes (always 3 digits) for
-- everything but plain printable ASCII, and for '?' (no trigraphs).
local function cstring(s, indent)
  local lines, cur, width = {}, {}, 0
  for i = 1, #s do
    local c = s:byte(i)
    local e
    if c >= 0x20 and c < 0x7F and c ~= 0x22 and c ~= 0x5C and c ~= 0x3F then
      e = string.char(c)
    else
      e = string.format("\\%03o", c)
    end
    cur[#cur + 1] = e
    width = width + #e
    if width >= 96 then
      lines[#lines + 1] = indent .. '"' .. table.concat(cur) .. '"'
      cur, width = {}, 0
    end
  end
  if #cur > 0 or #lines == 0 then lines[#lines + 1] = indent .. '"' .. table.concat(cur) .. '"' end
  return table.concat(lines, "\n")
end

local function cstr_or_null(s)
  if s == nil then return "NULL" end
  return cstring(s, "")
end

local function ints(list, per_line)
  local lines = {}
  for i = 1, #list, per_line do
    lines[#lines + 1] = "    " .. table.concat(list, ",", i, math.min(i + per_line - 1, #list)) .. ","
  end
  return table.concat(lines, "\n")
end

w("/* Generated by gen/tokenizer.lua from " .. a.name .. " tokenizer.json")
if a.sha256 then w(" (sha256 " .. a.sha256 .. ")") end
w(". Do not edit. */\n")
w('#include <stddef.h>\n\n#include "tokenizer_data.h"\n\n')

if unsupported then
  io.stderr:write("gen/tokenizer: warning: " .. a.json .. ": " .. unsupported ..
    "; the binary will refuse to tokenize\n")
  w("const struct df_tokenizer_data df_tokenizer_data = {\n")
  w("    .name = " .. cstring(a.name, "") .. ",\n")
  w("    .json_sha256 = " .. cstr_or_null(a.sha256) .. ",\n")
  w("    .unsupported = " .. cstring(unsupported, "") .. ",\n")
  w("    .bos = -1, .eos = -1, .chat = DF_CHAT_NONE,\n")
  w("    .chat_unsupported = " .. cstring(unsupported, "") .. ",\n")
  w("};\n")
else
  local texts, offs, pos = {}, { 0 }, 0
  for id = 0, n_ids - 1 do
    local s = text_of[id] or ""
    texts[#texts + 1] = s
    pos = pos + #s
    offs[#offs + 1] = pos
  end
  w("static const char text[] =\n" .. cstring(table.concat(texts), "    ") .. ";\n\n")
  w(string.format("static const uint32_t offset[%d] = {\n", n_ids + 1))
  w(ints(offs, 16) .. "\n};\n\n")
  local flat = {}
  for _, m in ipairs(merges) do
    flat[#flat + 1] = m[1]; flat[#flat + 1] = m[2]; flat[#flat + 1] = m[3]
  end
  w(string.format("static const int32_t merges[%d] = {\n", math.max(#flat, 1)))
  w((#flat > 0 and ints(flat, 18) or "    0,") .. "\n};\n\n")
  local atext, apos = {}, 0
  w(string.format("static const struct df_added_token added[%d] = {\n", math.max(#added, 1)))
  for _, t in ipairs(added) do
    w(string.format("    { %d, %d, %d, %d, %d },\n", t.id, apos, #t.content, t.special, t.normalized))
    atext[#atext + 1] = t.content
    apos = apos + #t.content
  end
  if #added == 0 then w("    { 0, 0, 0, 0, 0 },\n") end
  w("};\n\n")
  w("static const char added_text[] =\n" .. cstring(table.concat(atext), "    ") .. ";\n\n")
  local bid = {}
  for b = 0, 255 do bid[b + 1] = byte_id[b] end
  w("const struct df_tokenizer_data df_tokenizer_data = {\n")
  w("    .name = " .. cstring(a.name, "") .. ",\n")
  w("    .json_sha256 = " .. cstr_or_null(a.sha256) .. ",\n")
  w("    .unsupported = NULL,\n")
  w(string.format("    .n_ids = %d,\n    .text = text,\n    .offset = offset,\n", n_ids))
  w("    .byte_id = {\n" .. ints(bid, 16) .. "\n    },\n")
  w(string.format("    .n_merges = %d,\n    .merges = merges,\n", #merges))
  w(string.format("    .n_added = %d,\n    .added = added,\n    .added_text = added_text,\n", #added))
  w(string.format("    .bos = %d, .eos = %d, .add_bos = %d,\n", bos, eos, add_bos))
  w("    .chat = " .. chat .. ",\n")
  w("    .chat_unsupported = " .. cstr_or_null(chat_why) .. ",\n")
  w("};\n")
end

local tmp = a.out .. ".tmp"
local f = assert(io.open(tmp, "wb"))
f:write(table.concat(out))
f:close()
assert(os.rename(tmp, a.out))
if not unsupported then
  io.stderr:write(string.format("gen/tokenizer: %s: %d ids, %d merges, %d added tokens, bos %d, eos %d, chat %s -> %s\n",
    a.name, n_ids, #merges, #added, bos, eos, chat == "DF_CHAT_NONE" and "no" or "DeepSeek-V3", a.out))
end
