// The recorder's view of the Lua frame: which IR value each slot holds now,
// and which slots the trace has written. A snapshot lists exactly the written
// slots; every other slot still holds, in memory, what the interpreter left
// there when it entered the trace. Slots count from the trace's frame base
// through the frames of inlined calls above it.
#pragma once

#include <array>

#include "ir.hpp"
#include "opcodes.hpp"

namespace luna::jit {

// Registers live at pc, a statement boundary such as a loop's start: the
// active local variables (each has its register, in order); everything
// above is a temporary or an out-of-scope local the interpreter writes
// before it reads. Without debug information (stripped), all of them.
int live_slots(const Proto* p, const Instruction* pc);

class SlotState {
 public:
  // The trace's frame and up to kMaxDepth inlined frames, each within
  // MAX_FSTACK slots of its caller's base.
  static constexpr int kMaxDepth = 3;
  static constexpr size_t kSlots = (kMaxDepth + 1) * (MAX_FSTACK + 1);

  SlotState() { cur_.fill(NO_REF); written_.fill(false); }
  // Slot numbers below are relative to the current frame's base.
  Ref get(int slot) const { return cur_[idx(slot)]; }
  // A value loaded from the frame (not a write).
  void loaded(int slot, Ref r) { cur_[idx(slot)] = r; }
  void set(int slot, Ref r) {
    cur_[idx(slot)] = r;
    written_[idx(slot)] = true;
  }
  int base() const { return base_; }
  // Slots from `from` up are dead (above the results of a returned call):
  // exits need not restore them.
  void forget_from(int from) {
    for (size_t s = static_cast<size_t>(from); s < kSlots; s++) {
      cur_[s] = NO_REF;
      written_[s] = false;
    }
  }
  // The current frame: its SnapFrame (-1: the trace's own) and its base.
  void set_frame(int32_t f, int base) {
    frame_ = f;
    base_ = base;
  }
  int32_t frame() const { return frame_; }
  // The top a call with variable results left (a slot from the trace's
  // base), until the instruction taking them; -1: none.
  void set_top(int top) { top_ = top; }
  int top() const { return top_; }
  // Records the state for resuming the interpreter at pc.
  int32_t snapshot(IrBuffer& ir, const Instruction* pc) const;

 private:
  std::array<Ref, kSlots> cur_;
  std::array<bool, kSlots> written_;
  int32_t frame_ = -1;
  int base_ = 0;
  int top_ = -1;
  size_t idx(int slot) const { return static_cast<size_t>(base_ + slot); }
};

}  // namespace luna::jit
