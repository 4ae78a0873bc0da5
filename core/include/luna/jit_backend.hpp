// The seam between the interpreter and a JIT compiler. The dispatcher counts
// loop back-edges and function entries per prototype; when a counter runs
// out it hands the spot to the installed backend. The core knows the JIT
// only through this interface.
#pragma once

#include <cstdint>

namespace luna {

struct State;
struct Proto;

class JitBackend {
 public:
  virtual ~JitBackend() = default;
  // Counter reload value after a hot event; UINT32_MAX means "never again".
  virtual uint32_t hot_threshold() const = 0;
  // A loop back-edge at pc (the FORLOOP/TFORLOOP/JMP target side) became hot.
  virtual void on_hot_loop(State* L, Proto* p, const uint32_t* pc) = 0;
  // A function's entry became hot.
  virtual void on_hot_call(State* L, Proto* p) = 0;
  // A prototype is being freed: drop everything compiled for it.
  virtual void on_proto_free(Proto* p) = 0;
};

// Interpreter only: never compiles. Its threshold keeps the counters from
// ever firing again, so the seam costs one predictable branch.
class NullJitBackend final : public JitBackend {
 public:
  uint32_t hot_threshold() const override { return UINT32_MAX; }
  void on_hot_loop(State*, Proto*, const uint32_t*) override {}
  void on_hot_call(State*, Proto*) override {}
  void on_proto_free(Proto*) override {}
  static NullJitBackend& instance();
};

}  // namespace luna
