// LuaUserdata support: class metatables, the __index / __newindex
// dispatchers (methods, then properties, then the user's fallback), and the
// type checks of objects coming back from Lua.
#include <cstring>

#include "embed/core.hpp"
#include "luna/userdata.hpp"

namespace luna::detail {

namespace {

// Fields of a class metatable.
constexpr const char* kMethods = "__luna_methods";
constexpr const char* kGetters = "__luna_getters";
constexpr const char* kSetters = "__luna_setters";
constexpr const char* kIndex = "__luna_index";
constexpr const char* kNewindex = "__luna_newindex";

const char* class_name(State* L, int mt) {
  get_field(L, mt, "__name");
  const char* n = to_string(L, -1);
  pop(L, 1);  // the name stays anchored in the metatable
  return n != nullptr ? n : "object";
}

// Upvalues: 1 methods, 2 getters, 3 metatable. Arguments: object, key.
int index_dispatch(State* L) {
  push_value(L, 2);
  if (raw_get(L, upvalue_index(1)) != TNIL) return 1;
  pop(L, 1);
  push_value(L, 2);
  if (raw_get(L, upvalue_index(2)) != TNIL) {
    push_value(L, 1);
    luna::call(L, 1, 1);
    return 1;
  }
  pop(L, 1);
  int t = get_field(L, upvalue_index(3), kIndex);
  if (t == TFUNCTION) {
    push_value(L, 1);
    push_value(L, 2);
    luna::call(L, 2, 1);
  } else if (t != TNIL) {
    push_value(L, 2);
    get_table(L, -2);
  }
  return 1;
}

// Upvalues: 1 setters, 2 getters, 3 metatable. Arguments: object, key, value.
int newindex_dispatch(State* L) {
  push_value(L, 2);
  if (raw_get(L, upvalue_index(1)) != TNIL) {
    push_value(L, 1);
    push_value(L, 3);
    luna::call(L, 2, 0);
    return 0;
  }
  pop(L, 1);
  int t = get_field(L, upvalue_index(3), kNewindex);
  if (t == TFUNCTION) {
    push_value(L, 1);
    push_value(L, 2);
    push_value(L, 3);
    luna::call(L, 3, 0);
    return 0;
  }
  if (t != TNIL) {
    push_value(L, 2);
    push_value(L, 3);
    set_table(L, -3);
    return 0;
  }
  const char* cls = class_name(L, upvalue_index(3));
  push_value(L, 2);
  bool readonly = raw_get(L, upvalue_index(2)) != TNIL;
  const char* key = to_lstring_meta(L, 2, nullptr);
  if (readonly) error_f(L, "property '%s' of %s is read-only", key, cls);
  error_f(L, "%s has no property '%s'", cls, key);
}

void new_section(State* L, int mt, const char* field) {
  new_table(L);
  push_value(L, -1);
  set_field(L, mt, field);
}

}  // namespace

void class_register(State* L, const void* tag, const char* name, NativeFn destructor) {
  if (raw_get_p(L, REGISTRYINDEX, tag) == TTABLE) {
    pop(L, 1);
    return;
  }
  pop(L, 1);
  create_table(L, 0, 8);
  int mt = get_top(L);
  push_string(L, name);
  set_field(L, mt, "__name");
  push_native_function(L, destructor);
  set_field(L, mt, "__gc");
  new_section(L, mt, kMethods);
  new_section(L, mt, kGetters);
  new_section(L, mt, kSetters);
  // stack: mt methods getters setters
  push_value(L, mt + 1);
  push_value(L, mt + 2);
  push_value(L, mt);
  push_native_closure(L, index_dispatch, 3);
  set_field(L, mt, "__index");
  push_value(L, mt + 3);
  push_value(L, mt + 2);
  push_value(L, mt);
  push_native_closure(L, newindex_dispatch, 3);
  set_field(L, mt, "__newindex");
  set_top(L, mt);
  raw_set_p(L, REGISTRYINDEX, tag);
  // The class table holds constructors and static functions.
  if (luna::get_global(L, name) != TTABLE) {
    pop(L, 1);
    new_table(L);
    luna::set_global(L, name);
  } else {
    pop(L, 1);
  }
}

void class_add(State* L, const void* tag, ClassPart part, const char* name) {
  int fn = get_top(L);
  if (raw_get_p(L, REGISTRYINDEX, tag) != TTABLE) error_f(L, "class is not registered in this VM");
  int mt = get_top(L);
  switch (part) {
    case ClassPart::method: get_field(L, mt, kMethods); break;
    case ClassPart::getter: get_field(L, mt, kGetters); break;
    case ClassPart::setter: get_field(L, mt, kSetters); break;
    case ClassPart::meta:
      if (std::strcmp(name, "__index") == 0) name = kIndex;
      else if (std::strcmp(name, "__newindex") == 0) name = kNewindex;
      push_value(L, mt);
      break;
    case ClassPart::static_fn: luna::get_global(L, class_name(L, mt)); break;
  }
  push_value(L, fn);
  set_field(L, -2, name);
  set_top(L, fn - 1);
}

void* test_object(State* L, int idx, const void* tag) {
  void* p = to_userdata(L, idx);
  if (p == nullptr || type(L, idx) != TUSERDATA || !get_metatable(L, idx)) return nullptr;
  raw_get_p(L, REGISTRYINDEX, tag);
  bool same = raw_equal(L, -1, -2);
  pop(L, 2);
  return same ? p : nullptr;
}

void object_type_error(State* L, int idx, const void* tag) {
  const char* name = "object";
  if (raw_get_p(L, REGISTRYINDEX, tag) == TTABLE) name = class_name(L, get_top(L));
  type_error(L, idx, name);
}

void dead_object_error(State* L, const void* tag) {
  const char* name = "object";
  if (raw_get_p(L, REGISTRYINDEX, tag) == TTABLE) name = class_name(L, get_top(L));
  error_f(L, "attempt to use a destroyed %s", name);
}

void* new_object(State* L, size_t size, const void* tag) {
  if (raw_get_p(L, REGISTRYINDEX, tag) != TTABLE) error_f(L, "class is not registered in this VM (use luna::LuaUserdata)");
  void* p = new_userdata(L, size, 0);
  std::memset(p, 0, size);
  insert(L, -2);
  set_metatable(L, -2);
  return p;
}

}  // namespace luna::detail
