// string.format: the common conversions formatted directly into the
// result buffer, every other spec through snprintf with 5.4.8's checks
// and messages.
#include <langinfo.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>

#include "luna/api.hpp"
#include "../builtin.hpp"
#include "../dialect.hpp"
#include "../format_item.hpp"
#include "../short_bytes.hpp"
#include "../state.hpp"

namespace luna {
namespace {

constexpr int MAX_FORMAT_SPEC = 22;  // flags+width+precision+conversion must stay below this
constexpr size_t MAX_ITEM = 640;     // room for "%99.99f" of the largest double
constexpr size_t MAX_INTEGER_ITEM = 128;  // "%99.99d" with its sign
constexpr const char* FLAGS_ALL = "-+ #0";
constexpr const char* FLAGS_C = "-";
constexpr const char* FLAGS_I = "-+0 ";
constexpr const char* FLAGS_U = "-0";
constexpr const char* FLAGS_X = "-#0";

void add_quoted(Buffer& b, const char* s, size_t len) {
  b.add_char('"');
  for (size_t i = 0; i < len; i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\' || c == '\n') {
      b.add_char('\\');
      b.add_char(static_cast<char>(c));
    } else if (std::iscntrl(c)) {
      char buff[10];
      // a following digit would extend the escape: use 3 digits then
      bool digit_next = i + 1 < len && std::isdigit(static_cast<unsigned char>(s[i + 1]));
      int nb = std::snprintf(buff, sizeof buff, digit_next ? "\\%03d" : "\\%d", static_cast<int>(c));
      b.add(buff, static_cast<size_t>(nb));
    } else {
      b.add_char(static_cast<char>(c));
    }
  }
  b.add_char('"');
}

void add_literal(State* L, Buffer& b, int arg) {
  switch (type(L, arg)) {
    case TSTRING: {
      size_t len;
      const char* s = to_lstring(L, arg, &len);
      add_quoted(b, s, len);
      break;
    }
    case TNUMBER: {
      char buff[MAX_ITEM];
      int nb;
      if (!is_integer(L, arg)) {
        Number n = to_numberx(L, arg);
        if (n == HUGE_VAL)
          nb = std::snprintf(buff, sizeof buff, "1e9999");
        else if (n == -HUGE_VAL)
          nb = std::snprintf(buff, sizeof buff, "-1e9999");
        else if (n != n)
          nb = std::snprintf(buff, sizeof buff, "(0/0)");
        else  // hexadecimal keeps every bit of the value
          nb = std::snprintf(buff, sizeof buff, "%a", n);
      } else {
        Integer n = to_integerx(L, arg);
        // the minimum integer has no decimal literal (its negation overflows)
        if (n == INT64_MIN)
          nb = std::snprintf(buff, sizeof buff, "0x%llx", static_cast<unsigned long long>(n));
        else
          nb = std::snprintf(buff, sizeof buff, "%lld", static_cast<long long>(n));
      }
      b.add(buff, static_cast<size_t>(nb));
      break;
    }
    case TNIL:
    case TBOOLEAN:
      to_lstring_meta(L, arg, nullptr);
      b.add_value();
      break;
    default:
      arg_error(L, arg, "value has no literal form");
  }
}

const char* skip2digits(const char* s) {
  if (std::isdigit(static_cast<unsigned char>(*s))) {
    s++;
    if (std::isdigit(static_cast<unsigned char>(*s))) s++;
  }
  return s;
}

// Validates a conversion spec ("%...c") against the flags and precision
// its conversion accepts.
void check_format(State* L, const char* form, const char* flags, bool precision) {
  if (dialect_of(get_version(L)).lib_53) return;  // 5.3 checks only the spec's shape (spec_length_53)
  const char* spec = form + 1;
  spec += std::strspn(spec, flags);
  if (*spec != '0') {  // a width cannot start with '0'
    spec = skip2digits(spec);
    if (*spec == '.' && precision) spec = skip2digits(spec + 1);
  }
  if (!std::isalpha(static_cast<unsigned char>(*spec))) error_f(L, "invalid conversion specification: '%s'", form);
}

// The length of a 5.3 conversion spec at s, its conversion character
// included: at most five flags, two width digits, '.' and two precision
// digits, whatever the conversion.
size_t spec_length_53(State* L, const char* s) {
  const char* p = s + std::strspn(s, "-+ #0");
  if (p - s > 5) error_f(L, "invalid format (repeated flags)");
  p = skip2digits(p);
  if (*p == '.') p = skip2digits(p + 1);
  if (std::isdigit(static_cast<unsigned char>(*p))) error_f(L, "invalid format (width or precision too long)");
  return static_cast<size_t>(p - s) + 1;
}

// Copies "%<spec><conv>" into form, inserting `lenmod` before the conversion.
void with_length(char* form, const char* lenmod) {
  size_t l = std::strlen(form);
  char conv = form[l - 1];
  std::strcpy(form + l - 1, lenmod);
  l += std::strlen(lenmod) - 1;
  form[l] = conv;
  form[l + 1] = '\0';
}

// ------------------------------------------------------ the direct path

// Small copies inline: the pieces of a format are a few bytes each, less
// than a call to memcpy costs.
[[gnu::always_inline]] inline void copy_bytes(char* d, const char* s, size_t n) {
  if (n <= 16) bytes::copy(d, s, n);
  else std::memcpy(d, s, n);
}

// n bytes of c, by overlapping stores of a word of them.
[[gnu::always_inline]] inline void fill_bytes(char* d, char c, size_t n) {
  uint64_t w = 0x0101010101010101u * static_cast<uint8_t>(c);
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) bytes::store64(d + i, w);
    bytes::store64(d + n - 8, w);
  } else if (n >= 4) {
    bytes::store32(d, static_cast<uint32_t>(w));
    bytes::store32(d + n - 4, static_cast<uint32_t>(w));
  } else if (n > 0) {
    d[0] = c;
    d[n / 2] = c;
    d[n - 1] = c;
  }
}

// The result: built in a local array, and in a Buffer (its box on the
// stack) only once it outgrows that or a conversion needs the Buffer's
// stack discipline (%s through __tostring, and the snprintf path).
class FormatOut {
 public:
  explicit FormatOut(State* L) : L_(L) {}
  char* reserve(size_t n) {
    if (!buf_ && n <= sizeof local_ - n_) return local_ + n_;
    return buffer().prepare(n);
  }
  void commit(size_t n) {
    if (buf_) buf_->add_size(n);
    else n_ += n;
  }
  void add(const char* s, size_t n) {
    copy_bytes(reserve(n), s, n);
    commit(n);
  }
  // Call with the stack as the format found it (the box goes on the top).
  Buffer& buffer() {
    if (!buf_) {
      buf_.emplace(L_);
      buf_->add(local_, n_);
    }
    return *buf_;
  }
  void push_result() {
    if (buf_) buf_->push_result();
    else push_lstring(L_, local_, n_);
  }

 private:
  State* L_;
  std::optional<Buffer> buf_;
  size_t n_ = 0;
  char local_[512];
};

bool digit(char c) { return c >= '0' && c <= '9'; }

// format_parse_spec, inline in the library's loop.
[[gnu::always_inline]] inline const char* parse_spec(const char* p, const char* end, FormatSpec* s) {
  const char* start = p;
  uint8_t flags = 0;
  for (;; p++) {
    if (*p == '-') flags |= FormatSpec::LEFT;
    else if (*p == '0') flags |= FormatSpec::ZERO;
    else if (*p == '+') flags |= FormatSpec::PLUS;
    else if (*p == ' ') flags |= FormatSpec::SPACE;
    else if (*p == '#') flags |= FormatSpec::ALT;
    else break;
  }
  if (p - start > 5) return nullptr;
  s->flags = flags;
  if (digit(*p)) {
    int w = *p++ - '0';
    if (digit(*p)) w = w * 10 + (*p++ - '0');
    s->width = static_cast<uint8_t>(w);
  }
  if (*p == '.') {
    p++;
    int prec = 0;
    if (digit(*p)) {
      prec = *p++ - '0';
      if (digit(*p)) prec = prec * 10 + (*p++ - '0');
    }
    s->precision = static_cast<int8_t>(prec);
  }
  if (p >= end) return nullptr;
  s->conv = *p;
  bool ok;
  switch (s->conv) {
    case 'd': case 'i': case 'e': case 'E': case 'f': case 'g': case 'G':
      ok = (flags & FormatSpec::ALT) == 0;
      break;
    case 'x': case 'X':
      ok = (flags & (FormatSpec::PLUS | FormatSpec::SPACE)) == 0;
      break;
    case 'c':
      ok = (flags & ~FormatSpec::LEFT) == 0 && s->precision < 0;
      break;
    case 's':
      ok = (flags & ~FormatSpec::LEFT) == 0;
      break;
    default:
      ok = false;
  }
  return ok ? p + 1 : nullptr;
}

// put_field's padded cases: out of line, so the common unpadded one saves
// no registers for the calls of memset.
[[gnu::noinline]] size_t put_padded(char* o, const FormatSpec& s, const char* prefix, size_t plen, const char* body,
                                    size_t blen, bool zeros) {
  size_t len = plen + blen;
  size_t pad = s.width - len;
  if (s.has(FormatSpec::LEFT)) {
    copy_bytes(o, prefix, plen);
    copy_bytes(o + plen, body, blen);
    fill_bytes(o + len, ' ', pad);
  } else if (zeros) {
    copy_bytes(o, prefix, plen);
    fill_bytes(o + plen, '0', pad);
    copy_bytes(o + plen + pad, body, blen);
  } else {
    fill_bytes(o, ' ', pad);
    copy_bytes(o + pad, prefix, plen);
    copy_bytes(o + pad + plen, body, blen);
  }
  return len + pad;
}

// Writes prefix (a sign, "0x": at most 2 bytes) and body padded to the
// spec's width: spaces after them for '-', zeros between them when
// `zeros`, else spaces before.
[[gnu::always_inline]] inline size_t put_field(char* o, const FormatSpec& s, const char* prefix, size_t plen,
                                               const char* body, size_t blen, bool zeros) {
  size_t len = plen + blen;
  if (s.width > len) return put_padded(o, s, prefix, plen, body, blen, zeros);
  if (plen != 0) {
    o[0] = prefix[0];
    o[plen - 1] = prefix[plen - 1];
  }
  copy_bytes(o + plen, body, blen);
  return len;
}

// The sign printf writes before a non-negative number.
const char* plus_sign(const FormatSpec& s) {
  return s.has(FormatSpec::PLUS) ? "+" : s.has(FormatSpec::SPACE) ? " " : "";
}

// Room a float item needs at most: the integer part of "%f" has up to 309
// digits, any other text is short beside the precision.
size_t float_room(const FormatSpec& s, Number x) {
  if (s.conv == 'f' && !(std::fabs(x) < 1e15)) return MAX_FORMAT_ITEM;
  size_t body = static_cast<size_t>(s.precision < 0 ? 6 : s.precision) + 26;
  return std::max<size_t>(s.width, body);
}

// %s: a string argument is read where it is, and a number without a
// metatable converted here; anything else goes through __tostring and
// __name (to_lstring_meta), whose result is on the stack above the box.
void add_string(State* L, FormatOut& out, const FormatSpec& s, int arg, bool modifiers) {
  const TValue& v = L->ci->func[arg];
  const char* str;
  size_t l;
  char num[MAX_NUMBER_TEXT];
  if (v.is_string() && string_tostring_absent(L)) {
    str = v.as_string()->c_str();
    l = v.as_string()->len;
  } else if (v.is_number() && L->g->mt[TNUMBER] == nullptr) {
    l = static_cast<size_t>(number_to_text(v, num, dialect_of(get_version(L)).float_round_trip));
    str = num;
  } else {
    Buffer& b = out.buffer();
    str = to_lstring_meta(L, arg, &l);
    if (!modifiers) {
      b.add_value();  // whole, zeros included
      return;
    }
    arg_check(L, std::memchr(str, '\0', l) == nullptr, arg, "string contains zeros");
    size_t shown = s.precision >= 0 ? std::min(l, static_cast<size_t>(s.precision)) : l;
    if (shown >= 100) {  // wider than any width: no padding
      b.add_value();
      return;
    }
    char text[100];  // the box must be on the top to grow: copy, then pop
    std::memcpy(text, str, shown);
    pop(L, 1);
    out.commit(format_string_item(s, text, shown, out.reserve(100)));
    return;
  }
  if (modifiers) {
    arg_check(L, std::memchr(str, '\0', l) == nullptr, arg, "string contains zeros");
    if (s.precision >= 0) l = std::min(l, static_cast<size_t>(s.precision));
  }
  if (l >= s.width) out.add(str, l);
  else out.commit(format_string_item(s, str, l, out.reserve(s.width)));
}

// Formats the conversion at strfrmt (after its '%') if it is of a common
// kind, returning the end of its spec, or nullptr having done nothing.
const char* format_direct(State* L, FormatOut& out, const char* strfrmt, const char* end, int* arg, int top,
                          int* point_is_dot) {
  FormatSpec spec;
  const char* next = parse_spec(strfrmt, end, &spec);
  if (next == nullptr) return nullptr;
  if (spec.is_float()) {
    if (*point_is_dot < 0) *point_is_dot = format_point_is_dot();  // asked once per call
    if (*point_is_dot == 0) return nullptr;
  }
  int a = ++*arg;
  if (a > top) arg_error(L, a, "no value");
  const TValue& v = L->ci->func[a];
  switch (spec.conv) {
    case 's':
      add_string(L, out, spec, a, next - strfrmt > 1);
      break;
    case 'c': case 'd': case 'i': case 'x': case 'X': {
      Integer n = v.is_int() ? v.u.i : check_integer(L, a);
      out.commit(format_integer_item(spec, n, out.reserve(MAX_INTEGER_ITEM)));
      break;
    }
    default: {
      Number x = v.is_float() ? v.u.n : check_number(L, a);
      out.commit(format_float_item(spec, x, out.reserve(float_room(spec, x))));
      break;
    }
  }
  return next;
}

// Formats the conversion at strfrmt (after its '%') with snprintf, after
// 5.4.8's checks (5.3's with lib_53); returns the end of its spec.
const char* format_general(State* L, Buffer& b, const char* strfrmt, int* argp, int top, bool lib_53) {
  // a conversion: spec is flags, width, precision, then one character
  char form[MAX_FORMAT_SPEC + 10];
  size_t len = lib_53 ? spec_length_53(L, strfrmt) : std::strspn(strfrmt, "-+ #0123456789.") + 1;
  if (len >= static_cast<size_t>(MAX_FORMAT_SPEC)) error_f(L, "invalid format (too long)");
  form[0] = '%';
  std::memcpy(form + 1, strfrmt, len);
  form[len + 1] = '\0';
  strfrmt += len;
  char conv = strfrmt[-1];
  int arg = ++*argp;
  if (arg > top) arg_error(L, arg, "no value");
  char buff[MAX_ITEM];
  int nb = 0;
  switch (conv) {
    case 'c':
      check_format(L, form, FLAGS_C, false);
      nb = std::snprintf(buff, sizeof buff, form, static_cast<int>(check_integer(L, arg)));
      break;
    case 'd': case 'i':
    case 'u':
    case 'o': case 'x': case 'X': {
      Integer n = check_integer(L, arg);  // the argument is checked before the spec, as in 5.4.8
      check_format(L, form, conv == 'u' ? FLAGS_U : (conv == 'd' || conv == 'i') ? FLAGS_I : FLAGS_X, true);
      with_length(form, "ll");
      nb = std::snprintf(buff, sizeof buff, form, static_cast<long long>(n));
      break;
    }
    case 'a': case 'A':
      check_format(L, form, FLAGS_ALL, true);
      nb = std::snprintf(buff, sizeof buff, form, check_number(L, arg));
      break;
    case 'e': case 'E': case 'f': case 'g': case 'G': {
      Number n = check_number(L, arg);  // before the spec, as in 5.4.8
      check_format(L, form, FLAGS_ALL, true);
      nb = std::snprintf(buff, sizeof buff, form, n);
      break;
    }
    case 'p': {
      check_format(L, form, FLAGS_C, false);
      const void* p = to_pointer(L, arg);
      if (p == nullptr) {  // values without identity print as "(null)"
        form[std::strlen(form) - 1] = 's';
        nb = std::snprintf(buff, sizeof buff, form, "(null)");
      } else {
        nb = std::snprintf(buff, sizeof buff, form, p);
      }
      break;
    }
    case 'q':
      if (form[2] != '\0') error_f(L, "specifier '%%q' cannot have modifiers");
      add_literal(L, b, arg);
      break;
    case 's': {
      size_t l;
      const char* s = to_lstring_meta(L, arg, &l);
      if (form[2] == '\0') {  // plain "%s": whole string, zeros included
        b.add_value();
      } else {
        arg_check(L, l == std::strlen(s), arg, "string contains zeros");
        check_format(L, form, FLAGS_C, true);
        if (std::strchr(form, '.') == nullptr && l >= 100) {
          b.add_value();  // no precision and too long to be padded
        } else {
          nb = std::snprintf(buff, sizeof buff, form, s);
          pop(L, 1);
        }
      }
      break;
    }
    default:
      if (lib_53) error_f(L, "invalid option '%%%c' to 'format'", conv);
      error_f(L, "invalid conversion '%s' to 'format'", form);
  }
  b.add(buff, static_cast<size_t>(nb));
  return strfrmt;
}

}  // namespace

const char* format_parse_spec(const char* p, const char* end, FormatSpec* s) { return parse_spec(p, end, s); }

namespace {

// The items format_integer_item's common case leaves: %c, a precision, the
// flags '-', '+', ' ' and '#'. Out of line, so that its frame (a 128-byte
// text, put_field's arguments) and saved registers are not the common
// case's: they cost it ~15 instructions an item.
[[gnu::noinline]] size_t format_integer_general(const FormatSpec& s, Integer n, char* out) {
  if (s.conv == 'c') {
    char c = static_cast<char>(n);
    return put_field(out, s, "", 0, &c, 1, false);
  }
  char text[128];  // a precision below 100, 20 digits
  char* end = text + sizeof text;
  char* d = end;
  auto u = static_cast<uint64_t>(n);
  const char* prefix = "";
  size_t plen = 0;
  if (s.conv == 'x' || s.conv == 'X') {
    const char* digits = s.conv == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
    if (s.has(FormatSpec::ALT) && u != 0) {
      prefix = s.conv == 'x' ? "0x" : "0X";
      plen = 2;
    }
    for (; u != 0; u >>= 4) *--d = digits[u & 15];
  } else {
    if (n < 0) u = 0 - u;
    prefix = n < 0 ? "-" : plus_sign(s);
    plen = *prefix != '\0';
    if (u != 0) d = digits_before(u, end);
  }
  // printf writes at least `precision` digits (one without a precision):
  // "%.0d" of 0 writes none.
  size_t min_digits = s.precision < 0 ? 1 : static_cast<size_t>(s.precision);
  while (static_cast<size_t>(end - d) < min_digits) *--d = '0';
  return put_field(out, s, prefix, plen, d, static_cast<size_t>(end - d), s.has(FormatSpec::ZERO) && s.precision < 0);
}

}  // namespace

size_t format_integer_item(const FormatSpec& s, Integer n, char* out) {
  bool hex = s.conv == 'x' || s.conv == 'X';
  if ((hex || s.conv == 'd' || s.conv == 'i') && s.precision < 0 && (s.flags & ~FormatSpec::ZERO) == 0) {
    // Most decimal and hex items: no precision, no flag but '0'. The
    // digits and the sign are at most 20 bytes, the padding inline (the
    // width is below 100), without the general case's prefix and
    // put_padded.
    char text[24];
    char* d = text + sizeof text;
    size_t sign = 0;
    if (hex) {
      const char* digits = s.conv == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
      auto u = static_cast<uint64_t>(n);
      do *--d = digits[u & 15];
      while ((u >>= 4) != 0);
    } else {
      uint64_t m = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
      d = digits_before(m, d);
      sign = n < 0 ? 1 : 0;
    }
    auto blen = static_cast<size_t>(text + sizeof text - d);
    size_t len = sign + blen;
    size_t pad = s.width > len ? s.width - len : 0;
    char* o = out;
    if (s.has(FormatSpec::ZERO)) {
      if (sign != 0) *o++ = '-';
      fill_bytes(o, '0', pad);
      o += pad;
    } else {
      fill_bytes(o, ' ', pad);
      o += pad;
      if (sign != 0) *o++ = '-';
    }
    copy_bytes(o, d, blen);
    return len + pad;
  }
  return format_integer_general(s, n, out);
}


// The text of float_to_fixed and std::to_chars is printf's in the "C"
// locale. inf and nan printf pads with spaces whatever the flags.
size_t format_float_item(const FormatSpec& s, Number x, char* out) {
  if (s.conv == 'f' && s.flags == 0 && s.precision >= 0 && s.precision <= 4 && std::fabs(x) < 1e14) {
    // "%.3f", "%8.2f": written where it goes, padded by moving it, without
    // the copy from a local text and put_field. |x| * 10^4 < 2^64, so
    // float_to_fixed takes its exact way (at most 20 bytes, within any
    // room a caller gives a float item); NaN fails the test.
    auto len = static_cast<size_t>(float_to_fixed(x, s.precision, out));
    if (len >= s.width) return len;
    size_t pad = s.width - len;
    std::memmove(out + pad, out, len);
    fill_bytes(out, ' ', pad);
    return s.width;
  }
  char text[MAX_FIXED_TEXT];
  int precision = s.precision < 0 ? 6 : s.precision;
  bool upper = s.conv == 'E' || s.conv == 'G';
  size_t len;
  bool finite = std::isfinite(x);
  if (!finite) {
    const char* name = std::isnan(x) ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf");
    text[0] = '-';
    len = std::signbit(x) ? 1 : 0;
    std::memcpy(text + len, name, 3);
    len += 3;
  } else if (s.conv == 'f') {
    len = static_cast<size_t>(float_to_fixed(x, precision, text));
  } else if (int n = (s.conv == 'g' || s.conv == 'G') && !s.has(FormatSpec::ALT)
                         ? float_to_short_g(x, precision == 0 ? 1 : precision, text)
                         : -1;
             n >= 0) {
    len = static_cast<size_t>(n);  // a short decimal (json's prices): ~10x fewer instructions than to_chars
  } else {
    auto fmt = s.conv == 'e' || s.conv == 'E' ? std::chars_format::scientific : std::chars_format::general;
    len = static_cast<size_t>(std::to_chars(text, text + sizeof text, x, fmt, precision).ptr - text);
    if (upper)
      for (size_t i = 0; i < len; i++)
        if (text[i] == 'e') text[i] = 'E';
  }
  bool zeros = s.has(FormatSpec::ZERO) && finite;
  if (text[0] == '-') return put_field(out, s, "-", 1, text + 1, len - 1, zeros);
  const char* sign = plus_sign(s);
  return put_field(out, s, sign, *sign != '\0', text, len, zeros);
}

size_t format_string_item(const FormatSpec& s, const char* str, size_t len, char* out) {
  return put_field(out, s, "", 0, str, len, false);
}

namespace {

// The locale is the process's, so is the answer: -1 until asked again.
// nl_langinfo cost ~30 instructions a float item; localeconv fills a
// whole struct (106).
std::atomic<int> point_is_dot_cache{-1};

}  // namespace

bool format_point_is_dot() {
  int known = point_is_dot_cache.load(std::memory_order_relaxed);
  if (known >= 0) return known != 0;
  const char* point = nl_langinfo(RADIXCHAR);
  bool dot = point[0] == '.' && point[1] == '\0';
  point_is_dot_cache.store(dot ? 1 : 0, std::memory_order_relaxed);
  return dot;
}

void format_point_changed() { point_is_dot_cache.store(-1, std::memory_order_relaxed); }

int lib_string_format(State* L) {
  int top = get_top(L);
  int arg = 1;
  size_t sfl;
  const char* strfrmt;
  if (const TValue& f = L->ci->func[arg]; top >= arg && f.is_string()) {
    strfrmt = f.as_string()->c_str();
    sfl = f.as_string()->len;
  } else {
    strfrmt = check_lstring(L, arg, &sfl);
  }
  const char* strfrmt_end = strfrmt + sfl;
  FormatOut out(L);
  const bool lib_53 = dialect_of(get_version(L)).lib_53;
  int point_is_dot = -1;
  while (strfrmt < strfrmt_end) {
    const char* lit_end = strfrmt;  // the text between conversions is short: no memchr call
    while (lit_end < strfrmt_end && *lit_end != '%') lit_end++;
    out.add(strfrmt, static_cast<size_t>(lit_end - strfrmt));
    strfrmt = lit_end;
    if (strfrmt == strfrmt_end) break;
    if (*++strfrmt == '%') {
      out.add(strfrmt++, 1);
      continue;
    }
    if (const char* next = format_direct(L, out, strfrmt, strfrmt_end, &arg, top, &point_is_dot))
      strfrmt = next;
    else
      strfrmt = format_general(L, out.buffer(), strfrmt, &arg, top, lib_53);
  }
  out.push_result();
  return 1;
}

}  // namespace luna
