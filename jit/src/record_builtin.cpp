// Library functions recorded as their operation instead of a call: a guard
// on the callee's identity (which native function it is comes from its
// library: core/src/builtin.hpp), guards on what the arguments were (types,
// the case of a string position), then IR computing the one result. An
// argument the function would reject, or a result count other than one,
// aborts the recording, so errors are always raised by the interpreter with
// its own message; a guard failing later exits before the call.
#include <cmath>

#include "object_layout.hpp"
#include "record.hpp"

namespace luna::jit {

RecordStatus Recorder::builtin(int a, int nargs, int c, const TValue& fv) {
  Builtin f = math_builtin(fv.u.f);
  if (f == Builtin::None) f = string_builtin(fv.u.f);
  if (f == Builtin::None) f = table_builtin(fv.u.f);
  if (f == Builtin::None) f = base_builtin(fv.u.f);
  if (f == Builtin::None || c > 2) return abort("call of a non-Lua function");
  guard(IrOp::EQ, slot(a), ir_.kgc(reinterpret_cast<GCObject*>(fv.u.f), Tag::LightFn));
  Ref res;
  if (f <= Builtin::MathFmod) res = math_builtin_ir(f, a, nargs);
  else if (f <= Builtin::StrSub) res = string_builtin_ir(f, a, nargs);
  else res = base_builtin_ir(f, a, nargs);
  if (res == NO_REF) return abort("builtin arguments");
  // table.insert has no result: a call wanting one gets nil.
  int nres = f == Builtin::TabInsert ? 0 : 1;
  // The arguments' top (B = 0) holds for the guards above: an exit there
  // runs the call in the interpreter.
  slots_.set_top(-1);
  slots_.set(a, res);
  slots_.forget_from(slots_.base() + a + 1);
  if (c == 0) slots_.set_top(slots_.base() + a + nres);  // its results, up to the top
  return RecordStatus::Continue;
}

// type, tostring and tonumber of numbers, table.insert and table.remove at
// the end of a table without metatable (its array part; the border exits,
// and the interpreter grows the array).
Ref Recorder::base_builtin_ir(Builtin f, int a, int nargs) {
  const TValue* args = base_ + a + 1;
  if (nargs < 1) return NO_REF;
  if (f == Builtin::SetMetatable) return set_metatable(a, nargs);
  Ref x = slot(a + 1);  // its type guard decides type()
  if (f == Builtin::Type) return ir_.kgc(L_->g->typename_str[basic_type(args[0].tag)], Tag::ShortStr);
  if (f == Builtin::ToNumber) return nargs == 1 && args[0].is_number() ? x : NO_REF;
  if (f == Builtin::ToString) {
    // A string is its own text unless the string metatable has __tostring;
    // a float's is the library's (NCALL).
    if (nargs == 1 && args[0].is_string()) return guard_tostring_plain() ? x : NO_REF;
    // An integer's text, unless numbers got a metatable (__tostring, __name).
    if (nargs != 1 || !args[0].is_int() || !guard_numbers_plain()) return NO_REF;
    return alloc(Helper::StrFromInt, Tag::ShortStr, x);
  }
  if (!args[0].is_table() || args[0].as_table()->metatable != nullptr) return NO_REF;
  Table* h = args[0].as_table();
  Integer n = table_length(h);
  guard_no_metatable(x);
  Ref len = helper(Helper::TabLen, IrType::Int, x);
  if (f == Builtin::TabInsert) {
    if (nargs != 2 || static_cast<Unsigned>(n) + 1u > h->asize + 1u) return NO_REF;
    Ref v = slot(a + 2);
    Ref p = array_slot(x, ir_.emit(ir_ins(IrOp::ADD, IrType::Int, len, ir_.kint(1))));
    ir_.emit(ir_ins(IrOp::VSTORE, IrType::Void, p, v));
    if (ir_[v].type == IrType::Gc && is_collectable_tag(ir_[v].tag)) helper(Helper::BarrierBack, IrType::Void, x);
    return ir_.knil();
  }
  // table.remove(t): t[#t], which becomes nil; an empty table's t[0] is the library's.
  if (nargs != 1 || n < 1 || static_cast<Unsigned>(n) > h->asize) return NO_REF;
  guard(IrOp::GE, len, ir_.kint(1));
  Ref p = array_slot(x, len);
  Ref v = load_value(p, h->array[n - 1]);
  ir_.emit(ir_ins(IrOp::VSTORE, IrType::Void, p, ir_.knil()));
  return v;
}

bool Recorder::guard_numbers_plain() {
  if (L_->g->mt[TNUMBER] != nullptr) return false;
  IrIns mt = ir_ins(IrOp::FLOAD, IrType::Ptr, ir_.kptr(&L_->g->mt[TNUMBER]));
  mt.aux8 = static_cast<uint8_t>(Field::Deref);
  guard(IrOp::EQ, ir_.emit(mt), ir_.kptr(nullptr));
  return true;
}

Ref Recorder::math_builtin_ir(Builtin f, int a, int nargs) {
  const TValue* args = base_ + a + 1;
  if (nargs < 1) return NO_REF;
  for (int k = 0; k < nargs; k++)
    if (!args[k].is_number()) return NO_REF;
  if (f == Builtin::MathMin || f == Builtin::MathMax) {
    // As the library: the first of the least (greatest) by `<`, so NaN and
    // -0.0 come out as they do there, and the winner keeps its subtype.
    int best = 0;
    for (int k = 1; k < nargs; k++) {
      const TValue& x = f == Builtin::MathMax ? args[best] : args[k];
      const TValue& y = f == Builtin::MathMax ? args[k] : args[best];
      bool lt = x.is_int() && y.is_int() ? x.u.i < y.u.i : x.as_number() < y.as_number();
      Ref rx = slot(a + 1 + (f == Builtin::MathMax ? best : k)), ry = slot(a + 1 + (f == Builtin::MathMax ? k : best));
      if (!compare(OP_LT, rx, ry, x, y, lt)) return NO_REF;
      if (lt) best = k;
    }
    return slot(a + 1 + best);
  }
  if (f == Builtin::MathFmod) {
    // Two integers take the library's integer path (and its error for 0).
    if (nargs != 2 || (args[0].is_int() && args[1].is_int())) return NO_REF;
    return helper(Helper::NumFmod, IrType::Num, to_num(slot(a + 1)), to_num(slot(a + 2)));
  }
  if (f >= Builtin::MathSin) {
    if (nargs != 1) return NO_REF;
    Helper h = f == Builtin::MathSin ? Helper::NumSin : f == Builtin::MathCos ? Helper::NumCos
             : f == Builtin::MathExp ? Helper::NumExp : Helper::NumLog;
    return helper(h, IrType::Num, to_num(slot(a + 1)));
  }
  if (nargs != 1) return NO_REF;
  const TValue& arg = args[0];
  bool round = f == Builtin::MathFloor || f == Builtin::MathCeil;
  if (round && arg.is_float()) {
    // A float result (beyond the integers, or NaN) stays interpreted.
    Number r = f == Builtin::MathFloor ? std::floor(arg.u.n) : std::ceil(arg.u.n);
    if (!(r >= -0x1p63 && r < 0x1p63)) return NO_REF;
  }
  Ref x = slot(a + 1);
  if (f == Builtin::MathSqrt) return ir_.emit(ir_ins(IrOp::SQRT, IrType::Num, to_num(x)));
  if (f == Builtin::MathAbs) return ir_.emit(ir_ins(IrOp::ABS, ir_[x].type, x));
  if (arg.is_int()) return x;  // an integer is its own floor and ceiling
  // 5.4 gives an integer when the rounded value fits one.
  Ref r = ir_.emit(ir_ins(f == Builtin::MathFloor ? IrOp::FLOOR : IrOp::CEIL, IrType::Num, x));
  guard(IrOp::GE, r, ir_.knum(-0x1p63));
  guard(IrOp::LT, r, ir_.knum(0x1p63));
  return ir_.emit(ir_ins(IrOp::TOINT, IrType::Int, r));
}

// A string position as str_pos_start (end: str_pos_end) clips it, for the
// case the recorded position p in a string of length l falls in (guarded).
Ref Recorder::str_position(Ref pos, Ref len, Integer p, Integer l, bool end) {
  Ref neglen = ir_.emit(ir_ins(IrOp::NEG, IrType::Int, len));
  Ref from_end = ir_.emit(ir_ins(IrOp::ADD, IrType::Int, ir_.emit(ir_ins(IrOp::ADD, IrType::Int, len, pos)), ir_.kint(1)));
  if (!end && p > 0) {
    guard(IrOp::GT, pos, ir_.kint(0));
    return pos;
  }
  if (!end && p == 0) {
    guard(IrOp::EQ, pos, ir_.kint(0));
    return ir_.kint(1);
  }
  if (end && p > l) {
    guard(IrOp::GT, pos, len);
    return len;
  }
  if (end && p >= 0) {
    guard(IrOp::GE, pos, ir_.kint(0));
    guard(IrOp::LE, pos, len);
    return pos;
  }
  if (p < -l) {
    guard(IrOp::LT, pos, neglen);
    return ir_.kint(end ? 0 : 1);
  }
  guard(IrOp::LT, pos, ir_.kint(0));
  guard(IrOp::GE, pos, neglen);
  return from_end;
}

Ref Recorder::string_builtin_ir(Builtin f, int a, int nargs) {
  const TValue* args = base_ + a + 1;
  auto is_int_arg = [&](int k) { return k < nargs && args[k].is_int(); };
  if (f == Builtin::StrChar) {
    // One byte; more, or a value out of range, is the library's.
    if (nargs != 1 || !is_int_arg(0) || static_cast<Unsigned>(args[0].u.i) > 255) return NO_REF;
    Ref c = slot(a + 1);
    guard(IrOp::ULT, c, ir_.kint(256));
    return alloc(Helper::StrChar, Tag::ShortStr, c);
  }
  if (nargs < 1 || !args[0].is_string()) return NO_REF;
  Ref s = slot(a + 1);
  IrIns fl = ir_ins(IrOp::FLOAD, IrType::Int, s);
  fl.aux8 = static_cast<uint8_t>(Field::StrLen);
  Ref len = ir_.emit(fl);
  Integer l = static_cast<Integer>(args[0].as_string()->len);
  if (f == Builtin::StrLen) return nargs == 1 ? len : NO_REF;
  if (f == Builtin::StrByte) {
    // string.byte(s [, i]): one byte, when i falls inside s.
    if (nargs > 2 || (nargs == 2 && !is_int_arg(1))) return NO_REF;
    Ref pos = nargs == 2 ? slot(a + 2) : ir_.kint(1);
    Integer p = nargs == 2 ? args[1].u.i : 1;
    if (p == 0 || p > l || p < -l) return NO_REF;
    Ref idx = str_position(pos, len, p, l, false);
    if (p > 0) guard(IrOp::LE, pos, len);
    return ir_.emit(ir_ins(IrOp::BLOAD, IrType::Int, s, idx));
  }
  // string.sub(s, i [, j]).
  bool has_j = nargs == 3 && !args[2].is_nil();
  if (nargs < 2 || nargs > 3 || !is_int_arg(1) || (has_j && !is_int_arg(2))) return NO_REF;
  if (nargs == 3 && !has_j) slot(a + 3);  // guards the nil
  Integer pi = args[1].u.i, pj = has_j ? args[2].u.i : -1;
  Ref start = str_position(slot(a + 2), len, pi, l, false);
  Ref stop = str_position(has_j ? slot(a + 3) : ir_.kint(-1), len, pj, l, true);
  size_t st = str_pos_start(pi, static_cast<size_t>(l)), en = str_pos_end(pj, static_cast<size_t>(l));
  Ref data = ir_.emit(ir_ins(IrOp::ADD, IrType::Ptr, s, ir_.kint(layout::STRING_DATA)));
  if (st > en) {
    guard(IrOp::GT, start, stop);
    return alloc(Helper::StrNew, Tag::ShortStr, data, ir_.kint(0));
  }
  guard(IrOp::LE, start, stop);
  Ref from = ir_.emit(ir_ins(IrOp::ADD, IrType::Ptr, data, ir_.emit(ir_ins(IrOp::SUB, IrType::Int, start, ir_.kint(1)))));
  Ref n = ir_.emit(ir_ins(IrOp::ADD, IrType::Int, ir_.emit(ir_ins(IrOp::SUB, IrType::Int, stop, start)), ir_.kint(1)));
  Tag expect = en - st + 1 <= MAX_SHORT_LEN ? Tag::ShortStr : Tag::LongStr;
  Ref r = alloc(Helper::StrNew, expect, from, n);
  guard_str_tag(r, expect);
  return r;
}

// TFORCALL of ipairs' iterator over a table without metatable: the next
// index, and the array slot's value (nil ends the loop, as the iterator's
// one nil result). R[A+4..] take the results; slots past the results
// wanted keep the copies of R[A+1], R[A+2] the interpreter made there. Other
// iterators (next, closures) stay interpreted.
bool Recorder::tfor_call(State* L, int a, int c) {
  const TValue* ra = base_ + a;
  if (ra[0].tag != Tag::LightFn || ra[0].u.f != lib_ipairs_aux || !ra[1].is_table() || !ra[2].is_int() ||
      ra[1].as_table()->metatable != nullptr)
    return false;
  guard(IrOp::EQ, slot(a), ir_.kgc(reinterpret_cast<GCObject*>(ra[0].u.f), Tag::LightFn));
  Ref t = slot(a + 1), ctrl = slot(a + 2);
  guard_no_metatable(t);
  Ref i = ir_.emit(ir_ins(IrOp::ADD, IrType::Int, ctrl, ir_.kint(1)));
  TValue next = TValue::integer(static_cast<Integer>(static_cast<Unsigned>(ra[2].u.i) + 1u));
  // The value goes to R[A+5] first: get_table writes one slot.
  if (!get_table(L, a + 5, t, ra[1], i, next)) return false;
  Ref v = slots_.get(a + 5);
  bool ends = ir_[v].type == IrType::Nil;
  slots_.set(a + 4, ends ? v : i);
  // Slots past the results wanted keep the interpreter's copies.
  if (ends || c < 2) slots_.set(a + 5, ends && c >= 2 ? ir_.knil() : t);
  if (c < 3) slots_.set(a + 6, ctrl);
  for (int k = 3; k <= c; k++) slots_.set(a + 3 + k, ir_.knil());
  return true;
}

}  // namespace luna::jit
