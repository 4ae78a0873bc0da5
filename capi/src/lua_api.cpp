// The lua_* functions of the C API (manual section 4): each one forwards to
// its counterpart in the stack API (luna/api.hpp), which already has the C
// API's semantics; this file only adapts types and C calling conventions.
#include <cstddef>
#include <cstring>

#include "convert.hpp"
#include "panic.hpp"

namespace luna {
namespace {

using namespace capi;

// The public constants must be the core's: modules compiled against the
// headers pass them straight through.
static_assert(LUA_REGISTRYINDEX == REGISTRYINDEX && LUAI_MAXSTACK == MAXSTACK);
static_assert(LUA_MINSTACK == MINSTACK && LUA_IDSIZE == IDSIZE && LUA_MULTRET == MULTRET);
static_assert(LUA_TNONE == TNONE && LUA_TTHREAD == TTHREAD && LUA_NUMTYPES == NUMTYPES);
static_assert(LUA_ERRERR == ERRERR && LUA_YIELD == YIELD);
static_assert(LUA_OPBNOT == OPBNOT && LUA_OPLE == OPLE && LUA_GCINC == GCINC);
static_assert(LUA_HOOKTAILCALL == HOOKTAILCALL && LUA_MASKCOUNT == MASKCOUNT);
static_assert(LUA_RIDX_GLOBALS == RIDX_GLOBALS && LUA_RIDX_MAINTHREAD == RIDX_MAINTHREAD);
static_assert(sizeof(lua_Integer) == sizeof(Integer) && sizeof(lua_Number) == sizeof(Number));

// lua_Debug is filled by the core as a DebugInfo: same fields, same places.
#define LUNA_SAME_FIELD(f) static_assert(offsetof(lua_Debug, f) == offsetof(DebugInfo, f))
LUNA_SAME_FIELD(event);
LUNA_SAME_FIELD(name);
LUNA_SAME_FIELD(namewhat);
LUNA_SAME_FIELD(what);
LUNA_SAME_FIELD(source);
LUNA_SAME_FIELD(srclen);
LUNA_SAME_FIELD(currentline);
LUNA_SAME_FIELD(linedefined);
LUNA_SAME_FIELD(lastlinedefined);
LUNA_SAME_FIELD(nups);
LUNA_SAME_FIELD(nparams);
LUNA_SAME_FIELD(isvararg);
LUNA_SAME_FIELD(istailcall);
LUNA_SAME_FIELD(ftransfer);
LUNA_SAME_FIELD(ntransfer);
LUNA_SAME_FIELD(short_src);
LUNA_SAME_FIELD(i_ci);
#undef LUNA_SAME_FIELD
static_assert(sizeof(lua_Debug) == sizeof(DebugInfo));

DebugInfo* D(lua_Debug* ar) { return reinterpret_cast<DebugInfo*>(ar); }
const DebugInfo* D(const lua_Debug* ar) { return reinterpret_cast<const DebugInfo*>(ar); }

// Readers and writers are called with the C state type.
struct CReader {
  lua_Reader f;
  void* ud;
};
const char* read_c(State* L, void* ud, size_t* size) {
  auto* r = static_cast<CReader*>(ud);
  return r->f(C(L), r->ud, size);
}
struct CWriter {
  lua_Writer f;
  void* ud;
};
int write_c(State* L, const void* p, size_t sz, void* ud) {
  auto* w = static_cast<CWriter*>(ud);
  return w->f(C(L), p, sz, w->ud);
}

// Registry key of the table holding each thread's extra space.
const char EXTRASPACE_KEY = 0;

}  // namespace

namespace capi {
void panic(State* L, int status) {
  set_error_obj(L, status, L->top);
  if (NativeFn f = L->g->panic) f(L);
  std::abort();
}
}  // namespace capi
}  // namespace luna

using namespace luna;
using namespace luna::capi;

extern "C" {

const char lua_ident[] = "$LuaVersion: " LUA_RELEASE " $$LuaAuthors: " LUA_AUTHORS " $";

// ---------------------------------------------------------------- states

lua_State* lua_newstate(lua_Alloc f, void* ud) { return C(new_state(f, ud)); }
void lua_close(lua_State* L) { close_state(S(L)); }
lua_State* lua_newthread(lua_State* L) { return C(new_thread(S(L))); }
int lua_closethread(lua_State* L, lua_State* from) { return close_thread(S(L), S(from)); }
int lua_resetthread(lua_State* L) { return close_thread(S(L), S(L)); }

lua_CFunction lua_atpanic(lua_State* L, lua_CFunction panicf) {
  GlobalState* g = S(L)->g;
  lua_CFunction old = cfunc(g->panic);
  g->panic = native(panicf);
  return old;
}

lua_Number lua_version(lua_State*) { return LUA_VERSION_NUM; }

// ---------------------------------------------------------------- stack

int lua_absindex(lua_State* L, int idx) { return abs_index(S(L), idx); }
int lua_gettop(lua_State* L) { return get_top(S(L)); }
void lua_settop(lua_State* L, int idx) { set_top(S(L), idx); }
void lua_pushvalue(lua_State* L, int idx) { push_value(S(L), idx); }
void lua_rotate(lua_State* L, int idx, int n) { rotate(S(L), idx, n); }
void lua_copy(lua_State* L, int fromidx, int toidx) { copy(S(L), fromidx, toidx); }
int lua_checkstack(lua_State* L, int n) { return check_stack(S(L), n); }
void lua_xmove(lua_State* from, lua_State* to, int n) { xmove(S(from), S(to), n); }

// ---------------------------------------------------------------- access

int lua_isnumber(lua_State* L, int idx) { return is_number(S(L), idx); }
int lua_isstring(lua_State* L, int idx) { return is_string(S(L), idx); }
int lua_iscfunction(lua_State* L, int idx) { return is_native_function(S(L), idx); }
int lua_isinteger(lua_State* L, int idx) { return is_integer(S(L), idx); }
int lua_isuserdata(lua_State* L, int idx) { return is_userdata(S(L), idx); }
int lua_type(lua_State* L, int idx) { return type(S(L), idx); }
const char* lua_typename(lua_State* L, int tp) { return type_name(S(L), tp); }

lua_Number lua_tonumberx(lua_State* L, int idx, int* isnum) {
  bool ok;
  lua_Number n = to_numberx(S(L), idx, &ok);
  if (isnum != nullptr) *isnum = ok;
  return n;
}

lua_Integer lua_tointegerx(lua_State* L, int idx, int* isnum) {
  bool ok;
  lua_Integer i = to_integerx(S(L), idx, &ok);
  if (isnum != nullptr) *isnum = ok;
  return i;
}

int lua_toboolean(lua_State* L, int idx) { return to_boolean(S(L), idx); }
const char* lua_tolstring(lua_State* L, int idx, size_t* len) { return to_lstring(S(L), idx, len); }
lua_Unsigned lua_rawlen(lua_State* L, int idx) { return raw_len(S(L), idx); }
lua_CFunction lua_tocfunction(lua_State* L, int idx) { return cfunc(to_native_function(S(L), idx)); }
void* lua_touserdata(lua_State* L, int idx) { return to_userdata(S(L), idx); }
lua_State* lua_tothread(lua_State* L, int idx) { return C(to_thread(S(L), idx)); }
const void* lua_topointer(lua_State* L, int idx) { return to_pointer(S(L), idx); }

// ------------------------------------------------------- comparison, arithmetic

void lua_arith(lua_State* L, int op) {
  guard(L, [&] { arith(S(L), op); });
}
int lua_rawequal(lua_State* L, int idx1, int idx2) { return raw_equal(S(L), idx1, idx2); }
int lua_compare(lua_State* L, int idx1, int idx2, int op) {
  return guard(L, [&] { return compare(S(L), idx1, idx2, op); });
}

// ---------------------------------------------------------------- push

void lua_pushnil(lua_State* L) { push_nil(S(L)); }
void lua_pushnumber(lua_State* L, lua_Number n) { push_number(S(L), n); }
void lua_pushinteger(lua_State* L, lua_Integer n) { push_integer(S(L), n); }
const char* lua_pushlstring(lua_State* L, const char* s, size_t len) { return push_lstring(S(L), s, len); }
const char* lua_pushstring(lua_State* L, const char* s) { return push_string(S(L), s); }
const char* lua_pushvfstring(lua_State* L, const char* fmt, va_list argp) { return push_vfstring(S(L), fmt, argp); }

const char* lua_pushfstring(lua_State* L, const char* fmt, ...) {
  va_list argp;
  va_start(argp, fmt);
  const char* s = push_vfstring(S(L), fmt, argp);
  va_end(argp);
  return s;
}

void lua_pushcclosure(lua_State* L, lua_CFunction fn, int n) { push_native_closure(S(L), native(fn), n); }
void lua_pushboolean(lua_State* L, int b) { push_boolean(S(L), b != 0); }
void lua_pushlightuserdata(lua_State* L, void* p) { push_light_userdata(S(L), p); }
int lua_pushthread(lua_State* L) { return push_thread(S(L)); }

// ---------------------------------------------------------------- get

int lua_getglobal(lua_State* L, const char* name) {
  return guard(L, [&] { return get_global(S(L), name); });
}
int lua_gettable(lua_State* L, int idx) {
  return guard(L, [&] { return get_table(S(L), idx); });
}
int lua_getfield(lua_State* L, int idx, const char* k) {
  return guard(L, [&] { return get_field(S(L), idx, k); });
}
int lua_geti(lua_State* L, int idx, lua_Integer n) {
  return guard(L, [&] { return get_i(S(L), idx, n); });
}
int lua_rawget(lua_State* L, int idx) { return raw_get(S(L), idx); }
int lua_rawgeti(lua_State* L, int idx, lua_Integer n) { return raw_get_i(S(L), idx, n); }
int lua_rawgetp(lua_State* L, int idx, const void* p) { return raw_get_p(S(L), idx, p); }
void lua_createtable(lua_State* L, int narr, int nrec) { create_table(S(L), narr, nrec); }
void* lua_newuserdatauv(lua_State* L, size_t sz, int nuvalue) { return new_userdata(S(L), sz, nuvalue); }
int lua_getmetatable(lua_State* L, int objindex) { return get_metatable(S(L), objindex); }
int lua_getiuservalue(lua_State* L, int idx, int n) { return get_iuservalue(S(L), idx, n); }

// ---------------------------------------------------------------- set

void lua_setglobal(lua_State* L, const char* name) {
  guard(L, [&] { set_global(S(L), name); });
}
void lua_settable(lua_State* L, int idx) {
  guard(L, [&] { set_table(S(L), idx); });
}
void lua_setfield(lua_State* L, int idx, const char* k) {
  guard(L, [&] { set_field(S(L), idx, k); });
}
void lua_seti(lua_State* L, int idx, lua_Integer n) {
  guard(L, [&] { set_i(S(L), idx, n); });
}
void lua_rawset(lua_State* L, int idx) { raw_set(S(L), idx); }
void lua_rawseti(lua_State* L, int idx, lua_Integer n) { raw_set_i(S(L), idx, n); }
void lua_rawsetp(lua_State* L, int idx, const void* p) { raw_set_p(S(L), idx, p); }

int lua_setmetatable(lua_State* L, int objindex) {
  set_metatable(S(L), objindex);
  return 1;
}

int lua_setiuservalue(lua_State* L, int idx, int n) { return set_iuservalue(S(L), idx, n); }

// ---------------------------------------------------------------- load and call

// Continuations have PUC-Rio's semantics in the core (stackless
// coroutines): a yield under lua_callk/lua_pcallk or lua_yieldk abandons
// the C function, and k(L, LUA_YIELD, ctx) finishes its work on resume.
void lua_callk(lua_State* L, int nargs, int nresults, lua_KContext ctx, lua_KFunction k) {
  guard(L, [&] { call_k(S(L), nargs, nresults, ctx, kfunc(k)); });
}

int lua_pcallk(lua_State* L, int nargs, int nresults, int errfunc, lua_KContext ctx, lua_KFunction k) {
  return pcall_k(S(L), nargs, nresults, errfunc, ctx, kfunc(k));
}

int lua_load(lua_State* L, lua_Reader reader, void* dt, const char* chunkname, const char* mode) {
  CReader r{reader, dt};
  return load(S(L), read_c, &r, chunkname, mode);
}

int lua_dump(lua_State* L, lua_Writer writer, void* data, int strip) {
  CWriter w{writer, data};
  return dump(S(L), write_c, &w, strip != 0);
}

// ---------------------------------------------------------------- coroutines

int lua_yieldk(lua_State* L, int nresults, lua_KContext ctx, lua_KFunction k) {
  return yield_k(S(L), nresults, ctx, kfunc(k));
}

int lua_resume(lua_State* L, lua_State* from, int narg, int* nres) { return resume(S(L), S(from), narg, nres); }
int lua_status(lua_State* L) { return status(S(L)); }
int lua_isyieldable(lua_State* L) { return is_yieldable(S(L)); }

// ---------------------------------------------------------------- warnings, gc

void lua_setwarnf(lua_State* L, lua_WarnFunction f, void* ud) { set_warnf(S(L), f, ud); }
void lua_warning(lua_State* L, const char* msg, int tocont) { warning(S(L), msg, tocont); }

int lua_gc(lua_State* L, int what, ...) {
  // Only these options take arguments; reading more would be undefined.
  int args[3] = {0, 0, 0};
  int nargs = 0;
  switch (what) {
    case LUA_GCSTEP: case LUA_GCSETPAUSE: case LUA_GCSETSTEPMUL: nargs = 1; break;
    case LUA_GCGEN: nargs = 2; break;
    case LUA_GCINC: nargs = 3; break;
    default: break;
  }
  va_list argp;
  va_start(argp, what);
  for (int i = 0; i < nargs; i++) args[i] = va_arg(argp, int);
  va_end(argp);
  return gc(S(L), what, args[0], args[1], args[2]);
}

// ---------------------------------------------------------------- misc

int lua_error(lua_State* L) {
  return guard(L, [&]() -> int { error(S(L)); });
}
int lua_next(lua_State* L, int idx) {
  return guard(L, [&] { return next(S(L), idx); });
}
void lua_concat(lua_State* L, int n) {
  guard(L, [&] { concat(S(L), n); });
}
void lua_len(lua_State* L, int idx) {
  guard(L, [&] { len(S(L), idx); });
}
size_t lua_stringtonumber(lua_State* L, const char* s) { return string_to_number(S(L), s); }

lua_Alloc lua_getallocf(lua_State* L, void** ud) {
  GlobalState* g = S(L)->g;
  if (ud != nullptr) *ud = g->ud;
  return g->frealloc;
}

void lua_setallocf(lua_State* L, lua_Alloc f, void* ud) {
  GlobalState* g = S(L)->g;
  g->frealloc = f;
  g->ud = ud;
}

void lua_toclose(lua_State* L, int idx) { to_close(S(L), idx); }
void lua_closeslot(lua_State* L, int idx) { close_slot(S(L), idx); }

// A thread's extra space is a userdata in a weak-keyed registry table
// indexed by the thread; a new thread's starts as a copy of the main
// thread's, as in PUC-Rio.
void* luna_getextraspace(lua_State* L) {
  State* l = S(L);
  if (raw_get_p(l, REGISTRYINDEX, &EXTRASPACE_KEY) != TTABLE) {
    pop(l, 1);
    new_table(l);
    new_table(l);
    push_string(l, "k");
    set_field(l, -2, "__mode");
    set_metatable(l, -2);
    push_value(l, -1);
    raw_set_p(l, REGISTRYINDEX, &EXTRASPACE_KEY);
  }
  push_thread(l);
  if (raw_get(l, -2) == TUSERDATA) {
    void* p = to_userdata(l, -1);
    pop(l, 2);
    return p;
  }
  pop(l, 1);
  void* p = new_userdata(l, LUA_EXTRASPACE, 0);
  State* main = l->g->mainthread;
  if (main != l) std::memcpy(p, luna_getextraspace(C(main)), LUA_EXTRASPACE);
  else std::memset(p, 0, LUA_EXTRASPACE);
  push_thread(l);
  insert(l, -2);
  raw_set(l, -3);
  pop(l, 1);
  return p;
}

// ---------------------------------------------------------------- debug

int lua_getstack(lua_State* L, int level, lua_Debug* ar) { return get_stack(S(L), level, D(ar)); }
int lua_getinfo(lua_State* L, const char* what, lua_Debug* ar) { return get_info(S(L), what, D(ar)); }
const char* lua_getlocal(lua_State* L, const lua_Debug* ar, int n) { return get_local(S(L), D(ar), n); }
const char* lua_setlocal(lua_State* L, const lua_Debug* ar, int n) { return set_local(S(L), D(ar), n); }
const char* lua_getupvalue(lua_State* L, int funcindex, int n) { return get_upvalue(S(L), funcindex, n); }
const char* lua_setupvalue(lua_State* L, int funcindex, int n) { return set_upvalue(S(L), funcindex, n); }
void* lua_upvalueid(lua_State* L, int fidx, int n) { return upvalue_id(S(L), fidx, n); }
void lua_upvaluejoin(lua_State* L, int fidx1, int n1, int fidx2, int n2) { upvalue_join(S(L), fidx1, n1, fidx2, n2); }

// lua_Hook and Hook differ only in the names of the pointed-to types.
void lua_sethook(lua_State* L, lua_Hook func, int mask, int count) {
  set_hook(S(L), reinterpret_cast<Hook>(func), mask, count);
}
lua_Hook lua_gethook(lua_State* L) { return reinterpret_cast<lua_Hook>(get_hook(S(L))); }
int lua_gethookmask(lua_State* L) { return get_hook_mask(S(L)); }
int lua_gethookcount(lua_State* L) { return get_hook_count(S(L)); }

// Deprecated in 5.4: the C stack limit is fixed; reports the default.
int lua_setcstacklimit(lua_State*, unsigned int) { return static_cast<int>(MAX_C_CALLS); }

}  // extern "C"
