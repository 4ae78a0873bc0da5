// luna::Value: a Lua value held by C++ code.
//
// nil, booleans, numbers and strings are held by value: they need no VM and
// may be copied and read on any thread. Tables, functions, userdata and
// threads are held as rooted references (registry slots) that share
// ownership of their VM: the VM stays alive while such a Value exists, every
// operation on it goes through that VM (and through its lock for a SendVm),
// and releasing it is safe from any thread. Exception: a Value captured by
// a host function stored in its own VM is weak (see CaptureScope); once
// that VM is gone, using it throws LuaError.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace luna {

struct State;
class Value;

namespace detail {

class VmCore;  // one VM shared by a Vm/SendVm and the references it hands out

// A rooted registry slot. Its destructor queues the slot for release; the
// VM frees queued slots the next time it runs, under its own lock (nothing
// to do once the VM is closed). The Ref does not own the VM: the Values
// sharing it do, except those captured by a host function of that VM.
struct Ref {
  std::weak_ptr<VmCore> core;
  const VmCore* id;  // for identity checks without locking (make_shared: the address is not reused while `core` exists)
  int slot;
  Ref(const std::shared_ptr<VmCore>& c, int s) : core(c), id(c.get()), slot(s) {}
  Ref(const Ref&) = delete;
  Ref& operator=(const Ref&) = delete;
  ~Ref();
};

// While a VM stores a host callable (set_function, make_function,
// LuaUserdata), copies and moves of Values and SendVms of that same VM made
// by constructing the stored callable are weak: they do not keep the VM
// alive, so a lambda capturing its own VM forms no ownership cycle.
class CaptureScope {
 public:
  explicit CaptureScope(State* L);
  ~CaptureScope();
  CaptureScope(const CaptureScope&) = delete;
  CaptureScope& operator=(const CaptureScope&) = delete;
  // True while a callable of `core` is being stored on this thread.
  static bool capturing(const VmCore* core) noexcept;

 private:
  const VmCore* prev_;
};

// Runs fn(L, ctx) inside a protected call on the VM (taking its lock or
// checking its thread first). A Lua error, or a std::exception thrown by fn,
// comes out as a luna::LuaError; the stack is restored either way.
using ProtectedFn = void (*)(State* L, void* ctx);
void run_protected(VmCore& core, ProtectedFn fn, void* ctx);

template <class F>
void protect(VmCore& core, F&& f) {
  using Fn = std::remove_reference_t<F>;
  run_protected(core, [](State* L, void* ctx) { (*static_cast<Fn*>(ctx))(L); }, const_cast<void*>(static_cast<const void*>(&f)));
}

// Stack <-> Value. Both may raise Lua errors: use them only inside
// protected code or native functions.
Value to_value(State* L, int idx);
void push(State* L, const Value& v);
// The VM of a reference value; throws LuaError for values without a VM and
// for values whose VM was closed.
std::shared_ptr<VmCore> core_of(const Value& v);

}  // namespace detail

class Value {
 public:
  // Same numbering as the api.hpp type codes (TNIL, TBOOLEAN, ...).
  enum class Type : int { nil = 0, boolean, light_userdata, number, string, table, function, userdata, thread };

  Value() noexcept : type_(Type::nil) {}
  Value(std::nullptr_t) noexcept : type_(Type::nil) {}
  template <class B>
    requires std::same_as<B, bool>
  Value(B b) noexcept : type_(Type::boolean) { u_.b = b; }
  template <std::integral I>
    requires(!std::same_as<I, bool>)
  Value(I i) noexcept : type_(Type::number), int_(true) { u_.i = static_cast<int64_t>(i); }
  template <std::floating_point F>
  Value(F n) noexcept : type_(Type::number) { u_.n = static_cast<double>(n); }
  Value(const char* s) : type_(Type::string), str_(s) {}
  Value(std::string s) : type_(Type::string), str_(std::move(s)) {}
  Value(std::string_view s) : type_(Type::string), str_(s) {}
  Value(const Value& o)
      : type_(o.type_), int_(o.int_), u_(o.u_), str_(o.str_), ref_(o.ref_), keep_(o.keep_), ptr_(o.ptr_) {
    if (keep_) weaken_if_captured();
  }
  Value(Value&& o) noexcept
      : type_(o.type_), int_(o.int_), u_(o.u_), str_(std::move(o.str_)), ref_(std::move(o.ref_)),
        keep_(std::move(o.keep_)), ptr_(o.ptr_) {
    if (keep_) weaken_if_captured();
  }
  Value& operator=(const Value&) = default;
  Value& operator=(Value&&) noexcept = default;
  ~Value() = default;

  Type type() const noexcept { return type_; }
  const char* type_name() const noexcept;
  bool is_nil() const noexcept { return type_ == Type::nil; }
  bool is_boolean() const noexcept { return type_ == Type::boolean; }
  bool is_number() const noexcept { return type_ == Type::number; }
  bool is_integer() const noexcept { return type_ == Type::number && int_; }
  bool is_float() const noexcept { return type_ == Type::number && !int_; }
  bool is_string() const noexcept { return type_ == Type::string; }
  bool is_table() const noexcept { return type_ == Type::table; }
  bool is_function() const noexcept { return type_ == Type::function; }
  bool is_userdata() const noexcept { return type_ == Type::userdata || type_ == Type::light_userdata; }
  bool is_thread() const noexcept { return type_ == Type::thread; }
  // Lua truthiness: everything but nil and false.
  bool truthy() const noexcept { return !(is_nil() || (is_boolean() && !u_.b)); }
  explicit operator bool() const noexcept { return truthy(); }

  // Strict accessors: throw LuaError on a type mismatch. as_integer accepts
  // a float with an exact integer value; as_number accepts integers.
  bool as_boolean() const;
  int64_t as_integer() const;
  double as_number() const;
  const std::string& as_string() const;
  // A readable rendering like tostring() without metamethods ("nil", "42",
  // "table: 0x..."); never throws for a type mismatch.
  std::string to_string() const;

  // Raw identity: same type and value (same object for references).
  friend bool operator==(const Value& a, const Value& b) noexcept;

  // ---- tables (metamethods apply, as in Lua's t[k], t[k] = v and #t) ----
  template <class K> Value get(const K& key) const;
  template <class K, class V> void set(const K& key, const V& value) const;
  Value raw_get(const Value& key) const;
  void raw_set(const Value& key, const Value& value) const;
  int64_t length() const;  // #v
  // Snapshot of the table's pairs (raw traversal, as next()).
  std::vector<std::pair<Value, Value>> pairs() const;

  // ---- functions (and values with __call) ----
  template <class... A> std::vector<Value> operator()(A&&... args) const { return call(std::forward<A>(args)...); }
  template <class... A> std::vector<Value> call(A&&... args) const;

  // ---- userdata made by LuaUserdata<T> ----
  // The object, type-checked (throws LuaError if this is not a live T).
  template <class T> T& as_userdata() const;

  // Stable per-object identity (as %p in Lua), nullptr for plain values.
  const void* pointer() const noexcept { return ptr_; }

 private:
  friend Value detail::to_value(State*, int);
  friend void detail::push(State*, const Value&);
  friend std::shared_ptr<detail::VmCore> detail::core_of(const Value&);
  void weaken_if_captured() noexcept;

  Type type_;
  bool int_ = false;
  union {
    bool b;
    int64_t i;
    double n;
  } u_{};
  std::string str_;
  std::shared_ptr<detail::Ref> ref_;
  std::shared_ptr<detail::VmCore> keep_;  // owns the VM; null when weak
  const void* ptr_ = nullptr;  // the object's address, for identity
};

// Every failure the embedding API reports. what() is the Lua message (e.g.
// "eval:1: boom"); traceback() the stack at the error point, when known;
// value() the raw error value (any Lua value, e.g. a table given to error()).
class LuaError : public std::runtime_error {
 public:
  // status is one of the api.hpp codes (ERRRUN, ERRSYNTAX, ERRMEM, ...).
  explicit LuaError(const std::string& message, int status = 2, std::string traceback = {}, Value value = {})
      : std::runtime_error(message), status_(status), traceback_(std::move(traceback)), value_(std::move(value)) {}

  int status() const noexcept { return status_; }
  bool is_memory_error() const noexcept { return status_ == 4; }
  bool is_syntax_error() const noexcept { return status_ == 3; }
  const std::string& traceback() const noexcept { return traceback_; }
  const Value& value() const noexcept { return value_; }

 private:
  int status_;
  std::string traceback_;
  Value value_;
};

}  // namespace luna

// Value's template members need the conversions; the include sits here so
// that either header may be included first.
#include "luna/bind.hpp"
