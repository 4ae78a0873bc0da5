// luna::Vm: the embedding API of BasicVm with the trace JIT installed.
#include "luna/vm.hpp"

#include "embed/core.hpp"
#include "state.hpp"
#include "trace_backend.hpp"

namespace luna {

Vm::Vm() : Vm(LibSet::all) {}

Vm::Vm(LibSet libs) : BasicVm(libs) { set_jit_backend(core().main, jit::make_trace_backend()); }

Vm::Vm(LuaVersion version) : Vm(version, LibSet::all) {}

Vm::Vm(LuaVersion version, LibSet libs) : Vm((detail::check_version(version), libs)) {}

}  // namespace luna
