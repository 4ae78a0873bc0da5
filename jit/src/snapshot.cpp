// Snapshots: the restore list for one guard.
#include "snapshot.hpp"

namespace luna::jit {

int live_slots(const Proto* p, const Instruction* pc) {
  if (p->sizelocvars == 0) return p->maxstacksize;
  int at = static_cast<int>(pc - p->code), n = 0;
  for (int i = 0; i < p->sizelocvars; i++)
    if (p->locvars[i].startpc <= at && at < p->locvars[i].endpc) n++;
  return n;
}

int32_t SlotState::snapshot(IrBuffer& ir, const Instruction* pc) const {
  std::vector<SnapEntry> entries;
  for (size_t s = 0; s < written_end_; s++) {
    if (!written_[s]) continue;
    Ref r = cur_[s];
    // A slot written back with the value just loaded from it needs nothing.
    if (ir[r].op == IrOp::SLOAD && ir[r].aux == static_cast<int32_t>(s)) continue;
    entries.push_back(SnapEntry{static_cast<int>(s), r});
  }
  return static_cast<int32_t>(ir.add_snapshot(pc, entries, frame_, top_));
}

}  // namespace luna::jit
