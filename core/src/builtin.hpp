// Library functions a trace compiler may replace by their operation. Each
// library says which of its functions these are, so the JIT recognises them
// by identity without depending on the library's internals.
#pragma once

#include <cstdint>

#include "luna/api.hpp"

namespace luna {

enum class Builtin : uint8_t { None, MathSqrt, MathAbs, MathFloor, MathCeil };

// f as a builtin of the math library, or Builtin::None (lib/math.cpp).
Builtin math_builtin(NativeFn f);

}  // namespace luna
