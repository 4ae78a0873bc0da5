// SendVm from many threads: shared copies, one VM per thread, values used
// and released on threads other than the VM's creator.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "luna/send_vm.hpp"
#include "luna/userdata.hpp"
#include "luna/vm.hpp"

using luna::SendVm;
using luna::Value;

namespace {

#ifdef __SANITIZE_ADDRESS__
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
constexpr int kThreads = 8;
constexpr int kIncrements = 2000;
}  // namespace

TEST_CASE("send: 8 threads share one SendVm without lost updates", "[send]") {
  SendVm vm;
  vm.eval("counter = 0");
  long long native_counter = 0;  // guarded by the VM lock: only touched from a bound function
  vm.set_function("bump_native", [&native_counter] { native_counter++; });
  Value tbl = vm.eval("shared = {n = 0} return shared")[0];
  std::vector<std::thread> threads;
  // Catch2 assertions are not thread-safe: workers count, the main thread checks.
  std::atomic<int> values_ok{0};
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([copy = vm, tbl, &values_ok] {
      for (int i = 0; i < kIncrements; i++) {
        copy.eval("counter = counter + 1 bump_native()");
        copy.with_vm([&](luna::BasicVm& inner) { inner.eval("shared.n = shared.n + 1"); });
      }
      // Values made and dropped on this thread.
      Value mine = copy.eval("return {1, 2, 3}")[0];
      if (mine.length() == 3 && tbl.get("n").as_integer() > 0) values_ok++;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(values_ok == kThreads);
  CHECK(vm.get_global("counter").as_integer() == kThreads * kIncrements);
  CHECK(tbl.get("n").as_integer() == kThreads * kIncrements);
  CHECK(vm.with_vm([&](luna::BasicVm&) { return native_counter; }) == kThreads * kIncrements);
}

TEST_CASE("send: 8 threads each with their own SendVm", "[send]") {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&ok, t] {
      SendVm vm;
      vm.set_global("id", t);
      vm.eval("counter = 0");
      for (int i = 0; i < kIncrements; i++) vm.eval("counter = counter + 1");
      if (vm.get_global("counter").as_integer() == kIncrements && vm.get_global("id").as_integer() == t) ok++;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok == kThreads);
}

TEST_CASE("send: a SendVm made on one thread is used from another", "[send]") {
  SendVm vm;
  Value f = vm.eval("return function(a, b) return a .. b end")[0];
  std::string out;
  std::thread([moved = std::move(vm), f, &out] {
    out = moved.call(f, "x", 1)[0].as_string();
    moved.set_function("twice", [](int x) { return 2 * x; });
    out += std::to_string(moved.eval("return twice(21)")[0].as_integer());
  }).join();
  CHECK(out == "x142");
}

TEST_CASE("send: from_vm adopts a Vm; with_vm batches", "[send]") {
  luna::Vm plain(luna::LibSet::base);
  plain.set_global("x", 5);
  SendVm vm = SendVm::from_vm(std::move(plain));
  CHECK(vm.version() == luna::LuaVersion::Lua54);
  int r = 0;
  std::thread([&] {
    r = static_cast<int>(vm.with_vm([](luna::BasicVm& inner) {
      inner.eval("x = x + 1");
      return inner.get_global("x").as_integer();
    }));
  }).join();
  CHECK(r == 6);
  CHECK(vm.get_global("string").is_nil());  // only base was opened
  vm.open_string();
  CHECK(vm.eval("return ('a'):rep(2)")[0].as_string() == "aa");
  // The adopted Vm's JIT is gone: the jit library reports off, no statistics.
  vm.open_libs(luna::LibSet::jit);
  CHECK(vm.eval("local s = 0 for i = 1, 1000 do s = s + i end return jit.status(), s")[0].as_boolean() == false);
  luna::JitStats st = vm.jit_stats();
  CHECK(st.traces_compiled + st.traces_aborted + st.exits_taken + st.entries == 0);
}

TEST_CASE("send: errors, limits and values released on other threads", "[send]") {
  SendVm vm;
  std::vector<Value> values;
  for (int i = 0; i < 100; i++) values.push_back(vm.eval("return {}")[0]);
  std::thread([vs = std::move(values)]() mutable { vs.clear(); }).join();
  std::string msg;
  std::thread([&] {
    try {
      vm.eval("error('from a worker')");
    } catch (const luna::LuaError& e) {
      msg = e.what();
    }
  }).join();
  CHECK(msg == "eval:1: from a worker");
  vm.set_instruction_limit(10000);
  CHECK_THROWS_WITH(vm.eval("while true do end"), Catch::Contains("instruction budget exhausted"));
  vm.set_instruction_limit(0);
  CHECK(vm.eval("return 1")[0].as_integer() == 1);
}

TEST_CASE("send: budget and time limit hold on every thread", "[send]") {
  SendVm vm;
  vm.set_instruction_limit(20000);
  vm.set_function("run", [](SendVm& self, std::string code) { return self.eval(code)[0]; });
  // pcall catches the exhaustion once; every further step fails again, on
  // whichever thread runs the script, and the next call starts afresh.
  std::vector<std::thread> threads;
  std::atomic<int> stopped{0};
  for (int t = 0; t < 4; t++)
    threads.emplace_back([vm, &stopped] {
      for (int i = 0; i < 5; i++) {
        try {
          vm.eval("pcall(function() while true do end end) local t = {} for i = 1, 100 do t[i] = i end "
                  "table.sort(t, function(a, b) return a > b end) return 'finished'");
        } catch (const luna::LuaError& e) {
          if (std::string(e.what()).find("instruction budget exhausted") != std::string::npos) stopped++;
        }
        if (vm.eval("return run('return 6 * 7')")[0].as_integer() != 42) stopped = -1000;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(stopped == 20);
  vm.set_instruction_limit(0);

  vm.set_time_limit(std::chrono::milliseconds(50));
  std::atomic<int> timed_out{0};
  threads.clear();
  auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < 4; t++)
    threads.emplace_back([vm, &timed_out] {
      try {
        vm.eval("pcall(function() while true do end end) local s = ('x'):rep(1e6) while true do s = s:upper():lower() end");
      } catch (const luna::LuaError& e) {
        if (std::string(e.what()).find("time limit exceeded") != std::string::npos) timed_out++;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(timed_out == 4);
  // Four calls of about 50 ms each, one after another under the lock.
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 10.0);
  vm.set_time_limit(std::chrono::milliseconds(0));
  CHECK(vm.eval("return 1")[0].as_integer() == 1);
}

TEST_CASE("send: coroutines suspended on one thread are resumed on others", "[send]") {
  SendVm vm;
  // Each coroutine of `cos` yields from inside a pcall and a metamethod, so
  // its suspended state spans several frames when another thread resumes
  // it; those of `direct` yield from their body, where the yield returns to
  // the resume instead of jumping.
  vm.eval(R"(
    total, direct_total = 0, 0
    direct = {}
    for i = 1, 16 do
      direct[i] = coroutine.create(function(n)
        while true do n = n + coroutine.yield(n); direct_total = direct_total + 1 end
      end)
    end
    local mt = {__index = function(t, k) coroutine.yield() return k end}
    cos = {}
    for i = 1, 16 do
      cos[i] = coroutine.wrap(function()
        local proxy = setmetatable({}, mt)
        while true do
          local ok, v = pcall(function() return proxy[1] end)
          assert(ok and v == 1)
          total = total + 1
        end
      end)
    end
  )");
  constexpr int kRounds = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([copy = vm] {
      for (int i = 0; i < kRounds; i++)
        copy.eval("for i = 1, #cos do cos[i]() assert(coroutine.resume(direct[i], 1)) end");
    });
  }
  for (auto& th : threads) th.join();
  // Every resume after the first completes one turn of a coroutine's loop.
  CHECK(vm.get_global("total").as_integer() == 16 * (kThreads * kRounds - 1));
  CHECK(vm.get_global("direct_total").as_integer() == 16 * (kThreads * kRounds - 1));
}

TEST_CASE("send: a moved-from SendVm throws LuaError", "[send]") {
  SendVm a;
  SendVm b = std::move(a);
  CHECK_THROWS_WITH(a.eval("return 1"), Catch::Contains("moved-from luna::SendVm"));
  CHECK_THROWS_WITH(a.with_vm([](luna::BasicVm&) { return 0; }), Catch::Contains("moved-from"));
  CHECK_THROWS_WITH(a.set_function("f", [] {}), Catch::Contains("moved-from"));
  CHECK_THROWS_WITH(a.get_global("x"), Catch::Contains("moved-from"));
  CHECK(b.eval("return 1")[0].as_integer() == 1);
  SendVm c;
  c = std::move(b);
  CHECK_THROWS_WITH(b.new_table(), Catch::Contains("moved-from"));
  CHECK(c.eval("return 2")[0].as_integer() == 2);
  a = c;  // assigning revives the handle
  CHECK(a.eval("return 3")[0].as_integer() == 3);
}

TEST_CASE("send: any C++ exception from a host function, on any thread", "[send]") {
  SendVm vm;
  vm.set_function("throw_int", []() -> int { throw 42; });
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([vm, &ok] {
      int n = 0;
      for (int i = 0; i < 500; i++) {
        try {
          vm.eval("throw_int()");
        } catch (const luna::LuaError& e) {
          if (std::string(e.what()) == "C++ exception of type int") n++;
        }
      }
      if (n == 500 && vm.eval("return select(2, pcall(throw_int))")[0].as_string() == "C++ exception of type int") ok++;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok == 4);
  CHECK(vm.eval("return 1")[0].as_integer() == 1);
}

struct Counter {
  static std::atomic<int> live;
  int n = 0;
  Counter() { live++; }
  Counter(const Counter& o) : n(o.n) { live++; }
  ~Counter() { live--; }
};
std::atomic<int> Counter::live{0};

namespace {
long rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}
}  // namespace

TEST_CASE("send: host functions capturing their own SendVm do not keep it alive", "[send]") {
  Counter::live = 0;
  auto round = [] {
    SendVm vm(luna::LibSet::base);
    luna::LuaUserdata<Counter>(vm, "Counter");
    vm.set_userdata("c", Counter{});
    Value t = vm.eval("return {1, 2}")[0];
    vm.set_function("f", [vm, t](int x) { return vm.eval("return 1")[0].as_integer() + t.length() + x; });
    CHECK(vm.eval("return f(1)")[0].as_integer() == 4);
  };
  for (int i = 0; i < 200; i++) round();
  long rss = rss_kb();
  std::thread([&] {
    for (int i = 0; i < 1800; i++) round();
  }).join();
  CHECK(Counter::live == 0);
  if (!kAddressSanitizer) CHECK(rss_kb() - rss < 8 * 1024);  // ASan's quarantine keeps freed blocks resident

  // A captured copy that escapes is dead once its VM is gone.
  std::optional<SendVm> escaped;
  {
    SendVm vm;
    vm.set_function("leak", [vm, &escaped] { escaped = vm; });
    vm.eval("leak()");
    CHECK(escaped->eval("return 5")[0].as_integer() == 5);
  }
  CHECK_THROWS_WITH(escaped->eval("return 1"), Catch::Contains("VM is closed"));
  // While a Value keeps the VM alive, a captured copy still works.
  Value f;
  {
    SendVm vm;
    vm.set_global("x", 3);
    f = vm.make_function([vm] { return vm.get_global("x").as_integer(); });
  }
  CHECK(f.call()[0].as_integer() == 3);
  // A copy held outside owns the VM as before.
  std::optional<SendVm> outside;
  {
    SendVm vm;
    outside = vm;
    vm.set_global("x", 9);
  }
  CHECK(outside->get_global("x").as_integer() == 9);
}

TEST_CASE("send: the SendVm API surface", "[send]") {
  SendVm vm(luna::LuaVersion::Lua54);
  SendVm base(luna::LuaVersion::Lua54, luna::LibSet::base);
  CHECK(base.get_global("string").is_nil());
  CHECK_THROWS_WITH(SendVm(static_cast<luna::LuaVersion>(3)), Catch::Contains("not available"));
  for (luna::LuaVersion v : {luna::LuaVersion::Lua53, luna::LuaVersion::Lua55}) {
    SendVm other(v, luna::LibSet::base);
    CHECK(other.version() == v);
    CHECK(other.eval("return _VERSION")[0].as_string() == luna::version_name(v));
  }

  // Host functions taking the calling SendVm, called from many threads.
  vm.set_function("run", [](SendVm& self, std::string code) { self.eval(code); });
  vm.eval("n = 0");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++)
    threads.emplace_back([vm] {
      for (int i = 0; i < 200; i++) vm.eval("run('n = n + 1')");
    });
  for (auto& th : threads) th.join();
  CHECK(vm.get_global("n").as_integer() == 800);

  CHECK(vm.eval_with("local a, b = ... return a * b", 6, 7)[0].as_integer() == 42);

  luna::LuaUserdata<Counter>(vm, "Counter").property("n", &Counter::n);
  Counter c;
  c.n = 11;
  vm.set_userdata("counter", c);
  CHECK(vm.eval("return counter.n")[0].as_integer() == 11);

  // Pins made on one thread, read and released on another.
  luna::PinHandle h = vm.pin(vm.eval("return {tag = 'p'}")[0]);
  std::string tag;
  std::thread([vm, h, &tag] {
    tag = vm.pinned(h).get("tag").as_string();
    vm.unpin(h);
  }).join();
  CHECK(tag == "p");
  CHECK_THROWS_WITH(vm.pinned(h), Catch::Contains("unknown pin handle"));
  CHECK_THROWS_WITH(base.unpin(vm.pin(Value(1))), Catch::Contains("unknown pin handle"));
}
