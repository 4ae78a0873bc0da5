-- Equality of two registers (OP_EQ) and t[k] with a register key
-- (GETTABLE/SETTABLE): same-tag values, floats, short strings and
-- different types are decided in the dispatcher (execute.cpp); tables and
-- userdata with __eq, long strings, mixed numbers and the rest by vm_equal.
local log = {}
local mt = {__eq = function(a, b) log[#log + 1] = "eq"; return rawequal(a.id, b.id) end}
local t1, t2 = setmetatable({id = 1}, mt), setmetatable({id = 1}, mt)
local t3 = setmetatable({id = 3}, mt)
local plain1, plain2 = {}, {}
local long1, long2 = string.rep("ab", 30), string.rep("a", 1) .. string.rep("ba", 29) .. "b"
local values = {nil, false, true, 0, 0.0, -0.0, 1, 1.0, 2^53, 2^53 + 1, math.mininteger, math.maxinteger,
  0/0, 1/0, -1/0, "", "a", "b", "1", long1, long2, t1, t2, t3, plain1, plain2, print, print,
  coroutine.running(), io.stdout}
local n = 30
for i = 1, n do
  local a = values[i]
  local row = {}
  for j = 1, n do
    local b = values[j]
    row[#row + 1] = (a == b) and "1" or "0"
    row[#row + 1] = (a ~= b) and "1" or "0"
  end
  print(i, table.concat(row))
end
print("eq calls", #log)
local nan = 0/0
local x = nan
print(x == nan, x ~= nan, nan == nan)
-- __eq results are converted to booleans; a missing __eq in one operand.
local weird = setmetatable({}, {__eq = function() return "yes" end})
print(weird == setmetatable({}, getmetatable(weird)), weird == {}, {} == weird)

-- String keys through registers: present, absent, __index and __newindex.
local words = {"ka", "lo", "mi", "kalo", long1, "", "n"}
local counts = {}
for round = 1, 3 do
  for _, w in ipairs(words) do
    local c = counts[w]
    if c then counts[w] = c + 1 else counts[w] = 1 end
  end
end
for _, w in ipairs(words) do io.write(#w, "=", counts[w], " ") end
print()
local seen = {}
local proxy = setmetatable({}, {__index = function(_, k) return "idx:" .. tostring(k) end,
  __newindex = function(t, k, v) seen[#seen + 1] = k; rawset(t, k, v) end})
local key = "field"
print(proxy[key], proxy["n"], proxy[1], proxy[1.5])
proxy[key] = 10
proxy[key] = 11
print(proxy[key], #seen, seen[1])
print(pcall(function() local s = "abc"; local k = "len"; return s[k](s) end))
print(pcall(function() local v = nil; local k = "x"; return v[k] end))
print(pcall(function() local v = 5; local k = "x"; v[k] = 1 end))

-- Integer % and // (inline in the dispatcher) at their edges.
local ints = {7, -7, 3, -3, 1, -1, 0, math.maxinteger, math.mininteger, 2147483647, 16807}
for _, a in ipairs(ints) do
  local row = {}
  for _, b in ipairs(ints) do
    if b ~= 0 then row[#row + 1] = (a % b) .. "," .. (a // b) end
  end
  print(a, table.concat(row, " "))
end
print(pcall(function() local a, b = 1, 0; return a % b end))
print(pcall(function() local a, b = 1, 0; return a // b end))
print(5 % -0.0 ~= 5 % -0.0, 5.5 % 2, -5.5 % 2, 5 % math.huge, -5 % math.huge)

-- Order of two registers (LT/LE): two floats are compared in the
-- dispatcher, mixed numbers through the exact conversions.
local nums = {0.0, -0.0, 1.5, -1.5, 0/0, 1/0, -1/0, 2^53, 2^63, -2^63, 1, -1, math.maxinteger, math.mininteger}
for _, a in ipairs(nums) do
  local row = {}
  for _, b in ipairs(nums) do
    row[#row + 1] = ((a < b) and "1" or "0") .. ((a <= b) and "1" or "0") .. ((a > b) and "1" or "0") .. ((a >= b) and "1" or "0")
  end
  print(a, table.concat(row, " "))
end
