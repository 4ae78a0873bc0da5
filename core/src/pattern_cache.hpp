// What the pattern functions (lib/string.cpp) learn from a pattern before
// searching with it: where its first single-character item is and, for a
// bracket class, that class's ASCII members as bits. Working that out costs
// ~160 instructions, as much as a whole string.find of json's `[^ \n\t]`, and
// a loop calls find, gsub or gmatch with the same few patterns over and
// over, so the answers for recent short patterns are kept per state.
#pragma once

#include <cstddef>
#include <cstdint>

namespace luna {

struct PatternCache {
  static constexpr size_t ENTRIES = 16;  // direct-mapped by the string's hash
  static constexpr size_t MAX_LEN = 22;  // longer patterns are not kept
  struct Entry {
    uint64_t ascii[2];   // the bracket class's ASCII members
    uint8_t len;         // the pattern's length; 0: the entry is free
    uint8_t plain;       // no special character: find searches for the text
    uint8_t has_first;   // the pattern has a first item (none when anchored)
    uint8_t p_off, ep_off;  // the item's bounds, from the pattern's start
    uint8_t whole;       // the item is the whole pattern (1), or with '+' (2)
    uint8_t run_fails;   // a failed start skips the rest of the item's run
    uint8_t nnext;       // the items that must follow it, and their bounds
    uint8_t next[6][2];
    char bytes[MAX_LEN + 1];  // the pattern: the entry is found by content
  };
  Entry entries[ENTRIES];
};

}  // namespace luna
