// The dispatcher's trap: with computed goto, a frame whose trap is set
// dispatches through a table whose every entry runs the hooks (and the JIT
// recorder) before the instruction's own handler. Each place that reloads
// the trap must switch tables: returns to a caller whose hook was set by
// the callee, calls and tail calls under a count hook, a coroutine hooked
// while suspended, hooks replaced or cleared from inside a hook. The
// expected values are lua5.4.8's.
#include <catch2/catch.hpp>

#include "test_support.hpp"

using luna::test::run;
using luna::test::StateGuard;

TEST_CASE("a line hook set by a callee traps its caller after the return", "[trap]") {
  StateGuard s;
  CHECK(run(s.L, R"(local lines = {}
local function hook(_, l) lines[#lines + 1] = l end
local function start() debug.sethook(hook, "l") end
local function add(a, b) return a + b end
local function go()
  local x = add(1, 2)
  start()
  x = add(x, 3)
  debug.sethook()
  return x
end
local r = go()
local a = add(1, 1)
return r .. ":" .. table.concat(lines, ","))") == "6:8,4,9");
}

TEST_CASE("a count hook of 1 counts every instruction across calls, tail calls and loops", "[trap]") {
  StateGuard s;
  CHECK(run(s.L, R"(
    local n = 0
    local function f(a) return a * 2 end
    local function t(k) if k == 0 then return 0 end return t(k - 1) end
    local function g()
      local s = 0
      for i = 1, 5 do s = s + f(i) end
      return s + t(3)
    end
    debug.sethook(function() n = n + 1 end, "", 1)
    local r = g()
    debug.sethook()
    return r .. ":" .. n
  )") == "30:65");
}

TEST_CASE("hooks set and cleared on a suspended coroutine from another one", "[trap]") {
  StateGuard s;
  CHECK(run(s.L, R"(local co = coroutine.create(function()
  local s = 0
  for i = 1, 3 do
    s = s + i
    coroutine.yield(s)
  end
  return s
end)
local seen = {}
coroutine.resume(co)
debug.sethook(co, function(_, l) seen[#seen + 1] = l end, "l")
coroutine.resume(co)
debug.sethook(co)
coroutine.resume(co)
local _, r = coroutine.resume(co)
return r .. ":" .. table.concat(seen, ","))") == "6:3,4,5");
}

TEST_CASE("a hook that replaces itself, then one that clears the hook, from inside", "[trap]") {
  StateGuard s;
  CHECK(run(s.L, R"(local log = {}
local second
local function first(_, l) log[#log + 1] = "a" .. l; debug.sethook(second, "l") end
second = function(_, l) log[#log + 1] = "b" .. l; if #log >= 4 then debug.sethook() end end
local function body()
  local x = 1
  x = x + 1
  x = x + 1
  x = x + 1
  x = x + 1
  return x
end
debug.sethook(first, "l")
local r = body()
return r .. ":" .. table.concat(log, ","))") == "5:a14,b6,b7,b8");
}
