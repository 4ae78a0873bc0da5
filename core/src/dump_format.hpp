// Binary chunk layout shared by dump.cpp (writer) and undump.cpp (reader).
//
//   header:   "\x1bLua", VERSION, FORMAT, DATA (6 bytes, catches text-mode
//             mangling), sizes of Instruction, Integer and Number (1 byte
//             each), TEST_INT (8 bytes), TEST_NUM (8 bytes)
//   then:     number of upvalues of the main function (1 byte), main function
//   function: source (string; absent when stripped or equal to the parent's),
//             linedefined, lastlinedefined (varint), numparams, is_vararg,
//             maxstacksize (1 byte each), code (varint n, n x 4 bytes),
//             constants (varint n, each a K_* byte and its payload),
//             upvalues (varint n, each instack, idx, kind bytes),
//             nested functions (varint n, each a function),
//             line info (varint n, 0 or sizecode, each a zigzag varint delta
//             from the previous line, starting at linedefined),
//             locals (varint n, each name string, startpc, endpc varints),
//             upvalue names (varint n, 0 or the upvalue count, each a string)
//   string:   varint size (0 = none, else length + 1), then the bytes
// Multi-byte fixed fields are little-endian; varints are LEB128 (7 bits per
// byte, low bits first, high bit set on all but the last byte).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "luna/api.hpp"

namespace luna::dumpfmt {

constexpr uint8_t VERSION = 0x54;
constexpr uint8_t FORMAT = 0;  // as PUC-Rio; its chunks then fail the later checks
constexpr const char* DATA = "\x19\x93\r\n\x1a\n";
constexpr size_t DATA_LEN = 6;
constexpr Integer TEST_INT = 0x5678;
constexpr Number TEST_NUM = 370.5;
constexpr int MAX_VARINT_BYTES = 10;  // enough for 64 bits

enum : uint8_t { K_NIL = 0, K_FALSE, K_TRUE, K_INT, K_FLOAT, K_STRING };

// Signed values (line deltas) mapped to small unsigned ones.
inline size_t zigzag(int x) {
  return x >= 0 ? static_cast<size_t>(x) * 2 : static_cast<size_t>(-(static_cast<int64_t>(x))) * 2 - 1;
}
inline int64_t unzigzag(size_t u) {
  return (u & 1) ? -static_cast<int64_t>((u + 1) / 2) : static_cast<int64_t>(u / 2);
}

}  // namespace luna::dumpfmt
