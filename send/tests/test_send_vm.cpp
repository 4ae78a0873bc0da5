// SendVm from many threads: shared copies, one VM per thread, values used
// and released on threads other than the VM's creator.
#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "luna/send_vm.hpp"
#include "luna/vm.hpp"

using luna::SendVm;
using luna::Value;

namespace {
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

TEST_CASE("send: coroutines suspended on one thread are resumed on others", "[send]") {
  SendVm vm;
  // Each coroutine yields from inside a pcall and a metamethod, so its
  // suspended state spans several frames when another thread resumes it.
  vm.eval(R"(
    total = 0
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
      for (int i = 0; i < kRounds; i++) copy.eval("for i = 1, #cos do cos[i]() end");
    });
  }
  for (auto& th : threads) th.join();
  // Every resume after the first completes one turn of a coroutine's loop.
  CHECK(vm.get_global("total").as_integer() == 16 * (kThreads * kRounds - 1));
}
