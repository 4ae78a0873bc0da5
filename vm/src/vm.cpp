// luna::Vm: the embedding API of BasicVm with the trace JIT installed, and
// install_jit for hosts of the stack API.
#include "luna/vm.hpp"

#include "embed/core.hpp"
#include "state.hpp"
#include "trace_backend.hpp"

namespace luna {

void install_jit(State* L) { set_jit_backend(L, jit::make_trace_backend()); }

Vm::Vm() : Vm(LibSet::all) {}

Vm::Vm(LibSet libs) : Vm(default_version, libs) {}

Vm::Vm(LuaVersion version, LibSet libs) : BasicVm(version, libs) { install_jit(core().main); }

void Vm::set_jit(bool on) {
  detail::protect(core(), [&](State* L) { set_jit_enabled(L, on); });
}

bool Vm::jit_enabled() {
  bool on = false;
  detail::protect(core(), [&](State* L) { on = luna::jit_enabled(L); });
  return on;
}

void Vm::set_jit_options(const JitOptions& options) {
  detail::protect(core(), [&](State* L) { luna::set_jit_options(L, options); });
}

JitOptions Vm::jit_options() {
  JitOptions o;
  detail::protect(core(), [&](State* L) { o = get_jit_options(L); });
  return o;
}

JitStats Vm::jit_stats() {
  JitStats s;
  detail::protect(core(), [&](State* L) { s = get_jit_stats(L); });
  return s;
}

void Vm::jit_flush() {
  detail::protect(core(), [&](State* L) { flush_jit(L); });
}

Vm::Vm(LuaVersion version) : Vm(version, LibSet::all) {}

}  // namespace luna
