// Stackless coroutines through the stack API: continuations for natives
// (call_k, pcall_k, yield_k), refusals without one, and memory accounting.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

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
    return tostring(ok) .. " " .. tostring(e) .. " " .. tostring(n > 1000 and n < 1e6))") == "false not enough memory true");
  set_memory_limit(L, 0);
  close_state(L);
}
