// The debug library: a thin layer over the debug API of api.hpp. Functions
// taking an optional thread first argument operate on that thread's stack.
#include <cstdio>
#include <cstring>

#include "luna/api.hpp"
#include "../dialect.hpp"
#include "../state.hpp"

namespace luna {
namespace {

// Registry key of the table mapping each thread to its Lua hook function
// (weak keys, so hooks do not keep dead coroutines alive).
constexpr const char* HOOKKEY = "_HOOKKEY";

// What debug.setcstacklimit reports: the fixed native nesting limit (the
// limit is not settable in 5.4; the function only survives for compatibility).
constexpr Integer CSTACK_LIMIT = 200;

// Values may move between L and L1: make room in L1 when they differ.
void check_thread_stack(State* L, State* L1, int n) {
  if (L != L1 && !check_stack(L1, n)) error_f(L, "stack overflow");
}

// Optional thread argument: returns it and sets *arg to 1, or L and 0.
State* get_thread(State* L, int* arg) {
  if (is_thread(L, 1)) {
    *arg = 1;
    return to_thread(L, 1);
  }
  *arg = 0;
  return L;
}

int db_getregistry(State* L) {
  push_value(L, REGISTRYINDEX);
  return 1;
}

int db_getmetatable(State* L) {
  check_any(L, 1);
  if (!get_metatable(L, 1)) push_nil(L);
  return 1;
}

int db_setmetatable(State* L) {
  int t = type(L, 2);
  arg_expected(L, t == TNIL || t == TTABLE, 2, "nil or table");
  set_top(L, 2);
  set_metatable(L, 1);
  return 1;  // the first argument
}

int db_getuservalue(State* L) {
  int n = static_cast<int>(opt_integer(L, 2, 1));
  if (type(L, 1) != TUSERDATA) {
    push_fail(L);
  } else if (get_iuservalue(L, 1, n) != TNONE) {
    push_boolean(L, true);
    return 2;
  }
  return 1;
}

int db_setuservalue(State* L) {
  int n = static_cast<int>(opt_integer(L, 3, 1));
  check_type(L, 1, TUSERDATA);
  check_any(L, 2);
  set_top(L, 2);
  if (!set_iuservalue(L, 1, n)) push_fail(L);
  return 1;
}

void set_str_field(State* L, const char* k, const char* v) {
  push_string(L, v);
  set_field(L, -2, k);
}

void set_int_field(State* L, const char* k, Integer v) {
  push_integer(L, v);
  set_field(L, -2, k);
}

void set_bool_field(State* L, const char* k, bool v) {
  push_boolean(L, v);
  set_field(L, -2, k);
}

// Moves a value that get_info left on L1's stack into the result table
// (on L's top) as field fname.
void take_stack_option(State* L, State* L1, const char* fname) {
  if (L == L1)
    rotate(L, -2, 1);  // the value sits below the table
  else
    xmove(L1, L, 1);
  set_field(L, -2, fname);
}

int db_getinfo(State* L) {
  DebugInfo ar;
  int arg;
  State* L1 = get_thread(L, &arg);
  const char* options = opt_string(L, arg + 2, "flnSrtu");
  check_thread_stack(L, L1, 3);
  arg_check(L, options[0] != '>', arg + 2, "invalid option '>'");
  if (is_function(L, arg + 1)) {
    options = push_fstring(L, ">%s", options);  // '>' asks about the function on top
    push_value(L, arg + 1);
    xmove(L, L1, 1);
  } else if (!get_stack(L1, static_cast<int>(check_integer(L, arg + 1)), &ar)) {
    push_fail(L);  // level out of range
    return 1;
  }
  if (!get_info(L1, options, &ar)) arg_error(L, arg + 2, "invalid option");
  new_table(L);
  if (std::strchr(options, 'S')) {
    push_lstring(L, ar.source, ar.srclen);
    set_field(L, -2, "source");
    set_str_field(L, "short_src", ar.short_src);
    set_int_field(L, "linedefined", ar.linedefined);
    set_int_field(L, "lastlinedefined", ar.lastlinedefined);
    set_str_field(L, "what", ar.what);
  }
  if (std::strchr(options, 'l')) set_int_field(L, "currentline", ar.currentline);
  if (std::strchr(options, 'u')) {
    set_int_field(L, "nups", ar.nups);
    set_int_field(L, "nparams", ar.nparams);
    set_bool_field(L, "isvararg", ar.isvararg);
  }
  if (std::strchr(options, 'n')) {
    set_str_field(L, "name", ar.name);
    set_str_field(L, "namewhat", ar.namewhat);
  }
  if (std::strchr(options, 'r')) {
    set_int_field(L, "ftransfer", ar.ftransfer);
    set_int_field(L, "ntransfer", ar.ntransfer);
  }
  if (std::strchr(options, 't')) {
    set_bool_field(L, "istailcall", ar.istailcall);
    if (dialect_of(get_version(L)).lib_55) set_int_field(L, "extraargs", get_extra_args(&ar));
  }
  // get_info pushed 'f' before 'L': take them in reverse order
  if (std::strchr(options, 'L')) take_stack_option(L, L1, "activelines");
  if (std::strchr(options, 'f')) take_stack_option(L, L1, "func");
  return 1;
}

int db_getlocal(State* L) {
  int arg;
  State* L1 = get_thread(L, &arg);
  int nvar = static_cast<int>(check_integer(L, arg + 2));
  if (is_function(L, arg + 1)) {  // only parameter names of a non-active function
    push_value(L, arg + 1);
    push_string(L, get_local(L, nullptr, nvar));
    return 1;
  }
  DebugInfo ar;
  int level = static_cast<int>(check_integer(L, arg + 1));
  if (!get_stack(L1, level, &ar)) arg_error(L, arg + 1, "level out of range");
  check_thread_stack(L, L1, 1);
  const char* name = get_local(L1, &ar, nvar);
  if (name == nullptr) {
    push_fail(L);
    return 1;
  }
  xmove(L1, L, 1);  // the value
  push_string(L, name);
  rotate(L, -2, 1);  // name first, then value
  return 2;
}

int db_setlocal(State* L) {
  int arg;
  State* L1 = get_thread(L, &arg);
  DebugInfo ar;
  int level = static_cast<int>(check_integer(L, arg + 1));
  int nvar = static_cast<int>(check_integer(L, arg + 2));
  if (!get_stack(L1, level, &ar)) arg_error(L, arg + 1, "level out of range");
  check_any(L, arg + 3);
  set_top(L, arg + 3);
  check_thread_stack(L, L1, 1);
  xmove(L, L1, 1);
  const char* name = set_local(L1, &ar, nvar);
  if (name == nullptr) pop(L1, 1);  // set_local did not consume the value
  push_string(L, name);
  return 1;
}

int aux_upvalue(State* L, bool get) {
  int n = static_cast<int>(check_integer(L, 2));
  check_type(L, 1, TFUNCTION);
  const char* name = get ? get_upvalue(L, 1, n) : set_upvalue(L, 1, n);
  if (name == nullptr) return 0;
  push_string(L, name);
  insert(L, get ? -2 : -1);  // getupvalue returns name, value
  return get ? 2 : 1;
}

int db_getupvalue(State* L) { return aux_upvalue(L, true); }

int db_setupvalue(State* L) {
  check_any(L, 3);
  return aux_upvalue(L, false);
}

// Identity of upvalue argnup of function argf; with `must`, an invalid
// index is an error rather than a nullptr result.
void* check_upval(State* L, int argf, int argnup, int* pnup, bool must) {
  int nup = static_cast<int>(check_integer(L, argnup));
  check_type(L, argf, TFUNCTION);
  void* id = upvalue_id(L, argf, nup);
  if (must) {
    arg_check(L, id != nullptr, argnup, "invalid upvalue index");
    *pnup = nup;
  }
  return id;
}

int db_upvalueid(State* L) {
  int n;
  // 5.3 raises an error for an index with no upvalue; 5.4 returns fail.
  void* id = check_upval(L, 1, 2, &n, dialect_of(get_version(L)).lib_53);
  if (id != nullptr)
    push_light_userdata(L, id);
  else
    push_fail(L);
  return 1;
}

int db_upvaluejoin(State* L) {
  int n1, n2;
  check_upval(L, 1, 2, &n1, true);
  check_upval(L, 3, 4, &n2, true);
  arg_check(L, !is_native_function(L, 1), 1, "Lua function expected");
  arg_check(L, !is_native_function(L, 3), 3, "Lua function expected");
  upvalue_join(L, 1, n1, 3, n2);
  return 0;
}

// The native hook installed for every Lua hook: looks up the running
// thread's hook function and calls it with the event name and line.
void hook_dispatch(State* L, DebugInfo* ar) {
  static const char* const hooknames[] = {"call", "return", "line", "count", "tail call"};
  get_field(L, REGISTRYINDEX, HOOKKEY);
  push_thread(L);
  if (raw_get(L, -2) == TFUNCTION) {
    push_string(L, hooknames[ar->event]);
    if (ar->currentline >= 0)
      push_integer(L, ar->currentline);
    else
      push_nil(L);
    call(L, 2, 0);
  }
}

int make_mask(const char* smask, int count) {
  int mask = 0;
  if (std::strchr(smask, 'c')) mask |= MASKCALL;
  if (std::strchr(smask, 'r')) mask |= MASKRET;
  if (std::strchr(smask, 'l')) mask |= MASKLINE;
  if (count > 0) mask |= MASKCOUNT;
  return mask;
}

void unmake_mask(int mask, char* smask) {
  int i = 0;
  if (mask & MASKCALL) smask[i++] = 'c';
  if (mask & MASKRET) smask[i++] = 'r';
  if (mask & MASKLINE) smask[i++] = 'l';
  smask[i] = '\0';
}

int db_sethook(State* L) {
  int arg, mask, count;
  Hook func;
  State* L1 = get_thread(L, &arg);
  if (is_none_or_nil(L, arg + 1)) {  // turn hooks off
    set_top(L, arg + 1);
    func = nullptr;
    mask = 0;
    count = 0;
  } else {
    const char* smask = check_string(L, arg + 2);
    check_type(L, arg + 1, TFUNCTION);
    count = static_cast<int>(opt_integer(L, arg + 3, 0));
    func = hook_dispatch;
    mask = make_mask(smask, count);
  }
  if (!get_subtable(L, REGISTRYINDEX, HOOKKEY)) {  // first use: make keys weak
    push_string(L, "k");
    set_field(L, -2, "__mode");
    push_value(L, -1);
    set_metatable(L, -2);  // the table is its own metatable
  }
  check_thread_stack(L, L1, 1);
  push_thread(L1);
  xmove(L1, L, 1);
  push_value(L, arg + 1);
  raw_set(L, -3);  // hooktable[L1] = hook function
  // Not in set_hook: that may run in a signal handler, between a store
  // above top and the store that raises top.
  if (mask != 0) stack_clear_dead(L1);
  set_hook(L1, func, mask, count);
  return 0;
}

int db_gethook(State* L) {
  int arg;
  State* L1 = get_thread(L, &arg);
  char buff[5];
  int mask = get_hook_mask(L1);
  Hook hook = get_hook(L1);
  if (hook == nullptr) {
    push_fail(L);
    return 1;
  }
  if (hook != hook_dispatch) {
    push_string(L, "external hook");
  } else {
    get_field(L, REGISTRYINDEX, HOOKKEY);
    check_thread_stack(L, L1, 1);
    push_thread(L1);
    xmove(L1, L, 1);
    raw_get(L, -2);
    remove(L, -2);
  }
  unmake_mask(mask, buff);
  push_string(L, buff);
  push_integer(L, get_hook_count(L1));
  return 3;
}

// A minimal interactive prompt: runs each line read from stdin until "cont".
int db_debug(State* L) {
  for (;;) {
    char buffer[250];
    std::fputs("lua_debug> ", stderr);
    std::fflush(stderr);
    if (std::fgets(buffer, sizeof buffer, stdin) == nullptr || std::strcmp(buffer, "cont\n") == 0) return 0;
    if (load_bufferx(L, buffer, std::strlen(buffer), "=(debug command)", nullptr) != OK ||
        pcall(L, 0, 0, 0) != OK) {
      std::fprintf(stderr, "%s\n", to_lstring_meta(L, -1, nullptr));
      std::fflush(stderr);
    }
    set_top(L, 0);
  }
}

int db_traceback(State* L) {
  int arg;
  State* L1 = get_thread(L, &arg);
  const char* msg = to_string(L, arg + 1);
  if (msg == nullptr && !is_none_or_nil(L, arg + 1)) {
    push_value(L, arg + 1);  // a non-string message is returned untouched
  } else {
    int level = static_cast<int>(opt_integer(L, arg + 2, L == L1 ? 1 : 0));
    traceback(L, L1, msg, level);
  }
  return 1;
}

int db_setcstacklimit(State* L) {
  check_integer(L, 1);
  push_integer(L, CSTACK_LIMIT);
  return 1;
}

const Reg debug_funcs[] = {
  {"debug", db_debug},
  {"getuservalue", db_getuservalue},
  {"gethook", db_gethook},
  {"getinfo", db_getinfo},
  {"getlocal", db_getlocal},
  {"getregistry", db_getregistry},
  {"getmetatable", db_getmetatable},
  {"getupvalue", db_getupvalue},
  {"upvaluejoin", db_upvaluejoin},
  {"upvalueid", db_upvalueid},
  {"setuservalue", db_setuservalue},
  {"sethook", db_sethook},
  {"setlocal", db_setlocal},
  {"setmetatable", db_setmetatable},
  {"setupvalue", db_setupvalue},
  {"traceback", db_traceback},
  {"setcstacklimit", db_setcstacklimit},
  {nullptr, nullptr},
};

}  // namespace

int open_debug(State* L) {
  new_lib(L, debug_funcs);
  return 1;
}

}  // namespace luna
