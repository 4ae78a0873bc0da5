// The compilation pipeline: fold and CSE already ran at emission; then loop
// optimisation, dead code elimination, register allocation, assembly.
#include "compile.hpp"

#include <algorithm>
#include <vector>

namespace luna::jit {

namespace {

// Trace::exit_facts. Every guard of a snapshot shares its exits, so only a
// snapshot no other instruction uses proves its guard's negation; the
// back-edge's LOOP leaves only through exits no side trace takes.
std::vector<ExitFact> exit_facts(const IrBuffer& ir) {
  const size_t nsnap = ir.snapshots().size();
  std::vector<ExitFact> facts(nsnap);
  std::vector<Ref> user(nsnap, NO_REF);
  std::vector<int> users(nsnap, 0);
  for (Ref r = 1; r < ir.size(); r++) {
    const IrIns& i = ir[r];
    if (i.snap < 0 || i.op == IrOp::LOOP) continue;
    users[static_cast<size_t>(i.snap)]++;
    user[static_cast<size_t>(i.snap)] = r;
  }
  for (size_t n = 0; n < nsnap; n++) {
    const Snapshot& s = ir.snapshots()[n];
    if (users[n] != 1 || s.frame >= 0 || s.top >= 0) continue;
    const IrIns& g = ir[user[n]];
    ExitFact f;
    switch (g.op) {
      case IrOp::LT: f.rel = IrOp::GE; break;
      case IrOp::LE: f.rel = IrOp::GT; break;
      case IrOp::GT: f.rel = IrOp::LE; break;
      case IrOp::GE: f.rel = IrOp::LT; break;
      case IrOp::EQ: f.rel = IrOp::NE; break;
      case IrOp::NE: f.rel = IrOp::EQ; break;
      default: continue;
    }
    // An operand is a constant or a value the exit writes to a slot.
    auto operand = [&](Ref r, int32_t& slot, int64_t& k) {
      if (ir[r].type != IrType::Int) return false;
      if (ir[r].op == IrOp::KINT) {
        k = ir[r].k.i;
        return true;
      }
      for (uint32_t e = 0; e < s.count; e++)
        if (const SnapEntry& en = ir.snap_entries()[s.first + e]; en.ref == r) {
          slot = en.slot;
          return true;
        }
      return false;
    };
    f.known = operand(g.a, f.a_slot, f.a_k) && operand(g.b, f.b_slot, f.b_k);
    if (f.known) facts[n] = f;
  }
  return facts;
}

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
  // Where each snapshot is first taken, and the first instruction that may
  // write the frame (a call's snapshot, an upvalue's store).
  std::vector<Ref> taken(ir.snapshots().size(), NO_REF), loads;
  Ref writes = ir.size();
  for (Ref r = 1; r < ir.size(); r++) {
    const IrIns& i = ir[r];
    if (i.snap >= 0 && taken[static_cast<size_t>(i.snap)] == NO_REF) taken[static_cast<size_t>(i.snap)] = r;
    if (writes == ir.size() && ir.may_write_upvalue(i)) writes = r;
    if (i.op == IrOp::SLOAD && i.type != IrType::Ptr && i.type != IrType::Void && i.type != IrType::Nil &&
        (i.snap < 0 || ir.snapshots()[static_cast<size_t>(i.snap)].frame < 0))
      loads.push_back(r);
  }
  // What write_snapshot stores (store_value: the IR value's tag), and the
  // slots of the trace's frame loaded before the exit that the snapshot
  // leaves alone: they hold what was loaded, of the type loaded.
  for (size_t n = 0; n < ir.snapshots().size(); n++) {
    const Snapshot& s = ir.snapshots()[n];
    t->exit_tags_first.push_back(static_cast<uint32_t>(t->exit_tags.size()));
    for (uint32_t k = 0; k < s.count; k++) {
      const SnapEntry& e = ir.snap_entries()[s.first + k];
      IrType ty = ir[e.ref].type;
      if (ty != IrType::Ptr && ty != IrType::Void) t->exit_tags.push_back({static_cast<int32_t>(e.slot), ir[e.ref].tag});
    }
    if (s.frame >= 0 || taken[n] == NO_REF || taken[n] > writes) continue;
    const size_t named = t->exit_tags_first.back();
    for (Ref r : loads) {
      if (r >= taken[n]) break;
      const IrIns& i = ir[r];
      int32_t slot = static_cast<int32_t>(i.aux);
      if (std::none_of(t->exit_tags.begin() + static_cast<ptrdiff_t>(named), t->exit_tags.end(),
                       [&](const std::pair<int32_t, Tag>& x) { return x.first == slot; }))
        t->exit_tags.push_back({slot, i.tag});
    }
    // Those the trace's top tested (Trace::guarded_entry), past that test.
    if (static_cast<int32_t>(n) == t->entry_guard_snap) continue;
    for (const std::pair<int32_t, Tag>& guard : t->entry_guards)
      if (std::none_of(t->exit_tags.begin() + static_cast<ptrdiff_t>(named), t->exit_tags.end(),
                       [&](const std::pair<int32_t, Tag>& x) { return x.first == guard.first; }))
        t->exit_tags.push_back(guard);
  }
  t->exit_tags_first.push_back(static_cast<uint32_t>(t->exit_tags.size()));
  t->exit_facts = exit_facts(ir);
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
    drop_implied_bounds(ir);
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
