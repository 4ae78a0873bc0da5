// Side traces of exits inside inlined calls (trace_backend.cpp exit_taken,
// Recorder::inherit_frames): the side trace starts in the innermost inlined
// frame with the parent's frames kept inlined, returns through them and
// links back; its own exits rebuild those frames. Each program runs with the
// JIT off, with low thresholds and in stress mode; the outputs must agree,
// errors and tracebacks included.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "jit_run.hpp"

using namespace luna;
using jit_test::Mode;
using jit_test::Run;

namespace {

// The three modes agree, and the low-threshold run compiled side traces.
Run same_three_ways(const std::string& src) {
  Run low = jit_test::same_all_ways(src, "=exits");
  CHECK(low.stats.traces_compiled >= 2);
  return low;
}

// Task classes sharing Task:runnable, whose branches on held, queue and
// waiting differ per task (richards' scheduler loop).
const char* kTasks = R"(
local function class(parent)
  local c = {}
  c.__index = c
  if parent then setmetatable(c, { __index = parent }) end
  return c
end
local Task = class()
function Task:runnable() return not self.held and (self.queue ~= nil or not self.waiting) end
function Task:step() self.n = self.n + 1; return self.n % self.mod == 0 end
local A, B, C, D = class(Task), class(Task), class(Task), class(Task)
function A:run() self.held = not self.held; return 1 end
function B:run() self.waiting = not self.waiting; return 2 end
function C:run() if self:step() then self.queue = nil else self.queue = self end return 3 end
function D:run() local s = 0; for i = 1, 3 do s = s + i end; return s end
local tasks = {}
for i, k in ipairs({A, B, C, D, A, C}) do
  tasks[i] = setmetatable({ n = 0, mod = i + 1, held = i % 2 == 0, waiting = i % 3 == 0 }, k)
end
local sum, runs = 0, 0
for round = 1, ROUNDS do
  for i = 1, #tasks do
    local t = tasks[i]
    if t:runnable() then sum = sum + t:run(); runs = runs + 1
    else t.held = false; t.waiting = false end
  end
end
return sum .. " " .. runs
)";

std::string with_rounds(int n) {
  std::string s = kTasks;
  s.replace(s.find("ROUNDS"), 6, std::to_string(n));
  return s;
}

}  // namespace

TEST_CASE("exits inside an inlined method get side traces: few exits per call", "[jit][side][calls]") {
  Run r = same_three_ways(with_rounds(400));
  // 2400 calls of runnable, each taking one of its branches per task: with
  // side traces for the exits inside it (and a chain of side traces for the
  // classes at the call site) only the first calls of each path exit.
  CHECK(r.stats.exits_taken < 100);
  Run more = jit_test::run(with_rounds(4000), Mode::low, "=exits");
  CHECK(more.stats.exits_taken < r.stats.exits_taken + 20);
}

TEST_CASE("side traces of exits two and three frames deep, with upvalues and closures", "[jit][side][calls]") {
  same_three_ways(R"(
local out = {}
local k = 3
local function leaf(x)
  if x % 7 == 0 then return x // 7, "seven" end
  if x % 3 == 0 then return x * k, nil end
  return x, "plain"
end
local function mid(x)
  local a, b = leaf(x)
  if b == "seven" then local f = function() return a + k end; local r = f(); return r end
  if b then return a + 1 end
  return a - 1
end
local function top(x) return mid(x) + mid(x + 1) end
local s = 0
for i = 1, 3000 do s = s + top(i); if i == 1500 then k = 5 end end
out[#out + 1] = s
local function tl(x) if x > 10 then return mid(x) end return leaf(x) end
local t = 0
for i = 1, 2000 do local a = tl(i % 20); t = t + a end
out[#out + 1] = t
local function many(x) if x % 2 == 0 then return x, x + 1, x + 2 end return x end
local function wrap(x) local a, b, c = many(x); return a + (b or 0) + (c or 0) end
local u = 0
for i = 1, 2000 do u = u + wrap(i) end
out[#out + 1] = u
return table.concat(out, " ")
)");
}

TEST_CASE("errors after exits inside inlined frames that have side traces", "[jit][side][calls]") {
  // The branches of get exit inside it; their side traces keep get and use
  // inlined. Late in the loop a field becomes nil: the error is raised by
  // the interpreter after an exit of such a side trace, inside get or after
  // it returned into use, with the interpreter's message and traceback.
  Run r = same_three_ways(R"(
local function get(t, i)
  if i % 4 == 0 then return t.a + 1 end
  if i % 4 == 1 then return t.b end
  return t.c + i
end
local function use(t, i) local v = get(t, i); return v * 2 end
local function loop(n, bad, field)
  local t = { a = 1, b = 2, c = 3 }
  local s = 0
  for i = 1, n do
    if i == bad then t[field] = nil end
    s = s + use(t, i)
  end
  return s
end
local out = { loop(3000, 0, "a") }
for _, f in ipairs({ "a", "b", "c" }) do
  local ok, e = pcall(loop, 3000, 2000, f)
  out[#out + 1] = tostring(ok) .. " " .. e
  out[#out + 1] = select(2, xpcall(loop, debug.traceback, 3000, 2001, f))
end
local tb = {}
local function inner(i) if i % 50 == 0 then tb[#tb + 1] = debug.traceback("at " .. i, 1) end return i end
local function outer(i) return inner(i) + 1 end
local z = 0
for i = 1, 200 do z = z + outer(i) end
out[#out + 1] = z .. " " .. #tb .. " " .. tb[#tb]
return table.concat(out, "\n")
)");
  CHECK(r.out.find("attempt to perform arithmetic on a nil value (field 'a')") != std::string::npos);
  CHECK(r.out.find("attempt to perform arithmetic on a nil value (local 'v')") != std::string::npos);
  CHECK(r.out.find("in upvalue 'get'") != std::string::npos);
  CHECK(r.out.find("in local 'outer'") != std::string::npos);
}

TEST_CASE("side traces linking into the loop of a callee inlined three frames deep", "[jit][side][calls]") {
  // fannkuch's shape: the outer loop's branches get side traces that reach
  // flips' loop through run and a tail call of count; each link makes the
  // three inlined frames real (their depth, then outwards through the
  // parent links), and the tracebacks taken inside the loop show them.
  Run r = same_three_ways(R"(
local tb = {}
local function flips(p, n)
  local c = 0
  for i = 1, n do
    c = c + p[i]
    if c == 120 then tb[#tb + 1] = debug.traceback("at", 1) end
  end
  return c
end
local function count(p, n) return flips(p, n) end
local function run(p, n) local c = count(p, n); return c + 1 end
local p = {}
for i = 1, 12 do p[i] = i end
local s = 0
for k = 1, 3000 do
  local n = k % 3 == 0 and 12 or (k % 5 == 0 and 9 or 6)
  if k % 2 == 0 then s = s + run(p, n) else s = s - run(p, n - 1) end
end
return s .. " " .. #tb .. " " .. (tb[#tb] or "")
)");
  CHECK(r.stats.exits_taken < 3000);
}

TEST_CASE("side traces load the slots their parent's exit wrote without tag guards", "[jit][side]") {
  // The loop writes f (slot 1, a float) and i; the exit at i % 10 == 0
  // stores both, so its side trace reads f with no tag guard. s (slot 0)
  // is not in that exit's snapshot and keeps its guard.
  const std::string src =
      "local s, f = 0, 0.5\n"
      "for i = 1, 100 do\n"
      "  f = f * 0.5 + i\n"
      "  if i % 10 == 0 then s = s + f end\n"
      "end\n"
      "return s";
  jit_test::same_all_ways(src, "=rec");
  std::string side;
  for (const std::string& t : jit_test::traces_of(src))
    if (t.find("(1/") != std::string::npos) side = t;
  REQUIRE(!side.empty());
  INFO(side);
  CHECK(side.find("cmp byte ptr [r13+24]") == std::string::npos);
  CHECK(side.find("cmp byte ptr [r13+8]") != std::string::npos);
}
