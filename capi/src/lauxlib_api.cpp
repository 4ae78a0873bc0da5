// The luaL_* functions of the C API (manual section 5) and the library
// openers of lualib.h, forwarding to the auxiliary library of luna/api.hpp.
// luaL_Buffer is the exception: its layout is fixed by the ABI (the
// luaL_add* macros touch its fields), so its functions live here.
#include <cstdio>
#include <cstring>

#include "convert.hpp"
#include "panic.hpp"

namespace luna {
namespace {

using namespace capi;

static_assert(sizeof(luaL_Reg) == sizeof(Reg) && offsetof(luaL_Reg, func) == offsetof(Reg, func));
const Reg* R(const luaL_Reg* l) { return reinterpret_cast<const Reg*>(l); }
static_assert(LUA_ERRFILE == ERRFILE && LUA_NOREF == NOREF && LUA_REFNIL == REFNIL);

// The buffer's slot (a placeholder, then its userdata box) must be on the
// stack top when it grows.
char* grow(luaL_Buffer* B, size_t sz) {
  State* L = S(B->L);
  if (static_cast<size_t>(-1) - sz < B->n) error_f(L, "buffer too large");
  size_t newsize = B->size * 2;
  if (newsize < B->n + sz) newsize = B->n + sz;
  auto* box = static_cast<char*>(new_userdata(L, newsize, 0));
  std::memcpy(box, B->b, B->n);
  replace(L, -2);  // the old box, if any, becomes garbage
  B->b = box;
  B->size = newsize;
  return B->b + B->n;
}

// luaL_newstate's panic function: says why the process is about to abort.
int report_panic(State* L) {
  const char* msg = type(L, -1) == TSTRING ? to_string(L, -1) : "error object is not a string";
  std::fprintf(stderr, "PANIC: unprotected error in call to Lua API (%s)\n", msg);
  std::fflush(stderr);
  return 0;
}

}  // namespace
}  // namespace luna

using namespace luna;
using namespace luna::capi;

extern "C" {

void luaL_checkversion_(lua_State* L, lua_Number ver, size_t sz) {
  if (sz != LUAL_NUMSIZES)
    error_f(S(L), "core and library have incompatible numeric types");
  if (ver != LUA_VERSION_NUM)
    error_f(S(L), "version mismatch: app. needs %f, Lua core provides %f", ver, static_cast<lua_Number>(LUA_VERSION_NUM));
}

int luaL_getmetafield(lua_State* L, int obj, const char* e) { return get_metafield(S(L), obj, e); }
int luaL_callmeta(lua_State* L, int obj, const char* e) {
  return guard(L, [&] { return call_meta(S(L), obj, e); });
}
const char* luaL_tolstring(lua_State* L, int idx, size_t* len) {
  return guard(L, [&] { return to_lstring_meta(S(L), idx, len); });
}
int luaL_argerror(lua_State* L, int arg, const char* extramsg) { arg_error(S(L), arg, extramsg); }
int luaL_typeerror(lua_State* L, int arg, const char* tname) { type_error(S(L), arg, tname); }
const char* luaL_checklstring(lua_State* L, int arg, size_t* l) { return check_lstring(S(L), arg, l); }
const char* luaL_optlstring(lua_State* L, int arg, const char* def, size_t* l) {
  return opt_lstring(S(L), arg, def, l);
}
lua_Number luaL_checknumber(lua_State* L, int arg) { return check_number(S(L), arg); }
lua_Number luaL_optnumber(lua_State* L, int arg, lua_Number def) { return opt_number(S(L), arg, def); }
lua_Integer luaL_checkinteger(lua_State* L, int arg) { return check_integer(S(L), arg); }
lua_Integer luaL_optinteger(lua_State* L, int arg, lua_Integer def) { return opt_integer(S(L), arg, def); }

void luaL_checkstack(lua_State* L, int sz, const char* msg) { check_stack_or_error(S(L), sz, msg); }
void luaL_checktype(lua_State* L, int arg, int t) { check_type(S(L), arg, t); }
void luaL_checkany(lua_State* L, int arg) { check_any(S(L), arg); }

int luaL_newmetatable(lua_State* L, const char* tname) { return new_metatable(S(L), tname); }
void luaL_setmetatable(lua_State* L, const char* tname) { set_metatable_named(S(L), tname); }
void* luaL_testudata(lua_State* L, int ud, const char* tname) { return test_udata(S(L), ud, tname); }
void* luaL_checkudata(lua_State* L, int ud, const char* tname) { return check_udata(S(L), ud, tname); }

void luaL_where(lua_State* L, int lvl) { where(S(L), lvl); }

int luaL_error(lua_State* L, const char* fmt, ...) {
  State* l = S(L);
  where(l, 1);
  va_list argp;
  va_start(argp, fmt);
  push_vfstring(l, fmt, argp);
  va_end(argp);
  concat(l, 2);
  return guard(L, [&]() -> int { error(l); });
}

int luaL_checkoption(lua_State* L, int arg, const char* def, const char* const lst[]) {
  return check_option(S(L), arg, def, lst);
}

int luaL_fileresult(lua_State* L, int stat, const char* fname) { return file_result(S(L), stat, fname); }
int luaL_execresult(lua_State* L, int stat) { return exec_result(S(L), stat); }

int luaL_ref(lua_State* L, int t) { return ref(S(L), t); }
void luaL_unref(lua_State* L, int t, int r) { unref(S(L), t, r); }

int luaL_loadfilex(lua_State* L, const char* filename, const char* mode) { return load_filex(S(L), filename, mode); }
int luaL_loadbufferx(lua_State* L, const char* buff, size_t sz, const char* name, const char* mode) {
  return load_bufferx(S(L), buff, sz, name, mode);
}
int luaL_loadstring(lua_State* L, const char* s) { return load_string(S(L), s); }

lua_State* luaL_newstate(void) {
  State* L = new_state();
  if (L != nullptr) L->g->panic = report_panic;
  return C(L);
}

lua_Integer luaL_len(lua_State* L, int idx) {
  return guard(L, [&] { return len_i(S(L), idx); });
}

void luaL_addgsub(luaL_Buffer* b, const char* s, const char* p, const char* r) {
  size_t plen = std::strlen(p);
  if (plen == 0) {  // nothing to replace (and no endless loop)
    luaL_addstring(b, s);
    return;
  }
  for (const char* hit; (hit = std::strstr(s, p)) != nullptr; s = hit + plen) {
    luaL_addlstring(b, s, static_cast<size_t>(hit - s));
    luaL_addstring(b, r);
  }
  luaL_addstring(b, s);
}

const char* luaL_gsub(lua_State* L, const char* s, const char* p, const char* r) { return gsub(S(L), s, p, r); }

void luaL_setfuncs(lua_State* L, const luaL_Reg* l, int nup) { set_funcs(S(L), R(l), nup); }
int luaL_getsubtable(lua_State* L, int idx, const char* fname) { return get_subtable(S(L), idx, fname); }
void luaL_traceback(lua_State* L, lua_State* L1, const char* msg, int level) {
  traceback(S(L), S(L1), msg, level);
}
void luaL_requiref(lua_State* L, const char* modname, lua_CFunction openf, int glb) {
  requiref(S(L), modname, native(openf), glb != 0);
}

// ---------------------------------------------------------------- buffers

void luaL_buffinit(lua_State* L, luaL_Buffer* B) {
  B->L = L;
  B->b = B->init.b;
  B->size = LUAL_BUFFERSIZE;
  B->n = 0;
  push_light_userdata(S(L), B);  // placeholder for the box
}

char* luaL_prepbuffsize(luaL_Buffer* B, size_t sz) {
  if (B->size - B->n >= sz) return B->b + B->n;
  return grow(B, sz);
}

void luaL_addlstring(luaL_Buffer* B, const char* s, size_t l) {
  if (l == 0) return;
  std::memcpy(luaL_prepbuffsize(B, l), s, l);
  B->n += l;
}

void luaL_addstring(luaL_Buffer* B, const char* s) { luaL_addlstring(B, s, std::strlen(s)); }

void luaL_addvalue(luaL_Buffer* B) {
  State* L = S(B->L);
  size_t l = 0;
  const char* s = to_lstring(L, -1, &l);
  if (s != nullptr && B->size - B->n >= l) {  // fits: no box moves under the string
    std::memcpy(B->b + B->n, s, l);
    B->n += l;
    pop(L, 1);
    return;
  }
  // Put the value under the buffer slot (growing needs the slot on top);
  // the stack keeps the string alive while it is copied.
  insert(L, -2);
  s = to_lstring(L, -2, &l);
  luaL_addlstring(B, s, l);
  remove(L, -2);
}

void luaL_pushresult(luaL_Buffer* B) {
  State* L = S(B->L);
  push_lstring(L, B->b, B->n);
  remove(L, -2);
}

void luaL_pushresultsize(luaL_Buffer* B, size_t sz) {
  B->n += sz;
  luaL_pushresult(B);
}

char* luaL_buffinitsize(lua_State* L, luaL_Buffer* B, size_t sz) {
  luaL_buffinit(L, B);
  return luaL_prepbuffsize(B, sz);
}

// ---------------------------------------------------------------- lualib.h

int luaopen_base(lua_State* L) { return open_base(S(L)); }
int luaopen_coroutine(lua_State* L) { return open_coroutine(S(L)); }
int luaopen_table(lua_State* L) { return open_table(S(L)); }
int luaopen_io(lua_State* L) { return open_io(S(L)); }
int luaopen_os(lua_State* L) { return open_os(S(L)); }
int luaopen_string(lua_State* L) { return open_string(S(L)); }
int luaopen_utf8(lua_State* L) { return open_utf8(S(L)); }
int luaopen_math(lua_State* L) { return open_math(S(L)); }
int luaopen_debug(lua_State* L) { return open_debug(S(L)); }
int luaopen_package(lua_State* L) { return open_package(S(L)); }
void luaL_openlibs(lua_State* L) { open_libs(S(L)); }

}  // extern "C"
