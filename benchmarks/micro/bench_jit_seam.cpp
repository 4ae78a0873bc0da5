// What the JIT seam costs the interpreter. With no backend (the default)
// the dispatcher tests one flag per loop back-edge; with a backend it
// decrements the loop's hot counter inline and checks for an attached
// trace. CountingBackend never records or compiles, so the difference
// between the two runs of the same loop is the price of counting alone.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "luna/api.hpp"
#include "jit_seam.hpp"
#include "state.hpp"

namespace {

using luna::State;

class CountingBackend final : public luna::JitBackend {
 public:
  void on_hot_loop(State*, luna::CallInfo*, const luna::Instruction*) noexcept override {}
  bool record(State*, luna::CallInfo*, const luna::Instruction*) noexcept override { return true; }
  void mark(luna::JitMarker&) noexcept override {}
  void on_proto_free(State*, luna::Proto*) noexcept override {}
  void flush(State*) noexcept override {}
  luna::JitStats stats() const noexcept override { return {}; }
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
  State* L = luna::new_state();
  luna::open_libs(L);
  if (counting) luna::set_jit_backend(L, std::make_unique<CountingBackend>());
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
  luna::close_state(L);
}

void BM_SeamNullBackend(benchmark::State& bs) { run(bs, false); }
void BM_SeamCountingBackend(benchmark::State& bs) { run(bs, true); }
BENCHMARK(BM_SeamNullBackend)->Arg(100000);
BENCHMARK(BM_SeamCountingBackend)->Arg(100000);

}  // namespace

BENCHMARK_MAIN();
