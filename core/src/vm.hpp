// What the dispatcher (execute.cpp) shares with the value operations
// (vm.cpp): small inline helpers, and the slow paths of the instruction
// handlers, which live with the value operations. Two files, so that the
// dispatcher's own compile flags (meson.build) do not apply to the rest.
#pragma once

#include <cmath>
#include <cstdint>

#include "state.hpp"

namespace luna {

#if defined(__GNUC__) || defined(__clang__)
#define LUNA_LIKELY(x) __builtin_expect(!!(x), 1)
#define LUNA_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define LUNA_LIKELY(x) (x)
#define LUNA_UNLIKELY(x) (x)
#endif

inline void set_int(TValue* v, Integer i) { v->u.i = i; v->tag = Tag::Int; }
inline void set_flt(TValue* v, Number n) { v->u.n = n; v->tag = Tag::Float; }
inline void set_nil(TValue* v) { v->u.i = 0; v->tag = Tag::Nil; }

// ------------------------------------------------------------ comparisons

// Integer/float order without precision loss: a float in the integer range
// is rounded to the integer that preserves the comparison; beyond the range
// (or NaN) the answer depends on the float alone.
constexpr Number TWO_POW_63 = 9223372036854775808.0;
inline bool in_int_range(Number f) { return f >= -TWO_POW_63 && f < TWO_POW_63; }

inline bool lt_int_flt(Integer i, Number f) {
  if (in_int_range(f)) return i < static_cast<Integer>(std::ceil(f));
  return f > 0;  // NaN compares false
}
inline bool le_int_flt(Integer i, Number f) {
  if (in_int_range(f)) return i <= static_cast<Integer>(std::floor(f));
  return f > 0;
}
inline bool lt_flt_int(Number f, Integer i) {
  if (in_int_range(f)) return static_cast<Integer>(std::floor(f)) < i;
  return f < 0;
}
inline bool le_flt_int(Number f, Integer i) {
  if (in_int_range(f)) return static_cast<Integer>(std::ceil(f)) <= i;
  return f < 0;
}

// Both operands are numbers.
inline bool lt_num(const TValue& a, const TValue& b) {
  if (a.is_int()) return b.is_int() ? a.u.i < b.u.i : lt_int_flt(a.u.i, b.u.n);
  return b.is_float() ? a.u.n < b.u.n : lt_flt_int(a.u.n, b.u.i);
}
inline bool le_num(const TValue& a, const TValue& b) {
  if (a.is_int()) return b.is_int() ? a.u.i <= b.u.i : le_int_flt(a.u.i, b.u.n);
  return b.is_float() ? a.u.n <= b.u.n : le_flt_int(a.u.n, b.u.i);
}

inline void charge_budget(State* L, uint64_t n) {
  uint64_t& b = L->g->instr_budget;
  if (b <= n)
    budget_checkpoint(L, n);
  else
    b -= n;
}

// Slow paths of the handlers (vm.cpp).
bool lt_other(State* L, const TValue& a, const TValue& b);
bool le_other(State* L, const TValue& a, const TValue& b);
void arith_tm(State* L, const Instruction* next, const TValue* base, const TValue* k, const TValue& a,
              const TValue& b, TValue* ra, TMS ev);
bool order_imm(State* L, const TValue& a, int imm, bool is_float, bool flip, TMS event);
// `steps`: the __index steps already taken (OP_SELF's, when it continues
// from the class), counted towards the chain's limit.
void finish_get(State* L, const TValue* t, const TValue& key, TValue* val, const TValue* slot, int steps = 0);
void finish_set(State* L, const TValue* t, const TValue& key, const TValue& v, const TValue* slot);
bool for_prep(State* L, TValue* ra);

}  // namespace luna
