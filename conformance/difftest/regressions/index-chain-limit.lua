-- An __index chain is too long after 2000 steps, counted from the first
-- table whichever way the lookup goes: a field, a method found through the
-- instance's class (OP_SELF continues from the class), a non-constant key,
-- an __index function at the end, a chain ending in a table without a
-- metatable. Each length is tried just below, at and above the limit.
local function chain(n, leaf)
  local last = leaf
  for _ = 1, n do last = setmetatable({}, {__index = last}) end
  return last
end
for _, n in ipairs{1999, 2000, 2001, 2002, 3999, 4000, 4001} do
  local t = chain(n, {x = 1, m = function() return "m" end})
  print(n, pcall(function() return t.x end))
  print(n, pcall(function() return t.absent end))
  print(n, pcall(function() return t:m() end))
  local key = "x"
  print(n, pcall(function() return t[key] end))
  print(n, pcall(function() return t[1] end))
  local f = chain(n - 1, setmetatable({}, {__index = function(_, k) return k end}))
  print(n, pcall(function() return f.y end))
  local cls = chain(n - 1, {m = function() return "m2" end})
  local inst = setmetatable({}, {__index = cls})
  print(n, pcall(function() return inst:m() end))
  print(n, pcall(function() return inst:absent() end))
  -- classes: the class is its own metatable's __index
  local C = chain(n - 2, {m = function() return "m3" end})
  C.__index = C
  print(n, pcall(function() return setmetatable({}, C):m() end))
  local s = chain(n, {})
  print(n, pcall(function() s.x = 1 end), rawget(s, "x"))
end
