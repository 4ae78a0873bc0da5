-- Dense matrix multiply: nested float loops over rows stored as tables.
local n = tonumber(arg and arg[1]) or 250

local function matgen(size, seed)
  local m = {}
  for i = 1, size do
    local row = {}
    for j = 1, size do row[j] = ((i * 31 + j * 17 + seed) % 97) / 7 end
    m[i] = row
  end
  return m
end

local function matmul(a, b, size)
  local c = {}
  for i = 1, size do
    local ai, ci = a[i], {}
    for j = 1, size do
      local s = 0.0
      for k = 1, size do s = s + ai[k] * b[k][j] end
      ci[j] = s
    end
    c[i] = ci
  end
  return c
end

local a, b = matgen(n, 1), matgen(n, 2)
local c = matmul(a, b, n)
c = matmul(c, a, n)
local trace, sum = 0.0, 0.0
for i = 1, n do
  trace = trace + c[i][i]
  for j = 1, n do sum = sum + c[i][j] end
end
print(string.format("matrix %d: trace %.6f sum %.6f", n, trace, sum))
