// The seam between the interpreter and a trace compiler: an entry/exit
// protocol (docs/jit.md has the whole contract). The core knows a JIT only
// through this header; jit/ implements JitBackend and calls the jit_*
// functions below. Nothing here is public API.
//
//   hot:    loop back-edges decrement a counter inline (a small table
//           hashed by pc); at zero the dispatcher calls on_hot_loop.
//   record: the backend may call jit_start_recording; from then on the
//           dispatcher calls record() before every instruction of that
//           thread (through the hook trap check it already makes, so it
//           costs nothing when off) until jit_stop_recording.
//   enter:  the backend attaches a compiled trace to its loop's pc with
//           jit_attach; the next time the interpreter takes that back-edge
//           it reserves what the trace declares and calls trace->run.
//   exit:   run() returns the pc to resume at, after restoring the stack
//           slots and frames from the exit's snapshot; it never throws.
#pragma once

#include <cstdint>
#include <memory>

#include "luna/jit.hpp"
#include "object.hpp"

namespace luna {

struct State;
struct CallInfo;
struct GlobalState;
struct JitExit;  // the backend's exit record, opaque to the core

// A compiled trace as the core sees it. The backend allocates it (usually
// as the first part of its own trace object) and keeps it alive while it
// is attached.
struct JitTrace {
  // Runs the trace with the frame ci (whose registers start at
  // ci->func + 1 and whose savedpc is the loop's pc). Returns the pc the
  // interpreter resumes at, in the frame L->ci, after writing back every
  // register and frame the exit's snapshot names; or nullptr when the
  // trace returned from ci (a function's trace, entered by jit_call_event). Must not throw, allocate
  // from the Lua heap, run Lua code or yield.
  using RunFn = const Instruction* (*)(State* L, CallInfo* ci, JitTrace* trace) noexcept;
  RunFn run = nullptr;
  // Stack slots above the frame's base the trace and its exits may write;
  // the seam makes them exist before run.
  int stack_slots = 0;
  // Lua frames above ci its exits may rebuild (inlined calls); the seam
  // preallocates that many CallInfos before run.
  int frames = 0;
  // run's parts, for a function's trace called from native code without
  // run's call (TruthCalls, table.sort's comparator): the frame's
  // ctx is set to return_ctx, then entry runs the machine code with L and
  // the frame's base. It returns `returned` when the trace returned from
  // the frame, its results in place but L->top not set (the caller sets
  // it); any other exit goes to leave, which returns what run would.
  // A null entry: only run may enter the trace.
  using EntryFn = JitExit* (*)(State* L, TValue* base);
  using LeaveFn = const Instruction* (*)(State* L, JitTrace* trace, JitExit* x) noexcept;
  EntryFn entry = nullptr;
  KContext return_ctx = 0;
  const JitExit* returned = nullptr;
  LeaveFn leave = nullptr;
};

// Passed to JitBackend::mark during a collection.
class JitMarker {
 public:
  virtual void mark(GCObject* o) = 0;  // o (and what it refers to) survives this cycle
 protected:
  ~JitMarker() = default;
};

class JitBackend {
 public:
  virtual ~JitBackend() = default;
  // The loop whose back-edge lands at pc (in frame ci, state saved) is hot.
  // The backend may start recording (jit_start_recording), attach a trace
  // it already has (jit_attach), or ignore it (blacklisted, aborted).
  virtual void on_hot_loop(State* L, CallInfo* ci, const Instruction* pc) noexcept = 0;
  // The function of frame ci, just entered by a call, is hot (its first
  // instruction's counter ran out; state saved). Like on_hot_loop; a
  // backend without function traces ignores it.
  virtual void on_hot_call(State*, CallInfo*) noexcept {}
  // While recording: the instruction at pc of frame ci runs next. The
  // backend stops recording itself (jit_stop_recording) on completion or
  // abort; it must abort if ci is not a frame it expects or if L->hookmask
  // is set. Returns whether frame ci keeps trapping: false lets a frame the
  // recording does not follow (a call it leaves to the interpreter) run at
  // full speed; frames it calls trap again at their first instruction.
  virtual bool record(State* L, CallInfo* ci, const Instruction* pc) noexcept = 0;
  // Mark every collectable object compiled code refers to (constants,
  // guarded identities). Never the prototype a trace belongs to: the
  // prototype owns its traces (on_proto_free), not the reverse.
  virtual void mark(JitMarker& m) noexcept = 0;
  // p is being freed: detach and free everything compiled for it.
  virtual void on_proto_free(State* L, Proto* p) noexcept = 0;
  // Drop every trace (jit.flush, jit.off, options changed). The seam has
  // already detached them all and stopped recording.
  virtual void flush(State* L) noexcept = 0;
  virtual JitStats stats() const noexcept = 0;
};

// Size of the hot-counter and attached-trace tables (a power of two):
// loops hash into them by pc; two loops may share a slot.
constexpr unsigned JIT_SLOTS = 256;
inline unsigned jit_slot(const Instruction* pc) {
  return static_cast<unsigned>(reinterpret_cast<uintptr_t>(pc) / sizeof(Instruction)) & (JIT_SLOTS - 1);
}

// The seam's state, inside GlobalState.
struct JitSeam {
  JitBackend* backend;        // owned; nullptr: the interpreter only
  bool enabled;               // backend installed and switched on
  State* recorder;            // the thread being recorded, or nullptr
  JitOptions options;
  uint64_t entries;           // into compiled code (statistics)
  // Coroutine calls in progress from compiled code (coroutine_call in
  // jit/src/record_native.cpp): they run Lua code, and may collect, under a
  // trace's native frame. While any runs, no trace code is freed: a flush
  // is put off (flush_due) until the trace has left.
  int lua_calls;
  bool flush_due;
  // Set after such a call when the trace must leave after it (a hook or a
  // budget was set, a flush is due, the JIT was switched off): the trace
  // guards it null.
  void* leave_after_call;
  // An error such a call raised (its message handler already ran): the
  // seam raises it again once the trace has left at the call. Nothing
  // collects in between.
  int pending_status;
  TValue pending_error;
  // Per slot: back-edges left before the seam is called. A slot with an
  // attached trace is kept at 1, so its back-edge always reaches the seam.
  uint32_t hotcount[JIT_SLOTS];
  // While an instruction budget counts, hotcount is held at 1 (so the
  // inline path never tests the budget) and hotness is counted here.
  uint16_t budget_hot[JIT_SLOTS];
  // The back-edge whose on_hot_loop runs: its target and distance
  // (jit_cool_loop finds the instruction from them), else nullptr.
  const Instruction* event_pc;
  int event_n;
  struct Attached {
    const Instruction* pc;  // loop back-edge target with a trace, or nullptr
    JitTrace* trace;
  } attached[JIT_SLOTS];
};

// The hot counter of the loop landing at pc. Counters are as wide as an
// instruction, so the pc's low bits index them directly (a mask, no shift).
inline uint32_t& jit_hotcount(JitSeam& j, const Instruction* pc) {
  static_assert(sizeof(Instruction) == sizeof(uint32_t));
  uintptr_t off = reinterpret_cast<uintptr_t>(pc) & ((JIT_SLOTS - 1) * sizeof(uint32_t));
  return *reinterpret_cast<uint32_t*>(reinterpret_cast<char*>(j.hotcount) + off);
}

// A Lua function p was just entered (pc: its first instruction) while the
// JIT is on: its hot counter is decremented like a back-edge's unless the
// JIT gave up on the function (Proto::jit_cold_entry). True when the seam
// is due (jit_call_event). Shared by the dispatcher's CALL/TAILCALL and
// TruthCalls (table.sort's comparator calls).
inline bool jit_entry_due(JitSeam& j, const Proto* p, const Instruction* pc) {
  return __builtin_expect(!p->jit_cold_entry, 1) && --jit_hotcount(j, pc) == 0;
}

// The trace attached at p's first instruction (pc), or nullptr: a call
// from native code (TruthCalls) enters it by jit_enter_function
// without counting the entry (the counter of a slot with a trace stays 1).
inline JitTrace* jit_function_trace(JitSeam& j, const Proto* p, const Instruction* pc) {
  const JitSeam::Attached& a = j.attached[jit_slot(pc)];
  return __builtin_expect(a.pc == pc && !p->jit_cold_entry, 1) ? a.trace : nullptr;
}

// ---- for the core (jit_seam.cpp) ----
void jit_init(GlobalState* g);
// Installs a backend (owned from now on; null: the interpreter only),
// deleting the previous one after flushing it.
void set_jit_backend(State* L, std::unique_ptr<JitBackend> backend);
// The slow path of a counted back-edge landing at pc (state saved): charges
// the instruction budget, starts a hot event, or enters an attached trace.
// Returns the pc to continue at in L->ci (pc itself when nothing ran).
const Instruction* jit_loop_event(State* L, CallInfo* ci, const Instruction* pc, int n);
// A Lua function's frame ci was just entered by a call (state saved, its
// savedpc the function's first instruction) and the hot counter of that
// instruction ran out: like a loop event at that pc, it may start a
// recording or enter an attached trace. Returns the pc to continue at in
// L->ci, or nullptr when compiled code returned from ci (L->ci is its
// caller again, the results in place): the dispatcher finishes the return.
const Instruction* jit_call_event(State* L, CallInfo* ci);
// jit_call_event for a frame whose function has the trace t attached
// (jit_function_trace): enters it when nothing stands in the way, with
// jit_call_event's checks and none of its counting; else jit_call_event.
const Instruction* jit_enter_function(State* L, CallInfo* ci, JitTrace* t);
// After t's entry (JitTrace::entry) returned x from the frame L->ci: the
// exit's handling, or, when it returned, the work a coroutine call from
// the trace put off. Returns as jit_call_event.
const Instruction* jit_function_left(State* L, JitTrace* t, JitExit* x);
// A native function called by CALL or TFORCALL at pc - 1 of frame ci just
// returned (state saved) and a trace is attached at pc: a trace stitched
// across the call (docs/jit.md, "Stitching"). Enters it when nothing could
// raise before it runs (the room it declares is there; no hook, budget or
// recording); returns like jit_call_event.
const Instruction* jit_stitch_event(State* L, CallInfo* ci, const Instruction* pc);
// The hook trap fired with recording on: calls record if L is the
// recorder. Returns whether the frame must keep trapping.
bool jit_record_step(State* L, CallInfo* ci, const Instruction* pc);
void jit_proto_freed(State* L, Proto* p);
// The instruction budget was (re)loaded: a counting budget holds every hot
// counter at 1, so each back-edge reaches jit_loop_event.
void jit_budget_changed(GlobalState* g);
void jit_thread_freed(State* L, State* L1);
void jit_mark_roots(GlobalState* g, JitMarker& m);

// ---- for backends and hosts ----
void jit_set_enabled(State* L, bool on);  // off: flushes too
void jit_set_options(State* L, const JitOptions& o);  // flushes, re-arms counters
void jit_flush(State* L);
JitStats jit_stats(State* L);  // zeros without a backend
void jit_start_recording(State* L);  // the running frame of L traps from its next instruction
void jit_stop_recording(State* L);
void jit_attach(State* L, const Instruction* pc, JitTrace* trace);  // may evict another loop's
void jit_detach(State* L, const Instruction* pc);
// Sets the hot counter of the loop at pc to n back-edges (unless the slot
// holds another loop's trace): a backend retrying a loop at a different
// iteration than the one whose recording failed.
void jit_rearm(State* L, const Instruction* pc, uint32_t n);
// Gives up on the loop at pc, from within on_hot_loop for it: the back-edge
// that reached the seam becomes its non-counting twin (OP_COLD_* in
// opcodes.hpp), so the loop costs what it costs with the JIT off. Returns
// the patched instruction for jit_warm_loop, or nullptr when there is none
// (the hot counter is then parked at its slowest).
Instruction* jit_cool_loop(State* L, const Instruction* pc);
void jit_warm_loop(Instruction* at);  // the patched instruction counts again

// For compiled code, once per loop iteration of n interpreter
// instructions: false when the instruction budget would run out, and the
// trace must then exit (the interpreter raises the error on its next
// charge). Reads and writes GlobalState::instr_budget only.
bool jit_charge_budget(GlobalState* g, uint64_t n) noexcept;

}  // namespace luna
