// luna::LuaUserdata<T>: exposes a C++ class to Lua.
//
//   struct Point { double x, y; double norm() const; };
//   luna::LuaUserdata<Point>(vm, "Point")
//       .constructor<double, double>()          // Point.new(x, y)
//       .property("x", &Point::x)               // p.x, p.x = 1
//       .method("norm", &Point::norm)           // p:norm()
//       .meta("__tostring", [](const Point& p) { return std::to_string(p.x); });
//
// Objects live in Lua userdata; the destructor runs exactly once, when the
// object is collected or the VM closes. A bound function taking T&, const
// T& or T* accepts only objects of this class (a clear Lua type error
// otherwise; T* also accepts nil). __index and __newindex given to meta()
// are consulted after methods and properties; __gc is reserved for the
// destructor.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "luna/vm.hpp"

namespace luna {

namespace detail {

enum class ClassPart { method, getter, setter, meta, static_fn };
// Creates (or finds) the metatable of the class `tag` in this VM and its
// global class table `name`.
void class_register(State* L, const void* tag, const char* name, NativeFn destructor);
// Pops the function on top into the given part of the class under `name`.
void class_add(State* L, const void* tag, ClassPart part, const char* name);

// __eq: false without calling f unless both operands are objects of the class.
template <class T, class F> int same_class_entry(State* L) {
  if (test_object(L, 1, &class_tag<T>) == nullptr || test_object(L, 2, &class_tag<T>) == nullptr) {
    push_boolean(L, false);
    return 1;
  }
  return native_entry<F>(L);
}

// A constructor's result: the arguments, from which the T is built in place
// inside its userdata (so T need not be movable).
template <class T, class Tuple> struct InPlace {
  Tuple args;
};
template <class T, class Tuple> struct Convert<InPlace<T, Tuple>> {
  static void push(State* L, InPlace<T, Tuple>&& p) {
    std::apply([L](auto&&... a) { push_object<T>(L, std::forward<decltype(a)>(a)...); }, std::move(p.args));
  }
};

}  // namespace detail

template <class T> class LuaUserdata {
 public:
  LuaUserdata(BasicVm& vm, std::string_view name) : LuaUserdata(vm.core(), name) {}
  LuaUserdata(const SendVm& vm, std::string_view name);  // in <luna/send_vm.hpp>
  // For a VM the handle of which is not at hand.
  LuaUserdata(detail::VmCore& core, std::string_view name) : core_(&core) {
    std::string n(name);
    detail::protect(*core_, [&](State* L) {
      detail::class_register(L, &detail::class_tag<T>, n.c_str(), &detail::destroy_object<T>);
    });
  }

  // ClassName.<fname>(args...) builds a T from A... .
  template <class... A> LuaUserdata& constructor(std::string_view fname = "new") {
    return add(detail::ClassPart::static_fn, fname, [](A... a) {
      using Args = std::tuple<std::decay_t<A>...>;
      return detail::InPlace<T, Args>{Args(std::forward<A>(a)...)};
    });
  }
  // ClassName.<fname>: any callable.
  template <class F> LuaUserdata& static_function(std::string_view fname, F f) {
    return add(detail::ClassPart::static_fn, fname, std::move(f));
  }
  // obj:<name>(...): a member function pointer, or a callable taking the
  // object (T& or const T&) first.
  template <class M> LuaUserdata& method(std::string_view name, M m) {
    if constexpr (std::is_member_function_pointer_v<M>) return add(detail::ClassPart::method, name, detail::member_as_function(m));
    else return add(detail::ClassPart::method, name, std::move(m));
  }
  // obj.<name> read and written through a data member.
  template <class V> LuaUserdata& property(std::string_view name, V T::*member) {
    add(detail::ClassPart::getter, name, [member](const T& self) -> V { return self.*member; });
    return add(detail::ClassPart::setter, name, [member](T& self, V v) { self.*member = std::move(v); });
  }
  // obj.<name> through a getter (taking const T&), read-only.
  template <class G> LuaUserdata& property(std::string_view name, G getter) {
    return add(detail::ClassPart::getter, name, std::move(getter));
  }
  // obj.<name> through a getter and a setter (taking T& and the new value).
  template <class G, class S> LuaUserdata& property(std::string_view name, G getter, S setter) {
    add(detail::ClassPart::getter, name, std::move(getter));
    return add(detail::ClassPart::setter, name, std::move(setter));
  }
  // A metamethod (__tostring, __eq, __lt, __le, __len, __call, __close,
  // __concat, __add, ...). __eq yields false, without calling f, when the
  // other operand is not a T.
  template <class F> LuaUserdata& meta(std::string_view event, F f) {
    if (event == "__gc") throw LuaError("__gc of a LuaUserdata class runs the destructor and cannot be replaced");
    std::string n(event);
    detail::protect(*core_, [&](State* L) {
      if (n == "__eq") detail::push_function(L, std::move(f), &detail::same_class_entry<T, F>);
      else detail::push_function(L, std::move(f));
      detail::class_add(L, &detail::class_tag<T>, detail::ClassPart::meta, n.c_str());
    });
    return *this;
  }

  // A new object, as a Value.
  template <class... A> Value create(A&&... args) {
    Value out;
    detail::protect(*core_, [&](State* L) {
      detail::push_object<T>(L, std::forward<A>(args)...);
      out = detail::to_value(L, -1);
    });
    return out;
  }

 private:
  template <class F> LuaUserdata& add(detail::ClassPart part, std::string_view name, F f) {
    std::string n(name);
    detail::protect(*core_, [&](State* L) {
      detail::push_function(L, std::move(f));
      detail::class_add(L, &detail::class_tag<T>, part, n.c_str());
    });
    return *this;
  }

  detail::VmCore* core_;
};

}  // namespace luna
