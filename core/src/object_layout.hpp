// Sizes and field offsets of the heap objects, by name. Generated code (the
// JIT) reads objects through these constants, never through literal
// numbers, and the static_asserts below make a layout change that would
// silently grow the hot objects a compile error.
#pragma once

#include <cstddef>

#include "object.hpp"

namespace luna::layout {

// The objects derive from GCObject, so they are not standard-layout and
// offsetof on them is only conditionally supported; GCC and Clang support it
// for non-virtual single inheritance, which is all that is used here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"

constexpr size_t TVALUE_SIZE = sizeof(TValue);
constexpr size_t TVALUE_PAYLOAD = offsetof(TValue, u);
constexpr size_t TVALUE_TAG = offsetof(TValue, tag);

constexpr size_t GC_NEXT = offsetof(GCObject, next);
constexpr size_t GC_TAG = offsetof(GCObject, tag);
constexpr size_t GC_MARKED = offsetof(GCObject, marked);

constexpr size_t STRING_HASH = offsetof(String, hash);
constexpr size_t STRING_LEN = offsetof(String, len);
constexpr size_t STRING_DATA = offsetof(String, data);

constexpr size_t TABLE_SIZE = sizeof(Table);
constexpr size_t TABLE_FLAGS = offsetof(Table, flags);
constexpr size_t TABLE_LSIZENODE = offsetof(Table, lsizenode);
constexpr size_t TABLE_ASIZE = offsetof(Table, asize);
constexpr size_t TABLE_ARRAY = offsetof(Table, array);
constexpr size_t TABLE_NODE = offsetof(Table, node);
constexpr size_t TABLE_AINLINE = offsetof(Table, ainline);
constexpr size_t TABLE_METATABLE = offsetof(Table, metatable);

constexpr size_t NODE_SIZE = sizeof(Node);
constexpr size_t NODE_VAL = offsetof(Node, val);
constexpr size_t NODE_KEY_PAYLOAD = offsetof(Node, key_u);
constexpr size_t NODE_KEY_TAG = offsetof(Node, key_tag);
constexpr size_t NODE_NEXT = offsetof(Node, next);

constexpr size_t UPVAL_V = offsetof(UpVal, v);
constexpr size_t LCLOSURE_PROTO = offsetof(LClosure, p);
constexpr size_t LCLOSURE_UPVALS = offsetof(LClosure, upvals);
constexpr size_t NCLOSURE_F = offsetof(NClosure, f);
constexpr size_t PROTO_K = offsetof(Proto, k);
constexpr size_t PROTO_CODE = offsetof(Proto, code);

// The header's padding after `marked` holds each object's first small
// fields (GCObject's defaulted constructor makes the ABI reuse it).
static_assert(TVALUE_SIZE == 16 && TVALUE_PAYLOAD == 0 && TVALUE_TAG == 8);
static_assert(GC_NEXT == 0 && GC_TAG == 8 && GC_MARKED == 9);
static_assert(offsetof(String, reserved) == 10 && STRING_HASH == 12 && STRING_LEN == 16);
static_assert(STRING_DATA == 32, "string header: 32 bytes before the characters");
static_assert(TABLE_FLAGS == 10 && TABLE_LSIZENODE == 11 && TABLE_ASIZE == 12);
static_assert(TABLE_ARRAY == 24 && TABLE_SIZE == 64, "table: 64 bytes");
static_assert(NODE_VAL == 0 && NODE_KEY_PAYLOAD == 16 && NODE_KEY_TAG == 24 && NODE_NEXT == 28);
static_assert(NODE_SIZE == 32, "hash node: 32 bytes, a power of two");
static_assert(offsetof(LClosure, nupvalues) == 10 && LCLOSURE_PROTO == 24 && LCLOSURE_UPVALS == 32);
static_assert(offsetof(UpVal, tbc) == 10 && UPVAL_V == 16);
static_assert(offsetof(Udata, nuvalue) == 10);

#pragma GCC diagnostic pop

}  // namespace luna::layout
