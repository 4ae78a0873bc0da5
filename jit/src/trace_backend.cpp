// The trace backend. The recorder and code generator are not in yet: every
// hot loop is refused (counted as an abort, reported under -jv), so a Vm
// runs the interpreter with hot counting on.
#include "trace_backend.hpp"

#include <cstdio>

#include "state.hpp"

namespace luna::jit {

namespace {

class TraceBackend final : public JitBackend {
 public:
  void on_hot_loop(State* L, CallInfo* ci, const Instruction* pc) noexcept override {
    stats_.traces_aborted++;
    if (L->g->jit.options.verbose) {
      const Proto* p = ci->func->as_lclosure()->p;
      int line = p->sizelineinfo > 0 ? p->lineinfo[pc - p->code] : -1;
      std::fprintf(stderr, "[TRACE --- %s:%d -- no trace compiler yet]\n",
                   p->source != nullptr ? p->source->c_str() : "?", line);
    }
  }
  void record(State* L, CallInfo*, const Instruction*) noexcept override { jit_stop_recording(L); }
  void mark(JitMarker&) noexcept override {}
  void on_proto_free(State*, Proto*) noexcept override {}
  void flush(State*) noexcept override {}
  JitStats stats() const noexcept override { return stats_; }

 private:
  JitStats stats_;
};

}  // namespace

std::unique_ptr<JitBackend> make_trace_backend() { return std::make_unique<TraceBackend>(); }

}  // namespace luna::jit
