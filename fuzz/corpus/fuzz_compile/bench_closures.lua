-- Closures and higher-order functions: map/filter/fold, composition,
-- counters kept in upvalues, closures created inside hot loops.
local n = tonumber(arg and arg[1]) or 40000

local function map(t, f)
  local r = {}
  for i = 1, #t do r[i] = f(t[i]) end
  return r
end
local function filter(t, p)
  local r, k = {}, 0
  for i = 1, #t do
    local v = t[i]
    if p(v) then k = k + 1; r[k] = v end
  end
  return r
end
local function fold(t, f, acc)
  for i = 1, #t do acc = f(acc, t[i]) end
  return acc
end
local function compose(f, g) return function(x) return f(g(x)) end end
local function adder(k) return function(x) return x + k end end
local function counter()
  local c = 0
  return function() c = c + 1; return c end, function() return c end
end

local base = {}
for i = 1, 100 do base[i] = i end

local total = 0
local tick, count = counter()
for round = 1, n do
  local add = adder(round % 10)
  local f = compose(add, function(x) tick(); return x * 2 end)
  local mapped = map(base, f)
  local kept = filter(mapped, function(v) return v % 3 ~= 0 end)
  total = (total + fold(kept, function(a, b) return a + b end, 0)) % 1000000007
end
print(string.format("closures %d: total %d calls %d", n, total, count()))
