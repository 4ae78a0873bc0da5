// The compilation pipeline: fold and CSE already ran at emission; then loop
// optimisation, dead code elimination, register allocation, assembly.
#include "compile.hpp"

namespace luna::jit {

namespace {

std::unique_ptr<Trace> assemble(const IrBuffer& ir, const Allocation& al, CodeArena& arena, bool want_dump,
                                bool returns) {
  auto t = std::make_unique<Trace>();
  t->returns = returns;
  t->nins = ir.size() - 1;
  if (want_dump) t->dump = ir.dump();
  if (!arena.assemble(ir, al, t.get(), want_dump)) return nullptr;
  for (Ref r = 1; r < ir.size(); r++)
    if (ir[r].op == IrOp::SLOAD && (ir[r].type == IrType::Int || ir[r].type == IrType::Num))
      t->entry_numbers.push_back({static_cast<int32_t>(ir[r].aux), ir[r].tag});
  // What write_snapshot stores (store_value: the IR value's tag).
  for (const Snapshot& s : ir.snapshots()) {
    t->exit_tags_first.push_back(static_cast<uint32_t>(t->exit_tags.size()));
    for (uint32_t k = 0; k < s.count; k++) {
      const SnapEntry& e = ir.snap_entries()[s.first + k];
      IrType ty = ir[e.ref].type;
      if (ty != IrType::Ptr && ty != IrType::Void) t->exit_tags.push_back({static_cast<int32_t>(e.slot), ir[e.ref].tag});
    }
  }
  t->exit_tags_first.push_back(static_cast<uint32_t>(t->exit_tags.size()));
  return t;
}

}  // namespace

std::unique_ptr<Trace> compile_ir(IrBuffer& ir, CodeArena& arena, bool want_dump, bool returns, bool bounds) {
  IrBuffer plain = ir;
  // A loop with calls out of the trace keeps its slots in memory.
  bool calls_out = false;
  // So does one calling library functions (NCALL), which loop.cpp does not copy.
  for (Ref r = 1; r < ir.size(); r++) calls_out = calls_out || ir[r].op == IrOp::CALLOUT || ir[r].op == IrOp::NCALL;
  if (!calls_out && loop_optimise(ir)) {
    if (bounds) hoist_bounds(ir);
    dce(ir);
    Allocation al = allocate(ir, RegSet::x64());
    if (al.ok) return assemble(ir, al, arena, want_dump, returns);
    ir = std::move(plain);  // a loop-carried value would need a spill
  }
  dce(ir);
  return assemble(ir, allocate(ir, RegSet::x64()), arena, want_dump, returns);
}

std::unique_ptr<Trace> compile_trace(Recorder& rec, CodeArena& arena, bool want_dump, bool bounds) {
  auto t = compile_ir(rec.ir(), arena, want_dump, rec.returns(), bounds);
  if (t != nullptr) {
    t->proto = rec.proto();
    t->start_pc = rec.start();
  }
  return t;
}

}  // namespace luna::jit
