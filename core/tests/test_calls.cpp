// Lua-to-Lua calls and the CallInfo that records them: the dispatcher's
// inline call and return paths against the general ones (precall, hooks,
// tail calls, varargs), and the fields Lua and native frames share bytes
// for (a pcall_k's saved state, a yield's count, a hook's transfer values,
// an OP_RETURN interrupted by a __close that yields).
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "test_support.hpp"

using luna::test::run;
using luna::test::StateGuard;

TEST_CASE("deep recursion ends in 'stack overflow' and the state goes on", "[calls]") {
  StateGuard s;
  const char* code = R"(
    local function down(n) return 1 + down(n + 1) end
    local ok, msg = pcall(down, 1)
    local function sum(n) if n == 0 then return 0 end return n + sum(n - 1) end
    return tostring(ok) .. " " .. tostring(msg:find("stack overflow") ~= nil) .. " " .. sum(10000)
  )";
  CHECK(run(s.L, code) == "false true 50005000");
  // Again in the same state: the CallInfos left from the first overflow are reused.
  CHECK(run(s.L, code) == "false true 50005000");
}

TEST_CASE("recursion results: none, one, several, all", "[calls]") {
  StateGuard s;
  CHECK(run(s.L, R"(
    local function f0(n) if n > 0 then f0(n - 1) end end
    local function f1(n) if n == 0 then return 7 end return f1(n - 1) + 0 end
    local function f3(n) if n == 0 then return 1, 2, 3 end local a, b, c = f3(n - 1) return a, b, c end
    local function fm(n) if n == 0 then return 4, 5 end return fm(n - 1) end
    local function none() end
    local x, y = none()
    local p, q, r = f1(3)
    f0(200)
    return table.concat({f1(300), select("#", f3(100)), select("#", fm(100)), tostring(x), tostring(y),
                         p, tostring(q), tostring(r), select("#", none())}, ",")
  )") == "7,3,2,nil,nil,7,nil,nil,0");
}

TEST_CASE("native results adjusted to two: none, one, two, more", "[calls]") {
  StateGuard s;
  CHECK(run(s.L, R"lua(
    local out = {}
    local function add(a, b) out[#out + 1] = tostring(a) .. "/" .. tostring(b) end
    local a, b = string.find("abc", "z")    -- one result (nil)
    add(a, b)
    a, b = string.find("abc", "b")          -- two
    add(a, b)
    a, b = string.find("abc", "(b)(c)")     -- four
    add(a, b)
    a, b = select(2, 1)                     -- none
    add(a, b)
    a, b = pcall(error, "x", 0)             -- pcall's false and the error
    add(a, b)
    a, b = next({10})
    add(a, b)
    return table.concat(out, " ")
  )lua") == "nil/nil 2/2 2/3 nil/nil false/x 1/10");
}

TEST_CASE("tail calls run in constant stack, with varargs and native callees", "[calls]") {
  StateGuard s;
  CHECK(run(s.L, R"(
    local function loop(n, acc) if n == 0 then return acc end return loop(n - 1, acc + 1) end
    local function va(n, ...) if n == 0 then return select("#", ...) end return va(n - 1, ...) end
    local function tonative(...) return select(2, ...) end
    return loop(1000000, 0) .. " " .. va(100000, 1, 2, 3) .. " " .. tonative("a", "b", "c")
  )") == "1000000 3 b");
}

TEST_CASE("vararg callees, missing and extra arguments", "[calls]") {
  StateGuard s;
  CHECK(run(s.L, R"(
    local function three(a, b, c) return tostring(a) .. tostring(b) .. tostring(c) end
    local function va(...) local t = table.pack(...) return t.n .. ":" .. three(...) end
    local function rec(n, ...) if n == 0 then return va(...) end return (rec(n - 1, n, ...)) end
    return three(1) .. " " .. three(1, 2, 3, 4) .. " " .. va() .. " " .. rec(4)
  )") == "1nilnil 123 0:nilnilnil 4:123");
}

TEST_CASE("call and return hooks see every Lua call, including those set mid-run", "[calls]") {
  StateGuard s;
  CHECK(run(s.L, R"(
    local calls, rets, tails = 0, 0, 0
    local function hook(ev)
      if ev == "call" then calls = calls + 1 elseif ev == "return" then rets = rets + 1
      elseif ev == "tail call" then tails = tails + 1 end
    end
    local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
    local function tail(n) if n == 0 then return 0 end return tail(n - 1) end
    local function start() debug.sethook(hook, "cr") end
    local function go()
      fib(5)          -- no hook yet: the inline call path
      start()         -- set from a callee: the frames below trap
      local r = fib(10)
      tail(3)
      debug.sethook()
      return r
    end
    local r = go()
    return table.concat({r, calls, rets, tails}, " ")
  )") == "55 179 180 3");
}

TEST_CASE("debug.getinfo and traceback count the frames of a recursion", "[calls]") {
  StateGuard s;
  CHECK(run(s.L, R"(
    local function count()
      local depth = 0
      while debug.getinfo(depth + 2, "l") do depth = depth + 1 end
      local _, lines = debug.traceback("x", 2):gsub("\n", "\n")
      return depth, lines
    end
    local d0, l0 = count()
    local d, l, where
    local function rec(n)
      if n == 0 then
        d, l = count()
        where = debug.getinfo(1, "n").name .. ":" .. debug.getinfo(2, "l").currentline
        return 0
      end
      local r = rec(n - 1)
      return r
    end
    rec(5)
    return where .. " " .. (d - d0) .. " " .. (l - l0)
  )") == "rec:16 6 6");
}

TEST_CASE("transfer values of call and return hooks", "[calls]") {
  StateGuard s;
  CHECK(run(s.L, R"(
    local seen = {}
    local function f(a, b) return a + b, a * b, 0 end
    debug.sethook(function(ev)
      local i = debug.getinfo(2, "nr")
      if i.name == "f" then seen[#seen + 1] = ev .. i.ftransfer .. "/" .. i.ntransfer end
    end, "cr")
    f(2, 3)
    debug.sethook()
    return table.concat(seen, " ")
  )") == "call1/2 return3/3");
}

TEST_CASE("pcall and xpcall in coroutines restore their state across yields and errors", "[calls]") {
  StateGuard s;
  CHECK(run(s.L, R"(
    local co = coroutine.wrap(function()
      local ok1, e1 = pcall(function() coroutine.yield(1) error("boom", 0) end)
      local ok2, e2 = xpcall(function() coroutine.yield(2) error("bang", 0) end,
                             function(m) return "handled " .. m end)
      local ok3, e3 = pcall(function() local x = coroutine.yield(3) return x * 2 end)
      -- the outer handler is back in place after the inner ones
      local ok4, e4 = xpcall(function()
        local ok5, e5 = xpcall(function() coroutine.yield(4) error("in", 0) end,
                               function(m) return "inner " .. m end)
        error(e5 .. ", then out", 0)
      end, function(m) return "outer: " .. m end)
      return table.concat({tostring(ok1), e1, tostring(ok2), e2, tostring(ok3), e3, tostring(ok4), e4}, ",")
    end)
    return co() .. co() .. co() .. co(21) .. " " .. co()
  )") == "1234 false,boom,false,handled bang,true,42,false,outer: inner in, then out");
}

TEST_CASE("a return whose __close yields keeps its results", "[calls]") {
  StateGuard s;
  CHECK(run(s.L, R"(
    local function f()
      local x <close> = setmetatable({}, {__close = function() coroutine.yield("closing") end})
      return 10, 20, 30
    end
    local co = coroutine.wrap(function() return select("#", f()), f() end)
    local a = co()
    local b = co()
    local n, r1, r2, r3 = co()
    return table.concat({a, b, n, r1, r2, r3}, " ")
  )") == "closing closing 3 10 20 30");
}

TEST_CASE("native calls at a full stack, on a fresh CallInfo list and under a call hook", "[calls]") {
  // precall_native's rare cases go through its out-of-line set-up: the
  // stack grown under the callee's arguments, a CallInfo allocated, the
  // call hook told of the native with its argument count.
  StateGuard g;
  luna::State* L = g.L;
  CHECK(run(L, R"(
    local function deep(n, ...)
      if n == 0 then return select("#", ...), math.max(...) end
      return deep(n - 1, n, ...)
    end
    local c, m = deep(190)
    return c .. " " .. m)") == "190 190");
  CHECK(run(L, R"(
    local co = coroutine.wrap(function(...) return string.rep("x", ...) end)
    return co(3))") == "xxx");
  CHECK(run(L, R"(
    local seen = {}
    debug.sethook(function(ev)
      local info = debug.getinfo(2, "nS")
      if info.what == "C" and info.name then seen[#seen + 1] = ev .. ":" .. info.name end
    end, "c")
    local s = string.rep("ab", 2)
    local n = select("#", 1, 2, 3)
    debug.sethook()
    return s .. n .. " " .. table.concat(seen, ","))") == "abab3 call:rep,call:select,call:sethook");
}

TEST_CASE("init_lua_frame fills a reused CallInfo whole: status and trap words, missing parameters", "[calls]") {
  // OP_CALL's inline path and precall share init_lua_frame, which writes
  // nresults/callstatus and trap/nextraargs as one word each: a CallInfo
  // left with a native frame's bytes must come out as a clean Lua frame.
  StateGuard s;
  luna::State* L = s.L;
  REQUIRE(luna::test::run(L, "function f(a, b, c) return a end return 1") == "1");
  luna::get_global(L, "f");
  luna::TValue* func = L->top - 1;
  luna::Proto* p = func->as_lclosure()->p;
  REQUIRE(p->numparams == 3);
  luna::CallInfo fake;
  std::memset(static_cast<void*>(&fake), 0xA5, sizeof fake);
  for (int trap : {0, 1}) {
    for (int nresults : {-1, 0, 1, 5}) {
      std::memset(static_cast<void*>(&fake), 0xA5, sizeof fake);
      L->top = func + 2;  // one argument
      func[1] = luna::TValue::integer(42);
      func[2] = func[3] = luna::TValue::integer(7);  // stale values above top
      luna::init_lua_frame(L, &fake, func, L->top, nresults, p, trap);
      CHECK(fake.func == func);
      CHECK(fake.nresults == nresults);
      CHECK(fake.callstatus == 0);
      CHECK(fake.is_lua());
      CHECK(fake.trap == trap);
      CHECK(fake.nextraargs == 0);
      CHECK(fake.savedpc == p->code);
      CHECK(fake.top == func + 1 + p->maxstacksize);
      CHECK(func[1].is_int());
      CHECK(func[2].is_nil());
      CHECK(func[3].is_nil());
      CHECK(L->top == func + 4);
    }
  }
  L->top = func;
}

TEST_CASE("jit_entry_due counts entries unless the function is cold", "[calls]") {
  StateGuard s;
  luna::State* L = s.L;
  REQUIRE(luna::test::run(L, "function f() return 1 end return 1") == "1");
  luna::get_global(L, "f");
  luna::Proto* p = (L->top - 1)->as_lclosure()->p;
  luna::pop(L, 1);
  luna::JitSeam& j = L->g->jit;
  luna::jit_hotcount(j, p->code) = 3;
  CHECK_FALSE(luna::jit_entry_due(j, p, p->code));
  CHECK_FALSE(luna::jit_entry_due(j, p, p->code));
  CHECK(luna::jit_entry_due(j, p, p->code));
  luna::jit_hotcount(j, p->code) = 1;
  p->jit_cold_entry = 1;
  CHECK_FALSE(luna::jit_entry_due(j, p, p->code));
  CHECK(luna::jit_hotcount(j, p->code) == 1);  // not counted
  p->jit_cold_entry = 0;
}

TEST_CASE("calls are charged to the instruction budget on the inline and the counted call paths", "[calls]") {
  // OP_CALL's uncounted twin runs only while nothing counts: with a budget
  // every call is still charged, so a recursion without loops runs out.
  StateGuard s;
  luna::set_instruction_budget(s.L, 300);
  std::string r = luna::test::run(s.L, R"(
    local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end
    local function g(n) return n end
    local x = 0
    local function chain(n) if n == 0 then return x end x = x + g(n) return chain(n - 1) end
    return f(150) + chain(150) + f(150) + chain(150) + f(150) + chain(150)
  )");
  CHECK(r.find("instruction budget exhausted") != std::string::npos);
  luna::set_instruction_budget(s.L, 0);
  CHECK(luna::test::run(s.L, R"(
    local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end
    local function v(...) return select('#', ...), ... end
    local function m() return 1, 2, 3 end
    local a, b, c = m()
    return f(150) .. " " .. v(m()) .. " " .. a + b + c .. " " .. select('#', v())
  )") == "150 3 6 1");
}

TEST_CASE("one result returned to a call that takes all of them", "[calls]") {
  // RETURN1's straight line serves callers wanting one result and callers
  // wanting all (a call ending an argument list, a constructor or a
  // return): both take the value and end the results after it.
  StateGuard s;
  CHECK(run(s.L, R"(
    local function one(x) return x end
    local function count(...) return select("#", ...) end
    local function ack(m, n)
      if m == 0 then return n + 1 end
      if n == 0 then return ack(m - 1, 1) end
      return ack(m - 1, ack(m, n - 1))
    end
    local function compose(f, g) return function(x) return f(g(x)) end end
    local t = {one(5)}
    local h = compose(one, function(x) return x * 2 end)
    local function pair() return one(1), one(2) end
    local a, b, c = pair()
    return table.concat({count(one(1)), count(one(nil)), count(one(1), one(2)), #t, t[1],
                         ack(2, 3), h(21), a, b, tostring(c), count(pair())}, ",")
  )") == "1,1,2,1,5,9,42,1,2,nil,2");
}

TEST_CASE("tail calls that close upvalues, with nothing counting and with a budget", "[calls]") {
  // TAILCALL's uncounted inline path leaves a call that must close upvalues
  // to the counted one, which closes them before the callee runs.
  StateGuard s;
  const char* code = R"(
    local fs = {}
    local function t(n)
      if n == 0 then return 0 end
      local x = n * 10
      fs[n] = function() return x end
      return t(n - 1)
    end
    t(50)
    local sum = 0
    for i = 1, 50 do sum = sum + fs[i]() end
    return sum
  )";
  CHECK(run(s.L, code) == "12750");
  luna::set_instruction_budget(s.L, 1000000);
  CHECK(run(s.L, code) == "12750");
  luna::set_instruction_budget(s.L, 0);
}

TEST_CASE("calls and tail calls into large frames at every stack position", "[calls]") {
  // The inline paths' room tests (top + frame size below stack_last) fall
  // back to precall/pretailcall, which grow the stack, wherever the frame
  // ends; a frame set up past the end would overwrite the heap (ASan).
  StateGuard s;
  std::string big = "local function big(a) local ";
  for (int j = 0; j < 180; j++) big += (j ? ", v" : "v") + std::to_string(j);
  big += " = a";
  for (int j = 1; j < 180; j++) big += ", a";
  big += " return v0 + v179 end\n";
  big += R"(
    local function down(n, tail)
      if n == 0 then
        if tail then return big(n + 1) end
        return (big(n + 2))
      end
      return (down(n - 1, tail))
    end
    local sum = 0
    for d = 1, 400 do sum = sum + down(d, d % 2 == 0) end
    return sum
  )";
  CHECK(run(s.L, big.c_str()) == "1200");
}
