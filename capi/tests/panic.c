/* Errors outside any protected call: a panic function that jumps back to
 * the host, then luaL_newstate's own panic function, which reports and
 * aborts. Built against luna and against liblua5.4; same output. */
#include <setjmp.h>
#include <stdio.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

static jmp_buf recover;

static int jump_back(lua_State *L) {
  printf("panic: %s\n", lua_tostring(L, -1));
  longjmp(recover, 1);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  lua_CFunction old = lua_atpanic(L, jump_back);
  printf("default panic function set: %d\n", old != NULL);
  if (setjmp(recover) == 0) {
    luaL_loadstring(L, "error('unprotected ' .. 1)");
    lua_call(L, 0, 0);
    printf("not reached\n");
  }
  lua_settop(L, 0);
  if (setjmp(recover) == 0) {
    lua_pushinteger(L, 1);
    lua_pushnil(L);
    lua_arith(L, LUA_OPADD);
    printf("not reached\n");
  }
  lua_settop(L, 0);
  printf("state still works: %d\n", luaL_dostring(L, "return 40 + 2") == LUA_OK && lua_tointeger(L, -1) == 42);
  lua_settop(L, 0);
  lua_atpanic(L, old);
  lua_pushstring(L, "final");
  lua_error(L);
  printf("not reached\n");
  return 0;
}
