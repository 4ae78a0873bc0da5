// The utf8 library. Strict functions accept only Unicode scalar values
// (up to 10FFFF, no surrogates); the lax variants accept the original
// UTF-8 range of up to six bytes (values up to 7FFFFFFF).
#include <climits>
#include <cstring>

#include "luna/api.hpp"
#include "../dialect.hpp"

namespace luna {
namespace {

constexpr uint32_t MAXUNICODE = 0x10FFFF;
constexpr uint32_t MAXUTF = 0x7FFFFFFF;
constexpr const char* MSG_INVALID = "invalid UTF-8 code";

bool is_cont(const char* p) { return (static_cast<unsigned char>(*p) & 0xC0) == 0x80; }

// Relative position: negative counts from the end; too negative gives 0.
Integer u_posrelat(Integer pos, size_t len) {
  if (pos >= 0) return pos;
  if (static_cast<size_t>(0u - static_cast<Unsigned>(pos)) > len) return 0;
  return static_cast<Integer>(len) + pos + 1;
}

// Decodes one sequence at s (the string is '\0'-terminated, so reading
// stops at its end because '\0' is never a continuation byte). Returns the
// byte after the sequence, or nullptr if it is invalid or overlong.
const char* utf8_decode(const char* s, uint32_t* val, bool strict) {
  // smallest value that needs 1, 2, ... continuation bytes
  static const uint32_t minimum[] = {0, 0x80, 0x800, 0x10000u, 0x200000u, 0x4000000u};
  unsigned int c = static_cast<unsigned char>(s[0]);
  uint32_t res;
  if (c < 0x80) {
    res = c;
  } else {
    if ((c & 0x40) == 0) return nullptr;  // a continuation byte cannot start a sequence
    int count = 0;  // continuation bytes: one per leading 1 bit after the first
    for (unsigned int m = 0x40; (c & m) != 0; m >>= 1) count++;
    if (count > 5) return nullptr;
    res = c & ((0x40u >> count) - 1);  // payload bits of the leading byte
    for (int i = 1; i <= count; i++) {
      unsigned int cc = static_cast<unsigned char>(s[i]);
      if ((cc & 0xC0) != 0x80) return nullptr;
      res = (res << 6) | (cc & 0x3F);
    }
    if (res > MAXUTF || res < minimum[count]) return nullptr;
    s += count;
  }
  if (strict && (res > MAXUNICODE || (0xD800u <= res && res <= 0xDFFFu))) return nullptr;
  if (val) *val = res;
  return s + 1;
}

// utf8.len(s [, i [, j [, lax]]])
// 5.3 words the position errors differently.
const char* msg_for(State* L, const char* m54, const char* m53) {
  return dialect_of(get_version(L)).lib_53 ? m53 : m54;
}

int utf_len(State* L) {
  size_t len;
  const char* s = check_lstring(L, 1, &len);
  Integer posi = u_posrelat(opt_integer(L, 2, 1), len);
  Integer posj = u_posrelat(opt_integer(L, 3, -1), len);
  bool lax = to_boolean(L, 4);
  arg_check(L, 1 <= posi && --posi <= static_cast<Integer>(len), 2,
            msg_for(L, "initial position out of bounds", "initial position out of string"));
  arg_check(L, --posj < static_cast<Integer>(len), 3,
            msg_for(L, "final position out of bounds", "final position out of string"));
  if (posi <= posj) charge_bytes(L, static_cast<uint64_t>(posj - posi + 1));
  Integer n = 0;
  while (posi <= posj) {
    const char* s1 = utf8_decode(s + posi, nullptr, !lax);
    if (s1 == nullptr) {  // fail, plus the position of the bad byte
      push_fail(L);
      push_integer(L, posi + 1);
      return 2;
    }
    posi = s1 - s;
    n++;
  }
  push_integer(L, n);
  return 1;
}

// utf8.codepoint(s [, i [, j [, lax]]])
int utf_codepoint(State* L) {
  size_t len;
  const char* s = check_lstring(L, 1, &len);
  Integer posi = u_posrelat(opt_integer(L, 2, 1), len);
  Integer pose = u_posrelat(opt_integer(L, 3, posi), len);
  bool lax = to_boolean(L, 4);
  arg_check(L, posi >= 1, 2, msg_for(L, "out of bounds", "out of range"));
  arg_check(L, pose <= static_cast<Integer>(len), 3, msg_for(L, "out of bounds", "out of range"));
  if (posi > pose) return 0;
  if (pose - posi >= INT_MAX) error_f(L, "string slice too long");
  int n = static_cast<int>(pose - posi) + 1;
  charge_instruction_budget(L, static_cast<uint64_t>(n));
  check_stack_or_error(L, n, "string slice too long");
  n = 0;
  const char* se = s + pose;
  for (s += posi - 1; s < se;) {
    uint32_t code;
    s = utf8_decode(s, &code, !lax);
    if (s == nullptr) error_f(L, "%s", MSG_INVALID);
    push_integer(L, code);
    n++;
  }
  return n;
}

// Encodes x (<= MAXUTF) into buff; returns the number of bytes.
int utf8_encode(char* buff, uint32_t x) {
  if (x < 0x80) {
    buff[0] = static_cast<char>(x);
    return 1;
  }
  // fill continuation bytes from the end until the rest fits the lead byte
  char tmp[8];
  int n = 0;
  uint32_t lead_room = 0x3F;  // payload bits the lead byte can still hold
  do {
    tmp[n++] = static_cast<char>(0x80 | (x & 0x3F));
    x >>= 6;
    lead_room >>= 1;
  } while (x > lead_room);
  unsigned int lead = (~lead_room << 1) & 0xFF;  // n+1 leading one bits
  buff[0] = static_cast<char>(lead | x);
  for (int i = 0; i < n; i++) buff[i + 1] = tmp[n - 1 - i];
  return n + 1;
}

void add_utf_char(State* L, Buffer& b, int arg) {
  Unsigned code = static_cast<Unsigned>(check_integer(L, arg));
  // 5.3 encodes Unicode's range only; 5.4+ up to 2^31
  const Unsigned max = dialect_of(get_version(L)).lib_53 ? 0x10FFFFu : MAXUTF;
  arg_check(L, code <= max, arg, "value out of range");
  char buff[8];
  int n = utf8_encode(buff, static_cast<uint32_t>(code));
  b.add(buff, static_cast<size_t>(n));
}

// utf8.char(...)
int utf_char(State* L) {
  int n = get_top(L);
  Buffer b(L);
  for (int i = 1; i <= n; i++) add_utf_char(L, b, i);
  b.push_result();
  return 1;
}

// utf8.offset(s, n [, i]): position of the n-th character counted from i
// (5.5: and the position of its last byte).
int utf_offset(State* L) {
  size_t len;
  const char* s = check_lstring(L, 1, &len);
  Integer n = check_integer(L, 2);
  Integer posi = (n >= 0) ? 1 : static_cast<Integer>(len) + 1;
  posi = u_posrelat(opt_integer(L, 3, posi), len);
  arg_check(L, 1 <= posi && --posi <= static_cast<Integer>(len), 3, msg_for(L, "position out of bounds", "position out of range"));
  charge_bytes(L, len);  // the scan stays inside the string
  if (n == 0) {  // start of the character containing byte i
    while (posi > 0 && is_cont(s + posi)) posi--;
  } else {
    if (is_cont(s + posi)) error_f(L, "initial position is a continuation byte");
    if (n < 0) {
      while (n < 0 && posi > 0) {
        do {
          posi--;
        } while (posi > 0 && is_cont(s + posi));
        n++;
      }
    } else {
      n--;  // the first character is the one at posi
      while (n > 0 && posi < static_cast<Integer>(len)) {
        do {
          posi++;
        } while (is_cont(s + posi));  // the final '\0' stops the scan
        n--;
      }
    }
  }
  if (n != 0) {
    push_fail(L);
    return 1;
  }
  push_integer(L, posi + 1);
  if (!dialect_of(get_version(L)).lib_55) return 1;
  // 5.5 also returns where the character ends (past the string: a virtual '\0')
  if (is_cont(s + posi)) error_f(L, "character found starts with a continuation byte");
  Integer end = posi;
  if (posi < static_cast<Integer>(len)) {
    while (is_cont(s + end + 1)) end++;  // the final '\0' stops the scan
  }
  push_integer(L, end + 1);
  return 2;
}

int iter_aux(State* L, bool strict) {
  size_t len;
  const char* s = check_lstring(L, 1, &len);
  Unsigned n = static_cast<Unsigned>(to_integerx(L, 2));
  if (n < len) {
    while (is_cont(s + n)) n++;  // skip the rest of the previous character
  }
  if (n >= len) return 0;  // also covers a negative control value
  uint32_t code;
  const char* next = utf8_decode(s + n, &code, strict);
  if (next == nullptr || is_cont(next)) error_f(L, "%s", MSG_INVALID);
  push_integer(L, static_cast<Integer>(n) + 1);
  push_integer(L, code);
  return 2;
}

int iter_aux_strict(State* L) { return iter_aux(L, true); }
int iter_aux_lax(State* L) { return iter_aux(L, false); }

// utf8.codes(s [, lax])
int utf_codes(State* L) {
  bool lax = to_boolean(L, 2);
  const char* s = check_string(L, 1);
  arg_check(L, !is_cont(s), 1, MSG_INVALID);
  push_native_function(L, lax ? iter_aux_lax : iter_aux_strict);
  push_value(L, 1);
  push_integer(L, 0);
  return 3;
}

// Matches exactly one UTF-8 byte sequence (lax form).
constexpr char UTF8PATT[] = "[\0-\x7F\xC2-\xFD][\x80-\xBF]*";

const Reg utf8_funcs[] = {
  {"offset", utf_offset},
  {"codepoint", utf_codepoint},
  {"char", utf_char},
  {"len", utf_len},
  {"codes", utf_codes},
  {"charpattern", nullptr},  // set below
  {nullptr, nullptr},
};

}  // namespace

int open_utf8(State* L) {
  new_lib(L, utf8_funcs);
  push_lstring(L, UTF8PATT, sizeof(UTF8PATT) - 1);
  set_field(L, -2, "charpattern");
  return 1;
}

}  // namespace luna
