// Trace stitching (after LuaJIT 2.1's idea). A native function the recorder
// does not turn into IR (string.format, s:find, pcall, coroutine.resume, the
// iterator of pairs) ends the trace: its last instruction, LOOP with b = 3,
// writes the snapshot of the interpreter state before the CALL (or
// TFORCALL) and leaves by a plain exit there. The interpreter then makes the
// call, with every error, yield, hook and metamethod its own, so the
// exception policy holds. When it returns, the dispatcher finds the trace
// recorded from the instruction after the call attached at that pc and
// enters it (jit_stitch_event); that continuation is a side recording that
// ends where it reaches a trace (the loop's, linking back) or stitches
// again before the next native call. trace_backend.cpp asks for the
// continuation's recording once the stitch exit is hot and re-attaches it
// whenever another loop's trace evicted it from the seam's slot.
#include "record.hpp"

namespace luna::jit {

namespace {
// Instructions a trace ending in a stitch must record, the call included.
constexpr int kMinStitch = 4;
// A continuation stitching again at the call it continues (a generic for
// over gmatch's iterator: TFORCALL, TFORLOOP, the body, back) is a loop of
// one stitch per iteration; below this many instructions its exit and
// re-entry cost more than interpreting it.
constexpr int kMinSelfStitch = 8;
}  // namespace

RecordStatus Recorder::stitch(const Instruction* pc) {
  Instruction i = *pc;
  OpCode op = get_op(i);
  int a = getarg_A(i);
  // Only a native callee returns to the dispatcher's stitch point; a Lua
  // iterator or __call would leave the trace for good.
  Tag callee = base_[a].tag;
  if (callee != Tag::LightFn && callee != Tag::NClosure)
    return abort(op == OP_TFORCALL ? "TFORCALL of a Lua iterator" : "call of a non-Lua function");
  // The dispatcher runs these inline (call_builtin, fastcall.cpp), with no
  // stitch point after them: nothing would continue the trace.
  if (callee == Tag::LightFn) {
    NativeFn f = base_[a].u.f;
    if (f == lib_type || f == lib_math_floor || f == lib_math_abs || f == lib_math_max || f == lib_string_byte ||
        f == lib_string_sub || f == lib_select || f == lib_ipairs)
      return abort("builtin arguments");
  }
  // A function trace's frames return through CALLOUT continuations the
  // continuation would not know of.
  if (func_) return abort("call of a non-Lua function in a function trace");
  if (ir_.failed()) return abort("guard always fails");
  // Too little recorded between a loop's start and the call: entering and
  // leaving the trace around it costs more than interpreting those
  // instructions (callgrind: coroutine_switch's `acc = co(acc + 1)`, 3
  // instructions, lost 10%). A short piece of a chain of continuations
  // is kept: it leads to the next one (trace_backend.cpp weighs cycles).
  if (!is_side() && count_ < kMinStitch) return abort("call of a non-Lua function after too few instructions");
  if (count_ < 2) return abort("call of a non-Lua function first");
  if (continuation_ && frames_.size() == 1 && pc + 1 == start_ && count_ < kMinSelfStitch)
    return abort("stitched loop too small");
  if (op == OP_CALL && getarg_B(i) == 0 && slots_.top() < 0) return abort("call with variable arguments");
  // The values the interpreter's call reads are in their slots (the
  // snapshot writes every slot the trace changed); a call with B = 0 finds
  // its arguments' top in the snapshot.
  IrIns lp = ir_ins(IrOp::LOOP, IrType::Void, NO_REF, 3, count_);
  lp.snap = slots_.snapshot(ir_, pc);
  ir_.emit_raw(lp);
  return RecordStatus::Done;
}

}  // namespace luna::jit
