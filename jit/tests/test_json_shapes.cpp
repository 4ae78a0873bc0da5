// Programs shaped like benchmarks/programs/json.lua: recursive decoders
// over nested arrays, whose function traces, their side traces and the
// loops around them meet. Each program runs with the JIT off, with low
// thresholds and in stress mode, and must give the same output.
#include <catch2/catch.hpp>

#include <string>

#include "jit_run.hpp"

using namespace luna;

namespace {

using jit_test::Mode;
using jit_test::Run;

// The low-threshold run, after comparing both JIT modes with the
// interpreter's.
Run same_all_ways(const std::string& src) { return jit_test::same_all_ways(src, "=json"); }

}  // namespace

TEST_CASE("a side recording dropped as stale does not make the next root trace its side trace", "[jit][recursion]") {
  // In stress mode the exit ending the summing loop starts a side
  // recording that follows the outer loop into the decoder, where the seam
  // drops it and records the decoder's loop as a root trace; that trace was
  // installed as the summing loop's side trace (main at d8c34f6: a
  // segfault, or "attempt to index a nil value" at line -1).
  same_all_ways(R"lua(
    local byte = string.byte
    local dv
    function dv(s, i)
      local c = byte(s, i)
      if c == 91 then
        local arr, k = {}, 0
        i = i + 1
        if byte(s, i) == 93 then return arr, i + 1 end
        while true do
          k = k + 1
          arr[k], i = dv(s, i)
          if byte(s, i) == 93 then return arr, i + 1 end
          i = i + 1
        end
      end
      local v = c - 48
      if byte(s, i + 1) == 46 then return v + 0.5, i + 2 end
      return v, i + 1
    end
    local parts = {}
    for i = 1, 20 do parts[#parts + 1] = "[" .. (i % 10) .. "," .. (i % 7) .. ".,[" .. (i % 3) .. "]]" end
    local text = "[" .. table.concat(parts, ",") .. "]"
    local sum = 0
    for r = 1, 5 do
      local v = dv(text, 1)
      for i = 1, #v do sum = sum + v[i][1] + v[i][2] + v[i][3][1] end
    end
    return tostring(sum))lua");
}

TEST_CASE("library functions called from traces: results as interpreted", "[jit][ncall]") {
  Run r = same_all_ways(R"lua(
    local fmt, concat, out, h = string.format, table.concat, {}, 0
    local t = { 3, 1, 2 }
    for i = 1, 400 do
      local s = "k" .. i .. "=v" .. (i * 7) .. ";"
      local a, b, cap = s:find("=(%w+)")
      local m1, m2 = s:match("(%d+)=v(%d+)")
      local g, n = s:gsub("%d", { ["1"] = "one", ["2"] = false })
      local g2 = s:gsub("(%a)(%d)", "%2%1")
      local f = fmt("%5.2f|%-4d|%x|%g", i / 3, i, i, i * 1e300)
      local r = s:rep(i % 3, ",") .. s:upper() .. s:reverse() .. #s:lower()
      local k, v = next(t, i % 3 ~= 0 and i % 3 or nil)
      local c = concat({ i, "x", i * 0.5 }, i % 2 == 0 and "-" or nil)
      local p1, p2 = s:byte(-2, -1)
      local q = tonumber(m2) + (tonumber("0x" .. (i % 16)) or 0) + (tonumber(m1, 16) or 0)
      h = (h * 31 + a + b + #cap + #g + n + #g2 + #f + #r + (k or 0) + (v or 0) + #c + p1 + p2 + q) % 1000000007
      if i % 100 == 0 then out[#out + 1] = f .. c .. g end
    end
    for k in pairs(t) do h = h + k end
    return h .. " " .. concat(out, ";"))lua");
  CHECK(r.stats.traces_compiled >= 1);
}

TEST_CASE("errors of library functions called from traces are the interpreter's", "[jit][ncall][errors]") {
  // Each call succeeds until the last iterations, whose arguments make the
  // library raise: the trace leaves at the CALL and the interpreter raises
  // with its message, position and traceback.
  same_all_ways(R"lua(
    local out = {}
    local function try(f, ...)
      local ok, e = pcall(f, ...)
      out[#out + 1] = tostring(ok) .. ":" .. tostring(e)
    end
    try(function()
      for i = 1, 100 do local a = ("abc" .. i):find(i < 90 and "%d" or "[%d") end
    end)
    try(function()
      for i = 1, 100 do local a = string.format(i < 90 and "%d" or "%d %d", i) end
    end)
    try(function()
      for i = 1, 100 do local a = string.rep("ab", i < 90 and 2 or 1e10) end
    end)
    try(function()
      for i = 1, 100 do local a = table.concat({ 1, 2, i < 90 and 3 or {} }) end
    end)
    try(function()
      for i = 1, 100 do local a = ("x1y2"):gsub("%d", i < 90 and "%1" or "%2") end
    end)
    try(function()
      local t = { 1, 2 }
      for i = 1, 100 do local k = next(t, i < 90 and 1 or "nope") end
    end)
    try(function()
      for i = 1, 100 do local a = string.sub("abc", i < 90 and 1 or {}) end
    end)
    local ok, tb = xpcall(function()
      for i = 1, 100 do local a = ("s" .. i):match(i < 95 and "%a" or "(") end
    end, debug.traceback)
    out[#out + 1] = tb
    return table.concat(out, "\n"))lua");
}

TEST_CASE("library functions called from traces see metamethods appear mid-loop", "[jit][ncall]") {
  // Tables that get a metatable (__index, __concat-free concat, __pairs) and
  // numbers that get __tostring mid-loop: the guards fail and the
  // interpreter makes the call, running the metamethods.
  same_all_ways(R"lua(
    local out, h = {}, 0
    local repl = { a = "A" }
    local list = { "p", "q", "r" }
    for i = 1, 200 do
      if i == 120 then
        setmetatable(repl, { __index = function(_, k) return "<" .. k .. ">" end })
        setmetatable(list, { __index = function(_, k) return "z" .. k end })
      end
      if i == 150 then debug.setmetatable(0, { __tostring = function(n) return "n" end }) end
      local s = ("abc" .. i):gsub("%a", repl)
      local c = table.concat(list, ",", 1, 4 - (i < 120 and 1 or 0))
      local n = 0
      for k in pairs(list) do n = n + k end
      local g = ("x7"):gsub("()(%d)", "%1")
      h = h + #s + #c + n + #g
      if i % 40 == 0 then out[#out + 1] = s .. c .. g end
    end
    debug.setmetatable(0, nil)
    return h .. " " .. table.concat(out, ";"))lua");
}

TEST_CASE("a loop of allocating native calls in a trace still collects", "[jit][ncall]") {
  // Each NCALL runs with the collector paused; without the guard before it
  // that leaves for the interpreter when a step is due, this loop kept
  // every string it made (160 MB here; 3 GB at 200000 rounds).
  const char* src =
      "local s = string.rep('abcdefgh', 1000)\n"
      "local n = 0\n"
      "for i = 1, 20000 do n = n + #string.upper(s) end\n"
      "return n .. ' ' .. tostring(collectgarbage('count') < 20000)";
  for (Mode m : {Mode::off, Mode::low, Mode::stress}) {
    Run r = jit_test::run(src, m, "=ncall");
    CHECK(r.out == "160000000 true");
    if (m != Mode::off) CHECK(r.stats.traces_compiled >= 1);
  }
}

TEST_CASE("tonumber of a string alone, converted in place, gives lua5.4's values", "[jit][ncall][tonumber]") {
  // b_tonumber's in-place path: spaces, hex, exponents, an embedded zero,
  // an integer overflowing to a float, and the texts that are no number.
  Run r = same_all_ways(R"lua(
    local cases = { " 10 ", "0x10", "1e2", "10\0", "", "abc", "-0", "0x", "1.5", " -7.25e-1\t",
                    "9223372036854775808", "inf", ".5", "5.", "0x1p4", "12" }
    local out = {}
    for i = 1, 200 do
      local s = cases[i % #cases + 1]
      local v = tonumber(s)
      if i > 184 then out[#out + 1] = tostring(v) .. ":" .. (math.type(v) or type(v)) end
    end
    return table.concat(out, " "))lua");
  CHECK(r.out ==
        "-0.725:float 9.2233720368548e+18:float nil:nil 0.5:float 5.0:float 16.0:float 12:integer 10:integer "
        "16:integer 100.0:float nil:nil nil:nil nil:nil 0:integer nil:nil 1.5:float");
}
