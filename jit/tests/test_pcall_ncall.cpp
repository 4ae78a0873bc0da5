// pcall called by traces in place (an NCALL through pcall_call,
// record_pcall.cpp) instead of stitched around. Each program runs with the
// JIT off, with low thresholds and in stress mode, and must give the same
// output; the exit counts show the loops ran through their pcalls without
// leaving (stitched, every pcall was an exit).
#include <catch2/catch.hpp>

#include <string>

#include "jit_run.hpp"

using luna::jit_test::Run;
using luna::jit_test::same_all_ways;

TEST_CASE("a trace calls pcall in place: caught errors of every kind, results", "[jit][ncall][pcall]") {
  Run r = same_all_ways(R"lua(
    local function fs(i) error("bad " .. (i % 10)) end
    local function ft(i) error({code = i % 7}) end
    local function three(i) return i, i * 2, "x" end
    local c, d, n = 0, 0, 0
    for i = 1, 3000 do
      local ok, e = pcall(fs, i)
      if not ok then c = c + #e end
      local ok2, e2 = pcall(ft, i)
      if not ok2 then d = d + e2.code end
      local a, b, x, y = pcall(three, i)
      d = d + b + (x or 0) + #tostring(y)
      local ok3, e3 = pcall(error, "lvl", i % 3)
      n = n + #tostring(e3)
      local ok4, e4 = pcall(i % 5 == 0 and 7 or fs, i)
      n = n + #tostring(e4)
    end
    local tb = select(2, pcall(function() return debug.traceback("tb", 1) end))
    return c .. " " .. d .. " " .. n .. " " .. tb)lua", "=pc");
  INFO(r.out << ": " << r.stats.exits_taken << " exits");
  CHECK(r.out.find("33000 13516498 60400 tb") == 0);
  CHECK(r.out.find("[C]: in function 'pcall'") != std::string::npos);
  CHECK(r.stats.exits_taken < 100);
}

TEST_CASE("pcall from a trace: yields in coroutines, hooks, collections and stack overflows under it",
          "[jit][ncall][pcall][yield]") {
  Run r = same_all_ways(R"lua(
    local out = {}
    local function loop(m)
      local t = 0
      for i = 1, m do
        local ok, v = pcall(function(k)
          if coroutine.isyieldable() and k % 10 == 0 then return coroutine.yield(k) end
          return k
        end, i)
        t = t + (v or 0)
      end
      return t
    end
    out[#out + 1] = loop(300)
    local co = coroutine.wrap(function() return loop(300) end)
    local v = co()
    for step = 1, 30 do v = co(v * 2) end
    out[#out + 1] = v
    out[#out + 1] = loop(300)
    local hooks = 0
    for i = 1, 300 do
      pcall(function()
        if i == 100 then debug.sethook(function() hooks = hooks + 1 end, "c") end
        if i == 120 then debug.sethook() end
        if i % 50 == 0 then collectgarbage() end
      end)
    end
    out[#out + 1] = hooks
    local function rec(k) return 1 + rec(k + 1) end
    for i = 1, 40 do
      local ok, e = pcall(rec, 1)
      if i % 20 == 0 then out[#out + 1] = e end
    end
    local u, tab = 0, {v = 1}
    for i = 1, 300 do
      pcall(function() u = u + 1 tab.v = tab.v + 1 if i % 7 == 0 then tab = {v = 0} end end)
    end
    out[#out + 1] = u .. " " .. tab.v
    return table.concat(out, "|"))lua", "=pc");
  CHECK(r.out == "45150|49800|45150|42|pc:29: stack overflow|pc:29: stack overflow|300 6");
}

// pcall_in_place (do.cpp) makes pcall's frame itself: what runs at its
// edges must be what the interpreter's pcall does. A return hook set by the
// callee fires for pcall's own return and its error leaves the trace (the
// outer pcall catches it); a __call table, more and fewer results than
// wanted, upvalues and to-be-closed variables of a callee that raises, a
// stack grown under the call (the trace's frame moves), nested in-place
// pcalls and error levels naming pcall's frame.
TEST_CASE("pcall made in place by a trace: return hooks, __call, results, closing, stack growth",
          "[jit][ncall][pcall]") {
  Run r = same_all_ways(R"lua(
    local out = {}
    local hooked = 0
    local ok, e = pcall(function()
      for i = 1, 300 do
        pcall(function()
          if i == 200 then
            debug.sethook(function(ev)
              hooked = hooked + 1
              if hooked == 3 then debug.sethook() error("from the hook") end
            end, "r")
          end
        end)
      end
    end)
    out[#out + 1] = tostring(ok) .. " " .. tostring(e):gsub("^.-: ", "") .. " " .. hooked
    local callable = setmetatable({}, {__call = function(self, a, b) return a + b, self end})
    local s, cells = 0, {}
    for i = 1, 300 do
      local ok1, v = pcall(callable, i, 1)
      local a, b, c, d, x = pcall(function(k) return k, k + 1 end, i)
      local ok3 = pcall(function() return 1, 2, 3, 4, 5, 6 end)
      s = s + v + b + c + (d == nil and 1 or 0) + (x == nil and 1 or 0) + (ok3 and 1 or 0)
      local okc, ec = pcall(function(k)
        local cell = k
        cells[#cells + 1] = function() return cell end
        local t <close> = setmetatable({}, {__close = function() s = s + 1 end})
        error(k, 0)
      end, i)
      s = s + ec
    end
    local cs = 0
    for _, f in ipairs(cells) do cs = cs + f() end
    out[#out + 1] = s .. " " .. cs
    local function deep(n, ...) if n == 0 then return select("#", ...) end return deep(n - 1, n, ...) end
    local g = 0
    for i = 1, 200 do
      local okd, nd = pcall(deep, 50 + i % 3)
      local okn, en = pcall(pcall, error, {i})
      local okl, el = pcall(error, "lvl", 2)
      g = g + nd + (en and 1 or 0) + #el
    end
    out[#out + 1] = g
    return table.concat(out, "|"))lua", "=pc");
  CHECK(r.out == "false from the hook 3|182400 45150|12201");
}

// pcall_in_place enters a Lua callee itself when the stack has room for its
// frame and leaves the rest to precall (a frame bigger than the free stack
// grows it first); error() raises directly when no message handler is set,
// so a handler (xpcall) and the memory error's message (ERRMEM: no handler
// runs) must still take error()'s path.
TEST_CASE("pcall in place: callees with big frames, error with a handler and the memory message",
          "[jit][ncall][pcall]") {
  Run r = same_all_ways(R"lua(
    local names = {}
    for j = 1, 190 do names[j] = "a" .. j end
    local big = load("local k = ... local " .. table.concat(names, ", ") ..
                     " = k, k + 1 error(a1 + a2 + (a190 or 0), 0)")
    local s, h, m = 0, 0, 0
    for i = 1, 300 do
      local ok, e = pcall(big, i)
      s = s + e + (ok and 1000000 or 0)
      local okx, ex = xpcall(error, function(msg) h = h + 1 return "h:" .. msg end, "x" .. i % 3, 0)
      s = s + #ex + (okx and 1000000 or 0)
      local okm, em = xpcall(error, function() h = h + 100 return "handled" end, "not enough memory", 0)
      m = m + (em == "not enough memory" and 1 or 0) + (okm and 1000000 or 0)
      local okp, ep = pcall(error, "not enough memory", 0)
      m = m + (ep == "not enough memory" and 1 or 0) + (okp and 1000000 or 0)
    end
    return s .. " " .. h .. " " .. m)lua", "=big");
  CHECK(r.out == "91800 300 600");
}
