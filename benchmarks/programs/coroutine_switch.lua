-- One coroutine, many resume/yield pairs carrying a value each way.
local n = tonumber(arg and arg[1]) or 5000000

local co = coroutine.wrap(function(x)
  while true do x = coroutine.yield(x * 2 % 1000003) end
end)
local acc = 1
for _ = 1, n do acc = co(acc + 1) end
print(string.format("coroutine_switch %d: acc %d", n, acc))
