// The base library (Lua 5.4's lbaselib): the global functions.
#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <cstring>

#include "luna/api.hpp"
#include "../dialect.hpp"
#include "../builtin.hpp"
#include "../state.hpp"

namespace luna {

namespace {

// 5.3's print converts through the global tostring, whatever it is now.
const char* print_piece_53(State* L, int i, size_t* l) {
  get_global(L, "tostring");
  push_value(L, i);
  call(L, 1, 1);
  const char* s = to_lstring(L, -1, l);
  if (s == nullptr) error_f(L, "'tostring' must return a string to 'print'");
  return s;
}

int b_print(State* L) {
  int n = get_top(L);
  const bool via_global = dialect_of(get_version(L)).lib_53;
  for (int i = 1; i <= n; i++) {
    size_t l;
    const char* s = via_global ? print_piece_53(L, i, &l) : to_lstring_meta(L, i, &l);
    if (i > 1) std::fwrite("\t", 1, 1, stdout);
    std::fwrite(s, 1, l, stdout);
    pop(L, 1);
  }
  std::fwrite("\n", 1, 1, stdout);
  std::fflush(stdout);
  return 0;
}

int b_warn(State* L) {
  int n = get_top(L);
  check_string(L, 1);  // at least one piece
  for (int i = 2; i <= n; i++) check_string(L, i);
  for (int i = 1; i < n; i++) warning(L, to_string(L, i), 1);
  warning(L, to_string(L, n), 0);
  return 0;
}

// Digits of `s` in `base` (2..36) with optional sign and surrounding spaces;
// returns the end of the numeral, or nullptr if there is none.
const char* str_to_int(const char* s, int base, Integer* pn) {
  Unsigned n = 0;
  bool neg = false;
  s += std::strspn(s, " \f\n\r\t\v");
  if (*s == '-') {
    s++;
    neg = true;
  } else if (*s == '+') {
    s++;
  }
  if (!std::isalnum(static_cast<unsigned char>(*s))) return nullptr;
  do {
    unsigned char c = static_cast<unsigned char>(*s);
    int digit = std::isdigit(c) ? c - '0' : (std::toupper(c) - 'A') + 10;
    if (digit >= base) return nullptr;
    n = n * static_cast<Unsigned>(base) + static_cast<Unsigned>(digit);  // wraps around
    s++;
  } while (std::isalnum(static_cast<unsigned char>(*s)));
  s += std::strspn(s, " \f\n\r\t\v");
  *pn = static_cast<Integer>(neg ? 0u - n : n);
  return s;
}

int b_tonumber(State* L) {
  // A string alone (json's numbers) is converted from its bytes and the
  // result stored in place: no type, to_lstring, strlen or push calls
  // (~80 of ~220 instructions a call). An embedded zero fails as below.
  const TValue* arg = L->ci->func + 1;
  if (L->top == arg + 1 && arg->is_string()) {
    const String* str = arg->as_string();
    TValue v;
    if (str_to_number(str->data, str->len, &v) == str->len + 1) {
      *L->top++ = v;
      return 1;
    }
    push_fail(L);
    return 1;
  }
  if (is_none_or_nil(L, 2)) {  // standard conversion
    if (type(L, 1) == TNUMBER) {
      set_top(L, 1);
      return 1;
    }
    size_t l;
    const char* s = to_lstring(L, 1, &l);
    if (s != nullptr && string_to_number(L, s) == l + 1) return 1;
    check_any(L, 1);
  } else {
    Integer base = check_integer(L, 2);
    check_type(L, 1, TSTRING);  // numbers are not converted with a base
    size_t l;
    const char* s = to_lstring(L, 1, &l);
    arg_check(L, 2 <= base && base <= 36, 2, "base out of range");
    Integer n = 0;
    if (str_to_int(s, static_cast<int>(base), &n) == s + l) {
      push_integer(L, n);
      return 1;
    }
  }
  push_fail(L);
  return 1;
}

int b_error(State* L) {
  mark_frame_nounwind(L);  // errors as control flow: a cheap jump to the pcall
  // error(msg), the usual call, reads its frame directly.
  Integer level = 1;
  if (L->top - L->ci->func != 2) {
    level = opt_integer(L, 2, 1);
    set_top(L, 1);
  }
  const TValue& msg = L->top[-1];
  if (msg.is_nil() && dialect_of(get_version(L)).lib_55) {  // 5.5 raises no nil
    pop(L, 1);
    push_string(L, "<no error object>");
    error(L);
  }
  if (msg.is_string() && level > 0) add_where(L, static_cast<int>(level));
  // error(L) without its two calls when there is no message handler: the
  // raise itself, unless the message is the memory error's (ERRMEM).
  if (L->errfunc == 0 && !(msg.is_string() && msg.as_string() == L->g->memerrmsg)) throw_status(L, ERRRUN);
  error(L);
}

int b_getmetatable(State* L) {
  check_any(L, 1);
  if (!get_metatable(L, 1)) {
    push_nil(L);
    return 1;
  }
  get_metafield(L, 1, "__metatable");
  return 1;  // the __metatable field if present, else the metatable
}

int b_setmetatable(State* L) {
  int t = type(L, 2);
  check_type(L, 1, TTABLE);
  arg_expected(L, t == TNIL || t == TTABLE, 2, "nil or table");
  if (get_metafield(L, 1, "__metatable") != TNIL) error_f(L, "cannot change a protected metatable");
  set_top(L, 2);
  set_metatable(L, 1);
  return 1;
}

int b_rawequal(State* L) {
  check_any(L, 1);
  check_any(L, 2);
  push_boolean(L, raw_equal(L, 1, 2));
  return 1;
}

int b_rawlen(State* L) {
  int t = type(L, 1);
  arg_expected(L, t == TTABLE || t == TSTRING, 1, "table or string");
  push_integer(L, static_cast<Integer>(raw_len(L, 1)));
  return 1;
}

int b_rawget(State* L) {
  check_type(L, 1, TTABLE);
  check_any(L, 2);
  set_top(L, 2);
  raw_get(L, 1);
  return 1;
}

int b_rawset(State* L) {
  check_type(L, 1, TTABLE);
  check_any(L, 2);
  check_any(L, 3);
  set_top(L, 3);
  raw_set(L, 1);
  return 1;
}

int push_mode(State* L, int oldmode) {
  if (oldmode == -1) push_fail(L);
  else push_string(L, oldmode == GCINC ? "incremental" : "generational");
  return 1;
}

// 5.5's collectgarbage("param", name [, value]): the previous value of a
// collector parameter, set to value when given. pause and stepmul go
// through the API (their stored form is compressed, as in 5.4); the others
// are luna's own fields. 5.5's minor-major multiplier has no counterpart in
// luna's generational collector and is refused.
int gc_param_55(State* L) {
  static const char* const names[] = {"pause", "stepmul", "stepsize", "minormul", "majorminor", nullptr};
  int which = check_option(L, 2, nullptr, names);
  bool set = !is_none_or_nil(L, 3);
  // The manual asks for [0, 100000]; larger values saturate as in the
  // collector's compressed form rather than fail.
  Integer v = std::clamp<Integer>(opt_integer(L, 3, 0), 0, INT_MAX);
  GlobalState* g = L->g;
  int previous;
  if (which < 2) {
    int what = which == 0 ? GCSETPAUSE : GCSETSTEPMUL;
    previous = gc(L, what, static_cast<int>(v));
    if (previous == -1) return push_fail(L), 1;
    if (!set) gc(L, what, previous);
  } else {
    int* field = which == 2 ? &g->gcstepsize : which == 3 ? &g->genminormul : &g->genmajormul;
    previous = *field;
    if (set) *field = static_cast<int>(v);
  }
  push_integer(L, previous);
  return 1;
}

int b_collectgarbage(State* L) {
  if (dialect_of(get_version(L)).lib_55) {
    // 5.5 drops setpause and setstepmul for "param"; the mode switches
    // take no parameters.
    static const char* const opts55[] = {"stop", "restart", "collect", "count", "step",
                                         "isrunning", "generational", "incremental", "param", nullptr};
    int o = check_option(L, 1, "collect", opts55);
    if (o == 8) return gc_param_55(L);
    if (o >= 6) {
      set_top(L, 1);
      return push_mode(L, gc(L, o == 6 ? GCGEN : GCINC, 0, 0, 0));
    }
  }
  static const char* const opts[] = {"stop", "restart", "collect", "count", "step", "setpause", "setstepmul",
                                     "isrunning", "generational", "incremental", nullptr};
  static const int optsnum[] = {GCSTOP, GCRESTART, GCCOLLECT, GCCOUNT, GCSTEP, GCSETPAUSE, GCSETSTEPMUL,
                                GCISRUNNING, GCGEN, GCINC};
  // 5.3's options are the first eight: it has no generational mode.
  static const char* const opts53[] = {"stop", "restart", "collect", "count", "step", "setpause", "setstepmul",
                                       "isrunning", nullptr};
  int o = optsnum[check_option(L, 1, "collect", dialect_of(get_version(L)).gen_gc ? opts : opts53)];
  switch (o) {
    case GCCOUNT: {
      int k = gc(L, o);
      int b = gc(L, GCCOUNTB);
      if (k == -1) break;
      push_number(L, static_cast<Number>(k) + static_cast<Number>(b) / 1024);
      return 1;
    }
    case GCSTEP: {
      int step = static_cast<int>(opt_integer(L, 2, 0));
      int res = gc(L, o, step);
      if (res == -1) break;
      push_boolean(L, res != 0);
      return 1;
    }
    case GCSETPAUSE:
    case GCSETSTEPMUL: {
      int p = static_cast<int>(opt_integer(L, 2, 0));
      int previous = gc(L, o, p);
      if (previous == -1) break;
      push_integer(L, previous);
      return 1;
    }
    case GCISRUNNING: {
      int res = gc(L, o);
      if (res == -1) break;
      push_boolean(L, res != 0);
      return 1;
    }
    case GCGEN: {
      int minormul = static_cast<int>(opt_integer(L, 2, 0));
      int majormul = static_cast<int>(opt_integer(L, 3, 0));
      return push_mode(L, gc(L, o, minormul, majormul));
    }
    case GCINC: {
      int pause = static_cast<int>(opt_integer(L, 2, 0));
      int stepmul = static_cast<int>(opt_integer(L, 3, 0));
      int stepsize = static_cast<int>(opt_integer(L, 4, 0));
      return push_mode(L, gc(L, o, pause, stepmul, stepsize));
    }
    default: {
      int res = gc(L, o);
      if (res == -1) break;
      push_integer(L, res);
      return 1;
    }
  }
  push_fail(L);  // the collector is busy (called from a finalizer)
  return 1;
}

}  // namespace

// Also run inline by the dispatcher (fastcall.cpp).
int lib_type(State* L) {
  int t = type(L, 1);
  arg_check(L, t != TNONE, 1, "value expected");
  push_string(L, type_name(L, t));
  return 1;
}

namespace {

int b_next(State* L) {
  // A table and at most a key (every generic for over pairs): the key and
  // value written in place of the key and above it (a native frame has
  // MINSTACK free slots), without the argument and stack functions.
  if (TValue* t = L->ci->func + 1; L->top - t >= 1 && L->top - t <= 2 && t->is_table()) {
    if (L->top - t == 1) t[1] = TValue::nil();
    if (table_next(L, t->as_table(), t + 1)) {
      L->top = t + 3;
      return 2;
    }
    t[1] = TValue::nil();
    L->top = t + 2;
    return 1;
  }
  check_type(L, 1, TTABLE);
  set_top(L, 2);  // nil as the key when absent
  if (next(L, 1)) return 2;
  push_nil(L);
  return 1;
}

int pairs_cont(State*, int, KContext nres) { return static_cast<int>(nres); }

int b_pairs(State* L) {
  check_any(L, 1);
  if (get_metafield(L, 1, "__pairs") == TNIL) {
    push_native_function(L, b_next);
    push_value(L, 1);
    push_nil(L);
    return 3;
  }
  // 5.5 keeps a fourth result of __pairs: the loop's closing value
  const int nres = dialect_of(get_version(L)).lib_55 ? 4 : 3;
  push_value(L, 1);
  call_k(L, 1, nres, nres, pairs_cont);
  return nres;
}

}  // namespace

// Also run inline by the dispatcher (fastcall.cpp).
int lib_ipairs_aux(State* L) {
  Integer i = check_integer(L, 2);
  i = static_cast<Integer>(static_cast<Unsigned>(i) + 1u);
  push_integer(L, i);
  return get_i(L, 1, i) == TNIL ? 1 : 2;
}

namespace {

}  // namespace

// Also run inline by the dispatcher (fastcall.cpp).
int lib_ipairs(State* L) {
  check_any(L, 1);
  push_native_function(L, lib_ipairs_aux);
  push_value(L, 1);
  push_integer(L, 0);
  return 3;
}

namespace {

// Result of load/loadfile: the function (with `env` as its first upvalue
// when given), or fail plus the message.
int load_aux(State* L, int status, int envidx) {
  if (status == OK) {
    if (envidx != 0) {
      push_value(L, envidx);
      if (!set_upvalue(L, -2, 1)) pop(L, 1);
    }
    return 1;
  }
  push_fail(L);
  insert(L, -2);
  return 2;
}

// 5.5's mode letter 'B' (a fixed buffer) is for the C API only.
const char* opt_load_mode(State* L, int arg, const char* dflt) {
  const char* mode = opt_string(L, arg, dflt);
  if (mode != nullptr && std::strchr(mode, 'B') != nullptr && dialect_of(get_version(L)).lib_55)
    arg_error(L, arg, "invalid mode");
  return mode;
}

int b_loadfile(State* L) {
  const char* fname = opt_string(L, 1, nullptr);
  const char* mode = opt_load_mode(L, 2, nullptr);
  int env = !is_none(L, 3) ? 3 : 0;
  int status = load_filex(L, fname, mode);
  return load_aux(L, status, env);
}

// Slot where the reader keeps the last piece alive while the parser uses it.
constexpr int RESERVED_SLOT = 5;

const char* generic_reader(State* L, void*, size_t* size) {
  check_stack_or_error(L, 2, "too many nested functions");
  push_value(L, 1);
  call(L, 0, 1);
  if (is_nil(L, -1)) {
    pop(L, 1);
    *size = 0;
    return nullptr;
  }
  if (!is_string(L, -1)) error_f(L, "reader function must return a string");
  replace(L, RESERVED_SLOT);
  return to_lstring(L, RESERVED_SLOT, size);
}

int b_load(State* L) {
  size_t l;
  const char* s = to_lstring(L, 1, &l);
  const char* mode = opt_load_mode(L, 3, "bt");
  int env = !is_none(L, 4) ? 4 : 0;
  int status;
  if (s != nullptr) {
    const char* chunkname = opt_string(L, 2, s);
    status = load_bufferx(L, s, l, chunkname, mode);
  } else {
    const char* chunkname = opt_string(L, 2, "=(load)");
    check_type(L, 1, TFUNCTION);
    set_top(L, RESERVED_SLOT);
    status = load(L, generic_reader, nullptr, chunkname, mode);
  }
  return load_aux(L, status, env);
}

int dofile_cont(State* L, int, KContext) { return get_top(L) - 1; }

int b_dofile(State* L) {
  const char* fname = opt_string(L, 1, nullptr);
  set_top(L, 1);
  if (load_file(L, fname) != OK) error(L);
  call_k(L, 0, MULTRET, 0, dofile_cont);
  return dofile_cont(L, 0, 0);
}

int b_assert(State* L) {
  if (to_boolean(L, 1)) return get_top(L);  // all arguments are the results
  check_any(L, 1);
  remove(L, 1);
  push_string(L, "assertion failed!");
  set_top(L, 1);  // the message given, or the default one
  return b_error(L);
}

}  // namespace

// Also run inline by the dispatcher (fastcall.cpp).
int lib_select(State* L) {
  int n = get_top(L);
  if (type(L, 1) == TSTRING && *to_string(L, 1) == '#') {
    push_integer(L, n - 1);
    return 1;
  }
  Integer i = check_integer(L, 1);
  if (i < 0) i = n + i;
  else if (i > n) i = n;
  arg_check(L, 1 <= i, 1, "index out of range");
  return n - static_cast<int>(i);
}

namespace {

// Results of pcall/xpcall: true plus results, or false plus the error.
// Also their continuation (extra is the context) after a yield or an
// error caught in a coroutine.
int finish_pcall(State* L, int status, KContext extra) {
  if (status != OK && status != YIELD) {  // false and the error object
    ensure_stack(L, 2);
    L->top[0] = TValue::boolean(false);
    L->top[1] = L->top[-1];
    L->top += 2;
    return 2;
  }
  return get_top(L) - static_cast<int>(extra);
}

}  // namespace

// Both own nothing across the call: errors may jump over their frames.
int lib_pcall(State* L) {
  mark_frame_nounwind(L);
  if (L->top == L->ci->func + 1) check_any(L, 1);  // raises
  // true goes below the function and its arguments (insert's work without
  // the API's three reversals)
  ensure_stack(L, 1);
  TValue* first = L->ci->func + 1;
  for (TValue* p = L->top; p > first; p--) *p = p[-1];
  *first = TValue::boolean(true);
  L->top++;
  if (L->nny > 0) {
    int status = pcall_noyield(L, first + 1);
    if (status != OK) {
      // false in place of true, the error object above it (at the function's slot)
      L->ci->func[1] = TValue::boolean(false);
      return 2;
    }
    if (L->ci->top < L->top) L->ci->top = L->top;  // as pcall_k's MULTRET results
    return get_top(L);
  }
  int status = pcall_k(L, static_cast<int>(L->top - first) - 2, MULTRET, 0, 0, finish_pcall);
  return finish_pcall(L, status, 0);
}

namespace {

int b_xpcall(State* L) {
  mark_frame_nounwind(L);
  int n = get_top(L);
  check_type(L, 2, TFUNCTION);
  push_boolean(L, true);
  push_value(L, 1);
  rotate(L, 3, 2);  // true and the function go below the arguments
  int status = pcall_k(L, n - 2, MULTRET, 2, 2, finish_pcall);
  return finish_pcall(L, status, 2);
}

int b_tostring(State* L) {
  check_any(L, 1);
  to_lstring_meta(L, 1, nullptr);
  return 1;
}

const Reg base_funcs[] = {
    {"assert", b_assert},
    {"collectgarbage", b_collectgarbage},
    {"dofile", b_dofile},
    {"error", b_error},
    {"getmetatable", b_getmetatable},
    {"ipairs", lib_ipairs},
    {"loadfile", b_loadfile},
    {"load", b_load},
    {"next", b_next},
    {"pairs", b_pairs},
    {"pcall", lib_pcall},
    {"print", b_print},
    {"warn", b_warn},
    {"rawequal", b_rawequal},
    {"rawlen", b_rawlen},
    {"rawget", b_rawget},
    {"rawset", b_rawset},
    {"select", lib_select},
    {"setmetatable", b_setmetatable},
    {"tonumber", b_tonumber},
    {"tostring", b_tostring},
    {"type", lib_type},
    {"xpcall", b_xpcall},
    {"_G", nullptr},
    {"_VERSION", nullptr},
    {nullptr, nullptr},
};

}  // namespace

Builtin base_builtin(NativeFn f) {
  if (f == lib_type) return Builtin::Type;
  if (f == b_tostring) return Builtin::ToString;
  if (f == b_tonumber) return Builtin::ToNumber;
  if (f == b_setmetatable) return Builtin::SetMetatable;
  return Builtin::None;
}

LeafFn base_leaf(NativeFn f) {
  if (f == b_next) return LeafFn::Next;
  if (f == b_pairs) return LeafFn::Pairs;
  if (f == b_tonumber) return LeafFn::ToNumber;
  if (f == b_tostring) return LeafFn::ToString;
  return LeafFn::None;
}

int open_base(State* L) {
  raw_get_i(L, REGISTRYINDEX, RIDX_GLOBALS);
  set_funcs(L, base_funcs, 0);
  push_value(L, -1);
  set_field(L, -2, "_G");
  push_string(L, dialect_of(get_version(L)).name);
  set_field(L, -2, "_VERSION");
  return 1;
}

}  // namespace luna
