// Size-class freelists for the core's small blocks (objects, small arrays
// and hash parts), in front of the built-in allocator.
//
// A collection frees a whole cycle's garbage at once and the next phase of
// the program allocates as much again; glibc's fast bins turn that pattern
// into bulk consolidation work, and embedders cannot be expected to tune
// malloc. Here a freed block goes onto its class's list and the next
// allocation of that class takes it back. Blocks are carved from slabs
// taken from the host allocator; slabs are returned when the state closes.
// A host allocator given to new_state sees every block itself, as before.
#include "state.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define LUNA_POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LUNA_POOL_ASAN 1
#endif
#endif
#ifdef LUNA_POOL_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace luna {

namespace {

// Free and not yet carved memory is poisoned under ASan, so a use after
// free of a pooled block is still reported.
void poison(void* p, size_t n) {
#ifdef LUNA_POOL_ASAN
  ASAN_POISON_MEMORY_REGION(p, n);
#else
  (void)p, (void)n;
#endif
}
void unpoison(void* p, size_t n) {
#ifdef LUNA_POOL_ASAN
  ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
  (void)p, (void)n;
#endif
}

size_t class_of(size_t n) { return SmallPool::class_of(n); }
size_t class_size(size_t c) { return SmallPool::class_size(c); }

void push(SmallPool& p, void* b, size_t c) {
  *static_cast<void**>(b) = p.free[c];
  p.free[c] = b;
  poison(b, class_size(c));
}

}  // namespace

void* pool_alloc(GlobalState* g, size_t n) {
  SmallPool& p = g->pool;
  size_t c = class_of(n);
  size_t sz = class_size(c);
  if (void* b = p.free[c]) {
    unpoison(b, sz);
    p.free[c] = *static_cast<void**>(b);
    return b;
  }
  if (static_cast<size_t>(p.bump_end - p.bump) < sz) {
    void* slab = g->frealloc(g->ud, nullptr, 0, SmallPool::SLAB);
    if (slab == nullptr) return nullptr;
    // The old slab's uncarved rest (a whole number of grains, smaller than
    // this class) goes to the small classes, in pieces of at most MAX.
    while (p.bump_end != p.bump) {
      size_t rest = static_cast<size_t>(p.bump_end - p.bump);
      if (rest > SmallPool::MAX) rest = SmallPool::MAX;
      unpoison(p.bump, rest);
      push(p, p.bump, class_of(rest));
      p.bump += rest;
    }
    *static_cast<void**>(slab) = p.slabs;
    p.slabs = slab;
    // The first grain holds the link, keeping every block 16-byte aligned.
    p.bump = static_cast<char*>(slab) + SmallPool::GRAIN;
    p.bump_end = static_cast<char*>(slab) + SmallPool::SLAB;
    poison(p.bump, static_cast<size_t>(p.bump_end - p.bump));
  }
  void* b = p.bump;
  p.bump += sz;
  unpoison(b, sz);
  return b;
}

void pool_free(GlobalState* g, void* b, size_t n) { push(g->pool, b, class_of(n)); }

void pool_release(GlobalState* g) {
  SmallPool& p = g->pool;
  for (void* s = p.slabs; s != nullptr;) {
    void* next = *static_cast<void**>(s);
    unpoison(s, SmallPool::SLAB);
    g->frealloc(g->ud, s, SmallPool::SLAB, 0);
    s = next;
  }
  p = SmallPool{};
}

}  // namespace luna
