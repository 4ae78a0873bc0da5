// The compilation pipeline: fold and CSE already ran at emission; then loop
// optimisation, dead code elimination, register allocation, assembly.
#include "compile.hpp"

namespace luna::jit {

std::unique_ptr<Trace> compile_ir(IrBuffer& ir, CodeArena& arena, bool want_dump) {
  dce(ir);
  Allocation al = allocate(ir, RegSet::x64());
  auto t = std::make_unique<Trace>();
  t->nins = ir.size() - 1;
  if (want_dump) t->dump = ir.dump();
  if (!arena.assemble(ir, al, t.get())) return nullptr;
  return t;
}

std::unique_ptr<Trace> compile_trace(Recorder& rec, CodeArena& arena, bool want_dump) {
  auto t = compile_ir(rec.ir(), arena, want_dump);
  if (t != nullptr) {
    t->proto = rec.proto();
    t->start_pc = rec.start();
  }
  return t;
}

}  // namespace luna::jit
