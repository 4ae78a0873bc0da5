// What the C API's files share: the C headers with C linkage, the stack
// API, and conversions between the C API's types and the core's, which
// differ only in names (lua_State is a luna::State).
#pragma once

extern "C" {
#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"
}

#include "luna/api.hpp"

namespace luna::capi {

inline State* S(lua_State* L) { return reinterpret_cast<State*>(L); }
inline lua_State* C(State* L) { return reinterpret_cast<lua_State*>(L); }
inline NativeFn native(lua_CFunction f) { return reinterpret_cast<NativeFn>(f); }
inline lua_CFunction cfunc(NativeFn f) { return reinterpret_cast<lua_CFunction>(f); }
inline KFunction kfunc(lua_KFunction k) { return reinterpret_cast<KFunction>(k); }

}  // namespace luna::capi
