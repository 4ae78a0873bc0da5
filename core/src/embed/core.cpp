// The protected-call machinery of the embedding layer: every host operation
// runs as a native function under pcall, so no Lua error (an internal C++
// exception) ever reaches host code; stack <-> Value conversion; the
// lifetime of bound callables.
#include "embed/core.hpp"

#include <cstring>

#include "luna/value.hpp"
#include "luna/vm.hpp"

namespace luna::detail {

namespace {

// Registry keys: addresses of these (light userdata keys never allocate).
const char core_key = 0;
const char callable_mt_key = 0;

struct Job {
  ProtectedFn fn;
  void* ctx;
  VmCore* core;
};

int traceback_body(State* L) {
  traceback(L, L, to_string(L, 1), 2);
  return 1;
}

// Leaves the error value as it is (hosts get the real value) and records a
// traceback on the side. Building the traceback can itself fail (e.g. out
// of memory): that only loses the traceback.
int message_handler(State* L) {
  VmCore* core = state_core(L);
  if (core == nullptr || !check_stack(L, 3)) return 1;
  push_native_function(L, traceback_body);
  if (type(L, 1) == TSTRING || type(L, 1) == TNUMBER) luna::push_value(L, 1);
  else push_fstring(L, "(error object is a %s value)", typename_at(L, 1));
  if (pcall(L, 1, 1, 0) == OK && type(L, -1) == TSTRING) {
    size_t n = 0;
    const char* s = to_lstring(L, -1, &n);
    core->traceback.assign(s, n);
  }
  set_top(L, 1);
  return 1;
}

int run_job(State* L) {
  Job* job = static_cast<Job*>(to_userdata(L, 1));
  if (!job->core->registered) {
    // The first run registers the core (this may allocate, hence here
    // under protection), so native code can find it.
    push_light_userdata(L, job->core);
    raw_set_p(L, REGISTRYINDEX, &core_key);
    job->core->registered = true;
  }
  job->core->drain_released(L);
  std::string message;
  Value value;
  try {
    job->fn(L, job->ctx);
    return 0;
  } catch (const LuaError& e) {
    message = e.what();
    value = e.value();
  } catch (const std::exception& e) {
    message = e.what();
  }
  raise_error(L, message, value);
}

int callable_gc(State* L) {
  // Every Callable<F> starts with its destroy pointer.
  auto* destroy = static_cast<void (**)(void*)>(to_userdata(L, 1));
  if (destroy != nullptr && *destroy != nullptr) {
    void (*d)(void*) = *destroy;
    *destroy = nullptr;
    d(destroy);
  }
  return 0;
}

}  // namespace

VmCore::VmCore() : main(new_state()), current(main), owner(std::this_thread::get_id()) {
  if (main == nullptr) throw LuaError("cannot create a Lua state: not enough memory", ERRMEM);
}

VmCore::~VmCore() {
  // The finalizers that run at close are the script's code too: the limits
  // bound them (a __gc that never returns would otherwise hang the host).
  set_instruction_budget(main, instr_limit);
  set_time_budget(main, time_limit_ms);
  close_state(main);
}

void VmCore::release(int slot) {
  std::lock_guard<std::mutex> lk(release_mu);
  released.push_back(slot);
}

void VmCore::drain_released(State* L) {
  std::vector<int> slots;
  {
    std::lock_guard<std::mutex> lk(release_mu);
    if (released.empty()) return;
    slots.swap(released);
  }
  for (int s : slots) unref(L, REGISTRYINDEX, s);
}

void VmCore::check_thread() const {
#ifndef NDEBUG
  if (!host_lock && std::this_thread::get_id() != owner)
    throw LuaError("luna::Vm used from a thread other than the one that created it: a Vm is confined to its thread; "
                   "use luna::SendVm to share a VM between threads");
#endif
}

VmCore* state_core(State* L) {
  raw_get_p(L, REGISTRYINDEX, &core_key);
  auto* c = static_cast<VmCore*>(to_userdata(L, -1));
  pop(L, 1);
  return c;
}

Ref::~Ref() { core->release(slot); }

void run_protected(VmCore& core, ProtectedFn fn, void* ctx) {
  std::unique_lock<HostLock> lock;
  if (core.host_lock) lock = std::unique_lock<HostLock>(*core.host_lock);
  else core.check_thread();
  State* L = core.current;
  if (!check_stack(L, 4)) throw LuaError("stack overflow (host call)");
  bool outer = core.depth == 0;
  if (outer) {
    set_instruction_budget(L, core.instr_limit);
    set_time_budget(L, core.time_limit_ms);
    core.traceback.clear();
    core.raised_status = 0;
  }
  int base = get_top(L);
  int status;
  {
    struct Depth {
      VmCore& c;
      bool outer;
      State* L;
      ~Depth() {
        c.depth--;
        if (outer) {  // also clears an exhausted budget
          set_instruction_budget(L, 0);
          set_time_budget(L, 0);
        }
      }
    } depth{core, outer, L};
    core.depth++;
    Job job{fn, ctx, &core};
    push_native_function(L, message_handler);
    push_native_function(L, run_job);
    push_light_userdata(L, &job);
    status = pcall(L, 1, 0, base + 1);
  }
  if (status == OK) {
    set_top(L, base);
    return;
  }
  // The error value: strings (including the preallocated memory-error
  // message) are read without allocating; other values become references
  // in a second protected run, which may itself fail under memory pressure.
  std::string message;
  Value value;
  int t = type(L, -1);
  if (t == TSTRING) {
    size_t n = 0;
    const char* s = to_lstring(L, -1, &n);
    message.assign(s, n);
    value = Value(message);
  } else if (t == TNUMBER) {
    message = is_integer(L, -1) ? std::to_string(to_integerx(L, -1)) : std::to_string(to_numberx(L, -1));
    value = is_integer(L, -1) ? Value(to_integerx(L, -1)) : Value(to_numberx(L, -1));
  } else {
    message = std::string("(error object is a ") + type_name(L, t) + " value)";
    if (t == TNIL) {
      message = "nil";
    } else if (check_stack(L, 3)) {
      Job keep{[](State* L1, void* out) { *static_cast<Value*>(out) = to_value(L1, 2); }, &value, &core};
      push_native_function(L, run_job);
      push_light_userdata(L, &keep);
      luna::push_value(L, -3);  // the error value, as argument 2
      if (pcall(L, 2, 0, 0) != OK) pop(L, 1);
    }
  }
  std::string tb = std::move(core.traceback);
  core.traceback.clear();
  if (status == ERRRUN && core.raised_status != 0) status = core.raised_status;
  core.raised_status = 0;
  set_top(L, base);
  throw LuaError(message, status, std::move(tb), std::move(value));
}

NativeScope::NativeScope(State* L) : core_(static_cast<VmCore*>(to_userdata(L, upvalue_index(2)))), prev_(nullptr) {
  prev_ = core_->current;
  core_->current = L;
}

NativeScope::~NativeScope() { core_->current = prev_; }

void raise_error(State* L, const std::string& message, const Value& value) {
  if (!value.is_nil()) {
    bool same_vm = true;
    try {
      same_vm = &core_of(value) == state_core(L);
    } catch (const LuaError&) {
      // a plain value: no VM needed
    }
    if (same_vm) {
      push(L, value);
      error(L);
    }
  }
  push_lstring(L, message.data(), message.size());
  error(L);
}

void* new_callable(State* L, size_t size) {
  void* p = new_userdata(L, size, 0);
  std::memset(p, 0, size);
  if (raw_get_p(L, REGISTRYINDEX, &callable_mt_key) == TNIL) {
    pop(L, 1);
    create_table(L, 0, 2);
    push_native_function(L, callable_gc);
    set_field(L, -2, "__gc");
    push_string(L, "luna.callable");
    set_field(L, -2, "__name");
    luna::push_value(L, -1);
    raw_set_p(L, REGISTRYINDEX, &callable_mt_key);
  }
  set_metatable(L, -2);
  return p;
}

void push_closure(State* L, NativeFn entry) {
  push_light_userdata(L, state_core(L));
  push_native_closure(L, entry, 2);
}

Value to_value(State* L, int idx) {
  Value v;
  int t = type(L, idx);
  switch (t) {
    case TNONE:
    case TNIL:
      break;
    case TBOOLEAN:
      v = Value(to_boolean(L, idx));
      break;
    case TNUMBER:
      if (is_integer(L, idx)) v = Value(to_integerx(L, idx));
      else v = Value(to_numberx(L, idx));
      break;
    case TSTRING: {
      size_t n = 0;
      const char* s = to_lstring(L, idx, &n);
      v = Value(std::string(s, n));
      break;
    }
    case TLIGHTUSERDATA:
      v.type_ = Value::Type::light_userdata;
      v.ptr_ = to_userdata(L, idx);
      break;
    default: {
      VmCore* core = state_core(L);
      v.type_ = static_cast<Value::Type>(t);
      v.ptr_ = to_pointer(L, idx);
      luna::push_value(L, idx);
      int slot = ref(L, REGISTRYINDEX);
      v.ref_ = std::make_shared<Ref>(core->shared_from_this(), slot);
      break;
    }
  }
  return v;
}

void push(State* L, const Value& v) {
  switch (v.type_) {
    case Value::Type::nil: push_nil(L); break;
    case Value::Type::boolean: push_boolean(L, v.u_.b); break;
    case Value::Type::number:
      if (v.int_) push_integer(L, v.u_.i);
      else push_number(L, v.u_.n);
      break;
    case Value::Type::string: push_lstring(L, v.str_.data(), v.str_.size()); break;
    case Value::Type::light_userdata: push_light_userdata(L, const_cast<void*>(v.ptr_)); break;
    default:
      if (v.ref_->core.get() != state_core(L)) error_f(L, "a %s value cannot move to another VM", v.type_name());
      raw_get_i(L, REGISTRYINDEX, v.ref_->slot);
      break;
  }
}

VmCore& core_of(const Value& v) {
  if (!v.ref_) throw LuaError(std::string("a ") + v.type_name() + " value belongs to no VM (only tables, functions, userdata and threads do)");
  return *v.ref_->core;
}

}  // namespace luna::detail
