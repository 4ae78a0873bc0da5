// The stack API: how native (C++) functions and hosts talk to a luna state.
// Semantics follow the Lua 5.4 C API (manual section 4 and 5): every function
// here behaves like its lua_* / luaL_* counterpart named in the comment, with
// the same stack discipline, index rules and error behaviour. Errors are
// raised as C++ exceptions of an internal type; never catch them with
// catch(...) in native code (use pcall), and never let them escape a host
// without a protected call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdarg>
#include <string>

#include "luna/version.hpp"

namespace luna {

struct State;  // one Lua thread (coroutine); opaque to hosts

using Integer = int64_t;
using Unsigned = uint64_t;
using Number = double;
using NativeFn = int (*)(State* L);
// Continuations (lua_KContext / lua_KFunction): where a native function goes
// on after a yield inside call_k / pcall_k / yield_k, or after pcall_k
// caught an error in a coroutine.
using KContext = intptr_t;
using KFunction = int (*)(State* L, int status, KContext ctx);
// Reader for load(): returns a block of bytes and its size (0 size = end).
using Reader = const char* (*)(State* L, void* ud, size_t* size);
// Writer for dump(): returns 0 on success.
using Writer = int (*)(State* L, const void* p, size_t sz, void* ud);
// Allocator hook (lua_Alloc): nsize 0 frees; returning nullptr on nsize>0 is
// an out-of-memory condition that becomes a Lua memory error.
using Allocator = void* (*)(void* ud, void* ptr, size_t osize, size_t nsize);
using WarnFn = void (*)(void* ud, const char* msg, int tocont);

// Basic types (lua_type results).
enum : int {
  TNONE = -1, TNIL = 0, TBOOLEAN, TLIGHTUSERDATA, TNUMBER, TSTRING, TTABLE,
  TFUNCTION, TUSERDATA, TTHREAD, NUMTYPES
};

// Thread status / call results.
enum : int { OK = 0, YIELD = 1, ERRRUN = 2, ERRSYNTAX = 3, ERRMEM = 4, ERRERR = 5, ERRFILE = 6 };

constexpr int MULTRET = -1;
constexpr int MINSTACK = 20;
constexpr int MAXSTACK = 1000000;
constexpr int REGISTRYINDEX = -MAXSTACK - 1000;
constexpr int upvalue_index(int i) { return REGISTRYINDEX - i; }
// Registry slots.
constexpr Integer RIDX_MAINTHREAD = 1;
constexpr Integer RIDX_GLOBALS = 2;
constexpr const char* LOADED_TABLE = "_LOADED";
constexpr const char* PRELOAD_TABLE = "_PRELOAD";
constexpr int NOREF = -2;
constexpr int REFNIL = -1;

// arith() operators (lua_arith).
enum : int { OPADD = 0, OPSUB, OPMUL, OPMOD, OPPOW, OPDIV, OPIDIV, OPBAND, OPBOR, OPBXOR, OPSHL, OPSHR, OPUNM, OPBNOT };
// compare() operators.
enum : int { OPEQ = 0, OPLT = 1, OPLE = 2 };

// Hook events and masks (debug.sethook).
enum : int { HOOKCALL = 0, HOOKRET = 1, HOOKLINE = 2, HOOKCOUNT = 3, HOOKTAILCALL = 4 };
constexpr int MASKCALL = 1 << HOOKCALL, MASKRET = 1 << HOOKRET, MASKLINE = 1 << HOOKLINE, MASKCOUNT = 1 << HOOKCOUNT;

constexpr int IDSIZE = 60;  // size of DebugInfo::short_src

// lua_Debug.
struct CallInfo;
struct DebugInfo {
  int event = 0;
  const char* name = nullptr;      // (n)
  const char* namewhat = nullptr;  // (n) "global", "local", "method", "field", "upvalue", "" ...
  const char* what = nullptr;      // (S) "Lua", "C", "main"
  const char* source = nullptr;    // (S)
  size_t srclen = 0;               // (S)
  int currentline = -1;            // (l)
  int linedefined = -1;            // (S)
  int lastlinedefined = -1;        // (S)
  unsigned char nups = 0;          // (u)
  unsigned char nparams = 0;       // (u)
  bool isvararg = false;           // (u)
  bool istailcall = false;         // (t)
  unsigned short ftransfer = 0;    // (r)
  unsigned short ntransfer = 0;    // (r)
  char short_src[IDSIZE] = {};     // (S)
  CallInfo* i_ci = nullptr;        // private: active function
};
using Hook = void (*)(State* L, DebugInfo* ar);

// ---- state manipulation (lua_newstate, lua_close, ...) ----
State* new_state(Allocator f = nullptr, void* ud = nullptr);  // nullptr: default realloc/free allocator
void close_state(State* L);
// The Lua version a state speaks (default_version unless set). Set it on a
// fresh state, before opening libraries or loading chunks: both read it.
// Returns false, changing nothing, for a value that is not a LuaVersion.
bool set_version(State* L, LuaVersion v);
LuaVersion get_version(State* L);
State* new_thread(State* L);            // lua_newthread
int close_thread(State* L, State* from);  // lua_closethread
// 5.5: closes the running coroutine L (not the main one) from inside: does
// not return; the resume that runs L returns instead.
[[noreturn]] void close_running_thread(State* L);
void set_warnf(State* L, WarnFn f, void* ud);
void warning(State* L, const char* msg, int tocont);
// Memory cap for the whole state (0 = none): an allocation past it fails
// like an allocator returning nullptr.
void set_memory_limit(State* L, size_t bytes);
// Instruction budget for the whole state (0 = none): once the VM has run
// about that many more instructions (function entries, loop iterations,
// calls, and library work in proportion to its size) it raises
// "instruction budget exhausted", and keeps raising it at every further
// step, caught or not, until the budget is set again.
void set_instruction_budget(State* L, uint64_t instructions);
// Wall-clock limit from now (0 = none): past it, the VM raises "time limit
// exceeded" from Lua code, long library work and the compiler, and keeps
// raising it until the time budget is set again. The clock is read every
// few thousand instructions, so the error comes a little late.
void set_time_budget(State* L, uint64_t milliseconds);
// Charges n units of work done inside a native function (bytes produced or
// scanned, elements moved) against the budget, when one is set; raises
// like the VM does once it is spent.
void charge_instruction_budget(State* L, uint64_t n);
// Bytes copied or scanned per unit the libraries charge (about what one
// VM instruction costs).
constexpr uint64_t BUDGET_BYTES_PER_UNIT = 32;
inline void charge_bytes(State* L, uint64_t bytes) { charge_instruction_budget(L, bytes / BUDGET_BYTES_PER_UNIT); }

// ---- basic stack manipulation ----
int abs_index(State* L, int idx);
int get_top(State* L);
void set_top(State* L, int idx);     // may close to-be-closed slots (lua_settop)
void push_value(State* L, int idx);
void rotate(State* L, int idx, int n);
void copy(State* L, int fromidx, int toidx);
bool check_stack(State* L, int n);   // lua_checkstack
void xmove(State* from, State* to, int n);
inline void pop(State* L, int n) { set_top(L, -(n)-1); }
inline void insert(State* L, int idx) { rotate(L, idx, 1); }
inline void remove(State* L, int idx) { rotate(L, idx, -1); pop(L, 1); }
inline void replace(State* L, int idx) { copy(L, -1, idx); pop(L, 1); }

// ---- access (stack -> C) ----
bool is_number(State* L, int idx);       // number or convertible string
bool is_string(State* L, int idx);       // string or number
bool is_native_function(State* L, int idx);
bool is_integer(State* L, int idx);      // integer subtype only
bool is_userdata(State* L, int idx);     // full or light
int type(State* L, int idx);
const char* type_name(State* L, int tp);
Number to_numberx(State* L, int idx, bool* isnum = nullptr);
Integer to_integerx(State* L, int idx, bool* isnum = nullptr);
bool to_boolean(State* L, int idx);
const char* to_lstring(State* L, int idx, size_t* len);  // converts numbers in place
size_t raw_len(State* L, int idx);
NativeFn to_native_function(State* L, int idx);
void* to_userdata(State* L, int idx);
State* to_thread(State* L, int idx);
const void* to_pointer(State* L, int idx);
inline bool is_function(State* L, int n) { return type(L, n) == TFUNCTION; }
inline bool is_table(State* L, int n) { return type(L, n) == TTABLE; }
inline bool is_light_userdata(State* L, int n) { return type(L, n) == TLIGHTUSERDATA; }
inline bool is_nil(State* L, int n) { return type(L, n) == TNIL; }
inline bool is_boolean(State* L, int n) { return type(L, n) == TBOOLEAN; }
inline bool is_thread(State* L, int n) { return type(L, n) == TTHREAD; }
inline bool is_none(State* L, int n) { return type(L, n) == TNONE; }
inline bool is_none_or_nil(State* L, int n) { return type(L, n) <= 0; }
inline const char* to_string(State* L, int i) { return to_lstring(L, i, nullptr); }

// ---- comparison and arithmetic ----
void arith(State* L, int op);
bool raw_equal(State* L, int idx1, int idx2);
bool compare(State* L, int idx1, int idx2, int op);

// ---- push (C -> stack) ----
void push_nil(State* L);
void push_number(State* L, Number n);
void push_integer(State* L, Integer n);
const char* push_lstring(State* L, const char* s, size_t len);
const char* push_string(State* L, const char* s);  // nullptr pushes nil
// Formats like lua_pushfstring: %% %s %f %I %p %d %c %U only.
const char* push_vfstring(State* L, const char* fmt, va_list argp);
const char* push_fstring(State* L, const char* fmt, ...);
void push_native_closure(State* L, NativeFn fn, int n);
inline void push_native_function(State* L, NativeFn fn) { push_native_closure(L, fn, 0); }
void push_boolean(State* L, bool b);
void push_light_userdata(State* L, void* p);
bool push_thread(State* L);  // true if L is the main thread

// ---- get (Lua -> stack); return the type of the pushed value ----
int get_global(State* L, const char* name);
int get_table(State* L, int idx);
int get_field(State* L, int idx, const char* k);
int get_i(State* L, int idx, Integer n);
int raw_get(State* L, int idx);
int raw_get_i(State* L, int idx, Integer n);
int raw_get_p(State* L, int idx, const void* p);
void create_table(State* L, int narr, int nrec);
inline void new_table(State* L) { create_table(L, 0, 0); }
void* new_userdata(State* L, size_t sz, int nuvalue = 1);
bool get_metatable(State* L, int objindex);  // pushes nothing when false
int get_iuservalue(State* L, int idx, int n);  // pushes nil and returns TNONE if absent

// ---- set (stack -> Lua) ----
void set_global(State* L, const char* name);
void set_table(State* L, int idx);
void set_field(State* L, int idx, const char* k);
void set_i(State* L, int idx, Integer n);
void raw_set(State* L, int idx);
void raw_set_i(State* L, int idx, Integer n);
void raw_set_p(State* L, int idx, const void* p);
void set_metatable(State* L, int objindex);   // pops table or nil
bool set_iuservalue(State* L, int idx, int n);

// ---- load and call ----
// call/pcall from native code are not yieldable (a yield inside raises
// "attempt to yield across a C-call boundary"). call_k/pcall_k with a
// continuation k are: a yield inside discards this native frame's C++
// frames (it must own nothing with a destructor across the call), and on
// resume k(L, YIELD, ctx) runs in its place with the call's results on the
// stack; pcall_k also calls k(L, status, ctx) when it caught an error after
// a yield. See docs/architecture.md, "Coroutines".
void call(State* L, int nargs, int nresults);
int pcall(State* L, int nargs, int nresults, int msgh);
void call_k(State* L, int nargs, int nresults, KContext ctx, KFunction k);
int pcall_k(State* L, int nargs, int nresults, int msgh, KContext ctx, KFunction k);
// lua_load: chunkname like "@file" / "=stdin" / source text; mode "b", "t", "bt" or nullptr.
int load(State* L, Reader reader, void* data, const char* chunkname, const char* mode);
int dump(State* L, Writer writer, void* data, bool strip);

// ---- coroutines ----
int resume(State* L, State* from, int narg, int* nres);
int status(State* L);
bool is_yieldable(State* L);
// Called by a native function as `return yield(L, n);`: suspends the
// coroutine (this native's C++ frames are discarded). When resumed, the
// values passed to resume are the native's results; with yield_k, k(L,
// YIELD, ctx) runs first and returns the number of results instead.
// A line or count hook may call yield(L, 0) (no values, no continuation)
// and then return: the coroutine stops before the hooked instruction,
// which runs, without its hooks again, when the coroutine is resumed (the
// values passed to that resume are dropped).
int yield(State* L, int nresults);
int yield_k(State* L, int nresults, KContext ctx, KFunction k);

// ---- garbage collection (lua_gc) ----
enum : int { GCSTOP = 0, GCRESTART, GCCOLLECT, GCCOUNT, GCCOUNTB, GCSTEP, GCSETPAUSE, GCSETSTEPMUL, GCISRUNNING = 9, GCGEN = 10, GCINC = 11 };
int gc(State* L, int what, int a = 0, int b = 0, int c = 0);

// ---- miscellaneous ----
[[noreturn]] void error(State* L);  // error value on top
// Only inside a catch handler: whether the exception being handled is a Lua
// error, which native code catching everything must rethrow untouched.
bool handling_lua_error() noexcept;
bool next(State* L, int idx);
void concat(State* L, int n);
void len(State* L, int idx);
size_t string_to_number(State* L, const char* s);  // pushes the number; returns size+1 or 0
void to_close(State* L, int idx);
void close_slot(State* L, int idx);

// ---- debug API ----
bool get_stack(State* L, int level, DebugInfo* ar);
bool get_info(State* L, const char* what, DebugInfo* ar);
// 5.5's extraargs: the arguments __call metavalues added to the active
// function of ar (from get_stack), one per metavalue; DebugInfo keeps 5.4's layout.
int get_extra_args(const DebugInfo* ar);
const char* get_local(State* L, const DebugInfo* ar, int n);
const char* set_local(State* L, const DebugInfo* ar, int n);
const char* get_upvalue(State* L, int funcindex, int n);
const char* set_upvalue(State* L, int funcindex, int n);
void* upvalue_id(State* L, int fidx, int n);
void upvalue_join(State* L, int fidx1, int n1, int fidx2, int n2);
void set_hook(State* L, Hook func, int mask, int count);
Hook get_hook(State* L);
int get_hook_mask(State* L);
int get_hook_count(State* L);

// ============ auxiliary library (lauxlib) ============
struct Reg { const char* name; NativeFn func; };

int get_metafield(State* L, int obj, const char* e);  // returns type pushed, or TNIL (nothing pushed)
bool call_meta(State* L, int obj, const char* e);
const char* to_lstring_meta(State* L, int idx, size_t* len);  // luaL_tolstring (pushes result)
[[noreturn]] void arg_error(State* L, int arg, const char* extramsg);
[[noreturn]] void type_error(State* L, int arg, const char* tname);
const char* check_lstring(State* L, int arg, size_t* l = nullptr);
const char* opt_lstring(State* L, int arg, const char* def, size_t* l = nullptr);
Number check_number(State* L, int arg);
Number opt_number(State* L, int arg, Number def);
Integer check_integer(State* L, int arg);
Integer opt_integer(State* L, int arg, Integer def);
inline const char* check_string(State* L, int a) { return check_lstring(L, a, nullptr); }
inline const char* opt_string(State* L, int a, const char* d) { return opt_lstring(L, a, d, nullptr); }
void check_stack_or_error(State* L, int sz, const char* msg);  // luaL_checkstack
void check_type(State* L, int arg, int t);
void check_any(State* L, int arg);
bool new_metatable(State* L, const char* tname);
void set_metatable_named(State* L, const char* tname);  // luaL_setmetatable
void* test_udata(State* L, int ud, const char* tname);
void* check_udata(State* L, int ud, const char* tname);
inline int get_metatable_named(State* L, const char* n) { return get_field(L, REGISTRYINDEX, n); }
void where(State* L, int lvl);
[[noreturn]] void error_f(State* L, const char* fmt, ...);  // luaL_error: adds position
int check_option(State* L, int arg, const char* def, const char* const lst[]);
int file_result(State* L, int stat, const char* fname);
int exec_result(State* L, int stat);
int ref(State* L, int t);
void unref(State* L, int t, int ref);
int load_filex(State* L, const char* filename, const char* mode);
inline int load_file(State* L, const char* f) { return load_filex(L, f, nullptr); }
int load_bufferx(State* L, const char* buff, size_t sz, const char* name, const char* mode);
int load_string(State* L, const char* s);
Integer len_i(State* L, int idx);  // luaL_len
const char* gsub(State* L, const char* s, const char* p, const char* r);  // luaL_gsub
void set_funcs(State* L, const Reg* l, int nup);  // entries with nullptr func set false
bool get_subtable(State* L, int idx, const char* fname);
void traceback(State* L, State* L1, const char* msg, int level);
void requiref(State* L, const char* modname, NativeFn openf, bool glb);
void new_lib(State* L, const Reg* l);  // creates table and sets functions
inline void arg_check(State* L, bool cond, int arg, const char* msg) { if (!cond) arg_error(L, arg, msg); }
inline void arg_expected(State* L, bool cond, int arg, const char* tname) { if (!cond) type_error(L, arg, tname); }
inline const char* typename_at(State* L, int i) { return type_name(L, type(L, i)); }
inline void push_fail(State* L) { push_nil(L); }
void check_version(State* L);

// String buffer on the stack (luaL_Buffer). While a Buffer is in use, it
// owns one stack slot above what the user pushed when it was created; keep
// the stack balanced between buffer operations, as in Lua.
class Buffer {
 public:
  explicit Buffer(State* L);  // luaL_buffinit
  char* prepare(size_t sz);    // luaL_prepbuffsize
  void add_size(size_t n) { n_ += n; }
  void add_char(char c) { if (n_ >= size_) prepare(1); b_[n_++] = c; }
  void add(const char* s, size_t l);
  void add(const char* s);
  void add_value();          // pops the top value and adds it
  void push_result();        // pushes the resulting string, removing the box
  size_t length() const { return n_; }
  char* data() { return b_; }
  void shrink(size_t n) { n_ -= n; }
  State* state() const { return L_; }

 private:
  State* L_;
  char* b_;
  size_t size_;
  size_t n_;
  char init_[256];
};

// Standard library openers (each pushes its module table).
int open_base(State* L);
int open_package(State* L);
int open_coroutine(State* L);
int open_table(State* L);
int open_io(State* L);
int open_os(State* L);
int open_string(State* L);
int open_utf8(State* L);
int open_math(State* L);
int open_debug(State* L);
int open_jit(State* L);  // jit.on/off/flush/status (docs/jit.md)
void open_libs(State* L);  // all of them, as luaL_openlibs

constexpr const char* VERSION = "Lua 5.4";
constexpr const char* RELEASE = "Lua 5.4.8";
constexpr const char* COPYRIGHT = "luna 0.1 (Lua 5.4 language)";

}  // namespace luna
