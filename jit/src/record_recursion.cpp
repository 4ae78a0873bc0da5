// Function traces: recursion without unrolling. A hot function is recorded
// from its first instruction to a return from its own frame (RET, which
// moves the results as the interpreter's return does and leaves the trace
// to its caller). A call of the function itself is not inlined: it becomes
// a CALLOUT, which writes the frame back, pushes a real frame for the call
// and calls the function's trace natively (the recording meanwhile lets
// the interpreter run the call and waits for its return); after it every
// slot is read from the frame again. A tail call of the function itself
// becomes the trace's loop. Exits of the trace, at any depth, leave with
// every frame below real, so the interpreter continues each of them after
// its call.
#include "record.hpp"

#include <algorithm>

namespace luna::jit {

void Recorder::set_function(void* callout_entry, const Reserve* reserve) {
  func_ = true;
  callout_entry_ = callout_entry;
  reserve_ = reserve;
  end_ = proto_->code + proto_->sizecode - 1;
}

// While a CALLOUT's call runs in the interpreter: frames above the trace's
// need not trap; the recording goes on when the trace's frame is back at
// the instruction after the call. The frame's CallInfo still holding that
// frame (its function slot and resume pc) tells that no error unwound it.
RecordStatus Recorder::await_callout(State* L, CallInfo* ci, const Instruction* pc) {
  CallInfo* own = frames_.front().ci;
  if (callout_func_ < 0) callout_func_ = L->save(own->func);
  if (L->save(own->func) != callout_func_ || own->savedpc != callout_ret_) return abort("call out unwound");
  if (ci != own) return L->save(ci->func) > callout_func_ ? RecordStatus::Skip : abort("call out unwound");
  if (pc != callout_ret_) return abort("call out returned to an unexpected instruction");
  callout_ret_ = nullptr;
  if (callout_a_ >= 0) {
    // Variable results: as many as this time, up to the top they left.
    int top = static_cast<int>(L->top - (own->func + 1));
    if (top < callout_a_) return abort("call out results");
    IrIns g = ir_ins(IrOp::TOPEQ, IrType::Void);
    g.aux = top;
    g.snap = slots_.snapshot(ir_, pc);
    ir_.emit(g);
    slots_.set_top(top);
  }
  return RecordStatus::Continue;
}

// Guards that R[a] is a closure of p (any closure of it: its upvalues are
// read through the frame's function slot).
bool Recorder::guard_proto(int a, Proto* p) {
  Ref f = slot(a);
  IrIns pf = ir_ins(IrOp::FLOAD, IrType::Ptr, f);
  pf.aux8 = static_cast<uint8_t>(Field::ClProto);
  guard(IrOp::EQ, ir_.emit(pf), ir_.kgc(p, Tag::Proto));
  return !ir_.failed();
}

RecordStatus Recorder::callout(const Instruction* pc, Proto* p, void* entry, const Reserve* reserve) {
  Instruction i = *pc;
  int a = getarg_A(i), c = getarg_C(i);
  int nargs = call_args(a, getarg_B(i));
  if (nargs < 0) return abort("call with variable arguments");
  // A function calling itself through an upvalue (fib, ack) calls the
  // running closure: compared with the frame's function slot, whose load
  // the upvalue's already shares, rather than through its prototype.
  uint32_t self_upvalues = 0;
  if (func_ && base_[a].as_lclosure() == frames_.front().cl) {
    if (!is_running_closure(a)) {
      Ref f = slot(a);
      guard(IrOp::EQ, f, ir_.emit(ir_ins(IrOp::CLOSURE, IrType::Ptr)));
      if (ir_.failed()) return abort("guard always fails");
      note_running_closure(f);
    }
    // The upvalues holding the callee, for its entry behind their guards:
    // only in the frame the trace started in, at the function's start, and
    // proved since the last CALLOUT.
    if (max_depth_ == 0 && rebase_ == 0 && !tail_called_ && start_ == p->code && crossed_callouts_.empty())
      for (int n : closure_upvalues_)
        if (n < 32) self_upvalues |= 1u << n;
  } else if (!guard_proto(a, p)) {
    return abort("guard always fails");
  }
  slots_.set_top(-1);
  for (int k = nargs; k < p->numparams; k++) slots_.set(a + 1 + k, ir_.knil());
  IrIns co = ir_ins(IrOp::CALLOUT, IrType::Void, entry != nullptr ? ir_.kptr(entry) : NO_REF, ir_.kptr(reserve));
  co.aux = slots_.base() + a;
  co.aux8 = static_cast<uint8_t>(c);
  co.k.p = p;
  co.snap = slots_.snapshot(ir_, pc);
  co.self_upvalues = self_upvalues;
  Ref call = ir_.emit(co);
  keep_types_below(co.aux);
  // The frame is in memory now; the results arrive there.
  slots_.forget_from(0);
  // Upvalues holding the running closure still do after a call of the
  // function itself unless its traces assign upvalues, which known_upvalue
  // has this CALLOUT test where one is read again; another function's
  // traces may assign any. With fixed results the frame after the call is
  // all in memory, resumed at the next instruction: the exit taken when the
  // test fails has an empty snapshot there.
  if (p == proto_) {
    if (!closure_upvalues_.empty())
      crossed_callouts_.push_back({call, c != 0 ? slots_.snapshot(ir_, pc + 1) : -1});
  } else {
    closure_upvalues_.clear();
    sets_upvalues_ = true;
  }
  closure_refs_.clear();  // no value lives across the call
  upvalue_loads_.clear();
  callout_ret_ = pc + 1;
  callout_a_ = c == 0 ? a : -1;
  callout_func_ = -1;  // taken at the next step (the stack may move before)
  return RecordStatus::Continue;
}

// After a CALLOUT the trace continues only if the callee returned through
// compiled code (RET to the continuation): any exit below it leaves the
// rest to the interpreter. Compiled code writes no slot below the callee's
// function slot, except through an open upvalue: a slot no closure of this
// prototype captures keeps the value, and so the type, the trace had given
// it (a slot it loaded, guarded, or wrote, which the CALLOUT's snapshot
// stored). Loads of those after the CALLOUT skip the tag guard. Inlined
// calls, tail calls and returns to a caller end this knowledge.
// Slots holding the running closure (is_running_closure) keep it likewise.
void Recorder::keep_types_below(int func_slot) {
  known_types_.clear();
  std::vector<int> closures;
  if (frames_.size() != 1) {
    closure_slots_.clear();
    return;
  }
  const Proto* p = frames_.front().cl->p;
  for (int s = 0; s < func_slot; s++) {
    Ref r = slots_.get(s);
    bool captured = false;
    for (int k = 0; k < p->sizep && !captured; k++)
      for (int u = 0; u < p->p[k]->sizeupvalues && !captured; u++)
        captured = p->p[k]->upvalues[u].instack && p->p[k]->upvalues[u].idx == s;
    if (captured) continue;
    if (is_running_closure(s - slots_.base())) closures.push_back(s);
    if (r == NO_REF) continue;
    IrType t = ir_[r].type;
    if (t == IrType::Ptr || t == IrType::Void) continue;
    known_types_.push_back({s, t == IrType::Nil ? Tag::Nil : ir_[r].tag});
  }
  closure_slots_ = std::move(closures);
}

void Recorder::inherit_types(const std::pair<int32_t, Tag>* from, const std::pair<int32_t, Tag>* to) {
  known_types_.assign(from, to);
}

void Recorder::forget_known_slots() {
  known_types_.clear();
  closure_slots_.clear();
}

// The frame runs another closure from here on (a tail call, a return to
// the caller).
void Recorder::forget_running_closure() {
  closure_refs_.clear();
  upvalue_loads_.clear();
  closure_upvalues_.clear();
}

bool Recorder::is_running_closure(int a) const {
  if (!func_ || frames_.size() != 1) return false;
  const TValue& v = base_[a];
  if (v.tag != Tag::LClosure || v.as_lclosure() != frames_.front().cl) return false;
  Ref r = slots_.peek(a);
  if (r != NO_REF) return std::find(closure_refs_.begin(), closure_refs_.end(), r) != closure_refs_.end();
  return std::find(closure_slots_.begin(), closure_slots_.end(), slots_.base() + a) != closure_slots_.end();
}

// f was guarded to be the running closure: so is the upvalue it was read
// from, until an upvalue is assigned.
void Recorder::note_running_closure(Ref f) {
  closure_refs_.push_back(f);
  for (const auto& [v, n] : upvalue_loads_)
    if (v == f && std::find(closure_upvalues_.begin(), closure_upvalues_.end(), n) == closure_upvalues_.end())
      closure_upvalues_.push_back(n);
}

// A function trace reading its own closure from an upvalue (fib, ack calling
// themselves) guards the identity where it reads it, before the call's
// arguments are computed: a CALLOUT calling the running closure again may
// then enter its callee's trace behind that guard (the self entry,
// asm_x64.cpp), which nothing the trace computes first interleaves.
bool Recorder::note_upvalue_load(Ref v, int n) {
  if (!func_ || frames_.size() != 1) return true;
  upvalue_loads_.push_back({v, n});
  const TValue* uv = cl_->upvals[n]->v;
  if (uv->tag != Tag::LClosure || uv->as_lclosure() != frames_.front().cl || ir_[v].type != IrType::Gc) return true;
  guard(IrOp::EQ, v, ir_.emit(ir_ins(IrOp::CLOSURE, IrType::Ptr)));
  if (ir_.failed()) return false;
  note_running_closure(v);
  return true;
}

// Any assignment may reach the upvalue (upvalues of one closure may share a
// cell after debug.upvaluejoin; an inlined callee's may be this one's).
void Recorder::note_upvalue_set() {
  sets_upvalues_ = true;
  closure_upvalues_.clear();
  upvalue_loads_.clear();  // a value read before may be in the upvalue no longer
}

// GETUPVAL n of the trace's frame where that upvalue is known to hold the
// running closure (fib and ack reading themselves after a CALLOUT): the
// frame's function slot, after a guard that no trace of the function (the
// callee) assigns upvalues where a CALLOUT came between, instead of the
// upvalue's load and identity guard. NO_REF: read it.
Ref Recorder::known_upvalue(int n) {
  if (!func_ || frames_.size() != 1 ||
      std::find(closure_upvalues_.begin(), closure_upvalues_.end(), n) == closure_upvalues_.end())
    return NO_REF;
  const TValue* v = cl_->upvals[n]->v;
  if (v->tag != Tag::LClosure || v->as_lclosure() != frames_.front().cl) return NO_REF;
  // Read and guarded since the last CALLOUT and assignment: that load.
  for (const auto& [u, m] : upvalue_loads_)
    if (m == n) return u;
  // Each CALLOUT crossed tests the flag as it calls (2 instructions, the
  // Reserve in a register there) and, where it is set, has the callee
  // return into an exit instead of the continuation: the flag cannot change
  // while the callee's subtree runs compiled. A call wanting variable
  // results has no such exit: one guard here covers all.
  if (!crossed_callouts_.empty()) {
    bool each = std::all_of(crossed_callouts_.begin(), crossed_callouts_.end(),
                            [](const std::pair<Ref, int32_t>& c) { return c.second >= 0; });
    if (each) {
      for (const auto& [call, snap] : crossed_callouts_) ir_.at(call).cont_snap = snap;
    } else {
      IrIns f = ir_ins(IrOp::FLOAD, IrType::Int, ir_.kptr(&reserve_->sets_upvalues));
      f.aux8 = static_cast<uint8_t>(Field::Deref);
      guard(IrOp::EQ, ir_.emit(f), ir_.kint(0));
      if (ir_.failed()) return NO_REF;
    }
    crossed_callouts_.clear();
  }
  IrIns c = ir_ins(IrOp::CLOSURE, IrType::Gc);
  c.tag = Tag::LClosure;
  Ref r = ir_.emit(c);
  closure_refs_.push_back(r);
  return r;
}

// Only a side trace's entry (inherit_types) fills known_types_ while inlined
// frames are open: keep_types_below fills it in the trace's own frame only,
// and an inlined call forgets it, so the slots are the trace's either way.
bool Recorder::known_after_callout(int slot, Tag t) const {
  for (const auto& [s, tag] : known_types_)
    if (s == slot) return tag == t;
  return false;
}

// return f(...) of the function itself in its own frame: the arguments
// become the parameters, the frame is marked as tail called (tracebacks
// show it), and the recording continues at the first instruction, where it
// closes the loop.
RecordStatus Recorder::tail_self(const Instruction* pc) {
  Instruction i = *pc;
  int a = getarg_A(i);
  if (getarg_k(i)) return abort("tail call closing upvalues");
  int nargs = call_args(a, getarg_B(i));
  if (nargs < 0) return abort("call with variable arguments");
  // The frame's function slot keeps the running closure: only that one.
  if (!is_running_closure(a)) {
    guard(IrOp::EQ, slot(a), ir_.emit(ir_ins(IrOp::CLOSURE, IrType::Ptr)));
    if (ir_.failed()) return abort("guard always fails");
  }
  std::vector<Ref> args;
  for (int k = 0; k < nargs; k++) args.push_back(slot(a + 1 + k));
  int np = proto_->numparams;
  for (int k = 0; k < np; k++) slots_.set(k, k < nargs ? args[static_cast<size_t>(k)] : ir_.knil());
  slots_.forget_from(np);
  slots_.set_top(-1);
  IrIns st = ir_ins(IrOp::SETTAIL, IrType::Void);
  st.aux = proto_->maxstacksize;
  ir_.emit(st);
  tail_self_ = true;
  forget_known_slots();
  return RecordStatus::Continue;
}

RecordStatus Recorder::ret_out(int a, int n) {
  for (int k = 0; k < n; k++) slots_.set(a + k, slot(a + k));
  // The first two results are operands too: stored from their registers
  // even when unchanged in their slots (`return k`).
  IrIns rt = ir_ins(IrOp::RET, IrType::Void, n > 0 ? slot(a) : NO_REF, n > 1 ? slot(a + 1) : NO_REF);
  rt.aux = a;
  rt.k.i = n;
  rt.snap = slots_.snapshot(ir_, pc_);
  ir_.emit(rt);
  return RecordStatus::Done;
}

// A side trace returning from its frame to a Lua caller that called it
// by CALL (fannkuch: count_flips to visit, visit to the main loop): RETDOWN
// guards that the caller is that frame at that call (else it leaves at the
// RETURN), moves the results as the interpreter's return does, pops the
// frame and moves the trace's base down to the caller's; the recording goes
// on in the caller, every slot in memory.
RecordStatus Recorder::ret_down(int a, int n) {
  CallInfo* ci = frames_.front().ci;
  CallInfo* caller = ci->previous;
  if ((ci->callstatus & CIST_FRESH) || caller == nullptr || !caller->is_lua())
    return abort("return from the loop's frame");
  const Instruction* retpc = caller->savedpc;
  LClosure* ccl = caller->func->as_lclosure();
  Instruction call = retpc[-1];
  if (get_op(call) != OP_CALL || ci->func != caller->func + 1 + getarg_A(call) || n > 250)
    return abort("return from the loop's frame");
  int func = getarg_A(call), wanted = getarg_C(call) - 1;
  std::vector<Ref> results;
  for (int k = 0; k < n; k++) results.push_back(slot(a + k));
  for (int k = 0; k < n; k++) slots_.set(a + k, results[static_cast<size_t>(k)]);
  IrIns rd = ir_ins(IrOp::RETDOWN, IrType::Void, NO_REF, ir_.kgc(ccl->p, Tag::Proto));
  rd.aux = a;
  rd.aux8 = static_cast<uint8_t>(n);
  rd.k.p = const_cast<Instruction*>(retpc);
  rd.snap = slots_.snapshot(ir_, pc_);
  ir_.emit(rd);
  // The caller's frame, every slot in memory (loads of the old frame
  // are not this frame's slots).
  slots_ = SlotState();
  forget_known_slots();
  forget_running_closure();
  if (wanted < 0) slots_.set_top(func + n);
  rebase_ += func + 1;
  frames_.front() = Frame{caller, ccl, NO_REF, 0, -1};
  caller->trap = 1;  // the recording follows the interpreter there
  return_pc_ = retpc;
  return RecordStatus::Continue;
}

}  // namespace luna::jit
