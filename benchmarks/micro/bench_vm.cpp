// Google Benchmark cases for the VM's hot paths, driven through the public
// stack API (luna/api.hpp). Lua-side loops report per-iteration cost via
// items_per_second; API-side cases time one API operation per iteration.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "luna/api.hpp"

namespace {

using luna::State;

// A state with the standard library; aborts the benchmark run on errors
// (a broken benchmark must not report a time).
State* fresh_state() {
  State* L = luna::new_state();
  luna::open_libs(L);
  return L;
}

void check(State* L, int status) {
  if (status != luna::OK) {
    std::fprintf(stderr, "bench_vm: %s\n", luna::to_string(L, -1));
    std::abort();
  }
}

// Loads `src`, which must return a function f(n); leaves f on the stack.
void load_loop(State* L, const char* src) {
  check(L, luna::load_string(L, src));
  check(L, luna::pcall(L, 0, 1, 0));
}

// Runs the function on the stack top once per benchmark iteration with
// argument n, counting n items per iteration.
void run_loop(benchmark::State& bs, State* L, luna::Integer n) {
  for (auto _ : bs) {
    luna::push_value(L, -1);
    luna::push_integer(L, n);
    check(L, luna::pcall(L, 1, 0, 0));
  }
  bs.SetItemsProcessed(bs.iterations() * n);
}

void lua_loop(benchmark::State& bs, const char* src) {
  State* L = fresh_state();
  load_loop(L, src);
  run_loop(bs, L, bs.range(0));
  luna::close_state(L);
}

// ---- call/return ----
void BM_LuaCallReturn(benchmark::State& bs) {
  lua_loop(bs, R"(
    local function id(x) return x end
    return function(n) local s = 0 for i = 1, n do s = s + id(i) end return s end)");
}
BENCHMARK(BM_LuaCallReturn)->Arg(100000);

void BM_ApiCallLua(benchmark::State& bs) {
  State* L = fresh_state();
  check(L, luna::load_string(L, "return function(x) return x end"));
  check(L, luna::pcall(L, 0, 1, 0));
  luna::Integer i = 0;
  for (auto _ : bs) {
    luna::push_value(L, -1);
    luna::push_integer(L, ++i);
    luna::call(L, 1, 1);
    benchmark::DoNotOptimize(luna::to_integerx(L, -1));
    luna::pop(L, 1);
  }
  luna::close_state(L);
}
BENCHMARK(BM_ApiCallLua);

int native_add(State* L) {
  luna::push_integer(L, luna::check_integer(L, 1) + 1);
  return 1;
}
void BM_LuaCallNative(benchmark::State& bs) {
  State* L = fresh_state();
  luna::push_native_function(L, native_add);
  luna::set_global(L, "native_add");
  load_loop(L, R"(
    local f = native_add
    return function(n) local s = 0 for i = 1, n do s = s + f(i) end return s end)");
  run_loop(bs, L, bs.range(0));
  luna::close_state(L);
}
BENCHMARK(BM_LuaCallNative)->Arg(100000);

// ---- table array part ----
void BM_LuaArrayGetSet(benchmark::State& bs) {
  lua_loop(bs, R"(
    local t = {}
    for i = 1, 1024 do t[i] = i end
    return function(n)
      local s = 0
      for i = 1, n do local j = (i & 1023) + 1 t[j] = t[j] + 1 s = s + t[j] end
      return s
    end)");
}
BENCHMARK(BM_LuaArrayGetSet)->Arg(100000);

void BM_ApiArrayGetSet(benchmark::State& bs) {
  State* L = fresh_state();
  luna::create_table(L, 1024, 0);
  for (int i = 1; i <= 1024; i++) {
    luna::push_integer(L, i);
    luna::raw_set_i(L, -2, i);
  }
  luna::Integer j = 0;
  for (auto _ : bs) {
    j = (j & 1023) + 1;
    luna::raw_get_i(L, -1, j);
    luna::raw_set_i(L, -2, 1025 - j);
  }
  luna::close_state(L);
}
BENCHMARK(BM_ApiArrayGetSet);

// ---- hash part, string keys ----
void BM_LuaHashGetSet(benchmark::State& bs) {
  lua_loop(bs, R"(
    local t = {alpha = 1, beta = 2, gamma = 3, delta = 4}
    return function(n)
      for i = 1, n do
        t.alpha = t.beta + 1
        t.gamma = t.delta + t.alpha
      end
      return t.gamma
    end)");
}
BENCHMARK(BM_LuaHashGetSet)->Arg(100000);

// ---- sixteen fields of one table, some down collision chains (slot hints) ----
void BM_LuaFieldHints(benchmark::State& bs) {
  lua_loop(bs, R"(
    local t = {}
    for j = 1, 16 do t["f" .. j] = j end
    return function(n)
      local s = 0
      for i = 1, n do
        s = s + t.f1 + t.f2 + t.f3 + t.f4 + t.f5 + t.f6 + t.f7 + t.f8
          + t.f9 + t.f10 + t.f11 + t.f12 + t.f13 + t.f14 + t.f15 + t.f16
      end
      return s
    end)");
}
BENCHMARK(BM_LuaFieldHints)->Arg(100000);

// ---- globals (GETTABUP/SETTABUP on _ENV) ----
void BM_LuaGlobalGetSet(benchmark::State& bs) {
  lua_loop(bs, R"(
    g_count, g_step = 0, 3
    return function(n)
      for i = 1, n do g_count = g_count + g_step end
      return g_count
    end)");
}
BENCHMARK(BM_LuaGlobalGetSet)->Arg(100000);

// ---- method calls: SELF on an instance whose class is its __index ----
void BM_LuaMethodCall(benchmark::State& bs) {
  lua_loop(bs, R"(
    local Point = {}
    Point.__index = Point
    function Point:len2() return self.x * self.x + self.y * self.y end
    local p = setmetatable({x = 1, y = 2}, Point)
    return function(n)
      local s = 0
      for i = 1, n do s = s + p:len2() end
      return s
    end)");
}
BENCHMARK(BM_LuaMethodCall)->Arg(100000);

// ---- fields and methods found through __index chains (finish_get) ----
void BM_LuaInheritedField(benchmark::State& bs) {
  lua_loop(bs, R"(
    local Base = {scale = 2}
    Base.__index = Base
    function Base:get() return self.v end
    local Derived = setmetatable({}, Base)
    Derived.__index = Derived
    local o = setmetatable({v = 3}, Derived)
    return function(n)
      local s = 0
      for i = 1, n do
        s = s + o.scale + o:get()
        if o.missing then s = s + 1 end
      end
      return s
    end)");
}
BENCHMARK(BM_LuaInheritedField)->Arg(100000);

// ---- a numeral first in + and * (ADDI/ADDK/MULK with k) ----
void BM_LuaConstantFirst(benchmark::State& bs) {
  lua_loop(bs, R"(
    return function(n)
      local x = 0.5
      for i = 1, n do x = 1.0 + 0.25 * x end
      return x
    end)");
}
BENCHMARK(BM_LuaConstantFirst)->Arg(100000);

// ---- comparisons with nil, boolean and string constants (OP_EQK) ----
void BM_LuaEqualConstant(benchmark::State& bs) {
  lua_loop(bs, R"(
    local kinds = {"work", "device", "idle", false}
    return function(n)
      local s = 0
      for i = 1, n do
        local k = kinds[i % 4 + 1]
        if k == "work" then s = s + 1 elseif k == nil or k == false then s = s + 2 end
      end
      return s
    end)");
}
BENCHMARK(BM_LuaEqualConstant)->Arg(100000);

// ---- library functions with inline paths (fastcall.cpp) ----
void BM_LuaBuiltins(benchmark::State& bs) {
  lua_loop(bs, R"(
    local floor, abs, max, byte, sub, type = math.floor, math.abs, math.max, string.byte, string.sub, type
    local str = "hello world"
    return function(n)
      local s = 0
      for i = 1, n do
        s = s + floor(i / 3) + abs(-i) + max(i, 7) + byte(str, 3) + #sub(str, 2, 4)
        if type(s) == "number" then s = s + select("#", i, i) end
      end
      return s
    end)");
}
BENCHMARK(BM_LuaBuiltins)->Arg(100000);

void BM_LuaIpairs(benchmark::State& bs) {
  lua_loop(bs, R"(
    local t = {}
    for i = 1, 100 do t[i] = i end
    return function(n)
      local s = 0
      for _ = 1, n // 100 do for _, v in ipairs(t) do s = s + v end end
      return s
    end)");
}
BENCHMARK(BM_LuaIpairs)->Arg(100000);

// table.sort of 100 numbers with a Lua comparator and in the default order:
// the library calling back into Lua for every comparison (lib/table.cpp).
void BM_LuaSort(benchmark::State& bs) {
  lua_loop(bs, R"(
    local src, t = {}, {}
    for i = 1, 100 do src[i] = (i * 7919) % 100 + i / 1000 end
    local function desc(a, b) return a > b end
    return function(n)
      for _ = 1, n // 100 do
        for i = 1, 100 do t[i] = src[i] end
        table.sort(t, desc)
        table.sort(t)
      end
      return t[1]
    end)");
}
BENCHMARK(BM_LuaSort)->Arg(100000);

// table.sort of 100 records by a two-field comparator and of 100 strings in
// the default order (sort10: the direct order call, strings compared in place).
void BM_LuaSortRecordsStrings(benchmark::State& bs) {
  lua_loop(bs, R"(
    local recs, strs, r, s = {}, {}, {}, {}
    for i = 1, 100 do
      recs[i] = {group = (i * 7919) % 7, id = i}
      strs[i] = string.format("s%05d_%d", (i * 7919) % 1009, i)
    end
    local function by_group(a, b)
      if a.group ~= b.group then return a.group < b.group end
      return a.id > b.id
    end
    return function(n)
      for _ = 1, n // 100 do
        for i = 1, 100 do r[i] = recs[i] s[i] = strs[i] end
        table.sort(r, by_group)
        table.sort(s)
      end
      return r[1].id
    end)");
}
BENCHMARK(BM_LuaSortRecordsStrings)->Arg(100000);

// string.format with the common specs (format13): integers with width,
// zero padding and hex, %s with width, %.Nf; and %g/%e.
void BM_LuaStringFormat(benchmark::State& bs) {
  lua_loop(bs, R"(
    local fmt = string.format
    return function(n)
      local len = 0
      for i = 1, n do
        len = len + #fmt("%d:%5d|%-6s|%x", i, i % 1000, "key", i * 7)
        len = len + #fmt("%.3f %8.2f [%05d]", i / 7, i * 0.25, i % 99999)
      end
      return len
    end)");
}
BENCHMARK(BM_LuaStringFormat)->Arg(100000);

void BM_LuaStringFormatFloat(benchmark::State& bs) {
  lua_loop(bs, R"(
    local fmt = string.format
    return function(n)
      local len = 0
      for i = 1, n do len = len + #fmt("%g %.3e %+.10f", i / 3, i * 1e10 / 7, -i / 9) end
      return len
    end)");
}
BENCHMARK(BM_LuaStringFormatFloat)->Arg(100000);

void BM_ApiHashGetSet(benchmark::State& bs) {
  State* L = fresh_state();
  std::vector<std::string> keys;
  for (int i = 0; i < 64; i++) keys.push_back("key" + std::to_string(i));
  luna::new_table(L);
  for (const auto& key : keys) {
    luna::push_integer(L, 1);
    luna::set_field(L, -2, key.c_str());
  }
  size_t i = 0;
  for (auto _ : bs) {
    const char* key = keys[i++ & 63].c_str();
    luna::get_field(L, -1, key);
    luna::set_field(L, -2, key);
  }
  luna::close_state(L);
}
BENCHMARK(BM_ApiHashGetSet);

// ---- string interning ----
// Pushing a short string hashes it and looks it up in the intern table;
// half the strings already exist, half are new ones the GC must reclaim.
void BM_ApiStringIntern(benchmark::State& bs) {
  State* L = fresh_state();
  std::vector<std::string> words;
  for (int i = 0; i < 4096; i++) words.push_back("word_" + std::to_string(i * 7919));
  luna::create_table(L, 2048, 0);
  for (int i = 0; i < 2048; i++) {  // keep the even-numbered words alive
    luna::push_string(L, words[2 * i].c_str());
    luna::raw_set_i(L, -2, i + 1);
  }
  size_t i = 0;
  for (auto _ : bs) {
    const std::string& w = words[i++ & 4095];
    benchmark::DoNotOptimize(luna::push_lstring(L, w.data(), w.size()));
    luna::pop(L, 1);
  }
  luna::close_state(L);
}
BENCHMARK(BM_ApiStringIntern);

void BM_LuaStringIntern(benchmark::State& bs) {
  lua_loop(bs, R"(
    local char = string.char
    return function(n)
      local c = 0
      for i = 1, n do
        local s = char(97 + i % 26, 97 + i % 7, 97 + i % 11)
        if s == "abc" then c = c + 1 end
      end
      return c
    end)");
}
BENCHMARK(BM_LuaStringIntern)->Arg(100000);

// ---- concatenation ----
void BM_LuaConcat(benchmark::State& bs) {
  lua_loop(bs, R"(
    return function(n)
      local len = 0
      for i = 1, n do local s = "item" .. i .. ":" .. "x" len = len + #s end
      return len
    end)");
}
BENCHMARK(BM_LuaConcat)->Arg(100000);

// Two short strings that already exist joined into one that exists too
// (word_count's words): hashing, the intern lookup and the copy.
void BM_LuaConcatExisting(benchmark::State& bs) {
  lua_loop(bs, R"(
    local syl = { "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi" }
    return function(n)
      local len = 0
      for i = 1, n do local w = syl[i % 8 + 1] .. syl[i % 5 + 1] len = len + #w end
      return len
    end)");
}
BENCHMARK(BM_LuaConcatExisting)->Arg(100000);

void BM_ApiConcat(benchmark::State& bs) {
  State* L = fresh_state();
  luna::Integer i = 0;
  for (auto _ : bs) {
    luna::push_string(L, "prefix-");
    luna::push_integer(L, ++i);
    luna::push_string(L, "-suffix");
    luna::concat(L, 3);
    luna::pop(L, 1);
  }
  luna::close_state(L);
}
BENCHMARK(BM_ApiConcat);

// ---- pattern functions ----
// A JSON decoder's string scan: a bracket class skipped to, from a position.
void BM_LuaFindBracket(benchmark::State& bs) {
  lua_loop(bs, R"(
    local s = '"name": "some string value here", "other": "x\\y"'
    return function(n)
      local c = 0
      for i = 1, n do c = c + s:find('["\\]', i % 20 + 2) end
      return c
    end)");
}
BENCHMARK(BM_LuaFindBracket)->Arg(100000);

// gsub with a capture in the replacement string.
void BM_LuaGsubCapture(benchmark::State& bs) {
  lua_loop(bs, R"(
    local line = "alpha beta gamma delta epsilon zeta eta theta 12 key=42;"
    return function(n)
      local c = 0
      for i = 1, n do local s, k = line:gsub("(%a+)a%s", "%1A ") c = c + k end
      return c
    end)");
}
BENCHMARK(BM_LuaGsubCapture)->Arg(10000);

// ---- closure creation ----
void BM_LuaClosureCreation(benchmark::State& bs) {
  lua_loop(bs, R"(
    return function(n)
      local s = 0
      for i = 1, n do local f = function() return i end s = s + f() end
      return s
    end)");
}
BENCHMARK(BM_LuaClosureCreation)->Arg(100000);

// ---- a full GC cycle over N live objects ----
void BM_FullGcCycle(benchmark::State& bs) {
  State* L = fresh_state();
  const luna::Integer n = bs.range(0);
  luna::create_table(L, static_cast<int>(n), 0);
  for (luna::Integer i = 1; i <= n; i++) {
    luna::create_table(L, 0, 1);
    luna::push_integer(L, i);
    luna::set_field(L, -2, "v");
    luna::raw_set_i(L, -2, i);
  }
  for (auto _ : bs) luna::gc(L, luna::GCCOLLECT);
  bs.SetItemsProcessed(bs.iterations() * n);
  luna::close_state(L);
}
BENCHMARK(BM_FullGcCycle)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);

// Allocation churn: short-lived tables, the collector runs as debt grows.
void BM_LuaAllocChurn(benchmark::State& bs) {
  lua_loop(bs, R"(
    return function(n)
      local keep
      for i = 1, n do keep = {i, i + 1} end
      return keep[1]
    end)");
}
BENCHMARK(BM_LuaAllocChurn)->Arg(100000);

// ---- pcall overhead ----
int native_nop(State*) { return 0; }
void BM_ApiPcallNative(benchmark::State& bs) {
  State* L = fresh_state();
  for (auto _ : bs) {
    luna::push_native_function(L, native_nop);
    benchmark::DoNotOptimize(luna::pcall(L, 0, 0, 0));
  }
  luna::close_state(L);
}
BENCHMARK(BM_ApiPcallNative);

void BM_LuaPcall(benchmark::State& bs) {
  lua_loop(bs, R"(
    local pcall = pcall
    local function f(x) return x end
    return function(n) local s = 0 for i = 1, n do local _, v = pcall(f, i) s = s + v end return s end)");
}
BENCHMARK(BM_LuaPcall)->Arg(100000);

void BM_LuaPcallError(benchmark::State& bs) {
  lua_loop(bs, R"(
    local pcall, error = pcall, error
    local function f(x) error(x) end
    return function(n) local c = 0 for i = 1, n do if not pcall(f, i) then c = c + 1 end end return c end)");
}
BENCHMARK(BM_LuaPcallError)->Arg(10000);

// ---- coroutines ----
// Create, run to completion once, drop: the thread's block, its first
// CallInfo and finished stack in the block's tail, the collection of dead ones.
void BM_LuaCoroutineCreate(benchmark::State& bs) {
  lua_loop(bs, R"(
    local create, resume = coroutine.create, coroutine.resume
    local body = function(a, b) return a + b end
    return function(n)
      local s = 0
      for i = 1, n do local _, r = resume(create(body), i, 1) s = s + r end
      return s
    end)");
}
BENCHMARK(BM_LuaCoroutineCreate)->Arg(100000);

// One resume/yield round trip per iteration, a value each way.
void BM_LuaCoroutineSwitch(benchmark::State& bs) {
  lua_loop(bs, R"(
    local yield = coroutine.yield
    local co = coroutine.wrap(function(x) while true do x = yield(x + 1) end end)
    return function(n) local s = 0 for i = 1, n do s = co(i) end return s end)");
}
BENCHMARK(BM_LuaCoroutineSwitch)->Arg(100000);

}  // namespace

BENCHMARK_MAIN();
