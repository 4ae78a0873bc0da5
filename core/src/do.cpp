// Calls, returns, the error path and stack growth.
//
// Errors are C++ exceptions (LuaThrow) carrying only a status; the error
// value itself travels on the Lua stack (L->top - 1), so nothing on the
// exception needs the collector's attention. See docs/architecture.md.
#include <csetjmp>
#include <cstring>

#include "state.hpp"

namespace luna {

namespace {

// Stack size while handling a "stack overflow": the extra slots give the
// message handler room to run.
constexpr int ERROR_STACK_SIZE = MAXSTACK + 200;

// Unused CallInfos stack_shrink keeps beyond the current frame, and the
// number of CallInfos a thread keeps all of (a few KiB: no walk after every
// caught error to find the ones to drop).
constexpr int KEEP_FREE_CI = 8;
constexpr unsigned KEEP_ALL_CI = 64;

// Native nesting allowed beyond MAX_C_CALLS while handling "C stack overflow".
constexpr unsigned MAX_C_CALLS_ERR = MAX_C_CALLS / 10 * 11;

[[noreturn]] void error_in_error_handling(State* L) { throw_status(L, ERRERR); }

// Raises the native-nesting error once the count reaches the limit; a few
// more levels are allowed so a message handler can run.
void check_cstack(State* L) {
  if (L->nCcalls == MAX_C_CALLS)
    run_error(L, "C stack overflow");
  else if (L->nCcalls >= MAX_C_CALLS_ERR)
    error_in_error_handling(L);
}

// Reallocates the stack to newsize usable slots, fixing every pointer that
// points into it. With raise false, an allocation failure returns false.
bool realloc_stack(State* L, int newsize, bool raise) {
  int oldsize = L->stack_size();
  TValue* oldstack = L->stack;
  TValue* newstack;
  try {
    newstack = mem_new_array<TValue>(L, static_cast<size_t>(newsize) + EXTRA_STACK);
  } catch (LuaThrow&) {
    if (raise) throw;
    return false;
  }
  int keep = oldsize < newsize ? oldsize : newsize;
  for (int i = 0; i < keep + EXTRA_STACK; i++) newstack[i] = oldstack[i];
  for (int i = keep + EXTRA_STACK; i < newsize + EXTRA_STACK; i++) newstack[i] = TValue();
  auto fix = [&](TValue* p) { return newstack + (p - oldstack); };
  L->top = fix(L->top);
  for (CallInfo* ci = L->ci; ci != nullptr; ci = ci->previous) {
    ci->func = fix(ci->func);
    ci->top = fix(ci->top);
    // The dispatcher caches `base`; trap makes it reload after a call.
    if (ci->is_lua()) ci->trap = 1;
  }
  for (UpVal* uv = L->openupval; uv != nullptr; uv = uv->u.open.next) uv->v = fix(uv->v);
  L->stack = newstack;
  L->stack_last = newstack + newsize;
  if (oldstack != thread_tail(L)) mem_free_array(L, oldstack, static_cast<size_t>(oldsize) + EXTRA_STACK);
  return true;
}

// Slots in use by the live frames (at least MINSTACK).
int stack_in_use(State* L) {
  TValue* lim = L->top;
  for (CallInfo* ci = L->ci; ci != nullptr; ci = ci->previous)
    if (lim < ci->top) lim = ci->top;
  int n = static_cast<int>(lim - L->stack) + 1;
  return n < MINSTACK ? MINSTACK : n;
}

// Moves nres results from the stack top to res, adjusting to `wanted`.
void move_results(State* L, TValue* res, int nres, int wanted) {
  TValue* first = L->top - nres;
  switch (wanted) {
    case 0:
      L->top = res;
      return;
    case 1:
      *res = nres == 0 ? TValue() : *first;
      L->top = res + 1;
      return;
    case MULTRET:
      wanted = nres;
      break;
    default:
      break;
  }
  int n = nres < wanted ? nres : wanted;
  for (int i = 0; i < n; i++) res[i] = first[i];
  for (int i = n; i < wanted; i++) res[i] = TValue();
  L->top = res + wanted;
}

// Puts the __call metamethod of the non-function at func below the
// arguments, which shift up one slot. Returns the (possibly moved) func.
// ncalls counts the metavalues of this call's chain, this one included.
TValue* insert_call_tm(State* L, TValue* func, int ncalls) {
  const TValue* tm = tm_get_by_obj(L, *func, TM_CALL);
  if (tm->is_nil()) call_error(L, func);
  if (ncalls > 15 && dialect(L).lib_55) run_error(L, "'__call' chain too long");
  TValue handler = *tm;
  ptrdiff_t f = L->save(func);
  ensure_stack(L, 1);
  func = L->restore(f);
  for (TValue* p = L->top; p > func; p--) *p = p[-1];
  L->top++;
  *func = handler;
  return func;
}

NativeFn native_fn(const TValue& v) {
  return v.tag == Tag::LightFn ? v.u.f : v.as_nclosure()->f;
}

// Closes the to-be-closed slots of a native frame that is returning,
// keeping its nres results on the top of the stack.
void close_native_frame(State* L, CallInfo* ci) {
  ptrdiff_t base = L->save(ci->func + 1);
  if (L->ntbc == 0 || L->tbclist[L->ntbc - 1] < base) return;
  tbc_close(L, L->restore(base), OK);
}

}  // namespace

// Ends a native frame like poscall; the common case (no to-be-closed slot
// anywhere, no hook, 0 or 1 result wanted) stays inline.
[[gnu::always_inline]] inline void end_native_frame(State* L, CallInfo* ci, int n) {
  if (__builtin_expect(L->ntbc != 0 || L->hookmask != 0, 0)) {
    poscall(L, ci, n);
    return;
  }
  TValue* res = ci->func;
  switch (ci->nresults) {
    case 0:
      L->top = res;
      break;
    case 1:
      *res = n == 0 ? TValue() : L->top[-n];
      L->top = res + 1;
      break;
    case 2:  // pcall's ok and value, next's key and value, find's two positions
      if (n >= 2) {
        const TValue* first = L->top - n;
        res[0] = first[0];
        res[1] = first[1];
        L->top = res + 2;
        break;
      }
      [[fallthrough]];
    default:
      move_results(L, res, n, ci->nresults);
      break;
  }
  L->ci = ci->previous;
}

void finish_native(State* L, CallInfo* ci, int n) { end_native_frame(L, ci, n); }

namespace {

[[gnu::always_inline]] inline int call_native_frame(State* L, CallInfo* ci, NativeFn f) {
  int n = f(L);
  if (__builtin_expect(n == NATIVE_YIELDED, 0)) return n;  // its frame stays
  end_native_frame(L, ci, n);
  return n;
}

// precall_native when the stack must grow, a CallInfo is missing or a call
// hook is set. Apart, so the common path keeps only L, ci and the result
// count in registers across the call (three saves fewer per native call).
[[gnu::noinline]] int precall_native_slow(State* L, TValue* func, int nresults, NativeFn f) {
  if (L->stack_last - L->top <= MINSTACK) {
    ptrdiff_t fo = L->save(func);
    stack_grow(L, MINSTACK);
    func = L->restore(fo);
  }
  CallInfo* ci = ci_after(L, L->ci);
  set_native_frame(L, ci, func, nresults);
  if (L->hookmask & MASKCALL) {
    int narg = static_cast<int>(L->top - func) - 1;
    call_hook(L, HOOKCALL, -1, 1, narg);
  }
  return call_native_frame(L, ci, f);
}

}  // namespace

// Calls a native function at func; returns its number of results, which
// are already moved into place, or NATIVE_YIELDED.
int precall_native(State* L, TValue* func, int nresults, NativeFn f) {
  CallInfo* ci = L->ci->next;
  if (__builtin_expect(L->stack_last - L->top <= MINSTACK || ci == nullptr || (L->hookmask & MASKCALL), 0))
    return precall_native_slow(L, func, nresults, f);
  set_native_frame(L, ci, func, nresults);
  return call_native_frame(L, ci, f);
}

// ------------------------------------------------------------ errors

// The catch point of a protected call. Throwing a C++ exception costs a
// table-driven, two-phase walk over every native frame up to the catch
// (about 1.5 us for pcall(error, ...), 90% of a caught error's time); a
// jump costs nothing per frame. It is taken only when every frame it skips
// is known to hold no destructor: the frames above `ci` are all Lua frames
// (their native frames are the dispatcher's and the metamethod helpers',
// which own nothing), none runs a hook (hook functions are host code), and
// the raiser is a Lua frame or a native marked CIST_NOUNWIND. Everything
// else, host frames included, unwinds as an exception.
//
// glibc's _setjmp and longjmp cost about 100 instructions per caught error
// (a call to save the signal mask, the pthread clean-up walk on the way
// back); GCC's builtins keep only the frame and stack pointers and the
// resume address. Sanitizers must see the jump (they intercept longjmp) and
// a CET shadow stack needs glibc's adjustment, so those builds keep glibc's.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer) || __has_feature(hwaddress_sanitizer)
#define LUNA_LIBC_JUMP 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(__CET__) || !defined(__GNUC__)
#define LUNA_LIBC_JUMP 1
#endif
#ifdef LUNA_LIBC_JUMP
using JumpBuf = std::jmp_buf;
#define LUNA_SETJMP(b) _setjmp(b)
#define LUNA_LONGJMP(b) std::longjmp(b, 1)  // not _longjmp: ThreadSanitizer intercepts only longjmp
#else
using JumpBuf = void* [5];
#define LUNA_SETJMP(b) __builtin_setjmp(b)
#define LUNA_LONGJMP(b) __builtin_longjmp(b, 1)
#endif

struct ErrorJump {
  JumpBuf buf;
  CallInfo* ci;      // frame that started the protected call
  ErrorJump* prev;
  int status;
  bool can_jump;     // false: the protected function may be host code
};

namespace {

bool can_jump_to(State* L, const ErrorJump* ej) {
  // A yield always jumps: only frames written for it (Lua frames, natives
  // with continuations, which own nothing) lie between it and its resume.
  if (L->status == YIELD) return true;
  // The raising frame may be a native marked CIST_NOUNWIND; every frame
  // below it must be an unhooked Lua frame.
  CallInfo* ci = L->ci;
  if (ci == ej->ci) return false;
  if ((ci->callstatus & (CIST_C | CIST_NOUNWIND)) == CIST_C || (ci->callstatus & CIST_HOOKED)) return false;
  for (ci = ci->previous; ci != ej->ci; ci = ci->previous)
    if (ci->callstatus & (CIST_HOOKED | CIST_C)) return false;
  return true;
}

// Restores L->errorjmp on every exit of pcall_raw, foreign exceptions
// (and a coroutine's private unwinding) included.
class JumpScope {
 public:
  JumpScope(State* L, ErrorJump* ej) : L_(L), prev_(L->errorjmp) {
    ej->prev = prev_;
    L->errorjmp = ej;
  }
  ~JumpScope() { L_->errorjmp = prev_; }
  JumpScope(const JumpScope&) = delete;
  JumpScope& operator=(const JumpScope&) = delete;

 private:
  State* L_;
  ErrorJump* prev_;
};

}  // namespace

[[noreturn]] void throw_status(State* L, int status) {
  ErrorJump* ej = L->errorjmp;
  if ((status == ERRRUN || status == YIELD) && ej != nullptr && ej->can_jump && can_jump_to(L, ej)) {
    ej->status = status;
    LUNA_LONGJMP(ej->buf);
  }
  throw LuaThrow{status};
}

void set_error_obj(State* L, int errcode, TValue* oldtop) {
  switch (errcode) {
    case ERRMEM:
      *oldtop = str_value(L->g->memerrmsg);
      break;
    case ERRERR:
      *oldtop = str_value(str_new_cstr(L, "error in error handling"));
      break;
    case OK:
      *oldtop = TValue();
      break;
    default:
      *oldtop = L->top[-1];
      break;
  }
  L->top = oldtop + 1;
}

int run_protected(State* L, ProtectedFn f, void* ud, bool can_jump, CallInfo* base) {
  ErrorJump ej;
  ej.ci = base;
  ej.status = OK;
  ej.can_jump = can_jump;
  JumpScope scope(L, &ej);
  if (LUNA_SETJMP(ej.buf) != 0) return ej.status;
  try {
    f(L, ud);
  } catch (LuaThrow& e) {
    return e.status;
  }
  return OK;
}

namespace {

struct CloseArgs {
  ptrdiff_t level;
  int status;
};

void close_upto(State* L, void* ud) {
  auto* a = static_cast<CloseArgs*>(ud);
  upval_close(L, L->restore(a->level));
  tbc_close_yieldable(L, L->restore(a->level), a->status);
}

}  // namespace

int close_protected(State* L, ptrdiff_t level, int status) {
  // Nothing to-be-closed at or above level (the usual caught error): open
  // upvalues close without raising, so no catch point is needed.
  if (L->ntbc == 0 || L->tbclist[L->ntbc - 1] < level) {
    upval_close(L, L->restore(level));
    return status;
  }
  CallInfo* old_ci = L->ci;
  uint8_t old_allowhook = L->allowhook;
  unsigned old_nCcalls = L->nCcalls;
  unsigned old_nny = L->nny;
  // Each round closes what is left; an error raised by a __close becomes
  // the current error and the next round goes on with the remaining slots.
  // Closing after an error here is never yieldable: no continuation
  // would pick it up (pcall_k recovers in coroutine.cpp instead).
  for (;;) {
    CloseArgs a{level, status};
    L->nny = old_nny + 1;
    int st = run_protected(L, close_upto, &a, false, L->ci);
    L->nny = old_nny;
    if (st == OK) return status;
    // A coroutine closing itself while coro_close closes all of it: that is
    // this close, which goes on.
    if (st != CLOSE_SELF || old_ci != &L->base_ci) status = st;
    L->ci = old_ci;
    L->allowhook = old_allowhook;
    L->nCcalls = old_nCcalls;
    L->nny = old_nny;
  }
}

namespace {

// What a protected call puts back after an error.
struct CallState {
  CallInfo* ci;
  unsigned nCcalls;
  unsigned nny;
  uint8_t allowhook;
  explicit CallState(State* L) : ci(L->ci), nCcalls(L->nCcalls), nny(L->nny), allowhook(L->allowhook) {}
};

// stack_shrink's tests without its call: after the usual caught error the
// stack is small for the current frame and the thread keeps all its
// CallInfos, so there is nothing to shrink or free.
inline bool shrink_due(State* L) {
  TValue* lim = L->top < L->ci->top ? L->ci->top : L->top;
  int size = L->stack_size();
  return size > MAXSTACK || size > 3 * static_cast<int>(lim - L->stack + 1) || L->nci > KEEP_ALL_CI;
}

// After an error caught by a protected call started with saved: the state
// put back, the slots from old_top closed, the error object at old_top.
// In line: a call here costs a sixth of the usual case's work.
[[gnu::always_inline]] inline int recover(State* L, const CallState& saved, ptrdiff_t old_top, int status) {
  L->ci = saved.ci;
  L->allowhook = saved.allowhook;
  L->nCcalls = saved.nCcalls;
  L->nny = saved.nny;
  TValue* level = L->restore(old_top);
  if (status == ERRRUN && (L->ntbc == 0 || L->tbclist[L->ntbc - 1] < old_top)) {
    // The usual caught error (close_protected's and set_error_obj's first
    // cases, without their calls): open upvalues close, nothing raises.
    if (L->openupval != nullptr && L->openupval->v >= level) upval_close(L, level);
    *level = L->top[-1];
    L->top = level + 1;
  } else {
    status = close_protected(L, old_top, status);
    set_error_obj(L, status, L->restore(old_top));
  }
  if (shrink_due(L)) stack_shrink(L);
  return status;
}

}  // namespace

int pcall_raw(State* L, ProtectedFn f, void* ud, ptrdiff_t old_top, ptrdiff_t ef, bool can_jump,
              bool pass_close_self) {
  CallState saved(L);
  ptrdiff_t old_errfunc = L->errfunc;
  L->errfunc = ef;
  int status = run_protected(L, f, ud, can_jump, L->ci);
  if (status == CLOSE_SELF && pass_close_self) throw_status(L, status);  // for the resume
  // Recovery runs outside the handler: __close methods may yield, and a
  // context switch must never happen while an exception is being handled.
  if (status != OK) status = recover(L, saved, old_top, status);
  L->errfunc = old_errfunc;
  return status;
}

int pcall_noyield(State* L, TValue* func) {
  // pcall_raw(L, <call_noyield of func>, ..., true, true) with run_protected
  // and the call in this one function: a caught error's jump lands here,
  // and the callee's execute is one call away instead of five.
  ptrdiff_t old_top = L->save(func);
  CallState saved(L);
  ptrdiff_t old_errfunc = L->errfunc;
  L->errfunc = 0;
  ErrorJump ej;
  ej.ci = L->ci;
  ej.status = OK;
  ej.can_jump = true;
  {
    // The status lives in ej (in memory) only: a local written after the
    // setjmp could be clobbered by the jump back (-Wclobbered).
    JumpScope scope(L, &ej);
    if (LUNA_SETJMP(ej.buf) == 0) {
      try {
        call_noyield(L, func, MULTRET);
      } catch (LuaThrow& e) {
        ej.status = e.status;
      }
    }
  }
  int status = ej.status;
  if (status == CLOSE_SELF) throw_status(L, status);  // for the resume
  if (status != OK) status = recover(L, saved, old_top, status);
  L->errfunc = old_errfunc;
  return status;
}

[[gnu::always_inline]] inline CallInfo* precall_in_line(State* L, TValue* func, int nresults);

void pcall_in_place(State* L, TValue* func, int nresults) {
  // precall_native's frame for lib_pcall, lib_pcall's `true` below the
  // callee and pcall_noyield's catch point, in one function: per pcall a
  // trace makes, ~34 instructions fewer than the three calls and the
  // generic NCALL wrapper around them (coroutine_call).
  CallInfo* ci = L->ci->next;
  set_native_frame(L, ci, func, nresults);
  ci->callstatus |= CIST_NOUNWIND;  // as lib_pcall marks its frame
  TValue* first = func + 1;
  for (TValue* p = L->top; p > first; p--) *p = p[-1];
  *first = TValue::boolean(true);
  L->top++;
  TValue* callee = first + 1;
  ptrdiff_t old_top = L->save(callee);
  CallState saved(L);
  ptrdiff_t old_errfunc = L->errfunc;
  L->errfunc = 0;
  ErrorJump ej;
  ej.ci = ci;
  ej.status = OK;
  ej.can_jump = true;
  {
    JumpScope scope(L, &ej);
    if (LUNA_SETJMP(ej.buf) == 0) {
      try {
        // call_noyield with call's body here, and precall's Lua-closure path
        // when the stack has room: two calls fewer per pcall.
        L->nny++;
        L->nCcalls++;
        if (L->nCcalls >= MAX_C_CALLS) check_cstack(L);
        if (CallInfo* lci = precall_in_line(L, callee, MULTRET); lci != nullptr) {
          lci->callstatus |= CIST_FRESH;
          execute(L, lci);
        }
        L->nCcalls--;
        L->nny--;
      } catch (LuaThrow& e) {
        ej.status = e.status;
      }
    }
  }
  // Nothing above may stay in a register across the jump: L->ci is ci again.
  int status = ej.status;
  if (status == CLOSE_SELF) throw_status(L, status);  // for the resume
  int n;
  if (status != OK) {
    recover(L, saved, old_top, status);
    L->ci->func[1] = TValue::boolean(false);  // false in place of true, the error object above it
    n = 2;
  } else {
    if (L->ci->top < L->top) L->ci->top = L->top;  // as pcall_k's MULTRET results
    n = static_cast<int>(L->top - (L->ci->func + 1));
  }
  L->errfunc = old_errfunc;
  end_native_frame(L, L->ci, n);
}

// ------------------------------------------------------------- stack

void stack_realloc(State* L, int newsize) { realloc_stack(L, newsize, true); }

void stack_grow(State* L, int n, bool raise_error) {
  int size = L->stack_size();
  if (size > MAXSTACK) {
    // Already using the error margin: the handler itself overflowed.
    if (raise_error) error_in_error_handling(L);
    return;
  }
  if (n < MAXSTACK) {
    // Callers test `free <= n`, so growth must leave more than n slots free.
    int needed = static_cast<int>(L->top - L->stack) + n + 1;
    int newsize = 2 * size;
    if (newsize > MAXSTACK) newsize = MAXSTACK;
    if (newsize < needed) newsize = needed;
    if (newsize <= MAXSTACK) {
      realloc_stack(L, newsize, raise_error);
      return;
    }
  }
  // Too big. When raising, switch to the error size first so the message
  // handler has room; otherwise just report the failure (stack unchanged).
  if (raise_error) {
    realloc_stack(L, ERROR_STACK_SIZE, true);
    run_error(L, "stack overflow");
  }
}

void stack_shrink(State* L) {
  // The current frame's top bounds the slots in use from below: a stack
  // within three times that (the usual caught error) is never shrunk, and
  // the walk over every frame is skipped.
  TValue* lim = L->top < L->ci->top ? L->ci->top : L->top;
  int size = L->stack_size();
  if (size > MAXSTACK || size > 3 * static_cast<int>(lim - L->stack + 1)) {
    int inuse = stack_in_use(L);
    int reasonable = inuse > MAXSTACK / 3 ? MAXSTACK : inuse * 3;
    // Not while handling an overflow (inuse beyond MAXSTACK).
    if (inuse <= MAXSTACK && size > reasonable) {
      int newsize = inuse > MAXSTACK / 2 ? MAXSTACK : inuse * 2;
      realloc_stack(L, newsize, false);
    }
  }
  // A recording of this thread may hold the CallInfo of a frame an error
  // unwound (a function trace waiting for its call's return checks that
  // frame): it keeps them until the recording ends.
  if (L->g->jit.recorder == L || L->nci <= KEEP_ALL_CI) return;
  // Drop the frames a deep recursion left beyond the current one, keeping
  // a few so that a loop of caught errors does not free and reallocate them.
  CallInfo* keep = L->ci;
  for (int i = 0; i < KEEP_FREE_CI && keep->next != nullptr; i++) keep = keep->next;
  CallInfo* ci = keep->next;
  keep->next = nullptr;
  while (ci != nullptr) {
    CallInfo* next = ci->next;
    mem_free(L, ci, sizeof(CallInfo));
    L->nci--;
    ci = next;
  }
}

void inc_top(State* L) {
  ensure_stack(L, 1);
  L->top++;
}

namespace {
void link_ci(State* L, CallInfo* ci, CallInfo* n) noexcept {
  n->previous = ci;
  n->next = nullptr;
  n->trap = 0;
  ci->next = n;
  L->nci++;
}
}  // namespace

CallInfo* ci_after(State* L, CallInfo* ci) {
  if (ci->next == nullptr) link_ci(L, ci, static_cast<CallInfo*>(mem_alloc(L, sizeof(CallInfo))));
  return ci->next;
}

CallInfo* ci_try_after(State* L, CallInfo* ci) noexcept {
  if (ci->next == nullptr) {
    auto* n = static_cast<CallInfo*>(mem_try_alloc(L->g, sizeof(CallInfo)));
    if (n == nullptr) return nullptr;
    link_ci(L, ci, n);
  }
  return ci->next;
}

CallInfo* next_ci(State* L) {
  L->ci = ci_after(L, L->ci);
  return L->ci;
}

void free_ci_list(State* L) {
  CallInfo* ci = L->base_ci.next;
  L->ci = &L->base_ci;
  L->base_ci.next = nullptr;
  while (ci != nullptr) {
    CallInfo* next = ci->next;
    if (ci != tail_ci(L)) mem_free(L, ci, sizeof(CallInfo));  // a coroutine's first is in its block
    ci = next;
  }
  L->nci = 0;
}

// ------------------------------------------------------------- calls

// Every Lua-to-Lua call goes through precall, so its Lua-closure path makes
// no calls at all: everything rare (natives, __call, stack growth, a new
// CallInfo, hooks) is a tail call to an out-of-line helper, which lets the
// compiler skip saving registers on the common path.
namespace {

[[gnu::noinline]] CallInfo* precall_other(State* L, TValue* func, int nresults) {
  switch (func->tag) {
    case Tag::LightFn:
    case Tag::NClosure:
      precall_native(L, func, nresults, native_fn(*func));
      return nullptr;
    default: {
      int ncalls = 0;  // __call chains are followed here, counting the hops
      do {
        func = insert_call_tm(L, func, ++ncalls);
      } while (func->tag != Tag::LClosure && func->tag != Tag::LightFn && func->tag != Tag::NClosure);
      CallInfo* ci = precall(L, func, nresults);
      if (ci != nullptr) ci->callstatus |= call_hops_status(ncalls);
      return ci;
    }
  }
}

[[gnu::noinline]] CallInfo* precall_grow(State* L, TValue* func, int nresults) {
  ptrdiff_t fo = L->save(func);
  stack_grow(L, func->as_lclosure()->p->maxstacksize);
  func = L->restore(fo);
  return enter_lua(L, func, func->as_lclosure()->p, nresults);
}

}  // namespace

// Allocates the CallInfo after L->ci, then retries.
CallInfo* enter_lua_new_frame(State* L, TValue* func, int nresults) {
  L->ci = next_ci(L)->previous;
  return enter_lua(L, func, func->as_lclosure()->p, nresults);
}

CallInfo* enter_lua_hooked(State* L, CallInfo* ci) {
  hook_call(L, ci);
  return ci;
}

// precall's body, in line where a caller in this file makes one call per
// entry (pcall_in_place).
[[gnu::always_inline]] inline CallInfo* precall_in_line(State* L, TValue* func, int nresults) {
  if (__builtin_expect(func->tag != Tag::LClosure, 0)) return precall_other(L, func, nresults);
  const Proto* p = func->as_lclosure()->p;
  if (__builtin_expect(L->stack_last - L->top <= p->maxstacksize, 0)) return precall_grow(L, func, nresults);
  return enter_lua(L, func, p, nresults);
}

CallInfo* precall(State* L, TValue* func, int nresults) { return precall_in_line(L, func, nresults); }

int pretailcall(State* L, CallInfo* ci, TValue* func, int narg1, int delta) {
  int ncalls = 0;  // __call metavalues gone through
  for (;;) {
    switch (func->tag) {
      case Tag::LightFn:
      case Tag::NClosure:
        return precall_native(L, func, MULTRET, native_fn(*func));
      case Tag::LClosure: {
        Proto* p = func->as_lclosure()->p;
        int fsize = p->maxstacksize;
        if (L->stack_last - L->top <= fsize - delta) {
          ptrdiff_t fo = L->save(func);
          stack_grow(L, fsize - delta);
          func = L->restore(fo);
        }
        move_tail_frame(L, ci, func, narg1, delta, p, L->hookmask ? 1 : 0);
        ci->callstatus |= call_hops_status(ncalls);
        if (L->hookmask) hook_call(L, ci);
        return -1;
      }
      default:
        func = insert_call_tm(L, func, ++ncalls);
        narg1++;
        break;
    }
  }
}

void poscall(State* L, CallInfo* ci, int nres) {
  if (ci->callstatus & CIST_C) {
    ptrdiff_t res = L->save(L->top - nres);
    close_native_frame(L, ci);
    // __close calls leave the results in place but may move the stack.
    L->top = L->restore(res) + nres;
  }
  if (L->hookmask) ret_hook(L, ci, nres);
  move_results(L, ci->func, nres, ci->nresults);
  L->ci = ci->previous;
}

void call(State* L, TValue* func, int nresults) {
  L->nCcalls++;
  if (L->nCcalls >= MAX_C_CALLS) check_cstack(L);
  CallInfo* ci = precall(L, func, nresults);
  if (ci != nullptr) {
    ci->callstatus |= CIST_FRESH;
    execute(L, ci);
  }
  L->nCcalls--;
}

void call_noyield(State* L, TValue* func, int nresults) {
  L->nny++;
  call(L, func, nresults);
  L->nny--;
}

// TruthCalls' call for any callee: call_noyield(L, func, 1) with
// precall's Lua-closure path inline (one call per comparison instead of
// three: call_noyield, call, precall).
bool call_noyield_truth_slow(State* L, TValue* func) {
  if (func->tag == Tag::LClosure && L->nCcalls + 1 < MAX_C_CALLS &&
      L->stack_last - L->top > func->as_lclosure()->p->maxstacksize) {
    L->nny++;
    L->nCcalls++;
    CallInfo* ci = enter_lua(L, func, func->as_lclosure()->p, 1);
    ci->callstatus |= CIST_FRESH;
    // With the JIT on, the function's trace runs (the backend compiles
    // such frames), else the entry is counted as CALL counts it.
    const Instruction* pc = ci->savedpc;
    GlobalState* g = L->g;
    if (g->jit.enabled) {
      const Proto* p = ci->func->as_lclosure()->p;
      if (JitTrace* t = jit_function_trace(g->jit, p, pc)) pc = jit_enter_function(L, ci, t);
      else if (jit_entry_due(g->jit, p, pc)) pc = jit_call_event(L, ci);
    }
    if (pc != nullptr) {
      // A trace that left the function early resumes in the frame L->ci.
      L->ci->savedpc = pc;
      execute(L, L->ci);
    }
    L->nCcalls--;
    L->nny--;
  } else {
    call_noyield(L, func, 1);
  }
  return (--L->top)->truthy();
}

namespace {

// A truth call's end after its trace left the function early (or did not
// run): the interpreter resumes at pc in the frame L->ci (nothing to do for
// a null pc), then the result is popped.
bool finish_truth_call(State* L, const Instruction* pc) {
  if (pc != nullptr) {
    L->ci->savedpc = pc;
    execute(L, L->ci);
  }
  L->nCcalls--;
  L->nny--;
  return (--L->top)->truthy();
}

}  // namespace

// The trace t's machine code called here, without jit_enter_function's
// call and run's between (stitch14 measured ~140 instructions of C around
// each call of the trace). Its checks are made here: those that hold for
// the whole sort once (the CallInfos the trace declares after the frame's;
// frames_ stays -1 when the C-stack depth is too deep) and per call those
// a call can change (no hook, budget or recording, the stack slots the
// trace declares).
bool TruthCalls::call_trace(State* L, TValue* func, const Proto* p, JitTrace* t) {
  GlobalState* g = L->g;
  if (__builtin_expect(t->frames > frames_ || t->entry == nullptr || g->instr_budget != 0 ||
                           g->jit.recorder != nullptr || L->hookmask != 0 ||
                           L->stack_last - L->top <= p->maxstacksize || L->stack_last - (func + 1) <= t->stack_slots,
                       0))
    return call_trace_checked(L, func, p, t);
  L->nny++;
  L->nCcalls++;
  CallInfo* ci = ci_;  // L->ci->next (frames_ >= 0)
  L->ci = ci;
  init_lua_frame(L, ci, func, L->top, 1, p, 0);
  ci->callstatus |= CIST_FRESH;
  ci->ctx = t->return_ctx;
  g->jit.entries++;
  JitExit* x = t->entry(L, func + 1);
  if (__builtin_expect(x == t->returned && g->jit.pending_status == 0 && !g->jit.flush_due, 1)) {
    // Returned: the result is at func (the stack has not moved), L->top
    // is left to this caller.
    L->nCcalls--;
    L->nny--;
    L->top = func;
    return func->truthy();
  }
  if (x == t->returned) L->top = func + 1;  // as poscall leaves it, for the work put off
  return finish_truth_call(L, jit_function_left(L, t, x));
}

// call_trace when one of its checks failed: first counts the CallInfos
// after L->ci again (up to the trace's need: deeper calls may have added
// some), then calls as call_trace would with every check made here; a
// frame entered with a hook goes to jit_enter_function, anything else
// that stands in the way to call_noyield_truth_slow.
bool TruthCalls::call_trace_checked(State* L, TValue* func, const Proto* p, JitTrace* t) {
  CallInfo* next = L->ci->next;
  if (next != nullptr && depth_ok_) {
    ci_ = next;
    int n = 0;
    for (const CallInfo* c = next->next; c != nullptr && n < t->frames; c = c->next) n++;
    frames_ = n;
  }
  GlobalState* g = L->g;
  if (t->entry == nullptr || g->instr_budget != 0 || g->jit.recorder != nullptr || !depth_ok_ ||
      L->stack_last - L->top <= p->maxstacksize || L->stack_last - (func + 1) <= t->stack_slots)
    return call_noyield_truth_slow(L, func);
  L->nny++;
  L->nCcalls++;
  CallInfo* ci = enter_lua(L, func, p, 1);
  ci->callstatus |= CIST_FRESH;
  bool direct = ci->trap == 0;  // enter_lua found no hook
  const CallInfo* c = ci;
  for (int i = 0; direct && i < t->frames; i++) direct = (c = c->next) != nullptr;
  if (!direct) return finish_truth_call(L, jit_enter_function(L, ci, t));
  ci->ctx = t->return_ctx;
  g->jit.entries++;
  JitExit* x = t->entry(L, func + 1);
  if (x == t->returned) {
    L->top = func + 1;  // as poscall leaves it
    if (g->jit.pending_status == 0 && !g->jit.flush_due) {
      L->nCcalls--;
      L->nny--;
      return (--L->top)->truthy();
    }
  }
  return finish_truth_call(L, jit_function_left(L, t, x));
}

// ------------------------------------------------------------- hooks

void call_hook(State* L, int event, int line, int ftransfer, int ntransfer) {
  Hook hook = L->hook;
  if (hook == nullptr || !L->allowhook) return;
  CallInfo* ci = L->ci;
  ptrdiff_t top = L->save(L->top);
  ptrdiff_t ci_top = L->save(ci->top);
  DebugInfo ar;
  ar.event = event;
  ar.currentline = line;
  ar.i_ci = ci;
  uint16_t mask = CIST_HOOKED;
  if (event == HOOKLINE || event == HOOKCOUNT) mask |= CIST_TRACE;
  if (ntransfer != 0) {
    mask |= CIST_TRAN;
    ci->ftransfer = static_cast<unsigned short>(ftransfer);
    ci->ntransfer = static_cast<unsigned short>(ntransfer);
  }
  // A Lua frame's registers up to ci->top are live: the hook works above.
  if (ci->is_lua() && L->top < ci->top) L->top = ci->top;
  ensure_stack(L, MINSTACK);
  if (ci->top < L->top + MINSTACK) ci->top = L->top + MINSTACK;
  L->allowhook = 0;
  ci->callstatus |= mask;
  hook(L, &ar);
  L->allowhook = 1;
  ci->top = L->restore(ci_top);
  L->top = L->restore(top);
  ci->callstatus &= static_cast<uint16_t>(~mask);
}

void hook_call(State* L, CallInfo* ci) {
  L->oldpc = 0;  // a new function: its first instruction is a new line
  if (!(L->hookmask & MASKCALL)) return;
  int event = (ci->callstatus & CIST_TAIL) ? HOOKTAILCALL : HOOKCALL;
  Proto* p = ci->func->as_lclosure()->p;
  // Line queries use savedpc - 1: point past the first instruction.
  ci->savedpc++;
  call_hook(L, event, -1, 1, p->numparams);
  ci->savedpc--;
}

void ret_hook(State* L, CallInfo* ci, int nres) {
  if (L->hookmask & MASKRET) {
    TValue* firstres = L->top - nres;
    int delta = 0;
    // A vararg frame has already been moved down over its extra arguments;
    // the hook must see the function where it ran.
    if (ci->is_lua()) {
      Proto* p = ci->func->as_lclosure()->p;
      if (p->is_vararg) delta = ci->nextraargs + p->numparams + 1;
    }
    ci->func += delta;
    int ftransfer = static_cast<int>(firstres - ci->func);
    call_hook(L, HOOKRET, -1, ftransfer, nres);
    ci->func -= delta;
  }
  CallInfo* prev = ci->previous;
  if (prev != nullptr && prev->is_lua())
    L->oldpc = static_cast<int>(prev->savedpc - prev->func->as_lclosure()->p->code) - 1;
}

// ------------------------------------------------------------ loading

namespace {

struct ParserArgs {
  const char* data;
  size_t size;
  const char* name;
  const char* mode;
};

void check_mode(State* L, const char* mode, const char* kind) {
  if (mode != nullptr && std::strchr(mode, kind[0]) == nullptr) {
    push_fstring(L, "attempt to load a %s chunk (mode is '%s')", kind, mode);
    throw_status(L, ERRSYNTAX);
  }
}

void parse_chunk(State* L, void* ud) {
  auto* a = static_cast<ParserArgs*>(ud);
  if (a->size > 0 && a->data[0] == BINARY_SIGNATURE[0]) {
    check_mode(L, a->mode, "binary");
    undump_chunk(L, a->data, a->size, a->name);
  } else {
    check_mode(L, a->mode, "text");
    compile_source(L, a->data, a->size, a->name);
  }
}

}  // namespace

int protected_parser(State* L, const char* data, size_t size, const char* name, const char* mode) {
  ParserArgs a{data, size, name, mode};
  L->nny++;  // the compiler cannot yield
  int status = pcall_raw(L, parse_chunk, &a, L->save(L->top), L->errfunc);
  L->nny--;
  return status;
}

}  // namespace luna
