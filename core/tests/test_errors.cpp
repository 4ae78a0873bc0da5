// The error path: caught errors jump back to pcall only when no native frame
// lies between; host C++ frames in between still unwind (destructors run).
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "luna/api.hpp"
#include "state.hpp"
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

// pcall in a thread that cannot yield calls its function directly under
// pcall_raw (lib_pcall), in a coroutine through pcall_k with its
// continuation: both give every result (the frame's top raised for them),
// catch the same errors and leave the same stack behind.
TEST_CASE("errors: pcall's results and errors in yieldable and non-yieldable threads", "[errors]") {
  State* L = new_state();
  open_libs(L);
  CHECK(run(L, R"(
    local t = {}
    for i = 1, 250 do t[i] = i end
    local function body()
      local out = {}
      local packed = table.pack(pcall(table.unpack, t))
      out[#out + 1] = packed.n .. " " .. tostring(packed[1]) .. " " .. packed[251]
      local n = select("#", pcall(function(...) return ... end, table.unpack(t, 1, 200)))
      out[#out + 1] = n
      local ok, e = pcall(function() error({7}) end)
      out[#out + 1] = tostring(ok) .. " " .. e[1]
      out[#out + 1] = select(2, pcall(error))
      out[#out + 1] = tostring(select(2, pcall(pcall)))
      local ok2, e2 = pcall(string.rep, "x", -1, {})
      out[#out + 1] = tostring(ok2) .. " " .. e2
      if coroutine.isyieldable() then
        local ok3, v = pcall(coroutine.yield, 5)
        out[#out + 1] = tostring(ok3) .. " " .. v
      end
      return table.concat(out, "|")
    end
    local main = body()
    local co = coroutine.wrap(body)
    co()
    local inco = co(9)
    local sorted = {3, 1, 2}
    local sortco
    table.sort(sorted, function(a, b) sortco = body() return a < b end)
    return main .. "#" .. inco .. "#" .. sortco)") ==
        "251 true 250|201|false 7|bad argument #1 to 'pcall' (value expected)|false bad argument #3 to "
        "'string.rep' (string expected, got table)#251 true 250|201|false 7|bad argument #1 to 'pcall' "
        "(value expected)|false bad argument #3 to 'string.rep' (string expected, got table)|true 9#251 true "
        "250|201|false 7|bad argument #1 to 'pcall' (value expected)|false bad argument #3 to 'string.rep' "
        "(string expected, got table)");
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

namespace {

// where(level) as the host sees it, from a native function.
int where_of(State* L) {
  where(L, static_cast<int>(check_integer(L, 1)));
  return 1;
}

}  // namespace

TEST_CASE("errors: error() and where() add the position of the level asked", "[errors]") {
  luna::test::StateGuard g;
  State* L = g.L;
  push_native_function(L, where_of);
  set_global(L, "where_of");
  const char* code = R"LUA(
    local function lvl(n, m) error(m, n) end
    local function mid(n, m) lvl(n, m) end
    local out = {}
    for _, n in ipairs({1, 2, 3, 0, 99, -1}) do
      out[#out + 1] = select(2, pcall(mid, n, "m"))
    end
    out[#out + 1] = select(2, pcall(mid, 1, ""))
    out[#out + 1] = #select(2, pcall(mid, 1, ("x"):rep(300)))
    out[#out + 1] = select(2, pcall(error, "native caller"))
    out[#out + 1] = where_of(0) .. "|" .. where_of(1) .. "|" .. where_of(2) .. "|" .. where_of(50)
    local stripped = load(string.dump(load("error('s')", "=s"), true))
    out[#out + 1] = select(2, pcall(stripped))
    return table.concat(out, ";"))LUA";
  REQUIRE(load_bufferx(L, code, std::strlen(code), "=chunk", nullptr) == OK);
  REQUIRE(pcall(L, 0, 1, 0) == OK);
  CHECK(std::string(to_string(L, -1)) ==
        "chunk:2: m;chunk:3: m;m;m;m;m;chunk:2: ;309;native caller;|chunk:11: ||;s");
  pop(L, 1);
  // A long chunk name is shortened as short_src is.
  std::string name = "@" + std::string(100, 'd') + "/f.lua";
  const char* c2 = "error('long name')";
  REQUIRE(load_bufferx(L, c2, std::strlen(c2), name.c_str(), nullptr) == OK);
  REQUIRE(pcall(L, 0, 0, 0) == ERRRUN);
  std::string msg = to_string(L, -1);
  CHECK(msg.substr(0, 3) == "...");
  CHECK(msg.size() == IDSIZE - 1 + std::strlen(":1: long name"));
  CHECK(msg.substr(msg.size() - 19) == "/f.lua:1: long name");
  pop(L, 1);
}

// where_text keeps its last position text keyed by prototype and saved pc
// (WhereCache): a chunk collected and another loaded in its memory (the
// pools hand the same blocks back) must not find the old chunk's text, nor
// may another place in the same function or another frame level.
TEST_CASE("errors: positions stay right when the cached one's chunk is collected", "[errors]") {
  luna::test::StateGuard g;
  State* L = g.L;
  const char* code = R"LUA(
    local out = {}
    for i = 1, 40 do
      local f = load("local a = ... error('e')", "=c" .. i)
      out[#out + 1] = select(2, pcall(f))
      f = nil
      collectgarbage()
    end
    local function two(k)
      if k == 1 then error("a") end
      error("b")
    end
    local function inner() error("u", 2) end
    for _ = 1, 2 do
      out[#out + 1] = select(2, pcall(two, 1))
      out[#out + 1] = select(2, pcall(two, 2))
      out[#out + 1] = select(2, pcall(function() inner() end))
    end
    return table.concat(out, ";"))LUA";
  REQUIRE(load_bufferx(L, code, std::strlen(code), "=main", nullptr) == OK);
  REQUIRE(pcall(L, 0, 1, 0) == OK);
  std::string want;
  for (int i = 1; i <= 40; i++) want += "c" + std::to_string(i) + ":1: e;";
  want += "main:10: a;main:11: b;main:17: u;main:10: a;main:11: b;main:17: u";
  CHECK(std::string(to_string(L, -1)) == want);
  pop(L, 1);
  // The cached text names its prototype; collecting that prototype forgets it.
  const char* c2 = "error('gone')";
  REQUIRE(load_bufferx(L, c2, std::strlen(c2), "=gone", nullptr) == OK);
  REQUIRE(pcall(L, 0, 0, 0) == ERRRUN);
  CHECK(std::string(to_string(L, -1)) == "gone:1: gone");
  pop(L, 1);
  CHECK(L->g->where.p != nullptr);
  gc(L, GCCOLLECT);
  CHECK(L->g->where.p == nullptr);
}

TEST_CASE("errors: a caught error closes upvalues and to-be-closed variables", "[errors]") {
  luna::test::StateGuard g;
  CHECK(run(g.L, R"(
    local get
    local function f()
      local v = 1
      get = function() return v end
      v = 2
      error("e")
    end
    for i = 1, 20 do assert(not pcall(f)) end
    local log = {}
    local function closer(n)
      return setmetatable({}, {__close = function(_, e) log[#log + 1] = n .. "=" .. tostring(e) end})
    end
    local function t()
      local a <close> = closer("a")
      local b <close> = setmetatable({}, {__close = function() error("from close", 0) end})
      error("first", 0)
    end
    local ok, e = pcall(t)
    local r = get() .. " " .. tostring(ok) .. " " .. e .. " " .. table.concat(log, ",")
    do
      local below <close> = closer("below")
      pcall(error, "x")
      r = r .. " " .. #log
    end
    return r .. " " .. #log)") == "2 false from close a=from close 1 2");
}

TEST_CASE("errors: error()'s optional level, extra arguments and bad levels", "[errors]") {
  luna::test::StateGuard g;
  CHECK(run(g.L, R"(
    local function f(...) error(...) end
    local out = {}
    for _, args in ipairs({{"a"}, {"b", 1, "extra"}, {"c", "1"}, {"d", 2.0}, {"e", nil}, {}, {nil, 1}}) do
      out[#out + 1] = tostring(select(2, pcall(f, table.unpack(args, 1, #args))))
    end
    out[#out + 1] = select(2, pcall(f, "x", "level"))
    out[#out + 1] = select(2, pcall(f, "x", 1.5))
    return table.concat(out, ";"))") ==
        "[string \"...\"]:2: a;[string \"...\"]:2: b;[string \"...\"]:2: c;"
        "d;[string \"...\"]:2: e;nil;nil;"
        "[string \"...\"]:2: bad argument #2 to 'error' (number expected, got string);"
        "[string \"...\"]:2: bad argument #2 to 'error' (number has no integer representation)");
}

TEST_CASE("errors: the stack and frames a deep caught error left are released", "[errors]") {
  luna::test::StateGuard g;
  State* L = g.L;
  auto spare_frames = [L] {
    int n = 0;
    for (CallInfo* ci = L->ci->next; ci != nullptr; ci = ci->next) n++;
    return n;
  };
  CHECK(run(L, "local function r(n) if n == 0 then error('x') end return r(n - 1) + 1 end "
               "for i = 1, 100 do pcall(error, i) end "
               "return tostring(pcall(r, 50000))") == "false");
  int big = L->stack_size();
  CHECK(big < 1000);  // shrunk by the pcall that caught the deep error
  // Eight kept beyond the chunk's pcall, plus the two frames returned since.
  CHECK(spare_frames() <= 10);
  // A loop of shallow caught errors keeps its stack and frames.
  CHECK(run(L, "for i = 1, 100 do pcall(error, i) end return 'ok'") == "ok");
  CHECK(L->stack_size() == big);
}

TEST_CASE("errors: a thread with few frames keeps them all after a caught error", "[errors]") {
  luna::test::StateGuard g;
  State* L = g.L;
  auto spare_frames = [L] {
    int n = 0;
    for (CallInfo* ci = L->ci->next; ci != nullptr; ci = ci->next) n++;
    return n;
  };
  // 30 frames deep: kept (no walk to drop all but eight after each error).
  CHECK(run(L, "local function r(n) if n == 0 then error('x') end return r(n - 1) + 1 end "
               "return tostring(pcall(r, 30))") == "false");
  CHECK(spare_frames() >= 30);
  // Deeper than a 16-bit count of frames: still released.
  CHECK(run(L, "local function r(n) if n == 0 then error('x') end return r(n - 1) + 1 end "
               "return tostring(pcall(r, 65540))") == "false");
  CHECK(spare_frames() <= 10);
}

TEST_CASE("errors: debug.setupvalue leaves the library's stateful closures alone", "[errors]") {
  luna::test::StateGuard s;
  // gmatch's iterator reads its state block and points into its subject;
  // wrap's function reads its thread. Replacing either used to crash.
  CHECK(run(s.L, R"(
    local it = string.gmatch("a b c", "%a")
    local first = it()
    local set3 = debug.setupvalue(it, 3, 42)
    local set1 = debug.setupvalue(it, 1, "zzz")
    collectgarbage()
    return table.concat({first, tostring(set3), tostring(set1), it(), it(), tostring((it()))}, ",")
  )") == "a,nil,nil,b,c,nil");
  CHECK(run(s.L, R"(
    local w = coroutine.wrap(function() coroutine.yield(1) return 2 end)
    local set = debug.setupvalue(w, 1, 42)
    return tostring(set) .. "," .. w() .. "," .. w()
  )") == "nil,1,2");
  CHECK(run(s.L, R"(
    local it = string.gmatch("x", "x")
    return select("#", debug.getupvalue(it, 1))
  )") == "2");
}

// add_where remembers a short result by its message and the raising place
// (WhereJoin): the same message object raised from another line, a
// collection in between, and many messages sharing slots must each still
// get their own position and text.
TEST_CASE("errors: remembered message results keep their place and text", "[errors]") {
  luna::test::StateGuard g;
  State* L = g.L;
  const char* code = R"LUA(
    local out = {}
    local function a(m) error(m) end
    local function b(m) error(m) end
    local msg = "same"
    for i = 1, 3 do
      out[#out + 1] = select(2, pcall(a, msg))
      out[#out + 1] = select(2, pcall(b, msg))
      if i == 2 then collectgarbage() end
    end
    local n = 0
    for r = 1, 2 do
      for i = 1, 200 do
        local e = select(2, pcall(a, "m" .. i))
        if e == "main:3: m" .. i then n = n + 1 end
      end
      collectgarbage()
    end
    out[#out + 1] = n
    return table.concat(out, ";"))LUA";
  REQUIRE(load_bufferx(L, code, std::strlen(code), "=main", nullptr) == OK);
  REQUIRE(pcall(L, 0, 1, 0) == OK);
  CHECK(std::string(to_string(L, -1)) ==
        "main:3: same;main:4: same;main:3: same;main:4: same;main:3: same;main:4: same;400");
  pop(L, 1);
}
