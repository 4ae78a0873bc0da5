// The coroutine library (manual 6.2), a thin layer over resume/yield of the
// stack API. Functions are prefixed lco_ since co_yield is a C++20 keyword.
// resume and wrap's function are coroutine.cpp's coro_resume_call and
// coro_wrap_call, which make the resume inline.
#include "luna/api.hpp"
#include "../builtin.hpp"
#include "../dialect.hpp"
#include "../state.hpp"

namespace luna {
namespace {

// get_top without the API call: the values of the running native's frame.
int frame_values(State* L) { return static_cast<int>(L->top - (L->ci->func + 1)); }

// The first argument read off the frame, or nullptr: no index_to_value.
const TValue* first_arg(State* L) { return frame_values(L) > 0 ? L->ci->func + 1 : nullptr; }

State* get_co(State* L) {
  const TValue* a = first_arg(L);
  State* co = a != nullptr && a->is_thread() ? a->as_thread() : nullptr;
  arg_expected(L, co != nullptr, 1, "thread");
  return co;
}

int lco_wrap(State* L) {
  coro_create(L);
  push_native_closure(L, coro_wrap_call, 1);
  return 1;
}

enum { CO_RUNNING, CO_SUSPENDED, CO_NORMAL, CO_DEAD };
const char* const status_names[] = {"running", "suspended", "normal", "dead"};

int aux_status(State* L, State* co) {
  if (L == co) return CO_RUNNING;
  switch (status(co)) {
    case YIELD:
      return CO_SUSPENDED;
    case OK: {
      DebugInfo ar;
      if (get_stack(co, 0, &ar)) return CO_NORMAL;  // it resumed another one
      if (get_top(co) == 0) return CO_DEAD;          // finished
      return CO_SUSPENDED;                           // not started yet
    }
    default:
      return CO_DEAD;  // died with an error
  }
}

int lco_status(State* L) {
  push_string(L, status_names[aux_status(L, get_co(L))]);
  return 1;
}

int lco_running(State* L) {
  bool is_main = push_thread(L);
  push_boolean(L, is_main);
  return 2;
}

int lco_isyieldable(State* L) {
  State* co = is_none(L, 1) ? L : get_co(L);
  push_boolean(L, is_yieldable(co));
  return 1;
}

int lco_close(State* L) {
  const bool v55 = dialect_of(get_version(L)).lib_55;
  State* co = v55 && is_none(L, 1) ? L : get_co(L);  // 5.5: the running one by default
  int st = aux_status(L, co);
  if (st == CO_RUNNING && v55) {  // 5.5 closes the running coroutine, unless it is the main one
    bool is_main = push_thread(co);  // pushed on co's own stack
    pop(co, 1);
    if (is_main) error_f(L, "cannot close the main coroutine");
    close_running_thread(co);
  }
  if (st != CO_DEAD && st != CO_SUSPENDED)
    error_f(L, "cannot close a %s coroutine", status_names[st]);
  if (close_thread(co, L) == OK) {
    push_boolean(L, true);
    return 1;
  }
  push_boolean(L, false);
  xmove(co, L, 1);  // the error object
  return 2;
}

const Reg lco_funcs[] = {
    {"create", coro_create},   {"resume", coro_resume_call},     {"running", lco_running},
    {"status", lco_status},   {"wrap", lco_wrap},               {"yield", lib_coroutine_yield},
    {"isyieldable", lco_isyieldable}, {"close", lco_close},     {nullptr, nullptr},
};

}  // namespace

int lib_coroutine_yield(State* L) { return coro_yield_return(L, frame_values(L)); }

CoFn coroutine_fn(NativeFn f) {
  if (f == coro_resume_call) return CoFn::Resume;
  if (f == coro_wrap_call) return CoFn::WrapCall;
  if (f == coro_create) return CoFn::Create;
  if (f == lco_wrap) return CoFn::Wrap;
  if (f == lco_status) return CoFn::Status;
  if (f == lco_running) return CoFn::Running;
  if (f == lco_isyieldable) return CoFn::IsYieldable;
  return CoFn::None;
}

int open_coroutine(State* L) {
  new_lib(L, lco_funcs);
  return 1;
}

}  // namespace luna
