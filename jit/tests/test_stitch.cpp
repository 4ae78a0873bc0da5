// Trace stitching (jit/src/record_stitch.cpp): loops calling native
// functions the recorder does not turn into IR run their Lua parts
// compiled, and the interpreter makes the calls. Each program runs with the
// JIT off, with low thresholds and in stress mode, and must give the same
// output: errors the stitched calls raise (message and traceback), yields
// across them, hooks and the instruction budget.
#include <catch2/catch.hpp>

#include <string>

#include "jit_run.hpp"

using namespace luna;

namespace {

using jit_test::Run;

Run same_all_ways(const std::string& src) { return jit_test::same_all_ways(src, "=stitch"); }

}  // namespace

TEST_CASE("loops calling string.format, find, gsub and match run stitched", "[jit][stitch]") {
  Run r = same_all_ways(R"lua(
    local fmt, out, h = string.format, {}, 0
    for i = 1, 300 do
      local a = fmt("%d:%5d|%-6s|%x", i, i % 1000, "k" .. (i % 13), i * 7)
      local b = fmt("%.3f %q", i / 7, "tail")
      local z = string.pack("i4", i)
      local s, c = a:gsub("%d", "#")
      local p = b:find(".", 1, true)
      local m = a:match("|(%a+)")
      h = (h * 31 + #a + #b + #z + c + p + #s + #m + a:byte(#a)) % 1000000007
      if i % 50 == 0 then out[#out + 1] = a .. b end
    end
    return h .. " " .. table.concat(out, ";"))lua");
  // The loop's trace and the traces continuing after each stitched call
  // (%q and string.pack; the other calls are made from the traces).
  CHECK(r.stats.traces_compiled >= 3);
}

TEST_CASE("an error raised by a stitched call is caught by pcall with its message and traceback", "[jit][stitch][errors]") {
  Run r = same_all_ways(R"lua(
    local out = {}
    local function work(n, bad)
      local acc = 0
      for i = 1, n do
        local v = (bad and i == n) and {} or i
        local s = string.format("%d-%d", i, v)
        acc = acc + #s
      end
      return acc
    end
    out[#out + 1] = work(200, false)
    out[#out + 1] = select(2, pcall(work, 200, true))
    out[#out + 1] = select(2, xpcall(work, debug.traceback, 150, true))
    out[#out + 1] = work(100, false)
    return table.concat(out, "|"))lua");
  CHECK(r.out.find("bad argument #3 to 'format' (number expected, got table)") != std::string::npos);
  CHECK(r.out.find("stack traceback:") != std::string::npos);
  CHECK(r.out.find("stitch:7: in function <stitch:3>") != std::string::npos);
}

TEST_CASE("a pcall in a loop, its callee raising, runs stitched", "[jit][stitch][errors]") {
  same_all_ways(R"lua(
    local function fail(i) if i % 3 == 0 then error("bad " .. i) end return i end
    local caught, sum = 0, 0
    for i = 1, 500 do
      local ok, e = pcall(fail, i)
      if ok then sum = sum + e else caught = caught + #e end
      local ok2, e2 = pcall(error, {code = i})
      sum = sum + e2.code
    end
    return caught .. " " .. sum)lua");
}

TEST_CASE("yields across stitched calls inside a coroutine", "[jit][stitch][coroutine]") {
  same_all_ways(R"lua(
    local co = coroutine.wrap(function(x)
      local acc = ""
      for i = 1, 200 do
        acc = string.format("%s%d,", #acc > 30 and "" or acc, i + x)
        local ok, y = pcall(coroutine.yield, #acc)
        x = y + (ok and 1 or 0)
      end
      return "done " .. acc
    end)
    local sum, last = 0, nil
    for i = 1, 201 do
      last = co(i)
      if type(last) == "number" then sum = sum + last * 2 + #string.rep("ab", i % 5) end
    end
    local gen = coroutine.wrap(function() for i = 1, 300 do coroutine.yield(i) end end)
    local total = 0
    for v in gen do total = total + v * 3 - #tostring(v) end
    return sum .. " " .. tostring(last) .. " " .. total)lua");
}

TEST_CASE("hooks and the instruction budget hold across stitched calls", "[jit][stitch]") {
  same_all_ways(R"lua(
    local fmt, n = string.format, 0
    local function loop(k) for i = 1, k do n = n + #fmt("%d", i) + (("x"):rep(i % 3)):len() end end
    loop(300)
    local lines = 0
    debug.sethook(function() lines = lines + 1 end, "l")
    loop(100)
    debug.sethook()
    loop(300)
    return n .. " " .. lines)lua");
  Vm vm;
  vm.set_jit_options(JitOptions::stress());
  vm.eval("function spin() local n = 0 while true do n = n + #string.format('%d', n) end end");
  vm.set_instruction_limit(200000);
  CHECK_THROWS_WITH(vm.eval("spin()"), Catch::Contains("instruction budget exhausted"));
}

TEST_CASE("CLOSE after stitched generic fors: open upvalues closed, to-be-closed variables run", "[jit][stitch][closures]") {
  Run r = same_all_ways(R"lua(
    local fs, log, total = {}, {}, 0
    local closer = setmetatable({}, { __close = function() log[#log + 1] = "c" end })
    for i = 1, 200 do
      local line = "ab cd ef " .. i
      -- Nothing open at the CLOSE after this loop.
      for w in line:gmatch("%a+") do total = total + #w end
      -- Each iteration's captured w is closed at the body's end.
      for w in line:gmatch("%a+") do fs[#fs % 9 + 1] = function() return w .. i end end
      do
        local x = i * 2
        fs[10] = function() x = x + 1; return x end
        total = total + fs[10]()
      end
      if i % 20 == 0 then
        local t <close> = closer
        for k, v in next, { 1, 2 }, nil, closer do total = total + k + v end
        log[#log + 1] = i
      end
      if i % 64 == 0 then collectgarbage("step") end
    end
    for k = 1, 10 do log[#log + 1] = fs[k] and fs[k]() or "-" end
    return total .. " " .. table.concat(log, ","))lua");
  CHECK(r.stats.traces_compiled >= 2);
}

TEST_CASE("a generic for over a native iterator with a tiny body does not stitch once per iteration", "[jit][stitch]") {
  // The continuation after the iterator's call would stitch at that same
  // call after four instructions: an exit and a re-entry per character,
  // which cost more than interpreting the body. (gmatch's iterator, which
  // this test used, is called from traces since gmatch10; utf8.codes' is
  // still stitched.)
  Run r = same_all_ways(R"lua(
    local lines = {}
    for i = 1, 300 do
      lines[i] = string.rep("ab\u{e9}c ", i % 5 + 8)
    end
    local n, m = 0, 0
    for i = 1, #lines do
      for _, c in utf8.codes(lines[i]) do n = n + c end
      for p, c in utf8.codes(lines[i]) do
        if c == 233 then m = m + p end
      end
    end
    return n .. " " .. m)lua");
  // About 15000 characters per loop: one exit per character would be 30000.
  INFO(r.stats.exits_taken);
  CHECK(r.stats.exits_taken < 2000);
}
