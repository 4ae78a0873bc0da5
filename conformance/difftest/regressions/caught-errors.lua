-- Caught errors (errors12): the position error() adds at each level, from
-- chunks of every kind of name, messages short and long, error objects of
-- every type, to-be-closed variables and upvalues closed by the unwinding,
-- message handlers, and errors caught inside coroutines.
local function show(...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = type(t[i]) == "string" and ("%q"):format(t[i]) or tostring(t[i]) end
  print(table.concat(t, " "))
end

-- Levels: 1 (the caller of error), 2 and 3 up, 0 (none), beyond the stack,
-- and huge or negative ones.
local function lvl(n, msg) error(msg or "m", n) end
local function mid(n, msg) lvl(n, msg) end
for _, n in ipairs({1, 2, 3, 4, 0, 50, -1, math.maxinteger, math.mininteger}) do
  show(n, pcall(mid, n))
end
show(pcall(error))
show(pcall(error, nil))
show(pcall(error, "x", 1.0))
show(pcall(error, "direct"))       -- level 1 is pcall itself: a native frame
show(pcall(error, "two", 2))       -- the main chunk
show(select("#", pcall(error)))

-- Messages: empty, exactly around the short-string limit, long, embedded
-- zeros, numbers (no position: only strings get one).
for _, len in ipairs({0, 1, 10, 20, 21, 22, 30, 39, 40, 41, 60, 200, 5000}) do
  local ok, e = pcall(lvl, 1, ("x"):rep(len))
  show(len, ok, #e, e:sub(1, 30), e:sub(-3))
end
show(pcall(lvl, 1, "a\0b"))
show(pcall(lvl, 1, 42))
show(pcall(lvl, 1, 4.5))
show(pcall(lvl, 1, true))
local tv = {}
show(select(2, pcall(lvl, 1, tv)) == tv)
local mt = setmetatable({}, {__tostring = function() return "custom" end})
show(select(2, pcall(lvl, 1, mt)) == mt)
-- A message the same as one just built: the interned result is shared.
local a1 = select(2, pcall(lvl, 1, "same"))
local a2 = select(2, pcall(lvl, 1, "same"))
show(a1 == a2, a1)

-- Chunk names: literal (=), file (@, short and truncated), source text
-- (one line, several lines, long), and a stripped chunk (no lines).
local names = {
  "=literal", "=" .. ("L"):rep(80), "@file.lua", "@" .. ("d/"):rep(40) .. "f.lua",
  "return 1", "error'in source'\nsecond line", ("s"):rep(100),
}
for _, name in ipairs(names) do
  local f = load("local x = ...\nerror('from chunk ' .. x)", name)
  show(pcall(f, name:sub(1, 5)))
  f = load("local x = ...\nerror('lvl2 ' .. x, 2)", name)
  show(pcall(f, "y"))
end
local stripped = load(string.dump(load("error('stripped')\n", "=s"), true))
show(pcall(stripped))
local dumped = load(string.dump(load("error('kept')\n", "@kept.lua")))
show(pcall(dumped))

-- Runtime errors (not error()) keep their own positions.
show(pcall(function() local t = nil; return t.x end))
show(pcall(function() return 1 + {} end))
show(pcall(string.rep))
show(pcall(string.rep, "x", -1, {}))

-- Upvalues are closed by the unwinding; to-be-closed variables get the error.
local getter
local function with_upvalue()
  local v = "open"
  getter = function() return v end
  v = "closed value"
  error("after upvalue")
end
show(pcall(with_upvalue))
show(getter())
local log = {}
local function closer(name)
  return setmetatable({}, {__close = function(_, e) log[#log + 1] = name .. ":" .. tostring(e) end})
end
local function with_tbc()
  local a <close> = closer("a")
  local b <close> = closer("b")
  error("tbc error")
end
show(pcall(with_tbc))
show(table.concat(log, " | "))
log = {}
local function tbc_raises()
  local a <close> = closer("outer")
  local b <close> = setmetatable({}, {__close = function(_, e) error("close raised (" .. tostring(e) .. ")") end})
  error("first")
end
show(pcall(tbc_raises))
show(table.concat(log, " | "))
-- A to-be-closed variable below the pcall is not closed by it.
do
  log = {}
  local outer <close> = closer("below")
  show(pcall(lvl, 1, "inner"))
  show(#log)
end
show(table.concat(log, " | "))

-- Message handlers: traceback, a handler that changes the object, one that
-- errors (error in error handling), and nested pcalls.
show(xpcall(lvl, function(m) return "handled: " .. tostring(m) end, 1, "hm"))
local ok, tb = xpcall(mid, debug.traceback, 1, "tb")
show(ok, (tb:gsub("\n.*", "")))
show(select(2, tb:gsub("\n", "\n")) > 2)
show(xpcall(lvl, function(m) error("handler failed") end, 1, "x"))
show(xpcall(lvl, function(m) return m, 2 end, 1, "one result"))
show(pcall(pcall, lvl, 1, "nested"))
show(pcall(pcall))
show(xpcall(pcall, print, lvl, 1, "inner caught"))
show(pcall(xpcall, lvl, nil, 1, "no handler"))

-- Deep recursion caught, then a loop of caught errors at several depths.
local function deep(n) if n == 0 then error("bottom") end return deep(n - 1) + 1 end
show(pcall(deep, 10000))
local function rec() return rec() + 1 end
local okr, er = pcall(rec)
show(okr, er)
local function cstack(n) return pcall(cstack, n + 1) end
show(cstack(1))
local total = 0
for i = 1, 300 do
  local okd, ed = pcall(deep, i % 37)
  total = total + #ed
end
show(total)

-- Inside coroutines: caught in the coroutine, across yields, and uncaught.
local co = coroutine.wrap(function(x)
  local okc, ec = pcall(lvl, 1, "in co " .. x)
  x = coroutine.yield(okc, ec)
  okc, ec = pcall(function() coroutine.yield("yield in pcall") error("after yield " .. x) end)
  coroutine.yield(okc, ec)
  error({code = x})
end)
show(co("a"))
show(co("b"))
show(co())
local okw, ew = pcall(co)
show(okw, type(ew) == "table" and ew.code)
local th = coroutine.create(function() error("uncaught in co") end)
show(coroutine.resume(th))
show(coroutine.status(th))
th = coroutine.create(function() local x <close> = closer("co tbc"); error("co with tbc") end)
log = {}
show(coroutine.resume(th))
show(table.concat(log, " | "))
show(coroutine.close(th))
