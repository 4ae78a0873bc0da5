// The trace compiler's face to the core: the backend luna::Vm installs.
// Everything in jit/ lives in namespace luna::jit and sees the core only
// through its internal headers (core/src, jit_seam.hpp for the protocol);
// the core never includes jit/.
#pragma once

#include <memory>

#include "jit_seam.hpp"

namespace luna::jit {

// A new trace backend, ready to install with set_jit_backend.
std::unique_ptr<JitBackend> make_trace_backend();

}  // namespace luna::jit
