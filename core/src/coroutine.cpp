// Coroutines on native stacks.
//
// A coroutine runs its body on a native stack of its own. A yield saves
// the whole native context and switches back to the resumer,
// so it works from anywhere below the body: through pcall, metamethods,
// iterators and native functions, with no continuation functions. The
// native stack is taken on the first resume and given back (to a small
// per-thread cache) when the body finishes or the coroutine is closed or
// collected. See docs/architecture.md, "Coroutines".
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__) && defined(__ELF__)
#define LUNA_ASM_SWITCH 1
#else
#include <ucontext.h>
#endif

#include <cstdint>
#include <new>

#include "state.hpp"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LUNA_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(LUNA_ASAN)
#define LUNA_ASAN 1
#endif
#ifdef LUNA_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#ifdef LUNA_ASM_SWITCH
// Context switch for x86-64 System V. A suspended context is its stack
// pointer; below it lie the callee-saved registers, the SSE and x87
// control words, and the return address. swapcontext would do the same
// plus a signal-mask system call per switch, which made a resume/yield
// pair about 20 times slower.
extern "C" void luna_ctx_switch(void** save_sp, void* new_sp);
extern "C" void luna_ctx_start();
asm(R"(
  .text
  .globl luna_ctx_switch
  .hidden luna_ctx_switch
  .type luna_ctx_switch, @function
luna_ctx_switch:
  .cfi_startproc
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .cfi_endproc
  .size luna_ctx_switch, .-luna_ctx_switch

  .globl luna_ctx_start
  .hidden luna_ctx_start
  .type luna_ctx_start, @function
luna_ctx_start:
  .cfi_startproc
  .cfi_undefined rip
  movq %r12, %rdi
  call *%r13
  ud2
  .cfi_endproc
  .size luna_ctx_start, .-luna_ctx_start
)");
#endif

namespace luna {

namespace {
#ifdef LUNA_ASM_SWITCH
using NativeContext = void*;  // saved stack pointer
#else
using NativeContext = ucontext_t;
#endif
}  // namespace

// Native context of a coroutine that has started and not yet finished.
struct Coro {
  NativeContext ctx;     // the coroutine's own context
  NativeContext back;    // the resumer's context: where yields go
  char* mem;             // mapping: guard page, then the stack
  int transfer;          // values passed by the last resume or yield
  int status;            // exit status once finished
  unsigned ccalls_base;  // resumer's nesting at the last resume (+1)
  bool finished;
  bool unwinding;        // resumed only to unwind its native frames
  const void* back_bottom;  // resumer's stack, for the sanitizer
  size_t back_size;
};

namespace {

#ifdef LUNA_ASAN
constexpr size_t STACK_SIZE = 4u << 20;  // sanitizer frames are much larger
#else
constexpr size_t STACK_SIZE = 1u << 20;
#endif

// Thrown by coro_yield into a coroutine being closed or collected: it
// unwinds the native frames to coro_main. Not a LuaThrow, so no pcall
// stops it.
struct CoroUnwind {};

// Exit status of a body unwound by CoroUnwind.
constexpr int STATUS_UNWOUND = -1;

size_t page_size() {
  static const size_t ps = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return ps;
}

size_t mapping_size() { return STACK_SIZE + page_size(); }

// Freed stacks kept for reuse, per OS thread (stacks are plain memory).
struct StackCache {
  static constexpr int N = 16;
  char* mem[N];
  int n = 0;
  ~StackCache() {
    for (int i = 0; i < n; i++) munmap(mem[i], mapping_size());
  }
};
thread_local StackCache stack_cache;

char* stack_acquire() {
  if (stack_cache.n > 0) return stack_cache.mem[--stack_cache.n];
  void* m = mmap(nullptr, mapping_size(), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  // Guard page at the low end: stacks grow down into it and fault.
  if (mprotect(m, page_size(), PROT_NONE) != 0) {
    munmap(m, mapping_size());
    return nullptr;
  }
  return static_cast<char*>(m);
}

void stack_release(char* mem) {
  if (stack_cache.n < StackCache::N)
    stack_cache.mem[stack_cache.n++] = mem;
  else
    munmap(mem, mapping_size());
}

void context_swap(NativeContext* save, NativeContext* to) {
#ifdef LUNA_ASM_SWITCH
  luna_ctx_switch(save, *to);
#else
  swapcontext(save, to);
#endif
}

// Switches from the resumer into the coroutine; returns at its next
// yield or when it finishes.
void switch_in(Coro* c) {
#ifdef LUNA_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, c->mem + page_size(), STACK_SIZE);
#endif
  context_swap(&c->back, &c->ctx);
#ifdef LUNA_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
}

// Switches from the coroutine back to its resumer; returns when resumed.
void switch_out(Coro* c) {
#ifdef LUNA_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, c->back_bottom, c->back_size);
#endif
  context_swap(&c->ctx, &c->back);
#ifdef LUNA_ASAN
  __sanitizer_finish_switch_fiber(fake, &c->back_bottom, &c->back_size);
#endif
}

// Entry of every coroutine's native stack. No exception may leave it: the
// frames below it belong to no one, so everything is caught here and
// reported to the resumer as a status.
void coro_main(void* arg) noexcept {
  State* L = static_cast<State*>(arg);
  Coro* c = L->coro;
#ifdef LUNA_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &c->back_bottom, &c->back_size);
#endif
  int status = OK;
  bool foreign = false;
  try {
    call(L, L->top - c->transfer - 1, MULTRET);
  } catch (LuaThrow& e) {
    status = e.status;
  } catch (CoroUnwind&) {
    status = STATUS_UNWOUND;
  } catch (std::bad_alloc&) {
    status = ERRMEM;
  } catch (...) {
    foreign = true;
  }
  if (foreign) {
    // A C++ exception of a native function: report it as a Lua error.
    status = ERRRUN;
    try {
      *L->top++ = str_value(str_new_cstr(L, "C++ exception in a native function"));
    } catch (LuaThrow&) {
      status = ERRMEM;
    }
  }
  c->status = status;
  c->finished = true;
#ifdef LUNA_ASAN
  __sanitizer_start_switch_fiber(nullptr, c->back_bottom, c->back_size);
#endif
  // Leaves for good: this stack is released by the resumer.
  context_swap(&c->ctx, &c->back);
}

#ifndef LUNA_ASM_SWITCH
// makecontext passes int arguments only: the State pointer comes in halves.
void coro_main_halves(unsigned hi, unsigned lo) {
  coro_main(reinterpret_cast<void*>((static_cast<uintptr_t>(hi) << 32) | lo));
}
#endif

// Prepares ctx to run coro_main(co) on the stack [lo, lo + size).
void context_init(NativeContext* ctx, char* lo, size_t size, State* co) {
#ifdef LUNA_ASM_SWITCH
  // Frame popped by the first luna_ctx_switch into it: control words,
  // r15, r14, r13 (entry), r12 (argument), rbx, rbp, return address
  // (luna_ctx_start). The entry then runs with the ABI's alignment.
  auto top = (reinterpret_cast<uintptr_t>(lo) + size) & ~uintptr_t(15);
  void** sp = reinterpret_cast<void**>(top - 80);
  uint32_t mxcsr;
  uint16_t fpucw;
  asm volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(mxcsr), "=m"(fpucw));
  sp[0] = reinterpret_cast<void*>(static_cast<uintptr_t>(mxcsr) | (static_cast<uintptr_t>(fpucw) << 32));
  sp[1] = sp[2] = nullptr;
  sp[3] = reinterpret_cast<void*>(&coro_main);
  sp[4] = co;
  sp[5] = sp[6] = nullptr;
  sp[7] = reinterpret_cast<void*>(&luna_ctx_start);
  *ctx = sp;
#else
  getcontext(ctx);
  ctx->uc_stack.ss_sp = lo;
  ctx->uc_stack.ss_size = size;
  ctx->uc_link = nullptr;
  auto p = reinterpret_cast<uintptr_t>(co);
  makecontext(ctx, reinterpret_cast<void (*)()>(coro_main_halves), 2,
              static_cast<unsigned>(p >> 32), static_cast<unsigned>(p & 0xffffffffu));
#endif
}

// A native stack counts against the VM's memory like its heap blocks: the
// whole mapping (what the script can make resident, and what it takes from
// the process's address space and mapping count), so the memory limit
// bounds coroutines too.
void charge_stack(GlobalState* g, bool charge) {
  auto n = static_cast<ptrdiff_t>(mapping_size());
  if (!charge) n = -n;
  g->totalbytes += static_cast<size_t>(n);
  g->gcdebt += n;
}

// Frees the native context of co (its body has finished or was unwound).
void release_coro(State* L, State* co) {
  Coro* c = co->coro;
  if (c == nullptr) return;
  co->coro = nullptr;
  stack_release(c->mem);
  charge_stack(L->g, false);
  mem_free(L, c, sizeof(Coro));
}

// Unwinds the native frames of a suspended coroutine (destructors run, no
// Lua code does), then frees its native context.
void unwind_coro(State* L, State* co) {
  Coro* c = co->coro;
  if (c == nullptr) return;
  if (!c->finished) {
    c->unwinding = true;
    switch_in(c);
  }
  release_coro(L, co);
}

int resume_error(State* L, const char* msg, int nargs) {
  L->top -= nargs;
  *L->top++ = str_value(str_new_cstr(L, msg));
  return ERRRUN;
}

// Sets up co's native context for its first resume; false if out of memory.
bool start_coro(State* co) {
  // Charged first, so the limit check of the Coro block (with its
  // emergency collection, which may free dead coroutines' stacks) covers
  // the stack as well.
  charge_stack(co->g, true);
  Coro* c;
  try {
    c = static_cast<Coro*>(mem_alloc(co, sizeof(Coro)));
  } catch (LuaThrow&) {
    charge_stack(co->g, false);
    return false;
  }
  char* mem = stack_acquire();
  if (mem == nullptr) {
    mem_free(co, c, sizeof(Coro));
    charge_stack(co->g, false);
    return false;
  }
  c->mem = mem;
  c->transfer = 0;
  c->status = OK;
  c->ccalls_base = 0;
  c->finished = false;
  c->unwinding = false;
  c->back_bottom = nullptr;
  c->back_size = 0;
  context_init(&c->ctx, mem + page_size(), STACK_SIZE, co);
  co->coro = c;
  return true;
}

}  // namespace

int coro_resume(State* L, State* from, int nargs, int* nresults) {
  if (L->status == OK) {
    if (L->ci != &L->base_ci) return resume_error(L, "cannot resume non-suspended coroutine", nargs);
    if (L->top - (L->ci->func + 1) == nargs) return resume_error(L, "cannot resume dead coroutine", nargs);
  } else if (L->status != YIELD) {
    return resume_error(L, "cannot resume dead coroutine", nargs);
  }
  unsigned base = from != nullptr ? from->nCcalls : 0;
  if (base >= MAX_C_CALLS) return resume_error(L, "C stack overflow", nargs);
  base++;
  if (L->status == OK) {
    if (!start_coro(L)) {
      L->top -= nargs;
      *L->top++ = str_value(L->g->memerrmsg);
      return ERRMEM;
    }
    L->nCcalls = base;
    L->nny = 0;
  } else {
    // The body's own nesting is kept; only the resumer's part changes.
    L->nCcalls = L->nCcalls - L->coro->ccalls_base + base;
    L->status = OK;
  }
  Coro* c = L->coro;
  c->ccalls_base = base;
  c->transfer = nargs;
  switch_in(c);
  if (!c->finished) {  // yielded
    *nresults = c->transfer;
    return YIELD;
  }
  int status = c->status;
  release_coro(L, L);
  if (status == OK) {
    *nresults = static_cast<int>(L->top - (L->ci->func + 1));
    return OK;
  }
  // Dead by error: the frames stay (a traceback can still see them).
  L->status = static_cast<uint8_t>(status);
  set_error_obj(L, status, L->top);
  L->ci->top = L->top;
  *nresults = 1;
  return status;
}

int coro_yield(State* L, int nresults) {
  Coro* c = L->coro;
  if (L == L->g->mainthread) run_error(L, "attempt to yield from outside a coroutine");
  if (c == nullptr || L->nny > 0) run_error(L, "attempt to yield across a C-call boundary");
  L->status = YIELD;
  c->transfer = nresults;
  switch_out(c);
  if (c->unwinding) throw CoroUnwind{};
  return c->transfer;
}

void coro_free(State* L, State* co) { unwind_coro(L, co); }

int coro_close(State* co, State* from) {
  unwind_coro(co, co);
  co->nCcalls = from != nullptr ? from->nCcalls : 0;
  co->ci = &co->base_ci;
  co->stack[0] = TValue();
  co->base_ci.func = co->stack;
  co->base_ci.callstatus = CIST_C;
  int status = co->status;
  if (status == YIELD) status = OK;
  co->status = OK;  // so __close methods can run on it
  co->nny = 1;      // they run on the caller's native stack: no yields
  co->errfunc = 0;
  co->allowhook = 1;
  status = close_protected(co, co->save(co->stack + 1), status);
  if (status != OK)
    set_error_obj(co, status, co->stack + 1);
  else
    co->top = co->stack + 1;
  co->base_ci.top = co->top + MINSTACK;
  stack_shrink(co);
  return status;
}

State* thread_new(State* L) {
  ensure_stack(L, 1);
  GlobalState* g = L->g;
  TValue* stack = mem_new_array<TValue>(L, BASIC_STACK_SIZE + EXTRA_STACK);
  State* L1;
  try {
    L1 = static_cast<State*>(gc_new_object(L, Tag::Thread, sizeof(State)));
  } catch (LuaThrow&) {
    mem_free_array(L, stack, BASIC_STACK_SIZE + EXTRA_STACK);
    throw;
  }
  for (int i = 0; i < BASIC_STACK_SIZE + EXTRA_STACK; i++) stack[i] = TValue();
  L1->status = OK;
  L1->allowhook = 1;
  L1->nci = 0;
  L1->g = g;
  L1->stack = stack;
  L1->stack_last = stack + BASIC_STACK_SIZE;
  L1->top = stack + 1;
  L1->openupval = nullptr;
  L1->tbclist = nullptr;
  L1->ntbc = L1->sizetbc = 0;
  L1->gclist = nullptr;
  L1->twups = L1;  // not in g->twups
  L1->hook = L->hook;
  L1->errfunc = 0;
  L1->nCcalls = 0;
  L1->nny = 0;  // as 5.4: a new thread is yieldable (coro_yield still needs a Coro)
  L1->oldpc = 0;
  L1->basehookcount = L->basehookcount;
  L1->hookcount = L->basehookcount;
  L1->hookmask = L->hookmask;
  L1->coro = nullptr;
  CallInfo* ci = &L1->base_ci;
  ci->func = stack;
  ci->top = stack + 1 + MINSTACK;
  ci->previous = ci->next = nullptr;
  ci->savedpc = nullptr;
  ci->trap = 0;
  ci->nextraargs = 0;
  ci->nresults = 0;
  ci->callstatus = CIST_C;
  ci->ftransfer = ci->ntransfer = 0;
  L1->ci = ci;
  push_raw(L, TValue::object(L1));
  return L1;
}

void thread_free(State* L, State* L1) {
  upval_close(L1, L1->stack);
  coro_free(L, L1);
  free_ci_list(L1);
  mem_free_array(L, L1->tbclist, static_cast<size_t>(L1->sizetbc));
  mem_free_array(L, L1->stack, static_cast<size_t>(L1->stack_size()) + EXTRA_STACK);
  GlobalState* g = L->g;
  if (L1->twups != L1) {
    for (State** pp = &g->twups; *pp != nullptr; pp = &(*pp)->twups) {
      if (*pp == L1) {
        *pp = L1->twups;
        break;
      }
    }
  }
  mem_free(L, L1, sizeof(State));
}

}  // namespace luna
