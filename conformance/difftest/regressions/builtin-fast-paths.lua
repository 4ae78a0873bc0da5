-- The inline paths of math.floor/abs/max, string.byte/sub, select, type, ipairs
-- and # (fastcall.cpp, vm.cpp): usual and unusual arguments, error messages.
local function show(...) local t = table.pack(...) local o = {} for i = 1, t.n do o[#o+1] = string.format("%s:%s", math.type(t[i]) or type(t[i]), tostring(t[i])) end print(t.n, table.concat(o, " ")) end
show(math.floor(3.7), math.floor(-3.5), math.floor(2^70), math.floor(-2^63), math.floor(0/0), math.floor(-0.0), math.floor(5), math.floor("4.5"))
show(math.abs(math.mininteger), math.abs(-3), math.abs(-2.5), math.abs(-0.0), math.abs("-3"))
show(math.max(1, 5, 3), math.max(1.5, -2.5), math.max(2, 2.5), math.max(3), math.max(0/0, 1), math.max(1, 0/0), math.max(-0.0, 0.0))
local s = "hello"
show(s:byte(), s:byte(2), s:byte(-1), s:byte(1, -1), s:byte(10), s:byte(0), s:byte(3, 2), s:byte(-10, 2), ("x"):byte(nil), s:byte(2, nil), s:byte(1, 20))
show(s:sub(2), s:sub(2, 3), s:sub(-3), s:sub(0), s:sub(4, 2), s:sub(-100, 100), s:sub(3, -2), s:sub(6), s:sub(2, nil), string.sub(12345, 2, 3), s:sub(2.0, 3))
show(select("#"), select("#", 1, nil, 3), select(2, "a", "b", "c"), select(-1, "a", "b", "c"), select(5, 1, 2), select("#x", 1))
local x, y = select(2, "a", "b", "c") show(x, y)
show(type(nil), type(1), type("a"), type({}), type(print), type(show), type(io.stdout), type(coroutine.create(print)), type(true))
local t = {1, 2, nil, 4}
for i, v in ipairs(t) do show(i, v) end
local p = setmetatable({}, {__index = function(_, k) if k < 4 then return k * 10 end end})
for i, v in ipairs(p) do show(i, v) end
for i in ipairs({7, 8}) do show(i) end
local h = {[1] = "a", [2] = "b"} for i, v in ipairs(h) do show(i, v) end
local f0, t0, z0 = ipairs({}) show(type(f0), type(t0), z0, f0 == ipairs({1}))
for _, f in ipairs({function() return math.floor() end, function() return math.floor({}) end, function() return math.abs() end,
  function() return math.max() end, function() return math.max(1, "x") end, function() return ("x"):byte({}) end,
  function() return ("x"):sub() end, function() return ("x"):sub(1, {}) end, function() return select(0, 1) end,
  function() return select(-5, 1) end, function() return type() end, function() return ipairs() end, function() return select({}) end,
  function() return string.byte(nil) end, function() return math.floor("a") end, function() return s:sub(1.5) end}) do
  show(pcall(f))
end
local mt = setmetatable({}, {__len = function() return 42 end}) show(#mt, #mt)
local nm = setmetatable({1, 2, 3}, {}) show(#nm, #nm)
local lm = setmetatable({1}, {}) show(#lm) getmetatable(lm).__len = function() return 9 end show(#lm)
