// Inlined Lua-to-Lua calls. A CALL of a Lua closure is recorded as a guard
// on the callee's prototype; the interpreter then enters the callee, whose
// instructions are recorded in its own frame: its registers are the slots
// just above the called function's slot, so the arguments are already in
// place. Its RETURN moves the results into the caller's slots. Snapshots
// taken inside the callee name its frame (a SnapFrame chain), from which
// an exit rebuilds the CallInfos the interpreter would have had.
#include "record.hpp"
#include "trace.hpp"

namespace luna::jit {

RecordStatus Recorder::follow_frame(CallInfo* ci, const Instruction* pc) {
  if (callee_ != nullptr && callee_tail_root_) {
    // The tail call just recorded must have replaced the trace's frame.
    LClosure* cl = callee_;
    callee_ = nullptr;
    callee_tail_root_ = false;
    Frame& f = frames_.front();
    if (ci != f.ci || ci->func + 1 != base_ || ci->func->tag != Tag::LClosure || ci->func->as_lclosure() != cl ||
        pc != cl->p->code)
      return abort("tail call entered an unexpected frame");
    f.cl = cl;
    f.clref = callee_ref_;
    forget_known_slots();
    forget_running_closure();
    tail_called_ = true;
    stack_slots_ = std::max(stack_slots_, f.base + cl->p->maxstacksize - rebase_);
    return RecordStatus::Continue;
  }
  if (callee_ != nullptr) {
    // The call just recorded must have entered its callee.
    LClosure* cl = callee_;
    callee_ = nullptr;
    const Frame& caller = frames_.back();
    const SnapFrame& sf = ir_.snap_frames()[static_cast<size_t>(pending_)];
    if (ci->previous != caller.ci || ci->func != caller.ci->func + 1 + (sf.func_slot - caller.base) ||
        ci->func->tag != Tag::LClosure || ci->func->as_lclosure() != cl || pc != cl->p->code)
      return abort("call entered an unexpected frame");
    Frame f{ci, cl, callee_ref_, sf.func_slot + 1, pending_};
    frames_.push_back(f);
    forget_known_slots();
    slots_.set_frame(f.snap, f.base);
    stack_slots_ = std::max(stack_slots_, f.base + cl->p->maxstacksize - rebase_);
    max_depth_ = std::max(max_depth_, static_cast<int>(frames_.size()) - 1);
    return RecordStatus::Continue;
  }
  if (ci != frames_.back().ci) return abort("left the loop's frame");
  if (return_pc_ != nullptr && pc != return_pc_) return abort("returned to an unexpected instruction");
  return_pc_ = nullptr;
  return RecordStatus::Continue;
}

// Arguments of a call at register a with operand B: B - 1, or (B = 0) up to
// the top the call with variable results just before it left; -1: unknown.
int Recorder::call_args(int a, int b) const {
  if (b != 0) return b - 1;
  if (slots_.top() < 0) return -1;
  return slots_.top() - (slots_.base() + a + 1);
}

RecordStatus Recorder::call(const Instruction* pc) {
  Instruction i = *pc;
  int a = getarg_A(i), c = getarg_C(i);
  int nargs = call_args(a, getarg_B(i));
  if (nargs < 0) return abort("call with variable arguments");
  const TValue& fv = base_[a];
  if (fv.tag == Tag::LightFn || fv.tag == Tag::NClosure) {
    // A native function not recorded as IR is made by the interpreter.
    RecordStatus bs = fv.tag == Tag::LightFn ? builtin(a, nargs, c, fv) : RecordStatus::Abort;
    if (bs == RecordStatus::Abort && native(pc, a, nargs, c, base_ + a)) return RecordStatus::Continue;
    return bs == RecordStatus::Abort ? stitch(pc) : bs;
  }
  if (frames_.size() == 1 && fv.tag == Tag::LClosure) {
    // Only from the trace's own frame: a CALLOUT makes that frame real.
    Proto* p = fv.as_lclosure()->p;
    if (func_ && p == proto_) return callout(pc, p, callout_entry_, reserve_);
    if (callees_)
      if (Callee ce = callees_(p); ce.entry != nullptr) return callout(pc, p, ce.entry, ce.reserve);
  }
  RecordStatus st = enter(a, nargs, fv, false);
  if (st != RecordStatus::Continue) return st;
  int maxstack = fv.as_lclosure()->p->maxstacksize;
  pending_ = ir_.add_frame(SnapFrame{slots_.frame(), slots_.base() + a, c - 1, maxstack, pc + 1});
  return st;
}

// A tail call from an inlined callee: the new callee takes its frame (its
// function slot, its caller and its wanted results), as in the interpreter.
RecordStatus Recorder::tailcall(const Instruction* pc) {
  Instruction i = *pc;
  int a = getarg_A(i);
  if (frames_.size() == 1) {
    const TValue& f = base_[a];
    // A tail call of the function itself loops, unless the frame already
    // runs another function; any other call takes the frame over (in side
    // traces: a root trace records its own function's code only).
    if (func_ && f.tag == Tag::LClosure && f.as_lclosure()->p == proto_ && frames_.front().cl->p == proto_)
      return tail_self(pc);
    if (is_side()) return tail_root(pc);
    return abort("tail call from the loop's frame");
  }
  if (getarg_k(i)) return abort("tail call closing upvalues");
  int nargs = call_args(a, getarg_B(i));
  if (nargs < 0) return abort("call with variable arguments");
  const TValue& fv = base_[a];
  if (fv.tag == Tag::LightFn) {
    // `return f(x)` of a builtin: its result, then the return.
    RecordStatus bs = builtin(a, nargs, 0, fv);
    return bs != RecordStatus::Continue ? bs : ret(a, 0);
  }
  RecordStatus st = enter(a, nargs, fv, true);
  if (st != RecordStatus::Continue) return st;
  const Frame cur = frames_.back();
  const SnapFrame csf = ir_.snap_frames()[static_cast<size_t>(cur.snap)];
  Proto* p = fv.as_lclosure()->p;
  // Function and arguments move down to the frame's function slot (-1).
  std::vector<Ref> moved;
  for (int k = 0; k <= nargs; k++) moved.push_back(slot(a + k));
  for (int k = 0; k <= nargs; k++) slots_.set(k - 1, moved[static_cast<size_t>(k)]);
  for (int k = nargs; k < p->numparams; k++) slots_.set(k, ir_.knil());
  slots_.forget_from(cur.base + std::max(nargs, static_cast<int>(p->numparams)));
  frames_.pop_back();
  slots_.set_frame(frames_.back().snap, frames_.back().base);
  callee_ref_ = moved[0];
  pending_ = ir_.add_frame(SnapFrame{csf.parent, csf.func_slot, csf.nresults, p->maxstacksize, csf.ret_pc, true});
  return st;
}

// A tail call from a side trace's own frame (richards: a task's run method
// ends in `return self.sched:queue_packet(p)`; json: a function trace's
// `return decode_string(s, i)`): as the interpreter's, the callee takes the
// frame (SETTAIL stores it in the function slot, marks the frame and sizes
// it) and the recording goes on in it, up to its RET in a function trace.
// A vararg frame would move down (its varargs are below it): left to the
// interpreter.
RecordStatus Recorder::tail_root(const Instruction* pc) {
  Instruction i = *pc;
  int a = getarg_A(i);
  if (getarg_k(i)) return abort("tail call closing upvalues");
  if (frames_.front().cl->p->is_vararg) return abort("tail call from a vararg function");
  int nargs = call_args(a, getarg_B(i));
  if (nargs < 0) return abort("call with variable arguments");
  const TValue& fv = base_[a];
  RecordStatus st = enter(a, nargs, fv, true);
  if (st != RecordStatus::Continue) return st;
  Proto* p = fv.as_lclosure()->p;
  std::vector<Ref> args;
  for (int k = 1; k <= nargs; k++) args.push_back(slot(a + k));
  for (int k = 0; k < p->numparams; k++) slots_.set(k, k < nargs ? args[static_cast<size_t>(k)] : ir_.knil());
  slots_.forget_from(slots_.base() + p->numparams);
  IrIns t = ir_ins(IrOp::SETTAIL, IrType::Void, callee_ref_);
  t.aux = p->maxstacksize;
  ir_.emit(t);
  callee_tail_root_ = true;
  return st;
}

// Guards a call of fv at register a that the recording can follow into,
// and fills the parameters the call does not pass with nil.
RecordStatus Recorder::enter(int a, int nargs, const TValue& fv, bool tail) {
  if (fv.tag != Tag::LClosure) return abort("call of a non-Lua function");
  LClosure* cl = fv.as_lclosure();
  Proto* p = cl->p;
  if (p->is_vararg) return abort("call of a vararg function");
  // Recursion would unroll without bound: leave it to the interpreter.
  // Once p has a function trace, a call from the trace's own frame calls
  // out to it: try again then (binary_trees' loop may get hot first).
  for (const Frame& f : frames_)
    if (f.cl->p == p) {
      retryable_ = !func_ && callees_ && callees_(p).later;
      return abort("recursive call");
    }
  if (!tail && static_cast<int>(frames_.size()) > SlotState::kMaxDepth) return abort("calls nested too deep");
  // The prototype, not the closure, is what the recording depends on: a
  // closure created anew for each use of the loop (a callback argument)
  // keeps the trace valid. Its upvalues are read through the closure. The
  // prototype is a collected constant, so its address is never reused while
  // the trace exists.
  Ref f = slot(a);
  IrIns pf = ir_ins(IrOp::FLOAD, IrType::Ptr, f);
  pf.aux8 = static_cast<uint8_t>(Field::ClProto);
  guard(IrOp::EQ, ir_.emit(pf), ir_.kgc(p, Tag::Proto));
  slots_.set_top(-1);  // taken by this call
  if (!tail)
    for (int k = nargs; k < p->numparams; k++) slots_.set(a + 1 + k, ir_.knil());
  callee_ref_ = f;
  callee_ = cl;
  return RecordStatus::Continue;
}

// obj:name(...): R[A+1] = obj, R[A] = obj.name, looked up in obj and
// through its __index tables (index_chain). Loop-invariant objects make all
// of it invariant.
RecordStatus Recorder::self(State* L, const Instruction* pc) {
  Instruction i = *pc;
  int a = getarg_A(i), b = getarg_B(i);
  const TValue& key = cl_->p->k[getarg_C(i)];
  if (!getarg_k(i) || key.tag != Tag::ShortStr) return abort("method lookup");
  String* name = key.as_string();
  Ref obj = slot(b);
  // A string's methods (s:sub(i)) come from its metatable's __index table.
  Table* h = base_[b].is_table() ? base_[b].as_table() : base_[b].is_string() ? string_methods(L) : nullptr;
  if (h == nullptr) return abort("method lookup");
  Ref t = base_[b].is_table() ? obj : string_methods_ref(L, h);
  if (t == NO_REF) return abort("method lookup");
  Ref method = index_chain(L, t, h, ir_.kgc(name, Tag::ShortStr), name);
  if (method == NO_REF) return abort("method lookup");
  slots_.set(a + 1, obj);
  slots_.set(a, method);
  return RecordStatus::Continue;
}

// RETURN with operand B (B - 1 results, or up to the top for B = 0).
RecordStatus Recorder::ret(int a, int b) {
  int n = b != 0 ? b - 1 : slots_.top() < 0 ? -1 : slots_.top() - (slots_.base() + a);
  if (frames_.size() == 1) {
    if (func_ && n >= 0) return ret_out(a, n);
    if (is_side() && n >= 0) return ret_down(a, n);
    retryable_ = true;  // the loop ended while recorded, left by a return
    return abort("return from the loop's frame");
  }
  if (n < 0) return abort("return of variable results");
  std::vector<Ref> results;
  for (int k = 0; k < n; k++) results.push_back(slot(a + k));
  const SnapFrame sf = ir_.snap_frames()[static_cast<size_t>(frames_.back().snap)];
  frames_.pop_back();
  const Frame& caller = frames_.back();
  slots_.set_frame(caller.snap, caller.base);
  int func = sf.func_slot - caller.base;
  int wanted = sf.nresults < 0 ? n : sf.nresults;
  for (int k = 0; k < wanted; k++) slots_.set(func + k, k < n ? results[static_cast<size_t>(k)] : ir_.knil());
  // The callee's registers and the caller's above the results are dead.
  slots_.forget_from(sf.func_slot + wanted);
  // A call with variable results leaves them up to the top.
  slots_.set_top(sf.nresults < 0 ? sf.func_slot + n : -1);
  return_pc_ = sf.ret_pc;
  return RecordStatus::Continue;
}

// The parent's chain is copied into this trace's frames (its snapshots name
// them again); the frames' closures are read from their function slots when
// needed, since the exit wrote every slot to memory.
bool Recorder::inherit_frames(const std::vector<SnapFrame>& parent, int32_t f) {
  int32_t chain[SlotState::kMaxDepth];
  int n = 0;
  for (; f >= 0 && n < SlotState::kMaxDepth; f = parent[static_cast<size_t>(f)].parent) chain[n++] = f;
  if (f >= 0) return false;
  TValue* base = frames_.front().ci->func + 1;
  int32_t snap = -1;
  for (int k = n - 1; k >= 0; k--) {
    SnapFrame sf = parent[static_cast<size_t>(chain[k])];
    CallInfo* ci = frames_.back().ci->next;
    if (ci == nullptr || ci->func != base + sf.func_slot || ci->func->tag != Tag::LClosure) return false;
    sf.parent = snap;
    snap = ir_.add_frame(sf);
    LClosure* cl = ci->func->as_lclosure();
    frames_.push_back(Frame{ci, cl, NO_REF, sf.func_slot + 1, snap});
    stack_slots_ = std::max(stack_slots_, sf.func_slot + 1 + cl->p->maxstacksize);
  }
  slots_.set_frame(snap, frames_.back().base);
  start_proto_ = frames_.back().cl->p;
  max_depth_ = n;
  return true;
}

}  // namespace luna::jit
