// Dead code elimination. Roots are the instructions whose effect is needed
// whether or not their value is: guards, stores, impure calls, the loop
// marker, and every value a snapshot restores. A typed load is a guard too:
// its value may be unused (a TEST decides on the type alone, `x - x` folds)
// while the path recorded depends on the type. Everything not reachable
// from the roots through operands is dropped, and the survivors are
// renumbered in order.
#include "ir.hpp"
#include "state.hpp"

namespace luna::jit {
namespace {

bool is_root(const IrIns& i) {
  if (IrBuffer::is_guard(i.op)) return true;
  if (i.op == IrOp::VSTORE || i.op == IrOp::FSTORE || i.op == IrOp::LOOP || i.op == IrOp::LOOPSTART || i.op == IrOp::PHI || i.op >= IrOp::CALLOUT)
    return true;
  if (i.op == IrOp::CALL) {
    Helper h = static_cast<Helper>(i.aux8);
    // The stop-the-world collector's barriers do nothing: no call for them.
    bool barrier = h == Helper::BarrierBack || h == Helper::BarrierObj;
    return (barrier && GC_NEEDS_BARRIERS) || helper_fills_buffer(h) || h == Helper::UpvalClose;
  }
  return false;
}

}  // namespace

void dce(IrBuffer& ir) {
  Ref n = ir.size();
  std::vector<bool> live(n, false);
  for (const SnapEntry& e : ir.snap_entries()) live[e.ref] = true;
  for (Ref r = n - 1; r >= 1; r--) {
    if (is_root(ir[r])) live[r] = true;
    if (!live[r]) continue;
    if (ir[r].op == IrOp::LOOP) continue;  // its b is a mode, not an operand
    if (ir[r].a != NO_REF) live[ir[r].a] = true;
    if (ir[r].b != NO_REF) live[ir[r].b] = true;
  }
  std::vector<bool> drop(n, false);
  for (Ref r = 1; r < n; r++) {
    drop[r] = !live[r];
    ir.stats().dce += drop[r];
  }
  std::vector<IrIns> out{ir[0]};
  compact_into(ir, out, 1, drop);
}

}  // namespace luna::jit
