// Binary chunk layout shared by dump.cpp (writer) and undump.cpp (reader):
// PUC-Rio Lua 5.4's format, so that luac5.4 output loads here and
// string.dump output runs there (docs/conformance.md).
//
//   header:   "\x1bLua", version, FORMAT, DATA (6 bytes, catches text-mode
//             mangling), for 5.3 only the sizes of C's int and size_t,
//             sizes of Instruction, Integer and Number (1 byte each),
//             TEST_INT (8 bytes), TEST_NUM (8 bytes)
//   then:     number of upvalues of the main function (1 byte), main function
//   function: source (string; absent when stripped or equal to the parent's),
//             linedefined, lastlinedefined (varint), numparams, is_vararg,
//             maxstacksize (1 byte each), code (varint n, n x 4 bytes),
//             constants (varint n, each a K_* tag byte and its payload),
//             upvalues (varint n, each instack, idx, kind bytes),
//             nested functions (varint n, each a function),
//             line info (varint n, 0 or sizecode, each a signed byte: the
//             line's difference from the previous instruction's, starting at
//             linedefined, or ABSLINEINFO), absolute lines (varint n, each
//             pc and line varints, one per ABSLINEINFO in order),
//             locals (varint n, each name string, startpc, endpc varints),
//             upvalue names (varint n, 0 or the upvalue count, each a string)
//   string:   varint size (0 = none, else length + 1), then the bytes
//             (5.5: see below)
// Multi-byte fixed fields are little-endian; varints are big-endian groups
// of 7 bits, the high bit set only on the last byte.
// Every arithmetic instruction is followed by an MMBIN* (opcodes.hpp):
// PUC-Rio's VM skips the instruction after one whose operands are numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "luna/api.hpp"

namespace luna::dumpfmt {

// The version byte is the chunk's language version (Dialect::dump_version:
// 0x53, 0x54 or 0x55); the layout is the same for all three.
constexpr uint8_t FORMAT = 0;
constexpr const char* DATA = "\x19\x93\r\n\x1a\n";
constexpr size_t DATA_LEN = 6;
constexpr Integer TEST_INT = 0x5678;
constexpr Number TEST_NUM = 370.5;
constexpr size_t HEADER_LEN = 4 + 2 + DATA_LEN + 3 + 8 + 8;  // without 5.3's two C sizes
// 5.5's header: sizeof(int), TEST_INT as an int, sizeof(Instruction),
// TEST_INSTRUCTION, sizeof(Integer), TEST_INT, sizeof(Number), TEST_NUM,
// the test values negated except the instruction. Its strings: varint 0 =
// none, 1 = a string stored before (varint index, from 0, follows), else
// length + 2 and the bytes.
constexpr uint32_t TEST_INSTRUCTION = 0x12345678;
constexpr int MAX_VARINT_BYTES = 10;  // enough for 64 bits

// Constant tags: the value's type in the low nibble, its variant above.
enum : uint8_t { K_NIL = 0x00, K_FALSE = 0x01, K_TRUE = 0x11, K_INT = 0x03, K_FLOAT = 0x13,
                 K_SHORTSTR = 0x04, K_LONGSTR = 0x14 };

// Line differences that do not fit a signed byte, and every MAX_RELATIVE
// instructions at least (so a line is found without summing the whole
// function), go to the absolute list.
constexpr int ABSLINEINFO = -0x80;
constexpr int LIM_LINEDIFF = 0x80;
constexpr int MAX_RELATIVE = 128;

}  // namespace luna::dumpfmt
