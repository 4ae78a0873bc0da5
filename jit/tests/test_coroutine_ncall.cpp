// Coroutine functions that traces call in place (an NCALL of a coroutine
// function, record_native.cpp: coroutine_call): resume, wrap's function,
// create, status, running and isyieldable, with the collector running under
// the call. Each program runs with the JIT off, with low thresholds and in
// stress mode, and must give the same output; the counts checked show the
// loops ran compiled through their coroutine calls (before, each loop
// stitched at its first call, "after too few instructions", and was given
// up on: aborts, then the interpreter).
#include <catch2/catch.hpp>

#include <string>

#include "jit_run.hpp"

using luna::jit_test::Mode;
using luna::jit_test::Run;
using luna::jit_test::same_all_ways;

TEST_CASE("a trace resumes coroutines whose bodies allocate enough to collect", "[jit][ncall][coroutine][gc]") {
  Run r = same_all_ways(R"lua(
    local body = function(a, b)
      local s = string.rep("x", 3000 + a % 7)
      local t = { s, a, b, { a } }
      return #t[1] + t[4][1] + b
    end
    local sum, collected = 0, 0
    local before = collectgarbage("count")
    for i = 1, 3000 do
      local co = coroutine.create(body)
      local ok, r = coroutine.resume(co, i, 1)
      sum = sum + r
      local x, y = i * 3 % 17, i * 5 % 13
      sum = sum + (x > y and x - y or y - x) + (i % 2 == 0 and 1 or 0)
      if coroutine.status(co) ~= "dead" then sum = -1 end
    end
    -- 3000 bodies made 9 MB of strings: bounded only if the collector ran
    -- under the trace's calls.
    local grew = collectgarbage("count") - before
    return sum .. " " .. tostring(grew < 4000))lua", "=resumes");
  INFO(r.out << ": " << r.stats.traces_aborted << " aborts, " << r.stats.exits_taken << " exits");
  CHECK(r.out == "13530868 true");
  CHECK(r.stats.traces_aborted == 0);
  CHECK(r.stats.exits_taken < 10);
}

TEST_CASE("a trace calls wrap generators; they yield inside their own traced loops", "[jit][ncall][coroutine][yield]") {
  Run r = same_all_ways(R"lua(
    local gen = coroutine.wrap(function(x)
      local n = 0
      while true do
        n = n + 1
        if n % 5 == 0 then x = coroutine.yield(x * 3 % 1000) else x = x + n end
      end
    end)
    local acc, y = 1, 0
    for i = 1, 600 do
      acc = gen(acc + i) + i % 3
      local u, v = i * 7 % 11, i * 3 % 5
      acc = acc + (u > v and u - v or 0) + (i % 2 == 0 and 1 or 2)
      if coroutine.isyieldable() then y = y + 1 end
      local co, main = coroutine.running()
      if not main then y = y + 1000 end
    end
    local inner = coroutine.wrap(function()
      for i = 1, 300 do
        local v = 0
        for j = 1, 10 do v = v + j * i end
        coroutine.yield(v, coroutine.isyieldable())
      end
    end)
    local s = 0
    for i = 1, 300 do local v, yy = inner(); s = s + v + (yy and 1 or 0) + i % 7 end
    -- A generic for over a generator.
    local function range(n)
      return coroutine.wrap(function() for i = 1, n do coroutine.yield(i, i * i) end end)
    end
    local q = 0
    for i, sq in range(400) do q = (q + sq * 7 + i) % 1000003 end
    return acc .. " " .. y .. " " .. s .. " " .. q)lua", "=wrap");
  INFO(r.out << ": " << r.stats.traces_aborted << " aborts, " << r.stats.exits_taken << " exits");
  CHECK(r.out == "586 0 2484453 973553");
  // Since resumes enter what is stitched across a yield, the continuations
  // of inner's and range's yields are recorded and abort (too small a
  // cycle, a call with variable arguments) up to 8 times each before their
  // loops are given up on.
  CHECK(r.stats.traces_aborted < 32);
}

TEST_CASE("errors inside coroutines a trace resumes or calls through wrap", "[jit][ncall][coroutine][errors]") {
  Run r = same_all_ways(R"lua(
    local out = {}
    local n = 0
    for i = 1, 60 do
      local co = coroutine.create(function(k)
        if k % 3 == 0 then error("bad " .. k) end
        if k % 7 == 0 then error({ code = k }) end
        return k * 2
      end)
      local ok, v = coroutine.resume(co, i)
      n = n + (ok and v or 1)
      if not ok then out[#out + 1] = type(v) == "table" and "t" .. v.code or v end
    end
    -- wrap's function raises the body's error in the trace's frame, with
    -- the caller's position; the handler sees the frames the interpreter
    -- would show.
    local sum = 0
    local ok, e = xpcall(function()
      for i = 1, 100 do
        local f = coroutine.wrap(function(k) if k == 90 then error("late " .. k) end return k end)
        sum = sum + f(i) + i % 4
      end
    end, function(m) return m .. " | " .. debug.traceback("tb", 2):gsub("\n%s*", " ; ") end)
    out[#out + 1] = tostring(ok) .. " " .. e .. " " .. sum
    local ok2, e2 = pcall(function()
      local s = 0
      for i = 1, 100 do
        local f = coroutine.wrap(function(k) if k == 50 then error({ k }) end return k end)
        s = s + f(i) + i % 4 + (i % 3 == 0 and 1 or 2)
      end
    end)
    out[#out + 1] = tostring(ok2) .. " " .. type(e2) .. " " .. e2[1]
    return n .. "\n" .. table.concat(out, "\n"))lua", "=errors");
  INFO(r.out << ": " << r.stats.traces_aborted << " aborts, " << r.stats.exits_taken << " exits");
  CHECK(r.out.find("errors:6: bad 60\nfalse errors:21: errors:20: late 90 | tb ; stack traceback: ; [C]: in local 'f' ; "
                   "errors:21: in function <errors:18> ; [C]: in function 'xpcall' ;") != std::string::npos);
  CHECK(r.stats.exits_taken < 40);
  CHECK(r.out.find(" 4138\nfalse table 50") != std::string::npos);
  CHECK(r.stats.traces_aborted == 0);
}

TEST_CASE("resume of a dead coroutine from a trace, and wrap's call of one", "[jit][ncall][coroutine][errors]") {
  Run r = same_all_ways(R"lua(
    local out = {}
    local co = coroutine.create(function() return 1 end)
    coroutine.resume(co)
    local n = 0
    for i = 1, 40 do
      local ok, e = coroutine.resume(co, i)
      n = n + (ok and 1 or 2) + #e + i % 3
      if i == 40 then out[#out + 1] = tostring(ok) .. " " .. e .. " " .. coroutine.status(co) end
    end
    local w = coroutine.wrap(function() return 1 end)
    w()
    local m = 0
    local ok, e = pcall(function()
      for i = 1, 40 do m = m + i % 5 + i * 2; w() end
    end)
    out[#out + 1] = tostring(ok) .. " " .. e .. " " .. m
    return n .. "\n" .. table.concat(out, "\n"))lua", "=dead");
  INFO(r.out << ": " << r.stats.traces_aborted << " aborts, " << r.stats.exits_taken << " exits");
  CHECK(r.stats.exits_taken < 10);
  CHECK(r.out == "1240\nfalse cannot resume dead coroutine dead\nfalse dead:15: cannot resume dead coroutine 3");
  CHECK(r.stats.traces_aborted == 0);
}

TEST_CASE("a coroutine called from a trace flushes the JIT, sets a hook, runs finalizers that catch errors",
          "[jit][ncall][coroutine][flush]") {
  Run r = same_all_ways(R"lua(
    local main = coroutine.running()
    local calls, gcs = 0, 0
    local mt = { __gc = function(o)
      local ok = pcall(error, "in a finalizer")
      if not ok then gcs = gcs + o[1] end
    end }
    local co = coroutine.wrap(function(x)
      while true do
        setmetatable({ 1, string.rep("y", 500) }, mt)
        if x == 300 or x == 301 then jit.flush() end
        if x == 500 then debug.sethook(main, function() calls = calls + 1 end, "c") end
        if x == 600 then debug.sethook(main) end
        if x == 800 then jit.off() end
        x = coroutine.yield(x + 1)
      end
    end)
    local acc = 0
    for i = 1, 1000 do
      acc = acc + co(i) + i % 3 + (i % 2 == 0 and 1 or 0) + i * 7 % 5
    end
    collectgarbage()
    collectgarbage()
    return acc .. " " .. calls .. " " .. gcs)lua", "=flush");
  INFO(r.out << ": " << r.stats.traces_aborted << " aborts, " << r.stats.exits_taken << " exits");
  CHECK(r.out == "505000 100 1000");
}

TEST_CASE("coroutines a trace resumes run out of memory", "[jit][ncall][coroutine][errors]") {
  const char* src = R"lua(
    local oks, fails, msg = 0, 0, ""
    for i = 1, 40 do
      local co = coroutine.create(function(k)
        if k % 10 == 0 then local s = {} for j = 1, 1e8 do s[j] = j end end
        return k
      end)
      local ok, r = coroutine.resume(co, i)
      if ok then oks = oks + r else fails = fails + 1 msg = r end
    end
    local ok, e = pcall(function()
      local w = coroutine.wrap(function() local s = {} for j = 1, 1e8 do s[j] = j end end)
      for i = 1, 10 do local x = i * 2 + i % 3 w() end
    end)
    return oks .. " " .. fails .. " " .. msg .. " " .. tostring(ok) .. " " .. tostring(e))lua";
  Run off = luna::jit_test::run(src, luna::jit_test::Mode::off, "=oom", 8u << 20);
  Run stress = luna::jit_test::run(src, luna::jit_test::Mode::stress, "=oom", 8u << 20);
  Run low = luna::jit_test::run(src, luna::jit_test::Mode::low, "=oom", 8u << 20);
  CHECK(off.out == "720 4 not enough memory false not enough memory");
  CHECK(stress.out == off.out);
  CHECK(low.out == off.out);
}

TEST_CASE("traces call wrap's function wanting and giving 0, 1 and 2 values", "[jit][ncall][coroutine][yield]") {
  // resume_direct from coroutine_call (at most one value wanted, two given:
  // a generic for's state and control) and the general way (two wanted), a
  // body finishing after a direct resume, an error raised through the
  // trace's call; lua5.4 gives this string.
  Run r = same_all_ways(R"lua(
    local g = coroutine.wrap(function(a)
      local n = 0
      while true do
        n = n + 1
        if n % 3 == 0 then
          coroutine.yield()
        elseif n % 3 == 1 then
          a = coroutine.yield(a, n)
        else
          a = coroutine.yield((a or 5) * 2)
        end
      end
    end)
    local acc = 0
    for i = 1, 300 do acc = (acc + (g(i) or 7)) % 1000003 end
    for _ = 1, 300 do g() end
    for _ = 1, 300 do acc = acc + (g() or 1) end
    for i = 1, 300 do
      local a, b = g(i)
      acc = acc + (a or 0) + (b or 0)
    end
    for i = 1, 300 do acc = acc + (g(i, i) or 3) end
    local fin = 0
    for i = 1, 300 do
      local f = coroutine.wrap(function(x)
        local y = coroutine.yield(x)
        return y + 1
      end)
      f(i)
      fin = fin + f(i)
    end
    local e = coroutine.wrap(function(x)
      while true do
        if x > 250 then error("big") end
        x = coroutine.yield(x)
      end
    end)
    local last = 0
    local ok, msg = pcall(function()
      for i = 1, 300 do last = last + e(i) end
    end)
    local seen = 0
    local gen = coroutine.wrap(function()
      for i = 1, 300 do
        local st = coroutine.yield(i)
        if st == "st" then seen = seen + i end
      end
      coroutine.yield(nil)
    end)
    local q = 0
    for v in gen, "st" do q = q + v % 7 end
    return acc .. " " .. q .. " " .. seen .. " " .. fin .. " " .. last .. " " .. tostring(ok) .. " " .. tostring(msg:match("big$") ~= nil))lua", "=wrapvalues");
  INFO(r.out << ": " << r.stats.traces_aborted << " aborts, " << r.stats.exits_taken << " exits");
  CHECK(r.out == "242301 903 45150 45450 31375 false true");
}

TEST_CASE("traces resume new and suspended coroutines wanting and giving 0, 1 and 2 values",
          "[jit][ncall][coroutine][yield]") {
  // resume_first_direct (a body not started) and resume_direct (suspended
  // by a yield) from coroutine_call, the general way (three results
  // wanted, a native body, a yield from a nested call, a dead or running
  // coroutine), errors returned; lua5.4 gives this string.
  Run r = same_all_ways(R"lua(
    local out = {}
    local sum = 0
    -- first resumes with 0, 1 and 2 values, wanting 0, 1 and 2 results
    for i = 1, 300 do
      local co = coroutine.create(function(a, b) return (a or 0) + (b or 0) + 1 end)
      local m = i % 4
      if m == 0 then
        local ok, r = coroutine.resume(co, i, 2)
        sum = sum + r + (ok and 1 or 0)
      elseif m == 1 then
        local ok = coroutine.resume(co, i)
        sum = sum + (ok and 3 or 0)
      elseif m == 2 then
        coroutine.resume(co)
        sum = sum + 5
      else
        local ok, r = coroutine.resume(co)
        sum = sum + r
      end
      local ok2, e = coroutine.resume(co, 1)
      if not ok2 and e == "cannot resume dead coroutine" then sum = sum + 7 end
    end
    out[#out + 1] = sum
    -- suspended coroutines resumed with values each way, finishing, failing
    sum = 0
    for i = 1, 300 do
      local co = coroutine.create(function(a)
        local b = coroutine.yield(a * 2)
        coroutine.yield()
        local c, d = coroutine.yield(b)
        if c == 13 then error("thirteen") end
        return c, d
      end)
      local _, x = coroutine.resume(co, i)
      local _, y = coroutine.resume(co, x + 1)
      local ok1, z = coroutine.resume(co)
      local ok3, w, v = coroutine.resume(co, i % 20, i)
      sum = sum + x + (y or 0) + (z or 0) + (ok1 and 1 or 0) + (ok3 and w + (v or 0) or 1000)
    end
    out[#out + 1] = sum
    -- a native body, a body that yields from a nested call, resume of a running one
    local nat = coroutine.create(math.max)
    local okn, rn = coroutine.resume(nat, 3, 9)
    out[#out + 1] = tostring(okn) .. rn
    local deep = 0
    for i = 1, 200 do
      local co = coroutine.create(function(a)
        local function inner(x) return coroutine.yield(x + 1) end
        return inner(a) * 2
      end)
      local _, r1 = coroutine.resume(co, i)
      local _, r2 = coroutine.resume(co, r1)
      deep = deep + r1 + r2
    end
    out[#out + 1] = deep
    local self
    self = coroutine.create(function() return coroutine.resume(self) end)
    local oks, a, b = coroutine.resume(self)
    out[#out + 1] = tostring(oks) .. tostring(a) .. b
    return table.concat(out, " "))lua", "=resumevalues");
  INFO(r.out << ": " << r.stats.traces_aborted << " aborts, " << r.stats.exits_taken << " exits");
  CHECK(r.out == "14475 241710 true9 60900 truefalsecannot resume non-suspended coroutine");
}

TEST_CASE("traces call coroutine.create wanting 0, 1 and 2 results; its collections run finalizers",
          "[jit][ncall][coroutine][gc]") {
  // create_precall (coroutine.cpp) ends create's frame itself for 0 and 1
  // results; 2 and a non-function take precall_native's way. The
  // finalizers swap coroutine.resume under the trace's create: the trace
  // must read it again. lua5.4 gives this string.
  Run r = same_all_ways(R"lua(
    local sum, nils, kinds = 0, 0, 0
    local body = function(a, b) return (a or 0) + (b or 0) end
    local real = coroutine.resume
    local swapped = 0
    local mt = { __gc = function(o)
      -- a finalizer run by create's collection step swaps resume
      if coroutine.resume == real then
        coroutine.resume = function(co, ...) swapped = swapped + 1; return real(co, ...) end
      else
        coroutine.resume = real
      end
    end }
    for i = 1, 3000 do
      local m = i % 4
      if m == 0 then
        coroutine.create(body)            -- no result wanted
        kinds = kinds + 1
      elseif m == 1 then
        local co, extra = coroutine.create(body, i)   -- two wanted, extra argument
        if extra == nil then nils = nils + 1 end
        local _, r = coroutine.resume(co, i, 1)
        sum = sum + r
      else
        local co = coroutine.create(body)
        local _, r = coroutine.resume(co, i)
        sum = sum + r
      end
      if i % 50 == 0 then setmetatable({ string.rep("z", 2000) }, mt) end
      local ok, e = pcall(coroutine.create, i)
      if not ok and i == 3000 then sum = sum .. " " .. e end
    end
    return sum .. " " .. nils .. " " .. kinds .. " " .. tostring(swapped > 0))lua", "=create");
  INFO(r.out << ": " << r.stats.traces_aborted << " aborts, " << r.stats.exits_taken << " exits");
  CHECK(r.out == "3375750 bad argument #1 to 'coroutine.create' (function expected, got number) 750 750 true");
}

// A resume of a frame suspended by its CALL of coroutine.yield enters the
// trace stitched across that call (coroutine.cpp run_stitched): the
// continuation runs from the instruction after the yield with the values
// it passed in, leaves in an inlined callee's frame, returns from the
// frame, or follows a multiple-results yield whose count is in L->top.
TEST_CASE("resumes enter the traces stitched across coroutine.yield", "[jit][ncall][coroutine][yield][stitch]") {
  Run r = same_all_ways(R"lua(
    local function mapper(src, f)
      return coroutine.wrap(function()
        while true do
          local v = src()
          if v == nil then return nil end
          coroutine.yield(f(v))
        end
      end)
    end
    local function counter(n)
      return coroutine.wrap(function()
        for i = 1, n do coroutine.yield(i) end
      end)
    end
    local s = 0
    for v in mapper(counter(500), function(x) return x * 3 + 1 end) do s = (s * 7 + v) % 1000003 end
    -- The yield made by a function the loop calls: the continuation goes on
    -- in that function's frame and returns into the loop's.
    local function step(x, k)
      local got = coroutine.yield(x + k)
      return got * 2 + k
    end
    local deep = coroutine.wrap(function(x)
      local k = 0
      while true do
        k = k + 1
        x = step(x, k) % 1000003
        if k % 7 == 0 then x = x + 1 end
      end
    end)
    local d = 1
    for i = 1, 400 do d = deep(d + i) end
    -- Every value the yield returns counted (a CALL wanting all results).
    local many = coroutine.wrap(function(...)
      local n = select("#", ...)
      while n < 1000 do
        n = n + select("#", coroutine.yield(n))
        n = n + 1
      end
      return -n
    end)
    local m, last = 0, 0
    for i = 1, 600 do
      if last < 0 then break end
      if i % 3 == 0 then last = many() elseif i % 3 == 1 then last = many(i, nil) else last = many(1, 2, 3) end
      m = m + last
    end
    -- The continuation returns from the body once its value is large.
    local fin = coroutine.create(function(x)
      local acc = 0
      while true do
        acc = acc + x
        if acc > 50000 then return acc, "done" end
        x = coroutine.yield(acc % 97)
      end
    end)
    local f, ok, a, b = 0, true, 0, nil
    for i = 1, 600 do
      ok, a, b = coroutine.resume(fin, i)
      if b == "done" or not ok then break end
      f = f + a
    end
    return s .. " " .. d .. " " .. m .. " " .. f .. " " .. a .. " " .. tostring(b))lua", "=yieldstitch");
  INFO(r.out << ": " << r.stats.traces_aborted << " aborts, " << r.stats.entries << " entries");
  CHECK(r.out == "414996 310835 186873 13173 50086 done");
  // Each resume of the four loops enters its continuation (given up
  // on at the loop's back-edge, they would be entered a few times only).
  CHECK(r.stats.entries > 1000);
}

TEST_CASE("a trace keeps what it loaded across coroutine.create; finalizers run only in the interpreter's create",
          "[jit][ncall][coroutine][gc]") {
  // create_call (record_native.cpp) collects nothing under the trace, so
  // t.v, read before create, is not read again after it; a collection due
  // leaves the trace at the CALL, and the interpreter's create collects and
  // runs the finalizers, which add to t.v. Every finalizer runs while
  // in_create is set (its collection is create's), and each shows as
  // b - a: a create that collected under the trace while t.v was kept
  // across it would make diff fall short of ran.
  Run r = same_all_ways(R"lua(
    local t = { v = 0 }
    local in_create, ran, elsewhere, diff, sum = false, 0, 0, 0, 0
    local mt = { __gc = function()
      t.v = t.v + 1
      if in_create then ran = ran + 1 else elsewhere = elsewhere + 1 end
    end }
    local body = function(x) return x + 1 end
    for i = 1, 4000 do
      local a = t.v
      in_create = true
      local co = coroutine.create(body)
      in_create = false
      local b = t.v
      diff = diff + (b - a)
      local _, r = coroutine.resume(co, i)
      sum = sum + r
      if i % 40 == 0 then setmetatable({}, mt) end
    end
    return sum .. " " .. tostring(diff == ran) .. " " .. tostring(ran > 0))lua", "=createkeeps");
  INFO(r.out << ": " << r.stats.traces_aborted << " aborts, " << r.stats.exits_taken << " exits");
  CHECK(r.out == "8006000 true true");
  CHECK(r.stats.traces_compiled >= 1);
}

TEST_CASE("coroutine.create in a trace meets the memory limit as the interpreter's does", "[jit][ncall][coroutine][gc]") {
  // create_call catches the allocation's error and leaves the trace at the
  // CALL; the interpreter's create raises it.
  const char* src = R"lua(
    local keep = {}
    local body = function() end
    local ok, e = pcall(function()
      for i = 1, 1000000 do keep[i] = coroutine.create(body) end
    end)
    return tostring(ok) .. " " .. tostring(e) .. " " .. tostring(#keep > 1000))lua";
  for (Mode m : {Mode::off, Mode::low, Mode::stress}) {
    Run r = luna::jit_test::run(src, m, "=createlimit", 4u << 20);
    CHECK(r.out == "false not enough memory true");
    if (m != Mode::off) CHECK(r.stats.traces_compiled >= 1);
  }
}
