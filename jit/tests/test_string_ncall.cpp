// String library calls that traces make in place (NCALL, record_native.cpp)
// beyond json's: gmatch's iterator (a native closure) in a generic for,
// string.format with %s, tostring of strings and floats. Each program runs
// with the JIT off, with low thresholds and in stress mode, and must give the
// same output; the counts checked show the loops ran compiled (without these
// calls they aborted or stitched, one exit per call).
#include <catch2/catch.hpp>

#include <string>

#include "jit_run.hpp"

using luna::jit_test::Run;
using luna::jit_test::same_all_ways;

TEST_CASE("a generic for over gmatch calls the iterator from the trace", "[jit][ncall][gmatch]") {
  Run r = same_all_ways(R"lua(
    local words = { "alpha", "beta", "gamma", "delta" }
    local lines = {}
    for i = 1, 300 do
      local l = {}
      for j = 1, 12 do l[j] = words[(i * j) % 4 + 1] end
      lines[i] = table.concat(l, " ") .. " " .. i
    end
    local n, m, p = 0, 0, 0
    for i = 1, #lines do
      for w in lines[i]:gmatch("%a+") do n = n + #w end
      for x, y in lines[i]:gmatch("(%a)(%a)%s") do
        if x == y then m = m + 1 end
      end
      for a, d, b in lines[i]:gmatch("()(%d)()") do p = p + a * b + #d end
    end
    return n .. " " .. m .. " " .. p)lua", "=strings");
  // Before, each loop's continuation stitched at the iterator's call and was
  // given up on (aborts), or exited once per match.
  INFO(r.stats.exits_taken << " exits, " << r.stats.traces_aborted << " aborts");
  CHECK(r.stats.traces_aborted <= 2);  // the builder's inner loop, a loop left
  CHECK(r.stats.exits_taken < 1200);
}

TEST_CASE("gmatch iterators called from traces: empty matches, anchors, starts, errors", "[jit][ncall][gmatch][errors]") {
  same_all_ways(R"lua(
    local out = {}
    for i = 1, 60 do
      local s = ("ab1 c22 d333 "):rep(i % 4 + 1)
      local t = {}
      for e in s:gmatch("%d*") do t[#t + 1] = #e end
      for w in s:gmatch("^%a+") do t[#t + 1] = w end
      for w in s:gmatch("%a%d+", i % 7 - 3) do t[#t + 1] = w end
      out[#out + 1] = table.concat(t, ",")
    end
    -- An unfinished capture raises after the iterator moved on (as 5.4):
    -- each call of a caught iterator raises at the next position.
    local it = ("aaaa"):gmatch("(a")
    for i = 1, 8 do
      local ok, e = pcall(it)
      out[#out + 1] = tostring(ok) .. ":" .. tostring(e)
    end
    local ok, e = pcall(function()
      local k = 0
      for i = 1, 50 do
        for x in ("xyz" .. i):gmatch(i < 40 and "%a" or "(%a") do k = k + #x end
      end
      return k
    end)
    out[#out + 1] = tostring(ok) .. ":" .. tostring(e)
    return table.concat(out, "\n"))lua", "=strings");
}

TEST_CASE("string.format with %s of strings and numbers runs in the trace", "[jit][ncall][format]") {
  Run r = same_all_ways(R"lua(
    local fmt, h = string.format, 0
    local out = {}
    for i = 1, 400 do
      local a = fmt("%d:%5d|%-6s|%x", i, i % 1000, "k" .. (i % 13), i * 7)
      local b = fmt("%.3f %s %s", i / 7, "tail", i * 0.5)
      local c = fmt("[%10.3s]%s", "abcdef", i)
      h = (h * 31 + #a + #b + #c) % 1000000007
      if i % 100 == 0 then out[#out + 1] = a .. b .. c end
    end
    return h .. " " .. table.concat(out, ";"))lua", "=strings");
  INFO(r.stats.exits_taken << " exits");
  // Stitched, each format was an exit: over 1000.
  CHECK(r.stats.exits_taken < 100);
}

TEST_CASE("tostring of strings and floats in traces", "[jit][ncall][tostring]") {
  Run r = same_all_ways(R"lua(
    local h, out = 0, {}
    for i = 1, 400 do
      local s = tostring("s" .. i) .. tostring(i / 8) .. tostring(i * 1e300) .. tostring(-0.0)
      h = (h * 31 + #s) % 1000000007
      if i % 100 == 0 then out[#out + 1] = s end
    end
    return h .. " " .. table.concat(out, ";"))lua", "=strings");
  INFO(r.stats.exits_taken << " exits");
  CHECK(r.stats.exits_taken < 100);
}

TEST_CASE("__tostring on strings and numbers appearing mid-loop reaches %s and tostring", "[jit][ncall][format]") {
  same_all_ways(R"lua(
    local fmt, out = string.format, {}
    local smt = getmetatable("")
    for i = 1, 300 do
      if i == 100 then smt.__tostring = function(s) return "<" .. #s .. ">" end end
      if i == 150 then smt.__tostring = nil end
      -- The key is still there, its value nil: storing into it again.
      if i == 170 then smt.__tostring = function(s) return "again" end end
      if i == 185 then smt.__tostring = nil end
      if i == 200 then debug.setmetatable(0, { __tostring = function(n) return "num" end }) end
      if i == 250 then debug.setmetatable(0, nil) end
      local a = fmt("%s|%s|%5s", "v" .. i, i, "w")
      local b = tostring("t" .. i) .. tostring(i + 0.5)
      if i % 10 == 0 then out[#out + 1] = a .. b end
    end
    -- A string metatable replaced by one with __tostring, then restored.
    local saved = getmetatable("")
    for i = 1, 60 do
      if i == 20 then debug.setmetatable("", { __index = string, __tostring = function() return "S" end }) end
      if i == 40 then debug.setmetatable("", saved) end
      out[#out + 1] = fmt("%s", "x") .. tostring("y")
    end
    return table.concat(out, ";"))lua", "=strings");
}

TEST_CASE("concatenation of floats runs in the trace", "[jit][concat]") {
  Run r = same_all_ways(R"lua(
    local t, h = {}, 0
    for i = 1, 300 do
      local x = i / 8
      local s = "v" .. x .. ":" .. (i * 0.1) .. "|" .. (-0.0) .. (1 / 0) .. (i * 1e300) .. 2 ^ 53
      local u, w = x .. "", "a" .. 1.5
      h = (h * 31 + #s + #u + #w) % 1000000007
      if i % 60 == 0 then t[#t + 1] = s .. u .. w end
    end
    return h .. " " .. table.concat(t, ";"))lua", "=strings");
  INFO(r.stats.traces_aborted << " aborts");
  CHECK(r.stats.traces_compiled >= 1);
  // Before, each CONCAT with a float aborted its recording.
  CHECK(r.stats.traces_aborted == 0);
  // Pieces that change from integers to floats, and floats in a result too
  // long for the buffer (left to the interpreter).
  same_all_ways(R"lua(
    local t, big = {}, string.rep("x", 1100)
    for i = 1, 40 do
      local v = i < 20 and i or i + 0.25
      t[#t + 1] = #(big .. v .. v) .. ("=" .. v .. "," .. -v)
    end
    return table.concat(t, ";"))lua", "=strings");
}

TEST_CASE("string.format of a constant format is recorded, not called", "[jit][format]") {
  const char* src = R"lua(
    local fmt, out = string.format, {}
    for i = 1, 300 do
      local a = fmt("%d:%5d|%-6s|%x|%c", i, i % 1000, "k" .. (i % 13), i * 7, 65 + i % 26)
      local b = fmt("%.3f %8.2f %s %e%%", i / 7, i * 0.25, "tail", i * 1e10)
      local c = fmt("[%3d%%] %05d %-+4d %#X %s %s", i % 100, i % 99999, i - 150, i, i / 4, i)
      if i % 20 == 0 then out[#out + 1] = a .. b .. c end
    end
    return table.concat(out, ";"))lua";
  Run r = same_all_ways(src, "=strings");
  CHECK(r.stats.exits_taken < 20);
  std::vector<std::string> traces = luna::jit_test::traces_of(src);
  REQUIRE(!traces.empty());
  // The format's conversions as buffer helpers, no call of the library.
  CHECK(luna::jit_test::count(traces[0], "NCALL") == 0);
  CHECK(luna::jit_test::count(traces[0], "buf_fmt_int") >= 8);
  CHECK(luna::jit_test::count(traces[0], "buf_fmt_num") >= 3);
}

TEST_CASE("what string.format rejects in a trace is raised by the interpreter", "[jit][format]") {
  // A string with zeros reaching "%5s", a huge result, then too few arguments.
  same_all_ways(R"lua(
    local fmt, out = string.format, {}
    local strs = { "a", "bb", "c\0c" }
    local ok, e = pcall(function()
      for i = 1, 60 do out[#out + 1] = fmt("<%5s|%d>", strs[i // 25 + 1], i) end
    end)
    out[#out + 1] = tostring(ok) .. " " .. e
    for i = 1, 40 do out[#out + 1] = #fmt("%99d%s", i, string.rep("x", i < 30 and 10 or 1000)) end
    ok, e = pcall(function()
      local args = { 1, 2 }
      for i = 1, 40 do out[#out + 1] = fmt("%d %d", args[1], args[i < 30 and 2 or 3]) end
    end)
    out[#out + 1] = tostring(ok) .. " " .. e
    return table.concat(out, ";"))lua", "=strings");
}

TEST_CASE("errors raised by natives called from traces reach the right pcall and handler", "[jit][ncall][errors]") {
  // native_call catches the callee's error with a plain try block (no
  // run_protected of its own): the error must not jump to the enclosing
  // pcall, whose handler must run once, for the interpreter's call only,
  // and the trace must go on after each caught error.
  same_all_ways(R"lua(
    local out, handled = {}, 0
    local pats = { "%a+", "%d+", "[a-", "(%a", "%w+" }
    local function handler(m) handled = handled + 1; return "h:" .. m end
    for i = 1, 200 do
      local s = "word" .. i .. " rest"
      local ok, e = xpcall(function()
        local n = 0
        for j = 1, 40 do
          local a, b = string.find(s, pats[(i + j) % 5 + 1], j % 3 + 1)
          n = n + (a or 0) + (b or 0) + #string.sub(s, j % 4, -j % 5)
        end
        return n
      end, handler)
      out[#out + 1] = tostring(ok) .. ":" .. tostring(e)
      ok, e = pcall(string.rep, s, i % 3, 1 + (i > 150 and {} or 0))
      out[#out + 1] = tostring(ok) .. ":" .. tostring(e):sub(1, 40)
    end
    out[#out + 1] = handled
    return table.concat(out, ";"))lua", "=strings");
}

TEST_CASE("natives called from traces give every result count, fewer results than wanted padded", "[jit][ncall]") {
  // native_call_for: 0, 1 and 2 results end the frame in native_call, the
  // other counts (3, all) through precall_native; the leaf's frame set up
  // on a CallInfo the deep recursion below has just made, or made anew.
  same_all_ways(R"lua(
    local out = {}
    local function walk(d, s)
      if d > 0 then return walk(d - 1, s) + 1 end
      local n = 0
      for i = 1, 40 do
        s:find("x")
        local a = s:find("b", i % 5 + 1)
        local p, q = s:find("z")
        local u, v = s:find("c", 1, true)
        local e, f, g = s:find("(b)(c)")
        local h, k, l = s:find("q(b)")
        local t = { s:find("(a)(b)(c)") }
        local nk, nv = next({}, nil)
        n = n + (a or 0) + (p or 0) + (q and 1 or 0) + u + v + e + f + #g + (h or 0) + (k or 0) +
            (l and 1 or 0) + #t + (nk == nil and nv == nil and 1 or 0)
      end
      return n
    end
    for d = 0, 60, 6 do out[#out + 1] = walk(d, ("abcab"):rep(d % 3 + 1)) end
    return table.concat(out, " "))lua", "=counts");
}

TEST_CASE("string.find of a one-item pattern searches in the trace, without a call", "[jit][ncall][find]") {
  const char* src = R"lua(
    local subjects = { "  {\"k\": 1}", "abc\"def\\g", "", "xyz", "\200\201a b\t\n", "q\0\"r" }
    local pats = { "[^ \n\t]", '["\\]', "%d", "b", "[\128-\255]", "%A", "\0" }
    local out, h = {}, 0
    for i = 1, 300 do
      local s = subjects[i % #subjects + 1]
      local init = i % 9 - 4
      local a = s:find("[^ \n\t]", init)
      local b, c = s:find('["\\]', i % 5)
      local d = s:find("%d")
      local e = string.find(s, "b", init)
      h = (h * 31 + (a or 0) * 7 + (b or 0) * 5 + (c or 0) * 3 + (d or 0) + (e or 0) * 11) % 1000000007
      -- A pattern changing under the same call (its guard exits).
      local p = pats[(i // 40) % #pats + 1]
      local f = s:find(p, i % 3 + 1)
      if i % 25 == 0 then out[#out + 1] = tostring(a) .. tostring(b) .. tostring(c) .. tostring(d) .. tostring(f) end
    end
    return h .. ":" .. table.concat(out, ","))lua";
  Run r = same_all_ways(src, "=find");
  INFO(r.stats.exits_taken << " exits");
  std::vector<std::string> traces = luna::jit_test::traces_of(src);
  REQUIRE(!traces.empty());
  CHECK(luna::jit_test::count(traces[0], "str_find_item") >= 4);
  CHECK(luna::jit_test::count(traces[0], "NCALL") == 0);
}

TEST_CASE("string.find of an anchored chain of items matches in the trace, without a call", "[jit][ncall][find]") {
  // Backtracking into '?' and '+', lazy '-', empty matches at and past the
  // end, bytes above 127, a '-' inside a set, patterns changing at the call.
  const char* src = R"lua(
    local subjects = { "-12.5e+3,", "42", "", "-", "--1", "abc", "1e5x", "\200-9", "  7", "-x", "+-+", "3.", "ee-" }
    local pats = { "^-?[%d.eE+-]+", "^%d*", "^-?%d+", "^[+-]?%d-e", "^.-%d", "^%a*%d?", "^-+-", "^\200?-9" }
    local out, h = {}, 0
    for i = 1, 400 do
      local s = subjects[i % #subjects + 1]
      local init = i % 4 + 1
      local a, b = s:find("^-?[%d.eE+-]+", init)
      local c, d = s:find("^%d*")
      local e = s:find("^-?%d+", i % 3 + 1)
      local p = pats[(i // 50) % #pats + 1]
      local f, g = s:find(p, i % 2 + 1)
      h = (h * 31 + (a or 0) * 7 + (b or 0) * 5 + (c or 0) * 3 + (d or 0) + (e or 0) * 11 + (f or 0) * 13 + (g or 0) * 17) % 1000000007
      if i % 23 == 0 then out[#out + 1] = tostring(a) .. tostring(b) .. tostring(c) .. tostring(d) .. tostring(e) .. tostring(f) .. tostring(g) end
    end
    -- init below 1 (the guard exits): the library's
    for i = 1, 40 do
      local a, b = ("x12"):find("^%d+", i % 5 - 2)
      out[#out + 1] = tostring(a) .. tostring(b)
    end
    return h .. ":" .. table.concat(out, ","))lua";
  Run r = same_all_ways(src, "=chain");
  CHECK(r.out.rfind("328749787:nilnil10nil23,33102nilnil,", 0) == 0);  // lua5.4's
  std::vector<std::string> traces = luna::jit_test::traces_of(src);
  REQUIRE(!traces.empty());
  CHECK(luna::jit_test::count(traces[0], "str_find_chain") >= 3);
  CHECK(luna::jit_test::count(traces[0], "NCALL") == 0);
}

TEST_CASE("gsub of a one-item pattern with a table replaces in the trace, without a call", "[jit][ncall][gsub]") {
  const char* src = R"lua(
    local escapes = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\t'] = false, x = 7 }
    local long = string.rep("ab\"c", 30)
    local huge = string.rep("\"", 300)
    local subjects = { "plain", "say \"hi\"\n", "tab\there", "back\\slash\1", "", long, "x marks", huge, "\"" }
    local out, h = {}, 0
    for i = 1, 300 do
      local s = subjects[i % #subjects + 1]
      -- the number for "x" is the library's (its text), as is a result past 512 bytes
      local p = i > 200 and "[x\"]" or '[%c"\\]'
      local r = '"' .. s:gsub(p, escapes) .. '"'
      h = (h * 31 + #r + r:byte(#r // 2 + 1)) % 1000000007
      if i % 37 == 0 then out[#out + 1] = r:sub(1, 60) end
    end
    local mt = setmetatable({}, { __index = function(_, k) return "<" .. k:byte() .. ">" end })
    for i = 1, 40 do out[#out + 1] = ("a\"b"):gsub('"', i < 30 and escapes or mt) end
    return h .. ":" .. table.concat(out, ","))lua";
  Run r = same_all_ways(src, "=gsub");
  std::vector<std::string> traces = luna::jit_test::traces_of(src);
  REQUIRE(!traces.empty());
  CHECK(luna::jit_test::count(traces[0], "str_gsub_item") >= 1);
}
