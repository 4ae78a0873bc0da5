// Tables: an array part for keys 1..asize plus a hash part that is a chained
// scatter table with Brent's variation (a colliding key that is not in its
// main position is moved away, so every chain starts at its main position).
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "object_layout.hpp"
#include "pool.hpp"
#include "state.hpp"

namespace luna {

// Result of lookups for keys that are not present.
const TValue table_absent_key = [] {
  TValue v;
  v.tag = Tag::AbsKey;
  return v;
}();

namespace {

// Shared hash part of tables without one. Never written: a table using it
// has lastfree == nullptr, which makes every insertion rehash first.
Node dummy_node;
// Array part sizes are powers of two up to 2^MAX_ABITS.
constexpr int MAX_ABITS = 31;
constexpr int MAX_HBITS = 30;

bool is_dummy(const Table* t) { return t->lastfree == nullptr; }
unsigned size_node(const Table* t) { return 1u << t->lsizenode; }

// Inline array slots: a table made by compiled code with a small array part
// gets its slots in its own block (one allocation, one free, and the slots
// beside the header for the collector). The array part uses them while
// t->array points there, growing in place up to t->ainline slots; beyond
// that it moves to a block of its own and the inline slots stay unused.
constexpr unsigned MAX_INLINE_SLOTS = (SmallPool::MAX - sizeof(Table)) / sizeof(TValue);
TValue* inline_slots(Table* t) { return reinterpret_cast<TValue*>(t + 1); }
bool array_is_inline(Table* t) { return t->ainline != 0 && t->array == inline_slots(t); }
size_t table_block_size(const Table* t) { return sizeof(Table) + size_t(t->ainline) * sizeof(TValue); }
// mem_free, with the freelist push inline (the sweep frees most tables).
void release(State* L, void* block, size_t size) {
  if (block != nullptr && !pool_try_give(L->g, block, size)) mem_free(L, block, size);
}
void free_array(State* L, Table* t) {
  if (!array_is_inline(t)) release(L, t->array, t->asize * sizeof(TValue));
}
void fill_nil(TValue* from, TValue* to) {
  // A nil is all zero bytes: a long run is one memset (a doubled array's
  // new half: ~4 instructions a slot in the loop).
  static_assert(static_cast<int>(Tag::Nil) == 0);
  if (to - from >= 16) {
    std::memset(static_cast<void*>(from), 0, static_cast<size_t>(to - from) * sizeof(TValue));
    return;
  }
  for (; from < to; from++) *from = TValue::nil();
}

int ceil_log2_u(uint64_t x) { return x <= 1 ? 0 : std::bit_width(x - 1); }

uint32_t mix64(uint64_t x) {
  // Fibonacci hashing: the high half of the product depends on every input bit.
  x *= 0x9E3779B97F4A7C15ull;
  return static_cast<uint32_t>(x >> 32);
}

// Integer keys: neighbouring keys land in neighbouring nodes (cache
// friendly), while the folded-in higher bits spread power-of-two strides.
uint32_t hash_int(Integer i) {
  uint64_t x = static_cast<uint64_t>(i);
  x ^= x >> 32;
  return static_cast<uint32_t>(x ^ (x >> 11) ^ (x >> 22));
}

uint32_t hash_of(const TValue& k) {
  switch (k.tag) {
    case Tag::Int: return hash_int(k.u.i);
    case Tag::Float: {
      uint64_t bits;
      std::memcpy(&bits, &k.u.n, sizeof bits);
      return mix64(bits ^ (bits >> 29));
    }
    case Tag::ShortStr: return k.as_string()->hash;
    case Tag::LongStr: return str_hash_long(k.as_string());
    case Tag::False: return 0;
    case Tag::True: return 1;
    case Tag::LightFn: return mix64(reinterpret_cast<uintptr_t>(k.u.f));
    default: return mix64(reinterpret_cast<uintptr_t>(k.u.p));
  }
}

Node* main_position(const Table* t, const TValue& k) {
  return &t->node[hash_of(k) & (size_node(t) - 1)];
}

// Equality of a live node key with a (normalised) lookup key.
bool key_equal(const Node* n, const TValue& k) {
  if (n->key_tag != k.tag) return false;
  switch (k.tag) {
    case Tag::Int: return n->key_u.i == k.u.i;
    case Tag::Float: return n->key_u.n == k.u.n;
    case Tag::False:
    case Tag::True: return true;
    case Tag::LightFn: return n->key_u.f == k.u.f;
    case Tag::LongStr: return str_equal(static_cast<String*>(n->key_u.gc), k.as_string());
    default: return n->key_u.p == k.u.p;
  }
}

// Float keys with an integral value are stored as integers.
bool float_to_key(Number n, Integer* out) {
  if (!(n >= -0x1p63 && n < 0x1p63)) return false;  // also rejects NaN
  auto i = static_cast<Integer>(n);
  if (static_cast<Number>(i) != n) return false;
  *out = i;
  return true;
}

// Hash-part lookup. With dead_ok, a dead key whose object is the lookup key
// also matches (next() must find keys whose entries were cleared).
const TValue* get_generic(const Table* t, const TValue& k, bool dead_ok) {
  Node* n = main_position(t, k);
  for (;;) {
    if (key_equal(n, k)) return &n->val;
    if (dead_ok && n->key_tag == Tag::DeadKey && k.is_collectable() && n->key_u.gc == k.u.gc) return &n->val;
    if (n->next == 0) return &table_absent_key;
    n += n->next;
  }
}

Node* get_free_pos(Table* t) {
  if (!is_dummy(t)) {
    while (t->lastfree > t->node) {
      t->lastfree--;
      if (t->lastfree->key_tag == Tag::Nil) return t->lastfree;
    }
  }
  return nullptr;
}

// Inserts a key known to be absent into the hash part; returns its value
// slot (nil), or nullptr when the hash part has no free node.
TValue* insert_key(Table* t, const TValue& key) {
  Node* mp = main_position(t, key);
  if (!mp->val.is_nil() || is_dummy(t)) {
    Node* f = get_free_pos(t);
    if (f == nullptr) return nullptr;
    Node* othern = main_position(t, mp->key());
    if (othern != mp) {
      // The occupant is not in its main position: move it to the free node
      // and give its place to the new key.
      while (othern + othern->next != mp) othern += othern->next;
      othern->next = static_cast<int>(f - othern);
      *f = *mp;
      if (mp->next != 0) {
        f->next += static_cast<int>(mp - f);
        mp->next = 0;
      }
      mp->val = TValue::nil();
    } else {
      // The occupant owns this position: the new key goes to the free node.
      if (mp->next != 0) f->next = static_cast<int>(mp + mp->next - f);
      mp->next = static_cast<int>(f - mp);
      mp = f;
    }
  }
  mp->set_key(key);
  mp->val = TValue::nil();
  return &mp->val;
}

// Counts integer keys per slice (2^(i-1), 2^i] for the array-size choice.
bool count_int_key(const TValue& k, unsigned* nums) {
  if (k.tag == Tag::Int && k.u.i >= 1 && static_cast<uint64_t>(k.u.i) <= (uint64_t(1) << MAX_ABITS)) {
    nums[ceil_log2_u(static_cast<uint64_t>(k.u.i))]++;
    return true;
  }
  return false;
}

// Largest power of two n such that more than n/2 of the slots 1..n would be
// used; *na gets the number of integer keys that will go to the array.
unsigned compute_array_size(const unsigned* nums, unsigned* na) {
  uint64_t a = 0, used = 0, optimal = 0;
  uint64_t twotoi = 1;
  for (int i = 0; i <= MAX_ABITS && *na > twotoi / 2; i++, twotoi *= 2) {
    a += nums[i];
    if (a > twotoi / 2) {
      optimal = twotoi;
      used = a;
    }
  }
  *na = static_cast<unsigned>(used);
  return static_cast<unsigned>(optimal);
}

// Non-nil slots among a[0..n). Four at a time: appends that grow a big
// array count every slot (sieve.lua's 4M-slot array scans 64 MB each time).
unsigned count_used(const TValue* a, unsigned n) {
  const TValue* end = a + n;
  unsigned c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  for (; end - a >= 4; a += 4) {
    c0 += !a[0].is_nil();
    c1 += !a[1].is_nil();
    c2 += !a[2].is_nil();
    c3 += !a[3].is_nil();
  }
  for (; a < end; a++) c0 += !a->is_nil();
  return c0 + c1 + c2 + c3;
}

// Whether no slot of a[0..n) is nil: the test before an append doubles a
// full power-of-two array (closures.lua's map and filter ask it at every
// doubling), half the instructions of count_used.
bool all_used(const TValue* a, unsigned n) {
#if defined(__SSE2__)
  // Each slot's tag is byte 8 of its 16 bytes; two slots' upper halves make
  // one vector with the tags in lanes 0 and 8. A tag's low four bits (the
  // basic type) are zero for Nil, Empty and AbsKey alike: the unsigned
  // minimum of those lanes, masked, over all slots is zero exactly when
  // some slot is nil.
  static_assert(sizeof(TValue) == 16 && offsetof(TValue, tag) == 8 && basic_type(Tag::Nil) == 0);
  auto load = [](const TValue* v) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(v)); };
  const __m128i mask = _mm_set1_epi64x(0x0f);
  __m128i low = mask;
  const TValue* end = a + n;
  for (; end - a >= 4; a += 4) {
    __m128i x01 = _mm_and_si128(_mm_unpackhi_epi64(load(a), load(a + 1)), mask);
    __m128i x23 = _mm_and_si128(_mm_unpackhi_epi64(load(a + 2), load(a + 3)), mask);
    low = _mm_min_epu8(low, _mm_min_epu8(x01, x23));
  }
  for (; a < end; a++) {
    __m128i x = load(a);
    low = _mm_min_epu8(low, _mm_and_si128(_mm_unpackhi_epi64(x, x), mask));
  }
  return (_mm_extract_epi16(low, 0) & 0xff) != 0 && (_mm_extract_epi16(low, 4) & 0xff) != 0;
#else
  return count_used(a, n) == n;
#endif
}

// Sets slots [from, to) of an array part just grown in place to nil.
void clear_grown(State* L, TValue* array, unsigned from, unsigned to) {
  // A nil is all zero bytes: slots on fresh zero pages are nil already,
  // and leaving them alone leaves the pages unfaulted until used (the
  // last doubling of a big array may never be).
  static_assert(static_cast<int>(Tag::Nil) == 0);
  size_t zero = mem_zero_from(L, array, to * sizeof(TValue));
  unsigned filled = static_cast<unsigned>((zero + sizeof(TValue) - 1) / sizeof(TValue));
  // memset, as it streams big fills past the cache.
  if (filled > from) std::memset(static_cast<void*>(array + from), 0, (filled - from) * sizeof(TValue));
}

// Grows the array part to nasize slots, the hash part untouched: all a
// resize does when no entry moves between the parts.
void grow_array(State* L, Table* t, unsigned nasize) {
  if (array_is_inline(t)) {
    if (nasize > t->ainline) {
      auto* array = mem_new_array<TValue>(L, nasize);
      std::copy(t->array, t->array + t->asize, array);
      t->array = array;
    }
    fill_nil(t->array + t->asize, t->array + nasize);
  } else {
    t->array = mem_resize_array<TValue>(L, t->array, t->asize, nasize);
    clear_grown(L, t->array, t->asize, nasize);
  }
  t->asize = nasize;
}

// The used slots of t's array part, counted into nums slice by slice (keys
// (2^(lg-1), 2^lg]).
unsigned count_array(const Table* t, unsigned* nums) {
  unsigned na = 0;
  unsigned key = 1;
  for (int lg = 0; lg <= MAX_ABITS && key <= t->asize; lg++) {
    unsigned lim = std::min(t->asize, 1u << lg);
    unsigned used = count_used(t->array + key - 1, lim - key + 1);
    key = lim + 1;
    nums[lg] += used;
    na += used;
  }
  return na;
}

// rehash's count of t's keys and extra: nums[b] the integer keys in
// (2^(b-1), 2^b], ints all of them that could go to an array part, total
// every key, nodes the hash part's entries.
struct KeyCount {
  unsigned ints;
  size_t total;
  unsigned nodes;
};

KeyCount count_keys(const Table* t, const TValue& extra, unsigned* nums) {
  KeyCount c{count_array(t, nums), 0, 0};
  c.total = c.ints;
  for (unsigned i = 0; i < table_size_node(t); i++) {
    const Node* n = &t->node[i];
    if (n->val.is_nil()) continue;
    if (count_int_key(n->key(), nums)) c.ints++;
    c.nodes++;
  }
  c.total += c.nodes;
  if (count_int_key(extra, nums)) c.ints++;
  c.total++;
  return c;
}

void rehash(State* L, Table* t, const TValue& extra) {
  // Appending to a full power-of-two array with no hash part (a list built
  // by t[#t+1] = v): the general count below would find more than half of
  // 1..2*asize used and nothing else, so it doubles the array; take that
  // result without counting slice by slice.
  unsigned asize = t->asize;
  if (is_dummy(t) && extra.tag == Tag::Int && static_cast<uint64_t>(extra.u.i) == uint64_t(asize) + 1 &&
      asize <= (1u << (MAX_ABITS - 1)) && (asize & (asize - 1)) == 0 && all_used(t->array, asize)) {
    grow_array(L, t, asize == 0 ? 1 : 2 * asize);
    return;
  }
  unsigned nums[MAX_ABITS + 1] = {};
  KeyCount c = count_keys(t, extra, nums);
  asize = compute_array_size(nums, &c.ints);
  table_resize(L, t, asize, static_cast<unsigned>(c.total - c.ints));
}

// Slot for a normalised, valid key; creates it when absent.
TValue* key_slot(State* L, Table* t, const TValue& key) {
  for (;;) {
    const TValue* slot = table_get(t, key);
    if (slot != &table_absent_key) return const_cast<TValue*>(slot);
    // insert_key always fails on the shared empty hash part.
    if (!is_dummy(t))
      if (TValue* v = insert_key(t, key)) return v;
    rehash(L, t, key);
  }
}

// Checks and normalises a key for assignment.
Table* init_empty(Table* t) {
  t->flags = (1u << 6) - 1;  // no fields, so no metamethods
  t->lsizenode = 0;
  t->asize = 0;
  t->lenhint = 0;
  t->ainline = 0;
  t->array = nullptr;
  t->node = &dummy_node;
  t->lastfree = nullptr;
  t->metatable = nullptr;
  t->gclist = nullptr;
  return t;
}

}  // namespace

TValue normalize_key(State* L, const TValue& key) {
  if (key.tag == Tag::Float) {
    Integer i;
    if (float_to_key(key.u.n, &i)) return TValue::integer(i);
    if (key.u.n != key.u.n) run_error(L, "table index is NaN");
  } else if (key.is_nil()) {
    run_error(L, "table index is nil");
  }
  return key;
}

Table* table_new(State* L) { return init_empty(static_cast<Table*>(gc_new_object(L, Tag::Table, sizeof(Table)))); }

namespace {

// An empty table with room for ainline array slots in its own block, the
// first nasize of them its array part (none when ainline is 0).
[[gnu::always_inline]] inline Table* try_new_block(GlobalState* g, unsigned nasize, unsigned ainline) noexcept {
  auto* o = gc_try_new_pooled(g, Tag::Table, sizeof(Table) + ainline * sizeof(TValue));
  if (o == nullptr) return nullptr;
  Table* t = init_empty(static_cast<Table*>(o));
  t->ainline = ainline;
  if (ainline > 0) {
    t->array = inline_slots(t);
    fill_nil(t->array, t->array + nasize);
    t->asize = nasize;
  }
  return t;
}

// table_try_new for a hash part or a large array part.
[[gnu::noinline]] Table* try_new_with_parts(GlobalState* g, unsigned nasize, unsigned nhsize, unsigned ainline) noexcept {
  int lsize = nhsize > 0 ? ceil_log2_u(nhsize) : 0;
  if (nasize > (1u << MAX_ABITS) || lsize > MAX_HBITS) return nullptr;
  Table* t = try_new_block(g, nasize, ainline);
  if (t == nullptr) return nullptr;
  if (ainline == 0 && nasize > 0) {
    // A part that cannot be had leaves t empty, garbage for the collector.
    auto* array = static_cast<TValue*>(mem_try_alloc(g, sizeof(TValue) * nasize));
    if (array == nullptr) return nullptr;
    fill_nil(array, array + nasize);
    t->array = array;
    t->asize = nasize;
  }
  if (nhsize > 0) {
    unsigned size = 1u << lsize;
    auto* node = static_cast<Node*>(mem_try_alloc(g, sizeof(Node) * size));
    if (node == nullptr) return nullptr;
    for (unsigned i = 0; i < size; i++) node[i] = Node();
    t->node = node;
    t->lsizenode = static_cast<uint8_t>(lsize);
    t->lastfree = node + size;
  }
  return t;
}

// table_try_grow_array past the inline slots: a new block.
[[gnu::noinline]] bool try_grow_to_block(State* L, Table* t, unsigned nasize) noexcept {
  GlobalState* g = L->g;
  if (nasize > (1u << MAX_ABITS) || g->gcdebt > 0) return false;
  auto* array = static_cast<TValue*>(mem_try_alloc(g, sizeof(TValue) * nasize));
  if (array == nullptr) return false;
  std::copy(t->array, t->array + t->asize, array);
  fill_nil(array + t->asize, array + nasize);
  free_array(L, t);
  t->array = array;
  t->asize = nasize;
  return true;
}

}  // namespace

const Node* table_dummy_node() noexcept { return &dummy_node; }

unsigned table_inline_slots(unsigned nasize, unsigned reserve) noexcept {
  unsigned ainline = std::min(std::max(nasize, reserve), MAX_INLINE_SLOTS);
  return nasize > ainline ? 0 : ainline;
}

Table* table_try_new(GlobalState* g, unsigned nasize, unsigned nhsize, unsigned reserve) noexcept {
  unsigned ainline = table_inline_slots(nasize, reserve);
  if (nhsize > 0 || nasize > ainline) return try_new_with_parts(g, nasize, nhsize, ainline);
  // The common case: no hash part, the array slots (if any) inline.
  return try_new_block(g, nasize, ainline);
}

bool table_try_grow_array(State* L, Table* t, unsigned nasize) noexcept {
  if (nasize <= t->asize) return true;
  if (!is_dummy(t)) return false;
  if (array_is_inline(t) && nasize <= t->ainline) {  // no allocation, so no collection due
    fill_nil(t->array + t->asize, t->array + nasize);
    t->asize = nasize;
    return true;
  }
  return try_grow_to_block(L, t, nasize);
}

TValue* table_try_key_slot(Table* t, const TValue& key) noexcept {
  const TValue* slot = table_get(t, key);
  TValue* v = slot != &table_absent_key ? const_cast<TValue*>(slot) : insert_key(t, key);
  if (v != nullptr) table_invalidate_tm_cache(t);
  return v;
}

TValue* table_try_append_slot(State* L, Table* t, Integer key) noexcept {
  if (static_cast<uint64_t>(key) - 1 < t->asize) return &t->array[key - 1];
  // Large arrays are the interpreter's: table_resize grows them in place
  // (realloc) and leaves fresh zero pages unfilled, where this copies.
  constexpr unsigned kMaxCopied = 1u << 14;
  if (!is_dummy(t) || static_cast<uint64_t>(key) != uint64_t(t->asize) + 1 || t->asize >= kMaxCopied ||
      L->g->gcdebt > 0)
    return nullptr;
  unsigned n = t->asize, asize;
  if (n != 0 && (n & (n - 1)) == 0) {
    // A power-of-two array (a list built by appends): rehash's count doubles
    // it when every slot is used, and otherwise leaves key to a hash part
    // (more than half of 1..2n used needs all of 1..n).
    if (!all_used(t->array, n)) return nullptr;
    asize = 2 * n;
  } else {
    // rehash's count, for a table whose keys are all in the array part.
    unsigned nums[MAX_ABITS + 1] = {};
    unsigned na = count_array(t, nums);
    if (count_int_key(TValue::integer(key), nums)) na++;
    unsigned total = na;
    asize = compute_array_size(nums, &na);
    if (na != total || asize < static_cast<uint64_t>(key)) return nullptr;  // some keys would go to a hash part
  }
  if (!table_try_grow_array(L, t, asize)) return nullptr;
  table_invalidate_tm_cache(t);  // as table_set's new key
  return &t->array[key - 1];
}

TValue* table_try_set_slot(State* L, Table* t, const TValue& key) noexcept {
  if (TValue* v = table_try_key_slot(t, key)) return v;
  GlobalState* g = L->g;
  if (g->gcdebt > 0) return nullptr;
  // rehash's count (its append shortcut gives the count's result).
  unsigned nums[MAX_ABITS + 1] = {};
  KeyCount c = count_keys(t, key, nums);
  if (compute_array_size(nums, &c.ints) != t->asize) return nullptr;  // entries move between the parts
  // table_resize with the array part kept: only the hash part is new, at
  // least as large as the nodes in use (no integer key of 1..asize is in
  // one), filled in the same order.
  unsigned nhsize = std::max(static_cast<unsigned>(c.total - c.ints), c.nodes);
  int lsize = ceil_log2_u(nhsize);
  if (lsize > MAX_HBITS) return nullptr;
  unsigned size = 1u << lsize;
  auto* node = static_cast<Node*>(mem_try_alloc(g, sizeof(Node) * size));
  if (node == nullptr) return nullptr;
  for (unsigned i = 0; i < size; i++) node[i] = Node();
  Table fresh{};
  fresh.node = node;
  fresh.lsizenode = static_cast<uint8_t>(lsize);
  fresh.lastfree = node + size;
  for (unsigned i = 0; i < table_size_node(t); i++) {
    const Node* n = &t->node[i];
    if (!n->val.is_nil()) *insert_key(&fresh, n->key()) = n->val;
  }
  if (!is_dummy(t)) mem_free_array(L, t->node, size_node(t));
  t->node = fresh.node;
  t->lsizenode = fresh.lsizenode;
  t->lastfree = fresh.lastfree;
  table_invalidate_tm_cache(t);  // as table_set's new key
  return insert_key(t, key);
}

void table_free(State* L, Table* t) {
  if (!is_dummy(t)) release(L, t->node, size_node(t) * sizeof(Node));
  free_array(L, t);
  release(L, t, table_block_size(t));
}


void table_resize(State* L, Table* t, unsigned nasize, unsigned nhsize) {
  if (nasize > (1u << MAX_ABITS)) run_error(L, "table overflow");
  // A constructor's or SETLIST's array on a table without a hash part.
  if (nhsize == 0 && is_dummy(t) && nasize > t->asize) {
    grow_array(L, t, nasize);
    return;
  }
  // Make sure the new hash part can hold every entry that will not fit the
  // new array, whatever the caller asked for.
  unsigned need = 0;
  for (unsigned i = nasize; i < t->asize; i++) need += !t->array[i].is_nil();
  for (unsigned i = 0; i < table_size_node(t); i++) {
    const Node* n = &t->node[i];
    if (n->val.is_nil()) continue;
    if (n->key_tag == Tag::Int && n->key_u.i >= 1 && static_cast<uint64_t>(n->key_u.i) <= nasize) continue;
    need++;
  }
  if (nhsize < need) nhsize = need;

  // Allocate both new parts before touching t: an allocation may run an
  // (emergency) collection, which must see t intact.
  Table fresh{};
  fresh.node = &dummy_node;
  if (nhsize > 0) {
    int lsize = ceil_log2_u(nhsize);
    if (lsize > MAX_HBITS) run_error(L, "table overflow");
    unsigned size = 1u << lsize;
    fresh.node = mem_new_array<Node>(L, size);
    for (unsigned i = 0; i < size; i++) fresh.node[i] = Node();
    fresh.lsizenode = static_cast<uint8_t>(lsize);
    fresh.lastfree = fresh.node + size;
  }
  TValue* array = t->array;
  bool in_inline = array_is_inline(t) && nasize <= t->ainline;
  if (nasize != t->asize && !in_inline) {
    try {
      // Growing reallocates in place (a large block is remapped, not
      // copied and faulted in again): if that fails, t->array is still
      // intact for the emergency collection. Shrinking copies, because the
      // slots past the new size are moved to the hash part below; so does
      // growing out of the inline slots.
      if (nasize > t->asize && !array_is_inline(t))
        t->array = array = mem_resize_array<TValue>(L, t->array, t->asize, nasize);
      else
        array = mem_new_array<TValue>(L, nasize);
    } catch (...) {
      if (!is_dummy(&fresh)) mem_free_array(L, fresh.node, size_node(&fresh));
      throw;
    }
    if (array != t->array) {
      std::copy(t->array, t->array + std::min(nasize, t->asize), array);
      fill_nil(array + std::min(nasize, t->asize), array + nasize);
    } else {
      clear_grown(L, array, t->asize, nasize);
    }
  } else if (nasize > t->asize) {
    fill_nil(array + t->asize, array + nasize);  // inline slots past the old size hold stale values
  }

  // From here on nothing allocates: move the entries over.
  for (unsigned i = nasize; i < t->asize; i++) {
    if (!t->array[i].is_nil()) *insert_key(&fresh, TValue::integer(Integer(i) + 1)) = t->array[i];
  }
  for (unsigned i = 0; i < table_size_node(t); i++) {
    const Node* n = &t->node[i];
    if (n->val.is_nil()) continue;
    if (n->key_tag == Tag::Int && n->key_u.i >= 1 && static_cast<uint64_t>(n->key_u.i) <= nasize)
      array[n->key_u.i - 1] = n->val;
    else
      *insert_key(&fresh, n->key()) = n->val;
  }
  if (!is_dummy(t)) mem_free_array(L, t->node, size_node(t));
  if (array != t->array) free_array(L, t);
  t->array = array;
  t->asize = nasize;
  t->node = fresh.node;
  t->lsizenode = fresh.lsizenode;
  t->lastfree = fresh.lastfree;
}

void table_resize_array(State* L, Table* t, unsigned nasize) { table_resize(L, t, nasize, table_size_node(t)); }

const TValue* table_get_int_hash(Table* t, Integer key) {
  if (is_dummy(t)) return &table_absent_key;  // no hash part (tree[1] on a leaf): no hashing
  Node* n = &t->node[hash_int(key) & (size_node(t) - 1)];
  for (;;) {
    if (n->key_tag == Tag::Int && n->key_u.i == key) return &n->val;
    if (n->next == 0) return &table_absent_key;
    n += n->next;
  }
}

const TValue* table_get_str(Table* t, String* key) {
  if (key->tag == Tag::ShortStr) return table_get_short_str(t, key);
  return get_generic(t, str_value(key), false);
}

const TValue* table_get(Table* t, const TValue& key) {
  switch (key.tag) {
    case Tag::ShortStr: return table_get_short_str(t, key.as_string());
    case Tag::Int: return table_get_int(t, key.u.i);
    case Tag::Nil: return &table_absent_key;
    case Tag::Float: {
      Integer i;
      if (float_to_key(key.u.n, &i)) return table_get_int(t, i);
      return get_generic(t, key, false);
    }
    default:
      if (key.is_nil()) return &table_absent_key;
      return get_generic(t, key, false);
  }
}

TValue* table_new_key_slot(State* L, Table* t, const TValue& key) {
  TValue k = normalize_key(L, key);
  table_invalidate_tm_cache(t);
  return key_slot(L, t, k);
}

void table_set(State* L, Table* t, const TValue& key, const TValue& val) {
  TValue v = val;  // val may live in the table and move on a rehash
  *table_new_key_slot(L, t, key) = v;
  gc_barrier_back(L, t);
}

void table_set_absent(State* L, Table* t, const TValue& key, const TValue& val) {
  // A short string needs no normalising and, absent, goes straight into a
  // free node: no second lookup (a constructor's fields, {code = i}). Its
  // main position (main_position's, from the string's hash) is tried first.
  if (key.tag == Tag::ShortStr && !is_dummy(t)) {
    TValue v = val;  // val may live in the table and move with a node
    Node* mp = &t->node[key.as_string()->hash & (size_node(t) - 1)];
    TValue* slot = nullptr;
    if (mp->val.is_nil()) {
      mp->set_key(key);
      slot = &mp->val;
    } else {
      slot = insert_key(t, key);
    }
    if (slot != nullptr) {
      table_invalidate_tm_cache(t);
      *slot = v;
      gc_barrier_back(L, t);
      return;
    }
  }
  table_set(L, t, key, val);
}

void table_set_int(State* L, Table* t, Integer key, const TValue& val) {
  if (static_cast<uint64_t>(key) - 1 < t->asize) {
    t->array[key - 1] = val;
  } else {
    TValue v = val;
    *key_slot(L, t, TValue::integer(key)) = v;
    table_invalidate_tm_cache(t);
  }
  gc_barrier_back(L, t);
}

Integer table_length(Table* t) {
  unsigned n = t->asize;
  if (n > 0 && t->array[n - 1].is_nil()) {
    // Appending with t[#t+1] moves the border by one between calls, so the
    // last border, or the slot after it, usually still is one.
    unsigned h = t->lenhint;
    if (h < n && (h == 0 || !t->array[h - 1].is_nil())) {
      if (t->array[h].is_nil()) return h;
      if (h + 1 < n && t->array[h + 1].is_nil()) {
        t->lenhint = h + 1;
        return h + 1;
      }
    }
    // A border inside the array: binary search keeping array[lo-1] non-nil
    // (or lo == 0) and array[hi-1] nil.
    unsigned lo = 0, hi = n;
    while (hi - lo > 1) {
      unsigned m = lo + (hi - lo) / 2;
      if (t->array[m - 1].is_nil()) hi = m;
      else lo = m;
    }
    t->lenhint = lo;
    return lo;
  }
  if (is_dummy(t) || table_get_int_hash(t, Integer(n) + 1)->is_nil()) return n;
  // Unbound search in the hash part: double j until t[j] is nil, then
  // binary search between the last non-nil i and j. The keys n+1, n+2, ...
  // all present cannot outnumber the hash slots, so past n + size_node a
  // doubling would only hop over sparse keys towards a far border
  // ({[2^k] = true} would give 2^61, the 5.5 suite's "attack on table
  // length"): there a border is found by single steps, each one a present
  // key, so at most size_node of them. Any border is a correct length.
  uint64_t i = uint64_t(n) + 1, j;
  constexpr uint64_t max = static_cast<uint64_t>(INT64_MAX);
  const uint64_t dense_limit = uint64_t(n) + size_node(t);
  for (;;) {
    if (i * 2 > dense_limit && i < max) {
      while (i < max && !table_get_int(t, Integer(i + 1))->is_nil()) i++;
      return Integer(i);
    }
    if (i <= max / 2) {
      j = i * 2;
    } else {
      j = max;
      if (table_get_int_hash(t, Integer(j))->is_nil()) break;
      return Integer(j);
    }
    if (table_get_int(t, Integer(j))->is_nil()) break;
    i = j;
  }
  while (j - i > 1) {
    uint64_t m = i + (j - i) / 2;
    if (table_get_int(t, Integer(m))->is_nil()) j = m;
    else i = m;
  }
  return Integer(i);
}

bool table_next(State* L, Table* t, TValue* key_and_val) {
  // Position after the given key: array index, then asize + node index.
  TValue key = key_and_val[0];
  unsigned idx;
  if (key.is_nil()) {
    idx = 0;
  } else {
    if (key.tag == Tag::Float) {
      Integer i;
      if (float_to_key(key.u.n, &i)) key = TValue::integer(i);
    }
    if (key.tag == Tag::Int && static_cast<uint64_t>(key.u.i) - 1 < t->asize) {
      idx = static_cast<unsigned>(key.u.i);
    } else {
      const TValue* slot = is_dummy(t) ? &table_absent_key : get_generic(t, key, true);
      if (slot == &table_absent_key) run_error(L, "invalid key to 'next'");
      const Node* n = reinterpret_cast<const Node*>(reinterpret_cast<const char*>(slot) - offsetof(Node, val));
      idx = t->asize + static_cast<unsigned>(n - t->node) + 1;
    }
  }
  for (; idx < t->asize; idx++) {
    if (!t->array[idx].is_nil()) {
      key_and_val[0] = TValue::integer(Integer(idx) + 1);
      key_and_val[1] = t->array[idx];
      return true;
    }
  }
  unsigned nsize = table_size_node(t);
  for (idx -= t->asize; idx < nsize; idx++) {
    const Node* n = &t->node[idx];
    if (!n->val.is_nil()) {
      key_and_val[0] = n->key();
      key_and_val[1] = n->val;
      return true;
    }
  }
  return false;
}

}  // namespace luna
