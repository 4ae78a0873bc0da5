// Open upvalues whose frame's stack moves under a trace. An open upvalue's
// value pointer (FLOAD UvValue) points into the Lua stack; a library
// function the trace calls (NCALL) may grow the stack, which moves it and
// corrects the UpVal's pointer but not one the trace loaded before the
// call. Before the fix (fold.cpp: an NCALL drops the UvValue loads from
// CSE), the load after the call was shared with the one before: the trace
// read and wrote the freed stack and the upvalue's update was lost.
#include <catch2/catch.hpp>

#include <string>

#include "jit_run.hpp"

using luna::jit_test::Run;
using luna::jit_test::same_all_ways;

TEST_CASE("an open upvalue written around a call that grows the stack", "[jit][ncall][upvalue]") {
  // string.byte returning i * 40 values checks room for all of them: the
  // stack grows (and moves) several times while the trace runs.
  Run r = same_all_ways(R"lua(
    local s = string.rep("a", 20000)
    local function outer()
      local x = 0
      local function inner()
        for i = 1, 400 do
          x = x + 1
          local a = string.byte(s, 1, i * 40)
          x = x + a
        end
      end
      inner()
      return x
    end
    return tostring(outer()))lua", "=uvstack");
  CHECK(r.out == "39200");
  CHECK(r.stats.traces_compiled >= 1);
}

TEST_CASE("open upvalues read before and written after calls that grow the stack", "[jit][ncall][upvalue]") {
  // Upvalues of two enclosing frames, both read before the call, one
  // written after it; the recursion puts the loop's frame at a different
  // height each time.
  Run r = same_all_ways(R"lua(
    local s = string.rep("b", 30000)
    local total = 0
    local function run(depth, h)
      if depth > 0 then return run(depth - 1, h) + 0 end
      local seen = 0
      local function loop(n)
        local acc = 0
        for i = 1, n do
          acc = acc + total + seen
          local b = string.byte(s, 1, (i % 50) * 60 + h)
          seen = seen + b
        end
        return acc
      end
      local acc = loop(120)
      total = total + seen
      return acc
    end
    local sum = 0
    for d = 1, 60, 7 do sum = sum + run(d * 3, d) end
    return sum .. " " .. total)lua", "=uvstack2");
  CHECK(r.out == "57100680 105840");
  CHECK(r.stats.traces_compiled >= 1);
}
