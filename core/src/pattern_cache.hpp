// What the pattern functions (lib/string.cpp) learn from a pattern before
// searching with it: where its first single-character item is, the items
// that must follow it, and their ASCII members as bit sets. Working that
// out costs ~160 instructions, as much as a whole string.find of json's
// `[^ \n\t]`, and a loop calls find, gsub or gmatch with the same few
// patterns over and over, so the answers for recent short patterns are
// kept per state.
#pragma once

#include <cstddef>
#include <cstdint>

namespace luna {

// The plan of a pattern's search (lib/string.cpp, first_item), as offsets
// from the pattern's start so that it can be kept apart from the string.
struct FirstPlan {
  static constexpr int MAX_NEXT = 6;
  uint64_t ascii[2];            // the first item's ASCII members
  uint64_t next_ascii[MAX_NEXT][2];  // each next item's ASCII members
  uint8_t has_first;            // the pattern has a first item (none when anchored)
  uint8_t p_off, ep_off;        // the item's bounds
  uint8_t literal;              // the item is one fixed byte: a memchr finds it
  uint8_t whole;                // the item is the whole pattern (1), or with '+' (2); 3: so are
                                // the item, its next items and captures (`fixed`)
  uint8_t run_fails;            // a failed start skips the rest of the item's run
  uint8_t nnext;                // the items that must follow it, and their bounds
  uint8_t next[MAX_NEXT][2];
  uint8_t anchor;               // the item with the fewest ASCII members (0: the first, k: next
                                // item k - 1): the search scans for it when it is not the first
  // A fixed pattern's captures: each one's start and length from the
  // match's start (length CAP_OPEN: unfinished, CAP_AT: a position), and
  // the match steps do_match would take (one, and one a parenthesis).
  static constexpr uint8_t CAP_OPEN = 254, CAP_AT = 255;
  uint8_t ncap, fixed_steps;
  uint8_t cap[8][2];
};

struct PatternCache {
  static constexpr size_t ENTRIES = 16;  // direct-mapped by the string's hash
  static constexpr size_t MAX_LEN = 22;  // longer patterns are not kept
  struct Entry {
    FirstPlan plan;
    uint32_t hash;  // the pattern string's hash: its two places
    uint8_t len;    // the pattern's length; 0: the entry is free
    uint8_t plain;  // no special character: find searches for the text
    char bytes[MAX_LEN + 1];  // the pattern: the entry is found by content
  };
  Entry entries[ENTRIES];
  // The two places (way 0, 1) of a pattern whose string's hash is h.
  static size_t place(uint32_t h, int way) { return (way == 0 ? h : h / ENTRIES) % ENTRIES; }
};

}  // namespace luna
