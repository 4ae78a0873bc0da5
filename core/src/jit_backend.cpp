// Installing and removing a JIT backend. The core never names a concrete
// backend: libluna's Vm hands one in, libluna-send never does.
#include "luna/jit_backend.hpp"

#include "embed/core.hpp"
#include "state.hpp"

namespace luna {

NullJitBackend& NullJitBackend::instance() {
  static NullJitBackend backend;
  return backend;
}

void set_jit_backend(State* L, std::unique_ptr<JitBackend> backend) {
  GlobalState* g = L->g;
  JitBackend* old = g->jit;
  g->jit = backend ? backend.release() : &NullJitBackend::instance();
  if (old != &NullJitBackend::instance()) delete old;
}

namespace detail {

void interpreter_only(VmCore& core) { set_jit_backend(core.main, nullptr); }

}  // namespace detail

}  // namespace luna
