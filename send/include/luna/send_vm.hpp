// luna::SendVm: a VM that any thread may use.
//
// Copies of a SendVm share one VM and one lock; every method takes the lock
// for its duration, so a SendVm can be copied into worker threads, moved
// between threads, or held across co_await points of a multi-threaded
// executor. It always runs the interpreter only: libluna-send links the
// core (libluna-core) and never the JIT.
//
// Values coming out of it are safe on any thread: numbers, booleans and
// strings are copies; tables, functions, userdata and threads are rooted
// references whose every operation (get, set, call, ...) goes back through
// the lock, and whose release from any thread is safe.
//
// Callables bound with set_function run under the lock, on the thread that
// made the call into the VM. Use with_vm() to run many operations under a
// single lock acquisition.
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
  // Adopts a Vm or BasicVm (which must not be used directly afterwards).
  // It stops being confined to its creator thread; its JIT, if any, is
  // dropped: it keeps the interpreter only.
  static SendVm from_vm(BasicVm&& vm);

  // Runs f(BasicVm&) under one lock acquisition and returns its result. The
  // reference must not escape f.
  template <class F> decltype(auto) with_vm(F&& f) const {
    std::lock_guard<std::recursive_mutex> lock(mutex());
    return std::forward<F>(f)(*vm_);
  }

  LuaVersion version() const noexcept { return LuaVersion::Lua54; }

  void open_libs(LibSet libs) { vm_->open_libs(libs); }
  void open_base() { vm_->open_base(); }
  void open_package() { vm_->open_package(); }
  void open_coroutine() { vm_->open_coroutine(); }
  void open_table() { vm_->open_table(); }
  void open_io() { vm_->open_io(); }
  void open_os() { vm_->open_os(); }
  void open_string() { vm_->open_string(); }
  void open_utf8() { vm_->open_utf8(); }
  void open_math() { vm_->open_math(); }
  void open_debug() { vm_->open_debug(); }

  // Each of these takes the lock once (inside the Vm's protected call).
  std::vector<Value> eval(std::string_view source, std::string_view chunk_name = "=eval") const {
    return vm_->eval(source, chunk_name);
  }
  Value load(std::string_view source, std::string_view chunk_name = "=load", std::string_view mode = "t") const {
    return vm_->load(source, chunk_name, mode);
  }
  Value load_file(const std::string& path, std::string_view mode = "t") const { return vm_->load_file(path, mode); }
  std::vector<Value> do_file(const std::string& path) const { return vm_->do_file(path); }
  template <class... A> std::vector<Value> call(const Value& fn, A&&... args) const {
    return vm_->call(fn, std::forward<A>(args)...);
  }
  template <class T> void set_global(std::string_view name, const T& value) const { vm_->set_global(name, value); }
  Value get_global(std::string_view name) const { return vm_->get_global(name); }
  template <class F> void set_function(std::string_view name, F&& f) const { vm_->set_function(name, std::forward<F>(f)); }
  template <class M, class C>
    requires std::is_member_function_pointer_v<M>
  void set_function(std::string_view name, M method, C* object) const {
    vm_->set_function(name, method, object);
  }
  template <class F> Value make_function(F&& f) const { return vm_->make_function(std::forward<F>(f)); }
  Value new_table() const { return vm_->new_table(); }
  template <class T> Value to_value(const T& v) const { return vm_->to_value(v); }

  void set_memory_limit(size_t bytes) const { vm_->set_memory_limit(bytes); }
  size_t memory_used() const { return vm_->memory_used(); }
  void set_instruction_limit(uint64_t instructions) const { vm_->set_instruction_limit(instructions); }
  void set_time_limit(std::chrono::milliseconds limit) const { vm_->set_time_limit(limit); }
  void collect_garbage() const { vm_->collect_garbage(); }
  // A SendVm never has a JIT: all zeros (the same call as Vm::jit_stats).
  JitStats jit_stats() const { return {}; }

 private:
  explicit SendVm(std::shared_ptr<BasicVm> vm);
  std::recursive_mutex& mutex() const;

  std::shared_ptr<BasicVm> vm_;
};

}  // namespace luna
