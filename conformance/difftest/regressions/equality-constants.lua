-- Comparisons with a constant (EQK): nil, booleans and short strings are
-- decided in the dispatcher (execute.cpp), numbers and long strings by
-- vm_equal; __eq is never called for them.
local long = string.rep("x", 50)
local t = setmetatable({}, {__eq = function() print("__eq called") return true end})
local values = {nil, false, true, 0, 0.0, -0.0, 1, 1.0, 0/0, "", "a", "b", long, string.rep("x", 49) .. "x", t, print}
for i = 1, 16 do
  local v = values[i]
  print(i, v == nil, v ~= nil, v == false, v == true, v == 0, v == 1.0, v == "", v == "a",
    v == "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", v == 2^53, v == math.mininteger)
end
