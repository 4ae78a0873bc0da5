// Automatic conversions between C++ and Lua for the embedding API: how
// Vm::set_function turns any C++ callable into a Lua function, and how
// arguments and results cross over.
//
//   bool                       <-> boolean (any Lua value as an argument: truthiness)
//   integer types              <-> integer (floats with an exact integer value accepted)
//   float, double              <-> number
//   std::string, string_view,
//   const char*                <-> string (numbers accepted, as in Lua)
//   luna::Value                <-> any value
//   std::optional<T>           <-> T or nil / absent
//   std::vector<T>             <-> sequence table {t[1], ..., t[#t]}
//   std::tuple<T...>           --> several results
//   luna::Variadic             <-> all remaining arguments / any number of results
//   classes registered with LuaUserdata<T>: T, T&, T* (nil -> nullptr) as
//   arguments, type-checked; T returned by value becomes a new object.
//
// A C++ exception (std::exception) thrown by a bound callable becomes a Lua
// error carrying its what() (a luna::LuaError keeps its original error
// value); a Lua error raised below a bound callable unwinds its C++ frames
// as an exception would.
#pragma once

#include <cstring>
#include <exception>
#include <limits>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "luna/api.hpp"
#include "luna/error.hpp"
#include "luna/value.hpp"

namespace luna {

// As a parameter (the last one): all arguments from its position on. As a
// result: any number of results.
struct Variadic : std::vector<Value> {
  using std::vector<Value>::vector;
};

// As the result of a bound function: yields these values from the running
// coroutine (outside one, or across a non-yieldable call, a Lua error). The
// values passed to the next resume become the function's results.
struct Yield : Variadic {
  using Variadic::Variadic;
};

namespace detail {

// ---------------------------------------------------------------- objects
// The address of class_tag<T> names T's metatable in a VM's registry.
template <class T> inline const char class_tag = 0;

// A userdata block holding one T. `alive` turns false when the destructor
// has run (at collection, at VM close, or never if construction failed).
template <class T> struct Box {
  alignas(T) unsigned char storage[sizeof(T)];
  bool alive;
  T* get() { return std::launder(reinterpret_cast<T*>(storage)); }
};

void* test_object(State* L, int idx, const void* tag);  // the Box, or nullptr if idx is not a tag object
[[noreturn]] void object_type_error(State* L, int idx, const void* tag);
[[noreturn]] void dead_object_error(State* L, const void* tag);
// Pushes a zeroed userdata of `size` bytes with the class's metatable;
// raises a Lua error if the class is not registered in this VM.
void* new_object(State* L, size_t size, const void* tag);

template <class T> T& check_object(State* L, int idx) {
  auto* b = static_cast<Box<T>*>(test_object(L, idx, &class_tag<T>));
  if (b == nullptr) object_type_error(L, idx, &class_tag<T>);
  if (!b->alive) dead_object_error(L, &class_tag<T>);
  return *b->get();
}

template <class T, class... A> void push_object(State* L, A&&... a) {
  static_assert(alignof(T) <= 16, "luna: userdata blocks are 16-byte aligned");
  auto* b = static_cast<Box<T>*>(new_object(L, sizeof(Box<T>), &class_tag<T>));
  new (b->storage) T(std::forward<A>(a)...);
  b->alive = true;
}

template <class T> int destroy_object(State* L) {
  auto* b = static_cast<Box<T>*>(to_userdata(L, 1));
  if (b != nullptr && b->alive) {
    b->alive = false;  // first, so the destructor runs exactly once
    b->get()->~T();
  }
  return 0;
}

// ------------------------------------------------------------ conversions
// The primary template handles classes registered with LuaUserdata<T>.
template <class T> struct Convert {
  static_assert(std::is_class_v<T>, "luna: no Lua conversion for this type");
  static void push(State* L, const T& v) { push_object<T>(L, v); }
  static void push(State* L, T&& v) { push_object<T>(L, std::move(v)); }
  static T& get(State* L, int idx) { return check_object<T>(L, idx); }
};

template <> struct Convert<bool> {
  static void push(State* L, bool b) { push_boolean(L, b); }
  static bool get(State* L, int idx) { return to_boolean(L, idx); }
};

template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
struct Convert<T> {
  static void push(State* L, T v) { push_integer(L, static_cast<Integer>(v)); }
  static T get(State* L, int idx) {
    Integer v = check_integer(L, idx);
    if constexpr (sizeof(T) < sizeof(Integer) || std::is_unsigned_v<T>) {
      bool fits = std::is_unsigned_v<T> ? v >= 0 && static_cast<Unsigned>(v) <= std::numeric_limits<T>::max()
                                        : v >= static_cast<Integer>(std::numeric_limits<T>::min()) &&
                                              v <= static_cast<Integer>(std::numeric_limits<T>::max());
      if (!fits) arg_error(L, idx, "number out of range");
    }
    return static_cast<T>(v);
  }
};

template <class T>
  requires std::is_floating_point_v<T>
struct Convert<T> {
  static void push(State* L, T v) { push_number(L, static_cast<Number>(v)); }
  static T get(State* L, int idx) { return static_cast<T>(check_number(L, idx)); }
};

template <> struct Convert<std::string> {
  static void push(State* L, const std::string& s) { push_lstring(L, s.data(), s.size()); }
  static std::string get(State* L, int idx) {
    size_t n = 0;
    const char* s = check_lstring(L, idx, &n);
    return std::string(s, n);
  }
};

// The view points into the Lua string, which the call's stack keeps alive
// until the bound function returns.
template <> struct Convert<std::string_view> {
  static void push(State* L, std::string_view s) { push_lstring(L, s.data(), s.size()); }
  static std::string_view get(State* L, int idx) {
    size_t n = 0;
    const char* s = check_lstring(L, idx, &n);
    return std::string_view(s, n);
  }
};

template <> struct Convert<const char*> {
  static void push(State* L, const char* s) { push_string(L, s); }
  static const char* get(State* L, int idx) { return check_string(L, idx); }
};
template <> struct Convert<char*> : Convert<const char*> {};

template <> struct Convert<std::nullptr_t> {
  static void push(State* L, std::nullptr_t) { push_nil(L); }
};

template <> struct Convert<Value> {
  static void push(State* L, const Value& v) { detail::push(L, v); }
  static Value get(State* L, int idx) { return to_value(L, idx); }
};

template <class T> struct Convert<std::optional<T>> {
  static void push(State* L, const std::optional<T>& v) {
    if (v) Convert<T>::push(L, *v);
    else push_nil(L);
  }
  static std::optional<T> get(State* L, int idx) {
    if (is_none_or_nil(L, idx)) return std::nullopt;
    return std::optional<T>(Convert<T>::get(L, idx));
  }
};

template <class T> struct Convert<std::vector<T>> {
  static void push(State* L, const std::vector<T>& v) {
    check_stack_or_error(L, 2, "too many values");
    create_table(L, static_cast<int>(std::min<size_t>(v.size(), 1u << 26)), 0);
    Integer i = 1;
    for (const auto& e : v) {
      Convert<T>::push(L, e);
      raw_set_i(L, -2, i++);
    }
  }
  static std::vector<T> get(State* L, int idx) {
    idx = abs_index(L, idx);
    check_type(L, idx, TTABLE);
    Integer n = len_i(L, idx);
    std::vector<T> out;
    out.reserve(n > 0 ? static_cast<size_t>(n) : 0);
    check_stack_or_error(L, 2, "too many values");
    for (Integer i = 1; i <= n; i++) {
      get_i(L, idx, i);
      out.push_back(Convert<T>::get(L, get_top(L)));
      pop(L, 1);
    }
    return out;
  }
};

template <> struct Convert<Variadic> {
  static void push(State* L, const Variadic& v) {
    check_stack_or_error(L, static_cast<int>(std::min<size_t>(v.size(), MAXSTACK)), "too many values");
    for (const auto& e : v) detail::push(L, e);
  }
  static Variadic get(State* L, int idx) {
    Variadic out;
    int top = get_top(L);
    for (int i = idx; i <= top; i++) out.push_back(to_value(L, i));
    return out;
  }
};

// Arguments: pointers and references to registered classes are checked in
// place; everything else goes through Convert.
template <class P> struct Arg {
  using D = std::remove_cvref_t<P>;
  static decltype(auto) get(State* L, int idx) {
    if constexpr (std::is_pointer_v<D> && std::is_class_v<std::remove_pointer_t<D>>) {
      using U = std::remove_cv_t<std::remove_pointer_t<D>>;
      if (is_none_or_nil(L, idx)) return static_cast<U*>(nullptr);
      return &check_object<U>(L, idx);
    } else {
      return Convert<D>::get(L, idx);
    }
  }
};

template <class T> struct is_tuple : std::false_type {};
template <class... T> struct is_tuple<std::tuple<T...>> : std::true_type {};

template <class R> int push_results(State* L, R&& r) {
  using D = std::remove_cvref_t<R>;
  if constexpr (is_tuple<D>::value) {
    check_stack_or_error(L, static_cast<int>(std::tuple_size_v<D>), "too many results");
    return std::apply(
        [L](auto&&... xs) {
          (Convert<std::decay_t<decltype(xs)>>::push(L, std::forward<decltype(xs)>(xs)), ...);
          return static_cast<int>(sizeof...(xs));
        },
        std::forward<R>(r));
  } else if constexpr (std::is_base_of_v<Variadic, D>) {
    Convert<Variadic>::push(L, r);
    return static_cast<int>(r.size());
  } else {
    Convert<std::decay_t<R>>::push(L, std::forward<R>(r));
    return 1;
  }
}

// -------------------------------------------------------- callable traits
template <class F> struct fn_traits : fn_traits<decltype(&F::operator())> {};
template <class R, class... A> struct fn_traits<R (*)(A...)> {
  using result = R;
  using args = std::tuple<A...>;
};
template <class R, class... A> struct fn_traits<R (*)(A...) noexcept> : fn_traits<R (*)(A...)> {};
template <class R, class C, class... A> struct fn_traits<R (C::*)(A...)> : fn_traits<R (*)(A...)> {};
template <class R, class C, class... A> struct fn_traits<R (C::*)(A...) const> : fn_traits<R (*)(A...)> {};
template <class R, class C, class... A> struct fn_traits<R (C::*)(A...) noexcept> : fn_traits<R (*)(A...)> {};
template <class R, class C, class... A> struct fn_traits<R (C::*)(A...) const noexcept> : fn_traits<R (*)(A...)> {};

template <class R, class... A, class F, size_t... I>
int invoke_with(State* L, F& f, std::index_sequence<I...>) {
  // Braced initialisation converts the arguments left to right, so the
  // first bad argument is the one reported.
  std::tuple<decltype(Arg<A>::get(L, 0))...> args{Arg<A>::get(L, static_cast<int>(I) + 1)...};
  if constexpr (std::is_void_v<R>) {
    std::apply(f, std::move(args));
    return 0;
  } else {
    return push_results(L, std::apply(f, std::move(args)));
  }
}

template <class R, class F, class... A> int invoke_tuple(State* L, F& f, std::tuple<A...>*) {
  return invoke_with<R, A...>(L, f, std::index_sequence_for<A...>{});
}

template <class F> int invoke(State* L, F& f) {
  using T = fn_traits<F>;
  return invoke_tuple<typename T::result>(L, f, static_cast<typename T::args*>(nullptr));
}

// Marks the innermost Lua thread running native code of this VM, so that a
// host call made from inside a bound function runs on that thread. Reads
// the VM from upvalue 2 of the running closure.
class NativeScope {
 public:
  explicit NativeScope(State* L);
  ~NativeScope();
  NativeScope(const NativeScope&) = delete;
  NativeScope& operator=(const NativeScope&) = delete;

 private:
  VmCore* core_;
  State* prev_;
};

// Raises `value` (if it is not nil) or else `message` as a Lua error.
[[noreturn]] void raise_error(State* L, const std::string& message, const Value& value);

// Runs body() for a native function, turning C++ exceptions into Lua
// errors. Lua errors are not std::exceptions and pass through untouched.
template <class Body> int guarded(State* L, Body&& body) {
  std::string message;
  Value value;
  {
    NativeScope scope(L);
    try {
      return body();
    } catch (const LuaError& e) {
      message = e.what();
      value = e.value();
    } catch (const std::exception& e) {
      message = e.what();
    }
  }
  raise_error(L, message, value);
}

// A bound callable lives in a userdata (upvalue 1 of its closure); the
// shared __gc of such blocks calls `destroy` once.
template <class F> struct Callable {
  void (*destroy)(void*);
  alignas(F) unsigned char storage[sizeof(F)];
  F* get() { return std::launder(reinterpret_cast<F*>(storage)); }
};
void* new_callable(State* L, size_t size);  // pushes a zeroed userdata with the callable metatable
void push_closure(State* L, NativeFn entry);  // callable userdata on top -> closure (with the VM as upvalue 2)

template <class F> int native_entry(State* L) {
  F& f = *static_cast<Callable<F>*>(to_userdata(L, upvalue_index(1)))->get();
  int n = guarded(L, [&] { return invoke(L, f); });
  // The yield discards this frame: every C++ object of the call is gone.
  if constexpr (std::is_same_v<std::remove_cvref_t<typename fn_traits<F>::result>, Yield>) return yield(L, n);
  return n;
}

// Pushes a Lua function calling f (through `entry`, which reads f from
// upvalue 1).
template <class F> void push_function(State* L, F f, NativeFn entry = &native_entry<F>) {
  static_assert(alignof(F) <= 16, "luna: callable over-aligned");
  auto* c = static_cast<Callable<F>*>(new_callable(L, sizeof(Callable<F>)));
  new (c->storage) F(std::move(f));
  c->destroy = [](void* p) { static_cast<Callable<F>*>(p)->get()->~F(); };
  push_closure(L, entry);
}

// A member function bound to an object: a callable with the same parameters.
template <class R, class C, class... A> auto bind_member(R (C::*m)(A...), C* obj) {
  return [m, obj](A... a) -> R { return (obj->*m)(std::forward<A>(a)...); };
}
template <class R, class C, class... A> auto bind_member(R (C::*m)(A...) const, const C* obj) {
  return [m, obj](A... a) -> R { return (obj->*m)(std::forward<A>(a)...); };
}
// A member function as a callable taking the object first.
template <class R, class C, class... A> auto member_as_function(R (C::*m)(A...)) {
  return [m](C& self, A... a) -> R { return (self.*m)(std::forward<A>(a)...); };
}
template <class R, class C, class... A> auto member_as_function(R (C::*m)(A...) const) {
  return [m](const C& self, A... a) -> R { return (self.*m)(std::forward<A>(a)...); };
}

}  // namespace detail

// ------------------------------------------------- Value template members
template <class K> Value Value::get(const K& key) const {
  Value out;
  detail::protect(detail::core_of(*this), [&](State* L) {
    detail::push(L, *this);
    detail::Convert<std::decay_t<K>>::push(L, key);
    get_table(L, -2);
    out = detail::to_value(L, -1);
  });
  return out;
}

template <class K, class V> void Value::set(const K& key, const V& value) const {
  detail::protect(detail::core_of(*this), [&](State* L) {
    detail::push(L, *this);
    detail::Convert<std::decay_t<K>>::push(L, key);
    detail::Convert<std::decay_t<V>>::push(L, value);
    set_table(L, -3);
  });
}

template <class... A> std::vector<Value> Value::call(A&&... args) const {
  std::vector<Value> out;
  detail::protect(detail::core_of(*this), [&](State* L) {
    check_stack_or_error(L, static_cast<int>(sizeof...(A)) + 1, "too many arguments");
    int base = get_top(L);
    detail::push(L, *this);
    (detail::Convert<std::decay_t<A>>::push(L, args), ...);
    luna::call(L, get_top(L) - base - 1, MULTRET);
    int n = get_top(L) - base;
    out.reserve(static_cast<size_t>(n));
    for (int i = 1; i <= n; i++) out.push_back(detail::to_value(L, base + i));
  });
  return out;
}

template <class T> T& Value::as_userdata() const {
  void* box = nullptr;
  if (type_ == Type::userdata) {
    detail::protect(detail::core_of(*this), [&](State* L) {
      detail::push(L, *this);
      box = detail::test_object(L, -1, &detail::class_tag<T>);
    });
  }
  if (box == nullptr) throw LuaError(std::string("userdata of the requested class expected, got ") + type_name());
  auto* b = static_cast<detail::Box<T>*>(box);
  if (!b->alive) throw LuaError("attempt to use a destroyed object");
  return *b->get();
}

}  // namespace luna
