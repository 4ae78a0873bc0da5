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

// A BasicVm handle of an existing core (BasicVm's constructor for that is
// protected: only front doors make such handles).
class Handle : public BasicVm {
 public:
  explicit Handle(std::shared_ptr<detail::VmCore> core) : BasicVm(std::move(core)) {}
};

}  // namespace

SendVm::SendVm() : SendVm(LibSet::all) {}

SendVm::SendVm(LibSet libs) : SendVm(default_version, libs) {}

SendVm::SendVm(LuaVersion version) : SendVm(version, LibSet::all) {}

SendVm::SendVm(LuaVersion version, LibSet libs) : SendVm(from_vm(BasicVm(version, libs))) {}

LuaVersion SendVm::version() const { return get()->version(); }

SendVm::SendVm(std::shared_ptr<BasicVm> vm) : vm_(std::move(vm)) {}

SendVm SendVm::from_vm(BasicVm&& vm) {
  detail::VmCore& core = vm.core();
  core.check_thread();  // adopting is the creator thread's last act on its own
  detail::interpreter_only(core);
  core.host_lock = std::make_unique<SendLock>();
  return SendVm(std::make_shared<BasicVm>(std::move(vm)));
}

std::shared_ptr<BasicVm> SendVm::get() const {
  if (vm_) return vm_;
  if (std::shared_ptr<detail::VmCore> core = weak_.lock()) return std::make_shared<Handle>(std::move(core));
  // A weak_ptr that never shared ownership orders equal to an empty one.
  std::weak_ptr<detail::VmCore> empty;
  bool never_weak = !weak_.owner_before(empty) && !empty.owner_before(weak_);
  if (never_weak) throw LuaError("use of a moved-from luna::SendVm");
  throw LuaError("use of a luna::SendVm whose VM is closed (a copy captured by one of its own host functions)");
}

std::recursive_mutex& SendVm::mutex(BasicVm& vm) { return static_cast<SendLock&>(*vm.core().host_lock).mu; }

void SendVm::weaken_if_captured() noexcept {
  if (vm_ && detail::CaptureScope::capturing(vm_->core_.get())) {
    weak_ = vm_->core_;
    vm_.reset();
  }
}

namespace detail {

SendVm CallerParam<SendVm&>::get(State* L) { return SendVm(std::make_shared<Handle>(caller_core(L))); }

}  // namespace detail

}  // namespace luna
