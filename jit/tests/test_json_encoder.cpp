// The shapes of json.lua's encoder under the JIT (issue 10, json10b):
// recursive functions holding a generic for, whose returns close upvalues
// (RETURN with k), compiled as function traces; table.sort called from
// traces. Each program runs with the JIT off, with low thresholds and in
// stress mode; results and errors must be identical.
#include <catch2/catch.hpp>

#include <string>

#include "jit_run.hpp"

using namespace luna;

namespace {

using jit_test::Mode;
using jit_test::Run;

Run same_all_ways(const std::string& src) { return jit_test::same_all_ways(src, "=enc"); }

}  // namespace

TEST_CASE("a recursive function holding a generic for gets a function trace", "[jit][recursion][close]") {
  // The generic for (never run here) makes every return close upvalues;
  // only the function trace can compile this program.
  Run r = same_all_ways(
      "local function fib(n, t)\n"
      "  if t then for _ in pairs(t) do end end\n"
      "  if n < 2 then return n end\n"
      "  return fib(n - 1) + fib(n - 2)\n"
      "end\n"
      "return tostring(fib(20))");
  CHECK(r.out == "6765");
  CHECK(r.stats.traces_compiled >= 1);
  CHECK(r.stats.entries >= 1);
}

TEST_CASE("compiled returns close captured locals and leave to-be-closed ones to the interpreter", "[jit][recursion][close]") {
  // Closures made in compiled frames see their own locals after the return.
  Run c = same_all_ways(
      "local fs = {}\n"
      "local function f(n, t)\n"
      "  if t then for _ in pairs(t) do end end\n"
      "  local x = n * 2\n"
      "  if n % 7 == 0 then fs[#fs + 1] = function() x = x + 1; return x end end\n"
      "  if n < 2 then return n end\n"
      "  return f(n - 1) + f(n - 2)\n"
      "end\n"
      "local s = f(18)\n"
      "local acc = 0\n"
      "for _, g in ipairs(fs) do acc = acc + g() + g() end\n"
      "return s .. ' ' .. #fs .. ' ' .. acc");
  CHECK(c.out.rfind("2584 ", 0) == 0);
  // A to-be-closed variable of a frame below the compiled ones is closed
  // once, by the interpreter, when its own frame returns.
  Run t = same_all_ways(
      "local log = {}\n"
      "local function f(n, t)\n"
      "  if t then for _ in pairs(t) do end end\n"
      "  if n < 2 then return n end\n"
      "  return f(n - 1) + f(n - 2)\n"
      "end\n"
      "local function outer(k)\n"
      "  local c <close> = setmetatable({}, {__close = function() log[#log + 1] = k end})\n"
      "  if k > 0 then return f(15) + outer(k - 1) end\n"
      "  return f(15)\n"
      "end\n"
      "local r = outer(5)\n"
      "return r .. ' ' .. table.concat(log, ',')");
  CHECK(t.out == "3660 0,1,2,3,4,5");
  // The return after a loop's trace, in a frame with a to-be-closed
  // variable: the side trace leaves at the RETURN and __close runs once.
  Run l = same_all_ways(
      "local log = {}\n"
      "local function g(n)\n"
      "  local c <close> = setmetatable({}, {__close = function() log[#log + 1] = n end})\n"
      "  local s = 0\n"
      "  for i = 1, 100 do s = s + i end\n"
      "  return s\n"
      "end\n"
      "local t = 0\n"
      "for k = 1, 50 do t = t + g(k) end\n"
      "return t .. ' ' .. #log .. ' ' .. log[50]");
  CHECK(l.out == "252500 50 50");
}

TEST_CASE("a side recording goes on while a call it lets the interpreter make runs compiled loops", "[jit][recursion][callout]") {
  // encode's key loop is entered at its first key, where its trace (recorded
  // at a later key) leaves at once; that exit's side trace records the first
  // key, whose value's encode_value (a CALLOUT the interpreter makes while
  // recording) runs a loop with a trace. The recording must survive it.
  Run r = same_all_ways(
      "local encode\n"
      "function encode(v, out)\n"
      "  if type(v) ~= 'table' then out[#out + 1] = tostring(v); return end\n"
      "  if v[1] ~= nil then\n"
      "    for i = 1, #v do encode(v[i], out) end\n"
      "    return\n"
      "  end\n"
      "  local keys = {}\n"
      "  for k in pairs(v) do keys[#keys + 1] = k end\n"
      "  table.sort(keys)\n"
      "  for i = 1, #keys do\n"
      "    if i > 1 then out[#out + 1] = ',' end\n"
      "    out[#out + 1] = keys[i]\n"
      "    encode(v[keys[i]], out)\n"
      "  end\n"
      "end\n"
      "local doc = {}\n"
      "for i = 1, 300 do doc[i] = {a = {i, i + 1, i + 2}, b = i, c = 'x'} end\n"
      "local out = {}\n"
      "for _ = 1, 4 do encode(doc, out) end\n"
      "return #out .. ' ' .. table.concat(out, '', 1, 12)");
  CHECK(r.out == "12000 a123,b1,cxa2");
  CHECK(r.stats.exits_taken < 3600);  // 4794 when the recording was dropped, 2420 now
}
