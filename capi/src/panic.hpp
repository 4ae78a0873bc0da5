// Errors outside every protected call (manual 4.4): PUC-Rio calls the
// panic function (lua_atpanic) with the error object on the stack top and
// then aborts. In luna an error unwinds as a C++ exception, so the API
// functions a host may call outside any Lua frame run under this guard:
// only the main thread at its base level can be outside every protected
// call (anything nested runs inside such a call, and coroutines catch
// their own errors).
#pragma once

#include <cstdlib>

#include "convert.hpp"
#include "state.hpp"

namespace luna::capi {

[[noreturn]] void panic(State* L, int status);

template <class F>
decltype(auto) guard(lua_State* L, F f) {
  State* l = S(L);
  if (l->ci != &l->base_ci || l != l->g->mainthread) return f();
  uint8_t allowhook = l->allowhook;
  unsigned ccalls = l->nCcalls, nny = l->nny;
  int status;
  try {
    return f();
  } catch (LuaThrow& e) {
    status = e.status;
  }
  // Back at the base level, so a panic function that jumps back to the
  // host leaves a usable state. Outside the handler: it may longjmp.
  l->ci = &l->base_ci;
  l->allowhook = allowhook;
  l->nCcalls = ccalls;
  l->nny = nny;
  panic(l, status);
}

}  // namespace luna::capi
