-- String building: table.concat of many pieces, plus short `..` chains.
local n = tonumber(arg and arg[1]) or 100000

local total, mix = 0, 0
for round = 1, 5 do
  local parts = {}
  for i = 1, n do parts[#parts + 1] = "item" .. i .. ":" .. (i % 7) end
  local joined = table.concat(parts, ",")
  total = total + #joined
  mix = (mix * 31 + joined:byte(#joined - round)) % 1000000007

  local pieces = {}
  for i = 1, math.floor(n / 10) do
    local line = ""
    for k = 1, 8 do line = line .. string.char(97 + (i + k) % 26) end
    pieces[i] = line
  end
  local block = table.concat(pieces)
  total = total + #block
  mix = (mix * 31 + block:byte((round * 7) % #block + 1)) % 1000000007
end
print(string.format("string concat %d: length %d mix %d", n, total, mix))
