// luna::BasicVm: the non-template part of the embedding API.
#include "luna/vm.hpp"

#include <atomic>
#include <fstream>
#include <sstream>

#include "embed/core.hpp"

namespace luna {

namespace {

struct Lib {
  LibSet bit;
  const char* name;
  NativeFn open;
};

const Lib libs[] = {
    {LibSet::base, "_G", luna::open_base},          {LibSet::package, "package", luna::open_package},
    {LibSet::coroutine, "coroutine", luna::open_coroutine}, {LibSet::table, "table", luna::open_table},
    {LibSet::io, "io", luna::open_io},              {LibSet::os, "os", luna::open_os},
    {LibSet::string, "string", luna::open_string},  {LibSet::utf8, "utf8", luna::open_utf8},
    {LibSet::math, "math", luna::open_math},        {LibSet::debug, "debug", luna::open_debug},
    {LibSet::jit, "jit", luna::open_jit},
};

// Raises the error of a failed load, keeping its status for the host.
[[noreturn]] void load_failed(State* L, int status) {
  detail::state_core(L)->raised_status = status;
  error(L);
}

void load_chunk(State* L, std::string_view source, const std::string& name, const std::string& mode) {
  int st = load_bufferx(L, source.data(), source.size(), name.c_str(), mode.c_str());
  if (st != OK) load_failed(L, st);
}

// Handles are process-wide, so one VM never accepts another's.
std::atomic<PinHandle> next_pin{1};

}  // namespace

namespace detail {

void check_version(LuaVersion version) {
  if (!is_known_version(version))
    throw LuaError("Lua version " + std::to_string(static_cast<int>(version)) +
                   " is not available: luna speaks Lua 5.3, 5.4 and 5.5");
}

void load_text(State* L, std::string_view source, const std::string& chunk_name) {
  load_chunk(L, source, chunk_name, "t");
}

std::vector<Value> results_from(State* L, int base) {
  std::vector<Value> out;
  int n = get_top(L) - base;
  out.reserve(static_cast<size_t>(n));
  for (int i = 1; i <= n; i++) out.push_back(to_value(L, base + i));
  return out;
}

namespace {

[[noreturn]] void unknown_pin(PinHandle h) {
  throw LuaError("unknown pin handle " + std::to_string(h) + " (already unpinned, or pinned by another VM)");
}

}  // namespace

PinHandle pin(VmCore& core, const Value& v) {
  PinHandle h = 0;
  protect(core, [&](State* L) {
    push(L, v);
    int slot = ref(L, REGISTRYINDEX);
    h = next_pin.fetch_add(1, std::memory_order_relaxed);
    try {
      core.pins.emplace(h, slot);
    } catch (...) {
      unref(L, REGISTRYINDEX, slot);
      throw;
    }
  });
  return h;
}

Value pinned(VmCore& core, PinHandle h) {
  Value out;
  bool found = false;
  protect(core, [&](State* L) {
    auto it = core.pins.find(h);
    if (it == core.pins.end()) return;
    found = true;
    raw_get_i(L, REGISTRYINDEX, it->second);
    out = to_value(L, -1);
  });
  if (!found) unknown_pin(h);
  return out;
}

void unpin(VmCore& core, PinHandle h) {
  bool found = false;
  protect(core, [&](State* L) {
    auto it = core.pins.find(h);
    if (it == core.pins.end()) return;
    found = true;
    int slot = it->second;
    core.pins.erase(it);
    unref(L, REGISTRYINDEX, slot);
  });
  if (!found) unknown_pin(h);
}

std::shared_ptr<VmCore> caller_core(State* L) { return state_core(L)->shared_from_this(); }

}  // namespace detail

BasicVm::BasicVm() : BasicVm(LibSet::all) {}

BasicVm::BasicVm(LibSet libs) : BasicVm(default_version, libs) {}

BasicVm::BasicVm(LuaVersion version) : BasicVm(version, LibSet::all) {}

BasicVm::BasicVm(LuaVersion version, LibSet libs)
    : core_((detail::check_version(version), std::make_shared<detail::VmCore>())) {
  core_->version = version;
  set_version(core_->main, version);
  open_libs(libs);
}

LuaVersion BasicVm::version() const noexcept { return core_ ? core_->version : default_version; }

BasicVm::BasicVm(BasicVm&&) noexcept = default;
BasicVm& BasicVm::operator=(BasicVm&&) noexcept = default;
BasicVm::~BasicVm() = default;

detail::VmCore& BasicVm::core() {
  if (!core_) throw LuaError("use of a moved-from luna::Vm");
  return *core_;
}

State* BasicVm::state() {
  detail::VmCore& c = core();
  c.check_thread();
  return c.main;
}

void BasicVm::check_owner(const Value& v) {
  if (detail::core_of(v).get() != &core()) throw LuaError("the function belongs to another VM");
}

void BasicVm::open_libs(LibSet set) {
  detail::protect(core(), [&](State* L) {
    for (const Lib& lib : libs) {
      if ((set & lib.bit) == LibSet::none) continue;
      requiref(L, lib.name, lib.open, true);
      pop(L, 1);
    }
  });
}

std::vector<Value> BasicVm::eval(std::string_view source, std::string_view chunk_name) {
  std::vector<Value> out;
  std::string name(chunk_name);
  detail::protect(core(), [&](State* L) {
    int base = get_top(L);
    detail::load_text(L, source, name);
    luna::call(L, 0, MULTRET);
    out = detail::results_from(L, base);
  });
  return out;
}

Value BasicVm::load(std::string_view source, std::string_view chunk_name, std::string_view mode) {
  Value out;
  std::string name(chunk_name), m(mode);
  detail::protect(core(), [&](State* L) {
    load_chunk(L, source, name, m);
    out = detail::to_value(L, -1);
  });
  return out;
}

Value BasicVm::load_file(const std::string& path, std::string_view mode) {
  Value out;
  std::string m(mode);
  detail::protect(core(), [&](State* L) {
    int st = load_filex(L, path.c_str(), m.c_str());
    if (st != OK) load_failed(L, st);
    out = detail::to_value(L, -1);
  });
  return out;
}

std::vector<Value> BasicVm::do_file(const std::string& path) {
  std::vector<Value> out;
  detail::protect(core(), [&](State* L) {
    int base = get_top(L);
    int st = load_filex(L, path.c_str(), "t");
    if (st != OK) load_failed(L, st);
    luna::call(L, 0, MULTRET);
    out = detail::results_from(L, base);
  });
  return out;
}

Value BasicVm::get_global(std::string_view name) {
  Value out;
  std::string key(name);
  detail::protect(core(), [&](State* L) {
    luna::get_global(L, key.c_str());
    out = detail::to_value(L, -1);
  });
  return out;
}

Value BasicVm::new_table() {
  Value out;
  detail::protect(core(), [&](State* L) {
    luna::new_table(L);
    out = detail::to_value(L, -1);
  });
  return out;
}

void BasicVm::set_memory_limit(size_t bytes) {
  detail::protect(core(), [&](State* L) { luna::set_memory_limit(L, bytes); });
}

size_t BasicVm::memory_used() {
  size_t n = 0;
  detail::protect(core(), [&](State* L) {
    n = static_cast<size_t>(gc(L, GCCOUNT)) * 1024 + static_cast<size_t>(gc(L, GCCOUNTB));
  });
  return n;
}

void BasicVm::set_instruction_limit(uint64_t instructions) {
  detail::VmCore& c = core();
  detail::protect(c, [&](State*) { c.instr_limit = instructions; });
}

void BasicVm::set_time_limit(std::chrono::milliseconds limit) {
  detail::VmCore& c = core();
  uint64_t ms = limit.count() > 0 ? static_cast<uint64_t>(limit.count()) : 0;
  detail::protect(c, [&](State*) { c.time_limit_ms = ms; });
}

void BasicVm::collect_garbage() {
  detail::protect(core(), [&](State* L) { gc(L, GCCOLLECT); });
}

}  // namespace luna
