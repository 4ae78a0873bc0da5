// Library functions called from compiled code (NCALL). Stitching
// (record_stitch.cpp) leaves the trace for every native call, an exit and
// a re-entry of about 100 instructions: more than the Lua code between two
// calls of string.find in a JSON decoder. The string functions, table.concat,
// next, pairs and tonumber, given arguments of the types guarded here
// (strings, numbers, tables without metatable, a format without %s), run no
// Lua code and change no table, so the trace calls them in place:
//
// - NCALL writes the snapshot of the CALL first, so the frame in memory is
//   the interpreter's (the arguments included), then native_call makes the
//   call as the interpreter's CALL does, with the collector paused (no
//   finalizer can run Lua code under the trace; the collection it put off
//   is due before the next NCALL, where native_call does not call but
//   leaves the trace for the interpreter to make the call and collect) and
//   no message handler.
// - An error in the call (a malformed pattern, a bad position, out of
//   memory), a hook or an instruction budget: native_call restores the state
//   and the trace leaves by a plain exit at the CALL. The interpreter makes
//   the call again and raises the error with its message, handler and
//   traceback; the failed attempt changed nothing the interpreter sees (the
//   arguments the library converted in place were numbers, converted to the
//   text they stand for).
// - The stack may have grown: native_call returns the function slot's new
//   address and the trace's base follows it. Slots from the function's up
//   are read from the frame after the call (the results, with type guards).
#include "record.hpp"

#include <cstring>

#include "builtin.hpp"

namespace luna::jit {

namespace {

bool str_or_num(const TValue& v) { return v.is_string() || v.is_number(); }
bool opt_num(const TValue& v) { return v.is_nil() || v.is_number(); }
bool plain_table(const TValue& v) { return v.is_table() && v.as_table()->metatable == nullptr; }

// A format whose conversions read numbers and strings as they are; %s
// (to_lstring_meta) looks for __tostring in the metatable of the string or
// number it is given, which the trace guards absent (has_s).
bool plain_format(const String* s, bool* has_s) {
  const char* p = s->c_str();
  const char* end = p + s->len;
  *has_s = false;
  while (p < end) {
    if (*p++ != '%') continue;
    while (p < end && std::strchr("-+ #0123456789.", *p) != nullptr) p++;
    if (p == end || std::strchr("%cdiouxXaAeEfFgGs", *p) == nullptr) return false;
    *has_s = *has_s || *p == 's';
    p++;
  }
  return true;
}
bool plain_format(const String* s) {
  bool has_s;
  return plain_format(s, &has_s);
}

LeafFn leaf_of(NativeFn f) {
  LeafFn l = string_leaf(f);
  if (l == LeafFn::None) l = table_leaf(f);
  if (l == LeafFn::None) l = base_leaf(f);
  return l;
}

// The arguments f takes as plain values (missing ones are nil).
bool leaf_args(LeafFn f, const TValue* args, int nargs) {
  static const TValue nil_value;
  auto arg = [&](int k) -> const TValue& { return k < nargs ? args[k] : nil_value; };
  if (f == LeafFn::GMatchIter) return true;  // it reads none
  if (nargs < 1) return false;
  switch (f) {
    case LeafFn::StrFind: case LeafFn::StrMatch:
      return nargs <= 4 && str_or_num(arg(0)) && str_or_num(arg(1)) && opt_num(arg(2));
    case LeafFn::StrGsub:
      return nargs >= 3 && nargs <= 4 && str_or_num(arg(0)) && str_or_num(arg(1)) &&
             (str_or_num(arg(2)) || plain_table(arg(2))) && opt_num(arg(3));
    case LeafFn::StrFormat:
      if (!arg(0).is_string() || !plain_format(arg(0).as_string())) return false;
      for (int k = 1; k < nargs; k++)
        if (!str_or_num(arg(k))) return false;
      return true;
    case LeafFn::StrRep:
      return nargs <= 3 && str_or_num(arg(0)) && arg(1).is_number() && (arg(2).is_nil() || str_or_num(arg(2)));
    case LeafFn::StrReverse: case LeafFn::StrCase: case LeafFn::StrLen:
      return nargs == 1 && str_or_num(arg(0));
    case LeafFn::StrByte: case LeafFn::StrSub:
      return nargs <= 3 && str_or_num(arg(0)) && opt_num(arg(1)) && opt_num(arg(2));
    case LeafFn::StrChar:
      for (int k = 0; k < nargs; k++)
        if (!arg(k).is_number()) return false;
      return true;
    case LeafFn::TabConcat:
      return nargs <= 4 && plain_table(arg(0)) && (arg(1).is_nil() || str_or_num(arg(1))) && opt_num(arg(2)) &&
             opt_num(arg(3));
    case LeafFn::Next:
      return nargs <= 2 && arg(0).is_table();
    case LeafFn::Pairs:
      return nargs == 1 && plain_table(arg(0));
    case LeafFn::ToString:
      return nargs == 1 && str_or_num(arg(0));
    case LeafFn::ToNumber:
      return nargs == 1 ? str_or_num(arg(0)) : nargs == 2 && arg(0).is_string() && arg(1).is_number();
    case LeafFn::None: case LeafFn::GMatchIter:
      break;
  }
  return false;
}

// The call itself, wanting R results. The callee is a leaf (leaf_args):
// no hook is set (native_call checked), it makes no to-be-closed slot and
// never yields, so its frame ends without poscall's tests. Its CallInfo
// and stack room are checked here once; without them, and for the rarer
// result counts (kAnyResults: nresults, all or more than two), precall_native.
constexpr int kAnyResults = -2;

template <int R>
[[gnu::always_inline]] inline void call_leaf(State* L, CallInfo* old_ci, TValue* func, int nresults, NativeFn f) {
  CallInfo* ci = old_ci->next;
  if (R == kAnyResults || ci == nullptr || L->stack_last - L->top <= MINSTACK) {
    precall_native(L, func, nresults, f);
    return;
  }
  set_native_frame(L, ci, func, R);
  int n = f(L);
  TValue* res = ci->func;  // the stack may have moved
  const TValue* first = L->top - n;
  for (int k = 0; k < R; k++) res[k] = k < n ? first[k] : TValue();
  L->top = res + R;
  L->ci = old_ci;
}

// NCALL's callee (ir.hpp: native_call_for), wanting R results; Iter: the
// callee is gmatch's iterator (a native closure whose position an error
// must put back), known when the trace is assembled.
template <int R, bool Iter>
uintptr_t native_call(State* L, TValue* func, int nargs, int nresults, NativeFn f) noexcept {
  GlobalState* g = L->g;
  // A hook, a budget to charge or a collection step due: the interpreter's.
  // The call pauses the collector, so a loop of allocating calls in a trace
  // would otherwise never collect; the interpreter's call collects.
  if (L->hookmask != 0 || g->instr_budget != 0 || g->gcdebt > 0) return reinterpret_cast<uintptr_t>(func) | 1;
  ptrdiff_t fo = L->save(func), old_top = L->save(L->top);
  CallInfo* old_ci = L->ci;
  // allowhook, nCcalls and nny need no saving: a leaf changes none of them,
  // nor does its error (no hook, no message handler, no nested call).
  ptrdiff_t old_errfunc = L->errfunc;
  uint8_t old_gcstp = g->gcstp;
  // The debt the call's allocations add to the one before it, as one value:
  // the collector's paused checks may have reset the debt meanwhile.
  size_t debt_base = g->totalbytes - static_cast<size_t>(g->gcdebt);
  L->top = func + 1 + nargs;
  L->errfunc = 0;
  g->gcstp |= GCSTP_INTERNAL;
  NClosure* it = Iter ? func->as_nclosure() : nullptr;
  GMatchPos pos = Iter ? gmatch_pos(it) : GMatchPos{};
  // A plain try block, not run_protected (its setjmp and jump scope, ~40
  // instructions a call): the callee is a native frame without
  // CIST_NOUNWIND and runs no Lua code, so throw_status never jumps over
  // this function to an outer pcall; every error arrives here as an
  // exception.
  int st = OK;
  try {
    call_leaf<R>(L, old_ci, func, nresults, f);
  } catch (LuaThrow& e) {
    st = e.status;
  } catch (...) {
    st = ERRMEM;
  }
  g->gcstp = old_gcstp;
  L->errfunc = old_errfunc;
  // A collection the pause put off is due as if it had not been paused.
  auto owed = static_cast<ptrdiff_t>(g->totalbytes - debt_base);
  if (g->gcdebt < owed) g->gcdebt = owed;
  func = L->restore(fo);
  if (st == OK) return reinterpret_cast<uintptr_t>(func);
  L->ci = old_ci;
  L->top = L->restore(old_top);
  if (Iter) gmatch_set_pos(it, pos);
  return reinterpret_cast<uintptr_t>(func) | 1;
}

template <bool Iter>
NativeCallFn native_call_wanting(int nresults) {
  switch (nresults) {
    case 0: return &native_call<0, Iter>;
    case 1: return &native_call<1, Iter>;
    case 2: return &native_call<2, Iter>;
    default: return &native_call<kAnyResults, Iter>;
  }
}

// coroutine.create(body) from a trace (create_native), its body at func[1]:
// thread_new without native_call's layers (~75 instructions a call) and
// the library function's (~30). It needs no frame: it raises only a memory
// error (a C++ throw, never a jump, caught here: the interpreter's call then
// raises it), calls no hook, and its collection step is put off as
// native_call's is: the collector paused (no emergency collection under the
// trace), a collection due leaves the trace at the CALL for the
// interpreter's. Without the room above the arguments that thread_new's
// ensure_stack(L, 1) asks for (it would grow the stack) it leaves there
// too: the stack never moves under it, so what the trace loaded before it
// holds after (IrBuffer::may_change).
uintptr_t create_call(State* L, TValue* func, int nargs, int nresults, NativeFn) noexcept {
  GlobalState* g = L->g;
  TValue* top = func + 1 + nargs;
  if (L->hookmask != 0 || g->instr_budget != 0 || g->gcdebt > 0 || L->stack_last - top <= 1)
    return reinterpret_cast<uintptr_t>(func) | 1;
  TValue* old_top = L->top;
  uint8_t old_gcstp = g->gcstp;
  L->top = top;
  g->gcstp |= GCSTP_INTERNAL;
  State* co;
  try {
    co = thread_new(L);
  } catch (...) {
    g->gcstp = old_gcstp;
    L->top = old_top;
    return reinterpret_cast<uintptr_t>(func) | 1;
  }
  g->gcstp = old_gcstp;
  *co->top++ = func[1];
  for (int k = 0; k < nresults; k++) func[k] = k == 0 ? TValue::object(co) : TValue();
  L->top = func + nresults;
  return reinterpret_cast<uintptr_t>(func);
}

}  // namespace

// The only native closure called so (Recorder::native) is gmatch's iterator.
NativeCallFn native_call_for(int nresults, NativeFn f) {
  if (f == coro_create) return &create_call;
  return leaf_of(f) == LeafFn::GMatchIter ? native_call_wanting<true>(nresults) : native_call_wanting<false>(nresults);
}

// A coroutine function (CoFn) called from a trace: unlike the leaf calls
// above, it may run Lua code (the coroutine's body, a message handler,
// finalizers), so the collector is not paused. The trace wrote its frame
// back before the call and keeps no value across it (every slot is read
// again after), so nothing it holds only in a register can be collected
// from under it. The frame's savedpc is set for positions (wrap's error
// message, tracebacks in the body). A hook or budget: not called, the
// interpreter makes the call (bit 0). An error after the call began: the
// coroutine has moved on, so the interpreter must not make the call again;
// the error (its handler already run) is kept in the seam, which raises
// it once the trace has left at the CALL (bit 0). After a good call,
// leave_after_call tells the trace to leave at the next instruction when
// the call set a hook or a budget, or switched the JIT off or flushed it
// (no trace code is freed while such a call runs: lua_calls), or when a
// caught error under it (a message handler's or a finalizer's pcall) shrank
// the stack below what the trace's entry had reserved for the frames it
// inlines. The CallInfos reserved for them stay: that shrink keeps 8
// beyond the frame catching (do.cpp, KEEP_FREE_CI), itself above the
// callee's, and a trace inlines at most SlotState::kMaxDepth (3) frames.

uintptr_t coroutine_call(State* L, TValue* func, int nargs, int nresults, NativeFn f,
                         const Instruction* savedpc) noexcept {
  GlobalState* g = L->g;
  if (L->hookmask != 0 || g->instr_budget != 0) return reinterpret_cast<uintptr_t>(func) | 1;
  return call_lua_from_trace(L, func, func + 1 + nargs, savedpc, [&] { coro_precall(L, func, nresults, f); });
}

// Strings and numbers converted by %s (tostring) run no __tostring: numbers
// have no metatable, and the string metatable (whichever it is) caches
// __tostring as absent.
bool Recorder::guard_tostring_plain() {
  if (!string_tostring_absent(L_) || !guard_numbers_plain()) return false;
  IrIns m = ir_ins(IrOp::FLOAD, IrType::Ptr, ir_.kptr(&L_->g->mt[TSTRING]));
  m.aux8 = static_cast<uint8_t>(Field::Deref);
  Ref mref = ir_.emit(m);
  if (L_->g->mt[TSTRING] == nullptr) {
    guard(IrOp::EQ, mref, ir_.kptr(nullptr));
    return true;
  }
  guard(IrOp::NE, mref, ir_.kptr(nullptr));
  IrIns flags = ir_ins(IrOp::FLOAD, IrType::Int, mref);
  flags.aux8 = static_cast<uint8_t>(Field::TabFlags);
  Ref bit = ir_.emit(ir_ins(IrOp::BAND, IrType::Int, ir_.emit(flags), ir_.kint(TM_CACHE_TOSTRING)));
  guard(IrOp::NE, bit, ir_.kint(0));
  return true;
}

// vals: the function and its arguments as the call will see them.
bool Recorder::native(const Instruction* pc, int a, int nargs, int c, const TValue* vals) {
  const TValue& fv = vals[0];
  if ((fv.tag != Tag::LightFn && fv.tag != Tag::NClosure) || c == 0 || nargs < 0) return false;
  NativeFn fn = fv.tag == Tag::LightFn ? fv.u.f : fv.as_nclosure()->f;
  CoFn co = coroutine_fn(fn);
  if (co == CoFn::Create) return create_native(pc, a, nargs, c, vals);
  if (co != CoFn::None) return coroutine_native(pc, a, nargs, c, vals);
  if (fn == lib_pcall) return fv.tag == Tag::LightFn && pcall_native(pc, a, nargs, c);
  LeafFn f = leaf_of(fn);
  // A native closure is a new object each time (one per gmatch call): its
  // function is guarded, not its identity.
  if (f == LeafFn::None || (fv.tag == Tag::NClosure) != (f == LeafFn::GMatchIter) || !leaf_args(f, vals + 1, nargs))
    return false;
  if (fv.tag == Tag::LightFn) {
    guard(IrOp::EQ, slot(a), ir_.kgc(reinterpret_cast<GCObject*>(fn), Tag::LightFn));
  } else {
    IrIns ff = ir_ins(IrOp::FLOAD, IrType::Ptr, slot(a));
    ff.aux8 = static_cast<uint8_t>(Field::NClFn);
    guard(IrOp::EQ, ir_.emit(ff), ir_.kptr(reinterpret_cast<void*>(fn)));
  }
  if (f == LeafFn::StrFormat && format(a, nargs, c)) return true;
  if (f == LeafFn::StrFind && (find_item(a, nargs, c, vals) || find_chain(a, nargs, c, vals))) return true;
  for (int k = 0; k < nargs; k++) {
    const TValue& v = vals[1 + k];
    Ref r = slot(a + 1 + k);  // its type guard
    if (v.is_table() && f != LeafFn::Next) guard_no_metatable(r);
    if (k == 0 && f == LeafFn::StrFormat) guard(IrOp::EQ, r, ir_.kgc(v.as_string(), v.tag));
  }
  // gsub turns position captures (integers) into text for its replacement.
  if (f == LeafFn::StrGsub && !guard_numbers_plain()) return false;
  bool has_s = f == LeafFn::ToString;
  if (f == LeafFn::StrFormat) plain_format(vals[1].as_string(), &has_s);
  if (has_s && !guard_tostring_plain()) return false;
  if (f == LeafFn::StrGsub && gsub_item(a, nargs, c, vals)) return true;
  return leaf_ncall(pc, a, nargs, c, fn);
}

// coroutine.create(f) called as a leaf: with the collector paused
// (native_call) it makes the thread and runs no Lua code, so the trace keeps
// what it knew across it (coroutine.resume looked up once an iteration of
// a loop creating coroutines, not again after create); a collection due
// leaves the trace for the interpreter's call, which collects and may run
// finalizers. Its function is guarded by its tag, as coroutine_native's.
bool Recorder::create_native(const Instruction* pc, int a, int nargs, int c, const TValue* vals) {
  const TValue& fv = vals[0];
  if (fv.tag != Tag::LightFn || nargs < 1 || !vals[1].is_function()) return false;
  guard(IrOp::EQ, slot(a), ir_.kgc(reinterpret_cast<GCObject*>(fv.u.f), Tag::LightFn));
  slot(a + 1);  // its type guard
  if (ir_.failed()) return false;
  return leaf_ncall(pc, a, nargs, c, fv.u.f);
}

// R[a], ... = fn(R[a+1], ...) for a leaf (native_call): the slots from a
// up are read from the frame after it; what the trace knew below them holds.
bool Recorder::leaf_ncall(const Instruction* pc, int a, int nargs, int c, NativeFn fn) {
  if (ir_.failed()) return false;
  IrIns nc = ir_ins(IrOp::NCALL, IrType::Void, ir_.kptr(reinterpret_cast<void*>(fn)), ir_.kint(nargs));
  nc.aux = slots_.base() + a;
  nc.aux8 = static_cast<uint8_t>(c);
  nc.snap = slots_.snapshot(ir_, pc);
  ir_.emit(nc);
  // The results are read from the frame from here on.
  slots_.set_top(-1);
  slots_.forget_from(nc.aux);
  std::erase_if(known_types_, [&](const auto& e) { return e.first >= nc.aux; });
  return true;
}

// string.find(s, pattern [, init]) wanting one or two results, of a
// constant pattern that is one single-character item (str_find_item): a
// CALL of StrFindItem with the pattern guarded, no NCALL. The match is
// that one byte, so both results are the same position; whether the search
// found one when recorded is guarded (nil otherwise), as is the helper's
// -1 (an instruction budget set: the interpreter's call charges it). The
// subject is a string and init an integer: find raises no error.
bool Recorder::find_item(int a, int nargs, int c, const TValue* vals) {
  if ((c != 2 && c != 3) || nargs < 2 || nargs > 3 || !vals[1].is_string() || !vals[2].is_short_string() ||
      (nargs == 3 && !vals[3].is_int()))
    return false;
  FindItem item;
  String* pat = vals[2].as_string();
  if (!str_find_item(pat, &item)) return false;
  Ref s = slot(a + 1);
  guard(IrOp::EQ, slot(a + 2), ir_.kgc(pat, vals[2].tag));
  Ref init = nargs == 3 ? slot(a + 3) : ir_.kint(1);
  IrIns call = ir_ins(IrOp::CALL, IrType::Int, s, init);
  call.aux8 = static_cast<uint8_t>(Helper::StrFindItem);
  call.k.p = pat;
  Ref at = ir_.emit(call);
  bool found = str_find_item_at(vals[1].as_string(), nargs == 3 ? vals[3].u.i : 1, &item) > 0;
  guard(found ? IrOp::GT : IrOp::EQ, at, ir_.kint(0));
  if (ir_.failed()) return false;
  Ref res = found ? at : ir_.knil();
  slots_.set_top(-1);
  slots_.set(a, res);
  if (c == 3) slots_.set(a + 1, res);
  slots_.forget_from(slots_.base() + a + c - 1);
  return true;
}

// string.find(s, pattern [, init]) wanting one or two results, of a
// constant anchored pattern that is a chain of a few items
// (str_find_chain: json's "^-?[%d.eE+-]+"): a CALL of StrFindChain giving
// the match's end, no NCALL. A match starts at init, guarded positive as
// when recorded (find's first result is then init itself); whether there
// was a match is guarded as when recorded (nil otherwise), as is the
// helper's -1 (an instruction budget: the interpreter's call charges it).
bool Recorder::find_chain(int a, int nargs, int c, const TValue* vals) {
  if ((c != 2 && c != 3) || nargs < 2 || nargs > 3 || !vals[1].is_string() || !vals[2].is_short_string() ||
      (nargs == 3 && (!vals[3].is_int() || vals[3].u.i < 1)))
    return false;
  FindChain chain;
  String* pat = vals[2].as_string();
  if (!str_find_chain(pat, &chain)) return false;
  Ref s = slot(a + 1);
  guard(IrOp::EQ, slot(a + 2), ir_.kgc(pat, vals[2].tag));
  Ref init = ir_.kint(1);
  if (nargs == 3) {
    init = slot(a + 3);
    guard(IrOp::GE, init, ir_.kint(1));
  }
  IrIns call = ir_ins(IrOp::CALL, IrType::Int, s, init);
  call.aux8 = static_cast<uint8_t>(Helper::StrFindChain);
  call.k.p = pat;
  Ref end = ir_.emit(call);
  bool found = str_find_chain_at(vals[1].as_string(), nargs == 3 ? vals[3].u.i : 1, &chain) >= 0;
  if (found)
    guard(IrOp::GE, end, ir_.kint(0));
  else
    guard(IrOp::EQ, end, ir_.kint(-2));
  if (ir_.failed()) return false;
  slots_.set_top(-1);
  slots_.set(a, found ? init : ir_.knil());
  if (c == 3) slots_.set(a + 1, found ? end : ir_.knil());
  slots_.forget_from(slots_.base() + a + c - 1);
  return true;
}

// gsub(s, pattern, t) wanting its string, of a constant one-item pattern
// and a table without metatable (json's escapes): a StrGsubItem CALL in
// place of the NCALL when str_gsub_item makes the result now. The
// arguments' types and the table's metatable are guarded (native); so
// are the pattern and the result's tag. A null result (a value not a
// string, an instruction budget) exits at the CALL for the library.
bool Recorder::gsub_item(int a, int nargs, int c, const TValue* vals) {
  if (c != 2 || nargs != 3 || !vals[1].is_string() || !vals[2].is_short_string() || !plain_table(vals[3]))
    return false;
  FindItem item;
  String* pat = vals[2].as_string();
  if (!str_find_item(pat, &item)) return false;
  String* now = str_gsub_item(L_->g, vals[1].as_string(), vals[3].as_table(), &item);
  if (now == nullptr) return false;
  guard(IrOp::EQ, slot(a + 2), ir_.kgc(pat, vals[2].tag));
  IrIns call = ir_ins(IrOp::CALL, IrType::Gc, slot(a + 1), slot(a + 3));
  call.aux8 = static_cast<uint8_t>(Helper::StrGsubItem);
  call.tag = now->tag;
  call.k.p = pat;
  Ref r = ir_.emit(call);
  guard(IrOp::NE, r, ir_.kptr(nullptr));
  guard_str_tag(r, now->tag);
  if (ir_.failed()) return false;
  slots_.set_top(-1);
  slots_.set(a, r);
  slots_.forget_from(slots_.base() + a + 1);
  return true;
}

// A coroutine function as an NCALL (coroutine_call above), from the trace's
// own frame only (the call's CallInfo is real: positions and tracebacks),
// not in a function trace (whose frames return through CALLOUT
// continuations). The function and the arguments the library checks are
// guarded (a thread for resume and status; the function of create and
// wrap by its tag: any function of that type), so only an error of the coroutine itself,
// which the library raises in the caller for wrap's function alone,
// reaches the seam. After the call everything is read from memory again:
// the coroutine may have changed any table, upvalue or slot a closure
// captured. Then the trace guards leave_after_call, leaving with the call
// made when compiled code must not go on.
bool Recorder::coroutine_native(const Instruction* pc, int a, int nargs, int c, const TValue* vals) {
  const TValue& fv = vals[0];
  if (frames_.size() != 1 || func_) return false;
  CoFn f = coroutine_fn(fv.tag == Tag::LightFn ? fv.u.f : fv.as_nclosure()->f);
  // wrap's function is a native closure, one per coroutine: its function
  // is guarded, not its identity; the others are light functions.
  if ((fv.tag == Tag::NClosure) != (f == CoFn::WrapCall)) return false;
  switch (f) {
    case CoFn::Resume: case CoFn::Status:
      if (nargs < 1 || !vals[1].is_thread()) return false;
      break;
    case CoFn::Create: case CoFn::Wrap:
      if (nargs < 1 || !vals[1].is_function()) return false;
      break;
    case CoFn::IsYieldable:
      if (nargs > 1 || (nargs == 1 && !vals[1].is_thread())) return false;
      break;
    case CoFn::WrapCall: case CoFn::Running:
      break;
    case CoFn::None:
      return false;
  }
  if (fv.tag == Tag::LightFn) {
    guard(IrOp::EQ, slot(a), ir_.kgc(reinterpret_cast<GCObject*>(fv.u.f), Tag::LightFn));
  } else {
    IrIns ff = ir_ins(IrOp::FLOAD, IrType::Ptr, slot(a));
    ff.aux8 = static_cast<uint8_t>(Field::NClFn);
    guard(IrOp::EQ, ir_.emit(ff), ir_.kptr(reinterpret_cast<void*>(fv.as_nclosure()->f)));
  }
  if (f != CoFn::WrapCall && f != CoFn::Running && nargs >= 1) slot(a + 1);  // its type guard
  if (ir_.failed()) return false;
  return running_ncall(pc, a, nargs, c, reinterpret_cast<void*>(fv.tag == Tag::LightFn ? fv.u.f : fv.as_nclosure()->f));
}

// R[a], ... = fn(R[a+1], ...) for a function that may run Lua code (a
// coroutine's body, pcall's callee): an NCALL after which nothing the
// recorder knew of the frame holds (that code may assign any slot through
// an upvalue, any table, the running function's upvalues), then a guard
// that leaves at the next instruction when the call asked to
// (leave_after_call: a yield, an error kept for the seam).
bool Recorder::running_ncall(const Instruction* pc, int a, int nargs, int c, void* fn) {
  IrIns nc = ir_ins(IrOp::NCALL, IrType::Void, ir_.kptr(fn), ir_.kint(nargs));
  nc.aux = slots_.base() + a;
  nc.aux8 = static_cast<uint8_t>(c);
  nc.k.p = const_cast<Instruction*>(pc + 1);
  coroutine_calls_++;
  nc.snap = slots_.snapshot(ir_, pc);
  ir_.emit(nc);
  slots_.set_top(-1);
  slots_.forget_from(0);
  forget_known_slots();
  forget_running_closure();
  IrIns lv = ir_ins(IrOp::FLOAD, IrType::Ptr, ir_.kptr(&L_->g->jit.leave_after_call));
  lv.aux8 = static_cast<uint8_t>(Field::Deref);
  IrIns g = ir_ins(IrOp::EQ, IrType::Void, ir_.emit(lv), ir_.kptr(nullptr));
  g.snap = slots_.snapshot(ir_, pc + 1);
  ir_.emit(g);
  return !ir_.failed();
}

// TFORCALL of next, of gmatch's iterator or of a wrap generator: R[a+4],
// ... = R[a](R[a+1], R[a+2]), as an NCALL on the copies the interpreter
// makes.
bool Recorder::native_tfor(const Instruction* pc, int a, int c) {
  const TValue& fv = base_[a];
  bool next = fv.tag == Tag::LightFn && leaf_of(fv.u.f) == LeafFn::Next && base_[a + 1].is_table();
  bool native_it = fv.tag == Tag::NClosure && (leaf_of(fv.as_nclosure()->f) == LeafFn::GMatchIter ||
                                                coroutine_fn(fv.as_nclosure()->f) == CoFn::WrapCall);
  if (!next && !native_it) return false;
  for (int k = 0; k < 3; k++) slots_.set(a + 4 + k, slot(a + k));
  return native(pc, a + 4, 2, c + 1, base_ + a);
}

}  // namespace luna::jit
