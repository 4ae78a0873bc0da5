// luna-send script.lua [args]: runs a script through luna::SendVm, the
// interpreter a cross-thread embedder gets, so that benchmarks/compare can
// time it next to the `luna` command (its "luna send" engine). Uses only
// <luna/send_vm.hpp>, like an embedder: `arg` as the command builds it
// (script at 0, arguments from 1), the script's errors on stderr.
#include <cstdio>
#include <string>

#include "luna/send_vm.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s script.lua [args]\n", argv[0]);
    return 2;
  }
  try {
    luna::SendVm vm;
    luna::Value arg = vm.new_table();
    for (int i = 1; i < argc; i++) arg.set(i - 1, std::string(argv[i]));
    vm.set_global("arg", arg);
    vm.do_file(argv[1]);
  } catch (const luna::LuaError& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
  return 0;
}
