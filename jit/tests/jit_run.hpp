// What the whole-program JIT tests compare: a chunk run through luna::Vm in
// one JIT mode, its first result as text (or the error it raised) and the
// JIT's statistics.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdio>
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

// The -jdump text of src run with low thresholds (stderr, captured), one
// string per trace.
inline std::vector<std::string> traces_of(const std::string& src) {
  std::fflush(stderr);
  FILE* tmp = std::tmpfile();
  REQUIRE(tmp != nullptr);
  int saved = dup(2);
  dup2(fileno(tmp), 2);
  {
    Vm vm;
    JitOptions o = JitOptions::stress();
    o.hotloop = 8;
    o.hotexit = 2;
    o.dump = true;
    vm.set_jit_options(o);
    vm.eval(src, "=rec");
  }
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::string text;
  std::rewind(tmp);
  for (int c; (c = std::fgetc(tmp)) != EOF;) text += static_cast<char>(c);
  std::fclose(tmp);
  std::vector<std::string> traces;
  for (size_t at = text.find("[TRACE"); at != std::string::npos;) {
    size_t next = text.find("[TRACE", at + 1);
    traces.push_back(text.substr(at, next - at));
    at = next;
  }
  return traces;
}

// How often `what` occurs in s.
inline int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) n++;
  return n;
}

}  // namespace luna::jit_test
