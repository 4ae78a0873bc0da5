-- Slot hints (GETFIELD, SETFIELD, GETTABUP, SETTABUP, SELF remember the
-- node where their key constant was last found, state.hpp key_hint): one
-- function on tables of different shapes and sizes, tables that rehash or
-- are freed, keys set to nil with __index/__newindex, methods that move.
local function get(t) return t.x end
local function set(t, v) t.x = v end
local shapes = {
  {x = 1}, {a = 1, x = 2}, {x = 3, a = 1, b = 2, c = 3}, {}, {1, 2, x = 4},
  setmetatable({}, {__index = {x = 5}}), setmetatable({}, {__index = function(_, k) return k end}),
}
local out = {}
for round = 1, 3 do
  for j, t in ipairs(shapes) do out[#out + 1] = tostring(get(t)) end
end
print(table.concat(out, " "))
local big = {}
for j = 1, 300 do
  big["k" .. j] = j
  if j % 7 == 0 then set(big, j) end
  if j % 50 == 0 then print(j, get(big)) end
end
big.x = nil
setmetatable(big, {__index = function(_, k) return "index " .. k end,
  __newindex = function(t, k, v) rawset(t, k, v .. "!") end})
print(get(big))
set(big, "new")
print(get(big), rawget(big, "x"))
local sum = 0
for r = 1, 300 do
  local t = r % 3 == 0 and {a = 1, b = 2, x = r} or r % 3 == 1 and {x = r} or {r, r}
  sum = sum + (get(t) or 0)
  if r % 100 == 0 then collectgarbage() end
end
print(sum)
local Base = {} Base.__index = Base
function Base:m() return "base" end
local Class = setmetatable({}, Base) Class.__index = Class
function Class:m() return "class" end
local o = setmetatable({}, Class)
local res = {}
for step = 1, 4 do
  res[#res + 1] = o:m()
  if step == 1 then o.m = function() return "own" end
  elseif step == 2 then o.m = nil
  elseif step == 3 then Class.m = nil
  elseif step == 4 then Base.m = nil end
end
print(table.concat(res, " "), pcall(function() return o:m() end))
gx = 1
local function g() return gx end
local function sg(v) gx = v end
print(g())
for j = 1, 100 do _G["filler" .. j] = j; if j % 25 == 0 then sg(j) print(g()) end end
gx = nil
print(g())
