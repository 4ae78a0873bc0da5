// Google Benchmark cases for the C++ embedding API (luna::Vm, luna::Value):
// the cost of one host call through the protected-run machinery, including
// the thread-confinement check every Vm call makes.
#include <benchmark/benchmark.h>

#include <thread>

#include "luna/vm.hpp"

namespace {

// The confinement check alone: what every Vm call adds.
void BM_ThreadCheck(benchmark::State& bs) {
  std::thread::id owner = std::this_thread::get_id();
  for (auto _ : bs) {
    benchmark::DoNotOptimize(std::this_thread::get_id() != owner);
  }
}
BENCHMARK(BM_ThreadCheck);

void BM_VmGetGlobal(benchmark::State& bs) {
  luna::Vm vm(luna::LibSet::base);
  vm.eval("n = 42");
  for (auto _ : bs) benchmark::DoNotOptimize(vm.get_global("n"));
}
BENCHMARK(BM_VmGetGlobal);

void BM_ValueGet(benchmark::State& bs) {
  luna::Vm vm(luna::LibSet::base);
  luna::Value t = vm.eval("return {1, 2, 3}")[0];
  for (auto _ : bs) benchmark::DoNotOptimize(t.get(2));
}
BENCHMARK(BM_ValueGet);

void BM_ValueCall(benchmark::State& bs) {
  luna::Vm vm(luna::LibSet::base);
  luna::Value f = vm.eval("return function(x) return x end")[0];
  for (auto _ : bs) benchmark::DoNotOptimize(f.call(1));
}
BENCHMARK(BM_ValueCall);

}  // namespace

BENCHMARK_MAIN();
