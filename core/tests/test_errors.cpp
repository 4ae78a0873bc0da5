// The error path: caught errors jump back to pcall only when no native frame
// lies between; host C++ frames in between still unwind (destructors run).
#include <catch2/catch.hpp>

#include <string>

#include "luna/api.hpp"
#include "test_support.hpp"

using namespace luna;
using luna::test::run;

namespace {

int destroyed = 0;

struct Counted {
  ~Counted() { destroyed++; }
};

// Holds an object with a destructor while calling the Lua function at 1.
int hold_and_call(State* L) {
  Counted c;
  push_value(L, 1);
  call(L, 0, 0);
  return 0;
}

// A hook that calls the Lua function stored in the registry on each call event.
void calling_hook(State* L, DebugInfo*) {
  Counted c;
  get_field(L, REGISTRYINDEX, "hookfn");
  call(L, 0, 0);
}


}  // namespace

TEST_CASE("errors: caught errors keep values and state", "[errors]") {
  State* L = new_state();
  open_libs(L);
  CHECK(run(L, R"(
    local n = 0
    for i = 1, 1000 do
      local ok, e = pcall(function() local t = setmetatable({}, {__index = function() error({i}) end}); return t.x end)
      if not ok then n = n + e[1] end
      ok, e = pcall(error, "m", 0)
      assert(not ok and e == "m")
      ok, e = pcall(function() return 1 + nil end)
      assert(not ok and e:find("arithmetic"))
    end
    local ok, e = xpcall(function() error("x") end, function(m) return "handled " .. m end)
    assert(not ok and e:find("^handled .*: x$"))
    return n)") == "500500");
  close_state(L);
}

TEST_CASE("errors: host frames between raise and pcall are unwound", "[errors]") {
  State* L = new_state();
  open_libs(L);
  push_native_function(L, hold_and_call);
  set_global(L, "hold");
  destroyed = 0;
  CHECK(run(L, R"(
    local ok, e = pcall(hold, function() error("deep", 0) end)
    assert(not ok and e == "deep")
    ok, e = pcall(hold, function() hold(function() local x = nil + 1 end) end)
    assert(not ok and e:find("arithmetic"))
    return "ok")") == "ok");
  CHECK(destroyed == 3);

  // An error raised by a Lua function a host hook called.
  destroyed = 0;
  CHECK(run(L, "_HOOKFN = function() error('from hook', 0) end; return 'ok'") == "ok");
  get_global(L, "_HOOKFN");
  set_field(L, REGISTRYINDEX, "hookfn");
  set_hook(L, calling_hook, MASKCALL, 0);
  int st = load_string(L, "local function f() end f()");
  REQUIRE(st == OK);
  st = pcall(L, 0, 0, 0);
  set_hook(L, nullptr, 0, 0);
  CHECK(st == ERRRUN);
  CHECK(std::string(to_string(L, -1)) == "from hook");
  pop(L, 1);
  CHECK(destroyed >= 1);
  close_state(L);
}
