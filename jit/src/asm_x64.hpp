// x86-64 code generation for a trace with asmjit's Assembler.
#pragma once

#include <memory>

#include "ir.hpp"
#include "regalloc.hpp"
#include "trace.hpp"

namespace luna::jit {

// Where a trace entered by the seam keeps its native stack pointer (after
// the prologue's pushes), so any exit can return from inside native calls,
// and the lowest rsp a CALLOUT may call from natively (see asm_x64.cpp).
// One per backend: a State runs at most one trace at a time, and a backend
// serves one GlobalState.
struct NativeStack {
  void* entry_rsp = nullptr;
  void* call_limit = nullptr;
};

// Owns the executable memory of every trace it assembles.
class CodeArena {
 public:
  CodeArena();
  ~CodeArena();
  CodeArena(const CodeArena&) = delete;
  CodeArena& operator=(const CodeArena&) = delete;

  // Assembles ir (already optimised and allocated) into t->entry. False when
  // the assembler fails (t unchanged). With listing, the assembly text is
  // appended to t->dump.
  bool assemble(const IrBuffer& ir, const Allocation& al, Trace* t, bool listing = false);
  void release(Trace* t);

 private:
  struct Runtime;
  std::unique_ptr<Runtime> rt_;
  NativeStack native_;
};

}  // namespace luna::jit
