// One conversion of string.format of the common kinds (d i x X c s e E f
// g G with the flags each accepts, a width and a precision of two digits),
// parsed once and written into a caller's array: shared by the library
// (lib/string_format.cpp) and the JIT, which parses a constant format when
// it records the call and formats each argument by these (record_format.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "decimal_digits.hpp"
#include "object.hpp"

namespace luna {

struct FormatSpec {
  static constexpr uint8_t LEFT = 1, ZERO = 2, PLUS = 4, SPACE = 8, ALT = 16;
  uint8_t flags = 0;
  uint8_t width = 0;
  int8_t precision = -1;  // none
  char conv = 0;

  bool has(uint8_t f) const { return (flags & f) != 0; }
  bool is_float() const { return conv == 'e' || conv == 'E' || conv == 'f' || conv == 'g' || conv == 'G'; }
  // The spec as 32 bits, for a trace's constant.
  uint32_t pack() const {
    return flags | static_cast<uint32_t>(width) << 8 | static_cast<uint32_t>(static_cast<uint8_t>(precision)) << 16 |
           static_cast<uint32_t>(static_cast<uint8_t>(conv)) << 24;
  }
  static FormatSpec unpack(uint32_t p) {
    return FormatSpec{static_cast<uint8_t>(p), static_cast<uint8_t>(p >> 8), static_cast<int8_t>(p >> 16),
                      static_cast<char>(p >> 24)};
  }
};

// A trace's constant for one conversion: the spec's 32 bits, then the
// length (0 to 2) and the bytes of the literal text that follows it, so
// short literals cost no call of their own. Below 2^53: exact as a double.
inline uint64_t format_word(const FormatSpec& s, const char* suffix, size_t n) {
  uint64_t w = s.pack() | static_cast<uint64_t>(n) << 32;
  for (size_t k = 0; k < n; k++) w |= static_cast<uint64_t>(static_cast<uint8_t>(suffix[k])) << (34 + 8 * k);
  return w;
}
inline size_t format_word_suffix_len(uint64_t w) { return (w >> 32) & 3; }

// Room any one item needs: "%99.99f" of the largest double, a sign added.
constexpr size_t MAX_FORMAT_ITEM = MAX_FIXED_TEXT + 4;

// Parses the spec after a '%' (end: the format's end; Lua strings end in
// '\0'). Returns the end of the spec, or nullptr for any spec of another
// kind, which the library's general path takes with its checks and messages.
const char* format_parse_spec(const char* p, const char* end, FormatSpec* s);

// d i x X c of n into out (room for MAX_FORMAT_ITEM); the length written.
size_t format_integer_item(const FormatSpec& s, Integer n, char* out);
// e E f g G of x into out (room for MAX_FORMAT_ITEM), the decimal point '.'.
size_t format_float_item(const FormatSpec& s, Number x, char* out);
// s of a string of len < 100 bytes (the precision applied) padded to the
// width into out (room for 100 bytes).
size_t format_string_item(const FormatSpec& s, const char* str, size_t len, char* out);

// Whether the locale's decimal point is ".", as the direct float
// conversions write it. The answer is kept until format_point_changed:
// os.setlocale calls it, and so must a host that calls setlocale itself
// after Lua code has formatted floats.
bool format_point_is_dot();
void format_point_changed();

}  // namespace luna
