// A host using only <luna/send_vm.hpp>: linked against libluna-send, it
// must pull in no JIT code (checked by no_jit_symbols.sh).
#include <luna/send_vm.hpp>

#include <cstdio>

int main() {
  luna::SendVm vm;
  auto r = vm.eval("local s = 0 for i = 1, 1000 do s = s + i end return s");
  if (r.size() != 1 || r[0].as_integer() != 500500) return 1;
  std::puts("ok");
  return 0;
}
