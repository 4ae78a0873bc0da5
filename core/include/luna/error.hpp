// luna::LuaError lives with luna::Value (it carries the error value); this
// header names it for code that only wants the exception type.
#pragma once

#include "luna/value.hpp"
