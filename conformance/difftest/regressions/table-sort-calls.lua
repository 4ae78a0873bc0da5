-- table.sort's order function called many times (the direct call path and,
-- with the JIT on, its compiled trace): calls of every shape, hooks set
-- mid-sort, errors after the function got hot, the default order's
-- strings and mixed numbers.
local function show(...) print(select('#', ...), ...) end
local function try(f, ...) show(pcall(f, ...)) end

local function data(n, m)
  local t = {}
  for i = 1, n do t[i] = (i * 7919) % (m or 1009) + i / (n + 1) end
  return t
end
local function sorted(t, lt)
  for i = 2, #t do
    if lt(t[i], t[i - 1]) then return false end
  end
  return true
end
local function gt(a, b) return a > b end

-- order functions of every shape, each hot enough to be compiled
local shapes = {
  plain = function(a, b) return a < b end,
  vararg = function(...) local a, b = ... return a < b end,
  one = function(a) return a < 500 end,
  three = function(a, b, c) return c == nil and a > b end,
  tail = function(a, b) return gt(b, a) end,
  upvalue = (function() local k = -1 return function(a, b) return a * k > b * k end end)(),
  closure_made = function(a, b) return (function() return a < b end)() end,
  fields = function(a, b) return math.floor(a) < math.floor(b) or (math.floor(a) == math.floor(b) and a < b) end,
}
for _, name in ipairs({"plain", "vararg", "one", "three", "tail", "upvalue", "closure_made", "fields"}) do
  local t = data(300)
  local ok, e = pcall(table.sort, t, shapes[name])
  print(name, ok, e, ok and sorted(t, function(a, b) return a < b end), t[1], t[300])
end

-- a native order function and one that is not a function
local r = {5, 3, 1, 4, 2}
try(table.sort, r, rawequal)
print(table.concat(r, " "))
try(table.sort, {3, 2, 1}, setmetatable({}, {__call = function(_, a, b) return a < b end}))

-- the order function's results: values other than booleans
local t = data(200)
table.sort(t, function(a, b) if a < b then return 0 end return nil end)
print(sorted(t, function(a, b) return a < b end), t[1], t[200])

-- errors once the order function is hot: raised inside, and from a
-- comparison it makes on values of another type
local n = 0
local ok, e = pcall(table.sort, data(400), function(a, b) n = n + 1 if n == 2000 then error("late " .. n) end return a < b end)
print(ok, e, n)
local mixed = data(250)
mixed[200] = "x"
try(table.sort, mixed, function(a, b) return a < b end)
mixed[200] = {}
try(table.sort, mixed, function(a, b) return a < b end)
try(table.sort, data(150), function(a, b) return a.x < b.x end)

-- the order function changes its mind after it got hot
local calls = 0
try(table.sort, data(500), function(a, b) calls = calls + 1 if calls > 3000 then return true end return a < b end)

-- hooks set and cleared from inside the order function
local events = 0
local k = 0
local h = data(300)
table.sort(h, function(a, b)
  k = k + 1
  if k == 1000 then debug.sethook(function() events = events + 1 end, "cr") end
  if k == 1100 then debug.sethook() end
  return a < b
end)
print(sorted(h, function(a, b) return a < b end), events > 0, events)
local lines = 0
k = 0
h = data(200)
table.sort(h, function(a, b)
  k = k + 1
  if k == 500 then debug.sethook(function() lines = lines + 1 end, "l") end
  if k == 520 then debug.sethook() end
  return a < b
end)
print(sorted(h, function(a, b) return a < b end), lines)

-- the order function sees its caller as the sort
local where
table.sort({3, 2, 1}, function(a, b)
  local info = debug.getinfo(2, "nS")
  where = info.what .. " " .. tostring(info.name)
  return a < b
end)
print(where)
print(select(2, pcall(table.sort, {3, 2, 1}, function(a, b) error(debug.traceback("tb", 1)) end)):gsub("\n.*", ""))

-- deep Lua recursion inside the order function, and sorts nested in it
local function deep(d) if d == 0 then return 0 end return 1 + deep(d - 1) end
local dd = data(120)
local m = 0
table.sort(dd, function(a, b) m = m + 1 if m % 97 == 0 then deep(5000) end return a < b end)
print(sorted(dd, function(a, b) return a < b end))
local depth = 0
local function nest(d)
  depth = d
  table.sort({2, 1}, function(a, b) nest(d + 1) return a < b end)
end
local okn, en = pcall(nest, 1)
print(okn, en, depth > 100)
try(table.sort, {3, 2, 1}, function(a, b) return deep(1e7) end)

-- a yield from a hot order function
local co = coroutine.create(function()
  local c = 0
  table.sort(data(300), function(a, b) c = c + 1 if c == 1500 then coroutine.yield(c) end return a < b end)
end)
show(coroutine.resume(co))

-- the default order: strings (embedded zeros, prefixes), mixed numbers
local s = {"b", "a\0b", "a", "a\0a", "", "ab", "a\0", "b\0", "\0", "aa"}
table.sort(s)
for i = 1, #s do s[i] = s[i]:gsub("%z", "0") end
print(table.concat(s, ","))
local nums = {3, 2.5, -1, 2^53, 2^53 + 1.0, -0.0, 0, 1e308, -1e308, math.huge, -math.huge, 7, 7.0, math.mininteger, math.maxinteger}
table.sort(nums)
for i = 1, #nums do nums[i] = string.format("%s", nums[i]) end
print(table.concat(nums, " "))
local strs = {}
for i = 1, 150 do strs[i] = string.format("k%05d", (i * 7919) % 1009) end
table.sort(strs)
print(strs[1], strs[75], strs[150])
try(table.sort, {1, 2, "3", 4})
try(table.sort, {"a", "b", 1})
local nan = {3, 0 / 0, 1, 2}
print(pcall(table.sort, nan))
local lt = setmetatable({}, {__lt = function(a, b) return type(a) == "table" end})
try(table.sort, {"a", lt, "b", lt})
