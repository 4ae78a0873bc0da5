-- Pattern matching: gsub, find and gmatch over generated text.
local n = tonumber(arg and arg[1]) or 15000

local words = { "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
                "iota", "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi" }
local seed = 42
local function rand(k)
  seed = (seed * 16807) % 2147483647
  return seed % k + 1
end

local lines = {}
for i = 1, n do
  local line = {}
  for j = 1, 12 do line[j] = words[rand(#words)] end
  lines[i] = table.concat(line, " ") .. " " .. i .. " key=" .. rand(1000) .. ";"
end

local found, replaced, matched, digits = 0, 0, 0, 0
for pass = 1, 3 do
  for i = 1, n do
    local line = lines[i]
    local s, c = line:gsub("(%a+)a%s", "%1A ")
    replaced = replaced + c + #s
    local _, k = line:gsub("%d", "")
    digits = digits + k
    local p = line:find("gamma", 1, true)
    if p then found = found + p end
    local a, b, v = line:find("key=(%d+);")
    if a then found = found + b - a + tonumber(v) end
    for w in line:gmatch("%a+") do matched = matched + #w end
    for x, y in line:gmatch("(%a)(%a)%s") do
      if x == y then matched = matched + pass end
    end
  end
end
print(string.format("string patterns %d: found %d replaced %d matched %d digits %d",
  n, found, replaced, matched, digits))
