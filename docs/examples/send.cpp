// Tour 4: one VM shared by worker threads through luna::SendVm.
#include <cstdio>
#include <luna/send_vm.hpp>
#include <thread>
#include <vector>

int main() {
  luna::SendVm vm;  // copies share the VM; every call takes its lock
  vm.eval("hits = 0");
  vm.set_function("log", [](int worker) { return worker * 10; });

  std::vector<std::thread> workers;
  for (int w = 0; w < 4; w++) {
    workers.emplace_back([vm, w] {  // a copy per thread
      for (int i = 0; i < 1000; i++) vm.eval("hits = hits + 1");
      vm.call(vm.get_global("log"), w);
      // Several operations under a single lock acquisition:
      vm.with_vm([](luna::BasicVm& inner) {
        inner.eval("hits = hits + 1");
        inner.eval("hits = hits - 1");
      });
    });
  }
  for (auto& t : workers) t.join();
  long long hits = vm.get_global("hits").as_integer();
  std::printf("hits = %lld\n", hits);
  return hits == 4000 ? 0 : 1;
}
