// A compiled trace: machine code for one loop of one prototype, entered with
// the frame's State and base, returning the number of the exit it left by.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "state.hpp"

namespace luna::jit {

using TraceFn = int (*)(State* L, TValue* base);

struct Trace {
  Proto* proto = nullptr;
  const Instruction* start_pc = nullptr;  // first instruction of the loop body
  TraceFn entry = nullptr;
  // Exit number -> where the interpreter resumes (its snapshot was already
  // written to the frame by the exit code).
  std::vector<const Instruction*> exit_pc;
  size_t mcode_size = 0;
  uint32_t nins = 0;     // IR instructions after optimisation
  std::string dump;      // IR text, filled when asked for
};

}  // namespace luna::jit
