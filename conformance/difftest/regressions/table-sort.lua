-- table.sort edge cases (the comparator is called without the stack API):
-- order errors, errors and yields in the comparator, proxies, __lt, GC.
local function show(...) print(select('#', ...), ...) end
local function try(f, ...) show(pcall(f, ...)) end

-- invalid order functions
try(table.sort, {5, 3, 1, 4, 2, 6, 7, 8, 9, 10, 11, 12}, function(a, b) return true end)
try(table.sort, {1, 2, 3}, function(a, b) return true end)
local big = {}
for i = 1, 200 do big[i] = (i * 37) % 101 end
try(table.sort, big, function(a, b) return a <= b end)

-- an error inside the comparator, with a position and a non-string value
try(table.sort, {3, 2, 1}, function(a, b) error("boom") end)
try(function() local ok, e = pcall(table.sort, {3, 2, 1}, function(a, b) error({code = 7}) end) return ok, type(e) end)
try(table.sort, {3, 2, 1}, function(a, b) return a.x < b end)
print(select(2, pcall(table.sort, {3, 2, 1}, function(a, b) error({code = 7}) end)).code)

-- default order errors
try(table.sort, {3, "x", 1})
try(table.sort, {{}, {}})
try(table.sort, {1, 2, nil, 4})

-- a comparator that yields
local co = coroutine.wrap(function()
  table.sort({3, 2, 1}, function(a, b) coroutine.yield(1) return a < b end)
  return "done"
end)
try(co)
local co2 = coroutine.create(function()
  return pcall(table.sort, {3, 2, 1}, function(a, b) coroutine.yield(1) return a < b end)
end)
show(coroutine.resume(co2))

-- bad arguments
try(table.sort, {3, 2, 1}, 42)
try(table.sort, 5)
try(table.sort)

-- comparator results: only nil and false are false
local t = {5, 1, 4, 2, 3}
table.sort(t, function(a, b) if a < b then return 0 end return nil end)
print(table.concat(t, " "))

-- the comparator changes the table while sorting
local m = {}
for i = 1, 50 do m[i] = (i * 13) % 50 end
try(table.sort, m, function(a, b) m[#m + 1] = 1; return a < b end)
local m2 = {}
for i = 1, 50 do m2[i] = (i * 13) % 50 end
local cnt = 0
print(pcall(table.sort, m2, function(a, b) cnt = cnt + 1; if cnt == 30 then for k = 1, 50 do m2[k] = nil end end; return (a or 0) < (b or 0) end))

-- proxies with __index/__newindex/__len
local store = {9, 4, 7, 1, 8, 2}
local log = 0
local proxy = setmetatable({}, {
  __index = function(_, k) log = log + 1; return store[k] end,
  __newindex = function(_, k, v) store[k] = v end,
  __len = function() return #store end,
})
table.sort(proxy)
print(table.concat(store, " "), log > 0)
local ud = setmetatable({}, {__index = store})
try(table.sort, ud)
print(table.concat(store, " "))

-- __lt on elements, and a __lt that errors
local mt = {__lt = function(a, b) return a.v < b.v end}
local objs = {}
for i = 1, 30 do objs[i] = setmetatable({v = (i * 7) % 31}, mt) end
table.sort(objs)
local s = {}
for i = 1, 30 do s[i] = objs[i].v end
print(table.concat(s, " "))
local bad = setmetatable({}, {__lt = function() error("lt failed") end})
try(table.sort, {bad, bad, bad})

-- strings, mixed integer/float, a comparator returning the wrong thing
local w = {"pear", "apple", "fig", "banana", "cherry"}
table.sort(w)
print(table.concat(w, " "))
local nf = {3, 1.5, 2, -0.0, 0, 1e300, -1e300, 2^53}
table.sort(nf)
print(table.concat(nf, " "))
table.sort(nf, function(a, b) return a > b end)
print(table.concat(nf, " "))

-- the comparator is a native function, or a callable table
local r = {4, 2, 3, 1}
try(table.sort, r, math.max)
try(table.sort, {4, 2, 3, 1}, setmetatable({}, {__call = function(_, a, b) return a < b end}))
local c = {4, 2, 3, 1}
table.sort(c, function(...) return select(1, ...) < select(2, ...) end)
print(table.concat(c, " "))

-- traceback through the comparator
print((select(2, xpcall(table.sort, debug.traceback, {2, 1}, function() error("deep") end))):gsub("\n.*", ""))

-- large sorts, already sorted and reversed
local L = {}
for i = 1, 5000 do L[i] = 5000 - i end
table.sort(L)
print(L[1], L[2500], L[5000])
table.sort(L, function(a, b) return a > b end)
print(L[1], L[2500], L[5000])

-- debug.setlocal replaces the table being sorted (index 1 of sort's frame)
local first = {5, 4, 3, 2, 1}
local second = {50, 40, 30, 20, 10, 0}
local swapped = false
table.sort(first, function(a, b)
  if not swapped then
    swapped = true
    debug.setlocal(2, 1, second)
    first = nil
    collectgarbage()
  end
  return a < b
end)
print(table.concat(second, " "))
