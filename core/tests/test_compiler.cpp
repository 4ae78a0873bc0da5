// Compiler tests: snippets compiled and run through the public API, checking
// results, syntax error messages and the debug information the compiler emits.
#include <catch2/catch.hpp>

#include <string>

#include "luna/api.hpp"
#include "state.hpp"
#include "test_support.hpp"

using namespace luna;
using luna::test::StateGuard;

namespace {


// Runs src and returns its results joined by "," via tostring, or
// "error: <msg>" when loading or running fails.
std::string run(const std::string& src) {
  StateGuard s;
  State* L = s.L;
  if (load_bufferx(L, src.data(), src.size(), "=test", "t") != OK) return std::string("error: ") + to_string(L, -1);
  if (pcall(L, 0, MULTRET, 0) != OK) return std::string("error: ") + to_string(L, -1);
  std::string out;
  int n = get_top(L);
  for (int i = 1; i <= n; i++) {
    if (i > 1) out += ",";
    size_t len;
    const char* text = to_lstring_meta(L, i, &len);
    out.append(text, len);
    pop(L, 1);
  }
  return out;
}

// Only the load step: empty string on success, else the message.
std::string compile_error(const std::string& src) {
  StateGuard s;
  if (load_bufferx(s.L, src.data(), src.size(), "=test", "t") == OK) return "";
  return to_string(s.L, -1);
}

}  // namespace

TEST_CASE("expressions and precedence", "[compiler]") {
  CHECK(run("return 1 + 2 * 3, (1 + 2) * 3, 2 ^ 3 ^ 2, -2 ^ 2") == "7,9,512.0,-4.0");
  CHECK(run("return 'a' .. 'b' .. 'c' .. 1 .. 2") == "abc12");
  CHECK(run("return 7 // 2, 7 % 3, -7 // 2, -7 % 3, 7 / 2") == "3,1,-4,2,3.5");
  CHECK(run("return 1 << 4, 256 >> 4, 5 & 3, 5 | 3, 5 ~ 3, ~0") == "16,16,1,7,6,-1");
  CHECK(run("return 1 < 2, 1 <= 1, 2 > 1, 2 >= 3, 1 == 1.0, 'a' ~= 'b'") == "true,true,true,false,true,true");
  CHECK(run("return not nil, not 0, nil and 1, false or 'x', 1 and 2 or 3") == "true,false,nil,x,2");
  CHECK(run("local a, b = 3, 4; return a < b and 'lt' or 'ge', a > 2 and b > 5") == "lt,false");
  CHECK(run("return #'abc', #{1, 2, 3}") == "3,3");
}

TEST_CASE("constant folding keeps Lua semantics", "[compiler]") {
  CHECK(run("return 0.0 == -0.0, 1 / -0.0, 1 / (0.0 * -1)") == "true,-inf,-inf");
  CHECK(run("return math.type(3 // 1), math.type(3 / 1), 2^63 == math.maxinteger + 1.0") ==
        "integer,float,true");
  CHECK(run("return pcall(function() return 1 // 0 end)").find("attempt to divide by zero") != std::string::npos);
  CHECK(run("return pcall(function() return 1 % 0 end)").find("attempt to perform 'n%0'") != std::string::npos);
  CHECK(run("local x = 0/0; return x ~= x") == "true");
  CHECK(run("return math.maxinteger + 1 == math.mininteger, 1 // 0.0, -1 % 0.0 ~= -1 % 0.0") == "true,inf,true");
}

TEST_CASE("metamethods see operands in source order", "[compiler]") {
  const char* src =
      "local log = {}\n"
      "local mt = {__sub = function(a, b) return (type(a) == 'table' and 'T' or a) .. '-' .. "
      "(type(b) == 'table' and 'T' or b) end,\n"
      "  __add = function(a, b) return (type(a) == 'table' and 'T' or a) .. '+' .. (type(b) == 'table' and 'T' or b) end,\n"
      "  __lt = function(a, b) return type(a) == 'number' end,\n"
      "  __shl = function(a, b) return (type(a) == 'table' and 'T' or a) .. '<<' .. (type(b) == 'table' and 'T' or b) end}\n"
      "local t = setmetatable({}, mt)\n"
      "return t - 1, 1 - t, t + 2, 2 + t, 1 < t, t < 1, t << 1, 1 << t";
  CHECK(run(src) == "T-1,1-T,T+2,2+T,true,false,T<<1,1<<T");
}

TEST_CASE("assignments, locals, varargs", "[compiler]") {
  CHECK(run("local a, b, c = 1; return a, b, c") == "1,nil,nil");
  CHECK(run("local a, b = 1, 2, 3; return a, b") == "1,2");
  CHECK(run("local a, b = 1, 2; a, b = b, a; return a, b") == "2,1");
  CHECK(run("local t = {}; local i = 1; i, t[i] = i + 1, 20; return i, t[1], t[2]") == "2,20,nil");
  CHECK(run("local a = {}; local x = a; a.x, a = 1, 2; return x.x, a") == "1,2");
  CHECK(run("local function f(...) return select('#', ...), ... end; return f(1, nil, 3)") == "3,1,nil,3");
  CHECK(run("local function f(...) local a, b = ... return a, b end; return f(1)") == "1,nil");
  CHECK(run("local function f() return 1, 2, 3 end; return f(), f()") == "1,1,2,3");
  CHECK(run("local function f() return 1, 2, 3 end; return (f())") == "1");
  CHECK(run("local function f() return 1, 2, 3 end; local t = {f(), f()}; return #t") == "4");
  CHECK(run("local function f() return 1, 2 end; local t = {f(), nil}; return #t") == "1");
  CHECK(run("return select('#', ...)") == "0");
}

TEST_CASE("tables and constructors", "[compiler]") {
  CHECK(run("local t = {1, 2, x = 'a', ['y'] = 'b'; 3, [10] = 4} return t[1], t[3], t.x, t.y, t[10], #t") ==
        "1,3,a,b,4,3");
  std::string big = "local t = {";
  for (int i = 1; i <= 300; i++) big += std::to_string(i) + ",";
  big += "} return #t, t[1], t[51], t[300]";
  CHECK(run(big) == "300,1,51,300");
  CHECK(run("local o = {v = 5}; function o:get(d) return self.v + d end; function o.f(x) return x end "
            "return o:get(1), o.f(3)") == "6,3");
  CHECK(run("local u = string.upper; return u'ab', u[[cd]], type{}") == "AB,CD,table");
}

TEST_CASE("control structures", "[compiler]") {
  CHECK(run("local s = 0; for i = 1, 10 do s = s + i end; return s") == "55");
  CHECK(run("local s = 0; for i = 10, 1, -2 do s = s + i end; return s") == "30");
  CHECK(run("local s = 0; for i = 1.0, 2.0, 0.5 do s = s + i end; return s") == "4.5");
  CHECK(run("local s = ''; for k, v in ipairs{'a', 'b'} do s = s .. k .. v end; return s") == "1a2b");
  CHECK(run("local i = 0; while true do i = i + 1; if i == 5 then break end end; return i") == "5");
  CHECK(run("local i = 0; repeat local j = i; i = i + 1 until j >= 3; return i") == "4");
  CHECK(run("local x = 5; if x < 3 then return 'a' elseif x < 6 then return 'b' else return 'c' end") == "b");
  CHECK(run("local n = 0; for i = 1, 3 do for j = 1, 3 do if j == 2 then goto cont end; n = n + 1; ::cont:: end end "
            "return n") == "6");
  CHECK(run("local i = 1; ::top:: i = i + 1; if i < 10 then goto top end; return i") == "10");
}

TEST_CASE("closures and upvalues", "[compiler]") {
  CHECK(run("local fs = {}; for i = 1, 3 do fs[i] = function() return i end end; "
            "return fs[1](), fs[2](), fs[3]()") == "1,2,3");
  CHECK(run("local function counter() local n = 0; return function() n = n + 1; return n end end; "
            "local c = counter(); c(); return c()") == "2");
  CHECK(run("local fs = {}; local i = 1; repeat local j = i; fs[i] = function() return j end; i = i + 1 "
            "until j == 3; return fs[1](), fs[3]()") == "1,3");
  CHECK(run("local function fib(n) if n < 2 then return n end return fib(n-1) + fib(n-2) end return fib(15)") ==
        "610");
  CHECK(run("local function loop(n) if n == 0 then return 'done' end return loop(n - 1) end return loop(100000)") ==
        "done");
}

TEST_CASE("attribs const and close", "[compiler]") {
  CHECK(run("local x <const> = 10; local y <const> = 'k'; return x * 2, y") == "20,k");
  CHECK(run("local log = ''; do local a <close> = setmetatable({}, {__close = function() log = log .. 'a' end}); "
            "local b <close> = setmetatable({}, {__close = function() log = log .. 'b' end}) end; return log") ==
        "ba");
  CHECK(run("local log = ''; local function f() local a <close> = setmetatable({}, {__close = function() "
            "log = log .. 'c' end}); return 'r' end; return f(), log") == "r,c");
  CHECK(compile_error("local x <const> = 1; x = 2") == "test:1: attempt to assign to const variable 'x'");
  CHECK(compile_error("local x <const> = {}; function f() x = 1 end") ==
        "test:1: attempt to assign to const variable 'x'");
  CHECK(compile_error("local x <foo> = 1") == "test:1: unknown attribute 'foo'");
  CHECK(compile_error("local a <close>, b <close> = 1, 2") ==
        "test:1: multiple to-be-closed variables in local list");
}

TEST_CASE("syntax error messages", "[compiler]") {
  CHECK(compile_error("x = = 1") == "test:1: unexpected symbol near '='");
  CHECK(compile_error("x") == "test:1: syntax error near <eof>");
  CHECK(compile_error("local function f()\nreturn 1\n\n") ==
        "test:4: 'end' expected (to close 'function' at line 1) near <eof>");
  CHECK(compile_error("f(") == "test:1: unexpected symbol near <eof>");
  CHECK(compile_error("local 1") == "test:1: <name> expected near '1'");
  CHECK(compile_error("for i = 1 do end") == "test:1: ',' expected near 'do'");
  CHECK(compile_error("for a b in x do end") == "test:1: '=' or 'in' expected near 'b'");
  CHECK(compile_error("function f() return ... end") ==
        "test:1: cannot use '...' outside a vararg function near '...'");
  CHECK(compile_error("x = {1 2}") == "test:1: '}' expected near '2'");
  CHECK(compile_error("return return") == "test:1: unexpected symbol near 'return'");
}

TEST_CASE("goto and label errors", "[compiler]") {
  CHECK(compile_error("goto l1") == "test:1: no visible label 'l1' for <goto> at line 1");
  CHECK(compile_error("::l1:: ::l1::") == "test:1: label 'l1' already defined on line 1");
  CHECK(compile_error("break") == "test:1: break outside loop at line 1");
  CHECK(compile_error("goto l; local a; ::l:: print(a)") ==
        "test:1: <goto l> at line 1 jumps into the scope of local 'a'");
  CHECK(compile_error("do goto l end ::l::") == "");
  CHECK(compile_error("do local a; goto l; local b; ::l:: end") == "");  // label at block end
}

TEST_CASE("compiler limits", "[compiler]") {
  std::string many = "\nfunction foo ()\n  local ";
  for (int j = 1; j <= 300; j++) many += "a" + std::to_string(j) + ", ";
  many += "b\n";
  CHECK(compile_error(many) == "test:3: too many local variables (limit is 200) in function at line 2 near ','");
  std::string regs = "a = f(x";
  for (int j = 0; j < 260; j++) regs += ",x";
  regs += ")";
  CHECK(compile_error(regs) == "test:1: function or expression needs too many registers near 'x'");
  // Nesting depth: PUC-Rio 5.4.8's message, without position.
  CHECK(compile_error("return " + std::string(500, '(') + "1" + std::string(500, ')')) == "C stack overflow");
  CHECK(compile_error("x = " + std::string(100, '{') + std::string(100, '}')) == "");
}

TEST_CASE("runtime error names come from debug info", "[compiler]") {
  CHECK(run("local x; return x.y").find("attempt to index a nil value (local 'x')") != std::string::npos);
  CHECK(run("return undefinedglobal.y").find("(global 'undefinedglobal')") != std::string::npos);
  CHECK(run("local t = {}; return t.a.b").find("(field 'a')") != std::string::npos);
  CHECK(run("local t = {}; t:nomethod()").find("method 'nomethod'") != std::string::npos);
  CHECK(run("local u; local function f() return u.x end; return f()").find("(upvalue 'u')") != std::string::npos);
}
