// The trace IR: a linear, typed SSA form of one recorded loop iteration.
// Every instruction is an IrIns in one vector; an operand is the index (Ref)
// of an earlier instruction. Constants live in the same vector and are
// interned. Every value has a static Lua type: the recorder guards each
// assumption it makes about a type, so code generation never tests types
// except in those guards. A guard names a snapshot: the interpreter state to
// restore when the guard fails.
#pragma once

#include <cstdint>
#include <string>
#include <map>
#include <tuple>
#include <vector>

#include "object.hpp"

namespace luna::jit {

struct Reserve;

using Ref = uint32_t;
constexpr Ref NO_REF = 0;  // index 0 is a placeholder that is never used

// Storage class and Lua type of a value. Nil, False and True have no payload
// (their value is their type); Int lives in a general register, Num in an
// SSE register; Gc is a pointer payload (collectable object, light userdata
// or light function) whose exact tag is IrIns::tag;
// Ptr is an internal address (array part, node, upvalue box) never stored
// into a Lua slot.
enum class IrType : uint8_t { Void, Nil, False, True, Int, Num, Gc, Ptr };

#define LUNA_IR_OPS(X)                                                         \
  /* constants */                                                               \
  X(KINT) X(KNUM) X(KGC) X(KPTR) X(KNIL) X(KFALSE) X(KTRUE)                     \
  /* loads from the frame: slot aux, guard the tag (aux8 = 1: known, none) */\
  X(SLOAD)                                                                      \
  /* integer and float arithmetic, by type */                                   \
  X(ADD) X(SUB) X(MUL) X(DIV) X(NEG) X(FLOOR) X(CEIL) X(CONV) X(TOINT) X(SQRT) X(ABS) \
  X(BAND) X(BOR) X(BXOR) X(BNOT) X(SHLK) X(SHRK)                                \
  /* guards: the relation must hold, else exit through the snapshot;    */ \
  /* NLT/NLE hold when a < b / a <= b is false (true for NaN operands)  */         \
  X(LT) X(LE) X(GT) X(GE) X(EQ) X(NE) X(NLT) X(NLE) X(ULT) X(NOTNIL)                          \
  /* memory: field loads, slot addresses, tagged loads and stores (VSTORE   */ \
  /* aux8 = 1: the slot's tag already is the value's, left as it is);      */ \
  /* FSTORE: constant integer b into field aux8 (TabAsize) of object a      */ \
  X(FLOAD) X(CLOSURE) X(AREF) X(HREFK) X(VLOAD) X(VSTORE) X(FSTORE)             \
  /* the address of frame slot aux (from the trace's base): captured locals */ \
  X(SLOTREF)                                                                    \
  /* byte b (from 1) of string a, as an integer */                             \
  X(BLOAD)                                                                      \
  /* noexcept helper calls */                                                   \
  X(CALL)                                                                       \
  /* loop optimisation: start of the copied body, loop-carried values */      \
  X(LOOPSTART) X(PHI)                                                           \
  /* end of the iteration: write back and jump to the top (b = 1: after loop */ \
  /* optimisation, move the PHIs and jump to LOOPSTART; 2: a side trace's   */ \
  /* link to another trace; 3: a stitch, leaving before a native call)      */ \
  X(LOOP)                                                                       \
  /* function traces (record_recursion.cpp): CALLOUT calls a function's    */ \
  /* trace natively in a real frame pushed for the call, RET returns from   */ \
  /* the trace's frame, SETTAIL marks the frame as entered by a tail call  */ \
  /* (a: the new closure stored in its function slot; aux: its frame size), */ \
  /* TOPEQ guards the top a CALLOUT's variable results ended at (slot aux),*/ \
  /* RETDOWN returns from a side trace's frame to its Lua caller and goes   */ \
  /* on in that frame                                                       */ \
  X(CALLOUT) X(RET) X(SETTAIL) X(TOPEQ) X(RETDOWN)                               \
  /* a library function called from the trace (record_native.cpp): a is    */ \
  /* the NativeFn, b the argument count, aux the function's slot, aux8 the  */ \
  /* call's C; writes its snapshot first and leaves through it at the CALL  */ \
  /* when the call fails, for the interpreter to make it again             */ \
  X(NCALL)

enum class IrOp : uint8_t {
#define LUNA_IR_ENUM(o) o,
  LUNA_IR_OPS(LUNA_IR_ENUM)
#undef LUNA_IR_ENUM
};
const char* ir_op_name(IrOp op);

// FLOAD fields.
// Deref: the pointer at address a (a constant: a basic type's metatable).
// TabFlags: the metamethod-absence cache (a byte), which a new key resets.
enum class Field : uint8_t { TabArray, TabAsize, TabMeta, TabNode, TabLsizenode, TabFlags, TabAinline, ClProto, ClUpval, NClFn, UvValue, StrLen, GcTag, Deref };

// CALL helpers. All are noexcept and neither allocate nor raise.
enum class Helper : uint8_t {
  IntIdiv, IntMod, Shl,         // (Integer, Integer) -> Integer
  UDiv,                         // (Integer, Integer) -> Integer, as unsigned numbers
  NumMod, NumPow, NumFmod,      // (Number, Number) -> Number
  NumSin, NumCos, NumExp, NumLog,  // (Number) -> Number
  TabLen,                       // (Table*) -> Integer
  TabGetStr,                    // (Table*, String*) -> const TValue* (the absent key's nil if missing)
  TabGetInt,                    // (Table*, Integer) -> const TValue*, likewise
  // The slot an assignment stores into, the key inserted when absent
  // (table_try_set_slot: into a free node, or after a rehash that replaces
  // only the hash part); nullptr when the interpreter must insert it. A new
  // key may move another key's node or the whole hash part: no HREFK, node
  // pointer or hash size is shared across them. They take the State*.
  TabSetStr,                    // (State*, Table*, String*) -> TValue*
  TabSetInt,                    // (State*, Table*, Integer) -> TValue*
  BarrierBack,                  // (State*, Table*)
  BarrierObj,                   // (State*, GCObject* parent, GCObject* child)
  UpvalClose,                   // (State*, TValue* level) -> Integer: 1 closed, 0 to-be-closed variables there
  // string.find's first result for a pattern of one item (str_find_item;
  // the CALL's k.p: the pattern String*, whose FindItem the assembler puts
  // behind the code): the position, 0 for nil, -1 for the interpreter's
  // call (an instruction budget is set).
  StrFindItem,                  // (State*, String* s, Integer init) -> Integer
  // string.find's second result for an anchored chain of items
  // (str_find_chain; k.p: the pattern String*, its FindChain in rcx as
  // StrFindItem's item): the match's end, -2 for nil, -1 for the
  // interpreter's call (an instruction budget is set).
  StrFindChain,                 // (State*, String* s, Integer init) -> Integer
  // Allocating helpers (State* first): never collect or raise; nullptr
  // when the interpreter must do it (a collection step is due, the memory
  // limit, an instruction budget), which the trace guards and exits on.
  NewTable,                     // (State*, Integer nasize | nhsize << 32) -> Table*
  TabGrowArray,                 // (State*, Table*, Integer nasize) -> the Table*, its array part that long
  // setmetatable(t, mt) on a table without metatable (a protected one is
  // the library's) where mt (or nullptr) has no __gc (registering a
  // finalizer is the collector's): the Table*, else nullptr, t unchanged.
  SetMeta,                      // (State*, Table*, Table* mt) -> the Table*
  // CLOSURE: a closure of the enclosing closure's prototype Bx, its upvalues
  // from the enclosing closure filled and those of the stack left null,
  // then each of those (in order) the open upvalue of a slot.
  TabAppend,                    // (State*, Table*, Integer key) -> TValue*: table_try_append_slot
  NewClosure,                   // (State*, LClosure* enclosing, Integer bx) -> LClosure*
  ClosureCapture,               // (State*, LClosure*, TValue* level) -> the LClosure*
  StrConcat,                    // (State*, String*, String*) -> String*
  StrFromInt,                   // (State*, Integer) -> String*, as tostring
  StrNew,                       // (State*, const char*, Integer len) -> String*
  StrChar,                      // (State*, Integer byte) -> String* of that one byte
  // gsub(s, pattern, t) of a one-item pattern (str_gsub_item; the CALL's
  // k.p: the pattern String*, its FindItem in rcx as StrFindItem's).
  StrGsubItem,                  // (State*, String* s, Table* t) -> String*
  // A concatenation of more than two pieces: the pieces go into a buffer,
  // then one string is made of it (and the buffer emptied).
  BufPutStr,                    // (State*, String*)
  BufPutInt,                    // (State*, Integer), as tostring
  BufPutNum,                    // (Number), as tostring where floats print with %.14g; in xmm0
  BufStr,                       // (State*) -> String*
  // string.format with a constant format (record_format.cpp): one
  // conversion's text into the buffer. spec: FormatSpec::pack(), then up to
  // two bytes of the literal text that follows (format_spec_word).
  BufFmtInt,                    // (State*, Integer, Integer spec)
  BufFmtNum,                    // (Number, Number spec) in xmm0, xmm1: the spec word, below 2^53, as a number
  BufFmtStr,                    // (State*, String*, Integer spec)
  BufPutLit,                    // (State*, const char*, Integer len): bytes of a format string
};
// Helpers on floats, in xmm0 (and xmm1).
inline bool helper_on_floats(Helper h) {
  return (h >= Helper::NumMod && h <= Helper::NumLog) || h == Helper::BufPutNum || h == Helper::BufFmtNum;
}
// Helpers that put text into the concatenation buffer: kept for their effect.
inline bool helper_fills_buffer(Helper h) {
  return h == Helper::BufPutStr || h == Helper::BufPutInt || h == Helper::BufPutNum || (h >= Helper::BufFmtInt && h <= Helper::BufPutLit);
}
// Helpers taking the State* first.
inline bool helper_takes_state(Helper h) {
  return h >= Helper::BarrierBack || h == Helper::TabSetStr || h == Helper::TabSetInt;
}
// Helpers that allocate or fill the concatenation buffer: never shared or
// removed; a String* or Table* result is guarded non-null.
inline bool helper_allocates(Helper h) { return h >= Helper::NewTable; }
inline bool helper_inserts(Helper h) { return h == Helper::TabSetStr || h == Helper::TabSetInt; }
const char* helper_name(Helper h);
// NCALL's callee (record_native.cpp): calls f on the nargs arguments above
// func as the interpreter's CALL does, wanting nresults, with the collector
// paused and no message handler. Returns func's address after the call (the
// stack may have moved), plus 1 when the call raised an error or was not
// made: the trace then leaves for the interpreter to make it again.
using NativeCallFn = uintptr_t (*)(State* L, TValue* func, int nargs, int nresults, NativeFn f) noexcept;
// Its version for a CALL of f wanting nresults (the common counts made
// without precall_native's generic tests; gmatch's iterator apart).
NativeCallFn native_call_for(int nresults, NativeFn f);
// NCALL of a coroutine function (k.p: the pc after the CALL): the same
// call with the collector running, Lua code allowed and errors kept for
// the seam to raise (record_native.cpp).
uintptr_t coroutine_call(State* L, TValue* func, int nargs, int nresults, NativeFn f,
                         const Instruction* savedpc) noexcept;
// NCALL of pcall (record_pcall.cpp): coroutine_call's, made only where the
// running thread cannot yield (else bit 0: the interpreter makes the call).
uintptr_t pcall_call(State* L, TValue* func, int nargs, int nresults, NativeFn f,
                     const Instruction* savedpc) noexcept;

// aux8 of an NE guard on an allocating helper's result whose failure passes
// (a collection step due, a budget): its exit makes no side trace, which
// would record the same call and fail there alike at the next collection.
constexpr uint8_t kGuardTransient = 2;

struct IrIns {
  IrOp op;
  IrType type;
  Tag tag;          // exact Lua tag of Gc values (and of every typed value)
  uint8_t aux8;     // Field for FLOAD, Helper for CALL, kGuardTransient
  Ref a = NO_REF, b = NO_REF;
  int32_t aux = 0;  // SLOAD slot, FLOAD upvalue index, HREFK node index, KGC/VLOAD expected tag
  int32_t snap = -1;  // guards: snapshot to restore on failure
  int32_t cont_snap = -1;  // CALLOUT: the exit after the call taken while Reserve::sets_upvalues is set
  // CALLOUT of the running closure from the start of its own function: the
  // upvalues (bit n) known to hold it at the call (its self entry's test).
  uint32_t self_upvalues = 0;
  union {
    Integer i;
    Number n;
    void* p;
  } k{};             // constant payload
};

// One restore entry: Lua slot `slot` (relative to base) takes value `ref`.
struct SnapEntry {
  int slot;
  Ref ref;
};
// A Lua frame of an inlined call, as an exit inside it rebuilds it. Slots
// count from the trace's frame base, through every inlined frame.
struct SnapFrame {
  int32_t parent;                // enclosing inlined frame, -1: the trace's own
  int func_slot;                 // slot of the called function; its base is one above
  int nresults;                  // results the call instruction wants
  int maxstack;                  // the callee's register window
  const Instruction* ret_pc;     // the caller's savedpc: the instruction after the call
  bool tail = false;             // entered by a tail call
  int depth = 1;                 // frames from the trace's own to this one (set by add_frame)
};
// The interpreter state at one guard: resume at pc with these slots written
// (all other slots are unchanged in memory since the trace was entered), in
// the innermost inlined frame `frame` (-1: the trace's own frame). When the
// instruction at pc takes the values a call with variable results left
// (CALL or RETURN with B = 0), top is the slot above the last of them.
struct Snapshot {
  const Instruction* pc;
  uint32_t first, count;  // range in IrBuffer::snap_entries
  int32_t frame = -1;     // index in IrBuffer::snap_frames
  int32_t top = -1;
};

// Statistics of the optimisations, for tests and -jdump.
struct FoldStats {
  uint32_t folded = 0, cse = 0, dce = 0;
};

class IrBuffer {
 public:
  IrBuffer();

  const IrIns& operator[](Ref r) const { return ins_[r]; }
  IrIns& at(Ref r) { return ins_[r]; }
  Ref size() const { return static_cast<Ref>(ins_.size()); }

  // Constants, interned.
  Ref kint(Integer i);
  Ref knum(Number n);
  Ref kgc(GCObject* o, Tag tag);
  Ref kptr(const void* p);
  Ref knil();
  Ref kbool(bool b);
  bool is_const(Ref r) const { return ins_[r].op <= IrOp::KTRUE; }

  // Emits through the folding and CSE engine (fold.cpp); returns the ref of
  // an equivalent earlier or constant instruction when there is one. A guard
  // that folds to "always true" returns NO_REF; one that folds to "always
  // false" sets failed().
  Ref emit(IrIns ins);
  // Emits without folding (tests, and the loop marker).
  Ref emit_raw(const IrIns& ins);

  // Snapshots.
  uint32_t add_snapshot(const Instruction* pc, const std::vector<SnapEntry>& entries, int32_t frame = -1,
                        int32_t top = -1);
  int32_t add_frame(SnapFrame f) {
    f.depth = f.parent < 0 ? 1 : frames_[static_cast<size_t>(f.parent)].depth + 1;
    frames_.push_back(f);
    return static_cast<int32_t>(frames_.size() - 1);
  }
  const std::vector<SnapFrame>& snap_frames() const { return frames_; }
  // At a side trace's link (LOOP, b = 2) in its own frame: the slots whose
  // tags the trace knows there (written, loaded or inherited), so that it
  // may enter the target behind its tests of them (Trace::guarded_entry).
  std::vector<std::pair<int32_t, Tag>> link_types;
  // At that link: what the target prototype's traces reserve, which the
  // link checks where it makes inlined frames real first (or is below the
  // frame it was entered with).
  const Reserve* link_reserve = nullptr;
  const std::vector<Snapshot>& snapshots() const { return snaps_; }
  const std::vector<SnapEntry>& snap_entries() const { return snap_entries_; }
  std::vector<Snapshot>& snapshots_mut() { return snaps_; }
  std::vector<SnapEntry>& snap_entries_mut() { return snap_entries_; }

  bool failed() const { return failed_; }
  FoldStats& stats() { return stats_; }
  const FoldStats& stats() const { return stats_; }
  // Replaces the instruction vector (DCE renumbering).
  void replace(std::vector<IrIns> ins) { ins_ = std::move(ins); rebuild_cse(); }
  std::string dump() const;

  static bool is_guard(IrOp op) {
    return op == IrOp::SLOAD || op == IrOp::VLOAD || op == IrOp::HREFK ||
           (op >= IrOp::LT && op <= IrOp::NOTNIL);
  }
  // Instructions with effects beyond their value (never removed).
  static bool has_effect(IrOp op) {
    return op == IrOp::VSTORE || op == IrOp::FSTORE || op == IrOp::CALL || op == IrOp::LOOP || op == IrOp::LOOPSTART || op == IrOp::PHI ||
           op >= IrOp::CALLOUT;
  }
  // Alias classes for loads and stores: an upvalue's value lives in its
  // box or on the stack, never in a table's array or node part, so a store
  // through an array slot or hash node (AREF, HREFK) leaves it unchanged.
  bool stores_table_slot(const IrIns& i) const {
    return i.op == IrOp::VSTORE && (ins_[i.a].op == IrOp::AREF || ins_[i.a].op == IrOp::HREFK);
  }
  // The loop markers and PHIs write no memory.
  bool may_write_upvalue(const IrIns& i) const {
    return has_effect(i.op) && i.op != IrOp::LOOP && i.op != IrOp::LOOPSTART && i.op != IrOp::PHI &&
           !stores_table_slot(i);
  }
  bool loads_upvalue(const IrIns& i) const {
    const IrIns& p = ins_[i.a];
    return i.op == IrOp::VLOAD && p.op == IrOp::FLOAD && static_cast<Field>(p.aux8) == Field::UvValue;
  }
  // Whether s, an instruction with effects, may change what l reads (a
  // VLOAD or a TabLen/TabGetStr/TabGetInt CALL; anything else: yes). Stores
  // through hash nodes of different constant short-string keys, array slots
  // and upvalues' values touch different memory; a store into a slot that
  // exists adds no key, so lookups find their keys where they were; a
  // length reads integer keys only.
  bool may_change(const IrIns& s, const IrIns& l) const;
  // Whether an NCALL may move the stack (a library function's frame near
  // its end, or one that checks for room for many values): every one but
  // coroutine.create's (create_call needs no frame).
  bool moves_stack(const IrIns& ncall) const;
  // Whether an instruction in (from, to) may change what l reads.
  bool stored_between(Ref from, Ref to, const IrIns& l) const;
  // A load through p since the last store and in this iteration, guarding
  // a non-nil tag, if any. Stores between that left their slot's tag
  // (VSTORE with aux8 = 1: the value only) leave every tag as it was, so
  // the search goes on past them (fannkuch's swap `work[lo], work[hi] =
  // work[hi], work[lo]`: the second store keeps the tag its slot's load
  // guarded, across the first).
  Ref loaded_since_store(Ref p) const {
    for (Ref r = size() - 1; r > 0 && ins_[r].op != IrOp::LOOPSTART; r--) {
      const IrIns& i = ins_[r];
      if (i.op == IrOp::VLOAD && i.a == p && i.type != IrType::Nil) return r;
      if (i.op == IrOp::VSTORE && i.aux8 == 1) continue;
      if (has_effect(i.op)) break;
    }
    return NO_REF;
  }
  // Loop optimisation: pre-roll refs the copied body must not share (CSE)
  // because their value changes from one iteration to the next.
  void set_variant(std::vector<bool> v) { variant_ = std::move(v); }

 private:
  friend Ref fold_emit(IrBuffer& ir, IrIns ins);
  using Key = std::tuple<int, int, int, int, Ref, Ref, int32_t, uint64_t>;
  static Key key_of(const IrIns& ins);
  Ref intern(const IrIns& ins);
  void rebuild_cse();

  std::vector<IrIns> ins_;
  std::map<Key, Ref> consts_;
  std::map<Key, Ref> cse_;  // pure instructions and guards by all their fields
  Ref last_store_ = NO_REF;               // loads are not shared across a store
  Ref last_nontable_store_ = NO_REF;      // ... upvalue loads across one that may alias them
  std::vector<bool> variant_;
  std::vector<Snapshot> snaps_;
  std::vector<SnapEntry> snap_entries_;
  std::vector<SnapFrame> frames_;
  bool failed_ = false;
  FoldStats stats_;
};

// Folding and CSE of one instruction (fold.cpp).
Ref fold_emit(IrBuffer& ir, IrIns ins);
// Loop optimisation (loop.cpp): copies the recorded iteration behind a
// LOOPSTART marker through fold/CSE, so invariant instructions and guards
// are shared with the first iteration (hoisted), and carries the modified
// slots around the loop in PHIs. False (ir unchanged) when the loop is not
// type-stable.
bool loop_optimise(IrBuffer& ir);
// After loop_optimise: the body's array bounds guards on an index that
// counts up by one with the loop's counter become two guards before the
// loop (the first and the last index), marked aux8 = 1. False (ir
// unchanged) when there are none.
bool hoist_bounds(IrBuffer& ir);
// After loop_optimise: the body's bounds guard on an index a that counts up
// by one from a value the pre-roll bounded, when guards before it in the
// body check a < b and b's bound against the same array size (fannkuch's
// swap loop: `lo < hi`, hi's check, then lo's). False (ir unchanged) when
// there is none.
bool drop_implied_bounds(IrBuffer& ir);
// Dead code elimination: drops pure instructions no guard, store, call or
// snapshot needs, and renumbers (dce.cpp).
void dce(IrBuffer& ir);
// Appends ir's instructions from start on, less the dropped ones, to out
// (which holds the ones before start, at their own numbers, and whatever
// was inserted after them), renumbers operands and snapshot entries, and
// makes out the trace's IR (dce and the loop passes).
void compact_into(IrBuffer& ir, std::vector<IrIns>& out, Ref start, const std::vector<bool>& drop);

// Small constructors used by the recorder and the tests.
inline IrIns ir_ins(IrOp op, IrType t, Ref a = NO_REF, Ref b = NO_REF, int32_t aux = 0) {
  IrIns i;
  i.op = op;
  i.type = t;
  i.tag = t == IrType::Int ? Tag::Int : t == IrType::Num ? Tag::Float : t == IrType::Nil ? Tag::Nil
        : t == IrType::False ? Tag::False : t == IrType::True ? Tag::True : Tag::Nil;
  i.aux8 = 0;
  i.a = a;
  i.b = b;
  i.aux = aux;
  return i;
}
IrType ir_type_of(Tag t);

}  // namespace luna::jit
