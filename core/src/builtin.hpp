// Library functions that the engine recognises by address: the dispatcher
// runs some inline when Lua code calls them (fastcall.cpp), and the trace
// compiler replaces some by their operation. Their libraries define them
// with external linkage (or classify them, math_builtin), so neither the
// dispatcher nor the JIT depends on a library's internals.
#pragma once

#include <cstdint>

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

enum class Builtin : uint8_t { None, MathSqrt, MathAbs, MathFloor, MathCeil };

// f as a builtin of the math library the JIT compiles, or Builtin::None
// (lib/math.cpp).
Builtin math_builtin(NativeFn f);

}  // namespace luna
