-- Short-lived coroutines: create, resume once to completion, discard.
local n = tonumber(arg and arg[1]) or 3000000

local sum = 0
local body = function(a, b) return a + b end
for i = 1, n do
  local co = coroutine.create(body)
  local _, r = coroutine.resume(co, i, 1)
  sum = (sum + r) % 1000000007
end
print(string.format("coroutine_create %d: sum %d", n, sum))
