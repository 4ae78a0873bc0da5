// x86-64 code generation for a trace with asmjit's Assembler.
#pragma once

#include <memory>

#include "ir.hpp"
#include "regalloc.hpp"
#include "trace.hpp"

namespace luna::jit {

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
  bool assemble_seam_return();
  struct Runtime;
  std::unique_ptr<Runtime> rt_;
};

}  // namespace luna::jit
