-- A numeral first in + and * (1 + x, 2.0 * x) compiles to ADDI/ADDK/MULK
-- with the k bit (codegen.cpp code_arith): metamethods still get the
-- operands in source order, errors name the variable, binary chunks carry
-- the order in their MMBIN*.
local function show(v) return type(v) == "table" and "T" or tostring(v) end
local mt = {}
for _, ev in ipairs({"add", "sub", "mul", "div", "band", "shl"}) do
  mt["__" .. ev] = function(a, b) return ev .. "(" .. show(a) .. "," .. show(b) .. ")" end
end
local t = setmetatable({}, mt)
print(1 + t, t + 1, 2.5 + t, t + 2.5, 3 * t, t * 3, 2.0 * t, 1000000 + t, t + 1000000)
print(-1 + t, 0.5 * t, 1e300 * t, 7 - t, 7 & t, 1 << t, (1 + t) .. "", 2 * 3 * t)
print(pcall(function() local x; return 2.0 * x end))
print(pcall(function() local x; return 1 + x end))
print(pcall(function() local x = {}; return 100000 + x.y end))
print(pcall(function() return 1 + {} end))
print(2 * "3", "3" * 2, 1 + "2", 10 * 2.5, 1 + 2^53, 3 * math.maxinteger, -0.0 * 1, 0.0 * -1)
local f = load(string.dump(function(v) return 1 + v, 2.0 * v, v * 2, 300 + v end))
print(f(t))
print(f(4))
