// Tour 3: running untrusted scripts: chosen libraries, memory and
// instruction limits. Each limit raises a Lua error and the VM stays usable.
#include <cstdio>
#include <luna/vm.hpp>

int main() {
  luna::Vm vm(luna::LibSet::safe);  // no io, os, package, debug
  vm.set_memory_limit(vm.memory_used() + 256 * 1024);
  vm.set_instruction_limit(1'000'000);  // per host call

  const char* scripts[] = {
      "return os == nil and io == nil",                              // libraries left out
      "local t = {} for i = 1, 1e8 do t[i] = i end",                 // too much memory
      "while true do end",                                           // never ends
      "return pcall(string.rep, 'x', 1e7)",                          // caught inside the script
  };
  for (const char* s : scripts) {
    try {
      auto r = vm.eval(s);
      std::printf("ok: %s\n", r.empty() ? "(nothing)" : r[0].to_string().c_str());
    } catch (const luna::LuaError& e) {
      std::printf("stopped: %s\n", e.what());
    }
  }
  return vm.eval("return 1 + 1")[0].as_integer() == 2 ? 0 : 1;
}
