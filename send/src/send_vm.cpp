// luna::SendVm: the VM behind it gets SendVm's lock, so every protected call
// of the embedding layer takes it instead of checking the creator thread.
#include "luna/send_vm.hpp"

#include "embed/core.hpp"

namespace luna {

namespace {

class SendLock final : public detail::HostLock {
 public:
  void lock() override { mu.lock(); }
  void unlock() override { mu.unlock(); }
  std::recursive_mutex mu;
};

}  // namespace

SendVm::SendVm() : SendVm(LibSet::all) {}

SendVm::SendVm(LibSet libs) : SendVm(from_vm(BasicVm(libs))) {}

SendVm::SendVm(std::shared_ptr<BasicVm> vm) : vm_(std::move(vm)) {}

SendVm SendVm::from_vm(BasicVm&& vm) {
  detail::VmCore& core = vm.core();
  core.check_thread();  // adopting is the creator thread's last act on its own
  detail::interpreter_only(core);
  core.host_lock = std::make_unique<SendLock>();
  return SendVm(std::make_shared<BasicVm>(std::move(vm)));
}

std::recursive_mutex& SendVm::mutex() const {
  return static_cast<SendLock&>(*vm_->core().host_lock).mu;
}

}  // namespace luna
