-- Coroutines: a generator pipeline (producer -> filter -> mapper) driven by
-- resume/yield, plus many short-lived coroutines.
local n = tonumber(arg and arg[1]) or 2000000

local function producer(limit)
  return coroutine.wrap(function()
    for i = 1, limit do coroutine.yield(i) end
    return nil
  end)
end
local function keep(src, pred)
  return coroutine.wrap(function()
    while true do
      local v = src()
      if v == nil then return nil end
      if pred(v) then coroutine.yield(v) end
    end
  end)
end
local function mapper(src, f)
  return coroutine.wrap(function()
    while true do
      local v = src()
      if v == nil then return nil end
      coroutine.yield(f(v))
    end
  end)
end

local sum, count = 0, 0
for v in mapper(keep(producer(n), function(x) return x % 3 ~= 0 end), function(x) return x * 2 end) do
  sum = (sum + v) % 1000000007
  count = count + 1
end

local created = 0
for i = 1, math.floor(n / 10) do
  local co = coroutine.create(function(a, b)
    local c = coroutine.yield(a + b)
    return c * 2
  end)
  local _, x = coroutine.resume(co, i, 1)
  local _, y = coroutine.resume(co, x)
  created = (created + y) % 1000000007
end
print(string.format("coroutines %d: sum %d count %d created %d", n, sum, count, created))
