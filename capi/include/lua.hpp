// luna's Lua 5.4 C API for C++ users: the C headers with C linkage.
extern "C" {
#include "lua.h"
#include "lualib.h"
#include "lauxlib.h"
}
