// The `jit` library, as LuaJIT's scripts know it: jit.on(), jit.off(),
// jit.flush(), jit.status(). In the core so that every VM has it; on a VM
// without a JIT (SendVm, a bare state) status() is false and the rest do
// nothing. LuaJIT's per-function forms (jit.off(f, true)) are accepted
// and act on the whole VM.
#include "luna/api.hpp"
#include "luna/jit.hpp"

namespace luna {

namespace {

int jit_on(State* L) {
  set_jit_enabled(L, true);
  return 0;
}

int jit_off(State* L) {
  set_jit_enabled(L, false);
  return 0;
}

int jit_flush_all(State* L) {
  flush_jit(L);
  return 0;
}

int jit_status(State* L) {
  push_boolean(L, jit_enabled(L));
  return 1;
}

const Reg jit_funcs[] = {
    {"on", jit_on}, {"off", jit_off}, {"flush", jit_flush_all}, {"status", jit_status}, {nullptr, nullptr},
};

}  // namespace

int open_jit(State* L) {
  new_lib(L, jit_funcs);
  push_string(L, "luna");
  set_field(L, -2, "version");
#if defined(__x86_64__)
  push_string(L, "x64");
#else
  push_string(L, "other");
#endif
  set_field(L, -2, "arch");
#if defined(__linux__)
  push_string(L, "Linux");
#else
  push_string(L, "Other");
#endif
  set_field(L, -2, "os");
  return 1;
}

}  // namespace luna
