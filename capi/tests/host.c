/* A C host written against lua.h, lauxlib.h and lualib.h only. Built twice
 * by meson: against luna (libluna-c) and, when installed, against PUC-Rio's
 * liblua5.4; both builds must print the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

/* ---------------------------------------------------------------- allocator */

typedef struct Counts {
  size_t live, peak, limit;
  long calls;
} Counts;

static void *counting_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  Counts *c = (Counts *)ud;
  c->calls++;
  if (ptr == NULL) osize = 0;
  if (nsize == 0) {
    c->live -= osize;
    free(ptr);
    return NULL;
  }
  if (c->limit != 0 && c->live - osize + nsize > c->limit) return NULL;
  void *p = realloc(ptr, nsize);
  if (p != NULL) {
    c->live = c->live - osize + nsize;
    if (c->live > c->peak) c->peak = c->live;
  }
  return p;
}

/* ---------------------------------------------------------------- helpers */

static void report(lua_State *L, const char *what, int status) {
  const char *msg = lua_tostring(L, -1);
  printf("%s: status %d: %s\n", what, status, msg ? msg : luaL_typename(L, -1));
  lua_pop(L, 1);
}

static int run(lua_State *L, const char *what, const char *code) {
  int st = luaL_loadbuffer(L, code, strlen(code), what);
  if (st == LUA_OK) st = lua_pcall(L, 0, 0, 0);
  if (st != LUA_OK) report(L, what, st);
  return st;
}

/* ---------------------------------------------------------------- userdata */

typedef struct Account {
  char owner[16];
  lua_Integer balance;
} Account;

static int closed_accounts;

static int account_new(lua_State *L) {
  const char *owner = luaL_checkstring(L, 1);
  lua_Integer balance = luaL_optinteger(L, 2, 0);
  Account *a = (Account *)lua_newuserdatauv(L, sizeof(Account), 1);
  snprintf(a->owner, sizeof a->owner, "%s", owner);
  a->balance = balance;
  luaL_setmetatable(L, "Account");
  lua_newtable(L);
  lua_setiuservalue(L, -2, 1);
  return 1;
}

static int account_deposit(lua_State *L) {
  Account *a = (Account *)luaL_checkudata(L, 1, "Account");
  lua_Integer v = luaL_checkinteger(L, 2);
  luaL_argcheck(L, v > 0, 2, "positive amount expected");
  a->balance += v;
  lua_getiuservalue(L, 1, 1);
  lua_pushinteger(L, v);
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  lua_pop(L, 1);
  lua_settop(L, 1);
  return 1;
}

static int account_balance(lua_State *L) {
  Account *a = (Account *)luaL_checkudata(L, 1, "Account");
  lua_pushinteger(L, a->balance);
  return 1;
}

static int account_history(lua_State *L) {
  luaL_checkudata(L, 1, "Account");
  lua_getiuservalue(L, 1, 1);
  return 1;
}

static int account_tostring(lua_State *L) {
  Account *a = (Account *)luaL_checkudata(L, 1, "Account");
  lua_pushfstring(L, "Account(%s, %I)", a->owner, (LUAI_UACINT)a->balance);
  return 1;
}

static int account_gc(lua_State *L) {
  (void)luaL_checkudata(L, 1, "Account");
  closed_accounts++;
  return 0;
}

static const luaL_Reg account_methods[] = {
  {"deposit", account_deposit}, {"balance", account_balance}, {"history", account_history}, {NULL, NULL}};
static const luaL_Reg account_meta[] = {
  {"__tostring", account_tostring}, {"__gc", account_gc}, {"__index", NULL}, {NULL, NULL}};

static int open_account(lua_State *L) {
  luaL_newmetatable(L, "Account");
  luaL_setfuncs(L, account_meta, 0);
  luaL_newlib(L, account_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_pushcfunction(L, account_new);
  return 1;
}

static void test_userdata(lua_State *L) {
  printf("-- userdata\n");
  luaL_requiref(L, "account", open_account, 1);
  lua_pop(L, 1);
  run(L, "ud", "local a = account('ann', 10)\n"
               "a:deposit(5):deposit(7)\n"
               "print(tostring(a), a:balance(), table.concat(a:history(), ','))\n"
               "print(pcall(a.deposit, a, -1))\n"
               "print(pcall(a.deposit, {}, 1))\n"
               "print(getmetatable(a).__name)\n");
  run(L, "ud2", "for i = 1, 10 do account('tmp' .. i) end collectgarbage() collectgarbage()");
  printf("collected accounts: %d\n", closed_accounts);
  Account *a = (Account *)luaL_testudata(L, -1, "Account");
  printf("testudata on empty stack: %s\n", a == NULL ? "NULL" : "?");
}

/* ---------------------------------------------------------------- buffers */

static int buffer_fill(lua_State *L) {
  luaL_Buffer b;
  int n = (int)luaL_checkinteger(L, 1);
  luaL_buffinit(L, &b);
  for (int i = 0; i < n; i++) luaL_addchar(&b, (char)('a' + i % 26));
  luaL_addstring(&b, "|");
  lua_pushinteger(L, n);
  luaL_addvalue(&b);
  luaL_buffsub(&b, 1);
  luaL_addgsub(&b, "x.y.z", ".", "::");
  luaL_pushresult(&b);
  return 1;
}

static void test_buffers(lua_State *L) {
  printf("-- buffers\n");
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, 5000);
  memset(p, 'q', 5000);
  luaL_pushresultsize(&b, 5000);
  printf("buffinitsize: %d %s\n", (int)lua_rawlen(L, -1), lua_tostring(L, -1) + 4990);
  lua_pop(L, 1);
  lua_pushcfunction(L, buffer_fill);
  lua_setglobal(L, "fill");
  run(L, "buf", "for _, n in ipairs{0, 5, 26, 3000} do local s = fill(n) print(#s, s:sub(1, 30), s:sub(-12)) end");
  printf("gsub: %s\n", luaL_gsub(L, "a-b-c", "-", "+-+"));
  lua_pop(L, 1);
  printf("buffersize is %s\n", LUAL_BUFFERSIZE >= 256 ? "large" : "small");
}

/* ---------------------------------------------------------------- upvalues */

static int upcount(lua_State *L) {
  lua_Integer n = lua_tointeger(L, lua_upvalueindex(1)) + 1;
  lua_pushinteger(L, n);
  lua_replace(L, lua_upvalueindex(1));
  lua_pushinteger(L, n);
  lua_pushvalue(L, lua_upvalueindex(2));
  return 2;
}

static void test_upvalues(lua_State *L) {
  printf("-- upvalues\n");
  lua_pushinteger(L, 10);
  lua_pushstring(L, "tag");
  lua_pushcclosure(L, upcount, 2);
  lua_setglobal(L, "upcount");
  run(L, "up", "print(upcount()) print(upcount()) print(upcount())");
  lua_getglobal(L, "upcount");
  const char *name = lua_getupvalue(L, -1, 1);
  printf("C upvalue 1: name '%s' value %d\n", name, (int)lua_tointeger(L, -1));
  lua_pop(L, 1);
  lua_pushinteger(L, 100);
  lua_setupvalue(L, -2, 1);
  printf("upvalue 3: %s\n", lua_getupvalue(L, -1, 3) == NULL ? "none" : "?");
  lua_pop(L, 1);
  run(L, "up2", "print(upcount())");
  run(L, "up3", "local x, y = 1, 2 function lf() return x + y end");
  lua_getglobal(L, "lf");
  for (int i = 1;; i++) {
    name = lua_getupvalue(L, -1, i);
    if (name == NULL) break;
    printf("Lua upvalue %d: %s = %s\n", i, name, luaL_tolstring(L, -1, NULL));
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
}

/* ---------------------------------------------------------------- references */

static void test_refs(lua_State *L) {
  printf("-- references\n");
  lua_pushstring(L, "first");
  int r1 = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_newtable(L);
  int r2 = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushnil(L);
  int rn = luaL_ref(L, LUA_REGISTRYINDEX);
  printf("refs distinct: %d, nil ref is LUA_REFNIL: %d\n", r1 != r2 && r1 > 0 && r2 > 0, rn == LUA_REFNIL);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r1);
  printf("ref 1 holds: %s\n", lua_tostring(L, -1));
  lua_pop(L, 1);
  luaL_unref(L, LUA_REGISTRYINDEX, r1);
  luaL_unref(L, LUA_REGISTRYINDEX, LUA_NOREF);
  lua_pushboolean(L, 1);
  int r3 = luaL_ref(L, LUA_REGISTRYINDEX);
  printf("freed ref reused: %d\n", r3 == r1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r2);
  printf("ref 2 type: %s\n", luaL_typename(L, -1));
  lua_pop(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  lua_pushglobaltable(L);
  printf("RIDX_GLOBALS is _G: %d\n", lua_rawequal(L, -1, -2));
  lua_pop(L, 2);
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  printf("RIDX_MAINTHREAD is L: %d\n", lua_tothread(L, -1) == L);
  lua_pop(L, 1);
  /* a reference in an ordinary table */
  lua_newtable(L);
  lua_pushinteger(L, 5);
  int t1 = luaL_ref(L, -2);
  lua_rawgeti(L, -1, t1);
  printf("table ref: %d\n", (int)lua_tointeger(L, -1));
  lua_pop(L, 2);
  luaL_unref(L, LUA_REGISTRYINDEX, r2);
  luaL_unref(L, LUA_REGISTRYINDEX, r3);
}

/* ---------------------------------------------------------------- coroutines */

static int gen_k(lua_State *L, int status, lua_KContext ctx) {
  printf("  continuation: status %s, ctx %d, resumed with %d value(s)\n",
         status == LUA_YIELD ? "LUA_YIELD" : "other", (int)ctx, lua_gettop(L) - 1);
  if (ctx >= 3) {
    lua_pushstring(L, "finished");
    return 1;
  }
  lua_pushinteger(L, ctx * 100);
  return lua_yieldk(L, 1, ctx + 1, gen_k);
}

static int gen(lua_State *L) {
  lua_pushinteger(L, 0);
  return lua_yieldk(L, 1, 1, gen_k);
}

/* Line and count hooks may yield (with no values): the coroutine stops
   before the hooked instruction and runs it when resumed. */
static int hook_yields;
static void yield_hook(lua_State *L, lua_Debug *ar) {
  if (ar->event == LUA_HOOKCOUNT || ar->event == LUA_HOOKLINE) {
    hook_yields++;
    lua_yield(L, 0);
  }
}

static void run_yield_hooked(lua_State *L, int mask, int count) {
  lua_State *co = lua_newthread(L);
  luaL_loadstring(co, "local s = 0\nfor i = 1, 5 do\n  s = s + i\nend\nreturn s");
  lua_sethook(co, yield_hook, mask, count);
  hook_yields = 0;
  int resumes = 0, nres = 0, st;
  while ((st = lua_resume(co, L, 0, &nres)) == LUA_YIELD) {
    resumes++;
    if (nres != 0) printf("hook yield with %d values\n", nres);
  }
  printf("yielding hook (mask %d, count %d): status %d, %d yields, %d resumes, result %d\n", mask, count, st,
         hook_yields, resumes, (int)lua_tointeger(co, -1));
  lua_pop(L, 1);
}

static void test_coroutines(lua_State *L) {
  printf("-- coroutines\n");
  lua_State *co = lua_newthread(L);
  lua_pushcfunction(co, gen);
  lua_pushstring(co, "arg");
  int nargs = 1;
  for (;;) {
    int nres = 0;
    int st = lua_resume(co, L, nargs, &nres);
    printf("resume: status %d, %d result(s): %s\n", st, nres, luaL_tolstring(co, -1, NULL));
    lua_pop(co, 1 + nres);
    if (st != LUA_YIELD) break;
    lua_pushinteger(co, 7);
    lua_pushinteger(co, 8);
    nargs = 2;
  }
  printf("status after: %d, yieldable main: %d\n", lua_status(co), lua_isyieldable(L));
  lua_pop(L, 1);

  /* a Lua coroutine driven from C, with values moved between threads */
  co = lua_newthread(L);
  luaL_loadstring(co, "local a = ... local b = coroutine.yield(a * 2) error('stop ' .. b)");
  lua_pushinteger(L, 21);
  lua_xmove(L, co, 1);
  int nres;
  int st = lua_resume(co, L, 1, &nres);
  printf("lua coroutine: status %d, %d result: %d\n", st, nres, (int)lua_tointeger(co, -1));
  lua_pop(co, nres);
  lua_pushstring(co, "now");
  st = lua_resume(co, L, 1, &nres);
  printf("lua coroutine: status %d, error: %s\n", st, lua_tostring(co, -1));
  printf("resetthread: %d\n", lua_resetthread(co));
  lua_pop(L, 1);

  run_yield_hooked(L, LUA_MASKLINE, 0);
  run_yield_hooked(L, LUA_MASKCOUNT, 3);
  run_yield_hooked(L, LUA_MASKCOUNT | LUA_MASKLINE, 1);
}

/* ---------------------------------------------------------------- errors */

static int msgh(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static int c_raise(lua_State *L) { return luaL_error(L, "raised in C with %d and %s", 42, "text"); }

static int c_raise_table(lua_State *L) {
  lua_newtable(L);
  lua_pushstring(L, "payload");
  lua_setfield(L, -2, "what");
  return lua_error(L);
}

static void test_errors(lua_State *L) {
  printf("-- errors and tracebacks\n");
  lua_pushcfunction(L, c_raise);
  lua_setglobal(L, "c_raise");
  lua_pushcfunction(L, msgh);
  int h = lua_gettop(L);
  luaL_loadstring(L, "local function inner() c_raise() end\n"
                     "local function outer() inner() end\n"
                     "outer()");
  int st = lua_pcall(L, 0, 0, h);
  printf("status %d:\n%s\n", st, lua_tostring(L, -1));
  lua_pop(L, 1);
  luaL_loadstring(L, "local t = nil\nreturn t.x");
  st = lua_pcall(L, 0, 0, h);
  printf("status %d:\n%s\n", st, lua_tostring(L, -1));
  lua_pop(L, 2);

  lua_pushcfunction(L, c_raise_table);
  st = lua_pcall(L, 0, 0, 0);
  lua_getfield(L, -1, "what");
  printf("table error: status %d, what = %s\n", st, lua_tostring(L, -1));
  lua_pop(L, 2);

  st = luaL_loadstring(L, "x = = 1");
  report(L, "syntax", st);
  st = luaL_loadbufferx(L, "\x1bLua", 4, "=bin", "t");
  report(L, "mode", st);
  st = luaL_loadfile(L, "/nonexistent/file.lua");
  report(L, "file", st);
  st = luaL_dostring(L, "error('with level', 2)");
  report(L, "dostring", st);
  luaL_loadstring(L, "error()");
  st = lua_pcall(L, 0, 0, 0);
  report(L, "nil error", st);
  lua_settop(L, 0);
  luaL_checkversion(L);
  printf("checkversion passed, version %.0f\n", (double)lua_version(L));
}

/* ---------------------------------------------------------------- values */

typedef struct Bytes {
  char data[4096];
  size_t n;
} Bytes;

static int writer(lua_State *L, const void *p, size_t sz, void *ud) {
  Bytes *b = (Bytes *)ud;
  (void)L;
  if (b->n + sz > sizeof b->data) return 1;
  memcpy(b->data + b->n, p, sz);
  b->n += sz;
  return 0;
}

typedef struct Pieces {
  const char *s;
  size_t left;
} Pieces;

static const char *reader(lua_State *L, void *ud, size_t *sz) {
  Pieces *pc = (Pieces *)ud;
  (void)L;
  if (pc->left == 0) return NULL;
  *sz = pc->left < 7 ? pc->left : 7; /* small pieces */
  pc->s += *sz;
  pc->left -= *sz;
  return pc->s - *sz;
}

static void warnf(void *ud, const char *msg, int tocont) {
  printf("[warning%s] %s\n", tocont ? "+" : "", msg);
  (void)ud;
}

static void test_values(lua_State *L) {
  printf("-- values\n");
  lua_pushinteger(L, 7);
  lua_pushnumber(L, 2.5);
  lua_arith(L, LUA_OPMUL);
  printf("7 * 2.5 = %g\n", (double)lua_tonumber(L, -1));
  lua_pushinteger(L, 3);
  lua_arith(L, LUA_OPIDIV);
  printf("// 3 = %g, isinteger %d\n", (double)lua_tonumber(L, -1), lua_isinteger(L, -1));
  lua_pushinteger(L, 5);
  lua_arith(L, LUA_OPUNM);
  printf("compare: %d %d %d\n", lua_compare(L, -1, -2, LUA_OPLT), lua_compare(L, -2, -1, LUA_OPLE),
         lua_compare(L, -1, -1, LUA_OPEQ));
  lua_settop(L, 0);
  printf("stringtonumber: %d %d %d\n", (int)lua_stringtonumber(L, "0x10"), (int)lua_stringtonumber(L, " 1e2 "),
         (int)lua_stringtonumber(L, "z"));
  int isnum;
  lua_Integer i = lua_tointegerx(L, 1, &isnum);
  printf("tointegerx: %lld %d\n", (long long)i, isnum);
  i = lua_tointegerx(L, 2, &isnum);
  printf("tointegerx(1e2): %lld %d\n", (long long)i, isnum);
  lua_settop(L, 0);
  lua_pushliteral(L, "abc");
  lua_pushinteger(L, 12);
  lua_pushnumber(L, 0.5);
  lua_concat(L, 3);
  printf("concat: %s\n", lua_tostring(L, -1));
  lua_len(L, -1);
  printf("len: %d, rawlen %d\n", (int)lua_tointeger(L, -1), (int)lua_rawlen(L, -2));
  lua_settop(L, 0);
  lua_createtable(L, 3, 0);
  for (int k = 1; k <= 3; k++) {
    lua_pushinteger(L, k * k);
    lua_seti(L, 1, k);
  }
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    printf("next: %d -> %d\n", (int)lua_tointeger(L, -2), (int)lua_tointeger(L, -1));
    lua_pop(L, 1);
  }
  printf("luaL_len: %d, geti 2: %d\n", (int)luaL_len(L, 1), (lua_geti(L, 1, 2), (int)lua_tointeger(L, -1)));
  lua_settop(L, 0);
  lua_pushnumber(L, 3.0);
  lua_Integer out = 0;
  int fits = lua_numbertointeger(lua_tonumber(L, 1), &out);
  printf("numbertointeger: %d %lld\n", fits, (long long)out);
  printf("types: %s %s %s\n", lua_typename(L, LUA_TNIL), lua_typename(L, LUA_TLIGHTUSERDATA), luaL_typename(L, 1));
  printf("absindex: %d, gettop %d\n", lua_absindex(L, -1), lua_gettop(L));
  lua_pushboolean(L, 1);
  lua_pushnil(L);
  lua_rotate(L, 1, 1);
  printf("rotate: %s %s %s\n", luaL_typename(L, 1), luaL_typename(L, 2), luaL_typename(L, 3));
  lua_settop(L, 0);
  printf("checkstack: %d\n", lua_checkstack(L, 500));

  /* getsubtable and tolstring with __tostring/__name */
  lua_newtable(L);
  printf("getsubtable: %d", luaL_getsubtable(L, 1, "sub"));
  lua_pop(L, 1);
  printf(" %d\n", luaL_getsubtable(L, 1, "sub"));
  lua_settop(L, 0);

  /* dump and load back, through a buffer and a piecewise reader */
  luaL_loadstring(L, "local a, b = ... return a * b, 'dumped'");
  static Bytes bytes;
  printf("dump status: %d\n", lua_dump(L, writer, &bytes, 1));
  lua_settop(L, 0);
  Pieces pc = {bytes.data, bytes.n};
  int st = lua_load(L, reader, &pc, "=dumped", "b");
  lua_pushinteger(L, 6);
  lua_pushinteger(L, 7);
  if (st == LUA_OK) st = lua_pcall(L, 2, 2, 0);
  printf("dump/load: %d %s %s\n", st, lua_tostring(L, -2), lua_tostring(L, -1));
  lua_settop(L, 0);

  /* to-be-closed slots */
  run(L, "tbc", "mt = {__close = function(o, e) print('closing', o.name, e) end}");
  lua_newtable(L);
  lua_pushstring(L, "slot");
  lua_setfield(L, -2, "name");
  lua_getglobal(L, "mt");
  lua_setmetatable(L, -2);
  lua_toclose(L, -1);
  lua_closeslot(L, -1);
  lua_settop(L, 0);

  /* warnings and extra space */
  lua_setwarnf(L, warnf, NULL);
  lua_warning(L, "part one, ", 1);
  lua_warning(L, "part two", 0);
  *(int *)lua_getextraspace(L) = 1234;
  lua_State *t = lua_newthread(L);
  printf("extraspace: %d %d\n", *(int *)lua_getextraspace(L), *(int *)lua_getextraspace(t));
  lua_pop(L, 1);

  /* the collector */
  printf("gc running: %d, count > 0: %d\n", lua_gc(L, LUA_GCISRUNNING), lua_gc(L, LUA_GCCOUNT) > 0);
  int was_inc = lua_gc(L, LUA_GCGEN, 0, 0) == LUA_GCINC;
  int was_gen = lua_gc(L, LUA_GCINC, 0, 0, 0) == LUA_GCGEN;
  printf("gen from inc: %d, inc from gen: %d\n", was_inc, was_gen);
  lua_gc(L, LUA_GCSTOP);
  printf("stopped: %d\n", !lua_gc(L, LUA_GCISRUNNING));
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCCOLLECT);
}

/* ---------------------------------------------------------------- debug */

static int where_am_i(lua_State *L) {
  lua_Debug ar;
  if (!lua_getstack(L, 1, &ar)) return 0;
  lua_getinfo(L, "nSlu", &ar);
  printf("caller: %s %s line %d, defined %d-%d, %s, nparams %d, vararg %d\n", ar.short_src, ar.what,
         ar.currentline, ar.linedefined, ar.lastlinedefined, ar.name ? ar.name : "?", ar.nparams, ar.isvararg);
  const char *name;
  for (int n = 1; (name = lua_getlocal(L, &ar, n)) != NULL; n++) {
    printf("  local %s = %s\n", name, luaL_tolstring(L, -1, NULL));
    lua_pop(L, 2);
  }
  lua_pushinteger(L, 99);
  lua_setlocal(L, &ar, 1);
  luaL_where(L, 1);
  return 1;
}

static int hook_lines;
static void line_hook(lua_State *L, lua_Debug *ar) {
  (void)L;
  if (ar->event == LUA_HOOKLINE) hook_lines++;
}

static void test_debug(lua_State *L) {
  printf("-- debug\n");
  lua_register(L, "where_am_i", where_am_i);
  run(L, "=dbg", "local function probe(a, b)\n"
                 "  local c = a .. b\n"
                 "  local w = where_am_i()\n"
                 "  return a, w\n"
                 "end\n"
                 "print(probe('x', 'y'))");
  lua_sethook(L, line_hook, LUA_MASKLINE, 0);
  run(L, "=hooked", "local s = 0\nfor i = 1, 3 do\n  s = s + i\nend");
  printf("hook: mask %d, set %d, lines %d\n", lua_gethookmask(L), lua_gethook(L) == line_hook, hook_lines);
  lua_sethook(L, NULL, 0, 0);
  lua_getglobal(L, "print");
  lua_Debug ar;
  lua_getinfo(L, ">S", &ar);
  printf("print is %s from %s\n", ar.what, ar.short_src);
}

/* ---------------------------------------------------------------- main */

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* keep the order with stderr */
  Counts counts = {0, 0, 0, 0};
  lua_State *L = lua_newstate(counting_alloc, &counts);
  luaL_openlibs(L);
  void *ud;
  printf("getallocf is ours: %d\n", lua_getallocf(L, &ud) == counting_alloc && ud == &counts);
  test_userdata(L);
  test_buffers(L);
  test_upvalues(L);
  test_refs(L);
  test_coroutines(L);
  test_errors(L);
  test_values(L);
  test_debug(L);
  printf("stack at end: %d\n", lua_gettop(L));
  lua_close(L);
  printf("allocator used: %d, live bytes after close: %d\n", counts.calls > 0, (int)counts.live);

  /* out of memory through the allocator */
  Counts small = {0, 0, 0, 0};
  L = lua_newstate(counting_alloc, &small);
  luaL_openlibs(L);
  small.limit = small.live + 100000;
  int st = luaL_dostring(L, "local t = {} for i = 1, 1e7 do t[i] = i end");
  report(L, "memory", st);
  small.limit = 0;
  printf("state usable after: %d\n", luaL_dostring(L, "return 1 + 1") == LUA_OK && lua_tointeger(L, -1) == 2);
  lua_close(L);
  printf("live bytes after close: %d\n", (int)small.live);

  L = luaL_newstate();
  printf("luaL_newstate: %s\n", L != NULL ? "ok" : "NULL");
  lua_close(L);
  return 0;
}
