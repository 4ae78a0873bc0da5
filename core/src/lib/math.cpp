// The mathematical library (manual 6.7), including Lua 5.4's xoshiro256**
// generator so that seeded sequences match the reference implementation.
#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>
#include <ctime>
#include <limits>

#include "luna/api.hpp"
#include "../builtin.hpp"
#include "../dialect.hpp"

namespace luna {
namespace {

constexpr Number PI = 3.141592653589793238462643383279502884;

// Pushes d as an integer when it has an exact integer value in range
// (floor/ceil results), else as a float.
void push_num_int(State* L, Number d) {
  if (d >= -0x1p63 && d < 0x1p63)
    push_integer(L, static_cast<Integer>(d));
  else
    push_number(L, d);
}

}  // namespace

// Also run inline by the dispatcher (fastcall.cpp).
int lib_math_abs(State* L) {
  if (is_integer(L, 1)) {
    Integer n = to_integerx(L, 1);
    if (n < 0) n = static_cast<Integer>(0u - static_cast<Unsigned>(n));  // wraps for mininteger
    push_integer(L, n);
  } else {
    push_number(L, std::fabs(check_number(L, 1)));
  }
  return 1;
}

namespace {

int m_sin(State* L) { push_number(L, std::sin(check_number(L, 1))); return 1; }
int m_cos(State* L) { push_number(L, std::cos(check_number(L, 1))); return 1; }
int m_tan(State* L) { push_number(L, std::tan(check_number(L, 1))); return 1; }
int m_asin(State* L) { push_number(L, std::asin(check_number(L, 1))); return 1; }
int m_acos(State* L) { push_number(L, std::acos(check_number(L, 1))); return 1; }
int m_atan(State* L) {
  Number y = check_number(L, 1);
  Number x = opt_number(L, 2, 1);
  push_number(L, std::atan2(y, x));
  return 1;
}

int m_tointeger(State* L) {
  bool ok = false;
  Integer n = to_integerx(L, 1, &ok);
  if (ok) {
    push_integer(L, n);
  } else {
    check_any(L, 1);
    push_fail(L);
  }
  return 1;
}

}  // namespace

// Also run inline by the dispatcher (fastcall.cpp).
int lib_math_floor(State* L) {
  if (is_integer(L, 1)) {
    set_top(L, 1);  // an integer is its own floor
  } else {
    push_num_int(L, std::floor(check_number(L, 1)));
  }
  return 1;
}

namespace {

int m_ceil(State* L) {
  if (is_integer(L, 1)) {
    set_top(L, 1);
  } else {
    push_num_int(L, std::ceil(check_number(L, 1)));
  }
  return 1;
}

int m_fmod(State* L) {
  if (is_integer(L, 1) && is_integer(L, 2)) {
    Integer a = to_integerx(L, 1);
    Integer d = to_integerx(L, 2);
    if (static_cast<Unsigned>(d) + 1u <= 1u) {  // d is 0 or -1
      arg_check(L, d != 0, 2, "zero");
      push_integer(L, 0);  // avoids the overflow of mininteger % -1
    } else {
      push_integer(L, a % d);  // C's truncating remainder is fmod's rule
    }
  } else {
    push_number(L, std::fmod(check_number(L, 1), check_number(L, 2)));
  }
  return 1;
}

int m_modf(State* L) {
  if (is_integer(L, 1)) {
    set_top(L, 1);
    push_number(L, 0);
  } else {
    Number n = check_number(L, 1);
    Number ip = n < 0 ? std::ceil(n) : std::floor(n);
    push_num_int(L, ip);  // as 5.4: an integer when it fits
    push_number(L, n == ip ? 0.0 : n - ip);  // inf - inf would be nan
  }
  return 2;
}

int m_sqrt(State* L) { push_number(L, std::sqrt(check_number(L, 1))); return 1; }

int m_ult(State* L) {
  Integer a = check_integer(L, 1);
  Integer b = check_integer(L, 2);
  push_boolean(L, static_cast<Unsigned>(a) < static_cast<Unsigned>(b));
  return 1;
}

int m_log(State* L) {
  Number x = check_number(L, 1);
  Number res;
  if (is_none_or_nil(L, 2)) {
    res = std::log(x);
  } else {
    Number base = check_number(L, 2);
    if (base == 2.0)
      res = std::log2(x);
    else if (base == 10.0)
      res = std::log10(x);
    else
      res = std::log(x) / std::log(base);
  }
  push_number(L, res);
  return 1;
}

int m_exp(State* L) { push_number(L, std::exp(check_number(L, 1))); return 1; }
int m_deg(State* L) { push_number(L, check_number(L, 1) * (180.0 / PI)); return 1; }
int m_rad(State* L) { push_number(L, check_number(L, 1) * (PI / 180.0)); return 1; }

// As in 5.4.8, the arguments are compared as they are, not checked to be
// numbers: a mix of types fails with the comparison's own error.
int m_min(State* L) {
  int n = get_top(L);
  int best = 1;
  arg_check(L, n >= 1, 1, "value expected");
  for (int i = 2; i <= n; i++) {
    if (compare(L, i, best, OPLT)) best = i;
  }
  push_value(L, best);
  return 1;
}

}  // namespace

// Also run inline by the dispatcher (fastcall.cpp).
int lib_math_max(State* L) {
  int n = get_top(L);
  int best = 1;
  arg_check(L, n >= 1, 1, "value expected");
  for (int i = 2; i <= n; i++) {
    if (compare(L, best, i, OPLT)) best = i;
  }
  push_value(L, best);
  return 1;
}

namespace {

int m_type(State* L) {
  if (type(L, 1) == TNUMBER) {
    push_string(L, is_integer(L, 1) ? "integer" : "float");
  } else {
    check_any(L, 1);
    push_fail(L);
  }
  return 1;
}

// ---- pseudo-random numbers: xoshiro256** with 5.4's seeding and projection.

struct RandState {
  uint64_t s[4];
};

inline uint64_t rotl(uint64_t x, int n) { return (x << n) | (x >> (64 - n)); }

uint64_t next_rand(RandState* r) {
  uint64_t* s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

// A float in [0, 1) from the 53 high bits.
Number to_unit_float(uint64_t x) { return static_cast<Number>(x >> 11) * 0x1p-53; }

// Maps ran uniformly into [0, n]: mask down to the smallest 2^b - 1 that
// covers n and draw again while the result falls above n.
Unsigned project(Unsigned ran, Unsigned n, RandState* r) {
  if ((n & (n + 1)) == 0) return ran & n;  // n + 1 is a power of 2
  Unsigned lim = n;
  for (int sh = 1; sh < 64; sh <<= 1) lim |= lim >> sh;
  while ((ran &= lim) > n) ran = next_rand(r);
  return ran;
}

int m_random(State* L) {
  auto* r = static_cast<RandState*>(to_userdata(L, upvalue_index(1)));
  uint64_t rv = next_rand(r);
  Integer low, up;
  switch (get_top(L)) {
    case 0:
      push_number(L, to_unit_float(rv));
      return 1;
    case 1:
      low = 1;
      up = check_integer(L, 1);
      if (up == 0 && !dialect_of(get_version(L)).lib_53) {  // random(0): all 64 bits (5.4+)
        push_integer(L, static_cast<Integer>(rv));
        return 1;
      }
      break;
    case 2:
      low = check_integer(L, 1);
      up = check_integer(L, 2);
      break;
    default:
      error_f(L, "wrong number of arguments");
  }
  arg_check(L, low <= up, 1, "interval is empty");
  // 5.3 draws from a float, so its interval must fit an Integer
  if (dialect_of(get_version(L)).lib_53)
    arg_check(L, low >= 0 || up <= std::numeric_limits<Integer>::max() + low, 1, "interval too large");
  Unsigned p = project(rv, static_cast<Unsigned>(up) - static_cast<Unsigned>(low), r);
  push_integer(L, static_cast<Integer>(p + static_cast<Unsigned>(low)));
  return 1;
}

void set_seed(State* L, RandState* r, Unsigned n1, Unsigned n2) {
  r->s[0] = n1;
  r->s[1] = 0xff;  // keeps the state away from all zeros
  r->s[2] = n2;
  r->s[3] = 0;
  for (int i = 0; i < 16; i++) next_rand(r);  // discard the poorly mixed start
  push_integer(L, static_cast<Integer>(n1));
  push_integer(L, static_cast<Integer>(n2));
}

// Seeds from the current time and an address (varies between runs).
void random_seed(State* L, RandState* r) {
  Unsigned n1 = static_cast<Unsigned>(time(nullptr));
  Unsigned n2 = static_cast<Unsigned>(reinterpret_cast<uintptr_t>(L));
  set_seed(L, r, n1, n2);
}

int m_randomseed(State* L) {
  auto* r = static_cast<RandState*>(to_userdata(L, upvalue_index(1)));
  if (is_none(L, 1)) {
    random_seed(L, r);
  } else {
    Integer n1 = check_integer(L, 1);
    Integer n2 = opt_integer(L, 2, 0);
    set_seed(L, r, static_cast<Unsigned>(n1), static_cast<Unsigned>(n2));
  }
  return 2;
}

const Reg math_funcs[] = {
    {"abs", lib_math_abs},       {"ceil", m_ceil},   {"cos", m_cos},     {"deg", m_deg},
    {"exp", m_exp},       {"tointeger", m_tointeger}, {"floor", lib_math_floor}, {"fmod", m_fmod},
    {"ult", m_ult},       {"log", m_log},     {"max", lib_math_max},     {"min", m_min},
    {"modf", m_modf},     {"rad", m_rad},     {"sin", m_sin},     {"sqrt", m_sqrt},
    {"tan", m_tan},       {"type", m_type},   {"asin", m_asin},   {"acos", m_acos},
    {"atan", m_atan},     {nullptr, nullptr},
};

}  // namespace

namespace {

// math.frexp and math.ldexp, back in 5.5.
int m_frexp(State* L) {
  int e;
  push_number(L, std::frexp(check_number(L, 1), &e));
  push_integer(L, e);
  return 2;
}

int m_ldexp(State* L) {
  Number m = check_number(L, 1);
  Integer e = check_integer(L, 2);
  // exponents beyond an int saturate: the result is 0 or infinite anyway
  int ie = static_cast<int>(std::clamp<Integer>(e, INT_MIN, INT_MAX));
  push_number(L, std::ldexp(m, ie));
  return 1;
}

const Reg math_funcs_55[] = {{"frexp", m_frexp}, {"ldexp", m_ldexp}, {nullptr, nullptr}};

}  // namespace

Builtin math_builtin(NativeFn f) {
  if (f == m_sqrt) return Builtin::MathSqrt;
  if (f == lib_math_abs) return Builtin::MathAbs;
  if (f == lib_math_floor) return Builtin::MathFloor;
  if (f == m_ceil) return Builtin::MathCeil;
  if (f == m_min) return Builtin::MathMin;
  if (f == lib_math_max) return Builtin::MathMax;
  if (f == m_sin) return Builtin::MathSin;
  if (f == m_cos) return Builtin::MathCos;
  if (f == m_exp) return Builtin::MathExp;
  if (f == m_log) return Builtin::MathLog;
  if (f == m_fmod) return Builtin::MathFmod;
  return Builtin::None;
}

int open_math(State* L) {
  new_lib(L, math_funcs);
  if (dialect_of(get_version(L)).lib_55) set_funcs(L, math_funcs_55, 0);
  push_number(L, PI);
  set_field(L, -2, "pi");
  push_number(L, HUGE_VAL);
  set_field(L, -2, "huge");
  push_integer(L, INT64_MAX);
  set_field(L, -2, "maxinteger");
  push_integer(L, INT64_MIN);
  set_field(L, -2, "mininteger");
  // random and randomseed share the generator state as an upvalue
  auto* r = static_cast<RandState*>(new_userdata(L, sizeof(RandState), 0));
  random_seed(L, r);
  pop(L, 2);
  push_value(L, -1);
  push_native_closure(L, m_random, 1);
  set_field(L, -3, "random");
  push_native_closure(L, m_randomseed, 1);
  set_field(L, -2, "randomseed");
  return 1;
}

}  // namespace luna
