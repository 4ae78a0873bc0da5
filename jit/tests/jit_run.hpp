// What the whole-program JIT tests compare: a chunk run through luna::Vm in
// one JIT mode, its first result as text (or the error it raised) and the
// JIT's statistics.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "luna/vm.hpp"

namespace luna::jit_test {

enum class Mode {
  off,     // the interpreter alone
  low,     // stress mode with low thresholds (loops after 8 iterations, exits after 2)
  stress,  // every loop recorded at once, every exit traced at once
};

struct Run {
  std::string out;
  JitStats stats;
};

inline Run run(const std::string& src, Mode mode, const char* chunkname, size_t memlimit = 0) {
  Vm vm;
  if (mode == Mode::off) {
    vm.set_jit(false);
  } else {
    JitOptions o = JitOptions::stress();
    if (mode == Mode::low) {
      o.hotloop = 8;
      o.hotexit = 2;
    }
    vm.set_jit_options(o);
  }
  if (memlimit != 0) vm.set_memory_limit(memlimit);
  Run r;
  try {
    std::vector<Value> v = vm.eval(src, chunkname);
    r.out = v.empty() ? "" : v[0].as_string();
  } catch (const LuaError& e) {
    r.out = std::string("error: ") + e.what();
  }
  r.stats = vm.jit_stats();
  return r;
}

// Runs src with the JIT off, with low thresholds and in stress mode; checks
// that all three gave the same output and returns the low-threshold run.
inline Run same_all_ways(const std::string& src, const char* chunkname) {
  Run off = run(src, Mode::off, chunkname);
  Run low = run(src, Mode::low, chunkname);
  Run stress = run(src, Mode::stress, chunkname);
  INFO(off.out);
  CHECK(low.out == off.out);
  CHECK(stress.out == off.out);
  return low;
}

}  // namespace luna::jit_test
