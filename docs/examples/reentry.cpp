// Tour 5: host functions that call back into their own VM. They take the
// VM as their first parameter instead of capturing a handle, so the VM
// never owns itself; pinned roots and chunk arguments round it off.
#include <cstdio>
#include <luna/vm.hpp>
#include <string>
#include <vector>

int main() {
  luna::Vm vm(luna::LuaVersion::Lua54, luna::LibSet::safe);

  // `luna::Vm&` first: the calling VM, not a Lua argument.
  vm.set_function("run", [](luna::Vm& self, const std::string& code) { return self.eval(code).size(); });
  vm.set_function("define", [](luna::Vm& self, const std::string& name, luna::Value v) { self.set_global(name, v); });

  // A chunk with arguments: its `...`.
  std::vector<luna::Value> r = vm.eval_with(R"(
    local base, step = ...
    define("counter", base)
    run("counter = counter + " .. step)
    return counter
  )", 40, 2);
  std::printf("counter = %lld\n", static_cast<long long>(r[0].as_integer()));

  // A pinned root: a plain integer a C struct or another language can hold.
  luna::PinHandle h = vm.pin(vm.eval("return {name = 'player'}")[0]);
  std::printf("pinned: %s\n", vm.pinned(h).get("name").as_string().c_str());
  vm.unpin(h);

  // Any C++ exception from a host function is a Lua error scripts can catch.
  vm.set_function("fail", []() -> int { throw 42; });
  std::printf("%s\n", vm.eval("return select(2, pcall(fail))")[0].as_string().c_str());
  return r[0].as_integer() == 42 ? 0 : 1;
}
