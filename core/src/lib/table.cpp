// The table library (manual 6.6). Every access goes through get_i/set_i and
// len_i so that __index, __newindex and __len are honoured, as in Lua 5.4.
#include <locale.h>  // uselocale (POSIX)

#include <algorithm>
#include <bit>
#include <climits>
#include <clocale>
#include <cstring>
#include <ctime>

#include "luna/api.hpp"
#include "../builtin.hpp"
#include "../dialect.hpp"
#include "../short_bytes.hpp"
#include "../state.hpp"

namespace luna {
namespace {

// What an argument must support when it is not a real table.
enum : int { TAB_R = 1, TAB_W = 2, TAB_L = 4, TAB_RW = TAB_R | TAB_W };

// A non-table is accepted when its metatable provides every needed
// metamethod; otherwise the usual "table expected" argument error.
void check_tab(State* L, int arg, int what) {
  if (type(L, arg) == TTABLE) return;
  int n = 1;
  if (get_metatable(L, arg)) {
    bool ok = true;
    const char* names[] = {"__index", "__newindex", "__len"};
    for (int i = 0; i < 3; i++) {
      if (what & (1 << i)) {
        push_string(L, names[i]);
        ok = ok && raw_get(L, -2 - (n - 1)) != TNIL;
        n++;
      }
    }
    pop(L, n);
    if (ok) return;
  }
  check_type(L, arg, TTABLE);
}

Integer aux_getn(State* L, int arg, int what) {
  check_tab(L, arg, what | TAB_L);
  return len_i(L, arg);
}

int t_insert(State* L) {
  // first empty slot; wraps like Lua's unsigned arithmetic when # is maxinteger
  Integer e = static_cast<Integer>(static_cast<Unsigned>(aux_getn(L, 1, TAB_RW)) + 1u);
  Integer pos;
  switch (get_top(L)) {
    case 2:
      pos = e;
      break;
    case 3: {
      pos = check_integer(L, 2);
      // unsigned trick: 1 <= pos <= e in one comparison
      arg_check(L, static_cast<Unsigned>(pos) - 1u < static_cast<Unsigned>(e), 2, "position out of bounds");
      charge_instruction_budget(L, static_cast<Unsigned>(e) - static_cast<Unsigned>(pos));
      for (Integer i = e; i > pos; i--) {  // shift up
        get_i(L, 1, i - 1);
        set_i(L, 1, i);
      }
      break;
    }
    default:
      error_f(L, "wrong number of arguments to 'insert'");
  }
  set_i(L, 1, pos);
  return 0;
}

int t_remove(State* L) {
  Integer size = aux_getn(L, 1, TAB_RW);
  Integer pos = opt_integer(L, 2, size);
  if (pos != size)  // size + 1 is allowed to remove the (absent) last element
    arg_check(L, static_cast<Unsigned>(pos) - 1u <= static_cast<Unsigned>(size), 2, "position out of bounds");
  get_i(L, 1, pos);
  if (pos < size) charge_instruction_budget(L, static_cast<Unsigned>(size) - static_cast<Unsigned>(pos));
  for (; pos < size; pos++) {
    get_i(L, 1, pos + 1);
    set_i(L, 1, pos);
  }
  push_nil(L);
  set_i(L, 1, pos);
  return 1;
}

int t_move(State* L) {
  Integer f = check_integer(L, 2);
  Integer e = check_integer(L, 3);
  Integer t = check_integer(L, 4);
  int tt = is_none_or_nil(L, 5) ? 1 : 5;  // destination table
  check_tab(L, 1, TAB_R);
  check_tab(L, tt, TAB_W);
  if (e >= f) {
    constexpr Integer maxi = INT64_MAX;
    arg_check(L, f > 0 || e < maxi + f, 3, "too many elements to move");
    Integer n = e - f;  // number of elements minus 1
    arg_check(L, t <= maxi - n, 4, "destination wrap around");
    charge_instruction_budget(L, static_cast<Unsigned>(n) + 1);
    // Copy forward unless the ranges overlap with the destination above.
    if (t > e || t <= f || (tt != 1 && !compare(L, 1, tt, OPEQ))) {
      for (Integer i = 0; i <= n; i++) {
        get_i(L, 1, f + i);
        set_i(L, tt, t + i);
      }
    } else {
      for (Integer i = n; i >= 0; i--) {
        get_i(L, 1, f + i);
        set_i(L, tt, t + i);
      }
    }
  }
  push_value(L, tt);
  return 1;
}

[[gnu::always_inline]] inline void copy_piece(char* d, const char* s, size_t n) {
  if (n <= 16) bytes::copy(d, s, n);
  else std::memcpy(d, s, n);
}

void add_field(State* L, Buffer& b, Integer i) {
  // A string present in the table is read in place: a present value
  // consults no __index, and the stack round trip (get_i, to_lstring, pop)
  // cost more than the copy (json's encoder joins ~80 000 short pieces).
  if (const TValue& tv = L->ci->func[1]; tv.is_table()) {
    const TValue* v = table_get_int(tv.as_table(), i);
    if (v->is_string()) {
      const String* s = v->as_string();
      b.add(s->c_str(), s->len);
      return;
    }
  }
  get_i(L, 1, i);
  if (!is_string(L, -1))
    error_f(L, "invalid value (%s) at index %I in table for 'concat'", typename_at(L, -1), i);
  b.add_value();
}

// table.concat of strings that are all in the array part, the budget not
// counting: the result's length is summed first and the pieces are copied
// straight into the result (a long one made at its size), without the
// buffer's growth and final copy. false, with nothing pushed, when a piece
// is not such a string (the general way then raises or converts).
bool concat_array_strings(State* L, const Table* t, Integer i, Integer last, const char* sep, size_t lsep) {
  if (i < 1 || static_cast<Unsigned>(last) > t->asize) return false;
  constexpr size_t kMaxTotal = size_t(1) << 40;  // larger ones take the general way and its errors
  size_t total = 0;
  for (Integer k = i; k <= last; k++) {
    const TValue& v = t->array[k - 1];
    if (!v.is_string()) return false;
    total += v.as_string()->len + (k < last ? lsep : 0);
    if (total > kMaxTotal || lsep > kMaxTotal) return false;
  }
  auto fill = [&](char* p) {
    for (Integer k = i; k <= last; k++) {
      const String* s = t->array[k - 1].as_string();
      copy_piece(p, s->data, s->len);
      p += s->len;
      if (k < last) {
        copy_piece(p, sep, lsep);
        p += lsep;
      }
    }
  };
  if (total <= MAX_SHORT_LEN) {
    char buf[MAX_SHORT_LEN];
    fill(buf);
    push_lstring(L, buf, total);
    return true;
  }
  String* r = str_new_long(L, total);  // collects nothing: the pieces stay put
  fill(r->data);
  push_raw(L, str_value(r));
  gc_check(L);
  return true;
}

int t_concat(State* L) {
  Integer i = 1, last;
  size_t lsep = 0;
  const char* sep = "";
  // The table alone, without metatable (json's encoder and decoder): its
  // border read straight, no calls of the argument functions (~280
  // instructions a call).
  if (const TValue* t = L->ci->func + 1; L->top - t == 1 && t->is_table() && t->as_table()->metatable == nullptr) {
    last = table_length(t->as_table());
  } else {
    last = aux_getn(L, 1, TAB_R);
    sep = opt_lstring(L, 2, "", &lsep);
    i = opt_integer(L, 3, 1);
    last = opt_integer(L, 4, last);
  }
  if (i <= last) charge_instruction_budget(L, static_cast<Unsigned>(last) - static_cast<Unsigned>(i) + 1);
  if (i == last && L->ci->func[1].is_table()) {
    // One piece that is a string is the result as it is (json's decoder
    // joins the parts of a string without escapes: one part).
    const TValue* v = table_get_int(L->ci->func[1].as_table(), i);
    if (v->is_string()) {
      *L->top++ = *v;
      return 1;
    }
  }
  if (const TValue& tv = L->ci->func[1];
      i <= last && tv.is_table() && L->g->instr_budget == 0 &&
      concat_array_strings(L, tv.as_table(), i, last, sep, lsep))
    return 1;
  Buffer b(L);
  // Strings in the array part, each with its separator, by one prepare and
  // inline copies of the short ones instead of two Buffer::add calls (each
  // a prepare and a memcpy); the first other value ends this loop.
  if (const TValue& tv = L->ci->func[1]; tv.is_table()) {
    const Table* t = tv.as_table();
    for (; i >= 1 && i <= last && static_cast<Unsigned>(i) <= t->asize && t->array[i - 1].is_string(); i++) {
      const String* s = t->array[i - 1].as_string();
      size_t ls = i < last ? lsep : 0;
      char* p = b.prepare(s->len + ls);
      copy_piece(p, s->c_str(), s->len);
      copy_piece(p + s->len, sep, ls);
      b.add_size(s->len + ls);
    }
  }
  for (; i < last; i++) {
    add_field(L, b, i);
    b.add(sep, lsep);
  }
  if (i == last) add_field(L, b, i);
  b.push_result();
  return 1;
}

int t_pack(State* L) {
  int n = get_top(L);
  charge_instruction_budget(L, static_cast<uint64_t>(n));
  create_table(L, n, 1);
  insert(L, 1);
  for (int i = n; i >= 1; i--) set_i(L, 1, i);  // pops each argument
  push_integer(L, n);
  set_field(L, 1, "n");
  return 1;
}

int t_unpack(State* L) {
  Integer i = opt_integer(L, 2, 1);
  Integer e = is_none_or_nil(L, 3) ? len_i(L, 1) : check_integer(L, 3);
  if (i > e) return 0;
  Unsigned n = static_cast<Unsigned>(e) - static_cast<Unsigned>(i);
  if (n >= static_cast<Unsigned>(INT_MAX) || !check_stack(L, static_cast<int>(++n)))
    error_f(L, "too many results to unpack");
  charge_instruction_budget(L, n);
  for (; i < e; i++) get_i(L, 1, i);
  get_i(L, 1, e);
  return static_cast<int>(n);
}

// ---- sort: quicksort on the table at index 1, order function (or nil) at 2.
// The values being moved live on the stack top (the collector sees them and
// the comparator may change the table); Sorter works on those slots
// directly instead of through the stack API, which cost more than the
// comparisons themselves. Reads and writes of present array items need no
// metamethod (as get_i/set_i); everything else goes through get_i/set_i.

// Arrays above this size get a randomized pivot, to defeat adversarial input.
constexpr Unsigned RANDOM_LIMIT = 100;

// Whether the thread collates strings in byte order (the global "C" or
// "POSIX" locale), where strcoll is strcmp and so two strings compare as
// their bytes up to the shorter length, then by length (str_compare).
bool byte_collation() {
  if (uselocale(static_cast<locale_t>(nullptr)) != LC_GLOBAL_LOCALE) return false;
  const char* name = std::setlocale(LC_COLLATE, nullptr);
  return name != nullptr && (std::strcmp(name, "C") == 0 || std::strcmp(name, "POSIX") == 0);
}

// The 8 bytes at p as a number that orders as they do under memcmp.
inline uint64_t load_ordered(const char* p) {
  uint64_t v = bytes::load64(p);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

// bytes_less after the first eight bytes compared equal, or for shorter strings.
[[gnu::noinline]] bool bytes_less_rest(const String* a, const String* b, size_t n) {
  int c = std::memcmp(a->data, b->data, n);
  return c != 0 ? c < 0 : a->len < b->len;
}

// a < b for strings under byte_collation. The first eight bytes as one
// number, in line: a sort's strings mostly differ there, and memcmp's call
// cost more than such a comparison (sort's 100,000 strings: ~35
// instructions a comparison with memcmp).
inline bool bytes_less(const String* a, const String* b) {
  const size_t n = std::min(a->len, b->len);
  if (n >= 8) {
    uint64_t x = load_ordered(a->data), y = load_ordered(b->data);
    if (x != y) return x < y;
  }
  return bytes_less_rest(a, b, n);
}

class Sorter {
 public:
  explicit Sorter(State* L)
      : L_(L), has_cmp_(!L->ci->func[2].is_nil()), byte_order_(!has_cmp_ && byte_collation()), calls_(L) {}

  // Pushes t[i].
  void get(Integer i) {
    if (const TValue* slot = present(i)) {
      *L_->top++ = *slot;
      return;
    }
    get_i(L_, 1, i);
  }

  // Pops the top value into t[i].
  void set(Integer i) {
    if (TValue* slot = present(i)) {
      *slot = L_->top[-1];
      gc_barrier_back(L_, L_->ci->func[1].as_table());
      L_->top--;
      return;
    }
    set_i(L_, 1, i);
  }

  // Stores the two values on top into t[i] (the top one) and t[j].
  void set_two(Integer i, Integer j) {
    set(i);
    set(j);
  }

  void pop(int n) { L_->top -= n; }
  void dup() {
    *L_->top = L_->top[-1];
    L_->top++;
  }

  // true if the value at top-relative index a (negative) sorts before the one at b.
  bool less(int a, int b) {
    if (L_->g->instr_budget != 0) charge_instruction_budget(L_, 1);  // a comparator call is charged on its own entry too
    if (!has_cmp_) {
      // Read in place, not copied: get() has just stored these slots field
      // by field, and a 16-byte copy of them stalls on store forwarding
      // (perf: half of a string sort's time). vm_less_than copies the
      // operands of an __lt call before it can move the stack.
      const TValue& x = L_->top[a];
      const TValue& y = L_->top[b];
      if (x.is_float() && y.is_float()) return x.u.n < y.u.n;  // the usual arrays, without a call
      if (x.is_int() && y.is_int()) return x.u.i < y.u.i;
      return less_other(x, y);
    }
    TValue* f = L_->top;  // the frame's MINSTACK slots leave room for these three
    f[0] = L_->ci->func[2];
    f[1] = L_->top[a];
    f[2] = L_->top[b];
    L_->top = f + 3;
    return calls_.call(L_, f);  // as the API's call: a yield in the comparator is an error
  }

  [[noreturn]] void invalid_order() { error_f(L_, "invalid order function for sorting"); }

  bool has_order_function() const { return has_cmp_; }

  // partition (below) with an order function: the same calls, checks and
  // stores in the same order on the same stack (P, t[i], t[j] on top), each
  // comparison pushing the item and making the order function's frame
  // above it in one step from the value just read (get's push and less's
  // copies read the stack top again each).
  Integer partition(Integer lo, Integer up) {
    Integer i = lo;
    Integer j = up - 1;
    for (;;) {
      while (push_less<true>(++i)) {  // t[i] < P
        if (i == up - 1) invalid_order();
        pop(1);
      }
      while (push_less<false>(--j)) {  // P < t[j]
        if (j < i) invalid_order();
        pop(1);
      }
      if (j < i) {
        pop(1);  // t[j]
        set_two(up - 1, i);  // t[up-1] = t[i]; t[i] = P
        return i;
      }
      set_two(i, j);  // swap t[i] and t[j]
    }
  }

 private:
  // get(k), then less(-1, -2) (item_first: the item against P just below
  // it) or less(-3, -1) (P, below t[i], against the item).
  template <bool item_first>
  bool push_less(Integer k) {
    TValue* top = L_->top;
    if (const TValue* slot = present(k)) {
      // Field by field, from registers: a whole-value copy goes through
      // memory to reach the tag.
      const TValue::Payload u = slot->u;
      const Tag tag = slot->tag;
      top->u = u;
      top->tag = tag;
      if (L_->g->instr_budget != 0) {
        L_->top = top + 1;
        charge_instruction_budget(L_, 1);
      }
      TValue* f = top + 1;  // the frame's MINSTACK slots leave room for these three
      f[0] = L_->ci->func[2];
      TValue* item = item_first ? &f[1] : &f[2];
      item->u = u;
      item->tag = tag;
      if (item_first) f[2] = top[-1];
      else f[1] = top[-2];
      L_->top = f + 3;
      return calls_.call(L_, f);
    }
    get_i(L_, 1, k);
    return item_first ? less(-1, -2) : less(-3, -1);
  }

  // less in the default order for operands other than two floats or two
  // integers (out of line: less is inlined at each of its calls).
  [[gnu::noinline]] bool less_other(const TValue& x, const TValue& y) {
    bool strings = x.is_string() && y.is_string();
    // Without strcoll's and str_compare's layers: 90 instructions a
    // comparison of short strings before.
    if (strings && byte_order_) return bytes_less(x.as_string(), y.as_string());
    bool plain = strings || (x.is_number() && y.is_number());
    bool lt = vm_less_than(L_, x, y);
    // An __lt metamethod ran: it may have called os.setlocale.
    if (!plain && byte_order_) byte_order_ = byte_collation();
    return lt;
  }

  // The slot of t[i] when it is a present item of the array part. The
  // table is read from index 1 every time: debug.setlocal may replace it.
  TValue* present(Integer i) const {
    const TValue& tv = L_->ci->func[1];
    if (!tv.is_table()) return nullptr;
    Table* t = tv.as_table();
    if (static_cast<Unsigned>(i) - 1 >= t->asize || t->array[i - 1].is_nil()) return nullptr;
    return &t->array[i - 1];
  }

  State* L_;
  bool has_cmp_;
  bool byte_order_;  // strings compare by bytes (byte_collation)
  TruthCalls calls_;  // the order function's
};

// Sorter for a table whose items 1..n are all present in its array part
// and are all numbers or all strings, in the default order: no metamethod,
// Lua code or allocation can run during such a sort (no budget counts), so
// the array stays where it is and the values being moved live in a small
// array of locals instead of on the stack top (the sort's algorithm keeps
// at most three). Same operations, and so the same steps, as Sorter.
class ArraySorter {
 public:
  ArraySorter(State* L, Table* t) : L_(L), a_(t->array), byte_order_(byte_collation()) {}

  void get(Integer i) { v_[n_++] = a_[i - 1]; }
  void set(Integer i) { a_[i - 1] = v_[--n_]; }
  void set_two(Integer i, Integer j) {
    set(i);
    set(j);
  }
  void pop(int n) { n_ -= n; }
  void dup() {
    v_[n_] = v_[n_ - 1];
    n_++;
  }

  bool less(int a, int b) { return lt(v_[n_ + a], v_[n_ + b]); }

  // partition (below) for this sorter, with its comparisons, checks and
  // stores in its order: the pivot, on top, is popped into a local and the
  // items are compared where they lie (nothing else writes the array
  // while it sorts), without partition's copies into v_ (sort.lua's
  // 100,000 numbers and strings: ~46 instructions a comparison before).
  Integer partition(Integer lo, Integer up) {
    const TValue p = v_[--n_];
    TValue* a = a_;  // item k at a[k - 1]
    Integer i = lo;
    Integer j = up - 1;
    for (;;) {
      while (lt(a[++i - 1], p))
        if (i == up - 1) invalid_order();
      while (lt(p, a[--j - 1]))
        if (j < i) invalid_order();
      if (j < i) {
        a[up - 2] = a[i - 1];
        a[i - 1] = p;
        return i;
      }
      std::swap(a[i - 1], a[j - 1]);
    }
  }

  [[noreturn]] void invalid_order() { error_f(L_, "invalid order function for sorting"); }

  // The table at index 1 when an ArraySorter may sort its items 1..n.
  static Table* sortable(State* L, Integer n) {
    const TValue* args = L->ci->func + 1;
    if (!args[1].is_nil() || !args[0].is_table() || L->g->instr_budget != 0) return nullptr;
    Table* t = args[0].as_table();
    if (static_cast<Unsigned>(n) > t->asize) return nullptr;
    const TValue* a = t->array;
    bool numbers = a[0].is_number(), strings = a[0].is_string();
    for (Integer i = 0; i < n && (numbers || strings); i++) {
      numbers = numbers && a[i].is_number();
      strings = strings && a[i].is_string();
    }
    return numbers || strings ? t : nullptr;
  }

 private:
  // x < y in the default order.
  bool lt(const TValue& x, const TValue& y) {
    if (x.is_float() && y.is_float()) return x.u.n < y.u.n;
    if (x.is_int() && y.is_int()) return x.u.i < y.u.i;
    if (byte_order_ && x.is_string()) return bytes_less(x.as_string(), y.as_string());
    return vm_less_than(L_, x, y);  // an integer and a float, or strings by strcoll
  }

  State* L_;
  TValue* a_;
  bool byte_order_;
  int n_ = 0;
  TValue v_[4];
};

// Cheap randomness mixed from the clock and the time.
unsigned sort_seed() {
  clock_t c = clock();
  time_t t = time(nullptr);
  return static_cast<unsigned>(c) ^ static_cast<unsigned>(t) * 2654435761u;
}

// Pivot index in the middle half of [lo, up], picked with rnd.
Integer choose_pivot(Integer lo, Integer up, unsigned rnd) {
  Integer quarter = (up - lo) / 4;
  return static_cast<Integer>(rnd % static_cast<unsigned>(quarter * 2)) + lo + quarter;
}

// Partition of [lo, up] with the pivot P on the stack top and also at
// t[up-1]; t[lo] <= P <= t[up] already hold. Returns P's final index.
template <class S>
Integer partition(S& s, Integer lo, Integer up) {
  Integer i = lo;
  Integer j = up - 1;
  for (;;) {
    // advance i while t[i] < P; t[up-1] == P stops it for a valid order
    while (s.get(++i), s.less(-1, -2)) {
      if (i == up - 1) s.invalid_order();
      s.pop(1);
    }
    // retreat j while P < t[j]; t[lo] stops it for a valid order
    while (s.get(--j), s.less(-3, -1)) {
      if (j < i) s.invalid_order();
      s.pop(1);
    }
    if (j < i) {
      s.pop(1);  // t[j]
      s.set_two(up - 1, i);  // t[up-1] = t[i]; t[i] = P happens below
      return i;
    }
    s.set_two(i, j);  // swap t[i] and t[j]
  }
}

Integer partition(ArraySorter& s, Integer lo, Integer up) { return s.partition(lo, up); }
Integer partition(Sorter& s, Integer lo, Integer up) {
  return s.has_order_function() ? s.partition(lo, up) : partition<Sorter>(s, lo, up);
}

template <class S>
void aux_sort(S& s, Integer lo, Integer up, unsigned rnd) {
  while (lo < up) {
    s.get(lo);
    s.get(up);
    if (s.less(-1, -2))
      s.set_two(lo, up);  // swap t[lo] and t[up]
    else
      s.pop(2);
    if (up - lo == 1) break;
    Integer p = (static_cast<Unsigned>(up - lo) < RANDOM_LIMIT || rnd == 0) ? lo + (up - lo) / 2
                                                                             : choose_pivot(lo, up, rnd);
    s.get(p);
    s.get(lo);
    if (s.less(-2, -1)) {  // t[p] < t[lo]: swap them
      s.set_two(p, lo);
    } else {
      s.pop(1);
      s.get(up);
      if (s.less(-1, -2))  // t[up] < t[p]: swap them
        s.set_two(p, up);
      else
        s.pop(2);
    }
    if (up - lo == 2) break;  // three elements, now in order
    s.get(p);  // the pivot P
    s.dup();
    s.get(up - 1);
    s.set_two(p, up - 1);  // t[p] = t[up-1]; t[up-1] = P; P stays on top
    p = partition(s, lo, up);
    // Recurse into the smaller part and loop on the larger one, bounding depth.
    Integer n;
    if (p - lo < up - p) {
      aux_sort(s, lo, p - 1, rnd);
      n = p - lo;
      lo = p + 1;
    } else {
      aux_sort(s, p + 1, up, rnd);
      n = up - p;
      up = p - 1;
    }
    // A badly unbalanced split hints at adversarial input: randomize pivots.
    if ((up - lo) / 128 > n) rnd = sort_seed();
  }
}

int t_sort(State* L) {
  Integer n = aux_getn(L, 1, TAB_RW);
  if (n > 1) {
    arg_check(L, n < INT_MAX, 1, "array too big");
    if (!is_none_or_nil(L, 2)) check_type(L, 2, TFUNCTION);
    set_top(L, 2);
    if (Table* t = ArraySorter::sortable(L, n)) {
      ArraySorter s(L, t);
      aux_sort(s, 1, n, 0);
    } else {
      Sorter s(L);
      aux_sort(s, 1, n, 0);
    }
  }
  return 0;
}

const Reg table_funcs[] = {
    {"concat", t_concat}, {"insert", t_insert}, {"pack", t_pack},   {"unpack", t_unpack},
    {"remove", t_remove}, {"move", t_move},     {"sort", t_sort},   {nullptr, nullptr},
};

// 5.5: table.create(narray [, nhash]), a table with room for that many
// array items and fields. The sizes must fit a C int.
int t_create(State* L) {
  Integer narr = check_integer(L, 1);
  Integer nrec = opt_integer(L, 2, 0);
  arg_check(L, narr >= 0 && narr <= INT_MAX, 1, "out of range");
  arg_check(L, nrec >= 0 && nrec <= INT_MAX, 2, "out of range");
  create_table(L, static_cast<int>(narr), static_cast<int>(nrec));
  return 1;
}

}  // namespace

Builtin table_builtin(NativeFn f) {
  if (f == t_insert) return Builtin::TabInsert;
  if (f == t_remove) return Builtin::TabRemove;
  return Builtin::None;
}

LeafFn table_leaf(NativeFn f) { return f == t_concat ? LeafFn::TabConcat : LeafFn::None; }

int open_table(State* L) {
  new_lib(L, table_funcs);
  if (dialect_of(get_version(L)).lib_55) {
    push_native_function(L, t_create);
    set_field(L, -2, "create");
  }
  return 1;
}

}  // namespace luna
