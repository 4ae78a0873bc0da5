// Coroutines without native stacks of their own.
//
// A coroutine's suspended state is its Lua stack and CallInfo list.
// coroutine.yield called from the Lua code the resume runs directly just
// returns to it (coro_yield_return). Any other yield jumps from the
// yielding native straight back to the resume that ran the coroutine,
// discarding the native frames in between; those can
// only be the dispatcher's and natives written with continuations
// (call_k/pcall_k/yield_k), since every other native call into Lua makes
// the thread non-yieldable (nny). The next resume "unrolls" the CallInfo
// list: native frames go on in their continuation, Lua frames first finish
// the instruction that was interrupted inside a metamethod (vm_finish_op),
// then run on. An error in a coroutine is caught by the resume too; when a
// pcall_k frame is on the list, it is recovered there and unrolling goes on.
// See docs/architecture.md, "Coroutines".
#include <new>

#include "builtin.hpp"
#include "luna/api.hpp"
#include "opcodes.hpp"
#include "pool.hpp"
#include "state.hpp"

namespace luna {

namespace {

int resume_error(State* L, const char* msg, int nargs) {
  L->top -= nargs;
  *L->top++ = str_value(str_new_cstr(L, msg));
  return ERRRUN;
}

// Ends the protected call of the pcall_k frame ci: after an error, closes
// its upvalues and to-be-closed variables (which may yield or raise again;
// recovery then restarts here) and leaves the error object in place of the
// called function. Returns the status for the continuation.
int finish_pcall_k(State* L, CallInfo* ci) {
  int status = ci->recover_status;
  if (status == OK) {
    status = YIELD;  // the protected call was only interrupted by a yield
  } else {
    L->allowhook = ci->old_allowhook;
    upval_close(L, L->restore(ci->funcidx));
    tbc_close_yieldable(L, L->restore(ci->funcidx), status);
    set_error_obj(L, status, L->restore(ci->funcidx));
    stack_shrink(L);
    ci->recover_status = OK;
  }
  ci->callstatus &= static_cast<uint16_t>(~CIST_YPCALL);
  L->errfunc = ci->old_errfunc;
  return status;
}

// Goes on with the native frame ci whose call_k/pcall_k was interrupted.
void finish_native_call(State* L, CallInfo* ci) {
  int status = YIELD;
  if (ci->callstatus & CIST_YPCALL) status = finish_pcall_k(L, ci);
  if (L->ci->top < L->top) L->ci->top = L->top;  // call_k with MULTRET
  int n = ci->k(L, status, ci->ctx);
  poscall(L, ci, n);
}

// Runs the Lua frame ci (and the Lua frames below it up to a fresh one)
// as the execute() a yield may return from. True when it yielded so.
bool run_lua(State* L, CallInfo* ci) {
  L->direct_ncalls = L->nCcalls;
  execute(L, ci);
  return L->status == YIELD;
}

// The dispatcher's stitch point after a CALL, for a frame ci resumed after
// its call of coroutine.yield: execute starts at the instruction after the
// call without looking there, so a trace stitched across the yield (its
// continuation, recorded from a request attached there) would never run.
// Whether one is attached at ci's pc (with the JIT off, jit_stitch_event
// refuses it).
[[gnu::always_inline]] inline bool stitched_after_call(State* L, const CallInfo* ci) {
  const Instruction* pc = ci->savedpc;
  return __builtin_expect(L->g->jit.attached[jit_slot(pc)].pc == pc, 0);
}

// Enters the trace attached at ci's pc. Returns the frame to run on: ci
// when nothing ran, L->ci (its savedpc the exit's pc) when a trace left,
// nullptr when one returned from ci (L->ci is its caller again, the
// results in place: the frame's return is done).
[[gnu::noinline]] CallInfo* run_stitched(State* L, CallInfo* ci) {
  L->direct_ncalls = L->nCcalls;  // the dispatcher's, as run_lua sets it
  const Instruction* pc = jit_stitch_event(L, ci, ci->savedpc);
  if (pc == nullptr) return nullptr;
  L->ci->savedpc = pc;
  return L->ci;
}

// A trace entered by run_stitched left its frame ci (L->ci) at a CALL
// of coroutine.yield (it stitches there: the call ends it): the yield is
// made as the dispatcher's CALL makes it (coro_yield_direct), without a
// fresh execute for that one instruction (its entry, dispatch and exit,
// about 60 instructions a resume). False, nothing changed, when the CALL
// is another's or the dispatcher's would not take that way (a hook or
// recording, a budget to charge, no spare CallInfo).
bool yield_after_trace(State* L, CallInfo* ci) {
  const Instruction* pc = ci->savedpc;
  Instruction i = *pc;
  // A recording started by the trace's exit (a side trace from the call)
  // must see the call: the dispatcher makes it.
  GlobalState* g = L->g;
  if (get_op(i) != OP_CALL || ci->trap || g->instr_budget != 0 || g->jit.recorder != nullptr) return false;
  TValue* ra = ci->func + 1 + getarg_A(i);
  if (ra->tag != Tag::LightFn || ra->u.f != lib_coroutine_yield) return false;
  TValue* top = L->top;
  if (getarg_B(i) != 0) L->top = ra + getarg_B(i);  // else the exit set it (the snapshot's)
  ci->savedpc = pc + 1;  // past the call, as the dispatcher's savepc
  L->direct_ncalls = L->nCcalls;  // the execute run_lua would have entered
  if (coro_yield_direct(L, ra, getarg_C(i) - 1)) return true;
  ci->savedpc = pc;
  L->top = top;
  return false;
}

// Runs the interrupted frames of L until the coroutine's body returns or
// yields again. Inline in resume_body: a call layer less on every resume.
[[gnu::always_inline]] inline void run_frames(State* L) {
  CallInfo* ci;
  while ((ci = L->ci) != &L->base_ci) {
    if (!ci->is_lua()) {
      L->direct_ncalls = 0;  // no execute() at this level
      finish_native_call(L, ci);
    } else {
      // A call (the usual yield) has nothing to finish: its results are in place.
      if (get_op(ci->savedpc[-1]) != OP_CALL) {
        vm_finish_op(L);
      } else if (stitched_after_call(L, ci)) {
        if ((ci = run_stitched(L, ci)) == nullptr) continue;  // a trace returned from the frame
        if (yield_after_trace(L, ci)) return;
      }
      if (run_lua(L, ci)) return;
    }
  }
}

void unroll(State* L, void*) { run_frames(L); }

struct ResumeArgs {
  int nargs;
};

[[gnu::always_inline]] inline void resume_body(State* L, void* ud) {
  int n = static_cast<ResumeArgs*>(ud)->nargs;
  TValue* first = L->top - n;
  if (L->status == OK) {  // first resume: call the body
    L->direct_ncalls = L->nCcalls + 1;  // as call() counts it
    TValue* func = first - 1;
    CallInfo* ci = L->ci->next;  // the block's tail (thread_new)
    // A Lua body with room on the first stack, no hook: call()'s work
    // without its precall (about 30 instructions a created coroutine).
    if (func->tag == Tag::LClosure && ci != nullptr && L->hookmask == 0 && L->nCcalls + 1 < MAX_C_CALLS &&
        L->stack_last - L->top > func->as_lclosure()->p->maxstacksize) {
      L->nCcalls++;
      L->ci = ci;
      init_lua_frame(L, ci, func, L->top, MULTRET, func->as_lclosure()->p, 0);
      ci->callstatus |= CIST_FRESH;
      execute(L, ci);
      L->nCcalls--;
      return;
    }
    call(L, func, MULTRET);
    return;
  }
  L->direct_ncalls = 0;
  L->status = OK;
  CallInfo* ci = L->ci;
  if (ci->is_lua()) {
    // Suspended by a line or count hook: the values passed in are dropped
    // and the frame goes on with the instruction it stopped before.
    L->top = first;
    if (run_lua(L, ci)) return;
  } else {
    // The yielding native's frame: the values passed in are its results,
    // or its continuation runs first.
    if (ci->k != nullptr) n = ci->k(L, YIELD, ci->ctx);
    int want = ci->nresults;
    if ((want == 0 || (want == 1 && n > 0)) && L->ntbc == 0 && L->hookmask == 0) {
      // x = coroutine.yield(...) and coroutine.yield(...), the usual cases,
      // without finish_native's call
      TValue* res = ci->func;
      if (want == 1) *res++ = L->top[-n];
      L->top = res;
      L->ci = ci->previous;
    } else {
      finish_native(L, ci, n);
    }
  }
  run_frames(L);
}

// run_protected for the coroutine's frames. A C++ exception of a native
// function becomes a Lua error of the coroutine, as it would have died with
// its frames anyway: it must not fly on through the resumer's frames.
//
// The jump target (run_protected's _setjmp and ErrorJump, about 60
// instructions a resume) only makes an error, or a yield from deeper than
// the body's own Lua code, cheaper to deliver: a longjmp instead of a C++
// throw. Most programs' coroutines never do either, so resumes catch with
// a plain try block until one in the state has caught a throw
// (GlobalState::coro_thrown); from then on each sets the jump target.
[[gnu::always_inline]] inline int run_coroutine(State* L, ProtectedFn f, void* ud) {
  try {
    if (L->g->coro_thrown) return run_protected(L, f, ud, true, &L->base_ci);
    f(L, ud);
    return OK;
  } catch (LuaThrow& e) {
    L->g->coro_thrown = true;
    return e.status;
  } catch (std::bad_alloc&) {
    return ERRMEM;
  } catch (...) {
  }
  try {
    *L->top++ = str_value(str_new_cstr(L, "C++ exception in a native function"));
  } catch (LuaThrow&) {
    return ERRMEM;
  }
  return ERRRUN;
}

// Sets n stack slots to nil: the tags only, as nothing reads the payload
// of a nil (a memset becomes `rep stos`, which costs more to start at
// these sizes than the stores themselves).
void clear_slots(TValue* p, int n) {
#pragma GCC unroll 8
  for (int i = 0; i < n; i++) p[i].tag = Tag::Nil;
}

// Innermost pcall_k frame, or nullptr.
CallInfo* find_pcall(State* L) {
  for (CallInfo* ci = L->ci; ci != nullptr; ci = ci->previous)
    if (ci->callstatus & CIST_YPCALL) return ci;
  return nullptr;
}

int yielded(State* L, int* nresults) {
  *nresults = L->ci->is_lua() ? 0 : L->ci->nres;  // a hook yields no values
  return YIELD;
}

int finished(State* L, int* nresults) {
  // Its CallInfos go back now, not when it is collected (a program
  // creating many short-lived coroutines reuses them at once). Usually
  // there is only the body's, in the block's tail: nothing to free.
  CallInfo* first = L->base_ci.next;
  if (first == tail_ci(L) && first->next == nullptr) {
    L->ci = &L->base_ci;
    L->base_ci.next = nullptr;
    L->nci = 0;
  } else {
    free_ci_list(L);
  }
  *nresults = static_cast<int>(L->top - (L->ci->func + 1));
  return OK;
}

// The end of a resume other than a yield or a normal finish: an error,
// recovered by a pcall_k frame below it when there is one, or a
// coroutine that closed itself. Out of line: the usual resume is a yield.
[[gnu::noinline]] int resume_other(State* L, State* from, unsigned base, int status, int* nresults) {
  // An error with a pcall_k below it is recovered there, and the coroutine
  // goes on from that frame.
  while (status != OK && status != YIELD && status != CLOSE_SELF) {
    CallInfo* ci = find_pcall(L);
    if (ci == nullptr) break;
    L->ci = ci;
    L->nCcalls = base;
    L->nny = 0;
    ci->recover_status = static_cast<uint8_t>(status);
    status = run_coroutine(L, unroll, nullptr);
    if (status == OK && L->status == YIELD) status = YIELD;
  }
  if (status == YIELD) return yielded(L, nresults);
  if (status == CLOSE_SELF) {  // it closed itself: it ends, with no results or a closing error
    status = coro_close(L, from);
    if (status == OK) {
      *nresults = 0;
      return OK;
    }
    L->status = static_cast<uint8_t>(status);
    L->ci->top = L->top;
    *nresults = 1;
    return status;
  }
  if (status == OK) return finished(L, nresults);
  // Dead by error: the frames stay (a traceback can still see them).
  L->status = static_cast<uint8_t>(status);
  set_error_obj(L, status, L->top);
  L->ci->top = L->top;
  *nresults = 1;
  return status;
}

// lua_resume. Inline in coro_resume and transfer_inline: the library's
// resume pays one call layer less.
[[gnu::always_inline]] inline int resume_inline(State* L, State* from, int nargs, int* nresults) {
  if (L->status == OK) {
    if (L->ci != &L->base_ci) return resume_error(L, "cannot resume non-suspended coroutine", nargs);
    if (L->top - (L->ci->func + 1) == nargs) return resume_error(L, "cannot resume dead coroutine", nargs);
  } else if (L->status != YIELD) {
    return resume_error(L, "cannot resume dead coroutine", nargs);
  }
  unsigned base = from != nullptr ? from->nCcalls : 0;
  if (base >= MAX_C_CALLS) return resume_error(L, "C stack overflow", nargs);
  base++;
  L->nCcalls = base;
  L->nny = 0;
  ResumeArgs a{nargs};
  int status = run_coroutine(L, resume_body, &a);
  // OK when it yielded by returning (L->status says which) or finished.
  if (status == OK) return L->status == YIELD ? yielded(L, nresults) : finished(L, nresults);
  return resume_other(L, from, base, status, nresults);
}

// Copies n values from p to L's top; the caller made room.
[[gnu::always_inline]] inline void push_values(State* L, const TValue* p, int n) {
  TValue* top = L->top;  // a local: stores through p could alias L->top
  if (n == 1) {
    top[0] = p[0];  // the usual value each way; the loop's vector set-up costs more
  } else if (n == 2) {
    top[0] = p[0];  // resume(co, a, b): the loop's set-up cost 20 instructions
    top[1] = p[1];
  } else {
    for (int i = 0; i < n; i++) top[i] = p[i];
  }
  L->top = top + n;
}

// Whether n more values fit above L's top, in its stack and its frame (what
// check_stack would make sure of). The addresses are compared as integers,
// as top + n may lie past the stack: fewer instructions than the
// differences in slots.
[[gnu::always_inline]] inline bool fits(const State* L, int n) {
  uintptr_t need = reinterpret_cast<uintptr_t>(L->top) + static_cast<uintptr_t>(n) * sizeof(TValue);
  return need < reinterpret_cast<uintptr_t>(L->stack_last) && need <= reinterpret_cast<uintptr_t>(L->ci->top);
}

// release_finished's way with a first stack the spare stack cannot take:
// out of line, so that the usual way saves no registers for the call.
[[gnu::noinline]] void free_first_stack(State* co, TValue* stack) {
  mem_free_array(co, stack, static_cast<size_t>(co->stack_size()) + EXTRA_STACK);
}

// Once the results of a coroutine that finished without error have been
// moved away: moves what is left of its stack to its block's tail. Inline
// in the resumes that end so (about 15 instructions a created coroutine:
// the call, and the register saves its rare free needed).
[[gnu::always_inline]] inline void release_finished(State* co) {
  // Nothing is left on it but the body's slot, yet it would hold its
  // stack until collected. Released now, the block goes to the next
  // coroutine while still in the cache, and collections come a third as
  // often in a program that makes many short-lived coroutines.
  // Its CallInfos were freed (finished), unless it closed itself: then the
  // tail may still hold the first of them.
  if (stack_in_tail(co) || co->ci != &co->base_ci || co->base_ci.next != nullptr || co->top != co->stack + 1 ||
      co->openupval != nullptr)
    return;
  TValue* stack = thread_tail(co);
  stack[0] = co->stack[0];
  clear_slots(stack + 1, FINISHED_STACK_SIZE + EXTRA_STACK - 1);
  // The first stack waits for the next coroutine.create: a pooled free and
  // allocation fewer per short-lived coroutine (it stays counted as in use).
  GlobalState* g = co->g;
  if (g->spare_stack == nullptr && co->stack_size() == BASIC_STACK_SIZE)
    g->spare_stack = co->stack;
  else
    free_first_stack(co, co->stack);
  co->stack = stack;
  co->stack_last = stack + FINISHED_STACK_SIZE;
  co->top = stack + 1;
  co->base_ci.func = stack;
  co->base_ci.top = co->stack_last;
}

// The second half of transfer_inline: co's resume ended with st, its nres
// results (or the error object) on its top.
[[gnu::always_inline]] inline int transfer_results(State* L, State* co, int st, int nres, const TValue* flag) {
  if (st == OK || st == YIELD) {
    int room = nres + 1;
    if (!fits(L, room)) {
      if (!check_stack(L, room)) {
        co->top -= nres;
        push_string(L, "too many results to resume");
        return -1;
      }
    }
    if (flag != nullptr) *L->top++ = *flag;
    co->top -= nres;
    push_values(L, co->top, nres);
    if (st == OK) release_finished(co);
    return nres;
  }
  xmove(co, L, 1);  // the error object
  return -1;
}

// Moves narg values from L's top to co and resumes it; then moves its
// results to L's top, after *flag (resume's true) when given, and returns
// their number; or returns -1 with the error object on L's top. A finished
// coroutine's stack is released. Inline in the library's resume and wrap
// functions: no call layer between them and the resume.
[[gnu::always_inline]] inline int transfer_inline(State* L, State* co, int narg, const TValue* flag) {
  if (!fits(co, narg)) {
    if (!check_stack(co, narg)) {
      push_string(L, "too many arguments to resume");
      return -1;
    }
  }
  L->top -= narg;
  push_values(co, L->top, narg);
  int nres = 0;
  int st = resume_inline(co, L, narg, &nres);
  return transfer_results(L, co, st, nres, flag);
}

// The values of the running native's frame.
int frame_values(State* L) { return static_cast<int>(L->top - (L->ci->func + 1)); }

// wrap's function after its coroutine failed (the error object is on L's
// top): raises the error, as error() would, with the caller's position.
[[noreturn, gnu::noinline]] void wrap_error(State* L, State* co) {
  int st = status(co);
  if (st != OK && st != YIELD) {  // the coroutine died with an error
    st = close_thread(co, L);  // runs its pending to-be-closed variables
    xmove(co, L, 1);           // the (possibly updated) error object
  }
  if (st != ERRMEM && type(L, -1) == TSTRING) {
    // like error(): string messages get the caller's position
    where(L, 1);
    insert(L, -2);
    concat(L, 2);
  }
  error(L);
}

[[noreturn, gnu::noinline]] void not_a_thread(State* L) {
  arg_expected(L, false, 1, "thread");
  __builtin_unreachable();
}

}  // namespace

int coro_resume(State* L, State* from, int nargs, int* nresults) { return resume_inline(L, from, nargs, nresults); }

int coro_transfer(State* L, State* co, int narg, const TValue* flag) { return transfer_inline(L, co, narg, flag); }

namespace {

[[gnu::always_inline]] inline int resume_call_inline(State* L) {
  const TValue* a = L->ci->func + 1;
  if (frame_values(L) == 0 || !a->is_thread()) not_a_thread(L);
  const TValue yes = TValue::boolean(true);
  int r = transfer_inline(L, a->as_thread(), frame_values(L) - 1, &yes);
  if (r < 0) {
    push_boolean(L, false);
    insert(L, -2);
    return 2;  // false, error object
  }
  return r + 1;  // true, results
}

[[gnu::always_inline]] inline int wrap_call_inline(State* L) {
  State* co = L->ci->func->as_nclosure()->upvalue[0].as_thread();
  int r = transfer_inline(L, co, frame_values(L), nullptr);
  if (r < 0) wrap_error(L, co);
  return r;
}

// Whether co was suspended by a yield of a native frame without a
// continuation that wants at most one value (coroutine.yield called by a
// Lua CALL: coro_yield_direct or NATIVE_YIELDED), with nothing to close and
// no hook: the frame resume_body's usual case ends.
[[gnu::always_inline]] inline bool suspended_by_call(const State* co) {
  const CallInfo* ci = co->ci;
  return co->status == YIELD && !ci->is_lua() && ci->k == nullptr && static_cast<unsigned>(ci->nresults) <= 1 &&
         co->ntbc == 0 && co->hookmask == 0;
}

// resume_body's way on from the yield's frame, for run_coroutine: inline
// there (unroll, the same, is a call layer).
[[gnu::always_inline]] inline void run_resumed(State* L, void*) { run_frames(L); }

// The end of resume_direct and resume_first_direct: co's resume at C-call
// depth base ended with st (run_coroutine's); moves at most one result
// straight to the frame ci wanting nresults (after resume's true), or the
// results and errors the general way (transfer_results).
template <bool Wrap>
[[gnu::always_inline]] inline int direct_results(State* L, CallInfo* ci, State* co, unsigned base, int st,
                                                 int nresults, int& nres) {
  if (st == OK)
    st = co->status == YIELD ? yielded(co, &nres) : finished(co, &nres);
  else
    st = resume_other(co, L, base, st, &nres);
  if ((st == OK || st == YIELD) && L->ntbc == 0 && L->hookmask == 0 && fits(L, nres + 1)) {
    TValue* from = co->top - nres;
    TValue* res = ci->func;  // the stack may have moved
    int want = nresults;
    if (!Wrap && want > 0) {
      *res++ = TValue::boolean(true);
      want--;
    }
    if (want > 0) {
      if (nres > 0)
        *res = *from;
      else
        *res = TValue();
      res++;
    }
    co->top = from;
    L->top = res;
    L->ci = ci->previous;
    if (st == OK) release_finished(co);
    return Wrap ? nres : nres + 1;
  }
  const TValue yes = TValue::boolean(true);
  int n = transfer_results(L, co, st, nres, Wrap ? nullptr : &yes);
  if (n < 0) {
    if (Wrap) wrap_error(L, co);
    push_boolean(L, false);
    insert(L, -2);
    n = 2;  // false, error object
  } else if (!Wrap) {
    n++;  // true, results
  }
  finish_native(L, ci, n);
  return n;
}

// Resume (Wrap false: coroutine.resume(co, v)) or wrap's function (f(v))
// at func, given at most two values (a generic for's two: the yield takes
// the first, as resume_body would), wanting at most two results (one for
// wrap's function), its frame to be ci, resuming co that
// suspended_by_call, the C-call depth below its limit (what
// transfer_inline would find): the value goes straight into the yield's
// result slot, and the first value yielded back (or returned) straight into
// the frame's result slot (after resume's true), without the passes over
// both stacks' tops (room tests, copies, the frames' ends) and precall's
// layers. The resume itself, its errors and results that do not fit the
// usual end go the general way.
template <bool Wrap>
[[gnu::noinline]] int resume_direct(State* L, TValue* func, CallInfo* ci, State* co, int nresults) {
  set_native_frame(L, ci, func, nresults);
  TValue* arg = Wrap ? func + 1 : func + 2;
  CallInfo* yci = co->ci;
  TValue* res = yci->func;
  if (yci->nresults == 1) {
    if (L->top > arg)
      *res = *arg;
    else
      *res = TValue();
    res++;
  }
  co->top = res;
  L->top = arg;
  co->ci = yci->previous;
  co->status = OK;
  co->direct_ncalls = 0;
  unsigned base = L->nCcalls + 1;
  co->nCcalls = base;
  co->nny = 0;
  int nres = 0;
  int st = run_coroutine(co, run_resumed, nullptr);
  return direct_results<Wrap>(L, ci, co, base, st, nresults, nres);
}

// A coroutine not started yet (resume_body calls its body): what
// resume_inline would not refuse (not dead, the C-call depth below its
// limit), with room for narg values.
[[gnu::always_inline]] inline bool not_started(State* L, State* co, int narg) {
  return co->status == OK && co->ci == &co->base_ci && co->top > co->base_ci.func + 1 && fits(co, narg) &&
         L->nCcalls < MAX_C_CALLS;
}

// coroutine.resume(co, ...) at func, given at most two values and wanting
// at most two results, its frame to be ci, where co is not_started: the
// values go straight to co, the results as resume_direct's, without
// transfer_inline's and resume_inline's general passes and tests.
[[gnu::noinline]] int resume_first_direct(State* L, TValue* func, CallInfo* ci, State* co, int nresults) {
  set_native_frame(L, ci, func, nresults);
  TValue* arg = func + 2;
  int narg = static_cast<int>(L->top - arg);
  push_values(co, arg, narg);
  L->top = arg;
  unsigned base = L->nCcalls + 1;
  co->nCcalls = base;
  co->nny = 0;
  ResumeArgs a{narg};
  int nres = 0;
  int st = run_coroutine(co, resume_body, &a);
  return direct_results<false>(L, ci, co, base, st, nresults, nres);
}

// precall_native of resume (Wrap false) or wrap's function at func, with
// the library function inline: one call layer less per resume (about 30
// instructions with precall_native's saves). The usual ends of the frame
// (0, 1 or 2 results wanted, no to-be-closed slot, no hook) are made here;
// the rest, and the rare starts (a CallInfo to allocate, a stack to grow,
// a call hook), take precall_native's ways.
template <bool Wrap>
[[gnu::always_inline]] inline int precall_transfer(State* L, TValue* func, int nresults) {
  CallInfo* ci = L->ci->next;
  if (__builtin_expect(L->stack_last - L->top <= MINSTACK || ci == nullptr || (L->hookmask & MASKCALL), 0))
    return precall_native(L, func, nresults, Wrap ? coro_wrap_call : coro_resume_call);
  set_native_frame(L, ci, func, nresults);
  int n = Wrap ? wrap_call_inline(L) : resume_call_inline(L);
  TValue* res = ci->func;  // the stack may have moved
  if (__builtin_expect(L->ntbc != 0 || L->hookmask != 0, 0)) {
    finish_native(L, ci, n);
    return n;
  }
  if (nresults == 0) {
    L->top = res;
  } else if (nresults == 1) {
    *res = n == 0 ? TValue() : L->top[-n];
    L->top = res + 1;
  } else if (nresults == 2 && n >= 2) {
    const TValue* first = L->top - n;
    res[0] = first[0];
    res[1] = first[1];
    L->top = res + 2;
  } else {
    finish_native(L, ci, n);
    return n;
  }
  L->ci = ci->previous;
  return n;
}

// coroutine.create: thread_new without new_thread's call layer; the body
// is the first value on the new stack. Inline in create_precall.
[[gnu::always_inline]] inline int create_inline(State* L) {
  if (frame_values(L) == 0 || !L->ci->func[1].is_function()) check_type(L, 1, TFUNCTION);  // raises
  State* co = thread_new(L);
  *co->top++ = L->ci->func[1];
  gc_check(L);
  return 1;
}

}  // namespace

int coro_create(State* L) { return create_inline(L); }

int coro_resume_call(State* L) { return resume_call_inline(L); }

int coro_wrap_call(State* L) { return wrap_call_inline(L); }

namespace {

[[gnu::noinline]] int wrap_precall(State* L, TValue* func, int nresults) {
  return precall_transfer<true>(L, func, nresults);
}

[[gnu::noinline]] int resume_precall(State* L, TValue* func, int nresults) {
  return precall_transfer<false>(L, func, nresults);
}

// precall_native of coroutine.create at func wanting at most one result,
// with create inline: its frame made and ended here, without
// precall_native's layer and general end (about 15 instructions a created
// coroutine). The rare starts take precall_native's ways.
[[gnu::noinline]] int create_precall(State* L, TValue* func, int nresults) {
  CallInfo* ci = L->ci->next;
  if (__builtin_expect(L->stack_last - L->top <= MINSTACK || ci == nullptr || (L->hookmask & MASKCALL) ||
                           static_cast<unsigned>(nresults) > 1,
                       0))
    return precall_native(L, func, nresults, coro_create);
  set_native_frame(L, ci, func, nresults);
  int n = create_inline(L);
  TValue* res = ci->func;  // a finalizer may have moved the stack
  // A finalizer may have set a hook: the return hook is finish_native's.
  if (__builtin_expect(L->ntbc != 0 || L->hookmask != 0, 0)) {
    finish_native(L, ci, n);
    return n;
  }
  if (nresults == 1) *res++ = L->top[-1];
  L->top = res;
  L->ci = ci->previous;
  return n;
}

// Whether resume_direct applies to the call at func of wrap's function or
// resume (Wrap false) with the coroutine co: a usual call (a CallInfo to
// reuse, stack room, no call hook) of at most two values wanting at most two
// results (one from wrap's function) at a C-call depth below the limit, of
// a coroutine that suspended_by_call.
template <bool Wrap>
[[gnu::always_inline]] inline bool direct_applies(State* L, TValue* func, CallInfo* ci, State* co, int nresults) {
  return suspended_by_call(co) && ci != nullptr && L->stack_last - L->top > MINSTACK &&
         (L->hookmask & MASKCALL) == 0 && static_cast<unsigned>(nresults) <= (Wrap ? 1u : 2u) &&
         L->top - func <= (Wrap ? 3 : 4) && L->nCcalls < MAX_C_CALLS;
}

// resume_direct when it applies, else wrap_precall or resume_precall: tail
// calls only.
[[gnu::noinline]] int wrap_precall_direct(State* L, TValue* func, int nresults) {
  CallInfo* ci = L->ci->next;
  State* co = func->as_nclosure()->upvalue[0].as_thread();
  if (direct_applies<true>(L, func, ci, co, nresults)) return resume_direct<true>(L, func, ci, co, nresults);
  return wrap_precall(L, func, nresults);
}

[[gnu::noinline]] int resume_precall_direct(State* L, TValue* func, int nresults) {
  CallInfo* ci = L->ci->next;
  if (L->top - func >= 2 && func[1].is_thread()) {
    State* co = func[1].as_thread();
    if (direct_applies<false>(L, func, ci, co, nresults)) return resume_direct<false>(L, func, ci, co, nresults);
    if (not_started(L, co, static_cast<int>(L->top - func) - 2) && ci != nullptr && L->stack_last - L->top > MINSTACK &&
        (L->hookmask & MASKCALL) == 0 && static_cast<unsigned>(nresults) <= 2 && L->top - func <= 4)
      return resume_first_direct(L, func, ci, co, nresults);
  }
  return resume_precall(L, func, nresults);
}

}  // namespace

// Tail calls only: no frame of its own.
int coro_precall(State* L, TValue* func, int nresults, NativeFn f) {
  if (f == coro_wrap_call) return wrap_precall_direct(L, func, nresults);
  if (f == coro_resume_call) return resume_precall_direct(L, func, nresults);
  if (f == coro_create) return create_precall(L, func, nresults);
  return precall_native(L, func, nresults, f);
}

void coro_close_self(State* L) {
  // The message serves a catch point that takes this for an error (a
  // finalizer's, the loader's); the resume never shows it.
  ensure_stack(L, 1);
  *L->top++ = str_value(str_new_cstr(L, "coroutine closed itself"));
  throw_status(L, CLOSE_SELF);
}

int coro_yield(State* L, int nresults, KContext ctx, KFunction k) {
  CallInfo* ci = L->ci;
  // Besides natives, a line or count hook may yield (as in 5.4): L->ci is
  // then the hooked Lua frame. Other hooks and Lua frames may not.
  bool trace_hook = (ci->callstatus & CIST_TRACE) != 0;
  if (L->nny > 0 || (!trace_hook && (ci->is_lua() || (ci->callstatus & CIST_HOOKED)))) {
    if (L == L->g->mainthread) run_error(L, "attempt to yield from outside a coroutine");
    run_error(L, "attempt to yield across a C-call boundary");
  }
  if (trace_hook) {
    // The hook returns; trace_exec then suspends the frame.
    if (nresults != 0) run_error(L, "hooks cannot yield values");
    if (k != nullptr) run_error(L, "hooks cannot continue after yielding");
    L->status = YIELD;
    return 0;
  }
  L->status = YIELD;
  ci->nres = nresults;
  ci->k = k;
  ci->ctx = ctx;
  throw_status(L, YIELD);
}

int coro_close(State* co, State* from) {
  co->nCcalls = from != nullptr ? from->nCcalls : 0;
  co->ci = &co->base_ci;
  co->stack[0] = TValue();
  co->base_ci.func = co->stack;
  co->base_ci.callstatus = CIST_C;
  int status = co->status;
  if (status == YIELD) status = OK;
  co->status = OK;  // so __close methods can run on it
  co->nny = 1;      // they run without continuations: no yields
  co->errfunc = 0;
  co->allowhook = 1;
  status = close_protected(co, co->save(co->stack + 1), status);
  if (status != OK)
    set_error_obj(co, status, co->stack + 1);
  else
    co->top = co->stack + 1;
  // Reusable now, with the usual free space (a finished coroutine's stack
  // was shrunk); without memory for it, the frame's top stays within.
  if (co->stack_last - co->top <= MINSTACK) stack_grow(co, MINSTACK, false);
  co->base_ci.top = co->top + MINSTACK;
  if (co->base_ci.top > co->stack_last) co->base_ci.top = co->stack_last;
  stack_shrink(co);
  return status;
}

State* thread_new(State* L) {
  ensure_stack(L, 1);
  GlobalState* g = L->g;
  // The spare stack needs no clearing (about 60 instructions a coroutine):
  // its slots hold valid values of objects not yet freed (collections
  // clear it), and nothing reads a slot above top before writing it but an
  // emergency collection's mark (which at worst keeps garbage a cycle
  // longer) and a hook's debug.getlocal (a hooked thread is cleared).
  TValue* stack = g->spare_stack;
  bool clear = stack == nullptr || L->hookmask != 0;
  if (stack != nullptr)
    g->spare_stack = nullptr;
  else
    stack = mem_new_array<TValue>(L, BASIC_STACK_SIZE + EXTRA_STACK);
  // The block of a coroutine collected before, usually: taken from its
  // freelist in line (mem_alloc's call and tests: ~40 instructions).
  State* L1;
  if (void* b = pool_try_take(g, THREAD_BLOCK_SIZE)) {
    L1 = static_cast<State*>(gc_link_new(g, b, Tag::Thread));
  } else {
    try {
      L1 = static_cast<State*>(gc_new_object(L, Tag::Thread, THREAD_BLOCK_SIZE));
    } catch (LuaThrow&) {
      mem_free_array(L, stack, BASIC_STACK_SIZE + EXTRA_STACK);
      throw;
    }
  }
  if (clear)
    clear_slots(stack, BASIC_STACK_SIZE + EXTRA_STACK);
  else
    stack[0].tag = Tag::Nil;  // base_ci's function slot, marked by every collection
  L1->status = OK;
  L1->allowhook = 1;
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
  L1->direct_ncalls = 0;
  L1->nny = 0;  // as 5.4: a new thread is yieldable (coro_yield still needs a Coro)
  L1->oldpc = 0;
  L1->basehookcount = L->basehookcount;
  L1->hookcount = L->basehookcount;
  L1->hookmask = L->hookmask;
  L1->errorjmp = nullptr;
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
  ci->k = nullptr;
  ci->recover_status = OK;
  L1->ci = ci;
  // The body's frame, ready here rather than allocated by the first
  // resume's call (which would find it missing and retry), in the tail.
  CallInfo* body = new (tail_ci(L1)) CallInfo;
  body->previous = ci;
  body->next = nullptr;
  body->trap = 0;
  ci->next = body;
  L1->nci = 1;
  push_raw(L, TValue::object(L1));
  return L1;
}

void spare_stack_clear(GlobalState* g) {
  if (g->spare_stack != nullptr) clear_slots(g->spare_stack, BASIC_STACK_SIZE + EXTRA_STACK);
}

void stack_clear_dead(State* L) {
  // A Lua frame suspended by a hook has live registers up to its top.
  TValue* from = L->top;
  if (L->ci->is_lua() && L->ci->top > from) from = L->ci->top;
  TValue* end = L->stack_last + EXTRA_STACK;
  if (from < end) clear_slots(from, static_cast<int>(end - from));
}

void thread_free(State* L, State* L1) {
  jit_thread_freed(L, L1);
  // Most dead coroutines finished and released all of these already.
  if (L1->openupval != nullptr) upval_close(L1, L1->stack);
  if (L1->base_ci.next != nullptr) free_ci_list(L1);
  if (L1->tbclist != nullptr) mem_free_array(L, L1->tbclist, static_cast<size_t>(L1->sizetbc));
  if (!stack_in_tail(L1)) mem_free_array(L, L1->stack, static_cast<size_t>(L1->stack_size()) + EXTRA_STACK);
  GlobalState* g = L->g;
  if (L1->twups != L1) {
    for (State** pp = &g->twups; *pp != nullptr; pp = &(*pp)->twups) {
      if (*pp == L1) {
        *pp = L1->twups;
        break;
      }
    }
  }
  mem_free(L, L1, THREAD_BLOCK_SIZE);
}

}  // namespace luna
