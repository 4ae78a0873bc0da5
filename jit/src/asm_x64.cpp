// x86-64 backend. Frame: r12 holds the State*, r13 the frame base; r10/r11
// and xmm14/xmm15 are scratch; spill slots sit on the native stack. The trace
// body runs from `top` to the LOOP instruction, which writes back the
// modified slots and jumps to `top`. Every guard jumps to its own exit block,
// which writes the guard's snapshot into the Lua frame (plain stores: the
// restore cannot fail) and returns the snapshot's number.
#include "asm_x64.hpp"
#include "builtin.hpp"

#include "snapshot.hpp"

#include "jit_seam.hpp"
#include "object_layout.hpp"
#include "pool.hpp"
#include "format_item.hpp"
#include "short_bytes.hpp"

#include <asmjit/x86.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <unordered_map>

namespace luna::jit {

using namespace asmjit;

// The traces with a typed entry (Trace::typed_entry), by Trace::post: what
// CALLOUTs jump to. Likewise those with a guarded entry
// (Trace::guarded_entry): what side traces' links jump to.
using TypedEntries = std::unordered_map<const void*, const Trace*>;

struct CodeArena::Runtime {
  JitRuntime rt;
  void* seam_return = nullptr;  // Trace::seam_return, made with the first trace
  void* native_return = nullptr;  // Trace::native_return, made with it
  TypedEntries typed;
  TypedEntries guarded;
};

CodeArena::CodeArena() : rt_(std::make_unique<Runtime>()) {}
CodeArena::~CodeArena() = default;

void CodeArena::release(Trace* t) {
  rt_->typed.erase(t->post);
  rt_->guarded.erase(t->post);
  if (t->entry != nullptr) rt_->rt.release(t->entry);
  t->entry = nullptr;
}

namespace {

// The signed magic number M and shift s for a division by d > 1: n / d
// truncated is (high 64 bits of n * M, plus n when M is negative as a signed
// number) >> s, plus one when n is negative (Hacker's Delight, 10-1).
std::pair<Integer, int> signed_magic(Integer d) {
  const Unsigned two63 = Unsigned(1) << 63;
  const Unsigned ad = static_cast<Unsigned>(d);
  const Unsigned anc = two63 - 1 - two63 % ad;
  int p = 63;
  Unsigned q1 = two63 / anc, r1 = two63 - q1 * anc;
  Unsigned q2 = two63 / ad, r2 = two63 - q2 * ad;
  Unsigned delta;
  do {
    p++;
    q1 *= 2;
    r1 *= 2;
    if (r1 >= anc) {
      q1++;
      r1 -= anc;
    }
    q2 *= 2;
    r2 *= 2;
    if (r2 >= ad) {
      q2++;
      r2 -= ad;
    }
    delta = ad - r2;
  } while (q1 < delta || (q1 == delta && r1 == 0));
  return {static_cast<Integer>(q2 + 1), p - 64};
}

// Helpers called from traces: noexcept, no allocation, no Lua errors.
Integer h_int_idiv(Integer a, Integer b) noexcept { return int_floor_div(a, b); }
Integer h_int_mod(Integer a, Integer b) noexcept { return int_mod(a, b); }
Integer h_shl(Integer a, Integer b) noexcept { return shift_left(a, b); }
Integer h_udiv(Integer a, Integer b) noexcept { return static_cast<Integer>(static_cast<Unsigned>(a) / static_cast<Unsigned>(b)); }
// Float `%` of integral values below 2^53 (richards' `control % 2`): there
// fmod's result is exactly the integer remainder, with a zero taking a's
// sign, so this returns what float_mod returns without fmod's loop.
Number h_num_mod(Number a, Number b) noexcept {
  constexpr Number kExact = 0x1p53;
  if (a > -kExact && a < kExact && b > -kExact && b < kExact) {
    const auto ia = static_cast<Integer>(a), ib = static_cast<Integer>(b);
    if (ib != 0 && static_cast<Number>(ia) == a && static_cast<Number>(ib) == b) {
      const Integer r = ia % ib;
      Number m = r == 0 ? std::copysign(0.0, a) : static_cast<Number>(r);
      if ((m > 0) ? b < 0 : (m < 0 && b > 0)) m += b;
      return m;
    }
  }
  return float_mod(a, b);
}
Number h_num_pow(Number a, Number b) noexcept { return b == 2 ? a * a : std::pow(a, b); }
Number h_num_fmod(Number a, Number b) noexcept { return std::fmod(a, b); }
Number h_num_sin(Number a) noexcept { return std::sin(a); }
Number h_num_cos(Number a) noexcept { return std::cos(a); }
Number h_num_exp(Number a) noexcept { return std::exp(a); }
Number h_num_log(Number a) noexcept { return std::log(a); }
Integer h_tab_len(Table* t) noexcept { return table_length_hinted(t); }
const TValue* h_tab_get_str(Table* t, String* k) noexcept { return table_get_short_str(t, k); }
const TValue* h_tab_get_int(Table* t, Integer k) noexcept { return table_get_int(t, k); }
TValue* h_tab_set_str(State* L, Table* t, String* k) noexcept { return table_try_set_slot(L, t, str_value(k)); }
TValue* h_tab_set_int(State* L, Table* t, Integer k) noexcept { return table_try_set_slot(L, t, TValue::integer(k)); }
void h_barrier_back(State* L, Table* t) noexcept { gc_barrier_back(L, t); }
void h_barrier_obj(State* L, GCObject* p, GCObject* c) noexcept { gc_barrier_obj(L, p, c); }
// sizes: the array size in bits 0-15, the slots to reserve in 16-31, the
// hash size in 32-63 (Recorder::new_table).
Table* h_new_table(State* L, Integer sizes) noexcept {
  return table_try_new(L->g, static_cast<unsigned>(sizes & 0xffff), static_cast<unsigned>(sizes >> 32),
                       static_cast<unsigned>(sizes >> 16 & 0xffff));
}
Table* h_tab_grow_array(State* L, Table* t, Integer nasize) noexcept {
  return table_try_grow_array(L, t, static_cast<unsigned>(nasize)) ? t : nullptr;
}
Table* h_set_meta(State* L, Table* t, Table* mt) noexcept {
  String* gc = L->g->tmname[TM_GC];
  if (t->metatable != nullptr || (mt != nullptr && gc != nullptr && !table_get_short_str(mt, gc)->is_nil())) return nullptr;
  t->metatable = mt;
  if (mt != nullptr) gc_barrier_obj(L, t, mt);
  return t;
}
Integer h_upval_close(State* L, TValue* level) noexcept { return upval_try_close(L, level); }
LClosure* h_new_closure(State* L, LClosure* enc, Integer bx) noexcept {
  Proto* p = enc->p->p[bx];
  LClosure* cl = lclosure_try_new(L->g, p);
  if (cl != nullptr)
    for (int j = 0; j < p->sizeupvalues; j++)
      if (!p->upvalues[j].instack) cl->upvals[j] = enc->upvals[p->upvalues[j].idx];
  return cl;
}
// The next upvalue of the stack (the first still null) is level's.
LClosure* h_closure_capture(State* L, LClosure* cl, TValue* level) noexcept {
  UpVal* uv = upval_try_find(L, level);
  if (uv == nullptr) return nullptr;
  int j = 0;
  while (cl->upvals[j] != nullptr) j++;
  cl->upvals[j] = uv;
  gc_barrier_obj(L, cl, uv);
  return cl;
}
// As vm_concat joins two strings; the interpreter charges long ones to an
// instruction budget, so with one counting it is the interpreter's.
String* h_str_concat(State* L, String* a, String* b) noexcept {
  GlobalState* g = L->g;
  if (g->instr_budget != 0) return nullptr;
  if (b->len == 0) return a;
  if (a->len == 0) return b;
  size_t tl = a->len + b->len;
  if (tl < a->len) return nullptr;
  if (tl <= MAX_SHORT_LEN) {
    char buf[MAX_SHORT_LEN];
    bytes::copy(buf, a->data, a->len);
    bytes::copy(buf + a->len, b->data, b->len);
    return str_try_new(g, buf, tl);
  }
  String* s = str_try_new(g, nullptr, tl);
  if (s != nullptr) {
    std::memcpy(s->data, a->data, a->len);
    std::memcpy(s->data + a->len, b->data, b->len);
  }
  return s;
}
String* h_str_from_int(State* L, Integer i) noexcept {
  char buf[MAX_NUMBER_TEXT];
  int n = number_to_text(TValue::integer(i), buf);
  return str_try_new(L->g, buf, static_cast<size_t>(n));
}
// find charges its search to an instruction budget: the interpreter's.
Integer h_str_find_item(State* L, String* s, Integer init, const FindItem* item) noexcept {
  return L->g->instr_budget != 0 ? -1 : str_find_item_at(s, init, item);
}
Integer h_str_find_chain(State* L, String* s, Integer init, const FindChain* chain) noexcept {
  return L->g->instr_budget != 0 ? -1 : str_find_chain_at(s, init, chain);
}
String* h_str_gsub_item(State* L, String* s, Table* t, const FindItem* item) noexcept {
  return L->g->instr_budget != 0 ? nullptr : str_gsub_item(L->g, s, t, item);
}
// string.sub charges its bytes to an instruction budget: the interpreter's.
String* h_str_new(State* L, const char* p, Integer len) noexcept {
  return L->g->instr_budget != 0 ? nullptr : str_try_new(L->g, p, static_cast<size_t>(len));
}
// The concatenation buffer of the running thread: a trace fills it and
// makes its string with no guard in between, so no other trace interleaves.
// A result longer than the buffer is the interpreter's. Constant
// initialised, so its uses need no first-use guard.
struct ConcatBuffer {
  static constexpr size_t kSize = 1024;
  size_t len = 0;
  bool overflow = false;
  char data[kSize] = {};
  // A short piece with room (most of them) is a few word moves and no
  // saved registers; the rest is put out of line.
  void put(const char* p, size_t n) {
    size_t at = len;
    if (n <= MAX_SHORT_LEN && n <= kSize - at) [[likely]] {
      len = at + n;  // before the copy, whose stores could alias it
      bytes::copy(data + at, p, n);
      return;
    }
    put_long(p, n);
  }
  [[gnu::noinline]] void put_long(const char* p, size_t n) {
    if (n > kSize - len) {
      overflow = true;
      return;
    }
    std::memcpy(data + len, p, n);
    len += n;
  }
};
constinit thread_local ConcatBuffer concat_buffer;
void h_buf_put_str(State*, String* s) noexcept { concat_buffer.put(s->data, s->len); }
// A number's text is written in place when the buffer has room for any.
template <typename Value, int (*to_text)(Value, char*)>
void put_number(Value v) {
  ConcatBuffer& b = concat_buffer;
  size_t at = b.len;
  if (ConcatBuffer::kSize - at >= static_cast<size_t>(MAX_NUMBER_TEXT)) {
    b.len = at + static_cast<size_t>(to_text(v, b.data + at));
    return;
  }
  char buf[MAX_NUMBER_TEXT];
  b.put(buf, static_cast<size_t>(to_text(v, buf)));
}
int float_to_text(Number n, char* buf) { return number_to_text(TValue::number(n), buf); }
void h_buf_put_int(State*, Integer i) noexcept { put_number<Integer, integer_to_text>(i); }
void h_buf_put_num(Number n) noexcept { put_number<Number, float_to_text>(n); }
// string.format's conversions (record_format.cpp), written in place with
// the literal bytes that follow (format_word). What the library would
// reject, or a decimal point other than '.', spoils the buffer: the string
// is not made, and the trace leaves for the interpreter's call, which
// formats it or raises its error.
char* format_room() {
  ConcatBuffer& b = concat_buffer;
  if (ConcatBuffer::kSize - b.len >= MAX_FORMAT_ITEM + 2) return b.data + b.len;
  b.overflow = true;
  return nullptr;
}
void format_done(size_t n, uint64_t word) {
  ConcatBuffer& b = concat_buffer;
  b.data[b.len + n] = static_cast<char>(word >> 34);
  b.data[b.len + n + 1] = static_cast<char>(word >> 42);
  b.len += n + format_word_suffix_len(word);
}
void h_buf_fmt_int(State*, Integer i, Integer word) noexcept {
  auto w = static_cast<uint64_t>(word);
  if (char* o = format_room()) format_done(format_integer_item(FormatSpec::unpack(static_cast<uint32_t>(w)), i, o), w);
}
void h_buf_fmt_num(Number x, Number word) noexcept {
  auto w = static_cast<uint64_t>(word);
  if (!format_point_is_dot()) {
    concat_buffer.overflow = true;
    return;
  }
  if (char* o = format_room()) format_done(format_float_item(FormatSpec::unpack(static_cast<uint32_t>(w)), x, o), w);
}
void h_buf_fmt_str(State*, String* s, Integer word) noexcept {
  auto w = static_cast<uint64_t>(word);
  FormatSpec spec = FormatSpec::unpack(static_cast<uint32_t>(w));
  size_t shown = spec.precision >= 0 ? std::min(s->len, static_cast<size_t>(spec.precision)) : s->len;
  if (std::memchr(s->data, '\0', s->len) != nullptr) {
    concat_buffer.overflow = true;  // "string contains zeros"
    return;
  }
  if (shown >= spec.width) {
    concat_buffer.put(s->data, shown);
    if (format_room() != nullptr) format_done(0, w);
  } else if (char* o = format_room()) {
    format_done(format_string_item(spec, s->data, shown, o), w);
  }
}
void h_buf_put_lit(State*, const char* p, Integer len) noexcept { concat_buffer.put(p, static_cast<size_t>(len)); }
String* h_buf_str(State* L) noexcept {
  ConcatBuffer& b = concat_buffer;
  String* s = b.overflow || L->g->instr_budget != 0 ? nullptr : str_try_new(L->g, b.data, b.len);
  b.len = 0;
  b.overflow = false;
  return s;
}
String* h_str_char(State* L, Integer c) noexcept {
  char ch = static_cast<char>(c);
  return str_try_new(L->g, &ch, 1);
}

const void* helper_addr(Helper h) {
  switch (h) {
    case Helper::IntIdiv: return reinterpret_cast<const void*>(&h_int_idiv);
    case Helper::IntMod: return reinterpret_cast<const void*>(&h_int_mod);
    case Helper::Shl: return reinterpret_cast<const void*>(&h_shl);
    case Helper::UDiv: return reinterpret_cast<const void*>(&h_udiv);
    case Helper::NumMod: return reinterpret_cast<const void*>(&h_num_mod);
    case Helper::NumPow: return reinterpret_cast<const void*>(&h_num_pow);
    case Helper::NumFmod: return reinterpret_cast<const void*>(&h_num_fmod);
    case Helper::NumSin: return reinterpret_cast<const void*>(&h_num_sin);
    case Helper::NumCos: return reinterpret_cast<const void*>(&h_num_cos);
    case Helper::NumExp: return reinterpret_cast<const void*>(&h_num_exp);
    case Helper::NumLog: return reinterpret_cast<const void*>(&h_num_log);
    case Helper::TabLen: return reinterpret_cast<const void*>(&h_tab_len);
    case Helper::TabGetStr: return reinterpret_cast<const void*>(&h_tab_get_str);
    case Helper::TabGetInt: return reinterpret_cast<const void*>(&h_tab_get_int);
    case Helper::TabSetStr: return reinterpret_cast<const void*>(&h_tab_set_str);
    case Helper::TabSetInt: return reinterpret_cast<const void*>(&h_tab_set_int);
    case Helper::BarrierBack: return reinterpret_cast<const void*>(&h_barrier_back);
    case Helper::BarrierObj: return reinterpret_cast<const void*>(&h_barrier_obj);
    case Helper::NewTable: return reinterpret_cast<const void*>(&h_new_table);
    case Helper::TabGrowArray: return reinterpret_cast<const void*>(&h_tab_grow_array);
    case Helper::SetMeta: return reinterpret_cast<const void*>(&h_set_meta);
    case Helper::UpvalClose: return reinterpret_cast<const void*>(&h_upval_close);
    case Helper::StrFindItem: return reinterpret_cast<const void*>(&h_str_find_item);
    case Helper::StrFindChain: return reinterpret_cast<const void*>(&h_str_find_chain);
    case Helper::StrGsubItem: return reinterpret_cast<const void*>(&h_str_gsub_item);
    case Helper::TabAppend: return reinterpret_cast<const void*>(&table_try_append_slot);
    case Helper::NewClosure: return reinterpret_cast<const void*>(&h_new_closure);
    case Helper::ClosureCapture: return reinterpret_cast<const void*>(&h_closure_capture);
    case Helper::StrConcat: return reinterpret_cast<const void*>(&h_str_concat);
    case Helper::StrFromInt: return reinterpret_cast<const void*>(&h_str_from_int);
    case Helper::StrNew: return reinterpret_cast<const void*>(&h_str_new);
    case Helper::StrChar: return reinterpret_cast<const void*>(&h_str_char);
    case Helper::BufPutStr: return reinterpret_cast<const void*>(&h_buf_put_str);
    case Helper::BufPutInt: return reinterpret_cast<const void*>(&h_buf_put_int);
    case Helper::BufPutNum: return reinterpret_cast<const void*>(&h_buf_put_num);
    case Helper::BufStr: return reinterpret_cast<const void*>(&h_buf_str);
    case Helper::BufFmtInt: return reinterpret_cast<const void*>(&h_buf_fmt_int);
    case Helper::BufFmtNum: return reinterpret_cast<const void*>(&h_buf_fmt_num);
    case Helper::BufFmtStr: return reinterpret_cast<const void*>(&h_buf_fmt_str);
    case Helper::BufPutLit: return reinterpret_cast<const void*>(&h_buf_put_lit);
  }
  return nullptr;
}

// Field offsets of core objects, by name (object_layout.hpp).
int32_t field_offset(Field f, int32_t aux) {
  switch (f) {
    case Field::TabArray: return layout::TABLE_ARRAY;
    case Field::TabAsize: return layout::TABLE_ASIZE;
    case Field::TabMeta: return layout::TABLE_METATABLE;
    case Field::TabNode: return layout::TABLE_NODE;
    case Field::TabLsizenode: return layout::TABLE_LSIZENODE;
    case Field::TabFlags: return layout::TABLE_FLAGS;
    case Field::TabAinline: return layout::TABLE_AINLINE;
    case Field::ClProto: return layout::LCLOSURE_PROTO;
    case Field::ClUpval: return static_cast<int32_t>(layout::LCLOSURE_UPVALS + sizeof(UpVal*) * static_cast<size_t>(aux));
    case Field::NClFn: return layout::NCLOSURE_F;
    case Field::UvValue: return layout::UPVAL_V;
    case Field::StrLen: return layout::STRING_LEN;
    case Field::GcTag: return layout::GC_TAG;
    case Field::Deref: return 0;
  }
  return 0;
}
constexpr int32_t kNodeKeyPayload = layout::NODE_KEY_PAYLOAD;
constexpr int32_t kNodeKeyTag = layout::NODE_KEY_TAG;
constexpr int32_t kNodeVal = layout::NODE_VAL;
constexpr int32_t kTagOff = layout::TVALUE_TAG;
// State and GlobalState are not heap objects the layout header names.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
constexpr int32_t kStateG = offsetof(State, g);
constexpr int32_t kStateHookmask = offsetof(State, hookmask);
constexpr int32_t kGlobalBudget = offsetof(GlobalState, instr_budget);
constexpr int32_t kTableLenhint = offsetof(Table, lenhint);
#ifndef LUNA_POOL_ASAN  // what new_table_inline writes, which ASan builds leave to the helper
constexpr int32_t kGlobalGcdebt = offsetof(GlobalState, gcdebt);
constexpr int32_t kGlobalTotalbytes = offsetof(GlobalState, totalbytes);
constexpr int32_t kGlobalMemlimit = offsetof(GlobalState, memlimit);
constexpr int32_t kGlobalPooled = offsetof(GlobalState, pooled);
constexpr int32_t kGlobalAllgc = offsetof(GlobalState, allgc);
constexpr int32_t kGlobalPoolFree = offsetof(GlobalState, pool) + offsetof(SmallPool, free);
constexpr int32_t kTableLastfree = offsetof(Table, lastfree);
constexpr int32_t kTableGclist = offsetof(Table, gclist);
constexpr int32_t kTvaluePayload = layout::TVALUE_PAYLOAD;
#endif
constexpr int32_t kStateCi = offsetof(State, ci);
constexpr int32_t kStateTop = offsetof(State, top);
constexpr int32_t kStateStackLast = offsetof(State, stack_last);
constexpr int32_t kCiFunc = offsetof(CallInfo, func);
constexpr int32_t kCiTop = offsetof(CallInfo, top);
constexpr int32_t kCiPrevious = offsetof(CallInfo, previous);
constexpr int32_t kCiNext = offsetof(CallInfo, next);
constexpr int32_t kCiSavedpc = offsetof(CallInfo, savedpc);
constexpr int32_t kCiTrap = offsetof(CallInfo, trap);
constexpr int32_t kCiNextraargs = offsetof(CallInfo, nextraargs);
constexpr int32_t kCiNresults = offsetof(CallInfo, nresults);
constexpr int32_t kCiCont = offsetof(CallInfo, ctx);
constexpr int32_t kCiCallstatus = offsetof(CallInfo, callstatus);
// CALLOUT stores these pairs with one instruction each.
static_assert(kCiNextraargs == kCiTrap + 4 && sizeof(CallInfo::trap) == 4 && sizeof(CallInfo::nextraargs) == 4);
static_assert(kCiCallstatus == kCiNresults + 2 && sizeof(CallInfo::nresults) == 2 && sizeof(CallInfo::callstatus) == 2);
// And the fields from savedpc to the end with two 16-byte moves.
static_assert(kCiTrap == kCiSavedpc + 8 && kCiCont == kCiSavedpc + 16 && kCiNresults == kCiSavedpc + 24 &&
              sizeof(CallInfo) == kCiSavedpc + 32);
#pragma GCC diagnostic pop

const x86::Gp rL = x86::r12, rBase = x86::r13, s0 = x86::r10, s1 = x86::r11;
const x86::Xmm f0 = x86::xmm14, f1 = x86::xmm15;

bool fits32(Integer v) { return v >= INT32_MIN && v <= INT32_MAX; }
// Float arithmetic in the three-operand VEX forms where the CPU has them.
const bool kAvx = CpuInfo::host().hasFeature(CpuFeatures::X86::kAVX);

class Emitter {
 public:
  Emitter(const IrBuffer& ir, const Allocation& al, x86::Assembler& a, ExitInfo* exits, bool budget_free,
          const TypedEntries& typed, const TypedEntries& guarded, void* seam_return)
      : ir_(ir), al_(al), a_(a), typed_entries_(typed), guarded_entries_(guarded), emitted_early_(ir.size(), false), exits_info_(exits),
        nsnap_(ir.snapshots().size()),
        budget_free_(budget_free), seam_return_(seam_return) {
    post_ = a_.newLabel();
    checked_ = a_.newLabel();
    typed_ = a_.newLabel();
    guarded_ = a_.newLabel();
    self_ = a_.newLabel();
  }

  void run(int frame) {
    frame_ = frame;
    // Other traces enter at post_, from their own native frame, whose saved
    // registers stay pushed, with r12 and r13 already set and kLinkFrame
    // bytes below the pushes: a trace with that frame size jumps to another
    // without adjusting rsp or moving registers (fib's calls and returns).
    for (const x86::Gp& g : kSaved) a_.push(g);
    a_.sub(x86::rsp, kLinkFrame);
    a_.mov(rL, x86::rdi);
    a_.mov(rBase, x86::rsi);
    a_.bind(post_);
    hoist_entry_guards();
    if (frame != kLinkFrame) a_.sub(x86::rsp, frame - kLinkFrame);
    done_ = a_.newLabel();
    Label& done = done_;
    Label top = a_.newLabel();
    loop_ = a_.newLabel();
    a_.bind(top);
    find_self_entry();
    find_leaf();
    for (Ref r = 1; r < ir_.size(); r++) emit(r, top);
    doubled_ = NO_REF;
    // The hoisted tag tests run before the frame's rsp adjustment.
    for (const auto& [from, to] : entry_exits_) {
      a_.bind(from);
      a_.sub(x86::rsp, frame - kLinkFrame);
      a_.jmp(to);
    }
    // Exit blocks: write the snapshot, then continue in the side trace
    // attached to the exit, if any, else return the exit's record.
    for (const PendingExit& e : exits_) {
      a_.bind(e.label);
      if (e.undo_dec >= 0) a_.add(x86::gpq(static_cast<uint32_t>(e.undo_dec)), 1);
      write_snapshot(e.snap, e.pos);
      exit_code(e);
      a_.jmp(done);
    }
    for (const PendingExit& e : plain_exits_) {
      a_.bind(e.label);
      a_.mov(x86::rax, reinterpret_cast<uint64_t>(&exits_info_[nsnap_ + static_cast<size_t>(e.snap)]));
      a_.jmp(done);
    }
    a_.bind(done);
    a_.add(x86::rsp, frame);
    for (int k = 5; k >= 0; k--) a_.pop(kSaved[k]);
    a_.ret();
    // The float constants the code reads, behind it.
    a_.align(AlignMode::kData, 8);
    for (const auto& [bits, label] : knums_) {
      a_.bind(label);
      a_.embedUInt64(bits);
    }
    for (const CiTail& t : ci_tails_) {
      a_.bind(t.label);
      a_.embedUInt64(t.savedpc);
      a_.embedUInt64(0);
      a_.embedLabel(t.cont, 8);
      a_.embedUInt64(t.nresults);
    }
    for (const auto& [pat, label] : find_items_) {
      FindItem item{};
      str_find_item(pat, &item);  // the recorder checked it is one
      a_.bind(label);
      a_.embed(&item, sizeof item);
    }
    for (const auto& [pat, label] : find_chains_) {
      FindChain chain{};
      str_find_chain(pat, &chain);  // the recorder checked it is one
      a_.bind(label);
      a_.embed(&chain, sizeof chain);
    }
  }

 private:
  static constexpr x86::Gp kSaved[] = {x86::rbx, x86::rbp, x86::r12, x86::r13, x86::r14, x86::r15};

 public:
  // The native frame below the pushes when traces jump into each other
  // (Trace::post); the smallest frame, which keeps rsp 16-byte aligned.
  static constexpr int kLinkFrame = 8;

 private:

  struct PendingExit {
    Label label;
    int snap;
    Ref pos;
    bool sideable = true;
    int undo_dec = -1;  // a register decremented before the guard's jump: add 1 back
  };

  // Jumps to ex when a hook is set or an instruction budget counts: both
  // are the interpreter's to handle.
  // Function traces and their side traces are entered only while no budget
  // counts (calls stay interpreted under one, a loop trace's CALLOUT tests
  // it, and loop traces never link into them), and compiled code cannot
  // set one: they test the hook mask alone, which may be set
  // asynchronously.
  void leave_for_hook_or_budget(const Label& ex) {
    a_.cmp(x86::dword_ptr(rL, kStateHookmask), 0);
    a_.jne(ex);
    if (budget_free_) return;
    a_.mov(s1, x86::qword_ptr(rL, kStateG));
    a_.cmp(x86::qword_ptr(s1, kGlobalBudget), 0);
    a_.jne(ex);
  }

  // A link into an inlined callee's loop: the stores rebuild_frames makes
  // for the snapshot's exit, with its frames known here (no call, no walk
  // of the frame chain). Every slot is in the frame, so any caller-saved
  // register is free; the CallInfos were reserved by the seam on entry.
  void make_frames_real(const Snapshot& s) {
    const x86::Gp c = x86::rcx, func = x86::rdx, v = x86::rax;
    a_.mov(c, x86::qword_ptr(rL, kStateCi));
    a_.mov(func, x86::qword_ptr(c, kCiFunc));
    if (s.top >= 0) {
      a_.lea(v, x86::ptr(func, (1 + s.top) * 16));
      a_.mov(x86::qword_ptr(rL, kStateTop), v);
    }
    if (s.frame < 0) return;
    std::vector<int32_t> chain;
    for (int32_t f = s.frame; f >= 0; f = ir_.snap_frames()[static_cast<size_t>(f)].parent) chain.push_back(f);
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      const SnapFrame& sf = ir_.snap_frames()[static_cast<size_t>(*it)];
      a_.mov(v, reinterpret_cast<uint64_t>(sf.ret_pc));
      a_.mov(x86::qword_ptr(c, kCiSavedpc), v);
      a_.mov(c, x86::qword_ptr(c, kCiNext));
      a_.lea(v, x86::ptr(func, (1 + sf.func_slot) * 16));
      a_.mov(x86::qword_ptr(c, kCiFunc), v);
      a_.lea(x86::rsi, x86::ptr(v, (1 + sf.maxstack) * 16));
      a_.mov(x86::qword_ptr(c, kCiTop), x86::rsi);
      // nresults and callstatus in one store, trap and nextraargs (0) in
      // another.
      uint32_t status = sf.tail ? CIST_TAIL : 0;
      a_.mov(x86::dword_ptr(c, kCiNresults),
             static_cast<int32_t>(static_cast<uint16_t>(static_cast<int16_t>(sf.nresults)) | status << 16));
      a_.mov(x86::qword_ptr(c, kCiTrap), 0);
      a_.mov(v, reinterpret_cast<uint64_t>(seam_return_));
      a_.mov(x86::qword_ptr(c, kCiCont), v);
    }
    a_.mov(v, reinterpret_cast<uint64_t>(s.pc));
    a_.mov(x86::qword_ptr(c, kCiSavedpc), v);
    a_.mov(x86::qword_ptr(rL, kStateCi), c);
    if (s.top < 0) a_.mov(x86::qword_ptr(rL, kStateTop), x86::rsi);
  }

  // At a link into the loop of an inlined callee (its frame made real, now
  // L->ci, in rcx) or below the frame the trace was entered with: leaves
  // through ex unless the stack above the frame's base and the CallInfos
  // above it hold what that prototype's traces reserve (read at each link,
  // as later traces of it may need more), as the seam checks on entry.
  // Every scratch register is free here: the snapshot is written.
  void has_room(const Label& ex) {
    const x86::Gp c = x86::rcx, res = x86::rax, v = x86::rdx, n = x86::esi;
    a_.mov(res, reinterpret_cast<uint64_t>(ir_.link_reserve));
    a_.mov(v, x86::qword_ptr(c, kCiFunc));
    a_.add(v, x86::qword_ptr(res, static_cast<int32_t>(offsetof(Reserve, stack_bytes))));
    a_.add(v, 16);
    a_.cmp(v, x86::qword_ptr(rL, kStateStackLast));
    a_.ja(ex);
    Label done = a_.newLabel(), next = a_.newLabel();
    a_.mov(n, x86::dword_ptr(res, static_cast<int32_t>(offsetof(Reserve, frames))));
    a_.test(n, n);
    a_.jz(done);
    a_.bind(next);
    a_.mov(c, x86::qword_ptr(c, kCiNext));
    a_.test(c, c);
    a_.jz(ex);
    a_.sub(n, 1);
    a_.jnz(next);
    a_.bind(done);
  }

  // Leaves this trace's frame and jumps to another trace's post (or this
  // one's), with the same State and the base at base_off bytes from this
  // one's (an inlined callee's or a CALLOUT's callee): the registers this
  // trace's entry saved stay pushed, for the other trace's epilogue to
  // restore, so traces chain without growing the native stack. The frame
  // holds every slot by now.
  void leave_frame(int32_t base_off) {
    if (base_off != 0) a_.lea(rBase, x86::ptr(rBase, base_off));
    if (frame_ != kLinkFrame) a_.add(x86::rsp, frame_ - kLinkFrame);
  }
  void tail_jump_label(const Label& target, int32_t base_off) {
    leave_frame(base_off);
    a_.jmp(target);
  }
  void tail_jump(const x86::Gp& target, int32_t base_off = 0) {
    leave_frame(base_off);
    a_.jmp(target);
  }

  const Interval& iv(Ref r) const { return al_.iv[r]; }
  x86::Mem spill_mem(Ref r) const { return x86::qword_ptr(x86::rsp, iv(r).spill * 8); }
  static x86::Mem slot_mem(int slot, int32_t extra = 0) { return x86::qword_ptr(rBase, slot * 16 + extra); }

  Label exit_label(Ref pos) {
    const IrIns& g = ir_[pos];
    PendingExit e{a_.newLabel(), g.snap, pos, !(g.op == IrOp::NE && g.aux8 == kGuardTransient)};
    exits_.push_back(e);
    return e.label;
  }

  // The value of r at pos in a general register (scratch when needed).
  x86::Gp gp(Ref r, Ref pos, const x86::Gp& scratch) {
    const IrIns& i = ir_[r];
    if (i.op == IrOp::KINT) { a_.mov(scratch, i.k.i); return scratch; }
    if (i.op == IrOp::KGC || i.op == IrOp::KPTR) { a_.mov(scratch, reinterpret_cast<uint64_t>(i.k.p)); return scratch; }
    if (iv(r).in_reg(pos)) return x86::gpq(static_cast<uint32_t>(iv(r).reg));
    a_.mov(scratch, spill_mem(r));
    return scratch;
  }
  bool zero_knum(Ref r) const { return ir_[r].op == IrOp::KNUM && knum_bits(r) == 0; }
  x86::Xmm xmm(Ref r, Ref pos, const x86::Xmm& scratch) {
    if (zero_knum(r)) {
      a_.xorps(scratch, scratch);
      return scratch;
    }
    if (iv(r).in_reg(pos) && ir_[r].op != IrOp::KNUM) return x86::xmm(static_cast<uint32_t>(iv(r).reg));
    a_.movsd(scratch, num_mem(r));
    return scratch;
  }
  // A float operand read straight from memory (a constant behind the code,
  // a spill slot) or its register.
  bool num_in_mem(Ref r, Ref pos) const { return ir_[r].op == IrOp::KNUM || !iv(r).in_reg(pos); }
  x86::Mem num_mem(Ref r) {
    if (ir_[r].op != IrOp::KNUM) return spill_mem(r);
    uint64_t bits = knum_bits(r);
    auto it = knums_.find(bits);
    if (it == knums_.end()) it = knums_.emplace(bits, a_.newLabel()).first;
    return x86::qword_ptr(it->second);
  }
  // The FindItem of pattern pat, behind the code as the float constants.
  x86::Mem find_item_mem(const String* pat) {
    auto it = find_items_.find(pat);
    if (it == find_items_.end()) it = find_items_.emplace(pat, a_.newLabel()).first;
    return x86::ptr(it->second);
  }
  // The FindChain of pattern pat, likewise.
  x86::Mem find_chain_mem(const String* pat) {
    auto it = find_chains_.find(pat);
    if (it == find_chains_.end()) it = find_chains_.emplace(pat, a_.newLabel()).first;
    return x86::ptr(it->second);
  }
  uint64_t knum_bits(Ref r) const {
    uint64_t bits;
    std::memcpy(&bits, &ir_[r].k.n, sizeof bits);
    return bits;
  }
  // Destination of r's definition, and the store to its slot afterwards.
  x86::Gp dst_gp(Ref r) { return iv(r).reg >= 0 && iv(r).in_reg(r) ? x86::gpq(static_cast<uint32_t>(iv(r).reg)) : s0; }
  x86::Xmm dst_xmm(Ref r) { return iv(r).reg >= 0 && iv(r).in_reg(r) ? x86::xmm(static_cast<uint32_t>(iv(r).reg)) : f0; }
  void finish(Ref r, const x86::Gp& g) { if (iv(r).spill >= 0) a_.mov(spill_mem(r), g); }
  void finish(Ref r, const x86::Xmm& x) { if (iv(r).spill >= 0) a_.movsd(spill_mem(r), x); }

  // A field of the TValue at tv, size bytes wide.
  static x86::Mem field(const x86::Mem& tv, int32_t off, uint32_t size) {
    x86::Mem m = tv.cloneAdjusted(off);
    m.setSize(size);
    return m;
  }
  // The TValue at the address value p: in its register, or formed from the
  // operands of a fused AREF or HREFK (base in its register or s0, a
  // variable index doubled into s1).
  x86::Mem tvalue_at(Ref p, Ref pos, const x86::Gp& scratch) {
    if (!al_.fused[p]) return x86::qword_ptr(gp(p, pos, scratch));
    const IrIns& a = ir_[p];
    x86::Gp base = gp(a.a, pos, s0);
    if (a.op == IrOp::HREFK) return x86::qword_ptr(base, a.aux * static_cast<int32_t>(layout::NODE_SIZE) + kNodeVal);
    const IrIns& k = ir_[a.b];
    if (k.op == IrOp::KINT && k.k.i >= 1 && k.k.i < (1 << 26)) return x86::qword_ptr(base, static_cast<int32_t>((k.k.i - 1) * 16));
    // base + 16k - 16 as base + 8(k + k) - 16.
    if (auto d = doubled_regs_.find(a.b); d != doubled_regs_.end())
      return x86::qword_ptr(base, x86::gpq(static_cast<uint32_t>(d->second)), 3, -16);
    if (doubled_ != a.b) {
      x86::Gp kr = gp(a.b, pos, s1);
      a_.lea(s1, x86::ptr(kr, kr));
      doubled_ = a.b;
    }
    return x86::qword_ptr(base, s1, 3, -16);
  }

  // Writes the value of r at pos as a TValue at mem (payload) / tag byte.
  void store_value(const x86::Gp& basereg, int32_t disp, Ref r, Ref pos) {
    store_value(x86::qword_ptr(basereg, disp), r, pos);
  }
  void store_value(const x86::Mem& tv, Ref r, Ref pos, bool tag = true) {
    const IrIns& i = ir_[r];
    x86::Mem payload = field(tv, 0, 8);
    switch (i.type) {
      case IrType::Num:
        a_.movsd(payload, xmm(r, pos, f1));
        break;
      case IrType::Int: case IrType::Gc:
        if (i.op == IrOp::KINT && fits32(i.k.i)) {
          a_.mov(payload, static_cast<int32_t>(i.k.i));
        } else if (!ir_.is_const(r) && !iv(r).in_reg(pos)) {
          // Through the SSE scratch: tv may address through s0 and s1.
          a_.movsd(f1, spill_mem(r));
          a_.movsd(payload, f1);
        } else {
          a_.mov(payload, gp(r, pos, s1));
        }
        break;
      default:
        a_.mov(payload, 0);
        break;
    }
    if (tag) a_.mov(field(tv, kTagOff, 1), static_cast<uint8_t>(i.tag));
  }

  // (Only its slots from `from` below `to`: a CALLOUT's caller and callee
  // parts.)
  void write_snapshot(int snap, Ref pos, int32_t from = INT32_MIN, int32_t to = INT32_MAX) {
    const Snapshot& s = ir_.snapshots()[static_cast<size_t>(snap)];
    for (uint32_t k = 0; k < s.count; k++) {
      const SnapEntry& e = ir_.snap_entries()[s.first + k];
      if (e.slot >= from && e.slot < to) store_value(rBase, e.slot * 16, e.ref, pos);
    }
  }

  // The end of an exit block, after the snapshot is written (registers
  // other than the scratch ones still hold the guard's values, rax among
  // them until set): continue in the side trace attached to the exit, if
  // any, else return its record, telling whether a number's type guard
  // failed because the value is now a number of the other subtype (a nil
  // or another type ending a loop is not that).
  void exit_code(const PendingExit& e) {
    ExitInfo& x = exits_info_[e.sideable ? static_cast<size_t>(e.snap) : nsnap_ + static_cast<size_t>(e.snap)];
    const IrIns& i = ir_[e.pos];
    bool typed = (i.op == IrOp::SLOAD || i.op == IrOp::VLOAD) && (i.type == IrType::Int || i.type == IrType::Num);
    if (typed) {
      x86::Mem tv = i.op == IrOp::SLOAD ? slot_mem(i.aux) : tvalue_at(i.a, e.pos, s1);
      a_.cmp(field(tv, kTagOff, 1), static_cast<uint8_t>(i.type == IrType::Int ? Tag::Float : Tag::Int));
      a_.sete(s0.r8());
    }
    a_.mov(x86::rax, reinterpret_cast<uint64_t>(&x));
    if (typed) a_.mov(x86::byte_ptr(x86::rax, static_cast<int32_t>(offsetof(ExitInfo, type_exit))), s0.r8());
    if (!x.sideable) return;
    // One indirect jump through x.side: to the side trace once attached
    // (this trace's native frame left), until then to the return just
    // below, which takes the frame back. Guards sharing a snapshot share
    // x, whose side is the return of one of them: they are all alike.
    Label ret = a_.newLabel();
    leave_frame(0);
    a_.jmp(x86::qword_ptr(x86::rax, static_cast<int32_t>(offsetof(ExitInfo, side))));
    a_.bind(ret);
    if (frame_ != kLinkFrame) a_.sub(x86::rsp, frame_ - kLinkFrame);
    side_returns_.push_back({&x, ret});
  }

  // Tag guard of the TValue at [base + disp]: exit unless it has tag t (any
  // nil variant for Nil).
  void guard_tag(const x86::Mem& tv, const IrIns& i, Ref pos) {
    if (i.type == IrType::Nil) {
      a_.test(field(tv, kTagOff, 1), 0x0f);
      a_.jnz(exit_label(pos));
    } else {
      a_.cmp(field(tv, kTagOff, 1), static_cast<uint8_t>(i.tag));
      a_.jne(exit_label(pos));
    }
  }
  // A float loaded only as an operand of the arithmetic right after it is
  // read there from memory (the address's registers still hold it: nothing
  // is emitted between, and the arithmetic writes an SSE register).
  Ref float_operand_use(Ref r) const {
    if (ir_[r].type != IrType::Num) return NO_REF;
    Ref p = r + 1;
    while (p < ir_.size() && ir_.is_const(p)) p++;
    if (p >= ir_.size() || iv(r).end != p) return NO_REF;
    const IrIns& u = ir_[p];
    if (u.type != IrType::Num || u.snap >= 0 || u.a == u.b) return NO_REF;
    bool commutes = u.op == IrOp::ADD || u.op == IrOp::MUL;
    if (u.op != IrOp::ADD && u.op != IrOp::SUB && u.op != IrOp::MUL && u.op != IrOp::DIV) return NO_REF;
    return u.b == r || (commutes && u.a == r) ? p : NO_REF;
  }
  void load_or_defer(const x86::Mem& tv, Ref r) {
    if (float_operand_use(r) != NO_REF) {
      deferred_ = r;
      deferred_mem_ = field(tv, 0, 8);
      return;
    }
    load_payload(tv, r);
  }

  void load_payload(const x86::Mem& tv, Ref r) {
    const IrIns& i = ir_[r];
    if (!needs_reg(i)) return;
    if (i.type == IrType::Num) {
      x86::Xmm d = dst_xmm(r);
      a_.movsd(d, field(tv, 0, 8));
      finish(r, d);
    } else {
      x86::Gp d = dst_gp(r);
      a_.mov(d, field(tv, 0, 8));
      finish(r, d);
    }
  }

  // x + y used only by the addition or subtraction of a 32-bit constant
  // right after it: both become one lea there (spectral_norm's i + j - 1).
  bool sum_folds_into_next(Ref r) const {
    const IrIns& i = ir_[r];
    if (i.op != IrOp::ADD || ir_.is_const(i.a) || ir_.is_const(i.b)) return false;
    Ref p = r + 1;
    while (p < ir_.size() && ir_.is_const(p)) p++;
    if (p >= ir_.size() || iv(r).end != p) return false;
    const IrIns& u = ir_[p];
    if ((u.op != IrOp::ADD && u.op != IrOp::SUB) || u.type != IrType::Int || u.a != r || u.snap >= 0) return false;
    const IrIns& k = ir_[u.b];
    return k.op == IrOp::KINT && fits32(k.k.i) && k.k.i != INT32_MIN;
  }

  void int_binop(Ref r) {
    const IrIns& i = ir_[r];
    if (i.op == IrOp::ADD && i.type == IrType::Int && sum_folds_into_next(r)) {
      deferred_sum_ = r;
      return;
    }
    x86::Gp d = dst_gp(r);
    if (deferred_sum_ != NO_REF && i.a == deferred_sum_) {
      const IrIns& sum = ir_[deferred_sum_];
      int32_t k = static_cast<int32_t>(ir_[i.b].k.i);
      a_.lea(d, x86::ptr(gp(sum.a, r, s0), gp(sum.b, r, s1), 0, i.op == IrOp::ADD ? k : -k));
      deferred_sum_ = NO_REF;
      finish(r, d);
      return;
    }
    x86::Gp x = gp(i.a, r, s0);
    const IrIns& bi = ir_[i.b];
    bool imm = bi.op == IrOp::KINT && fits32(bi.k.i);
    Imm k(imm ? bi.k.i : 0);
    x86::Gp y = imm ? s1 : gp(i.b, r, s1);
    // A sum into another register is one lea (no flags are read after it).
    if (x != d && imm && (i.op == IrOp::ADD || (i.op == IrOp::SUB && bi.k.i != INT32_MIN))) {
      a_.lea(d, x86::ptr(x, static_cast<int32_t>(i.op == IrOp::ADD ? bi.k.i : -bi.k.i)));
      finish(r, d);
      return;
    }
    if (x != d && !imm && i.op == IrOp::ADD && y != d) {
      a_.lea(d, x86::ptr(x, y));
      finish(r, d);
      return;
    }
    if (x != d) {
      // y may be d, which the move would clobber: commutative ops swap.
      if (y == d && (i.op == IrOp::ADD || i.op == IrOp::MUL || i.op == IrOp::BAND || i.op == IrOp::BOR || i.op == IrOp::BXOR))
        std::swap(x, y);
      else if (y == d) {
        a_.mov(s1, y);
        y = s1;
      }
      if (x != d) a_.mov(d, x);
    }
    switch (i.op) {
      case IrOp::ADD: imm ? a_.add(d, k) : a_.add(d, y); break;
      case IrOp::SUB: imm ? a_.sub(d, k) : a_.sub(d, y); break;
      case IrOp::MUL: imm ? a_.imul(d, d, k) : a_.imul(d, y); break;
      case IrOp::BAND: imm ? a_.and_(d, k) : a_.and_(d, y); break;
      case IrOp::BOR: imm ? a_.or_(d, k) : a_.or_(d, y); break;
      case IrOp::BXOR: imm ? a_.xor_(d, k) : a_.xor_(d, y); break;
      case IrOp::SHLK: a_.shl(d, static_cast<int>(bi.k.i)); break;
      case IrOp::SHRK: a_.shr(d, static_cast<int>(bi.k.i)); break;
      default: break;
    }
    finish(r, d);
  }

  void int_unop(Ref r, bool neg) {
    x86::Gp d = dst_gp(r);
    x86::Gp x = gp(ir_[r].a, r, s0);
    if (x != d) a_.mov(d, x);
    if (neg) a_.neg(d);
    else a_.not_(d);
    finish(r, d);
  }

  // Float NEG flips the sign bit, ABS clears it.
  void float_sign(Ref r, bool clear) {
    x86::Xmm d = dst_xmm(r);
    x86::Xmm x = xmm(ir_[r].a, r, f0);
    if (x != d) a_.movsd(d, x);
    uint64_t sign = uint64_t(1) << 63;
    a_.mov(s1, clear ? ~sign : sign);
    a_.movq(f1, s1);
    if (clear) a_.andpd(d, f1);
    else a_.xorpd(d, f1);
    finish(r, d);
  }

  // d = x op y, y read from memory where it lives there. The allocator
  // may give d the register of a dying y: commutative operations swap,
  // the others copy y first.
  void num_binop(Ref r) {
    const IrIns& i = ir_[r];
    x86::Xmm d = dst_xmm(r);
    Ref xa = i.a, yb = i.b;
    bool commutes = i.op == IrOp::ADD || i.op == IrOp::MUL;
    if (kAvx) {
      // Three operands: d = x op y, no copy of x into d first.
      if (deferred_ != NO_REF && deferred_ == xa) std::swap(xa, yb);
      x86::Xmm x = xmm(xa, r, f0);
      auto apply = [&](const auto& y) {
        switch (i.op) {
          case IrOp::ADD: a_.vaddsd(d, x, y); break;
          case IrOp::SUB: a_.vsubsd(d, x, y); break;
          case IrOp::MUL: a_.vmulsd(d, x, y); break;
          case IrOp::DIV: a_.vdivsd(d, x, y); break;
          default: break;
        }
      };
      if (deferred_ != NO_REF && deferred_ == yb) apply(deferred_mem_);
      else if (num_in_mem(yb, r) && !zero_knum(yb)) apply(num_mem(yb));
      else apply(xmm(yb, r, f1));
      deferred_ = NO_REF;
      finish(r, d);
      return;
    }
    auto apply = [&](const auto& y) {
      switch (i.op) {
        case IrOp::ADD: a_.addsd(d, y); break;
        case IrOp::SUB: a_.subsd(d, y); break;
        case IrOp::MUL: a_.mulsd(d, y); break;
        case IrOp::DIV: a_.divsd(d, y); break;
        default: break;
      }
    };
    if (deferred_ != NO_REF && (deferred_ == xa || deferred_ == yb)) {
      // The operand loaded just before, read from memory (float_operand_use).
      if (deferred_ == xa) std::swap(xa, yb);
      if (x86::Xmm x = xmm(xa, r, d); x != d) a_.movsd(d, x);
      apply(deferred_mem_);
      deferred_ = NO_REF;
      finish(r, d);
      return;
    }
    auto in_d = [&](Ref v) { return !num_in_mem(v, r) && x86::xmm(static_cast<uint32_t>(iv(v).reg)) == d; };
    if (in_d(yb) && !in_d(xa) && commutes) std::swap(xa, yb);
    if (in_d(yb) && !in_d(xa)) {
      a_.movsd(f1, d);
      if (x86::Xmm x = xmm(xa, r, d); x != d) a_.movsd(d, x);
      apply(f1);
    } else {
      if (x86::Xmm x = xmm(xa, r, d); x != d) a_.movsd(d, x);
      if (num_in_mem(yb, r) && !zero_knum(yb)) apply(num_mem(yb));
      else apply(xmm(yb, r, f1));
    }
    finish(r, d);
  }

  // A byte field loaded only to be compared with a constant byte by the
  // guard right after it: the guard compares the byte in memory (the
  // object's register still holds it there, nothing being emitted between).
  bool byte_compared(Ref r) const {
    const IrIns& f = ir_[r];
    Field fd = static_cast<Field>(f.aux8);
    if (fd != Field::TabLsizenode && fd != Field::TabFlags && fd != Field::GcTag) return false;
    Ref g = r + 1;
    while (g < ir_.size() && ir_.is_const(g)) g++;
    if (g >= ir_.size() || iv(r).end != g) return false;
    const IrIns& i = ir_[g];
    if ((i.op != IrOp::EQ && i.op != IrOp::NE) || i.a != r || i.snap < 0) return false;
    if (ir_[i.b].op != IrOp::KINT || ir_[i.b].k.i < 0 || ir_[i.b].k.i > 255) return false;
    const Snapshot& s = ir_.snapshots()[static_cast<size_t>(i.snap)];
    for (uint32_t e = 0; e < s.count; e++)
      if (ir_.snap_entries()[s.first + e].ref == r) return false;
    return true;
  }

  // An array part's size loaded only for the bounds guard right after it,
  // whose index an earlier guard already bounded by an array size (so it
  // is below 2^32): the guard compares the size in memory with the
  // index's low half (matrix's b[k][j], whose j the pre-roll checked).
  bool asize_compared(Ref r) const {
    const IrIns& f = ir_[r];
    if (f.op != IrOp::FLOAD || static_cast<Field>(f.aux8) != Field::TabAsize) return false;
    Ref g = r + 1;
    while (g < ir_.size() && ir_.is_const(g)) g++;
    if (g >= ir_.size() || iv(r).end != g) return false;
    const IrIns& i = ir_[g];
    if (i.op != IrOp::ULT || i.b != r || i.snap < 0 || ir_.is_const(i.a)) return false;
    const Snapshot& s = ir_.snapshots()[static_cast<size_t>(i.snap)];
    for (uint32_t e = 0; e < s.count; e++)
      if (ir_.snap_entries()[s.first + e].ref == r) return false;
    // A loop-carried value (a PHI's) is another value each iteration.
    for (Ref p = ir_.size() - 1; p > 0 && (ir_[p].op == IrOp::PHI || ir_[p].op == IrOp::LOOP); p--)
      if (ir_[p].op == IrOp::PHI && ir_[p].a == i.a) return false;
    for (Ref p = 1; p < r; p++) {
      const IrIns& q = ir_[p];
      if (q.op == IrOp::ULT && q.a == i.a && q.snap >= 0 && ir_[q.b].op == IrOp::FLOAD &&
          static_cast<Field>(ir_[q.b].aux8) == Field::TabAsize)
        return true;
    }
    return false;
  }

  bool is_kint(Ref r, Integer v) const { return ir_[r].op == IrOp::KINT && ir_[r].k.i == v; }
  // For the guard g = (c ~= 0): the c - 1 that follows it with nothing
  // between but integer arithmetic not reading c and no other guard, when
  // it takes c's register (c dies there), or NO_REF.
  Ref decrement_after(Ref g) const {
    const IrIns& i = ir_[g];
    if (i.op != IrOp::NE || ir_[i.a].type != IrType::Int || !is_kint(i.b, 0) || ir_.is_const(i.a)) return NO_REF;
    const Interval& c = iv(i.a);
    if (c.reg < 0 || !c.in_reg(g)) return NO_REF;
    for (Ref s = g + 1; s < ir_.size(); s++) {
      const IrIns& n = ir_[s];
      if (ir_.is_const(s)) continue;
      if (n.op == IrOp::SUB && n.a == i.a && is_kint(n.b, 1)) {
        const Interval& d = iv(s);
        return d.reg == c.reg && d.in_reg(s) && d.spill < 0 && c.end == s ? s : NO_REF;
      }
      bool arith = (n.op == IrOp::ADD || n.op == IrOp::SUB) && n.type == IrType::Int;
      if (!arith || n.snap >= 0 || n.a == i.a || n.b == i.a) return NO_REF;
    }
    return NO_REF;
  }

  void guard_cmp(Ref r) {
    const IrIns& i = ir_[r];
    Label ex = exit_label(r);
    IrType t = ir_[i.a].type;
    if (t == IrType::Num) {
      // The second operand of ucomisd may be memory.
      auto ucomisd = [&](Ref p, Ref q) {
        x86::Xmm xp = xmm(p, r, f0);
        if (num_in_mem(q, r) && !zero_knum(q)) a_.ucomisd(xp, num_mem(q));
        else a_.ucomisd(xp, xmm(q, r, f1));
      };
      Ref x = i.a, y = i.b;
      switch (i.op) {
        case IrOp::LT: ucomisd(y, x); a_.jbe(ex); break;
        case IrOp::LE: ucomisd(y, x); a_.jb(ex); break;
        case IrOp::GT: ucomisd(x, y); a_.jbe(ex); break;
        case IrOp::GE: ucomisd(x, y); a_.jb(ex); break;
        case IrOp::NLT: ucomisd(y, x); a_.ja(ex); break;
        case IrOp::NLE: ucomisd(y, x); a_.jae(ex); break;
        case IrOp::EQ: ucomisd(x, y); a_.jne(ex); a_.jp(ex); break;
        case IrOp::NE: {
          Label ok = a_.newLabel();
          ucomisd(x, y);
          a_.jp(ok);
          a_.je(ex);
          a_.bind(ok);
          break;
        }
        default: break;
      }
      return;
    }
    // An exit writing nothing: the jump, in its long form, is patched to
    // enter the side trace directly once one is attached (attach_side).
    const ExitInfo& xi = exits_info_[static_cast<size_t>(i.snap)];
    bool direct = xi.sideable && !(i.op == IrOp::NE && i.aux8 == kGuardTransient) && frame_ == kLinkFrame && ir_.snapshots()[static_cast<size_t>(i.snap)].count == 0;
    if (Ref dec = direct ? NO_REF : decrement_after(r); dec != NO_REF) {
      // A for loop's count ~= 0 and count - 1 in the count's register: the
      // decrement borrows exactly when the count is 0, and the exit block
      // adds the 1 back before it writes the snapshot.
      x86::Gp c = x86::gpq(static_cast<uint32_t>(iv(dec).reg));
      exits_.back().undo_dec = iv(dec).reg;
      a_.sub(c, 1);
      a_.jb(ex);
      emitted_early_[dec] = true;
      return;
    }
    const IrIns& bi = ir_[i.b];
    bool swapped = false;
    if (ir_[i.a].op == IrOp::FLOAD && byte_compared(i.a)) {
      const IrIns& f = ir_[i.a];
      a_.cmp(x86::byte_ptr(gp(f.a, r, s0), field_offset(static_cast<Field>(f.aux8), f.aux)), static_cast<uint8_t>(bi.k.i));
    } else if (i.op == IrOp::ULT && asize_compared(i.b)) {
      a_.cmp(x86::dword_ptr(gp(bi.a, r, s0), field_offset(Field::TabAsize, bi.aux)), gp(i.a, r, s1).r32());
      swapped = true;
    } else if (bi.op == IrOp::KINT && fits32(bi.k.i)) {
      a_.cmp(gp(i.a, r, s0), static_cast<int32_t>(bi.k.i));
    } else if (null_test(i)) {
      x86::Gp x = gp(i.a, r, s0);
      a_.test(x, x);
    } else {
      a_.cmp(gp(i.a, r, s0), gp(i.b, r, s1));
    }
    if (direct) a_.long_();
    switch (i.op) {
      case IrOp::LT: a_.jge(ex); break;
      case IrOp::LE: a_.jg(ex); break;
      case IrOp::GT: a_.jle(ex); break;
      case IrOp::GE: case IrOp::NLT: a_.jl(ex); break;
      case IrOp::NLE: a_.jle(ex); break;
      case IrOp::EQ: a_.jne(ex); break;
      case IrOp::NE: a_.je(ex); break;
      case IrOp::ULT: swapped ? a_.jbe(ex) : a_.jae(ex); break;
      default: break;
    }
    SlotFact fact = slot_fact(r);
    // The entry behind it skips nothing but the guards: not the frame's
    // adjustment of rsp behind post_, nor a spill store.
    if (fact.slot >= 0 && !checked_bound_ && !guarded_bound_ && frame_ == kLinkFrame && first_guard(r) && iv(i.a).spill < 0) {
      checked_bound_ = true;
      checks_ = fact;
      checked_load_ = i.a;
      a_.bind(checked_);
    }
    if (direct) {
      Label after = a_.newLabel();
      a_.bind(after);
      // The exit is taken when the relation fails: its negation holds.
      if (fact.slot >= 0 && exits_info_[static_cast<size_t>(i.snap)].frame < 0) fact.rel = negated(fact.rel);
      else fact = SlotFact{};
      direct_sites_.push_back({i.snap, after, fact});
    }
  }

  // The integer comparison r of a frame slot with a constant, as a fact
  // about the slot (slot -1: r is none).
  SlotFact slot_fact(Ref r) const {
    const IrIns& i = ir_[r];
    const IrIns& ai = ir_[i.a];
    const IrIns& bi = ir_[i.b];
    if (ai.op != IrOp::SLOAD || ai.type != IrType::Int || bi.op != IrOp::KINT || !fits32(bi.k.i) || !iv(i.a).in_reg(r))
      return {};
    IrOp rel;
    switch (i.op) {
      case IrOp::LT: case IrOp::LE: case IrOp::GT: case IrOp::GE: case IrOp::EQ: case IrOp::NE: rel = i.op; break;
      case IrOp::NLT: rel = IrOp::GE; break;  // integers have no NaN
      case IrOp::NLE: rel = IrOp::GT; break;
      default: return {};
    }
    if (ai.aux < 0 || ai.aux > INT16_MAX) return {};
    return {static_cast<int32_t>(bi.k.i), static_cast<int16_t>(ai.aux), static_cast<int8_t>(iv(i.a).reg), rel};
  }
  static IrOp negated(IrOp rel) {
    switch (rel) {
      case IrOp::LT: return IrOp::GE;
      case IrOp::LE: return IrOp::GT;
      case IrOp::GT: return IrOp::LE;
      case IrOp::GE: return IrOp::LT;
      case IrOp::EQ: return IrOp::NE;
      default: return IrOp::EQ;
    }
  }
  // Does nothing but constants and the load of r's slot (or r, a load)
  // run before r?
  bool first_guard(Ref r) const {
    for (Ref v = 1; v < r; v++)
      if (!ir_.is_const(v) && v != ir_[r].a) return false;
    return true;
  }

  // The PHIs as one parallel move, register to register: a move goes once
  // its destination is no pending move's source; a cycle is broken through
  // the scratch register. (Going through memory put a store and a reload on
  // every loop-carried dependency: about 5 cycles per iteration.)
  void phi_moves(Ref pos) {
    struct Move {
      Ref src, dst;
      int sreg;  // source register, kScratch, or -1 (constant or spill slot)
      int dreg;
      bool fp;
    };
    constexpr int kScratch = 100;
    std::vector<Move> moves;
    for (Ref p : phis_) {
      Ref src = ir_[p].b, dst = ir_[p].a;
      if (!needs_reg(ir_[dst])) continue;
      const Interval& d = iv(dst);
      int sreg = !ir_.is_const(src) && iv(src).in_reg(pos) ? iv(src).reg : -1;
      if (sreg == d.reg) {
        if (d.spill >= 0 && d.fpr) a_.movsd(spill_mem(dst), x86::xmm(static_cast<uint32_t>(d.reg)));
        else if (d.spill >= 0) a_.mov(spill_mem(dst), x86::gpq(static_cast<uint32_t>(d.reg)));
        continue;
      }
      moves.push_back({src, dst, sreg, d.reg, d.fpr});
    }
    auto blocked = [&](const Move& m) {
      for (const Move& o : moves)
        if (&o != &m && o.fp == m.fp && o.sreg == m.dreg) return true;
      return false;
    };
    while (!moves.empty()) {
      bool progress = false;
      for (size_t k = 0; k < moves.size();) {
        const Move m = moves[k];
        if (blocked(m)) { k++; continue; }
        if (m.fp) {
          x86::Xmm d = x86::xmm(static_cast<uint32_t>(m.dreg));
          if (m.sreg == kScratch) a_.movsd(d, f0);
          else if (m.sreg >= 0) a_.movsd(d, x86::xmm(static_cast<uint32_t>(m.sreg)));
          else if (x86::Xmm x = xmm(m.src, pos, d); x != d) a_.movsd(d, x);
          if (iv(m.dst).spill >= 0) a_.movsd(spill_mem(m.dst), d);
        } else {
          x86::Gp d = x86::gpq(static_cast<uint32_t>(m.dreg));
          if (m.sreg == kScratch) a_.mov(d, s0);
          else if (m.sreg >= 0) a_.mov(d, x86::gpq(static_cast<uint32_t>(m.sreg)));
          else if (x86::Gp g = gp(m.src, pos, d); g != d) a_.mov(d, g);
          if (iv(m.dst).spill >= 0) a_.mov(spill_mem(m.dst), d);
        }
        moves.erase(moves.begin() + static_cast<std::ptrdiff_t>(k));
        progress = true;
      }
      if (progress) continue;
      // Only cycles are left: park one register in the scratch register.
      Move& m = moves.front();
      int parked = m.dreg;
      if (m.fp) a_.movsd(f0, x86::xmm(static_cast<uint32_t>(parked)));
      else a_.mov(s0, x86::gpq(static_cast<uint32_t>(parked)));
      for (Move& o : moves)
        if (o.fp == m.fp && o.sreg == parked) o.sreg = kScratch;
    }
  }

  // table_get_short_str for a constant key, inline: the chain from the
  // key's main position (its hash is a constant, the mask 2^lsizenode - 1
  // is made with bts), in s0 and s1 with the node array kept in f0 meanwhile.
  void get_str_inline(Ref r) {
    const IrIns& i = ir_[r];
    const String* key = static_cast<const String*>(ir_[i.b].k.p);
    x86::Gp t = gp(i.a, r, s0);
    x86::Gp d = dst_gp(r);
    a_.movzx(s1.r32(), x86::byte_ptr(t, layout::TABLE_LSIZENODE));
    a_.mov(s0, x86::qword_ptr(t, layout::TABLE_NODE));
    a_.movq(f0, s0);
    a_.xor_(s0.r32(), s0.r32());
    a_.bts(s0, s1);
    a_.dec(s0);
    // The hash as a sign-extended imm32: the mask is below 2^32, so the
    // bits above 31 drop out.
    a_.and_(s0, static_cast<int32_t>(key->hash));
    a_.shl(s0, 5);
    static_assert(layout::NODE_SIZE == 32 && layout::NODE_VAL == 0);
    a_.movq(s1, f0);
    a_.add(s0, s1);
    Label loop = a_.newLabel(), next = a_.newLabel(), found = a_.newLabel(), absent = a_.newLabel();
    a_.bind(loop);
    a_.cmp(x86::byte_ptr(s0, kNodeKeyTag), static_cast<uint8_t>(Tag::ShortStr));
    a_.jne(next);
    a_.mov(s1, reinterpret_cast<uint64_t>(key));
    a_.cmp(x86::qword_ptr(s0, kNodeKeyPayload), s1);
    a_.je(found);
    a_.bind(next);
    a_.movsxd(s1, x86::dword_ptr(s0, static_cast<int32_t>(layout::NODE_NEXT)));
    a_.test(s1, s1);
    a_.jz(absent);
    a_.shl(s1, 5);
    a_.add(s0, s1);
    a_.jmp(loop);
    a_.bind(absent);
    a_.mov(s0, reinterpret_cast<uint64_t>(&table_absent_key));
    a_.bind(found);
    if (d != s0) a_.mov(d, s0);
    finish(r, d);
  }

  // Floored integer modulo or division (the divisor is nonzero, guarded),
  // inline: idiv needs rax and rdx, which may hold live values, so they are
  // saved on the stack around it (nothing reads rsp-relative spill slots in
  // between). A divisor of -1 gives 0 or the negation, as idiv would trap
  // on INT64_MIN / -1; C truncates, so a remainder whose sign differs from
  // the divisor's moves the result by one divisor (one unit).
  void int_div_inline(Ref r, bool mod) {
    const IrIns& i = ir_[r];
    if (ir_[i.b].op == IrOp::KINT && ir_[i.b].k.i > 1) return int_div_const(r, mod);
    x86::Gp x = gp(i.a, r, s0);
    x86::Gp y = gp(i.b, r, s1);
    if (y != s1) a_.mov(s1, y);
    bool known = ir_[i.b].op == IrOp::KINT;
    Integer k = known ? ir_[i.b].k.i : 0;
    Label done = a_.newLabel();
    a_.push(x86::rax);
    a_.push(x86::rdx);
    a_.mov(x86::rax, x);
    if (known && k == -1) {
      if (mod) a_.xor_(x86::edx, x86::edx);
      else a_.neg(x86::rax);
      a_.jmp(done);
    } else {
      if (!known) {
        Label general = a_.newLabel();
        a_.cmp(s1, -1);
        a_.jne(general);
        if (mod) a_.xor_(x86::edx, x86::edx);
        else a_.neg(x86::rax);
        a_.jmp(done);
        a_.bind(general);
      }
      a_.cqo();
      a_.idiv(s1);
      // rax: truncated quotient, rdx: remainder with the dividend's sign.
      if (known && k > 0) {
        a_.test(x86::rdx, x86::rdx);
        a_.jns(done);
      } else {
        a_.test(x86::rdx, x86::rdx);
        a_.jz(done);
        a_.mov(s0, x86::rdx);
        a_.xor_(s0, s1);
        a_.jns(done);
      }
      if (mod) a_.add(x86::rdx, s1);
      else a_.dec(x86::rax);
    }
    a_.bind(done);
    a_.mov(s0, mod ? x86::rdx : x86::rax);
    a_.pop(x86::rdx);
    a_.pop(x86::rax);
    x86::Gp d = dst_gp(r);
    if (d != s0) a_.mov(d, s0);
    finish(r, d);
  }

  // The same by a constant d > 1, without idiv: the truncated quotient is
  // the high half of n * M shifted right by s, plus one for a negative n
  // (Granlund and Montgomery's signed magic numbers); the remainder
  // n - q * d then moves by d (the quotient by one) when negative.
  void int_div_const(Ref r, bool mod) {
    const IrIns& i = ir_[r];
    Integer d = ir_[i.b].k.i;
    auto [m, shift] = signed_magic(d);
    x86::Gp x = gp(i.a, r, s0);
    if (x != s0) a_.mov(s0, x);
    Label done = a_.newLabel();
    a_.push(x86::rax);
    a_.push(x86::rdx);
    a_.mov(x86::rax, m);
    a_.imul(s0);
    if (m < 0) a_.add(x86::rdx, s0);
    if (shift > 0) a_.sar(x86::rdx, shift);
    a_.mov(s1, s0);
    a_.shr(s1, 63);
    a_.add(x86::rdx, s1);
    // rdx: truncated quotient; s0 becomes the remainder.
    if (fits32(d)) {
      a_.imul(s1, x86::rdx, Imm(d));
    } else {
      a_.mov(s1, d);
      a_.imul(s1, x86::rdx);
    }
    a_.sub(s0, s1);
    a_.test(s0, s0);
    a_.jns(done);
    if (mod) {
      a_.mov(s1, d);
      a_.add(s0, s1);
    } else {
      a_.dec(x86::rdx);
    }
    a_.bind(done);
    if (!mod) a_.mov(s0, x86::rdx);
    a_.pop(x86::rdx);
    a_.pop(x86::rax);
    x86::Gp dst = dst_gp(r);
    if (dst != s0) a_.mov(dst, s0);
    finish(r, dst);
  }

  // NEWTABLE's common case as table_try_new's try_new_block makes it, its
  // block taken from its pool's freelist in line (~25 instructions for the
  // ~70 of the helper's call): a table without a hash part whose array
  // slots are all in its block. It leaves the table in rax and jumps to
  // done, or jumps to slow, the helper's call, when that must decide: a
  // collection due, a memory limit, a host allocator, an empty freelist.
  // Only what a call may clobber is written (the allocator counts the
  // CALL as one). Under ASan the freelist's blocks are poisoned, which
  // only the helper undoes.
  bool new_table_inline(const IrIns& i, Label slow, Label done) {
#ifdef LUNA_POOL_ASAN
    (void)i, (void)slow, (void)done;
    return false;
#else
    if (ir_[i.a].op != IrOp::KINT) return false;
    Integer sizes = ir_[i.a].k.i;
    auto nasize = static_cast<unsigned>(sizes & 0xffff), reserve = static_cast<unsigned>(sizes >> 16 & 0xffff);
    unsigned ainline = table_inline_slots(nasize, reserve);
    if (sizes >> 32 != 0 || nasize > ainline) return false;
    size_t size = sizeof(Table) + size_t(ainline) * sizeof(TValue);
    auto free_list = static_cast<int32_t>(kGlobalPoolFree + SmallPool::class_of(size) * sizeof(void*));
    const x86::Gp g = x86::rax, t = x86::rdx, tmp = x86::rcx;
    a_.mov(g, x86::qword_ptr(rL, kStateG));
    a_.cmp(x86::qword_ptr(g, kGlobalGcdebt), 0);
    a_.jg(slow);
    a_.cmp(x86::qword_ptr(g, kGlobalMemlimit), 0);
    a_.jne(slow);
    a_.cmp(x86::byte_ptr(g, kGlobalPooled), 0);
    a_.je(slow);
    a_.mov(t, x86::qword_ptr(g, free_list));
    a_.test(t, t);
    a_.jz(slow);
    a_.mov(tmp, x86::qword_ptr(t));
    a_.mov(x86::qword_ptr(g, free_list), tmp);
    a_.add(x86::qword_ptr(g, kGlobalTotalbytes), static_cast<int32_t>(size));
    a_.add(x86::qword_ptr(g, kGlobalGcdebt), static_cast<int32_t>(size));
    a_.mov(tmp, x86::qword_ptr(g, kGlobalAllgc));
    a_.mov(x86::qword_ptr(t, layout::GC_NEXT), tmp);
    a_.mov(x86::qword_ptr(g, kGlobalAllgc), t);
    // The header as init_empty and try_new_block leave it: tag, marked 0,
    // every metamethod known absent, no hash part (lsizenode 0), asize;
    // then lenhint 0 and ainline; the array in the block; the shared
    // empty hash part; no lastfree, metatable or gray link.
    static_assert(layout::GC_TAG == 8 && layout::GC_MARKED == 9 && layout::TABLE_FLAGS == 10 &&
                  layout::TABLE_LSIZENODE == 11 && layout::TABLE_ASIZE == 12 && kTableLenhint == 16 &&
                  layout::TABLE_AINLINE == 20 && layout::TABLE_ARRAY == 24 && layout::TABLE_NODE == 32 &&
                  kTableLastfree == 40 && layout::TABLE_METATABLE == 48 && kTableGclist == 56 &&
                  layout::TABLE_SIZE == 64);
    uint64_t head = uint64_t(Tag::Table) | uint64_t((1u << 6) - 1) << 16 | uint64_t(nasize) << 32;
    a_.mov(tmp, head);
    a_.mov(x86::qword_ptr(t, layout::GC_TAG), tmp);
    a_.mov(tmp, uint64_t(ainline) << 32);
    a_.mov(x86::qword_ptr(t, kTableLenhint), tmp);
    if (ainline > 0) a_.lea(tmp, x86::ptr(t, static_cast<int32_t>(layout::TABLE_SIZE)));
    else a_.xor_(tmp.r32(), tmp.r32());
    a_.mov(x86::qword_ptr(t, layout::TABLE_ARRAY), tmp);
    a_.mov(tmp, reinterpret_cast<uint64_t>(table_dummy_node()));
    a_.mov(x86::qword_ptr(t, layout::TABLE_NODE), tmp);
    a_.xor_(tmp.r32(), tmp.r32());
    a_.mov(x86::qword_ptr(t, kTableLastfree), tmp);
    a_.mov(x86::qword_ptr(t, layout::TABLE_METATABLE), tmp);
    a_.mov(x86::qword_ptr(t, kTableGclist), tmp);
    // The array part's slots nil (fill_nil: payload 0, tag Nil).
    for (unsigned k = 0; k < nasize; k++) {
      auto at = static_cast<int32_t>(layout::TABLE_SIZE + k * sizeof(TValue));
      a_.mov(x86::qword_ptr(t, at + kTvaluePayload), tmp);
      a_.mov(x86::qword_ptr(t, at + kTagOff), static_cast<int32_t>(Tag::Nil));
    }
    a_.mov(g, t);
    a_.jmp(done);
    return true;
#endif
  }

  void call(Ref r) {
    const IrIns& i = ir_[r];
    Helper h = static_cast<Helper>(i.aux8);
    if (inline_helper(ir_, i)) {
      if (h == Helper::TabGetStr) return get_str_inline(r);
      return int_div_inline(r, h == Helper::IntMod);
    }
    Label done = a_.newLabel();
    if (h == Helper::NewTable) {
      Label slow = a_.newLabel();
      if (new_table_inline(i, slow, done)) a_.bind(slow);
    }
    // The inline length clobbers rax, rcx and rdx, which may have held the
    // table: it leaves it in s0.
    bool table_in_s0 = h == Helper::TabLen;
    if (table_in_s0) tab_len_inline(i, r, done);
    if (helper_on_floats(h)) {
      x86::Xmm x = xmm(i.a, r, f0);
      if (x != f0) a_.movsd(f0, x);
      if (i.b != NO_REF) {
        x86::Xmm y = xmm(i.b, r, f1);
        if (y != f1) a_.movsd(f1, y);
      }
      a_.movsd(x86::xmm0, f0);
      if (i.b != NO_REF) a_.movsd(x86::xmm1, f1);
    } else {
      if (i.a != NO_REF && !table_in_s0) {
        x86::Gp x = gp(i.a, r, s0);
        if (x != s0) a_.mov(s0, x);
      }
      if (i.b != NO_REF) {
        x86::Gp y = gp(i.b, r, s1);
        if (y != s1) a_.mov(s1, y);
      }
      bool with_l = helper_takes_state(h);
      if (with_l) {
        a_.mov(x86::rdi, rL);
        if (i.a != NO_REF) a_.mov(x86::rsi, s0);
        if (i.b != NO_REF) a_.mov(x86::rdx, s1);
      } else {
        a_.mov(x86::rdi, s0);
        if (i.b != NO_REF) a_.mov(x86::rsi, s1);
      }
    }
    if (h == Helper::StrFindItem || h == Helper::StrGsubItem) a_.lea(x86::rcx, find_item_mem(static_cast<const String*>(i.k.p)));
    if (h == Helper::StrFindChain) a_.lea(x86::rcx, find_chain_mem(static_cast<const String*>(i.k.p)));
    a_.mov(x86::rax, reinterpret_cast<uint64_t>(helper_addr(h)));
    a_.call(x86::rax);
    a_.bind(done);
    if (i.type == IrType::Num) {
      x86::Xmm d = dst_xmm(r);
      a_.movsd(d, x86::xmm0);
      finish(r, d);
    } else if (i.type == IrType::Int || i.type == IrType::Ptr || i.type == IrType::Gc) {
      x86::Gp d = dst_gp(r);
      a_.mov(d, x86::rax);
      finish(r, d);
    }
    reload_after_call(r);
  }

  // `#t` when table_length's first tests answer: the last array slot nil,
  // the hint below the array's size with a value before it (or 0), and
  // the hint's slot nil (a border) or, after an append by t[#t+1], the
  // slot after it nil (the hint moved by one, as table_length moves it).
  // Those are the borders table_length returns, so the trace and the
  // interpreter agree (richards' `while i <= #list`). Anything else falls
  // through to the helper call, with the table in s0. The call clobbers
  // rax, rcx and rdx, so they are free.
  void tab_len_inline(const IrIns& i, Ref r, Label done) {
    x86::Gp t = gp(i.a, r, s0);
    if (t != s0) a_.mov(s0, t);
    Label slow = a_.newLabel(), at_hint = a_.newLabel();
    a_.mov(x86::ecx, x86::dword_ptr(s0, layout::TABLE_ASIZE));
    a_.mov(x86::eax, x86::dword_ptr(s0, kTableLenhint));
    a_.cmp(x86::eax, x86::ecx);
    a_.jae(slow);  // also asize 0
    a_.mov(x86::rdx, x86::qword_ptr(s0, layout::TABLE_ARRAY));
    a_.shl(x86::rcx, 4);
    a_.test(x86::byte_ptr(x86::rdx, x86::rcx, 0, kTagOff - 16), 0x0f);
    a_.jnz(slow);  // the last slot holds a value: the border is at asize or in the hash
    a_.mov(x86::ecx, x86::eax);
    a_.shl(x86::rcx, 4);
    a_.test(x86::eax, x86::eax);
    a_.jz(at_hint);
    a_.test(x86::byte_ptr(x86::rdx, x86::rcx, 0, kTagOff - 16), 0x0f);
    a_.jz(slow);  // the hint is stale: a binary search
    a_.bind(at_hint);
    a_.test(x86::byte_ptr(x86::rdx, x86::rcx, 0, kTagOff), 0x0f);
    a_.jz(done);
    a_.inc(x86::eax);
    a_.cmp(x86::eax, x86::dword_ptr(s0, layout::TABLE_ASIZE));
    a_.jae(slow);
    a_.test(x86::byte_ptr(x86::rdx, x86::rcx, 0, kTagOff + 16), 0x0f);
    a_.jnz(slow);
    a_.mov(x86::dword_ptr(s0, kTableLenhint), x86::eax);
    a_.jmp(done);
    a_.bind(slow);
  }

  // A library function called in place (record_native.cpp): the frame is
  // written first, as for an exit at the CALL; native_call makes the call
  // and gives the function slot's address, which moved if the stack did,
  // with bit 0 set when the call failed: the trace then leaves by a plain
  // exit at the CALL (the snapshot is written), where the interpreter makes
  // the call itself, raising its error (a coroutine's call, k.p set: the
  // seam raises the error it kept).
  void ncall(Ref r) {
    const IrIns& i = ir_[r];
    write_snapshot(i.snap, r);
    Label ex = a_.newLabel();
    plain_exits_.push_back({ex, i.snap, r, false});
    a_.mov(x86::rdi, rL);
    a_.lea(x86::rsi, x86::ptr(rBase, i.aux * 16));
    a_.mov(x86::edx, static_cast<int32_t>(ir_[i.b].k.i));
    a_.mov(x86::ecx, static_cast<int32_t>(i.aux8) - 1);
    a_.mov(x86::r8, reinterpret_cast<uint64_t>(ir_[i.a].k.p));
    if (i.k.p != nullptr) {
      a_.mov(x86::r9, reinterpret_cast<uint64_t>(i.k.p));
      bool pcall = ir_[i.a].k.p == reinterpret_cast<void*>(&lib_pcall);
      a_.mov(x86::rax, pcall ? reinterpret_cast<uint64_t>(&pcall_call) : reinterpret_cast<uint64_t>(&coroutine_call));
    } else {
      NativeCallFn call = native_call_for(static_cast<int>(i.aux8) - 1, reinterpret_cast<NativeFn>(ir_[i.a].k.p));
      a_.mov(x86::rax, reinterpret_cast<uint64_t>(call));
    }
    a_.call(x86::rax);
    a_.mov(s0, x86::rax);
    a_.and_(s0, -2);
    a_.lea(rBase, x86::ptr(s0, -i.aux * 16));
    a_.test(x86::al, 1);
    a_.jnz(ex);
    reload_after_call(r);
  }

  // Reloads what the call at r clobbered.
  void reload_after_call(Ref r) {
    for (Ref v = 1; v < r; v++) {
      const Interval& w = iv(v);
      if (!needs_reg(ir_[v]) || !(w.start < r && r < w.end) || !w.in_reg(r) || w.spill < 0) continue;
      if (w.fpr) a_.movsd(x86::xmm(static_cast<uint32_t>(w.reg)), spill_mem(v));
      else a_.mov(x86::gpq(static_cast<uint32_t>(w.reg)), spill_mem(v));
    }
  }

  // The general registers a value live in the loop from start holds, with
  // rax and rdx (the inline divisions use them): what pin_keys and
  // pin_doubled may not take.
  std::vector<bool> gprs_busy_in_loop(Ref start) {
    std::vector<bool> busy(16, false);
    busy[x86::Gp::kIdAx] = busy[x86::Gp::kIdDx] = true;
    auto hold = [&](Ref v) {
      if (v != NO_REF && iv(v).reg >= 0 && !iv(v).fpr) busy[static_cast<size_t>(iv(v).reg)] = true;
    };
    for (Ref r = 1; r < ir_.size(); r++) {
      if (iv(r).end >= start) hold(r);
      if (ir_[r].op == IrOp::PHI) {  // the back-edge writes its destination's register
        hold(ir_[r].a);
        hold(ir_[r].b);
      }
    }
    return busy;
  }

  // The constant keys of an optimised loop's field guards, most used
  // first, in general registers no value holds from LOOPSTART on: each
  // guard compares the node's key with the register instead of building
  // the constant (nbody: seven keys each iteration). Not in a loop that
  // calls a helper (a call clobbers them); rax and rdx stay out, as the
  // inline divisions use them.
  void pin_keys(Ref start) {
    for (Ref c : al_.calls)
      if (c > start) return;
    std::map<Ref, int> uses;
    for (Ref r = start + 1; r < ir_.size(); r++)
      if (ir_[r].op == IrOp::HREFK) uses[ir_[r].b]++;
    if (uses.empty()) return;
    std::vector<bool> busy = gprs_busy_in_loop(start);
    std::vector<std::pair<int, Ref>> order;
    for (const auto& [k, n] : uses) order.push_back({-n, k});
    std::sort(order.begin(), order.end());
    size_t next = 0;
    for (int g : RegSet::x64().gpr) {
      if (next == order.size()) break;
      if (busy[static_cast<size_t>(g)]) continue;
      Ref k = order[next++].second;
      key_regs_[k] = g;
      a_.mov(x86::gpq(static_cast<uint32_t>(g)), reinterpret_cast<uint64_t>(ir_[k].k.p));
    }
  }

  // The loop-invariant indexes of the loop's array accesses (matrix's
  // b[k][j]: j), doubled once before it into general registers it leaves
  // free (as pin_keys), so that no iteration forms k + k for them in s1.
  void pin_doubled(Ref start) {
    for (Ref c : al_.calls)
      if (c > start) return;
    std::vector<bool> variant(ir_.size(), false);
    std::map<Ref, int> uses;
    for (Ref r = start + 1; r < ir_.size(); r++) {
      const IrIns& i = ir_[r];
      if (i.op == IrOp::PHI) variant[static_cast<size_t>(i.a)] = true;
      if (i.op == IrOp::AREF && i.b < start && !ir_.is_const(i.b) && ir_[i.b].type == IrType::Int) uses[i.b]++;
    }
    std::vector<bool> busy = gprs_busy_in_loop(start);
    for (const auto& [k, g] : key_regs_) busy[static_cast<size_t>(g)] = true;
    auto next = uses.begin();
    for (int g : RegSet::x64().gpr) {
      while (next != uses.end() && variant[static_cast<size_t>(next->first)]) ++next;
      if (next == uses.end()) break;
      if (busy[static_cast<size_t>(g)]) continue;
      x86::Gp k = gp(next->first, start, s1);
      a_.lea(x86::gpq(static_cast<uint32_t>(g)), x86::ptr(k, k));
      doubled_regs_[next->first] = g;
      ++next;
    }
  }

  // An optimised loop's trace tests the tags of the slots it loads before
  // anything that may write the frame all at its top (before its frame's rsp
  // adjustment), exiting through the first snapshot (empty: nothing is
  // done yet, and those slots hold what they held at the entry), and has an
  // entry behind those tests (Trace::guarded_entry): a side trace's link
  // that knows the tags jumps there (nbody's and mandelbrot's inner loops,
  // entered once per outer iteration from the side trace of their own exit).
  void hoist_entry_guards() {
    if (budget_free_) return;
    if (std::none_of(&ir_[1], &ir_[1] + (ir_.size() - 1), [](const IrIns& i) { return i.op == IrOp::LOOPSTART; }))
      return;
    // A trace starting with an integer slot's guarded load keeps its typed
    // and checked entries (behind that one guard) instead.
    Ref head = 1;
    while (head < ir_.size() && ir_.is_const(head)) head++;
    if (head < ir_.size() && ir_[head].op == IrOp::SLOAD && ir_[head].type == IrType::Int && ir_[head].aux8 != 1) return;
    int32_t first = -1;
    std::vector<Ref> loads;
    // Up to what may write the frame (stores into tables may come between).
    for (Ref r = 1; r < ir_.size() && ir_[r].op != IrOp::LOOPSTART && !ir_.may_write_upvalue(ir_[r]); r++) {
      const IrIns& i = ir_[r];
      if (first < 0 && i.snap >= 0) first = i.snap;
      if (i.op == IrOp::SLOAD && i.aux8 != 1 && i.type != IrType::Nil && i.snap >= 0 &&
          ir_.snapshots()[static_cast<size_t>(i.snap)].frame < 0)
        loads.push_back(r);
    }
    if (loads.empty() || first < 0) return;
    const Snapshot& s = ir_.snapshots()[static_cast<size_t>(first)];
    if (s.count != 0 || s.frame >= 0 || s.top >= 0 || exits_info_[first].bounds) return;
    hoisted_.assign(ir_.size(), false);
    for (Ref r : loads) {
      const IrIns& i = ir_[r];
      PendingExit e{a_.newLabel(), first, r};
      exits_.push_back(e);
      Label to = e.label;
      if (frame_ != kLinkFrame) {
        to = a_.newLabel();
        entry_exits_.push_back({to, e.label});
      }
      a_.cmp(field(slot_mem(i.aux), kTagOff, 1), static_cast<uint8_t>(i.tag));
      a_.jne(to);
      hoisted_[r] = true;
      entry_guards_.push_back({static_cast<int32_t>(i.aux), i.tag});
    }
    guarded_bound_ = true;
    guarded_snap_ = first;
    a_.bind(guarded_);
  }
  // The guarded entry of the trace at post when the link's trace knows every
  // tag it skips (IrBuffer::link_types), else nullptr.
  const void* guarded_target(const void* post) const {
    auto it = guarded_entries_.find(post);
    if (it == guarded_entries_.end()) return nullptr;
    const auto& known = ir_.link_types;
    for (const auto& g : it->second->entry_guards)
      if (std::find(known.begin(), known.end(), g) == known.end()) return nullptr;
    return it->second->guarded_entry;
  }

  // A pointer's guard against null (a table without a metatable): `test`.
  bool null_test(const IrIns& i) const {
    return (i.op == IrOp::EQ || i.op == IrOp::NE) && ir_[i.b].op == IrOp::KPTR && ir_[i.b].k.p == nullptr &&
           ir_[i.a].type == IrType::Ptr;
  }
  // s1 keeps k + k from one fused array slot's access to the next through
  // the same index, across what leaves s1 alone: loads, nil tests, field
  // loads, stores of all but the constants built in s1 (store_value) and
  // the guards of integers against 32-bit constants.
  bool keeps_s1(Ref r) const {
    const IrIns& i = ir_[r];
    switch (i.op) {
      case IrOp::VLOAD: case IrOp::NOTNIL: case IrOp::FLOAD:
        return true;
      case IrOp::VSTORE:
        return !(ir_[i.b].op == IrOp::KGC || ir_[i.b].op == IrOp::KPTR || (ir_[i.b].op == IrOp::KINT && !fits32(ir_[i.b].k.i)));
      case IrOp::AREF:
        return al_.fused[r];
      case IrOp::EQ: case IrOp::NE: case IrOp::LT: case IrOp::LE: case IrOp::GT: case IrOp::GE: case IrOp::ULT:
        return (ir_[i.a].type == IrType::Int && ir_[i.b].op == IrOp::KINT && fits32(ir_[i.b].k.i)) || null_test(i);
      default:
        return ir_.is_const(r);
    }
  }
  void emit(Ref r, Label top) {
    bool keeps_s1 = this->keeps_s1(r);
    if (!keeps_s1) doubled_ = NO_REF;
    if (!emitted_early_[r]) emit_one(r, top);
    if (!keeps_s1) doubled_ = NO_REF;
    if (r == self_at_) bind_self_entry();
  }

  // The self entry: fib's side trace starts at the function's first
  // instruction with the guard of its argument (k >= 2, behind which it is
  // checked_), then guards that the upvalue holding fib holds the running
  // closure. A CALLOUT of that closure from this trace knows both (the
  // argument it passes, the upvalue it proved), so the callee's recursive
  // path may enter here, behind the identity guard, rather than through
  // the root trace's entry and its exit to this one. Only constants, the
  // argument's load, that guard and the upvalue's loads and guard run
  // before it, and only the argument and the closure live across it. The
  // guards of other integer slots against constants may come between (ack's
  // k ~= 0): the CALLOUT tests them too, entering this trace at its checked
  // entry where one fails.
  void find_self_entry() {
    if (!budget_free_) return;
    Ref sload = NO_REF, first = NO_REF, clo = NO_REF, box = NO_REF, ptr = NO_REF, val = NO_REF, at = NO_REF;
    Ref other = NO_REF;
    std::vector<std::pair<Ref, Ref>> others;
    for (Ref v = 1; v < ir_.size() && at == NO_REF; v++) {
      const IrIns& i = ir_[v];
      if (ir_.is_const(v)) continue;
      if (sload == NO_REF && i.op == IrOp::SLOAD && i.type == IrType::Int) sload = v;
      else if (first == NO_REF && sload != NO_REF && i.a == sload && slot_fact(v).slot >= 0) first = v;
      else if (first != NO_REF && clo == NO_REF && other == NO_REF && i.op == IrOp::SLOAD && i.type == IrType::Int) other = v;
      else if (other != NO_REF && i.a == other && slot_fact(v).slot >= 0) others.push_back({other, v}), other = NO_REF;
      else if (first != NO_REF && other == NO_REF && clo == NO_REF && i.op == IrOp::CLOSURE && i.type == IrType::Ptr) clo = v;
      else if (clo != NO_REF && box == NO_REF && i.op == IrOp::FLOAD && static_cast<Field>(i.aux8) == Field::ClUpval && i.a == clo) box = v;
      else if (box != NO_REF && ptr == NO_REF && i.op == IrOp::FLOAD && static_cast<Field>(i.aux8) == Field::UvValue && i.a == box) ptr = v;
      else if (ptr != NO_REF && val == NO_REF && i.op == IrOp::VLOAD && i.a == ptr && i.type == IrType::Gc && i.tag == Tag::LClosure) val = v;
      else if (val != NO_REF && i.op == IrOp::EQ && ((i.a == clo && i.b == val) || (i.a == val && i.b == clo))) at = v;
      else return;
    }
    if (at == NO_REF) return;
    std::vector<Ref> closures;
    for (Ref v = 1; v <= at; v++) {
      if (!needs_reg(ir_[v]) || iv(v).end <= at) continue;
      if (iv(v).reg < 0 || iv(v).spill >= 0 || iv(v).fpr) return;
      bool guarded = std::any_of(others.begin(), others.end(), [&](const std::pair<Ref, Ref>& o) { return o.first == v; });
      if (v == clo || v == val) closures.push_back(v);
      else if (v != sload && !guarded) return;
    }
    self_at_ = at;
    self_guards_ = std::move(others);
    self_arg_ = sload;
    self_upvalue_ = ir_[box].aux;
    self_closures_ = std::move(closures);
  }
  // Trace::leaf_slot and leaf_add: the typed entry's load, its guard (the
  // checked entry's), then at most an integer slot's load and the
  // addition of a constant, and the RET of one result, which is that.
  void find_leaf() {
    if (!budget_free_) return;
    Ref sload = NO_REF, first = NO_REF, other = NO_REF, sum = NO_REF, ret = NO_REF;
    for (Ref v = 1; v < ir_.size(); v++) {
      const IrIns& i = ir_[v];
      if (ir_.is_const(v)) continue;
      if (sload == NO_REF && i.op == IrOp::SLOAD && i.type == IrType::Int) sload = v;
      else if (first == NO_REF && sload != NO_REF && i.a == sload && slot_fact(v).slot >= 0) first = v;
      else if (first != NO_REF && other == NO_REF && sum == NO_REF && i.op == IrOp::SLOAD && i.type == IrType::Int) other = v;
      else if (first != NO_REF && sum == NO_REF && (i.op == IrOp::ADD || i.op == IrOp::SUB) && i.type == IrType::Int &&
               (i.a == sload || i.a == other) && ir_[i.b].op == IrOp::KINT && fits32(ir_[i.b].k.i) &&
               ir_[i.b].k.i != INT32_MIN) sum = v;
      else if (first != NO_REF && ret == NO_REF && i.op == IrOp::RET && i.b == NO_REF && i.k.i == 1) ret = v;
      else return;
    }
    if (ret == NO_REF || ret != ir_.size() - 1) return;
    const Ref v = ir_[ret].a;
    const Ref base = v == sum ? ir_[sum].a : v;
    if ((base != sload && base != other) || (other != NO_REF && base != other)) return;
    leaf_slot_ = ir_[base].aux;
    leaf_add_ = v != sum ? 0 : static_cast<int32_t>(ir_[sum].op == IrOp::ADD ? ir_[ir_[sum].b].k.i : -ir_[ir_[sum].b].k.i);
  }
  void bind_self_entry() {
    if (!checked_bound_ || frame_ != kLinkFrame || deferred_ != NO_REF || deferred_sum_ != NO_REF ||
        !key_regs_.empty() || !doubled_regs_.empty() || iv(self_arg_).reg != checks_.reg || self_upvalue_ < 0 || self_upvalue_ >= 32)
      return;
    self_bound_ = true;
    doubled_ = NO_REF;
    a_.bind(self_);
  }

  void emit_one(Ref r, Label top) {
    const IrIns& i = ir_[r];
    switch (i.op) {
      case IrOp::KINT: case IrOp::KNUM: case IrOp::KGC: case IrOp::KPTR:
      case IrOp::KNIL: case IrOp::KFALSE: case IrOp::KTRUE:
        return;
      case IrOp::SLOAD:
        if (i.aux8 != 1 && !(guarded_bound_ && hoisted_[r])) guard_tag(slot_mem(i.aux), i, r);
        if (r == past_guard_) a_.bind(past_guard_label_);
        load_or_defer(slot_mem(i.aux), r);
        if (i.aux8 != 1 && i.type == IrType::Int && frame_ == kLinkFrame && !typed_bound_ && !guarded_bound_ && iv(r).in_reg(r) &&
            iv(r).spill < 0 && first_guard(r)) {
          typed_bound_ = true;
          typed_slot_ = static_cast<int32_t>(i.aux);
          typed_reg_ = iv(r).reg;
          a_.bind(typed_);
        }
        return;
      case IrOp::VLOAD: {
        x86::Mem tv = tvalue_at(i.a, r, s1);
        guard_tag(tv, i, r);
        load_or_defer(tv, r);
        return;
      }
      case IrOp::NOTNIL:
        a_.test(field(tvalue_at(i.a, r, s1), kTagOff, 1), 0x0f);
        a_.jz(exit_label(r));
        return;
      case IrOp::VSTORE:
        // Only a constant that is no immediate goes through s1 (then the
        // address is in a register: fused_addresses).
        store_value(tvalue_at(i.a, r, s0), i.b, r, i.aux8 == 0);
        return;
      case IrOp::FSTORE:
        a_.mov(x86::dword_ptr(gp(i.a, r, s0), field_offset(static_cast<Field>(i.aux8), i.aux)),
               static_cast<uint32_t>(ir_[i.b].k.i));
        return;
      case IrOp::FLOAD: {
        if (byte_compared(r) || asize_compared(r)) return;
        x86::Gp o = gp(i.a, r, s0);
        x86::Gp d = dst_gp(r);
        int32_t off = field_offset(static_cast<Field>(i.aux8), i.aux);
        Field f = static_cast<Field>(i.aux8);
        if (f == Field::TabAsize || f == Field::TabAinline) a_.mov(d.r32(), x86::dword_ptr(o, off));
        else if (f == Field::TabLsizenode || f == Field::TabFlags || f == Field::GcTag) a_.movzx(d.r32(), x86::byte_ptr(o, off));
        else a_.mov(d, x86::qword_ptr(o, off));
        finish(r, d);
        return;
      }
      case IrOp::CLOSURE: {
        x86::Gp d = dst_gp(r);
        a_.mov(d, x86::qword_ptr(rBase, -16));
        finish(r, d);
        return;
      }
      case IrOp::SLOTREF: {
        x86::Gp d = dst_gp(r);
        a_.lea(d, x86::ptr(rBase, static_cast<int32_t>(sizeof(TValue)) * i.aux));
        finish(r, d);
        return;
      }
      case IrOp::AREF: {
        if (al_.fused[r]) return;
        x86::Gp base = gp(i.a, r, s0);
        x86::Gp d = dst_gp(r);
        const IrIns& bi = ir_[i.b];
        if (bi.op == IrOp::KINT && bi.k.i >= 1 && bi.k.i < (1 << 26)) {
          a_.lea(d, x86::ptr(base, static_cast<int32_t>((bi.k.i - 1) * 16)));
        } else {
          // base + 16k - 16 as base + 8(k + k) - 16: two instructions.
          if (auto dk = doubled_regs_.find(i.b); dk != doubled_regs_.end()) {
            a_.lea(d, x86::ptr(base, x86::gpq(static_cast<uint32_t>(dk->second)), 3, -16));
          } else {
            x86::Gp k = gp(i.b, r, s1);
            a_.lea(s1, x86::ptr(k, k));
            a_.lea(d, x86::ptr(base, s1, 3, -16));
          }
        }
        finish(r, d);
        return;
      }
      case IrOp::BLOAD: {
        x86::Gp str = gp(i.a, r, s0);
        x86::Gp idx = gp(i.b, r, s1);
        x86::Gp d = dst_gp(r);
        a_.movzx(d.r32(), x86::byte_ptr(str, idx, 0, static_cast<int32_t>(layout::STRING_DATA) - 1));
        finish(r, d);
        return;
      }
      case IrOp::HREFK: {
        x86::Gp node = gp(i.a, r, s0);
        x86::Gp d = dst_gp(r);
        int32_t off = i.aux * static_cast<int32_t>(layout::NODE_SIZE);
        Label ex = exit_label(r);
        a_.cmp(x86::byte_ptr(node, off + kNodeKeyTag), static_cast<uint8_t>(Tag::ShortStr));
        a_.jne(ex);
        if (auto key = key_regs_.find(i.b); key != key_regs_.end()) {
          a_.cmp(x86::qword_ptr(node, off + kNodeKeyPayload), x86::gpq(static_cast<uint32_t>(key->second)));
        } else {
          a_.mov(s1, reinterpret_cast<uint64_t>(ir_[i.b].k.p));
          a_.cmp(x86::qword_ptr(node, off + kNodeKeyPayload), s1);
        }
        a_.jne(ex);
        if (al_.fused[r]) return;
        a_.lea(d, x86::ptr(node, off + kNodeVal));
        finish(r, d);
        return;
      }
      case IrOp::ADD: case IrOp::SUB: case IrOp::MUL: case IrOp::DIV:
        if (i.type == IrType::Num) num_binop(r);
        else int_binop(r);
        return;
      case IrOp::BAND: case IrOp::BOR: case IrOp::BXOR: case IrOp::SHLK: case IrOp::SHRK:
        int_binop(r);
        return;
      case IrOp::NEG:
        if (i.type == IrType::Num) float_sign(r, false);
        else int_unop(r, true);
        return;
      case IrOp::BNOT:
        int_unop(r, false);
        return;
      case IrOp::FLOOR: case IrOp::CEIL: {
        // Toward -inf (9) or +inf (10), no precision exception.
        x86::Xmm d = dst_xmm(r);
        a_.roundsd(d, xmm(i.a, r, f0), i.op == IrOp::FLOOR ? 9 : 10);
        finish(r, d);
        return;
      }
      case IrOp::TOINT: {
        x86::Gp d = dst_gp(r);
        a_.cvttsd2si(d, xmm(i.a, r, f0));
        finish(r, d);
        return;
      }
      case IrOp::SQRT: {
        x86::Xmm d = dst_xmm(r);
        a_.sqrtsd(d, xmm(i.a, r, f0));
        finish(r, d);
        return;
      }
      case IrOp::ABS:
        if (i.type == IrType::Num) {
          float_sign(r, true);
        } else {
          // -x unless that is negative (x >= 0, or mininteger, which wraps).
          // x is kept in s1: d is s0 when the result lives in memory.
          x86::Gp d = dst_gp(r);
          x86::Gp x = gp(i.a, r, s1);
          if (x != s1) a_.mov(s1, x);
          a_.mov(d, s1);
          a_.neg(d);
          a_.cmovs(d, s1);
          finish(r, d);
        }
        return;
      case IrOp::CONV: {
        x86::Xmm d = dst_xmm(r);
        a_.xorps(d, d);
        a_.cvtsi2sd(d, gp(i.a, r, s0));
        finish(r, d);
        return;
      }
      case IrOp::LT: case IrOp::LE: case IrOp::GT: case IrOp::GE: case IrOp::EQ: case IrOp::NE:
      case IrOp::NLT: case IrOp::NLE: case IrOp::ULT:
        guard_cmp(r);
        return;
      case IrOp::CALL:
        call(r);
        return;
      case IrOp::LOOPSTART: {
        // Nothing in an optimised loop can start an instruction budget
        // (no native calls; helpers never charge one): test it once, here,
        // where the back-edge's snapshot holds (the pre-roll's values are
        // the PHIs' destinations), not each iteration.
        if (!budget_free_) {
          const IrIns& back = ir_[ir_.size() - 1];
          Label ex = a_.newLabel();
          exits_.push_back({ex, back.snap, r, false});
          a_.mov(s1, x86::qword_ptr(rL, kStateG));
          a_.cmp(x86::qword_ptr(s1, kGlobalBudget), 0);
          a_.jne(ex);
        }
        pin_keys(r);
        pin_doubled(r);
        a_.bind(loop_);
        return;
      }
      case IrOp::CALLOUT:
        callout(r);
        return;
      case IrOp::NCALL:
        ncall(r);
        return;
      case IrOp::RET:
        ret(r);
        return;
      case IrOp::RETDOWN:
        ret_down(r);
        return;
      case IrOp::TOPEQ:
        a_.lea(s0, x86::ptr(rBase, i.aux * 16));
        a_.cmp(x86::qword_ptr(rL, kStateTop), s0);
        a_.jne(exit_label(r));
        return;
      case IrOp::SETTAIL:
        // A new closure takes the frame (a tail call from a side trace's
        // frame): as the interpreter's tail call, the frame holds it and
        // its size from here on.
        // A function's tail call of itself keeps its frame's size.
        if (r + 1 < ir_.size()) tail_leaf(r);
        a_.mov(s1, x86::qword_ptr(rL, kStateCi));
        if (i.a != NO_REF) {
          store_value(rBase, -16, i.a, r);
          a_.lea(s0, x86::ptr(rBase, i.aux * 16));
          a_.mov(x86::qword_ptr(s1, kCiTop), s0);
        }
        // As the interpreter's tail call: it also ends the __call hops counted.
        a_.and_(x86::word_ptr(s1, kCiCallstatus), static_cast<uint16_t>(~CIST_CCMT));
        a_.or_(x86::word_ptr(s1, kCiCallstatus), CIST_TAIL);
        return;
      case IrOp::PHI:
        phis_.push_back(r);
        return;
      case IrOp::LOOP: {
        if (i.b == 3) {
          // A stitch: everything to the frame, then back to the interpreter
          // for the native call (record_stitch.cpp).
          write_snapshot(i.snap, r);
          Label ex = a_.newLabel();
          plain_exits_.push_back({ex, i.snap, r, false});
          a_.jmp(ex);
          return;
        }
        if (i.b == 2) {
          // A side trace's end: everything to the frame, then into the
          // trace of the loop it reached, unless a hook or a budget needs
          // the interpreter (which enters that trace at its next back-edge).
          write_snapshot(i.snap, r);
          Label ex = a_.newLabel();
          plain_exits_.push_back({ex, i.snap, r, false});
          const Snapshot& s = ir_.snapshots()[static_cast<size_t>(i.snap)];
          int32_t base_off = 0;
          if (s.frame >= 0 || i.aux8 != 0) {
            // The loop is an inlined callee's: its frames become real first.
            // (After a return to a caller, aux8: only the check of what the
            // loop's traces need.)
            make_frames_real(s);
            has_room(ex);
            if (s.frame >= 0) base_off = (ir_.snap_frames()[static_cast<size_t>(s.frame)].func_slot + 1) * 16;
          }
          leave_for_hook_or_budget(ex);
          const Trace* typed = base_off == 0 ? typed_target(i.snap, i.k.p, 0) : nullptr;
          const void* guarded = typed == nullptr && s.frame < 0 && i.aux8 == 0 ? guarded_target(i.k.p) : nullptr;
          leave_frame(base_off);
          a_.jmp(Imm(reinterpret_cast<uint64_t>(typed != nullptr ? typed->typed_entry : guarded != nullptr ? guarded : i.k.p)));
          return;
        }
        if (i.b == 1) {
          phi_moves(r);
          // Hooks are handled by the interpreter: leave at the loop head
          // when one was set meanwhile (budgets: at LOOPSTART).
          Label ex = a_.newLabel();
          exits_.push_back({ex, i.snap, r, false});
          a_.cmp(x86::dword_ptr(rL, kStateHookmask), 0);
          a_.je(loop_);
          a_.jmp(ex);
          return;
        }
        write_snapshot(i.snap, r);
        // Everything is in the frame now, so the exit below restores
        // nothing more and the budget call may clobber any register.
        Label ex = a_.newLabel();
        plain_exits_.push_back({ex, i.snap, r, false});
        // Hooks run in the interpreter: leave when one was set meanwhile.
        a_.cmp(x86::dword_ptr(rL, kStateHookmask), 0);
        a_.jne(ex);
        // A function's tail call of itself (ack) counts no budget: none
        // counts where function traces run (leave_for_hook_or_budget).
        if (budget_free_) {
          bool typed = typed_bound_ && snapshot_type(i.snap, typed_slot_) == IrType::Int;
          if (typed && !snapshot_in_reg(i.snap, typed_slot_, typed_reg_, r))
            a_.mov(x86::gpq(static_cast<uint32_t>(typed_reg_)), slot_mem(typed_slot_));
          a_.jmp(typed ? typed_ : top);
          return;
        }
        // The instruction budget is charged per iteration (jit_seam.hpp).
        Label go = a_.newLabel();
        a_.mov(x86::rdi, x86::qword_ptr(rL, kStateG));
        a_.cmp(x86::qword_ptr(x86::rdi, kGlobalBudget), 0);
        a_.je(go);
        a_.mov(x86::esi, i.aux);
        a_.mov(x86::rax, reinterpret_cast<uint64_t>(&jit_charge_budget));
        a_.call(x86::rax);
        a_.test(x86::al, x86::al);
        a_.jz(ex);
        a_.bind(go);
        a_.jmp(top);
        return;
      }
    }
  }

  // CALLOUT: the frame is written back and a real frame pushed for the
  // call, as the interpreter's CALL would (or the trace leaves before it, by
  // a plain exit at the CALL, when the interpreter has something to do: a
  // hook, a budget, the stack or CallInfos to grow). The stack must also
  // hold what the callee's traces reserve on entry (Reserve, which grows as
  // its traces are added). The callee's CallInfo gets the continuation
  // (the code after the call, in its ctx, unused in Lua frames), and the
  // trace jumps into the function's trace with the callee's base: no
  // native stack grows, however deep the recursion. A RET from the callee
  // jumps back to the continuation with this frame's base; no value lives
  // across the call (every slot is read from the frame after it).
  void callout(Ref r) {
    const IrIns& i = ir_[r];
    const Proto* p = static_cast<const Proto*>(i.k.p);
    // The callee's typed entry register, when the snapshot writes its
    // argument from it: kept (ci and callee avoid it), so the entry needs
    // no load but on the out-of-line path below, whose call clobbers it.
    const int32_t treg = typed_entry_reg(r);
    const bool kept = treg >= 0 && snapshot_in_reg(i.snap, i.aux + 1 + typed_slot_of(r), treg, r);
    // A base case computed in place (leaf_call) from the argument in a
    // register needs no callee frame: its function slot and arguments are
    // written after it, for the call (a function trace has no exit before).
    const int32_t areg = treg >= 0 ? snapshot_reg(i.snap, i.aux + 1 + typed_slot_of(r), r) : -1;
    const bool split = budget_free_ && areg >= 0 && leaf_from_regs(r, treg);
    write_snapshot(i.snap, r, INT32_MIN, split ? i.aux : INT32_MAX);
    Label ex = a_.newLabel();
    plain_exits_.push_back({ex, i.snap, r, false});
    // In a function trace the RET tests the hook, once per call: a hook
    // can be set only asynchronously here (compiled code sets none, the
    // seam enters no trace under one), and it is seen at the next return,
    // which comes within the recursion's depth, bounded by the stack.
    if (!budget_free_) leave_for_hook_or_budget(ex);
    Label after_call = a_.newLabel(), rare = a_.newLabel();
    const Trace* typed = i.a != NO_REF && treg >= 0 ? typed_entries_.find(ir_[i.a].k.p)->second : nullptr;
    const bool self = typed != nullptr && enters_self(i, typed, treg);
    // The callee's root trace would test its first guard, then enter this
    // trace where it fails: tested here (test_base), and this trace
    // entered behind its guard of the upvalue this call just proved, the
    // closure from the callee's function slot (ack's inner call passes m,
    // which this trace's first guard found nonzero: the callee's m == 0
    // fails, nothing to test).
    const bool test_base = self && !fails_first_guard(i, typed);
    const bool leaf = leaf_call(r, treg, areg, after_call, rare);
    // Behind a base case in place the argument is known to fail that guard
    // (fib's k - 1 >= 2): the path without the test, and a second one with
    // it for the base cases the leaf could not compute in place (a CallInfo
    // or stack to grow).
    const bool two_paths = leaf && test_base;
    if (!two_paths) a_.bind(rare);
    // The self entry's registers the snapshot writes from (the closure in
    // the callee's function slot, ack's k guarded again) still hold their
    // values at the jump: not loaded again, but after the out-of-line call
    // below, which clobbers them. ci and callee avoid them and treg.
    std::vector<std::pair<int32_t, int32_t>> held;  // register, slot
    if (self) {
      auto hold = [&](int32_t reg, int32_t slot) {
        if (snapshot_in_reg(i.snap, slot, reg, r) && reg != treg) held.push_back({reg, slot});
      };
      for (const auto& [load, g] : self_guards_) hold(iv(load).reg, i.aux + 1 + slot_fact(g).slot);
      for (Ref v : self_closures_) hold(iv(v).reg, i.aux);
    }
    auto is_held = [&](int32_t reg) {
      for (const auto& h : held)
        if (h.first == reg) return true;
      return false;
    };
    std::vector<x86::Gp> spare;
    for (const x86::Gp& g : {x86::rax, x86::rcx, x86::rdx, x86::r8, x86::r9})
      if (static_cast<int32_t>(g.id()) != treg && !is_held(static_cast<int32_t>(g.id()))) spare.push_back(g);
    if (spare.size() < 2) {
      held.clear();
      spare = {treg == 0 ? x86::rdx : x86::rax, treg == 1 ? x86::rdx : x86::rcx};
    }
    const x86::Gp ci = spare[0], callee = spare[1];
    const int32_t need = (i.aux + 1 + 2 * p->maxstacksize) * 16;
    Label cont = a_.newLabel(), flag_exit = a_.newLabel();
    // The callee's savedpc, trap and nextraargs (0), continuation,
    // nresults and callstatus (0) and the hook's transfer fields (0, unread
    // in a fresh Lua frame): 32 constant bytes, copied from behind the
    // code in two 16-byte moves (6 stores and their immediates before).
    ci_tails_.push_back({a_.newLabel(), reinterpret_cast<uint64_t>(p->code), cont,
                         static_cast<uint16_t>(static_cast<int32_t>(i.aux8) - 1)});
    const Label tail = ci_tails_.back().label;
    const x86::Mem targ = slot_mem(i.aux + 1 + typed_slot_of(r));
    auto call_path = [&](bool test) {
      if (split) write_snapshot(i.snap, r, i.aux, INT32_MAX);
      a_.mov(ci, x86::qword_ptr(rL, kStateCi));
      a_.mov(callee, x86::qword_ptr(ci, kCiNext));
      a_.test(callee, callee);
      // A CallInfo the interpreter would allocate at the call (deeper than
      // ever): out of line, nothing lives in registers across a CALLOUT.
      Label no_ci = a_.newLabel(), got_ci = a_.newLabel();
      a_.jz(no_ci);
      a_.bind(got_ci);
      // The frame, its arguments (the interpreter's test, with the frame as
      // the bound) and the reserve below stack_last; CallInfos above the
      // callee's, when its traces inline calls, out of line (fast_bytes).
      Label have = a_.newLabel(), frames = a_.newLabel();
      a_.mov(s1, reinterpret_cast<uint64_t>(ir_[i.b].k.p));
      a_.mov(s0, x86::qword_ptr(s1, static_cast<int32_t>(offsetof(Reserve, fast_bytes))));
      a_.lea(s0, x86::ptr(rBase, s0, 0, need));
      a_.cmp(s0, x86::qword_ptr(rL, kStateStackLast));
      a_.jae(frames);
      a_.bind(have);
      a_.mov(s0, reinterpret_cast<uint64_t>(ir_.snapshots()[static_cast<size_t>(i.snap)].pc + 1));
      a_.mov(x86::qword_ptr(ci, kCiSavedpc), s0);
      a_.lea(s0, x86::ptr(rBase, i.aux * 16));
      a_.mov(x86::qword_ptr(callee, kCiFunc), s0);
      a_.lea(s0, x86::ptr(s0, (1 + p->maxstacksize) * 16));
      a_.mov(x86::qword_ptr(callee, kCiTop), s0);
      a_.mov(x86::qword_ptr(rL, kStateTop), s0);
      for (int32_t half = 0; half < 2; half++) {
        const x86::Mem from = x86::xmmword_ptr(tail, half * 16);
        const x86::Mem to = x86::xmmword_ptr(callee, kCiSavedpc + half * 16);
        if (kAvx) {
          a_.vmovups(f0, from);
          a_.vmovups(to, f0);
        } else {
          a_.movups(f0, from);
          a_.movups(to, f0);
        }
      }
      // Where the trace reads an upvalue known to hold the running closure
      // after the call, the callee returns into an exit instead once any of
      // its traces may assign upvalues (Reserve::sets_upvalues, s1 holds the
      // Reserve here).
      Label flagged = a_.newLabel(), unflagged = a_.newLabel();
      if (i.cont_snap >= 0) {
        a_.cmp(x86::qword_ptr(s1, static_cast<int32_t>(offsetof(Reserve, sets_upvalues))), 0);
        a_.jne(flagged);
        a_.bind(unflagged);
      }
      a_.mov(x86::qword_ptr(rL, kStateCi), callee);
      // An argument this trace knows to be an integer enters the callee's
      // trace behind the guard of its type (fib's k - 1), loaded from the
      // frame just written unless still in the entry's register.
      if (treg >= 0 && !kept) a_.mov(x86::gpq(static_cast<uint32_t>(treg)), targ);
      if (i.a == NO_REF) {
        tail_jump_label(treg >= 0 ? typed_ : post_, (i.aux + 1) * 16);
      } else {
        // A direct jump (asmjit goes through an address table when out of
        // rel32 range).
        leave_frame((i.aux + 1) * 16);
        if (self) {
          if (test) {
            Label past = a_.newLabel();
            a_.cmp(x86::gpq(static_cast<uint32_t>(treg)), checks_.k);
            jump_if(checks_.rel, past);
            a_.jmp(Imm(reinterpret_cast<uint64_t>(typed->checked_entry)));
            a_.bind(past);
          }
          for (const auto& [load, g] : self_guards_) {
            const SlotFact f = slot_fact(g);
            const x86::Gp reg = x86::gpq(static_cast<uint32_t>(iv(load).reg));
            if (!is_held(iv(load).reg)) a_.mov(reg, slot_mem(f.slot));
            a_.cmp(reg, f.k);
            jump_if(negated(f.rel), checked_);
          }
          for (Ref v : self_closures_)
            if (!is_held(iv(v).reg)) a_.mov(x86::gpq(static_cast<uint32_t>(iv(v).reg)), x86::qword_ptr(rBase, -16));
          a_.jmp(self_);
        } else {
          a_.jmp(Imm(reinterpret_cast<uint64_t>(typed != nullptr ? typed->typed_entry : ir_[i.a].k.p)));
        }
      }
      a_.bind(no_ci);
      a_.mov(x86::rdi, rL);
      a_.mov(x86::rsi, ci);
      a_.mov(x86::rax, reinterpret_cast<uint64_t>(&ci_try_after));
      a_.call(x86::rax);
      a_.test(x86::rax, x86::rax);
      a_.jz(ex);
      a_.mov(callee, x86::rax);
      a_.mov(ci, x86::qword_ptr(rL, kStateCi));
      if (kept) a_.mov(x86::gpq(static_cast<uint32_t>(treg)), targ);
      for (const auto& [reg, slot] : held) a_.mov(x86::gpq(static_cast<uint32_t>(reg)), slot_mem(slot));
      a_.jmp(got_ci);
      a_.bind(frames);
      a_.mov(s0, x86::qword_ptr(s1, static_cast<int32_t>(offsetof(Reserve, stack_bytes))));
      a_.lea(s0, x86::ptr(rBase, s0, 0, need));
      a_.cmp(s0, x86::qword_ptr(rL, kStateStackLast));
      a_.jae(ex);
      a_.cmp(x86::dword_ptr(s1, static_cast<int32_t>(offsetof(Reserve, frames))), 0);
      a_.je(have);
      a_.mov(s0, callee);
      for (int k = 1; k <= SlotState::kMaxDepth; k++) {
        a_.mov(s0, x86::qword_ptr(s0, kCiNext));
        a_.test(s0, s0);
        a_.jz(ex);
        a_.cmp(x86::dword_ptr(s1, static_cast<int32_t>(offsetof(Reserve, frames))), k + 1);
        a_.jb(have);
      }
      a_.jmp(ex);
      if (i.cont_snap >= 0) {
        a_.bind(flagged);
        a_.lea(s0, x86::ptr(flag_exit));
        a_.mov(x86::qword_ptr(callee, kCiCont), s0);
        a_.jmp(unflagged);
      }
    };
    call_path(test_base && !two_paths);
    if (two_paths) {
      a_.bind(rare);
      call_path(true);
    }
    if (i.cont_snap >= 0) {
      a_.bind(flag_exit);
      enter_continuation(i.aux);
      exits_.push_back({a_.newLabel(), i.cont_snap, r});
      a_.jmp(exits_.back().label);
    }
    a_.bind(cont);
    // Variable results (ack's inner call): the TOPEQ just after the call
    // compares the top they end at with the callee's base, still in r13
    // here; the lea moving the base back keeps the flags.
    const Ref g = r + 1;
    if (frame_ == kLinkFrame && g < ir_.size() && ir_[g].op == IrOp::TOPEQ && ir_[g].aux == i.aux + 1) {
      a_.cmp(x86::qword_ptr(rL, kStateTop), rBase);
      enter_continuation(i.aux);
      a_.jne(exit_label(g));
      emitted_early_[g] = true;
      if (leaf) a_.bind(after_call);
      return;
    }
    enter_continuation(i.aux);
    if (!leaf) return;
    // The base case stored an integer in the result's slot: it goes on past
    // the tag guard of the load of that slot when that comes first (fib's
    // fib(k - 2)).
    Ref next = r + 1;
    while (next < ir_.size() && ir_.is_const(next)) next++;
    const IrIns* n = next < ir_.size() ? &ir_[next] : nullptr;
    if (n != nullptr && !emitted_early_[next] && n->op == IrOp::SLOAD && n->aux == i.aux &&
        n->aux8 != 1 && n->type == IrType::Int) {
      past_guard_ = next;
      past_guard_label_ = after_call;
    } else {
      a_.bind(after_call);
    }
  }

  // A CALLOUT whose callee's root trace only returns an integer where its
  // first guard holds (Trace::leaf_slot: fib's `return k` for k < 2, ack's
  // `return k + 1` for m == 0): where the argument passes that guard, the
  // result is computed here and stored in the function slot, as the RET
  // would, and the trace goes on after the call (L->top above the result
  // for a call wanting all results). The call is made as before where the
  // interpreter's call would need more stack or a new CallInfo (which it
  // might fail to get: the CALLOUT's own tests, which leave for the
  // interpreter there). A hook is not tested: one can be set here only
  // asynchronously (a loop trace's CALLOUT tested it before), and the RET,
  // tail call or call this trace goes on to tests it, as a full call's
  // callee's RET would. The callee has no frame to see meanwhile: nothing
  // runs in it but the addition. leaf_target: that callee's root trace,
  // else nullptr.
  const Trace* leaf_target(Ref r, int32_t treg) const {
    const IrIns& i = ir_[r];
    if (i.a == NO_REF || treg < 0 || frame_ != kLinkFrame) return nullptr;
    const Trace* t = typed_entries_.find(ir_[i.a].k.p)->second;
    if (fails_first_guard(i, t)) return nullptr;
    const int32_t wanted = static_cast<int32_t>(i.aux8) - 1;
    if (t->leaf_slot < 0 || t->checks.slot != t->typed_slot || t->checks.reg != treg || (wanted != 1 && wanted != MULTRET))
      return nullptr;
    if (snapshot_type(i.snap, i.aux + 1 + t->leaf_slot) != IrType::Int) return nullptr;
    if (wanted == MULTRET && !(r + 1 < ir_.size() && ir_[r + 1].op == IrOp::TOPEQ && ir_[r + 1].aux == i.aux + 1))
      return nullptr;
    return t;
  }
  // Whether the base case's result comes from the argument in treg (fib's
  // `return k`), not from memory.
  bool leaf_from_regs(Ref r, int32_t treg) const {
    const Trace* t = leaf_target(r, treg);
    return t != nullptr && t->leaf_slot == t->typed_slot;
  }
  // The base case's test and result; returns whether it was emitted
  // (after_call is then to be bound behind the continuation's entry). A
  // base case it cannot compute in place goes to rare, to be called;
  // otherwise it falls through to the call with an argument known not to
  // be a base case.
  bool leaf_call(Ref r, int32_t treg, int32_t areg, Label after_call, Label rare) {
    const IrIns& i = ir_[r];
    const Trace* t = leaf_target(r, treg);
    if (t == nullptr) return false;
    const int32_t wanted = static_cast<int32_t>(i.aux8) - 1;
    const int32_t off = i.aux + 1;
    Label call = a_.newLabel();
    const x86::Gp arg = areg >= 0 ? x86::gpq(static_cast<uint32_t>(areg)) : s0;
    if (areg < 0) a_.mov(s0, slot_mem(off + t->typed_slot));
    a_.cmp(arg, t->checks.k);
    jump_if(negated(t->checks.rel), call);
    a_.mov(s1, x86::qword_ptr(rL, kStateCi));
    a_.cmp(x86::qword_ptr(s1, kCiNext), 0);
    a_.je(rare);
    // The interpreter's room test as the CALLOUT makes it, without the
    // reserve the callee's traces need: none of them runs.
    const Proto* p = static_cast<const Proto*>(i.k.p);
    const int32_t need = (i.aux + 1 + 2 * p->maxstacksize) * 16;
    a_.lea(s1, x86::ptr(rBase, need));
    a_.cmp(s1, x86::qword_ptr(rL, kStateStackLast));
    a_.jae(rare);
    // The result from the argument's register is stored as it is (fib's
    // `return k`) or added into s0 by one lea (ack's `return k + 1`).
    x86::Gp res = s0;
    if (t->leaf_slot != t->typed_slot) {
      a_.mov(s0, slot_mem(off + t->leaf_slot));
      if (t->leaf_add != 0) a_.add(s0, t->leaf_add);
    } else if (t->leaf_add != 0) {
      a_.lea(s0, x86::ptr(arg, t->leaf_add));
    } else {
      res = arg;
    }
    a_.mov(x86::qword_ptr(rBase, i.aux * 16), res);
    a_.mov(x86::byte_ptr(rBase, i.aux * 16 + kTagOff), static_cast<uint8_t>(Tag::Int));
    if (wanted == MULTRET) {
      a_.lea(s0, x86::ptr(rBase, (i.aux + 1) * 16));
      a_.mov(x86::qword_ptr(rL, kStateTop), s0);
    }
    a_.jmp(after_call);
    a_.bind(call);
    return true;
  }

  // A jump writing snapshot n into the trace at post, whose frame starts at
  // slot off of this one's: the trace when it has a typed entry and the
  // snapshot writes an integer to its slot, which is then loaded into the
  // entry's register; else nullptr (enter at post).
  const Trace* typed_target(int32_t n, const void* post, int32_t off) {
    auto it = typed_entries_.find(post);
    if (it == typed_entries_.end()) return nullptr;
    const Trace* t = it->second;
    if (snapshot_type(n, off + t->typed_slot) != IrType::Int) return nullptr;
    a_.mov(x86::gpq(static_cast<uint32_t>(t->typed_reg)), slot_mem(off + t->typed_slot));
    return t;
  }

  // Whether CALLOUT i, of the running closure, may enter this trace's self
  // entry when its argument fails the first guard of the callee's root
  // trace typed, entered at its typed entry: that guard is the negation of
  // this trace's first (the one its checked entry is behind), on the
  // argument's slot and register, and the call knows the upvalue the self
  // entry's guard reads to hold the callee.
  bool enters_self(const IrIns& i, const Trace* typed, int32_t treg) const {
    if (!self_bound_ || (i.self_upvalues >> self_upvalue_ & 1) == 0 || typed->checked_entry == nullptr) return false;
    for (const auto& [load, g] : self_guards_)
      if (slot_fact(g).slot < 0 || snapshot_type(i.snap, i.aux + 1 + ir_[load].aux) != IrType::Int) return false;
    const SlotFact& f = typed->checks;
    return f.slot == typed->typed_slot && f.reg == treg && checks_.slot == f.slot && checks_.reg == treg &&
           checks_.k == f.k && checks_.rel == negated(f.rel) && ir_[self_arg_].aux == f.slot;
  }
  // Whether CALLOUT i passes as the argument the typed entry of t takes
  // the very value this trace's first guard checked, with the negation of
  // t's first guard: that guard then fails in the callee.
  bool fails_first_guard(const IrIns& i, const Trace* t) const {
    if (!checked_bound_ || t->checks.slot != t->typed_slot || checks_.k != t->checks.k ||
        checks_.rel != negated(t->checks.rel))
      return false;
    const Snapshot& sn = ir_.snapshots()[static_cast<size_t>(i.snap)];
    for (uint32_t e = 0; e < sn.count; e++) {
      const SnapEntry& x = ir_.snap_entries()[sn.first + e];
      if (x.slot == i.aux + 1 + t->typed_slot) return x.ref == checked_load_;
    }
    return false;
  }
  void jump_if(IrOp rel, Label to) {
    switch (rel) {
      case IrOp::LT: a_.jl(to); break;
      case IrOp::LE: a_.jle(to); break;
      case IrOp::GT: a_.jg(to); break;
      case IrOp::GE: a_.jge(to); break;
      case IrOp::EQ: a_.je(to); break;
      default: a_.jne(to); break;
    }
  }

  // The register of the typed entry CALLOUT r enters (its callee's integer
  // argument written by its snapshot), or -1 when it enters at post.
  int32_t typed_entry_reg(Ref r) const {
    const IrIns& i = ir_[r];
    if (i.a == NO_REF)
      return typed_bound_ && snapshot_type(i.snap, i.aux + 1 + typed_slot_) == IrType::Int ? typed_reg_ : -1;
    auto it = typed_entries_.find(ir_[i.a].k.p);
    if (it == typed_entries_.end()) return -1;
    const Trace* t = it->second;
    return snapshot_type(i.snap, i.aux + 1 + t->typed_slot) == IrType::Int ? t->typed_reg : -1;
  }
  // The slot, in the callee's frame, of that entry's argument.
  int32_t typed_slot_of(Ref r) const {
    const IrIns& i = ir_[r];
    if (i.a == NO_REF) return typed_slot_;
    auto it = typed_entries_.find(ir_[i.a].k.p);
    return it == typed_entries_.end() ? 0 : it->second->typed_slot;
  }

  // The general register snapshot n writes slot from, still holding it at
  // pos, or -1.
  int32_t snapshot_reg(int32_t n, int32_t slot, Ref pos) const {
    const Snapshot& sn = ir_.snapshots()[static_cast<size_t>(n)];
    for (uint32_t e = 0; e < sn.count; e++) {
      const SnapEntry& x = ir_.snap_entries()[sn.first + e];
      if (x.slot == slot)
        return !ir_.is_const(x.ref) && needs_reg(ir_[x.ref]) && !iv(x.ref).fpr && iv(x.ref).in_reg(pos) ? iv(x.ref).reg : -1;
    }
    return -1;
  }
  // Whether snapshot n writes slot from general register reg, which still
  // holds it at pos.
  bool snapshot_in_reg(int32_t n, int32_t slot, int32_t reg, Ref pos) const {
    return reg >= 0 && snapshot_reg(n, slot, pos) == reg;
  }


  // The type of the value snapshot n writes to slot, Void if none.
  IrType snapshot_type(int32_t n, int32_t slot) const {
    const Snapshot& sn = ir_.snapshots()[static_cast<size_t>(n)];
    for (uint32_t e = 0; e < sn.count; e++)
      if (ir_.snap_entries()[sn.first + e].slot == slot) return ir_[ir_.snap_entries()[sn.first + e].ref].type;
    return IrType::Void;
  }

  // Back from a CALLOUT's callee's RET, with the callee's base in r13: this
  // frame's is func_slot + 1 slots below it.
  void enter_continuation(int32_t func_slot) {
    if (frame_ != kLinkFrame) a_.sub(x86::rsp, frame_ - kLinkFrame);
    a_.lea(rBase, x86::ptr(rBase, -(func_slot + 1) * 16));
  }

  // The n results at slot first move to the frame's function slot (the one
  // below its base), nil-filled up to count, and L->top is set above them,
  // as the interpreter's return does. Payload and tag are copied as the
  // snapshot wrote them, so the loads are forwarded from those stores.
  void move_results(int32_t first, int32_t n, int32_t count) {
    for (int32_t k = 0; k < count; k++) {
      if (k < n) {
        a_.mov(s0, x86::qword_ptr(rBase, (first + k) * 16));
        a_.mov(x86::qword_ptr(rBase, (k - 1) * 16), s0);
        a_.movzx(s0.r32(), x86::byte_ptr(rBase, (first + k) * 16 + kTagOff));
        a_.mov(x86::byte_ptr(rBase, (k - 1) * 16 + kTagOff), s0.r8());
      } else {
        a_.mov(x86::qword_ptr(rBase, (k - 1) * 16), 0);
        a_.mov(x86::byte_ptr(rBase, (k - 1) * 16 + kTagOff), static_cast<uint8_t>(Tag::Nil));
      }
    }
    a_.lea(s0, x86::ptr(rBase, (count - 1) * 16));
    a_.mov(x86::qword_ptr(rL, kStateTop), s0);
  }

  // RET: the results move to the function slot and the frame is popped, as
  // the interpreter's return does; results the trace computed are stored
  // there straight from their registers (the frame's other slots are dead
  // once popped). L->top is set only where the caller reads it: a caller
  // wanting all results (C = 0) or the seam's caller, whose stub
  // (seam_return) sets it from the popped frame. A trace continuing after
  // its CALLOUT with fixed results never reads it (its next call or return
  // sets it; an exit there leaves it at or above the frame's live slots,
  // which the collector's clearing keeps harmless). When the caller wants
  // another fixed number of results than returned, the snapshot is
  // written and the helper moves them. A hook set meanwhile leaves to the
  // interpreter's RETURN. The continuation is in the frame's ctx: a
  // CALLOUT's, or the seam's stub.
  void ret(Ref r) {
    const IrIns& i = ir_[r];
    const int32_t n = static_cast<int32_t>(i.k.i);
    Label ex = a_.newLabel();
    exits_.push_back({ex, i.snap, r, false});
    a_.cmp(x86::dword_ptr(rL, kStateHookmask), 0);
    a_.jne(ex);
    if (leaf_ret_entry(r)) {
      leaf_ret_reg_ = iv(i.a).reg;
      leaf_ret_ = a_.newLabel();
      a_.bind(leaf_ret_);
    }
    Label all = a_.newLabel(), other = a_.newLabel(), popped = a_.newLabel();
    const x86::Gp ci = s0;  // store_value below uses s1 only
    // The pop, at the end of both paths (ack's calls want all results).
    auto pop = [&] {
      a_.mov(s1, x86::qword_ptr(ci, kCiPrevious));
      a_.mov(x86::qword_ptr(rL, kStateCi), s1);
    };
    a_.mov(ci, x86::qword_ptr(rL, kStateCi));
    a_.cmp(x86::word_ptr(ci, kCiNresults), n);
    a_.jne(all);
    store_results(r);
    pop();
    a_.bind(popped);
    leave_frame(0);
    a_.jmp(x86::qword_ptr(ci, kCiCont));
    a_.bind(all);
    a_.cmp(x86::word_ptr(ci, kCiNresults), MULTRET);
    a_.jne(other);
    store_results(r);
    if (n == 1) {
      a_.mov(x86::qword_ptr(rL, kStateTop), rBase);
    } else {
      a_.lea(s1, x86::ptr(rBase, (n - 1) * 16));
      a_.mov(x86::qword_ptr(rL, kStateTop), s1);
    }
    pop();
    leave_frame(0);
    a_.jmp(x86::qword_ptr(ci, kCiCont));
    a_.bind(other);
    write_snapshot(i.snap, r);
    a_.mov(x86::rdi, rL);
    a_.lea(x86::rsi, x86::ptr(rBase, i.aux * 16));
    a_.mov(x86::edx, n);
    a_.mov(x86::rax, reinterpret_cast<uint64_t>(&jit_return));
    a_.call(x86::rax);
    a_.mov(ci, x86::qword_ptr(rL, kStateCi));
    a_.mov(ci, x86::qword_ptr(ci, kCiNext));
    a_.jmp(popped);
  }

  // Whether RET r is a leaf trace's (find_leaf) whose code past the hook
  // test needs only its result's register: the snapshot its paths write
  // holds nothing else, and the native frame is the link frame.
  bool leaf_ret_entry(Ref r) const {
    const IrIns& i = ir_[r];
    if (leaf_slot_ < 0 || !checked_bound_ || !typed_bound_ || frame_ != kLinkFrame || ir_.is_const(i.a)) return false;
    const Interval& v = iv(i.a);
    if (v.reg < 0 || v.fpr || v.spill >= 0 || !v.in_reg(r)) return false;
    const Snapshot& sn = ir_.snapshots()[static_cast<size_t>(i.snap)];
    bool has = false;
    for (uint32_t e = 0; e < sn.count; e++) {
      const SnapEntry& x = ir_.snap_entries()[sn.first + e];
      if (x.ref == i.a && x.slot == i.aux) has = true;
      else if (!ir_.is_const(x.ref)) return false;
    }
    return has;
  }

  // A self tail call (SETTAIL r of the running closure, then the LOOP
  // entering the function's root trace) whose argument passes the root's
  // first guard, where that root only returns a base case (Trace::leaf_ret):
  // the result is computed here and the root's RET entered past its hook
  // test, tested here instead (the tail call would leave for a hook too).
  // The frame's slots are not written: it is popped by that RET.
  void tail_leaf(Ref r) {
    const IrIns& l = ir_[r + 1];
    if (ir_[r].a != NO_REF || !budget_free_ || frame_ != kLinkFrame || l.op != IrOp::LOOP || l.b != 2 || l.aux8 != 0)
      return;
    const Snapshot& sn = ir_.snapshots()[static_cast<size_t>(l.snap)];
    if (sn.frame >= 0) return;
    auto it = typed_entries_.find(l.k.p);
    if (it == typed_entries_.end()) return;
    const Trace* t = it->second;
    if (t->leaf_ret == nullptr || t->checks.slot != t->typed_slot) return;
    const int32_t areg = snapshot_reg(l.snap, t->typed_slot, r);
    if (areg < 0 || snapshot_type(l.snap, t->typed_slot) != IrType::Int) return;
    Ref val = NO_REF;
    for (uint32_t e = 0; e < sn.count; e++)
      if (ir_.snap_entries()[sn.first + e].slot == t->leaf_slot) val = ir_.snap_entries()[sn.first + e].ref;
    if (val == NO_REF || ir_[val].type != IrType::Int) return;
    const int32_t vreg = ir_.is_const(val) ? -1 : snapshot_reg(l.snap, t->leaf_slot, r);
    if (!ir_.is_const(val) && vreg < 0) return;
    if (ir_.is_const(val) && ir_[val].op != IrOp::KINT) return;
    Label normal = a_.newLabel();
    a_.cmp(x86::gpq(static_cast<uint32_t>(areg)), t->checks.k);
    jump_if(negated(t->checks.rel), normal);
    a_.cmp(x86::dword_ptr(rL, kStateHookmask), 0);
    a_.jne(normal);
    const x86::Gp res = x86::gpq(static_cast<uint32_t>(t->leaf_ret_reg));
    if (vreg < 0) {
      const uint64_t sum = static_cast<uint64_t>(ir_[val].k.i) + static_cast<uint64_t>(static_cast<int64_t>(t->leaf_add));
      a_.mov(res, sum);
    } else if (t->leaf_add != 0) {
      a_.lea(res, x86::ptr(x86::gpq(static_cast<uint32_t>(vreg)), t->leaf_add));
    } else if (vreg != t->leaf_ret_reg) {
      a_.mov(res, x86::gpq(static_cast<uint32_t>(vreg)));
    }
    leave_frame(0);
    a_.jmp(Imm(reinterpret_cast<uint64_t>(t->leaf_ret)));
    a_.bind(normal);
  }

  // RET's results, slot aux + k to k - 1 (below every slot read after it):
  // the first two are its operands, the others the snapshot's values or
  // copies of their slots.
  void store_results(Ref r) {
    const IrIns& i = ir_[r];
    const int32_t n = static_cast<int32_t>(i.k.i);
    const Snapshot& sn = ir_.snapshots()[static_cast<size_t>(i.snap)];
    for (int32_t k = 0; k < n; k++) {
      Ref v = k == 0 ? i.a : k == 1 ? i.b : NO_REF;
      for (uint32_t e = 0; e < sn.count && v == NO_REF; e++)
        if (ir_.snap_entries()[sn.first + e].slot == i.aux + k) v = ir_.snap_entries()[sn.first + e].ref;
      if (v != NO_REF) {
        store_value(rBase, (k - 1) * 16, v, r);
      } else {
        a_.mov(s1, x86::qword_ptr(rBase, (i.aux + k) * 16));
        a_.mov(x86::qword_ptr(rBase, (k - 1) * 16), s1);
        a_.movzx(s1.r32(), x86::byte_ptr(rBase, (i.aux + k) * 16 + kTagOff));
        a_.mov(x86::byte_ptr(rBase, (k - 1) * 16 + kTagOff), s1.r8());
      }
    }
  }

  // RETDOWN: like the interpreter's return to the Lua caller the recording
  // saw (its frame at that call; else the trace leaves at the RETURN): the
  // results are written back and moved, the frame popped, and the trace's
  // base becomes the caller's.
  void ret_down(Ref r) {
    const IrIns& i = ir_[r];
    const Instruction* retpc = static_cast<const Instruction*>(i.k.p);
    Instruction call = retpc[-1];
    const int32_t func = getarg_A(call), wanted = getarg_C(call) - 1, n = i.aux8;
    write_snapshot(i.snap, r);
    Label ex = a_.newLabel();
    plain_exits_.push_back({ex, i.snap, r, false});
    a_.cmp(x86::dword_ptr(rL, kStateHookmask), 0);
    a_.jne(ex);
    a_.mov(x86::rax, x86::qword_ptr(rL, kStateCi));
    a_.test(x86::word_ptr(x86::rax, kCiCallstatus), CIST_FRESH);
    a_.jnz(ex);
    a_.mov(x86::rcx, x86::qword_ptr(x86::rax, kCiPrevious));
    a_.test(x86::word_ptr(x86::rcx, kCiCallstatus), CIST_C);
    a_.jnz(ex);
    a_.mov(s1, reinterpret_cast<uint64_t>(retpc));
    a_.cmp(x86::qword_ptr(x86::rcx, kCiSavedpc), s1);
    a_.jne(ex);
    move_results(i.aux, n, wanted < 0 ? n : wanted);
    a_.mov(x86::qword_ptr(rL, kStateCi), x86::rcx);
    a_.sub(rBase, (func + 1) * 16);
  }

  const IrBuffer& ir_;
  const Allocation& al_;
  x86::Assembler& a_;

 public:
  Label post_;  // behind the prologue (Trace::post)
  // Sideable exits and the code returning their record, where each jumps
  // through ExitInfo::side until a side trace is attached.
  std::vector<std::pair<ExitInfo*, Label>> side_returns_;
  // Guards' jumps that attach_side may point at a side trace: the
  // snapshot (its ExitInfo) and the end of the jump.
  struct DirectSite {
    int32_t snap;
    Label after;
    SlotFact fact;  // what the guard's failure proves
  };
  std::vector<DirectSite> direct_sites_;
  // Trace::checked_entry and Trace::checks: bound when checked_bound_.
  Label checked_;
  bool checked_bound_ = false;
  SlotFact checks_;
  Ref checked_load_ = NO_REF;  // the load checks_ is about
  // The typed entry (Trace::typed_entry), bound when typed_bound_, and
  // the traces with one that CALLOUTs may enter.
  Label typed_;
  bool typed_bound_ = false;
  // The guarded entry (hoist_entry_guards): the loads whose tag test moved
  // to the top, and the slots and tags tested there.
  Label guarded_;
  bool guarded_bound_ = false;
  int32_t guarded_snap_ = -1;
  std::vector<bool> hoisted_;
  std::vector<std::pair<Label, Label>> entry_exits_;  // a hoisted test's jump, its exit
  std::vector<std::pair<int32_t, Tag>> entry_guards_;
  int32_t leaf_slot_ = -1;  // Trace::leaf_slot, leaf_add (find_leaf)
  int32_t leaf_add_ = 0;
  Label leaf_ret_;  // Trace::leaf_ret, bound when leaf_ret_reg_ >= 0
  int32_t leaf_ret_reg_ = -1;
  // The self entry (find_self_entry), bound behind the identity guard
  // self_at_ when self_bound_: the argument's load, the upvalue guarded,
  // the values holding the closure there.
  Label self_;
  bool self_bound_ = false;
  Ref self_at_ = NO_REF;
  Ref self_arg_ = NO_REF;
  int32_t self_upvalue_ = -1;
  std::vector<Ref> self_closures_;
  std::vector<std::pair<Ref, Ref>> self_guards_;  // other slots' loads and guards before it
  int32_t typed_slot_ = -1;
  int32_t typed_reg_ = -1;
  const TypedEntries& typed_entries_;
  const TypedEntries& guarded_entries_;

 private:
  Label done_;   // the epilogue, returning rax
  std::vector<PendingExit> exits_;
  std::vector<PendingExit> plain_exits_;  // snapshot already written
  std::vector<Ref> phis_;
  std::vector<bool> emitted_early_;  // by a guard before it (decrement_after)
  Ref doubled_ = NO_REF;             // the index whose double s1 holds
  Ref deferred_ = NO_REF;            // a float load left to its user (load_or_defer)
  Ref deferred_sum_ = NO_REF;        // a sum left to its user (sum_folds_into_next)
  Ref past_guard_ = NO_REF;          // the load whose tag guard a base case in place skips
  Label past_guard_label_;           // (callout), bound behind that guard
  std::map<Ref, int> key_regs_;      // pinned keys of the loop's field guards (pin_keys)
  std::map<Ref, int> doubled_regs_;  // pinned doubles of the loop's invariant indexes (pin_doubled)
  x86::Mem deferred_mem_;
  std::map<uint64_t, Label> knums_;  // float constants by their bits
  // A CALLOUT's callee CallInfo from savedpc on (callout), behind the code.
  struct CiTail {
    Label label;
    uint64_t savedpc;
    Label cont;
    uint16_t nresults;  // callstatus and the transfer fields above it 0
  };
  std::vector<CiTail> ci_tails_;
  std::map<const String*, Label> find_items_;  // StrFindItem's items by their pattern
  std::map<const String*, Label> find_chains_;  // StrFindChain's chains by their pattern
  Label loop_;
  ExitInfo* exits_info_;
  size_t nsnap_;
  bool budget_free_;
  void* seam_return_;  // Trace::seam_return: the ctx of the frames a link makes real
  int frame_ = 0;
};

}  // namespace

// Where a RET from the frame the seam entered continues (the frame's ctx,
// set by run and rebuild_frames): L->top above the results the caller
// wanted, unless RET set it (a caller wanting all of them, nresults < 0),
// then the epilogue of the native frame every trace shares (rsp at
// kLinkFrame below the pushes), returning returned_exit().
bool CodeArena::assemble_seam_return() {
  CodeHolder code;
  code.init(rt_->rt.environment());
  x86::Assembler a(&code);
  Label set = a.newLabel();
  a.mov(x86::rcx, x86::qword_ptr(rL, kStateCi));
  a.mov(x86::rcx, x86::qword_ptr(x86::rcx, kCiNext));
  a.movsx(x86::rax, x86::word_ptr(x86::rcx, kCiNresults));
  a.test(x86::rax, x86::rax);
  a.js(set);
  a.shl(x86::rax, 4);
  a.add(x86::rax, x86::qword_ptr(x86::rcx, kCiFunc));
  a.mov(x86::qword_ptr(rL, kStateTop), x86::rax);
  a.bind(set);
  // Trace::native_return: the same epilogue without L->top, which the
  // native caller sets itself (TruthCalls::call_trace).
  Label native = a.newLabel();
  a.bind(native);
  a.mov(x86::rax, reinterpret_cast<uint64_t>(returned_exit()));
  a.add(x86::rsp, Emitter::kLinkFrame);
  for (const x86::Gp& g : {x86::r15, x86::r14, x86::r13, x86::r12, x86::rbp, x86::rbx}) a.pop(g);
  a.ret();
  void* fn = nullptr;
  if (rt_->rt.add(&fn, &code) != kErrorOk) return false;
  rt_->seam_return = fn;
  rt_->native_return = static_cast<char*>(fn) + code.labelOffsetFromBase(native);
  return true;
}

bool CodeArena::assemble(const IrBuffer& ir, const Allocation& al, Trace* t, bool listing) {
  // A CALLOUT leaves the trace's native frame: nothing may live across it
  // (the recorder reads every slot again after it).
  for (Ref c = 1; c < ir.size(); c++)
    if (ir[c].op == IrOp::CALLOUT)
      for (Ref v = 1; v < c; v++)
        if (needs_reg(ir[v]) && al.iv[v].end > c) return false;
  // Nor a coroutine's NCALL, under which the collector may run: whatever
  // the trace holds in a register is read again after it.
  for (Ref c = 1; c < ir.size(); c++)
    if (ir[c].op == IrOp::NCALL && ir[c].k.p != nullptr)
      for (Ref v = 1; v < c; v++)
        if (needs_reg(ir[v]) && al.iv[v].end > c) return false;
  // An NCALL may move the stack: no slot address lives across it.
  for (Ref c = 1; c < ir.size(); c++)
    if (ir[c].op == IrOp::NCALL)
      for (Ref v = 1; v < c; v++)
        if (ir[v].op == IrOp::SLOTREF && al.iv[v].end > c) return false;
  if (rt_->seam_return == nullptr && !assemble_seam_return()) return false;
  CodeHolder code;
  code.init(rt_->rt.environment());
  StringLogger logger;
  if (listing) code.setLogger(&logger);
  x86::Assembler a(&code);
  // Six pushes and the return address leave rsp 8 off 16-byte alignment.
  int frame = std::max(al.nspill * 8, Emitter::kLinkFrame);
  if (frame % 16 != 8) frame += 8;
  size_t nsnap = ir.snapshots().size();
  auto exits = std::make_unique<ExitInfo[]>(2 * nsnap);
  for (size_t n = 0; n < 2 * nsnap; n++) {
    const Snapshot& s = ir.snapshots()[n % nsnap];
    exits[n].pc = s.pc;
    exits[n].index = static_cast<uint32_t>(n % nsnap);
    exits[n].frame = s.frame;
    exits[n].top = s.top;
    // An exit restoring L->top needs the interpreter to read it: side
    // traces start at a fixed top (in the trace's own frame or, keeping
    // them inlined, in the frames the exit names).
    exits[n].sideable = n < nsnap && s.top < 0;
    exits[n].trace = t;
  }
  for (Ref r = 1; r < ir.size(); r++)
    if (ir[r].aux8 == 1 && (ir[r].op == IrOp::ULT || ir[r].op == IrOp::GE)) {
      exits[static_cast<size_t>(ir[r].snap)].bounds = true;
      exits[static_cast<size_t>(ir[r].snap)].sideable = false;
    }
  // A link into an inlined callee's loop makes the frames real before it
  // leaves by its plain exit (make_frames_real): nothing more to rebuild.
  const IrIns& last = ir[ir.size() - 1];
  if (last.op == IrOp::LOOP && last.b == 2 && ir.snapshots()[static_cast<size_t>(last.snap)].frame >= 0) {
    exits[nsnap + static_cast<size_t>(last.snap)].frame = -1;
    exits[nsnap + static_cast<size_t>(last.snap)].top = -1;
  }
  if (last.op == IrOp::LOOP && last.b == 3) exits[nsnap + static_cast<size_t>(last.snap)].stitch = true;
  Emitter em(ir, al, a, exits.get(), t->returns, rt_->typed, rt_->guarded, rt_->seam_return);
  em.run(frame);
  TraceFn fn = nullptr;
  if (rt_->rt.add(&fn, &code) != kErrorOk) return false;
  t->entry = fn;
  t->seam_return = rt_->seam_return;
  t->native_return = rt_->native_return;
  for (const auto& [x, ret] : em.side_returns_) x->side = reinterpret_cast<char*>(fn) + code.labelOffsetFromBase(ret);
  for (const auto& [snap, after, fact] : em.direct_sites_) {
    ExitInfo& x = exits[static_cast<size_t>(snap)];
    uint8_t* field = reinterpret_cast<uint8_t*>(fn) + code.labelOffsetFromBase(after) - 4;
    for (int k = 0; k < 2; k++)
      if (x.direct[k] == nullptr) {
        x.direct[k] = field;
        x.direct_fact[k] = fact;
        break;
      }
  }
  if (em.checked_bound_) {
    t->checked_entry = reinterpret_cast<char*>(fn) + code.labelOffsetFromBase(em.checked_);
    t->checks = em.checks_;
  }
  t->post = reinterpret_cast<char*>(fn) + code.labelOffsetFromBase(em.post_);
  if (em.checked_bound_ && em.typed_bound_) {
    t->leaf_slot = em.leaf_slot_;
    t->leaf_add = em.leaf_add_;
    if (em.leaf_ret_reg_ >= 0) {
      t->leaf_ret = reinterpret_cast<char*>(fn) + code.labelOffsetFromBase(em.leaf_ret_);
      t->leaf_ret_reg = em.leaf_ret_reg_;
    }
  }
  if (em.typed_bound_) {
    t->typed_entry = reinterpret_cast<char*>(fn) + code.labelOffsetFromBase(em.typed_);
    t->typed_slot = em.typed_slot_;
    t->typed_reg = em.typed_reg_;
    rt_->typed[t->post] = t;
  }
  if (em.guarded_bound_) {
    t->guarded_entry = reinterpret_cast<char*>(fn) + code.labelOffsetFromBase(em.guarded_);
    t->entry_guards = em.entry_guards_;
    t->entry_guard_snap = em.guarded_snap_;
    rt_->guarded[t->post] = t;
  }
  t->mcode_size = code.codeSize();
  if (listing) t->dump += logger.data();
  t->exits = std::move(exits);
  t->nexits = 2 * nsnap;
  t->frames = ir.snap_frames();
  t->loop_snap = ir[ir.size() - 1].snap;
  return true;
}

// No compiled code runs while the interpreter attaches a side trace. The
// code is written in place where the system lets asmjit map it writable
// (not under a hardened runtime, which gets a separate writable view); a
// target out of rel32 range keeps the jump through the exit's code.
void attach_side(ExitInfo* x, const Trace& side) noexcept {
  x->side = side.post;
  x->attached = true;
  static const bool in_place =
      !Support::test(VirtMem::hardenedRuntimeInfo().flags, VirtMem::HardenedRuntimeFlags::kEnabled);
  if (!in_place) return;
  for (int k = 0; k < 2; k++) {
    uint8_t* field = x->direct[k];
    if (field == nullptr) continue;
    const SlotFact& f = x->direct_fact[k];
    void* entry = f.slot >= 0 && f == side.checks ? side.checked_entry : side.post;
    int64_t rel = static_cast<uint8_t*>(entry) - (field + 4);
    if (rel < INT32_MIN || rel > INT32_MAX) continue;
    int32_t rel32 = static_cast<int32_t>(rel);
    VirtMem::ProtectJitReadWriteScope scope(field, sizeof rel32);
    std::memcpy(field, &rel32, sizeof rel32);
  }
}

}  // namespace luna::jit
