// Inline paths for common library functions called from Lua code. OP_CALL
// hands a native callee here first; when it is one of the functions of
// lib/builtins.hpp and its arguments are the usual ones, the result is
// computed without a native call frame. Anything else (other argument
// types, a hook, an instruction budget to charge) returns false and takes
// the real call, so errors and their messages are the library's own.
#include <cmath>

#include "builtin.hpp"
#include "state.hpp"

namespace luna {
namespace {

constexpr Number TWO_POW_63 = 9223372036854775808.0;

// Puts n results (at src, at or above func) where a call at func returns
// them, adjusted to `wanted` (MULTRET: all).
bool set_results(State* L, TValue* func, const TValue* src, int n, int wanted) {
  if (wanted < 0) wanted = n;
  int j = 0;
  for (; j < n && j < wanted; j++) func[j] = src[j];
  for (; j < wanted; j++) func[j] = TValue();
  L->top = func + wanted;
  return true;
}

bool one_result(State* L, TValue* func, const TValue& v, int wanted) { return set_results(L, func, &v, 1, wanted); }

// An optional integer argument: absent or nil gives `def`; false when the
// argument is something else (the library converts or raises).
bool opt_int_arg(const TValue* args, int nargs, int j, Integer def, Integer* out) {
  if (j >= nargs || args[j].is_nil()) {
    *out = def;
    return true;
  }
  if (!args[j].is_int()) return false;
  *out = args[j].u.i;
  return true;
}

bool math_floor(State* L, TValue* func, const TValue* args, int nargs, int wanted) {
  if (nargs < 1) return false;
  if (args[0].is_int()) return one_result(L, func, args[0], wanted);
  if (!args[0].is_float()) return false;
  Number f = std::floor(args[0].u.n);
  bool fits = f >= -TWO_POW_63 && f < TWO_POW_63;
  return one_result(L, func, fits ? TValue::integer(static_cast<Integer>(f)) : TValue::number(f), wanted);
}

bool math_abs(State* L, TValue* func, const TValue* args, int nargs, int wanted) {
  if (nargs < 1) return false;
  if (args[0].is_int()) {
    Integer n = args[0].u.i;
    if (n < 0) n = static_cast<Integer>(0u - static_cast<Unsigned>(n));  // wraps for mininteger
    return one_result(L, func, TValue::integer(n), wanted);
  }
  if (!args[0].is_float()) return false;
  return one_result(L, func, TValue::number(std::fabs(args[0].u.n)), wanted);
}

// Integers only or floats only; mixed arguments take the library's exact
// integer/float comparison.
bool math_max(State* L, TValue* func, const TValue* args, int nargs, int wanted) {
  if (nargs < 1) return false;
  int best = 0;
  if (args[0].is_int()) {
    for (int j = 1; j < nargs; j++) {
      if (!args[j].is_int()) return false;
      if (args[best].u.i < args[j].u.i) best = j;
    }
  } else if (args[0].is_float()) {
    for (int j = 1; j < nargs; j++) {
      if (!args[j].is_float()) return false;
      if (args[best].u.n < args[j].u.n) best = j;
    }
  } else {
    return false;
  }
  return one_result(L, func, args[best], wanted);
}

bool string_byte(State* L, TValue* func, const TValue* args, int nargs, int wanted) {
  if (nargs < 1 || nargs > 3 || !args[0].is_string()) return false;
  const String* s = args[0].as_string();
  Integer pi, pe;
  if (!opt_int_arg(args, nargs, 1, 1, &pi)) return false;
  if (!opt_int_arg(args, nargs, 2, pi, &pe)) return false;
  size_t posi = str_pos_start(pi, s->len);
  size_t pose = str_pos_end(pe, s->len);
  if (posi > pose) return set_results(L, func, nullptr, 0, wanted);
  constexpr size_t MAX_INLINE = 8;  // longer slices: the library checks the stack
  if (pose - posi >= MAX_INLINE) return false;
  TValue bytes[MAX_INLINE];
  int n = static_cast<int>(pose - posi) + 1;
  for (int j = 0; j < n; j++) bytes[j] = TValue::integer(static_cast<unsigned char>(s->data[posi + j - 1]));
  return set_results(L, func, bytes, n, wanted);
}

bool string_sub(State* L, TValue* func, const TValue* args, int nargs, int wanted) {
  if (nargs < 2 || nargs > 3 || !args[0].is_string() || !args[1].is_int()) return false;
  Integer pe;
  if (!opt_int_arg(args, nargs, 2, -1, &pe)) return false;
  const String* s = args[0].as_string();
  size_t start = str_pos_start(args[1].u.i, s->len);
  size_t end = str_pos_end(pe, s->len);
  String* r = start > end ? str_new(L, "", 0) : str_new(L, s->data + start - 1, end - start + 1);
  return one_result(L, func, str_value(r), wanted);
}

bool select(State* L, TValue* func, const TValue* args, int nargs, int wanted) {
  if (nargs < 1) return false;
  if (args[0].is_string() && args[0].as_string()->data[0] == '#')
    return one_result(L, func, TValue::integer(nargs - 1), wanted);
  if (!args[0].is_int()) return false;
  Integer i = args[0].u.i;
  if (i < 0)
    i += nargs;
  else if (i > nargs)
    i = nargs;
  if (i < 1) return false;  // "index out of range"
  return set_results(L, func, args + i, nargs - static_cast<int>(i), wanted);
}

bool type(State* L, TValue* func, const TValue* args, int nargs, int wanted) {
  if (nargs < 1) return false;
  return one_result(L, func, str_value(L->g->typename_str[args[0].type()]), wanted);
}

bool ipairs(State* L, TValue* func, const TValue* args, int nargs, int wanted) {
  if (nargs < 1) return false;
  TValue res[3] = {TValue::light_fn(lib_ipairs_aux), args[0], TValue::integer(0)};
  return set_results(L, func, res, 3, wanted);
}

BuiltinFilter make_builtin_filter() {
  BuiltinFilter filter;
  for (NativeFn f : {lib_type, lib_math_floor, lib_math_abs, lib_math_max, lib_string_byte, lib_string_sub, lib_select,
                     lib_ipairs, lib_coroutine_yield})
    filter.fn[BuiltinFilter::index(f)] = f;
  return filter;
}

}  // namespace

const BuiltinFilter builtin_filter = make_builtin_filter();

bool call_builtin(State* L, TValue* func, int wanted) {
  if (L->hookmask != 0 || L->g->instr_budget != 0) return false;
  NativeFn f = func->u.f;
  const TValue* args = func + 1;
  int nargs = static_cast<int>(L->top - args);
  if (f == lib_type) return type(L, func, args, nargs, wanted);
  if (f == lib_math_floor) return math_floor(L, func, args, nargs, wanted);
  if (f == lib_math_abs) return math_abs(L, func, args, nargs, wanted);
  if (f == lib_math_max) return math_max(L, func, args, nargs, wanted);
  if (f == lib_string_byte) return string_byte(L, func, args, nargs, wanted);
  if (f == lib_string_sub) return string_sub(L, func, args, nargs, wanted);
  if (f == lib_select) return select(L, func, args, nargs, wanted);
  if (f == lib_ipairs) return ipairs(L, func, args, nargs, wanted);
  return false;
}

bool ipairs_step(State* L, TValue* ra, int wanted) {
  if (ra[0].tag != Tag::LightFn || ra[0].u.f != lib_ipairs_aux || L->hookmask != 0) return false;
  if (!ra[1].is_table() || !ra[2].is_int()) return false;
  Table* h = ra[1].as_table();
  Integer n = static_cast<Integer>(static_cast<Unsigned>(ra[2].u.i) + 1u);
  const TValue* v = table_get_int(h, n);
  TValue* res = ra + 4;
  int j = 0;
  if (!v->is_nil()) {
    res[j++] = TValue::integer(n);
    if (wanted > 1) res[j++] = *v;
  } else if (h->metatable != nullptr) {
    return false;  // __index may supply the value
  }
  for (; j < wanted; j++) res[j] = TValue();
  return true;
}

}  // namespace luna
