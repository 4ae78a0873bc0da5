// luna::SendVm: the Vm behind it is switched to locking mode, so every
// protected call of the Vm takes the VM's mutex.
#include "luna/send_vm.hpp"

namespace luna {

SendVm::SendVm() : SendVm(LibSet::all) {}

SendVm::SendVm(LibSet libs) : SendVm(from_vm(Vm(libs))) {}

SendVm::SendVm(std::shared_ptr<Vm> vm) : vm_(std::move(vm)) {}

SendVm SendVm::from_vm(Vm&& vm) {
  detail::share_core(vm.core());
  return SendVm(std::make_shared<Vm>(std::move(vm)));
}

std::recursive_mutex& SendVm::mutex() const { return detail::core_mutex(vm_->core()); }

}  // namespace luna
