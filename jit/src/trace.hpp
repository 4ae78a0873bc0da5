// A compiled trace: machine code for one loop of one prototype, entered with
// the frame's State and base, returning the record of the exit it left by.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ir.hpp"
#include "state.hpp"

namespace luna::jit {

struct Trace;

// A comparison of an integer slot of the trace's frame with a constant, as
// a guard's failure proves it (on an exit) or a trace's first guard checks
// it (at its entry): slot `slot` holds an integer, in register `reg`, that
// stands in relation `rel` (an IrOp among LT, LE, GT, GE, EQ, NE) to k.
struct SlotFact {
  int32_t k = 0;
  int16_t slot = -1;  // -1: nothing known
  int8_t reg = -1;
  IrOp rel = IrOp::EQ;
  bool operator==(const SlotFact&) const = default;
};

// What an exit proves about the trace's frame when its only guard is an
// integer comparison: `a rel b` holds (the guard's relation failed), each
// operand a slot of the trace's frame that the exit writes (slot >= 0) or
// the constant k. A side trace of the exit knows it on entry and leaves out
// its first guard when that re-tests it (fannkuch's `lo < hi`, then
// `first ~= 1`: the side trace starts at the comparison that failed).
struct ExitFact {
  bool known = false;
  IrOp rel = IrOp::EQ;  // among LT, LE, GT, GE, EQ, NE
  int32_t a_slot = -1, b_slot = -1;
  int64_t a_k = 0, b_k = 0;
};

// What entering any trace of a prototype needs above its frame: stack slots
// from its base and CallInfos above it (the most its traces need; grows as
// traces are added).
struct Reserve {
  int32_t stack_slots = 0;
  int32_t frames = 0;
  int64_t stack_bytes = 0;  // stack_slots * sizeof(TValue), for CALLOUT's test
  // CALLOUT's one inline test: stack_bytes while no CallInfos are needed
  // above the callee's, else too many for any stack (the test fails, and
  // the exact tests follow out of line).
  int64_t fast_bytes = 0;
  // Nonzero once some trace of the prototype assigns an upvalue or calls
  // out to another function (whose traces may): a continuation after a
  // CALLOUT of the function itself reads this instead of loading and
  // guarding the upvalue holding the running closure again
  // (record_recursion.cpp).
  int64_t sets_upvalues = 0;
};

// One way out of a trace. The exit code writes its snapshot to the frame,
// then jumps to `side`: the attached side trace (which continues from that
// state in compiled code), or until one is attached, code of the trace
// returning this record.
struct ExitInfo {
  const Instruction* pc = nullptr;  // where the interpreter resumes
  void* side = nullptr;             // where a sideable exit's code jumps (set by assembly)
  bool attached = false;            // side is a side trace's entry
  uint32_t index = 0;               // snapshot number
  uint32_t count = 0;               // times taken
  int32_t frame = -1;               // innermost inlined frame, in Trace::frames (-1: none)
  int32_t top = -1;                 // L->top to restore, as a slot (-1: none)
  // False: a hook or budget exit, or one restoring L->top (variable
  // results); these always return to the interpreter. An exit inside
  // inlined calls may get a side trace, which keeps those frames inlined.
  bool sideable = false;
  // Set by the exit code when it returns: a type guard failed because a
  // number changed subtype (integer to float or back).
  bool type_exit = false;
  // A stitch exit: the trace ended before a native call, which the
  // interpreter makes; the trace continuing after it is attached at pc + 1.
  bool stitch = false;
  // A bounds check hoisted before the loop (hoist_bounds) failed: never a
  // side trace; a trace that keeps failing it is recorded again without.
  bool bounds = false;
  Trace* trace = nullptr;
  // The rel32 fields of up to two guards' jumps to this exit whose exit
  // code writes nothing (no snapshot entries, not a type guard, the native
  // frame traces share): attach_side points them at the side trace itself
  // (fib's base-case guard into its recursive path: no load and indirect
  // jump through `side`).
  uint8_t* direct[2] = {};
  // What each direct jump's guard proved by failing (fib's `k < 2`: k >= 2,
  // an integer in its register): attach_side enters a side trace whose first
  // guard checks just that past its guards (Trace::checked_entry).
  SlotFact direct_fact[2];
};

// Attaches the side trace to exit x: its code and the guards' direct jumps
// go there from now on, the latter past the side trace's entry guards when
// their failure proved what those guards test (asm_x64.cpp).
void attach_side(ExitInfo* x, const Trace& side) noexcept;

using TraceFn = ExitInfo* (*)(State* L, TValue* base);

struct Trace {
  Proto* proto = nullptr;  // of the frame it starts in
  // The prototype whose traces own it (its root trace's; a side trace may
  // start in a caller's frame after its parent returned there).
  Proto* owner = nullptr;
  const Instruction* start_pc = nullptr;  // first instruction of the loop body (side trace: its exit's pc)
  TraceFn entry = nullptr;
  // Behind the prologue: where other traces jump (exits to their side
  // traces, links, CALLOUTs), from their native frame, whose saved
  // registers stay pushed (L in r12, base in r13, rsp 8 bytes below the
  // pushes; asm_x64.cpp).
  void* post = nullptr;
  // Behind the trace's first guard, when nothing before it but the load of
  // the slot it tests runs (a side trace of a function trace re-testing its
  // argument): where a parent's guard proving `checks` enters instead of
  // post, with the slot already in its register.
  void* checked_entry = nullptr;
  SlotFact checks;
  // Behind the trace's first instruction, when that is the guarded load of
  // an integer slot typed_slot into register typed_reg: where a CALLOUT
  // passing a known integer there enters, with the slot loaded into that
  // register and its tag guard skipped.
  void* typed_entry = nullptr;
  int32_t typed_slot = -1;
  int32_t typed_reg = -1;
  // Behind the tag tests of an optimised loop's trace that its top makes
  // of the slots entry_guards names: where a side trace's link knowing
  // those tags enters instead of post.
  void* guarded_entry = nullptr;
  std::vector<std::pair<int32_t, Tag>> entry_guards;
  int32_t entry_guard_snap = -1;  // the snapshot those tests exit through
  // A function trace that, where its first guard (checks) holds, only
  // returns one integer: slot leaf_slot's, an integer, plus leaf_add (fib's
  // `return k`, ack's `return k + 1`). A CALLOUT passing that guard and
  // that slot's integer computes the result in place of the call (-1:
  // none).
  int32_t leaf_slot = -1;
  int32_t leaf_add = 0;
  // That RET past its hook test, with the result in register leaf_ret_reg
  // and the frame's base in r13: where a self tail call passing the guard
  // returns the base case in place (ack's `return ack(m - 1, ...)` with
  // m - 1 == 0). nullptr: none.
  void* leaf_ret = nullptr;
  int32_t leaf_ret_reg = -1;
  // Where a RET returns when the seam entered its frame (the frame's ctx;
  // a CALLOUT stores its continuation there instead): the return to the
  // seam, shared by every trace of the arena.
  void* seam_return = nullptr;
  // seam_return without setting L->top: the ctx of a frame whose native
  // caller sets L->top itself (JitTrace::return_ctx).
  void* native_return = nullptr;
  // Per snapshot n: exits[n] for guards, exits[nsnap + n] for hook and
  // budget exits. Allocated before assembly, as the code refers to them.
  std::unique_ptr<ExitInfo[]> exits;
  size_t nexits = 0;
  std::vector<SnapFrame> frames;  // the inlined frames exits name
  // Exits numbered below this one leave during the first iteration (the
  // back-edge's snapshot; the optimised loop's guards use it and later ones).
  int loop_snap = 0;
  // Slots (from the trace's base) holding numbers that its entry guards by
  // subtype, and the subtype recorded.
  std::vector<std::pair<int32_t, Tag>> entry_numbers;
  // Per snapshot n, exit_tags[exit_tags_first[n] .. exit_tags_first[n + 1]):
  // the slots its exit code writes and the tag each gets (the IR value's),
  // which a side trace of that exit knows on entry (Recorder::inherit_types).
  std::vector<uint32_t> exit_tags_first;
  std::vector<std::pair<int32_t, Tag>> exit_tags;
  std::vector<ExitFact> exit_facts;  // per snapshot (Recorder::inherit_fact)
  size_t mcode_size = 0;
  uint32_t nins = 0;     // IR instructions after optimisation
  int number = 0;        // as -jv shows it
  int depth = 0;         // 0 for a loop's trace, a side trace's parent's + 1
  // A function's trace or a side trace of one: may return from its frame
  // (RET); func_entry is the function trace's entry, which CALLOUTs call.
  bool returns = false;
  // Interpreter instructions recorded, when the trace ends in a stitch.
  int stitch_len = 0;
  void* func_entry = nullptr;
  std::string dump;      // IR text, filled when asked for
};

// What a trace's code returns after RET returned from its frame.
ExitInfo* returned_exit() noexcept;
// RET, when the caller wants another number of results than the trace
// returns: the n results at ra move to the function slot of L->ci as its
// caller wants them, and L->ci becomes the caller (trace_backend.cpp).
void jit_return(State* L, TValue* ra, int n) noexcept;

}  // namespace luna::jit
