// From a finished recording to machine code: the optimisation passes in
// order, register allocation and assembly.
#pragma once

#include <memory>

#include "asm_x64.hpp"
#include "record.hpp"

namespace luna::jit {

// Null when the assembler fails. With want_dump the trace keeps its IR text.
// bounds: an optimised loop's bounds checks may be hoisted (hoist_bounds).
std::unique_ptr<Trace> compile_trace(Recorder& rec, CodeArena& arena, bool want_dump, bool bounds = true);
// The same for a hand-built IR (tests). returns: a function trace or a side
// trace of one (Trace::returns).
std::unique_ptr<Trace> compile_ir(IrBuffer& ir, CodeArena& arena, bool want_dump, bool returns = false,
                                  bool bounds = true);

}  // namespace luna::jit
