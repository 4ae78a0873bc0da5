// Whole-program behaviour of the trace compiler on loops: array appends,
// nested loops joined by side traces, and blacklisted loops that stop
// reaching the seam. Each program also runs with the JIT off, and both
// results must agree.
#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>
#include <string>

#include "jit_run.hpp"
#include "jit_seam.hpp"
#include "luna/vm.hpp"
#include "state.hpp"

namespace {

struct Run {
  std::string result;
  luna::JitStats stats;
  uint32_t max_hotcount = 0;
};

Run run(const char* code, bool jit, unsigned hotloop = 8, unsigned hotexit = 2) {
  luna::Vm vm;
  luna::State* L = vm.state();
  if (jit) {
    luna::JitOptions o;
    o.hotloop = hotloop;
    o.hotexit = hotexit;
    luna::jit_set_options(L, o);
  } else {
    luna::jit_set_enabled(L, false);
  }
  Run r;
  r.result = vm.eval(code)[0].to_string();
  r.stats = luna::jit_stats(L);
  const uint32_t* h = L->g->jit.hotcount;
  r.max_hotcount = *std::max_element(h, h + luna::JIT_SLOTS);
  return r;
}

}  // namespace

TEST_CASE("array appends at the border run compiled, exiting once per growth", "[jit][record]") {
  const char* code = R"(
    local t = {}
    for i = 1, 20000 do t[i] = i * 2 end
    local u = {}
    for i = 1, 5000 do u[#u + 1] = i end
    local s = 0
    for i = 1, #t do s = s + t[i] end
    return s .. " " .. #t .. " " .. #u .. " " .. u[5000])";
  Run on = run(code, true), off = run(code, false);
  CHECK(on.result == off.result);
  CHECK(on.result == "400020000 20000 5000 5000");
  CHECK(on.stats.traces_compiled >= 3);
  // About one exit per doubling of each array (2^15 > 20000), not one per
  // element: the loops stay compiled between the growths.
  CHECK(on.stats.exits_taken < 200);
}

TEST_CASE("an array store into a table with __newindex stays with the interpreter", "[jit][record]") {
  const char* code = R"(
    local log = 0
    local t = setmetatable({}, {__newindex = function(t, k, v) log = log + 1; rawset(t, k, v) end})
    for i = 1, 3000 do t[i] = i end
    local n = 0
    for i = 1, 3000 do t[i] = nil end
    for i = 1, 3000 do t[i] = i; n = n + 1 end
    return log .. " " .. n)";
  Run on = run(code, true), off = run(code, false);
  CHECK(on.result == off.result);
  CHECK(on.result == "6000 3000");
}

TEST_CASE("nested loops: the inner loop's exits get side traces linked back to it", "[jit][side]") {
  const char* code = R"(
    local s = 0
    for y = 1, 400 do
      local w = y * 3
      for x = 1, 50 do s = s + x * w end
      if y % 7 == 0 then s = s - 1 end
    end
    return s)";
  Run on = run(code, true), off = run(code, false);
  CHECK(on.result == off.result);
  // The inner loop's trace and at least one side trace from its end that
  // goes round the outer loop and jumps back into it.
  CHECK(on.stats.traces_compiled >= 2);
  // Without side traces every outer iteration would leave compiled code.
  CHECK(on.stats.exits_taken < 100);
}

TEST_CASE("side traces starting at an inner loop's FORPREP: constant steps of 1, 3 and -2", "[jit][side]") {
  // Each inner loop is entered by a side trace of the outer loop's exit at
  // its FORPREP, which takes the step from memory and guards it equal to
  // the LOADI's constant: the iteration count must still divide by it.
  const char* code = R"(
    local s = 0
    for y = 1, 300 do
      local n = y % 23
      for x = 1, n do s = s + x end
      for x = y % 5, n, 3 do s = s + x * 7 end
      for x = n, 1, -2 do s = s + x * 11 end
      local k = y % 3 + 1
      for x = 1, n, k do s = s + x * 13 end
    end
    return s)";
  Run on = run(code, true), off = run(code, false);
  CHECK(on.result == off.result);
  CHECK(on.stats.traces_compiled >= 4);
}

TEST_CASE("a side trace stops at hooks and budgets like its loop", "[jit][side]") {
  luna::Vm vm;
  luna::State* L = vm.state();
  luna::jit_set_options(L, luna::JitOptions::stress());
  vm.set_instruction_limit(200000);  // per host call
  std::string error;
  try {
    vm.eval("while true do for i = 1, 3 do end end");
  } catch (const luna::LuaError& e) {
    error = e.what();
  }
  CHECK(error.find("instruction budget exhausted") != std::string::npos);
}

TEST_CASE("an optimised loop entered before a budget is set still stops under it", "[jit][loop]") {
  // The budget is tested once per entry of an optimised loop, not per
  // iteration: nothing inside the loop can start one.
  luna::Vm vm;
  vm.eval("function spin(n) local x, i = 0.0, 0 while n == nil or i < n do x = x * 0.5 + 1.0; i = i + 1 end return x end");
  CHECK(vm.eval("return spin(100000)")[0].as_number() == 2.0);
  CHECK(vm.jit_stats().traces_compiled >= 1);
  vm.set_instruction_limit(200000);
  CHECK_THROWS_WITH(vm.eval("spin()"), Catch::Contains("instruction budget exhausted"));
  vm.set_instruction_limit(0);
  CHECK(vm.eval("return spin(1000)")[0].as_number() == 2.0);
}

TEST_CASE("a for loop's constant step, guarded once, changed through debug.setlocal", "[jit][loop]") {
  // The step of `for i = 1, n, 2` is an immediate in the loop's trace,
  // behind a guard on entry; debug.setlocal (a stitched call) changing it
  // mid-loop sends the next entry back to the interpreter.
  const char* code = R"(
    local out = {}
    for round = 1, 30 do
      local s = 0
      for i = 1, 400, 2 do
        s = s + i
        if round % 3 == 0 and i == 201 then debug.setlocal(1, 9, 7) end
      end
      out[#out + 1] = s
    end
    return table.concat(out, " "))";
  Run on = run(code, true, 4);
  Run off = run(code, false);
  CHECK(on.result == off.result);
  CHECK(on.stats.traces_compiled >= 1);
}

TEST_CASE("array bounds checks hoisted before a loop, and a loop that outgrows them", "[jit][loop]") {
  // sum's loop reads t[i] within t's array part: its bounds checks are two
  // guards before the loop (the first and the last index). Called with n
  // beyond the array, that guard fails on every entry: after hotexit such
  // exits the loop is recorded again without hoisting, and the reads past
  // the array get their side traces as before.
  const char* code = R"(
    local t = {}
    for i = 1, 100 do t[i] = i end
    local function sum(n) local s = 0 for i = 1, n do s = s + (t[i] or 0) end return s end
    local r = 0
    for k = 1, 50 do r = r + sum(100) end
    local calm = r
    for k = 1, 200 do r = r + sum(150) end
    for k = 1, 20 do r = r + sum(90) + sum(0) end
    return r .. " " .. calm)";
  Run on = run(code, true, 4);
  Run off = run(code, false);
  CHECK(on.result == off.result);
  CHECK(on.stats.traces_compiled >= 3);
  // Without the retrace every sum(150) would leave on each iteration.
  CHECK(on.stats.exits_taken < 100);
}

TEST_CASE("a blacklisted loop stops reaching the seam", "[jit][seam]") {
  // t[0.5] (a float key) is not recorded: the recording aborts ("table
  // read") until the loop is blacklisted; then its counter is re-armed to
  // the slowest count.
  const char* code = R"(
    local t, s = {}, 0
    for i = 1, 20000 do s = s + i; local y = t[0.5] end
    return s)";
  Run on = run(code, true, 4);
  CHECK(on.result == "200010000");
  CHECK(on.stats.traces_compiled == 0);
  CHECK(on.stats.traces_aborted == 3);
  // Re-armed to 65535 after about 3 * 4 iterations, and the back-edge
  // patched to its non-counting twin: the rest never count it down.
  CHECK(on.max_hotcount == 65535);
}

TEST_CASE("blacklisted loops run their non-counting twins, invisibly", "[jit][seam]") {
  // A for loop, a while loop (a backward JMP) and a generic for, each
  // blacklisted (a float key is not recorded); string.dump writes the
  // code as compiled, error messages still name the variables, a flush
  // makes the loops count again, and an instruction budget still stops a
  // blacklisted loop.
  const char* code = R"(
    local function f(n)
      local t, s = {}, 0
      for i = 1, n do s = s + i; local y = t[0.5] end
      local j = 0
      while j < n do j = j + 1; local y = t[0.5] end
      for k, v in next, {1, 2, 3} do s = s + v + (t[0.5] or 0) end
      for r = 1, n do for k, v in next, {r} do s = s + v; local y = t[0.5] end end
      return s + j
    end
    local d1 = string.dump(f)
    local r1 = f(3000)
    local same = string.dump(f) == d1
    local function g()
      local tt = {}
      for i = 1, 3000 do local y = tt[0.5] end
      return tt.x.y
    end
    local ok, err = pcall(g)
    ok, err = pcall(g)
    jit.flush()
    local r2 = f(3000)
    return tostring(same) .. " " .. r1 .. " " .. r2 .. " " .. tostring(string.dump(f) == d1) .. " " .. err)";
  Run on = run(code, true, 4);
  Run off = run(code, false);
  CHECK(on.result == off.result);
  CHECK(on.result.find("true 9006006 9006006 true") == 0);
  CHECK(on.result.find("field 'x'") != std::string::npos);

  luna::Vm vm;
  luna::JitOptions o;
  o.hotloop = 4;
  luna::jit_set_options(vm.state(), o);
  vm.eval("t = {} for i = 1, 1000 do local y = t[0.5] end");  // blacklisted and patched
  vm.set_instruction_limit(200000);
  CHECK_THROWS_WITH(vm.eval("local t = {} while true do local y = t[0.5] end"),
                    Catch::Contains("instruction budget exhausted"));
}

TEST_CASE("a side trace reaching its loop with a number of the other subtype goes round once more", "[jit][side]") {
  // Each outer iteration enters the inner loop with the integer 0 in a,
  // which the inner trace (recorded with a float) guards: linking there
  // would leave at once and make the loop be recorded again and again.
  const char* code = R"(
    local function A(i, j) return 1.0 / (i + j) end
    local s = 0
    for y = 1, 300 do
      local a = 0
      for x = 1, 50 do a = a + A(x, y) end
      s = s + a
    end
    return string.format("%.9f", s))";
  Run on = run(code, true), off = run(code, false);
  CHECK(on.result == off.result);
  CHECK(on.stats.traces_compiled >= 2);
  CHECK(on.stats.traces_compiled <= 4);
  CHECK(on.stats.exits_taken < 100);
}

TEST_CASE("a hot exit inside an inlined call gets a side trace that returns through the frame", "[jit][side]") {
  // The branch in f exits inside the inlined frame; its side trace starts
  // there (the frame stays inlined), returns into the loop and links back.
  const char* code = R"(
    local function f(i)
      if i % 5 == 0 then return i * 2 end
      return i
    end
    local s = 0
    for i = 1, 5000 do s = s + f(i) end
    return s)";
  Run on = run(code, true), off = run(code, false);
  CHECK(on.result == off.result);
  CHECK(on.result == "15005000");
  CHECK(on.stats.traces_compiled == 2);
  CHECK(on.stats.exits_taken < 10);
}

TEST_CASE("a side trace links into the loop of a function it inlined, frames made real", "[jit][side]") {
  // The outer loop's trace exits where it calls fill; that exit's side trace
  // inlines fill up to its loop, which has its own trace, and jumps there
  // with fill's frame made real. The error late in the run is raised by the
  // interpreter in that frame: same message and traceback as without the JIT.
  const char* code = R"(
    local function fill(t, n, v)
      for i = 1, n do t[i] = v + i end
      return t[n]
    end
    local t, s = {}, 0
    local function run(limit)
      for k = 1, 3000 do
        local v = k
        if k == limit then v = nil end
        if k % 3 == 0 then s = s + fill(t, 8, v) else s = s + 1 end
      end
    end
    run(0)
    local ok, tb = xpcall(run, debug.traceback, 2400)
    return s .. " " .. tostring(ok) .. "\n" .. tb)";
  Run on = run(code, true), off = run(code, false);
  CHECK(on.result == off.result);
  CHECK(on.result.find("attempt to perform arithmetic on a nil value (local 'v')") != std::string::npos);
  CHECK(on.result.find("in upvalue 'fill'") != std::string::npos);
  // One entry and exit per call of fill (its loop's end returns), not two:
  // the outer trace's exit no longer goes through the interpreter to reach
  // fill's loop (3593 of each before the link).
  CHECK(on.stats.entries < 2000);
  CHECK(on.stats.exits_taken < 2000);
}

TEST_CASE("a link into the loop of a function inlined two calls deep makes both frames real", "[jit][side]") {
  // fannkuch's shape: the outer loop's side trace inlines visit and fill,
  // up to fill's loop, and the link writes both CallInfos (return pcs,
  // windows, wanted results) before jumping into that loop's trace. The
  // late error's traceback walks those frames: it must match the
  // interpreter's, as must the results each frame returns.
  const char* code = R"(
    local function fill(t, n, v)
      for i = 1, n do t[i] = v + i end
      return t[n], n
    end
    local t, s = {}, 0
    local function visit(v)
      local a, b = fill(t, 8, v)
      return a + b
    end
    local function run(limit)
      for k = 1, 3000 do
        local v = k
        if k == limit then v = nil end
        if k % 3 == 0 then s = s + visit(v) else s = s + 1 end
      end
    end
    run(0)
    local ok, tb = xpcall(run, debug.traceback, 2400)
    return s .. " " .. tostring(ok) .. "\n" .. tb)";
  Run on = run(code, true), off = run(code, false);
  CHECK(on.result == off.result);
  CHECK(on.result.find("in upvalue 'fill'") != std::string::npos);
  CHECK(on.result.find("in upvalue 'visit'") != std::string::npos);
  CHECK(on.stats.entries < 2000);
}

TEST_CASE("a link into an inlined callee's loop leaves where its stack or CallInfos are short", "[jit][side]") {
  // fill's loop trace inlines wide, so entering it reserves wide's window
  // and one CallInfo above fill's. The outer loop's side trace links into
  // that loop after making visit's and fill's frames real, and tests those
  // needs inline: at each new depth of `deep` wide's CallInfo is not there
  // yet, so the link leaves for the interpreter, which makes it. At depth
  // 397 cfg.k's type guard fails inside the inlined wide, whose exit makes
  // wide's frame real in that CallInfo: after a link that went on without
  // it, the exit would take a missing CallInfo.
  const char* code = R"(
    local cfg = {k = 1}
    local function wide(x)
      local a, b, c, d, e, f, g, h = x, x, x, x, x, x, x, x
      local i, j, k, l, m, n, o, p = a, b, c, d, e, f, g, h
      local q, r, s2, u, w, y, z, a2 = i, j, k, l, m, n, o, p
      return q + r + s2 + u + w + y + z + a2 + cfg.k
    end
    local function fill(t, n, v)
      for i = 1, n do t[i] = wide(v + i) end
      return t[n], n
    end
    local t, s = {}, 0
    local function visit(v)
      local a, b = fill(t, 8, v)
      return a + b
    end
    local function run()
      for k = 1, 30 do
        if k % 3 == 0 then s = s + visit(k) else s = s + 1 end
      end
    end
    local function deep(d)
      if d == 0 then run() return 0 end
      return deep(d - 1) + 1
    end
    for d = 1, 400 do
      if d == 397 then cfg.k = 0.5 end
      deep(d)
      cfg.k = 1
    end
    return tostring(s))";
  luna::jit_test::Run low = luna::jit_test::same_all_ways(code, "=links");
  CHECK(low.out == "827995.0");
  // The link itself, not a way around it: the side trace of run's loop
  // enters fill's loop trace.
  CHECK(run(code, true).stats.entries < 2000);
}

TEST_CASE("a store keeps its slot's tag across stores that kept theirs, not across one that changed a tag", "[jit][loop]") {
  // The swap stores work[hi]'s value into work[lo] after the store into
  // work[hi], which kept that slot's tag: work[lo]'s tag, guarded by its
  // load, is still the value's, so only the value is written. In the first
  // loop the store of 0.5 changes slot j's tag: t[i] = x must write the
  // integer tag again where i == j (every 10th k), which a store leaving
  // the tag would get wrong (math.type "float").
  const char* code = R"(
    local t = {}
    for i = 1, 20 do t[i] = i end
    local out = {}
    for k = 1, 200 do
      local i, j = k % 20 + 1, (k * 7) % 20 + 1
      local x, y = t[i], t[j]
      t[j] = y
      t[j] = 0.5
      t[i] = x
      out[#out + 1] = math.type(t[i]) .. t[i]
      t[j] = j
    end
    local a = {}
    for i = 1, 30 do a[i] = i % 3 == 0 and i + 0.5 or i end
    for k = 1, 40 do
      local lo, hi = 1, 30 - k % 7
      while lo < hi do
        a[lo], a[hi] = a[hi], a[lo]
        lo = lo + 1
        hi = hi - 1
      end
    end
    for i = 1, 30 do out[#out + 1] = math.type(a[i]) .. a[i] end
    return table.concat(out, ","))";
  luna::jit_test::Run low = luna::jit_test::same_all_ways(code, "=tags");
  CHECK(low.out.find("integer1,integer2,") != std::string::npos);
  CHECK(low.out.find("float") != std::string::npos);
}

TEST_CASE("a copy between arrays doubles the index once per iteration", "[jit][loop]") {
  // b[i] = a[i]: the store of the loaded integer addresses b's slot through
  // the doubled index the load left in the scratch register, with no
  // address register of its own: one `lea r11` in the loop's body (from
  // the budget test at its start to the hook test at its end).
  const char* code = R"(
    local a, b = {}, {}
    for i = 1, 200 do a[i] = i * 3; b[i] = 0 end
    for k = 1, 3 do for i = 1, 200 do b[i] = a[i] end end
    local s = 0
    for i = 1, 200 do s = s + b[i] end
    return s)";
  Run on = run(code, true, 4);
  CHECK(on.result == run(code, false).result);
  std::string copy;
  for (const std::string& t : luna::jit_test::traces_of(code))
    if (t.find("rec:4 loop") != std::string::npos) copy = t;
  REQUIRE(!copy.empty());
  INFO(copy);
  size_t body = copy.find("cmp qword ptr [r11+");
  size_t end = copy.find("cmp dword ptr [r12+", body);
  REQUIRE(end != std::string::npos);
  CHECK(luna::jit_test::count(copy.substr(body, end - body), "lea r11") == 1);
}

TEST_CASE("strided stores with hoisted bounds checks, and strides past the array", "[jit][loop]") {
  // sieve's inner loop steps j by i: its bounds checks are hoisted (the
  // last index is j + c * i); the loops reaching past the array (limit
  // n + 40) fail the hoisted check and run again without it.
  const char* code = R"(
    local function sieve(n, limit)
      local composite = {}
      for i = 1, n do composite[i] = false end
      local count = 0
      for i = 2, n do
        if not composite[i] then
          count = count + 1
          for j = i * i, limit, i do composite[j] = true end
        end
      end
      return count .. ":" .. #composite
    end
    local out = {}
    for k = 1, 3 do out[#out + 1] = sieve(2000, 2000) end
    for k = 1, 3 do out[#out + 1] = sieve(500, 540) end
    return table.concat(out, " "))";
  Run on = run(code, true, 4);
  CHECK(on.result == run(code, false).result);
  CHECK(on.result.find("303:2000") == 0);
}

TEST_CASE("a for loop's count guard restores none of the body's locals", "[jit][loop]") {
  // t (slot 10) is the body's local, dead at FORLOOP: the count guard's
  // snapshot (the first with s, slot 1) leaves it out, so t holds no
  // register until there and its exit stores nothing for it.
  const char* code = R"(
    local a, s = {}, 0
    for i = 1, 100 do a[i] = i end
    for k = 1, 3 do
      for i = 1, 100 do
        local t = a[i] * 2
        s = s + t
      end
    end
    return s)";
  Run on = run(code, true, 4);
  CHECK(on.result == run(code, false).result);
  std::string inner;
  for (const std::string& t : luna::jit_test::traces_of(code))
    if (t.find("rec:6 loop") != std::string::npos) inner = t;
  REQUIRE(!inner.empty());
  INFO(inner);
  int with_s = 0;
  std::istringstream lines(inner);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("snap ", 0) != 0 || line.find(" 1=") == std::string::npos) continue;
    with_s++;
    CHECK(line.find(" 10=") == std::string::npos);
  }
  CHECK(with_s > 0);
}

TEST_CASE("an invariant index doubled once before the loop; a row's size compared in memory", "[jit][loop]") {
  // matrix's s = s + a[k] * b[k][j]: j is the same every iteration, so its
  // double sits in a register from before the loop (one `lea r11`, for k,
  // in the body), and b[k]'s size is compared in memory with j - 1, which
  // the pre-roll bounded. Row 7 of the second call keeps its entries in
  // the hash part: that row's bounds check fails, and the interpreter
  // finishes the iteration.
  const char* code = R"(
    local function rows(n, short)
      local m = {}
      for i = 1, n do
        local row = {}
        if i == short then
          row[n] = 1.5
          for j = n - 1, 1, -1 do row[j] = (i + j) / 4 end
        else
          for j = 1, n do row[j] = (i * 3 + j) / 8 end
        end
        m[i] = row
      end
      return m
    end
    local function dot(a, b, n, j)
      local s = 0.0
      for k = 1, n do s = s + a[k] * b[k][j] end
      return s
    end
    local a, b, c = {}, rows(40, 0), rows(40, 7)
    for k = 1, 40 do a[k] = k / 3 end
    local out = {}
    for j = 1, 40 do out[#out + 1] = dot(a, b, 40, j) end
    for j = 1, 40, 3 do out[#out + 1] = dot(a, c, 40, j) end
    return table.concat(out, " "))";
  Run on = run(code, true, 4);
  CHECK(on.result == run(code, false).result);
  std::string inner;
  for (const std::string& t : luna::jit_test::traces_of(code))
    if (t.find("rec:18 loop") != std::string::npos && inner.empty()) inner = t;
  REQUIRE(!inner.empty());
  INFO(inner);
  size_t body = inner.find("cmp qword ptr [r11+");
  size_t end = inner.find("cmp dword ptr [r12+", body);
  REQUIRE(end != std::string::npos);
  std::string loop = inner.substr(body, end - body);
  CHECK(luna::jit_test::count(loop, "lea r11") == 1);
  CHECK(luna::jit_test::count(loop, "+12], e") == 1);
  CHECK(luna::jit_test::count(loop, "jbe ") == 1);
}

TEST_CASE("an inner loop's tag tests at its trace's top, entered behind them by links knowing the tags", "[jit][loop]") {
  // mandelbrot's shape: the inner loop's trace tests the tags of ci, cr
  // and the z values at its top; the side traces of its exits set up the
  // next point and jump into it behind those tests. ci turns into an
  // integer for some rows and zr into an integer for some points: the
  // tests at the top fail there (the side traces know the other tag and
  // enter through them) and the interpreter or a new trace goes on.
  const char* code = R"(
    local n, count, sum = 24, 0, 0.0
    for y = 0, n - 1 do
      local ci = 2.0 * y / n - 1.0
      if y % 7 == 3 then ci = y // 12 end
      for x = 0, n - 1 do
        local cr = 2.0 * x / n - 1.5
        local zr, zi, zr2, zi2 = 0.0, 0.0, 0.0, 0.0
        if x % 5 == 4 then zr = 0 end
        local inside = true
        for _ = 1, 30 do
          zi = 2.0 * zr * zi + ci
          zr = zr2 - zi2 + cr
          zr2 = zr * zr
          zi2 = zi * zi
          if zr2 + zi2 > 4.0 then
            inside = false
            break
          end
        end
        sum = sum + zr2 + zi2
        if inside then count = count + 1 end
      end
    end
    return count .. " " .. string.format("%.6f", sum))";
  luna::jit_test::same_all_ways(code, "=rec");
  Run on = run(code, true, 4);
  CHECK(on.result == run(code, false).result);
  std::string inner;
  for (const std::string& t : luna::jit_test::traces_of(code))
    if (t.find("rec:12 loop") != std::string::npos && inner.empty()) inner = t;
  REQUIRE(!inner.empty());
  INFO(inner);
  size_t top = inner.find("mov r13, rsi");
  size_t first_float = inner.find("movsd", top);
  REQUIRE(first_float != std::string::npos);
  CHECK(luna::jit_test::count(inner.substr(top, first_float - top), "cmp byte ptr [r13+") >= 5);
}

TEST_CASE("a side trace takes its parent's failed comparison as known", "[jit][side]") {
  // fannkuch's flips: the swap loop's `lo < hi` fails into a side trace
  // starting at that comparison, which knows lo >= hi from the exit and
  // records no guard for it; the flips loop's `first ~= 1` likewise. The
  // other loops compare a slot with a constant on either side, with <=,
  // and floats (not integers: no fact): their results must stay the
  // interpreter's whichever way the comparisons go.
  const char* code = R"(
    local function flips(w)
      local count, first = 0, w[1]
      while first ~= 1 do
        local lo, hi = 1, first
        while lo < hi do
          w[lo], w[hi] = w[hi], w[lo]
          lo = lo + 1
          hi = hi - 1
        end
        count = count + 1
        first = w[1]
      end
      return count
    end
    local total, w = 0, {}
    for k = 1, 300 do
      for i = 1, 7 do w[i] = (i * k) % 7 + 1 end
      local seen, ok = {}, true
      for i = 1, 7 do if seen[w[i]] then ok = false end seen[w[i]] = true end
      if ok then total = total + flips(w) end
      local x, y, f = k % 5, 0, k % 3 + 0.5
      while 3 >= x do x = x + 1; y = y + 1 end
      while x <= k % 9 do x = x + 2; y = y + 1 end
      while f < 2.5 do f = f + 1; y = y + 1 end
      total = total + y
    end
    return tostring(total))";
  luna::jit_test::Run low = luna::jit_test::same_all_ways(code, "=rec");
  CHECK(low.out == "2143");
  int swap_sides = 0;
  for (const std::string& t : luna::jit_test::traces_of(code)) {
    if (t.find("rec:6 -> ") == std::string::npos) continue;
    INFO(t);
    swap_sides++;
    CHECK(luna::jit_test::count(t, "GE      0001 0002") == 0);
  }
  CHECK(swap_sides > 0);
}

TEST_CASE("a bounds check that the loop's comparison and another bounds check imply is left out", "[jit][loop]") {
  // The swap loop checks lo < hi and hi's bound before lo's: lo counts up
  // by one from a value the pre-roll bounded, so lo's check in the body is
  // implied. lo starts at -1 or 0 every few runs (t[lo] is nil there, so
  // the pre-roll's check of it fails): the results must stay the
  // interpreter's.
  const char* code = R"(
    local t, s = {}, 0
    for i = 1, 10 do t[i] = i end
    for k = 1, 400 do
      local lo, hi = k % 4 - 1, k % 10 + 1
      while lo < hi do
        s = s + (t[hi] or 100) * 3 + (t[lo] or 1000)
        t[lo], t[hi] = t[hi], t[lo]
        lo = lo + 1
        hi = hi - 1
      end
      for i = 1, 10 do t[i] = i end
      t[0], t[-1] = nil, nil
    end
    return tostring(s))";
  luna::jit_test::Run low = luna::jit_test::same_all_ways(code, "=rec");
  CHECK(low.out == "299300");
  std::string swap;
  for (const std::string& t : luna::jit_test::traces_of(code))
    if (t.find("rec:6 loop") != std::string::npos) swap = t;
  REQUIRE(!swap.empty());
  INFO(swap);
  size_t body = swap.find("LOOPSTART");
  REQUIRE(body != std::string::npos);
  CHECK(luna::jit_test::count(swap.substr(body, swap.find("snap 0") - body), "ULT") == 1);
}
