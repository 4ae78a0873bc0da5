// The trace backend. The recorder and code generator are not in yet: every
// hot loop is refused, so a Vm runs the interpreter with counting on.
#include "trace_backend.hpp"

namespace luna::jit {

namespace {

class TraceBackend final : public JitBackend {
 public:
  uint32_t hot_threshold() const override { return 56; }
  void on_hot_loop(State*, Proto*, const uint32_t*) override {}
  void on_hot_call(State*, Proto*) override {}
  void on_proto_free(Proto*) override {}
};

}  // namespace

std::unique_ptr<JitBackend> make_trace_backend() { return std::make_unique<TraceBackend>(); }

}  // namespace luna::jit
