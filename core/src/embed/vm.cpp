// luna::BasicVm: the non-template part of the embedding API.
#include "luna/vm.hpp"

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

std::vector<Value> collect(State* L, int base) {
  std::vector<Value> out;
  int n = get_top(L) - base;
  out.reserve(static_cast<size_t>(n));
  for (int i = 1; i <= n; i++) out.push_back(detail::to_value(L, base + i));
  return out;
}

// Raises the error of a failed load, keeping its status for the host.
[[noreturn]] void load_failed(State* L, int status) {
  detail::state_core(L)->raised_status = status;
  error(L);
}

void load_chunk(State* L, std::string_view source, const std::string& name, const std::string& mode) {
  int st = load_bufferx(L, source.data(), source.size(), name.c_str(), mode.c_str());
  if (st != OK) load_failed(L, st);
}

}  // namespace

BasicVm::BasicVm() : BasicVm(LibSet::all) {}

BasicVm::BasicVm(LibSet libs) : core_(std::make_shared<detail::VmCore>()) { open_libs(libs); }

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
  if (&detail::core_of(v) != &core()) throw LuaError("the function belongs to another VM");
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
    load_chunk(L, source, name, "t");
    luna::call(L, 0, MULTRET);
    out = collect(L, base);
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
    out = collect(L, base);
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
