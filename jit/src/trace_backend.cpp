// The trace backend: decides what to record, drives the recorder, compiles
// finished recordings and attaches them to their loops; owns every trace
// (per prototype, in Proto::jit_data) and its machine code.
#include "trace_backend.hpp"

#include <cstdio>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "compile.hpp"
#include "state.hpp"

namespace luna::jit {

namespace {

class TraceBackend;

// What the seam runs: the seam's header first, then the machine code and
// the objects its constants refer to.
struct CompiledTrace : JitTrace {
  std::unique_ptr<Trace> code;
  TraceBackend* owner = nullptr;
  std::vector<GCObject*> consts;
  int number = 0;
};

// A loop is given up on after three aborts, or after 24 recordings that
// only happened to reach the loop's end (a loop that always runs a single
// iteration past its hot back-edge never closes).
constexpr int kAbortWeight = 8, kRetryWeight = 1, kMaxAborts = 3 * kAbortWeight;
constexpr uint32_t kBlacklistedCount = 65535;

struct ProtoTraces {
  std::unordered_map<const Instruction*, std::unique_ptr<CompiledTrace>> traces;
  std::unordered_map<const Instruction*, int> aborts;
};

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
      auto ab = pt->aborts.find(pc);
      if (ab != pt->aborts.end() && ab->second >= kMaxAborts) {
        // Blacklisted: count as slowly as a counter can, so the loop costs
        // one inline decrement per back-edge and a seam call every 65535.
        jit_rearm(L, pc, kBlacklistedCount);
        return;
      }
    }
    try {
      rec_ = std::make_unique<Recorder>(p, ci, pc);
    } catch (...) {
      return;
    }
    jit_start_recording(L);
  }

  void record(State* L, CallInfo* ci, const Instruction* pc) noexcept override {
    if (rec_ == nullptr) {
      jit_stop_recording(L);
      return;
    }
    RecordStatus st;
    try {
      st = rec_->step(L, ci, pc);
    } catch (...) {
      st = RecordStatus::Abort;
    }
    if (st == RecordStatus::Continue) return;
    jit_stop_recording(L);
    std::unique_ptr<Recorder> rec = std::move(rec_);
    if (st == RecordStatus::Abort) {
      aborted(L, *rec, rec->abort_reason() != nullptr ? rec->abort_reason() : "out of memory", pc);
      return;
    }
    finish(L, *rec);
  }

  void mark(JitMarker& m) noexcept override {
    for (Proto* p : protos_)
      for (auto& kv : static_cast<ProtoTraces*>(p->jit_data)->traces)
        for (GCObject* o : kv.second->consts) m.mark(o);
  }

  void on_proto_free(State*, Proto* p) noexcept override {
    if (rec_ != nullptr && rec_->proto() == p) rec_.reset();
    if (protos_.erase(p) != 0) drop(p);
  }

  void flush(State*) noexcept override {
    rec_.reset();
    for (Proto* p : protos_) drop(p);
    protos_.clear();
  }

  JitStats stats() const noexcept override { return stats_; }

  static const Instruction* run(State* L, CallInfo* ci, JitTrace* jt) noexcept {
    CompiledTrace* t = static_cast<CompiledTrace*>(jt);
    int ex = t->code->entry(L, ci->func + 1);
    t->owner->stats_.exits_taken++;
    return t->code->exit_pc[static_cast<size_t>(ex)];
  }

 private:
  ProtoTraces* traces_of(Proto* p) { return static_cast<ProtoTraces*>(p->jit_data); }

  void drop(Proto* p) {
    ProtoTraces* pt = traces_of(p);
    if (pt == nullptr) return;
    for (auto& kv : pt->traces) arena_.release(kv.second->code.get());
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

  void aborted(State* L, Recorder& rec, const char* why, const Instruction* at) noexcept {
    stats_.traces_aborted++;
    Proto* p = rec.proto();
    try {
      int& n = ensure(p).aborts[rec.start()];
      n += rec.retryable() ? kRetryWeight : kAbortWeight;
      // A loop that ended during its recording is retried at another
      // iteration: a loop of k iterations per run and a threshold that is a
      // multiple of k would otherwise always start on its last iteration.
      if (rec.retryable()) jit_rearm(L, rec.start(), L->g->jit.options.hotloop / 2 + 1 + static_cast<uint32_t>(n) * 3);
    } catch (...) {
    }
    if (L->g->jit.options.verbose) {
      const Proto* cur = L->ci->is_lua() ? L->ci->func->as_lclosure()->p : p;
      bool same = cur == p;
      std::fprintf(stderr, "[TRACE --- %s:%d -- %s at %s:%d]\n", source_of(p), line_of(p, rec.start()), why,
                   source_of(cur), same ? line_of(p, at) : -1);
    }
  }

  void finish(State* L, Recorder& rec) noexcept {
    const JitOptions& o = L->g->jit.options;
    try {
      std::unique_ptr<Trace> code = compile_trace(rec, arena_, o.dump);
      if (code == nullptr) {
        aborted(L, rec, "assembler failed", rec.start());
        return;
      }
      auto t = std::make_unique<CompiledTrace>();
      t->run = &TraceBackend::run;
      t->stack_slots = rec.proto()->maxstacksize;
      t->frames = 0;
      t->owner = this;
      t->number = ++ntraces_;
      const IrBuffer& ir = rec.ir();
      for (Ref r = 1; r < ir.size(); r++)
        if (ir[r].op == IrOp::KGC) t->consts.push_back(static_cast<GCObject*>(ir[r].k.p));
      t->code = std::move(code);
      Proto* p = rec.proto();
      if (o.verbose || o.dump)
        std::fprintf(stderr, "[TRACE %3d %s:%d loop] %u IR, %zu bytes of machine code\n", t->number, source_of(p),
                     line_of(p, rec.start()), t->code->nins, t->code->mcode_size);
      if (o.dump) std::fputs(t->code->dump.c_str(), stderr);
      CompiledTrace* raw = t.get();
      ProtoTraces& pt = ensure(p);
      auto& slot = pt.traces[rec.start()];
      if (slot != nullptr) arena_.release(slot->code.get());
      slot = std::move(t);
      stats_.traces_compiled++;
      jit_attach(L, rec.start(), raw);
    } catch (...) {
      aborted(L, rec, "out of memory", rec.start());
    }
  }

  CodeArena arena_;
  std::unique_ptr<Recorder> rec_;
  std::unordered_set<Proto*> protos_;
  JitStats stats_;
  int ntraces_ = 0;
};

}  // namespace

std::unique_ptr<JitBackend> make_trace_backend() { return std::make_unique<TraceBackend>(); }

}  // namespace luna::jit
