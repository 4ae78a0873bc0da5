// Continuations over luna's coroutines, which run on native stacks: a
// C function's frame survives a yield, so a yield inside lua_callk /
// lua_pcallk simply suspends there and the call returns normally once the
// callee finishes, and lua_yieldk returns when the coroutine is resumed.
#include "continuation.hpp"

namespace luna::capi {

// Without a continuation the callee may not yield (as in PUC-Rio: "attempt
// to yield across a C-call boundary").
void call_k(lua_State* L, int nargs, int nresults, lua_KContext, lua_KFunction k) {
  if (k != nullptr) call_yieldable(S(L), nargs, nresults);
  else call(S(L), nargs, nresults);
}

int pcall_k(lua_State* L, int nargs, int nresults, int errfunc, lua_KContext, lua_KFunction k) {
  if (k != nullptr) return pcall_yieldable(S(L), nargs, nresults, errfunc);
  return pcall(S(L), nargs, nresults, errfunc);
}

// The yielded values leave the stack; on resume the values passed to
// resume are on its top. With a continuation its result is the function's
// result, as when PUC-Rio calls k(L, LUA_YIELD, ctx) on resume.
int yield_k(lua_State* L, int nresults, lua_KContext ctx, lua_KFunction k) {
  int n = yield(S(L), nresults);
  if (k == nullptr) return n;
  return k(L, LUA_YIELD, ctx);
}

}  // namespace luna::capi
