-- Native calls from Lua, resume/yield, pcall and error messages (the paths
-- issue 12's call work changed): results adjusted to what the caller wants,
-- yields returning into a CALL or from inside a metamethod, pcall's true
-- and false placed below their values, messages longer than 200 bytes.
local function show(...) print(select('#', ...), ...) end

-- native callees wanting 0, 1, 2 and all results
local t = {}
show(select(2, "a", "b", "c"))
local a, b, c = string.byte("xyz", 1, 3); show(a, b, c)
local x = math.max(3, 9, 4); show(x)
string.format("%d", 1)
show(table.unpack({1, 2, 3}))
show((table.unpack({1, 2, 3})))
show(rawlen({1, 2}), rawequal(t, t), rawget(t, 1))

-- pcall with no, one and many arguments; errors with and without position
show(pcall(function(...) return select('#', ...), ... end))
show(pcall(function(...) return select('#', ...), ... end, 1, nil, 3, nil))
show(pcall(error))
show(pcall(error, nil))
show(pcall(error, "plain", 0))
show(pcall(error, "at level 1"))
show(pcall(error, "at level 2", 2))
show(type(select(2, pcall(error, {code = 7}))))
show(pcall(pcall))
show(pcall(pcall, error, "nested"))
show(xpcall(function(a, b) return a + b end, print, 1, 2))
show(xpcall(function() error("x") end, function(m) return "handled: " .. m end))
show(pcall(function() local s = ("long"):rep(80); error(s) end))
show(pcall(function() local s = ("q"):rep(300); return nil + s end))
local longname = ("v"):rep(250)
show(pcall(load("local t = {} return t." .. longname .. ".y")))
show(pcall(load(longname .. "()")))
show(pcall(string.rep))
show(pcall(setmetatable, 1, 2))
for i = 1, 3 do
  local ok, e = pcall(function() error("bad " .. i) end)
  show(ok, e)
end

-- coroutines: values in and out, wrap, dead and running coroutines
local co = coroutine.create(function(p, q)
  show("start", p, q)
  local r1, r2, r3 = coroutine.yield(p + q, "two")
  show("got", r1, r2, r3)
  local r = coroutine.yield()
  show("got", r)
  return "done", r
end)
show(coroutine.resume(co, 1, 2))
show(coroutine.resume(co, "a", nil, "c"))
show(coroutine.resume(co))
show(coroutine.resume(co, 9))
show(coroutine.status(co))
show(coroutine.resume(co))
show(coroutine.resume(coroutine.running()))
local gen = coroutine.wrap(function(n)
  for i = 1, n do n = coroutine.yield(i, i * 2) or n end
  return "end"
end)
show(gen(3)); show(gen()); show(gen(5)); show(gen())
show(pcall(gen))
local w = coroutine.wrap(function() error("inside") end)
show(pcall(w))
local w2 = coroutine.wrap(function() error({code = 3}) end)
show(select(2, pcall(w2)).code)
show(coroutine.isyieldable(), coroutine.resume(coroutine.create(coroutine.isyieldable)))

-- yields from inside metamethods and iterators go back into their instruction
local mt = {
  __add = function(p, q) return coroutine.yield("add") end,
  __index = function(_, k) return coroutine.yield("index " .. k) end,
  __lt = function(p, q) return coroutine.yield("lt") end,
  __concat = function(p, q) return coroutine.yield("concat") end,
  __eq = function(p, q) return coroutine.yield("eq") end,
}
local o1, o2 = setmetatable({}, mt), setmetatable({}, mt)
local mco = coroutine.wrap(function()
  local s = o1 + 1
  local f = o1.field
  local lt = o1 < o2
  local cat = "x" .. o1 .. "y"
  local eq = o1 == o2
  return s, f, lt, cat, eq
end)
show(mco()); show(mco(10)); show(mco("F")); show(mco(false)); show(mco("C")); show(mco(true))
local iter = coroutine.wrap(function()
  for k, v in function(_, i) i = (i or 0) + 1; if i <= 3 then return i, coroutine.yield(i) end end do
    show("loop", k, v)
  end
  return "iter done"
end)
show(iter()); show(iter("a")); show(iter("b")); show(iter("c"))

-- yields across pcall inside a coroutine, errors caught there
local pc = coroutine.wrap(function()
  local ok, v = pcall(function()
    local got = coroutine.yield("in pcall")
    error("after " .. got)
  end)
  show("pcall in co", ok, v)
  return coroutine.yield("again")
end)
show(pc()); show(pc("resume")); show(pc("last"))

-- many short-lived coroutines (released stacks and frames are reused)
local sum = 0
for i = 1, 200 do
  local c2 = coroutine.create(function(p, q) return p + q end)
  local _, r = coroutine.resume(c2, i, 1)
  sum = sum + r
  if i % 50 == 0 then show(coroutine.status(c2), coroutine.resume(c2)) end
end
show(sum)
