local function deep(n) if n == 0 then return coroutine.yield(1) end return deep(n - 1) + 1 end
local co = coroutine.create(deep)
print(coroutine.resume(co, 150))
print(coroutine.resume(co, 1))
local c = coroutine.wrap(function() local t = setmetatable({}, {__index = function(t, k) return coroutine.yield(k) end}) return t.x end)
print(c(), c(7))
local nest
nest = function(n) if n == 0 then return 0 end return coroutine.wrap(nest)(n - 1) + 1 end
print(pcall(nest, 300))
