// Library functions that the dispatcher also runs inline when Lua code calls
// them (fastcall.cpp): it recognises them by address, so they are defined
// with external linkage by their libraries.
#pragma once

#include "luna/api.hpp"

namespace luna {

int lib_math_abs(State* L);
int lib_math_floor(State* L);
int lib_math_max(State* L);
int lib_string_byte(State* L);
int lib_string_sub(State* L);
int lib_select(State* L);
int lib_type(State* L);
int lib_ipairs(State* L);
int lib_ipairs_aux(State* L);

}  // namespace luna
