// luac's -l listing of a function and the functions nested in it.
#pragma once

#include <cstdio>

#include "state.hpp"

namespace luna {

// Lists p's code (full: also its constants, locals and upvalues), then
// the functions nested in it, in the columns Debian's luac5.4 prints.
void list_function(State* L, const Proto* p, bool full, FILE* out);

}  // namespace luna
