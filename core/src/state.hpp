// Threads, call frames, the global state, and the internal interfaces that
// the core's files offer each other. Each section names the file that owns it.
#pragma once

#include <bit>
#include <cstdarg>
#include <cstddef>
#include <cstring>

#include "dialect.hpp"
#include "jit_seam.hpp"
#include "object.hpp"
#include "pattern_cache.hpp"

namespace luna {

// ---------------------------------------------------------------- frames
enum CallStatus : uint16_t {
  CIST_C = 1 << 0,        // native function frame
  CIST_FRESH = 1 << 1,    // Lua frame that started a fresh execute() (returns from it)
  CIST_HOOKED = 1 << 2,   // running a debug hook
  CIST_YPCALL = 1 << 3,   // protected call frame
  CIST_TAIL = 1 << 4,     // frame was tail-called
  CIST_HOOKYIELD = 1 << 5, // Lua frame whose line or count hook yielded (debug.cpp)
  CIST_FIN = 1 << 6,      // running a finalizer
  CIST_TRAN = 1 << 7,     // ftransfer/ntransfer valid
  CIST_CLSRET = 1 << 8,   // closing to-be-closed variables on return
  CIST_NOUNWIND = 1 << 9, // native frame holding nothing to destroy: an error may jump over it
  CIST_TRACE = 1 << 10,   // Lua frame running a line or count hook, which may yield
  CIST_LEQ = 1 << 11,     // running __lt for a <= (5.3): the result is negated
  // Bits 12-15: how many __call metavalues the call went through (5.5 refuses
  // longer chains; 5.4 allows them and keeps 15); debug.getinfo's extraargs.
  CIST_CCMT_SHIFT = 12,
  CIST_CCMT = 0xF << CIST_CCMT_SHIFT,
};
// The call-status bits recording ncalls __call hops (at most 15 are kept).
inline uint16_t call_hops_status(int ncalls) {
  return static_cast<uint16_t>((ncalls < 15 ? ncalls : 15) << CIST_CCMT_SHIFT);
}

// 64 bytes, as PUC-Rio's: deep recursion walks one CallInfo per level, and
// at 96 bytes ackermann's frames missed the data cache a third more often.
// The fields only Lua frames use and those only native frames use share
// their bytes (is_lua() tells which are live); so do the values that are
// never needed at the same time in one frame (the u2 union below).
struct CallInfo {
  TValue* func;         // the function slot; arguments follow
  TValue* top;          // top for this function
  CallInfo* previous;
  CallInfo* next;
  union {
    struct {                       // Lua frames
      const Instruction* savedpc;  // next instruction
      volatile int trap;           // hooks active or stack moved
      int nextraargs;              // vararg frames: extra arguments below func
    };
    // Native frames: the continuation a resume or a caught error goes on
    // with (call_k, pcall_k, yield_k) and, for a pcall_k (CIST_YPCALL),
    // what the error path restores.
    struct {
      KFunction k;
      int32_t old_errfunc;      // pcall_k: message handler to restore (a stack offset)
      uint8_t recover_status;   // pcall_k: status of the error being recovered
      uint8_t old_allowhook;    // pcall_k
    };
  };
  // Native frames: k's context. Lua frames: where the JIT's trace that
  // called the frame goes on when it returns (0: the interpreter's caller).
  KContext ctx;
  int16_t nresults;            // expected results (MULTRET = -1)
  uint16_t callstatus;
  union {
    struct {
      unsigned short ftransfer, ntransfer;  // while a hook runs (CIST_TRAN)
    };
    int nres;          // yield: values yielded; Lua frame: the results of an OP_RETURN interrupted by a __close
    int32_t funcidx;   // pcall_k: stack offset of the called function
  };
  bool is_lua() const { return !(callstatus & CIST_C); }
};
static_assert(sizeof(CallInfo) == 64, "CallInfo: 64 bytes");
// Stack offsets (bytes) of old_errfunc and funcidx fit 32 bits.
static_assert((static_cast<int64_t>(MAXSTACK) + 1000) * sizeof(TValue) < INT32_MAX);

// Stack slots kept free above every frame's top for the VM's scratch use.
constexpr int EXTRA_STACK = 5;
constexpr int BASIC_STACK_SIZE = 2 * MINSTACK;
// Native nesting limit: beyond it, "C stack overflow".
constexpr unsigned MAX_C_CALLS = 200;

// Metamethod events. The first six are cached as absent in Table::flags.
enum TMS : int {
  TM_INDEX, TM_NEWINDEX, TM_GC, TM_MODE, TM_LEN, TM_EQ,
  TM_ADD, TM_SUB, TM_MUL, TM_MOD, TM_POW, TM_DIV, TM_IDIV,
  TM_BAND, TM_BOR, TM_BXOR, TM_SHL, TM_SHR, TM_UNM, TM_BNOT,
  TM_LT, TM_LE, TM_CONCAT, TM_CALL, TM_CLOSE, TM_N
};

struct ErrorJump;  // innermost protected call's catch point (do.cpp)

// One Lua thread. The main thread is created with the global state.
struct State : GCObject {
  uint8_t status;          // OK, YIELD, or an error status once dead
  uint8_t allowhook;
  unsigned nci;            // number of CallInfos in the list (in the tail padding after status)
  TValue* top;              // first free slot
  struct GlobalState* g;
  CallInfo* ci;            // current frame
  TValue* stack_last;       // end of usable stack (EXTRA_STACK more slots follow)
  TValue* stack;
  UpVal* openupval;        // open upvalues, highest level first
  ptrdiff_t* tbclist;      // stack offsets of to-be-closed slots, innermost last
  int ntbc, sizetbc;
  GCObject* gclist;
  State* twups;            // threads with open upvalues
  Hook hook;
  ptrdiff_t errfunc;       // stack offset of the current message handler (0 = none)
  unsigned nCcalls;        // native nesting depth (C stack overflow check)
  unsigned nny;            // > 0: cannot yield (non-yieldable native call in progress)
  unsigned direct_ncalls;  // nCcalls inside the execute() a resume runs directly (coroutine.cpp)
  int oldpc;               // last pc traced (line hooks)
  int basehookcount;
  int hookcount;
  volatile int hookmask;
  ErrorJump* errorjmp;     // innermost pcall_raw running on this thread, or nullptr
  CallInfo base_ci;

  int stack_size() const { return static_cast<int>(stack_last - stack); }
  ptrdiff_t save(const TValue* p) const { return reinterpret_cast<const char*>(p) - reinterpret_cast<const char*>(stack); }
  TValue* restore(ptrdiff_t n) const { return reinterpret_cast<TValue*>(reinterpret_cast<char*>(stack) + n); }
};
inline State* TValue::as_thread() const { return static_cast<State*>(u.gc); }

// A coroutine's State is allocated with a tail behind it, in one block
// (coroutine.cpp, thread_new): while the coroutine runs, the tail holds its
// body's CallInfo (the first after base_ci, never freed alone); once it
// finished, the few stack slots it keeps (release_finished). So creating
// one allocates a CallInfo less, finishing allocates nothing, and a dead
// coroutine frees one block. The main thread has no tail.
constexpr int FINISHED_STACK_SIZE = 2;  // the body's slot and one for resume's "cannot resume dead coroutine"
constexpr size_t THREAD_TAIL_SIZE = (FINISHED_STACK_SIZE + EXTRA_STACK) * sizeof(TValue);
static_assert(THREAD_TAIL_SIZE >= sizeof(CallInfo) && sizeof(State) % alignof(CallInfo) == 0);
constexpr size_t THREAD_BLOCK_SIZE = sizeof(State) + THREAD_TAIL_SIZE;
inline TValue* thread_tail(State* L) { return reinterpret_cast<TValue*>(L + 1); }
inline CallInfo* tail_ci(State* L) { return reinterpret_cast<CallInfo*>(L + 1); }
// Whether L's stack is its block's tail (freed with the State, never alone).
inline bool stack_in_tail(State* L) { return L->stack == thread_tail(L); }
// Whether L owns no block but its own: what a coroutine that finished is
// left with (release_finished), which thread_free would find.
inline bool thread_in_one_block(State* L) {
  return stack_in_tail(L) && L->base_ci.next == nullptr && L->openupval == nullptr && L->tbclist == nullptr &&
         L->twups == L;
}

struct StringTable {
  String** hash;
  int nuse;
  int size;
};

// Size-class freelists in front of the built-in allocator (pool.cpp).
// Blocks of 1..MAX bytes are rounded up to a multiple of GRAIN; the
// accounting (totalbytes, gcdebt, the memory limit) still counts the sizes
// the core asked for, exactly as without the pool. One more class holds
// blocks of exactly STACK bytes, a new thread's stack: short-lived
// coroutines allocate and free them at the rate of small objects.
// Blocks of MAX+1..MID bytes have four classes per power of two (at most
// a quarter more than asked): the arrays of 32 to 128 slots a list passes
// through as it grows (closures.lua's map and filter) went to the host's
// malloc and free at ~100 instructions a block.
struct SmallPool {
  static constexpr size_t GRAIN = 16;
  static constexpr size_t MAX = 256;
  static constexpr size_t MID = 2048;
  // Two sizes above MAX have classes of their own: a thread's first stack
  // and a coroutine's block (THREAD_BLOCK_SIZE, carved rounded to GRAIN).
  static constexpr size_t STACK = (BASIC_STACK_SIZE + EXTRA_STACK) * sizeof(TValue);
  static constexpr size_t THREAD = THREAD_BLOCK_SIZE;
  static constexpr size_t STACK_CLASS = MAX / GRAIN, THREAD_CLASS = STACK_CLASS + 1;
  static constexpr size_t MID_CLASS = THREAD_CLASS + 1;  // the first of (MAX, MID]'s
  static constexpr size_t NCLASS = MID_CLASS + 12;       // 4 each for (256, 512], (512, 1K], (1K, 2K]
  static constexpr size_t SLAB = 16 * 1024;
  static_assert(MAX == 256 && MID == 2048 && SLAB / MID >= 8);
  static_assert(STACK > MAX && STACK % GRAIN == 0 && STACK < SLAB / 8);
  static_assert(THREAD > MAX && THREAD != STACK && THREAD < SLAB / 8);
  static_assert(STACK <= MID && THREAD <= MID);
  static constexpr bool pooled_size(size_t n) { return n - 1 < MID; }  // 0 is not
  static constexpr size_t class_of(size_t n) {
    if (__builtin_expect(n <= MAX, 1)) return (n - 1) / GRAIN;
    if (n == STACK || n == THREAD) return STACK_CLASS + (n == THREAD);
    // 2^e < n <= 2^(e+1), e in 8..10: the quarter of that range n is in.
    size_t e = static_cast<size_t>(std::bit_width(n - 1)) - 1;
    return MID_CLASS + (e - 8) * 4 + ((n - 1) >> (e - 2) & 3);
  }
  static constexpr size_t class_size(size_t c) {
    if (c < STACK_CLASS) return (c + 1) * GRAIN;
    if (c == STACK_CLASS) return STACK;
    if (c == THREAD_CLASS) return (THREAD + GRAIN - 1) / GRAIN * GRAIN;
    size_t e = 8 + (c - MID_CLASS) / 4, q = (c - MID_CLASS) % 4;
    return (size_t(1) << e) + ((q + 1) << (e - 2));
  }
  void* free[NCLASS] = {};  // freed blocks per class, linked through their first word
  char* bump = nullptr;          // uncarved part of the newest slab
  char* bump_end = nullptr;
  void* slabs = nullptr;         // every slab, linked through its first word
};
static_assert(SmallPool::class_of(257) == SmallPool::MID_CLASS && SmallPool::class_size(SmallPool::MID_CLASS) == 320 &&
              SmallPool::class_size(SmallPool::class_of(512)) == 512 &&
              SmallPool::class_of(513) == SmallPool::MID_CLASS + 4 &&
              SmallPool::class_size(SmallPool::class_of(1024)) == 1024 &&
              SmallPool::class_of(SmallPool::MID) == SmallPool::NCLASS - 1 &&
              SmallPool::class_size(SmallPool::NCLASS - 1) == SmallPool::MID);
void* pool_alloc(GlobalState* g, size_t n);  // SmallPool::pooled_size(n); nullptr when the host refuses a slab
void pool_free(GlobalState* g, void* block, size_t n);
void pool_release(GlobalState* g);  // gives every slab back; the state is closing

// Blocks of at least MIN bytes (built-in allocator only) are mappings of
// their own, aligned to and rounded up to 2 MiB so that transparent huge
// pages back them whole: a fault then zeroes 2 MiB at once instead of 512
// pages one by one. One freed block is kept as a spare and lent to the next
// large request that fits (growing within it costs nothing), so a program
// that builds, drops and rebuilds a big array, as sieve.lua does, faults
// its memory in once. The spare is not used under a memory limit, and is
// unmapped by an explicit or emergency collection, by any collection once
// it has sat unused for SPARE_NS, and when the state closes.
struct LargeBlocks {
  static constexpr size_t MIN = size_t(2) << 20;
  static constexpr int64_t SPARE_NS = 1000000000;
  static constexpr bool enabled =
#ifdef __linux__
      true;
#else
      false;
#endif
  void* spare = nullptr;    // a freed block, or nullptr
  void* lent = nullptr;     // the block last made from the spare, while live
  int64_t spare_since = 0;  // clock_ns() when it was freed
};
inline bool is_large(size_t n) { return LargeBlocks::enabled && n >= LargeBlocks::MIN; }
// Allocates (block nullptr), resizes or frees (nsize 0) a block whose
// sizes are each 0 or is_large; nullptr when the system refuses.
void* large_realloc(GlobalState* g, void* block, size_t osize, size_t nsize);
void large_drop_spare(GlobalState* g, bool unused_only);  // unmaps the spare (only a stale one)
size_t large_zero_from(const void* block);  // of the bytes past its last size, those from here on are zero
// A block from where its size belongs, not checked against the memory
// limit (gc.cpp): the host's allocator, or with the built-in one small
// sizes to the pool, large ones to their own mappings, the rest to malloc.
void* block_realloc(GlobalState* g, void* block, size_t osize, size_t nsize);

// Bytes of a position text "chunk:line: " (where_text) with its '\0'.
constexpr size_t WHERE_SIZE = IDSIZE + 16;
// The last position text where_text made and the prototype and saved pc it
// is for (debug.cpp); proto_free forgets it with its prototype.
// add_where's short results lately made, by the message's hash: error("bad
// " .. n) raised again from one place (its saved pc) finds the interned
// result without hashing and looking it up again. Valid until the next
// collection, which may free the strings or the prototype and clears them
// (where_forget_joins).
struct WhereJoin {
  const String* msg;
  const Instruction* pc;
  String* joined;
};
constexpr size_t WHERE_JOINS = 64;
struct WhereCache {
  const Proto* p;
  const Instruction* pc;
  size_t len;
  char text[WHERE_SIZE];
  WhereJoin joins[WHERE_JOINS];
};

struct GlobalState {
  Allocator frealloc;
  void* ud;
  bool pooled;             // small blocks go through `pool` (built-in allocator only)
  SmallPool pool;
  LargeBlocks large;       // with `pooled` only
  size_t totalbytes;       // bytes allocated now (including debt accounting)
  ptrdiff_t gcdebt;        // bytes allocated not yet compensated by the collector
  size_t memlimit;         // 0 = unlimited
  size_t gcestimate;
  size_t gcstepcredit;     // work paid by collectgarbage("step") toward the next cycle
  StringTable strt;
  String* onebyte[256];  // the one-byte strings made so far, fixed (string.cpp)
  TValue l_registry;
  TValue nilvalue;          // a nil; its tag doubles as "state is complete" flag
  uint32_t seed;
  uint8_t currentwhite;
  uint8_t gcstate;
  uint8_t gckind;          // 0 incremental, 1 generational
  uint8_t gcstopem;        // stops emergency collections
  uint8_t gcstp;           // bit 0: stopped by user; bit 1: stopped internally (during collection/closing)
  uint8_t gcemergency;
  int gcpause, gcstepmul, gcstepsize, genminormul, genmajormul;
  GCObject* allgc;         // list of all collectable objects
  GCObject* finobj;        // objects with finalizers
  GCObject* tobefnz;       // objects to be finalized
  GCObject* fixedgc;       // objects never collected (reserved words, metamethod names)
  GCObject* gray;
  GCObject* grayagain;
  GCObject* weak;
  GCObject* ephemeron;
  GCObject* allweak;
  State* twups;
  NativeFn panic;
  State* mainthread;
  String* memerrmsg;
  String* tmname[TM_N];
  String* typename_str[NUMTYPES];  // type()'s results, fixed like tmname
  Table* mt[NUMTYPES];     // metatables of basic types
  WarnFn warnf;
  void* ud_warn;
  int warn_state;          // for the default warning function: 0 off, 1 on, 2 continuing
  const Dialect* dialect;  // the Lua version spoken (dialect.hpp); set before libraries open
  JitSeam jit;             // the JIT backend, hot counters, attached traces
  // Instruction budget and time limit (limits.cpp). The VM and the
  // libraries only count `instr_budget` down; reaching it calls
  // budget_checkpoint, which settles the real budget and reads the clock.
  uint64_t instr_budget;   // 0 = not counting: ticks left before the next checkpoint
  uint64_t budget_chunk;   // what instr_budget was last set to
  uint64_t budget_left;    // instructions left after this chunk (with instr_limited)
  int64_t deadline_ns;     // steady clock, 0 = no time limit
  uint8_t instr_limited;   // an instruction budget is set
  uint8_t budget_spent;    // 0, or which limit ran out: sticky until reset
  int64_t emergency_next_ns;  // no emergency collection before this (gc.cpp)
  bool coro_thrown;        // a resume has caught a thrown error or yield (coroutine.cpp)
  // A finished coroutine's first stack (BASIC_STACK_SIZE), kept for the
  // next coroutine.create instead of going back to the pool (coroutine.cpp).
  // Not cleared when kept: each collection clears it (spare_stack_clear),
  // so its slots only hold objects not yet freed.
  TValue* spare_stack;
  PatternCache patterns;   // first items of recent patterns (lib/string.cpp)
  WhereCache where;        // error()'s last position text (debug.cpp)
};

// The feature table of the version L speaks.
inline const Dialect& dialect(const State* L) { return *L->g->dialect; }

// Index of a stack slot relative to the current frame, as the API sees it.
// Implemented in api.cpp.
TValue* index_to_value(State* L, int idx);

// ------------------------------------------------------------ memory (gc.cpp)
// Every allocation of the core goes through these. A failing allocation
// tries an emergency collection, then raises a memory error (ERRMEM).
void* mem_realloc(State* L, void* block, size_t osize, size_t nsize);
void* mem_alloc(State* L, size_t size);
void mem_free(State* L, void* block, size_t size);
template <typename T> T* mem_new_array(State* L, size_t n) { return static_cast<T*>(mem_alloc(L, n * sizeof(T))); }
template <typename T> T* mem_resize_array(State* L, T* p, size_t oldn, size_t newn) {
  return static_cast<T*>(mem_realloc(L, p, oldn * sizeof(T), newn * sizeof(T)));
}
template <typename T> void mem_free_array(State* L, T* p, size_t n) { mem_free(L, p, n * sizeof(T)); }
// Right after mem_realloc grew a block to size bytes: the offset from which
// its new bytes are known to be zero (size when nothing is known). Fresh
// pages need no filling with zero-valued data (nil is all zero bytes), and
// pages never written are never faulted in.
size_t mem_zero_from(State* L, const void* block, size_t size);

// ------------------------------------------------------------------ gc.cpp
// Bits of GlobalState::gcstp: while any is set, no automatic collection runs.
constexpr uint8_t GCSTP_USER = 1 << 0;      // collectgarbage("stop")
constexpr uint8_t GCSTP_INTERNAL = 1 << 1;  // collecting, compiling, loading, finalizing or closing
constexpr uint8_t GCSTP_CLOSING = 1 << 2;   // state is closing: no new finalizers

// Keeps the collector from running while objects are not yet reachable from
// anything (half-built prototypes); restores the setting on any exit.
class GcPause {
 public:
  explicit GcPause(GlobalState* g) : g_(g), saved_(g->gcstp) { g_->gcstp |= GCSTP_INTERNAL; }
  ~GcPause() { g_->gcstp = saved_; }
  GcPause(const GcPause&) = delete;
  GcPause& operator=(const GcPause&) = delete;

 private:
  GlobalState* g_;
  uint8_t saved_;
};

// Allocates a collectable object of `size` bytes, links it into allgc.
GCObject* gc_new_object(State* L, Tag tag, size_t size);
// Allocation for compiled code, which may neither collect nor raise: the
// same accounting as mem_alloc, but nullptr instead of a collection or an
// error, and also when a collection step is due (the trace then leaves and
// the interpreter allocates, collecting first). mem_try_alloc does not look
// at the debt: it serves the parts of an object gc_try_new_object made.
GCObject* gc_try_new_object(GlobalState* g, Tag tag, size_t size) noexcept;
void* mem_try_alloc(GlobalState* g, size_t size) noexcept;
// Safe point: runs a collection step if debt is positive. Call only where
// every live value is reachable (on a stack, in a table, ...).
void gc_check(State* L);
void gc_full(State* L, bool emergency);
// collectgarbage("collect") and ("step"): in a dialect with finalizer_53
// an error in a finalizer they run is raised to their caller.
void gc_collect_api(State* L);
bool gc_step_api(State* L, int kbytes);  // true when a cycle finished
void gc_fix(State* L, GCObject* o);    // object is never collected
// Registers o for finalization if mt has __gc (setmetatable calls this).
void gc_check_finalizer(State* L, GCObject* o, Table* mt);
void gc_free_all(State* L);            // at close_state: finalizers, then everything
void gc_set_debt(GlobalState* g, ptrdiff_t debt);
// Write barriers. parent is black-able object being written, v the value.
// Write barriers. The collector is stop-the-world, so they are empty; they
// are inline so that a store pays nothing for them, and the calls stay to
// mark the places an incremental collector would need.
inline void gc_barrier(State*, GCObject*, const TValue&) {}
inline void gc_barrier_back(State*, Table*) {}  // a table was modified
inline void gc_barrier_obj(State*, GCObject*, GCObject*) {}
// Whether the barriers above do anything (compiled code leaves them out).
constexpr bool GC_NEEDS_BARRIERS = false;
size_t gc_count_bytes(State* L);
// Runs pending finalizers (called by gc_check and at state close); an error
// in one is a warning, or with raise, raised ("error in __gc metamethod")
// leaving the rest pending.
void gc_call_pending_finalizers(State* L, bool raise = false);
// Change mode: returns previous mode (0 incremental, 1 generational).
int gc_change_mode(State* L, int newmode);

// -------------------------------------------------------------- string.cpp
String* str_new(State* L, const char* s, size_t len);
String* str_new_cstr(State* L, const char* s);
String* str_new_long(State* L, size_t len);  // uninitialised long string of len bytes to fill
// For compiled code (gc_try_new_object): a string of s[0..len) as str_new
// makes it, or nullptr where str_new would collect, grow the string table or
// raise. A long string (len > MAX_SHORT_LEN) may be left for the caller to
// fill: str is then nullptr.
String* str_try_new(GlobalState* g, const char* s, size_t len) noexcept;
uint32_t str_hash(const char* s, size_t len, uint32_t seed);
uint32_t str_hash_long(String* ts);           // computes and caches
bool str_equal(const String* a, const String* b);  // works for short and long
void str_table_init(State* L);
void str_table_resize(State* L, int newsize);
void str_remove_dead(State* L, String* s);   // sweep: unlink a dead short string
void str_free(State* L, String* s);
Udata* udata_new(State* L, size_t size, int nuvalue);
inline TValue str_value(String* s) { return TValue::object(s); }

// --------------------------------------------------------------- table.cpp
Table* table_new(State* L);
// For compiled code (gc_try_new_object): a table as NEWTABLE makes it with
// table_new and table_resize, or nullptr where they would collect or raise.
// Its block has room for max(nasize, reserve) array slots when they are few
// (a constructor's SETLIST grows the array there without allocating).
Table* table_try_new(GlobalState* g, unsigned nasize, unsigned nhsize, unsigned reserve = 0) noexcept;
// The array slots table_try_new puts in the table's own block (0: none);
// within them its array part grows without allocating.
unsigned table_inline_slots(unsigned nasize, unsigned reserve) noexcept;
// The hash part of every table without one (compiled code compares).
const Node* table_dummy_node() noexcept;
// For compiled code: t's array part grown to nasize as SETLIST grows it,
// where that moves no hash entries (t has no hash part) and no collection
// step is due; false (t unchanged) otherwise.
bool table_try_grow_array(State* L, Table* t, unsigned nasize) noexcept;
// For compiled code: the slot an assignment to t[key] stores into (key
// normalised: an integer or a string), where finding or making it needs no
// rehash: the key's slot (nil or not), or a new node taken from the free
// ones exactly as the interpreter's insertion takes it; nullptr (t
// unchanged) when the hash part has no free node. Invalidates t's
// metamethod cache, as any store into a nil slot does.
TValue* table_try_key_slot(Table* t, const TValue& key) noexcept;
// For compiled code: table_try_key_slot, and where the hash part is full,
// the rehash the interpreter's insertion makes (the same sizes, the same
// node order) when it keeps the array part as it is: only t's hash part
// is then replaced. nullptr (t unchanged) where entries would move between
// the parts, a collection step is due or the allocation fails (the
// memory limit): the interpreter's insertion then does it.
TValue* table_try_set_slot(State* L, Table* t, const TValue& key) noexcept;
// For compiled code: the slot of t[key] for an append at the border of a
// table without hash part (key == asize + 1), the array part grown first
// exactly as the interpreter's rehash sizes it; nullptr (t unchanged) where
// that rehash would put keys in a hash part, or a collection step is due.
// A key within the array part is its slot.
TValue* table_try_append_slot(State* L, Table* t, Integer key) noexcept;
void table_free(State* L, Table* t);
void table_resize(State* L, Table* t, unsigned nasize, unsigned nhsize);
void table_resize_array(State* L, Table* t, unsigned nasize);
// Lookups return a pointer to the value slot, or to a shared absent-key value
// (tag AbsKey, is_nil() true) when the key is not present.
const TValue* table_get(Table* t, const TValue& key);
// The two hot lookups of the VM are inline; the rest lives in table.cpp.
extern const TValue table_absent_key;                   // the shared AbsKey result
const TValue* table_get_int_hash(Table* t, Integer key);  // hash-part lookup of an integer key
inline const TValue* table_get_int(Table* t, Integer key) {
  if (static_cast<uint64_t>(key) - 1 < t->asize) return &t->array[key - 1];
  return table_get_int_hash(t, key);
}
inline const TValue* table_get_short_str(Table* t, String* key) {
  const Node* n = &t->node[key->hash & ((1u << t->lsizenode) - 1)];
  for (;;) {
    if (n->key_tag == Tag::ShortStr && n->key_u.gc == key) return &n->val;
    if (n->next == 0) return &table_absent_key;
    n += n->next;
  }
}
const TValue* table_get_str(Table* t, String* key);
// Slot hints (issue 12): the field handlers (GETFIELD, SETFIELD, GETTABUP,
// SETTABUP, SELF) keep, in bytes 12-15 of their short-string key's TValue
// (padding, never part of the value; a constant in all but a rare SELF),
// where the key was last found, in whatever table: the node's index times
// 256 plus the log2 of that table's node count. The hint is a guess, used
// only when the table's node count is the same and the node holds the key,
// so a rehash, a freed table or a table of another shape costs a miss and
// the full lookup, never a wrong slot (execute.cpp, hinted_lookup).
constexpr size_t KEY_HINT_OFFSET = 12;
static_assert(sizeof(TValue) >= KEY_HINT_OFFSET + sizeof(uint32_t) && sizeof(Tag) == 1 &&
              offsetof(TValue, tag) + 1 <= KEY_HINT_OFFSET);
inline uint32_t key_hint(const TValue* kv) {
  uint32_t h;
  std::memcpy(&h, reinterpret_cast<const char*>(kv) + KEY_HINT_OFFSET, sizeof h);
  return h;
}
inline void set_key_hint(const TValue* kv, uint32_t h) {
  std::memcpy(const_cast<char*>(reinterpret_cast<const char*>(kv)) + KEY_HINT_OFFSET, &h, sizeof h);
}
// A new prototype's constants start without hints (their padding may hold
// any bytes copied with the values).
inline void clear_key_hints(TValue* k, int n) {
  for (int j = 0; j < n; j++) set_key_hint(&k[j], 0);
}
// Assignment: raises "table index is nil" / "table index is NaN" for such keys; a float
// key with an integral value is normalised to an integer. Does not call
// metamethods; does invalidate the flags cache and runs gc_barrier_back.
void table_set(State* L, Table* t, const TValue& key, const TValue& val);
// table_set of a key a lookup in t has just found absent.
void table_set_absent(State* L, Table* t, const TValue& key, const TValue& val);
void table_set_int(State* L, Table* t, Integer key, const TValue& val);
// Slot for an existing key, or a new slot (value nil) created for key.
TValue* table_new_key_slot(State* L, Table* t, const TValue& key);
TValue normalize_key(State* L, const TValue& key);  // float keys with integer values as integers; errors for nil and NaN
Integer table_length(Table* t);  // a border, as '#'
// table_length's first answers in line: the last border found, or the slot
// after it, when the array's last slot is nil (a list grown by t[#t+1] = v
// between the calls). A compiled '#' (json's out[#out + 1]) took the call
// into the library and its frame (~37 instructions) for these.
inline Integer table_length_hinted(Table* t) {
  unsigned n = t->asize, h = t->lenhint;
  if (h < n && t->array[n - 1].is_nil() && (h == 0 || !t->array[h - 1].is_nil())) {
    if (t->array[h].is_nil()) return h;
    if (h + 1 < n && t->array[h + 1].is_nil()) {
      t->lenhint = h + 1;
      return h + 1;
    }
  }
  return table_length(t);
}
// next(): key at *key_and_val; writes next key and value to key_and_val[0..1].
// Returns false at the end; raises "invalid key to 'next'" for unknown keys.
bool table_next(State* L, Table* t, TValue* key_and_val);
// Nodes in t's hash part: none for the shared empty one (lastfree null).
inline unsigned table_size_node(const Table* t) { return t->lastfree == nullptr ? 0 : 1u << t->lsizenode; }
// Whether t owns no block but its own (no hash part, its array part in
// the block or empty: most small tables), of sizeof(Table) + ainline
// slots. The sweep frees such a table by one push on its pool's freelist.
inline bool table_in_one_block(const Table* t) {
  if (t->lastfree != nullptr) return false;
  return (t->array == reinterpret_cast<const TValue*>(t + 1) && t->ainline != 0) || t->array == nullptr;
}
// Metamethod absence cache: tables with flags bit e set have no TM e.
// Bit 6 of a metatable's flags: __tostring known absent (set for the
// string metatable by string_tostring_absent); cleared with the rest.
constexpr uint8_t TM_CACHE_TOSTRING = 1u << 6;
inline void table_invalidate_tm_cache(Table* t) { t->flags = 0; }
// Whether the string metatable has no __tostring (%s and tostring of a
// string run none), caching the answer in TM_CACHE_TOSTRING (tm.cpp).
bool string_tostring_absent(State* L);

// ---------------------------------------------------------------- func.cpp
Proto* proto_new(State* L);
void proto_free(State* L, Proto* p);
LClosure* lclosure_new(State* L, int nupvals);
NClosure* nclosure_new(State* L, int nupvals);
void lclosure_init_upvals(State* L, LClosure* cl);  // fresh closed upvalues (nil)
UpVal* upval_find(State* L, TValue* level);           // open upvalue for a stack slot
void upval_close(State* L, TValue* level);            // closes open upvalues >= level
// For compiled code (gc_try_new_object): a closure of p with null upvalues
// to fill, the open upvalue of level found or made, or nullptr where the
// interpreter would collect first or fail.
LClosure* lclosure_try_new(GlobalState* g, Proto* p) noexcept;
UpVal* upval_try_find(State* L, TValue* level) noexcept;
// For compiled code: upval_close, unless to-be-closed variables at or above
// level need their __close called (false: nothing done).
bool upval_try_close(State* L, TValue* level) noexcept;
void upval_free(State* L, UpVal* uv);
void upval_unlink(UpVal* uv);
// To-be-closed variables: mark slot, and close all >= level (calls __close
// with the error object or nil). status is OK or an error status; may yield.
void tbc_new(State* L, TValue* slot);
void tbc_close(State* L, TValue* level, int status);
// As tbc_close, but the __close calls may yield even from a native frame
// (error recovery in pcall and coroutine.close; nny still applies).
void tbc_close_yieldable(State* L, TValue* level, int status);
const char* local_name(const Proto* p, int local_number, int pc);

// ------------------------------------------------------------------ tm.cpp
void tm_init(State* L);
const TValue* tm_get(State* L, Table* events, TMS event);  // fast-cached for event < 6; nullptr if absent
const TValue* tm_get_by_obj(State* L, const TValue& o, TMS event);  // AbsKey/nil value when absent
Table* metatable_of(State* L, const TValue& o);
const char* tm_typename_of(State* L, const TValue& o);  // honours __name
const char* type_name_of(int t);                       // "nil", "number", ..., "no value" for TNONE
// Calls f(p1, p2, p3) with no results / f(p1, p2) storing one result in *res
// (res is a stack slot that is re-fetched by offset if the stack moves).
void tm_call(State* L, const TValue& f, const TValue& p1, const TValue& p2, const TValue& p3);
void tm_call_res(State* L, const TValue& f, const TValue& p1, const TValue& p2, TValue* res);
// Binary metamethod for arith/bitwise/concat event; raises the proper error if none.
void tm_trybin(State* L, const TValue& p1, const TValue& p2, TValue* res, TMS event);
// Comparison metamethod: returns -1 when there is none (caller raises).
int tm_call_order(State* L, const TValue& p1, const TValue& p2, TMS event);

// ------------------------------------------------------------------ do.cpp
// Error transport: a C++ exception whose error value is left at L->top - 1
// (or implied by status ERRMEM / ERRERR).
struct LuaThrow {
  int status;
};
// Raises status. A runtime error whose path back to the innermost
// protected call holds no native frame (see docs/architecture.md, "Errors")
// jumps there directly instead of unwinding as an exception.
[[noreturn]] void throw_status(State* L, int status);
// Lets the running native frame be jumped over by its own error: it must
// own no object with a destructor when it raises.
inline void mark_frame_nounwind(State* L) { L->ci->callstatus |= CIST_NOUNWIND; }
// Fills a reused CallInfo for a call of the Lua function p at func (precall
// and OP_CALL's inline path; top: L->top, the end of the arguments), then
// the missing parameters with nil; the stack has room for the frame.
// nresults and callstatus (0) go in one store, trap and nextraargs (0) in
// another, as the JIT's CALLOUT stores them.
inline void init_lua_frame(State* L, CallInfo* ci, TValue* func, TValue* top, int nresults, const Proto* p, int trap) {
  static_assert(offsetof(CallInfo, callstatus) == offsetof(CallInfo, nresults) + 2 &&
                sizeof(CallInfo::nresults) == 2 && sizeof(CallInfo::callstatus) == 2);
  static_assert(offsetof(CallInfo, nextraargs) == offsetof(CallInfo, trap) + 4 && sizeof(CallInfo::trap) == 4 &&
                sizeof(CallInfo::nextraargs) == 4);
  // p's fields are read first: the paired stores below may alias anything.
  TValue* base = func + 1;
  TValue* frame_top = base + p->maxstacksize;
  TValue* last = base + p->numparams;
  const Instruction* code = p->code;
  ci->func = func;
  uint32_t status = static_cast<uint16_t>(nresults);  // callstatus 0 in the high half
  std::memcpy(reinterpret_cast<char*>(ci) + offsetof(CallInfo, nresults), &status, sizeof status);
  ci->top = frame_top;
  ci->savedpc = code;
  uint64_t trap_extra = static_cast<uint32_t>(trap);  // nextraargs 0 in the high half
  std::memcpy(reinterpret_cast<char*>(ci) + offsetof(CallInfo, trap), &trap_extra, sizeof trap_extra);
  for (; top < last; top++) *top = TValue();
  L->top = top;
}
// enter_lua's rare cases (do.cpp): the CallInfo after L->ci allocated
// first, the call hook called after.
[[gnu::noinline]] CallInfo* enter_lua_new_frame(State* L, TValue* func, int nresults);
[[gnu::noinline]] CallInfo* enter_lua_hooked(State* L, CallInfo* ci);
// Pushes the frame of the Lua closure at func (its prototype p, its
// arguments up to L->top) in the CallInfo after L->ci and calls the call
// hook if one is set;
// returns the frame, not yet run. The stack must have room for it.
// precall's Lua-closure path, shared with the native code that runs a Lua
// function itself (TruthCalls' paths): the rare cases are out of
// line, so the common one saves no registers for them.
inline CallInfo* enter_lua(State* L, TValue* func, const Proto* p, int nresults) {
  CallInfo* ci = L->ci->next;
  if (__builtin_expect(ci == nullptr, 0)) return enter_lua_new_frame(L, func, nresults);
  L->ci = ci;
  int hooked = L->hookmask;  // the frame's trap: any value but 0 is set
  init_lua_frame(L, ci, func, L->top, nresults, p, hooked);
  if (__builtin_expect(hooked != 0, 0)) return enter_lua_hooked(L, ci);
  return ci;
}
// A tail call's Lua callee takes its caller's frame ci: the function and
// its narg1 - 1 arguments at func move down to ci->func - delta (below the
// caller's varargs, if any) and missing parameters become nil. The stack
// must have room for p's frame. Returns the frame's new func. Values move
// whole (padding and all: two moves each instead of four); trap and
// nextraargs (0) are one store.
inline TValue* move_tail_frame(State* L, CallInfo* ci, const TValue* func, int narg1, int delta, const Proto* p,
                               int trap) {
  // p's fields are read first: the whole-value moves may alias anything.
  const int numparams = p->numparams, maxstacksize = p->maxstacksize;
  const Instruction* code = p->code;
  TValue* dst = ci->func - delta;  // below func: slot by slot upwards never overwrites what is still to move
  for (int j = 0; j < narg1; j++) std::memcpy(static_cast<void*>(dst + j), func + j, sizeof(TValue));
  for (; narg1 <= numparams; narg1++) dst[narg1] = TValue();
  ci->func = dst;
  ci->top = dst + 1 + maxstacksize;
  ci->savedpc = code;
  uint64_t trap_extra = static_cast<uint32_t>(trap);  // nextraargs 0 in the high half
  std::memcpy(reinterpret_cast<char*>(ci) + offsetof(CallInfo, trap), &trap_extra, sizeof trap_extra);
  // A tail call ends the __call hops counted for the frame it replaces.
  ci->callstatus = static_cast<uint16_t>((ci->callstatus & ~CIST_CCMT) | CIST_TAIL);
  L->top = dst + narg1;
  return dst;
}
void stack_grow(State* L, int n, bool raise_error = true);  // may reallocate (pointers into the stack die)
void stack_realloc(State* L, int newsize);
inline void ensure_stack(State* L, int n) {
  if (L->stack_last - L->top <= n) stack_grow(L, n);
}
void stack_shrink(State* L);
void inc_top(State* L);  // L->top++ with stack check
CallInfo* next_ci(State* L);  // allocates/reuses the next CallInfo
CallInfo* ci_after(State* L, CallInfo* ci);  // the CallInfo after ci, allocated if missing; L->ci stays
// ci_after for compiled code: nullptr where ci_after would raise (the memory
// limit, out of memory); never collects.
CallInfo* ci_try_after(State* L, CallInfo* ci) noexcept;
void free_ci_list(State* L);
// Calls the value at func with the arguments above it; results start at func.
void call(State* L, TValue* func, int nresults);
void call_noyield(State* L, TValue* func, int nresults);
// call_noyield(L, func, 1), then pops the result: whether it is true; for
// any callee.
bool call_noyield_truth_slow(State* L, TValue* func);
// One native caller's calls of Lua functions over and over, each taken as
// a truth (table.sort's order function, called from the sort's frame L->ci
// with L->nCcalls the same each time): what call_noyield_truth_slow would
// check per call that none of them can change (the C-stack depth, the
// CallInfos after L->ci, which a thread never frees while it runs) is
// checked once, and a compiled function's trace is called directly.
class TruthCalls {
 public:
  explicit TruthCalls(State* L) : depth_ok_(L->nCcalls + 1 < MAX_C_CALLS) {}
  // call_noyield_truth_slow(L, func). Inline: the test for a trace is a
  // few instructions at the caller.
  bool call(State* L, TValue* func) {
    GlobalState* g = L->g;
    if (func->tag == Tag::LClosure && g->jit.enabled) {
      const Proto* p = func->as_lclosure()->p;
      if (JitTrace* t = jit_function_trace(g->jit, p, p->code)) return call_trace(L, func, p, t);
    }
    return call_noyield_truth_slow(L, func);
  }

 private:
  // A Lua closure whose prototype p has the trace t at its first
  // instruction (do.cpp; out of line, so that a call without a trace saves
  // no registers for it).
  bool call_trace(State* L, TValue* func, const Proto* p, JitTrace* t);
  bool call_trace_checked(State* L, TValue* func, const Proto* p, JitTrace* t);
  CallInfo* ci_ = nullptr;  // L->ci->next once it exists
  int frames_ = -1;         // CallInfos known to follow ci_ (-1: ci_ not yet known)
  bool depth_ok_;           // a call fits under MAX_C_CALLS
};
// For the VM: prepares a call. Lua function: returns its new CallInfo (not
// yet run). Native: runs it, finishes the call, returns nullptr. Honours __call.
CallInfo* precall(State* L, TValue* func, int nresults);
// Tail call from a Lua frame: returns -1 if func is a Lua function now set up
// in place of ci, or the number of results of a native call already made
// (NATIVE_YIELDED: see coro_yield_return).
int pretailcall(State* L, CallInfo* ci, TValue* func, int narg1, int delta);
void poscall(State* L, CallInfo* ci, int nres);
// Calls the native function f at func (precall's native case, for callers
// that know the callee's type); returns its number of results, already in
// place, or NATIVE_YIELDED.
int precall_native(State* L, TValue* func, int nresults, NativeFn f);
// poscall for the native frame ci (L->ci) with its n results on the top.
void finish_native(State* L, CallInfo* ci, int n);
// The frame of a native call at func (its arguments up to L->top); L->ci
// becomes ci. For precall_native and the JIT's in-place calls.
[[gnu::always_inline]] inline void set_native_frame(State* L, CallInfo* ci, TValue* func, int nresults) {
  L->ci = ci;
  ci->func = func;
  ci->nresults = static_cast<int16_t>(nresults);
  ci->callstatus = CIST_C;
  ci->top = L->top + MINSTACK;
  ci->k = nullptr;
}
// Runs f(L, ud) catching Lua errors; restores stack and frames on error,
// leaving the error value at old_top. Returns the status. can_jump: f only
// calls a value (no host code of its own), so errors may jump back.
using ProtectedFn = void (*)(State* L, void* ud);
// pass_close_self: a coroutine closing itself (CLOSE_SELF) goes on to its
// resume instead of being recovered here (pcall; not finalizers or loaders).
int pcall_raw(State* L, ProtectedFn f, void* ud, ptrdiff_t old_top, ptrdiff_t ef, bool can_jump = false,
              bool pass_close_self = false);
// pcall's protected call of the value at func (its arguments above it) with
// all results, in a thread that cannot yield: pcall_raw of call_noyield
// without the message handler. On error the error object is at func.
int pcall_noyield(State* L, TValue* func);
// pcall(f, ...) at func (f and its arguments up to L->top) with nresults
// results, its native frame made here: precall_native(L, func, nresults,
// lib_pcall) for a trace calling pcall in place (record_pcall.cpp). For a
// thread that cannot yield, with no hook, a CallInfo after L->ci and more
// than MINSTACK free slots (the caller checks): nothing raises before the
// catch point, only a return hook set under it or a coroutine closing itself.
void pcall_in_place(State* L, TValue* func, int nresults);
// Runs f(L, ud) with a catch point whose jumps may skip the frames above
// base; returns the status of the error (or yield) that stopped it.
int run_protected(State* L, ProtectedFn f, void* ud, bool can_jump, CallInfo* base);
// Closes upvalues and to-be-closed slots from stack offset level up, in
// protection: an error in a __close replaces the status and error value
// (left at L->top - 1) and closing goes on. Returns the final status.
int close_protected(State* L, ptrdiff_t level, int status);
void set_error_obj(State* L, int errcode, TValue* oldtop);
void call_hook(State* L, int event, int line, int ftransfer, int ntransfer);
void hook_call(State* L, CallInfo* ci);   // call hook for a Lua function being entered
void ret_hook(State* L, CallInfo* ci, int nres);
// Loads a chunk (source or binary per mode) and pushes its closure.
int protected_parser(State* L, const char* data, size_t size, const char* name, const char* mode);

// ----------------------------------------------------------- coroutine.cpp
// Coroutines keep their suspended state on their Lua stack and CallInfos;
// a yield jumps back to the resume. See docs/architecture.md.
int coro_resume(State* L, State* from, int nargs, int* nresults);
// The coroutine library's resume: moves narg values from L's top to co and
// resumes it; then moves its results to L's top, after *flag (resume's
// true) when given, and returns their number; or returns -1 with the error
// object on L's top. A finished coroutine's stack is released.
int coro_transfer(State* L, State* co, int narg, const TValue* flag);
// coroutine.resume, and the function coroutine.wrap makes (its coroutine
// in upvalue 1): coro_transfer inline, a call layer less per resume.
int coro_resume_call(State* L);
int coro_wrap_call(State* L);
// coroutine.create: its function is the first value on the new stack.
int coro_create(State* L);
// precall_native(L, func, nresults, f), with create, resume and wrap's
// function called without its call layer (their frame made and ended
// inline).
int coro_precall(State* L, TValue* func, int nresults, NativeFn f);
int coro_yield(State* L, int nresults, KContext ctx, KFunction k);
// coroutine.yield's yield. When the native calling it was called by the
// Lua code of the execute() the resume entered directly, the yield needs no
// jump: the native returns NATIVE_YIELDED, its frame stays as L->ci, and
// the dispatcher returns to the resume (L->status is YIELD). Otherwise it
// is coro_yield. Inline: coroutine.yield is one call layer.
constexpr int NATIVE_YIELDED = -2;
inline int coro_yield_return(State* L, int nresults) {
  CallInfo* ci = L->ci;
  // direct_ncalls is 0 outside a coroutine and while no execute() runs
  // at the resume's level; a native calling back into Lua (call, call_k,
  // a metamethod) runs that Lua code one level deeper. Only natives are
  // called at a level without their caller's frame being Lua: the body
  // itself, called by the resume.
  if (L->nCcalls == L->direct_ncalls && L->nny == 0 && ci->previous->is_lua() &&
      !(ci->callstatus & CIST_HOOKED)) {
    L->status = YIELD;
    ci->nres = nresults;
    ci->k = nullptr;
    return NATIVE_YIELDED;
  }
  return coro_yield(L, nresults, 0, nullptr);
}
// OP_CALL of coroutine.yield (lib_coroutine_yield) at func, its arguments
// up to L->top, nresults wanted: when coro_yield_return would take its
// direct path, sets up the yield's native frame and yields as it would,
// without precall_native's and the library function's call layers (about
// 30 instructions fewer a yield); the dispatcher then returns to the resume.
// False (nothing changed) for the usual call: no spare CallInfo, a stack
// to grow, a hook, or a yield that must jump.
inline bool coro_yield_direct(State* L, TValue* func, int nresults) {
  CallInfo* ci = L->ci->next;
  if (ci == nullptr || L->stack_last - L->top <= MINSTACK || L->hookmask != 0 || L->nCcalls != L->direct_ncalls ||
      L->nny != 0)
    return false;
  set_native_frame(L, ci, func, nresults);
  ci->nres = static_cast<int>(L->top - (func + 1));
  L->status = YIELD;
  return true;
}
int coro_close(State* co, State* from);    // lua_closethread
// 5.5's coroutine.close() of the running coroutine: a status no pcall
// recovers; the resume that runs the coroutine closes it (coro_close) and
// returns as if its body had ended.
constexpr int CLOSE_SELF = ERRFILE + 1;
[[noreturn]] void coro_close_self(State* L);
State* thread_new(State* L);               // lua_newthread (pushes it)
void thread_free(State* L, State* L1);
// After a collection: the spare stack's slots may name objects it freed.
void spare_stack_clear(GlobalState* g);
// When debug.sethook gives L a hook: its slots above the live ones become
// nil, so that debug.getlocal's temporaries in a hook read nil, not a
// value a previous coroutine left on a spare stack taken without clearing.
void stack_clear_dead(State* L);

// ------------------------------------------------------------- execute.cpp
void execute(State* L, CallInfo* ci);
// Finishes the instruction of the Lua frame L->ci that a yield interrupted
// inside a metamethod or __close (the call has returned): stores its result
// or takes its branch, or rewinds it to run again.
void vm_finish_op(State* L);
// ---------------------------------------------------------------- fastcall.cpp
// Most native calls are to other functions than call_builtin's: a
// direct-mapped table of theirs, indexed by address bits, lets OP_CALL
// reject the others inline with one load and compare (through the call,
// about 21 instructions per pcall or yield). Two of them sharing an entry
// only costs one its inline path.
struct BuiltinFilter {
  static constexpr int SIZE = 256;
  NativeFn fn[SIZE] = {};
  static unsigned index(NativeFn f) { return (reinterpret_cast<uintptr_t>(f) >> 4) & (SIZE - 1); }
  bool may_match(NativeFn f) const { return fn[index(f)] == f; }
};
extern const BuiltinFilter builtin_filter;
// OP_CALL of a light native function at func (arguments up to L->top) that
// passed builtin_filter: true when it was one of builtin.hpp's, run inline
// with `wanted` results placed as a call returns them; false (nothing
// changed) for the real call.
bool call_builtin(State* L, TValue* func, int wanted);
// OP_TFORCALL of ipairs' iterator at ra: true when the step was done inline.
bool ipairs_step(State* L, TValue* ra, int wanted);
// ------------------------------------------------------------------ vm.cpp
bool vm_equal(State* L, const TValue& a, const TValue& b);  // may call __eq (L may be nullptr: raw)
bool vm_less_than(State* L, const TValue& a, const TValue& b);
bool vm_less_equal(State* L, const TValue& a, const TValue& b);
// t[key] with __index; result stored in *val (a stack slot).
void vm_get(State* L, const TValue& t, const TValue& key, TValue* val);
// t[key] = v with __newindex.
void vm_set(State* L, const TValue& t, const TValue& key, const TValue& v);
// Concatenates the `total` values at the stack top (with __concat), leaving
// the result in the first of them; L->top is lowered by total - 1.
void vm_concat(State* L, int total);
void vm_len(State* L, TValue* ra, const TValue& rb);  // '#' with __len
// Arithmetic with string coercion and metamethods (lua_arith, OP_ADD.. slow path).
void vm_arith(State* L, int op, const TValue& a, const TValue& b, TValue* res);
// Converts a number to a string in place (used by tostring / API).
bool vm_tostring(State* L, TValue* obj);
// Integer value of a for-loop limit etc. is in vm.cpp too.

// ---------------------------------------------------------------- limits.cpp
// The VM's counter reached zero while charging n: settles the budget,
// checks the clock, and raises "instruction budget exhausted" or "time
// limit exceeded" (for good, until the host sets the limits again).
void budget_checkpoint(State* L, uint64_t n);
int64_t clock_ns();  // steady clock

// --------------------------------------------------------------- debug.cpp
// Runtime errors with position ("chunk:line: ") added for Lua frames.
[[noreturn]] void run_error(State* L, const char* fmt, ...);
[[noreturn]] void type_error_op(State* L, const TValue* o, const char* op);   // "attempt to <op> a <type> value (local 'x')"
[[noreturn]] void call_error(State* L, const TValue* o);
[[noreturn]] void for_error(State* L, const TValue* o, const char* what);
[[noreturn]] void concat_error(State* L, const TValue* p1, const TValue* p2);
[[noreturn]] void op_int_error(State* L, const TValue* p1, const TValue* p2, const char* msg);
[[noreturn]] void to_int_error(State* L, const TValue* p1, const TValue* p2);
[[noreturn]] void order_error(State* L, const TValue* p1, const TValue* p2);
[[noreturn]] void error_msg(State* L);  // runs the message handler and throws ERRRUN
const char* add_info(State* L, const char* msg, String* src, int line);
int get_func_line(const Proto* p, int pc);
int current_pc(CallInfo* ci);
int current_line(CallInfo* ci);
// Called by the VM when L->hookmask is set, before executing instruction at pc.
int trace_exec(State* L, const Instruction* pc);
size_t chunk_id(char* out, const char* source, size_t srclen);  // short_src rules (IDSIZE); its length
// where()'s "chunk:line: " for the frame `level` levels up, written to out
// (WHERE_SIZE bytes) without the DebugInfo and string of the public route;
// returns its length, 0 when that frame has no current line.
size_t where_text(State* L, int level, char* out);
// Replaces the string on top with where(level) .. it, as error() does,
// without interning the position on its own.
void add_where(State* L, int level);
// Drops add_where's remembered results (after a collection, which may have
// freed them or their messages).
inline void where_forget_joins(GlobalState* g) {
  for (WhereJoin& j : g->where.joins) j = WhereJoin{};
}

// ----------------------------------------------------- compiler (parser.cpp)
void lexer_init(State* L);  // interns and fixes the reserved words (lexer.cpp)
// Compiles Lua source; pushes a new LClosure (upvalues not yet set except
// fresh closed nils). Syntax errors raise ERRSYNTAX with the message on top.
void compile_source(State* L, const char* source, size_t size, const char* chunkname);
// ------------------------------------------------- dump.cpp / undump.cpp
int dump_proto(State* L, const Proto* f, Writer w, void* data, bool strip);
// Loads a binary chunk (first byte '\x1b'); pushes the LClosure. Malformed
// input raises ERRSYNTAX "<chunkname>: bad binary format (<why>)".
void undump_chunk(State* L, const char* data, size_t size, const char* chunkname);
constexpr const char* BINARY_SIGNATURE = "\x1bLua";

// ---------------------------------------------------------------- helpers
inline void set_obj(TValue* dst, const TValue& src) { *dst = src; }
inline Table* registry(State* L) { return L->g->l_registry.as_table(); }
// Pushes a value on the stack (no check of stack space; callers ensure it).
inline void push_raw(State* L, const TValue& v) { *L->top++ = v; }

}  // namespace luna
