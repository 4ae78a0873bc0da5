// Number conversions and arithmetic with Lua's integer/float rules.
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "format_item.hpp"
#include "state.hpp"

namespace luna {

namespace {

bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
int hex_digit(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Integer numeral: decimal (nullptr on overflow, so that the caller reads it
// as a float) or hexadecimal (wraps around modulo 2^64).
const char* str_to_int(const char* s, Integer* out) {
  Unsigned a = 0;
  bool empty = true;
  while (is_space(*s)) s++;
  bool neg = false;
  if (*s == '-') {
    neg = true;
    s++;
  } else if (*s == '+') {
    s++;
  }
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s += 2;
    for (int d; (d = hex_digit(*s)) >= 0; s++) {
      a = a * 16 + static_cast<Unsigned>(d);
      empty = false;
    }
  } else {
    constexpr Unsigned max_by_10 = static_cast<Unsigned>(INT64_MAX) / 10;
    constexpr int max_last = static_cast<int>(static_cast<Unsigned>(INT64_MAX) % 10);
    for (; is_digit(*s); s++) {
      int d = *s - '0';
      // The magnitude may reach 2^63 only for a negative numeral.
      if (a >= max_by_10 && (a > max_by_10 || d > max_last + (neg ? 1 : 0))) return nullptr;
      a = a * 10 + static_cast<Unsigned>(d);
      empty = false;
    }
  }
  while (is_space(*s)) s++;
  if (empty || *s != '\0') return nullptr;
  *out = static_cast<Integer>(neg ? 0u - a : a);
  return s;
}

// Float numeral (decimal or hexadecimal, via strtod). Words like "inf" and
// "nan", which strtod would take, are not Lua numerals; all contain an 'n'.
const char* str_to_float(const char* s, Number* out) {
  if (std::strpbrk(s, "nN") != nullptr) return nullptr;
  char* end;
  Number n = std::strtod(s, &end);
  if (end == s) return nullptr;
  while (is_space(*end)) end++;
  if (*end != '\0') return nullptr;
  *out = n;
  return end;
}

}  // namespace

size_t str_to_number(const char* s, size_t len, TValue* out) {
  Integer i;
  Number n;
  const char* e = str_to_int(s, &i);
  if (e != nullptr) {
    *out = TValue::integer(i);
  } else if ((e = str_to_float(s, &n)) != nullptr) {
    *out = TValue::number(n);
  } else {
    return 0;
  }
  size_t used = static_cast<size_t>(e - s);
  if (used != len) return 0;  // an embedded '\0' stopped the scan
  return used + 1;
}

namespace {

// Writes the nd low decimal digits of m, ending at end. In 32 bits where m
// fits, as digits_before does (a cheaper division by 100).
template <typename Word>
void put_digits_in(Word m, char* end, int nd) {
  char* d = end;
  for (; nd >= 2; nd -= 2) {
    d -= 2;
    std::memcpy(d, &kDigitPairs[2 * static_cast<size_t>(m % 100)], 2);
    m /= 100;
  }
  if (nd == 1) *--d = static_cast<char>('0' + m % 10);
}
void put_digits(uint64_t m, char* end, int nd) {
  if (m <= UINT32_MAX) put_digits_in(static_cast<uint32_t>(m), end, nd);
  else put_digits_in(m, end, nd);
}

constexpr std::array<uint64_t, 20> kPow10 = [] {
  std::array<uint64_t, 20> t{};
  t[0] = 1;
  for (size_t k = 1; k < t.size(); k++) t[k] = t[k - 1] * 10;
  return t;
}();

// From the bit length b, without a loop: with t = (b * 1233) >> 12
// (1233 / 4096 ~ log10 2) m has t digits, or t + 1 when m >= 10^t.
int decimal_digits(uint64_t m) {
  uint64_t v = m | 1;  // 0 has one digit, as 1 does
  int t = ((64 - __builtin_clzll(v)) * 1233) >> 12;
  return t + 1 - (v < kPow10[static_cast<size_t>(t)]);
}

}  // namespace

int integer_to_text(Integer i, char* buf) {
  // Work on the magnitude as unsigned so the minimum integer needs no case.
  uint64_t m = i < 0 ? 0 - static_cast<uint64_t>(i) : static_cast<uint64_t>(i);
  int n = (i < 0 ? 1 : 0) + decimal_digits(m);
  if (i < 0) buf[0] = '-';
  buf[n] = '\0';
  digits_before(m, buf + n);
  return n;
}

namespace {

constexpr std::array<uint64_t, 20> kPow5 = [] {
  std::array<uint64_t, 20> t{};
  t[0] = 1;
  for (size_t k = 1; k < t.size(); k++) t[k] = t[k - 1] * 5;
  return t;
}();

// |x| * 10^precision (finite x, precision <= 19) rounded to an integer as
// printf rounds (to nearest, ties to even, on the exact binary value),
// where that fits 64 bits: |x| = mant * 2^e exactly, so |x| * 10^p =
// mant * 5^p * 2^(e+p), and the product mant * 5^p fits 98 bits.
bool scaled_round(Number x, int precision, uint64_t* out) {
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  auto biased = static_cast<int>((bits >> 52) & 0x7ff);
  uint64_t mant = bits & ((uint64_t(1) << 52) - 1);
  int e = -1074;  // subnormal
  if (biased != 0) {
    mant |= uint64_t(1) << 52;
    e = biased - 1075;
  }
  unsigned __int128 prod = static_cast<unsigned __int128>(mant) * kPow5[static_cast<size_t>(precision)];
  int shift = e + precision;
  if (shift >= 0) {
    if (shift >= 64 || (prod >> (64 - shift)) != 0) return false;
    *out = static_cast<uint64_t>(prod << shift);
    return true;
  }
  int k = -shift;
  if (k > 100) {  // the product is below 2^98: under one half
    *out = 0;
    return true;
  }
  if (k < 64 && (prod >> 64) == 0) {
    // The usual case (a few decimals of a modest number): the same
    // rounding in one word, without the 128-bit shifts and compares.
    auto p = static_cast<uint64_t>(prod);
    uint64_t q = p >> k;
    uint64_t rem = p & ((uint64_t(1) << k) - 1);
    uint64_t half = uint64_t(1) << (k - 1);
    *out = q + (rem > half || (rem == half && (q & 1) != 0));
    return true;
  }
  unsigned __int128 q = prod >> k;
  unsigned __int128 rem = prod - (q << k);
  unsigned __int128 half = static_cast<unsigned __int128>(1) << (k - 1);
  if (rem > half || (rem == half && (q & 1) != 0)) q++;
  if ((q >> 64) != 0) return false;
  *out = static_cast<uint64_t>(q);
  return true;
}

}  // namespace

int float_to_fixed(Number x, int precision, char* buf) {
  uint64_t r;
  if (precision > 19 || !scaled_round(x, precision, &r)) {
    auto res = std::to_chars(buf, buf + MAX_FIXED_TEXT, x, std::chars_format::fixed, precision);
    return static_cast<int>(res.ptr - buf);
  }
  int n = std::signbit(x) ? 1 : 0;  // printf keeps the sign of -0 and of what rounds to it
  buf[0] = '-';
  uint64_t p10 = kPow10[static_cast<size_t>(precision)];
  uint64_t ipart = r / p10;
  n += decimal_digits(ipart);
  digits_before(ipart, buf + n);
  if (precision == 0) return n;
  buf[n] = '.';
  n += 1 + precision;
  put_digits(r % p10, buf + n, precision);
  return n;
}

int float_to_short_g(Number x, int precision, char* buf) {
  // If |x| * 10^k rounds to an integer m of d <= precision <= 15 digits,
  // |x - m / 10^k| is at most half m's ulp over 10^k, below m * 2^-53 /
  // 10^k < 10^(d - 15.6 - k): well inside half the last digit's unit
  // (10^(d - precision - k) / 2), so printf's rounding to `precision`
  // digits gives m / 10^k. The smallest such k is taken.
  static constexpr double kScale[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
  double ax = std::fabs(x);
  if (precision < 1 || precision > 15 || !(ax >= 1e-4 && ax < 1e15)) return -1;
  for (int k = 0; k < 10; k++) {
    double m = ax * kScale[k];
    if (!(m < 1e15)) return -1;
    if (m != std::floor(m)) continue;
    auto u = static_cast<uint64_t>(m);
    int d = decimal_digits(u);
    // %g prints without an exponent when it is -4 to precision - 1.
    if (d > precision || d - k - 1 < -4) return -1;
    int n = std::signbit(x) ? 1 : 0;
    buf[0] = '-';
    int ip = d - k;  // digits before the point
    if (ip > 0) {
      n += ip;
      digits_before(u / kPow10[static_cast<size_t>(k)], buf + n);
    } else {
      buf[n++] = '0';
    }
    uint64_t frac = u % kPow10[static_cast<size_t>(k)];
    int nf = k;
    for (; nf > 0 && frac % 10 == 0; nf--) frac /= 10;
    if (nf == 0) return n;
    buf[n] = '.';
    n += 1 + nf;
    put_digits(frac, buf + n, nf);
    return n;
  }
  return -1;
}

int number_to_text(const TValue& v, char* buf, bool round_trip) {
  if (v.is_int()) return integer_to_text(v.u.i, buf);
  Number x = v.u.n;
  // An integral float under 1e14 has at most 14 digits, so "%.14g" would
  // print it exactly as the integer followed by nothing: take the fast way
  // (negative zero keeps its sign through "%.14g", so it stays there).
  if (x == std::floor(x) && std::fabs(x) < 1e14 && !(x == 0 && std::signbit(x))) {
    int n = integer_to_text(static_cast<Integer>(x), buf);
    buf[n++] = '.';
    buf[n++] = '0';
    buf[n] = '\0';
    return n;
  }
  int n;
  if (!round_trip && std::isfinite(x) && format_point_is_dot()) {
    // printf's "%.14g" by the standard's definition of to_chars with a
    // precision, without snprintf's format parsing (~4x the instructions).
    n = float_to_short_g(x, 14, buf);
    if (n < 0) n = static_cast<int>(std::to_chars(buf, buf + MAX_NUMBER_TEXT - 3, x, std::chars_format::general, 14).ptr - buf);
    buf[n] = '\0';
  } else {
    n = std::snprintf(buf, MAX_NUMBER_TEXT, round_trip ? "%.15g" : "%.14g", x);
  }
  if (round_trip && std::strtod(buf, nullptr) != x && !std::isnan(x))
    n = std::snprintf(buf, MAX_NUMBER_TEXT, "%.17g", x);
  // A float that prints like an integer gets ".0" so it still reads as a float.
  if (buf[std::strspn(buf, "-0123456789")] == '\0') {
    buf[n++] = '.';
    buf[n++] = '0';
    buf[n] = '\0';
  }
  return n;
}

bool float_to_integer(Number n, Integer* out, F2I mode) {
  Number f = std::floor(n);
  if (n != f) {
    if (mode == F2I::Exact) return false;
    if (mode == F2I::Ceil) f += 1;
  }
  // The valid range is [-2^63, 2^63); NaN fails both comparisons.
  if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0)) return false;
  *out = static_cast<Integer>(f);
  return true;
}

bool to_integer(const TValue& v, Integer* out, F2I mode, bool strings) {
  if (v.is_int()) {
    *out = v.u.i;
    return true;
  }
  if (v.is_float()) return float_to_integer(v.u.n, out, mode);
  if (strings && v.is_string()) {
    const String* s = v.as_string();
    TValue num;
    if (str_to_number(s->c_str(), s->len, &num) == s->len + 1) return to_integer(num, out, mode, false);
  }
  return false;
}

bool to_number(const TValue& v, Number* out, bool strings) {
  if (v.is_number()) {
    *out = v.as_number();
    return true;
  }
  if (strings && v.is_string()) {
    const String* s = v.as_string();
    TValue num;
    if (str_to_number(s->c_str(), s->len, &num) == s->len + 1) {
      *out = num.as_number();
      return true;
    }
  }
  return false;
}

Number float_mod(Number a, Number b) {
  Number m = std::fmod(a, b);
  // fmod keeps the sign of a; Lua's result takes the sign of b.
  if ((m > 0) ? b < 0 : (m < 0 && b > 0)) m += b;
  return m;
}

Integer shift_left(Integer x, Integer y) {
  Unsigned ux = static_cast<Unsigned>(x);
  if (y < 0) {
    if (y <= -64) return 0;
    return static_cast<Integer>(ux >> static_cast<unsigned>(-y));
  }
  if (y >= 64) return 0;
  return static_cast<Integer>(ux << static_cast<unsigned>(y));
}

namespace {

Integer int_arith(State* L, int op, Integer a, Integer b) {
  Unsigned ua = static_cast<Unsigned>(a), ub = static_cast<Unsigned>(b);
  switch (op) {
    case OPADD: return static_cast<Integer>(ua + ub);
    case OPSUB: return static_cast<Integer>(ua - ub);
    case OPMUL: return static_cast<Integer>(ua * ub);
    case OPMOD:
      if (b == 0) run_error(L, "attempt to perform 'n%%0'");
      return int_mod(a, b);
    case OPIDIV:
      if (b == 0) run_error(L, "attempt to divide by zero");
      return int_floor_div(a, b);
    case OPBAND: return static_cast<Integer>(ua & ub);
    case OPBOR: return static_cast<Integer>(ua | ub);
    case OPBXOR: return static_cast<Integer>(ua ^ ub);
    case OPSHL: return shift_left(a, b);
    case OPSHR: return shift_left(a, static_cast<Integer>(0u - ub));
    case OPUNM: return static_cast<Integer>(0u - ua);
    case OPBNOT: return static_cast<Integer>(~ua);
    default: return 0;
  }
}

Number float_arith(int op, Number a, Number b) {
  switch (op) {
    case OPADD: return a + b;
    case OPSUB: return a - b;
    case OPMUL: return a * b;
    case OPDIV: return a / b;
    case OPPOW: return b == 2 ? a * a : std::pow(a, b);
    case OPIDIV: return std::floor(a / b);
    case OPUNM: return -a;
    case OPMOD: return float_mod(a, b);
    default: return 0;
  }
}

}  // namespace

bool raw_arith(State* L, int op, const TValue& a, const TValue& b, TValue* res) {
  switch (op) {
    case OPBAND: case OPBOR: case OPBXOR: case OPSHL: case OPSHR: case OPBNOT: {
      Integer i1, i2;
      if (!to_integer(a, &i1, F2I::Exact, false) || !to_integer(b, &i2, F2I::Exact, false)) return false;
      *res = TValue::integer(int_arith(L, op, i1, i2));
      return true;
    }
    case OPDIV: case OPPOW: {
      Number n1, n2;
      if (!to_number(a, &n1, false) || !to_number(b, &n2, false)) return false;
      *res = TValue::number(float_arith(op, n1, n2));
      return true;
    }
    default: {
      if (a.is_int() && b.is_int()) {
        *res = TValue::integer(int_arith(L, op, a.u.i, b.u.i));
        return true;
      }
      Number n1, n2;
      if (!to_number(a, &n1, false) || !to_number(b, &n2, false)) return false;
      *res = TValue::number(float_arith(op, n1, n2));
      return true;
    }
  }
}

int ceil_log2(unsigned int x) {
  int l = 0;
  // Count the bits of x - 1: that is ceil(log2(x)) for x >= 1.
  for (unsigned int v = x - 1; v != 0; v >>= 1) l++;
  return l;
}

}  // namespace luna
