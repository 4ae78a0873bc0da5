// Strings: interning of short strings in the global string table, long
// strings with a lazily computed hash, and full userdata allocation.
#include <cstring>

#include "object_layout.hpp"
#include "pool.hpp"
#include "short_bytes.hpp"
#include "state.hpp"

namespace luna {

namespace {

constexpr int MIN_STRTAB_SIZE = 128;

size_t string_alloc_size(size_t len) { return layout::STRING_DATA + len + 1; }  // plus the '\0'

// Largest length whose allocation size cannot overflow size_t.
constexpr size_t MAX_STRING_LEN = (~size_t(0) >> 1) - layout::STRING_DATA - 1;

String* create_string(State* L, Tag tag, size_t len, uint32_t hash) {
  if (len >= MAX_STRING_LEN) run_error(L, "memory allocation error: block too big");
  size_t size = string_alloc_size(len);
  void* b = size <= SmallPool::MAX ? pool_try_carve(L->g, size) : nullptr;
  auto* s = static_cast<String*>(b != nullptr ? gc_link_new(L->g, b, tag) : gc_new_object(L, tag, size));
  s->reserved = 0;
  s->has_hash = 0;
  s->hash = hash;
  s->len = len;
  s->hnext = nullptr;
  s->data[len] = '\0';
  return s;
}

// Moves every chain of `from` (size `from_size`) into `to` (size `to_size`, zeroed).
void rehash_into(String** from, int from_size, String** to, int to_size) {
  for (int i = 0; i < from_size; i++) {
    String* s = from[i];
    while (s != nullptr) {
      String* next = s->hnext;
      unsigned h = s->hash & static_cast<unsigned>(to_size - 1);
      s->hnext = to[h];
      to[h] = s;
      s = next;
    }
  }
}

// The 128-bit product's halves folded together: every bit of x reaches
// every bit of the result, where a 64-bit product's high bits never reach
// its low ones (which pick buckets).
inline uint64_t fold_mul(uint64_t x) {
  __extension__ using u128 = unsigned __int128;
  u128 r = u128(x) * 0x9E3779B97F4A7C15u;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

// str_hash, inline for interning. Eight bytes at a time, each word folded
// in with a multiply; the last 1 to 8 bytes as one word from overlapping
// loads (first, middle and last byte below 4), so the strings of one
// length are distinct words. The start mixes the seed with the length, so
// strings of different lengths do not collide in a pattern that holds
// for every seed.
inline uint32_t hash_bytes(const char* s, size_t len, uint32_t seed) {
  uint64_t h = ((uint64_t(seed) << 32) | uint32_t(len)) * 0x9E3779B97F4A7C15u;
  size_t n = len;
  for (; n > 8; n -= 8, s += 8) h = fold_mul(h ^ bytes::load64(s));
  uint64_t w = 0;
  if (n >= 4)
    w = bytes::load32(s) | uint64_t(bytes::load32(s + n - 4)) << 32;
  else if (n > 0)
    w = uint64_t(static_cast<unsigned char>(s[0])) | uint64_t(static_cast<unsigned char>(s[n / 2])) << 8 |
        uint64_t(static_cast<unsigned char>(s[n - 1])) << 16;
  h = fold_mul(h ^ w);
  return static_cast<uint32_t>(h ^ (h >> 32));
}

// The interned string of str[0..len) whose hash is h, or nullptr. The
// stored hash is compared first: a chain's other strings almost never
// share it, so the bytes are compared about once, for the match.
inline String* find_interned(const StringTable& tb, const char* str, size_t len, uint32_t h) {
  for (String* s = tb.hash[h & static_cast<unsigned>(tb.size - 1)]; s != nullptr; s = s->hnext)
    if (s->hash == h && s->len == len && bytes::equal(s->data, str, len)) return s;
  return nullptr;
}

// One-byte strings (string.char, s:sub(i, i)) are found by their byte,
// without hashing or a bucket walk: each is fixed when first made.
inline String* find_one_byte(const GlobalState* g, const char* str, size_t len) {
  return len == 1 ? g->onebyte[static_cast<unsigned char>(str[0])] : nullptr;
}

// s, just made and so first in allgc (gc_fix finds it at once), kept.
void keep_one_byte(GlobalState* g, String* s) {
  gc_fix(g->mainthread, s);
  g->onebyte[static_cast<unsigned char>(s->data[0])] = s;
}

// A new short string with hash h, added to the string table. Out of line,
// so that the lookup that finds an existing string (most calls) saves few
// registers.
[[gnu::noinline]] String* intern_new(State* L, const char* str, size_t len, uint32_t h) {
  GlobalState* g = L->g;
  if (g->strt.nuse >= g->strt.size && g->strt.size <= (1 << 29)) str_table_resize(L, g->strt.size * 2);
  String* s = create_string(L, Tag::ShortStr, len, h);
  bytes::copy(s->data, str, len);
  // Bucket computed only now: allocating may have run a collection.
  String** bucket = &g->strt.hash[h & static_cast<unsigned>(g->strt.size - 1)];
  s->hnext = *bucket;
  *bucket = s;
  g->strt.nuse++;
  if (len == 1) keep_one_byte(g, s);
  return s;
}

// A long string holding a copy of str[0..len).
[[gnu::noinline]] String* new_long_copy(State* L, const char* str, size_t len) {
  String* ts = str_new_long(L, len);
  std::memcpy(ts->data, str, len);
  return ts;
}

}  // namespace

uint32_t str_hash(const char* s, size_t len, uint32_t seed) { return hash_bytes(s, len, seed); }

uint32_t str_hash_long(String* ts) {
  if (!ts->has_hash) {
    // Until hashed, `hash` holds the state's seed (stored at creation).
    ts->hash = hash_bytes(ts->data, ts->len, ts->hash);
    ts->has_hash = 1;
  }
  return ts->hash;
}

bool str_equal(const String* a, const String* b) {
  if (a == b) return true;
  if (a->tag == Tag::ShortStr && b->tag == Tag::ShortStr) return false;  // interned
  return a->len == b->len && std::memcmp(a->data, b->data, a->len) == 0;
}

String* str_new(State* L, const char* s, size_t len) {
  if (len > MAX_SHORT_LEN) return new_long_copy(L, s, len);
  if (String* found = find_one_byte(L->g, s, len)) return found;
  uint32_t h = hash_bytes(s, len, L->g->seed);
  if (String* found = find_interned(L->g->strt, s, len, h)) return found;
  return intern_new(L, s, len, h);
}

namespace {

// str_try_new's allocation: a string of len bytes with hash h, copied from
// str unless that is null (a long string the caller fills), a short one
// linked into its bucket (the table has room: the caller checked).
[[gnu::noinline]] String* try_create(GlobalState* g, Tag tag, const char* str, size_t len, uint32_t h) noexcept {
  size_t size = string_alloc_size(len);
  String* s;
  if (tag == Tag::ShortStr && g->gcdebt <= 0) {
    static_assert(layout::STRING_DATA + MAX_SHORT_LEN + 1 <= SmallPool::MAX);
    void* b = pool_try_carve(g, size);
    s = static_cast<String*>(b != nullptr ? gc_link_new(g, b, tag) : gc_try_new_object(g, tag, size));
  } else {
    s = static_cast<String*>(gc_try_new_object(g, tag, size));
  }
  if (s == nullptr) return nullptr;
  s->reserved = 0;
  s->has_hash = 0;
  s->hash = h;
  s->len = len;
  s->hnext = nullptr;
  s->data[len] = '\0';
  if (tag == Tag::ShortStr) {
    bytes::copy(s->data, str, len);
    String** bucket = &g->strt.hash[h & static_cast<unsigned>(g->strt.size - 1)];
    s->hnext = *bucket;
    *bucket = s;
    g->strt.nuse++;
    if (len == 1) keep_one_byte(g, s);
  } else if (str != nullptr) {
    std::memcpy(s->data, str, len);
  }
  return s;
}

}  // namespace

String* str_try_new(GlobalState* g, const char* str, size_t len) noexcept {
  if (len <= MAX_SHORT_LEN) {
    if (String* s = find_one_byte(g, str, len)) return s;
    uint32_t h = hash_bytes(str, len, g->seed);
    if (String* s = find_interned(g->strt, str, len, h)) return s;
    if (g->strt.nuse >= g->strt.size) return nullptr;  // intern would grow the table
    return try_create(g, Tag::ShortStr, str, len, h);
  }
  if (len >= MAX_STRING_LEN) return nullptr;
  return try_create(g, Tag::LongStr, str, len, g->seed);
}

String* str_new_cstr(State* L, const char* s) { return str_new(L, s, std::strlen(s)); }

String* str_new_long(State* L, size_t len) { return create_string(L, Tag::LongStr, len, L->g->seed); }

void str_table_init(State* L) {
  StringTable& tb = L->g->strt;
  tb.hash = mem_new_array<String*>(L, MIN_STRTAB_SIZE);
  std::memset(tb.hash, 0, sizeof(String*) * MIN_STRTAB_SIZE);
  tb.size = MIN_STRTAB_SIZE;
  tb.nuse = 0;
}

void str_table_resize(State* L, int newsize) {
  GlobalState* g = L->g;
  StringTable& tb = g->strt;
  if (newsize < MIN_STRTAB_SIZE || newsize == tb.size) return;
  String** fresh;
  if (newsize > tb.size) {
    // Growing may raise a memory error (after an emergency collection).
    fresh = mem_new_array<String*>(L, size_t(newsize));
  } else {
    // Shrinking runs at the end of a collection, where raising is not
    // allowed: allocate directly and simply keep the old table on failure.
    // Freed later by mem_free_array, so it must be too big for the pool.
    static_assert(MIN_STRTAB_SIZE * sizeof(String*) > SmallPool::MAX);
    size_t bytes = sizeof(String*) * size_t(newsize);
    fresh = static_cast<String**>(block_realloc(g, nullptr, 0, bytes));
    if (fresh == nullptr) return;
    g->totalbytes += bytes;
    g->gcdebt += static_cast<ptrdiff_t>(bytes);
  }
  std::memset(fresh, 0, sizeof(String*) * size_t(newsize));
  // Read the table only after allocating: a collection may have changed it.
  rehash_into(tb.hash, tb.size, fresh, newsize);
  mem_free_array(L, tb.hash, size_t(tb.size));
  tb.hash = fresh;
  tb.size = newsize;
}

void str_remove_dead(State* L, String* s) {
  StringTable& tb = L->g->strt;
  String** p = &tb.hash[s->hash & static_cast<unsigned>(tb.size - 1)];
  while (*p != s) p = &(*p)->hnext;
  *p = s->hnext;
  tb.nuse--;
}

void str_free(State* L, String* s) {
  size_t size = string_alloc_size(s->len);
  if (s->tag == Tag::ShortStr) {
    str_remove_dead(L, s);
    // The sweep frees many short strings: their block back on its list
    // inline, without mem_free's call.
    if (pool_try_give(L->g, s, size)) return;
  }
  mem_free(L, s, size);
}

Udata* udata_new(State* L, size_t size, int nuvalue) {
  if (nuvalue < 0 || nuvalue > 0xFFFF) run_error(L, "invalid number of user values");
  size_t header = Udata::header_size(nuvalue);
  if (size > (~size_t(0) >> 1) - header) run_error(L, "memory allocation error: block too big");
  auto* u = static_cast<Udata*>(gc_new_object(L, Tag::Userdata, header + size));
  u->nuvalue = static_cast<uint16_t>(nuvalue);
  u->len = size;
  u->metatable = nullptr;
  u->gclist = nullptr;
  for (int i = 0; i < nuvalue; i++) u->uv[i] = TValue::nil();
  return u;
}

}  // namespace luna
