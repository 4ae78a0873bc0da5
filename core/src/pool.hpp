// The freelist ends of the small-block pool (pool.cpp), inline so that the
// allocator's common case (gc.cpp: mem_alloc, mem_free) makes no call.
#pragma once

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

// Free and not yet carved memory is poisoned under ASan, so a use after
// free of a pooled block is still reported.
inline void pool_poison(void* p, size_t n) {
#ifdef LUNA_POOL_ASAN
  ASAN_POISON_MEMORY_REGION(p, n);
#else
  (void)p, (void)n;
#endif
}
inline void pool_unpoison(void* p, size_t n) {
#ifdef LUNA_POOL_ASAN
  ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
  (void)p, (void)n;
#endif
}

// A freed block of class c goes back on its list.
inline void pool_push(SmallPool& p, void* b, size_t c) {
  *static_cast<void**>(b) = p.free[c];
  p.free[c] = b;
  pool_poison(b, SmallPool::class_size(c));
}

// The last freed block of n's class (SmallPool::pooled_size(n)), or
// nullptr when its list is empty (pool_alloc then carves one).
inline void* pool_pop(SmallPool& p, size_t n) {
  size_t c = SmallPool::class_of(n);
  void* b = p.free[c];
  if (b != nullptr) {
    pool_unpoison(b, SmallPool::class_size(c));
    p.free[c] = *static_cast<void**>(b);
  }
  return b;
}

// mem_try_alloc's common case, inline for compiled code's objects: a block
// of a pooled size within the memory limit from its freelist, counted as
// mem_alloc counts it; nullptr where mem_try_alloc must take the general way.
inline void* pool_try_take(GlobalState* g, size_t size) noexcept {
  if (!g->pooled || !SmallPool::pooled_size(size) || (g->memlimit != 0 && g->totalbytes + size > g->memlimit))
    return nullptr;
  void* b = pool_pop(g->pool, size);
  if (b != nullptr) {
    g->totalbytes += size;
    g->gcdebt += static_cast<ptrdiff_t>(size);
  }
  return b;
}

// pool_try_take for a size of at most MAX, also carving from the newest
// slab when the freelist is empty (as pool_alloc would, without its call):
// new strings are mostly made while their class's list is empty.
inline void* pool_try_carve(GlobalState* g, size_t size) noexcept {
  if (!g->pooled || (g->memlimit != 0 && g->totalbytes + size > g->memlimit)) return nullptr;
  SmallPool& p = g->pool;
  size_t c = SmallPool::class_of(size);
  void* b = p.free[c];
  if (b != nullptr) {
    pool_unpoison(b, SmallPool::class_size(c));
    p.free[c] = *static_cast<void**>(b);
  } else {
    size_t sz = SmallPool::class_size(c);
    if (static_cast<size_t>(p.bump_end - p.bump) < sz) return nullptr;
    b = p.bump;
    p.bump += sz;
    pool_unpoison(b, sz);
  }
  g->totalbytes += size;
  g->gcdebt += static_cast<ptrdiff_t>(size);
  return b;
}

// mem_free's common case, inline for the sweep: a pooled block back on its
// freelist, uncounted; false where mem_free must take the general way.
inline bool pool_try_give(GlobalState* g, void* block, size_t size) noexcept {
  if (!g->pooled || !SmallPool::pooled_size(size)) return false;
  pool_push(g->pool, block, SmallPool::class_of(size));
  g->totalbytes -= size;
  g->gcdebt -= static_cast<ptrdiff_t>(size);
  return true;
}

// A new object's header, linked into allgc.
inline GCObject* gc_link_new(GlobalState* g, void* block, Tag tag) noexcept {
  auto* o = static_cast<GCObject*>(block);
  o->tag = tag;
  o->marked = 0;
  o->next = g->allgc;
  g->allgc = o;
  return o;
}

// gc_try_new_object, inline while the freelist has blocks.
inline GCObject* gc_try_new_pooled(GlobalState* g, Tag tag, size_t size) noexcept {
  if (g->gcdebt > 0) return nullptr;
  if (void* b = pool_try_take(g, size)) return gc_link_new(g, b, tag);
  return gc_try_new_object(g, tag, size);
}

}  // namespace luna
