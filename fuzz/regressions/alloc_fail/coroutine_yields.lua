-- Coroutines suspended across pcall, metamethods, __close and iterators,
-- with errors caught inside them: every allocation may fail on the way.
local mt = {
  __index = function(t, k) return coroutine.yield(k) end,
  __add = function(a, b) return coroutine.yield("add") end,
  __concat = function(a, b) return coroutine.yield("cc") end,
}
local results = {}
for round = 1, 3 do
  local co = coroutine.wrap(function(a)
    local t = setmetatable({}, mt)
    local ok, e = pcall(function()
      local x = t.field .. "x"
      local y <close> = setmetatable({}, {__close = function() coroutine.yield("close") end})
      error({x, t + 1})
    end)
    for v in function(_, c) if not c then return coroutine.yield("iter") end end do results[#results + 1] = v end
    return ok, e
  end)
  local v = co(round)
  while v ~= false and v ~= true do v = co(tostring(v) .. round) end
end
local co = coroutine.create(function() local s = string.rep("x", 100) coroutine.yield(s) error(s) end)
coroutine.resume(co)
coroutine.resume(co)
coroutine.close(co)
print(#results)
