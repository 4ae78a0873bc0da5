// The string library: basic string functions, Lua patterns, string.format,
// binary packing, and the string metatable (indexing and arithmetic
// coercion). Written against the public stack API only.
#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <charconv>
#include <climits>
#include <clocale>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include "luna/api.hpp"
#include "../dialect.hpp"
#include "../builtin.hpp"
#include "../object.hpp"
#include "../short_bytes.hpp"
#include "../state.hpp"

namespace luna {
namespace {

// Largest string this library builds: results must stay addressable by an
// int, as in the reference implementation (string.rep, string.packsize).
constexpr size_t MAXSIZE = sizeof(size_t) < sizeof(int) ? ~size_t(0) : size_t(INT_MAX);

int str_len(State* L) {
  size_t l;
  check_lstring(L, 1, &l);
  push_integer(L, static_cast<Integer>(l));
  return 1;
}

}  // namespace

// Also run inline by the dispatcher (fastcall.cpp).
int lib_string_sub(State* L) {
  size_t l;
  const char* s = check_lstring(L, 1, &l);
  size_t start = str_pos_start(check_integer(L, 2), l);
  size_t end = str_pos_end(opt_integer(L, 3, -1), l);
  if (start > end) {
    push_lstring(L, "", 0);
  } else {
    charge_bytes(L, end - start + 1);
    push_lstring(L, s + start - 1, end - start + 1);
  }
  return 1;
}

namespace {

int str_reverse(State* L) {
  size_t l;
  const char* s = check_lstring(L, 1, &l);
  Buffer b(L);
  char* p = b.prepare(l);
  for (size_t i = 0; i < l; i++) p[i] = s[l - 1 - i];
  b.add_size(l);
  b.push_result();
  return 1;
}

int to_lower(int c) { return std::tolower(c); }
int to_upper(int c) { return std::toupper(c); }

template <int (*Conv)(int)>
int str_case(State* L) {
  size_t l;
  const char* s = check_lstring(L, 1, &l);
  Buffer b(L);
  char* p = b.prepare(l);
  for (size_t i = 0; i < l; i++) p[i] = static_cast<char>(Conv(static_cast<unsigned char>(s[i])));
  b.add_size(l);
  b.push_result();
  return 1;
}

int str_rep(State* L) {
  size_t l, lsep;
  const char* s = check_lstring(L, 1, &l);
  Integer n = check_integer(L, 2);
  const char* sep = opt_lstring(L, 3, "", &lsep);
  // Nothing to repeat also ends here: a huge count of empty pieces would
  // otherwise spin in the copy loop, out of reach of the instruction budget.
  if (n <= 0 || l + lsep == 0) {
    push_lstring(L, "", 0);
    return 1;
  }
  if (l + lsep < l || l + lsep > MAXSIZE / static_cast<Unsigned>(n))
    error_f(L, "resulting string too large");
  size_t count = static_cast<size_t>(n);
  size_t total = count * l + (count - 1) * lsep;
  Buffer b(L);
  char* p = b.prepare(total);
  for (size_t i = 0; i < count; i++) {
    std::memcpy(p, s, l);
    p += l;
    if (lsep > 0 && i + 1 < count) {
      std::memcpy(p, sep, lsep);
      p += lsep;
    }
  }
  b.add_size(total);
  b.push_result();
  return 1;
}

}  // namespace

// Also run inline by the dispatcher (fastcall.cpp).
int lib_string_byte(State* L) {
  size_t l;
  const char* s = check_lstring(L, 1, &l);
  Integer pi = opt_integer(L, 2, 1);
  size_t posi = str_pos_start(pi, l);
  size_t pose = str_pos_end(opt_integer(L, 3, pi), l);  // default end is the raw start
  if (posi > pose) return 0;
  if (pose - posi >= static_cast<size_t>(INT_MAX)) error_f(L, "string slice too long");
  int n = static_cast<int>(pose - posi) + 1;
  charge_instruction_budget(L, static_cast<uint64_t>(n));
  check_stack_or_error(L, n, "string slice too long");
  for (int i = 0; i < n; i++) push_integer(L, static_cast<unsigned char>(s[posi + i - 1]));
  return n;
}

namespace {

int str_char(State* L) {
  int n = get_top(L);
  if (n <= static_cast<int>(MAX_SHORT_LEN)) {
    // A short result (string.char(c) is the usual call) is built here and
    // interned, without a Buffer (whose setup and result cost ~250
    // instructions a call).
    char text[MAX_SHORT_LEN];
    for (int i = 1; i <= n; i++) {
      Unsigned c = static_cast<Unsigned>(check_integer(L, i));
      arg_check(L, c <= UCHAR_MAX, i, "value out of range");
      text[i - 1] = static_cast<char>(static_cast<unsigned char>(c));
    }
    push_lstring(L, text, static_cast<size_t>(n));
    return 1;
  }
  Buffer b(L);
  char* p = b.prepare(static_cast<size_t>(n));
  for (int i = 1; i <= n; i++) {
    Unsigned c = static_cast<Unsigned>(check_integer(L, i));
    arg_check(L, c <= UCHAR_MAX, i, "value out of range");
    p[i - 1] = static_cast<char>(static_cast<unsigned char>(c));
  }
  b.add_size(static_cast<size_t>(n));
  b.push_result();
  return 1;
}

int dump_writer(State*, const void* p, size_t sz, void* ud) {
  static_cast<std::string*>(ud)->append(static_cast<const char*>(p), sz);
  return 0;
}

int str_dump(State* L) {
  bool strip = to_boolean(L, 2);
  check_type(L, 1, TFUNCTION);
  set_top(L, 1);  // dump() reads the function at the top
  std::string out;
  if (dump(L, dump_writer, &out, strip) != 0) error_f(L, "unable to dump given function");
  push_lstring(L, out.data(), out.size());
  return 1;
}

// ------------------------------------------------------------ patterns

constexpr int MAXCAPTURES = 32;
constexpr int MAXCCALLS = 200;  // recursion limit of the matcher
constexpr char ESC = '%';
constexpr const char* SPECIALS = "^$*+?.([%-";
constexpr ptrdiff_t CAP_UNFINISHED = -1;
constexpr ptrdiff_t CAP_POSITION = -2;

// Character classes as bits. The ASCII bytes are classified by a table
// (the classes <ctype.h> gives them in the C locale and in every locale
// glibc ships); bytes above 127 depend on the locale os.setlocale chose,
// so they are asked of the C library.
enum : uint16_t {
  CL_ALPHA = 1 << 0, CL_CNTRL = 1 << 1, CL_DIGIT = 1 << 2, CL_GRAPH = 1 << 3,
  CL_LOWER = 1 << 4, CL_PUNCT = 1 << 5, CL_SPACE = 1 << 6, CL_UPPER = 1 << 7,
  CL_ALNUM = 1 << 8, CL_XDIGIT = 1 << 9, CL_ZERO = 1 << 10,
};

constexpr uint16_t ascii_class(int c) {
  bool upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z', digit = c >= '0' && c <= '9';
  bool graph = c > ' ' && c < 127;
  uint16_t r = 0;
  if (upper) r |= CL_UPPER | CL_ALPHA | CL_ALNUM;
  if (lower) r |= CL_LOWER | CL_ALPHA | CL_ALNUM;
  if (digit) r |= CL_DIGIT | CL_ALNUM;
  if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) r |= CL_XDIGIT;
  if (c < ' ' || c == 127) r |= CL_CNTRL;
  if (c == ' ' || (c >= '\t' && c <= '\r')) r |= CL_SPACE;
  if (graph) r |= CL_GRAPH;
  if (graph && !upper && !lower && !digit) r |= CL_PUNCT;
  if (c == 0) r |= CL_ZERO;
  return r;
}

constexpr auto ASCII_CLASSES = [] {
  std::array<uint16_t, 128> t{};
  for (int c = 0; c < 128; c++) t[static_cast<size_t>(c)] = ascii_class(c);
  return t;
}();

[[gnu::noinline]] bool locale_in_class(int c, uint16_t mask) {
  switch (mask) {
    case CL_ALPHA: return std::isalpha(c);
    case CL_CNTRL: return std::iscntrl(c);
    case CL_DIGIT: return std::isdigit(c);
    case CL_GRAPH: return std::isgraph(c);
    case CL_LOWER: return std::islower(c);
    case CL_PUNCT: return std::ispunct(c);
    case CL_SPACE: return std::isspace(c);
    case CL_UPPER: return std::isupper(c);
    case CL_ALNUM: return std::isalnum(c);
    case CL_XDIGIT: return std::isxdigit(c);
    default: return false;  // CL_ZERO: only byte 0
  }
}

// Is byte c in the class `mask` names (one bit)?
inline bool in_class(int c, uint16_t mask) {
  return c < 128 ? (ASCII_CLASSES[static_cast<size_t>(c)] & mask) != 0 : locale_in_class(c, mask);
}

// The class bit a class letter (either case) names; 0 when cl is no class.
inline uint16_t class_mask(int cl) {
  switch (cl | 0x20) {  // only the ASCII letters fold onto lower-case letters
    case 'a': return CL_ALPHA;
    case 'c': return CL_CNTRL;
    case 'd': return CL_DIGIT;
    case 'g': return CL_GRAPH;
    case 'l': return CL_LOWER;
    case 'p': return CL_PUNCT;
    case 's': return CL_SPACE;
    case 'u': return CL_UPPER;
    case 'w': return CL_ALNUM;
    case 'x': return CL_XDIGIT;
    case 'z': return CL_ZERO;  // deprecated, still accepted by 5.4
    default: return 0;
  }
}

// Does byte c match "%cl"? An upper-case class letter is the complement.
inline bool match_class(int c, int cl) {
  uint16_t mask = class_mask(cl);
  if (mask == 0) return cl == c;
  return in_class(c, mask) == ((cl & 0x20) != 0);
}

// The ASCII members of each class (indexed by its bit's position) as two
// words of bits, for the byte sets of bracket classes.
struct AsciiSet {
  uint64_t w[2] = {0, 0};
  bool has(int c) const { return (w[c >> 6] >> (c & 63)) & 1; }
  void add(int c) {
    if (c < 128) w[c >> 6] |= uint64_t(1) << (c & 63);
  }
};

constexpr auto CLASS_MEMBERS = [] {
  std::array<AsciiSet, 11> t{};
  for (int k = 0; k < 11; k++)
    for (int c = 0; c < 128; c++)
      if (ASCII_CLASSES[static_cast<size_t>(c)] & (1u << k)) t[static_cast<size_t>(k)].w[c >> 6] |= uint64_t(1) << (c & 63);
  return t;
}();

// The ASCII bytes that bracket class p..ec matches (p at '[', ec at its
// ']'), parsed as match_bracket_class reads it; bytes above 127 are left to
// match_bracket_class, as their classes follow the locale.
AsciiSet bracket_ascii_set(const char* p, const char* ec) {
  AsciiSet set;
  bool negated = p[1] == '^';
  if (negated) p++;
  while (++p < ec) {
    if (*p == ESC) {
      p++;
      int cl = static_cast<unsigned char>(*p);
      uint16_t mask = class_mask(cl);
      if (mask == 0) {
        set.add(cl);
      } else {
        AsciiSet m = CLASS_MEMBERS[static_cast<size_t>(std::countr_zero(mask))];
        bool complement = (cl & 0x20) == 0;
        for (int j = 0; j < 2; j++) set.w[j] |= complement ? ~m.w[j] : m.w[j];
      }
    } else if (p[1] == '-' && p + 2 < ec) {
      p += 2;
      for (int c = static_cast<unsigned char>(p[-2]); c <= static_cast<unsigned char>(*p) && c < 128; c++) set.add(c);
    } else {
      set.add(static_cast<unsigned char>(*p));
    }
  }
  if (negated)
    for (auto& w : set.w) w = ~w;
  return set;
}

// The pattern functions' arguments read straight from the frame when they
// have the usual types (a string, an integer or none); any other value
// takes the checking call, which converts it or raises as before.
inline const TValue* frame_arg(State* L, int arg) {
  const TValue* o = L->ci->func + arg;
  return o < L->top ? o : nullptr;
}

inline const char* string_arg(State* L, int arg, size_t* len) {
  const TValue* o = frame_arg(L, arg);
  if (o != nullptr && o->is_string()) {
    *len = o->as_string()->len;
    return o->as_string()->data;
  }
  return check_lstring(L, arg, len);
}

inline Integer opt_integer_arg(State* L, int arg, Integer def) {
  const TValue* o = frame_arg(L, arg);
  if (o == nullptr) return def;
  if (o->is_int()) return o->u.i;
  return opt_integer(L, arg, def);
}

struct MatchState {
  const char* src_init;
  const char* src_end;
  const char* p_end;
  State* L;
  int matchdepth;
  int level;
  size_t steps;  // match steps not yet charged to the instruction budget
  struct {
    const char* init;
    ptrdiff_t len;
  } capture[MAXCAPTURES];
};

// Backtracking can take exponential time ("x*x*x*...y" and the like), so
// match steps (one per match attempt, and one per start position or
// backtracking position skipped without one) count against the
// instruction budget, in batches.
constexpr size_t MATCH_STEP_BATCH = 1024;

[[gnu::noinline]] void charge_step_batches(MatchState* ms) {
  charge_instruction_budget(ms->L, ms->steps / MATCH_STEP_BATCH * MATCH_STEP_BATCH);
  ms->steps %= MATCH_STEP_BATCH;
}

inline void charge_steps(MatchState* ms, size_t n) {
  ms->steps += n;
  if (ms->steps >= MATCH_STEP_BATCH) charge_step_batches(ms);
}

const char* do_match(MatchState* ms, const char* s, const char* p);

int check_capture(MatchState* ms, int l) {
  l -= '1';
  if (l < 0 || l >= ms->level || ms->capture[l].len == CAP_UNFINISHED)
    error_f(ms->L, "invalid capture index %%%d", l + 1);
  return l;
}

int capture_to_close(MatchState* ms) {
  for (int level = ms->level - 1; level >= 0; level--)
    if (ms->capture[level].len == CAP_UNFINISHED) return level;
  error_f(ms->L, "invalid pattern capture");
}

// End of the single-character class starting at p.
inline const char* class_end(MatchState* ms, const char* p) {
  char c = *p++;
  if (c == ESC) {
    if (p == ms->p_end) error_f(ms->L, "malformed pattern (ends with '%%')");
    return p + 1;
  }
  if (c == '[') {
    if (*p == '^') p++;
    do {  // the first character of a set is literal, even ']'
      if (p == ms->p_end) error_f(ms->L, "malformed pattern (missing ']')");
      char cc = *p++;
      if (cc == ESC && p < ms->p_end) p++;
    } while (*p != ']');
    return p + 1;
  }
  return p;
}

// p points at '[', ec at the closing ']'.
bool match_bracket_class(int c, const char* p, const char* ec) {
  bool sig = true;
  if (p[1] == '^') {
    sig = false;
    p++;
  }
  while (++p < ec) {
    if (*p == ESC) {
      p++;
      if (match_class(c, static_cast<unsigned char>(*p))) return sig;
    } else if (p[1] == '-' && p + 2 < ec) {
      p += 2;
      if (static_cast<unsigned char>(p[-2]) <= c && c <= static_cast<unsigned char>(*p)) return sig;
    } else if (static_cast<unsigned char>(*p) == c) {
      return sig;
    }
  }
  return !sig;
}

inline bool single_match(MatchState* ms, const char* s, const char* p, const char* ep) {
  if (s >= ms->src_end) return false;
  int c = static_cast<unsigned char>(*s);
  switch (*p) {
    case '.': return true;
    case ESC: return match_class(c, static_cast<unsigned char>(p[1]));
    case '[': return match_bracket_class(c, p, ep - 1);
    default: return static_cast<unsigned char>(*p) == c;
  }
}

// How many bytes from s on match the single-character class p..ep.
size_t count_matches(MatchState* ms, const char* s, const char* p, const char* ep) {
  const char* q = s;
  const char* end = ms->src_end;
  switch (*p) {
    case '.':
      return static_cast<size_t>(end - s);
    case ESC: {
      int cl = static_cast<unsigned char>(p[1]);
      uint16_t mask = class_mask(cl);
      if (mask == 0) {
        while (q < end && static_cast<unsigned char>(*q) == cl) q++;
      } else {
        bool want = (cl & 0x20) != 0;
        while (q < end && in_class(static_cast<unsigned char>(*q), mask) == want) q++;
      }
      break;
    }
    case '[':
      while (q < end && match_bracket_class(static_cast<unsigned char>(*q), p, ep - 1)) q++;
      break;
    default:
      while (q < end && *q == *p) q++;
      break;
  }
  return static_cast<size_t>(q - s);
}

// The byte the rest of the pattern at p must match first, when it is a
// plain character (possibly after closing open captures) that no
// quantifier lets be absent; -1 otherwise. max_expand skips backtracking
// positions where that byte is not, which is what trying them would
// give: the attempt fails there without raising an error.
// The plain character at p (before end) that no quantifier lets be
// absent, or -1.
int plain_literal(const char* p, const char* end) {
  if (p == end) return -1;
  switch (*p) {  // SPECIALS and ')', tested without a call to strchr
    case '^': case '$': case '*': case '+': case '?': case '.': case '(': case '[': case '%': case '-': case ')':
      return -1;
    default:
      break;
  }
  if (p + 1 < end && (p[1] == '*' || p[1] == '?' || p[1] == '-')) return -1;
  return static_cast<unsigned char>(*p);
}

int next_literal(MatchState* ms, const char* p) {
  int closes = 0;
  while (p < ms->p_end && *p == ')') {
    closes++;
    p++;
  }
  int lit = plain_literal(p, ms->p_end);
  if (lit < 0) return -1;
  if (closes > 0) {  // each ')' must find a capture to close, and a recursion level
    if (ms->matchdepth <= closes) return -1;
    int open = 0;
    for (int l = 0; l < ms->level; l++) open += ms->capture[l].len == CAP_UNFINISHED;
    if (open < closes) return -1;
  }
  return lit;
}

const char* match_balance(MatchState* ms, const char* s, const char* p) {
  if (p >= ms->p_end - 1) error_f(ms->L, "malformed pattern (missing arguments to '%%b')");
  if (s >= ms->src_end || *s != *p) return nullptr;
  char open = p[0], close = p[1];
  int depth = 1;
  while (++s < ms->src_end) {
    if (*s == close) {
      if (--depth == 0) return s + 1;
    } else if (*s == open) {
      depth++;
    }
  }
  return nullptr;
}

// max_expand's search after the longest repetition [s, end): the rest of
// the pattern tried from end back to s, only where the byte there is the
// literal the rest must start with (lit, or any byte when lit < 0); the
// positions skipped by that test are charged as the steps they save.
template <typename Rest>
const char* back_off(MatchState* ms, const char* s, const char* end, int lit, Rest rest) {
  size_t skipped = 0;
  for (const char* q = end;; q--) {  // try the longest repetition first
    if (lit < 0 || (q < ms->src_end && static_cast<unsigned char>(*q) == lit)) {
      if (const char* res = rest(q)) {
        charge_steps(ms, skipped);
        return res;
      }
    } else {
      skipped++;
    }
    if (q == s) break;
  }
  charge_steps(ms, skipped);
  return nullptr;
}

const char* max_expand(MatchState* ms, const char* s, const char* p, const char* ep) {
  size_t n = count_matches(ms, s, p, ep);
  const char* rest = ep + 1;
  // Nothing follows: the longest repetition is the match (the attempt
  // would succeed at once, unless it must raise "pattern too complex").
  if (rest == ms->p_end && ms->matchdepth > 0) return s + n;
  return back_off(ms, s, s + n, next_literal(ms, rest), [&](const char* q) { return do_match(ms, q, rest); });
}

const char* min_expand(MatchState* ms, const char* s, const char* p, const char* ep) {
  for (;;) {
    if (const char* res = do_match(ms, s, ep + 1)) return res;
    if (!single_match(ms, s, p, ep)) return nullptr;
    s++;
  }
}

const char* start_capture(MatchState* ms, const char* s, const char* p, ptrdiff_t what) {
  if (ms->level >= MAXCAPTURES) error_f(ms->L, "too many captures");
  ms->capture[ms->level].init = s;
  ms->capture[ms->level].len = what;
  ms->level++;
  const char* res = do_match(ms, s, p);
  if (res == nullptr) ms->level--;  // undo the capture
  return res;
}

const char* end_capture(MatchState* ms, const char* s, const char* p) {
  int l = capture_to_close(ms);
  ms->capture[l].len = s - ms->capture[l].init;
  const char* res = do_match(ms, s, p);
  if (res == nullptr) ms->capture[l].len = CAP_UNFINISHED;
  return res;
}

const char* match_capture(MatchState* ms, const char* s, int l) {
  l = check_capture(ms, l);
  ptrdiff_t len = ms->capture[l].len;
  if (len < 0) return nullptr;  // a position capture never matches text
  if (ms->src_end - s >= len && std::memcmp(ms->capture[l].init, s, static_cast<size_t>(len)) == 0)
    return s + len;
  return nullptr;
}

// Matches pattern p against subject s; returns the end of the match or
// nullptr. Simple single-character items loop instead of recursing.
// Inlined into do_match, its only caller.
[[gnu::always_inline]] inline const char* match_impl(MatchState* ms, const char* s, const char* p) {
  while (p != ms->p_end) {
    switch (*p) {
      case '(':
        if (p[1] == ')') return start_capture(ms, s, p + 2, CAP_POSITION);
        return start_capture(ms, s, p + 1, CAP_UNFINISHED);
      case ')':
        return end_capture(ms, s, p + 1);
      case '$':
        if (p + 1 == ms->p_end) return s == ms->src_end ? s : nullptr;
        break;
      case ESC:
        switch (p[1]) {
          case 'b':
            s = match_balance(ms, s, p + 2);
            if (s == nullptr) return nullptr;
            p += 4;
            continue;
          case 'f': {
            p += 2;
            if (*p != '[') error_f(ms->L, "missing '[' after '%%f' in pattern");
            const char* ep = class_end(ms, p);
            int prev = s == ms->src_init ? 0 : static_cast<unsigned char>(s[-1]);
            int cur = s < ms->src_end ? static_cast<unsigned char>(*s) : 0;
            if (!match_bracket_class(prev, p, ep - 1) && match_bracket_class(cur, p, ep - 1)) {
              p = ep;
              continue;
            }
            return nullptr;
          }
          case '0': case '1': case '2': case '3': case '4':
          case '5': case '6': case '7': case '8': case '9':
            s = match_capture(ms, s, static_cast<unsigned char>(p[1]));
            if (s == nullptr) return nullptr;
            p += 2;
            continue;
          default:
            break;
        }
        break;
      default:
        break;
    }
    // a single-character class, maybe followed by a quantifier
    const char* ep = class_end(ms, p);
    if (!single_match(ms, s, p, ep)) {
      if (*ep == '*' || *ep == '?' || *ep == '-') {  // zero repetitions accepted
        p = ep + 1;
        continue;
      }
      return nullptr;
    }
    switch (*ep) {
      case '?':
        if (const char* res = do_match(ms, s + 1, ep + 1)) return res;
        p = ep + 1;
        continue;
      case '+': return max_expand(ms, s + 1, p, ep);
      case '*': return max_expand(ms, s, p, ep);
      case '-': return min_expand(ms, s, p, ep);
      default:
        s++;
        p = ep;
        continue;
    }
  }
  return s;
}

const char* do_match(MatchState* ms, const char* s, const char* p) {
  if (ms->matchdepth-- == 0) error_f(ms->L, "pattern too complex");
  charge_steps(ms, 1);
  const char* res = match_impl(ms, s, p);
  ms->matchdepth++;
  return res;
}

// The single-character item every match of a pattern starts with, when
// there is one: the search loops skip start positions it rejects instead
// of trying a match there, which would fail at once (no error can be
// raised before it). Only for a well-formed class, maybe after a few
// open captures, with no quantifier that lets it be absent; '.' accepts
// every byte and is left out. The plan (FirstPlan, pattern_cache.hpp)
// also holds:
// - `whole`: the item is the whole pattern, alone (One) or followed by '+'
//   (Plus), or with its next items and captures (Fixed: every item matches
//   one byte): the position the search stops at then starts a match whose
//   end (and captures) whole_match knows without running the matcher;
// - `run_fails`: the item has '+' and what follows holds no back
//   reference: a start where the match fails fails at every start in the
//   rest of the item's run too (failed_run_last);
// - the single-character items a match must have at the bytes right after
//   the first item's (captures opened or closed between them aside; no
//   quantifier but a last '+'), as offsets of their bounds from the first
//   item: a start where one of them fails fails in do_match before
//   anything could raise;
// - each item's ASCII members as bits, so that the search tests a byte
//   with one bit test (bytes above 127 follow the locale: asked of the
//   item itself).
enum class Whole : uint8_t { No, One, Plus, Fixed };

// A pattern's plan with the pattern it belongs to; false when the pattern
// has no first item.
struct FirstItem {
  const char* pat = nullptr;  // the pattern (after an anchoring '^')
  const FirstPlan* plan = nullptr;
  explicit operator bool() const { return plan != nullptr; }
  const char* p() const { return pat + plan->p_off; }
  const char* ep() const { return pat + plan->ep_off; }
  Whole whole() const { return plan != nullptr ? static_cast<Whole>(plan->whole) : Whole::No; }
  bool run_fails() const { return plan != nullptr && plan->run_fails != 0; }
};

// The end of a well-formed bracket class at p (at '['), nullptr when it
// is malformed (as class_end reads it).
const char* bracket_end(const char* p, const char* end) {
  const char* q = p + 1;
  if (q < end && *q == '^') q++;
  do {
    if (q == end) return nullptr;
    if (*q++ == ESC && q < end) q++;
  } while (q == end || *q != ']');
  return q + 1;
}

// The end of the single-character item at p when the matcher takes it
// as one without raising an error (no '%b', '%f' or back reference, no
// final '$'); nullptr otherwise.
const char* plain_item_end(const char* p, const char* end) {
  switch (*p) {
    case '(': case ')':
      return nullptr;
    case '$':
      return p + 1 == end ? nullptr : p + 1;
    case ESC:
      if (p + 1 == end || p[1] == 'b' || p[1] == 'f' || std::isdigit(static_cast<unsigned char>(p[1])))
        return nullptr;
      return p + 2;
    case '[':
      return bracket_end(p, end);
    default:
      return p + 1;
  }
}

// The ASCII bytes the single-character item p..ep matches.
AsciiSet item_ascii_set(const char* p, const char* ep) {
  AsciiSet set;
  switch (*p) {
    case '.':
      set.w[0] = set.w[1] = ~uint64_t(0);
      break;
    case '[':
      return bracket_ascii_set(p, ep - 1);
    case ESC: {
      int cl = static_cast<unsigned char>(p[1]);
      uint16_t mask = class_mask(cl);
      if (mask == 0) {
        set.add(cl);
        break;
      }
      AsciiSet m = CLASS_MEMBERS[static_cast<size_t>(std::countr_zero(mask))];
      bool complement = (cl & 0x20) == 0;
      for (int j = 0; j < 2; j++) set.w[j] = complement ? ~m.w[j] : m.w[j];
      break;
    }
    default:
      set.add(static_cast<unsigned char>(*p));
      break;
  }
  return set;
}

// Does byte c, above 127, match the single-character item p..ep?
[[gnu::noinline]] bool item_matches_high(int c, const char* p, const char* ep) {
  switch (*p) {
    case '.': return true;
    case ESC: return match_class(c, static_cast<unsigned char>(p[1]));
    case '[': return match_bracket_class(c, p, ep - 1);
    default: return static_cast<unsigned char>(*p) == c;
  }
}

// Does byte c match the item p..ep whose ASCII members are `set`?
inline bool item_accepts(const uint64_t* set, int c, const char* p, const char* ep) {
  return c < 128 ? ((set[c >> 6] >> (c & 63)) & 1) != 0 : item_matches_high(c, p, ep);
}

// Fills f's next items from q (the first item's end) on; p is the first
// item, after `level` open captures. When they are all the rest of the
// pattern, the pattern is Fixed, with the captures they leave.
void collect_next_items(FirstPlan& f, const char* p, const char* q, const char* end, int level) {
  int unclosed = level;
  for (int l = 0; l < level; l++) {
    f.cap[l][0] = 0;
    f.cap[l][1] = FirstPlan::CAP_OPEN;
  }
  int parens = 0;
  while (q < end && f.nnext < FirstPlan::MAX_NEXT) {
    uint8_t at = static_cast<uint8_t>(1 + f.nnext);  // the offset in the match
    if (*q == '(') {  // start_capture: fine below 8 captures
      if (level == 8) return;
      bool position = q + 1 < end && q[1] == ')';
      unclosed += !position;
      f.cap[level][0] = at;
      f.cap[level][1] = position ? FirstPlan::CAP_AT : FirstPlan::CAP_OPEN;
      level++;
      parens++;  // start_capture's do_match, "()" included
      q += position ? 2 : 1;
      continue;
    }
    if (*q == ')') {  // end_capture: fine with a capture to close
      if (unclosed-- == 0) return;
      int l = level - 1;  // the last unfinished capture, as capture_to_close finds it
      while (f.cap[l][1] != FirstPlan::CAP_OPEN) l--;
      f.cap[l][1] = static_cast<uint8_t>(at - f.cap[l][0]);
      parens++;
      q++;
      continue;
    }
    const char* e = plain_item_end(q, end);
    if (e == nullptr || e - p > 255) return;
    bool plus = e < end && *e == '+';
    if (e < end && !plus && (*e == '*' || *e == '?' || *e == '-')) return;
    f.next[f.nnext][0] = static_cast<uint8_t>(q - p);
    f.next[f.nnext][1] = static_cast<uint8_t>(e - p);
    AsciiSet set = item_ascii_set(q, e);
    f.next_ascii[f.nnext][0] = set.w[0];
    f.next_ascii[f.nnext][1] = set.w[1];
    f.nnext++;
    if (plus) return;
    q = e;
  }
  if (q == end) {
    f.whole = static_cast<uint8_t>(Whole::Fixed);
    f.ncap = static_cast<uint8_t>(level);
    f.fixed_steps = static_cast<uint8_t>(1 + parens);
  }
}

// The plan of the unanchored pattern start..end (has_first 0: none).
FirstPlan plan_of(const char* start, const char* end) {
  FirstPlan f{};
  const char* p = start;
  int opens = 0;
  for (; p < end && *p == '(' && p + 1 < end && p[1] != ')'; opens++) {
    if (opens == 8) return f;
    p++;
  }
  if (p == end || *p == '.') return f;
  const char* ep = plain_item_end(p, end);
  if (ep == nullptr || ep - start > 255) return f;
  if (ep < end && (*ep == '*' || *ep == '?' || *ep == '-')) return f;
  f.has_first = 1;
  f.p_off = static_cast<uint8_t>(p - start);
  f.ep_off = static_cast<uint8_t>(ep - start);
  AsciiSet set = item_ascii_set(p, ep);
  f.ascii[0] = set.w[0];
  f.ascii[1] = set.w[1];
  f.literal = *p != '[' && !(*p == ESC && class_mask(static_cast<unsigned char>(p[1])) != 0);
  if (p == start && ep == end) f.whole = static_cast<uint8_t>(Whole::One);
  if (p == start && ep + 1 == end && *ep == '+') f.whole = static_cast<uint8_t>(Whole::Plus);
  if (ep < end && *ep == '+') {
    f.run_fails = 1;
    for (const char* q = ep + 1; q < end; q++)
      if (*q == ESC && ++q < end && std::isdigit(static_cast<unsigned char>(*q))) f.run_fails = 0;
  }
  if (ep < end && *ep != '+') collect_next_items(f, p, ep, end, opens);
  int fewest = std::popcount(f.ascii[0]) + std::popcount(f.ascii[1]);
  for (int k = 0; k < f.nnext; k++) {
    int members = std::popcount(f.next_ascii[k][0]) + std::popcount(f.next_ascii[k][1]);
    if (members < fewest) {
      fewest = members;
      f.anchor = static_cast<uint8_t>(k + 1);
    }
  }
  if (f.whole == static_cast<uint8_t>(Whole::Fixed)) f.fixed_steps = static_cast<uint8_t>(f.fixed_steps + opens);
  return f;
}

// The unanchored pattern start..end compiled for seq_match, when it is
// at most SeqPlan::MAX_OPS captures and single-character items that the
// matcher takes without raising (no '%b', '%f', back reference, final '$'
// nor a ')' without an open capture); nops 0 otherwise. An unfinished
// capture is kept: the match leaves it unfinished, as do_match does.
SeqPlan seq_of(const char* start, const char* end) {
  SeqPlan seq{};
  uint8_t open[SeqPlan::MAX_OPS];  // the unfinished captures, innermost last
  int nopen = 0, level = 0;
  for (const char* p = start; p < end; seq.nops++) {
    if (seq.nops == SeqPlan::MAX_OPS) return SeqPlan{};
    SeqPlan::Op& op = seq.ops[seq.nops];
    if (*p == '(') {
      bool position = p + 1 < end && p[1] == ')';
      op.kind = position ? SeqPlan::POSITION : SeqPlan::OPEN;
      op.cap = static_cast<uint8_t>(level);
      if (!position) open[nopen++] = op.cap;
      level++;
      p += position ? 2 : 1;
      continue;
    }
    if (*p == ')') {
      if (nopen == 0) return SeqPlan{};
      op.kind = SeqPlan::CLOSE;
      op.cap = open[--nopen];
      p++;
      continue;
    }
    const char* ep = plain_item_end(p, end);
    if (ep == nullptr || ep - start > 255) return SeqPlan{};
    op.kind = SeqPlan::ITEM;
    op.p_off = static_cast<uint8_t>(p - start);
    op.ep_off = static_cast<uint8_t>(ep - start);
    AsciiSet set = item_ascii_set(p, ep);
    op.ascii[0] = set.w[0];
    op.ascii[1] = set.w[1];
    op.lit = -1;
    p = ep;
    if (p < end && (*p == '+' || *p == '*' || *p == '?' || *p == '-')) {
      op.quant = static_cast<uint8_t>(*p++);
      if (op.quant == '+' || op.quant == '*') {  // next_literal of the rest: past its ')'s
        const char* r = p;
        while (r < end && *r == ')') r++;
        op.lit = static_cast<int16_t>(plain_literal(r, end));
      }
    }
  }
  return seq;
}

const char* seq_match(MatchState* ms, const SeqPlan& seq, const char* pat, int k, const char* s);

// max_expand of seq's item k (a '+' or '*') from s.
const char* seq_expand(MatchState* ms, const SeqPlan& seq, const char* pat, int k, const char* s) {
  const SeqPlan::Op& op = seq.ops[k];
  const char* p = pat + op.p_off;
  const char* ep = pat + op.ep_off;
  const char* q = s;
  while (q < ms->src_end && item_accepts(op.ascii, static_cast<unsigned char>(*q), p, ep)) q++;
  if (k + 1 == seq.nops) return q;  // nothing follows: the longest repetition
  return back_off(ms, s, q, op.lit, [&](const char* r) { return seq_match(ms, seq, pat, k + 1, r); });
}

// What do_match(ms, s, p) returns for the pattern pat compiled as seq, p
// at its op k, with the same captures and match steps: a step for each of
// do_match's calls (at a capture's '(' or ')', '?', max_expand's and
// min_expand's tries), and max_expand's skipped positions charged alike.
// A capture is set in the loop, without do_match's call around the rest
// to undo it when the rest fails: every match passes through every op, so
// a later try sets it again, and a failed match leaves captures and level
// to reprep_state. A compiled pattern nests at most MAX_OPS + 1 calls, far
// from MAXCCALLS.
const char* seq_match(MatchState* ms, const SeqPlan& seq, const char* pat, int k, const char* s) {
  charge_steps(ms, 1);
  for (; k < seq.nops; k++) {
    const SeqPlan::Op& op = seq.ops[k];
    if (op.kind != SeqPlan::ITEM) {
      if (op.kind == SeqPlan::CLOSE) {
        ms->capture[op.cap].len = s - ms->capture[op.cap].init;
      } else {
        ms->capture[op.cap].init = s;
        ms->capture[op.cap].len = op.kind == SeqPlan::OPEN ? CAP_UNFINISHED : CAP_POSITION;
        ms->level = op.cap + 1;
      }
      charge_steps(ms, 1);
      continue;
    }
    bool m = s < ms->src_end &&
             item_accepts(op.ascii, static_cast<unsigned char>(*s), pat + op.p_off, pat + op.ep_off);
    switch (op.quant) {
      case 0:
        if (!m) return nullptr;
        s++;
        break;
      case '?':
        if (m) {
          if (const char* res = seq_match(ms, seq, pat, k + 1, s + 1)) return res;
        }
        break;
      case '+':
        return m ? seq_expand(ms, seq, pat, k, s + 1) : nullptr;
      case '*':
        if (m) return seq_expand(ms, seq, pat, k, s);
        break;
      default:  // '-': the shortest repetition first (min_expand)
        if (!m) break;
        for (;;) {
          if (const char* res = seq_match(ms, seq, pat, k + 1, s)) return res;
          if (s >= ms->src_end ||
              !item_accepts(op.ascii, static_cast<unsigned char>(*s), pat + op.p_off, pat + op.ep_off))
            return nullptr;
          s++;
        }
    }
  }
  return s;
}

// Whether pattern p (l bytes) has no special character: find then
// searches for it as plain text.
bool no_specials(const char* p, size_t l) {
  size_t upto = 0;
  do {  // the pattern may contain embedded zeros
    if (std::strpbrk(p + upto, SPECIALS)) return false;
    upto += std::strlen(p + upto) + 1;
  } while (upto <= l);
  return true;
}

// The state's cache entry of the pattern string at stack slot `pat`,
// found by content (a freed and reused string cannot match another
// pattern's entry) and filled on a miss; nullptr for a pattern not kept
// (not a short string, or longer than MAX_LEN).
const PatternCache::Entry* pattern_entry(State* L, const TValue* pat) {
  if (pat == nullptr || !pat->is_short_string()) return nullptr;
  const String* ps = pat->as_string();
  size_t len = ps->len;
  if (len == 0 || len > PatternCache::MAX_LEN) return nullptr;
  const char* p = ps->data;
  // Two places a pattern may be in, from two parts of its hash: with one,
  // two of six patterns share it in two runs of three (the hash seed
  // changes every run), and a loop calling both planned each again and
  // again.
  PatternCache::Entry* entries = L->g->patterns.entries;
  uint32_t h = ps->hash;
  PatternCache::Entry* e = &entries[PatternCache::place(h, 0)];
  if (e->len == len && bytes::equal(e->bytes, p, len)) return e;
  PatternCache::Entry* other = &entries[PatternCache::place(h, 1)];
  if (other->len == len && bytes::equal(other->bytes, p, len)) return other;
  // A miss takes a free place, else the first: what was there moves to its
  // own other place (replacing what is there) unless that is this one.
  if (e->len != 0 && other->len == 0) {
    e = other;
  } else if (e->len != 0) {
    size_t from = static_cast<size_t>(e - entries);
    size_t to = PatternCache::place(e->hash, 0) == from ? PatternCache::place(e->hash, 1) : PatternCache::place(e->hash, 0);
    if (to != from) entries[to] = *e;
  }
  e->hash = h;
  // An anchored pattern's search never skips (gmatch's, where '^' is a
  // plain character, just does not skip either).
  e->plan = *p == '^' ? FirstPlan{} : plan_of(p, p + len);
  e->seq = *p == '^' ? SeqPlan{} : seq_of(p, p + len);
  e->len = static_cast<uint8_t>(len);
  std::memcpy(e->bytes, p, len);
  e->plain = no_specials(p, len);
  return e;
}

// The first item of the unanchored pattern p..end, from its cache entry
// when it has one, else planned into `local`. A search that runs Lua code
// (gsub's replacement function or __index), which may take the entry for
// another pattern, has the entry's plan copied into `local` (`copy`).
FirstItem pattern_first_item(const PatternCache::Entry* e, const char* p, const char* end, FirstPlan& local,
                             bool copy = false) {
  const FirstPlan* plan = &local;
  if (e == nullptr)
    local = plan_of(p, end);
  else if (copy)
    local = e->plan;
  else
    plan = &e->plan;
  return plan->has_first ? FirstItem{p, plan} : FirstItem{};
}

// The first position from s on where a match can start: where the first
// item and the items after it match, or the end of the subject. Every
// position passed over is charged as a step. The items after the first are
// tested last first: inside a run the first item accepts ("(%a)(%a)%s" in
// a word), the last one is the one that rejects.
// skip_to_start for a plan whose item with the fewest members is one of
// the next items (f.anchor): the search scans for the bytes that item
// accepts and tests the others around each one, instead of testing the
// items at every start the first item accepts ("(%a)(%a)%s" tests each
// letter of a word twice, and the space once). It stops at the same start.
[[gnu::noinline]] const char* skip_to_anchor(MatchState* ms, const FirstItem& first, const char* s) {
  const FirstPlan& f = *first.plan;
  const char* p = first.p();
  const char* ep = first.ep();
  const char* end = ms->src_end;
  int a = f.anchor;  // the anchor item's offset from a start
  const uint64_t* set = f.next_ascii[a - 1];
  const char* ap = p + f.next[a - 1][0];
  const char* aep = p + f.next[a - 1][1];
  const char* q = end;
  if (end - s > f.nnext) {  // a start's last item must be before the end
    const char* limit = end - f.nnext + a;
    for (const char* r = s + a; r < limit; r++) {
      if (!item_accepts(set, static_cast<unsigned char>(*r), ap, aep)) continue;
      const char* c = r - a;
      if (!item_accepts(f.ascii, static_cast<unsigned char>(*c), p, ep)) continue;
      int k = f.nnext - 1;
      while (k >= 0 && (k + 1 == a || item_accepts(f.next_ascii[k], static_cast<unsigned char>(c[1 + k]),
                                                   p + f.next[k][0], p + f.next[k][1])))
        k--;
      if (k < 0) {
        q = c;
        break;
      }
    }
  }
  charge_steps(ms, static_cast<size_t>(q - s));
  return q;
}

[[gnu::noinline]] const char* skip_to_next_items(MatchState* ms, const FirstItem& first, const char* s) {
  const FirstPlan& f = *first.plan;
  if (f.anchor != 0) return skip_to_anchor(ms, first, s);
  const char* p = first.p();
  const char* ep = first.ep();
  const char* end = ms->src_end;
  const char* q = s;
  for (;; q++) {
    if (f.literal) {
      q = static_cast<const char*>(std::memchr(q, static_cast<unsigned char>(ep[-1]), static_cast<size_t>(end - q)));
      if (q == nullptr) {
        q = end;
        break;
      }
    } else {
      while (q < end && !item_accepts(f.ascii, static_cast<unsigned char>(*q), p, ep)) q++;
      if (q == end) break;
    }
    int k = f.nnext - 1;
    if (q + 1 + k >= end) {  // past the end (and so every start after q)
      q = end;
      break;
    }
    while (k >= 0 &&
           item_accepts(f.next_ascii[k], static_cast<unsigned char>(q[1 + k]), p + f.next[k][0], p + f.next[k][1]))
      k--;
    if (k < 0) break;
  }
  charge_steps(ms, static_cast<size_t>(q - s));
  return q;
}

// skip_to_next_items's loop for a class item with no next items
// (gmatch's `%a+`, gsub's `(%a+)a%s` and `%d`), inline in the callers:
// most searches stop within a byte or two, and the out-of-line search's
// entry, exit and tests cost more than that.
inline const char* skip_to_start(MatchState* ms, const FirstItem& first, const char* s) {
  const FirstPlan& f = *first.plan;
  if (f.nnext != 0 || f.literal) return skip_to_next_items(ms, first, s);
  const char* q = s;
  while (q < ms->src_end && !item_accepts(f.ascii, static_cast<unsigned char>(*q), first.p(), first.ep())) q++;
  charge_steps(ms, static_cast<size_t>(q - s));
  return q;
}

// The end of the run of bytes from s on that the first item accepts.
inline const char* first_run_end(const MatchState* ms, const FirstItem& first, const char* s) {
  const char* p = first.p();
  const char* ep = first.ep();
  while (s < ms->src_end && item_accepts(first.plan->ascii, static_cast<unsigned char>(*s), p, ep)) s++;
  return s;
}

// The end of the match at s, where skip_to_start stopped, of a pattern
// that is its first item (first.whole()): one byte, or the run of bytes the
// item accepts, or a Fixed pattern's bytes (skip_to_start matched them all),
// with its captures. It is what do_match returns there, charged as the
// steps it takes (one, or one a parenthesis; max_expand returns the whole
// run at once when nothing follows '+').
inline const char* whole_match(MatchState* ms, const FirstItem& first, const char* s) {
  const FirstPlan& f = *first.plan;
  switch (static_cast<Whole>(f.whole)) {
    case Whole::One:
      charge_steps(ms, 1);
      return s + 1;
    case Whole::Plus:
      charge_steps(ms, 1);
      return first_run_end(ms, first, s + 1);
    default:
      charge_steps(ms, f.fixed_steps);
      ms->level = f.ncap;
      for (int l = 0; l < f.ncap; l++) {
        ms->capture[l].init = s + f.cap[l][0];
        uint8_t n = f.cap[l][1];
        ms->capture[l].len = n == FirstPlan::CAP_OPEN ? CAP_UNFINISHED : n == FirstPlan::CAP_AT ? CAP_POSITION : n;
      }
      return s + 1 + f.nnext;
  }
}

// After do_match failed at s, a start where a first item with '+' matched
// (first.run_fails()): the last start in the item's run from s. A start
// inside the run tries the rest of the pattern at a subset of the
// positions the start at s tried it at (the run's end down to the start's
// next byte), where it failed, and without a back reference nothing the
// rest does depends on where the match started; so those starts fail too,
// and are charged as positions passed over.
inline const char* failed_run_last(MatchState* ms, const FirstItem& first, const char* s) {
  const char* last = first_run_end(ms, first, s + 1) - 1;
  charge_steps(ms, static_cast<size_t>(last - s));
  return last;
}

void prep_state(MatchState* ms, State* L, const char* s, size_t ls, const char* p, size_t lp) {
  ms->L = L;
  ms->matchdepth = MAXCCALLS;
  ms->steps = 0;
  ms->src_init = s;
  ms->src_end = s + ls;
  ms->p_end = p + lp;
  ms->level = 0;
}

void reprep_state(MatchState* ms) {
  ms->level = 0;
  ms->matchdepth = MAXCCALLS;
}

// The text of capture i (or of the whole match when there are no
// captures) in *start and *len; false for a position capture, which has no
// text. Raises the errors of a bad index or an unfinished capture.
bool capture_text(MatchState* ms, int i, const char* s, const char* e, const char** start, size_t* len) {
  if (i >= ms->level) {
    if (i != 0) error_f(ms->L, "invalid capture index %%%d", i + 1);
    *start = s;
    *len = static_cast<size_t>(e - s);
    return true;
  }
  ptrdiff_t l = ms->capture[i].len;
  if (l == CAP_UNFINISHED) error_f(ms->L, "unfinished capture");
  if (l == CAP_POSITION) return false;
  *start = ms->capture[i].init;
  *len = static_cast<size_t>(l);
  return true;
}

// Pushes capture i (or the whole match when there are no captures). The
// callers made room (push_captures, add_value's one slot of the frame's
// MINSTACK); the string is stored as push_lstring would, without its call,
// and the collector's check is called only when a step is due (gmatch's
// captures: ~30 instructions each).
void push_onecapture(MatchState* ms, int i, const char* s, const char* e) {
  const char* start;
  size_t len;
  State* L = ms->L;
  if (capture_text(ms, i, s, e, &start, &len)) {
    *L->top++ = str_value(str_new(L, start, len));
    if (L->g->gcdebt > 0) gc_check(L);
  } else {
    *L->top++ = TValue::integer(static_cast<Integer>(ms->capture[i].init - ms->src_init) + 1);
  }
}

// str_new of a capture: a one-byte string (gmatch's `(%a)`) that exists is
// taken from the state's table without str_new's call.
inline String* capture_string(State* L, const char* s, size_t len) {
  if (len == 1) {
    if (String* one = L->g->onebyte[static_cast<unsigned char>(*s)]) return one;
  }
  return str_new(L, s, len);
}

// Pushes the captures (the whole match when there are none, unless s is
// null) and returns how many. Each is stored in the loop, without
// push_onecapture's call and its capture_text, and the collector's check
// is called once after them (they are on the stack by then) when a step
// is due: gmatch's captures, ~25 instructions less each. Inline in its
// callers: gmatch's iterator pushes every match, and the call's entry and
// exit were ~20 instructions.
[[gnu::always_inline]] inline int push_captures(MatchState* ms, const char* s, const char* e) {
  int n = (ms->level == 0 && s != nullptr) ? 1 : ms->level;
  // check_stack's own test inline: room on the stack and in the frame.
  State* L = ms->L;
  if (n > 0 && (L->stack_last - L->top <= n || L->ci->top < L->top + n))
    check_stack_or_error(L, n, "too many captures");
  if (ms->level == 0) {
    if (n == 1) *L->top++ = str_value(capture_string(L, s, static_cast<size_t>(e - s)));
  } else {
    for (int i = 0; i < n; i++) {
      ptrdiff_t len = ms->capture[i].len;
      if (len >= 0)
        *L->top++ = str_value(capture_string(L, ms->capture[i].init, static_cast<size_t>(len)));
      else if (len == CAP_POSITION)
        *L->top++ = TValue::integer(static_cast<Integer>(ms->capture[i].init - ms->src_init) + 1);
      else
        error_f(L, "unfinished capture");
    }
  }
  if (L->g->gcdebt > 0) gc_check(L);
  return n;
}


const char* mem_find(const char* s, size_t ls, const char* p, size_t lp) {
  if (lp == 0) return s;
  if (lp > ls) return nullptr;
  const char* last = s + (ls - lp);
  for (const char* q = s; q <= last; q++) {
    q = static_cast<const char*>(std::memchr(q, *p, static_cast<size_t>(last - q) + 1));
    if (q == nullptr) return nullptr;
    if (std::memcmp(q + 1, p + 1, lp - 1) == 0) return q;
  }
  return nullptr;
}

// find's two positions, stored straight: a native function's frame has
// MINSTACK free slots (precall_native).
inline void push_bounds(State* L, Integer start, Integer end) {
  L->top[0] = TValue::integer(start);
  L->top[1] = TValue::integer(end);
  L->top += 2;
}

int find_aux(State* L, bool find) {
  size_t ls, lp;
  const char* s = string_arg(L, 1, &ls);
  const char* p = string_arg(L, 2, &lp);
  size_t init = str_pos_start(opt_integer_arg(L, 3, 1), ls) - 1;
  if (init > ls) {
    push_fail(L);
    return 1;
  }
  const TValue* plain = frame_arg(L, 4);
  bool as_text = find && plain != nullptr && plain->truthy();
  const PatternCache::Entry* pe = as_text ? nullptr : pattern_entry(L, frame_arg(L, 2));
  if (as_text || (find && (pe != nullptr ? pe->plain != 0 : no_specials(p, lp)))) {
    // A plain search may compare the pattern at every position.
    uint64_t scan = (ls - init) / BUDGET_BYTES_PER_UNIT, per = 1 + lp / BUDGET_BYTES_PER_UNIT;
    charge_instruction_budget(L, scan > UINT64_MAX / per ? UINT64_MAX : scan * per);
    if (const char* s2 = mem_find(s + init, ls - init, p, lp)) {
      push_bounds(L, static_cast<Integer>(s2 - s) + 1, static_cast<Integer>(s2 - s + lp));
      return 2;
    }
  } else if (pe != nullptr && pe->plan.whole == static_cast<uint8_t>(Whole::One)) {
    // One item (never anchored: '^' has no plan): the first byte from init
    // on that it accepts is the match, charged as skip_to_start and
    // whole_match charge it, one step a byte passed over and one the match.
    const FirstPlan& f = pe->plan;
    const char* ip = p + f.p_off;
    const char* iep = p + f.ep_off;
    const char* q = s + init;
    const char* end = s + ls;
    if (f.literal) {
      q = static_cast<const char*>(std::memchr(q, static_cast<unsigned char>(iep[-1]), static_cast<size_t>(end - q)));
      if (q == nullptr) q = end;
    } else {
      while (q < end && !item_accepts(f.ascii, static_cast<unsigned char>(*q), ip, iep)) q++;
    }
    size_t steps = static_cast<size_t>(q - (s + init)) + (q < end);
    if (steps >= MATCH_STEP_BATCH) charge_instruction_budget(L, steps / MATCH_STEP_BATCH * MATCH_STEP_BATCH);
    if (q < end) {
      if (find) {
        Integer at = static_cast<Integer>(q - s) + 1;
        push_bounds(L, at, at);
        return 2;
      }
      push_lstring(L, q, 1);
      return 1;
    }
  } else {
    MatchState ms;
    const char* s1 = s + init;
    bool anchor = (*p == '^');
    if (anchor) {
      p++;
      lp--;
    }
    prep_state(&ms, L, s, ls, p, lp);
    FirstPlan local;
    FirstItem first = anchor ? FirstItem{} : pattern_first_item(pe, p, ms.p_end, local);
    // No Lua code runs before the result is made, so the entry's compiled
    // pattern is used in place (an anchored pattern has none).
    const SeqPlan* seq = pe != nullptr && pe->seq.nops != 0 ? &pe->seq : nullptr;
    do {
      if (first && (s1 = skip_to_start(&ms, first, s1)) == ms.src_end) break;
      reprep_state(&ms);
      const char* e = first.whole() != Whole::No ? whole_match(&ms, first, s1)
                      : seq != nullptr           ? seq_match(&ms, *seq, p, 0, s1)
                                                 : do_match(&ms, s1, p);
      if (e != nullptr) {
        if (find) {
          push_bounds(L, static_cast<Integer>(s1 - s) + 1, static_cast<Integer>(e - s));
          return ms.level == 0 ? 2 : push_captures(&ms, nullptr, nullptr) + 2;
        }
        return push_captures(&ms, s1, e);
      }
      if (first.run_fails()) s1 = failed_run_last(&ms, first, s1);
    } while (s1++ < ms.src_end && !anchor);
  }
  push_fail(L);
  return 1;
}

int str_find(State* L) { return find_aux(L, true); }
int str_match(State* L) { return find_aux(L, false); }

// Iteration state of gmatch; the subject and pattern strings are upvalues
// of the iterator, so the pointers stay valid. Each call matches with a
// MatchState of its own (its 32 captures are most of its 560 bytes, and
// are reset by every match anyway): a small state keeps the userdata in
// the small-block pools and gives the collector less to do.
struct GMatchState {
  const char* src;
  const char* p;
  const char* lastmatch;
  const char* src_init;
  const char* src_end;
  const char* p_end;
  size_t steps;  // match steps not yet charged, carried from call to call
  FirstPlan plan;  // a copy: the cache entry may be taken by another pattern
};

int gmatch_aux(State* L) {
  // The state is the closure's third upvalue (str_gmatch made it).
  auto* gm = static_cast<GMatchState*>(L->ci->func->as_nclosure()->upvalue[2].as_udata()->data());
  MatchState ms;
  ms.L = L;
  ms.src_init = gm->src_init;
  ms.src_end = gm->src_end;
  ms.p_end = gm->p_end;
  ms.steps = gm->steps;
  FirstItem first = gm->plan.has_first ? FirstItem{gm->p, &gm->plan} : FirstItem{};
  for (const char* src = gm->src; src <= ms.src_end; src++) {
    if (first && (src = skip_to_start(&ms, first, src)) == ms.src_end) break;
    reprep_state(&ms);
    const char* e = first.whole() != Whole::No ? whole_match(&ms, first, src) : do_match(&ms, src, gm->p);
    if (e != nullptr && e != gm->lastmatch) {  // skip an empty match right after the last one
      gm->src = gm->lastmatch = e;
      gm->steps = ms.steps;
      return push_captures(&ms, src, e);
    }
    if (e == nullptr && first.run_fails()) src = failed_run_last(&ms, first, src);
  }
  gm->steps = ms.steps;
  return 0;
}

}  // namespace

GMatchPos gmatch_pos(const NClosure* it) {
  const auto* gm = static_cast<const GMatchState*>(it->upvalue[2].as_udata()->data());
  return GMatchPos{gm->src, gm->lastmatch};
}

void gmatch_set_pos(NClosure* it, GMatchPos pos) {
  auto* gm = static_cast<GMatchState*>(it->upvalue[2].as_udata()->data());
  gm->src = pos.src;
  gm->lastmatch = pos.lastmatch;
}

namespace {

int str_gmatch(State* L) {
  size_t ls, lp;
  const char* s = string_arg(L, 1, &ls);
  const char* p = string_arg(L, 2, &lp);
  size_t init = str_pos_start(opt_integer_arg(L, 3, 1), ls) - 1;
  if (init > ls) init = ls + 1;  // start past the end: no matches
  set_top(L, 2);
  MatchState ms;
  prep_state(&ms, L, s, ls, p, lp);
  FirstPlan local;
  FirstItem first = pattern_first_item(pattern_entry(L, frame_arg(L, 2)), p, ms.p_end, local);
  auto* gm = static_cast<GMatchState*>(new_userdata(L, sizeof(GMatchState), 0));
  gm->src = s + init;
  gm->p = p;
  gm->lastmatch = nullptr;
  gm->src_init = s;
  gm->src_end = ms.src_end;
  gm->p_end = ms.p_end;
  gm->steps = 0;
  gm->plan = first ? *first.plan : FirstPlan{};
  push_native_closure(L, gmatch_aux, 3);
  return 1;
}

// Buffer::add for gsub's pieces, most of a few bytes (the text between
// matches, a capture, the replacement's literal parts): nothing for an
// empty piece, and a short one copied inline instead of by add's call and
// its memcpy's.
inline void add_piece(Buffer& b, const char* s, size_t l) {
  if (l == 0) return;
  char* d = b.prepare(l);
  if (l <= 16) {
    bytes::copy(d, s, l);
  } else {
    std::memcpy(d, s, l);
  }
  b.add_size(l);
}

// Adds the replacement string at stack index 3, expanding %0-%9 and %%.
void add_s(MatchState* ms, Buffer& b, const char* s, const char* e) {
  State* L = ms->L;
  size_t l;
  const char* news = string_arg(L, 3, &l);
  const char* end = news + l;
  const char* p;
  while ((p = static_cast<const char*>(std::memchr(news, ESC, static_cast<size_t>(end - news)))) != nullptr) {
    add_piece(b, news, static_cast<size_t>(p - news));
    p++;  // skip the escape
    if (*p == ESC) {
      b.add_char(*p);
    } else if (*p == '0') {
      add_piece(b, s, static_cast<size_t>(e - s));
    } else if (std::isdigit(static_cast<unsigned char>(*p))) {
      // A text capture's bytes go straight into the buffer, without
      // making a string of them first.
      const char* start;
      size_t len;
      if (capture_text(ms, *p - '1', s, e, &start, &len)) {
        add_piece(b, start, len);
      } else {
        push_onecapture(ms, *p - '1', s, e);
        to_lstring_meta(L, -1, nullptr);  // a position capture becomes text
        remove(L, -2);
        b.add_value();
      }
    } else {
      error_f(L, "invalid use of '%c' in replacement string", ESC);
    }
    news = p + 1;
  }
  add_piece(b, news, static_cast<size_t>(end - news));
}

// Adds the replacement for match s..e; returns false when the match is
// kept as is (a table or function gave nil or false).
bool add_value(MatchState* ms, Buffer& b, const char* s, const char* e, int tr) {
  State* L = ms->L;
  switch (tr) {
    case TFUNCTION: {
      push_value(L, 3);
      int n = push_captures(ms, s, e);
      call(L, n, 1);
      break;
    }
    case TTABLE:
      push_onecapture(ms, 0, s, e);
      get_table(L, 3);
      break;
    default:
      add_s(ms, b, s, e);
      return true;
  }
  if (!to_boolean(L, -1)) {  // nil or false keeps the original text
    pop(L, 1);
    add_piece(b, s, static_cast<size_t>(e - s));
    return false;
  }
  if (!is_string(L, -1)) error_f(L, "invalid replacement value (a %s)", typename_at(L, -1));
  b.add_value();
  return true;
}

int str_gsub(State* L) {
  size_t srcl, lp;
  const char* src = string_arg(L, 1, &srcl);
  const char* p = string_arg(L, 2, &lp);
  const char* lastmatch = nullptr;
  int tr = type(L, 3);
  Integer max_s = opt_integer_arg(L, 4, static_cast<Integer>(srcl) + 1);
  arg_expected(L, tr == TNUMBER || tr == TSTRING || tr == TFUNCTION || tr == TTABLE, 3,
               "string/function/table");
  bool anchor = (*p == '^');
  if (anchor) {
    p++;
    lp--;
  }
  MatchState ms;
  prep_state(&ms, L, src, srcl, p, lp);
  FirstPlan local;
  bool runs_lua = tr == TFUNCTION || tr == TTABLE;
  const PatternCache::Entry* entry = anchor ? nullptr : pattern_entry(L, frame_arg(L, 2));
  FirstItem first = anchor ? FirstItem{} : pattern_first_item(entry, p, ms.p_end, local, runs_lua);
  // The compiled pattern is used in place, so not when Lua code may take
  // its entry for another pattern.
  const SeqPlan* seq = entry != nullptr && !runs_lua && entry->seq.nops != 0 ? &entry->seq : nullptr;
  if (first && max_s > 0 && (src = skip_to_start(&ms, first, src)) == ms.src_end) {
    push_value(L, 1);  // no match can start anywhere: the subject as it is
    push_integer(L, 0);
    return 2;
  }
  const char* subject = ms.src_init;
  Buffer b(L);
  add_piece(b, subject, static_cast<size_t>(src - subject));  // what the first skip passed over
  Integer n = 0;
  bool changed = false;
  while (n < max_s) {
    if (first) {  // copy the bytes no match can start at
      const char* next = skip_to_start(&ms, first, src);
      add_piece(b, src, static_cast<size_t>(next - src));
      src = next;
      if (src == ms.src_end) break;
    }
    reprep_state(&ms);
    const char* e = first.whole() != Whole::No ? whole_match(&ms, first, src)
                    : seq != nullptr           ? seq_match(&ms, *seq, p, 0, src)
                                               : do_match(&ms, src, p);
    if (e != nullptr && e != lastmatch) {
      n++;
      changed = add_value(&ms, b, src, e, tr) || changed;
      src = lastmatch = e;
    } else if (e == nullptr && first.run_fails()) {  // src < ms.src_end: the first item matched there
      const char* next = failed_run_last(&ms, first, src) + 1;
      add_piece(b, src, static_cast<size_t>(next - src));
      src = next;
    } else if (src < ms.src_end) {
      b.add_char(*src++);
    } else {
      break;
    }
    if (anchor) break;
  }
  if (changed) {
    add_piece(b, src, static_cast<size_t>(ms.src_end - src));
    b.push_result();
  } else {
    push_value(L, 1);  // nothing replaced: reuse the subject string
  }
  push_integer(L, n);
  return 2;
}

// ------------------------------------------------------- pack / unpack

constexpr int MAXINTSIZE = 16;
constexpr int NB = CHAR_BIT;
constexpr int SZINT = static_cast<int>(sizeof(Integer));
constexpr unsigned char PACKPADBYTE = 0;
constexpr int NATIVE_MAXALIGN = static_cast<int>(alignof(std::max_align_t)) < 8 ? static_cast<int>(alignof(std::max_align_t)) : 8;

bool native_little() {
  const int one = 1;
  return *reinterpret_cast<const char*>(&one) == 1;
}

enum class KOption { Int, Uint, Float, Number, Double, Char, String, Zstr, Padding, Paddalign, Nop };

struct PackHeader {
  State* L;
  bool islittle;
  int maxalign;
  size_t maxsize;  // largest size an option or a result may have

  explicit PackHeader(State* st)
      : L(st), islittle(native_little()), maxalign(1),
        // 5.5 measures sizes in size_t up to the largest integer; 5.4 keeps them within an int
        maxsize(dialect_of(get_version(st)).lib_55
                    ? std::min<size_t>(~size_t(0), static_cast<size_t>(std::numeric_limits<Integer>::max()))
                    : MAXSIZE) {}
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

size_t get_num(const char** fmt, size_t df, size_t maxsize) {
  if (!is_digit(**fmt)) return df;
  size_t a = 0;
  do {  // stop before the value could overflow the size limit
    a = a * 10 + static_cast<size_t>(*((*fmt)++) - '0');
  } while (is_digit(**fmt) && a <= (maxsize - 9) / 10);
  return a;
}

int get_num_limit(PackHeader* h, const char** fmt, int df) {
  size_t sz = get_num(fmt, static_cast<size_t>(df), h->maxsize);
  if (sz > MAXINTSIZE || sz == 0)
    error_f(h->L, "integral size (%d) out of limits [1,%d]", static_cast<int>(sz), MAXINTSIZE);
  return static_cast<int>(sz);
}

constexpr size_t NO_SIZE = ~size_t(0);

KOption get_option(PackHeader* h, const char** fmt, size_t* size) {
  int opt = *((*fmt)++);
  *size = 0;
  switch (opt) {
    case 'b': *size = 1; return KOption::Int;
    case 'B': *size = 1; return KOption::Uint;
    case 'h': *size = sizeof(short); return KOption::Int;
    case 'H': *size = sizeof(short); return KOption::Uint;
    case 'l': *size = sizeof(long); return KOption::Int;
    case 'L': *size = sizeof(long); return KOption::Uint;
    case 'j': *size = sizeof(Integer); return KOption::Int;
    case 'J': *size = sizeof(Integer); return KOption::Uint;
    case 'T': *size = sizeof(size_t); return KOption::Uint;
    case 'f': *size = sizeof(float); return KOption::Float;
    case 'n': *size = sizeof(Number); return KOption::Number;
    case 'd': *size = sizeof(double); return KOption::Double;
    case 'i': *size = get_num_limit(h, fmt, sizeof(int)); return KOption::Int;
    case 'I': *size = get_num_limit(h, fmt, sizeof(int)); return KOption::Uint;
    case 's': *size = get_num_limit(h, fmt, sizeof(size_t)); return KOption::String;
    case 'c':
      *size = get_num(fmt, NO_SIZE, h->maxsize);
      if (*size == NO_SIZE) error_f(h->L, "missing size for format option 'c'");
      return KOption::Char;
    case 'z': return KOption::Zstr;
    case 'x': *size = 1; return KOption::Padding;
    case 'X': return KOption::Paddalign;
    case ' ': break;
    case '<': h->islittle = true; break;
    case '>': h->islittle = false; break;
    case '=': h->islittle = native_little(); break;
    case '!': h->maxalign = get_num_limit(h, fmt, NATIVE_MAXALIGN); break;
    default: error_f(h->L, "invalid format option '%c'", opt);
  }
  return KOption::Nop;
}

// Reads the next option, its size, and the padding needed before it.
KOption get_details(PackHeader* h, size_t totalsize, const char** fmt, size_t* size, int* ntoalign) {
  KOption opt = get_option(h, fmt, size);
  size_t align = *size;
  if (opt == KOption::Paddalign) {  // aligns like the following option
    if (**fmt == '\0' || get_option(h, fmt, &align) == KOption::Char || align == 0)
      arg_error(h->L, 1, "invalid next option for option 'X'");
  }
  if (align <= 1 || opt == KOption::Char) {
    *ntoalign = 0;
  } else {
    if (align > static_cast<size_t>(h->maxalign)) align = static_cast<size_t>(h->maxalign);
    if ((align & (align - 1)) != 0) arg_error(h->L, 1, "format asks for alignment not power of 2");
    *ntoalign = static_cast<int>((align - (totalsize & (align - 1))) & (align - 1));
  }
  return opt;
}

void pack_int(Buffer& b, Unsigned n, bool islittle, int size, bool neg) {
  char* buff = b.prepare(static_cast<size_t>(size));
  for (int i = 0; i < size; i++) {
    unsigned char byte;
    if (i < SZINT) {
      byte = static_cast<unsigned char>(n & 0xFF);
      n >>= NB;
    } else {
      byte = neg ? 0xFF : 0;  // sign-extend beyond the native integer size
    }
    buff[islittle ? i : size - 1 - i] = static_cast<char>(byte);
  }
  b.add_size(static_cast<size_t>(size));
}

// Copies `size` bytes, reversing them when the requested endianness differs
// from the machine's.
void copy_with_endian(char* dest, const char* src, int size, bool islittle) {
  if (islittle == native_little()) {
    std::memcpy(dest, src, static_cast<size_t>(size));
  } else {
    for (int i = 0; i < size; i++) dest[i] = src[size - 1 - i];
  }
}

Integer unpack_int(State* L, const char* str, bool islittle, int size, bool issigned) {
  Unsigned res = 0;
  int limit = size <= SZINT ? size : SZINT;
  for (int i = limit - 1; i >= 0; i--) {
    res <<= NB;
    res |= static_cast<unsigned char>(str[islittle ? i : size - 1 - i]);
  }
  if (size < SZINT) {
    if (issigned) {  // sign-extend
      Unsigned mask = Unsigned(1) << (size * NB - 1);
      res = (res ^ mask) - mask;
    }
  } else if (size > SZINT) {  // extra bytes must be a pure sign extension
    unsigned char mask = (!issigned || static_cast<Integer>(res) >= 0) ? 0 : 0xFF;
    for (int i = limit; i < size; i++) {
      if (static_cast<unsigned char>(str[islittle ? i : size - 1 - i]) != mask)
        error_f(L, "%d-byte integer does not fit into Lua Integer", size);
    }
  }
  return static_cast<Integer>(res);
}

int str_pack(State* L) {
  PackHeader h(L);
  const char* fmt = check_string(L, 1);
  push_nil(L);  // separates the arguments from the buffer
  Buffer b(L);
  int arg = 1;
  size_t totalsize = 0;
  while (*fmt != '\0') {
    size_t size;
    int ntoalign;
    KOption opt = get_details(&h, totalsize, &fmt, &size, &ntoalign);
    arg_check(L, size + static_cast<size_t>(ntoalign) <= h.maxsize - totalsize, 1, "format result too long");
    totalsize += size + static_cast<size_t>(ntoalign);
    while (ntoalign-- > 0) b.add_char(static_cast<char>(PACKPADBYTE));
    arg++;
    switch (opt) {
      case KOption::Int: {
        Integer n = check_integer(L, arg);
        const int isize = static_cast<int>(size);  // at most MAXINTSIZE
        if (isize < SZINT) {
          Integer lim = Integer(1) << (isize * NB - 1);
          arg_check(L, -lim <= n && n < lim, arg, "integer overflow");
        }
        pack_int(b, static_cast<Unsigned>(n), h.islittle, isize, n < 0);
        break;
      }
      case KOption::Uint: {
        Integer n = check_integer(L, arg);
        const int isize = static_cast<int>(size);  // at most MAXINTSIZE
        if (isize < SZINT)
          arg_check(L, static_cast<Unsigned>(n) < (Unsigned(1) << (isize * NB)), arg, "unsigned overflow");
        pack_int(b, static_cast<Unsigned>(n), h.islittle, isize, false);
        break;
      }
      case KOption::Float: {
        float f = static_cast<float>(check_number(L, arg));
        copy_with_endian(b.prepare(sizeof f), reinterpret_cast<const char*>(&f), sizeof f, h.islittle);
        b.add_size(sizeof f);
        break;
      }
      case KOption::Number:
      case KOption::Double: {
        double d = check_number(L, arg);
        copy_with_endian(b.prepare(sizeof d), reinterpret_cast<const char*>(&d), sizeof d, h.islittle);
        b.add_size(sizeof d);
        break;
      }
      case KOption::Char: {
        size_t len;
        const char* s = check_lstring(L, arg, &len);
        arg_check(L, len <= size, arg, "string longer than given size");
        b.add(s, len);
        for (size_t i = len; i < size; i++) b.add_char(static_cast<char>(PACKPADBYTE));
        break;
      }
      case KOption::String: {
        size_t len;
        const char* s = check_lstring(L, arg, &len);
        arg_check(L, size >= sizeof(size_t) || len < (size_t(1) << (size * NB)), arg,
                  "string length does not fit in given size");
        pack_int(b, len, h.islittle, static_cast<int>(size), false);
        b.add(s, len);
        totalsize += len;
        break;
      }
      case KOption::Zstr: {
        size_t len;
        const char* s = check_lstring(L, arg, &len);
        arg_check(L, std::strlen(s) == len, arg, "string contains zeros");
        b.add(s, len);
        b.add_char('\0');
        totalsize += len + 1;
        break;
      }
      case KOption::Padding:
        b.add_char(static_cast<char>(PACKPADBYTE));
        arg--;  // consumes no argument
        break;
      case KOption::Paddalign:
      case KOption::Nop:
        arg--;  // consumes no argument
        break;
    }
  }
  b.push_result();
  return 1;
}

int str_packsize(State* L) {
  PackHeader h(L);
  const char* fmt = check_string(L, 1);
  size_t totalsize = 0;
  while (*fmt != '\0') {
    size_t size;
    int ntoalign;
    KOption opt = get_details(&h, totalsize, &fmt, &size, &ntoalign);
    arg_check(L, opt != KOption::String && opt != KOption::Zstr, 1, "variable-length format");
    size_t itemsize = size + static_cast<size_t>(ntoalign);
    arg_check(L, totalsize <= h.maxsize - itemsize, 1, "format result too large");
    totalsize += itemsize;
  }
  push_integer(L, static_cast<Integer>(totalsize));
  return 1;
}

int str_unpack(State* L) {
  PackHeader h(L);
  const char* fmt = check_string(L, 1);
  size_t ld;
  const char* data = check_lstring(L, 2, &ld);
  Integer ipos = opt_integer(L, 3, 1);
  // 5.3 has no position 0 and does not clip a position before the start.
  bool before_start = dialect_of(get_version(L)).lib_53 && (ipos == 0 || ipos < -static_cast<Integer>(ld));
  size_t pos = str_pos_start(ipos, ld) - 1;
  int n = 0;
  arg_check(L, !before_start && pos <= ld, 3, "initial position out of string");
  while (*fmt != '\0') {
    size_t size;
    int ntoalign;
    KOption opt = get_details(&h, pos, &fmt, &size, &ntoalign);
    arg_check(L, static_cast<size_t>(ntoalign) + size <= ld - pos, 2,
              "data string too short");
    pos += static_cast<size_t>(ntoalign);
    check_stack_or_error(L, 2, "too many results");
    n++;
    switch (opt) {
      case KOption::Int:
      case KOption::Uint:
        push_integer(L, unpack_int(L, data + pos, h.islittle, static_cast<int>(size), opt == KOption::Int));
        break;
      case KOption::Float: {
        float f;
        copy_with_endian(reinterpret_cast<char*>(&f), data + pos, sizeof f, h.islittle);
        push_number(L, static_cast<Number>(f));
        break;
      }
      case KOption::Number:
      case KOption::Double: {
        double d;
        copy_with_endian(reinterpret_cast<char*>(&d), data + pos, sizeof d, h.islittle);
        push_number(L, d);
        break;
      }
      case KOption::Char:
        push_lstring(L, data + pos, size);
        break;
      case KOption::String: {
        size_t len = static_cast<size_t>(unpack_int(L, data + pos, h.islittle, static_cast<int>(size), false));
        arg_check(L, len <= ld - pos - size, 2, "data string too short");
        push_lstring(L, data + pos + size, len);
        pos += len;
        break;
      }
      case KOption::Zstr: {
        size_t len = std::strlen(data + pos);
        arg_check(L, pos + len < ld, 2, "unfinished string for format 'z'");
        push_lstring(L, data + pos, len);
        pos += len + 1;
        break;
      }
      case KOption::Paddalign:
      case KOption::Padding:
      case KOption::Nop:
        n--;  // produces no value
        break;
    }
    pos += size;
  }
  push_integer(L, static_cast<Integer>(pos) + 1);
  return n + 1;
}

// ------------------------------------------------- string metamethods

// Pushes the numeric value of argument `arg` if it is a number or a string
// convertible to one.
bool to_num_arg(State* L, int arg) {
  if (type(L, arg) == TNUMBER) {
    push_value(L, arg);
    return true;
  }
  size_t len;
  const char* s = to_lstring(L, arg, &len);
  return s != nullptr && string_to_number(L, s) == len + 1;
}

// No numeric coercion possible: defer to the second operand's metamethod,
// if it has one and is not a string itself.
void try_metamethod(State* L, const char* mtname) {
  set_top(L, 2);
  if (type(L, 2) == TSTRING || get_metafield(L, 2, mtname) == TNIL)
    error_f(L, "attempt to %s a '%s' with a '%s'", mtname + 2, typename_at(L, -2), typename_at(L, -1));
  insert(L, -3);
  call(L, 2, 1);
}

int arith_op(State* L, int op, const char* mtname) {
  if (to_num_arg(L, 1) && to_num_arg(L, 2))
    luna::arith(L, op);
  else
    try_metamethod(L, mtname);
  return 1;
}

int arith_add(State* L) { return arith_op(L, OPADD, "__add"); }
int arith_sub(State* L) { return arith_op(L, OPSUB, "__sub"); }
int arith_mul(State* L) { return arith_op(L, OPMUL, "__mul"); }
int arith_mod(State* L) { return arith_op(L, OPMOD, "__mod"); }
int arith_pow(State* L) { return arith_op(L, OPPOW, "__pow"); }
int arith_div(State* L) { return arith_op(L, OPDIV, "__div"); }
int arith_idiv(State* L) { return arith_op(L, OPIDIV, "__idiv"); }
int arith_unm(State* L) { return arith_op(L, OPUNM, "__unm"); }

const Reg string_metamethods[] = {
  {"__add", arith_add},
  {"__sub", arith_sub},
  {"__mul", arith_mul},
  {"__mod", arith_mod},
  {"__pow", arith_pow},
  {"__div", arith_div},
  {"__idiv", arith_idiv},
  {"__unm", arith_unm},
  {"__index", nullptr},  // set to the library table below
  {nullptr, nullptr},
};

const Reg string_funcs[] = {
  {"byte", lib_string_byte},
  {"char", str_char},
  {"dump", str_dump},
  {"find", str_find},
  {"format", lib_string_format},
  {"gmatch", str_gmatch},
  {"gsub", str_gsub},
  {"len", str_len},
  {"lower", str_case<to_lower>},
  {"match", str_match},
  {"rep", str_rep},
  {"reverse", str_reverse},
  {"sub", lib_string_sub},
  {"upper", str_case<to_upper>},
  {"pack", str_pack},
  {"packsize", str_packsize},
  {"unpack", str_unpack},
  {nullptr, nullptr},
};

void create_string_metatable(State* L) {
  create_table(L, 0, 9);
  // The arithmetic metamethods convert numeric strings; where the VM does
  // that itself (5.3) the metatable has only __index, the last entry.
  const bool vm_coerces = dialect_of(get_version(L)).vm_string_coerce;
  set_funcs(L, vm_coerces ? std::end(string_metamethods) - 2 : string_metamethods, 0);
  push_lstring(L, "", 0);
  push_value(L, -2);
  set_metatable(L, -2);  // every string shares this metatable
  pop(L, 1);
  push_value(L, -2);
  set_field(L, -2, "__index");
  pop(L, 1);
}

}  // namespace

Builtin string_builtin(NativeFn f) {
  if (f == str_len) return Builtin::StrLen;
  if (f == lib_string_byte) return Builtin::StrByte;
  if (f == str_char) return Builtin::StrChar;
  if (f == lib_string_sub) return Builtin::StrSub;
  return Builtin::None;
}

LeafFn string_leaf(NativeFn f) {
  if (f == str_find) return LeafFn::StrFind;
  if (f == str_match) return LeafFn::StrMatch;
  if (f == str_gsub) return LeafFn::StrGsub;
  if (f == lib_string_format) return LeafFn::StrFormat;
  if (f == str_rep) return LeafFn::StrRep;
  if (f == str_reverse) return LeafFn::StrReverse;
  if (f == str_case<to_lower> || f == str_case<to_upper>) return LeafFn::StrCase;
  if (f == lib_string_byte) return LeafFn::StrByte;
  if (f == lib_string_sub) return LeafFn::StrSub;
  if (f == str_char) return LeafFn::StrChar;
  if (f == str_len) return LeafFn::StrLen;
  if (f == gmatch_aux) return LeafFn::GMatchIter;
  return LeafFn::None;
}

bool str_find_item(const String* pat, FindItem* item) {
  const char* p = pat->data;
  if (pat->len == 0 || *p == '^') return false;  // anchored: no plan
  FirstPlan f = plan_of(p, p + pat->len);
  if (!f.has_first || f.whole != static_cast<uint8_t>(Whole::One)) return false;
  item->ascii[0] = f.ascii[0];
  item->ascii[1] = f.ascii[1];
  item->p = p + f.p_off;
  item->ep = p + f.ep_off;
  item->literal = f.literal != 0;
  return true;
}

// As find_aux's search of a Whole::One pattern, without its budget charge:
// the trace leaves the call to the interpreter while a budget is set.
Integer str_find_item_at(const String* s, Integer init, const FindItem* item) {
  size_t ls = s->len;
  size_t from = str_pos_start(init, ls) - 1;
  if (from >= ls) return 0;  // past the end (find's nil), or no byte left
  const char* q = s->data + from;
  const char* end = s->data + ls;
  if (item->literal) {
    q = static_cast<const char*>(std::memchr(q, static_cast<unsigned char>(item->ep[-1]), static_cast<size_t>(end - q)));
    if (q == nullptr) return 0;
  } else {
    while (q < end && !item_accepts(item->ascii, static_cast<unsigned char>(*q), item->p, item->ep)) q++;
    if (q == end) return 0;
  }
  return static_cast<Integer>(q - s->data) + 1;
}

bool str_find_chain(const String* pat, FindChain* chain) {
  const char* q = pat->data;
  const char* end = q + pat->len;
  if (pat->len < 2 || *q++ != '^') return false;
  chain->n = 0;
  while (q < end) {
    if (chain->n == FindChain::MAX_ITEMS) return false;
    const char* e = plain_item_end(q, end);
    if (e == nullptr) return false;
    FindChain::Item& it = chain->items[chain->n++];
    AsciiSet set = item_ascii_set(q, e);
    it.ascii[0] = set.w[0];
    it.ascii[1] = set.w[1];
    it.p = q;
    it.ep = e;
    it.quant = e < end && (*e == '?' || *e == '*' || *e == '+' || *e == '-') ? *e : 0;
    q = it.quant != 0 ? e + 1 : e;
  }
  return true;
}

namespace {

// The end of the match of items k.. of the chain at s, or nullptr: what
// do_match gives for them, trying the same repetitions in the same order
// (the longest first for '?', '*' and '+', the shortest first for '-'), so
// the end is the same. The chain has at most MAX_ITEMS items: its depth is
// far below the matcher's "pattern too complex".
const char* chain_match(const FindChain* c, int k, const char* s, const char* end) {
  for (; k < c->n; k++) {
    const FindChain::Item& it = c->items[k];
    auto accepts = [&](const char* q) {
      return q < end && item_accepts(it.ascii, static_cast<unsigned char>(*q), it.p, it.ep);
    };
    switch (it.quant) {
      case 0:
        if (!accepts(s)) return nullptr;
        s++;
        break;
      case '?':
        if (accepts(s)) {
          if (const char* r = chain_match(c, k + 1, s + 1, end)) return r;
        }
        break;
      case '-':
        for (;; s++) {
          if (const char* r = chain_match(c, k + 1, s, end)) return r;
          if (!accepts(s)) return nullptr;
        }
      default: {  // '*', '+'
        const char* least = it.quant == '+' ? s + 1 : s;
        if (least > s && !accepts(s)) return nullptr;
        const char* q = least;
        while (accepts(q)) q++;
        if (k + 1 == c->n) return q;  // nothing follows: the longest run
        for (;; q--) {
          if (const char* r = chain_match(c, k + 1, q, end)) return r;
          if (q == least) return nullptr;
        }
      }
    }
  }
  return s;
}

}  // namespace

Integer str_find_chain_at(const String* s, Integer init, const FindChain* chain) {
  size_t ls = s->len;
  size_t from = str_pos_start(init, ls) - 1;
  if (from > ls) return -2;
  const char* e = chain_match(chain, 0, s->data + from, s->data + ls);
  return e == nullptr ? -2 : static_cast<Integer>(e - s->data);
}

namespace {

// The first byte from q on that the item accepts, or end.
const char* item_next(const char* q, const char* end, const FindItem* item) {
  if (item->literal) {
    q = static_cast<const char*>(std::memchr(q, static_cast<unsigned char>(item->ep[-1]), static_cast<size_t>(end - q)));
    return q == nullptr ? end : q;
  }
  while (q < end && !item_accepts(item->ascii, static_cast<unsigned char>(*q), item->p, item->ep)) q++;
  return q;
}

}  // namespace

String* str_gsub_item(GlobalState* g, String* s, Table* t, const FindItem* item) noexcept {
  const char* src = s->data;
  const char* end = src + s->len;
  const char* q = item_next(src, end, item);
  if (q == end) return s;  // no match: gsub gives the subject itself
  constexpr size_t kMax = 512;
  char buf[kMax];
  size_t n = 0;
  auto put = [&](const char* p, size_t len) {
    if (len > kMax - n) return false;
    std::memcpy(buf + n, p, len);
    n += len;
    return true;
  };
  for (; q < end; q = item_next(src, end, item)) {
    if (!put(src, static_cast<size_t>(q - src))) return nullptr;
    // The key is the one-byte string of the match; one never made is in
    // no table.
    String* key = g->onebyte[static_cast<unsigned char>(*q)];
    const TValue* v = key != nullptr ? table_get_short_str(t, key) : nullptr;
    if (v == nullptr || !v->truthy()) {
      if (!put(q, 1)) return nullptr;  // nil or false: the match stays
    } else if (v->is_string()) {
      if (!put(v->as_string()->data, v->as_string()->len)) return nullptr;
    } else {
      return nullptr;  // a number's text or the error: the library's
    }
    src = q + 1;
  }
  if (!put(src, static_cast<size_t>(end - src))) return nullptr;
  return str_try_new(g, buf, n);
}

int open_string(State* L) {
  new_lib(L, string_funcs);
  create_string_metatable(L);
  return 1;
}

}  // namespace luna
