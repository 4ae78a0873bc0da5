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

// A pattern compiled for gsub's matcher (lib/string.cpp, seq_match): its
// captures and single-character items in order, each item with its
// quantifier and its ASCII members as bits. do_match reads the pattern
// text again at every step (class_end, single_match's switch, next_literal
// for each '+' or '*', capture_to_close's search); a gsub of `(%a+)a%s`
// spent ~450 instructions a word there.
struct SeqPlan {
  static constexpr int MAX_OPS = 8;
  enum Kind : uint8_t { ITEM, OPEN, POSITION, CLOSE };
  struct Op {
    uint64_t ascii[2];      // an item's ASCII members
    uint8_t kind;
    uint8_t quant;          // an item's quantifier: 0, '+', '*', '?' or '-'
    uint8_t p_off, ep_off;  // an item's bounds in the pattern
    uint8_t cap;            // the capture '(' opens or ')' closes
    int16_t lit;            // after '+' or '*': the byte the rest must start with
                            // (max_expand's next_literal), -1 when none
  };
  uint8_t nops;  // 0: the pattern is not compiled (do_match matches it)
  Op ops[MAX_OPS];
};

struct PatternCache {
  static constexpr size_t ENTRIES = 16;  // direct-mapped by the string's hash
  static constexpr size_t MAX_LEN = 22;  // longer patterns are not kept
  struct Entry {
    FirstPlan plan;
    SeqPlan seq;
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
