// Lua calls inlined into traces (record_call.cpp): exits inside inlined
// frames rebuild the frames the interpreter would have, so debug.getinfo,
// tracebacks and errors raised after such an exit are exactly those of the
// interpreter. Each program runs with the JIT off and in stress mode; the
// outputs must be identical and the stress run must have compiled the loop
// and left it from inside the callee.
#include <catch2/catch.hpp>

#include <string>

#include "jit_run.hpp"

using namespace luna;

namespace {

using jit_test::Run;

Run run(const std::string& src, bool jit) {
  return jit_test::run(src, jit ? jit_test::Mode::stress : jit_test::Mode::off, "=calls");
}

// Runs src both ways; returns the stress run after checking it matches.
Run same_both_ways(const std::string& src) {
  Run off = run(src, false);
  Run on = run(src, true);
  INFO(on.out);
  CHECK(on.out == off.out);
  CHECK(on.stats.traces_compiled >= 1);
  CHECK(on.stats.exits_taken >= 1);
  return on;
}

}  // namespace

TEST_CASE("an exit inside two inlined calls rebuilds both frames", "[jit][calls][snapshot]") {
  // The trace records inner's `x <= 40` path through middle (missing
  // argument nil-filled, two results); at x = 41 the guard exits inside
  // inner, and the interpreter goes on there with every frame in place.
  Run r = same_both_ways(
      "local out = {}\n"
      "local function inner(x, y)\n"
      "  if x > 40 then\n"
      "    out[#out + 1] = debug.getinfo(1, 'l').currentline .. ',' ..\n"
      "      debug.getinfo(2, 'l').currentline .. ',' .. debug.getinfo(3, 'l').currentline\n"
      "    out[#out + 1] = debug.traceback('tb')\n"
      "    return -x, y\n"
      "  end\n"
      "  return x * 2, y\n"
      "end\n"
      "local function middle(x)\n"
      "  local a, b = inner(x)\n"
      "  return a + (b == nil and 1 or 0)\n"
      "end\n"
      "local function loop(n)\n"
      "  local s = 0\n"
      "  for i = 1, n do s = s + middle(i) end\n"
      "  return s\n"
      "end\n"
      "local total = loop(45)\n"
      "out[#out + 1] = tostring(total)\n"
      "return table.concat(out, '|')");
  CHECK(r.out.find("|4,12,17|tb\nstack traceback:\n\tcalls:6: in upvalue 'inner'\n\tcalls:12: in upvalue "
                   "'middle'\n\tcalls:17: in local 'loop'\n") != std::string::npos);
}

TEST_CASE("an error after an exit inside an inlined call is caught by pcall", "[jit][calls]") {
  // ts[15] has no field v: the inlined GETFIELD's guard exits inside get,
  // and the interpreter raises there.
  const std::string prog =
      "local function get(t) return t.v + 1 end\n"
      "local function loop(ts)\n"
      "  local s = 0\n"
      "  for i = 1, #ts do s = s + get(ts[i]) end\n"
      "  return s\n"
      "end\n"
      "local ts = {}\n"
      "for i = 1, 20 do ts[i] = {v = i} end\n"
      "ts[15] = {w = 1}\n"
      "local ok, msg = pcall(loop, ts)\n"
      "local ok2, tb = xpcall(loop, debug.traceback, ts)\n"
      "return tostring(ok) .. '|' .. msg .. '|' .. tb\n";
  Run r = same_both_ways(prog);
  CHECK(r.out.find("false|calls:1: attempt to perform arithmetic on a nil value (field 'v')|") == 0);
  CHECK(r.out.find("calls:1: in upvalue 'get'\n\tcalls:4: in function <calls:2>") != std::string::npos);
}

TEST_CASE("recursive and vararg calls abort the recording cleanly", "[jit][calls]") {
  Run r = same_both_ways(
      "local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end\n"
      "local function va(...) return select('#', ...) end\n"
      "local s = 0\n"
      "for i = 1, 10 do s = s + fib(i) + va(i, i) end\n"
      "local function sq(x) return x * x end\n"
      "for i = 1, 10 do s = s + sq(i) end\n"
      "return tostring(s)");
  CHECK(r.out == "548");
  CHECK(r.stats.traces_aborted >= 1);
}

TEST_CASE("a callee changing between closures of one prototype keeps the trace", "[jit][calls]") {
  // Guarded by prototype: each closure's own upvalue is read.
  Run r = same_both_ways(
      "local function adder(k) return function(x) return x + k end end\n"
      "local function apply(f, n) local s = 0 for i = 1, n do s = s + f(i) end return s end\n"
      "local s = 0\n"
      "for k = 1, 5 do s = s + apply(adder(k), 10) end\n"
      "local other = function(x) return x * 100 end\n"
      "return s .. ',' .. apply(other, 10)");
  CHECK(r.out == "425,5500");
}

TEST_CASE("tail calls and variable results inside traces", "[jit][calls]") {
  // outer tail-calls inner, which returns all its results to the loop; the
  // exit at x == 45 is inside the tail-called frame.
  Run r = same_both_ways(
      "local out = {}\n"
      "local function inner(x, y)\n"
      "  if x == 45 then out[#out + 1] = debug.traceback('t') end\n"
      "  return x, y\n"
      "end\n"
      "local function outer(x) return inner(x) end\n"
      "local function sum(a, b, c) return a + (b or 1) + (c or 2) end\n"
      "local function two(x) return x, x * 2 end\n"
      "local s = 0\n"
      "for i = 1, 50 do s = s + sum(outer(i)) + sum(two(i)) end\n"
      "return s .. '|' .. table.concat(out)");
  CHECK(r.out.find("5350|t\nstack traceback:\n\tcalls:3: in function <calls:2>\n\t(...tail calls...)\n\tcalls:10:") ==
        0);
}

TEST_CASE("method calls through __index chains are inlined and stay exact", "[jit][calls]") {
  // Derived inherits name from Base through two __index tables; the loop
  // changes a class method and then the object's own field midway (guards
  // on the absent key and the metatables exit), and an error raised in a
  // method after an exit names it.
  Run r = same_both_ways(
      "local Base = {} Base.__index = Base\n"
      "function Base:name() return 'base' end\n"
      "function Base:val() return self.v * 2 end\n"
      "local Derived = setmetatable({}, {__index = Base}) Derived.__index = Derived\n"
      "function Derived:val() return self.v + 1 end\n"
      "local d = setmetatable({v = 5}, Derived)\n"
      "local acc = 0\n"
      "for i = 1, 50 do\n"
      "  acc = acc + d:val() + #d:name()\n"
      "  if i == 30 then Derived.val = function(self) return -1 end end\n"
      "  if i == 40 then d.val = function() return 1000 end end\n"
      "end\n"
      "function Base:bad() return self.v + self.missing end\n"
      "local ok, tb = xpcall(function() for i = 1, 10 do acc = acc + d:bad() end end, debug.traceback)\n"
      "return acc .. '|' .. tb");
  CHECK(r.out.find("10370|calls:13: attempt to perform arithmetic on a nil value (field 'missing')\n"
                   "stack traceback:\n\tcalls:13: in method 'bad'") == 0);
}
