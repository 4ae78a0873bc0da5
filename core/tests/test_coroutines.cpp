// Stackless coroutines through the stack API: continuations for natives
// (call_k, pcall_k, yield_k), refusals without one, and memory accounting.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "builtin.hpp"
#include "luna/api.hpp"
#include "test_support.hpp"

using namespace luna;
using luna::test::run;

namespace {


// twice(f): calls f twice with call_k, returns the sum of its two results.
int twice_cont(State* L, int status, KContext ctx) {
  REQUIRE(status == YIELD);
  if (ctx == 1) {  // the first call finished after a yield: make the second
    push_value(L, 1);
    call_k(L, 0, 1, 2, twice_cont);
  }
  Integer a = to_integerx(L, 2);
  Integer b = to_integerx(L, 3);
  push_integer(L, a + b);
  return 1;
}

int twice(State* L) {
  set_top(L, 1);
  push_value(L, 1);
  call_k(L, 0, 1, 1, twice_cont);
  push_value(L, 1);
  call_k(L, 0, 1, 2, twice_cont);
  return twice_cont(L, YIELD, 2);
}

// guarded(f): pcall_k of f; returns "ok" or "caught: <message>".
int guarded_cont(State* L, int status, KContext) {
  if (status == OK || status == YIELD) {
    push_string(L, "ok");
  } else {
    push_string(L, "caught: ");
    push_value(L, -2);
    concat(L, 2);
  }
  return 1;
}

int guarded(State* L) {
  set_top(L, 1);
  int st = pcall_k(L, 0, 0, 0, 0, guarded_cont);
  return guarded_cont(L, st, 0);
}

// ask(x): yields x; the continuation returns what resume passed, doubled.
int ask_cont(State* L, int status, KContext ctx) {
  REQUIRE(status == YIELD);
  REQUIRE(ctx == 7);
  push_integer(L, 2 * to_integerx(L, -1));
  return 1;
}

int ask(State* L) { return yield_k(L, 1, 7, ask_cont); }

// plain(f): calls f without a continuation.
int plain(State* L) {
  call(L, 0, 0);
  return 0;
}

int throws(State*) { throw std::runtime_error("host failure"); }

}  // namespace

TEST_CASE("coroutines: a C++ exception kills only the coroutine", "[coroutine]") {
  State* L = new_state();
  open_libs(L);
  push_native_function(L, throws);
  set_global(L, "throws");
  CHECK(run(L, R"(
    local co = coroutine.create(function() coroutine.yield(1) throws() end)
    assert(coroutine.resume(co))
    local ok, e = coroutine.resume(co)
    return tostring(ok) .. " " .. e .. " " .. coroutine.status(co))") == "false C++ exception in a native function dead");
  close_state(L);
}

TEST_CASE("coroutines: natives yield through call_k, pcall_k and yield_k", "[coroutine]") {
  State* L = new_state();
  open_libs(L);
  push_native_function(L, twice);
  set_global(L, "twice");
  push_native_function(L, guarded);
  set_global(L, "guarded");
  push_native_function(L, ask);
  set_global(L, "ask");
  push_native_function(L, plain);
  set_global(L, "plain");
  CHECK(run(L, R"(
    local co = coroutine.wrap(function()
      local n = 0
      local s = twice(function() n = n + 1; return coroutine.yield(n) end)
      return s
    end)
    assert(co() == 1)
    assert(co(10) == 2)
    return co(32))") == "42");
  CHECK(run(L, R"(
    local co = coroutine.wrap(function()
      local r1 = guarded(function() coroutine.yield("in") end)
      local r2 = guarded(function() coroutine.yield("again"); error("late", 0) end)
      return r1 .. " " .. r2
    end)
    assert(co() == "in")
    assert(co() == "again")
    return co())") == "ok caught: late");
  CHECK(run(L, R"(
    local co = coroutine.wrap(function() return ask(5) + 1 end)
    assert(co() == 5)
    return co(20))") == "41");
  CHECK(run(L, R"(
    local co = coroutine.wrap(function() plain(function() coroutine.yield() end) end)
    local ok, e = pcall(co)
    return e)") == "attempt to yield across a C-call boundary");
  CHECK(run(L, "local ok, e = pcall(coroutine.yield) return e") == "attempt to yield from outside a coroutine");
  close_state(L);
}

TEST_CASE("coroutines: suspended coroutines count against the memory limit", "[coroutine]") {
  State* L = new_state();
  open_libs(L);
  set_memory_limit(L, 4u << 20);
  // The coroutines are collected before the result string is made: the
  // emergency collection that could free them on its own is held back for a
  // while after the one that found nothing to free (gc.cpp), so without it
  // the result depends on the heap's exact size (GlobalState's included).
  CHECK(run(L, R"(
    local keep = {}
    local ok, e = pcall(function()
      for i = 1, 1e6 do
        local co = coroutine.create(function() coroutine.yield() end)
        coroutine.resume(co)
        keep[i] = co
      end
    end)
    local n = #keep
    keep = nil
    -- The loop's last emergency collection freed nothing, so one is not
    -- retried at once (emergency_allowed): the coroutines are let go here,
    -- or the result's strings fail wherever the limit left too little.
    collectgarbage()
    return tostring(ok) .. " " .. tostring(e) .. " " .. tostring(n > 1000 and n < 1e6))") == "false not enough memory true");
  set_memory_limit(L, 0);
  close_state(L);
}

TEST_CASE("coroutines: coroutine.yield from every kind of call site", "[coroutine]") {
  // A yield called by the Lua code the resume runs directly returns to the
  // resume; anywhere deeper it jumps. Both must leave the same state.
  luna::test::StateGuard g;
  State* L = g.L;
  CHECK(run(L, R"(
    local co = coroutine.wrap(function(a)
      local function tail(x) return coroutine.yield(x) end
      return tail(a + 1) * 2
    end)
    assert(co(1) == 2)
    return co(21))") == "42");
  CHECK(run(L, R"(
    local co = coroutine.wrap(function()
      local s = 0
      for v in coroutine.yield do s = s + v end
      return s
    end)
    co(); co(5); co(7)
    return co(nil))") == "12");
  CHECK(run(L, R"(
    local co = coroutine.wrap(coroutine.yield)
    local a, b = co(1, 2)
    return a .. b .. co(3))") == "123");
  CHECK(run(L, R"(
    local t = setmetatable({}, {__index = function(_, k) return coroutine.yield(k) end})
    local co = coroutine.wrap(function() return t.x .. t.y end)
    assert(co() == "x")
    assert(co("a") == "y")
    return co("b"))") == "ab");
  CHECK(run(L, R"(
    local co = coroutine.wrap(function()
      local ok, v = pcall(coroutine.yield, 1)
      local ok2, w = pcall(function() return coroutine.yield(2) + 1 end)
      return tostring(ok) .. v .. tostring(ok2) .. w
    end)
    assert(co() == 1)
    assert(co("v") == 2)
    return co(10))") == "truevtrue11");
  CHECK(run(L, R"(
    local inner = coroutine.create(function() coroutine.yield(1); coroutine.yield(2) end)
    local outer = coroutine.wrap(function()
      local _, a = coroutine.resume(inner)
      coroutine.yield(a)
      local _, b = coroutine.resume(inner)
      return b + 10
    end)
    assert(outer() == 1)
    return outer() .. coroutine.status(inner))") == "12suspended");
  CHECK(run(L, R"(
    local co = coroutine.create(function(...)
      local n = select("#", ...)
      while true do n = n + select("#", coroutine.yield(n)) end
    end)
    local r = {}
    for i = 1, 4 do
      local ok, n = coroutine.resume(co, table.unpack({1, 2, 3}, 1, i))
      r[#r + 1] = n
    end
    return table.concat(r, ",") .. coroutine.status(co))") == "1,3,6,10suspended");
}

namespace {

int hook_calls = 0;
void counting_hook(State*, DebugInfo*) { hook_calls++; }
void yielding_hook(State* L, DebugInfo*) {
  hook_calls++;
  yield(L, 0);
}
void yield_value_hook(State* L, DebugInfo*) {
  push_integer(L, 1);
  yield(L, 1);
}

// Runs code's function on a new thread of L with hook h; returns the
// number of yields and leaves the final status and top value in *st, *v.
int run_hooked(State* L, const char* code, Hook h, int mask, int count, int* st, std::string* v) {
  REQUIRE(load_string(L, code) == OK);
  State* co = new_thread(L);
  insert(L, -2);
  xmove(L, co, 1);
  set_hook(co, h, mask, count);
  int yields = 0, nres = 0;
  for (;;) {
    push_integer(co, 7);  // values passed to a hook's yield are dropped
    push_integer(co, 8);
    *st = resume(co, L, 2, &nres);
    if (*st != YIELD) break;
    CHECK(nres == 0);
    yields++;
  }
  *v = to_string(co, -1) ? to_string(co, -1) : "?";
  pop(L, 1);
  return yields;
}

}  // namespace

TEST_CASE("coroutines: line and count hooks may yield", "[coroutine]") {
  luna::test::StateGuard g;
  State* L = g.L;
  const char* code = "local s = 0\nfor i = 1, 10 do\n  s = s + i\nend\nlocal t = {}\nt[1] = s\nreturn t[1] .. ''";
  int st = OK;
  std::string v;
  int count_yields = 0;
  for (int mask : {MASKCOUNT, MASKLINE, MASKLINE | MASKCOUNT}) {
    hook_calls = 0;
    CHECK(run_hooked(L, code, counting_hook, mask, 1, &st, &v) == 0);
    int events = hook_calls;
    CHECK(st == OK);
    CHECK(v == "55");
    hook_calls = 0;
    int yields = run_hooked(L, code, yielding_hook, mask, 1, &st, &v);
    CHECK(st == OK);
    CHECK(v == "55");
    // One yield per hook call, and each suspended instruction runs once,
    // without its hooks again, when resumed.
    CHECK(hook_calls == events);
    if (mask == MASKCOUNT) count_yields = yields;
    // Both hooks of one instruction make one yield.
    CHECK(yields == (mask == (MASKLINE | MASKCOUNT) ? count_yields : events));
  }
  CHECK(count_yields > 30);
  CHECK(run_hooked(L, code, yield_value_hook, MASKCOUNT, 1, &st, &v) == 0);
  CHECK(st == ERRRUN);
  CHECK(v.find("hooks cannot yield values") != std::string::npos);
  CHECK(run_hooked(L, "local function f() end f()", yielding_hook, MASKCALL, 0, &st, &v) == 0);
  CHECK(st == ERRRUN);
  CHECK(v.find("attempt to yield across a C-call boundary") != std::string::npos);
  set_hook(L, yielding_hook, MASKCOUNT, 1);
  CHECK(run(L, "return 1").find("attempt to yield from outside a coroutine") != std::string::npos);
  set_hook(L, nullptr, 0, 0);
}

TEST_CASE("coroutines: a finished coroutine keeps working with its shrunk stack", "[coroutine]") {
  luna::test::StateGuard g;
  State* L = g.L;
  CHECK(run(L, R"(
    local co = coroutine.create(function(...) return ... end)
    local r = {coroutine.resume(co, 1, 2, 3)}
    assert(#r == 4 and r[4] == 3)
    local ok, e = coroutine.resume(co, table.unpack({}, 1, 50))
    assert(not ok and e == "cannot resume dead coroutine")
    assert(coroutine.close(co) and coroutine.status(co) == "dead")
    ok, e = coroutine.resume(co)
    return e)") == "cannot resume dead coroutine");
  // The host may reuse a finished thread: push a new body and resume it.
  REQUIRE(load_string(L, "local co = coroutine.create(function() end) coroutine.resume(co) return co") == OK);
  REQUIRE(pcall(L, 0, 1, 0) == OK);
  State* co = to_thread(L, -1);
  REQUIRE(co != nullptr);
  CHECK(close_thread(co, L) == OK);
  set_top(co, 15);  // within the space a reset thread guarantees
  set_top(co, 0);
  REQUIRE(load_string(co, "local a, b = ... return a * b") == OK);
  push_integer(co, 6);
  push_integer(co, 7);
  int nres = 0;
  CHECK(resume(co, L, 2, &nres) == OK);
  CHECK(nres == 1);
  CHECK(to_integerx(co, -1) == 42);
  pop(L, 1);
}

TEST_CASE("coroutines: values a resume passes to the yield it ends", "[coroutine]") {
  // The usual resume (one value wanted, no to-be-closed slot, no hook) ends
  // the yield's frame inline; every other case goes through finish_native.
  luna::test::StateGuard g;
  State* L = g.L;
  CHECK(run(L, R"(
    local co = coroutine.wrap(function()
      local r = {}
      for _ = 1, 3 do
        local v = coroutine.yield()
        r[#r + 1] = tostring(v)
      end
      local a, b, c = coroutine.yield()
      r[#r + 1] = tostring(a) .. tostring(b) .. tostring(c)
      coroutine.yield()
      r[#r + 1] = select("#", coroutine.yield())
      return table.concat(r, ",")
    end)
    co(); co(); co(1); co(2, 3)
    co(4, 5)
    co(6)
    return co(7, 8, 9))") == "nil,1,2,45nil,3");
  CHECK(run(L, R"(
    local log = {}
    local co = coroutine.wrap(function()
      local x <close> = setmetatable({}, {__close = function() log[#log + 1] = "closed" end})
      local v = coroutine.yield(1)
      log[#log + 1] = v
      return coroutine.yield(2) + 1
    end)
    co(); co("a")
    local r = co(41)
    log[#log + 1] = r
    return table.concat(log, ","))") == "a,closed,42");
  CHECK(run(L, R"(
    local returns = 0
    local co = coroutine.create(function()
      local v = coroutine.yield()
      return v * 2
    end)
    debug.sethook(co, function(ev) if ev == "return" then returns = returns + 1 end end, "r")
    coroutine.resume(co)
    local _, v = coroutine.resume(co, 21)
    return v .. " " .. tostring(returns > 0))") == "42 true");
}

TEST_CASE("coroutines: a new thread has its first frame ready", "[coroutine]") {
  // thread_new allocates the body's CallInfo; threads that never run, run a
  // native body or run many frames all use and release it.
  luna::test::StateGuard g;
  State* L = g.L;
  CHECK(run(L, R"(
    for _ = 1, 200 do coroutine.create(print) end
    collectgarbage()
    local co = coroutine.create(math.max)
    local ok, v = coroutine.resume(co, 3, 9, 4)
    assert(ok and v == 9 and coroutine.status(co) == "dead")
    local function depth(n) if n == 0 then return coroutine.yield(0) end return depth(n - 1) + 1 end
    local d = coroutine.wrap(depth)
    d(30)
    return d(12))") == "42");
  State* co = new_thread(L);
  REQUIRE(load_string(co, "return 5") == OK);
  REQUIRE(pcall(co, 0, 1, 0) == OK);
  CHECK(to_integerx(co, -1) == 5);
  pop(L, 1);
}

TEST_CASE("coroutines: resumes catch by try block until a throw reaches one", "[coroutine]") {
  // A fresh state's resumes set no jump target; the first error or yield
  // from inside a native arrives as a C++ throw, and from then on every
  // resume sets one. Both must give the same results.
  for (int first : {0, 1, 2}) {
    luna::test::StateGuard g;
    State* L = g.L;
    CHECK(run(L, R"(
      local co = coroutine.wrap(function(x) while true do x = coroutine.yield(x * 2) end end)
      local s = 0
      for i = 1, 100 do s = s + co(i) end
      return s)") == "10100");
    CHECK_FALSE(L->g->coro_thrown);
    const char* thrower[] = {
        "local co = coroutine.create(function() local t = nil; return t.x end)\n"
        "local ok, e = coroutine.resume(co)\n"
        "local _, lines = debug.traceback(co):gsub('\\n', '')\n"
        "return tostring(ok) .. ' ' .. e:match(':1: (.*)') .. ' ' .. lines",
        "local co = coroutine.wrap(function() local ok, v = pcall(coroutine.yield, 1) return v .. tostring(ok) end)\n"
        "return co() .. co('v')",
        "local co = coroutine.wrap(function() error({}) end)\n"
        "local ok, e = pcall(co) return tostring(ok) .. type(e)"};
    const char* expect[] = {"false attempt to index a nil value (local 't') 1", "1vtrue", "falsetable"};
    CHECK(run(L, thrower[first]) == expect[first]);
    CHECK(L->g->coro_thrown);
    for (int i = 0; i < 3; i++) CHECK(run(L, thrower[i]) == expect[i]);
    CHECK(run(L, R"(
      local co = coroutine.wrap(function(x) while true do x = coroutine.yield(x * 2) end end)
      local s = 0
      for i = 1, 100 do s = s + co(i) end
      return s)") == "10100");
  }
}

TEST_CASE("coroutines: coro_transfer moves values each way and releases a finished stack", "[coroutine]") {
  // The library's resume (coroutine.resume, wrap's function) with the
  // resume inlined: values over, results back after the flag, the finished
  // coroutine's stack shrunk, errors as -1 with the object on L's top.
  luna::test::StateGuard g;
  State* L = g.L;
  REQUIRE(load_string(L, "return function(a, b) local x = coroutine.yield(a + b) return x, x * 2 end") == OK);
  REQUIRE(pcall(L, 0, 1, 0) == OK);
  State* co = new_thread(L);
  push_value(L, -2);
  xmove(L, co, 1);  // the body
  const TValue yes = TValue::boolean(true);
  int base = get_top(L);
  push_integer(L, 2);
  push_integer(L, 3);
  REQUIRE(coro_transfer(L, co, 2, &yes) == 1);
  REQUIRE(get_top(L) == base + 2);
  CHECK(to_boolean(L, -2));
  CHECK(to_integerx(L, -1) == 5);
  CHECK(status(co) == YIELD);
  set_top(L, base);
  push_integer(L, 10);
  REQUIRE(coro_transfer(L, co, 1, nullptr) == 2);
  REQUIRE(get_top(L) == base + 2);
  CHECK(to_integerx(L, -2) == 10);
  CHECK(to_integerx(L, -1) == 20);
  CHECK(co->stack_size() == 2);  // finished: released down to two slots
  CHECK(co->ci == &co->base_ci);
  set_top(L, base);
  push_integer(L, 1);
  CHECK(coro_transfer(L, co, 1, &yes) == -1);
  CHECK(std::string(to_string(L, -1)) == "cannot resume dead coroutine");
  set_top(L, base);
  REQUIRE(load_string(L, "return coroutine.create(function(v) error({v}) end)") == OK);
  REQUIRE(pcall(L, 0, 1, 0) == OK);
  State* bad = to_thread(L, -1);
  push_integer(L, 7);
  CHECK(coro_transfer(L, bad, 1, &yes) == -1);
  REQUIRE(type(L, -1) == TTABLE);
  CHECK(get_i(L, -1, 1) == TNUMBER);
  CHECK(to_integerx(L, -1) == 7);
  set_top(L, 0);
}

TEST_CASE("coroutines: the first CallInfo and the finished stack live in the thread's block", "[coroutine]") {
  // thread_new links the tail of the State's block as the body's CallInfo;
  // a coroutine that finished moves its stack there, and the CallInfo
  // list never frees the tail alone. Then: resumed dead with more values
  // than the tail holds, closed and reused by the host, collected.
  luna::test::StateGuard g;
  State* L = g.L;
  REQUIRE(load_string(L, "return function(a, b) local x = coroutine.yield(a + b) return x * 2 end") == OK);
  REQUIRE(pcall(L, 0, 1, 0) == OK);
  State* co = new_thread(L);
  CHECK(co->base_ci.next == tail_ci(co));
  CHECK(co->nci == 1);
  CHECK_FALSE(stack_in_tail(co));
  push_value(L, -2);
  xmove(L, co, 1);
  int base = get_top(L);
  push_integer(L, 2);
  push_integer(L, 3);
  REQUIRE(coro_transfer(L, co, 2, nullptr) == 1);
  CHECK(to_integerx(L, -1) == 5);
  CHECK(co->ci->previous == tail_ci(co));  // suspended in yield, called by the body
  CHECK_FALSE(stack_in_tail(co));
  set_top(L, base);
  push_integer(L, 21);
  REQUIRE(coro_transfer(L, co, 1, nullptr) == 1);
  CHECK(to_integerx(L, -1) == 42);
  CHECK(stack_in_tail(co));
  CHECK(co->base_ci.next == nullptr);
  CHECK(co->stack_size() == FINISHED_STACK_SIZE);
  set_top(L, base);
  for (int i = 0; i < 40; i++) push_integer(L, i);
  CHECK(coro_transfer(L, co, 40, nullptr) == -1);  // the values grow it out of the tail
  CHECK(std::string(to_string(L, -1)) == "cannot resume dead coroutine");
  CHECK_FALSE(stack_in_tail(co));
  set_top(L, base);
  CHECK(close_thread(co, L) == OK);
  REQUIRE(load_string(co, "local a, b = ... return a * b") == OK);
  push_integer(co, 6);
  push_integer(co, 7);
  int nres = 0;
  CHECK(resume(co, L, 2, &nres) == OK);
  CHECK(to_integerx(co, -1) == 42);
  set_top(L, 0);
  CHECK(run(L, R"(
    local n = 0
    for i = 1, 500 do
      local co = coroutine.create(function(a) local b = coroutine.yield(a) return a + b end)
      coroutine.resume(co, i)
      if i % 3 ~= 0 then n = n + select(2, coroutine.resume(co, 1)) end
      if i % 100 == 0 then collectgarbage() end
    end
    collectgarbage()
    return n)") == "84001");
}

TEST_CASE("coroutines: a coroutine that closed itself keeps its first CallInfo apart from its stack", "[coroutine]") {
  // 5.5's coroutine.close() of the running coroutine ends it without
  // freeing its CallInfos: its stack must not move over the tail the first
  // of them lives in.
  luna::test::StateGuard g;
  State* L = g.L;
  REQUIRE(set_version(L, LuaVersion::Lua55));
  REQUIRE(load_string(L, "local co = coroutine.create(function() coroutine.close() end) "
                         "local ok = coroutine.resume(co) assert(ok and coroutine.status(co) == 'dead') return co") == OK);
  REQUIRE(pcall(L, 0, 1, 0) == OK);
  State* co = to_thread(L, -1);
  REQUIRE(co != nullptr);
  CHECK((co->base_ci.next == nullptr || !stack_in_tail(co)));
  CHECK(run(L, R"(
    for i = 1, 300 do
      local co = coroutine.wrap(function(x) local t = {x} coroutine.close() end)
      co(i)
      if i % 50 == 0 then collectgarbage() end
    end
    collectgarbage()
    return "ok")") == "ok");
  pop(L, 1);
}

TEST_CASE("coroutines: yields wanting no results, and the errors of resume and wrap's function", "[coroutine]") {
  // resume_body finishes a yield wanting 0 or 1 results itself; the values
  // passed in beyond those are dropped and the frame goes on intact.
  luna::test::StateGuard g;
  State* L = g.L;
  CHECK(run(L, R"(
    local co = coroutine.wrap(function(a, b)
      local keep = a * 100
      coroutine.yield()
      coroutine.yield(a, b, a + b)
      local x, y = coroutine.yield()
      local z = coroutine.yield()
      return string.format("%d %s %s %s", keep, tostring(x), tostring(y), tostring(z))
    end)
    local r = {}
    r[#r + 1] = select('#', co(1, 2))
    r[#r + 1] = table.concat({co(7, 8, 9)}, ',')
    r[#r + 1] = select('#', co())
    r[#r + 1] = select('#', co(5))
    r[#r + 1] = co()
    return table.concat(r, ' '))") == "0 1,2,3 0 0 100 5 nil nil");
  CHECK(run(L, R"(
    local ok, e = pcall(coroutine.resume, 42)
    local w = coroutine.wrap(function() error("boom") end)
    local ok2, e2 = pcall(w)
    local co = coroutine.create(function() error({}) end)
    local ok3, e3 = coroutine.resume(co)
    return tostring(ok) .. "|" .. e .. "|" .. tostring(ok2) .. "|" .. tostring(e2:match(":3: boom$") ~= nil) .. "|" ..
           tostring(ok3) .. type(e3))") ==
        "false|bad argument #1 to 'coroutine.resume' (thread expected, got number)|false|true|falsetable");
}

TEST_CASE("coroutines: OP_CALL makes coroutine.yield's frame and yield itself", "[coroutine]") {
  // The dispatcher yields for coroutine.yield called from the body's own
  // Lua code without calling it (coro_yield_direct): the frame it leaves
  // must be the one precall_native and the library function would leave.
  CHECK(builtin_filter.may_match(lib_coroutine_yield));
  luna::test::StateGuard g;
  State* L = g.L;
  REQUIRE(load_string(L, "return function(a) while true do a = coroutine.yield(a, a + 1) end end") == OK);
  REQUIRE(pcall(L, 0, 1, 0) == OK);
  State* co = new_thread(L);
  push_value(L, -2);
  xmove(L, co, 1);
  int base = get_top(L);
  for (int i = 1; i <= 3; i++) {  // the first yield allocates the CallInfo, the others reuse it
    push_integer(L, i * 10);
    REQUIRE(coro_transfer(L, co, 1, nullptr) == 2);
    CHECK(to_integerx(L, -2) == i * 10);
    CHECK(to_integerx(L, -1) == i * 10 + 1);
    CallInfo* ci = co->ci;
    CHECK(co->status == YIELD);
    CHECK(ci->callstatus == CIST_C);
    CHECK(ci->func->tag == Tag::LightFn);
    CHECK(ci->func->u.f == lib_coroutine_yield);
    CHECK(ci->nresults == 1);
    CHECK(ci->nres == 2);
    CHECK(ci->k == nullptr);
    CHECK(ci->top == ci->func + 1 + 2 + MINSTACK);  // above its two arguments
    CHECK(ci->previous->is_lua());
    set_top(L, base);
  }
  set_top(L, 0);
  // Values each way, MULTRET and none wanted, the traceback's frame, and
  // the hooked and non-yieldable cases that take the call.
  CHECK(run(L, R"(
    local co = coroutine.create(function(...)
      local t = {coroutine.yield(...)}
      coroutine.yield(#t, t[1], t[3])
      coroutine.yield()
      return select('#', coroutine.yield())
    end)
    local r = {}
    local function add(...) for i = 1, select('#', ...) do r[#r + 1] = tostring((select(i, ...))) end end
    add(coroutine.resume(co, 1, nil, 3))
    add(coroutine.resume(co, 'a', 'b', 'c'))
    add(coroutine.resume(co))
    r[#r + 1] = debug.traceback(co):match("in function 'coroutine.yield'") and "tb" or "no tb"
    add(coroutine.resume(co))
    add(coroutine.resume(co, 1, 2, 3, 4))
    add(coroutine.resume(co))
    local calls = 0
    local h = coroutine.create(function()
      debug.sethook(function() calls = calls + 1 end, "c")
      coroutine.yield(5)
      debug.sethook()
      return 6
    end)
    add(coroutine.resume(h))
    add(coroutine.resume(h))
    add(calls > 0)
    add(pcall(coroutine.wrap(function() table.sort({1, 2}, function() coroutine.yield() end) end)))
    return table.concat(r, ' '))") ==
        "true 1 nil 3 true 3 a c true tb true true 4 false cannot resume dead coroutine true 5 true 6 true false "
        "attempt to yield across a C-call boundary");
}

TEST_CASE("coroutines: a finished coroutine's first stack goes to the next one created", "[coroutine]") {
  // release_finished keeps the first stack as the state's spare instead of
  // freeing it; thread_new takes it (uncleared) instead of allocating one.
  luna::test::StateGuard g;
  State* L = g.L;
  REQUIRE(load_string(L, "return function(a) local t = {a, a} return #t end") == OK);
  REQUIRE(pcall(L, 0, 1, 0) == OK);
  State* co = new_thread(L);
  TValue* first = co->stack;
  push_value(L, -2);
  xmove(L, co, 1);
  int base = get_top(L);
  push_integer(L, 7);
  REQUIRE(coro_transfer(L, co, 1, nullptr) == 1);
  CHECK(to_integerx(L, -1) == 2);
  CHECK(stack_in_tail(co));
  CHECK(L->g->spare_stack == first);
  set_top(L, base);
  State* co2 = new_thread(L);
  CHECK(co2->stack == first);
  CHECK(L->g->spare_stack == nullptr);
  set_top(L, 0);
  CHECK(run(L, R"(
    local n = 0
    for i = 1, 300 do
      local co = coroutine.create(function(a, b) local t = {} for j = 1, 60 do t[j] = j end return a + b + #t end)
      n = n + select(2, coroutine.resume(co, i, 1))
      if i % 50 == 0 then collectgarbage() end
    end
    return n)") == "63450");
}

// Whether any of a stack's slots still holds a table.
static bool holds_table(const TValue* stack) {
  for (int i = 0; i < BASIC_STACK_SIZE + EXTRA_STACK; i++)
    if (stack[i].is_table()) return true;
  return false;
}

TEST_CASE("coroutines: the spare stack is cleared by collections and hooks, not by thread_new", "[coroutine]") {
  // thread_new takes the spare as it is: what a finished body left above
  // top stays until a collection clears the spare, or a hook the thread.
  luna::test::StateGuard g;
  State* L = g.L;
  // Only the collections the test asks for: a step due inside new_thread
  // would clear the spare before the thread takes it.
  gc(L, GCSTOP);
  REQUIRE(load_string(L, "return function(a) local t = {a, a} return #t end") == OK);
  REQUIRE(pcall(L, 0, 1, 0) == OK);
  int body = get_top(L);
  auto finish_one = [&] {
    State* co = new_thread(L);
    push_value(L, body);
    xmove(L, co, 1);
    push_integer(L, 7);
    REQUIRE(coro_transfer(L, co, 1, nullptr) == 1);
    CHECK(to_integerx(L, -1) == 2);
    set_top(L, body);
    return co;
  };
  finish_one();
  TValue* spare = L->g->spare_stack;
  REQUIRE(spare != nullptr);
  CHECK(holds_table(spare));
  State* co = new_thread(L);
  CHECK(co->stack == spare);
  CHECK(holds_table(co->stack));  // not cleared on the way
  set_global(L, "co");
  CHECK(run(L, "debug.sethook(co, function() end, 'l') return 1") == "1");
  CHECK_FALSE(holds_table(co->stack));
  CHECK(run(L, "co = nil return 1") == "1");
  set_top(L, body);
  finish_one();
  REQUIRE(L->g->spare_stack != nullptr);
  CHECK(holds_table(L->g->spare_stack));
  gc_full(L, false);
  CHECK_FALSE(holds_table(L->g->spare_stack));
  // A hook set on the creating thread: the new one starts cleared.
  finish_one();
  REQUIRE(holds_table(L->g->spare_stack));
  set_hook(L, [](State*, DebugInfo*) {}, MASKCOUNT, 1000000);
  co = new_thread(L);
  CHECK_FALSE(holds_table(co->stack));
  set_hook(L, nullptr, 0, 0);
}

TEST_CASE("coroutines: the first resume enters a Lua body directly, and takes call() otherwise", "[coroutine]") {
  // resume_body enters a Lua body in the block's CallInfo itself; a body
  // needing a larger stack, a native body, a call hook and deep nesting
  // take call() as before.
  luna::test::StateGuard g;
  State* L = g.L;
  std::string big = "return function(a) local x1";
  for (int i = 2; i <= 60; i++) big += ", x" + std::to_string(i);
  big += " = a x60 = a * 2 coroutine.yield(x60) return x60 + 1 end";
  REQUIRE(load_string(L, big.c_str()) == OK);
  REQUIRE(pcall(L, 0, 1, 0) == OK);
  set_global(L, "big");
  CHECK(run(L, R"(
    local r = {}
    local co = coroutine.create(function(a, b) local c = coroutine.yield(a + b) return c * 2 end)
    local _, s = coroutine.resume(co, 1, 2)
    r[#r + 1] = s
    r[#r + 1] = select(2, coroutine.resume(co, 5))
    local w = coroutine.wrap(big)
    r[#r + 1] = w(21)
    r[#r + 1] = w()
    r[#r + 1] = coroutine.wrap(string.rep)("ab", 3)
    local events = 0
    local h = coroutine.create(function() return debug.getinfo(1, "t").istailcall and 0 or 7 end)
    debug.sethook(h, function() events = events + 1 end, "c")
    r[#r + 1] = select(2, coroutine.resume(h))
    r[#r + 1] = events > 0 and "hooked" or "not hooked"
    local function nest(n)
      if n == 0 then return 0 end
      local ok, v = coroutine.resume(coroutine.create(nest), n - 1)
      return ok and v + 1 or -1
    end
    local depth = nest(300)
    r[#r + 1] = depth < 300 and "stopped" or "not stopped"
    return table.concat(r, ' '))") == "3 10 42 43 ababab 7 hooked stopped");
}

TEST_CASE("coroutines: values beyond the frames' room each way of a resume", "[coroutine]") {
  // fits() sends a resume whose values pass the coroutine's frame or stack,
  // or whose results pass the resumer's, to check_stack; around the
  // boundary (MINSTACK values) and far past it.
  luna::test::StateGuard g;
  State* L = g.L;
  CHECK(run(L, R"(
    local r = {}
    for _, n in ipairs({1, 2, 18, 19, 20, 21, 22, 40, 250}) do
      local co = coroutine.wrap(function(...)
        local t = {coroutine.yield(...)}
        return table.unpack(t)
      end)
      local args = {}
      for i = 1, n do args[i] = i end
      local a = {co(table.unpack(args))}
      local b = {co(table.unpack(args, 1, n))}
      r[#r + 1] = #a .. ":" .. a[#a] .. "/" .. #b .. ":" .. b[#b]
    end
    return table.concat(r, ' '))") ==
        "1:1/1:1 2:2/2:2 18:18/18:18 19:19/19:19 20:20/20:20 21:21/21:21 22:22/22:22 40:40/40:40 250:250/250:250");
}

TEST_CASE("coroutines: wrap's function resumes a yield of OP_CALL directly", "[coroutine]") {
  // wrap_resume_direct: at most one value each way, placed straight into
  // the yield's result slot and the caller's. Values wanted and given
  // around it (0, 1, 2, 3), a finish, a dead coroutine, errors, and the
  // resumer's to-be-closed slot and call hook (the general way) must agree
  // with PUC-Rio's output (lua5.4 gives this string).
  luna::test::StateGuard g;
  State* L = g.L;
  CHECK(run(L, R"(
    local r = {}
    local function add(...) local n = select('#', ...) local t = {} for i = 1, n do t[i] = tostring((select(i, ...))) end r[#r + 1] = n .. ":" .. table.concat(t, ",") end
    local g = coroutine.wrap(function(a)
      local b = coroutine.yield(a)
      add(b)
      coroutine.yield(b, 2)
      local c = coroutine.yield()
      add(c)
      local d, e = coroutine.yield(c)
      add(d, e)
      local f = coroutine.yield(1, 2, 3)
      add(f)
      return f, "end"
    end)
    add(g(10))
    add((g(20, 21)))
    g(30)
    add(g())
    add(g(40, 41))
    local x = g(50)
    add(x)
    local ok, err = pcall(g, 70)
    add(ok, err)
    local h = coroutine.wrap(function(v)
      while true do
        if v == 3 then error("three") end
        if v == 4 then error({}) end
        v = coroutine.yield(v * 2)
      end
    end)
    add(h(1))
    add(h(2))
    local okh, eh = pcall(h, 3)
    add(okh, (eh:gsub("^.-:%d+: ", "")))
    local h2 = coroutine.wrap(function(v) while true do v = coroutine.yield(v) if v == 4 then error({}) end end end)
    h2(1)
    local ok2, e2 = pcall(h2, 4)
    add(ok2, type(e2))
    -- a to-be-closed variable in the resumer, and a call hook, take the general way
    local k = coroutine.wrap(function(v) while true do v = coroutine.yield(v + 1) end end)
    k(0)
    do
      local c <close> = setmetatable({}, {__close = function() add("closed") end})
      add(k(5))
    end
    local calls = 0
    debug.sethook(function() calls = calls + 1 end, "c")
    add(k(6))
    debug.sethook()
    add(calls > 0)
    add(k(7))
    -- nested: a generator resuming another through its own body
    local inner = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
    local outer = coroutine.wrap(function() while true do local v = inner() coroutine.yield(v and v * 10) end end)
    add(outer(), outer(), outer())
    return table.concat(r, " "))") ==
        "1:10 1:20 1:20 1:nil 1:nil 2:40,41 3:1,2,3 1:50 1:50 2:false,cannot resume dead coroutine 1:2 1:4 "
        "2:false,three 2:false,table 1:6 1:closed 1:7 1:true 1:8 3:10,20,30");
}
