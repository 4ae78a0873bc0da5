#include "luna/jit_backend.hpp"

namespace luna {

NullJitBackend& NullJitBackend::instance() {
  static NullJitBackend backend;
  return backend;
}

}  // namespace luna
