// Decimal digits of an unsigned integer written backwards from a buffer's
// end, two at a time. Inline, so that the conversions built on it
// (integer_to_text, float_to_fixed, string.format's integer items) make no
// call: the call made their callers save registers of their own.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace luna {

// Decimal text of i, by hand: snprintf's format parsing costs several times
// the conversion itself, and concatenation converts numbers constantly. Two
// digits per division (one multiply by the reciprocal and a table load).
inline constexpr std::array<char, 200> kDigitPairs = [] {
  std::array<char, 200> t{};
  for (int k = 0; k < 100; k++) {
    t[static_cast<size_t>(2 * k)] = static_cast<char>('0' + k / 10);
    t[static_cast<size_t>(2 * k + 1)] = static_cast<char>('0' + k % 10);
  }
  return t;
}();

// Writes the decimal digits of m so that they end at end; returns their start.
inline char* digits_before(uint64_t m, char* end) {
  char* d = end;
  for (; m >= 100; m /= 100) {
    d -= 2;
    std::memcpy(d, &kDigitPairs[2 * static_cast<size_t>(m % 100)], 2);
  }
  if (m >= 10) {
    d -= 2;
    std::memcpy(d, &kDigitPairs[2 * static_cast<size_t>(m)], 2);
  } else {
    *--d = static_cast<char>('0' + m);
  }
  return d;
}

}  // namespace luna
