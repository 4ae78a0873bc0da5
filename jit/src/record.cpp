// Recording one loop iteration into IR. Every decision taken from the live
// values (a type, a branch direction, an array bound, the node holding a key)
// becomes a guard whose snapshot resumes the interpreter at the instruction
// being recorded, before any of its effects: the guards of an instruction are
// emitted before its stores and slot writes.
#include "record.hpp"

#include <cmath>

namespace luna::jit {
namespace {

Tag slot_tag(const TValue& v) { return v.is_nil() ? Tag::Nil : v.tag; }

bool falsy(const TValue& v) { return v.is_false_or_nil(); }

// Recorded instructions per coroutine call below which a loop is left to
// the interpreter (close_loop).
constexpr int kMinCoroutineWork = 5;

}  // namespace

Recorder::Recorder(Proto* p, CallInfo* ci, const Instruction* start, LinkFn link)
    : proto_(p), start_proto_(p), start_(start), end_(link ? p->code + p->sizecode - 1 : loop_end(p, start)),
      link_(std::move(link)), frames_{Frame{ci, ci->func->as_lclosure(), NO_REF, 0, -1}},
      stack_slots_(p->maxstacksize) {}

const Instruction* Recorder::loop_end(const Proto* p, const Instruction* start) {
  const Instruction* end = start;
  for (const Instruction* pc = start; pc < p->code + p->sizecode; pc++) {
    Instruction i = plain_ins(*pc);  // a blacklisted loop's back-edge as compiled
    OpCode op = get_op(i);
    const Instruction* target = nullptr;
    if (op == OP_JMP) target = pc + 1 + getarg_sJ(i);
    else if (op == OP_FORLOOP || op == OP_TFORLOOP) target = pc + 1 - getarg_Bx(i);
    if (target == start) end = pc;
  }
  return end;
}

RecordStatus Recorder::step(State* L, CallInfo* ci, const Instruction* pc) {
  if (L->hookmask) return abort("hooks active");
  if (callout_ret_ != nullptr)
    if (RecordStatus cs = await_callout(L, ci, pc); cs != RecordStatus::Continue) return cs;
  if (RecordStatus fs = follow_frame(ci, pc); fs != RecordStatus::Continue) return fs;
  // A continuation back at its start went round a loop without a trace.
  if (continuation_ && count_ > 0 && pc == start_ && frames_.size() == 1) return abort("continuation loops");
  if (is_side() && count_ > 0) {
    // A side trace ends at a loop with a trace, in its own frame or in an
    // inlined callee's (fannkuch: the main loop calls a function whose loops
    // have traces).
    const Proto* p = ci->func->as_lclosure()->p;
    if (Link link = link_(p, pc, ci->func + 1); link.entry != nullptr) return close_link(p, pc, link);
  }
  // A root trace closes or leaves only in the loop's own frame: inside an
  // inlined call, pc is another prototype's.
  if (frames_.size() == 1 && !is_side()) {
    if (pc == start_ && count_ > 0) {
      // A function's trace loops only through a tail call of itself.
      if (func_ && !tail_self_) return abort("loop at the function's start");
      return close_loop();
    } else if (pc < start_ || pc > end_) {
      // The loop ended during the recorded iteration (a while or repeat
      // condition, a break): nothing against the loop, try another iteration.
      retryable_ = true;
      return abort("loop left while recording");
    }
  }
  if (++count_ > kMaxInstructions) return abort("trace too long");
  base_ = ci->func + 1;
  cl_ = ci->func->as_lclosure();
  pc_ = pc;
  L_ = L;
  RecordStatus st = record(L, pc);
  if (st != RecordStatus::Abort && slots_.accessed_captured()) return abort("local captured by a closure");
  if (st == RecordStatus::Continue && ir_.failed()) return abort("guard always fails");
  if (st == RecordStatus::Continue && closing_) return close_loop();
  return st;
}

RecordStatus Recorder::close_link(const Proto* p, const Instruction* pc, const Link& link) {
  IrIns lp = ir_ins(IrOp::LOOP, IrType::Void, NO_REF, 2, count_);
  lp.k.p = link.entry;
  ir_.link_reserve = link.reserve;
  // Below the frame the trace was entered with, the stack and CallInfos the
  // loop's traces need are checked when linking (as for an inlined callee);
  // likewise where a function trace's frame was taken over by a tail call.
  lp.aux8 = rebase_ != 0 || (func_ && tail_called_);
  // Another function's traces may return from the frame (after a tail
  // call) and may assign upvalues (Reserve::sets_upvalues).
  if (func_ && p != proto_) sets_upvalues_ = true;
  lp.snap = slots_.snapshot(ir_, pc);
  if (lp.aux8 == 0 && frames_.size() == 1) {
    for (int s = 0; s < frames_.front().cl->p->maxstacksize; s++) {
      if (slots_.is_captured(s)) continue;
      if (Ref r = slots_.peek(s); r != NO_REF) {
        IrType t = ir_[r].type;
        if (t != IrType::Ptr && t != IrType::Void && t != IrType::Nil) ir_.link_types.push_back({s, ir_[r].tag});
        continue;
      }
      for (const auto& [k, tag] : known_types_)
        if (k == s) ir_.link_types.push_back({s, tag});
    }
  }
  ir_.emit_raw(lp);
  link_pc_ = pc;
  link_proto_ = p;
  return RecordStatus::Done;
}

RecordStatus Recorder::close_loop() {
  // A coroutine call from a trace costs about 60 instructions of its own
  // (coroutine_call, the frame written and read back), about what the
  // interpreter spends on 5 instructions around its CALL: a loop doing
  // less runs faster interpreted (callgrind: coroutine_switch's
  // `acc = co(acc + 1)`, 5 instructions, breaks even compiled).
  if (coroutine_calls_ > 0 && count_ < kMinCoroutineWork * coroutine_calls_)
    return abort("loop too small around its coroutine calls");
  // The body's locals and temporaries need neither a write-back at each
  // iteration nor a register carried around the loop.
  slots_.forget_from(live_slots(proto_, start_));
  if (slots_.writes_captured()) return abort("local captured by a closure carried around the loop");
  IrIns lp = ir_ins(IrOp::LOOP, IrType::Void, NO_REF, NO_REF, count_);  // instructions per iteration
  lp.snap = slots_.snapshot(ir_, start_);
  ir_.emit_raw(lp);
  return RecordStatus::Done;
}

Ref Recorder::slot(int s) {
  Ref r = slots_.get(s);
  if (r != NO_REF) return r;
  Tag t = slot_tag(base_[s]);
  IrIns i = ir_ins(IrOp::SLOAD, ir_type_of(t), NO_REF, NO_REF, slots_.base() + s);
  i.tag = t;
  if (known_after_callout(slots_.base() + s, t)) i.aux8 = 1;  // record_recursion.cpp
  i.snap = slots_.snapshot(ir_, pc_);
  r = ir_.emit(i);
  slots_.loaded(s, r);
  return r;
}

Ref Recorder::konst(const TValue& v) {
  switch (v.tag) {
    case Tag::Int: return ir_.kint(v.u.i);
    case Tag::Float: return ir_.knum(v.u.n);
    case Tag::Nil: return ir_.knil();
    case Tag::False: return ir_.kbool(false);
    case Tag::True: return ir_.kbool(true);
    case Tag::ShortStr: case Tag::LongStr: return ir_.kgc(v.u.gc, v.tag);
    default: return NO_REF;
  }
}

Ref Recorder::guard(IrOp op, Ref a, Ref b) {
  if (known_by_exit(op, a, b)) return NO_REF;
  IrIns g = ir_ins(op, IrType::Void, a, b);
  g.snap = slots_.snapshot(ir_, pc_);
  return ir_.emit(g);
}

bool Recorder::known_by_exit(IrOp op, Ref a, Ref b) const {
  const ExitFact& f = exit_fact_;
  if (!f.known || count_ != 1 || frames_.size() != 1) return false;
  // Nothing before the guard but loads of what the exit wrote.
  for (Ref r = 1; r < ir_.size(); r++)
    if (!ir_.is_const(r) && ir_[r].op != IrOp::SLOAD) return false;
  auto is = [&](Ref r, int32_t slot, int64_t k) {
    const IrIns& i = ir_[r];
    if (slot >= 0) return i.op == IrOp::SLOAD && i.type == IrType::Int && i.aux == slot;
    return i.op == IrOp::KINT && i.k.i == k;
  };
  // The same relation, or the one with its operands swapped.
  IrOp swapped;
  switch (op) {
    case IrOp::LT: swapped = IrOp::GT; break;
    case IrOp::LE: swapped = IrOp::GE; break;
    case IrOp::GT: swapped = IrOp::LT; break;
    case IrOp::GE: swapped = IrOp::LE; break;
    case IrOp::EQ: case IrOp::NE: swapped = op; break;
    default: return false;
  }
  return (op == f.rel && is(a, f.a_slot, f.a_k) && is(b, f.b_slot, f.b_k)) ||
         (swapped == f.rel && is(b, f.a_slot, f.a_k) && is(a, f.b_slot, f.b_k));
}

Ref Recorder::load_value(Ref ptr, const TValue& seen) {
  Tag t = slot_tag(seen);
  IrIns i = ir_ins(IrOp::VLOAD, ir_type_of(t), ptr);
  i.tag = t;
  i.snap = slots_.snapshot(ir_, pc_);
  return ir_.emit(i);
}

Ref Recorder::to_num(Ref r) {
  if (ir_[r].type == IrType::Num) return r;
  return ir_.emit(ir_ins(IrOp::CONV, IrType::Num, r));
}

bool Recorder::arith(int op, int a, Ref rb, Ref rc, const TValue& vb, const TValue& vc) {
  auto bin = [&](IrOp o, IrType t, Ref x, Ref y) { return ir_.emit(ir_ins(o, t, x, y)); };
  auto call = [&](Helper h, IrType t, Ref x, Ref y) {
    IrIns i = ir_ins(IrOp::CALL, t, x, y);
    i.aux8 = static_cast<uint8_t>(h);
    return ir_.emit(i);
  };
  Ref res = NO_REF;
  bool ints = vb.is_int() && vc.is_int();
  switch (op) {
    case OP_BAND: case OP_BOR: case OP_BXOR: case OP_SHL: case OP_SHR: {
      if (!ints) return false;
      if (op == OP_BAND) res = bin(IrOp::BAND, IrType::Int, rb, rc);
      else if (op == OP_BOR) res = bin(IrOp::BOR, IrType::Int, rb, rc);
      else if (op == OP_BXOR) res = bin(IrOp::BXOR, IrType::Int, rb, rc);
      else {
        // x >> y is x << -y; constant in-range shifts are single instructions.
        bool left = op == OP_SHL;
        if (ir_.is_const(rc)) {
          Integer n = ir_[rc].k.i;
          if (!left) n = static_cast<Integer>(0u - static_cast<Unsigned>(n));
          if (n >= 0 && n < 64) res = bin(IrOp::SHLK, IrType::Int, rb, ir_.kint(n));
          else if (n < 0 && n > -64) res = bin(IrOp::SHRK, IrType::Int, rb, ir_.kint(-n));
          else res = ir_.kint(0);
        } else {
          Ref amount = left ? rc : bin(IrOp::NEG, IrType::Int, rc, NO_REF);
          res = call(Helper::Shl, IrType::Int, rb, amount);
        }
      }
      break;
    }
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_MOD: case OP_IDIV:
      if (ints) {
        if (op == OP_ADD) res = bin(IrOp::ADD, IrType::Int, rb, rc);
        else if (op == OP_SUB) res = bin(IrOp::SUB, IrType::Int, rb, rc);
        else if (op == OP_MUL) res = bin(IrOp::MUL, IrType::Int, rb, rc);
        else {
          // Division by zero raises in the interpreter: leave before it.
          if (vc.u.i == 0) return false;
          Integer k = ir_.is_const(rc) ? ir_[rc].k.i : 0;
          if (op == OP_MOD && k > 0 && (k & (k - 1)) == 0) {
            // A floored modulo by a power of two is the low bits, whatever
            // the sign (two's complement): no helper call (i % 2).
            res = bin(IrOp::BAND, IrType::Int, rb, ir_.kint(k - 1));
            break;
          }
          if (!ir_.is_const(rc)) guard(IrOp::NE, rc, ir_.kint(0));
          res = call(op == OP_MOD ? Helper::IntMod : Helper::IntIdiv, IrType::Int, rb, rc);
        }
        break;
      }
      [[fallthrough]];
    case OP_DIV: case OP_POW: {
      if (!vb.is_number() || !vc.is_number()) return false;
      Ref x = to_num(rb), y = to_num(rc);
      switch (op) {
        case OP_ADD: res = bin(IrOp::ADD, IrType::Num, x, y); break;
        case OP_SUB: res = bin(IrOp::SUB, IrType::Num, x, y); break;
        case OP_MUL: res = bin(IrOp::MUL, IrType::Num, x, y); break;
        case OP_DIV: res = bin(IrOp::DIV, IrType::Num, x, y); break;
        case OP_IDIV: res = ir_.emit(ir_ins(IrOp::FLOOR, IrType::Num, bin(IrOp::DIV, IrType::Num, x, y))); break;
        case OP_MOD: res = call(Helper::NumMod, IrType::Num, x, y); break;
        case OP_POW: res = call(Helper::NumPow, IrType::Num, x, y); break;
        default: return false;
      }
      break;
    }
    default:
      return false;
  }
  slots_.set(a, res);
  return true;
}

// Guards that the comparison `a op b` comes out as `cond` (op is LT, LE or
// EQ; GT and GE arrive with swapped operands). Numbers only.
bool Recorder::compare(OpCode op, Ref ra, Ref rb, const TValue& va, const TValue& vb, bool cond) {
  if (!va.is_number() || !vb.is_number()) return false;
  if (va.tag != vb.tag) {
    // Integer against float: exact through a float conversion while the
    // integer stays within +-2^53 (guarded), as 5.4 compares them exactly.
    constexpr Integer kExact = Integer(1) << 53;
    for (int side = 0; side < 2; side++) {
      const TValue& v = side == 0 ? va : vb;
      Ref& r = side == 0 ? ra : rb;
      if (!v.is_int()) continue;
      if (v.u.i > kExact || v.u.i < -kExact) return false;
      guard(IrOp::LE, r, ir_.kint(kExact));
      guard(IrOp::GE, r, ir_.kint(-kExact));
      r = to_num(r);
    }
  }
  bool ints = va.is_int() && vb.is_int();
  IrOp g;
  if (op == OP_EQ) g = cond ? IrOp::EQ : IrOp::NE;
  else if (op == OP_LT) g = cond ? IrOp::LT : (ints ? IrOp::GE : IrOp::NLT);
  else g = cond ? IrOp::LE : (ints ? IrOp::GT : IrOp::NLE);
  guard(g, ra, rb);
  return true;
}

Ref Recorder::frame_closure() {
  if (frames_.size() == 1) return ir_.emit(ir_ins(IrOp::CLOSURE, IrType::Ptr));
  Frame& f = frames_.back();
  if (f.clref == NO_REF) f.clref = slot(-1);
  return f.clref;
}

// The UpVal of upvalue n of the running closure.
Ref Recorder::upvalue_box(int n) {
  IrIns uv = ir_ins(IrOp::FLOAD, IrType::Ptr, frame_closure(), NO_REF, n);
  uv.aux8 = static_cast<uint8_t>(Field::ClUpval);
  return ir_.emit(uv);
}

Ref Recorder::upvalue_ptr(int n) {
  IrIns v = ir_ins(IrOp::FLOAD, IrType::Ptr, upvalue_box(n));
  v.aux8 = static_cast<uint8_t>(Field::UvValue);
  return ir_.emit(v);
}

Ref Recorder::table_slot(Ref t, const Table* h, Ref key, const TValue& kv) {
  auto field = [&](Field f, IrType ty) {
    IrIns i = ir_ins(IrOp::FLOAD, ty, t);
    i.aux8 = static_cast<uint8_t>(f);
    return ir_.emit(i);
  };
  if (kv.is_int()) {
    if (static_cast<uint64_t>(kv.u.i) - 1 >= h->asize) return NO_REF;
    return array_slot(t, key);
  }
  if (kv.tag != Tag::ShortStr) return NO_REF;
  String* s = kv.as_string();
  const Node* n = &h->node[s->hash & ((1u << h->lsizenode) - 1)];
  for (;;) {
    if (n->key_tag == Tag::ShortStr && n->key_u.gc == s) break;
    if (n->next == 0) return NO_REF;
    n += n->next;
  }
  Ref kref = ir_.kgc(s, Tag::ShortStr);
  if (key != kref) guard(IrOp::EQ, key, kref);
  guard(IrOp::EQ, field(Field::TabLsizenode, IrType::Int), ir_.kint(h->lsizenode));
  IrIns hk = ir_ins(IrOp::HREFK, IrType::Ptr, field(Field::TabNode, IrType::Ptr), kref,
                    static_cast<int32_t>(n - h->node));
  hk.snap = slots_.snapshot(ir_, pc_);
  return ir_.emit(hk);
}

Ref Recorder::array_slot(Ref t, Ref key) {
  auto field = [&](Field f, IrType ty) {
    IrIns i = ir_ins(IrOp::FLOAD, ty, t);
    i.aux8 = static_cast<uint8_t>(f);
    return ir_.emit(i);
  };
  Ref arr = field(Field::TabArray, IrType::Ptr);
  Ref asize = field(Field::TabAsize, IrType::Int);
  guard(IrOp::ULT, ir_.emit(ir_ins(IrOp::SUB, IrType::Int, key, ir_.kint(1))), asize);
  return ir_.emit(ir_ins(IrOp::AREF, IrType::Ptr, arr, key));
}

void Recorder::guard_no_metatable(Ref t) {
  IrIns f = ir_ins(IrOp::FLOAD, IrType::Ptr, t);
  f.aux8 = static_cast<uint8_t>(Field::TabMeta);
  guard(IrOp::EQ, ir_.emit(f), ir_.kptr(nullptr));
}

// A table without metatable reads and writes its array part raw, whatever
// the slot holds: no __index or __newindex can run, and storing into an
// existing array slot (nil or not) neither allocates nor adds a key. A key
// at the border (asize + 1, an append that will grow the array) is recorded
// the same way: the bounds guard exits there, the interpreter grows the
// array (which may allocate and collect), and the next back-edge re-enters
// the trace, so growth by doubling costs one exit per doubling.
bool Recorder::raw_array_access(const Table* h, const TValue& kv) const {
  return kv.is_int() && h->metatable == nullptr && static_cast<uint64_t>(kv.u.i) - 1 <= h->asize;
}

Ref Recorder::get_str(Ref t, Ref key) {
  IrIns get = ir_ins(IrOp::CALL, IrType::Ptr, t, key);
  get.aux8 = static_cast<uint8_t>(Helper::TabGetStr);
  return ir_.emit(get);
}

Ref Recorder::index_chain(State* L, Ref t, Table* h, Ref key, String* name) {
  String* index_name = L->g->tmname[TM_INDEX];
  TValue index_key = str_value(index_name);
  for (int level = 0;; level++) {
    const TValue* v = table_get_short_str(h, name);
    if (!v->is_nil()) {
      Ref p = ir_.is_const(key) ? table_slot(t, h, key, str_value(name)) : get_str(t, key);
      return p == NO_REF ? NO_REF : load_value(p, *v);
    }
    load_value(get_str(t, key), *v);  // guards that the key is still absent
    Table* mt = h->metatable;
    if (mt == nullptr) {
      guard_no_metatable(t);
      return ir_.knil();
    }
    IrIns meta = ir_ins(IrOp::FLOAD, IrType::Ptr, t);
    meta.aux8 = static_cast<uint8_t>(Field::TabMeta);
    Ref kmt = ir_.kgc(mt, Tag::Table);
    guard(IrOp::EQ, ir_.emit(meta), kmt);
    const TValue* idx = table_get_short_str(mt, index_name);
    if (idx->is_nil()) {
      load_value(get_str(kmt, konst(index_key)), *idx);  // and still has no __index
      return ir_.knil();
    }
    if (level == 3 || !idx->is_table()) return NO_REF;
    Ref p = table_slot(kmt, mt, konst(index_key), index_key);
    if (p == NO_REF) return NO_REF;
    t = load_value(p, *idx);
    h = idx->as_table();
  }
}

Table* Recorder::string_methods(State* L) const {
  Table* mt = L->g->mt[TSTRING];
  if (mt == nullptr) return nullptr;
  const TValue* idx = table_get_short_str(mt, L->g->tmname[TM_INDEX]);
  return idx->is_table() ? idx->as_table() : nullptr;
}

Ref Recorder::string_methods_ref(State* L, Table* methods) {
  Table* mt = L->g->mt[TSTRING];
  IrIns f = ir_ins(IrOp::FLOAD, IrType::Ptr, ir_.kptr(&L->g->mt[TSTRING]));
  f.aux8 = static_cast<uint8_t>(Field::Deref);
  Ref kmt = ir_.kgc(mt, Tag::Table);
  guard(IrOp::EQ, ir_.emit(f), kmt);
  TValue index_key = str_value(L->g->tmname[TM_INDEX]);
  Ref p = table_slot(kmt, mt, konst(index_key), index_key);
  return p == NO_REF ? NO_REF : load_value(p, TValue::object(methods));
}

bool Recorder::get_table(State* L, int a, Ref t, const TValue& tv, Ref key, const TValue& kv) {
  if (!tv.is_table()) return false;
  Table* h = tv.as_table();
  const TValue* seen = kv.is_int() ? table_get_int(h, kv.u.i) : kv.tag == Tag::ShortStr ? table_get_short_str(h, kv.as_string()) : nullptr;
  if ((seen == nullptr || seen->is_nil()) && raw_array_access(h, kv) && kv.u.i <= h->asize) {
    guard_no_metatable(t);
    slots_.set(a, load_value(array_slot(t, key), TValue::nil()));
    return true;
  }
  // An integer key outside the array part of a table with no hash part
  // and no metatable (a tree's leaf, an empty list) is absent without a
  // lookup: guarded so (asize < k also holds for a negative k).
  if (kv.is_int() && static_cast<uint64_t>(kv.u.i) - 1 >= h->asize && h->metatable == nullptr &&
      h->node == table_dummy_node()) {
    guard_no_metatable(t);
    IrIns node = ir_ins(IrOp::FLOAD, IrType::Ptr, t);
    node.aux8 = static_cast<uint8_t>(Field::TabNode);
    guard(IrOp::EQ, ir_.emit(node), ir_.kptr(table_dummy_node()));
    IrIns asize = ir_ins(IrOp::FLOAD, IrType::Int, t);
    asize.aux8 = static_cast<uint8_t>(Field::TabAsize);
    guard(IrOp::ULT, ir_.emit(asize), key);
    slots_.set(a, ir_.knil());
    return true;
  }
  // An integer key outside the array part, present or (no metatable)
  // absent: looked up wherever it is now.
  if (kv.is_int() && static_cast<uint64_t>(kv.u.i) - 1 >= h->asize && (!seen->is_nil() || h->metatable == nullptr)) {
    if (seen->is_nil()) guard_no_metatable(t);
    IrIns get = ir_ins(IrOp::CALL, IrType::Ptr, t, key);
    get.aux8 = static_cast<uint8_t>(Helper::TabGetInt);
    slots_.set(a, load_value(ir_.emit(get), *seen));
    return true;
  }
  if (kv.tag == Tag::ShortStr) {
    Ref r = index_chain(L, t, h, key, kv.as_string());
    if (r == NO_REF) return false;
    slots_.set(a, r);
    return true;
  }
  // A nil result goes through __index in the interpreter.
  if (seen == nullptr || seen->is_nil()) return false;
  Ref p = table_slot(t, h, key, kv);
  if (p == NO_REF) return false;
  slots_.set(a, load_value(p, *seen));
  return true;
}

// Metamethod e (one the metatables cache, e <= TM_EQ) of table t (h when
// recorded) is absent: t has no metatable, or its metatable (whichever it
// is) caches e as absent, guarded so. False when neither held at recording.
bool Recorder::guard_tm_cached_absent(Ref t, Table* h, TMS e) {
  Table* mt = h->metatable;
  if (mt == nullptr) {
    guard_no_metatable(t);
    return true;
  }
  if (!(mt->flags & (1u << e))) return false;
  IrIns meta = ir_ins(IrOp::FLOAD, IrType::Ptr, t);
  meta.aux8 = static_cast<uint8_t>(Field::TabMeta);
  Ref mref = ir_.emit(meta);
  guard(IrOp::NE, mref, ir_.kptr(nullptr));
  IrIns flags = ir_ins(IrOp::FLOAD, IrType::Int, mref);
  flags.aux8 = static_cast<uint8_t>(Field::TabFlags);
  Ref bit = ir_.emit(ir_ins(IrOp::BAND, IrType::Int, ir_.emit(flags), ir_.kint(1u << e)));
  guard(IrOp::NE, bit, ir_.kint(0));
  return true;
}

// No __newindex can run for a store into t (h when recorded): t has no
// metatable (a table the trace made has none), or its metatable caches
// __newindex as absent (any class of objects), or is the one recorded and
// still has none. False where the recorded metatable has __newindex.
bool Recorder::guard_no_newindex(Ref t, Table* h) {
  Table* mt = h->metatable;
  if (mt == nullptr) {
    if (ir_[t].op != IrOp::CALL || static_cast<Helper>(ir_[t].aux8) != Helper::NewTable) guard_no_metatable(t);
    return true;
  }
  String* newindex = L_->g->tmname[TM_NEWINDEX];
  if (!table_get_short_str(mt, newindex)->is_nil()) return false;
  if (guard_tm_cached_absent(t, h, TM_NEWINDEX)) return true;
  IrIns meta = ir_ins(IrOp::FLOAD, IrType::Ptr, t);
  meta.aux8 = static_cast<uint8_t>(Field::TabMeta);
  Ref mref = ir_.emit(meta);
  Ref kmt = ir_.kgc(mt, Tag::Table);
  guard(IrOp::EQ, mref, kmt);
  load_value(get_str(kmt, konst(str_value(newindex))), TValue::nil());  // and still has no __newindex
  return true;
}

// t.name = nil where t.name is nil and no __newindex runs (a packet's
// `p.link = nil`, a constructor's nil field) stores nothing, as the
// interpreter adds no key for a nil value.
bool Recorder::store_nothing(Ref t, Table* h, Ref key, const TValue& kv) {
  if (kv.tag != Tag::ShortStr || !ir_.is_const(key)) return false;
  if (h->metatable != nullptr && !table_get_short_str(h->metatable, L_->g->tmname[TM_NEWINDEX])->is_nil()) return false;
  load_value(get_str(t, key), TValue::nil());  // still nil
  return guard_no_newindex(t, h);
}

// A store into a nil slot (an absent key or one whose value is nil) of a
// table where no __newindex runs: the slot is found or the key inserted by
// TabSetStr/TabSetInt, rehashing a full hash part as the interpreter does
// where the array part stays; they leave the trace before the instruction
// where the interpreter must insert it (entries moving between the parts,
// a collection step due, the memory limit).
Ref Recorder::new_key_slot(Ref t, Table* h, Ref key, const TValue& kv) {
  if (kv.tag != Tag::ShortStr && !kv.is_int()) return NO_REF;
  if (!guard_no_newindex(t, h)) return NO_REF;
  Ref p = helper(kv.is_int() ? Helper::TabSetInt : Helper::TabSetStr, IrType::Ptr, t, key);
  guard(IrOp::NE, p, ir_.kptr(nullptr));
  return p;
}

bool Recorder::set_table(Ref t, const TValue& tv, Ref key, const TValue& kv, Ref val) {
  if (!tv.is_table() || val == NO_REF) return false;
  Table* h = tv.as_table();
  Ref p;
  bool adds_key = false;  // only a key the store inserts needs the key's barrier
  if (raw_array_access(h, kv)) {
    guard_no_metatable(t);
    if (static_cast<uint64_t>(kv.u.i) == uint64_t(h->asize) + 1 && table_size_node(h) == 0) {
      // Recorded at the border (an append growth exit's side trace): the
      // array grows in the trace as the interpreter's rehash grows it.
      p = helper(Helper::TabAppend, IrType::Ptr, t, key);
      guard(IrOp::NE, p, ir_.kptr(nullptr));
    } else {
      p = array_slot(t, key);
    }
  } else {
    const TValue* seen = kv.is_int() ? table_get_int(h, kv.u.i) : kv.tag == Tag::ShortStr ? table_get_short_str(h, kv.as_string()) : nullptr;
    if (seen == nullptr) return false;
    if (seen->is_nil()) {
      // A nil value adds no key; any other may run __newindex or add one.
      if (ir_[val].type == IrType::Nil) return store_nothing(t, h, key, kv);
      p = new_key_slot(t, h, key, kv);
      adds_key = true;
    } else {
      // A variable string key: wherever it is now (word counts).
      p = kv.tag == Tag::ShortStr && !ir_.is_const(key) ? get_str(t, key) : table_slot(t, h, key, kv);
      if (p != NO_REF) guard(IrOp::NOTNIL, p, NO_REF);
    }
    if (p == NO_REF) return false;
  }
  ir_.emit(ir_ins(IrOp::VSTORE, IrType::Void, p, val));
  bool collectable_key = adds_key && ir_[key].type == IrType::Gc && is_collectable_tag(ir_[key].tag);
  if ((ir_[val].type == IrType::Gc && is_collectable_tag(ir_[val].tag)) || collectable_key) {
    IrIns b = ir_ins(IrOp::CALL, IrType::Void, t);
    b.aux8 = static_cast<uint8_t>(Helper::BarrierBack);
    ir_.emit(b);
  }
  return true;
}

RecordStatus Recorder::record(State* L, const Instruction* pc) {
  Instruction i = plain_ins(*pc);
  OpCode op = get_op(i);
  int a = getarg_A(i);
  const TValue* k = cl_->p->k;
  TValue* base = base_;
  auto rkc = [&]() { return getarg_k(i) ? konst(k[getarg_C(i)]) : slot(getarg_C(i)); };
  switch (op) {
    case OP_MOVE: slots_.set(a, slot(getarg_B(i))); break;
    case OP_LOADI: slots_.set(a, ir_.kint(getarg_sBx(i))); break;
    case OP_LOADF: slots_.set(a, ir_.knum(static_cast<Number>(getarg_sBx(i)))); break;
    case OP_LOADK: {
      Ref r = konst(k[getarg_Bx(i)]);
      if (r == NO_REF) return abort("constant type");
      slots_.set(a, r);
      break;
    }
    case OP_LOADFALSE: case OP_LFALSESKIP: slots_.set(a, ir_.kbool(false)); break;
    case OP_LOADTRUE: slots_.set(a, ir_.kbool(true)); break;
    case OP_LOADNIL:
      for (int b = getarg_B(i); b >= 0; b--) slots_.set(a + b, ir_.knil());
      break;
    case OP_GETUPVAL: {
      int n = getarg_B(i);
      Ref v = known_upvalue(n);  // record_recursion.cpp
      if (v == NO_REF) {
        v = load_value(upvalue_ptr(n), *cl_->upvals[n]->v);
        if (!note_upvalue_load(v, n)) return abort("guard always fails");
      }
      slots_.set(a, v);
      break;
    }
    case OP_SETUPVAL: {
      Ref v = slot(a);
      int n = getarg_B(i);
      note_upvalue_set();
      Ref p = upvalue_ptr(n);
      ir_.emit(ir_ins(IrOp::VSTORE, IrType::Void, p, v));
      if (ir_[v].type == IrType::Gc && is_collectable_tag(ir_[v].tag)) {
        IrIns b = ir_ins(IrOp::CALL, IrType::Void, upvalue_box(n), v);
        b.aux8 = static_cast<uint8_t>(Helper::BarrierObj);
        ir_.emit(b);
      }
      break;
    }
    case OP_GETTABUP: case OP_SETTABUP: {
      int n = op == OP_GETTABUP ? getarg_B(i) : a;
      const TValue* upv = cl_->upvals[n]->v;
      if (!upv->is_table()) return abort("_ENV is not a table");
      Ref t = load_value(upvalue_ptr(n), *upv);
      if (op == OP_GETTABUP) {
        const TValue& key = k[getarg_C(i)];
        if (!get_table(L, a, t, *upv, konst(key), key)) return abort("global lookup");
      } else {
        const TValue& key = k[getarg_B(i)];
        if (!set_table(t, *upv, konst(key), key, rkc())) return abort("global store");
      }
      break;
    }
    case OP_GETTABLE:
      if (!get_table(L, a, slot(getarg_B(i)), base[getarg_B(i)], slot(getarg_C(i)), base[getarg_C(i)]))
        return abort("table read");
      break;
    case OP_GETI: {
      TValue key = TValue::integer(getarg_C(i));
      if (!get_table(L, a, slot(getarg_B(i)), base[getarg_B(i)], ir_.kint(getarg_C(i)), key)) return abort("table read");
      break;
    }
    case OP_GETFIELD: {
      const TValue& key = k[getarg_C(i)];
      if (!get_table(L, a, slot(getarg_B(i)), base[getarg_B(i)], konst(key), key)) return abort("table read");
      break;
    }
    case OP_SETTABLE:
      if (!set_table(slot(a), base[a], slot(getarg_B(i)), base[getarg_B(i)], rkc())) return abort("table write");
      break;
    case OP_SETI: {
      TValue key = TValue::integer(getarg_B(i));
      if (!set_table(slot(a), base[a], ir_.kint(getarg_B(i)), key, rkc())) return abort("table write");
      break;
    }
    case OP_SETFIELD: {
      const TValue& key = k[getarg_B(i)];
      if (!set_table(slot(a), base[a], konst(key), key, rkc())) return abort("table write");
      break;
    }
    case OP_ADDI: {
      TValue im = TValue::integer(getarg_sC(i));
      if (!arith(OP_ADD, a, slot(getarg_B(i)), ir_.kint(getarg_sC(i)), base[getarg_B(i)], im)) return abort("arithmetic type");
      break;
    }
    case OP_ADDK: case OP_SUBK: case OP_MULK: case OP_MODK: case OP_POWK: case OP_DIVK: case OP_IDIVK:
    case OP_BANDK: case OP_BORK: case OP_BXORK: {
      static_assert(OP_ADD - OP_ADDK == OP_BAND - OP_BANDK);
      int base_op = op - OP_ADDK + OP_ADD;
      const TValue& kc = k[getarg_C(i)];
      if (!arith(base_op, a, slot(getarg_B(i)), konst(kc), base[getarg_B(i)], kc)) return abort("arithmetic type");
      break;
    }
    case OP_SHRI: {
      TValue im = TValue::integer(getarg_sC(i));
      if (!arith(OP_SHR, a, slot(getarg_B(i)), ir_.kint(getarg_sC(i)), base[getarg_B(i)], im)) return abort("arithmetic type");
      break;
    }
    case OP_SHLI: {
      TValue im = TValue::integer(getarg_sC(i));
      if (!arith(OP_SHL, a, ir_.kint(getarg_sC(i)), slot(getarg_B(i)), im, base[getarg_B(i)])) return abort("arithmetic type");
      break;
    }
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_MOD: case OP_POW: case OP_DIV: case OP_IDIV:
    case OP_BAND: case OP_BOR: case OP_BXOR: case OP_SHL: case OP_SHR:
      if (!arith(op, a, slot(getarg_B(i)), slot(getarg_C(i)), base[getarg_B(i)], base[getarg_C(i)]))
        return abort("arithmetic type");
      break;
    case OP_UNM: {
      const TValue& v = base[getarg_B(i)];
      if (!v.is_number()) return abort("arithmetic type");
      slots_.set(a, ir_.emit(ir_ins(IrOp::NEG, v.is_int() ? IrType::Int : IrType::Num, slot(getarg_B(i)))));
      break;
    }
    case OP_BNOT:
      if (!base[getarg_B(i)].is_int()) return abort("arithmetic type");
      slots_.set(a, ir_.emit(ir_ins(IrOp::BNOT, IrType::Int, slot(getarg_B(i)))));
      break;
    case OP_NOT:
      slot(getarg_B(i));  // its type guard decides the result
      slots_.set(a, ir_.kbool(falsy(base[getarg_B(i)])));
      break;
    case OP_NEWTABLE:
      if (!new_table(a, pc)) return abort("NEWTABLE with a large array");
      break;
    case OP_SETLIST:
      if (!set_list(a, i)) return abort("SETLIST");
      break;
    case OP_CONCAT:
      if (!concat(a, getarg_B(i))) return abort("concatenation of other than strings and numbers");
      break;
    case OP_LEN: {
      const TValue& v = base[getarg_B(i)];
      Ref r = slot(getarg_B(i));
      IrIns f = ir_ins(IrOp::FLOAD, IrType::Int, r);
      if (v.is_string()) {
        f.aux8 = static_cast<uint8_t>(Field::StrLen);
        slots_.set(a, ir_.emit(f));
      } else if (v.is_table() && v.as_table()->metatable == nullptr) {
        f.type = IrType::Ptr;
        f.aux8 = static_cast<uint8_t>(Field::TabMeta);
        guard(IrOp::EQ, ir_.emit(f), ir_.kptr(nullptr));
        IrIns c = ir_ins(IrOp::CALL, IrType::Int, r);
        c.aux8 = static_cast<uint8_t>(Helper::TabLen);
        slots_.set(a, ir_.emit(c));
      } else {
        return abort("length of this type");
      }
      break;
    }
    case OP_JMP: {
      // A side trace may go round an outer loop until it reaches a trace,
      // not round a loop of an inlined callee.
      const Instruction* target = pc + 1 + getarg_sJ(i);
      if (target <= pc && (target != start_ || func_) && (!is_side() || frames_.size() > 1)) return abort("inner loop");
      break;
    }
    case OP_EQ: case OP_LT: case OP_LE: {
      const TValue& va = base[a];
      const TValue& vb = base[getarg_B(i)];
      Ref ra = slot(a), rb = slot(getarg_B(i));
      if (va.is_number() && vb.is_number()) {
        // Integers beyond 2^53 abort in compare(), so as_number is exact here.
        bool both = va.is_int() && vb.is_int();
        bool cond = op == OP_EQ ? (both ? va.u.i == vb.u.i : va.as_number() == vb.as_number())
                  : op == OP_LT ? (both ? va.u.i < vb.u.i : va.as_number() < vb.as_number())
                                : (both ? va.u.i <= vb.u.i : va.as_number() <= vb.as_number());
        if (!compare(op, ra, rb, va, vb, cond)) return abort("integer beyond 2^53 against a float");
      } else if (op != OP_EQ) {
        return abort("comparison of non-numbers");
      } else if (basic_type(va.tag) != basic_type(vb.tag)) {
        // Different types are never equal: the type guards decide.
      } else if (va.tag != vb.tag) {
        return abort("equality of mixed variants");
      } else if (va.tag == Tag::Nil || va.tag == Tag::False || va.tag == Tag::True) {
        // Same tag: equal.
      } else if (va.tag == Tag::ShortStr || va.tag == Tag::LClosure || va.tag == Tag::LightFn ||
                 va.tag == Tag::LightUd || va.tag == Tag::NClosure || va.u.gc == vb.u.gc) {
        guard(va.u.gc == vb.u.gc ? IrOp::EQ : IrOp::NE, ra, rb);
      } else if (va.tag == Tag::Table && guard_tm_cached_absent(ra, va.as_table(), TM_EQ) &&
                 guard_tm_cached_absent(rb, vb.as_table(), TM_EQ)) {
        // Two tables neither of which has __eq (richards' `next_task ~= t`).
        guard(IrOp::NE, ra, rb);
      } else {
        return abort("equality may call __eq");
      }
      break;
    }
    case OP_EQK: {
      const TValue& va = base[a];
      const TValue& kb = k[getarg_B(i)];
      Ref ra = slot(a);
      if (va.is_number() && kb.is_number()) {
        bool both = va.is_int() && kb.is_int();
        bool cond = both ? va.u.i == kb.u.i : va.as_number() == kb.as_number();
        if (!compare(OP_EQ, ra, konst(kb), va, kb, cond)) return abort("integer beyond 2^53 against a float");
      } else if (basic_type(va.tag) != basic_type(kb.tag)) {
        // never equal
      } else if (va.tag == Tag::ShortStr && kb.tag == Tag::ShortStr) {
        guard(va.u.gc == kb.u.gc ? IrOp::EQ : IrOp::NE, ra, konst(kb));
      } else if (va.tag == kb.tag && (va.tag == Tag::Nil || va.tag == Tag::False || va.tag == Tag::True)) {
        // equal
      } else {
        return abort("constant equality of this type");
      }
      break;
    }
    case OP_EQI: case OP_LTI: case OP_LEI: case OP_GTI: case OP_GEI: {
      const TValue& va = base[a];
      if (!va.is_number()) return abort("comparison of non-numbers");
      int im = getarg_sB(i);
      Ref ra = slot(a);
      Ref rk = va.is_int() ? ir_.kint(im) : ir_.knum(static_cast<Number>(im));
      TValue vk = va.is_int() ? TValue::integer(im) : TValue::number(static_cast<Number>(im));
      Number x = va.as_number(), y = static_cast<Number>(im);
      bool cond;
      // Small immediates are exact as floats, so one formula covers both types.
      switch (op) {
        case OP_EQI: cond = x == y; compare(OP_EQ, ra, rk, va, vk, cond); break;
        case OP_LTI: cond = x < y; compare(OP_LT, ra, rk, va, vk, cond); break;
        case OP_LEI: cond = x <= y; compare(OP_LE, ra, rk, va, vk, cond); break;
        case OP_GTI: cond = x > y; compare(OP_LT, rk, ra, vk, va, cond); break;
        default: cond = x >= y; compare(OP_LE, rk, ra, vk, va, cond); break;
      }
      break;
    }
    case OP_TEST:
      slot(a);  // the type guard decides the branch
      break;
    case OP_TESTSET: {
      Ref rb = slot(getarg_B(i));
      if (falsy(base[getarg_B(i)]) != static_cast<bool>(getarg_k(i))) slots_.set(a, rb);
      break;
    }
    case OP_FORPREP:
      if (!for_prep(a)) return abort("FORPREP of non-integers");
      break;
    case OP_FORLOOP:
      if (!for_loop(a, pc + 1 - getarg_Bx(i))) return abort(is_side() && frames_.size() == 1 ? "float loop ends" : "inner loop");
      break;
    case OP_TFORPREP:
      // Without a closing value (the usual nil) it only jumps to TFORCALL.
      if (!base[a + 3].is_false_or_nil()) return abort("generic for with a closing value");
      slot(a + 3);  // its type guard
      break;
    case OP_TFORCALL:
      if (!tfor_call(L, a, getarg_C(i)) && !native_tfor(pc, a, getarg_C(i))) return stitch(pc);
      break;
    case OP_TFORLOOP:
      // Like FORLOOP: a root trace's own back-edge, or a loop a side trace
      // follows out of an inlined callee's loop it may not go round.
      if (base[a + 4].is_nil()) {
        slot(a + 4);  // its type guard decides the loop ends
      } else {
        const Instruction* target = pc + 1 - getarg_Bx(i);
        if (frames_.size() > 1 || (!is_side() && target != start_)) return abort("inner loop");
        slots_.set(a + 2, slot(a + 4));
      }
      break;
    case OP_CALL:
      return call(pc);
    case OP_TAILCALL:
      return tailcall(pc);
    case OP_SELF:
      return self(L, pc);
    case OP_RETURN:
      // RETURN with k (a function with a generic for, or captured locals)
      // closes the frame's upvalues. The helper leaves the trace first
      // where a to-be-closed variable is at or above the frame (the root
      // frame's may have been declared before the trace was entered): its
      // __close is the interpreter's.
      if (getarg_k(i) && !close_upvalues(0)) return abort("return closing upvalues");
      return ret(a, getarg_B(i));
    case OP_CLOSURE:
      if (!closure(a, getarg_Bx(i))) return abort("CLOSURE");
      break;
    case OP_CLOSE:
      if (!close_upvalues(a)) return abort("CLOSE");
      break;
    case OP_RETURN0:
      return ret(a, 1);
    case OP_RETURN1:
      return ret(a, 2);
    default:
      return abort(op_info[op].name);
  }
  return RecordStatus::Continue;
}

// An integer numeric for's preparation (5.4's forprep): the iteration
// count is (limit - init) / step as unsigned numbers, or the loop is
// skipped. A variable step is guarded positive; float loops and limits,
// and variable negative steps, abort.
bool Recorder::for_prep(int a) {
  const TValue* ra = base_ + a;
  if (!ra[0].is_int() || !ra[1].is_int() || !ra[2].is_int()) return false;
  Integer st = ra[2].u.i;
  if (st == 0 || st == INT64_MIN) return false;
  Ref init = slot(a), limit = slot(a + 1), step = slot(a + 2);
  bool variable = !ir_.is_const(step);
  // A side trace starting at the FORPREP (nbody's inner loop, entered once
  // per outer iteration) finds the step in memory; the LOADI just before
  // says which constant it is, so it is guarded equal (it cannot fail)
  // and the count needs no division by it.
  if (variable && pc_ > cl_->p->code) {
    Instruction load = plain_ins(pc_[-1]);
    if (get_op(load) == OP_LOADI && getarg_A(load) == a + 2 && getarg_sBx(load) == st) {
      step = ir_.kint(st);
      guard(IrOp::EQ, slot(a + 2), step);
      variable = false;
    }
  }
  if (variable && st < 0) return false;
  if (variable) guard(IrOp::GT, step, ir_.kint(0));
  bool skip = st > 0 ? ra[0].u.i > ra[1].u.i : ra[0].u.i < ra[1].u.i;
  if (st > 0) guard(skip ? IrOp::GT : IrOp::LE, init, limit);
  else guard(skip ? IrOp::LT : IrOp::GE, init, limit);
  slots_.set(a + 3, init);
  if (skip) return true;
  Ref diff = st > 0 ? ir_.emit(ir_ins(IrOp::SUB, IrType::Int, limit, init)) : ir_.emit(ir_ins(IrOp::SUB, IrType::Int, init, limit));
  Integer mag = st > 0 ? st : -st;
  if (variable || mag != 1) {
    IrIns c = ir_ins(IrOp::CALL, IrType::Int, diff, variable ? step : ir_.kint(mag));
    c.aux8 = static_cast<uint8_t>(Helper::UDiv);
    diff = ir_.emit(c);
  }
  slots_.set(a + 1, diff);
  return true;
}

// The step of a root trace's integer loop. One its FORPREP takes from a
// constant (the LOADI just before it) is guarded once, on entry (loop
// optimisation hoists the guard), and then adds as an immediate: the loop
// holds no register for it.
Ref Recorder::for_step(int a, const Instruction* body) {
  Ref step = slot(a + 2);
  if (body - 2 < proto_->code) return step;
  Instruction prep = plain_ins(body[-1]), load = plain_ins(body[-2]);
  if (get_op(prep) != OP_FORPREP || getarg_A(prep) != a || get_op(load) != OP_LOADI || getarg_A(load) != a + 2 ||
      base_[a + 2].u.i != getarg_sBx(load))
    return step;
  Ref k = ir_.kint(getarg_sBx(load));
  guard(IrOp::EQ, step, k);
  return k;
}

// FORLOOP. In a root trace it is the loop's own back-edge and closes the
// trace, even when the loop ends here: the whole iteration was recorded,
// and the guards of the looping direction (which fail now) hold on the
// loop's next run. A side trace follows whichever way the loop went.
bool Recorder::for_loop(int a, const Instruction* target) {
  const TValue* ra = base_ + a;
  bool ends = ra[2].is_int() && ra[1].u.i == 0;
  if (frames_.size() > 1) return false;  // an inlined callee's loop
  // The body's locals and temporaries are dead here: the count's guard
  // need not restore them, nor keep their values in registers until it.
  slots_.forget_from(slots_.base() + live_slots(cl_->p, pc_));
  if (!is_side()) {
    if (target != start_) return false;
    closing_ = true;
  } else if (ends) {
    slot(a + 2);  // the step's type guard decides the integer loop
    guard(IrOp::EQ, slot(a + 1), ir_.kint(0));
    return true;
  } else if (!ra[2].is_int()) {
    Number st = ra[2].u.n, nx = ra[0].u.n + st;
    if (!(st > 0 ? nx <= ra[1].u.n : ra[1].u.n <= nx)) return false;
  }
  if (ra[2].is_int()) {
    Ref count = slot(a + 1), step = is_side() ? slot(a + 2) : for_step(a, target), idx = slot(a);
    guard(IrOp::NE, count, ir_.kint(0));
    Ref nidx = ir_.emit(ir_ins(IrOp::ADD, IrType::Int, idx, step));
    slots_.set(a + 1, ir_.emit(ir_ins(IrOp::SUB, IrType::Int, count, ir_.kint(1))));
    slots_.set(a, nidx);
    slots_.set(a + 3, nidx);
    return true;
  }
  Number st = ra[2].u.n;
  Ref idx = slot(a), limit = slot(a + 1), step = slot(a + 2);
  Ref nidx = ir_.emit(ir_ins(IrOp::ADD, IrType::Num, idx, step));
  if (st > 0) {
    guard(IrOp::GT, step, ir_.knum(0));
    guard(IrOp::LE, nidx, limit);
  } else {
    guard(IrOp::NLT, ir_.knum(0), step);  // not (0 < step), as the interpreter tests it
    guard(IrOp::LE, limit, nidx);
  }
  slots_.set(a, nidx);
  slots_.set(a + 3, nidx);
  return true;
}

}  // namespace luna::jit
