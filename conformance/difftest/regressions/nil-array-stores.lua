-- Stores into nil slots of a table's array part, which the dispatcher's
-- fast set path (execute.cpp) takes when no __newindex can apply: plain
-- tables, tables whose metatable lacks __newindex, and a __newindex added
-- to the metatable (or the metatable set) in the middle of a loop, which
-- must be seen from the next store on. Keys come through SETI, SETTABLE
-- with integer and float keys, and loops hot enough for the JIT.
local function dump(t, n)
  local parts = {}
  for i = 1, n do parts[#parts + 1] = tostring(rawget(t, i)) end
  return table.concat(parts, " ")
end

-- Growth by t[#t + 1]: each array resize leaves nil slots behind the border.
local t = {}
for i = 1, 300 do t[#t + 1] = i * 2 end
print(#t, t[1], t[65], t[100], t[128], t[129], t[300])

-- Holes in a preallocated array filled again, with collectable values.
local a = {1, 2, 3, 4, 5, 6, 7, 8}
for i = 1, 8, 2 do a[i] = nil end
for i = 1, 8 do if a[i] == nil then a[i] = {i} end end
print(dump(a, 8):gsub("table: 0x%x+", "T"), a[1][1], a[7][1])
for i = 1.0, 8.0 do a[i] = nil end
for i = 1.0, 8.0 do a[i] = "s" .. i end
print(dump(a, 8))
a[3] = nil; a[3] = "three"; a[3.0] = nil; a[3.0] = 3
print(dump(a, 8))

-- A metatable without __newindex: the stores stay raw.
local log = {}
local mt = {}
local m = setmetatable({1, 2, 3, 4, 5, 6, 7, 8}, mt)
for i = 1, 8 do m[i] = nil end
for i = 1, 8 do m[i] = i * 10 end
print(dump(m, 8))

-- __newindex added mid-loop: stores into nil slots go to it from then on,
-- stores into non-nil slots stay raw.
for i = 1, 8 do m[i] = (i % 2 == 0) and i or nil end
for i = 1, 8 do
  if i == 4 then mt.__newindex = function(tt, k, v) log[#log + 1] = k .. "=" .. tostring(v) end end
  m[i] = -i
end
print(dump(m, 8), table.concat(log, " "))

-- __newindex removed mid-loop: raw stores again.
log = {}
for i = 1, 8 do m[i] = nil end
for i = 1, 8 do
  if i == 5 then mt.__newindex = nil end
  m[i] = i
end
print(dump(m, 8), table.concat(log, " "))

-- A __newindex table: nil slots forward their stores to it.
local store = {}
local fw = setmetatable({nil, nil, nil, 4}, {__newindex = store})
for i = 1, 4 do fw[i] = i end
print(dump(fw, 4), dump(store, 4))

-- The metatable itself set mid-loop, on a table with nil array slots.
local s = {}
for i = 1, 16 do s[i] = i end
for i = 1, 16 do s[i] = nil end
log = {}
for i = 1, 16 do
  if i == 9 then setmetatable(s, {__newindex = function(tt, k, v) log[#log + 1] = k; rawset(tt, k, v * 100) end}) end
  s[i] = i
end
print(dump(s, 16), table.concat(log, " "))

-- A hot loop (JIT traces under -jon / -jstress) over a grown table whose
-- metatable gains __newindex after many iterations.
local hot = setmetatable({}, {})
local count = 0
for round = 1, 3 do
  for i = 1, 200 do hot[i] = nil end
  for i = 1, 200 do
    if round == 3 and i == 150 then
      getmetatable(hot).__newindex = function(tt, k, v) count = count + 1 end
    end
    hot[i] = i + round
  end
end
print(hot[1], hot[149], hot[150], hot[200], count)

-- Plain upvalue/global tables: SETTABUP / SETFIELD keys are strings, so
-- only the integer stores are of interest; a nil field store stays correct.
G_nil = nil
G_nil = 5
print(G_nil)
