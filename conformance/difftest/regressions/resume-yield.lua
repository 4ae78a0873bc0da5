-- Resume and yield (issue 12, resume12): a fresh state's resumes catch with
-- a plain try block until one catches a thrown error or yield, so the first
-- error and the first yield from inside a native below come first here.
local function show(...) print(select('#', ...), ...) end

-- the state's first caught throw: an error inside a coroutine
local co = coroutine.create(function(a) local x = a + 1; error("boom " .. x) end)
show(coroutine.resume(co, 1))
show(coroutine.status(co), coroutine.resume(co))
print(debug.traceback(co))
print(debug.traceback(co, "msg", 1))
show(coroutine.close(co))

-- errors with non-string objects, through resume and wrap
co = coroutine.create(function() error({code = 7}) end)
local ok, e = coroutine.resume(co)
show(ok, type(e), e.code)
local w = coroutine.wrap(function() error("in wrap") end)
show(pcall(w))
w = coroutine.wrap(function() error(setmetatable({}, {__tostring = function() return "obj" end})) end)
ok, e = pcall(w)
show(ok, tostring(e))
w = coroutine.wrap(function() return 1 end)
show(w())
show(pcall(w))

-- yields from inside natives (they jump): pcall, metamethods, iterators
co = coroutine.wrap(function(...)
  show("start", ...)
  show("pcall", pcall(coroutine.yield, "p1"))
  show("pcall2", pcall(function(x) return coroutine.yield(x) + 1 end, "p2"))
  local t = setmetatable({}, {__index = function(_, k) return coroutine.yield("index " .. k) end,
                              __add = function(a, b) return coroutine.yield("add") end,
                              __lt = function() return coroutine.yield("lt") end,
                              __concat = function() return coroutine.yield("concat") end})
  show("index", t.key)
  show("add", t + 1)
  show("lt", t < t)
  show("concat", t .. "x")
  local s = 0
  for v in coroutine.yield, "iter" do s = s + v end
  show("sum", s)
  show("sort", pcall(table.sort, {3, 2, 1}, function(a, b) return coroutine.yield(a < b) end))
  return "done"
end)
show(co("a", "b"))
show(co(1))
show(co(2))
show(co("v"))
show(co(10))
show(co(false))
show(co("c"))
show(co(5))
show(co(6))
show(co(nil))

-- values each way: 0 to 3 of them, and the body's results
co = coroutine.create(function(...)
  local n = select("#", ...)
  while n < 10 do
    local a, b, c = coroutine.yield(n, ...)
    n = n + 1
    show("got", a, b, c)
  end
  return "end", n
end)
for i = 0, 3 do show(coroutine.resume(co, table.unpack({"x", "y", "z"}, 1, i))) end
local one = coroutine.wrap(function() while true do local v = coroutine.yield() print("one", v) end end)
one(); one(); one(1); one(2, 3)
local deep = coroutine.wrap(function(n)
  local function down(k) if k == 0 then return coroutine.yield("bottom") end return down(k - 1) .. k end
  return down(n)
end)
show(deep(5))
show(deep("<"))

-- statuses, running, isyieldable, refusals
local main, ismain = coroutine.running()
show(type(main), ismain, coroutine.isyieldable())
local outer
outer = coroutine.create(function()
  local inner = coroutine.create(function()
    show("inner sees outer", coroutine.status(outer))
    show(coroutine.resume(outer))
    coroutine.yield()
  end)
  show("outer sees itself", coroutine.status(outer), coroutine.isyieldable())
  show(coroutine.resume(inner))
  show(coroutine.resume(coroutine.running()))
  show("inner", coroutine.status(inner))
  return "outer done"
end)
show(coroutine.status(outer))
show(coroutine.resume(outer))
show(coroutine.status(outer), coroutine.resume(outer))
show(pcall(coroutine.resume, 1))
show(pcall(coroutine.wrap, 1))
show(pcall(coroutine.yield, 1))
show(coroutine.isyieldable(outer))

-- to-be-closed variables: on return, on error, on close of a suspended one
co = coroutine.create(function()
  local a <close> = setmetatable({}, {__close = function(_, err) print("close a", err) end})
  local b <close> = setmetatable({}, {__close = function(_, err) print("close b", err) end})
  coroutine.yield("holding")
  error("after")
end)
show(coroutine.resume(co))
show(coroutine.resume(co))
co = coroutine.create(function()
  local a <close> = setmetatable({}, {__close = function() print("closing a") end})
  local b <close> = setmetatable({}, {__close = function() error("close fails", 0) end})
  coroutine.yield(1)
end)
show(coroutine.resume(co))
show(coroutine.close(co))
show(coroutine.status(co), coroutine.resume(co))
co = coroutine.wrap(function()
  local x <close> = setmetatable({}, {__close = function() print("closed x") end})
  local v = coroutine.yield(1)
  return v * 2
end)
show(co())
show(co(21))

-- many short-lived coroutines between collections
local sum = 0
for i = 1, 3000 do
  local c = coroutine.create(function(a, b) local v = coroutine.yield(a + b) return v * 2 end)
  local _, x = coroutine.resume(c, i, 1)
  local _, y = coroutine.resume(c, x)
  sum = (sum + y) % 1000003
  if i % 1000 == 0 then collectgarbage() end
end
show(sum)
local gen = 0
for i = 1, 2000 do
  local f = coroutine.wrap(function(n) for k = 1, n do coroutine.yield(k) end end)
  gen = gen + f(i % 7 + 1) + (f() or 0)
end
show(gen, collectgarbage("count") > 0)

-- arguments read off the frame: the same messages as through the API
for _, f in ipairs{function() return coroutine.create() end, function() return coroutine.create(1) end,
  function() return coroutine.wrap({}) end, function() return coroutine.resume() end,
  function() return coroutine.resume(nil) end, function() return coroutine.resume(print) end,
  function() return coroutine.status(1) end, function() return coroutine.close() end,
  function() return coroutine.isyieldable(1) end, function() return coroutine.create(print, 1) ~= nil end} do
  show(pcall(f))
end
