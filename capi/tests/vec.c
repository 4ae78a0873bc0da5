/* A small C module built in the test tree (luaopen_vec), loaded by require
 * from capi/tests/module.lua under both luna and PUC-Rio's lua5.4. It uses
 * userdata with a metatable, upvalues, luaL_Buffer, errors raised from C and
 * crossing C frames, and the continuation functions. */
#include <string.h>

#include "lauxlib.h"
#include "lua.h"

#define VEC_MT "vec.Vec"

typedef struct Vec {
  int n;
  lua_Number x[4];
} Vec;

static Vec *checkvec(lua_State *L, int i) { return (Vec *)luaL_checkudata(L, i, VEC_MT); }

static int vec_new(lua_State *L) {
  int n = lua_gettop(L);
  luaL_argcheck(L, n >= 1 && n <= 4, 1, "1 to 4 components expected");
  Vec *v = (Vec *)lua_newuserdatauv(L, sizeof(Vec), 1);
  v->n = n;
  for (int i = 0; i < n; i++) v->x[i] = luaL_checknumber(L, i + 1);
  luaL_setmetatable(L, VEC_MT);
  return 1;
}

static int vec_add(lua_State *L) {
  Vec *a = checkvec(L, 1), *b = checkvec(L, 2);
  if (a->n != b->n) return luaL_error(L, "size mismatch (%d vs %d)", a->n, b->n);
  Vec *r = (Vec *)lua_newuserdatauv(L, sizeof(Vec), 1);
  r->n = a->n;
  for (int i = 0; i < a->n; i++) r->x[i] = a->x[i] + b->x[i];
  luaL_setmetatable(L, VEC_MT);
  return 1;
}

static int vec_index(lua_State *L) {
  Vec *v = checkvec(L, 1);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    lua_Integer i = luaL_checkinteger(L, 2);
    if (i < 1 || i > v->n) return luaL_argerror(L, 2, "index out of range");
    lua_pushnumber(L, v->x[i - 1]);
    return 1;
  }
  luaL_getmetatable(L, VEC_MT);
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

static int vec_tostring(lua_State *L) {
  Vec *v = checkvec(L, 1);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addchar(&b, '(');
  for (int i = 0; i < v->n; i++) {
    if (i > 0) luaL_addstring(&b, ", ");
    lua_pushnumber(L, v->x[i]);
    luaL_addvalue(&b);
  }
  luaL_addchar(&b, ')');
  luaL_pushresult(&b);
  return 1;
}

static int vec_len(lua_State *L) {
  lua_pushinteger(L, checkvec(L, 1)->n);
  return 1;
}

/* vec.tag(v [, value]): the userdata's user value. */
static int vec_tag(lua_State *L) {
  checkvec(L, 1);
  if (lua_gettop(L) >= 2) {
    lua_settop(L, 2);
    lua_setiuservalue(L, 1, 1);
    return 0;
  }
  lua_getiuservalue(L, 1, 1);
  return 1;
}

/* A counter closure: upvalue 1 counts, upvalue 2 is the step. */
static int counter_step(lua_State *L) {
  lua_Integer c = lua_tointeger(L, lua_upvalueindex(1)) + lua_tointeger(L, lua_upvalueindex(2));
  lua_pushinteger(L, c);
  lua_copy(L, -1, lua_upvalueindex(1));
  return 1;
}

static int vec_counter(lua_State *L) {
  lua_pushinteger(L, 0);
  lua_pushinteger(L, luaL_optinteger(L, 1, 1));
  lua_pushcclosure(L, counter_step, 2);
  return 1;
}

/* vec.repeat(s, n, sep): a long string through a growing luaL_Buffer. */
static int vec_repeat(lua_State *L) {
  size_t l, lsep;
  const char *s = luaL_checklstring(L, 1, &l);
  lua_Integer n = luaL_checkinteger(L, 2);
  const char *sep = luaL_optlstring(L, 3, "", &lsep);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (lua_Integer i = 0; i < n; i++) {
    if (i > 0) luaL_addlstring(&b, sep, lsep);
    luaL_addlstring(&b, s, l);
  }
  luaL_pushresult(&b);
  return 1;
}

/* vec.call(f, ...): calls f unprotected, so its errors cross this C frame. */
static int vec_call(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

/* vec.pcall(f, ...): status and results or message, via lua_pcall. */
static int vec_pcall(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  int st = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  lua_pushinteger(L, st);
  lua_insert(L, 1);
  return lua_gettop(L);
}

/* vec.fail(msg): raises from C (luaL_error adds the position). */
static int vec_fail(lua_State *L) { return luaL_error(L, "vec failed: %s", luaL_checkstring(L, 1)); }

/* vec.gen(n): yields 1..n from C through lua_yieldk continuations, then
 * returns "done". */
static int gen_cont(lua_State *L, int status, lua_KContext ctx) {
  lua_Integer n = (lua_Integer)ctx >> 8, i = (lua_Integer)ctx & 0xff;
  (void)status;
  lua_settop(L, 0);
  if (i > n) {
    lua_pushliteral(L, "done");
    return 1;
  }
  lua_pushinteger(L, i);
  return lua_yieldk(L, 1, (lua_KContext)((n << 8) | (i + 1)), gen_cont);
}

static int vec_gen(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 0 && n < 200, 1, "out of range");
  return gen_cont(L, LUA_OK, (lua_KContext)((n << 8) | 1));
}

/* vec.map(f, ...): calls f on each argument through lua_callk, so f may
 * yield; returns the results. */
static int map_cont(lua_State *L, int status, lua_KContext ctx);

static int map_from(lua_State *L, lua_KContext i) {
  int n = lua_gettop(L) - 1;
  for (; i <= n; i++) {
    lua_pushvalue(L, 1);
    lua_pushvalue(L, (int)i + 1);
    lua_callk(L, 1, 1, i, map_cont);
    lua_replace(L, (int)i + 1);
  }
  return n;
}

static int last_kstatus = -1;  /* status given to the last continuation */

static int map_cont(lua_State *L, int status, lua_KContext ctx) {
  last_kstatus = status;
  lua_replace(L, (int)ctx + 1);
  return map_from(L, ctx + 1);
}

static int vec_map(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  return map_from(L, 1);
}

/* vec.pcallk(f, ...): status (from lua_pcallk or, after a yield, the
 * status given to the continuation) followed by f's results or error. */
static int pcallk_cont(lua_State *L, int status, lua_KContext ctx) {
  (void)ctx;
  last_kstatus = status;
  lua_pushinteger(L, status);
  lua_insert(L, 1);
  return lua_gettop(L);
}

static int vec_pcallk(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  int st = lua_pcallk(L, lua_gettop(L) - 1, LUA_MULTRET, 0, 0, pcallk_cont);
  return pcallk_cont(L, st, 0);
}

static int vec_kstatus(lua_State *L) {
  lua_pushinteger(L, last_kstatus);
  return 1;
}

static const luaL_Reg vec_meta[] = {
  {"__add", vec_add}, {"__index", vec_index}, {"__tostring", vec_tostring},
  {"__len", vec_len}, {"tag", vec_tag}, {NULL, NULL}};

static const luaL_Reg vec_funcs[] = {
  {"new", vec_new}, {"counter", vec_counter}, {"rep", vec_repeat},
  {"call", vec_call}, {"pcall", vec_pcall}, {"fail", vec_fail},
  {"gen", vec_gen}, {"map", vec_map}, {"tag", vec_tag}, {"pcallk", vec_pcallk},
  {"kstatus", vec_kstatus}, {NULL, NULL}};

int luaopen_vec(lua_State *L) {
  luaL_newmetatable(L, VEC_MT);
  luaL_setfuncs(L, vec_meta, 0);
  lua_pop(L, 1);
  luaL_newlib(L, vec_funcs);
  return 1;
}
