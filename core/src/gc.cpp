// Memory accounting and the garbage collector.
//
// The collector is stop-the-world: a cycle marks everything reachable from
// the roots in one go (tri-colour: white = unmarked, gray = on the gray list
// waiting to be traversed, black = traversed), clears weak tables, separates
// unreachable objects with finalizers, and sweeps. Because no Lua code or
// mutation happens while a cycle runs, no write barrier is needed: the
// gc_barrier* entry points (state.hpp) are deliberately empty, kept so that callers
// already mark the places an incremental collector would need.
#include <cstring>

#include "pool.hpp"
#include "state.hpp"

namespace luna {

namespace {

// Bits of GCObject::marked.
constexpr uint8_t BLACK = 1 << 0;    // reached in the current cycle (gray or black)
constexpr uint8_t FIXED = 1 << 1;    // in g->fixedgc, never collected
constexpr uint8_t FINOBJ = 1 << 2;   // in finobj or tobefnz (has a pending finalizer)


// Fewest bytes to allocate between two automatic cycles, so a tiny heap or
// a tiny pause does not make every safe point collect.
constexpr size_t MIN_GROWTH = 16 * 1024;

constexpr int MIN_STRTAB_SIZE = 128;

// Array parts up to this many slots are marked without prefetching first.
constexpr unsigned PREFETCH_MIN_SLOTS = 4;

bool is_white(const GCObject* o) { return !(o->marked & (BLACK | FIXED)); }

// The gclist field of objects that are traversed through the gray list.
GCObject** gclist_of(GCObject* o) {
  switch (o->tag) {
    case Tag::Table: return &static_cast<Table*>(o)->gclist;
    case Tag::LClosure: return &static_cast<LClosure*>(o)->gclist;
    case Tag::NClosure: return &static_cast<NClosure*>(o)->gclist;
    case Tag::Userdata: return &static_cast<Udata*>(o)->gclist;
    case Tag::Proto: return &static_cast<Proto*>(o)->gclist;
    case Tag::Thread: return &static_cast<State*>(o)->gclist;
    default: return nullptr;
  }
}

bool is_small(size_t n) { return SmallPool::pooled_size(n); }

void* raw_realloc(GlobalState* g, void* block, size_t osize, size_t nsize) {
  if (nsize > osize && g->memlimit != 0 && g->totalbytes - osize + nsize > g->memlimit) return nullptr;
  return block_realloc(g, block, osize, nsize);
}

// Where the built-in allocator keeps a block of n > 0 bytes.
enum class Keeper { Pool, Host, Large };
Keeper keeper_of(size_t n) { return is_small(n) ? Keeper::Pool : is_large(n) ? Keeper::Large : Keeper::Host; }

// An emergency collection may run only in a complete state (nilvalue is nil
// once construction ends), outside any collection, compilation, finalizer
// or close.
bool can_collect_in_emergency(GlobalState* g) {
  return g->nilvalue.is_nil() && !g->gcstopem && !(g->gcstp & GCSTP_INTERNAL);
}

// After a futile emergency collection, wall time spent elsewhere per unit of
// time it took, before the next one may run.
constexpr int64_t EMERGENCY_IDLE_FACTOR = 4;

bool emergency_allowed(GlobalState* g) {
  return g->emergency_next_ns == 0 || clock_ns() >= g->emergency_next_ns;
}

// One stop-the-world cycle.
class Collector {
 public:
  Collector(State* L) : L_(L), g_(L->g) {}

  void run() {
    g_->gray = g_->weak = g_->ephemeron = g_->allweak = nullptr;
    mark_roots();
    propagate_all();
    if (dialect(L_).upval_remark) {
      remark_upvals();
      remarked_ = true;
      propagate_all();
    }
    converge_ephemerons();
    // Everything strongly reachable is marked. Weak values referring to
    // objects about to be finalized go now, before those are resurrected.
    clear_by_values(g_->weak);
    clear_by_values(g_->allweak);
    separate_unreachable_finobj(false);
    for (GCObject* o = g_->tobefnz; o != nullptr; o = o->next) mark_object_opt(o);
    propagate_all();
    converge_ephemerons();
    clear_by_keys(g_->ephemeron);
    clear_by_keys(g_->allweak);
    clear_by_values(g_->weak);
    clear_by_values(g_->allweak);
    prune_twups();
    sweep(&g_->allgc);
    sweep(&g_->finobj);
    whiten(g_->tobefnz);
    whiten(g_->fixedgc);
    g_->gray = g_->weak = g_->ephemeron = g_->allweak = nullptr;
  }

  // Moves unreachable objects (all of them when `all`) from finobj to the
  // end of tobefnz, keeping their order.
  void separate_unreachable_finobj(bool all) {
    GCObject** last = &g_->tobefnz;
    while (*last != nullptr) last = &(*last)->next;
    GCObject** p = &g_->finobj;
    while (GCObject* o = *p) {
      if (!all && !is_white(o)) {
        p = &o->next;
        continue;
      }
      *p = o->next;
      o->next = nullptr;
      *last = o;
      last = &o->next;
    }
  }

 private:
  void mark_value(const TValue& v) {
    if (v.is_collectable() && is_white(v.u.gc)) mark_object(v.u.gc);
  }
  void mark_object_opt(GCObject* o) {
    if (o != nullptr && is_white(o)) mark_object(o);
  }

  // A white table made black, or gray when it has anything to traverse.
  void blacken_table(Table* t) {
    t->marked |= BLACK;
    // A table with no array slots, no hash part and no metatable (a tree's
    // leaf, an empty list) has nothing to traverse: black at once.
    if (t->asize == 0 && t->lastfree == nullptr && t->metatable == nullptr) return;
    t->gclist = g_->gray;
    g_->gray = t;
  }

  void mark_object(GCObject* o) {
    // Tables first: most of a big heap, and no switch to find their link.
    if (o->tag == Tag::Table) {
      blacken_table(static_cast<Table*>(o));
      return;
    }
    o->marked |= BLACK;
    switch (o->tag) {
      case Tag::ShortStr:
      case Tag::LongStr:
        break;  // no children
      case Tag::UpVal: {
        auto* uv = static_cast<UpVal*>(o);
        if (uv->v != nullptr) mark_value(*uv->v);
        break;
      }
      default:
        if (GCObject** link = gclist_of(o)) {
          *link = g_->gray;
          g_->gray = o;
        }
        break;
    }
  }

  void mark_roots() {
    // The main thread may live outside allgc (allocated with the global
    // state), so no sweep whitens it: start it afresh here.
    if (g_->mainthread != nullptr) g_->mainthread->marked &= static_cast<uint8_t>(~BLACK);
    mark_object_opt(g_->mainthread);
    mark_object_opt(L_);
    mark_value(g_->l_registry);
    for (Table* mt : g_->mt) mark_object_opt(mt);
    mark_object_opt(g_->memerrmsg);
    jit_mark_roots(g_, marker_);
    // Fixed objects are marked too, so whatever they refer to survives.
    for (GCObject* o = g_->fixedgc; o != nullptr; o = o->next) {
      if (!(o->marked & BLACK)) mark_object(o);
    }
    // Objects still waiting for their finalizer (from an earlier cycle).
    for (GCObject* o = g_->tobefnz; o != nullptr; o = o->next) mark_object_opt(o);
  }

  // 5.3's collector marks, once, what the open upvalues of an unreachable
  // coroutine hold if made or reached by a closure since the previous
  // collection (before this remark).
  void remark_upvals() {
    for (State* th = g_->twups; th != nullptr; th = th->twups) {
      if (!is_white(th)) continue;
      for (UpVal* uv = th->openupval; uv != nullptr; uv = uv->u.open.next) {
        if (!uv->touched) continue;
        uv->touched = 0;
        mark_value(*uv->v);
      }
    }
  }

  void propagate_all() {
    while (GCObject* o = g_->gray) {
      // Tables as in mark_object, and traversed inline (-4.5% instructions
      // in binary_trees, whose collector is mostly this loop).
      if (o->tag == Tag::Table) {
        auto* t = static_cast<Table*>(o);
        g_->gray = t->gclist;
        traverse_table(t);
        continue;
      }
      g_->gray = *gclist_of(o);
      traverse_other(o);
    }
  }

  // A gray object other than a table.
  void traverse_other(GCObject* o) {
    switch (o->tag) {
      case Tag::LClosure: {
        auto* cl = static_cast<LClosure*>(o);
        mark_object_opt(cl->p);
        for (int i = 0; i < cl->nupvalues; i++) {
          UpVal* uv = cl->upvals[i];
          if (uv == nullptr) continue;
          if (!remarked_ && uv->is_open()) uv->touched = 1;
          mark_object_opt(uv);
        }
        break;
      }
      case Tag::NClosure: {
        auto* cl = static_cast<NClosure*>(o);
        for (int i = 0; i < cl->nupvalues; i++) mark_value(cl->upvalue[i]);
        break;
      }
      case Tag::Userdata: {
        auto* u = static_cast<Udata*>(o);
        mark_object_opt(u->metatable);
        for (int i = 0; i < u->nuvalue; i++) mark_value(u->uv[i]);
        break;
      }
      case Tag::Proto: traverse_proto(static_cast<Proto*>(o)); break;
      case Tag::Thread: traverse_thread(static_cast<State*>(o)); break;
      default: break;
    }
  }

  void traverse_proto(Proto* p) {
    // The closure cache does not keep its closure alive; a closure not
    // marked yet may be dead, so it is dropped (kept only when surely live).
    if (p->cache != nullptr && is_white(p->cache)) p->cache = nullptr;
    mark_object_opt(p->source);
    if (p->k != nullptr)
      for (int i = 0; i < p->sizek; i++) mark_value(p->k[i]);
    if (p->upvalues != nullptr)
      for (int i = 0; i < p->sizeupvalues; i++) mark_object_opt(p->upvalues[i].name);
    if (p->p != nullptr)
      for (int i = 0; i < p->sizep; i++) mark_object_opt(p->p[i]);
    if (p->locvars != nullptr)
      for (int i = 0; i < p->sizelocvars; i++) mark_object_opt(p->locvars[i].name);
  }

  void traverse_thread(State* th) {
    if (th->stack == nullptr) return;  // still being built
    // At a safe point live slots end at top (the VM lowers top to the last
    // live register there, so dead registers do not keep garbage alive). An
    // emergency collection can start inside any allocation, where top may be
    // stale: then the running Lua frame's whole register window is live.
    TValue* limit = th->top;
    TValue* end = th->stack_last + EXTRA_STACK;
    bool emergency = g_->gcemergency != 0;
    if (emergency && th->ci != nullptr && th->ci->is_lua() && th->ci->top > limit && th->ci->top <= end)
      limit = th->ci->top;
    for (TValue* v = th->stack; v < limit; v++) mark_value(*v);
    for (UpVal* uv = th->openupval; uv != nullptr; uv = uv->u.open.next) mark_object_opt(uv);
    // Slots above the limit are dead: clear them so no stale pointer to an
    // object freed by this cycle survives for a later frame to pick up.
    for (TValue* v = limit; v < end; v++) *v = TValue::nil();
  }

  // Weakness from the metatable's __mode: bit 0 weak keys, bit 1 weak values.
  int weak_mode(Table* t) {
    if (t->metatable == nullptr || g_->tmname[TM_MODE] == nullptr) return 0;
    const TValue* mode = table_get_short_str(t->metatable, g_->tmname[TM_MODE]);
    if (!mode->is_string()) return 0;
    const char* s = mode->as_string()->c_str();
    return (std::strchr(s, 'k') != nullptr ? 1 : 0) | (std::strchr(s, 'v') != nullptr ? 2 : 0);
  }

  static void link(GCObject** list, Table* t) {
    t->gclist = *list;
    *list = t;
  }

  // An entry whose value is gone keeps its node (for next) but a
  // collectable key becomes a dead key.
  static void clear_key(Node* n) {
    if (is_collectable_tag(n->key_tag)) n->key_tag = Tag::DeadKey;
  }

  // Whether a weak reference to v must be cleared. Strings are values, not
  // objects, for weakness: they are kept (and marked).
  bool is_cleared(const TValue& v) {
    if (!v.is_collectable()) return false;
    if (v.is_string()) {
      v.u.gc->marked |= BLACK;
      return false;
    }
    return is_white(v.u.gc);
  }

  // Most tables have no metatable, or one without __mode: strong tables
  // stay on this path, the weak ones go to traverse_weak_table.
  [[gnu::always_inline]] void traverse_table(Table* t) {
    if (t->metatable != nullptr) {
      mark_object_opt(t->metatable);
      if (int mode = weak_mode(t)) {
        traverse_weak_table(t, mode);
        return;
      }
    }
    const TValue* array = t->array;
    unsigned asize = t->asize;
    // Touching each child's header is a cache miss on a big heap; asking
    // for all of them first lets those misses overlap. A few children (a
    // tree's node) are near enough for the CPU to overlap their misses by
    // itself: the extra pass would cost more than it hides.
    if (asize > PREFETCH_MIN_SLOTS) {
      bool any = false;
      for (unsigned i = 0; i < asize; i++) {
        if (array[i].is_collectable()) {
          __builtin_prefetch(array[i].u.gc);
          any = true;
        }
      }
      // An array of numbers (closures.lua's lists) has nothing to mark.
      if (!any) asize = 0;
    }
    for (unsigned i = 0; i < asize; i++) {
      // A table's tag tested first says it is collectable and which kind
      // (a tree's children): one test, and its header read once.
      const TValue& v = array[i];
      if (v.tag == Tag::Table) {
        if (is_white(v.u.gc)) blacken_table(static_cast<Table*>(v.u.gc));
      } else {
        mark_value(v);
      }
    }
    unsigned nsize = table_size_node(t);
    for (unsigned i = 0; i < nsize; i++) {
      Node* n = &t->node[i];
      if (n->val.is_nil()) {
        clear_key(n);
      } else {
        mark_value(n->key());
        mark_value(n->val);
      }
    }
  }

  [[gnu::noinline]] void traverse_weak_table(Table* t, int mode) {
    unsigned nsize = table_size_node(t);
    switch (mode) {
      case 2:  // weak values: keys are strong
        for (unsigned i = 0; i < nsize; i++) {
          Node* n = &t->node[i];
          if (n->val.is_nil()) clear_key(n);
          else mark_value(n->key());
        }
        link(&g_->weak, t);
        break;
      case 1:
        traverse_ephemeron(t);
        link(&g_->ephemeron, t);
        break;
      default:  // weak keys and values: nothing marked, but empty entries
                // must not keep a key the sweep is about to free
        for (unsigned i = 0; i < nsize; i++) {
          if (t->node[i].val.is_nil()) clear_key(&t->node[i]);
        }
        link(&g_->allweak, t);
        break;
    }
  }

  // Weak keys, strong values: a value is marked only once its key is
  // reachable. Returns whether anything was marked.
  bool traverse_ephemeron(Table* t) {
    bool marked = false;
    for (unsigned i = 0; i < t->asize; i++) {
      const TValue& v = t->array[i];
      if (v.is_collectable() && is_white(v.u.gc)) {
        mark_object(v.u.gc);
        marked = true;
      }
    }
    unsigned nsize = table_size_node(t);
    for (unsigned i = 0; i < nsize; i++) {
      Node* n = &t->node[i];
      if (n->val.is_nil()) {
        clear_key(n);
      } else if (!is_cleared(n->key()) && n->val.is_collectable() && is_white(n->val.u.gc)) {
        mark_object(n->val.u.gc);
        marked = true;
      }
    }
    return marked;
  }

  // Re-traverses weak-key tables until no key newly reached marks a value.
  void converge_ephemerons() {
    bool changed;
    do {
      changed = false;
      GCObject* list = g_->ephemeron;
      g_->ephemeron = nullptr;
      while (list != nullptr) {
        auto* t = static_cast<Table*>(list);
        list = t->gclist;
        link(&g_->ephemeron, t);
        if (traverse_ephemeron(t)) {
          propagate_all();
          changed = true;
        }
      }
    } while (changed);
  }

  void clear_by_values(GCObject* list) {
    for (; list != nullptr; list = static_cast<Table*>(list)->gclist) {
      auto* t = static_cast<Table*>(list);
      for (unsigned i = 0; i < t->asize; i++) {
        if (is_cleared(t->array[i])) t->array[i] = TValue::nil();
      }
      unsigned nsize = table_size_node(t);
      for (unsigned i = 0; i < nsize; i++) {
        Node* n = &t->node[i];
        if (!n->val.is_nil() && is_cleared(n->val)) {
          n->val = TValue::nil();
          clear_key(n);
        }
      }
    }
  }

  void clear_by_keys(GCObject* list) {
    for (; list != nullptr; list = static_cast<Table*>(list)->gclist) {
      auto* t = static_cast<Table*>(list);
      unsigned nsize = table_size_node(t);
      for (unsigned i = 0; i < nsize; i++) {
        Node* n = &t->node[i];
        if (!n->val.is_nil() && is_cleared(n->key())) {
          n->val = TValue::nil();
          clear_key(n);
        }
      }
    }
  }

  // Drops unreachable threads, and threads without open upvalues, from
  // g->twups (a thread out of the list points to itself).
  void prune_twups() {
    State** p = &g_->twups;
    while (State* th = *p) {
      if (!is_white(th) && th->openupval != nullptr) {
        p = &th->twups;
      } else {
        *p = th->twups;
        th->twups = th;
      }
    }
  }

  void sweep(GCObject** p) {
    // Small tables owning no other block (most of the garbage) and
    // finished coroutines go straight back to their freelist, their bytes
    // counted once at the end; the rest through table_free and free_object.
    SmallPool* pool = g_->pooled ? &g_->pool : nullptr;
    size_t freed = 0;
    while (GCObject* o = *p) {
      // The list is a pointer chase through a heap larger than the cache:
      // fetching the next header now overlaps its miss with freeing o (a
      // null prefetch is harmless, cheaper than testing for it).
      __builtin_prefetch(o->next, 1);
      if (is_white(o)) {
        *p = o->next;
        if (o->tag == Tag::Table) {
          auto* t = static_cast<Table*>(o);
          if (pool != nullptr && table_in_one_block(t)) {
            // The header's class, then one class per slot (16 bytes each).
            static_assert(sizeof(Table) % SmallPool::GRAIN == 0 && sizeof(TValue) == SmallPool::GRAIN);
            unsigned slots = t->ainline;  // read before the push poisons the block (ASan)
            pool_push(*pool, t, SmallPool::class_of(sizeof(Table)) + slots);
            freed += sizeof(Table) + size_t(slots) * sizeof(TValue);
          } else {
            table_free(L_, t);
          }
        } else if (o->tag == Tag::Thread && pool != nullptr && thread_in_one_block(static_cast<State*>(o))) {
          // A finished coroutine, as short-lived ones are: its block alone
          // (thread_free's tests and mem_free's cost ~60 instructions).
          jit_thread_freed(L_, static_cast<State*>(o));
          pool_push(*pool, o, SmallPool::THREAD_CLASS);
          freed += THREAD_BLOCK_SIZE;
        } else {
          free_object(L_, o);
        }
      } else {
        o->marked &= ~BLACK;
        p = &o->next;
      }
    }
    g_->totalbytes -= freed;
    g_->gcdebt -= static_cast<ptrdiff_t>(freed);
  }

  static void whiten(GCObject* list) {
    for (; list != nullptr; list = list->next) list->marked &= ~BLACK;
  }

 public:
  static void free_object(State* L, GCObject* o) {
    switch (o->tag) {
      case Tag::ShortStr:
      case Tag::LongStr: str_free(L, static_cast<String*>(o)); break;
      case Tag::Table: table_free(L, static_cast<Table*>(o)); break;
      case Tag::LClosure: mem_free(L, o, lclosure_size(static_cast<LClosure*>(o)->nupvalues)); break;
      case Tag::NClosure: mem_free(L, o, nclosure_size(static_cast<NClosure*>(o)->nupvalues)); break;
      case Tag::Userdata: {
        auto* u = static_cast<Udata*>(o);
        mem_free(L, o, Udata::header_size(u->nuvalue) + u->len);
        break;
      }
      case Tag::Proto: proto_free(L, static_cast<Proto*>(o)); break;
      case Tag::UpVal: upval_free(L, static_cast<UpVal*>(o)); break;
      case Tag::Thread: thread_free(L, static_cast<State*>(o)); break;
      default: break;
    }
  }

 private:
  // What the JIT backend's traces refer to is marked like a root.
  class TraceMarker final : public JitMarker {
   public:
    explicit TraceMarker(Collector& c) : c_(c) {}
    void mark(GCObject* o) override { c_.mark_object_opt(o); }
   private:
    Collector& c_;
  };

  State* L_;
  GlobalState* g_;
  bool remarked_ = false;  // closures no longer touch open upvalues (upval_remark)
  TraceMarker marker_{*this};
};

void set_pause(GlobalState* g) {
  size_t estimate = g->totalbytes;
  g->gcestimate = estimate;
  size_t pause = g->gcpause > 0 ? static_cast<size_t>(g->gcpause) : 0;
  size_t threshold = estimate / 100 * pause;
  if (threshold < estimate + MIN_GROWTH) threshold = estimate + MIN_GROWTH;
  gc_set_debt(g, static_cast<ptrdiff_t>(g->totalbytes) - static_cast<ptrdiff_t>(threshold));
}

void collect(State* L) {
  GlobalState* g = L->g;
  g->gcstp |= GCSTP_INTERNAL;
  g->gcstopem = 1;
  // Strings in use before the sweep: the most this cycle needed, as
  // strings are only unlinked by sweeping.
  int strings_before = g->strt.nuse;
  Collector(L).run();
  spare_stack_clear(g);
  where_forget_joins(g);
  g->gcstepcredit = 0;
  // Shrinking the string table allocates, so not while memory is short.
  // Only a table that was underused all cycle shrinks: one that filled
  // before the sweep would grow back (rehashing twice per cycle).
  if (!g->gcemergency && strings_before < g->strt.size / 4 && g->strt.size > MIN_STRTAB_SIZE)
    str_table_resize(L, g->strt.size / 2);
  // A spare large block nobody took is given back (at once when memory is
  // short); only the built-in allocator keeps one.
  large_drop_spare(g, !g->gcemergency);
  set_pause(g);
  g->gcstopem = 0;
  g->gcstp &= static_cast<uint8_t>(~GCSTP_INTERNAL);
}

void call_gc_metamethod(State* L, void*) { call_noyield(L, L->top - 2, 0); }

// Runs the finalizer of the first object in tobefnz. Returns its status,
// its error value left at L->top - 1 when it failed and raise is set.
int run_one_finalizer(State* L, bool raise) {
  GlobalState* g = L->g;
  GCObject* o = g->tobefnz;
  g->tobefnz = o->next;
  // Back to the ordinary objects: collected normally next time unless
  // resurrected (and, with a new metatable, registered again).
  o->next = g->allgc;
  g->allgc = o;
  o->marked &= static_cast<uint8_t>(~FINOBJ);
  TValue obj = TValue::object(o);
  TValue tm = *tm_get_by_obj(L, obj, TM_GC);
  if (tm.is_nil() || (dialect(L).finalizer_53 && !tm.is_function())) return OK;
  uint8_t old_allowhook = L->allowhook;
  uint8_t old_gcstp = g->gcstp;
  g->gcstp |= GCSTP_INTERNAL;  // no collection while the finalizer runs
  L->allowhook = 0;
  // EXTRA_STACK guarantees room for the two pushes.
  ptrdiff_t base = L->save(L->top);
  L->top[0] = tm;
  L->top[1] = obj;
  L->top += 2;
  L->ci->callstatus |= CIST_FIN;
  int status = pcall_raw(L, call_gc_metamethod, nullptr, base, 0);
  L->ci->callstatus &= static_cast<uint16_t>(~CIST_FIN);
  L->allowhook = old_allowhook;
  g->gcstp = old_gcstp;
  if (status != OK) {
    const TValue& err = L->top[-1];
    if (raise) {
      if (status != ERRRUN) return status;  // memory errors travel as they are
      const char* msg = err.is_string() ? err.as_string()->c_str() : "no message";
      push_fstring(L, "error in __gc metamethod (%s)", msg);
      return status;
    }
    const char* msg = err.is_string() ? err.as_string()->c_str() : "error object is not a string";
    warning(L, "error in ", 1);
    warning(L, "__gc", 1);
    warning(L, " (", 1);
    warning(L, msg, 1);
    warning(L, ")", 0);
  }
  L->top = L->restore(base);
  return OK;
}

}  // namespace

// ------------------------------------------------------------ memory

void* block_realloc(GlobalState* g, void* block, size_t osize, size_t nsize) {
  if (!g->pooled) return g->frealloc(g->ud, block, osize, nsize);
  if (block == nullptr) osize = 0;
  Keeper from = keeper_of(osize), to = keeper_of(nsize);
  if (osize > 0 && nsize > 0 && from == to) {
    if (to == Keeper::Host) return g->frealloc(g->ud, block, osize, nsize);
    if (to == Keeper::Large) return large_realloc(g, block, osize, nsize);
    if (SmallPool::class_of(osize) == SmallPool::class_of(nsize)) return block;
  }
  void* nb = nullptr;
  if (nsize > 0) {
    nb = to == Keeper::Pool    ? pool_alloc(g, nsize)
         : to == Keeper::Large ? large_realloc(g, nullptr, 0, nsize)
                               : g->frealloc(g->ud, nullptr, 0, nsize);
    if (nb == nullptr) return nullptr;
    if (osize > 0) std::memcpy(nb, block, osize < nsize ? osize : nsize);
  }
  if (osize > 0) {
    if (from == Keeper::Pool) pool_free(g, block, osize);
    else if (from == Keeper::Large) large_realloc(g, block, osize, 0);
    else g->frealloc(g->ud, block, osize, 0);
  }
  return nb;
}

void* mem_realloc(State* L, void* block, size_t osize, size_t nsize) {
  GlobalState* g = L->g;
  if (block == nullptr) osize = 0;
  // A pooled block growing into another pooled class (a small table's array
  // doubling, a constructor's array): the freelists inline, as mem_alloc
  // and mem_free take them; block_realloc would call out for both.
  if (g->pooled && nsize > osize && is_small(nsize) && (osize == 0 || is_small(osize)) &&
      (g->memlimit == 0 || g->totalbytes - osize + nsize <= g->memlimit)) {
    size_t c = SmallPool::class_of(osize);
    void* nb = osize > 0 && c == SmallPool::class_of(nsize) ? block : pool_pop(g->pool, nsize);
    if (nb != nullptr) {
      if (nb != block && osize > 0) {
        std::memcpy(nb, block, osize);
        pool_push(g->pool, block, c);
      }
      g->totalbytes += nsize - osize;
      g->gcdebt += static_cast<ptrdiff_t>(nsize - osize);
      return nb;
    }
  }
  void* nb = raw_realloc(g, block, osize, nsize);
  if (nb == nullptr && nsize > 0) {
    if (can_collect_in_emergency(g) && emergency_allowed(g)) {
      int64_t t0 = clock_ns();
      size_t before = g->totalbytes;
      gc_full(L, true);
      int64_t t1 = clock_ns();
      // A collection that freed little is not worth repeating at once: a
      // script failing allocations in a loop near the memory limit would
      // spend all its time collecting a large heap. Such collections get
      // at most a fifth of the wall time; useful ones are not limited.
      bool useful = before > g->totalbytes && before - g->totalbytes >= before / 4;
      g->emergency_next_ns = useful ? 0 : t1 + EMERGENCY_IDLE_FACTOR * (t1 - t0);
      nb = raw_realloc(g, block, osize, nsize);
    }
    if (nb == nullptr) throw_status(L, ERRMEM);
  }
  g->totalbytes = g->totalbytes - osize + nsize;
  g->gcdebt += static_cast<ptrdiff_t>(nsize) - static_cast<ptrdiff_t>(osize);
  return nsize == 0 ? nullptr : nb;
}

size_t mem_zero_from(State* L, const void* block, size_t size) {
  if (!L->g->pooled || !is_large(size)) return size;
  size_t z = large_zero_from(block);
  return z < size ? z : size;
}

void* mem_alloc(State* L, size_t size) {
  if (size == 0) return nullptr;
  GlobalState* g = L->g;
  // Most allocations are new objects of a pooled size within the limit:
  // straight to the pool (raw_realloc would take the same way).
  if (g->pooled && is_small(size) && (g->memlimit == 0 || g->totalbytes + size <= g->memlimit)) {
    void* b = pool_pop(g->pool, size);
    if (b == nullptr) b = pool_alloc(g, size);
    if (b != nullptr) {
      g->totalbytes += size;
      g->gcdebt += static_cast<ptrdiff_t>(size);
      return b;
    }
  }
  return mem_realloc(L, nullptr, 0, size);
}

void mem_free(State* L, void* block, size_t size) {
  if (block == nullptr) return;
  GlobalState* g = L->g;
  if (pool_try_give(g, block, size)) return;
  block_realloc(g, block, size, 0);
  g->totalbytes -= size;
  g->gcdebt -= static_cast<ptrdiff_t>(size);
}

// ------------------------------------------------------------ collector

GCObject* gc_new_object(State* L, Tag tag, size_t size) {
  auto* o = static_cast<GCObject*>(mem_alloc(L, size));
  GlobalState* g = L->g;
  o->tag = tag;
  o->marked = 0;
  o->next = g->allgc;
  g->allgc = o;
  return o;
}

void* mem_try_alloc(GlobalState* g, size_t size) noexcept {
  if (size == 0) return nullptr;
  // The freelist inline, as mem_alloc takes it (raw_realloc would reach it
  // through block_realloc's dispatch).
  if (void* b = pool_try_take(g, size)) return b;
  void* b = raw_realloc(g, nullptr, 0, size);
  if (b == nullptr) return nullptr;
  g->totalbytes += size;
  g->gcdebt += static_cast<ptrdiff_t>(size);
  return b;
}

GCObject* gc_try_new_object(GlobalState* g, Tag tag, size_t size) noexcept {
  if (g->gcdebt > 0) return nullptr;
  void* b = mem_try_alloc(g, size);
  return b == nullptr ? nullptr : gc_link_new(g, b, tag);
}

void gc_check(State* L) {
  GlobalState* g = L->g;
  if (g->gcdebt <= 0) return;
  if (g->gcstp != 0) {
    // Stopped: look again only after some more allocation.
    gc_set_debt(g, -static_cast<ptrdiff_t>(MIN_GROWTH));
    return;
  }
  gc_full(L, false);
}

void gc_full(State* L, bool emergency) {
  GlobalState* g = L->g;
  if (g->gcstp & GCSTP_INTERNAL) return;  // already collecting, compiling or closing
  g->gcemergency = emergency;
  collect(L);
  g->gcemergency = 0;
  if (!emergency) gc_call_pending_finalizers(L);
}

void gc_collect_api(State* L) {
  GlobalState* g = L->g;
  if (g->gcstp & GCSTP_INTERNAL) return;
  collect(L);
  large_drop_spare(g, false);  // collectgarbage() gives memory back
  gc_call_pending_finalizers(L, dialect(L).finalizer_53);
}

// luna collects a whole cycle at once, so in incremental mode an explicit
// step only pays into an account: the bytes it would have allocated
// (kbytes, or 1 KiB for a basic step), and the cycle runs when the account
// covers the heap. Bigger steps thus finish a cycle in fewer calls, as an
// incremental collector's do, and a loop of steps always ends.
bool gc_step_api(State* L, int kbytes) {
  GlobalState* g = L->g;
  if (g->gcstp & GCSTP_INTERNAL) return false;
  if (g->gckind == 0) {
    size_t work = kbytes > 0 ? static_cast<size_t>(kbytes) * 1024 : 1024;
    g->gcstepcredit = work > g->totalbytes - g->gcstepcredit ? g->totalbytes : g->gcstepcredit + work;
    if (g->gcstepcredit < g->totalbytes) return false;
  }
  gc_collect_api(L);
  return true;
}

void gc_fix(State* L, GCObject* o) {
  GlobalState* g = L->g;
  GCObject** p = &g->allgc;
  while (*p != nullptr && *p != o) p = &(*p)->next;
  if (*p == nullptr) return;  // not an ordinary object (already fixed)
  *p = o->next;
  o->next = g->fixedgc;
  g->fixedgc = o;
  o->marked |= FIXED;
}

void gc_check_finalizer(State* L, GCObject* o, Table* mt) {
  GlobalState* g = L->g;
  if ((o->marked & (FINOBJ | FIXED)) || mt == nullptr || (g->gcstp & GCSTP_CLOSING)) return;
  if (g->tmname[TM_GC] == nullptr || table_get_short_str(mt, g->tmname[TM_GC])->is_nil()) return;
  GCObject** p = &g->allgc;
  while (*p != nullptr && *p != o) p = &(*p)->next;
  if (*p == nullptr) return;
  *p = o->next;
  o->next = g->finobj;
  g->finobj = o;
  o->marked |= FINOBJ;
}

void gc_call_pending_finalizers(State* L, bool raise) {
  GlobalState* g = L->g;
  // Finalizers run on the frame's top; a Lua frame's registers reach ci->top.
  ptrdiff_t saved_top = L->save(L->top);
  if (L->ci->is_lua() && L->top < L->ci->top) L->top = L->ci->top;
  while (g->tobefnz != nullptr) {
    int status = run_one_finalizer(L, raise);
    if (status != OK) {
      TValue* top = L->restore(saved_top);
      if (status != ERRMEM) *top++ = L->top[-1];
      L->top = top;
      throw_status(L, status);
    }
  }
  L->top = L->restore(saved_top);
}

void gc_free_all(State* L) {
  GlobalState* g = L->g;
  g->gcstp |= GCSTP_INTERNAL | GCSTP_CLOSING;
  Collector(L).separate_unreachable_finobj(true);
  gc_call_pending_finalizers(L);
  for (GCObject** list : {&g->allgc, &g->finobj, &g->tobefnz, &g->fixedgc}) {
    GCObject** p = list;
    while (GCObject* o = *p) {
      if (o == g->mainthread) {  // freed with the global state by close_state
        p = &o->next;
        continue;
      }
      *p = o->next;
      Collector::free_object(L, o);
    }
  }
  mem_free_array(L, g->strt.hash, size_t(g->strt.size));
  g->strt.hash = nullptr;
  g->strt.size = 0;
  g->strt.nuse = 0;
}

void gc_set_debt(GlobalState* g, ptrdiff_t debt) { g->gcdebt = debt; }

size_t gc_count_bytes(State* L) { return L->g->totalbytes; }

int gc_change_mode(State* L, int newmode) {
  int old = L->g->gckind;
  L->g->gckind = static_cast<uint8_t>(newmode);
  return old;
}

}  // namespace luna
