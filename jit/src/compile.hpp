// From a finished recording to machine code: the optimisation passes in
// order, register allocation and assembly.
#pragma once

#include <memory>

#include "asm_x64.hpp"
#include "record.hpp"

namespace luna::jit {

// Null when the assembler fails. With want_dump the trace keeps its IR text.
std::unique_ptr<Trace> compile_trace(Recorder& rec, CodeArena& arena, bool want_dump);
// The same for a hand-built IR (tests). returns: a function trace or a side
// trace of one (Trace::returns).
std::unique_ptr<Trace> compile_ir(IrBuffer& ir, CodeArena& arena, bool want_dump, bool returns = false);

}  // namespace luna::jit
