// Library functions that the engine recognises by address: the dispatcher
// runs some inline when Lua code calls them (fastcall.cpp), and the trace
// compiler replaces some by their operation. Their libraries define them
// with external linkage (or classify them, math_builtin), so neither the
// dispatcher nor the JIT depends on a library's internals.
#pragma once

#include <cstddef>
#include <cstdint>

#include "luna/api.hpp"

namespace luna {

struct NClosure;
struct String;
struct GlobalState;

int lib_math_abs(State* L);
int lib_math_floor(State* L);
int lib_math_max(State* L);
int lib_string_byte(State* L);
int lib_string_sub(State* L);
int lib_string_format(State* L);
int lib_select(State* L);
int lib_type(State* L);
int lib_ipairs(State* L);
int lib_ipairs_aux(State* L);
int lib_pcall(State* L);
int lib_coroutine_yield(State* L);

enum class Builtin : uint8_t {
  None, MathSqrt, MathAbs, MathFloor, MathCeil, MathMin, MathMax, MathSin, MathCos, MathExp, MathLog, MathFmod,
  StrLen, StrByte, StrChar, StrSub, Type, ToString, ToNumber, TabInsert, TabRemove, SetMetatable,
};

// f as a builtin of the math library the JIT compiles, or Builtin::None
// (lib/math.cpp).
Builtin math_builtin(NativeFn f);
// Likewise for the string library (lib/string.cpp), the table library
// (lib/table.cpp) and the base library (lib/base.cpp).
Builtin string_builtin(NativeFn f);
Builtin table_builtin(NativeFn f);
Builtin base_builtin(NativeFn f);

// Library functions the JIT may call from compiled code without leaving it
// (jit/src/record_native.cpp): given arguments of the types it guards
// (strings, numbers, tables without metatable), they run no Lua code and
// change no table.
enum class LeafFn : uint8_t {
  None, StrFind, StrMatch, StrGsub, StrFormat, StrRep, StrReverse, StrCase, StrByte, StrSub, StrChar, StrLen,
  TabConcat, Next, Pairs, ToNumber, ToString,
  GMatchIter,  // gmatch's iterator: a native closure, recognised by its function
};
LeafFn string_leaf(NativeFn f);

// string.find(s, pattern [, init]) of a pattern that is one
// single-character item ("[^ \n\t]", "%d", "x"; no '^', no quantifier):
// its match is the first byte from init on that the item accepts, the
// item's start and end. A compiled trace searches so in place of the
// call (record_native.cpp), with the item worked out when it is compiled.
struct FindItem {
  uint64_t ascii[2];   // the item's ASCII members
  const char* p;       // the item in the pattern (kept by the trace), for bytes above 127
  const char* ep;
  bool literal;        // one fixed byte (ep[-1]): memchr finds it
};
// Whether pattern pat is such an item; *item then describes it.
bool str_find_item(const String* pat, FindItem* item);
// find's first result for subject s, start init and that item: the
// position found, or 0 for find's nil.
Integer str_find_item_at(const String* s, Integer init, const FindItem* item);
// string.find(s, pattern [, init]) of an anchored pattern of a few
// single-character items, each maybe with a quantifier ("^-?[%d.eE+-]+":
// json's numbers; no capture, '%b', '%f', back reference or final '$'):
// the match starts at init, and a compiled trace finds its end with the
// chain worked out when it is compiled, without the matcher's state.
struct FindChain {
  static constexpr int MAX_ITEMS = 4;
  struct Item {
    uint64_t ascii[2];   // the item's ASCII members
    const char* p;       // the item in the pattern (kept by the trace), for bytes above 127
    const char* ep;
    char quant;          // 0, '?', '*', '+' or '-'
  };
  Item items[MAX_ITEMS];
  int n;
};
// Whether pattern pat is such a chain; *chain then describes it.
bool str_find_chain(const String* pat, FindChain* chain);
// find's second result (the match's end) for subject s, start init >= 1
// and that chain, or -2 for find's nil (no match, init past the end).
Integer str_find_chain_at(const String* s, Integer init, const FindChain* chain);
// gsub(s, pattern, t) wanting its string, of such an item and a table t
// without metatable whose values at the matched bytes are strings or nil
// or false: the result (s itself when nothing matched), or nullptr when
// the library must make it (another value, a result longer than 512
// bytes, a string that cannot be made without a collection). It never
// raises nor collects.
struct Table;
String* str_gsub_item(GlobalState* g, String* s, Table* t, const FindItem* item) noexcept;

// The position of a gmatch iterator (its closure). As in 5.4 the iterator
// moves on before it pushes the captures, which may raise; a trace whose call
// of it raised puts the position back, so the interpreter's call again meets
// the same match and the same error.
struct GMatchPos {
  const char* src;
  const char* lastmatch;
};
GMatchPos gmatch_pos(const NClosure* it);
void gmatch_set_pos(NClosure* it, GMatchPos pos);
LeafFn table_leaf(NativeFn f);
LeafFn base_leaf(NativeFn f);

// Coroutine library functions the JIT calls from compiled code with the
// collector allowed to run (record_native.cpp): resume and wrap's function
// run the coroutine's Lua code; create, wrap, status, running and
// isyieldable run none. yield is not among them: a trace leaves before it.
enum class CoFn : uint8_t { None, Create, Wrap, Resume, WrapCall, Status, Running, IsYieldable };
CoFn coroutine_fn(NativeFn f);

// String positions as the string library takes them, shared with the inline
// string.sub and string.byte: a relative start (negative counts from the
// end) clipped to [1, ...], and an end clipped to [0, len].
inline size_t str_pos_start(Integer pos, size_t len) {
  if (pos > 0) return static_cast<size_t>(pos);
  if (pos == 0) return 1;
  if (pos < -static_cast<Integer>(len)) return 1;
  return len + static_cast<size_t>(pos) + 1;
}
inline size_t str_pos_end(Integer pos, size_t len) {
  if (pos > static_cast<Integer>(len)) return len;
  if (pos >= 0) return static_cast<size_t>(pos);
  if (pos < -static_cast<Integer>(len)) return 0;
  return len + static_cast<size_t>(pos) + 1;
}

}  // namespace luna
