// The bytecode dispatcher: the instruction handlers and their inline fast
// paths. The value operations and the handlers' slow paths are vm.cpp.
//
// Lua-to-Lua calls and returns stay inside one execute() loop: only native
// code (metamethods called from C++, the API) re-enters execute, marking the
// entered frame CIST_FRESH so that its return leaves the loop.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "builtin.hpp"
#include "opcodes.hpp"
#include "vm.hpp"

namespace luna {

#if defined(__GNUC__) || defined(__clang__)
#define LUNA_COMPUTED_GOTO 1
#else
#define LUNA_COMPUTED_GOTO 0
#endif

namespace {

// Wrapping integer arithmetic (Lua integers wrap around on overflow).
inline Integer int_add(Integer a, Integer b) { return static_cast<Integer>(static_cast<Unsigned>(a) + static_cast<Unsigned>(b)); }
inline Integer int_sub(Integer a, Integer b) { return static_cast<Integer>(static_cast<Unsigned>(a) - static_cast<Unsigned>(b)); }
inline Integer int_mul(Integer a, Integer b) { return static_cast<Integer>(static_cast<Unsigned>(a) * static_cast<Unsigned>(b)); }
inline Integer int_neg(Integer a) { return static_cast<Integer>(0u - static_cast<Unsigned>(a)); }
inline Integer int_shr(Integer x, Integer y) { return shift_left(x, int_neg(y)); }
inline Number num_pow(Number a, Number b) { return b == 2 ? a * a : std::pow(a, b); }
inline Number num_idiv(Number a, Number b) { return std::floor(a / b); }

// The fast path every indexing handler shares: t is a table whose raw
// lookup (`lookup(h)`, the handler's key kind) finds a value. On a miss,
// *slot is the lookup's result (a nil value) or nullptr when t is no table,
// which is what finish_get / finish_set take.
template <typename Lookup>
inline bool fast_get(const TValue* t, Lookup lookup, const TValue** slot) {
  if (LUNA_UNLIKELY(!t->is_table())) {
    *slot = nullptr;
    return false;
  }
  *slot = lookup(t->as_table());
  return !(*slot)->is_nil();
}

// table_get_short_str for the short string in *kv, trying kv's slot hint
// first (key_hint, state.hpp). The node count's byte, tested with one
// compare, is cheaper than a bounds test of the index, which needs a shift
// by a variable amount.
inline const TValue* hinted_lookup(Table* t, const TValue* kv) {
  String* key = kv->as_string();
  uint32_t hint = key_hint(kv);
  if (static_cast<uint8_t>(hint) == t->lsizenode) {
    const Node* n = &t->node[hint >> 8];
    if (n->key_u.gc == key && n->key_tag == Tag::ShortStr) return &n->val;
  }
  const TValue* slot = table_get_short_str(t, key);
  if (slot != &table_absent_key) {
    auto idx = static_cast<uint32_t>(reinterpret_cast<const Node*>(slot) - t->node);
    if (idx < (1u << 24)) set_key_hint(kv, idx << 8 | t->lsizenode);
  }
  return slot;
}
// Whether slot lies in h's array part.
inline bool in_array(const Table* h, const TValue* slot) {
  auto off = reinterpret_cast<uintptr_t>(slot) - reinterpret_cast<uintptr_t>(h->array);
  return off < static_cast<uintptr_t>(h->asize) * sizeof(TValue);
}

// Stores v when the raw lookup finds a value (no __newindex can apply then),
// or a nil array slot of a table whose metatable is known to lack
// __newindex: tables growing by t[#t + 1] = v fill such slots after each
// array resize. An integer key cannot name a metamethod, so no absence
// cache needs invalidating, unlike finish_set's stores.
template <typename Lookup>
inline bool fast_set(State* L, const TValue* t, Lookup lookup, const TValue** slot, const TValue& v) {
  if (LUNA_UNLIKELY(!t->is_table())) {
    *slot = nullptr;
    return false;
  }
  Table* h = t->as_table();
  *slot = lookup(h);
  if ((*slot)->is_nil()) {
    Table* mt = h->metatable;
    if (!in_array(h, *slot) || (mt != nullptr && !(mt->flags & (1u << TM_NEWINDEX)))) return false;
  }
  *const_cast<TValue*>(*slot) = v;
  if (v.is_collectable()) gc_barrier_back(L, h);
  return true;
}

// OP_SELF's lookup: the method in h, or in the table its metatable's
// __index names (the usual class and instance shape), without the calls of
// finish_get. A nil result means: take the general path, from *from (left
// as is, or the class when the method is not in it either: inherited
// methods then skip the two lookups already done).
// A short-string key's slot hint serves the class's lookup, where methods
// usually are: the instance's would miss it and then do the full lookup.
inline const TValue* method_slot(State* L, Table* h, const TValue& keyv, const TValue** from) {
  String* key = keyv.as_string();
  bool short_key = key->tag == Tag::ShortStr;
  const TValue* slot = short_key ? table_get_short_str(h, key) : table_get_str(h, key);
  Table* mt = h->metatable;
  if (!slot->is_nil() || mt == nullptr || (mt->flags & (1u << TM_INDEX))) return slot;
  const TValue* index = table_get_short_str(mt, L->g->tmname[TM_INDEX]);
  if (!index->is_table()) return &table_absent_key;
  Table* cls = index->as_table();
  slot = short_key ? hinted_lookup(cls, &keyv) : table_get_str(cls, key);
  if (slot->is_nil()) *from = index;
  return slot;
}

// The register or constant an operand field (at bit POS, SIZE bits wide)
// of i names in v: v plus the field's value times sizeof(TValue), taken as
// one shift and one mask.
template <int POS, int SIZE, typename V>
inline V* operand_at(V* v, Instruction i) {
  static_assert(sizeof(TValue) == 16 && POS >= 4);
  const uintptr_t off = (i >> (POS - 4)) & (((uintptr_t{1} << SIZE) - 1) << 4);
  using Byte = std::conditional_t<std::is_const_v<V>, const char, char>;
  return reinterpret_cast<V*>(reinterpret_cast<Byte*>(v) + off);
}

// Float FORLOOP step; true when the loop goes on.
inline bool float_for_loop(TValue* ra) {
  Number step = ra[2].u.n;
  Number limit = ra[1].u.n;
  Number idx = ra[0].u.n + step;
  if (step > 0 ? idx <= limit : limit <= idx) {
    set_flt(ra, idx);
    set_flt(ra + 3, idx);
    return true;
  }
  return false;
}

// ------------------------------------------------------------ misc helpers

// execute() entered for ci while the budget counts.
void charge_entry(State* L, CallInfo* ci) {
  const Instruction* saved = ci->savedpc;
  const Instruction* code = ci->func->as_lclosure()->p->code;
  // A fresh frame has run nothing: errors name the function's first line.
  if (saved == code) ci->savedpc = code + 1;
  charge_budget(L, 1);
  ci->savedpc = saved;
}

// The closure last made from p, if its upvalues are the ones a new closure
// would get (the same variables, still open or shared).
LClosure* cached_closure(const Proto* p, UpVal** encup, TValue* base) {
  LClosure* c = p->cache;
  if (c == nullptr) return nullptr;
  for (int j = 0; j < p->sizeupvalues; j++) {
    const UpvalDesc& d = p->upvalues[j];
    const TValue* v = d.instack ? base + d.idx : encup[d.idx]->v;
    if (c->upvals[j]->v != v) return nullptr;
  }
  return c;
}

// OP_CLOSURE: a new closure of p in *ra with its upvalues (or, in 5.3, a
// cached one).
void push_closure(State* L, Proto* p, UpVal** encup, TValue* base, TValue* ra) {
  const bool cache = dialect(L).closure_cache;
  if (cache) {
    if (LClosure* c = cached_closure(p, encup, base)) {
      *ra = TValue::object(c);
      return;
    }
  }
  int nup = p->sizeupvalues;
  LClosure* ncl = lclosure_new(L, nup);
  ncl->p = p;
  *ra = TValue::object(ncl);  // anchored before upval_find allocates
  for (int j = 0; j < nup; j++) {
    const UpvalDesc& d = p->upvalues[j];
    ncl->upvals[j] = d.instack ? upval_find(L, base + d.idx) : encup[d.idx];
  }
  if (cache) p->cache = ncl;
}

// OP_VARARGPREP: moves the function and its fixed parameters above the
// actual arguments, so the extra ones stay below the frame (5.4 layout).
void adjust_varargs(State* L, CallInfo* ci, const Proto* p, int nfix) {
  int actual = static_cast<int>(L->top - ci->func) - 1;
  ci->nextraargs = actual - nfix;
  ensure_stack(L, p->maxstacksize + 1);
  TValue* func = ci->func;
  TValue* top = L->top;
  *top++ = *func;
  for (int j = 1; j <= nfix; j++) {
    *top++ = func[j];
    set_nil(func + j);  // the old copy must not keep objects alive
  }
  L->top = top;
  ci->func += actual + 1;
  ci->top += actual + 1;
}

// OP_VARARGPREP with C set (5.5's named vararg table): a table of the
// extra arguments and their count n, in register reg.
void pack_varargs(State* L, CallInfo* ci, int reg) {
  int n = ci->nextraargs;
  Table* t = table_new(L);
  ci->func[1 + reg] = TValue::object(t);  // anchored before anything else allocates
  table_resize(L, t, static_cast<unsigned>(n), 1);
  for (int j = 0; j < n; j++) table_set_int(L, t, j + 1, *(ci->func - n + j));
  table_set(L, t, TValue::object(str_new(L, "n", 1)), TValue::integer(n));
}

// Room for count values at ra, which become the open results (top ends
// them); returns ra, which the stack may have moved.
TValue* open_results(State* L, TValue* ra, int count) {
  if (L->stack_last - ra <= count) {
    ptrdiff_t off = L->save(ra);
    L->top = ra;
    stack_grow(L, count);
    ra = L->restore(off);
  }
  L->top = ra + count;
  return ra;
}

// OP_VARARG with k (5.5): `...` of a function whose named vararg table
// escapes reads the table as it is now, values 1 to its 'n'.
[[gnu::noinline]] void get_table_varargs(State* L, TValue* ra, TValue tab, int wanted) {
  Table* t = tab.is_table() ? tab.as_table() : nullptr;
  const TValue* n = t != nullptr ? table_get_str(t, str_new(L, "n", 1)) : nullptr;
  if (n == nullptr || !n->is_int() || n->u.i < 0 || n->u.i >= MAXSTACK)
    run_error(L, "vararg table has no proper 'n'");
  const int count = static_cast<int>(n->u.i);
  if (wanted < 0) {
    wanted = count;
    ra = open_results(L, ra, count);
  }
  for (int j = 0; j < wanted; j++) {
    const TValue* v = j < count ? table_get_int(t, j + 1) : nullptr;
    if (v != nullptr && !v->is_nil()) ra[j] = *v; else set_nil(ra + j);  // no empty-slot tags
  }
}

// OP_GETVARG (5.5): t[key] for a vararg table the compiler never built,
// read from the extra arguments themselves.
[[gnu::noinline]] void get_vararg(CallInfo* ci, Instruction i) {
  const TValue* base = ci->func + 1;
  const TValue* k = ci->func->as_lclosure()->p->k;
  TValue* ra = ci->func + 1 + getarg_A(i);
  const int b = getarg_B(i);
  const TValue key = b == 0 ? base[getarg_C(i)] : b == 1 ? k[getarg_C(i)] : TValue::integer(getarg_C(i));
  const int nextra = ci->nextraargs;
  Integer idx;
  if (key.is_short_string() && key.as_string()->len == 1 && key.as_string()->data[0] == 'n') {
    *ra = TValue::integer(nextra);
  } else if ((key.is_int() || key.is_float()) && to_integer(key, &idx) && idx >= 1 && idx <= nextra) {
    *ra = *(ci->func - nextra + (idx - 1));
  } else {
    set_nil(ra);
  }
}

// The trap of the frame fired before the instruction at pc: the JIT
// recorder sees it first, then line and count hooks run. Out of line, so that
// every handler's fetch stays small. Returns the frame's new trap.
[[gnu::noinline]] int trap_step(State* L, CallInfo* ci, const Instruction* pc) {
  // A vararg function's VARARGPREP is not traced (hooks start after it).
  if (get_op(*pc) == OP_VARARGPREP) return ci->trap;
  bool rec = L->g->jit.recorder != nullptr && jit_record_step(L, ci, pc);
  return (is_mmbin(get_op(*pc)) || trace_exec(L, pc)) | rec;
}

// OP_VARARG: copies C - 1 extra arguments (all when C is 0) to R[A], or
// with k, the values of the vararg table in R[B]. Also runs OP_GETVARG.
void get_varargs(State* L, CallInfo* ci, Instruction i) {
  if (get_op(i) == OP_GETVARG) return get_vararg(ci, i);
  TValue* ra = ci->func + 1 + getarg_A(i);
  int wanted = getarg_C(i) - 1;
  if (getarg_k(i)) return get_table_varargs(L, ra, ra[getarg_B(i) - getarg_A(i)], wanted);
  int nextra = ci->nextraargs;
  if (wanted < 0) {
    wanted = nextra;
    ra = open_results(L, ra, nextra);
  }
  TValue* src = ci->func - nextra;
  int j = 0;
  for (; j < wanted && j < nextra; j++) ra[j] = src[j];
  for (; j < wanted; j++) set_nil(ra + j);
}

}  // namespace

// ================================================================ dispatcher

// The opcode list in enum order, for the computed-goto table.
#define LUNA_OPCODES(X)                                                                        \
  X(OP_MOVE) X(OP_LOADI) X(OP_LOADF) X(OP_LOADK) X(OP_LOADKX) X(OP_LOADFALSE) X(OP_LFALSESKIP) \
  X(OP_LOADTRUE) X(OP_LOADNIL) X(OP_GETUPVAL) X(OP_SETUPVAL) X(OP_GETTABUP) X(OP_GETTABLE)     \
  X(OP_GETI) X(OP_GETFIELD) X(OP_SETTABUP) X(OP_SETTABLE) X(OP_SETI) X(OP_SETFIELD)            \
  X(OP_NEWTABLE) X(OP_SELF) X(OP_ADDI) X(OP_ADDK) X(OP_SUBK) X(OP_MULK) X(OP_MODK) X(OP_POWK)  \
  X(OP_DIVK) X(OP_IDIVK) X(OP_BANDK) X(OP_BORK) X(OP_BXORK) X(OP_SHRI) X(OP_SHLI) X(OP_ADD)    \
  X(OP_SUB) X(OP_MUL) X(OP_MOD) X(OP_POW) X(OP_DIV) X(OP_IDIV) X(OP_BAND) X(OP_BOR) X(OP_BXOR) \
  X(OP_SHL) X(OP_SHR) X(OP_MMBIN) X(OP_MMBINI) X(OP_MMBINK) X(OP_UNM) X(OP_BNOT) X(OP_NOT) X(OP_LEN) X(OP_CONCAT) X(OP_CLOSE)        \
  X(OP_TBC) X(OP_JMP) X(OP_EQ) X(OP_LT) X(OP_LE) X(OP_EQK) X(OP_EQI) X(OP_LTI) X(OP_LEI)       \
  X(OP_GTI) X(OP_GEI) X(OP_TEST) X(OP_TESTSET) X(OP_CALL) X(OP_TAILCALL) X(OP_RETURN)          \
  X(OP_RETURN0) X(OP_RETURN1) X(OP_FORLOOP) X(OP_FORPREP) X(OP_TFORPREP) X(OP_TFORCALL)        \
  X(OP_TFORLOOP) X(OP_SETLIST) X(OP_CLOSURE) X(OP_VARARG) X(OP_VARARGPREP) X(OP_EXTRAARG) \
  X(OP_ERRNNIL)

namespace {
#define LUNA_OP_VALUE(o) o,
constexpr OpCode op_order[] = {LUNA_OPCODES(LUNA_OP_VALUE)};
#undef LUNA_OP_VALUE
constexpr bool op_order_ok() {
  for (int j = 0; j < NUM_OPCODES - 1; j++)
    if (op_order[j] != j) return false;
  return sizeof(op_order) / sizeof(op_order[0]) == NUM_OPCODES - 1 && OP_GETVARG == NUM_OPCODES - 1;
}
static_assert(op_order_ok(), "LUNA_OPCODES must list every opcode in enum order but the last, GETVARG");
// execute's `counting` flags: a JIT backend is on (hot counters), an
// instruction budget counts.
constexpr unsigned COUNT_JIT = 1, COUNT_BUDGET = 2;
}  // namespace

void execute(State* L, CallInfo* ci) {
  const TValue* k;
  TValue* base;
  const Instruction* pc;
  Instruction i;
  GlobalState* g = L->g;
  // Back-edge counting (JIT hot counters, instruction budget) is off the
  // fast path: one test of these flags (COUNT_*), refreshed whenever control
  // comes back from code that may have switched the JIT or set a budget.
  unsigned counting;
#if !LUNA_COMPUTED_GOTO
  int trap;
#endif

#if LUNA_COMPUTED_GOTO
  // Seven opcode bits: every value has a target, unknown ones an error.
  // The table is indexed by the instruction's low byte (the opcode and
  // A's lowest bit), its two halves alike: one zero-extension of the byte
  // where the opcode alone took a copy and a mask.
#define LUNA_OP_LABEL(o) &&L_##o,
#define LUNA_BAD8 &&L_bad, &&L_bad, &&L_bad, &&L_bad, &&L_bad, &&L_bad, &&L_bad, &&L_bad,
#define LUNA_TARGETS                                                  \
  LUNA_OPCODES(LUNA_OP_LABEL) &&L_OP_VARARG, /* GETVARG */            \
      &&L_OP_COLD_FORLOOP, &&L_OP_COLD_TFORLOOP, &&L_OP_COLD_JMP,     \
      LUNA_BAD8 LUNA_BAD8 LUNA_BAD8 LUNA_BAD8 LUNA_BAD8
  static const void* const dispatch_table[256] = {LUNA_TARGETS LUNA_TARGETS};
#undef LUNA_TARGETS
#undef LUNA_OP_LABEL
#undef LUNA_BAD8
  static_assert(NUM_OPCODES + 43 == 128 && OP_COLD_JMP == NUM_OPCODES + 2 && SIZE_OP == 7);
  // The frame's trap is the table instructions are dispatched through:
  // while it is set, every entry leads to L_trap, which runs the recorder
  // and the hooks and then the instruction's own handler. The fetch has no
  // test of its own (it was a test and a branch on every instruction).
#define LUNA_TRAP8 &&L_trap, &&L_trap, &&L_trap, &&L_trap, &&L_trap, &&L_trap, &&L_trap, &&L_trap,
#define LUNA_TRAP64 LUNA_TRAP8 LUNA_TRAP8 LUNA_TRAP8 LUNA_TRAP8 LUNA_TRAP8 LUNA_TRAP8 LUNA_TRAP8 LUNA_TRAP8
  static const void* const trap_table[256] = {LUNA_TRAP64 LUNA_TRAP64 LUNA_TRAP64 LUNA_TRAP64};
#undef LUNA_TRAP64
#undef LUNA_TRAP8
  const void* const* disp;
#define vmdispatch(o) goto* disp[(o) & 0xff];
#define vmcase(l) L_##l:
#define vmbreak    \
  {                \
    vmfetch();     \
    vmdispatch(i); \
  }
// A Lua call entered by CALL or TAILCALL without hooks starts untrapped
// (init_lua_frame and move_tail_frame clear its trap).
#define vmbreak_untrapped       \
  {                             \
    disp = dispatch_table;      \
    vmbreak;                    \
  }
#define updatetrap() (disp = ci->trap ? trap_table : dispatch_table)
// On a back-edge only a hook set from outside (a signal's) can have set the
// trap since the last reload; it is cleared only in L_trap, which reloads.
#define edgetrap() \
  if (LUNA_UNLIKELY(ci->trap)) disp = trap_table
#define vmfetch() (i = *pc++)
#define vmdefault L_bad:
#define vmalias(l)  // the dispatch table names the handler
#else
#define vmdispatch(o) switch (static_cast<unsigned>(o))
#define vmcase(l) case l:
#define vmbreak break
#define vmbreak_untrapped break
#define updatetrap() (trap = ci->trap)
#define edgetrap() updatetrap()
// Line/count hooks: ci->trap is set while they are active. As in 5.4,
// a vararg function's VARARGPREP is not traced: hooks start after it, nor
// is an MMBIN*, which PUC-Rio's VM skips when the arithmetic succeeds.
// The trap also serves the JIT's recording mode (jit_seam.hpp): the
// recorder sees each instruction before it runs.
#define vmfetch()                                                     \
  {                                                                   \
    if (LUNA_UNLIKELY(trap)) {                                        \
      ci->trap = trap_step(L, ci, pc);                                \
      updatebase();                                                   \
      refresh_counting();                                             \
    }                                                                 \
    i = *pc++;                                                        \
  }
#define vmdefault default:
#define vmalias(l) case l:
#endif

// Frame bookkeeping. pc always points at the next instruction; it is saved
// before anything that can raise or call so errors and hooks see the line,
// and `base` is reloaded after anything that can move the stack.
// The running closure is read from the frame's function slot, which holds
// it while the frame runs (VARARGPREP copies it up with the frame), rather
// than kept in a local: one value less to spill on every call and return.
#define CL() (base[-1].as_lclosure())
// Operands are taken as byte offsets (operand_at): the field shifted to
// 16 times its value and masked is added to base by the load's addressing
// mode, where base + getarg_X(i) needed a shift, a zero-extension, a
// second shift and an add.
#define RA() operand_at<POS_A, SIZE_A>(base, i)
#define RB() operand_at<POS_B, SIZE_B>(base, i)
#define RC() operand_at<POS_C, SIZE_C>(base, i)
#define KB() operand_at<POS_B, SIZE_B>(k, i)
#define KC() operand_at<POS_C, SIZE_C>(k, i)
#define RKC() (getarg_k(i) ? KC() : RC())
#define savepc() (ci->savedpc = pc)
#define savestate() (savepc(), L->top = ci->top)
// The frame's trap flag is kept in a local (the dispatch table `disp`, or
// `trap` without computed goto), reloaded with base wherever control comes
// back from code that may have set a hook, moved the stack or started a JIT
// recording (and on back-edges, so that a signal's hook can break a loop,
// as in 5.4).
#define updatebase() (base = ci->func + 1, updatetrap())
#define Protect(x) { savestate(); x; updatebase(); }
#define ProtectNT(x) { savepc(); x; updatebase(); }
// GC safe point after an allocation into ra: as in 5.4, registers above
// ra are dead here (the compiler allocates the new value at the register
// top), so the collector sees the stack only up to `limit` and does not
// keep garbage alive through stale registers.
#define checkGC(limit)                         \
  if (LUNA_UNLIKELY(g->gcdebt > 0)) {          \
    savepc();                                  \
    L->top = (limit);                          \
    gc_check(L);                               \
    updatebase();                              \
  }
// OP_CALL's Lua callee (at ra, arguments up to top) in the usual case: a
// CallInfo to reuse, stack room, no hooks, no trap, and whatever `extra`
// must also be clear (one test covers them all). precall's frame is set up
// here and the dispatcher's state taken from what is at hand instead of
// reloaded from ci; `entry` runs in the new frame (p: its prototype) before
// its first instruction. The room test is precall's (more than
// maxstacksize slots above top), as `top + maxstacksize < stack_last`: the
// scaled size is an add away from the frame's top, which the set-up needs.
#define call_lua_inline(extra, entry)                                                                   \
  {                                                                                                     \
    Proto* p = ra->as_lclosure()->p;                                                                    \
    CallInfo* nci = ci->next;                                                                           \
    if (LUNA_LIKELY(nci != nullptr && top + p->maxstacksize < L->stack_last &&                          \
                    (L->hookmask | ci->trap | (extra)) == 0)) {                                             \
      /* p's fields are read before init_lua_frame's stores */                                          \
      const TValue* nk = p->k;                                                                          \
      const Instruction* ncode = p->code;                                                               \
      init_lua_frame(L, nci, ra, top, nresults, p, 0);                                                  \
      L->ci = ci = nci;                                                                                 \
      k = nk;                                                                                           \
      pc = ncode;                                                                                       \
      base = ra + 1;                                                                                    \
      entry;                                                                                            \
      vmbreak_untrapped;                                                                                \
    }                                                                                                   \
  }
// OP_TAILCALL's Lua callee (at ra, b - 1 arguments up to L->top; delta:
// the caller's varargs below its frame) in the usual case: stack room
// (pretailcall's test: more than fsize - delta slots above L->top), no
// hooks, no trap, and
// `extra` clear. pretailcall's frame move is done here and the dispatcher's
// state taken from the callee instead of reloaded from ci (ackermann: 93
// instructions per tail call in pretailcall). The caller does not trap (a
// recorded call goes through pretailcall and startfunc), so the callee
// starts without its trap; `entry` runs in the new frame.
#define tail_lua_inline(extra, entry)                                                                   \
  if (LUNA_LIKELY(ra->tag == Tag::LClosure && (L->hookmask | ci->trap | (extra)) == 0)) {                   \
    Proto* p = ra->as_lclosure()->p;                                                                    \
    if (LUNA_LIKELY(L->top + (p->maxstacksize - delta) < L->stack_last)) {                              \
      /* p's fields are read before move_tail_frame's stores */                                         \
      const TValue* nk = p->k;                                                                          \
      const Instruction* ncode = p->code;                                                               \
      TValue* func = move_tail_frame(L, ci, ra, b, delta, p, 0);                                        \
      k = nk;                                                                                           \
      pc = ncode;                                                                                       \
      base = func + 1;                                                                                  \
      entry;                                                                                            \
      vmbreak_untrapped;                                                                                \
    }                                                                                                   \
  }
// RETURN0/RETURN1's inline poscall is done (L->ci is the caller): leave, or
// continue the Lua caller, without ret's reload of ci->previous. The
// caller's state is loaded and its next instruction dispatched here, as at
// `returning`, rather than jumped to there: one jump less per return, and
// each return handler's dispatch is an indirect branch of its own.
#define back_to_caller(caller)                   \
  {                                              \
    if (ci->callstatus & CIST_FRESH) return;     \
    ci = (caller);                               \
    k = ci->func->as_lclosure()->p->k;           \
    pc = ci->savedpc;                            \
    updatebase();                                \
    vmbreak;                                     \
  }
#define refresh_counting() \
  (counting = (g->jit.enabled ? COUNT_JIT : 0u) | (g->instr_budget != 0 ? COUNT_BUDGET : 0u))
// A native call or entry is charged to a counting instruction budget.
#define budget_on() (LUNA_UNLIKELY(counting & COUNT_BUDGET) && g->instr_budget != 0)
// After the seam ran compiled code (pc: where the interpreter goes on):
// nullptr means a trace returned from the frame, L->ci is its caller again;
// else the trace may have left in any frame, so the state is reloaded.
#define reenter()               \
  if (pc == nullptr) {          \
    ci = L->ci->next;           \
    goto ret;                   \
  }                             \
  ci = L->ci;                   \
  k = ci->func->as_lclosure()->p->k; \
  updatebase()
// A backward jump just landed at pc, n instructions back.
// The hot counter of the loop is decremented inline; the seam is called
// when it runs out (or the loop has a compiled trace to enter: its counter
// stays at 1; a counting instruction budget holds every counter at 1, so
// the budget is charged there and never tested here). Entering a trace may
// leave us anywhere (its exit), so everything is reloaded from L->ci.
#define backedge(n)                                                       \
  if (LUNA_UNLIKELY(counting)) {                                          \
    if (--jit_hotcount(g->jit, pc) == 0) {                                \
      savestate();                                                        \
      pc = jit_loop_event(L, ci, pc, (n));                                \
      reenter();                                                          \
    }                                                                     \
  }
// The back-edge of a loop the JIT gave up on (an OP_COLD_* twin): only a
// counting instruction budget needs the seam.
#define coldedge(n) \
  if (LUNA_UNLIKELY(counting & COUNT_BUDGET)) backedge(n)
// A Lua function p was just entered by CALL or TAILCALL (pc at its first
// instruction): its hot counter is decremented inline like a back-edge's,
// unless the JIT gave up on the function (Proto::jit_cold_entry). The seam
// may record the function or enter its trace, which may return from the
// frame (nullptr: L->ci is the caller again, the results in place) or
// leave anywhere, like a loop's trace.
#define funcentry(p)                                                          \
  if (LUNA_UNLIKELY(counting & COUNT_JIT) && jit_entry_due(g->jit, (p), pc)) { \
    pc = jit_call_event(L, ci);                                               \
    reenter();                                                                \
    vmbreak;                                                                  \
  }
// A native function called by the instruction before pc returned: enter
// the trace stitched across the call when one is attached at pc.
#define stitchpoint()                                                    \
  if (LUNA_UNLIKELY(counting & COUNT_JIT) && g->jit.attached[jit_slot(pc)].pc == pc) { \
    savepc(); /* L->top: the call's results, for C = 0 */                \
    pc = jit_stitch_event(L, ci, pc);                                    \
    reenter();                                                           \
  }
#define dojump_as(ni, e, edge)        \
  {                                   \
    int off_ = getarg_sJ(ni) + (e);   \
    pc += off_;                       \
    if (off_ < 0) {                   \
      edgetrap();                     \
      edge(-off_);                    \
    }                                 \
  }
#define dojump(ni, e) dojump_as(ni, e, backedge)
// Conditional tests: the next instruction is the jump taken when cond == k.
#define docondjump()          \
  if (cond != getarg_k(i)) {  \
    pc++;                     \
  } else {                    \
    Instruction ni_ = *pc;    \
    dojump(ni_, 1);           \
  }

// Arithmetic: integer and float fast paths, else the metamethod (which
// raises the proper error when there is none).
// Two floats are tested before mixed operands, so a float loop pays two tag
// compares per operand pair rather than the number-type tests of both and
// an int test of each (callgrind: about 5 instructions less per float
// operation; mandelbrot(60) 42.9 M to 38.7 M), and marked likely so that
// it is the straight line (37.3 M; GCC had laid out the metamethod call there).
#define float_arith(FEXPR, ev)                                          \
  if (LUNA_LIKELY(a_.is_float() && b_.is_float())) {                   \
    Number x = a_.u.n, y = b_.u.n;                                      \
    set_flt(ra, FEXPR);                                                 \
  } else if (a_.is_number() && b_.is_number()) {                        \
    Number x = a_.as_number(), y = b_.as_number();                      \
    set_flt(ra, FEXPR);                                                 \
  } else {                                                              \
    Protect(arith_tm(L, pc, base, k, a_, b_, ra, ev));                  \
  }
#define op_arith(v1, v2, ISTMT, FEXPR, ev)                             \
  {                                                                     \
    TValue* ra = RA();                                                   \
    const TValue& a_ = (v1);                                             \
    const TValue& b_ = (v2);                                             \
    if (a_.is_int() && b_.is_int()) {                                   \
      Integer x = a_.u.i, y = b_.u.i;                                   \
      ISTMT                                                             \
    } else                                                              \
      float_arith(FEXPR, ev)                                            \
    vmbreak;                                                            \
  }
#define op_float(v1, v2, FEXPR, ev)                                     \
  {                                                                     \
    TValue* ra = RA();                                                   \
    const TValue& a_ = (v1);                                             \
    const TValue& b_ = (v2);                                             \
    float_arith(FEXPR, ev)                                              \
    vmbreak;                                                            \
  }
// Bitwise: integers, or floats with an exact integer value.
#define op_bitwise(v1, v2, IEXPR, ev)                                                  \
  {                                                                                     \
    TValue* ra = RA();                                                                   \
    const TValue& a_ = (v1);                                                             \
    const TValue& b_ = (v2);                                                             \
    Integer x, y;                                                                       \
    if (a_.is_int() && b_.is_int()) {                                                   \
      x = a_.u.i;                                                                       \
      y = b_.u.i;                                                                       \
      set_int(ra, IEXPR);                                                               \
    } else if (to_integer(a_, &x, F2I::Exact, false) && to_integer(b_, &y, F2I::Exact, false)) { \
      set_int(ra, IEXPR);                                                               \
    } else {                                                                            \
      Protect(arith_tm(L, pc, base, k, a_, b_, ra, ev));                                            \
    }                                                                                   \
    vmbreak;                                                                            \
  }
#define IDIV_STMT                                   \
  if (LUNA_UNLIKELY(y == 0)) {                      \
    savestate();                                    \
    run_error(L, "attempt to divide by zero");      \
  }                                                 \
  set_int(ra, int_floor_div(x, y));
#define MOD_STMT                                    \
  if (LUNA_UNLIKELY(y == 0)) {                      \
    savestate();                                    \
    run_error(L, "attempt to perform 'n%%0'");      \
  }                                                 \
  set_int(ra, int_mod(x, y));
// Numeric comparisons with fast paths for two integers and two floats
// (mixed operands need lt_num's exact conversions).
#define op_order(iop, numfn, otherfn)                    \
  {                                                      \
    TValue* ra = RA();                                    \
    const TValue& rb = *RB();                             \
    bool cond;                                           \
    if (ra->is_int() && rb.is_int())                     \
      cond = ra->u.i iop rb.u.i;                         \
    else if (ra->is_float() && rb.is_float())            \
      cond = ra->u.n iop rb.u.n;                         \
    else if (ra->is_number() && rb.is_number())          \
      cond = numfn(*ra, rb);                             \
    else                                                 \
      Protect(cond = otherfn(L, *ra, rb));               \
    docondjump();                                        \
    vmbreak;                                             \
  }
#define op_order_imm(iop, flip, ev)                                       \
  {                                                                       \
    TValue* ra = RA();                                                     \
    int im = getarg_sB(i);                                                \
    bool cond;                                                            \
    if (ra->is_int())                                                     \
      cond = ra->u.i iop im;                                              \
    else if (ra->is_float())                                              \
      cond = ra->u.n iop static_cast<Number>(im);                         \
    else                                                                  \
      Protect(cond = order_imm(L, *ra, im, getarg_C(i) != 0, flip, ev));  \
    docondjump();                                                         \
    vmbreak;                                                              \
  }

// Indexing: t[key] through the shared fast path, else the metamethods.
// LOOKUP is the raw lookup for the handler's key kind, given Table* h.
// The field handlers' key is a short-string constant with a slot hint.
#define hinted_key(key) hinted_lookup(h, &(key))
#define int_key(key) table_get_int(h, (key).u.i)
// Integer and short-string keys inline (t[i], counts[word]); others call
// table_get.
#define any_key(key)                                                        \
  ((key).is_int()            ? table_get_int(h, (key).u.i)                 \
   : (key).is_short_string() ? table_get_short_str(h, (key).as_string()) \
                             : table_get(h, (key)))
#define op_get(t, keyv, LOOKUP)                                                 \
  {                                                                            \
    TValue* ra = RA();                                                         \
    const TValue* t_ = (t);                                                    \
    const TValue& key = (keyv);                                                \
    const TValue* slot;                                                        \
    if (LUNA_LIKELY(fast_get(t_, [&](Table* h) { return LOOKUP; }, &slot)))    \
      *ra = *slot;                                                             \
    else                                                                       \
      Protect(finish_get(L, t_, key, ra, slot));                               \
    vmbreak;                                                                   \
  }
#define op_set(t, keyv, LOOKUP)                                                   \
  {                                                                              \
    const TValue* t_ = (t);                                                      \
    const TValue& key = (keyv);                                                  \
    const TValue& rc = *RKC();                                                   \
    const TValue* slot;                                                          \
    if (!fast_set(L, t_, [&](Table* h) { return LOOKUP; }, &slot, rc))           \
      Protect(finish_set(L, t_, key, rc, slot));                                 \
    vmbreak;                                                                     \
  }

  // set_hook marks every Lua frame's trap itself; `counting` is refreshed
  // here and after native calls and hooks, which may switch it on.
  refresh_counting();
  // Entered from native code (a library function calling back, a
  // metamethod, the host): charged here, as CALL, TAILCALL and TFORCALL
  // charge the calls made from Lua, so code that never loops or calls is
  // counted wherever it is called from, without a test on every call.
  if (budget_on()) charge_entry(L, ci);
startfunc:  // a Lua frame was just entered (precall set savedpc, top and trap)
  // While a loop is recorded, the frames it calls are recorded too.
  if (LUNA_UNLIKELY(counting & COUNT_JIT) && g->jit.recorder == L) ci->trap = 1;
returning:
  k = ci->func->as_lclosure()->p->k;
  pc = ci->savedpc;
  updatebase();
#if LUNA_COMPUTED_GOTO
  vmbreak;
L_trap:  // every entry of trap_table: i was fetched, pc is past it
  ci->trap = trap_step(L, ci, pc - 1);
  updatebase();
  refresh_counting();
  goto* dispatch_table[i & 0xff];
#endif
  for (;;) {
    vmfetch();
    vmdispatch(get_op(i)) {
      vmcase(OP_MOVE) {
        *RA() = *RB();
        vmbreak;
      }
      vmcase(OP_LOADI) {
        set_int(RA(), getarg_sBx(i));
        vmbreak;
      }
      vmcase(OP_LOADF) {
        set_flt(RA(), static_cast<Number>(getarg_sBx(i)));
        vmbreak;
      }
      vmcase(OP_LOADK) {
        *RA() = k[getarg_Bx(i)];
        vmbreak;
      }
      vmcase(OP_LOADKX) {
        *RA() = k[getarg_Ax(*pc)];
        pc++;
        vmbreak;
      }
      vmcase(OP_LOADFALSE) {
        *RA() = TValue::boolean(false);
        vmbreak;
      }
      vmcase(OP_LFALSESKIP) {
        *RA() = TValue::boolean(false);
        pc++;
        vmbreak;
      }
      vmcase(OP_LOADTRUE) {
        *RA() = TValue::boolean(true);
        vmbreak;
      }
      vmcase(OP_LOADNIL) {
        TValue* ra = RA();
        for (int b = getarg_B(i); b >= 0; b--) set_nil(ra++);
        vmbreak;
      }
      vmcase(OP_GETUPVAL) {
        *RA() = *CL()->upvals[getarg_B(i)]->v;
        vmbreak;
      }
      vmcase(OP_SETUPVAL) {
        const TValue* ra = RA();
        UpVal* uv = CL()->upvals[getarg_B(i)];
        *uv->v = *ra;
        if (ra->is_collectable()) gc_barrier(L, uv, *ra);
        vmbreak;
      }
      vmcase(OP_GETTABUP) {
        const TValue* upv = CL()->upvals[getarg_B(i)]->v;
        op_get(upv, *KC(), hinted_key(key));
      }
      vmcase(OP_GETTABLE) {
        const TValue& rc = *RC();
        op_get(RB(), rc, any_key(key));
      }
      vmcase(OP_GETI) {
        TValue key_ = TValue::integer(getarg_C(i));
        op_get(RB(), key_, int_key(key));
      }
      vmcase(OP_GETFIELD) {
        op_get(RB(), *KC(), hinted_key(key));
      }
      vmcase(OP_SETTABUP) {
        const TValue* upv = CL()->upvals[getarg_A(i)]->v;
        op_set(upv, *KB(), hinted_key(key));
      }
      vmcase(OP_SETTABLE) {
        const TValue& rb = *RB();
        op_set(RA(), rb, any_key(key));
      }
      vmcase(OP_SETI) {
        TValue key_ = TValue::integer(getarg_B(i));
        op_set(RA(), key_, int_key(key));
      }
      vmcase(OP_SETFIELD) {
        const TValue* t_ = RA();
        const TValue& key = *KB();
        const TValue& rc = *RKC();
        const TValue* slot;
        if (!fast_set(L, t_, [&](Table* h) { return hinted_key(key); }, &slot, rc)) {
          // A new field of a table without a metatable (a constructor's,
          // {code = i}): finish_set's and table_store's tests give this.
          if (slot != nullptr && slot->tag == Tag::AbsKey && t_->as_table()->metatable == nullptr && !rc.is_nil()) {
            Protect(table_set_absent(L, t_->as_table(), key, rc));
          } else {
            Protect(finish_set(L, t_, key, rc, slot));
          }
        }
        vmbreak;
      }
      vmcase(OP_NEWTABLE) {
        TValue* ra = RA();
        int b = getarg_B(i);
        unsigned c = static_cast<unsigned>(getarg_C(i));
        unsigned hsize = b > 0 ? 1u << (b - 1) : 0;
        if (getarg_k(i)) c += static_cast<unsigned>(getarg_Ax(*pc)) * (MAXARG_C + 1);
        pc++;  // skip the EXTRAARG
        savestate();
        // As traces make it: a few array slots in the table's own block,
        // with room for one more (c leaves out a trailing call's values,
        // {f(), f()}: SETLIST then grows there without allocating). Where
        // that would collect or fail, the general way (which raises).
        if (Table* t = table_try_new(L->g, c, hsize, c > 0 ? c + 1 : 0); LUNA_LIKELY(t != nullptr)) {
          *ra = TValue::object(t);
        } else {
          t = table_new(L);
          *ra = TValue::object(t);
          if (hsize != 0 || c != 0) table_resize(L, t, c, hsize);
        }
        checkGC(ra + 1);
        vmbreak;
      }
      vmcase(OP_SELF) {
        TValue* ra = RA();
        const TValue* rb = RB();
        const TValue& key = *RKC();
        const TValue* slot = nullptr;
        TValue obj = *rb;
        ra[1] = obj;  // ra + 1 may be rb: the same value; ra is written only once found
        const TValue* from = rb;  // rb: errors name its variable
        if (LUNA_LIKELY(obj.is_table())) {
          slot = method_slot(L, obj.as_table(), key, &from);
          if (LUNA_LIKELY(!slot->is_nil())) {
            *ra = *slot;
            vmbreak;
          }
          slot = &table_absent_key;  // finish_get: a table whose raw lookup missed
        }
        Protect(finish_get(L, from, key, ra, slot, from == rb ? 0 : 1));
        vmbreak;
      }
      vmcase(OP_ADDI) {
        TValue* ra = RA();
        const TValue& rb = *RB();
        int im = getarg_sC(i);
        if (rb.is_int()) {
          set_int(ra, int_add(rb.u.i, im));
        } else if (rb.is_float()) {
          set_flt(ra, rb.u.n + static_cast<Number>(im));
        } else {
          TValue imv = TValue::integer(im);
          Protect(arith_tm(L, pc, base, k, rb, imv, ra, TM_ADD));
        }
        vmbreak;
      }
      vmcase(OP_ADDK) op_arith(*RB(), *KC(), set_int(ra, int_add(x, y));, x + y, TM_ADD)
      vmcase(OP_SUBK) op_arith(*RB(), *KC(), set_int(ra, int_sub(x, y));, x - y, TM_SUB)
      vmcase(OP_MULK) op_arith(*RB(), *KC(), set_int(ra, int_mul(x, y));, x * y, TM_MUL)
      vmcase(OP_MODK) op_arith(*RB(), *KC(), MOD_STMT, float_mod(x, y), TM_MOD)
      vmcase(OP_POWK) op_float(*RB(), *KC(), num_pow(x, y), TM_POW)
      vmcase(OP_DIVK) op_float(*RB(), *KC(), x / y, TM_DIV)
      vmcase(OP_IDIVK) op_arith(*RB(), *KC(), IDIV_STMT, num_idiv(x, y), TM_IDIV)
      vmcase(OP_BANDK) op_bitwise(*RB(), *KC(), x & y, TM_BAND)
      vmcase(OP_BORK) op_bitwise(*RB(), *KC(), x | y, TM_BOR)
      vmcase(OP_BXORK) op_bitwise(*RB(), *KC(), x ^ y, TM_BXOR)
      vmcase(OP_SHRI) {
        TValue* ra = RA();
        const TValue& rb = *RB();
        Integer im = getarg_sC(i);
        Integer x;
        if (rb.is_int())
          set_int(ra, int_shr(rb.u.i, im));
        else if (to_integer(rb, &x, F2I::Exact, false))
          set_int(ra, int_shr(x, im));
        else {
          TValue imv = TValue::integer(im);
          Protect(arith_tm(L, pc, base, k, rb, imv, ra, TM_SHR));
        }
        vmbreak;
      }
      vmcase(OP_SHLI) {
        TValue* ra = RA();
        const TValue& rb = *RB();
        Integer im = getarg_sC(i);
        Integer y;
        if (rb.is_int())
          set_int(ra, shift_left(im, rb.u.i));
        else if (to_integer(rb, &y, F2I::Exact, false))
          set_int(ra, shift_left(im, y));
        else {
          TValue imv = TValue::integer(im);
          Protect(arith_tm(L, pc, base, k, imv, rb, ra, TM_SHL));
        }
        vmbreak;
      }
      vmcase(OP_ADD) op_arith(*RB(), *RC(), set_int(ra, int_add(x, y));, x + y, TM_ADD)
      vmcase(OP_SUB) op_arith(*RB(), *RC(), set_int(ra, int_sub(x, y));, x - y, TM_SUB)
      vmcase(OP_MUL) op_arith(*RB(), *RC(), set_int(ra, int_mul(x, y));, x * y, TM_MUL)
      vmcase(OP_MOD) op_arith(*RB(), *RC(), MOD_STMT, float_mod(x, y), TM_MOD)
      vmcase(OP_POW) op_float(*RB(), *RC(), num_pow(x, y), TM_POW)
      vmcase(OP_DIV) op_float(*RB(), *RC(), x / y, TM_DIV)
      vmcase(OP_IDIV) op_arith(*RB(), *RC(), IDIV_STMT, num_idiv(x, y), TM_IDIV)
      vmcase(OP_BAND) op_bitwise(*RB(), *RC(), x & y, TM_BAND)
      vmcase(OP_BOR) op_bitwise(*RB(), *RC(), x | y, TM_BOR)
      vmcase(OP_BXOR) op_bitwise(*RB(), *RC(), x ^ y, TM_BXOR)
      vmcase(OP_SHL) op_bitwise(*RB(), *RC(), shift_left(x, y), TM_SHL)
      vmcase(OP_SHR) op_bitwise(*RB(), *RC(), int_shr(x, y), TM_SHR)
      vmcase(OP_MMBIN) vmcase(OP_MMBINI) vmcase(OP_MMBINK) vmbreak;  // see arith_tm
      vmcase(OP_UNM) {
        TValue* ra = RA();
        const TValue& rb = *RB();
        if (rb.is_int())
          set_int(ra, int_neg(rb.u.i));
        else if (rb.is_float())
          set_flt(ra, -rb.u.n);
        else
          Protect(tm_trybin(L, rb, rb, ra, TM_UNM));
        vmbreak;
      }
      vmcase(OP_BNOT) {
        TValue* ra = RA();
        const TValue& rb = *RB();
        Integer x;
        if (rb.is_int())
          set_int(ra, ~rb.u.i);
        else if (to_integer(rb, &x, F2I::Exact, false))
          set_int(ra, ~x);
        else
          Protect(tm_trybin(L, rb, rb, ra, TM_BNOT));
        vmbreak;
      }
      vmcase(OP_NOT) {
        *RA() = TValue::boolean(RB()->is_false_or_nil());
        vmbreak;
      }
      vmcase(OP_LEN) {
        TValue* ra = RA();
        const TValue* rb = RB();
        Table* mt;
        // A table without __len (the metatable's absence cache says so).
        if (rb->is_table() && ((mt = rb->as_table()->metatable) == nullptr || (mt->flags & (1u << TM_LEN))))
          set_int(ra, table_length(rb->as_table()));
        else if (rb->is_string())
          set_int(ra, static_cast<Integer>(rb->as_string()->len));
        else
          Protect(vm_len(L, ra, *rb));
        vmbreak;
      }
      vmcase(OP_CONCAT) {
        TValue* ra = RA();
        int n = getarg_B(i);
        L->top = ra + n;  // operands are the topmost live registers
        ProtectNT(vm_concat(L, n));
        checkGC(L->top);  // just above the result in ra
        vmbreak;
      }
      vmcase(OP_CLOSE) {
        TValue* ra = RA();
        Protect(upval_close(L, ra); tbc_close(L, ra, OK));
        vmbreak;
      }
      vmcase(OP_TBC) {
        Protect(tbc_new(L, RA()));
        vmbreak;
      }
      vmcase(OP_JMP) {
        dojump(i, 0);
        vmbreak;
      }
      vmcase(OP_COLD_JMP) {
        dojump_as(i, 0, coldedge);
        vmbreak;
      }
      vmcase(OP_EQ) {
        TValue* ra = RA();
        const TValue& rb = *RB();
        bool cond;
        // Decided here: two floats, the same value (equal payloads and
        // tags: integers, short strings, one table or function), different
        // integers or short strings, and different types. Only tables and
        // userdata (__eq), long strings, nil and boolean variants and mixed
        // numbers call vm_equal.
        if (ra->tag == rb.tag) {
          if (ra->tag == Tag::Float)
            cond = ra->u.n == rb.u.n;
          else if (ra->u.i == rb.u.i)
            cond = true;
          else if (ra->tag == Tag::Int || ra->tag == Tag::ShortStr)
            cond = false;
          else
            Protect(cond = vm_equal(L, *ra, rb));
        } else if (ra->type() != rb.type()) {
          cond = false;
        } else {
          Protect(cond = vm_equal(L, *ra, rb));
        }
        docondjump();
        vmbreak;
      }
      vmcase(OP_LT) op_order(<, lt_num, lt_other)
      vmcase(OP_LE) op_order(<=, le_num, le_other)
      vmcase(OP_EQK) {
        const TValue* ra = RA();
        const TValue* kb = KB();
        bool cond;
        // A nil, boolean or short-string constant equals exactly the values
        // of its tag (and string) without a call (x == nil, c == "{");
        // numbers and long strings take vm_equal.
        if (kb->is_nil())
          cond = ra->is_nil();
        else if (kb->tag == Tag::ShortStr || kb->is_boolean())
          cond = ra->tag == kb->tag && (kb->tag != Tag::ShortStr || ra->u.gc == kb->u.gc);
        else
          cond = vm_equal(nullptr, *ra, *kb);
        docondjump();
        vmbreak;
      }
      vmcase(OP_EQI) {
        const TValue* ra = RA();
        int im = getarg_sB(i);
        bool cond;
        if (ra->is_int())
          cond = ra->u.i == im;
        else if (ra->is_float())
          cond = ra->u.n == static_cast<Number>(im);
        else
          cond = false;
        docondjump();
        vmbreak;
      }
      vmcase(OP_LTI) op_order_imm(<, false, TM_LT)
      vmcase(OP_LEI) op_order_imm(<=, false, TM_LE)
      vmcase(OP_GTI) op_order_imm(>, true, TM_LT)
      vmcase(OP_GEI) op_order_imm(>=, true, TM_LE)
      vmcase(OP_TEST) {
        bool cond = !RA()->is_false_or_nil();
        docondjump();
        vmbreak;
      }
      vmcase(OP_TESTSET) {
        const TValue* rb = RB();
        if (rb->is_false_or_nil() == static_cast<bool>(getarg_k(i))) {
          pc++;
        } else {
          *RA() = *rb;
          Instruction ni = *pc;
          dojump(ni, 1);
        }
        vmbreak;
      }
      vmcase(OP_CALL) {
        TValue* ra = RA();
        int b = getarg_B(i);
        int nresults = getarg_C(i) - 1;
        // b == 0: the previous instruction set top.
        TValue* top = b != 0 ? ra + b : L->top;
        savepc();
        // Nothing counting (no JIT, no budget) is tested with the hooks and
        // the trap, and L->top is stored once, by the frame set-up.
        if (LUNA_LIKELY(ra->tag == Tag::LClosure)) call_lua_inline(counting, (void)0);
        L->top = top;
        if (budget_on()) charge_budget(L, 1);
        if (LUNA_LIKELY(ra->tag == Tag::LClosure)) {
          if (counting != 0) call_lua_inline(0, funcentry(p));
        } else if (ra->tag == Tag::LightFn || ra->tag == Tag::NClosure) {
          // A native callee: straight to its call, not through precall's
          // dispatch on the type (about 20 instructions per call).
          if (ra->tag == Tag::LightFn && builtin_filter.may_match(ra->u.f)) {
            if (ra->u.f == lib_coroutine_yield) {
              if (coro_yield_direct(L, ra, nresults)) return;
            } else if (call_builtin(L, ra, nresults)) {
              checkGC(L->top);  // string.sub may have made a string
              vmbreak;
            }
          }
          if (ra->tag == Tag::NClosure && ra->as_nclosure()->f == coro_wrap_call)
            coro_precall(L, ra, nresults, coro_wrap_call);  // a generator's resume, without precall's layer
          else
            precall_native(L, ra, nresults, ra->tag == Tag::LightFn ? ra->u.f : ra->as_nclosure()->f);
          if (LUNA_UNLIKELY(L->status == YIELD)) return;  // coro_yield_return
          refresh_counting();
          updatebase();
          stitchpoint();
          vmbreak;
        }
        CallInfo* nci = precall(L, ra, nresults);
        if (nci != nullptr) {
          ci = nci;
          goto startfunc;
        }
        if (LUNA_UNLIKELY(L->status == YIELD)) return;  // coro_yield_return
        refresh_counting();
        updatebase();
        stitchpoint();
        vmbreak;
      }
      vmcase(OP_TAILCALL) {
        TValue* ra = RA();
        int b = getarg_B(i);
        int nparams1 = getarg_C(i);
        // delta: distance from the frame's func to the real one (varargs).
        int delta = nparams1 ? ci->nextraargs + nparams1 : 0;
        if (b != 0)
          L->top = ra + b;
        else
          b = static_cast<int>(L->top - ra);
        savepc();
        // Nothing counting, no upvalues to close: one test with the hooks
        // and the trap, no budget charge and no hot count.
        tail_lua_inline(counting | (i & (1u << POS_k)), (void)0);
        if (budget_on()) charge_budget(L, 1);
        if (getarg_k(i)) {
          ptrdiff_t off = L->save(ra);
          upval_close(L, base);
          ra = L->restore(off);
        }
        tail_lua_inline(0, funcentry(p));
        int n = pretailcall(L, ci, ra, b, delta);
        if (n < 0) {
          if (LUNA_UNLIKELY(n == NATIVE_YIELDED)) return;  // coro_yield_return
          goto startfunc;
        }
        refresh_counting();
        ci->func -= delta;
        poscall(L, ci, n);
        goto ret;
      }
      vmcase(OP_RETURN) {
        TValue* ra = RA();
        int n = getarg_B(i) - 1;
        int nparams1 = getarg_C(i);
        if (n < 0) n = static_cast<int>(L->top - ra);
        savepc();
        if (getarg_k(i)) {
          // Close first; handlers run above the results, which stay put.
          ci->nres = n;  // for vm_finish_op, should a __close yield
          ptrdiff_t off = L->save(ra);
          if (L->top < ci->top) L->top = ci->top;
          upval_close(L, base);
          tbc_close(L, base, OK);
          updatebase();
          ra = L->restore(off);
        }
        if (nparams1) ci->func -= ci->nextraargs + nparams1;
        L->top = ra + n;
        poscall(L, ci, n);
        goto ret;
      }
      vmcase(OP_RETURN0) {
        if (LUNA_UNLIKELY(L->hookmask)) {
          L->top = RA();
          savepc();
          poscall(L, ci, 0);
        } else {
          // Inline poscall: no results, nil-fill what the caller wants
          // (usually nothing: a call statement).
          int wanted = ci->nresults;
          TValue* res = base - 1;  // ci->func
          CallInfo* caller = ci->previous;
          L->ci = caller;
          if (LUNA_UNLIKELY(wanted > 0))
            for (; wanted > 0; wanted--) set_nil(res++);
          L->top = res;
          back_to_caller(caller);
        }
        goto ret;
      }
      vmcase(OP_RETURN1) {
        TValue* ra = RA();
        if (LUNA_UNLIKELY(L->hookmask)) {
          L->top = ra + 1;
          savepc();
          poscall(L, ci, 1);
        } else {
          // Inline poscall; one result wanted is the straight line. The
          // payload and the tag are copied apart: a value just stored that
          // way (arithmetic) is forwarded to loads of the same sizes, while
          // one 16-byte load of it stalls until the stores retire.
          // One result wanted or all of them (a call ending an argument
          // list or a table constructor) is the same copy.
          int wanted = ci->nresults;
          TValue* res = base - 1;  // ci->func
          CallInfo* caller = ci->previous;
          L->ci = caller;
          if (LUNA_LIKELY(wanted == 1 || wanted == MULTRET)) {
            res->u = ra->u;
            res->tag = ra->tag;
            L->top = res + 1;
          } else if (wanted == 0) {
            L->top = res;
          } else {
            *res++ = *ra;
            for (; wanted > 1; wanted--) set_nil(res++);
            L->top = res;
          }
          back_to_caller(caller);
        }
        goto ret;
      }
// FORLOOP and TFORLOOP jump back Bx instructions.
#define jump_back(edge)     \
  {                         \
    int bx = getarg_Bx(i);  \
    pc -= bx;               \
    edgetrap();             \
    edge(bx);               \
  }
#define op_forloop(edge)                                  \
  {                                                       \
    TValue* ra = RA();                                    \
    if (LUNA_LIKELY(ra[2].is_int())) {                    \
      Unsigned count = static_cast<Unsigned>(ra[1].u.i);  \
      if (count > 0) {                                    \
        Integer idx = int_add(ra[0].u.i, ra[2].u.i);      \
        ra[1].u.i = static_cast<Integer>(count - 1);      \
        ra[0].u.i = idx;                                  \
        set_int(ra + 3, idx);                             \
        jump_back(edge);                                  \
      }                                                   \
    } else if (float_for_loop(ra)) {                      \
      jump_back(edge);                                    \
    }                                                     \
    vmbreak;                                              \
  }
      vmcase(OP_FORLOOP) op_forloop(backedge)
      vmcase(OP_COLD_FORLOOP) op_forloop(coldedge)
      vmcase(OP_FORPREP) {
        savestate();
        if (for_prep(L, RA())) pc += getarg_Bx(i) + 1;
        vmbreak;
      }
      vmcase(OP_TFORPREP) {
        Protect(tbc_new(L, RA() + 3));
        pc += getarg_Bx(i);
        vmbreak;
      }
      vmcase(OP_TFORCALL) {
        // Call R[A](R[A+1], R[A+2]) on copies, results from R[A+4]; the
        // following TFORLOOP runs when the call returns to this frame.
        TValue* ra = RA();
        ra[4] = ra[0];
        ra[5] = ra[1];
        ra[6] = ra[2];
        L->top = ra + 7;
        savepc();
        if (budget_on()) charge_budget(L, 1);
        if (ipairs_step(L, ra, getarg_C(i))) vmbreak;
        CallInfo* nci = precall(L, ra + 4, getarg_C(i));
        if (nci != nullptr) {
          ci = nci;
          goto startfunc;
        }
        if (LUNA_UNLIKELY(L->status == YIELD)) return;  // coro_yield_return
        refresh_counting();
        updatebase();
        stitchpoint();
        vmbreak;
      }
#define op_tforloop(edge)   \
  {                         \
    TValue* ra = RA();      \
    if (!ra[4].is_nil()) {  \
      ra[2] = ra[4];        \
      jump_back(edge);      \
    }                       \
    vmbreak;                \
  }
      vmcase(OP_TFORLOOP) op_tforloop(backedge)
      vmcase(OP_COLD_TFORLOOP) op_tforloop(coldedge)
      vmcase(OP_SETLIST) {
        TValue* ra = RA();
        int n = getarg_B(i);
        unsigned last = static_cast<unsigned>(getarg_C(i));
        Table* h = ra->as_table();
        if (n == 0)
          n = static_cast<int>(L->top - ra) - 1;  // values up to the top
        else
          L->top = ci->top;
        if (getarg_k(i)) {
          last += static_cast<unsigned>(getarg_Ax(*pc)) * (MAXARG_C + 1);
          pc++;
        }
        last += static_cast<unsigned>(n);
        // Growing into the constructor's room in the block allocates
        // nothing (table_try_grow_array); else the general way.
        if (last > h->asize && !table_try_grow_array(L, h, last)) {
          savepc();
          table_resize_array(L, h, last);
        }
        for (; n > 0; n--) h->array[--last] = ra[n];
        gc_barrier_back(L, h);
        L->top = ci->top;
        vmbreak;
      }
      vmcase(OP_CLOSURE) {
        savestate();
        LClosure* cl = CL();
        push_closure(L, cl->p->p[getarg_Bx(i)], cl->upvals, base, RA());
        checkGC(RA() + 1);
        vmbreak;
      }
      // 5.5's GETVARG shares VARARG's handler (get_varargs tells them
      // apart): a handler of its own made the compiler add work to hot
      // handlers (sieve.lua: +0.24% instructions with -j off).
      vmalias(OP_GETVARG)
      vmcase(OP_VARARG) {
        ProtectNT(get_varargs(L, ci, i));
        vmbreak;
      }
      vmcase(OP_VARARGPREP) {
        ProtectNT(adjust_varargs(L, ci, CL()->p, getarg_A(i)));
        if (getarg_C(i) == 1) {
          ProtectNT(pack_varargs(L, ci, getarg_A(i)));
        } else if (getarg_C(i) == 2) {
          set_nil(ci->func + 1 + getarg_A(i));  // 5.5's unnamed vararg table
        }
        // The next instruction is the first traced one: a new line.
        if (LUNA_UNLIKELY(ci->trap)) L->oldpc = 1;
        vmbreak;
      }
      vmcase(OP_EXTRAARG) {
        savestate();
        run_error(L, "invalid instruction (misplaced EXTRAARG)");
      }
      vmcase(OP_ERRNNIL) {
        if (!RA()->is_nil()) {
          savestate();
          const int bx = getarg_Bx(i);
          run_error(L, "global '%s' already defined", bx == 0 ? "?" : k[bx - 1].as_string()->c_str());
        }
        vmbreak;
      }
      vmdefault {
        savestate();
        run_error(L, "invalid opcode %d", static_cast<int>(get_op(i)));
      }
    }
  }
ret:
  // ci has returned (poscall done): leave, or continue its Lua caller.
  if (ci->callstatus & CIST_FRESH) return;
  ci = ci->previous;
  goto returning;
}

void vm_finish_op(State* L) {
  CallInfo* ci = L->ci;
  TValue* base = ci->func + 1;
  Instruction i = ci->savedpc[-1];
  switch (get_op(i)) {
    // The metamethod's result is on the top: store it.
    case OP_GETTABUP: case OP_GETTABLE: case OP_GETI: case OP_GETFIELD: case OP_SELF:
    case OP_ADDI: case OP_ADDK: case OP_SUBK: case OP_MULK: case OP_MODK: case OP_POWK:
    case OP_DIVK: case OP_IDIVK: case OP_BANDK: case OP_BORK: case OP_BXORK:
    case OP_SHRI: case OP_SHLI: case OP_ADD: case OP_SUB: case OP_MUL: case OP_MOD:
    case OP_POW: case OP_DIV: case OP_IDIV: case OP_BAND: case OP_BOR: case OP_BXOR:
    case OP_SHL: case OP_SHR: case OP_UNM: case OP_BNOT: case OP_LEN:
      base[getarg_A(i)] = *--L->top;
      break;
    // A comparison: its result decides the jump that follows.
    case OP_EQ: case OP_LT: case OP_LE: case OP_LTI: case OP_LEI: case OP_GTI: case OP_GEI: {
      bool res = (--L->top)->truthy();
      if (ci->callstatus & CIST_LEQ) {  // __lt stood in for __le (5.3)
        ci->callstatus &= static_cast<uint16_t>(~CIST_LEQ);
        res = !res;
      }
      if (res != (getarg_k(i) != 0)) ci->savedpc++;  // skip the jump
      break;
    }
    case OP_CONCAT: {
      // The result of one __concat is on the top: put it in place of the
      // pair it joined, then concatenate what is left.
      TValue* top = L->top - 1;
      int total = static_cast<int>(top - 1 - (base + getarg_A(i)));
      top[-2] = *top;
      L->top = top - 1;
      vm_concat(L, total);
      break;
    }
    // Closing yielded: run the instruction again for the variables left.
    case OP_CLOSE:
      ci->savedpc--;
      break;
    case OP_RETURN:
      L->top = base + getarg_A(i) + ci->nres;
      ci->savedpc--;
      break;
    default:
      // Calls (the results are in place) and table stores (no result).
      break;
  }
}

}  // namespace luna
