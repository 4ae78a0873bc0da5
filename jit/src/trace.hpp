// A compiled trace: machine code for one loop of one prototype, entered with
// the frame's State and base, returning the number of the exit it left by.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "state.hpp"

namespace luna::jit {

struct Trace;

// One way out of a trace. The exit code writes its snapshot to the frame,
// then jumps to `side` when a side trace has been attached to it (which
// continues from that state in compiled code), else returns this record.
struct ExitInfo {
  const Instruction* pc = nullptr;  // where the interpreter resumes
  void* side = nullptr;             // entry of the attached side trace, read by the exit code
  uint32_t index = 0;               // snapshot number
  uint32_t count = 0;               // times taken
  bool sideable = false;            // false: a hook or budget exit, always to the interpreter
  Trace* trace = nullptr;
};

using TraceFn = ExitInfo* (*)(State* L, TValue* base);

struct Trace {
  Proto* proto = nullptr;
  const Instruction* start_pc = nullptr;  // first instruction of the loop body (side trace: its exit's pc)
  TraceFn entry = nullptr;
  // Per snapshot n: exits[n] for guards, exits[nsnap + n] for hook and
  // budget exits. Allocated before assembly, as the code refers to them.
  std::unique_ptr<ExitInfo[]> exits;
  size_t nexits = 0;
  size_t mcode_size = 0;
  uint32_t nins = 0;     // IR instructions after optimisation
  int number = 0;        // as -jv shows it
  int depth = 0;         // 0 for a loop's trace, a side trace's parent's + 1
  std::string dump;      // IR text, filled when asked for
};

}  // namespace luna::jit
