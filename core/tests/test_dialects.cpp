// The Lua versions a VM can speak (core/src/dialect.hpp): the differences
// the official 5.3.6 and 5.5.0 suites touch only lightly, each checked
// against 5.4 so that a test fails if the version switch stops mattering.
#include <catch2/catch.hpp>

#include <string>

#include "luna/error.hpp"
#include "luna/jit.hpp"
#include "luna/version.hpp"
#include "luna/vm.hpp"

using luna::LuaError;
using luna::LuaVersion;
using luna::Vm;

namespace {

// The first result of code as a string, or "error: " and the message.
std::string eval_in(Vm& vm, const std::string& code) {
  try {
    auto r = vm.eval(code);
    if (r.empty() || r[0].is_nil()) return "nil";
    if (r[0].is_integer()) return std::to_string(r[0].as_integer());
    if (r[0].is_boolean()) return r[0].as_boolean() ? "true" : "false";
    return r[0].is_string() ? r[0].as_string() : "?";
  } catch (const LuaError& e) {
    return std::string("error: ") + e.what();
  }
}

std::string eval_as(LuaVersion v, const std::string& code) {
  Vm vm(v);
  vm.set_jit(false);
  return eval_in(vm, code);
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("dialects: each version names itself", "[dialects]") {
  for (LuaVersion v : {LuaVersion::Lua53, LuaVersion::Lua54, LuaVersion::Lua55}) {
    Vm vm(v);
    CHECK(vm.version() == v);
    CHECK(vm.eval("return _VERSION")[0].as_string() == luna::version_name(v));
    luna::BasicVm basic(v, luna::LibSet::base);
    CHECK(basic.version() == v);
  }
  CHECK(Vm().version() == luna::default_version);
  CHECK_THROWS_WITH(Vm(static_cast<LuaVersion>(56)), Catch::Contains("not available"));
}

TEST_CASE("dialects: a binary chunk is refused by a VM of another version", "[dialects]") {
  Vm v53(LuaVersion::Lua53), v54(LuaVersion::Lua54), v55(LuaVersion::Lua55);
  std::string chunk53 = v53.eval("return string.dump(function() return 7 end)")[0].as_string();
  std::string chunk55 = v55.eval("return string.dump(function() return 7 end)")[0].as_string();
  CHECK(v53.call(v53.load(chunk53, "=c", "b"))[0].as_integer() == 7);
  CHECK(v55.call(v55.load(chunk55, "=c", "b"))[0].as_integer() == 7);
  CHECK_THROWS_WITH(v54.load(chunk53, "=c", "b"), Catch::Contains("a Lua 5.3 chunk, but this VM speaks Lua 5.4"));
  CHECK_THROWS_WITH(v53.load(chunk55, "=c", "b"), Catch::Contains("a Lua 5.5 chunk, but this VM speaks Lua 5.3"));
  // 5.3's header also records the sizes of C's int and size_t.
  std::string chunk54 = v54.eval("return string.dump(function() return 7 end)")[0].as_string();
  CHECK(chunk53[4] == '\x53');
  CHECK(chunk54[4] == '\x54');
  CHECK(chunk53.size() == chunk54.size() + 2);
}

TEST_CASE("dialects: 5.3 coerces strings in arithmetic and bitwise operations itself", "[dialects]") {
  CHECK(eval_as(LuaVersion::Lua53, "return '10' | 1") == "11");
  CHECK(eval_as(LuaVersion::Lua53, "return ~'0'") == "-1");
  CHECK(eval_as(LuaVersion::Lua53, "return '0x10' + 1") == "17");
  CHECK(contains(eval_as(LuaVersion::Lua54, "return '10' | 1"), "bitwise operation on a string value"));
  // 5.4 converts strings in arithmetic through the string metatable, which
  // 5.3 does not have: there arithmetic on strings never reaches a metamethod.
  CHECK(eval_as(LuaVersion::Lua53, "return getmetatable('').__add") == "nil");
  CHECK(eval_as(LuaVersion::Lua54, "return type(getmetatable('').__add)") == "function");
  CHECK(contains(eval_as(LuaVersion::Lua53, "local s = 'x'; return s | 1"),
                 "attempt to perform bitwise operation on a string value (local 's')"));
  CHECK(contains(eval_as(LuaVersion::Lua53, "local s = '1.5'; return s | 1"), "has no integer representation"));
  CHECK(contains(eval_as(LuaVersion::Lua53, "local a = '2'; return a * nil"), "arithmetic on a nil value"));
}

TEST_CASE("dialects: 5.3 turns a <= b without __le into not (b < a)", "[dialects]") {
  const char* code =
      "local mt = {__lt = function(a, b) return a.v < b.v end}\n"
      "local x, y = setmetatable({v = 1}, mt), setmetatable({v = 2}, mt)\n"
      "return tostring(x <= y) .. tostring(y <= x) .. tostring(x >= y)";
  CHECK(eval_as(LuaVersion::Lua53, code) == "truefalsefalse");
  CHECK(contains(eval_as(LuaVersion::Lua54, code), "attempt to compare two table values"));
  // The __lt standing in for __le may yield: the result is still negated.
  const char* yielding =
      "local mt = {__lt = function(a, b) coroutine.yield('in lt'); return a.v < b.v end}\n"
      "local x, y = setmetatable({v = 1}, mt), setmetatable({v = 2}, mt)\n"
      "local co2 = coroutine.wrap(function() local a = y <= x; local b = x <= y; return tostring(a) .. tostring(b) end)\n"
      "co2(); co2(); return co2()";
  CHECK(eval_as(LuaVersion::Lua53, yielding) == "falsetrue");
}

TEST_CASE("dialects: 5.3 syntax has no attributes and per-block labels", "[dialects]") {
  CHECK(contains(eval_as(LuaVersion::Lua53, "local x <const> = 1 return x"), "error:"));
  CHECK(eval_as(LuaVersion::Lua54, "local x <const> = 1 return x") == "1");
  const char* labels = "local n = 0 ::top:: n = n + 1 do goto top; ::top:: end return n";
  CHECK(eval_as(LuaVersion::Lua53, labels) == "1");
  CHECK(contains(eval_as(LuaVersion::Lua54, labels), "label 'top' already defined"));
  // A goto left pending by its block meets the enclosing block's label behind it,
  // closing the upvalue of the block it leaves.
  const char* backward =
      "local fs, i = {}, 0\n"
      "::again:: i = i + 1\n"
      "do local v = i; fs[i] = function() return v end; if i < 3 then goto again end end\n"
      "return fs[1]() + fs[2]() * 10 + fs[3]() * 100";
  CHECK(eval_as(LuaVersion::Lua53, backward) == "321");
}

TEST_CASE("dialects: 5.3 libraries", "[dialects]") {
  CHECK(contains(eval_as(LuaVersion::Lua53, "return math.random(0)"), "interval is empty"));
  CHECK(eval_as(LuaVersion::Lua54, "return math.type(math.random(0))") == "integer");
  CHECK(contains(eval_as(LuaVersion::Lua53, "return math.random(math.mininteger, 0)"), "interval too large"));
  CHECK(contains(eval_as(LuaVersion::Lua53, "return utf8.char(0x110000)"), "value out of range"));
  CHECK(eval_as(LuaVersion::Lua54, "return #utf8.char(0x110000)") == "4");
  // print converts through whatever the global tostring is.
  CHECK(contains(eval_as(LuaVersion::Lua53, "tostring = nil; print(1)"), "attempt to call a nil value"));
  CHECK(eval_as(LuaVersion::Lua54, "tostring = nil; print(1) return 'ok'") == "ok");
  // string.unpack has no position 0 and does not clip one before the start.
  CHECK(contains(eval_as(LuaVersion::Lua53, "return string.unpack('b', 'x', 0)"), "out of string"));
  CHECK(contains(eval_as(LuaVersion::Lua53, "return string.unpack('b', 'x', -2)"), "out of string"));
  CHECK(eval_as(LuaVersion::Lua54, "return string.unpack('b', 'x', 0)") == "120");
  // "\u{...}" escapes stop at U+10FFFF.
  CHECK(contains(eval_as(LuaVersion::Lua53, "return select(2, load('return \"\\\\u{110000}\"'))"),
                 "UTF-8 value too large near '\"\\u{110000'"));
  CHECK(eval_as(LuaVersion::Lua54, "return #load('return \"\\\\u{110000}\"')()") == "4");
  // string.format checks a spec's shape only, with 5.3's messages.
  CHECK(contains(eval_as(LuaVersion::Lua53, "return string.format('%000000d', 1)"), "repeated flags"));
  CHECK(contains(eval_as(LuaVersion::Lua53, "return string.format('%y', 1)"), "invalid option '%y' to 'format'"));
  CHECK(eval_as(LuaVersion::Lua53, "return string.format('%#5x|%+.3s', 1, 'abcd')") == "  0x1|abc");
  CHECK(contains(eval_as(LuaVersion::Lua54, "return string.format('%#5d', 1)"), "invalid conversion"));
  // io.lines gives the iterator alone (5.4 adds the file as closing value).
  const char* lines = "local n = os.tmpname() io.open(n, 'w'):close() "
                      "local c = select('#', io.lines(n)) os.remove(n) return c";
  CHECK(eval_as(LuaVersion::Lua53, lines) == "1");
  CHECK(eval_as(LuaVersion::Lua54, lines) == "4");
}

TEST_CASE("dialects: 5.3 reuses a closure whose upvalues would be the same", "[dialects]") {
  const char* same = "local t = {} local u = 1 for i = 1, 3 do t[i] = function() return u end end "
                     "return tostring(t[1] == t[3])";
  CHECK(eval_as(LuaVersion::Lua53, same) == "true");
  CHECK(eval_as(LuaVersion::Lua54, same) == "false");
  // A fresh loop variable, or a closed upvalue, makes a new closure.
  CHECK(eval_as(LuaVersion::Lua53, "local t = {} for i = 1, 3 do t[i] = function() return i end end "
                                   "return tostring(t[1] ~= t[2] and t[2]() == 2)") == "true");
  CHECK(eval_as(LuaVersion::Lua53, "local function mk() local x = 0 return function() x = x + 1 return x end end "
                                   "local a, b = mk(), mk() a() return tostring(a ~= b and b() == 1)") == "true");
  // The cache does not keep a closure alive.
  CHECK(eval_as(LuaVersion::Lua53, "local w = setmetatable({}, {__mode = 'k'}) "
                                   "local function mk() return function() end end w[mk()] = true "
                                   "collectgarbage() return tostring(next(w) == nil and mk() == mk())") == "true");
  CHECK(contains(eval_as(LuaVersion::Lua53, "return debug.upvalueid(function() end, 1)"), "invalid upvalue index"));
  CHECK(eval_as(LuaVersion::Lua54, "return tostring(debug.upvalueid(function() end, 1))") == "nil");
}

TEST_CASE("dialects: 5.3 debug names and line events", "[dialects]") {
  // A one-line numeric for: 5.3 enters the body by a jump back, one more event.
  const char* lines = "local n = 0 local f = load('for i = 1, 4 do local a = i end') "
                      "debug.sethook(function() n = n + 1 end, 'l') f() debug.sethook() return n";
  CHECK(eval_as(LuaVersion::Lua53, lines) == "5");
  CHECK(eval_as(LuaVersion::Lua54, lines) == "4");
  const char* temp = "return (debug.getlocal(0, 1))";
  CHECK(eval_as(LuaVersion::Lua53, temp) == "(*temporary)");
  CHECK(eval_as(LuaVersion::Lua54, temp) == "(C temporary)");
  const char* vararg = "local function f(...) return (debug.getlocal(1, -1)) end return f(1)";
  CHECK(eval_as(LuaVersion::Lua53, vararg) == "(*vararg)");
  CHECK(eval_as(LuaVersion::Lua54, vararg) == "(vararg)");
  const char* mm = "local t = setmetatable({}, {__index = function() return debug.getinfo(1, 'n').name end}) "
                   "return t.x";
  CHECK(eval_as(LuaVersion::Lua53, mm) == "__index");
  CHECK(eval_as(LuaVersion::Lua54, mm) == "index");
  // The frame a finalizer interrupted is named "__gc".
  const char* fin = "local name setmetatable({}, {__gc = function() name = debug.getinfo(2, 'n').name end}) "
                    "collectgarbage() return tostring(name)";
  CHECK(eval_as(LuaVersion::Lua53, fin) == "__gc");
  CHECK(eval_as(LuaVersion::Lua54, fin) != "__gc");
}

TEST_CASE("dialects: 5.3 collector: steps, finalizer errors, no generational mode", "[dialects]") {
  // Bigger steps finish a cycle in fewer calls; a basic step does not
  // collect a heap of some size at once.
  const char* steps =
      "collectgarbage() collectgarbage'stop' local keep = {} for i = 1, 2000 do keep[i] = {} end "
      "local function steps(n) collectgarbage() local i = 0 repeat i = i + 1 until collectgarbage('step', n) "
      "return i end return tostring(steps(0) > 10 and steps(10) < steps(2) and steps(100000) == 1)";
  CHECK(eval_as(LuaVersion::Lua53, steps) == "true");
  CHECK(eval_as(LuaVersion::Lua54, steps) == "true");
  // An error in a finalizer reaches collectgarbage's caller; a __gc that is
  // not a function is no finalizer.
  const char* raise =
      "setmetatable({}, {__gc = function() error('boom') end}) "
      "local ok, msg = pcall(collectgarbage) return tostring(ok) .. ' ' .. tostring(msg)";
  CHECK(contains(eval_as(LuaVersion::Lua53, raise), "false error in __gc metamethod ("));
  CHECK(contains(eval_as(LuaVersion::Lua53, raise), "boom)"));
  CHECK(eval_as(LuaVersion::Lua54, raise) == "true 0");
  CHECK(eval_as(LuaVersion::Lua53, "setmetatable({}, {__gc = true}) return tostring(pcall(collectgarbage))") == "true");
  CHECK(contains(eval_as(LuaVersion::Lua53, "return collectgarbage('generational')"), "invalid option"));
  CHECK(eval_as(LuaVersion::Lua54, "collectgarbage('generational') return collectgarbage('incremental')") ==
        "generational");
  // A cycle through a suspended coroutine's open upvalue takes two
  // collections in 5.3, one in 5.4.
  const char* cycle =
      "local n = 0 collectgarbage() collectgarbage'stop' do "
      "local co = coroutine.create(function(p) (function() p = setmetatable({p}, {__gc = function() n = n + 1 end}) "
      "coroutine.yield() end)() end) coroutine.resume(co, co) end "
      "collectgarbage() local first = n collectgarbage() return first .. ' ' .. n";
  CHECK(eval_as(LuaVersion::Lua53, cycle) == "0 1");
  CHECK(eval_as(LuaVersion::Lua54, cycle) == "1 1");
}

TEST_CASE("dialects: 5.5 global declarations", "[dialects]") {
  auto v55 = [](const char* code) { return eval_as(LuaVersion::Lua55, code); };
  CHECK(contains(v55("global none; X = 1"), "variable 'X' is not declared"));
  CHECK(contains(v55("global<const> *; Y = 1"), "attempt to assign to const variable 'Y'"));
  CHECK(v55("global<const> *; return type(print)") == "function");
  CHECK(v55("do global X; X = 5 end return X") == "5");
  CHECK(v55("local X = 1 do global X; X = 2 end return X .. _ENV.X") == "12");
  // global * covers only names nothing declared earlier
  CHECK(v55("local x = 3 global * return x") == "3");
  CHECK(v55("global<const> a, b = 1, 2 return a + b") == "3");
  CHECK(v55("global function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end return f(4)") == "4");
  CHECK(contains(v55("global X<close>"), "cannot be to-be-closed"));
  // 'global' stays an ordinary name where no declaration can start
  CHECK(v55("global = 1; return global") == "1");
  // in 5.4 it is only a name
  CHECK(contains(eval_as(LuaVersion::Lua54, "global none; X = 1"), "error:"));
  // hundreds of declarations take no registers
  std::string many;
  for (int i = 0; i < 500; i++) {
    many += "global x" + std::to_string(i) + ";";
    if (i < 150) many += "local y" + std::to_string(i) + " = 1;";
  }
  CHECK(v55((many + " return 'ok'").c_str()) == "ok");
}

TEST_CASE("dialects: 5.5 read-only loop variables and libraries", "[dialects]") {
  CHECK(contains(eval_as(LuaVersion::Lua55, "for i = 1, 2 do i = 3 end"), "attempt to assign to const variable 'i'"));
  CHECK(contains(eval_as(LuaVersion::Lua55, "for k in pairs{} do k = 1 end"), "attempt to assign to const variable 'k'"));
  CHECK(eval_as(LuaVersion::Lua54, "for i = 1, 2 do i = 3 end return 'ok'") == "ok");
  CHECK(eval_as(LuaVersion::Lua55, "local a <const>, b = 1, 2 return a + b") == "3");
  CHECK(contains(eval_as(LuaVersion::Lua55, "local <const> a, b = 1, 2; b = 3"), "const variable 'b'"));
  CHECK(eval_as(LuaVersion::Lua55, "local t = table.create(10, 2) t[1] = 1 return #t") == "1");
  CHECK(eval_as(LuaVersion::Lua54, "return table.create") == "nil");
  CHECK(eval_as(LuaVersion::Lua55,
                "collectgarbage('param', 'pause', 200) return collectgarbage('param', 'pause')") == "200");
  CHECK(contains(eval_as(LuaVersion::Lua55, "return collectgarbage('setpause', 100)"), "invalid option 'setpause'"));
  CHECK(eval_as(LuaVersion::Lua55, "return collectgarbage('incremental')") == "incremental");
}

TEST_CASE("dialects: the JIT keeps each version's semantics", "[dialects]") {
  // Hot loops over the operations that differ, compiled at once.
  const char* code =
      "local mt = {__lt = function(a, b) return a.v < b.v end}\n"
      "local x, y = setmetatable({v = 1}, mt), setmetatable({v = 2}, mt)\n"
      "local s, n = 0, 0\n"
      "for i = 1, 200 do s = s + ('3' | i % 4); if x <= y then n = n + 1 end end\n"
      "return s * 1000 + n";
  Vm interp(LuaVersion::Lua53);
  interp.set_jit(false);
  Vm stress(LuaVersion::Lua53);
  stress.set_jit_options(luna::JitOptions::stress());
  std::string expected = eval_in(interp, code);
  CHECK(expected == "600200");
  CHECK(eval_in(stress, code) == expected);
  Vm stress55(LuaVersion::Lua55);
  stress55.set_jit_options(luna::JitOptions::stress());
  CHECK(contains(eval_in(stress55, "for i = 1, 200 do local j = i; j = j + 1 end; for i = 1, 2 do i = 1 end"),
                 "const variable 'i'"));
}

TEST_CASE("dialects: 5.5 global initialisation refuses a defined global", "[dialects]") {
  auto v55 = [](const char* code) { return eval_as(LuaVersion::Lua55, code); };
  CHECK(contains(v55("global print = 1"), "global 'print' already defined"));
  CHECK(contains(v55("global function print() end"), "global 'print' already defined"));
  CHECK(contains(v55("local _ENV = {X = false} global X = 1"), "global 'X' already defined"));
  CHECK(v55("global X, Y = 1, 2 return X + Y") == "3");
  // __index counts: the check reads the variable as any access does
  CHECK(contains(v55("local _ENV = setmetatable({}, {__index = function() return 0 end}) global Z = 1"),
                 "already defined"));
  // in a loop compiled by the JIT, the first run defines it and the second is refused
  Vm stress(LuaVersion::Lua55);
  stress.set_jit_options(luna::JitOptions::stress());
  CHECK(contains(eval_in(stress, "global pcall, error, load; local n = 0\n"
                                 "for i = 1, 100 do n = n + i end\n"
                                 "for i = 1, 2 do local ok, e = pcall(load('global W = 1')) if not ok then error(e) end end"),
                 "global 'W' already defined"));
}

TEST_CASE("dialects: 5.5 call chains, coroutine self-close and messages", "[dialects]") {
  auto v55 = [](const char* code) { return eval_as(LuaVersion::Lua55, code); };
  const char* chain =
      "local f = function(...) return debug.getinfo(1, 't').extraargs end\n"
      "for i = 1, 3 do f = setmetatable({}, {__call = f}) end\n"
      "return f()";
  CHECK(v55(chain) == "3");
  CHECK(eval_as(LuaVersion::Lua54, chain) == "nil");
  const char* too_long =
      "local f = function() end for i = 1, 16 do f = setmetatable({}, {__call = f}) end return f()";
  CHECK(contains(v55(too_long), "'__call' chain too long"));
  CHECK(eval_as(LuaVersion::Lua54, too_long) == "nil");
  // coroutine.close() ends the running coroutine: its resume returns
  CHECK(v55("local co = coroutine.create(function() local x <close> = setmetatable({}, {__close = function() "
            "_ENV.closed = 1 end}) pcall(coroutine.close) error('unreached') end)\n"
            "local ok, v = coroutine.resume(co) return tostring(ok) .. tostring(v) .. closed .. coroutine.status(co)") ==
        "truenil1dead");
  CHECK(contains(eval_as(LuaVersion::Lua54, "coroutine.wrap(function() coroutine.close(coroutine.running()) end)()"),
                 "cannot close a running coroutine"));
  // semantic errors are reported at the last token's line
  CHECK(contains(v55("global none\nlocal x = b\n"), ":2:"));
  CHECK(contains(eval_as(LuaVersion::Lua54, "::a::\n::a::\n"), ":3:"));
  CHECK(contains(v55("::a::\n::a::\n"), ":2:"));
  // libraries
  CHECK(v55("local a, b = utf8.offset('\\u{4E2D}x', 1) return a * 10 + b") == "13");
  CHECK(eval_as(LuaVersion::Lua54, "return select('#', utf8.offset('ab', 1))") == "1");
  CHECK(contains(v55("return load('', '', 'B')"), "invalid mode"));
  CHECK(v55("return string.packsize('c' .. (1 << 40))") == std::to_string(1LL << 40));
  CHECK(contains(eval_as(LuaVersion::Lua54, "return string.packsize('c' .. (1 << 40))"), "invalid format"));
  // a 5.5 chunk stores a repeated string once
  const char* reuse =
      "local s = string.rep('x', 60)\n"
      "local f = load('local a = \"' .. s .. '\" return (function() return \"' .. s .. '\" end)()')\n"
      "local d = string.dump(f, true) local _, n = d:gsub(s, '') return n .. load(d)()";
  CHECK(v55(reuse) == "1" + std::string(60, 'x'));
  CHECK(eval_as(LuaVersion::Lua54, reuse) == "2" + std::string(60, 'x'));
}

TEST_CASE("dialects: 5.5 vararg tables", "[dialects]") {
  auto v55 = [](const char* code) { return eval_as(LuaVersion::Lua55, code); };
  // '...' reads a named table as changed, up to its 'n'
  CHECK(v55("local function f(...t) t[2] = 'x'; t.n = 2; return select('#', ...) .. select(2, ...) end "
            "return f(1, 2, 3)") == "2x");
  CHECK(contains(v55("local function f(...t) t.n = -1; return ... end return f(1)"), "no proper 'n'"));
  CHECK(contains(v55("local function f(...t) t.n = 1.0; return ... end return f(1)"), "no proper 'n'"));
  // read only as t[k], the table is never built: the slot stays nil
  CHECK(v55("local function f(...t) return tostring(t[2]) .. t.n .. tostring(t[1.0]) .. tostring(t.x) .. "
            "tostring(t[0]) .. tostring(select(2, debug.getlocal(1, 1))) end return f(7, 8)") ==
        "827nilnilnil");
  CHECK(v55("local function f(...t) return type(select(2, debug.getlocal(1, 1))) end return f()") == "nil");
  // any other use builds it; a capture does too
  CHECK(v55("local function f(...t) return function() return t.n end end return f(1, 2)()") == "2");
  CHECK(v55("local function f(...t) return type(t) end return f()") == "table");
  // both forms survive a binary chunk and a JIT-compiled loop
  const char* code =
      "local function f(...t) return t[2] end\n"
      "local function g(...t) t[1] = t[1] + 1 return ... end\n"
      "f = load(string.dump(f)); g = load(string.dump(g))\n"
      "local s = 0 for i = 1, 300 do s = s + f(1, i) + g(i) end return s";
  Vm stress(LuaVersion::Lua55);
  stress.set_jit_options(luna::JitOptions::stress());
  CHECK(eval_in(stress, code) == v55(code));
  CHECK(v55(code) == std::to_string(2 * (300 * 301 / 2) + 300));
  // 5.4 has no named vararg table
  CHECK(contains(eval_as(LuaVersion::Lua54, "local function f(...t) end"), "error:"));
}
