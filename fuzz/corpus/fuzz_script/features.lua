local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
assert(co(1) == 2 and co(5) == 10)
local mt = {__index = function(t, k) return k end, __gc = function() end, __close = function() end,
  __add = function(a, b) return 1 end, __eq = function() return true end, __lt = function() return true end,
  __call = function(self, x) return x end, __len = function() return 3 end, __concat = function() return "c" end}
local o = setmetatable({}, mt)
do local c <close> = o end
assert(o.x == "x" and o + 1 == 1 and #o == 3 and o(4) == 4 and (o .. "a") == "c")
local ok, e = pcall(error, {code = 1})
assert(not ok and e.code == 1)
print(xpcall(function() return nil + 1 end, function(m) return "handled: " .. m end))
local s = string.format("%d %5.2f %q %s %x", 3, 1.5, "a\nb", {} ~= nil, 255)
for w in s:gmatch("%S+") do local _ = w:rep(2, ",") end
local p = string.pack("i4 d s1", 1, 2.5, "xy")
assert(select(3, string.unpack("i4 d s1", p)) == "xy")
local f = load(string.dump(function(x) return x * 2 end))
assert(f(21) == 42)
assert(utf8.len("häh") == 3 and math.type(1) == "integer" and math.tointeger(3.0) == 3)
local t = {} for i = 1, 100 do t[i] = -i end table.sort(t) assert(t[1] == -100)
assert(table.concat({1, 2, 3}, "-") == "1-2-3" and select(-1, 1, 2, 3) == 3)
collectgarbage() collectgarbage("count") collectgarbage("step")
return #t, 1 // 0.0, 3 % -2, 1 << 63, math.maxinteger + 1 == math.mininteger, "10" + 1
