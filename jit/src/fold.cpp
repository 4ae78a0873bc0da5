// Emission-time optimisation: constant folding, algebraic simplification and
// common-subexpression elimination. Every instruction the recorder emits goes
// through fold_emit, so the IR never holds a computation on constants or a
// repeated pure computation.
#include <cmath>

#include "ir.hpp"

namespace luna::jit {
namespace {

bool commutative(IrOp op) {
  return op == IrOp::ADD || op == IrOp::MUL || op == IrOp::BAND || op == IrOp::BOR || op == IrOp::BXOR ||
         op == IrOp::EQ || op == IrOp::NE;
}

bool pure(const IrIns& i) {
  switch (i.op) {
    case IrOp::ADD: case IrOp::SUB: case IrOp::MUL: case IrOp::DIV: case IrOp::NEG: case IrOp::FLOOR:
    case IrOp::CONV: case IrOp::BAND: case IrOp::BOR: case IrOp::BXOR: case IrOp::BNOT: case IrOp::SHLK:
    case IrOp::SHRK: case IrOp::CLOSURE: case IrOp::SLOTREF: case IrOp::AREF: case IrOp::SQRT: case IrOp::ABS:
    case IrOp::CEIL: case IrOp::TOINT: case IrOp::BLOAD:
      return true;
    case IrOp::FLOAD:
      return static_cast<Field>(i.aux8) != Field::TabFlags;
    case IrOp::CALL: {
      Helper h = static_cast<Helper>(i.aux8);
      return h != Helper::BarrierBack && h != Helper::BarrierObj && h != Helper::TabLen && h != Helper::TabGetStr &&
             h != Helper::TabGetInt && !helper_inserts(h) && h != Helper::UpvalClose &&
             !helper_allocates(h);
    }
    default:
      return false;
  }
}

// Loads of Lua values, table lengths and metamethod caches see stores;
// nothing else does (a trace closes no upvalue; the header fields a new
// key's rehash or an array's growth changes are dropped from sharing below).
bool reads_memory(const IrIns& i) {
  if (i.op == IrOp::VLOAD) return true;
  if (i.op == IrOp::FLOAD) return static_cast<Field>(i.aux8) == Field::TabFlags;
  if (i.op != IrOp::CALL) return false;
  Helper h = static_cast<Helper>(i.aux8);
  return h == Helper::TabLen || h == Helper::TabGetStr || h == Helper::TabGetInt;
}

Integer wrap_add(Integer a, Integer b) { return static_cast<Integer>(static_cast<Unsigned>(a) + static_cast<Unsigned>(b)); }
Integer wrap_sub(Integer a, Integer b) { return static_cast<Integer>(static_cast<Unsigned>(a) - static_cast<Unsigned>(b)); }
Integer wrap_mul(Integer a, Integer b) { return static_cast<Integer>(static_cast<Unsigned>(a) * static_cast<Unsigned>(b)); }

// Both operands constant: the result, or NO_REF when the op does not fold.
Ref fold_const(IrBuffer& ir, const IrIns& i) {
  const IrIns& a = ir[i.a];
  bool unary = i.op == IrOp::NEG || i.op == IrOp::BNOT || i.op == IrOp::CONV || i.op == IrOp::FLOOR ||
               i.op == IrOp::CEIL || i.op == IrOp::TOINT || i.op == IrOp::SQRT || i.op == IrOp::ABS;
  if (!ir.is_const(i.a) || (!unary && !ir.is_const(i.b))) return NO_REF;
  const IrIns& b = unary ? a : ir[i.b];
  if (i.type == IrType::Int && a.op == IrOp::KINT && b.op == IrOp::KINT) {
    Integer x = a.k.i, y = b.k.i;
    switch (i.op) {
      case IrOp::ADD: return ir.kint(wrap_add(x, y));
      case IrOp::SUB: return ir.kint(wrap_sub(x, y));
      case IrOp::MUL: return ir.kint(wrap_mul(x, y));
      case IrOp::NEG: return ir.kint(wrap_sub(0, x));
      case IrOp::ABS: return ir.kint(x < 0 ? wrap_sub(0, x) : x);
      case IrOp::BAND: return ir.kint(x & y);
      case IrOp::BOR: return ir.kint(x | y);
      case IrOp::BXOR: return ir.kint(x ^ y);
      case IrOp::BNOT: return ir.kint(~x);
      case IrOp::SHLK: return ir.kint(static_cast<Integer>(static_cast<Unsigned>(x) << y));
      case IrOp::SHRK: return ir.kint(static_cast<Integer>(static_cast<Unsigned>(x) >> y));
      default: return NO_REF;
    }
  }
  // TOINT's operand is guarded to be an integral float in range.
  if (i.op == IrOp::TOINT && a.op == IrOp::KNUM && a.k.n >= -0x1p63 && a.k.n < 0x1p63)
    return ir.kint(static_cast<Integer>(a.k.n));
  if (i.type == IrType::Num) {
    if (i.op == IrOp::CONV && a.op == IrOp::KINT) return ir.knum(static_cast<Number>(a.k.i));
    if (a.op != IrOp::KNUM || b.op != IrOp::KNUM) return NO_REF;
    Number x = a.k.n, y = b.k.n;
    switch (i.op) {
      case IrOp::ADD: return ir.knum(x + y);
      case IrOp::SUB: return ir.knum(x - y);
      case IrOp::MUL: return ir.knum(x * y);
      case IrOp::DIV: return ir.knum(x / y);
      case IrOp::NEG: return ir.knum(-x);
      case IrOp::FLOOR: return ir.knum(std::floor(x));
      case IrOp::CEIL: return ir.knum(std::ceil(x));
      case IrOp::SQRT: return ir.knum(std::sqrt(x));
      case IrOp::ABS: return ir.knum(std::fabs(x));
      default: return NO_REF;
    }
  }
  return NO_REF;
}

bool is_kint(const IrBuffer& ir, Ref r, Integer v) { return ir[r].op == IrOp::KINT && ir[r].k.i == v; }
bool is_knum(const IrBuffer& ir, Ref r, Number v) {
  return ir[r].op == IrOp::KNUM && ir[r].k.n == v && std::signbit(ir[r].k.n) == std::signbit(v);
}

// Algebraic identities that hold exactly under 5.4 semantics (wrapping
// integers, IEEE floats with signed zeros and NaN). NO_REF when none applies.
Ref simplify(IrBuffer& ir, const IrIns& i) {
  if (i.type == IrType::Int) {
    switch (i.op) {
      case IrOp::ADD: case IrOp::BOR: case IrOp::BXOR:
        if (is_kint(ir, i.b, 0)) return i.a;
        if (i.a == i.b && i.op == IrOp::BOR) return i.a;
        if (i.a == i.b && i.op == IrOp::BXOR) return ir.kint(0);
        return NO_REF;
      case IrOp::SUB:
        if (is_kint(ir, i.b, 0)) return i.a;
        if (i.a == i.b) return ir.kint(0);
        return NO_REF;
      case IrOp::MUL:
        if (is_kint(ir, i.b, 1)) return i.a;
        if (is_kint(ir, i.b, 0)) return i.b;
        return NO_REF;
      case IrOp::BAND:
        if (is_kint(ir, i.b, -1) || i.a == i.b) return i.a;
        if (is_kint(ir, i.b, 0)) return i.b;
        return NO_REF;
      case IrOp::SHLK: case IrOp::SHRK:
        return is_kint(ir, i.b, 0) ? i.a : NO_REF;
      case IrOp::NEG: case IrOp::BNOT:
        return ir[i.a].op == i.op ? ir[i.a].a : NO_REF;
      default:
        return NO_REF;
    }
  }
  if (i.type == IrType::Num) {
    switch (i.op) {
      case IrOp::ADD: return is_knum(ir, i.b, -0.0) ? i.a : NO_REF;
      case IrOp::SUB: return is_knum(ir, i.b, 0.0) ? i.a : NO_REF;
      case IrOp::MUL: case IrOp::DIV: return is_knum(ir, i.b, 1.0) ? i.a : NO_REF;
      case IrOp::NEG: return ir[i.a].op == IrOp::NEG ? ir[i.a].a : NO_REF;
      case IrOp::FLOOR: return ir[i.a].op == IrOp::FLOOR ? i.a : NO_REF;
      default: return NO_REF;
    }
  }
  return NO_REF;
}

// The ordered relations of a guard, on integers or floats.
template <class T> bool relation(IrOp op, T x, T y, bool* r) {
  switch (op) {
    case IrOp::LT: *r = x < y; return true;
    case IrOp::LE: *r = x <= y; return true;
    case IrOp::GT: *r = x > y; return true;
    case IrOp::GE: *r = x >= y; return true;
    case IrOp::EQ: *r = x == y; return true;
    case IrOp::NE: *r = x != y; return true;
    case IrOp::NLT: *r = !(x < y); return true;
    case IrOp::NLE: *r = !(x <= y); return true;
    default: return false;
  }
}

// A guard on constants: 1 always holds, 0 always fails, -1 unknown.
int fold_guard(const IrBuffer& ir, const IrIns& g) {
  const IrIns& a = ir[g.a];
  if (g.op == IrOp::NOTNIL) return -1;
  // An integer compared with itself needs no test; floats may be NaN.
  if (g.a == g.b && ir[g.a].type == IrType::Int) {
    return g.op == IrOp::LE || g.op == IrOp::GE || g.op == IrOp::EQ || g.op == IrOp::NLT ? 1 : 0;
  }
  if (g.a == g.b && (ir[g.a].type == IrType::Gc || ir[g.a].type == IrType::Ptr)) {
    if (g.op == IrOp::EQ) return 1;
    if (g.op == IrOp::NE) return 0;
  }
  if (!ir.is_const(g.a) || !ir.is_const(g.b)) return -1;
  const IrIns& b = ir[g.b];
  bool r;
  if (a.op == IrOp::KINT && b.op == IrOp::KINT) {
    if (g.op == IrOp::ULT) r = static_cast<Unsigned>(a.k.i) < static_cast<Unsigned>(b.k.i);
    else if (!relation(g.op, a.k.i, b.k.i, &r)) return -1;
  } else if (a.op == IrOp::KNUM && b.op == IrOp::KNUM) {
    if (!relation(g.op, a.k.n, b.k.n, &r)) return -1;
  } else if ((a.op == IrOp::KGC || a.op == IrOp::KPTR) && (b.op == IrOp::KGC || b.op == IrOp::KPTR)) {
    if (g.op == IrOp::EQ) r = a.k.p == b.k.p;
    else if (g.op == IrOp::NE) r = a.k.p != b.k.p;
    else return -1;
  } else {
    return -1;
  }
  return r ? 1 : 0;
}

}  // namespace

Ref fold_emit(IrBuffer& ir, IrIns ins) {
  // Commutative operands in a canonical order: constants second, else by ref.
  if (commutative(ins.op) && (ir.is_const(ins.a) ? !ir.is_const(ins.b) : (!ir.is_const(ins.b) && ins.a > ins.b)))
    std::swap(ins.a, ins.b);
  // A slot read since the last store had its tag guarded (`t.k = t.k + 1`):
  // it is not nil, and a store of a value of that type leaves the tag.
  if (ins.op == IrOp::NOTNIL || ins.op == IrOp::VSTORE) {
    Ref seen = ir.loaded_since_store(ins.a);
    if (seen != NO_REF && ins.op == IrOp::NOTNIL) {
      ir.stats_.folded++;
      return NO_REF;
    }
    if (seen != NO_REF && ins.op == IrOp::VSTORE && ir[seen].type == ir[ins.b].type && ir[seen].tag == ir[ins.b].tag)
      ins.aux8 = 1;
  }
  bool guard_only = ins.op >= IrOp::LT && ins.op <= IrOp::NOTNIL;
  // 0 < b unsigned (the bounds check of t[1]) is b ~= 0: one compare with
  // an immediate instead of the constant built in a register.
  if (ins.op == IrOp::ULT && ir[ins.a].op == IrOp::KINT && ir[ins.a].k.i == 0 && !ir.is_const(ins.b)) {
    ins.op = IrOp::NE;
    ins.a = ins.b;
    ins.b = ir.kint(0);
  }
  if (guard_only) {
    int g = fold_guard(ir, ins);
    if (g == 1) {
      ir.stats_.folded++;
      return NO_REF;
    }
    if (g == 0) {
      ir.failed_ = true;
      return NO_REF;
    }
  } else if (pure(ins) && ins.op != IrOp::CALL) {
    Ref r = fold_const(ir, ins);
    if (r == NO_REF) r = simplify(ir, ins);
    if (r != NO_REF) {
      ir.stats_.folded++;
      return r;
    }
  }
  bool shareable = pure(ins) || IrBuffer::is_guard(ins.op) || reads_memory(ins);
  if (shareable) {
    IrIns probe = ins;
    probe.snap = -1;
    IrBuffer::Key key = IrBuffer::key_of(probe);
    auto it = ir.cse_.find(key);
    bool variant = it != ir.cse_.end() && it->second < ir.variant_.size() && ir.variant_[it->second];
    Ref barrier = ir.loads_upvalue(ins) ? ir.last_nontable_store_ : ir.last_store_;
    if (it != ir.cse_.end() && !variant &&
        (!reads_memory(ins) || it->second > barrier || !ir.stored_between(it->second, ir.size(), ins))) {
      ir.stats_.cse++;
      // A repeated pure guard is already checked: nothing to emit.
      return guard_only ? NO_REF : it->second;
    }
    Ref r = ir.emit_raw(ins);
    ir.cse_[key] = r;
    return r;
  }
  Ref r = ir.emit_raw(ins);
  if (IrBuffer::has_effect(ins.op)) ir.last_store_ = r;
  if (ir.may_write_upvalue(ins)) ir.last_nontable_store_ = r;
  // A call the trace makes may change anything in memory (resize tables,
  // close upvalues), and after a return to the caller the frame's closure
  // and slots are others (after a tail call, its closure): nothing loaded
  // before is shared after.
  if (ins.op == IrOp::CALLOUT || ins.op == IrOp::RETDOWN || ins.op == IrOp::SETTAIL) ir.cse_.clear();
  // So may a coroutine the trace resumes (an NCALL with the pc after it).
  if (ins.op == IrOp::NCALL && ins.k.p != nullptr) ir.cse_.clear();
  // A library function called from the trace writes its results into the
  // frame and may move the stack: slots and their addresses are read again,
  // and so are the value pointers of open upvalues (the move corrects the
  // UpVal's pointer, not one the trace loaded before: that one points into
  // the freed stack).
  if (ins.op == IrOp::NCALL) {
    bool moves = ir.moves_stack(ins);
    std::erase_if(ir.cse_, [&](const auto& e) {
      const IrIns& c = ir[e.second];
      return c.op == IrOp::SLOAD || c.op == IrOp::SLOTREF ||
             (moves && c.op == IrOp::FLOAD && static_cast<Field>(c.aux8) == Field::UvValue);
    });
  }
  // A new key may take the node of a key that was not in its main position
  // (moving that key), or rehash the table into a new hash part of another
  // size: a node found before, the node array and its size are read again.
  if (ins.op == IrOp::CALL && helper_inserts(static_cast<Helper>(ins.aux8)))
    std::erase_if(ir.cse_, [&](const auto& e) {
      const IrIns& c = ir[e.second];
      return c.op == IrOp::HREFK || (c.op == IrOp::FLOAD && (static_cast<Field>(c.aux8) == Field::TabNode ||
                                                             static_cast<Field>(c.aux8) == Field::TabLsizenode));
    });
  // Closing upvalues moves their values out of the stack: their addresses
  // are loaded again.
  // Slots captured or closed are read from memory again: no earlier load
  // of a slot is shared after a capture or a close.
  if (ins.op == IrOp::CALL && static_cast<Helper>(ins.aux8) == Helper::UpvalClose)
    std::erase_if(ir.cse_, [&](const auto& e) {
      const IrIns& c = ir[e.second];
      return c.op == IrOp::SLOAD || (c.op == IrOp::FLOAD && static_cast<Field>(c.aux8) == Field::UvValue);
    });
  if (ins.op == IrOp::CALL && static_cast<Helper>(ins.aux8) == Helper::ClosureCapture)
    std::erase_if(ir.cse_, [&](const auto& e) { return ir[e.second].op == IrOp::SLOAD; });
  // A grown array part moves: its address and size are loaded again.
  if (ins.op == IrOp::FSTORE || (ins.op == IrOp::CALL && (static_cast<Helper>(ins.aux8) == Helper::TabAppend ||
                                                          static_cast<Helper>(ins.aux8) == Helper::TabGrowArray)))
    std::erase_if(ir.cse_, [&](const auto& e) {
      const IrIns& c = ir[e.second];
      return c.op == IrOp::AREF || (c.op == IrOp::FLOAD && (static_cast<Field>(c.aux8) == Field::TabArray ||
                                                            static_cast<Field>(c.aux8) == Field::TabAsize));
    });
  // Likewise a metatable set: its field is loaded again.
  if (ins.op == IrOp::CALL && static_cast<Helper>(ins.aux8) == Helper::SetMeta)
    std::erase_if(ir.cse_, [&](const auto& e) {
      return ir[e.second].op == IrOp::FLOAD && static_cast<Field>(ir[e.second].aux8) == Field::TabMeta;
    });
  return r;
}

}  // namespace luna::jit
