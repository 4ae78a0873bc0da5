// How a C function goes on after its callee or itself yielded
// (lua_callk, lua_pcallk, lua_yieldk). The only place of the C API that
// depends on the coroutine design, so a change of design touches this file.
#pragma once

#include "convert.hpp"

namespace luna::capi {

void call_k(lua_State* L, int nargs, int nresults, lua_KContext ctx, lua_KFunction k);
int pcall_k(lua_State* L, int nargs, int nresults, int errfunc, lua_KContext ctx, lua_KFunction k);
int yield_k(lua_State* L, int nresults, lua_KContext ctx, lua_KFunction k);

}  // namespace luna::capi
