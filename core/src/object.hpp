// Values and heap objects: the data every part of the core shares.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "luna/api.hpp"

namespace luna {

// Variant tags: basic type in the low 4 bits, variant in bits 4-5.
enum class Tag : uint8_t {
  Nil = TNIL,
  Empty = TNIL | (1 << 4),     // empty table slot
  AbsKey = TNIL | (2 << 4),    // "absent key" result of a table lookup
  False = TBOOLEAN,
  True = TBOOLEAN | (1 << 4),
  LightUd = TLIGHTUSERDATA,
  Int = TNUMBER,
  Float = TNUMBER | (1 << 4),
  ShortStr = TSTRING,
  LongStr = TSTRING | (1 << 4),
  Table = TTABLE,
  LClosure = TFUNCTION,        // Lua closure
  LightFn = TFUNCTION | (1 << 4),  // native function without upvalues
  NClosure = TFUNCTION | (2 << 4), // native closure
  Userdata = TUSERDATA,
  Thread = TTHREAD,
  // internal, never visible as Lua values
  Proto = NUMTYPES,
  UpVal = NUMTYPES + 1,
  DeadKey = NUMTYPES + 2,
};
constexpr int basic_type(Tag t) { return static_cast<int>(t) & 0x0f; }
constexpr bool is_collectable_tag(Tag t) {
  return t == Tag::ShortStr || t == Tag::LongStr || t == Tag::Table || t == Tag::LClosure ||
         t == Tag::NClosure || t == Tag::Userdata || t == Tag::Thread || t == Tag::Proto ||
         t == Tag::UpVal;
}

struct GCObject;
struct String;
struct Table;
struct Proto;
struct UpVal;
struct LClosure;
struct NClosure;
struct Udata;
struct State;

// 16-byte tagged value: 64-bit payload plus tag. Integers and floats both exact.
// Named apart from the embedding API's luna::Value so that one translation
// unit (the JIT, the embedding layer) can see both.
struct TValue {
  union Payload {
    GCObject* gc;
    void* p;         // light userdata
    NativeFn f;      // light native function
    Integer i;
    Number n;
  } u;
  Tag tag;

  TValue() : tag(Tag::Nil) { u.i = 0; }
  static TValue nil() { return TValue(); }
  static TValue boolean(bool b) { TValue v; v.tag = b ? Tag::True : Tag::False; return v; }
  static TValue integer(Integer i) { TValue v; v.tag = Tag::Int; v.u.i = i; return v; }
  static TValue number(Number n) { TValue v; v.tag = Tag::Float; v.u.n = n; return v; }
  static TValue light_ud(void* p) { TValue v; v.tag = Tag::LightUd; v.u.p = p; return v; }
  static TValue light_fn(NativeFn f) { TValue v; v.tag = Tag::LightFn; v.u.f = f; return v; }
  static inline TValue object(GCObject* o);  // tag from the object's header

  int type() const { return basic_type(tag); }
  bool is_nil() const { return type() == TNIL; }  // includes Empty, AbsKey
  bool is_false_or_nil() const { return tag == Tag::False || is_nil(); }
  bool truthy() const { return !is_false_or_nil(); }
  bool is_boolean() const { return type() == TBOOLEAN; }
  bool is_number() const { return type() == TNUMBER; }
  bool is_int() const { return tag == Tag::Int; }
  bool is_float() const { return tag == Tag::Float; }
  bool is_string() const { return type() == TSTRING; }
  bool is_short_string() const { return tag == Tag::ShortStr; }
  bool is_table() const { return tag == Tag::Table; }
  bool is_function() const { return type() == TFUNCTION; }
  bool is_lclosure() const { return tag == Tag::LClosure; }
  bool is_userdata() const { return tag == Tag::Userdata; }
  bool is_thread() const { return tag == Tag::Thread; }
  bool is_collectable() const { return is_collectable_tag(tag); }

  Number as_number() const { return tag == Tag::Int ? static_cast<Number>(u.i) : u.n; }
  inline String* as_string() const;
  inline Table* as_table() const;
  inline LClosure* as_lclosure() const;
  inline NClosure* as_nclosure() const;
  inline Udata* as_udata() const;
  inline State* as_thread() const;
  inline Proto* as_proto() const;
};
static_assert(sizeof(TValue) == 16);

// Common header of every collectable object.
struct GCObject {
  // Declared so that GCObject is not a C++03 POD: the Itanium C++ ABI then
  // places a derived object's first small fields in the 6 bytes of tail
  // padding after `marked` instead of at offset 16 (object_layout.hpp
  // checks the resulting sizes and offsets).
  GCObject() = default;
  GCObject* next;  // all-objects list
  Tag tag;
  uint8_t marked;  // colour / age bits, owned by gc.cpp
};

inline TValue TValue::object(GCObject* o) { TValue v; v.tag = o->tag; v.u.gc = o; return v; }

// Strings. Short strings (<= MAX_SHORT_LEN) are interned: equal contents are
// the same object. Long strings hash lazily.
constexpr size_t MAX_SHORT_LEN = 40;
struct String : GCObject {
  uint8_t reserved;     // for short strings: reserved-word index + 1 (lexer), else 0
  uint8_t has_hash;     // long strings: hash computed
  uint32_t hash;
  size_t len;
  String* hnext;        // chain in the string table
  char data[1];         // len bytes plus a terminating '\0'

  const char* c_str() const { return data; }
};

// Table: array part plus hash part (chained scatter table with Brent's variation).
// 32 bytes: the key is split into payload and tag so that the tag and the
// chain link share one word. The value stays a whole TValue (lookups hand
// out TValue* slots that are stored to as a unit, padding included), and
// it is first, so a node's address is its value slot's address.
struct Node {
  TValue val;
  TValue::Payload key_u{};
  Tag key_tag = Tag::Nil;  // may be Tag::DeadKey (collected key kept for `next`)
  int next = 0;            // offset to next node in chain, 0 = end

  TValue key() const { TValue k; k.u = key_u; k.tag = key_tag; return k; }
  void set_key(const TValue& k) { key_u = k.u; key_tag = k.tag; }
};
struct Table : GCObject {
  uint8_t flags;       // bit k set: metamethod k (k < 6, see TMS) known absent; bit 6: __tostring
  uint8_t lsizenode;   // log2 of hash part size
  uint32_t asize;      // array part size
  uint32_t lenhint;    // last border found by table_length (a guess, checked before use)
  uint32_t ainline;    // array slots in the table's own block, after the header (table.cpp)
  TValue* array;
  Node* node;
  Node* lastfree;
  Table* metatable;
  GCObject* gclist;
};

// Function prototypes.
using Instruction = uint32_t;
struct UpvalDesc {
  String* name;
  bool instack;   // captures a register of the enclosing function
  uint8_t idx;    // register or upvalue index in the enclosing function
  uint8_t kind;   // 0 regular, 1 const, 2 to-be-closed, 3 compile-time constant
};
struct LocVar {
  String* name;
  int startpc;    // first instruction where the variable is active
  int endpc;      // first instruction where it is dead
};
struct Proto : GCObject {
  uint8_t numparams;
  uint8_t is_vararg;
  uint8_t maxstacksize;
  uint8_t jit_cold_entry;  // the JIT gave up on calls of this function: entries are not counted
  int sizeupvalues, sizek, sizecode, sizelineinfo, sizep, sizelocvars;
  int linedefined, lastlinedefined;
  TValue* k;            // constants
  Instruction* code;
  Proto** p;           // nested functions
  UpvalDesc* upvalues;
  int* lineinfo;       // absolute source line of each instruction (sizelineinfo == sizecode, or 0 when stripped)
  LocVar* locvars;
  String* source;      // may be nullptr when stripped
  GCObject* gclist;
  void* jit_data;      // owned by the JitBackend; traces die with their prototype
  LClosure* cache;     // the last closure made from this prototype (Dialect::closure_cache);
                       // a weak reference, dropped by the collector
};

// Upvalues: open ones point into a thread's stack, closed ones hold the value.
struct UpVal : GCObject {
  uint8_t tbc;          // unused by core; kept 0
  uint8_t touched;      // open, and made or reached by a closure since the last
                        // collection (read by Dialect::upval_remark)
  TValue* v;             // points to stack slot or to `closed`
  union {
    struct { UpVal* next; UpVal** previous; } open;  // list of open upvalues of a thread, sorted by level
    TValue closed;
  } u;
  bool is_open() const { return v != &u.closed; }
};

struct LClosure : GCObject {
  uint8_t nupvalues;
  GCObject* gclist;
  Proto* p;
  UpVal* upvals[1];
};
struct NClosure : GCObject {
  uint8_t nupvalues;
  GCObject* gclist;
  NativeFn f;
  TValue upvalue[1];
};

struct Udata : GCObject {
  uint16_t nuvalue;
  size_t len;
  Table* metatable;
  GCObject* gclist;
  TValue uv[1];  // nuvalue user values (at least room for one), then the block at data()
  static size_t header_size(int nuv) {
    // uv is the last member, so sizeof minus one TValue is its offset (offsetof
    // would warn: Udata is not standard-layout).
    size_t s = sizeof(Udata) - sizeof(TValue) + sizeof(TValue) * (nuv > 0 ? nuv : 1);
    return (s + 15) & ~size_t(15);
  }
  void* data() { return reinterpret_cast<char*>(this) + header_size(nuvalue); }
};

// Allocation sizes of closures with n upvalues (func.cpp allocates, gc.cpp frees).
inline size_t lclosure_size(int n) { return sizeof(LClosure) + sizeof(UpVal*) * (n > 1 ? n - 1 : 0); }
inline size_t nclosure_size(int n) { return sizeof(NClosure) + sizeof(TValue) * (n > 1 ? n - 1 : 0); }

inline String* TValue::as_string() const { return static_cast<String*>(u.gc); }
inline Table* TValue::as_table() const { return static_cast<Table*>(u.gc); }
inline LClosure* TValue::as_lclosure() const { return static_cast<LClosure*>(u.gc); }
inline NClosure* TValue::as_nclosure() const { return static_cast<NClosure*>(u.gc); }
inline Udata* TValue::as_udata() const { return static_cast<Udata*>(u.gc); }
inline Proto* TValue::as_proto() const { return static_cast<Proto*>(u.gc); }

// ---- number conversions (number.cpp) ----
// Parses a Lua numeral exactly as tonumber / the lexer accept it (decimal
// and hex integers and floats, hex exponents, surrounding spaces). Returns
// the number of characters consumed plus 1, or 0 when s is not a numeral.
// s must be '\0'-terminated at s[len].
size_t str_to_number(const char* s, size_t len, TValue* out);
// Formats a number as tostring does ("%.14g", ".0" suffix for integral
// floats, "inf", "-inf", "nan", "-nan"). round_trip (5.5): "%.15g", or
// "%.17g" for a float that would not read back as itself. Returns the
// length written; buf must have room for MAX_NUMBER_TEXT bytes.
constexpr int MAX_NUMBER_TEXT = 64;
int number_to_text(const TValue& v, char* buf, bool round_trip = false);
// number_to_text of an integer, without the tag test and its call; buf
// must have room for MAX_INTEGER_TEXT bytes ("-9223372036854775808" and
// its '\0').
constexpr int MAX_INTEGER_TEXT = 21;
int integer_to_text(Integer i, char* buf);
// Formats a finite float as printf's "%.<precision>f" does in the "C"
// locale (the same digits, exactly rounded). Returns the length written;
// buf must have room for MAX_FIXED_TEXT bytes (precision below 100).
constexpr int MAX_FIXED_TEXT = 420;
int float_to_fixed(Number x, int precision, char* buf);
// printf's "%.<precision>g" of x (precision 1 to 15, no '#') when x is
// within half a unit of its precision of a decimal of at most `precision`
// digits and at most 9 decimals, printed without an exponent ("249.25",
// "-0.0001"): that decimal, trailing zeros dropped. -1 for the others
// (0, an exponent, more digits, inf, nan), which printf's way must print.
int float_to_short_g(Number x, int precision, char* buf);
// Float -> integer conversion modes: exact only, floor, ceil.
enum class F2I { Exact, Floor, Ceil };
bool float_to_integer(Number n, Integer* out, F2I mode);
// TValue -> integer for the VM (ints, floats with exact integral value, and
// numeric strings when `strings` is true).
bool to_integer(const TValue& v, Integer* out, F2I mode = F2I::Exact, bool strings = true);
bool to_number(const TValue& v, Number* out, bool strings = true);
// Integer arithmetic with Lua's rules (errors for division by zero are the caller's).
// Inline: the dispatcher's MOD and IDIV handlers call them on every
// integer operation (word_count: about 25 instructions per call out of line).
inline Integer int_floor_div(Integer a, Integer b) {  // b != 0
  // b == -1 would trap on INT64_MIN / -1: negate with wrap-around instead.
  if (b == -1) return static_cast<Integer>(0u - static_cast<Unsigned>(a));
  Integer q = a / b;
  if ((a % b != 0) && ((a ^ b) < 0)) q -= 1;  // C truncates; Lua floors
  return q;
}
inline Integer int_mod(Integer a, Integer b) {  // b != 0
  if (b == -1) return 0;  // avoids the INT64_MIN % -1 trap
  Integer r = a % b;
  if (r != 0 && (r ^ b) < 0) r += b;  // result takes the sign of the divisor
  return r;
}
Number float_mod(Number a, Number b);
Integer shift_left(Integer x, Integer y);      // y negative shifts right
// Arithmetic on numbers only (no string coercion, no metamethods), op is an
// OPADD.. constant. Returns false if an operand is not a number or a bitwise
// op gets a float without an exact integer value. Integer division/modulo by
// zero raises "attempt to divide by zero" / "attempt to perform 'n%%0'" through L.
bool raw_arith(State* L, int op, const TValue& a, const TValue& b, TValue* res);
// Byte offset ceil(log2(x)) helper used by tables and the GC.
int ceil_log2(unsigned int x);

}  // namespace luna
