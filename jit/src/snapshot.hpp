// The recorder's view of the Lua frame: which IR value each slot holds now,
// and which slots the trace has written. A snapshot lists exactly the written
// slots; every other slot still holds, in memory, what the interpreter left
// there when it entered the trace.
#pragma once

#include <array>

#include "ir.hpp"
#include "opcodes.hpp"

namespace luna::jit {

class SlotState {
 public:
  SlotState() { cur_.fill(NO_REF); written_.fill(false); }
  Ref get(int slot) const { return cur_[static_cast<size_t>(slot)]; }
  // A value loaded from the frame (not a write).
  void loaded(int slot, Ref r) { cur_[static_cast<size_t>(slot)] = r; }
  void set(int slot, Ref r) {
    cur_[static_cast<size_t>(slot)] = r;
    written_[static_cast<size_t>(slot)] = true;
  }
  // Records the state for resuming the interpreter at pc.
  int32_t snapshot(IrBuffer& ir, const Instruction* pc) const;

 private:
  std::array<Ref, MAX_FSTACK + 1> cur_;
  std::array<bool, MAX_FSTACK + 1> written_;
};

}  // namespace luna::jit
