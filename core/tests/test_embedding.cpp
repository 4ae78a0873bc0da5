// The C++ embedding API: luna::Vm, luna::Value, set_function conversions,
// errors in both directions, LuaUserdata, sandbox limits.
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "luna/error.hpp"
#include "luna/userdata.hpp"
#include "luna/value.hpp"
#include "luna/version.hpp"
#include "luna/vm.hpp"

using luna::LuaError;
using luna::Value;
using luna::Vm;

TEST_CASE("embed: eval returns results and version", "[embed]") {
  Vm vm;
  CHECK(vm.version() == luna::LuaVersion::Lua54);
  auto r = vm.eval("return 1, 2.5, 'x', true, nil");
  REQUIRE(r.size() == 5);
  CHECK(r[0].is_integer());
  CHECK(r[0].as_integer() == 1);
  CHECK(r[1].is_float());
  CHECK(r[1].as_number() == 2.5);
  CHECK(r[2].as_string() == "x");
  CHECK(r[3].as_boolean());
  CHECK(r[4].is_nil());
  CHECK(vm.eval("return _VERSION")[0].as_string() == "Lua 5.4");
}

TEST_CASE("embed: Value basics and strict accessors", "[embed]") {
  Value n;
  CHECK(n.is_nil());
  CHECK(!n.truthy());
  CHECK(Value(false).is_boolean());
  CHECK(Value(3).is_integer());
  CHECK(Value(3u).as_integer() == 3);
  CHECK(Value(2.0).as_integer() == 2);
  CHECK(Value(2.0f).is_number());
  CHECK(Value("s").is_string());
  CHECK(Value(std::string_view("v")).as_string() == "v");
  CHECK_THROWS_AS(Value("s").as_integer(), LuaError);
  CHECK_THROWS_AS(Value(2.5).as_integer(), LuaError);
  CHECK_THROWS_AS(Value(1).as_string(), LuaError);
  CHECK_THROWS_AS(Value(1).as_boolean(), LuaError);
  CHECK_THROWS_WITH(Value().as_number(), "number expected, got nil");
  CHECK(Value(1) == Value(1.0));
  CHECK(Value(1.5).to_string() == "1.5");
  CHECK(Value(2.0).to_string() == "2.0");
  CHECK_THROWS_AS(Value("x").get("k"), LuaError);  // a plain string has no VM
}

TEST_CASE("embed: errors carry message, traceback and value", "[embed]") {
  Vm vm;
  try {
    vm.eval("local function f() error('boom') end f()", "=chunk");
    FAIL("no error");
  } catch (const LuaError& e) {
    CHECK(std::string(e.what()) == "chunk:1: boom");
    CHECK(e.traceback().find("stack traceback") != std::string::npos);
    CHECK(e.value().as_string() == "chunk:1: boom");
    CHECK(e.status() == luna::ERRRUN);
  }
  try {
    vm.eval("error({code = 42})");
    FAIL("no error");
  } catch (const LuaError& e) {
    REQUIRE(e.value().is_table());
    CHECK(e.value().get("code").as_integer() == 42);
  }
  try {
    vm.eval("return +", "=bad");
    FAIL("no error");
  } catch (const LuaError& e) {
    CHECK(e.is_syntax_error());
    CHECK(std::string(e.what()).find("bad:1:") == 0);
  }
  // The VM is fine afterwards.
  CHECK(vm.eval("return 7")[0].as_integer() == 7);
}

TEST_CASE("embed: load, call, globals", "[embed]") {
  Vm vm;
  Value f = vm.load("local a, b = ... return a + b, a * b");
  CHECK(f.is_function());
  auto r = vm.call(f, 3, 4);
  REQUIRE(r.size() == 2);
  CHECK(r[0].as_integer() == 7);
  CHECK(r[1].as_integer() == 12);
  CHECK(f(1.5, 2)[0].as_number() == 3.5);
  vm.set_global("answer", 42);
  vm.set_global("name", std::string("luna"));
  vm.set_global("list", std::vector<int>{1, 2, 3});
  CHECK(vm.eval("return answer, name, #list")[2].as_integer() == 3);
  CHECK(vm.get_global("answer").as_integer() == 42);
  CHECK(vm.get_global("missing").is_nil());
  CHECK_THROWS_AS(vm.load("\x1bLua", "=bin"), LuaError);  // binary refused by default
  Vm other;
  CHECK_THROWS_AS(other.call(f, 1, 2), LuaError);
}

TEST_CASE("embed: table values", "[embed]") {
  Vm vm;
  Value t = vm.eval("return setmetatable({10, 20, 30, x = 'y'}, {__index = function(_, k) return k .. '!' end})")[0];
  REQUIRE(t.is_table());
  CHECK(t.length() == 3);
  CHECK(t.get(1).as_integer() == 10);
  CHECK(t.get("x").as_string() == "y");
  CHECK(t.get("zz").as_string() == "zz!");  // metamethod
  CHECK(t.raw_get(Value("zz")).is_nil());
  t.set("k", 5);
  t.set(4, std::vector<std::string>{"a", "b"});
  CHECK(vm.eval("return ...", "=x").empty());
  Value f = vm.load("local t = ... return t.k + #t[4]");
  CHECK(f(t)[0].as_integer() == 7);
  t.raw_set(Value("r"), Value(true));
  int count = 0;
  for (auto& [k, v] : t.pairs()) {
    (void)k;
    (void)v;
    count++;
  }
  CHECK(count == 7);  // 1..4, x, k, r
  Value u = vm.new_table();
  u.set("a", 1);
  CHECK(u.get("a").as_integer() == 1);
  CHECK(u == u);
  CHECK(!(u == t));
}

static int add3(int a, int b, int c) { return a + b + c; }

struct Counter {
  int n = 0;
  int bump(int by) { return n += by; }
  int get() const { return n; }
};

TEST_CASE("embed: set_function conversions", "[embed]") {
  Vm vm;
  vm.set_function("noargs", [] {});
  vm.set_function("add3", add3);
  vm.set_function("add3p", &add3);
  vm.set_function("half", [](double x) { return x / 2; });
  vm.set_function("neg", [](bool b) { return !b; });
  vm.set_function("greet", [](const std::string& s) { return "hi " + s; });
  vm.set_function("len", [](std::string_view s) { return s.size(); });
  vm.set_function("cstr", [](const char* s) { return std::string(s) + "."; });
  vm.set_function("opt", [](std::optional<int> x) { return x ? *x : -1; });
  vm.set_function("maybe", [](int x) -> std::optional<std::string> {
    if (x > 0) return "pos";
    return std::nullopt;
  });
  vm.set_function("sum", [](const std::vector<double>& v) {
    double s = 0;
    for (double d : v) s += d;
    return s;
  });
  vm.set_function("range", [](int n) {
    std::vector<int> v;
    for (int i = 1; i <= n; i++) v.push_back(i);
    return v;
  });
  vm.set_function("divmod", [](int a, int b) { return std::make_tuple(a / b, a % b); });
  vm.set_function("count", [](luna::Variadic args) { return static_cast<int>(args.size()); });
  vm.set_function("firstrest", [](Value first, luna::Variadic rest) { return std::make_tuple(first, static_cast<int>(rest.size())); });
  vm.set_function("echo", [](luna::Variadic args) { return args; });
  vm.set_function("kind", [](Value v) { return std::string(v.type_name()); });
  vm.set_function("small", [](int8_t x) { return x; });
  std::function<int(int)> sq = [](int x) { return x * x; };
  vm.set_function("sq", sq);
  Counter c;
  vm.set_function("bump", &Counter::bump, &c);
  vm.set_function("cget", &Counter::get, &c);

  auto r = vm.eval(R"(
    noargs()
    local q, m = divmod(17, 5)
    local e1, e2, e3 = echo(1, 'two', nil)
    return add3(1, 2, 3), add3p(1, 1, 1), half(3), neg(nil), greet('bob'), len('abcd'), cstr('z'),
           opt(), opt(5), maybe(1), maybe(0), sum({1, 2, 3.5}), #range(4), q, m,
           count(1, nil, 3), select(2, firstrest('a', 'b', 'c')), e2, kind({}), sq(9)
  )");
  REQUIRE(r.size() == 20);
  CHECK(r[0].as_integer() == 6);
  CHECK(r[1].as_integer() == 3);
  CHECK(r[2].as_number() == 1.5);
  CHECK(r[3].as_boolean() == true);
  CHECK(r[4].as_string() == "hi bob");
  CHECK(r[5].as_integer() == 4);
  CHECK(r[6].as_string() == "z.");
  CHECK(r[7].as_integer() == -1);
  CHECK(r[8].as_integer() == 5);
  CHECK(r[9].as_string() == "pos");
  CHECK(r[10].is_nil());
  CHECK(r[11].as_number() == 6.5);
  CHECK(r[12].as_integer() == 4);
  CHECK(r[13].as_integer() == 3);
  CHECK(r[14].as_integer() == 2);
  CHECK(r[15].as_integer() == 3);
  CHECK(r[16].as_integer() == 2);
  CHECK(r[17].as_string() == "two");
  CHECK(r[18].as_string() == "table");
  CHECK(r[19].as_integer() == 81);
  vm.eval("bump(2) bump(3)");
  CHECK(c.n == 5);
  CHECK(vm.eval("return cget()")[0].as_integer() == 5);

  // Argument errors are ordinary Lua errors.
  CHECK_THROWS_WITH(vm.eval("add3(1, 'x', 3)"), Catch::Contains("bad argument #2 to 'add3' (number expected, got string)"));
  CHECK_THROWS_WITH(vm.eval("small(1000)"), Catch::Contains("number out of range"));
  CHECK(vm.eval("return pcall(add3, 1)")[0].as_boolean() == false);
  Value f = vm.make_function([](int x) { return x + 1; });
  CHECK(f(1)[0].as_integer() == 2);
  CHECK(vm.to_value(std::vector<int>{4, 5}).length() == 2);
}

struct Guard {
  int* flag;
  ~Guard() { ++*flag; }
};

TEST_CASE("embed: C++ exceptions become Lua errors", "[embed]") {
  Vm vm;
  int unwound = 0;
  vm.set_function("fail", [&](int x) -> int {
    Guard g{&unwound};
    if (x > 0) throw std::runtime_error("too big: " + std::to_string(x));
    return x;
  });
  auto r = vm.eval("local ok, err = pcall(fail, 3) return ok, err");
  CHECK(r[0].as_boolean() == false);
  CHECK(r[1].as_string() == "too big: 3");
  CHECK(unwound == 1);
  CHECK_THROWS_WITH(vm.eval("fail(4)"), "too big: 4");
  // A LuaError thrown by C++ keeps its value.
  vm.set_function("throwval", [&vm]() -> int { throw LuaError("x", luna::ERRRUN, "", vm.eval("return {tag = 'mine'}")[0]); });
  CHECK(vm.eval("local ok, e = pcall(throwval) return e.tag")[0].as_string() == "mine");
}

TEST_CASE("embed: Lua errors unwind C++ frames", "[embed]") {
  Vm vm;
  int unwound = 0;
  vm.set_function("callback", [&](Value f) {
    Guard g{&unwound};
    f.call(1);  // throws LuaError out of the nested call: propagates through us
    return 1;
  });
  auto r = vm.eval("return pcall(callback, function(x) error('inner ' .. x) end)");
  CHECK(r[0].as_boolean() == false);
  CHECK(r[1].as_string().find("inner 1") != std::string::npos);
  CHECK(unwound == 1);
  // A raw Lua error (not a LuaError) through a bound function, e.g. from
  // an argument conversion inside a callback called by Lua.
  vm.set_function("each", [&](const std::vector<int>& v, Value f) {
    Guard g{&unwound};
    for (int x : v) f(x);
  });
  CHECK_THROWS_WITH(vm.eval("each({1, 2}, function(x) if x == 2 then error('stop', 0) end end)"), "stop");
  CHECK(unwound == 2);
  // Nested host calls from inside a bound function run on the calling thread (coroutine).
  vm.set_function("reenter", [&vm](int x) { return vm.eval("return " + std::to_string(x) + " * 2")[0].as_integer(); });
  CHECK(vm.eval("return coroutine.wrap(function() return reenter(21) end)()")[0].as_integer() == 42);
}

struct Point {
  double x = 0, y = 0;
  static int live;
  Point(double x_, double y_) : x(x_), y(y_) { live++; }
  Point(const Point& o) : x(o.x), y(o.y) { live++; }
  ~Point() { live--; }
  double norm2() const { return x * x + y * y; }
  void scale(double k) {
    x *= k;
    y *= k;
  }
};
int Point::live = 0;

struct Other {
  int v = 1;
};

TEST_CASE("embed: LuaUserdata classes", "[embed]") {
  Point::live = 0;
  {
    Vm vm;
    luna::LuaUserdata<Point>(vm, "Point")
        .constructor<double, double>()
        .property("x", &Point::x)
        .property("y", &Point::y)
        .property("norm2", [](const Point& p) { return p.norm2(); })
        .method("scale", &Point::scale)
        .method("plus", [](const Point& a, const Point& b) { return Point(a.x + b.x, a.y + b.y); })
        .meta("__tostring", [](const Point& p) { return "(" + std::to_string(int(p.x)) + "," + std::to_string(int(p.y)) + ")"; })
        .meta("__eq", [](const Point& a, const Point& b) { return a.x == b.x && a.y == b.y; })
        .meta("__index", [](const Point&, std::string k) { return "fallback " + k; })
        .meta("__close", [](Point& p, Value) { p.x = -1; });
    luna::LuaUserdata<Other>(vm, "Other").constructor<>();
    vm.set_function("px", [](Point& p) { return p.x; });
    vm.set_function("maybe_x", [](Point* p) { return p ? p->x : -99.0; });

    auto r = vm.eval(R"(
      local p = Point.new(3, 4)
      p:scale(2)
      p.y = 10
      local q = p:plus(Point.new(1, 1))
      return p.x, p.y, p.norm2, tostring(q), p == Point.new(6, 10), p == Other.new(), p.nothing,
             px(p), maybe_x(nil)
    )");
    CHECK(r[0].as_number() == 6);
    CHECK(r[1].as_number() == 10);
    CHECK(r[2].as_number() == 136);
    CHECK(r[3].as_string() == "(7,11)");
    CHECK(r[4].as_boolean() == true);
    CHECK(r[5].as_boolean() == false);
    CHECK(r[6].as_string() == "fallback nothing");
    CHECK(r[7].as_number() == 6);
    CHECK(r[8].as_number() == -99);
    CHECK_THROWS_WITH(vm.eval("px(Other.new())"), Catch::Contains("bad argument #1 to 'px' (Point expected, got Other)"));
    CHECK_THROWS_WITH(vm.eval("px({})"), Catch::Contains("Point expected, got table"));
    CHECK_THROWS_WITH(vm.eval("Point.new(1, 2).norm2 = 3"), Catch::Contains("property 'norm2' of Point is read-only"));
    CHECK_THROWS_WITH(vm.eval("Point.new(1, 2).zz = 3"), Catch::Contains("Point has no property 'zz'"));
    CHECK(vm.eval("local p = Point.new(1, 2) do local c <close> = p end return p.x")[0].as_number() == -1);
    CHECK_THROWS_AS(luna::LuaUserdata<Point>(vm, "Point").meta("__gc", [](Point&) {}), LuaError);

    // Objects made from C++ and type-checked when they come back.
    Value pv = luna::LuaUserdata<Point>(vm, "Point").create(1.0, 2.0);
    CHECK(pv.as_userdata<Point>().y == 2);
    CHECK_THROWS_AS(pv.as_userdata<Other>(), LuaError);
    vm.set_global("pv", pv);
    CHECK(vm.eval("return pv.y")[0].as_number() == 2);
    vm.set_global("copy", Point(5, 5));
    CHECK(vm.eval("return copy.x")[0].as_number() == 5);

    // Collection runs each destructor exactly once.
    vm.eval("p = nil q = nil copy = nil pv = nil");
    pv = Value();
    vm.collect_garbage();
    vm.collect_garbage();
    CHECK(Point::live == 0);
    vm.eval("keep = Point.new(0, 0)");
    CHECK(Point::live == 1);
  }
  CHECK(Point::live == 0);  // closed with the VM
}

TEST_CASE("embed: minimal VM and libraries one by one", "[embed]") {
  Vm vm(luna::LibSet::none);
  CHECK(vm.get_global("print").is_nil());
  CHECK(vm.get_global("string").is_nil());
  vm.open_base();
  CHECK(vm.get_global("print").is_function());
  CHECK(vm.get_global("string").is_nil());
  vm.open_string();
  vm.open_table();
  vm.open_math();
  vm.open_coroutine();
  vm.open_utf8();
  CHECK(vm.eval("return ('x'):rep(3), math.max(1, 2), table.concat({1, 2}), utf8.char(65)")[0].as_string() == "xxx");
  CHECK(vm.get_global("io").is_nil());
  CHECK(vm.get_global("os").is_nil());
  vm.open_io();
  vm.open_os();
  vm.open_debug();
  vm.open_package();
  CHECK(vm.get_global("io").is_table());
  CHECK(vm.get_global("require").is_function());
  Vm safe(luna::LibSet::safe);
  CHECK(safe.get_global("os").is_nil());
  CHECK(safe.get_global("string").is_table());
}

TEST_CASE("embed: memory limit raises a catchable error and recovers", "[embed]") {
  Vm vm;
  vm.collect_garbage();
  size_t base = vm.memory_used();
  vm.set_memory_limit(base + 512 * 1024);
  auto r = vm.eval(R"(
    local ok, err = pcall(function()
      local t = {}
      for i = 1, 1e7 do t[i] = ('x'):rep(100) .. i end
    end)
    return ok, err
  )");
  CHECK(r[0].as_boolean() == false);
  CHECK(r[1].as_string() == "not enough memory");
  CHECK_THROWS_WITH(vm.eval("local t = {} for i = 1, 1e7 do t[i] = {} end"), "not enough memory");
  vm.collect_garbage();
  CHECK(vm.eval("return #('ok'):rep(10)")[0].as_integer() == 20);
  vm.set_memory_limit(0);
  CHECK(vm.eval("local t = {} for i = 1, 1e5 do t[i] = i end return #t")[0].as_integer() == 100000);
}

TEST_CASE("embed: instruction budget interrupts runaway scripts", "[embed]") {
  Vm vm;
  vm.set_instruction_limit(100000);
  CHECK_THROWS_WITH(vm.eval("while true do end"), Catch::Contains("instruction budget exhausted"));
  // A script cannot swallow the error for good: pcall catches it once, but
  // every later instruction fails too.
  CHECK_THROWS_WITH(vm.eval("pcall(function() while true do end end) while true do end"),
                    Catch::Contains("instruction budget exhausted"));
  CHECK_THROWS_AS(vm.eval("local function f() return f() end f()"), LuaError);
  // The next call gets a fresh budget.
  CHECK(vm.eval("local s = 0 for i = 1, 100 do s = s + i end return s")[0].as_integer() == 5050);
  vm.set_instruction_limit(0);
  CHECK(vm.eval("local s = 0 for i = 1, 1e6 do s = s + 1 end return s")[0].as_integer() == 1000000);
}

TEST_CASE("embed: values keep the VM alive and release anywhere", "[embed]") {
  Value t;
  {
    Vm vm;
    t = vm.eval("return {1, 2, 3}")[0];
  }
  CHECK(t.length() == 3);  // the VM lives on through t
  Vm vm;
  Value kept = vm.eval("return {}")[0];
  std::thread([v = std::move(kept)]() mutable { v = Value(); }).join();  // release elsewhere
  CHECK(vm.eval("return 1")[0].as_integer() == 1);
}

TEST_CASE("embed: a Vm is confined to its thread (every build)", "[embed]") {
  Vm vm;
  Value t = vm.eval("return {1, f = function() return 2 end}")[0];
  Value f = t.get("f");
  // Each use from another thread throws; none may reach the VM.
  std::vector<std::function<void()>> uses = {
      [&] { vm.eval("return 1"); },
      [&] { vm.get_global("x"); },
      [&] { vm.set_global("x", 1); },
      [&] { vm.new_table(); },
      [&] { vm.collect_garbage(); },
      [&] { vm.set_instruction_limit(10); },
      [&] { vm.pin(t); },
      [&] { t.get(1); },
      [&] { t.set(1, 5); },
      [&] { t.length(); },
      [&] { f.call(); },
  };
  int refused = 0;
  std::thread([&] {
    for (auto& use : uses) {
      try {
        use();
      } catch (const LuaError& e) {
        if (std::string(e.what()).find("use luna::SendVm") != std::string::npos) refused++;
      }
    }
  }).join();
  CHECK(refused == int(uses.size()));
  // Untouched: the owner thread sees the old contents and no limit.
  CHECK(t.get(1).as_integer() == 1);
  CHECK(vm.get_global("x").is_nil());
  CHECK(vm.eval("local n = 0 for i = 1, 1000 do n = n + i end return n")[0].as_integer() == 500500);
}

namespace {

#ifdef __SANITIZE_ADDRESS__
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif

TEST_CASE("embed: Vm JIT controls and statistics", "[embed][jit]") {
  Vm vm;
  CHECK(vm.jit_enabled());
  CHECK(vm.eval("return jit.status()")[0].as_boolean());
  vm.set_jit_options(luna::JitOptions::stress());
  CHECK(vm.jit_options().hotloop == 1);
  CHECK(vm.eval("local s = 0 for i = 1, 100 do s = s + i end return s")[0].as_integer() == 5050);
  luna::JitStats st = vm.jit_stats();
  CHECK(st.traces_compiled + st.traces_aborted > 0);  // the loop was hot at once
  vm.set_jit(false);
  CHECK_FALSE(vm.jit_enabled());
  CHECK_FALSE(vm.eval("return jit.status()")[0].as_boolean());
  vm.eval("jit.on()");
  CHECK(vm.jit_enabled());
  vm.jit_flush();
  CHECK(vm.eval("jit.flush() jit.off() return jit.status()")[0].as_boolean() == false);
}

TEST_CASE("embed: bound functions yield with luna::Yield", "[embed]") {
  Vm vm;
  vm.set_function("pause", [](int x) { return luna::Yield{Value(x * 2), Value("p")}; });
  auto r = vm.eval(R"(
    local co = coroutine.wrap(function(a)
      local b, c = pause(a)
      return b + c
    end)
    local y1, y2 = co(5)
    return y1, y2, co(30, 12))");
  REQUIRE(r.size() == 3);
  CHECK(r[0].as_integer() == 10);
  CHECK(r[1].as_string() == "p");
  CHECK(r[2].as_integer() == 42);
  CHECK_THROWS_WITH(vm.eval("pause(1)"), Catch::Contains("attempt to yield from outside a coroutine"));
}

// A field of /proc/self/status in KiB (VmSize, VmRSS), 0 if absent.
long proc_status_kb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return 0;
}

long mapping_count() {
  std::ifstream in("/proc/self/maps");
  std::string line;
  long n = 0;
  while (std::getline(in, line)) n++;
  return n;
}

struct Custom {
  int code;
};

}  // namespace

TEST_CASE("embed: any C++ exception becomes a Lua error and leaves the VM healthy", "[embed]") {
  Vm vm;
  vm.set_function("throw_int", []() -> int { throw 42; });
  vm.set_function("throw_custom", []() { throw Custom{7}; });
  vm.set_function("throw_alloc", []() { throw std::bad_alloc(); });
  auto r = vm.eval("local ok, e = pcall(throw_int) return ok, e");
  CHECK(r[0].as_boolean() == false);
  CHECK(r[1].as_string() == "C++ exception of type int");
  CHECK(vm.eval("return select(2, pcall(throw_custom))")[0].as_string().find("C++ exception of type") == 0);
  CHECK(vm.eval("return select(2, pcall(throw_alloc))")[0].as_string() == "not enough memory");
  // Straight to the host, many times: no stale frames are left behind.
  for (int i = 0; i < 10000; i++) CHECK_THROWS_WITH(vm.eval("throw_int()"), "C++ exception of type int");
  CHECK(vm.eval("return 1")[0].as_integer() == 1);
  // Caught by pcall inside Lua (also inside a coroutine and an error handler).
  CHECK(vm.eval(R"(
    for i = 1, 10000 do assert(not pcall(throw_custom)) end
    local co = coroutine.wrap(function() return pcall(throw_int) end)
    assert(co() == false)
    assert(not xpcall(throw_int, function(m) return m end))
    return 1)")[0].as_integer() == 1);
  CHECK(vm.eval("return 1")[0].as_integer() == 1);
}

struct ThrowingCopy {
  ThrowingCopy() = default;
  ThrowingCopy(const ThrowingCopy&) { throw Custom{1}; }
};

TEST_CASE("embed: a foreign exception in host-side conversion is a LuaError", "[embed]") {
  Vm vm;
  luna::LuaUserdata<ThrowingCopy>(vm, "ThrowingCopy");
  ThrowingCopy t;
  for (int i = 0; i < 1000; i++) CHECK_THROWS_WITH(vm.set_global("t", t), Catch::Contains("C++ exception of type"));
  CHECK(vm.eval("return 1")[0].as_integer() == 1);
}

struct Sentinel {
  static int live;
  Sentinel() { live++; }
  Sentinel(const Sentinel&) { live++; }
  ~Sentinel() { live--; }
};
int Sentinel::live = 0;

TEST_CASE("embed: host functions capturing their own VM do not keep it alive", "[embed]") {
  Sentinel::live = 0;
  auto round = [] {
    Vm vm(luna::LibSet::base | luna::LibSet::string);
    luna::LuaUserdata<Sentinel>(vm, "Sentinel");
    vm.set_userdata("s", Sentinel{});
    Value t = vm.eval("return {1, 2, 3}")[0];
    Value blob = vm.eval("return {('x'):rep(8000)}")[0];
    vm.set_function("f", [t, blob](int x) { return t.length() + x; });
    Value g = vm.make_function([t](luna::Vm& self) { return self.eval("return 1")[0].as_integer() + t.length(); });
    vm.set_global("g", g);
    CHECK(vm.eval("return f(1) + g()")[0].as_integer() == 8);
  };
  for (int i = 0; i < 200; i++) round();
  long rss = proc_status_kb("VmRSS");
  for (int i = 0; i < 1800; i++) round();
  CHECK(Sentinel::live == 0);  // every VM closed (its objects destroyed)
  if (!kAddressSanitizer) CHECK(proc_status_kb("VmRSS") - rss < 8 * 1024);  // ASan's quarantine keeps freed blocks resident

  // A captured Value that escapes its VM is dead, not dangling.
  Value escaped;
  {
    Vm vm;
    Value t = vm.eval("return {}")[0];
    vm.set_function("leak", [t, &escaped] { escaped = t; });
    vm.eval("leak()");
  }
  CHECK_THROWS_WITH(escaped.length(), Catch::Contains("VM of this table value is closed"));
  // Held outside the VM, a Value still owns it.
  Value t;
  {
    Vm vm;
    t = vm.eval("return {4}")[0];
    vm.set_function("f", [t] { return t.length(); });
  }
  CHECK(t.get(1).as_integer() == 4);
}

TEST_CASE("embed: host functions may take the calling Vm first", "[embed]") {
  Vm vm;
  vm.set_function("run", [](Vm& self, std::string code) { return self.eval(code)[0]; });
  vm.set_function("depth", [](Vm& self) { return self.get_global("n").as_integer(); });
  CHECK(vm.eval("n = 5 return run('return n * 2')")[0].as_integer() == 10);
  CHECK(vm.eval("return depth()")[0].as_integer() == 5);
  // Inside a coroutine the handle runs on the coroutine's thread.
  CHECK(vm.eval("return coroutine.wrap(function() return run('return coroutine.isyieldable()') end)()")[0].as_boolean() == false);
  CHECK_THROWS_WITH(vm.eval("run(nil)"), Catch::Contains("bad argument #1 to 'run'"));
}

TEST_CASE("embed: language version constructors", "[embed]") {
  Vm a(luna::LuaVersion::Lua54);
  CHECK(a.eval("return _VERSION")[0].as_string() == "Lua 5.4");
  Vm b(luna::LuaVersion::Lua54, luna::LibSet::base);
  CHECK(b.get_global("string").is_nil());
  CHECK_THROWS_WITH(Vm(static_cast<luna::LuaVersion>(51)), Catch::Contains("not available"));
}

TEST_CASE("embed: eval_with passes the chunk's arguments", "[embed]") {
  Vm vm;
  auto r = vm.eval_with("local a, b = ... return a + b, select('#', ...)", 2, 3.5);
  CHECK(r[0].as_number() == 5.5);
  CHECK(r[1].as_integer() == 2);
  Value t = vm.new_table();
  CHECK(vm.eval_with("local t, s = ... t.x = s return t.x", t, std::string("hi"))[0].as_string() == "hi");
  CHECK(t.get("x").as_string() == "hi");
  CHECK(vm.eval_with("return select('#', ...)")[0].as_integer() == 0);
  CHECK_THROWS_WITH(vm.eval_with("return ...+", 1), Catch::Contains("unexpected symbol"));
}

TEST_CASE("embed: set_userdata", "[embed]") {
  Point::live = 0;
  {
    Vm vm;
    luna::LuaUserdata<Point>(vm, "Point").property("x", &Point::x);
    vm.set_userdata("origin", Point(3, 4));
    CHECK(vm.eval("return origin.x")[0].as_number() == 3);
    CHECK(vm.get_global("origin").as_userdata<Point>().y == 4);
    Vm other;
    CHECK_THROWS_WITH(other.set_userdata("p", Point(1, 1)), Catch::Contains("not registered"));
  }
  CHECK(Point::live == 0);
}

TEST_CASE("embed: pinned roots", "[embed]") {
  Vm vm;
  luna::PinHandle h = vm.pin(vm.eval("return {7}")[0]);
  CHECK(h != 0);
  vm.eval("collectgarbage() collectgarbage()");
  CHECK(vm.pinned(h).get(1).as_integer() == 7);
  luna::PinHandle s = vm.pin(Value("str"));
  CHECK(vm.pinned(s).as_string() == "str");
  CHECK(s != h);
  Vm other;
  CHECK_THROWS_WITH(other.pinned(h), Catch::Contains("unknown pin handle"));
  CHECK_THROWS_WITH(other.unpin(h), Catch::Contains("unknown pin handle"));
  CHECK_THROWS_WITH(other.pin(vm.pinned(h)), Catch::Contains("cannot move to another VM"));
  vm.unpin(h);
  CHECK_THROWS_WITH(vm.pinned(h), Catch::Contains("unknown pin handle"));
  CHECK_THROWS_WITH(vm.unpin(h), Catch::Contains("unknown pin handle"));
  // Unpinned objects are collected.
  Value weak = vm.eval("return setmetatable({}, {__mode = 'v'})")[0];
  luna::PinHandle p = vm.pin(vm.eval("return {}")[0]);
  weak.set(1, vm.pinned(p));
  vm.unpin(p);
  vm.collect_garbage();
  CHECK(weak.get(1).is_nil());
}

namespace {

// Runs a script that keeps coroutines suspended, each started by `start`,
// until a 64 MiB memory limit stops it; the process's address space,
// resident memory and mappings must grow by no more than the limit (plus
// allocator slack), not without bound. ASan pads every small block with
// redzones, up to doubling what the limit counts.
void check_coroutines_bounded(Vm& vm, const std::string& start) {
  const long slack_kb = (kAddressSanitizer ? 192 : 96) * 1024;
  long size0 = proc_status_kb("VmSize"), rss0 = proc_status_kb("VmRSS"), maps0 = mapping_count();
  vm.set_memory_limit(64u << 20);
  INFO(start);
  CHECK_THROWS_WITH(vm.eval(start + R"(
    local t = {}
    while true do
      local co = coroutine.create(start)
      assert(coroutine.resume(co))  -- its first resume starts its stack
      t[#t + 1] = co
    end)"),
                    Catch::Contains("not enough memory"));
  CHECK(proc_status_kb("VmSize") - size0 < slack_kb);
  CHECK(proc_status_kb("VmRSS") - rss0 < slack_kb);
  CHECK(mapping_count() - maps0 < 200);
}

}  // namespace

TEST_CASE("embed: coroutine stacks count against the memory limit", "[embed]") {
  {
    Vm vm(luna::LibSet::safe);
    check_coroutines_bounded(vm, "local function start() coroutine.yield() end");
    // The process stays healthy: another VM, and this one once the
    // coroutines are garbage.
    Vm other;
    CHECK(other.eval("return coroutine.wrap(function() coroutine.yield(7) end)()")[0].as_integer() == 7);
    vm.collect_garbage();
    CHECK(vm.eval("local co = coroutine.wrap(function(a) return a + 1 end) return co(1)")[0].as_integer() == 2);
  }
  std::thread([] {
    Vm vm;
    CHECK(vm.eval("local n = 0 for i = 1, 100 do n = n + select(2, coroutine.resume(coroutine.create(function() return 1 end))) end return n")[0].as_integer() == 100);
  }).join();
  // Deep coroutines: each suspended under 150 Lua calls, protected calls
  // or metamethods (their Lua stacks and call frames are what a native
  // stack used to hold).
  for (const char* start : {"local function deep(n) if n == 0 then coroutine.yield() else deep(n - 1) end end "
                            "local function start() deep(150) end",
                            "local function deep(n) if n == 0 then coroutine.yield() else pcall(deep, n - 1) end end "
                            "local function start() deep(150) end",
                            "local mt = {} mt.__index = function(t, k) "
                            "if k == 0 then coroutine.yield() return 0 end return t[k - 1] end "
                            "local function start() return setmetatable({}, mt)[150] end"}) {
    Vm vm(luna::LibSet::safe);
    check_coroutines_bounded(vm, start);
  }
}
