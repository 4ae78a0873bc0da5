// The built-in allocator's own management: size-class freelists for the
// core's small blocks (objects, small arrays and hash parts), and
// mappings of their own for large ones (LargeBlocks in state.hpp).
//
// A collection frees a whole cycle's garbage at once and the next phase of
// the program allocates as much again; glibc's fast bins turn that pattern
// into bulk consolidation work, and embedders cannot be expected to tune
// malloc. Here a freed block goes onto its class's list and the next
// allocation of that class takes it back. Blocks are carved from slabs
// taken from the host allocator; slabs are returned when the state closes.
// A host allocator given to new_state sees every block itself, as before.
#include <algorithm>
#include <cstdint>

#ifdef __linux__
#include <sys/mman.h>
#include <sys/sysinfo.h>
#endif

#include "pool.hpp"

namespace luna {

void* pool_alloc(GlobalState* g, size_t n) {
  SmallPool& p = g->pool;
  if (void* b = pool_pop(p, n)) return b;
  size_t sz = SmallPool::class_size(SmallPool::class_of(n));
  if (static_cast<size_t>(p.bump_end - p.bump) < sz) {
    void* slab = g->frealloc(g->ud, nullptr, 0, SmallPool::SLAB);
    if (slab == nullptr) return nullptr;
    // The old slab's uncarved rest (a whole number of grains, smaller than
    // this class) goes to the small classes, in pieces of at most MAX.
    while (p.bump_end != p.bump) {
      size_t rest = static_cast<size_t>(p.bump_end - p.bump);
      if (rest > SmallPool::MAX) rest = SmallPool::MAX;
      pool_unpoison(p.bump, rest);
      pool_push(p, p.bump, SmallPool::class_of(rest));
      p.bump += rest;
    }
    *static_cast<void**>(slab) = p.slabs;
    p.slabs = slab;
    // The first grain holds the link, keeping every block 16-byte aligned.
    p.bump = static_cast<char*>(slab) + SmallPool::GRAIN;
    p.bump_end = static_cast<char*>(slab) + SmallPool::SLAB;
    pool_poison(p.bump, static_cast<size_t>(p.bump_end - p.bump));
  }
  void* b = p.bump;
  p.bump += sz;
  pool_unpoison(b, sz);
  return b;
}

void pool_free(GlobalState* g, void* b, size_t n) { pool_push(g->pool, b, SmallPool::class_of(n)); }

void pool_release(GlobalState* g) {
  SmallPool& p = g->pool;
  for (void* s = p.slabs; s != nullptr;) {
    void* next = *static_cast<void**>(s);
    pool_unpoison(s, SmallPool::SLAB);
    g->frealloc(g->ud, s, SmallPool::SLAB, 0);
    s = next;
  }
  p = SmallPool{};
}

#ifdef __linux__
namespace {

constexpr size_t PAGE = 4096;
constexpr size_t HUGE_PAGE = LargeBlocks::MIN;

// A large block's mapping is a header page, then the data from a 2 MiB
// boundary on: huge pages back the data from its first byte, and the
// power-of-two arrays tables grow fill whole huge pages.
struct LargeHeader {
  size_t cap;   // bytes mapped for the data
  size_t size;  // bytes the core asked for
  size_t zero;  // the data from here on was never handed out: zero bytes
};
LargeHeader* header_of(void* data) { return reinterpret_cast<LargeHeader*>(static_cast<char*>(data) - PAGE); }
char* base_of(void* data) { return static_cast<char*>(data) - PAGE; }
size_t round_huge(size_t n) { return (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1); }

// Address space for cap bytes of data at a 2 MiB boundary after a header
// page; nullptr when the system refuses.
char* reserve_aligned(size_t cap) {
  size_t len = PAGE + cap + HUGE_PAGE;
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  char* base = static_cast<char*>(p);
  auto at = (reinterpret_cast<uintptr_t>(base) + PAGE + HUGE_PAGE - 1) & ~uintptr_t(HUGE_PAGE - 1);
  char* data = reinterpret_cast<char*>(at);
  if (data - PAGE > base) munmap(base, static_cast<size_t>(data - PAGE - base));
  if (data + cap < base + len) munmap(data + cap, static_cast<size_t>(base + len - (data + cap)));
  return data;
}

// Unpoisoned first: the addresses may be mapped again by anyone.
void unmap_block(void* data) {
  pool_unpoison(data, header_of(data)->cap);
  munmap(base_of(data), PAGE + header_of(data)->cap);
}

// Gives back the mapped data past the block's size (rounded to huge pages).
void trim(void* data) {
  LargeHeader* h = header_of(data);
  size_t keep = round_huge(h->size);
  if (keep >= h->cap) return;
  pool_unpoison(static_cast<char*>(data) + keep, h->cap - keep);
  munmap(static_cast<char*>(data) + keep, h->cap - keep);
  h->cap = keep;
  if (h->zero > keep) h->zero = keep;
}

// Sets the block's size; under ASan the mapped rest is poisoned.
void* set_size(void* data, size_t size) {
  LargeHeader* h = header_of(data);
  if (h->zero < h->size) h->zero = h->size;  // the core may have written all it had
  h->size = size;
  pool_unpoison(data, size);
  pool_poison(static_cast<char*>(data) + size, h->cap - size);
  return data;
}

// Of the block's first n bytes, those from the returned offset on are zero.
// Without swap, a page of a private anonymous mapping that is not resident
// was never written (or was given back, which zeroes it): the kernel's
// count is exact where the core's high-water mark (its largest size) is
// not. sieve.lua's array reaches 4 Mi slots (64 MiB) but writes 3 Mi: the
// next lender of this block then neither clears nor faults in the rest.
size_t zero_from(void* data, size_t n) {
  struct sysinfo si;
  if (sysinfo(&si) != 0 || si.totalswap != 0) return n;
  unsigned char resident[1024];
  constexpr size_t CHUNK = sizeof(resident) * PAGE;
  for (size_t end = (n + PAGE - 1) & ~(PAGE - 1); end > 0;) {
    size_t len = end < CHUNK ? end : CHUNK;
    char* from = static_cast<char*>(data) + (end - len);
    if (mincore(from, len, resident) != 0) return n;
    for (size_t pg = len / PAGE; pg > 0; pg--)
      if (resident[pg - 1] & 1) return std::min(n, end - len + pg * PAGE);
    end -= len;
  }
  return 0;
}

void* map_block(size_t size) {
  size_t cap = round_huge(size);
  char* data = reserve_aligned(cap);
  if (data == nullptr) return nullptr;
  // The whole mapping: advising only the data would split it in two, and
  // mremap moves one mapping only.
  madvise(base_of(data), PAGE + cap, MADV_HUGEPAGE);
  header_of(data)->cap = cap;
  return set_size(data, size);
}

// Moves the block to a bigger aligned mapping: its pages move along, huge
// ones whole, with no copy and no new faults.
void* grow_block(void* data, size_t size) {
  size_t cap = round_huge(size);
  char* to = reserve_aligned(cap);
  if (to == nullptr) return nullptr;
  pool_unpoison(data, header_of(data)->cap);
  void* r = mremap(base_of(data), PAGE + header_of(data)->cap, PAGE + cap, MREMAP_MAYMOVE | MREMAP_FIXED, base_of(to));
  if (r == MAP_FAILED) {
    munmap(base_of(to), PAGE + cap);
    pool_poison(static_cast<char*>(data) + header_of(data)->size, header_of(data)->cap - header_of(data)->size);
    return nullptr;
  }
  header_of(to)->cap = cap;
  return set_size(to, size);
}

}  // namespace

void* large_realloc(GlobalState* g, void* block, size_t osize, size_t nsize) {
  LargeBlocks& lb = g->large;
  if (nsize > SIZE_MAX / 2) return nullptr;
  if (block == nullptr) {
    if (lb.spare != nullptr && header_of(lb.spare)->cap >= nsize) {
      // At most one block holds more than its size: the last one lent.
      if (lb.lent != nullptr) trim(lb.lent);
      lb.lent = lb.spare;
      lb.spare = nullptr;
      return set_size(lb.lent, nsize);
    }
    return map_block(nsize);
  }
  if (nsize > header_of(block)->cap) {
    void* moved = grow_block(block, nsize);  // no room beyond its size now
    if (moved != nullptr && block == lb.lent) lb.lent = nullptr;
    return moved;
  }
  if (block == lb.lent && (nsize == 0 || nsize < osize)) lb.lent = nullptr;  // freed, or trimmed below
  if (nsize == 0) {
    if (g->memlimit == 0 && (lb.spare == nullptr || header_of(lb.spare)->cap <= header_of(block)->cap)) {
      if (lb.spare != nullptr) unmap_block(lb.spare);
      lb.spare = set_size(block, 0);
      header_of(block)->zero = zero_from(block, header_of(block)->zero);
      lb.spare_since = clock_ns();
    } else {
      unmap_block(block);
    }
    return nullptr;
  }
  set_size(block, nsize);
  if (nsize < osize) trim(block);
  return block;
}

size_t large_zero_from(const void* block) { return header_of(const_cast<void*>(block))->zero; }

void large_drop_spare(GlobalState* g, bool unused_only) {
  LargeBlocks& lb = g->large;
  if (!unused_only && lb.lent != nullptr) {
    trim(lb.lent);
    lb.lent = nullptr;
  }
  if (lb.spare == nullptr || (unused_only && clock_ns() - lb.spare_since < LargeBlocks::SPARE_NS)) return;
  unmap_block(lb.spare);
  lb.spare = nullptr;
}
#else
void* large_realloc(GlobalState*, void*, size_t, size_t) { return nullptr; }
size_t large_zero_from(const void*) { return SIZE_MAX; }
void large_drop_spare(GlobalState*, bool) {}
#endif

}  // namespace luna
