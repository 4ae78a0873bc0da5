// State creation and destruction, warnings, and the memory cap.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>

#include "state.hpp"

namespace luna {

namespace {

// The main thread and the global state live in one block, so a state is a
// single allocation from the host's allocator.
struct MainBlock {
  State l;
  GlobalState g;
};

// On Linux, large blocks never come here (LargeBlocks in state.hpp).
void* default_alloc(void*, void* ptr, size_t, size_t nsize) {
  if (nsize == 0) {
    std::free(ptr);
    return nullptr;
  }
  return std::realloc(ptr, nsize);
}

// A per-state hash seed: addresses (randomised by ASLR) mixed with the time,
// so string hashes are hard to predict from outside.
uint32_t make_seed(void* block) {
  uintptr_t parts[4] = {reinterpret_cast<uintptr_t>(block), reinterpret_cast<uintptr_t>(&parts),
                        reinterpret_cast<uintptr_t>(&make_seed), static_cast<uintptr_t>(std::time(nullptr))};
  uint64_t h = 0xcbf29ce484222325ull;
  for (uintptr_t p : parts) {
    for (size_t i = 0; i < sizeof p; i++) {
      h ^= (p >> (8 * i)) & 0xff;
      h *= 0x100000001b3ull;
    }
  }
  return static_cast<uint32_t>(h ^ (h >> 32));
}

// Default warning function, as the standalone interpreter's: off until a
// "@on" control message; pieces with tocont set are joined on one line.
void default_warn(void* ud, const char* msg, int tocont) {
  GlobalState* g = static_cast<State*>(ud)->g;
  if (g->warn_state != 2 && !tocont && msg[0] == '@') {  // control message
    if (std::strcmp(msg + 1, "off") == 0) g->warn_state = 0;
    else if (std::strcmp(msg + 1, "on") == 0) g->warn_state = 1;
    return;
  }
  if (g->warn_state == 0) return;
  if (g->warn_state == 1) std::fputs("Lua warning: ", stderr);
  std::fputs(msg, stderr);
  if (tocont) {
    g->warn_state = 2;
  } else {
    std::fputs("\n", stderr);
    g->warn_state = 1;
  }
  std::fflush(stderr);
}

// The main thread's first stack, allocated without mem_alloc (and
// accounted) because memory errors need a stack to report on. It is freed
// by mem_free_array, so it comes from where raw_realloc would take it.
bool init_main_stack(State* L) {
  GlobalState* g = L->g;
  size_t n = BASIC_STACK_SIZE + EXTRA_STACK;
  static_assert(SmallPool::pooled_size((BASIC_STACK_SIZE + EXTRA_STACK) * sizeof(TValue)));
  auto* stack = static_cast<TValue*>(g->pooled ? pool_alloc(g, n * sizeof(TValue))
                                               : g->frealloc(g->ud, nullptr, 0, n * sizeof(TValue)));
  if (stack == nullptr) return false;
  g->totalbytes += n * sizeof(TValue);
  for (size_t i = 0; i < n; i++) new (stack + i) TValue();
  L->stack = stack;
  L->stack_last = stack + BASIC_STACK_SIZE;
  L->top = stack + 1;  // slot 0 stands for the (absent) base function
  CallInfo* ci = &L->base_ci;
  ci->next = ci->previous = nullptr;
  ci->callstatus = CIST_C;
  ci->func = stack;
  ci->nresults = 0;
  ci->top = L->top + MINSTACK;
  L->ci = ci;
  return true;
}

// Everything that allocates through the collector; runs under try/catch so a
// memory error leaves a state that close_state can still free.
void open_state(State* L) {
  GlobalState* g = L->g;
  str_table_init(L);
  g->memerrmsg = str_new_cstr(L, "not enough memory");
  gc_fix(L, g->memerrmsg);
  Table* reg = table_new(L);
  g->l_registry = TValue::object(reg);
  table_resize(L, reg, 2, 0);
  table_set_int(L, reg, RIDX_MAINTHREAD, TValue::object(L));
  table_set_int(L, reg, RIDX_GLOBALS, TValue::object(table_new(L)));
  tm_init(L);
  lexer_init(L);
}

void free_main(State* L) {
  GlobalState* g = L->g;
  if (g->strt.hash) mem_free_array(L, g->strt.hash, static_cast<size_t>(g->strt.size));
  free_ci_list(L);
  if (L->tbclist) mem_free_array(L, L->tbclist, static_cast<size_t>(L->sizetbc));
  if (L->stack) mem_free_array(L, L->stack, static_cast<size_t>(L->stack_size() + EXTRA_STACK));
  if (g->spare_stack) mem_free_array(L, g->spare_stack, BASIC_STACK_SIZE + EXTRA_STACK);
  pool_release(g);
  large_drop_spare(g, false);
  Allocator f = g->frealloc;
  void* ud = g->ud;
  auto* block = reinterpret_cast<MainBlock*>(L);
  block->~MainBlock();
  f(ud, block, sizeof(MainBlock), 0);
}

void close_pending(State* L, void*) {
  upval_close(L, L->stack + 1);
  tbc_close(L, L->stack + 1, OK);
}

}  // namespace

bool set_version(State* L, LuaVersion v) {
  if (!is_known_version(v)) return false;
  L->g->dialect = dialect_for(v);
  return true;
}

LuaVersion get_version(State* L) { return dialect(L).version; }

State* new_state(Allocator f, void* ud) {
  bool pooled = f == nullptr;
  if (f == nullptr) f = default_alloc;
  void* mem = f(ud, nullptr, 0, sizeof(MainBlock));
  if (mem == nullptr) return nullptr;
  auto* block = new (mem) MainBlock();  // value-initialised: all zero / nil
  State* L = &block->l;
  GlobalState* g = &block->g;
  L->g = g;
  L->tag = Tag::Thread;
  L->next = nullptr;
  L->allowhook = 1;
  L->status = OK;
  L->nny = 1;  // the main thread can never yield
  L->twups = L;  // not in the list of threads with open upvalues
  g->frealloc = f;
  g->ud = ud;
  g->pooled = pooled;
  g->totalbytes = sizeof(MainBlock);
  g->mainthread = L;
  g->seed = make_seed(mem);
  g->dialect = dialect_for(default_version);
  g->nilvalue = TValue::integer(0);  // "state incomplete" until setup is done
  g->gcstp = GCSTP_INTERNAL;         // no collection while building
  g->gcpause = 200;
  g->gcstepmul = 100;
  g->gcstepsize = 13;  // log2 of the step granularity (8 KiB)
  g->gcstepcredit = 0;
  g->genminormul = 20;
  g->genmajormul = 100;
  g->warnf = default_warn;
  g->ud_warn = L;
  jit_init(g);
  L->marked = g->currentwhite;
  if (!init_main_stack(L)) {
    f(ud, mem, sizeof(MainBlock), 0);
    return nullptr;
  }
  try {
    open_state(L);
  } catch (LuaThrow&) {
    close_state(L);
    return nullptr;
  }
  g->nilvalue = TValue::nil();
  g->gcstp = 0;
  return L;
}

void close_state(State* L) {
  L = L->g->mainthread;
  GlobalState* g = L->g;
  if (g->nilvalue.is_nil()) {
    // Complete state: close pending to-be-closed variables first; errors in
    // __close handlers are dropped (pcall_raw keeps closing the rest).
    L->ci = &L->base_ci;
    L->errfunc = 0;
    while (pcall_raw(L, close_pending, nullptr, L->save(L->stack + 1), 0) != OK) {
    }
  }
  gc_free_all(L);  // prototypes tell the backend their traces die
  set_jit_backend(L, nullptr);
  free_main(L);
}

State* new_thread(State* L) {
  State* L1 = thread_new(L);
  gc_check(L);
  return L1;
}

int close_thread(State* L, State* from) { return coro_close(L, from); }
void close_running_thread(State* L) { coro_close_self(L); }

void set_warnf(State* L, WarnFn f, void* ud) {
  L->g->warnf = f;
  L->g->ud_warn = ud;
}

void warning(State* L, const char* msg, int tocont) {
  WarnFn f = L->g->warnf;
  if (f) f(L->g->ud_warn, msg, tocont);
}

void set_memory_limit(State* L, size_t bytes) {
  L->g->memlimit = bytes;
  large_drop_spare(L->g, false);  // a state under a limit holds no memory it does not count
}

}  // namespace luna
