// The trace recorder. Started at the first instruction of a hot loop, it is
// shown every instruction before the interpreter executes it, with the live
// frame, and emits IR for it: a guard for every fact about the current values
// it relies on (types, integer vs float, array bounds, hash slot keys, branch
// directions), the operation itself, and the slot writes. Recording ends when
// control comes back to the loop start; anything it does not cover aborts
// with a reason.
#pragma once

#include <functional>

#include "builtin.hpp"
#include "ir.hpp"
#include "snapshot.hpp"
#include "trace.hpp"
#include "state.hpp"

namespace luna::jit {

// Skip: continue, and the frame being shown need not trap any more (the
// recording waits for a call it leaves to the interpreter to return).
enum class RecordStatus { Continue, Done, Abort, Skip };

class Recorder {
 public:
  static constexpr int kMaxInstructions = 400;

  // The entry of the compiled loop trace of p starting at pc that may be
  // entered with the frame's values at base (null: none), and what entering
  // p's traces must reserve. p is the trace's own prototype, or an inlined
  // callee's (whose loop the side trace enters after making the inlined
  // frames real).
  struct Link {
    void* entry = nullptr;
    const Reserve* reserve = nullptr;
  };
  using LinkFn = std::function<Link(const Proto* p, const Instruction* pc, const TValue* base)>;
  // The function trace of p a call may enter (a CALLOUT): its entry and what
  // entering p's traces must reserve; entry null when p has none, and
  // `later` when it may still get one (its entry is not blacklisted).
  struct Callee {
    void* entry = nullptr;
    const Reserve* reserve = nullptr;
    bool later = false;
  };
  using CalleeFn = std::function<Callee(const Proto* p)>;

  // A root trace records one iteration of the loop starting at start. With
  // link, a side trace: it records from start (an exit of another trace)
  // until it reaches the start of a loop that has a trace, and jumps there.
  Recorder(Proto* p, CallInfo* ci, const Instruction* start, LinkFn link = {});
  bool is_side() const { return static_cast<bool>(link_); }
  // A side trace of an exit inside inlined calls starts in the innermost of
  // them (frame f of the parent's chain), whose CallInfos the exit made real
  // above the trace's own frame: the recording keeps them as inlined frames
  // (record_call.cpp). False when the CallInfos are not those frames.
  bool inherit_frames(const std::vector<SnapFrame>& parent, int32_t f);
  // The slots the parent's exit wrote, with the tags it wrote them with
  // (Trace::exit_tags): the side trace runs right after those stores, so
  // its loads of them need no tag guard until something outside the trace
  // may write the frame (the same events that end known_types_).
  void inherit_types(const std::pair<int32_t, Tag>* from, const std::pair<int32_t, Tag>* to);
  // What the parent's exit proves (Trace::exit_facts), for an exit in the
  // trace's own frame: the guard of the first instruction that re-tests it
  // is left out.
  void inherit_fact(const ExitFact& f) { exit_fact_ = f; }
  // The prototype of the frame the recording starts in (start() is its pc).
  const Proto* start_proto() const { return start_proto_; }
  // A function's trace (started at its first instruction), or a side trace
  // of one: it ends by returning from its frame (RET), a call of its own
  // function becomes a CALLOUT into the function's trace (callout_entry,
  // or null for the trace being recorded; reserve: what its traces need on
  // entry) and a tail call of it a loop (record_recursion.cpp).
  void set_function(void* callout_entry, const Reserve* reserve);
  bool returns() const { return func_; }
  // Calls from the trace's own frame of a function that has a function
  // trace become CALLOUTs into it (binary_trees' loop calling its recursive
  // tree builder), rather than inlined calls that would recurse.
  void set_callees(CalleeFn callees) { callees_ = std::move(callees); }
  // A trace continuing after a stitched native call (record_stitch.cpp): a
  // side recording from the instruction after the call, kept and attached
  // like a root trace at that pc.
  void set_continuation() { continuation_ = true; }
  bool continuation() const { return continuation_; }
  int instructions() const { return count_; }
  // The last instruction jumping back to start (the loop's extent).
  static const Instruction* loop_end(const Proto* p, const Instruction* start);
  const Instruction* link_target() const { return link_pc_; }
  const Proto* link_proto() const { return link_proto_; }
  // Before the interpreter executes *pc in frame ci.
  RecordStatus step(State* L, CallInfo* ci, const Instruction* pc);

  const char* abort_reason() const { return reason_; }
  void abort_with(const char* why) { reason_ = why; }
  // The abort says nothing against the loop (it only happened to end while
  // being recorded): it does not count towards blacklisting.
  bool retryable() const { return retryable_; }
  IrBuffer& ir() { return ir_; }
  Proto* proto() const { return proto_; }
  const Instruction* start() const { return start_; }
  // What entering the trace must reserve: slots above the frame's base and
  // CallInfos above its frame, for the inlined calls (record_call.cpp).
  int stack_slots() const { return stack_slots_; }
  int max_depth() const { return max_depth_; }
  // The trace assigns an upvalue or calls out to another function's traces
  // (Reserve::sets_upvalues of its prototype).
  bool sets_upvalues() const { return sets_upvalues_; }

 private:
  RecordStatus record(State* L, const Instruction* pc);
  RecordStatus close_loop();
  RecordStatus close_link(const Proto* p, const Instruction* pc, const Link& link);
  bool for_prep(int a);
  bool for_loop(int a, const Instruction* target);
  Ref for_step(int a, const Instruction* body);
  RecordStatus abort(const char* why) {
    reason_ = why;
    return RecordStatus::Abort;
  }

  Ref slot(int s);                     // current value of R[s]
  Ref konst(const TValue& v);          // an IR constant for a Lua constant (NO_REF: unsupported)
  Ref guard(IrOp op, Ref a, Ref b);     // emits a guard with the current snapshot
  Ref load_value(Ref ptr, const TValue& seen);  // typed load of a TValue
  bool arith(int op, int a, Ref rb, Ref rc, const TValue& vb, const TValue& vc);
  bool compare(OpCode op, Ref ra, Ref rb, const TValue& va, const TValue& vb, bool cond);
  Ref to_num(Ref r);
  // Table access: the address of t[key] (non-nil slot) or NO_REF.
  Ref table_slot(Ref t, const Table* h, Ref key, const TValue& kv);
  Ref array_slot(Ref t, Ref key);  // guards key within the array part
  void guard_no_metatable(Ref t);
  bool store_nothing(Ref t, Table* h, Ref key, const TValue& kv);
  bool guard_no_newindex(Ref t, Table* h);
  bool guard_tm_cached_absent(Ref t, Table* h, TMS e);
  Ref new_key_slot(Ref t, Table* h, Ref key, const TValue& kv);
  bool raw_array_access(const Table* h, const TValue& kv) const;
  bool get_table(State* L, int a, Ref t, const TValue& tv, Ref key, const TValue& kv);
  bool set_table(Ref t, const TValue& tv, Ref key, const TValue& kv, Ref val);
  Ref upvalue_ptr(int n);
  Ref upvalue_box(int n);
  // The running closure: the trace's own frame's, an inlined call's guarded
  // function, or (a frame a side trace inherited) its frame's function slot.
  Ref frame_closure();
  // The value of t[name] (a short string key, constant or not), looked up in
  // t and, while absent, through __index tables (up to three levels), with
  // guards on the key's absence, each metatable's identity and its __index
  // slot; NO_REF where it takes an __index function or more levels.
  Ref index_chain(State* L, Ref t, Table* h, Ref key, String* name);
  Ref get_str(Ref t, Ref key);  // the TabGetStr lookup: a value slot or the absent key
  // The table the string metatable's __index holds (string_methods, or
  // nullptr), and its IR value, guarded: the metatable and its __index.
  Table* string_methods(State* L) const;
  Ref string_methods_ref(State* L, Table* methods);

  // Values the trace allocates (record_alloc.cpp).
  Ref helper(Helper h, IrType t, Ref a, Ref b = NO_REF);
  Ref alloc(Helper h, Tag tag, Ref a, Ref b = NO_REF);  // guarded non-null
  bool new_table(int a, const Instruction* pc);
  bool set_list(int a, Instruction i);
  Ref set_metatable(int a, int nargs);  // the builtin: its result, t
  bool closure(int a, int bx);
  bool close_upvalues(int from);  // upvalues of slots from `from` up (the current frame's)
  bool concat(int a, int n);
  Ref to_string(Ref r, const TValue& v);  // an integer or a string as a string
  // A new string's tag is its length's (short or long): guards the one recorded.
  void guard_str_tag(Ref s, Tag expect);

  // Inlined calls and builtins (record_call.cpp).
  RecordStatus follow_frame(CallInfo* ci, const Instruction* pc);
  RecordStatus call(const Instruction* pc);
  RecordStatus tailcall(const Instruction* pc);
  RecordStatus self(State* L, const Instruction* pc);
  RecordStatus enter(int a, int nargs, const TValue& fv, bool tail);
  int call_args(int a, int b) const;
  RecordStatus builtin(int a, int nargs, int c, const TValue& fv);  // record_builtin.cpp
  Ref math_builtin_ir(Builtin f, int a, int nargs);
  Ref string_builtin_ir(Builtin f, int a, int nargs);
  Ref base_builtin_ir(Builtin f, int a, int nargs);
  Ref str_position(Ref pos, Ref len, Integer p, Integer l, bool end);
  bool tfor_call(State* L, int a, int c);
  RecordStatus ret(int a, int b);
  // A library function called from the trace (record_native.cpp); false:
  // not one it calls with these arguments (the call is stitched).
  bool native(const Instruction* pc, int a, int nargs, int c, const TValue* vals);
  bool native_tfor(const Instruction* pc, int a, int c);
  bool coroutine_native(const Instruction* pc, int a, int nargs, int c, const TValue* vals);
  bool create_native(const Instruction* pc, int a, int nargs, int c, const TValue* vals);
  bool leaf_ncall(const Instruction* pc, int a, int nargs, int c, NativeFn fn);
  bool pcall_native(const Instruction* pc, int a, int nargs, int c);  // record_pcall.cpp
  bool running_ncall(const Instruction* pc, int a, int nargs, int c, void* fn);
  // string.format of a constant format into the concatenation buffer
  // (record_format.cpp); false, having emitted nothing but guards: an NCALL.
  bool format(int a, int nargs, int c);
  bool find_item(int a, int nargs, int c, const TValue* vals);
  bool find_chain(int a, int nargs, int c, const TValue* vals);
  bool gsub_item(int a, int nargs, int c, const TValue* vals);
  // Guards that numbers have no metatable (no __tostring, __name); false
  // when they have one now.
  bool guard_numbers_plain();
  // Guards that tostring of strings and numbers runs no __tostring; false:
  // it may now.
  bool guard_tostring_plain();
  // Ends the trace before a native call at pc (record_stitch.cpp).
  RecordStatus stitch(const Instruction* pc);
  // Function traces (record_recursion.cpp).
  RecordStatus await_callout(State* L, CallInfo* ci, const Instruction* pc);
  bool guard_proto(int a, Proto* p);
  RecordStatus callout(const Instruction* pc, Proto* p, void* entry, const Reserve* reserve);
  RecordStatus tail_self(const Instruction* pc);
  RecordStatus tail_root(const Instruction* pc);
  RecordStatus ret_out(int a, int n);
  RecordStatus ret_down(int a, int n);
  // Slots below a CALLOUT's callee keep the types the trace gave them
  // (known_types_; a side trace's entry also fills it, inherit_types):
  // loads after it need no tag guard.
  void keep_types_below(int func_slot);
  bool known_after_callout(int slot, Tag t) const;
  void forget_known_slots();
  void forget_running_closure();
  // The closure running the trace's own frame, known without a guard: R[a]
  // holds a value guarded to be it, or a slot below a CALLOUT's callee that
  // did (compiled code does not write those); an upvalue the guard read it
  // from keeps it across CALLOUTs of the function itself while no trace of
  // the function assigns upvalues (guarded at run time).
  bool is_running_closure(int a) const;
  void note_running_closure(Ref f);
  Ref known_upvalue(int n);
  bool note_upvalue_load(Ref v, int n);
  void note_upvalue_set();
  // A Lua frame the trace runs in: the loop's, then one per inlined call.
  struct Frame {
    CallInfo* ci;
    LClosure* cl;      // the closure seen when recording
    Ref clref;         // the running closure (NO_REF: read from the frame when needed)
    int base;          // its register 0, as a slot of the trace's frame
    int32_t snap;      // its SnapFrame (-1: the loop's frame)
  };

  Proto* proto_;
  const Proto* start_proto_;
  const Instruction* start_;
  const Instruction* end_;
  bool continuation_ = false;
  bool closing_ = false;             // the FORLOOP being recorded closes the trace
  LinkFn link_;
  const Instruction* link_pc_ = nullptr;
  const Proto* link_proto_ = nullptr;
  const Instruction* pc_ = nullptr;  // instruction being recorded
  State* L_ = nullptr;               // the recording thread
  TValue* base_ = nullptr;
  LClosure* cl_ = nullptr;
  int count_ = 0;
  const char* reason_ = nullptr;
  bool retryable_ = false;
  int coroutine_calls_ = 0;  // NCALLs of coroutine functions (record_native.cpp)
  IrBuffer ir_;
  SlotState slots_;
  std::vector<Frame> frames_;
  LClosure* callee_ = nullptr;  // a recorded call whose frame appears next
  int32_t pending_ = -1;        // its SnapFrame
  Ref callee_ref_ = NO_REF;     // its closure
  bool callee_tail_root_ = false;  // it replaces the trace's own frame (tail_root)
  bool tail_called_ = false;       // the trace's own frame runs another function now
  const Instruction* return_pc_ = nullptr;  // a recorded return continues there
  int stack_slots_ = 0;
  int max_depth_ = 0;
  bool func_ = false;                          // see set_function
  void* callout_entry_ = nullptr;
  CalleeFn callees_;
  const Reserve* reserve_ = nullptr;
  bool tail_self_ = false;                     // a tail call of the function just recorded
  const Instruction* callout_ret_ = nullptr;   // a CALLOUT's call runs; the frame resumes there
  ptrdiff_t callout_func_ = 0;                 // the frame's function slot, as a stack offset
  int callout_a_ = -1;                         // its function's slot, when it wants variable results
  // Whether the guard `a op b` tests exit_fact_ (only while recording the
  // side trace's first instruction, whose slots hold what the exit wrote).
  bool known_by_exit(IrOp op, Ref a, Ref b) const;
  ExitFact exit_fact_;
  std::vector<std::pair<int, Tag>> known_types_;  // trace slot and tag (keep_types_below)
  std::vector<Ref> closure_refs_;                  // values guarded to be the running closure
  std::vector<std::pair<Ref, int>> upvalue_loads_;  // GETUPVAL n of the trace's frame, by value
  std::vector<int> closure_upvalues_;              // upvalues known to hold the running closure
  std::vector<int> closure_slots_;                 // trace slots holding it since before a CALLOUT
  // Self-CALLOUTs those were known across, with the snapshot after each
  // (-1: none, it wants variable results), until a read covers them.
  std::vector<std::pair<Ref, int32_t>> crossed_callouts_;
  bool sets_upvalues_ = false;
  int rebase_ = 0;                             // slots the frame moved down by returns to callers
};

// The protocol of an NCALL that may run Lua code (coroutine_call,
// record_native.cpp, which says why; pcall_call, record_pcall.cpp): the
// frame's savedpc set, call() made with the stack top at top, what it
// raises caught and kept in the seam, and the bit 0 and leave_after_call
// answers the trace reads.
template <class Call>
uintptr_t call_lua_from_trace(State* L, TValue* func, TValue* top, const Instruction* savedpc, Call call) noexcept {
  GlobalState* g = L->g;
  JitSeam& j = g->jit;
  ptrdiff_t fo = L->save(func), old_top = L->save(L->top);
  CallInfo* old_ci = L->ci;
  uint8_t old_allowhook = L->allowhook;
  unsigned old_nCcalls = L->nCcalls, old_nny = L->nny;
  old_ci->savedpc = savedpc;
  ptrdiff_t room = L->stack_last - func;
  L->top = top;
  j.lua_calls++;
  // A plain try block, not run_protected (~40 instructions a call, its jump
  // target): an error raised under the call never jumps over this function
  // (throw_status jumps only where no native frame lies between the raise
  // and its catch, and the callee's frame is one), so it arrives as an
  // exception.
  int st = OK;
  try {
    call();
  } catch (LuaThrow& e) {
    st = e.status;
  } catch (...) {
    st = ERRMEM;
  }
  j.lua_calls--;
  func = L->restore(fo);
  if (st == OK) {
    bool leave = L->hookmask != 0 || g->instr_budget != 0 || j.flush_due || !j.enabled || L->stack_last - func < room;
    j.leave_after_call = leave ? &j.leave_after_call : nullptr;
    return reinterpret_cast<uintptr_t>(func);
  }
  // The error object is on top (ERRMEM's and ERRERR's the catcher makes).
  j.pending_error = st == ERRMEM ? str_value(g->memerrmsg) : L->top[-1];
  j.pending_status = st;
  L->ci = old_ci;
  L->allowhook = old_allowhook;
  L->nCcalls = old_nCcalls;
  L->nny = old_nny;
  L->top = L->restore(old_top);
  return reinterpret_cast<uintptr_t>(func) | 1;
}

}  // namespace luna::jit
