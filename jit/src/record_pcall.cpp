// pcall called from compiled code. Stitched (record_stitch.cpp), every
// pcall left the trace, had the interpreter make the call and entered the
// continuation's trace after it: about 150 instructions of exits, seam
// and dispatch per call, as much as pcall itself. As an NCALL made the way
// a coroutine function's is (coroutine_call, record_native.cpp) the trace
// calls the library's pcall in place: its native frame, the callee's
// frames, error levels, positions, tracebacks and the caught error are all
// the interpreter's, since the call is the same. What differs is the
// native frame of the trace below pcall's, which a yield under it would
// have to jump over: pcall_call makes the call only where no yield can
// happen (the running thread is not yieldable: the main thread, or inside
// a non-yieldable call), and otherwise has the trace leave for the
// interpreter to make the call. While recording, the callee runs in the
// interpreter, unrecorded (as a CALLOUT's: await_callout).
#include "builtin.hpp"
#include "record.hpp"

namespace luna::jit {

uintptr_t pcall_call(State* L, TValue* func, int nargs, int nresults, NativeFn f,
                     const Instruction* savedpc) noexcept {
  if (L->nny == 0) return reinterpret_cast<uintptr_t>(func) | 1;
  GlobalState* g = L->g;
  TValue* top = func + 1 + nargs;
  if (L->hookmask != 0 || g->instr_budget != 0 || L->ci->next == nullptr || L->stack_last - top <= MINSTACK)
    return coroutine_call(L, func, nargs, nresults, f, savedpc);
  // coroutine_call's protocol with pcall_in_place for precall_native: no
  // frame to allocate and no stack to grow, so what raises out of the call
  // is only a return hook the callee set or a coroutine closing itself.
  return call_lua_from_trace(L, func, top, savedpc, [&] { pcall_in_place(L, func, nresults); });
}

// pcall(f, ...) with fixed arguments (at least f: no argument error) and
// results, from the trace's own frame outside a function trace (whose
// frames return through CALLOUT continuations), recorded in a thread that
// cannot yield. After the call everything is read from memory again: the
// callee may have changed any table, upvalue or slot a closure captured.
bool Recorder::pcall_native(const Instruction* pc, int a, int nargs, int c) {
  if (frames_.size() != 1 || func_ || nargs < 1 || c == 0 || L_->nny == 0) return false;
  guard(IrOp::EQ, slot(a), ir_.kgc(reinterpret_cast<GCObject*>(&lib_pcall), Tag::LightFn));
  if (ir_.failed()) return false;
  if (!running_ncall(pc, a, nargs, c, reinterpret_cast<void*>(&lib_pcall))) return false;
  callout_ret_ = pc + 1;
  callout_a_ = -1;
  callout_func_ = -1;  // taken at the next step (the stack may move before)
  return true;
}

}  // namespace luna::jit
