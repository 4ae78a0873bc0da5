// The cost of SendVm's lock: the same host call on a Vm and on a SendVm
// (uncontended). The difference is the locking overhead; target < 50 ns.
#include <benchmark/benchmark.h>

#include "luna/send_vm.hpp"
#include "luna/vm.hpp"

namespace {

// A Lua function called from C++: one protected call into the VM.
void BM_Vm_call(benchmark::State& state) {
  luna::Vm vm;
  luna::Value f = vm.eval("return function(x) return x + 1 end")[0];
  for (auto _ : state) benchmark::DoNotOptimize(f.call(1));
}
BENCHMARK(BM_Vm_call);

void BM_SendVm_call(benchmark::State& state) {
  luna::SendVm vm;
  luna::Value f = vm.eval("return function(x) return x + 1 end")[0];
  for (auto _ : state) benchmark::DoNotOptimize(vm.call(f, 1));
}
BENCHMARK(BM_SendVm_call);

// A global read: the smallest host operation.
void BM_Vm_get_global(benchmark::State& state) {
  luna::Vm vm;
  vm.set_global("x", 1);
  for (auto _ : state) benchmark::DoNotOptimize(vm.get_global("x"));
}
BENCHMARK(BM_Vm_get_global);

void BM_SendVm_get_global(benchmark::State& state) {
  luna::SendVm vm;
  vm.set_global("x", 1);
  for (auto _ : state) benchmark::DoNotOptimize(vm.get_global("x"));
}
BENCHMARK(BM_SendVm_get_global);

}  // namespace

BENCHMARK_MAIN();
