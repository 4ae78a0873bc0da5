// Shared pieces of the fuzz harnesses. Each harness defines
// LLVMFuzzerTestOneInput; it is linked either with libFuzzer (a fuzzing
// build) or with replay_main.cpp (a plain regression test replaying the
// seed corpus and the regressions). Only the public stack API is used, as
// an embedder would.
#pragma once

#include <luna/api.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace luna_fuzz {

// Per-input limits: small enough that one input runs in milliseconds and
// that a runaway script hits a Lua error long before libFuzzer's own
// timeout or RSS limit.
constexpr size_t MEMORY_LIMIT = 64u << 20;
constexpr uint64_t INSTRUCTION_BUDGET = 200000;

inline int silent_print(luna::State*) { return 0; }

// A state with only the libraries that cannot reach the host: no io, os,
// package or debug (the debug library can break any invariant an embedder
// relies on), no dofile/loadfile, and a print that prints nothing.
inline luna::State* open_sandbox() {
  luna::State* L = luna::new_state();
  if (L == nullptr) return nullptr;
  luna::set_memory_limit(L, MEMORY_LIMIT);
  const luna::Reg libs[] = {
      {"_G", luna::open_base},         {"coroutine", luna::open_coroutine},
      {"table", luna::open_table},     {"string", luna::open_string},
      {"utf8", luna::open_utf8},       {"math", luna::open_math},
  };
  for (const luna::Reg& lib : libs) {
    luna::requiref(L, lib.name, lib.func, true);
    luna::pop(L, 1);
  }
  for (const char* name : {"dofile", "loadfile"}) {
    luna::push_nil(L);
    luna::set_global(L, name);
  }
  luna::push_native_function(L, silent_print);
  luna::set_global(L, "print");
  return L;
}

// With LUNA_FUZZ_VERBOSE set, reports each outcome on stderr (to see what
// a corpus exercises); silent otherwise.
inline void note(luna::State* L, const char* what, int status) {
  static const bool verbose = std::getenv("LUNA_FUZZ_VERBOSE") != nullptr;
  if (!verbose) return;
  const char* msg = status == luna::OK ? "ok" : luna::to_string(L, -1);
  std::fprintf(stderr, "  %s: %d %s\n", what, status, msg ? msg : "(error object)");
}

// load_bufferx, noted.
inline int load(luna::State* L, const char* data, size_t size, const char* name, const char* mode) {
  int status = luna::load_bufferx(L, data, size, name, mode);
  note(L, "load", status);
  return status;
}

// Calls the function on top of the stack with a fresh instruction budget;
// returns the pcall status. Leaves the stack as it was below the function.
inline int run_limited(luna::State* L) {
  int base = luna::get_top(L) - 1;
  luna::set_instruction_budget(L, INSTRUCTION_BUDGET);
  int status = luna::pcall(L, 0, luna::MULTRET, 0);
  luna::set_instruction_budget(L, 0);
  note(L, "run", status);
  luna::set_top(L, base);
  return status;
}

// Writer for luna::dump into a std::string.
inline int string_writer(luna::State*, const void* p, size_t sz, void* ud) {
  static_cast<std::string*>(ud)->append(static_cast<const char*>(p), sz);
  return 0;
}

// A property that must hold for every input failed: report and abort, so
// that libFuzzer records the input and the replay test fails.
[[noreturn]] inline void violated(const char* what, const char* detail) {
  std::fprintf(stderr, "fuzz oracle violated: %s: %s\n", what, detail ? detail : "");
  std::abort();
}

// Checks that the state still works after whatever the input did: it can
// compile and run a small chunk and get the expected answer. The memory
// limit is lifted first: the input may legitimately keep most of it alive.
inline void check_usable(luna::State* L) {
  luna::set_memory_limit(L, 0);
  // Finalizers the input left are Lua code too: they run under a budget
  // (a __gc that loops forever would hang here), before the probe gets a
  // fresh one.
  luna::set_instruction_budget(L, INSTRUCTION_BUDGET);
  luna::gc(L, luna::GCCOLLECT);
  luna::set_instruction_budget(L, INSTRUCTION_BUDGET);
  int top = luna::get_top(L);
  const char* probe = "local t = {} for i = 1, 10 do t[i] = i * i end return t[10]";
  if (luna::load_string(L, probe) != luna::OK) violated("state unusable (load)", luna::to_string(L, -1));
  if (luna::pcall(L, 0, 1, 0) != luna::OK) violated("state unusable (run)", luna::to_string(L, -1));
  if (luna::to_integerx(L, -1) != 100) violated("state unusable", "wrong result");
  luna::set_top(L, top);
}

// close_state, with the remaining finalizers under a budget.
inline void close_limited(luna::State* L) {
  luna::set_instruction_budget(L, INSTRUCTION_BUDGET);
  luna::close_state(L);
}

}  // namespace luna_fuzz
