// The recorder's view of the Lua frame: which IR value each slot holds now,
// and which slots the trace has written. A snapshot lists exactly the written
// slots; every other slot still holds, in memory, what the interpreter left
// there when it entered the trace. Slots count from the trace's frame base
// through the frames of inlined calls above it.
#pragma once

#include <algorithm>
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

  SlotState() { cur_.fill(NO_REF); written_.fill(false); captured_.fill(false); ever_captured_.fill(false); loaded_.fill(false); }
  // Slot numbers below are relative to the current frame's base.
  Ref get(int slot) const {
    note(slot);
    return cur_[idx(slot)];
  }
  // A value loaded from the frame (not a write).
  void loaded(int slot, Ref r) {
    note(slot);
    cur_[idx(slot)] = r;
    loaded_[idx(slot)] = true;
  }
  void set(int slot, Ref r) {
    note(slot);
    cur_[idx(slot)] = r;
    written_[idx(slot)] = true;
    written_end_ = std::max(written_end_, idx(slot) + 1);
  }
  // A local an open upvalue of a closure the trace made refers to: its
  // value is in memory (stored there first) and read and written through
  // the upvalue only; a recorded access of its own must abort (captured()),
  // until the upvalues are closed (release_from) or the frame returns.
  void capture(int slot) {
    cur_[idx(slot)] = NO_REF;
    written_[idx(slot)] = false;
    captured_[idx(slot)] = true;
    ever_captured_[idx(slot)] = true;
  }
  // Slots from `from` (from the trace's base) up are closed.
  void release_from(int from) {
    for (size_t s = static_cast<size_t>(from); s < kSlots; s++) captured_[s] = false;
  }
  bool accessed_captured() const { return accessed_captured_; }
  bool is_captured(int slot) const { return captured_[idx(slot)]; }
  // A written slot (one a loop would carry in a register) that some closure
  // captured: the upvalue may change it in memory behind the register.
  bool writes_captured() const {
    for (size_t s = 0; s < kSlots; s++)
      if (written_[s] && ever_captured_[s]) return true;
    return false;
  }
  Ref peek(int slot) const { return cur_[idx(slot)]; }  // get, not counted as an access
  // Whether the trace loaded the slot from the frame (a loop's next
  // iteration would share that load, which an upvalue may since have changed).
  bool was_loaded(int slot) const { return loaded_[idx(slot)]; }
  int base() const { return base_; }
  // Slots from `from` up are dead (above the results of a returned call):
  // exits need not restore them.
  void forget_from(int from) {
    written_end_ = std::min(written_end_, static_cast<size_t>(from));
    for (size_t s = static_cast<size_t>(from); s < kSlots; s++) {
      cur_[s] = NO_REF;
      written_[s] = false;
      captured_[s] = false;
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
  std::array<bool, kSlots> captured_;
  std::array<bool, kSlots> loaded_;
  std::array<bool, kSlots> ever_captured_;
  // Above this index no slot is written (snapshots scan up to it: each
  // guard takes one, and the array spans four frames).
  size_t written_end_ = 0;
  mutable bool accessed_captured_ = false;
  void note(int slot) const {
    accessed_captured_ = accessed_captured_ || captured_[idx(slot)];
  }
  int32_t frame_ = -1;
  int base_ = 0;
  int top_ = -1;
  size_t idx(int slot) const { return static_cast<size_t>(base_ + slot); }
};

}  // namespace luna::jit
