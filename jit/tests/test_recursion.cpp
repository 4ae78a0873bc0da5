// Function traces (record_recursion.cpp): recursive functions run compiled,
// their self-calls as native calls of the function's trace with real frames.
// Each program runs with the JIT off, with low thresholds and in stress
// mode; results, error messages and tracebacks must be identical.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "jit_run.hpp"
#include "state.hpp"

using namespace luna;

namespace {

using jit_test::Mode;
using jit_test::Run;
using jit_test::count;
using jit_test::traces_of;

Run run(const std::string& src, Mode mode) { return jit_test::run(src, mode, "=rec"); }

// The low-threshold run, after checking all three agree and that it ran
// compiled code.
Run same_all_ways(const std::string& src) {
  Run off = run(src, Mode::off);
  Run low = run(src, Mode::low);
  Run stress = run(src, Mode::stress);
  INFO(off.out);
  CHECK(low.out == off.out);
  CHECK(stress.out == off.out);
  CHECK(low.stats.traces_compiled >= 1);
  CHECK(low.stats.entries >= 1);
  return low;
}

}  // namespace

TEST_CASE("recursive functions run as function traces with native calls", "[jit][recursion]") {
  Run r = same_all_ways(
      "local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end\n"
      "local function ack(m, k)\n"
      "  if m == 0 then return k + 1 end\n"
      "  if k == 0 then return ack(m - 1, 1) end\n"
      "  return ack(m - 1, ack(m, k - 1))\n"
      "end\n"
      "local function sum(n, acc) if n == 0 then return acc end return sum(n - 1, acc + n) end\n"
      "return fib(22) .. ' ' .. ack(2, 30) .. ' ' .. ack(3, 4) .. ' ' .. sum(100000, 0) .. ' ' .. fib(20.0)");
  CHECK(r.out == "17711 63 125 5000050000 6765.0");
  // Once the side traces exist the recursion runs in compiled code, entered
  // once per call from the interpreter.
  Run f = same_all_ways(
      "local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end\n"
      "local s = 0\n"
      "for i = 1, 20 do s = s + fib(20) end\n"
      "return tostring(s)");
  CHECK(f.out == "135300");
  CHECK(f.stats.entries < 200);
}

TEST_CASE("results as the caller wants them, fixed and variable", "[jit][recursion]") {
  same_all_ways(
      "local function f(n)\n"
      "  if n <= 0 then return n, n * 2, n * 3 end\n"
      "  if n % 3 == 0 then return f(n - 1) end\n"
      "  local a, b = f(n - 1)\n"
      "  local c = f(n - 2)\n"
      "  return a + c, b\n"
      "end\n"
      "local function g(n, ...)\n"
      "  return select('#', ...), ...\n"
      "end\n"
      "local function h(n) if n == 0 then return 7 end return h(n - 1), n end\n"
      "local function k(n) if n == 0 then return 1 end return k(n - 1, h(n % 4)) end\n"
      "local out = {}\n"
      "for i = 1, 20 do out[#out + 1] = table.concat({f(i)}, ',') .. ';' .. g(0, f(i)) .. ';' .. k(i) end\n"
      "return table.concat(out, ' ')");
}

TEST_CASE("deep recursion still overflows with a Lua error", "[jit][recursion]") {
  Run r = same_all_ways(
      "local function down(n) if n == 0 then return 0 end return 1 + down(n - 1) end\n"
      "local function inf(n) return 1 + inf(n + 1) end\n"
      "local ok, e = pcall(inf, 1)\n"
      "local ok2, e2 = pcall(inf, 1)\n"
      "return tostring(ok) .. ' ' .. tostring(e):gsub('^.-:%d+: ', '') .. ' ' .. tostring(ok2) .. ' ' .. down(50000) ..\n"
      "  ' ' .. down(60000)");
  CHECK(r.out.find("false stack overflow") == 0);
  CHECK(r.out.find("50000") != std::string::npos);
}

TEST_CASE("an error deep in compiled recursion has the interpreter's traceback", "[jit][recursion]") {
  Run r = same_all_ways(
      "local function f(n, e)\n"
      "  if n == 0 then if e then error('bottom') end return 0 end\n"
      "  return f(n - 1, e) + 1\n"
      "end\n"
      "local function t(n, acc)\n"
      "  if n == 0 then return debug.traceback('tail') end\n"
      "  return t(n - 1, acc + 1)\n"
      "end\n"
      "local out = {}\n"
      "for i = 1, 30 do out[#out + 1] = f(i % 5 + 1) end\n"
      "local ok, tb = xpcall(f, debug.traceback, 40, true)\n"
      "out[#out + 1] = tb\n"
      "for i = 1, 30 do t(i, 0) end\n"
      "out[#out + 1] = t(20, 0)\n"
      "out[#out + 1] = select(2, pcall(f, 3, true))\n"
      "return table.concat(out, '|')");
  CHECK(r.out.find("rec:2: bottom\nstack traceback:") != std::string::npos);
  CHECK(r.out.find("(...tail calls...)") != std::string::npos);
}

TEST_CASE("hooks and budgets see every call of compiled recursion", "[jit][recursion]") {
  same_all_ways(
      "local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end\n"
      "local x = fib(20)\n"
      "local calls = 0\n"
      "debug.sethook(function() calls = calls + 1 end, 'c')\n"
      "local y = fib(15)\n"
      "debug.sethook()\n"
      "return x .. ' ' .. y .. ' ' .. calls");
  // An instruction budget interrupts compiled recursion.
  Vm vm;
  vm.set_jit_options(JitOptions::stress());
  vm.eval("fib = function(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end fib(20)");
  vm.set_instruction_limit(100000);
  CHECK_THROWS_WITH(vm.eval("return fib(40)"), Catch::Contains("instruction budget exhausted"));
}

TEST_CASE("loops call recursive functions through their function traces", "[jit][recursion][callout]") {
  // binary_trees: the loop's trace calls out to both function traces.
  same_all_ways(
      "local function build(d) if d == 0 then return {} end d = d - 1 return {build(d), build(d)} end\n"
      "local function check(t) if t[1] then return 1 + check(t[1]) + check(t[2]) end return 1 end\n"
      "local c = 0\n"
      "for i = 1, 200 do c = c + check(build(i % 7)) end\n"
      "return tostring(c)");
  // Once the loop's trace calls out, the seam enters it once, not per call.
  Run r = same_all_ways(
      "local function tri(n) if n == 0 then return 0 end return n + tri(n - 1) end\n"
      "for i = 1, 40 do tri(10) end\n"
      "local s = 0\n"
      "for i = 1, 3000 do s = s + tri(i % 20) end\n"
      "return tostring(s)");
  CHECK(r.out == "199500");
  CHECK(r.stats.entries < 300);
  // Mutual recursion: each function trace calls out to the other's; results
  // wanted in other numbers than returned, and a float argument later on.
  same_all_ways(
      "local odd\n"
      "local function even(n) if n == 0 then return true, n end return odd(n - 1) end\n"
      "function odd(n) if n == 0 then return false end local r = even(n - 1) return r end\n"
      "local function two(n) if n <= 0 then return 1, 2, 3 end local a, b = two(n - 1) return a + b, b end\n"
      "local out = {}\n"
      "for i = 1, 60 do out[#out + 1] = tostring(even(i)) .. tostring(odd(i % 9)) .. two(i % 6) end\n"
      "for i = 1, 20 do out[#out + 1] = tostring(even(i + 0.0)) .. select('#', two(i % 3)) end\n"
      "return table.concat(out, ' ')");
}

TEST_CASE("recursion called from a loop's trace overflows, errs and hooks as interpreted", "[jit][recursion][callout]") {
  Run r = same_all_ways(
      "local function down(n) if n == 0 then return 0 end return 1 + down(n - 1) end\n"
      "local function f(n, e)\n"
      "  if n == 0 then if e then error('bottom') end return 0 end\n"
      "  return f(n - 1, e) + 1\n"
      "end\n"
      "local out = {}\n"
      "local ok, e = pcall(function()\n"
      "  local s = 0\n"
      "  for i = 1, 100 do s = s + down(i * 40000) end\n"
      "  return s\n"
      "end)\n"
      "out[#out + 1] = tostring(ok) .. ' ' .. tostring(e):gsub('^.-:%d+: ', '')\n"
      "local ok2, tb = xpcall(function()\n"
      "  local s = 0\n"
      "  for i = 1, 100 do s = s + f(i % 10 + 1, i == 90) end\n"
      "  return s\n"
      "end, debug.traceback)\n"
      "out[#out + 1] = tb\n"
      "local calls = 0\n"
      "local s = 0\n"
      "for i = 1, 100 do\n"
      "  if i == 50 then debug.sethook(function() calls = calls + 1 end, 'c') end\n"
      "  if i == 70 then debug.sethook() end\n"
      "  s = s + down(i % 8)\n"
      "end\n"
      "out[#out + 1] = s .. ' ' .. calls\n"
      "return table.concat(out, '|')");
  CHECK(r.out.find("false stack overflow") == 0);
  CHECK(r.out.find("rec:3: bottom\nstack traceback:") != std::string::npos);
}

TEST_CASE("slots a callee may change through an upvalue are guarded again after a CALLOUT", "[jit][recursion][callout]") {
  // x is captured by set, which the recursion calls: after the CALLOUT the
  // loop reads x again with a tag guard; y is captured by no closure.
  Run r = same_all_ways(
      "local x, y = 0, 0\n"
      "local function set(v) x = v end\n"
      "local cnt = 0\n"
      "local function r(n)\n"
      "  if n == 0 then cnt = cnt + 1 if cnt % 10 == 0 then set('s') else set(1) end return 0 end\n"
      "  return r(n - 1) + 1\n"
      "end\n"
      "local out, sums = {}, {}\n"
      "for i = 1, 200 do\n"
      "  x = i\n"
      "  y = i % 7 == 0 and 1.5 or i\n"
      "  local k = r(3)\n"
      "  out[#out + 1] = type(x)\n"
      "  sums[#sums + 1] = y + k\n"
      "end\n"
      "for i = 1, #sums do out[#out + 1] = math.type(sums[i]) end\n"
      "return table.concat(out, ' ')");
  CHECK(r.out.find("string") != std::string::npos);
  CHECK(r.out.find("float") != std::string::npos);
}

TEST_CASE("CALLOUTs reserve the CallInfos their callee's inlined calls need", "[jit][recursion][callout]") {
  // r's traces inline h: each CALLOUT checks for a CallInfo above the
  // callee's; the CallInfos run out at the first deep call and the
  // interpreter allocates them, and overflows where it would.
  Run r = same_all_ways(
      "local function h(x, y) if y then return x + y end return x + 1 end\n"
      "local function r(n) if n == 0 then return 0 end local v = h(r(n - 1), n % 3 == 0 and n or nil) return v end\n"
      "local s = 0\n"
      "for i = 1, 300 do s = s + r(i % 40) end\n"
      "local d = r(5000)\n"
      "local ok, e = pcall(r, 1e7)\n"
      "return s .. ' ' .. d .. ' ' .. tostring(ok) .. ' ' .. tostring(e):gsub('^.-:%d+: ', '')");
  CHECK(r.out.find("false stack overflow") != std::string::npos);
}

TEST_CASE("side traces return below their frame into their callers", "[jit][recursion][side]") {
  // fannkuch's shape: the loop of `inner` ends and returns to `middle`,
  // which returns to the loop of `outer`; the side trace of the exit that
  // ends inner's loop returns through both frames and links to outer's
  // loop. An error raised after an exit in middle's part of it has the
  // interpreter's traceback.
  Run r = same_all_ways(
      "local function inner(t, n)\n"
      "  local s = 0\n"
      "  for i = 1, n do s = s + t[i] end\n"
      "  return s, n\n"
      "end\n"
      "local count = 0\n"
      "local function middle(t, n)\n"
      "  local s, m = inner(t, n)\n"
      "  count = count + 1\n"
      "  if count == 150 then return s + nil end\n"
      "  return s + m\n"
      "end\n"
      "local function outer(t)\n"
      "  local total = 0\n"
      "  for k = 1, 200 do total = total + middle(t, k % 7 + 1) end\n"
      "  return total\n"
      "end\n"
      "local t = {}\n"
      "for i = 1, 10 do t[i] = i * 3 end\n"
      "local ok, e = xpcall(outer, debug.traceback, t)\n"
      "count = 1000\n"
      "return tostring(e) .. '|' .. outer(t) .. '|' .. outer(t)");
  CHECK(r.out.find("rec:10: attempt to perform arithmetic on a nil value\nstack traceback:") == 0);
  CHECK(r.out.find("in upvalue 'middle'") != std::string::npos);
}

// TruthCalls counts a Lua order function's entries and the backend
// compiles its frame like a recursive one: table.sort runs it compiled.
TEST_CASE("table.sort's order function runs as a function trace", "[jit][recursion][sort]") {
  Run r = same_all_ways(
      "local function data(n) local t = {} for i = 1, n do t[i] = (i * 7919) % 1009 + i / (n + 1) end return t end\n"
      "local recs = {}\n"
      "for i = 1, 300 do recs[i] = {g = (i * 31) % 7, id = i} end\n"
      "table.sort(recs, function(a, b) if a.g ~= b.g then return a.g < b.g end return a.id > b.id end)\n"
      "local t = data(300)\n"
      "table.sort(t, function(a, b) return a > b end)\n"
      "local n = 0\n"
      "local ok, e = pcall(table.sort, data(300), function(a, b) n = n + 1 if n == 1500 then return a.x end return a < b end)\n"
      "local m = data(200) m[150] = 'x'\n"
      "local ok2, e2 = pcall(table.sort, m, function(a, b) return a < b end)\n"
      "return recs[1].id .. ' ' .. recs[300].id .. ' ' .. t[1] .. ' ' .. t[300] .. ' ' .. tostring(e) .. ' ' .. tostring(e2)");
  CHECK(r.out == "294 2 1006.9202657807 1.8106312292359 rec:8: attempt to index a number value (local 'a') "
                 "rec:10: attempt to compare string with number");
  CHECK(r.stats.entries >= 100);
}

// An order function with a trace is entered straight from table.sort
// (jit_enter_function); a hook set mid-sort, a full stack below nested
// sorts and a trace that leaves early each take the counted path or the
// interpreter, with the same results, hook counts and errors.
TEST_CASE("a compiled order function entered from table.sort steps aside as needed", "[jit][recursion][sort]") {
  Run r = same_all_ways(
      "local function data(n) local t = {} for i = 1, n do t[i] = (i * 7919) % 1009 + i / (n + 1) end return t end\n"
      "local n, hooks = 0, 0\n"
      "local t = data(400)\n"
      "table.sort(t, function(a, b)\n"
      "  n = n + 1\n"
      "  if n == 1500 then debug.sethook(function() hooks = hooks + 1 end, 'c') end\n"
      "  if n == 1600 then debug.sethook() end\n"
      "  return a > b\n"
      "end)\n"
      "local m = data(300)\n"
      "m[17], m[230] = 'a', 'b'\n"
      "local ok, e = pcall(table.sort, m, function(a, b) return a < b end)\n"
      "local mixed = data(300)\n"
      "for i = 1, 300, 3 do mixed[i] = math.floor(mixed[i]) end\n"
      "table.sort(mixed, function(a, b) if math.type(a) == 'integer' and math.type(b) == 'integer' then return a < b end return a + 0.0 < b + 0.0 end)\n"
      "local depth = 0\n"
      "local function nest(a, b)\n"
      "  depth = depth + 1\n"
      "  if depth < 100000 then table.sort({3, 1, 2}, nest) end\n"
      "  return a < b\n"
      "end\n"
      "local ok2, e2 = pcall(table.sort, data(50), nest)\n"
      "return n .. ' ' .. hooks .. ' ' .. t[1] .. ' ' .. t[400] .. ' ' .. tostring(e) .. ' ' .. mixed[1] .. ' ' ..\n"
      "  mixed[300] .. ' ' .. tostring(ok2) .. ' ' .. tostring(e2) .. ' ' .. depth");
  CHECK(r.out.find(" rec:12: attempt to compare ") != std::string::npos);
  CHECK(r.out.find("C stack overflow") != std::string::npos);
  CHECK(r.stats.entries >= 100);
}

// TruthCalls keeps the CallInfo after the sort's and how many follow it
// for the whole sort: in a fresh coroutine (a short CallInfo list) an order
// function that calls others, deeper on some calls and erroring on the
// last, needs more frames as the sort goes on; each of its traces finds
// them made, and a second sort in the same thread starts from nothing.
TEST_CASE("an order function's frames grow under one table.sort", "[jit][recursion][sort]") {
  Run r = same_all_ways(
      "local function data(n) local t = {} for i = 1, n do t[i] = (i * 7919) % 1009 + i / (n + 1) end return t end\n"
      "local function k0(x) return x end\n"
      "local function k1(x) return k0(x) end\n"
      "local function k2(x) return k1(x) end\n"
      "local calls = 0\n"
      "local function gt(a, b)\n"
      "  calls = calls + 1\n"
      "  if calls == 1500 then return k2(a).x end\n"
      "  if calls > 500 and calls % 3 == 0 then return k2(a) > k1(b) end\n"
      "  return k0(a) > b\n"
      "end\n"
      "local co = coroutine.wrap(function()\n"
      "  local t = data(400)\n"
      "  local ok, e = pcall(table.sort, t, gt)\n"
      "  local u = data(300)\n"
      "  table.sort(u, gt)\n"
      "  return tostring(e) .. ' ' .. u[1] .. ' ' .. u[300]\n"
      "end)\n"
      "return co() .. ' ' .. calls");
  CHECK(r.out == "rec:8: attempt to index a number value 1006.9202657807 1.8106312292359 3911");
  CHECK(r.stats.entries >= 100);
}

// A compiled order function called from table.sort returns through the
// native return (Trace::native_return), which leaves L->top to the sort:
// a top one slot off would shift every operand the sort reads after it.
// Truthy results that are not booleans, a loop trace returning from the
// order function's frame and a side trace's return all come back in place.
TEST_CASE("a compiled order function's result and the sort's stack after its return", "[jit][recursion][sort]") {
  Run r = same_all_ways(
      "local function data(n) local t = {} for i = 1, n do t[i] = (i * 7919) % 1009 + i / (n + 1) end return t end\n"
      "local function check(t, gt) for i = 2, #t do if gt(t[i], t[i - 1]) then return 'unsorted at ' .. i end end\n"
      "  local s = 0 for i = 1, #t do s = s + t[i] end return string.format('%.6f', s) end\n"
      "local out = {}\n"
      "local a = data(500)\n"
      "table.sort(a, function(x, y) if x > y then return x end return nil end)\n"
      "out[#out + 1] = check(a, function(x, y) return x > y end)\n"
      "local b = data(500)\n"
      "table.sort(b, function(x, y) return x < y and 1 or false end)\n"
      "out[#out + 1] = check(b, function(x, y) return x < y end)\n"
      "local c = data(300)\n"
      "table.sort(c, function(x, y) local s = 0 for i = 1, 40 do s = s + i end return x + s < y + s end)\n"
      "out[#out + 1] = check(c, function(x, y) return x < y end)\n"
      "local d = data(400)\n"
      "for i = 1, 400, 2 do d[i] = math.floor(d[i]) * 2 end\n"
      "table.sort(d, function(x, y) if math.type(x) == 'integer' and math.type(y) == 'integer' then return x < y end return x + 0.0 < y + 0.0 end)\n"
      "out[#out + 1] = check(d, function(x, y) return x < y end)\n"
      "out[#out + 1] = select('#', table.sort(data(100), function(x, y) return x > y end))\n"
      "return table.concat(out, ' ')");
  CHECK(r.out == "252178.000000 252178.000000 152173.000000 304252.249377 0");
  CHECK(r.stats.entries >= 100);
}

TEST_CASE("deep compiled recursion returns, errs and yields as interpreted", "[jit][recursion][callret]") {
  // Thousands of CALLOUT frames deep, most of them new depths whose
  // CallInfos the CALLOUT allocates: returns with two results, errors and
  // tracebacks through all of them, also in a coroutine.
  Run r = same_all_ways(
      "local function down(n) if n == 0 then return 0 end return 1 + down(n - 1) end\n"
      "local function f(n, e)\n"
      "  if n == 0 then if e then error('bottom ' .. e) end return 0 end\n"
      "  local a, b = f(n - 1, e)\n"
      "  return a + 1, n\n"
      "end\n"
      "local out = {}\n"
      "for i = 1, 12 do out[#out + 1] = down(i * 1000) end\n"
      "for _, d in ipairs({10, 3000, 9000, 20000}) do\n"
      "  local ok, e = pcall(f, d, d)\n"
      "  out[#out + 1] = tostring(ok) .. ' ' .. tostring(e)\n"
      "  out[#out + 1] = table.concat({f(d)}, ',')\n"
      "end\n"
      "local ok, tb = xpcall(f, debug.traceback, 7000, 'deep')\n"
      "local levels = select(2, tb:gsub('\\n', '\\n'))\n"
      "out[#out + 1] = tb:sub(1, 120) .. ' ' .. levels\n"
      "local co = coroutine.wrap(function(n) coroutine.yield(down(n)) return f(n) end)\n"
      "out[#out + 1] = co(8000) .. ' ' .. co()\n"
      "return table.concat(out, '|')");
  CHECK(r.out.find("false rec:3: bottom 9000") != std::string::npos);
  CHECK(r.out.find("12000|") != std::string::npos);
  CHECK(r.out.find("rec:3: bottom deep\nstack traceback:") != std::string::npos);
}

TEST_CASE("CALLOUTs allocate the CallInfos of new depths without leaving", "[jit][recursion][callret]") {
  // Each level deeper than before needs a new CallInfo, which the CALLOUT
  // allocates itself (before, each such call left the trace and every frame
  // below it finished in the interpreter).
  const char* src =
      "local function ack(m, k)\n"
      "  if m == 0 then return k + 1 end\n"
      "  if k == 0 then return ack(m - 1, 1) end\n"
      "  return ack(m - 1, ack(m, k - 1))\n"
      "end\n"
      "local s = 0\n"
      "for i = 1, 3 do s = s + ack(2, 50 * i) + ack(3, 3 + i) end\n"
      "return tostring(s)";
  Run r = same_all_ways(src);
  CHECK(r.out == "1496");
  Run d = run(src, Mode::stress);
  CHECK(d.stats.exits_taken < 60);
  // At the memory limit the CALLOUT leaves and the interpreter raises.
  const char* deep =
      "local function down(n) if n == 0 then return 0 end return 1 + down(n - 1) end\n"
      "local t = {}\n"
      "for i = 1, 20 do t[i] = down(i) end\n"
      "local ok, e = pcall(down, 200000)\n"
      "return tostring(ok) .. ' ' .. tostring(e)";
  Run off = jit_test::run(deep, Mode::off, "=rec", 3u << 20);
  Run on = jit_test::run(deep, Mode::stress, "=rec", 3u << 20);
  CHECK(on.out == off.out);
  CHECK(off.out.find("false") == 0);
}

TEST_CASE("a self-call guarded by identity leaves when another closure of the prototype is called",
          "[jit][recursion][callret]") {
  // fib calls itself through fs[i]: the running closure while recorded
  // (a guard on identity), another closure of the same prototype once the
  // table entries are swapped (each then calls the other), and a function
  // of another prototype last.
  Run r = same_all_ways(
      "local fs = {}\n"
      "local function mk(i, scale)\n"
      "  return function(n) if n < 2 then return n * scale end return fs[i](n - 1) + fs[i](n - 2) end\n"
      "end\n"
      "fs[1], fs[2] = mk(1, 1), mk(2, 10)\n"
      "local out = {}\n"
      "for k = 1, 3 do out[#out + 1] = fs[1](18) .. ',' .. fs[2](18) end\n"
      "fs[1], fs[2] = fs[2], fs[1]\n"
      "for k = 1, 3 do out[#out + 1] = fs[1](18) .. ',' .. fs[2](18) end\n"
      "fs[1] = function(n) return n end\n"
      "out[#out + 1] = fs[2](18)\n"
      "return table.concat(out, ' ')");
  CHECK(r.out == "2584,25840 2584,25840 2584,25840 14212,14212 14212,14212 14212,14212 33");
}

TEST_CASE("compiled self-calls keep the running closure and leave the hook test to RET", "[jit][recursion][callout]") {
  // fib reads itself from its upvalue for each call; ack's outer call takes
  // itself from a slot below the inner call's. Each trace guards that
  // identity once (one `ptr CLOSURE` compared with the value read); after a
  // CALLOUT fib's upvalue is the frame's function slot (`gc CLOSURE`) behind
  // a test that no trace of fib assigns upvalues, ack's slot is known.
  std::vector<std::string> fib = traces_of(
      "local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end\n"
      "return fib(20)");
  std::vector<std::string> ack = traces_of(
      "local function ack(m, k)\n"
      "  if m == 0 then return k + 1 end\n"
      "  if k == 0 then return ack(m - 1, 1) end\n"
      "  return ack(m - 1, ack(m, k - 1))\n"
      "end\n"
      "return ack(2, 30) + ack(3, 4)");
  // The hook is tested once per call, by the RET (a CALLOUT of a function
  // trace does not).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
  const std::string hook_test = "cmp dword ptr [r12+" + std::to_string(offsetof(State, hookmask)) + "], 0";
#pragma GCC diagnostic pop
  int callouts = 0;
  for (const std::vector<std::string>* ts : {&fib, &ack})
    for (const std::string& t : *ts) {
      INFO(t);
      callouts += count(t, "CALLOUT");
      CHECK(count(t, "ptr   CLOSURE") <= 1);
      CHECK(count(t, "VLOAD") <= 1);
      // (A self tail call returning a base case in place tests it on
      // that path instead of the LOOP's: ack's two.)
      CHECK(count(t, hook_test) == count(t, " RET ") + count(t, " LOOP ") + count(t, " SETTAIL "));
    }
  CHECK(callouts >= 3);
  bool known = false;
  for (const std::string& t : fib) known = known || count(t, "gc    CLOSURE") == 1;
  CHECK(known);
  // That test is the first CALLOUT's: no load of Reserve::sets_upvalues
  // (an `int FLOAD`) and guard after it.
  for (const std::string& t : fib) {
    INFO(t);
    if (count(t, "gc    CLOSURE") == 0) continue;
    CHECK(count(t, "int   FLOAD") == 0);
    CHECK(count(t, "[flagged: snap") == 1);
  }
}

TEST_CASE("an upvalue holding the running closure assigned by compiled code is read again", "[jit][recursion][callout]") {
  // f's recursive calls go through the upvalue f, which a path of f itself
  // reassigns (to the other closure of the same function, or to g) once it
  // is hot: the continuation after a CALLOUT may not keep the closure it
  // read before. The assignments compile as side traces of f's trace.
  same_all_ways(
      "local f, fa, fb\n"
      "local function g(k) return -k end\n"
      "local function make(tag)\n"
      "  return function(k, swap)\n"
      "    if k < 2 then return k end\n"
      "    local a = f(k - 1, swap)\n"
      "    if swap and k % swap == 0 then if f == fa then f = fb else f = fa end end\n"
      "    return a + f(k - 2, swap) + tag\n"
      "  end\n"
      "end\n"
      "fa, fb = make(0), make(1000)\n"
      "local out = {}\n"
      "for i = 1, 12 do f = fa out[#out + 1] = fa(15) end\n"
      "for i = 1, 12 do out[#out + 1] = f(14, i % 3 + 3) end\n"
      "local function h(k)\n"
      "  if k < 2 then return k end\n"
      "  local a = h(k - 1)\n"
      "  if k == 9 then h = g end\n"
      "  return a + h(k - 2)\n"
      "end\n"
      "local h0 = h\n"
      "while debug.getupvalue(h, hi) ~= 'h' do hi = hi + 1 end\n"
      "for i = 1, 12 do h = h0 out[#out + 1] = h(8 + i % 4) end\n"
      "return table.concat(out, ' ')");
  // p's side trace follows its tail call of q and may run q's trace, which
  // assigns p's upvalue: p's continuations read it again from then on.
  same_all_ways(
      "local f, g\n"
      "local count = 0\n"
      "local function q(k, d)\n"
      "  if d > 0 then return q(k, d - 1) + 0 end\n"
      "  count = count + 1\n"
      "  if count % 7 == 0 then if f == g then f = g0 else f = g end end\n"
      "  return k\n"
      "end\n"
      "local function p(k)\n"
      "  if k < 2 then return k end\n"
      "  if k % 5 == 0 then return q(k, 2) end\n"
      "  return f(k - 1) + f(k - 2)\n"
      "end\n"
      "g0 = p\n"
      "g = function(k) return p(k) + 1 end\n"
      "f = p\n"
      "local out = {}\n"
      "for i = 1, 30 do out[#out + 1] = p(10 + i % 6) end\n"
      "return table.concat(out, ' ')");
}

TEST_CASE("a flagged CALLOUT returns into its exit while the function's traces assign upvalues", "[jit][recursion][callout]") {
  // fib's own trace assigns an upvalue (count), so its first CALLOUT's
  // callee returns into the exit after the call every time, whose side
  // trace reads fib again; the base case's side trace assigns it later.
  const std::string src =
      "local count = 0\n"
      "local function fib(n)\n"
      "  if n < 2 then\n"
      "    if n == 1 and count > 3000 then count = count + 1 end\n"
      "    return n\n"
      "  end\n"
      "  count = count + 0\n"
      "  return fib(n - 1) + fib(n - 2)\n"
      "end\n"
      "local out = {}\n"
      "for i = 1, 40 do count = count + 100 out[#out + 1] = fib(10 + i % 7) end\n"
      "return table.concat(out, ' ') .. ' ' .. count";
  Run r = same_all_ways(src);
  CHECK(r.out.substr(r.out.size() - 5) == " 7715");
  bool flagged = false;
  for (const std::string& t : traces_of(src)) flagged = flagged || count(t, "[flagged: snap") > 0;
  CHECK(flagged);
}

TEST_CASE("a side trace of a function trace follows a tail call of another function", "[jit][recursion]") {
  // walk's `return leaf(...)` takes walk's frame over: the side trace goes
  // on in leaf's code and returns from the frame (RET), with leaf's results
  // as many as the caller wants, its errors and tracebacks as interpreted.
  const std::string src =
      "local function leaf(x, y) if y then error('leaf ' .. x) end return x * 2, x end\n"
      "local walk\n"
      "walk = function(n, e)\n"
      "  if n <= 0 then return 0 end\n"
      "  if n % 3 == 0 then return leaf(n, e and n == 6) end\n"
      "  return walk(n - 1, e) + 1\n"
      "end\n"
      "local out = {}\n"
      "for i = 1, 40 do out[#out + 1] = walk(i % 13) end\n"
      "for i = 1, 40 do out[#out + 1] = select('#', walk(i % 13)) end\n"
      "out[#out + 1] = select(2, pcall(walk, 8, true))\n"
      "local ok, tb = xpcall(walk, debug.traceback, 8, true)\n"
      "out[#out + 1] = tb\n"
      "return table.concat(out, ' ')";
  Run r = same_all_ways(src);
  CHECK(r.out.find("rec:1: leaf 6") != std::string::npos);
  CHECK(r.out.find("(...tail calls...)") != std::string::npos);
  bool followed = false;
  for (const std::string& t : traces_of(src)) followed = followed || (count(t, "SETTAIL") > 0 && count(t, " RET ") > 0);
  CHECK(followed);
}

TEST_CASE("arguments known to be integers enter the callee's trace behind its type guard", "[jit][recursion][callout]") {
  // fib's CALLOUTs pass k - 1 and k - 2, integers, and enter its trace past
  // the tag test of k (the direct exit of `k < 2` past that and the compare
  // too); a float or a string argument goes through the guards.
  same_all_ways(
      "local function fib(k) if k < 2 then return k end return fib(k - 1) + fib(k - 2) end\n"
      "local function mixed(k) if k < 2 then return k end return mixed(k - 1) + mixed(k - 2.0) end\n"
      "local function str(k) if k < 2 then return k end return str(k - 1) + str(tostring(k - 2)) end\n"
      "print(fib(20), mixed(16), mixed(16.0), fib(15.0), math.type(fib(2)), math.type(mixed(3)))\n"
      "print(pcall(str, 8))\n"
      "local function ack(m, k)\n"
      "  if m == 0 then return k + 1 end\n"
      "  if k == 0 then return ack(m - 1, 1) end\n"
      "  return ack(m - 1, ack(m, k - 1))\n"
      "end\n"
      "print(ack(2, 30), ack(3, 4), ack(2.0, 3), ack(1, 2.5))");
}

TEST_CASE("an argument kept in the entry's register, and variable results guarded at the continuation",
          "[jit][recursion][callout]") {
  // The CALLOUT leaves an integer argument in the register the callee's
  // typed entry reads (no reload), also across its out-of-line CallInfo
  // allocation (each deeper level); a call wanting all results compares
  // the top with the callee's base before moving the base back, and leaves
  // when the count differs (a second result, none).
  Run r = same_all_ways(
      "local function down(n) if n == 0 then return 0 end return 1 + down(n - 1) end\n"
      "local t = {}\n"
      "for i = 1, 300 do t[#t + 1] = down(i) end\n"
      "local a = table.concat({t[1], t[150], t[300]}, ' ')\n"
      "local function ack(m, k)\n"
      "  if m == 0 then return k + 1 end\n"
      "  if k == 0 then return ack(m - 1, 1) end\n"
      "  return ack(m - 1, ack(m, k - 1))\n"
      "end\n"
      "local function v(m, k)\n"
      "  if m == 0 then if k == 7 then return k, 1 elseif k == 9 then return end return k + 1 end\n"
      "  if k == 0 then return v(m - 1, 1) end\n"
      "  return v(m - 1, v(m, k - 1))\n"
      "end\n"
      "return a .. ' ' .. table.concat({ack(2, 40), ack(3, 3), select('#', v(1, 12)), v(1, 12)}, ' ')\n"
      "  .. ' ' .. select('#', v(2, 3)) .. ' ' .. select('#', v(1, 5)) .. ' ' .. v(1, 5)");
  CHECK(r.out == "1 150 300 83 61 2 7 1 2 1 7");
}

TEST_CASE("self-calls enter their side trace behind the guard of the upvalue holding them", "[jit][recursion][callout]") {
  // fib's and ack's side traces guard the upvalue holding the function
  // where they read it; their CALLOUTs of the running closure know it (the
  // IR shows the upvalues they know) and enter that trace behind the guard
  // when the argument fails the root trace's first guard.
  std::vector<std::string> fib = traces_of(
      "local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end\n"
      "return fib(20)");
  std::vector<std::string> ack = traces_of(
      "local function ack(m, k)\n"
      "  if m == 0 then return k + 1 end\n"
      "  if k == 0 then return ack(m - 1, 1) end\n"
      "  return ack(m - 1, ack(m, k - 1))\n"
      "end\n"
      "return ack(2, 30) + ack(3, 4)");
  auto self_calls = [](const std::vector<std::string>& ts) {
    int n = 0;
    for (const std::string& t : ts) n += count(t, "CALLOUT") > 0 && count(t, "[self: upvalues 0x1]") > 0;
    return n;
  };
  CHECK(self_calls(fib) >= 1);
  CHECK(self_calls(ack) >= 1);
  // The upvalue assigned deep in the recursion (by an inlined call, by
  // debug.setupvalue), the argument a float, another first comparison,
  // ack's inner call with k - 1 = 0 (entering its trace at the test of k):
  // all as interpreted.
  Run r = same_all_ways(
      "local fib, other, depth\n"
      "local function set(f) fib = f end\n"
      "other = function(n) return 100 * n end\n"
      "fib = function(n)\n"
      "  if n < 2 then return n end\n"
      "  if n == depth then set(other) end\n"
      "  return fib(n - 1) + fib(n - 2)\n"
      "end\n"
      "local f0 = fib\n"
      "local out = {}\n"
      "for i = 1, 30 do out[#out + 1] = f0(15) end\n"
      "depth = 9\n"
      "out[#out + 1] = f0(16)\n"
      "depth = nil; fib = f0\n"
      "for i = 1, 5 do out[#out + 1] = f0(12) .. ',' .. f0(13.0) end\n"
      "local function g(n) if n <= 2 then return 1 end return g(n - 1) + g(n - 2) end\n"
      "local hi = 1\n"
      "local function h(n)\n"
      "  if n > 1 then\n"
      "    if n == 6 and depth then debug.setupvalue(h, hi, other) end\n"
      "    return h(n - 1) + h(n - 2)\n"
      "  end\n"
      "  return n\n"
      "end\n"
      "local h0 = h\n"
      "while debug.getupvalue(h, hi) ~= 'h' do hi = hi + 1 end\n"
      "for i = 1, 20 do out[#out + 1] = g(14) + h0(14) end\n"
      "depth = true\n"
      "out[#out + 1] = h0(12)\n"
      "local function ack(m, k)\n"
      "  if m == 0 then return k + 1 end\n"
      "  if k == 0 then return ack(m - 1, 1) end\n"
      "  return ack(m - 1, ack(m, k - 1))\n"
      "end\n"
      "for i = 1, 4 do out[#out + 1] = ack(2, i) + ack(3, i) end\n"
      "return table.concat(out, ' ')");
  CHECK(r.out.find("610 610") == 0);
  CHECK(r.out.find(" 610 9200 144,233.0 ") != std::string::npos);
  CHECK(r.out.find(" 754 5400 18 36 70 136") != std::string::npos);
}

TEST_CASE("a CALLOUT of a base case computes its result in place", "[jit][recursion][callout]") {
  // fib's k < 2 and h's k == 0 return an integer argument (plus a
  // constant): a CALLOUT whose argument passes that guard stores the result
  // without the call, also for a call wanting all results (h's inner one),
  // and from a loop's trace; with a hook set deep in the recursion and the
  // stack at its limit it runs as interpreted.
  std::vector<std::string> fib = traces_of(
      "local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end\n"
      "fib(3) fib(3) fib(3)\n"
      "return fib(20)");
  // The function trace records the base case (fib(3)'s calls make the
  // 8th one a base case); its side trace's two CALLOUTs leave the hook
  // mask to the RET, which tests it once.
  int leaf_tests = 0;
  for (const std::string& t : fib)
    if (count(t, "CALLOUT") == 2) leaf_tests = count(t, "cmp dword ptr [r12+136], 0");
  CHECK(leaf_tests == 1);
  Run r = same_all_ways(
      "local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end\n"
      "local function h(k, m) if k == 0 then return m + 1 end return h(k - 1, h(k - 1, m)) end\n"
      "local calls = 0\n"
      "local function hooked(n)\n"
      "  if n < 2 then return n end\n"
      "  if n == 9 and calls == 0 then debug.sethook(function() calls = calls + 1 end, 'c') end\n"
      "  return hooked(n - 1) + hooked(n - 2)\n"
      "end\n"
      "local out = {}\n"
      "for i = 1, 10 do out[#out + 1] = fib(14) + h(6, i) end\n"
      "local s = 0\n"
      "for i = 1, 300 do s = s + fib(i % 4) + h(i % 2, i) end\n"
      "out[#out + 1] = s\n"
      "for i = 1, 20 do out[#out + 1] = hooked(12) end\n"
      "debug.sethook()\n"
      "out[#out + 1] = calls\n"
      "local function deep(n) if n == 0 then return fib(1) end return deep(n - 1) + fib(0) end\n"
      "local ok, e = pcall(deep, 2000000)\n"
      "out[#out + 1] = tostring(ok) .. ' ' .. tostring(e)\n"
      "for i = 1, 3 do out[#out + 1] = deep(i * 5000) end\n"
      "return table.concat(out, ' ')");
  CHECK(r.out.find("442 443 444 ") == 0);
  CHECK(r.out.find(" false rec:") != std::string::npos);
  CHECK(r.out.find("stack overflow 1 1 1") != std::string::npos);
}
TEST_CASE("a base case not computed in place is called from a second path", "[jit][recursion][callout]") {
  // down's CALLOUT computes down(0) in place; its path to the call knows
  // the argument is no base case and enters the self entry untested. A
  // base case deeper than ever (no CallInfo yet: down(i) for each new i)
  // takes the second path, which allocates the CallInfo and calls the
  // root trace instead of leaving for the interpreter (which then finished
  // every frame below interpreted); fib's second call's result skips its
  // tag guard behind a base case. At the memory limit the call leaves and
  // the interpreter raises.
  const char* src =
      "local function down(n) if n < 1 then return n end return 1 + down(n - 1) end\n"
      "local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end\n"
      "local s = 0\n"
      "for i = 1, 3000 do s = s + down(i) end\n"
      "return s .. ' ' .. fib(22) .. ' ' .. down(-5) .. ' ' .. down(2.5)";
  Run r = same_all_ways(src);
  CHECK(r.out == "4501500 17711 -5 2.5");
  Run d = run(src, Mode::stress);
  CHECK(d.stats.exits_taken < 100);
  const char* deep =
      "local function down(n) if n < 1 then return n end return 1 + down(n - 1) end\n"
      "local s = 0\n"
      "for i = 1, 50 do s = s + down(i) end\n"
      "local ok, e = pcall(down, 300000)\n"
      "return s .. ' ' .. tostring(ok) .. ' ' .. tostring(e)";
  Run off = jit_test::run(deep, Mode::off, "=rec", 3u << 20);
  Run on = jit_test::run(deep, Mode::stress, "=rec", 3u << 20);
  CHECK(on.out == off.out);
  CHECK(off.out.find("1275 false") == 0);
}

TEST_CASE("a self tail call of a base case returns it in place", "[jit][recursion][callout]") {
  // ack's `return ack(m - 1, ...)` with m - 1 == 0 returns k + 1 through
  // the root trace's RET without writing the frame or entering the root:
  // each tail call's trace tests the hook there too. The results go to
  // calls wanting one, all or two of them; a hook set in the recursion and
  // the stack at its limit still behave as the interpreter does.
  std::vector<std::string> ack = traces_of(
      "local function ack(m, k)\n"
      "  if m == 0 then return k + 1 end\n"
      "  if k == 0 then return ack(m - 1, 1) end\n"
      "  return ack(m - 1, ack(m, k - 1))\n"
      "end\n"
      "return ack(2, 30) + ack(3, 4)");
  int tails = 0;
  for (const std::string& t : ack)
    if (count(t, "SETTAIL") == 1 && count(t, "cmp dword ptr [r12+136], 0") == 2) tails++;
  CHECK(tails == 2);
  Run r = same_all_ways(
      "local function ack(m, k)\n"
      "  if m == 0 then return k + 1 end\n"
      "  if k == 0 then return ack(m - 1, 1) end\n"
      "  return ack(m - 1, ack(m, k - 1))\n"
      "end\n"
      "local calls = 0\n"
      "local function hooked(m, k)\n"
      "  if m == 0 then return k + 1 end\n"
      "  if m == 1 and k == 7 and calls == 0 then debug.sethook(function() calls = calls + 1 end, 'cr') end\n"
      "  if k == 0 then return hooked(m - 1, 1) end\n"
      "  return hooked(m - 1, hooked(m, k - 1))\n"
      "end\n"
      "local function down(n, acc) if n == 0 then return acc + 1 end return down(n - 1, acc + n) end\n"
      "local out = {}\n"
      "for i = 1, 10 do out[#out + 1] = ack(2, i) + ack(1, i) end\n"
      "for i = 1, 5 do local t = {ack(2, i)} out[#out + 1] = #t .. ':' .. t[1] end\n"
      "for i = 1, 5 do local a, b = ack(1, i) out[#out + 1] = tostring(a) .. tostring(b) end\n"
      "for i = 1, 5 do out[#out + 1] = hooked(2, 9) end\n"
      "debug.sethook()\n"
      "out[#out + 1] = calls\n"
      "for i = 1, 5 do out[#out + 1] = down(i * 1000, 0) end\n"
      "local function deep(n) if n == 0 then return ack(1, 1) end return deep(n - 1) + ack(1, 0) end\n"
      "local ok, e = pcall(deep, 2000000)\n"
      "out[#out + 1] = tostring(ok) .. ' ' .. tostring(e)\n"
      "for i = 1, 3 do out[#out + 1] = deep(i * 5000) end\n"
      "return table.concat(out, ' ')");
  CHECK(r.out.find("8 11 ") == 0);
  CHECK(r.out.find(" false rec:") != std::string::npos);
  CHECK(r.out.find("stack overflow 10003 20003 30003") != std::string::npos);
}
