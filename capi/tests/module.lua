-- Requires the test module vec (capi/tests/vec.c) and prints what it does;
-- run by luna and by lua5.4, the two outputs must be equal.
local vec = require "vec"

local a, b = vec.new(1, 2, 3), vec.new(10, 20, 30)
print(tostring(a + b), #a, a[2], (a + b)[3])
print(pcall(function() return a + vec.new(1) end))
print(pcall(vec.new))
print(pcall(function() return a[7] end))
print(select(2, pcall(vec.add or a.__add, a, {})))
vec.tag(a, "tagged")
print(vec.tag(a), vec.tag(b))

local c = vec.counter(5)
print(c(), c(), c())

local s = vec.rep("abc", 1000, "-")
print(#s, s:sub(1, 11), s:sub(-7))

-- errors raised in C, caught by a Lua pcall
print(pcall(vec.fail, "boom"))
-- a Lua error crossing the C frame of vec.call
print(pcall(vec.call, function(x) error("lua error " .. x) end, 42))
print(select(2, pcall(vec.call, function(x) error({code = x}) end, 7)).code)
print(vec.call(function(...) return select("#", ...), ... end, 1, nil, 3))
-- a C pcall catching a Lua error and a C error
print(vec.pcall(function() error("inner", 0) end))
print(vec.pcall(vec.fail, "from C"))
print(vec.pcall(function(x, y) return x + y end, 1, 2))
-- nested: Lua -> C -> Lua -> C error
print(pcall(vec.call, vec.call, vec.fail, "deep"))

-- yields from C with continuations
local co = coroutine.wrap(vec.gen)
local got = {}
for i = 1, 5 do got[i] = tostring(co(i == 1 and 4 or nil)) end
print(table.concat(got, " "))

-- lua_callk: the mapped function yields
local mapper = coroutine.wrap(function(...)
  return "results", vec.map(function(x) return coroutine.yield(x) * 10 end, ...)
end)
print(mapper(1, 2, 3))
print(mapper(100))
print(mapper(200))
print(mapper(300))
print("continuation status", vec.kstatus())
-- lua_pcallk: without a yield its status comes back directly; after a
-- yield the continuation gets LUA_YIELD, or the error's status
print(vec.pcallk(function(a) return a + 1 end, 1), vec.kstatus())
local pk = coroutine.wrap(function()
  return vec.pcallk(function(x) local y = coroutine.yield(x) return y * 2 end, 5)
end)
print(pk())
print(pk(21))
print("continuation status", vec.kstatus())
pk = coroutine.wrap(function()
  return vec.pcallk(function() coroutine.yield("paused") error("after yield", 0) end)
end)
print(pk())
print(pk())
print("continuation status", vec.kstatus())
-- lua_call (no continuation): a yield inside is an error
print(coroutine.wrap(function()
  return pcall(vec.call, coroutine.yield, 1)
end)())

-- the loaded library
print(package.loaded.vec == vec, type(package.searchers[3]))
print(package.loadlib(package.searchpath("vec", package.cpath), "luaopen_vec") ~= nil)
print(select(3, package.loadlib(package.searchpath("vec", package.cpath), "luaopen_nothing")))
