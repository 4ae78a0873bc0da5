// Byte runs of interned-string size (a few to 40 bytes) handled a word at a
// time: the last, partial word is an overlapping load ending at the run's
// end, so nothing outside [p, p + n) is read or written. A call to libc's
// memcpy or memcmp costs more than the whole run for such lengths (the
// strings of word_count and string_concat are 2 to 12 bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace luna::bytes {

inline uint64_t load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline uint32_t load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline void store64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
inline void store32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }

// a[0..n) == b[0..n).
inline bool equal(const char* a, const char* b, size_t n) {
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8)
      if (load64(a + i) != load64(b + i)) return false;
    return load64(a + n - 8) == load64(b + n - 8);
  }
  if (n >= 4) return ((load32(a) ^ load32(b)) | (load32(a + n - 4) ^ load32(b + n - 4))) == 0;
  // 0 to 3 bytes: the first, middle and last cover them all.
  return n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]);
}

// Copies src[0..n) to dst[0..n); the two must not overlap.
inline void copy(char* dst, const char* src, size_t n) {
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) store64(dst + i, load64(src + i));
    store64(dst + n - 8, load64(src + n - 8));
  } else if (n >= 4) {
    uint32_t head = load32(src), tail = load32(src + n - 4);
    store32(dst, head);
    store32(dst + n - 4, tail);
  } else if (n > 0) {
    dst[0] = src[0];
    dst[n / 2] = src[n / 2];
    dst[n - 1] = src[n - 1];
  }
}

}  // namespace luna::bytes
