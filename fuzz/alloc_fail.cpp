// Out of memory at any allocation: for each script, runs it once per N
// with every allocation from the Nth on failing (a single failure would be
// absorbed by the emergency collection's retry), until a run finishes
// without reaching N. After each failed run the allocator is healed and
// the state must still compile and run a small chunk, then close with
// every byte given back. The state setup itself (new_state, open_libs) is
// swept the same way first.
//
// Usage: alloc_fail [--suite DIR] [--stride K] [FILE.lua...]
// The built-in scripts always run; FILEs (relative to DIR) are added.
// --stride K tries only every Kth N (for a quick look at large files).
#include <luna/api.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

struct Control {
  uint64_t grows = 0;               // allocations and growing reallocs so far
  uint64_t fail_from = UINT64_MAX;  // this one and all later ones fail
  bool failed = false;              // some allocation was refused
  size_t live = 0;                  // bytes currently allocated
};

void* failing_alloc(void* ud, void* ptr, size_t osize, size_t nsize) {
  Control* c = static_cast<Control*>(ud);
  size_t old = ptr != nullptr ? osize : 0;  // with no block, osize is a type tag
  if (nsize == 0) {
    std::free(ptr);
    c->live -= old;
    return nullptr;
  }
  if (nsize > old && ++c->grows >= c->fail_from) {
    c->failed = true;
    return nullptr;
  }
  void* p = std::realloc(ptr, nsize);
  if (p == nullptr) return nullptr;
  c->live = c->live - old + nsize;
  return p;
}

int failures = 0;

void fail(const std::string& script, uint64_t n, const char* what, const char* detail = nullptr) {
  std::fprintf(stderr, "alloc_fail: %s, N=%llu: %s%s%s\n", script.c_str(),
               static_cast<unsigned long long>(n), what, detail ? ": " : "", detail ? detail : "");
  failures++;
}

int noop(luna::State*) { return 0; }

std::string suite_dir = ".";

// Opens the standard libraries and sets what the official suite expects
// (its flags, and require finding its helper modules). print is silenced
// so the sweep does not flood the output.
int setup(luna::State* L) {
  luna::open_libs(L);
  luna::push_native_function(L, noop);
  luna::set_global(L, "print");
  luna::get_global(L, "package");
  luna::push_string(L, (suite_dir + "/?.lua").c_str());
  luna::set_field(L, -2, "path");
  luna::pop(L, 1);
  for (const char* flag : {"_U", "_soft", "_port", "_nomsg"}) {
    luna::push_boolean(L, true);
    luna::set_global(L, flag);
  }
  return 0;
}

// The healed state must still work; returns false (after reporting) if not.
bool usable(luna::State* L, const std::string& script, uint64_t n) {
  luna::set_top(L, 0);
  // Core features only: after a failed setup the libraries may be missing.
  const char* probe = "local t = {} for i = 1, 50 do t[i] = i .. '' end return #t .. t[50]";
  if (luna::load_string(L, probe) != luna::OK || luna::pcall(L, 0, 1, 0) != luna::OK) {
    fail(script, n, "state unusable after the failure", luna::to_string(L, -1));
    return false;
  }
  if (std::strcmp(luna::to_string(L, -1), "5050") != 0) {
    fail(script, n, "state gives a wrong answer after the failure");
    return false;
  }
  luna::set_top(L, 0);
  return true;
}

void close_and_check(luna::State* L, Control& c, const std::string& script, uint64_t n) {
  luna::close_state(L);
  if (c.live != 0) {
    std::string bytes = std::to_string(c.live) + " bytes";
    fail(script, n, "memory not given back at close", bytes.c_str());
  }
}

// Sweeps the state setup; returns the number of runs.
uint64_t sweep_setup() {
  const std::string name = "<state setup>";
  uint64_t n = 1;
  for (;; n++) {
    Control c;
    c.fail_from = n;
    luna::State* L = luna::new_state(failing_alloc, &c);
    if (L == nullptr) {
      if (c.live != 0) fail(name, n, "new_state failed and leaked");
      continue;
    }
    luna::push_native_function(L, setup);
    int st = luna::pcall(L, 0, 0, 0);
    bool hit = c.failed;
    c.fail_from = UINT64_MAX;
    if (!hit && st != luna::OK) fail(name, n, "setup failed without an injected failure", luna::to_string(L, -1));
    if (hit && st != luna::ERRMEM) fail(name, n, "expected a memory error", luna::to_string(L, -1));
    usable(L, name, n);
    close_and_check(L, c, name, n);
    if (!hit) return n;
  }
}

// Sweeps one script; returns the number of runs, or 0 if it does not run
// cleanly even without failures.
uint64_t sweep_script(const std::string& name, const std::string& text, uint64_t stride) {
  uint64_t runs = 0;
  for (uint64_t n = 1;; n += stride) {
    Control c;
    luna::State* L = luna::new_state(failing_alloc, &c);
    if (L == nullptr) {
      fail(name, n, "new_state failed with no injected failure");
      return runs;
    }
    luna::push_native_function(L, setup);
    if (luna::pcall(L, 0, 0, 0) != luna::OK) {
      fail(name, n, "setup failed with no injected failure");
      luna::close_state(L);
      return runs;
    }
    c.fail_from = c.grows + n;
    std::string chunkname = "@" + name;
    int st = luna::load_bufferx(L, text.data(), text.size(), chunkname.c_str(), "t");
    if (st == luna::OK) st = luna::pcall(L, 0, 0, 0);
    bool hit = c.failed;
    c.fail_from = UINT64_MAX;
    runs++;
    if (!hit && st != luna::OK) {
      fail(name, n, "script fails without an injected failure", luna::to_string(L, -1));
      luna::close_state(L);
      return 0;
    }
    usable(L, name, n);
    close_and_check(L, c, name, n);
    if (!hit) return runs;
  }
}

// luna's own snippets: each exercises allocation in a different part of the
// core (compiler, closures and upvalues, coroutines, tables, strings,
// metamethods and finalizers, to-be-closed variables, errors, dumps).
const char* const builtin[][2] = {
    {"compile", R"lua(
      local src = {}
      for i = 1, 40 do src[#src + 1] = ("local v%d = %d * 2 + (v%d or 0)"):format(i, i, i - 1) end
      src[#src + 1] = "return function(a, ...) local t = {a, ...} return #t, v40 end"
      local f = assert(load(table.concat(src, "\n")))
      local g = f()
      assert(select(2, g(1, 2, 3)) > 0)
      assert(not load("x = = 1"))
      assert(not load(("("):rep(300) .. "1" .. (")"):rep(300)))
    )lua"},
    {"closures", R"lua(
      local function counter()
        local n = 0
        return function() n = n + 1 return n end
      end
      local cs = {}
      for i = 1, 20 do cs[i] = counter() end
      for i = 1, 20 do for _ = 1, i do cs[i]() end end
      assert(cs[20]() == 21)
      local acc = {}
      for i = 1, 10 do acc[i] = function() return i end end
      assert(acc[7]() == 7)
    )lua"},
    {"coroutines", R"lua(
      local function gen(n)
        return coroutine.wrap(function()
          for i = 1, n do coroutine.yield(i) end
        end)
      end
      local s = 0
      for v in gen(30) do s = s + v end
      assert(s == 465)
      local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) error({b}) end)
      assert(select(2, coroutine.resume(co, 1)) == 2)
      local ok, e = coroutine.resume(co, 5)
      assert(not ok and e[1] == 5)
      local c2 = coroutine.create(function() coroutine.yield() end)
      coroutine.resume(c2)
      assert(coroutine.close(c2))
    )lua"},
    {"tables", R"lua(
      local t = {}
      for i = 1, 300 do t[i] = i end
      for i = 1, 300 do t["k" .. i] = i end
      for i = 1, 300, 2 do t[i] = nil end
      local n = 0
      for k, v in pairs(t) do n = n + 1 end
      assert(n == 450)
      local arr = {}
      for i = 1, 100 do arr[i] = (i * 37) % 101 end
      table.sort(arr, function(a, b) return a > b end)
      assert(arr[1] == 100)
      local u = table.move({1, 2, 3}, 1, 3, 2, {})
      assert(table.concat(u, ",", 2, 4) == "1,2,3")
      local w = setmetatable({}, {__mode = "k"})
      for i = 1, 50 do w[{}] = i end
      collectgarbage()
      assert(table.unpack({1, 2, 3}, 2) == 2)
    )lua"},
    {"strings", R"lua(
      local parts = {}
      for i = 1, 100 do parts[i] = string.format("%5d:%-8s|%g|%q", i, ("x"):rep(i % 7), i / 3, "a\0b") end
      local s = table.concat(parts, "\n")
      assert(#s > 1000)
      local n = 0
      for w in s:gmatch("%d+") do n = n + 1 end
      assert(n > 100)
      local r = s:gsub("(%d)(%d)", "%2%1"):gsub("x+", function(x) return #x end)
      assert(s:find("50:", 1, true))
      assert(("hello world"):match("^(%w+) (%w+)$") == "hello")
      local p = string.pack("<i4 s2 z d", 7, "abc", "zz", 1.5)
      assert(select(4, string.unpack("<i4 s2 z d", p)) == 1.5)
      assert(utf8.char(72, 228, 8364, 128512):len() == 10)
      assert(tostring(12):rep(3, ",") == "12,12,12")
    )lua"},
    {"metamethods", R"lua(
      local mt = {__index = function(t, k) return k * 2 end,
                  __add = function(a, b) return setmetatable({v = a.v + b.v}, getmetatable(a)) end,
                  __concat = function(a, b) return "cat" end,
                  __gc = function(o) _G.collected = (_G.collected or 0) + 1 end,
                  __close = function() end,
                  __tostring = function(o) return "obj" .. tostring(o.v) end}
      local objs = {}
      for i = 1, 40 do objs[i] = setmetatable({v = i}, mt) end
      local sum = objs[1]
      for i = 2, 40 do sum = sum + objs[i] end
      assert(sum.v == 820 and objs[1][21] == 42)
      assert(tostring(sum) == "obj820" and (objs[1] .. objs[2]) == "cat")
      do local c <close> = objs[3] end
      objs = nil
      collectgarbage()
    )lua"},
    {"errors", R"lua(
      local function thrower(n) if n == 0 then error({code = 1}) end return thrower(n - 1) end
      for i = 1, 20 do
        local ok, e = pcall(thrower, i)
        assert(not ok and e.code == 1)
      end
      local ok, msg = xpcall(function() local x = nil; return x.y end, debug.traceback)
      assert(not ok and msg:find("traceback"))
      local ok2, e2 = pcall(error, setmetatable({}, {__tostring = function() return "E" end}))
      assert(not ok2 and tostring(e2) == "E")
      local function rec(n) if n == 0 then error("deep") end return 1 + rec(n - 1) end
      assert(not pcall(rec, 150))
    )lua"},
    {"dump-load", R"lua(
      local function f(a, b) local s = 0 for i = a, b do s = s + i end return s, "k", 1.5 end
      for _, strip in ipairs({false, true}) do
        local g = assert(load(string.dump(f, strip), "d", "b"))
        assert(g(1, 10) == 55)
      end
      local env = {x = 3}
      local h = assert(load("return x", "e", "t", env))
      assert(h() == 3)
      assert(not load("\27Lua garbage", "g", "b"))
    )lua"},
};

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t stride = 1;
  std::vector<std::pair<std::string, std::string>> scripts;
  for (const auto& b : builtin) scripts.emplace_back(b[0], b[1]);
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--suite" && i + 1 < argc) {
      suite_dir = argv[++i];
    } else if (a == "--stride" && i + 1 < argc) {
      stride = std::strtoull(argv[++i], nullptr, 10);
      if (stride == 0) stride = 1;
    } else {
      std::string text;
      if (!read_file(suite_dir + "/" + a, text)) {
        std::fprintf(stderr, "alloc_fail: cannot read %s/%s\n", suite_dir.c_str(), a.c_str());
        return 1;
      }
      scripts.emplace_back(a, text);
    }
  }
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  std::printf("%-24s %8llu runs\n", "<state setup>", static_cast<unsigned long long>(sweep_setup()));
  std::fflush(stdout);
  for (const auto& [name, text] : scripts) {
    auto t = clock::now();
    uint64_t runs = sweep_script(name, text, stride);
    double secs = std::chrono::duration<double>(clock::now() - t).count();
    if (runs == 0) fail(name, 0, "script does not run cleanly");
    std::printf("%-24s %8llu runs %7.1fs\n", name.c_str(), static_cast<unsigned long long>(runs), secs);
    std::fflush(stdout);
  }
  double total = std::chrono::duration<double>(clock::now() - t0).count();
  std::printf("alloc_fail: %d problem(s), %.1fs\n", failures, total);
  return failures == 0 ? 0 : 1;
}
