-- Hot loops (compiled with -j on and -j stress) through what traces record
-- beyond numbers: closures of one prototype with their own upvalues, method
-- calls whose receiver and __index chain change mid-loop, an upvalue that
-- turns into a string, float keys normalised to integers, int/float
-- comparisons near 2^53 and 2^63, errors and tracebacks from an inlined
-- callee, and NaN signs and -0.0 as the oracle prints them.
local function mk(k) local n = 0 return function(d) n = n + d + k return n end end
local fs = {mk(1), mk(10), mk(100)}
local acc = 0
for i = 1, 300 do acc = acc + fs[i % 3 + 1](i) end
print(acc, fs[1](0), fs[2](0), fs[3](0))
local Obj = {} Obj.__index = Obj
function Obj:inc(d) self.v = self.v + d return self end
function Obj:get() return self.v end
local o = setmetatable({v = 0}, Obj)
local o2 = setmetatable({v = 0.5}, {__index = Obj})
for i = 1, 300 do
  local x = i % 50 == 0 and o2 or o
  x:inc(i % 3) acc = acc + x:get()
end
print(acc, o.v, o2.v)
local Base = {base = 3} Base.__index = Base function Base:who() return self.base end
local Mid = setmetatable({mid = 4}, Base) Mid.__index = Mid local leaf = setmetatable({}, Mid)
for i = 1, 300 do if i == 150 then Mid.mid = 2.5 end if i == 200 then Base.base = nil; Mid.base = 7 end if i == 250 then leaf.who = function() return -1 end end acc = acc + leaf.base + leaf.mid + leaf:who() end
print(acc)
local up = 0
local function bump(d) up = up + d return up end
for i = 1, 300 do if i == 299 then up = "3" end acc = acc + bump(i) end
print(acc, up)
local t = {}
for i = 1, 200 do t[i / 1] = i; t[i * 0.5] = -i end
local n, m = 0, 0 for k, v in pairs(t) do if math.type(k) == "integer" then n = n + 1 else m = m + 1 end end
print(n, m, t[3], t[1.5], #t)
local u = {}
for i = 1, 200 do local k = (i % 3 == 0) and -0.0 or 0.0 u[k] = (u[k] or 0) + 1 u[2^53] = i end
print(u[0], u[2^53], math.type(next({[2^53]=1})))
local s = 0
for i = 1, 200 do s = s + (t[i + 0.0] or 0) + (t[i + 0.5] or 0) end
print(s)
local big = 2^53
local c = 0
for i = 1, 200 do
  local x = math.maxinteger - i
  if x < big * 1024 then c = c + 1 end
  if x == 2^63 then c = c + 100 end
  if (x + 0.0) == 2^63 then c = c + 1000 end
end
print(c)
local function f(a, b) return a + b end
local ok, e = pcall(function() local r = 0 for i = 1, 200 do r = r + f(i, i < 150 and i or nil) end return r end)
print(ok, e)
local ok2, e2 = pcall(function() local r = 0 for i = 1, 200 do r = r + f(i) end return r end)
print(ok2, e2)
print(select(2, xpcall(function() local r = 0 for i = 1, 200 do r = r + f(i, i < 190 and i or {}) end return r end, debug.traceback)))
local z = 0
local r = {}
for i = 1, 100 do
  local a = z / z
  local b = -(z / z)
  local c = (i - i) / 0
  local d = math.huge - math.huge
  local e = 0.0 * math.huge
  r[1] = tostring(a) .. tostring(b) .. tostring(c) .. tostring(d) .. tostring(e)
end
print(r[1])
local acc = 0
for i = 1, 100 do acc = acc + (0/0) end
print(acc, -acc, string.format("%.3f %g", acc, -acc))
local t = 0.0
for i = 1, 100 do t = t - 0.0 * i end
print(t, -t, 1/t)
