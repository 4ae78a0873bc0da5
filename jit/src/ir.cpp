// IR buffer: constants, raw emission, snapshots and the text dump.
#include "ir.hpp"

#include "state.hpp"

#include <cstdio>
#include <algorithm>
#include <cstring>

namespace luna::jit {

const char* ir_op_name(IrOp op) {
  static const char* const names[] = {
#define LUNA_IR_NAME(o) #o,
      LUNA_IR_OPS(LUNA_IR_NAME)
#undef LUNA_IR_NAME
  };
  return names[static_cast<int>(op)];
}

const char* helper_name(Helper h) {
  switch (h) {
    case Helper::IntIdiv: return "int_idiv";
    case Helper::IntMod: return "int_mod";
    case Helper::Shl: return "shl";
    case Helper::UDiv: return "udiv";
    case Helper::NumMod: return "num_mod";
    case Helper::NumPow: return "num_pow";
    case Helper::NumFmod: return "num_fmod";
    case Helper::NumSin: return "num_sin";
    case Helper::NumCos: return "num_cos";
    case Helper::NumExp: return "num_exp";
    case Helper::NumLog: return "num_log";
    case Helper::TabLen: return "tab_len";
    case Helper::TabGetStr: return "tab_get_str";
    case Helper::TabGetInt: return "tab_get_int";
    case Helper::TabSetStr: return "tab_set_str";
    case Helper::TabSetInt: return "tab_set_int";
    case Helper::BarrierBack: return "barrier_back";
    case Helper::BarrierObj: return "barrier_obj";
    case Helper::NewTable: return "new_table";
    case Helper::TabGrowArray: return "tab_grow_array";
    case Helper::UpvalClose: return "upval_close";
    case Helper::StrFindItem: return "str_find_item";
    case Helper::StrFindChain: return "str_find_chain";
    case Helper::StrGsubItem: return "str_gsub_item";
    case Helper::TabAppend: return "tab_append";
    case Helper::NewClosure: return "new_closure";
    case Helper::ClosureCapture: return "closure_capture";
    case Helper::SetMeta: return "set_meta";
    case Helper::StrConcat: return "str_concat";
    case Helper::StrFromInt: return "str_from_int";
    case Helper::StrNew: return "str_new";
    case Helper::StrChar: return "str_char";
    case Helper::BufPutStr: return "buf_put_str";
    case Helper::BufPutInt: return "buf_put_int";
    case Helper::BufPutNum: return "buf_put_num";
    case Helper::BufStr: return "buf_str";
    case Helper::BufFmtInt: return "buf_fmt_int";
    case Helper::BufFmtNum: return "buf_fmt_num";
    case Helper::BufFmtStr: return "buf_fmt_str";
    case Helper::BufPutLit: return "buf_put_lit";
  }
  return "?";
}

IrType ir_type_of(Tag t) {
  switch (t) {
    case Tag::Int: return IrType::Int;
    case Tag::Float: return IrType::Num;
    case Tag::False: return IrType::False;
    case Tag::True: return IrType::True;
    case Tag::Nil: case Tag::Empty: case Tag::AbsKey: return IrType::Nil;
    default: return IrType::Gc;  // a pointer payload with its exact tag
  }
}

IrBuffer::IrBuffer() { ins_.push_back(ir_ins(IrOp::KNIL, IrType::Void)); }

IrBuffer::Key IrBuffer::key_of(const IrIns& ins) {
  uint64_t bits;
  std::memcpy(&bits, &ins.k, sizeof bits);
  return Key{static_cast<int>(ins.op), static_cast<int>(ins.type), static_cast<int>(ins.tag), ins.aux8,
             ins.a, ins.b, ins.aux, bits};
}

Ref IrBuffer::intern(const IrIns& ins) {
  Key key = key_of(ins);
  auto it = consts_.find(key);
  if (it != consts_.end()) return it->second;
  Ref r = emit_raw(ins);
  consts_.emplace(key, r);
  return r;
}

Ref IrBuffer::kint(Integer i) {
  IrIns ins = ir_ins(IrOp::KINT, IrType::Int);
  ins.k.i = i;
  return intern(ins);
}
Ref IrBuffer::knum(Number n) {
  IrIns ins = ir_ins(IrOp::KNUM, IrType::Num);
  ins.k.n = n;  // interned by bit pattern: 0.0 and -0.0 stay apart
  return intern(ins);
}
Ref IrBuffer::kgc(GCObject* o, Tag tag) {
  IrIns ins = ir_ins(IrOp::KGC, IrType::Gc);
  ins.tag = tag;
  ins.k.p = o;
  return intern(ins);
}
Ref IrBuffer::kptr(const void* p) {
  IrIns ins = ir_ins(IrOp::KPTR, IrType::Ptr);
  ins.k.p = const_cast<void*>(p);
  return intern(ins);
}
Ref IrBuffer::knil() { return intern(ir_ins(IrOp::KNIL, IrType::Nil)); }
Ref IrBuffer::kbool(bool b) { return intern(ir_ins(b ? IrOp::KTRUE : IrOp::KFALSE, b ? IrType::True : IrType::False)); }

Ref IrBuffer::emit_raw(const IrIns& ins) {
  ins_.push_back(ins);
  return static_cast<Ref>(ins_.size() - 1);
}

Ref IrBuffer::emit(IrIns ins) { return fold_emit(*this, ins); }

uint32_t IrBuffer::add_snapshot(const Instruction* pc, const std::vector<SnapEntry>& entries, int32_t frame,
                                int32_t top) {
  // Consecutive guards of one instruction share their snapshot.
  if (!snaps_.empty()) {
    const Snapshot& last = snaps_.back();
    if (last.pc == pc && last.frame == frame && last.top == top && last.count == entries.size() &&
        std::equal(entries.begin(), entries.end(), snap_entries_.begin() + last.first,
                   [](const SnapEntry& x, const SnapEntry& y) { return x.slot == y.slot && x.ref == y.ref; }))
      return static_cast<uint32_t>(snaps_.size() - 1);
  }
  Snapshot s{pc, static_cast<uint32_t>(snap_entries_.size()), static_cast<uint32_t>(entries.size()), frame, top};
  snap_entries_.insert(snap_entries_.end(), entries.begin(), entries.end());
  snaps_.push_back(s);
  return static_cast<uint32_t>(snaps_.size() - 1);
}

namespace {

// What an address points into, as far as loads and stores are told apart.
enum class Mem { StrKey, IntKey, Upvalue, Any };

Mem mem_of(const IrBuffer& ir, Ref p, Ref* key) {
  const IrIns& a = ir[p];
  if (a.op == IrOp::HREFK) {
    *key = a.b;
    return Mem::StrKey;
  }
  if (a.op == IrOp::AREF) return Mem::IntKey;
  if (a.op == IrOp::CALL) {
    Helper h = static_cast<Helper>(a.aux8);
    if (h == Helper::TabGetStr || h == Helper::TabSetStr) {
      *key = a.b;
      return Mem::StrKey;
    }
    if (h == Helper::TabGetInt || h == Helper::TabSetInt) return Mem::IntKey;
  }
  if (a.op == IrOp::FLOAD && static_cast<Field>(a.aux8) == Field::UvValue) return Mem::Upvalue;
  return Mem::Any;
}

}  // namespace

bool IrBuffer::may_change(const IrIns& s, const IrIns& l) const {
  if (s.op == IrOp::LOOP || s.op == IrOp::LOOPSTART || s.op == IrOp::PHI) return false;
  // The arithmetic and lookup helpers write nothing; a write barrier only
  // greys a table for the collector.
  if (s.op == IrOp::CALL && (static_cast<Helper>(s.aux8) <= Helper::TabGetInt ||
                             static_cast<Helper>(s.aux8) == Helper::BarrierBack ||
                             static_cast<Helper>(s.aux8) == Helper::BarrierObj))
    return false;
  // coroutine.create's call (create_call) writes only its result slots
  // (SLOADs are read again after any NCALL) and never moves the stack.
  if (s.op == IrOp::NCALL && !moves_stack(s)) return false;
  if (s.op != IrOp::VSTORE) return true;
  Ref sk = NO_REF, lk = NO_REF;
  Mem sm = mem_of(*this, s.a, &sk);
  if (l.op == IrOp::CALL) {
    Helper h = static_cast<Helper>(l.aux8);
    if (h == Helper::TabGetStr || h == Helper::TabGetInt) return false;
    if (h == Helper::TabLen) return sm == Mem::IntKey || sm == Mem::Any;
    return true;
  }
  if (l.op != IrOp::VLOAD) return true;
  Mem lm = mem_of(*this, l.a, &lk);
  if (sm == Mem::Any || lm == Mem::Any) return true;
  if (sm != lm) return false;
  // Short strings are interned, and so are the IR's constants: two
  // constant keys of different refs are different keys.
  if (sm == Mem::StrKey) return sk == lk || !is_const(sk) || !is_const(lk);
  return true;
}

bool IrBuffer::moves_stack(const IrIns& ncall) const {
  return ncall.k.p != nullptr || ins_[ncall.a].k.p != reinterpret_cast<void*>(&coro_create);
}

bool IrBuffer::stored_between(Ref from, Ref to, const IrIns& l) const {
  for (Ref r = from + 1; r < to; r++)
    if (has_effect(ins_[r].op) && may_change(ins_[r], l)) return true;
  return false;
}

void IrBuffer::rebuild_cse() {
  consts_.clear();
  cse_.clear();
  last_store_ = last_nontable_store_ = NO_REF;
  for (Ref r = 1; r < size(); r++) {
    if (is_const(r)) consts_.emplace(key_of(ins_[r]), r);
    if (has_effect(ins_[r].op)) last_store_ = r;
    if (may_write_upvalue(ins_[r])) last_nontable_store_ = r;
  }
}

std::string IrBuffer::dump() const {
  static const char* const tnames[] = {"void", "nil", "false", "true", "int", "num", "gc", "ptr"};
  std::string out;
  char buf[160];
  for (Ref r = 1; r < size(); r++) {
    const IrIns& i = ins_[r];
    int n = std::snprintf(buf, sizeof buf, "%04u %-5s %-7s", r, tnames[static_cast<int>(i.type)], ir_op_name(i.op));
    std::string line(buf, static_cast<size_t>(n));
    switch (i.op) {
      case IrOp::KINT: std::snprintf(buf, sizeof buf, " %lld", static_cast<long long>(i.k.i)); break;
      case IrOp::KNUM: std::snprintf(buf, sizeof buf, " %.17g", i.k.n); break;
      case IrOp::KGC: case IrOp::KPTR: std::snprintf(buf, sizeof buf, " %p", i.k.p); break;
      case IrOp::SLOAD: case IrOp::SLOTREF: std::snprintf(buf, sizeof buf, " #%d", i.aux); break;
      case IrOp::CALL: std::snprintf(buf, sizeof buf, " %s %04u %04u", helper_name(static_cast<Helper>(i.aux8)), i.a, i.b); break;
      default: std::snprintf(buf, sizeof buf, " %04u %04u aux=%d", i.a, i.b, i.aux); break;
    }
    line += buf;
    if (i.snap >= 0) {
      std::snprintf(buf, sizeof buf, "  [snap %d]", i.snap);
      line += buf;
    }
    if (i.cont_snap >= 0) {
      std::snprintf(buf, sizeof buf, "  [flagged: snap %d]", i.cont_snap);
      line += buf;
    }
    if (i.self_upvalues != 0) {
      std::snprintf(buf, sizeof buf, "  [self: upvalues %#x]", i.self_upvalues);
      line += buf;
    }
    out += line + "\n";
  }
  for (size_t s = 0; s < snaps_.size(); s++) {
    std::snprintf(buf, sizeof buf, "snap %zu pc=%p:", s, static_cast<const void*>(snaps_[s].pc));
    out += buf;
    // Inlined frames, innermost first: the slot of each called function.
    for (int32_t f = snaps_[s].frame; f >= 0; f = frames_[static_cast<size_t>(f)].parent) {
      std::snprintf(buf, sizeof buf, " [call #%d]", frames_[static_cast<size_t>(f)].func_slot);
      out += buf;
    }
    for (uint32_t e = 0; e < snaps_[s].count; e++) {
      const SnapEntry& se = snap_entries_[snaps_[s].first + e];
      std::snprintf(buf, sizeof buf, " %d=%04u", se.slot, se.ref);
      out += buf;
    }
    out += "\n";
  }
  return out;
}

void compact_into(IrBuffer& ir, std::vector<IrIns>& out, Ref start, const std::vector<bool>& drop) {
  Ref n = ir.size();
  std::vector<Ref> map(n, NO_REF);
  for (Ref r = 0; r < start; r++) map[r] = r;
  for (Ref r = start; r < n; r++) {
    if (drop[r]) continue;
    IrIns i = ir[r];
    if (i.op != IrOp::LOOP) {
      i.a = map[i.a];
      i.b = map[i.b];
    }
    map[r] = static_cast<Ref>(out.size());
    out.push_back(i);
  }
  for (SnapEntry& e : ir.snap_entries_mut()) e.ref = map[e.ref];
  ir.replace(std::move(out));
}

}  // namespace luna::jit
