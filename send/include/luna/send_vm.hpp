// luna::SendVm: a VM that any thread may use.
//
// Copies of a SendVm share one VM and one lock; every method takes the lock
// for its duration, so a SendVm can be copied into worker threads, moved
// between threads, or held across co_await points of a multi-threaded
// executor. It always runs the interpreter only: libluna-send links the
// core (libluna-core) and never the JIT. A moved-from SendVm throws
// LuaError on use.
//
// Values coming out of it are safe on any thread: numbers, booleans and
// strings are copies; tables, functions, userdata and threads are rooted
// references whose every operation (get, set, call, ...) goes back through
// the lock, and whose release from any thread is safe.
//
// Callables bound with set_function run under the lock, on the thread that
// made the call into the VM. A first parameter `luna::SendVm&` receives the
// calling VM. Ownership rule (see vm.hpp): a host function must not own its
// VM; SendVm copies and Values of the VM captured by value in a lambda given
// to set_function / make_function are weak, and throw LuaError once the
// VM is gone. Use with_vm() to run many operations under a single lock
// acquisition.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "luna/vm.hpp"

namespace luna {

class SendVm {
 public:
  SendVm();                      // all standard libraries
  explicit SendVm(LibSet libs);  // only these
  // The same, speaking another Lua version (docs/dialects.md); a value that
  // is not a LuaVersion throws LuaError.
  explicit SendVm(LuaVersion version);
  SendVm(LuaVersion version, LibSet libs);
  // Adopts a Vm or BasicVm (which must not be used directly afterwards).
  // It stops being confined to its creator thread; its JIT, if any, is
  // dropped: it keeps the interpreter only.
  static SendVm from_vm(BasicVm&& vm);

  // A copy made while this VM stores a callable capturing it is weak (see
  // CaptureScope in value.hpp).
  SendVm(const SendVm& o) : vm_(o.vm_), weak_(o.weak_) { weaken_if_captured(); }
  SendVm(SendVm&& o) noexcept : vm_(std::move(o.vm_)), weak_(std::move(o.weak_)) { weaken_if_captured(); }
  SendVm& operator=(const SendVm&) = default;
  SendVm& operator=(SendVm&&) noexcept = default;
  ~SendVm() = default;

  // Runs f(BasicVm&) under one lock acquisition and returns its result. The
  // reference must not escape f.
  template <class F> decltype(auto) with_vm(F&& f) const {
    std::shared_ptr<BasicVm> vm = get();
    std::lock_guard<std::recursive_mutex> lock(mutex(*vm));
    return std::forward<F>(f)(*vm);
  }

  LuaVersion version() const;

  void open_libs(LibSet libs) const { get()->open_libs(libs); }
  void open_base() const { get()->open_base(); }
  void open_package() const { get()->open_package(); }
  void open_coroutine() const { get()->open_coroutine(); }
  void open_table() const { get()->open_table(); }
  void open_io() const { get()->open_io(); }
  void open_os() const { get()->open_os(); }
  void open_string() const { get()->open_string(); }
  void open_utf8() const { get()->open_utf8(); }
  void open_math() const { get()->open_math(); }
  void open_debug() const { get()->open_debug(); }

  // Each of these takes the lock once (inside the VM's protected call).
  std::vector<Value> eval(std::string_view source, std::string_view chunk_name = "=eval") const {
    return get()->eval(source, chunk_name);
  }
  template <class... A> std::vector<Value> eval_with(std::string_view source, A&&... args) const {
    return get()->eval_with(source, std::forward<A>(args)...);
  }
  Value load(std::string_view source, std::string_view chunk_name = "=load", std::string_view mode = "t") const {
    return get()->load(source, chunk_name, mode);
  }
  Value load_file(const std::string& path, std::string_view mode = "t") const { return get()->load_file(path, mode); }
  std::vector<Value> do_file(const std::string& path) const { return get()->do_file(path); }
  template <class... A> std::vector<Value> call(const Value& fn, A&&... args) const {
    return get()->call(fn, std::forward<A>(args)...);
  }
  template <class T> void set_global(std::string_view name, const T& value) const { get()->set_global(name, value); }
  Value get_global(std::string_view name) const { return get()->get_global(name); }
  template <class T> void set_userdata(std::string_view name, T value) const {
    get()->set_userdata(name, std::move(value));
  }
  template <class F> void set_function(std::string_view name, F&& f) const { get()->set_function(name, std::forward<F>(f)); }
  template <class M, class C>
    requires std::is_member_function_pointer_v<M>
  void set_function(std::string_view name, M method, C* object) const {
    get()->set_function(name, method, object);
  }
  template <class F> Value make_function(F&& f) const { return get()->make_function(std::forward<F>(f)); }
  Value new_table() const { return get()->new_table(); }
  template <class T> Value to_value(const T& v) const { return get()->to_value(v); }

  PinHandle pin(const Value& v) const { return get()->pin(v); }
  Value pinned(PinHandle h) const { return get()->pinned(h); }
  void unpin(PinHandle h) const { get()->unpin(h); }

  void set_memory_limit(size_t bytes) const { get()->set_memory_limit(bytes); }
  size_t memory_used() const { return get()->memory_used(); }
  void set_instruction_limit(uint64_t instructions) const { get()->set_instruction_limit(instructions); }
  void set_time_limit(std::chrono::milliseconds limit) const { get()->set_time_limit(limit); }
  void collect_garbage() const { get()->collect_garbage(); }
  // A SendVm never has a JIT: all zeros (the same call as Vm::jit_stats).
  JitStats jit_stats() const { return {}; }

  // The shared VM's core (e.g. for LuaUserdata); throws like every method.
  detail::VmCore& core() const { return get()->core(); }

 private:
  friend struct detail::CallerParam<SendVm&>;
  explicit SendVm(std::shared_ptr<BasicVm> vm);
  // The VM, owned for the caller's full expression; throws LuaError for a
  // moved-from handle or a weak one whose VM is gone.
  std::shared_ptr<BasicVm> get() const;
  static std::recursive_mutex& mutex(BasicVm& vm);
  void weaken_if_captured() noexcept;

  std::shared_ptr<BasicVm> vm_;         // null when moved-from or weak
  std::weak_ptr<detail::VmCore> weak_;  // set only when weak
};

namespace detail {
// A host function's `luna::SendVm&` first parameter: a handle of the
// calling VM.
template <> struct CallerParam<SendVm&> {
  static constexpr bool value = true;
  static SendVm get(State* L);
};
}  // namespace detail

template <class T>
LuaUserdata<T>::LuaUserdata(const SendVm& vm, std::string_view name) : LuaUserdata(vm.core(), name) {}

}  // namespace luna
