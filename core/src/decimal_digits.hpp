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
// Below 2^32 (almost every number printed) the pairs are taken in 32 bits:
// the division by 100 is then one multiply and one shift, where 64 bits
// need a shift before the multiply and an adjustment after it (~4 fewer
// instructions a pair).
inline char* digits_before(uint64_t m, char* end) {
  char* d = end;
  for (; m > UINT32_MAX; m /= 100) {
    d -= 2;
    std::memcpy(d, &kDigitPairs[2 * static_cast<size_t>(m % 100)], 2);
  }
  auto v = static_cast<uint32_t>(m);
  for (; v >= 100; v /= 100) {
    d -= 2;
    std::memcpy(d, &kDigitPairs[2 * static_cast<size_t>(v % 100)], 2);
  }
  if (v >= 10) {
    d -= 2;
    std::memcpy(d, &kDigitPairs[2 * static_cast<size_t>(v)], 2);
  } else {
    *--d = static_cast<char>('0' + v);
  }
  return d;
}

}  // namespace luna
