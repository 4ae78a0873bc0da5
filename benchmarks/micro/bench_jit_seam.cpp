// What the JIT seam costs the interpreter. With NullJitBackend installed
// (the default) the dispatcher tests one flag per loop back-edge and never
// touches Proto::hotcount; with any other backend it counts every back-edge
// and function entry. CountingBackend never compiles and never fires (its
// threshold is UINT32_MAX), so the difference between the two runs of the
// same loop is the price of counting alone.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "luna/api.hpp"
#include "luna/jit_backend.hpp"
#include "state.hpp"

namespace {

using luna::State;

class CountingBackend final : public luna::JitBackend {
 public:
  uint32_t hot_threshold() const override { return UINT32_MAX; }
  void on_hot_loop(State*, luna::Proto*, const uint32_t*) override {}
  void on_hot_call(State*, luna::Proto*) override {}
  void on_proto_free(luna::Proto*) override {}
};

const char* const kLoops = R"(
  local function inner(k) local s = 0 for j = 1, k do s = s + j end return s end
  return function(n)
    local t = 0
    for i = 1, n do t = t + inner(8) end
    local w = 0
    while w < n do w = w + 1 end
    return t + w
  end)";

void run(benchmark::State& bs, bool counting) {
  static CountingBackend backend;
  State* L = luna::new_state();
  luna::open_libs(L);
  if (counting) L->g->jit = &backend;
  if (luna::load_string(L, kLoops) != luna::OK || luna::pcall(L, 0, 1, 0) != luna::OK) {
    std::fprintf(stderr, "bench_jit_seam: %s\n", luna::to_string(L, -1));
    std::abort();
  }
  const luna::Integer n = bs.range(0);
  for (auto _ : bs) {
    luna::push_value(L, -1);
    luna::push_integer(L, n);
    luna::call(L, 1, 1);
    luna::pop(L, 1);
  }
  // Each outer iteration runs 9 back-edges in inner, 1 in the for loop and
  // 1 in the while loop.
  bs.SetItemsProcessed(bs.iterations() * n * 11);
  L->g->jit = &luna::NullJitBackend::instance();
  luna::close_state(L);
}

void BM_SeamNullBackend(benchmark::State& bs) { run(bs, false); }
void BM_SeamCountingBackend(benchmark::State& bs) { run(bs, true); }
BENCHMARK(BM_SeamNullBackend)->Arg(100000);
BENCHMARK(BM_SeamCountingBackend)->Arg(100000);

}  // namespace

BENCHMARK_MAIN();
