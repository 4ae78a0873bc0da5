// luna::Vm: a Lua 5.4 virtual machine for C++ hosts, with the trace JIT.
//
//   luna::Vm vm;                                    // standard libraries open
//   vm.set_function("add", [](int a, int b) { return a + b; });
//   auto r = vm.eval("return add(1, 2)");           // r[0].as_integer() == 3
//
// A Vm is confined to the thread that created it (checked on every call, in
// every build); use luna::SendVm (<luna/send_vm.hpp>) to share one between
// threads. BasicVm is the embedding API both share (the interpreter, no
// JIT); Vm adds the JIT and lives in libluna, SendVm in libluna-send,
// BasicVm in libluna-core. Errors come out as luna::LuaError. Values
// holding tables, functions, userdata or threads keep the VM alive until
// they are released.
//
// Ownership rule: a host function stored in a VM must not own that VM. Take
// the VM as the first parameter (`[](luna::Vm& vm, std::string code) {...}`)
// instead of capturing a handle. Values of the VM (and SendVm copies)
// captured by value in a lambda given to set_function / make_function /
// LuaUserdata are held weakly: they do not keep the VM alive, and using one
// after its VM is gone throws LuaError. A handle hidden where the VM cannot
// see it being copied (a std::function or shared_ptr built beforehand, a
// global) keeps the VM alive until it is released.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "luna/api.hpp"
#include "luna/bind.hpp"
#include "luna/error.hpp"
#include "luna/jit.hpp"
#include "luna/value.hpp"
#include "luna/version.hpp"

namespace luna {

// Standard libraries, combinable with |.
enum class LibSet : unsigned {
  none = 0,
  base = 1u << 0,
  package = 1u << 1,
  coroutine = 1u << 2,
  table = 1u << 3,
  io = 1u << 4,
  os = 1u << 5,
  string = 1u << 6,
  utf8 = 1u << 7,
  math = 1u << 8,
  debug = 1u << 9,
  jit = 1u << 10,  // the `jit` library (controls; reports off without a JIT)
  all = (1u << 11) - 1,
  // Everything a sandboxed script can use without touching the host: no io,
  // os, package or debug.
  safe = base | coroutine | table | string | utf8 | math,
};
constexpr LibSet operator|(LibSet a, LibSet b) { return static_cast<LibSet>(static_cast<unsigned>(a) | static_cast<unsigned>(b)); }
constexpr LibSet operator&(LibSet a, LibSet b) { return static_cast<LibSet>(static_cast<unsigned>(a) & static_cast<unsigned>(b)); }

class SendVm;

// A pinned root: an integer naming a value kept alive by its VM until
// unpin(), for hosts that cannot hold a luna::Value (an entity table, a C
// struct, another language). Handles are unique across all VMs of the
// process and never reused; 0 is never a handle.
using PinHandle = std::uint64_t;

namespace detail {
// Throws LuaError unless `version` is one this build can run.
void check_version(LuaVersion version);
// Loads text `source` as a chunk (raising its error, with its status, on
// failure) and pushes it.
void load_text(State* L, std::string_view source, const std::string& chunk_name);
// Values from base+1 to the top of L.
std::vector<Value> results_from(State* L, int base);
PinHandle pin(VmCore& core, const Value& v);
Value pinned(VmCore& core, PinHandle h);
void unpin(VmCore& core, PinHandle h);
// The VM that L belongs to (for a host function's VM parameter).
std::shared_ptr<VmCore> caller_core(State* L);
}  // namespace detail

class BasicVm {
 public:
  BasicVm();                      // all standard libraries
  explicit BasicVm(LibSet libs);  // only these (LibSet::none: a bare VM)
  // The same, speaking another Lua version (docs/dialects.md); a value that
  // is not a LuaVersion throws LuaError.
  explicit BasicVm(LuaVersion version);
  BasicVm(LuaVersion version, LibSet libs);
  BasicVm(BasicVm&&) noexcept;
  BasicVm& operator=(BasicVm&&) noexcept;
  BasicVm(const BasicVm&) = delete;
  BasicVm& operator=(const BasicVm&) = delete;
  ~BasicVm();

  LuaVersion version() const noexcept;

  void open_libs(LibSet libs);
  void open_base() { open_libs(LibSet::base); }
  void open_package() { open_libs(LibSet::package); }
  void open_coroutine() { open_libs(LibSet::coroutine); }
  void open_table() { open_libs(LibSet::table); }
  void open_io() { open_libs(LibSet::io); }
  void open_os() { open_libs(LibSet::os); }
  void open_string() { open_libs(LibSet::string); }
  void open_utf8() { open_libs(LibSet::utf8); }
  void open_math() { open_libs(LibSet::math); }
  void open_debug() { open_libs(LibSet::debug); }

  // Compiles and runs a chunk; returns its results.
  std::vector<Value> eval(std::string_view source, std::string_view chunk_name = "=eval");
  // Compiles without running; returns the chunk as a function. mode is
  // "t" (text only: the default, binary chunks are not validated), "b" or "bt".
  Value load(std::string_view source, std::string_view chunk_name = "=load", std::string_view mode = "t");
  Value load_file(const std::string& path, std::string_view mode = "t");
  std::vector<Value> do_file(const std::string& path);
  // Compiles and runs a chunk with arguments (its `...`); returns its results.
  template <class... A> std::vector<Value> eval_with(std::string_view source, A&&... args) {
    std::vector<Value> out;
    detail::protect(core(), [&](State* L) {
      check_stack_or_error(L, static_cast<int>(sizeof...(A)) + 1, "too many arguments");
      int base = get_top(L);
      detail::load_text(L, source, "=eval");
      (detail::Convert<std::decay_t<A>>::push(L, args), ...);
      luna::call(L, static_cast<int>(sizeof...(A)), MULTRET);
      out = detail::results_from(L, base);
    });
    return out;
  }

  // Calls a function (or a value with __call) with converted arguments.
  template <class... A> std::vector<Value> call(const Value& fn, A&&... args) {
    check_owner(fn);
    return fn.call(std::forward<A>(args)...);
  }

  template <class T> void set_global(std::string_view name, const T& value) {
    std::string key(name);
    detail::protect(core(), [&](State* L) {
      detail::Convert<std::decay_t<T>>::push(L, value);
      luna::set_global(L, key.c_str());
    });
  }
  Value get_global(std::string_view name);
  // An object of a class registered with LuaUserdata<T>, as the global `name`.
  template <class T> void set_userdata(std::string_view name, T value) {
    static_assert(std::is_class_v<T>, "luna: set_userdata takes an object of a LuaUserdata class");
    std::string key(name);
    detail::protect(core(), [&](State* L) {
      detail::push_object<T>(L, std::move(value));
      luna::set_global(L, key.c_str());
    });
  }

  // Pinned roots (see PinHandle). pinned() and unpin() throw LuaError for a
  // released handle or one of another VM.
  PinHandle pin(const Value& v) { return detail::pin(core(), v); }
  Value pinned(PinHandle h) { return detail::pinned(core(), h); }
  void unpin(PinHandle h) { detail::unpin(core(), h); }

  // Binds any callable (lambda, function pointer, functor, std::function) as
  // the global function `name`. A first parameter `luna::Vm&`,
  // `luna::BasicVm&` or `luna::SendVm&` receives the calling VM (valid
  // during the call) rather than a Lua argument.
  template <class F> void set_function(std::string_view name, F&& f) {
    std::string key(name);
    detail::protect(core(), [&](State* L) {
      detail::push_function(L, std::forward<F>(f));
      luna::set_global(L, key.c_str());
    });
  }
  // Binds a member function called on `object` (which must outlive the VM's use of it).
  template <class M, class C>
    requires std::is_member_function_pointer_v<M>
  void set_function(std::string_view name, M method, C* object) {
    set_function(name, detail::bind_member(method, object));
  }

  // A Lua function calling f, as a Value (e.g. to store in a table).
  template <class F> Value make_function(F&& f) {
    Value out;
    detail::protect(core(), [&](State* L) {
      detail::push_function(L, std::forward<F>(f));
      out = detail::to_value(L, -1);
    });
    return out;
  }
  Value new_table();
  // Any convertible C++ value (e.g. a std::vector) as a Value of this VM.
  template <class T> Value to_value(const T& v) {
    Value out;
    detail::protect(core(), [&](State* L) {
      detail::Convert<std::decay_t<T>>::push(L, v);
      out = detail::to_value(L, -1);
    });
    return out;
  }

  // ---- sandboxing ----
  // Caps the VM's total memory (0 = none). An allocation beyond it raises
  // the Lua error "not enough memory", which scripts can catch; the VM
  // stays usable.
  void set_memory_limit(size_t bytes);
  size_t memory_used();
  // Caps the instructions each host call (eval, call, ...) may run (0 =
  // none); a script past it fails with "instruction budget exhausted",
  // which the script cannot catch for good: the error reaches the host.
  void set_instruction_limit(uint64_t instructions);
  // Caps the wall time of each host call (0 = none), Lua code, library
  // work and compilation alike: past it, "time limit exceeded", sticky
  // like the instruction budget.
  void set_time_limit(std::chrono::milliseconds limit);
  void collect_garbage();

  // The raw stack API state, for code that mixes in luna::api.hpp calls.
  // Same rules as native functions (errors must run under pcall).
  State* state();
  detail::VmCore& core();

 protected:
  // Another handle of an existing VM.
  explicit BasicVm(std::shared_ptr<detail::VmCore> core) : core_(std::move(core)) {}

 private:
  friend struct detail::CallerParam<BasicVm&>;
  friend class SendVm;
  void check_owner(const Value& v);

  std::shared_ptr<detail::VmCore> core_;
};

// The front door with the trace JIT installed (on by default; docs/jit.md).
class Vm : public BasicVm {
 public:
  Vm();                      // all standard libraries
  explicit Vm(LibSet libs);  // only these (LibSet::none: a bare VM)
  // The same, speaking another Lua version (docs/dialects.md); a value that
  // is not a LuaVersion throws LuaError.
  explicit Vm(LuaVersion version);
  Vm(LuaVersion version, LibSet libs);

  void set_jit(bool on);  // off: drops compiled code, runs the interpreter only
  bool jit_enabled();
  void set_jit_options(const JitOptions& options);  // drops compiled code
  JitOptions jit_options();
  JitStats jit_stats();
  void jit_flush();

 private:
  friend struct detail::CallerParam<Vm&>;
  explicit Vm(std::shared_ptr<detail::VmCore> core) : BasicVm(std::move(core)) {}
};

namespace detail {
// A host function's `luna::BasicVm&` / `luna::Vm&` first parameter: a
// handle of the calling VM.
template <> struct CallerParam<BasicVm&> {
  static constexpr bool value = true;
  static BasicVm get(State* L) { return BasicVm(caller_core(L)); }
};
template <> struct CallerParam<Vm&> {
  static constexpr bool value = true;
  static Vm get(State* L) { return Vm(caller_core(L)); }
};
}  // namespace detail

}  // namespace luna

#include "luna/userdata.hpp"
