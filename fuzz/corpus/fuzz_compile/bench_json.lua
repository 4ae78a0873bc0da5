-- JSON round trip: a small encoder and recursive-descent decoder in Lua,
-- over a generated document of nested objects, arrays, strings and numbers.
local n = tonumber(arg and arg[1]) or 4000
local fmt, byte, sub, concat = string.format, string.byte, string.sub, table.concat

local escapes = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\t'] = '\\t' }

local encode_value
local function encode_number(v, out)
  if v == math.floor(v) then out[#out + 1] = fmt("%d", v)
  else out[#out + 1] = fmt("%.14g", v) end
end
local function encode_string(s, out)
  out[#out + 1] = '"' .. s:gsub('[%c"\\]', escapes) .. '"'
end
function encode_value(v, out)
  local t = type(v)
  if t == "table" then
    if v[1] ~= nil or next(v) == nil then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encode_value(v[i], out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = k end
      table.sort(keys)
      out[#out + 1] = "{"
      for i = 1, #keys do
        if i > 1 then out[#out + 1] = "," end
        encode_string(keys[i], out)
        out[#out + 1] = ":"
        encode_value(v[keys[i]], out)
      end
      out[#out + 1] = "}"
    end
  elseif t == "string" then encode_string(v, out)
  elseif t == "number" then encode_number(v, out)
  elseif t == "boolean" then out[#out + 1] = v and "true" or "false"
  else out[#out + 1] = "null" end
end
local function encode(v)
  local out = {}
  encode_value(v, out)
  return concat(out)
end

local unescapes = { n = "\n", t = "\t", ['"'] = '"', ['\\'] = "\\" }
local decode_value
local function skip(s, i)
  return s:find("[^ \n\t]", i) or i
end
local function decode_string(s, i)
  local parts, start = {}, i + 1
  while true do
    local j = s:find('["\\]', start)
    if byte(s, j) == 34 then
      parts[#parts + 1] = sub(s, start, j - 1)
      return concat(parts), j + 1
    end
    parts[#parts + 1] = sub(s, start, j - 1)
    parts[#parts + 1] = unescapes[sub(s, j + 1, j + 1)]
    start = j + 2
  end
end
function decode_value(s, i)
  i = skip(s, i)
  local c = byte(s, i)
  if c == 123 then  -- {
    local obj = {}
    i = skip(s, i + 1)
    if byte(s, i) == 125 then return obj, i + 1 end
    while true do
      local k
      k, i = decode_string(s, skip(s, i))
      i = skip(s, i) + 1  -- ':'
      obj[k], i = decode_value(s, i)
      i = skip(s, i)
      if byte(s, i) == 125 then return obj, i + 1 end
      i = i + 1  -- ','
    end
  elseif c == 91 then  -- [
    local arr, k = {}, 0
    i = skip(s, i + 1)
    if byte(s, i) == 93 then return arr, i + 1 end
    while true do
      k = k + 1
      arr[k], i = decode_value(s, i)
      i = skip(s, i)
      if byte(s, i) == 93 then return arr, i + 1 end
      i = i + 1
    end
  elseif c == 34 then return decode_string(s, i)
  elseif c == 116 then return true, i + 4
  elseif c == 102 then return false, i + 5
  elseif c == 110 then return nil, i + 4
  end
  local a, b = s:find("^-?[%d.eE+-]+", i)
  return tonumber(sub(s, a, b)), b + 1
end
local function decode(s) return (decode_value(s, 1)) end

local function make_doc(size)
  local items = {}
  for i = 1, size do
    items[i] = {
      id = i,
      name = "item \"" .. i .. "\"\tname",
      price = (i % 997) / 4,
      tags = { "t" .. (i % 5), "t" .. (i % 7), "line\n" .. (i % 3) },
      active = i % 2 == 0,
      dims = { w = i % 10, h = (i * 3) % 11, d = { i, i + 1, i + 2 } },
    }
  end
  return { version = 3, title = "bench", items = items }
end

local doc = make_doc(n)
local total, check = 0, 0
for _ = 1, 3 do
  local text = encode(doc)
  local back = decode(text)
  local again = encode(back)
  if again ~= text then error("round trip mismatch") end
  total = total + #text
  local items = back.items
  for i = 1, #items do
    local it = items[i]
    check = (check + it.id + it.dims.d[3] + #it.name + #it.tags[3] + it.price * 4) % 1000000007
  end
  doc = back
end
print(string.format("json %d: bytes %d check %d", n, total, check))
