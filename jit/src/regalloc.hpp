// Linear-scan register allocation over one trace. A value keeps one register
// from its definition until it is either dead or evicted; an evicted value was
// written to its spill slot at its definition, so every use after the
// eviction point reads memory. Values live across a helper call in a
// caller-saved register also get a slot, from which they are reloaded after
// the call.
#pragma once

#include <climits>
#include <vector>

#include "ir.hpp"

namespace luna::jit {

// Registers are asmjit ids: general registers 0-15 (rax, rcx, rdx, rbx, rsp,
// rbp, rsi, rdi, r8-r15), SSE registers 0-15.
struct RegSet {
  std::vector<int> gpr;         // allocation order
  std::vector<int> gpr_saved;   // callee-saved subset, preferred across calls
  std::vector<int> xmm;
  static RegSet x64();          // everything the backend does not reserve
};

struct Interval {
  Ref start = 0;
  Ref end = 0;                  // last use (0: no use)
  int reg = -1;                 // -1: never in a register
  int spill = -1;               // spill slot, or -1
  Ref spill_from = UINT32_MAX;  // uses after this position read the slot
  bool fpr = false;
  bool in_reg(Ref pos) const { return reg >= 0 && pos <= spill_from; }
};

struct Allocation {
  std::vector<Interval> iv;     // by Ref
  int nspill = 0;
  std::vector<Ref> calls;       // positions of helper calls
  // Addresses (AREF, HREFK) never held in a register: every use is a load,
  // tag test or store through them, which addresses memory through their
  // operands instead (those live until the last such use).
  std::vector<bool> fused;
  // False when a value carried around an optimised loop did not get one
  // register for its whole life (the caller then compiles without the
  // loop optimisation).
  bool ok = true;
};

// Does the value of this instruction need a machine register?
bool needs_reg(const IrIns& i);
// A helper CALL the assembler emits inline (a constant short-string key's
// lookup, integer floored division and modulo), clobbering only the scratch
// registers: not a call for allocation.
bool inline_helper(const IrBuffer& ir, const IrIns& i);
Allocation allocate(const IrBuffer& ir, const RegSet& regs);

}  // namespace luna::jit
