// A compiled trace: machine code for one loop of one prototype, entered with
// the frame's State and base, returning the number of the exit it left by.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ir.hpp"
#include "state.hpp"

namespace luna::jit {

// Returns the number of the exit's snapshot, with kTypeExit added when a
// type guard failed because a number changed subtype (integer to float or
// back).
using TraceFn = int (*)(State* L, TValue* base);
constexpr int kTypeExit = 1 << 24;

struct Trace {
  Proto* proto = nullptr;
  const Instruction* start_pc = nullptr;  // first instruction of the loop body
  TraceFn entry = nullptr;
  // Exit number -> where the interpreter resumes (its snapshot was already
  // written to the frame by the exit code).
  std::vector<const Instruction*> exit_pc;
  // Exit number -> innermost inlined frame (-1: none), in `frames`.
  std::vector<int32_t> exit_frame;
  std::vector<int32_t> exit_top;  // L->top to restore, as a slot (-1: none)
  std::vector<SnapFrame> frames;
  // Exits numbered below this one leave during the first iteration (the
  // back-edge's snapshot; the optimised loop's guards use it and later ones).
  int loop_snap = 0;
  size_t mcode_size = 0;
  uint32_t nins = 0;     // IR instructions after optimisation
  std::string dump;      // IR text, filled when asked for
};

// After an exit inside inlined calls: makes the CallInfos above ci (which
// the seam reserved) the frames of those calls, as the interpreter would
// have them at the exit's pc, and makes the innermost one L->ci; restores
// L->top where the exit's instruction takes variable results. Stores only,
// so it cannot fail (record_call.cpp).
void rebuild_frames(State* L, CallInfo* ci, const Trace& t, int exit) noexcept;

}  // namespace luna::jit
