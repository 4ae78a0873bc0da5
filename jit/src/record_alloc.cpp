// Values a trace allocates: tables (NEWTABLE, SETLIST) and strings (CONCAT).
// Compiled code may neither collect nor raise, so an allocating helper
// returns nullptr where the interpreter would collect first (a collection
// step is due), run into the memory limit or raise; the guard on its result
// then exits before the instruction, and the interpreter executes it with
// its collection and errors. A trace therefore allocates with the
// collector's accounting (the helpers count every byte, as mem_alloc does)
// and leaves at the first allocation after the debt turns positive.
#include "record.hpp"

namespace luna::jit {

Ref Recorder::helper(Helper h, IrType t, Ref a, Ref b) {
  IrIns c = ir_ins(IrOp::CALL, t, a, b);
  c.aux8 = static_cast<uint8_t>(h);
  return ir_.emit(c);
}

Ref Recorder::alloc(Helper h, Tag tag, Ref a, Ref b) {
  Ref r = helper(h, IrType::Gc, a, b);
  ir_.at(r).tag = tag;
  guard(IrOp::NE, r, ir_.kptr(nullptr));
  return r;
}

namespace {

// The array slots a constructor's SETLIST fills: NEWTABLE's hint c leaves
// out the values of a trailing call or vararg (SETLIST's B = 0), most often
// one ({f(), f()}). The first SETLIST into register a after the NEWTABLE
// is the constructor's own (a nested constructor fills a higher register);
// a constructor without one may find a later constructor's, which costs
// only the unused room.
unsigned constructor_slots(const Proto* p, const Instruction* pc, int a, unsigned c) {
  constexpr int kMaxScan = 256;
  const Instruction* end = p->code + p->sizecode;
  for (const Instruction* q = pc + 1; q < end && q - pc < kMaxScan; q++) {
    Instruction j = plain_ins(*q);
    if (get_op(j) == OP_NEWTABLE && getarg_A(j) == a) break;
    if (get_op(j) == OP_SETLIST && getarg_A(j) == a) return getarg_B(j) == 0 ? c + 1 : c;
  }
  return c;
}

}  // namespace

// NEWTABLE with the constructor's size hints, as the interpreter sizes it,
// and room in the table's block for the slots its SETLIST fills
// (table_try_new: the array part grows there without allocating; asize
// stays the interpreter's).
bool Recorder::new_table(int a, const Instruction* pc) {
  Instruction i = plain_ins(*pc);
  if (getarg_k(i)) return false;  // an array hint beyond C, in EXTRAARG
  int b = getarg_B(i);
  Integer hsize = b > 0 ? Integer(1) << (b - 1) : 0;
  unsigned c = static_cast<unsigned>(getarg_C(i));
  Integer reserve = constructor_slots(cl_->p, pc, a, c);
  slots_.set(a, alloc(Helper::NewTable, Tag::Table, ir_.kint(c | reserve << 16 | hsize << 32)));
  return true;
}

namespace {

// The array size of table h (in the SETLIST's register while recording)
// when its block has room for the slots this SETLIST fills: the array in
// the block, no hash part (no key of them elsewhere), and inline slots up
// to last; the slots past the size are all this SETLIST's. -1 otherwise.
Integer roomy_array_size(const Table* h, Integer first, Integer last) {
  bool inline_array = h->ainline != 0 && h->array == reinterpret_cast<const TValue*>(h + 1);
  if (!inline_array || h->node != table_dummy_node() || h->asize < first || h->asize >= last || last > h->ainline)
    return -1;
  return h->asize;
}

}  // namespace

// SETLIST: raw stores into the array part, grown first where the
// constructor's size is short (a binary tree's {f(), f()}: the last call's
// results are not counted). A table with room in its block grows by the
// size's store after the values' (no call: guards that the room is
// there); any other by a helper that exits before the instruction where
// the interpreter must grow it.
bool Recorder::set_list(int a, Instruction i) {
  int n = getarg_B(i);
  if (getarg_k(i)) return false;
  if (n == 0) {
    if (slots_.top() < 0) return false;
    n = slots_.top() - (slots_.base() + a) - 1;
  }
  Integer last = getarg_C(i) + n;
  const TValue& tv = base_[a];
  if (!tv.is_table()) return false;
  if (n == 0) return true;
  Ref t = slot(a);
  Integer room = roomy_array_size(tv.as_table(), last - n, last);
  if (room >= 0) {
    // The same checks at run time (the table may be another by then: the
    // debug library reaches the constructor's register from its calls).
    auto field = [&](Field fd, IrType type) {
      IrIns fl = ir_ins(IrOp::FLOAD, type, t);
      fl.aux8 = static_cast<uint8_t>(fd);
      return ir_.emit(fl);
    };
    guard(IrOp::EQ, field(Field::TabAsize, IrType::Int), ir_.kint(room));
    guard(IrOp::GE, field(Field::TabAinline, IrType::Int), ir_.kint(last));
    guard(IrOp::EQ, field(Field::TabNode, IrType::Ptr), ir_.kptr(table_dummy_node()));
    // The block's first slot follows the 64-byte header: t's slot 5.
    static_assert(sizeof(Table) == 4 * sizeof(TValue));
    Ref slots = ir_.emit(ir_ins(IrOp::AREF, IrType::Ptr, t, ir_.kint(5)));
    guard(IrOp::EQ, field(Field::TabArray, IrType::Ptr), slots);
  }
  IrIns f = ir_ins(IrOp::FLOAD, IrType::Int, t);
  f.aux8 = static_cast<uint8_t>(Field::TabAsize);
  if (room < 0) {
    if (last > tv.as_table()->asize) alloc(Helper::TabGrowArray, Tag::Table, t, ir_.kint(last));
    guard(IrOp::ULT, ir_.kint(last - 1), ir_.emit(f));
  }
  f.type = IrType::Ptr;
  f.aux8 = static_cast<uint8_t>(Field::TabArray);
  Ref arr = ir_.emit(f);
  bool collectable = false;
  for (int k = 1; k <= n; k++) {
    Ref v = slot(a + k);
    Ref p = ir_.emit(ir_ins(IrOp::AREF, IrType::Ptr, arr, ir_.kint(last - n + k)));
    ir_.emit(ir_ins(IrOp::VSTORE, IrType::Void, p, v));
    collectable = collectable || (ir_[v].type == IrType::Gc && is_collectable_tag(ir_[v].tag));
  }
  if (room >= 0) {
    // After the values: an exit between them must not see slots counted
    // that hold no values yet.
    IrIns st = ir_ins(IrOp::FSTORE, IrType::Void, t, ir_.kint(last));
    st.aux8 = static_cast<uint8_t>(Field::TabAsize);
    ir_.emit(st);
  }
  if (collectable) helper(Helper::BarrierBack, IrType::Void, t);
  slots_.set_top(-1);
  return true;
}

// setmetatable(t, mt) for a table t without metatable and mt a table or
// nil (their types guarded), through SetMeta, which leaves before the call
// where t has a metatable (it may be protected) or mt has __gc (the library
// registers t for finalization).
Ref Recorder::set_metatable(int a, int nargs) {
  const TValue* args = base_ + a + 1;
  if (nargs != 2 || !args[0].is_table() || args[0].as_table()->metatable != nullptr) return NO_REF;
  if (!args[1].is_table() && !args[1].is_nil()) return NO_REF;
  Ref t = slot(a + 1), mt = slot(a + 2);
  alloc(Helper::SetMeta, Tag::Table, t, args[1].is_nil() ? ir_.kptr(nullptr) : mt);
  return t;
}

// CLOSURE (not in a dialect caching closures): NewClosure makes it with the
// upvalues the enclosing closure passes on; each local it captures is
// stored to its slot and given its open upvalue (found or made) by
// ClosureCapture. From then on the local lives in memory, read and written
// through the upvalue: the recording aborts on any access of its own, and
// exits do not write it back, until its upvalues are closed (CLOSE, or the
// return of its inlined frame). A local of the loop's frame the iteration
// loaded from the frame before capturing it aborts too: the next iteration
// would reuse that load. Each helper's result is guarded: the trace exits before the
// CLOSURE where the interpreter must collect first.
bool Recorder::closure(int a, int bx) {
  if (dialect(L_).closure_cache) return false;
  Proto* p = cl_->p->p[bx];
  Ref enc = frame_closure();
  Ref cl = alloc(Helper::NewClosure, Tag::LClosure, enc, ir_.kint(bx));
  for (int j = 0; j < p->sizeupvalues; j++) {
    const UpvalDesc& d = p->upvalues[j];
    if (!d.instack) continue;
    int s = d.idx;
    if (frames_.size() == 1 && slots_.was_loaded(s) && !slots_.is_captured(s)) return false;
    Ref level = ir_.emit(ir_ins(IrOp::SLOTREF, IrType::Ptr, NO_REF, NO_REF, slots_.base() + s));
    if (!slots_.is_captured(s) && slots_.peek(s) != NO_REF)
      ir_.emit(ir_ins(IrOp::VSTORE, IrType::Void, level, slots_.peek(s)));
    cl = alloc(Helper::ClosureCapture, Tag::LClosure, cl, level);
    slots_.capture(s);
  }
  slots_.set(a, cl);
  return true;
}

bool Recorder::close_upvalues(int from) {
  Ref level = ir_.emit(ir_ins(IrOp::SLOTREF, IrType::Ptr, NO_REF, NO_REF, slots_.base() + from));
  guard(IrOp::NE, helper(Helper::UpvalClose, IrType::Int, level), ir_.kint(0));
  slots_.release_from(slots_.base() + from);
  return true;
}

void Recorder::guard_str_tag(Ref s, Tag expect) {
  IrIns f = ir_ins(IrOp::FLOAD, IrType::Int, s);
  f.aux8 = static_cast<uint8_t>(Field::GcTag);
  guard(IrOp::EQ, ir_.emit(f), ir_.kint(static_cast<Integer>(expect)));
}

Ref Recorder::to_string(Ref r, const TValue& v) {
  return v.is_int() ? alloc(Helper::StrFromInt, Tag::ShortStr, r) : r;
}

// CONCAT of strings and numbers. Two strings or integers are joined by one
// helper; more pieces, or floats, go through the concatenation buffer into
// one string, as the interpreter makes one (a result too long for the buffer
// is joined two at a time, floats then left to the interpreter). The result's
// tag (short or long string) is guarded as recorded. Floats in a dialect
// printing them to read back (5.5) and anything with __concat stay
// interpreted.
bool Recorder::concat(int a, int n) {
  size_t total = 0;
  bool floats = false;
  for (int k = 0; k < n; k++) {
    const TValue& v = base_[a + k];
    char buf[MAX_NUMBER_TEXT];
    if (v.is_float() && dialect(L_).float_round_trip) return false;
    floats = floats || v.is_float();
    if (v.is_number()) total += static_cast<size_t>(number_to_text(v, buf));
    else if (v.is_string()) total += v.as_string()->len;
    else return false;
  }
  if (floats && total > 1024) return false;
  if ((n > 2 || floats) && total <= 1024) {
    // Every piece is loaded (and its type guarded) before the first goes
    // into the buffer: an exit in between would leave its text there.
    std::vector<Ref> pieces;
    for (int k = 0; k < n; k++) pieces.push_back(slot(a + k));
    for (int k = 0; k < n; k++)
      helper(base_[a + k].is_int()     ? Helper::BufPutInt
             : base_[a + k].is_float() ? Helper::BufPutNum
                                       : Helper::BufPutStr,
             IrType::Void, pieces[static_cast<size_t>(k)]);
    Tag expect = total <= MAX_SHORT_LEN ? Tag::ShortStr : Tag::LongStr;
    Ref s = alloc(Helper::BufStr, expect, NO_REF);
    guard_str_tag(s, expect);
    slots_.set(a, s);
    return true;
  }
  auto text_len = [&](const TValue& v) {
    char buf[MAX_NUMBER_TEXT];
    return v.is_int() ? static_cast<size_t>(number_to_text(v, buf)) : v.as_string()->len;
  };
  auto text_tag = [&](const TValue& v) { return v.is_int() ? Tag::ShortStr : v.tag; };
  const TValue& right = base_[a + n - 1];
  Ref acc = to_string(slot(a + n - 1), right);
  size_t len = text_len(right);
  Tag tag = text_tag(right);
  for (int k = n - 2; k >= 0; k--) {
    const TValue& v = base_[a + k];
    Ref x = to_string(slot(a + k), v);
    size_t xl = text_len(v);
    // As vm_concat: an empty side gives the other as it is.
    Tag expect = len == 0 ? text_tag(v) : xl == 0 ? tag : xl + len <= MAX_SHORT_LEN ? Tag::ShortStr : Tag::LongStr;
    acc = alloc(Helper::StrConcat, expect, x, acc);
    guard_str_tag(acc, expect);
    len += xl;
    tag = expect;
  }
  slots_.set(a, acc);
  return true;
}

}  // namespace luna::jit
