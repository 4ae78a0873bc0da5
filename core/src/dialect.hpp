// The per-version feature table: everything that differs between the Lua
// versions luna speaks (5.3, 5.4, 5.5) is a field here, read by the lexer,
// parser, code generator, dispatcher, JIT recorder and libraries through
// dialect(L). One table per version; no other file compares version numbers.
// docs/dialects.md lists the same table for readers.
#pragma once

#include <cstdint>

#include "luna/version.hpp"

namespace luna {

struct Dialect {
  LuaVersion version = LuaVersion::Lua54;
  const char* name = "";      // _VERSION
  uint8_t dump_version = 0;   // byte 5 of a binary chunk header; others are refused
  bool dump_c_sizes = false;  // the header also gives sizeof(int) and sizeof(size_t) (5.3)
  bool dump_55 = false;       // 5.5's layout: each size in the header is followed by a test
                              // value (int, Instruction, Integer, Number, negated), and a
                              // string is stored once, then referred to by its index

  // ---- syntax
  bool local_attribs = false;        // local x <const>, <close> (5.4+)
  bool global_decls = false;         // 'global' declarations and their scoping (5.5)
  bool prefix_attribs = false;       // local <const> a, b: one attribute for the list (5.5)
  bool readonly_for = false;         // for-loop control variables are constants (5.5)
  bool named_varargs = false;        // function f(...t): t, read-only, holds the extra
                                     // arguments and n (5.5)
  bool call_line_at_prefix = false;  // a call's line is where its function expression starts (5.3)
  bool for_entry_line = false;       // a line hook sees a numeric for enter its body as a
                                     // jump back, even on the same line (5.3)
  bool sem_error_last_line = false;  // a semantic error (undeclared name, repeated label...) is
                                     // reported at the last token read, not the lookahead (5.5)
  bool if_test_at_cond = false;      // an if's test has the line where its condition ends,
                                     // not the line of 'then' (5.5)
  bool label_per_block = false;      // a label name may repeat in a nested block, and a goto
                                     // sees the enclosing block's labels only once its own
                                     // block closes (5.3)

  // ---- semantics
  bool le_via_lt = false;         // a <= b without __le is not (b < a) through __lt (5.3)
  bool close_err_only = false;   // __close gets an error argument only when closing by error (5.5)
  bool float_round_trip = false; // tostring of a float reads back as the same float (5.5)
  bool vm_string_coerce = false;  // arithmetic and bitwise operations convert numeric strings
                                  // in the VM (5.3); 5.4+ leave it to the string metatable
  bool closure_cache = false;     // a closure expression yields the closure it made last
                                  // time when the upvalues would be the same (5.3)
  bool gen_gc = false;            // the collector has a generational mode (5.4+)
  bool upval_remark = false;      // a collection keeps the values of an unreachable
                                  // coroutine's open upvalues touched since the previous
                                  // one, so a cycle through a suspended coroutine takes two
                                  // collections (5.3)
  bool finalizer_53 = false;      // a __gc that is not a function is ignored, and an error in
                                  // a finalizer run by collectgarbage is raised to its caller
                                  // (5.3); 5.4+ call any __gc and warn

  // ---- libraries
  bool debug_names_53 = false;  // the debug library's 5.3 names: "(*temporary)" (native
                                // frames too), "(*vararg)", "(*no name)", and a
                                // metamethod's name with its "__"; the frame a finalizer
                                // interrupted is named "__gc"
  bool lib_53 = false;  // 5.3's library functions, arguments and messages
  bool lib_55 = false;  // 5.5's library functions, arguments and messages
};

// A field left out is false.
inline constexpr Dialect dialect_53{.version = LuaVersion::Lua53, .name = "Lua 5.3", .dump_version = 0x53,
                                    .dump_c_sizes = true,
                                    .call_line_at_prefix = true, .for_entry_line = true, .label_per_block = true,
                                    .le_via_lt = true, .vm_string_coerce = true,
                                    .closure_cache = true, .upval_remark = true, .finalizer_53 = true,
                                    .debug_names_53 = true, .lib_53 = true};
inline constexpr Dialect dialect_54{.version = LuaVersion::Lua54, .name = "Lua 5.4", .dump_version = 0x54,
                                    .local_attribs = true, .gen_gc = true};
inline constexpr Dialect dialect_55{.version = LuaVersion::Lua55, .name = "Lua 5.5", .dump_version = 0x55,
                                    .dump_55 = true,
                                    .local_attribs = true, .global_decls = true, .prefix_attribs = true,
                                    .readonly_for = true, .named_varargs = true, .sem_error_last_line = true,
                                    .if_test_at_cond = true,
                                    .close_err_only = true, .float_round_trip = true, .gen_gc = true,
                                    .lib_55 = true};

inline constexpr const Dialect* dialect_for(LuaVersion v) {
  switch (v) {
    case LuaVersion::Lua53: return &dialect_53;
    case LuaVersion::Lua54: return &dialect_54;
    case LuaVersion::Lua55: return &dialect_55;
  }
  return nullptr;
}

// For code that sees only the public API (the libraries): the table of
// get_version(L), which is always a known version.
inline const Dialect& dialect_of(LuaVersion v) { return *dialect_for(v); }

}  // namespace luna
