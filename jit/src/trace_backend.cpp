// The trace backend: decides what to record, drives the recorder, compiles
// finished recordings and attaches them to their loops; owns every trace
// (per prototype, in Proto::jit_data) and its machine code.
#include "trace_backend.hpp"

#include <algorithm>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "compile.hpp"
#include "state.hpp"

namespace luna::jit {

namespace {

class TraceBackend;

// After an exit inside inlined calls: makes the CallInfos above ci (which
// the seam reserved) the frames of those calls, as the interpreter would
// have them at the exit's pc, and makes the innermost one L->ci; restores
// L->top where the exit's instruction takes variable results. Stores only,
// so it cannot fail. Inlined into its two callers: fannkuch's side traces
// link into count_flips's loop about six times a permutation.
[[gnu::always_inline]] inline void rebuild_frames(State* L, CallInfo* ci, const Trace& t, const ExitInfo& x) noexcept {
  int32_t f = x.frame;
  int32_t top = x.top;
  if (top >= 0) L->top = ci->func + 1 + top;
  if (f < 0) return;
  // The innermost frame's CallInfo first, then outwards along the parent
  // links, so no chain of frames is collected.
  CallInfo* c = ci;
  for (int k = t.frames[static_cast<size_t>(f)].depth; k > 0; k--) c = c->next;  // reserved by the seam
  c->savedpc = x.pc;
  L->ci = c;
  TValue* base = ci->func + 1;
  const void* seam_return = t.seam_return;
  for (; f >= 0; f = t.frames[static_cast<size_t>(f)].parent) {
    const SnapFrame& sf = t.frames[static_cast<size_t>(f)];
    c->func = base + sf.func_slot;
    c->top = c->func + 1 + sf.maxstack;
    c->nresults = static_cast<int16_t>(sf.nresults);
    c->callstatus = sf.tail ? CIST_TAIL : 0;
    c->nextraargs = 0;
    c->trap = 0;
    c->ctx = reinterpret_cast<KContext>(seam_return);  // a function trace entered here returns to the seam
    c = c->previous;
    c->savedpc = sf.ret_pc;
  }
  if (top < 0) L->top = L->ci->top;
}

// What the seam runs: the seam's header first, then the machine code and
// the objects its constants refer to.
struct CompiledTrace : JitTrace {
  std::unique_ptr<Trace> code;
  TraceBackend* owner = nullptr;
  std::vector<GCObject*> consts;
  int number = 0;
  unsigned type_exits = 0;
  unsigned bounds_exits = 0;
};

// A trace that keeps leaving because a number's type guard found the other
// subtype (integers that became floats, or back) is dropped and the loop
// recorded again, at most this many times (then it is kept). Only exits
// before the first iteration completed count, so a trace that iterates and
// then meets a float is kept.
constexpr int kMaxRetraces = 4;

// A loop is given up on after three aborts, or after 24 recordings that
// only happened to reach the loop's end (a loop that always runs a single
// iteration past its hot back-edge never closes).
constexpr int kAbortWeight = 8, kRetryWeight = 1, kMaxAborts = 3 * kAbortWeight;
constexpr uint32_t kBlacklistedCount = 65535;
// A function counts as recursing when it is among this many frames below.
constexpr int kRecursionScan = 16;


// A side trace is recorded from an exit taken hotexit times; an exit
// whose recordings keep aborting is retried after 2, 4, 8 ... times as many
// exits, this many times, then left. The spacing matters: a recording may
// abort only because the loop it runs into has no trace yet (fannkuch's
// exits spent all their attempts before the inner loop was compiled).
constexpr uint32_t kSideAttempts = 8;
// Side traces of side traces nest at most this deep. This also bounds the
// chain at one spot: an exit at a side trace's own first instruction (its
// entry state is not the one recorded, e.g. richards' `t:runnable()` on
// another task class, whose metatable guard fails) gets its own side trace,
// so a call site seeing several classes runs as a chain of traces.
constexpr int kMaxSideDepth = 6;
// A stitch exit whose continuation was asked for this many times hotexit
// exits ago and never recorded: its call does not come back to the stitch
// point.
constexpr uint32_t kStitchGiveUp = 32;
// Instructions a loop must run compiled per stitch.
constexpr int kMinStitchCycle = 8;
constexpr int kContinuationAbortWeight = 3;

struct ProtoTraces {
  std::unordered_map<const Instruction*, std::unique_ptr<CompiledTrace>> traces;  // root traces by loop
  std::vector<std::unique_ptr<CompiledTrace>> sides;  // side traces, and root traces replaced by retrace
  std::unordered_map<const Instruction*, int> aborts;
  std::unordered_map<const Instruction*, int> retraces;
  // Loops whose trace kept failing a hoisted bounds check: compiled
  // without hoisting from then on.
  std::unordered_set<const Instruction*> unhoisted;
  std::vector<Instruction*> cooled;  // back-edges of blacklisted loops, patched to their twins
  Reserve reserve;  // the most any of these traces needs; CALLOUTs read it

  // The spot at pc aborted too often to be recorded again.
  bool blacklisted(const Instruction* pc) const {
    auto ab = aborts.find(pc);
    return ab != aborts.end() && ab->second >= kMaxAborts;
  }
};

// The function trace of p, which CALLOUTs of other traces may enter.
Recorder::Callee function_trace(const Proto* p) {
  ProtoTraces* pt = static_cast<ProtoTraces*>(p->jit_data);
  if (pt == nullptr) return {nullptr, nullptr, true};
  auto it = pt->traces.find(p->code);
  if (it == pt->traces.end() || !it->second->code->returns) return {nullptr, nullptr, !pt->blacklisted(p->code)};
  return {it->second->code->post, &pt->reserve, false};
}

int line_of(const Proto* p, const Instruction* pc) {
  return p->sizelineinfo > 0 ? p->lineinfo[pc - p->code] : -1;
}
const char* source_of(const Proto* p) { return p->source != nullptr ? p->source->c_str() : "?"; }

class TraceBackend final : public JitBackend {
 public:
  ~TraceBackend() override {
    for (Proto* p : protos_) drop(p);
  }

  void on_hot_loop(State* L, CallInfo* ci, const Instruction* pc) noexcept override {
    Proto* p = ci->func->as_lclosure()->p;
    ProtoTraces* pt = traces_of(p);
    if (pt != nullptr) {
      auto it = pt->traces.find(pc);
      if (it != pt->traces.end()) {
        jit_attach(L, pc, it->second.get());
        return;
      }
      if (pt->blacklisted(pc)) {
        // Blacklisted: the back-edge no longer counts (a flush restores it);
        // failing that, the counter counts as slowly as it can.
        try {
          pt->cooled.reserve(pt->cooled.size() + 1);
        } catch (...) {
          jit_rearm(L, pc, kBlacklistedCount);
          return;
        }
        if (Instruction* at = jit_cool_loop(L, pc)) pt->cooled.push_back(at);
        return;
      }
    }
    try {
      rec_ = std::make_unique<Recorder>(p, ci, pc);
      rec_->set_callees(function_trace);
    } catch (...) {
      return;
    }
    // A side recording the seam dropped as stale may have left its exit
    // here: this root trace is not that exit's side trace.
    side_exit_ = nullptr;
    jit_start_recording(L);
  }

  // A function is hot at its entry: record it as a function trace (unless
  // it is a vararg function, whose frame the trace does not know, or its
  // first instruction also starts a loop, which on_hot_loop records) when
  // it is recursing. Entering a trace from the interpreter costs more than
  // a small function's body (richards ran 10% slower with every hot
  // function compiled); a recursive function's trace calls itself without
  // the interpreter. Not recursing now counts as a retry.
  void on_hot_call(State* L, CallInfo* ci) noexcept override {
    Proto* p = ci->func->as_lclosure()->p;
    const Instruction* pc = p->code;
    if (p->is_vararg || Recorder::loop_end(p, pc) != pc) {
      give_up_entry(L, p);
      return;
    }
    // A frame entered from native code (TruthCalls: table.sort's
    // order function) is compiled like a recursive one: its trace replaces
    // a fresh execute() per call, which costs as much as the trace's entry.
    bool recursing = (ci->callstatus & (CIST_FRESH | CIST_TAIL)) == CIST_FRESH;
    int n = 0;
    for (CallInfo* c = ci->previous; c != nullptr && n < kRecursionScan && !recursing; c = c->previous, n++)
      recursing = c->is_lua() && c->func->as_lclosure()->p == p;
    if (!recursing) {
      try {
        int& aborts = ensure(p).aborts[pc];
        aborts += kRetryWeight;
        if (aborts >= kMaxAborts) give_up_entry(L, p);
        else jit_rearm(L, pc, L->g->jit.options.hotloop * 4u);
      } catch (...) {
      }
      return;
    }
    on_hot_loop(L, ci, pc);
    if (rec_ != nullptr && L->g->jit.recorder == L && rec_->start() == pc && !rec_->is_side()) {
      try {
        rec_->set_function(nullptr, &ensure(p).reserve);
      } catch (...) {
        rec_.reset();
        jit_stop_recording(L);
      }
    }
  }

  bool record(State* L, CallInfo* ci, const Instruction* pc) noexcept override {
    if (rec_ == nullptr) {
      jit_stop_recording(L);
      return false;
    }
    RecordStatus st;
    try {
      st = rec_->step(L, ci, pc);
    } catch (...) {
      st = RecordStatus::Abort;
    }
    if (st == RecordStatus::Continue) return true;
    if (st == RecordStatus::Skip) return false;
    jit_stop_recording(L);
    std::unique_ptr<Recorder> rec = std::move(rec_);
    ExitInfo* side = side_exit_;
    side_exit_ = nullptr;
    if (rec->continuation() && st != RecordStatus::Abort && small_cycle(*rec)) {
      st = RecordStatus::Abort;
      rec->abort_with("stitched loop too small");
    }
    if (rec->continuation() && st == RecordStatus::Abort) {
      // A continuation may abort only for the path this iteration took (a
      // return into a frame it cannot follow): retried up to 8 times.
      try {
        ensure(rec->proto()).aborts[rec->start()] += kContinuationAbortWeight;
      } catch (...) {
      }
    }
    if (st == RecordStatus::Abort) {
      aborted(L, *rec, rec->abort_reason() != nullptr ? rec->abort_reason() : "out of memory", pc);
      return false;
    }
    if (side != nullptr) finish_side(L, *rec, side);
    else finish(L, *rec);
    return false;
  }

  void mark(JitMarker& m) noexcept override {
    for (Proto* p : protos_) {
      ProtoTraces* pt = traces_of(p);
      for (auto& kv : pt->traces)
        for (GCObject* o : kv.second->consts) m.mark(o);
      for (auto& t : pt->sides)
        for (GCObject* o : t->consts) m.mark(o);
    }
  }

  void on_proto_free(State*, Proto* p) noexcept override {
    if (rec_ != nullptr && rec_->proto() == p) {
      rec_.reset();
      side_exit_ = nullptr;
    }
    if (protos_.erase(p) != 0) drop(p);
  }

  void flush(State*) noexcept override {
    rec_.reset();
    side_exit_ = nullptr;
    for (Proto* p : protos_) {
      // Blacklists are forgotten: loops and calls count again.
      for (Instruction* at : traces_of(p)->cooled) jit_warm_loop(at);
      p->jit_cold_entry = 0;
      drop(p);
    }
    protos_.clear();
  }

  JitStats stats() const noexcept override { return stats_; }

  static const Instruction* run(State* L, CallInfo* ci, JitTrace* jt) noexcept {
    CompiledTrace* t = static_cast<CompiledTrace*>(jt);
    // A RET from this frame returns here, not to a CALLOUT's continuation
    // (CALLOUTs set it in the frames they push).
    ci->ctx = reinterpret_cast<KContext>(t->code->seam_return);
    ExitInfo* x = t->code->entry(L, ci->func + 1);  // may have left through side traces
    if (x == returned_exit()) return nullptr;
    return left(L, t, x);
  }

 private:
  // The trace run by run() left by the exit x (kept out of run, which a
  // function trace entered from native code runs per call, so that run
  // saves no registers of its own); also JitTrace::leave.
  [[gnu::noinline]] static const Instruction* leave(State* L, JitTrace* jt, JitExit* jx) noexcept {
    return left(L, static_cast<CompiledTrace*>(jt), reinterpret_cast<ExitInfo*>(jx));
  }
  [[gnu::noinline]] static const Instruction* left(State* L, CompiledTrace* t, ExitInfo* x) noexcept {
    // The frame of the trace that left: ci, or an inlined callee's whose
    // loop a side trace entered (the link made it L->ci).
    CallInfo* cur = L->ci;
    t->owner->stats_.exits_taken++;
    bool type_exit = x->type_exit;
    x->type_exit = false;
    if (x->frame >= 0 || x->top >= 0) rebuild_frames(L, cur, *x->trace, *x);
    if (x->stitch) t->owner->stitch_taken(L, x);
    else if (type_exit && x->trace == t->code.get() && static_cast<int>(x->index) < t->code->loop_snap &&
        ++t->type_exits >= L->g->jit.options.hotexit)
      t->owner->retrace(L, t);
    else if (x->bounds && x->trace == t->code.get() && ++t->bounds_exits >= L->g->jit.options.hotexit)
      t->owner->retrace(L, t, true);
    else if (x->sideable && !x->attached && (x->frame >= 0 || L->ci == cur))
      t->owner->exit_taken(L, cur, x);
    return x->pc;
  }

  ProtoTraces* traces_of(Proto* p) { return static_cast<ProtoTraces*>(p->jit_data); }

  // An exit of a trace of frame ci was taken (its snapshot is in the
  // frame, its inlined frames are real CallInfos above ci): once hot, record
  // a side trace from its pc, which the exit code jumps to from then on.
  void exit_taken(State* L, CallInfo* ci, ExitInfo* x) noexcept {
    uint32_t hot = std::max(L->g->jit.options.hotexit, 1u);
    uint32_t n = ++x->count / hot;
    if (x->count % hot != 0 || (n & (n - 1)) != 0 || n >= (1u << kSideAttempts)) return;
    if (L->hookmask != 0 || L->g->jit.recorder != nullptr) return;
    const Trace* parent = x->trace;
    if (parent->depth >= kMaxSideDepth) return;
    Proto* p = ci->func->as_lclosure()->p;  // the parent may have returned to a caller
    bool returns = parent->returns;
    // A function trace's frame taken over by a tail call of another
    // function: its CALLOUTs and reserve are the owner's, not p's.
    if (returns && p != parent->owner) return;
    try {
      rec_ = std::make_unique<Recorder>(p, ci, x->pc, link_fn(returns));
      rec_->set_callees(function_trace);
      if (x->frame >= 0 && !rec_->inherit_frames(parent->frames, x->frame)) {
        rec_.reset();
        return;
      }
      const auto* tags = parent->exit_tags.data();
      rec_->inherit_types(tags + parent->exit_tags_first[x->index], tags + parent->exit_tags_first[x->index + 1]);
      // The exit's slots are the parent's frame's only when the side trace
      // starts there (not in an inlined callee, nor a caller it returned to).
      if (x->frame < 0 && !returns && x->index < parent->exit_facts.size())
        rec_->inherit_fact(parent->exit_facts[x->index]);
    } catch (...) {
      rec_.reset();
      return;
    }
    if (returns) rec_->set_function(parent->func_entry, &traces_of(p)->reserve);
    side_exit_ = x;
    jit_start_recording(L);
    // The recording returns through the inlined frames: their callers trap.
    for (CallInfo* c = ci; c != L->ci; c = c->next) c->trap = 1;
  }

  // Where a side recording links: the entry of a trace of lp at pc that
  // may be entered with the frame's values at base.
  static Recorder::LinkFn link_fn(bool returns) {
    return [returns](const Proto* lp, const Instruction* pc, const TValue* base) -> Recorder::Link {
      const ProtoTraces* pt = static_cast<const ProtoTraces*>(lp->jit_data);
      if (pt == nullptr) return {};
      auto it = pt->traces.find(pc);
      if (it == pt->traces.end()) return {};
      // Only a function's trace and its side traces may return from the
      // frame: the seam enters a loop's trace at a back-edge.
      if (it->second->code->returns && !returns) return {};
      // A link into a trace whose entry guards a number of the other
      // subtype would leave at once (and count towards recording the
      // loop again): the side trace goes round the loop once more.
      const Trace& t = *it->second->code;
      for (const auto& [s, tag] : t.entry_numbers)
        if (s < lp->maxstacksize && (base[s].tag == Tag::Int || base[s].tag == Tag::Float) && base[s].tag != tag)
          return {};
      return {t.post, &pt->reserve};
    };
  }

  // A stitch exit was taken (the interpreter makes the native call next):
  // the trace continuing after the call must be attached at pc + 1, where
  // the dispatcher looks when the call returns. Usually it is; else it is
  // re-attached (another loop's trace took the seam's slot), or, once the
  // exit is hot, a request to record it is attached there.
  void stitch_taken(State* L, ExitInfo* x) noexcept {
    const Instruction* at = x->pc + 1;
    const JitSeam::Attached& a = L->g->jit.attached[jit_slot(at)];
    if (a.pc == at) {
      // A request that never runs: the call does not return to the
      // dispatcher's stitch point (coroutine.yield resumes elsewhere), so
      // the trace only adds its entry and exit to the interpreter's work.
      if (a.trace == &stitch_request_ && ++x->count >= kStitchGiveUp * std::max(L->g->jit.options.hotexit, 1u))
        retire(L, x->trace, at, "stitched call does not return");
      return;
    }
    Proto* p = L->ci->func->as_lclosure()->p;
    ProtoTraces* pt = traces_of(p);
    if (pt != nullptr) {
      auto it = pt->traces.find(at);
      if (it != pt->traces.end()) {
        jit_attach(L, at, it->second.get());
        return;
      }
      if (pt->blacklisted(at)) {
        // No continuation: entering the trace only to leave it again is
        // a loss.
        retire(L, x->trace, at, "no continuation after the stitched call");
        return;
      }
    }
    if (++x->count % std::max(L->g->jit.options.hotexit, 1u) == 0) jit_attach(L, at, &stitch_request_);
  }

  // A continuation linking straight back into a trace that stitches again:
  // the loop iterates through one stitch per this few instructions, whose
  // exit and re-entry cost more than interpreting them (coroutines: the
  // body `sum = (sum + v) % m; count = count + 1` around a generator call).
  static bool small_cycle(const Recorder& rec) {
    if (rec.link_proto() == nullptr) return false;
    const ProtoTraces* pt = static_cast<const ProtoTraces*>(rec.link_proto()->jit_data);
    auto it = pt->traces.find(rec.link_target());
    if (it == pt->traces.end()) return false;
    int len = it->second->code->stitch_len;
    return len > 0 && len + rec.instructions() < kMinStitchCycle;
  }

  // Drops the root or continuation trace t from its slot for good (its code
  // stays with the prototype's side traces, which may jump to it) and
  // blacklists its start, with the request at `at`.
  void retire(State* L, const Trace* t, const Instruction* at, const char* why) noexcept {
    jit_detach(L, at);
    ProtoTraces* pt = traces_of(t->owner);
    if (pt == nullptr) return;
    auto it = pt->traces.find(t->start_pc);
    if (it == pt->traces.end() || it->second->code.get() != t) return;
    try {
      pt->sides.reserve(pt->sides.size() + 1);
      pt->aborts[t->start_pc] = kMaxAborts;
    } catch (...) {
      return;
    }
    if (L->g->jit.options.verbose)
      std::fprintf(stderr, "[TRACE %3d %s:%d -- %s, blacklisted]\n", it->second->number, source_of(t->proto),
                   line_of(t->proto, t->start_pc), why);
    jit_detach(L, t->start_pc);
    pt->sides.push_back(std::move(it->second));
    pt->traces.erase(it);
  }

  // Run by the dispatcher where a request is attached (after the native
  // call returned, or at a back-edge landing there): starts recording the
  // continuation from that pc in frame ci.
  static const Instruction* start_continuation(State* L, CallInfo* ci, JitTrace*) noexcept {
    const Instruction* pc = ci->savedpc;
    // After the iterator's last call the loop ends: its continuation is
    // recorded at an iteration that goes on.
    if (get_op(*pc) == OP_TFORLOOP && ci->func[1 + getarg_A(*pc) + 4].is_nil()) return pc;
    jit_detach(L, pc);
    TraceBackend* b = static_cast<TraceBackend*>(L->g->jit.backend);
    if (b->rec_ != nullptr && L->g->jit.recorder != nullptr) return pc;
    try {
      b->rec_ = std::make_unique<Recorder>(ci->func->as_lclosure()->p, ci, pc, link_fn(false));
      b->rec_->set_continuation();
      b->rec_->set_callees(function_trace);
    } catch (...) {
      return pc;
    }
    b->side_exit_ = nullptr;
    jit_start_recording(L);
    return pc;
  }

  // Any trace of a prototype may continue in any other through exits and
  // links, so each entry reserves what the most demanding one needs.
  static void reserve(ProtoTraces& pt, const CompiledTrace& t) {
    pt.reserve.stack_slots = std::max(pt.reserve.stack_slots, t.stack_slots);
    pt.reserve.frames = std::max(pt.reserve.frames, t.frames);
    pt.reserve.stack_bytes = static_cast<int64_t>(pt.reserve.stack_slots) * static_cast<int64_t>(sizeof(TValue));
    pt.reserve.fast_bytes = pt.reserve.frames == 0 ? pt.reserve.stack_bytes : int64_t{1} << 60;
    for (auto& kv : pt.traces) {
      kv.second->stack_slots = pt.reserve.stack_slots;
      kv.second->frames = pt.reserve.frames;
    }
  }

  // Calls of p are not counted any more (Proto::jit_cold_entry); a flush
  // restores the counting of every prototype the backend has seen. The
  // counter of p's first instruction is parked only when the calls cannot
  // be marked: a loop whose pc shares its slot would never get hot (a test
  // program's only loop sharing a slot with a callee's entry compiled
  // nothing).
  void give_up_entry(State* L, Proto* p) noexcept {
    try {
      ensure(p);
    } catch (...) {
      jit_rearm(L, p->code, kBlacklistedCount);
      return;
    }
    p->jit_cold_entry = 1;
    jit_rearm(L, p->code, L->g->jit.options.hotloop);
  }

  void drop(Proto* p) {
    ProtoTraces* pt = traces_of(p);
    if (pt == nullptr) return;
    for (auto& kv : pt->traces) arena_.release(kv.second->code.get());
    for (auto& t : pt->sides) arena_.release(t->code.get());
    delete pt;
    p->jit_data = nullptr;
  }

  ProtoTraces& ensure(Proto* p) {
    if (p->jit_data == nullptr) {
      p->jit_data = new ProtoTraces();
      protos_.insert(p);
    }
    return *traces_of(p);
  }

  // Detaches t so that its loop is recorded again. Its code stays (with the
  // side traces, freed with the prototype's): side traces may jump to its
  // entry, and the exit being taken is one of its records.
  // bounds: a hoisted bounds check failed, and the loop is compiled
  // without hoisting from then on.
  void retrace(State* L, CompiledTrace* t, bool bounds = false) noexcept {
    Proto* p = t->code->proto;
    const Instruction* start = t->code->start_pc;
    ProtoTraces* pt = traces_of(p);
    try {
      // Once per loop at most: the next trace hoists nothing.
      int& n = pt->retraces[start];
      if (n >= kMaxRetraces && !bounds) return;
      n++;
      if (bounds) pt->unhoisted.insert(start);
    } catch (...) {
      return;
    }
    if (L->g->jit.options.verbose)
      std::fprintf(stderr, "[TRACE %3d %s:%d -- %s, recording again]\n", t->number, source_of(p),
                   line_of(p, start), bounds ? "bounds check failed" : "types changed");
    try {
      pt->sides.reserve(pt->sides.size() + 1);
    } catch (...) {
      return;
    }
    jit_detach(L, start);
    auto it = pt->traces.find(start);
    pt->sides.push_back(std::move(it->second));
    pt->traces.erase(it);
  }

  void aborted(State* L, Recorder& rec, const char* why, const Instruction* at) noexcept {
    stats_.traces_aborted++;
    Proto* p = rec.proto();
    if (!rec.is_side()) {
      try {
        int& n = ensure(p).aborts[rec.start()];
        n += rec.retryable() ? kRetryWeight : kAbortWeight;
        // A loop that ended during its recording is retried at another
        // iteration: a loop of k iterations per run and a threshold that is a
        // multiple of k would otherwise always start on its last iteration.
        if (rec.retryable()) jit_rearm(L, rec.start(), L->g->jit.options.hotloop / 2 + 1 + static_cast<uint32_t>(n) * 3);
      } catch (...) {
      }
    }
    if (L->g->jit.options.verbose) {
      // Recording follows calls: `at` may be in a callee.
      const Proto* cur = L->ci->is_lua() ? L->ci->func->as_lclosure()->p : p;
      bool inside = at >= cur->code && at < cur->code + cur->sizecode;
      std::fprintf(stderr, "[TRACE --- %s%s:%d -- %s at %s:%d]\n", rec.is_side() ? "side " : "",
                   source_of(rec.start_proto()), line_of(rec.start_proto(), rec.start()), why, source_of(cur),
                   inside ? line_of(cur, at) : -1);
    }
  }

  // Compiles a finished recording (null, reported, when assembly fails).
  std::unique_ptr<CompiledTrace> compile(State* L, Recorder& rec) {
    ProtoTraces* pt = traces_of(rec.proto());
    bool bounds = rec.is_side() || pt == nullptr || pt->unhoisted.count(rec.start()) == 0;
    std::unique_ptr<Trace> code = compile_trace(rec, arena_, L->g->jit.options.dump, bounds);
    if (code == nullptr) {
      aborted(L, rec, "assembler failed", rec.start());
      return nullptr;
    }
    auto t = std::make_unique<CompiledTrace>();
    t->run = &TraceBackend::run;
    t->entry = reinterpret_cast<JitTrace::EntryFn>(code->entry);
    t->return_ctx = reinterpret_cast<KContext>(code->native_return);
    t->returned = reinterpret_cast<const JitExit*>(returned_exit());
    t->leave = &TraceBackend::leave;
    t->stack_slots = rec.stack_slots();
    t->frames = rec.max_depth();
    t->owner = this;
    t->number = code->number = ++ntraces_;
    const IrBuffer& ir = rec.ir();
    for (Ref r = 1; r < ir.size(); r++)
      if (ir[r].op == IrOp::KGC && is_collectable_tag(ir[r].tag)) t->consts.push_back(static_cast<GCObject*>(ir[r].k.p));
    t->code = std::move(code);
    return t;
  }

  void finish(State* L, Recorder& rec) noexcept {
    const JitOptions& o = L->g->jit.options;
    try {
      std::unique_ptr<CompiledTrace> t = compile(L, rec);
      if (t == nullptr) return;
      Proto* p = rec.proto();
      if (o.verbose || o.dump)
        std::fprintf(stderr, "[TRACE %3d %s:%d %s] %u IR, %zu bytes of machine code\n", t->number, source_of(p),
                     line_of(p, rec.start()), rec.returns() ? "function" : rec.continuation() ? "stitch" : "loop", t->code->nins, t->code->mcode_size);
      if (o.dump) std::fputs(t->code->dump.c_str(), stderr);
      t->code->returns = rec.returns();
      if (rec.ir()[rec.ir().size() - 1].op == IrOp::LOOP && rec.ir()[rec.ir().size() - 1].b == 3)
        t->code->stitch_len = rec.instructions();
      if (rec.returns()) t->code->func_entry = t->code->post;
      t->code->owner = p;
      ProtoTraces& pt = ensure(p);
      auto& slot = pt.traces[rec.start()];
      // A loop keeps its first trace: side traces jump to its entry.
      if (slot != nullptr) {
        arena_.release(t->code.get());
      } else {
        slot = std::move(t);
        reserve(pt, *slot);
        if (rec.sets_upvalues()) pt.reserve.sets_upvalues = 1;
        stats_.traces_compiled++;
      }
      jit_attach(L, rec.start(), slot.get());
    } catch (...) {
      aborted(L, rec, "out of memory", rec.start());
    }
  }

  // A side trace for exit x: compiled, kept with the prototype's traces,
  // and attached to the exit, whose code jumps to it from now on.
  void finish_side(State* L, Recorder& rec, ExitInfo* x) noexcept {
    const JitOptions& o = L->g->jit.options;
    try {
      std::unique_ptr<CompiledTrace> t = compile(L, rec);
      if (t == nullptr) return;
      const ProtoTraces* lpt = rec.link_proto() != nullptr ? static_cast<const ProtoTraces*>(rec.link_proto()->jit_data) : nullptr;
      const CompiledTrace* target = lpt != nullptr && rec.link_proto() != nullptr ? lpt->traces.at(rec.link_target()).get() : nullptr;
      if (o.verbose || o.dump)
        std::fprintf(stderr, "[TRACE %3d (%d/%u) %s:%d -> %d] %u IR, %zu bytes of machine code\n", t->number,
                     x->trace->number, x->index, source_of(rec.start_proto()), line_of(rec.start_proto(), rec.start()),
                     target != nullptr ? target->number : 0, t->code->nins, t->code->mcode_size);
      if (o.dump) std::fputs(t->code->dump.c_str(), stderr);
      t->code->depth = x->trace->depth + 1;
      t->code->returns = rec.returns();
      t->code->func_entry = x->trace->func_entry;
      // Kept (and its needs reserved) with its root trace, the only way in.
      t->code->owner = x->trace->owner;
      ProtoTraces& pt = ensure(t->code->owner);
      pt.sides.push_back(std::move(t));
      reserve(pt, *pt.sides.back());
      if (rec.sets_upvalues()) pt.reserve.sets_upvalues = 1;
      attach_side(x, *pt.sides.back()->code);
      stats_.traces_compiled++;
    } catch (...) {
      aborted(L, rec, "out of memory", rec.start());
    }
  }

  CodeArena arena_;
  JitTrace stitch_request_{&TraceBackend::start_continuation, 0, 0};
  ExitInfo* side_exit_ = nullptr;  // the exit the side trace being recorded is for
  std::unique_ptr<Recorder> rec_;
  std::unordered_set<Proto*> protos_;
  JitStats stats_;
  int ntraces_ = 0;
};

}  // namespace

ExitInfo* returned_exit() noexcept {
  static ExitInfo returned;
  return &returned;
}

void jit_return(State* L, TValue* ra, int n) noexcept {
  CallInfo* ci = L->ci;
  TValue* res = ci->func;
  int wanted = ci->nresults == MULTRET ? n : ci->nresults;
  for (int k = 0; k < wanted; k++) res[k] = k < n ? ra[k] : TValue();
  L->top = res + wanted;
  L->ci = ci->previous;
}

std::unique_ptr<JitBackend> make_trace_backend() { return std::make_unique<TraceBackend>(); }

}  // namespace luna::jit
