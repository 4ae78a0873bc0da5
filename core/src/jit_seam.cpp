// The seam between the interpreter and a trace compiler (jit_seam.hpp,
// docs/jit.md): installing a backend, hot loop events, entering compiled
// code, recording, flushing.
#include "jit_seam.hpp"

#include <algorithm>

#include "embed/core.hpp"
#include "opcodes.hpp"
#include "state.hpp"

namespace luna {

namespace {

uint32_t hotloop(const JitSeam& j) { return std::clamp(j.options.hotloop, 1u, 65535u); }

// While an instruction budget counts, every back-edge must reach the seam,
// so the counters are held at 1 and hotness is counted in budget_hot: the
// inline path then tests the counter alone, never the budget.
// What a counter is re-armed to: the threshold, or 1 under a budget.
uint32_t rearm_value(const GlobalState* g, uint32_t n) { return g->instr_budget != 0 ? 1 : n; }

void arm_counters(GlobalState* g) {
  JitSeam& j = g->jit;
  std::fill(std::begin(j.hotcount), std::end(j.hotcount), rearm_value(g, hotloop(j)));
  std::fill(std::begin(j.budget_hot), std::end(j.budget_hot), static_cast<uint16_t>(hotloop(j)));
}

void detach_all(GlobalState* g) {
  for (JitSeam::Attached& a : g->jit.attached) a = {nullptr, nullptr};
  arm_counters(g);
}

// A frame above the recorded one (a call the recording lets the
// interpreter make, such as a function trace's CALLOUT): the recorded frame
// traps a few Lua frames below it.
bool above_recorded(CallInfo* ci) {
  int n = 0;
  for (CallInfo* c = ci->previous; c != nullptr && n < 4; c = c->previous, n++)
    if (c->trap) return c->is_lua();
  return false;
}

// After a trace ran: the flush a coroutine call from compiled code put off,
// once no trace is on the native stack, and the error such a call raised,
// now that the trace has left at its CALL (whose function slot takes the
// error object, as the frame is unwound anyway).
[[gnu::noinline]] const Instruction* after_coroutine_call(State* L, const Instruction* pc) {
  JitSeam& j = L->g->jit;
  if (j.flush_due && j.lua_calls == 0) jit_flush(L);
  if (j.pending_status == 0) return pc;
  int status = j.pending_status;
  j.pending_status = 0;
  CallInfo* ci = L->ci;
  ci->savedpc = pc + 1;
  TValue* fn = ci->func + 1 + getarg_A(*pc);
  *fn = j.pending_error;
  L->top = fn + 1;
  throw_status(L, status);
}

const Instruction* finish_trace_run(State* L, const Instruction* pc) {
  JitSeam& j = L->g->jit;
  if (__builtin_expect(j.pending_status != 0 || j.flush_due, 0)) return after_coroutine_call(L, pc);
  return pc;
}

// Not yielded, dead or finished: L resumed the running coroutine.
bool is_normal(const State* L) { return L->status == OK && L->ci != &L->base_ci; }

bool may_enter_or_record(State* L) { return L->hookmask == 0 && L->g->jit.recorder == nullptr; }

// Makes the stack slots and CallInfos the trace declares exist (this may
// raise, like any stack growth: the interpreter's state is saved), then
// runs it.
const Instruction* enter_trace(State* L, CallInfo* ci, JitTrace* t) {
  ptrdiff_t have = L->top - (ci->func + 1);
  if (t->stack_slots > have) ensure_stack(L, static_cast<int>(t->stack_slots - have));
  CallInfo* c = ci;
  for (int i = 0; i < t->frames; i++) c = ci_after(L, c);
  L->g->jit.entries++;
  return finish_trace_run(L, t->run(L, ci, t));
}

}  // namespace

void jit_init(GlobalState* g) {
  JitSeam& j = g->jit;
  j.backend = nullptr;
  j.enabled = false;
  j.recorder = nullptr;
  j.entries = 0;
  j.lua_calls = 0;
  j.flush_due = false;
  j.leave_after_call = nullptr;
  j.pending_status = 0;
  j.event_pc = nullptr;
  j.event_n = 0;
  j.options = JitOptions();
  detach_all(g);
}

void set_jit_backend(State* L, std::unique_ptr<JitBackend> backend) {
  JitSeam& j = L->g->jit;
  if (j.backend != nullptr) {
    jit_flush(L);
    delete j.backend;
  }
  j.backend = backend.release();
  j.enabled = j.backend != nullptr;
  arm_counters(L->g);
}

const Instruction* jit_loop_event(State* L, CallInfo* ci, const Instruction* pc, int n) {
  GlobalState* g = L->g;
  JitSeam& j = g->jit;
  uint32_t& count = jit_hotcount(j, pc);
  JitSeam::Attached& a = j.attached[jit_slot(pc)];
  if (g->instr_budget != 0) {
    count = 1;
    // A budget error names the line of the jump, not of its target (the
    // instruction before a loop's start may be lines above).
    const Instruction* saved = ci->savedpc;
    ci->savedpc = pc + n;
    charge_instruction_budget(L, static_cast<uint64_t>(n));
    ci->savedpc = saved;
    if (!j.enabled) return pc;
    uint16_t& hot = j.budget_hot[jit_slot(pc)];
    if (a.pc != pc && --hot != 0) return pc;
    hot = static_cast<uint16_t>(hotloop(j));
  } else if (!j.enabled || count != 0) {
    // The budget just ran out (counters held at 1 come here once more)
    // or the JIT is off: count normally from now on.
    if (count == 0) count = hotloop(j);
    if (!j.enabled) return pc;
  }
  // A recording is abandoned when its thread runs on in a frame that does
  // not trap: an error unwound the recorded frame past the backend.
  // A coroutine the recorded thread resumed (which is then "normal": not
  // yielded, with a frame running) runs its loops without it; the
  // recording goes on when the resume returns (a trace's coroutine call,
  // record_native.cpp).
  if (j.recorder != nullptr && (j.recorder != L ? !is_normal(j.recorder) : !ci->trap && !above_recorded(ci)))
    jit_stop_recording(L);
  if (a.pc == pc) {
    count = 1;
    return may_enter_or_record(L) ? enter_trace(L, ci, a.trace) : pc;
  }
  // Another loop sharing the slot of an attached one counts from the full
  // threshold again; that loop's entry waits until the counter runs out.
  count = rearm_value(g, hotloop(j));
  if (may_enter_or_record(L)) {
    j.event_pc = pc;
    j.event_n = n;
    j.backend->on_hot_loop(L, ci, pc);
    j.event_pc = nullptr;
  }
  return pc;
}

void jit_budget_changed(GlobalState* g) {
  if (g->instr_budget != 0) std::fill(std::begin(g->jit.hotcount), std::end(g->jit.hotcount), 1u);
}

bool jit_record_step(State* L, CallInfo* ci, const Instruction* pc) {
  JitSeam& j = L->g->jit;
  if (j.recorder != L) return false;
  bool keep = j.backend->record(L, ci, pc);
  return keep && j.recorder == L;
}

const Instruction* jit_call_event(State* L, CallInfo* ci) {
  GlobalState* g = L->g;
  JitSeam& j = g->jit;
  const Instruction* pc = ci->savedpc;
  uint32_t& count = jit_hotcount(j, pc);
  // Under a budget (every counter held at 1) calls stay interpreted: the
  // interpreter charges each call.
  if (g->instr_budget != 0 || !j.enabled) {
    count = rearm_value(g, hotloop(j));
    return pc;
  }
  JitSeam::Attached& a = j.attached[jit_slot(pc)];
  if (a.pc == pc) {
    count = 1;
    if (!may_enter_or_record(L)) return pc;
    // Nothing may raise here, before the function's first instruction:
    // without the room the trace declares the interpreter runs the call.
    JitTrace* t = a.trace;
    if (L->stack_last - (ci->func + 1) <= t->stack_slots) return pc;
    CallInfo* c = ci;
    for (int i = 0; i < t->frames; i++)
      if ((c = c->next) == nullptr) return pc;
    j.entries++;
    return finish_trace_run(L, t->run(L, ci, t));
  }
  count = hotloop(j);
  if (may_enter_or_record(L)) j.backend->on_hot_call(L, ci);
  return pc;
}

const Instruction* jit_enter_function(State* L, CallInfo* ci, JitTrace* t) {
  GlobalState* g = L->g;
  if (__builtin_expect(g->instr_budget != 0 || !may_enter_or_record(L), 0) ||
      L->stack_last - (ci->func + 1) <= t->stack_slots)
    return jit_call_event(L, ci);
  CallInfo* c = ci;
  for (int i = 0; i < t->frames; i++)
    if ((c = c->next) == nullptr) return jit_call_event(L, ci);
  g->jit.entries++;
  return finish_trace_run(L, t->run(L, ci, t));
}

const Instruction* jit_function_left(State* L, JitTrace* t, JitExit* x) {
  return finish_trace_run(L, x == t->returned ? nullptr : t->leave(L, t, x));
}

const Instruction* jit_stitch_event(State* L, CallInfo* ci, const Instruction* pc) {
  GlobalState* g = L->g;
  JitSeam::Attached& a = g->jit.attached[jit_slot(pc)];
  // Under a budget the rest of the iteration is interpreted and charged.
  if (!g->jit.enabled || g->instr_budget != 0 || !may_enter_or_record(L)) return pc;
  JitTrace* t = a.trace;
  if (L->stack_last - (ci->func + 1) <= t->stack_slots) return pc;
  CallInfo* c = ci;
  for (int i = 0; i < t->frames; i++)
    if ((c = c->next) == nullptr) return pc;
  g->jit.entries++;
  return finish_trace_run(L, t->run(L, ci, t));
}

void jit_proto_freed(State* L, Proto* p) {
  JitSeam& j = L->g->jit;
  if (j.backend == nullptr) return;
  for (JitSeam::Attached& a : j.attached) {
    if (a.pc >= p->code && a.pc < p->code + p->sizecode) {
      jit_hotcount(j, a.pc) = rearm_value(L->g, hotloop(j));
      a = {nullptr, nullptr};
    }
  }
  j.backend->on_proto_free(L, p);
}

void jit_thread_freed(State* L, State* L1) {
  if (L->g->jit.recorder == L1) L->g->jit.recorder = nullptr;
}

void jit_mark_roots(GlobalState* g, JitMarker& m) {
  if (g->jit.backend != nullptr) g->jit.backend->mark(m);
}

void jit_set_enabled(State* L, bool on) {
  JitSeam& j = L->g->jit;
  if (j.backend == nullptr) return;
  if (!on) jit_flush(L);
  j.enabled = on;
}

void jit_set_options(State* L, const JitOptions& o) {
  JitSeam& j = L->g->jit;
  jit_flush(L);
  j.options = o;
  arm_counters(L->g);
}

void jit_flush(State* L) {
  JitSeam& j = L->g->jit;
  j.recorder = nullptr;
  detach_all(L->g);
  // A trace calling a coroutine is on the native stack: its code is freed
  // once it has left (finish_trace_run).
  if (j.lua_calls > 0) {
    j.flush_due = true;
    return;
  }
  j.flush_due = false;
  if (j.backend != nullptr) j.backend->flush(L);
}

JitStats jit_stats(State* L) {
  JitSeam& j = L->g->jit;
  if (j.backend == nullptr) return {};
  JitStats s = j.backend->stats();
  s.entries = j.entries;
  return s;
}

void jit_start_recording(State* L) {
  L->g->jit.recorder = L;
  L->ci->trap = 1;  // dispatcher: record before the next instruction
}

void jit_stop_recording(State* L) { L->g->jit.recorder = nullptr; }

void jit_attach(State* L, const Instruction* pc, JitTrace* trace) {
  JitSeam& j = L->g->jit;
  j.attached[jit_slot(pc)] = {pc, trace};
  jit_hotcount(j, pc) = 1;
}

void jit_detach(State* L, const Instruction* pc) {
  JitSeam& j = L->g->jit;
  JitSeam::Attached& a = j.attached[jit_slot(pc)];
  if (a.pc != pc) return;
  a = {nullptr, nullptr};
  jit_hotcount(j, pc) = rearm_value(L->g, hotloop(j));
}

Instruction* jit_cool_loop(State* L, const Instruction* pc) {
  JitSeam& j = L->g->jit;
  jit_rearm(L, pc, 65535);
  if (j.event_pc != pc) return nullptr;
  // A FORLOOP, TFORLOOP or JMP executed as an instruction lands n back from
  // the instruction after it; the JMP of a conditional test (the end of a
  // repeat) one further, and its test counts it whatever its opcode.
  Instruction* at = const_cast<Instruction*>(pc) + j.event_n - 1;
  Instruction i = *at;
  unsigned twin;
  if (get_op(i) == OP_JMP && at + 1 + getarg_sJ(i) == pc) twin = OP_COLD_JMP;
  else if (get_op(i) == OP_FORLOOP && at + 1 - getarg_Bx(i) == pc) twin = OP_COLD_FORLOOP;
  else if (get_op(i) == OP_TFORLOOP && at + 1 - getarg_Bx(i) == pc) twin = OP_COLD_TFORLOOP;
  else return nullptr;
  *at = (i & ~Instruction(0x7f)) | twin;
  return at;
}

void jit_warm_loop(Instruction* at) { *at = plain_ins(*at); }

void jit_rearm(State* L, const Instruction* pc, uint32_t n) {
  JitSeam& j = L->g->jit;
  const Instruction* owner = j.attached[jit_slot(pc)].pc;
  if (owner != nullptr && owner != pc) return;
  jit_hotcount(j, pc) = rearm_value(L->g, std::max(n, 1u));
}

bool jit_charge_budget(GlobalState* g, uint64_t n) noexcept {
  uint64_t& b = g->instr_budget;
  if (b == 0) return true;
  if (b <= n) return false;
  b -= n;
  return true;
}

void set_jit_enabled(State* L, bool on) { jit_set_enabled(L, on); }
bool jit_enabled(State* L) { return L->g->jit.enabled; }
void set_jit_options(State* L, const JitOptions& options) { jit_set_options(L, options); }
JitOptions get_jit_options(State* L) { return L->g->jit.options; }
JitStats get_jit_stats(State* L) { return jit_stats(L); }
void flush_jit(State* L) { jit_flush(L); }

namespace detail {

void interpreter_only(VmCore& core) { set_jit_backend(core.main, nullptr); }

}  // namespace detail

}  // namespace luna
