-- Out of memory while a native function raises an argument error: the
-- message built by the global-name lookup is freed by an emergency
-- collection while a stale copy stays in a dead stack slot; the next
-- emergency collection, from a Lua frame whose register window covers that
-- slot, marks it (use after free under ASan).
-- Run: alloc_fail --suite fuzz/regressions/alloc_fail arg_error_emergency_gc.lua
local function g()
  local ok = pcall(select, 0)
  local f = function() return ok end
  local a, b, c, d, e, h, i, j, k, l, m, n, o, p, q, r, s, t = f()
  return a, b, c, d, e, h, i, j, k, l, m, n, o, p, q, r, s, t
end
for _ = 1, 3 do g() end
