// The VM behind a Vm, a SendVm and the references they hand out. Internal
// to the embedding layer; like all of core/src/embed it sees only the
// public headers (never object.hpp / state.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "luna/api.hpp"

namespace luna::detail {

// How a VM is shared between threads. A plain VM has none and is confined
// to its creator thread; libluna-send installs one (SendVm's lock).
class HostLock {
 public:
  virtual ~HostLock() = default;
  virtual void lock() = 0;
  virtual void unlock() = 0;
};

class VmCore : public std::enable_shared_from_this<VmCore> {
 public:
  VmCore();  // a fresh state, no libraries
  ~VmCore();
  VmCore(const VmCore&) = delete;
  VmCore& operator=(const VmCore&) = delete;

  State* main;          // the main thread
  State* current;       // innermost thread running our native code (main when idle)
  std::thread::id owner;
  std::unique_ptr<HostLock> host_lock;  // set: any thread, one at a time (no owner check)
  int depth = 0;        // nesting of run_protected
  bool registered = false;  // the registry knows this core (state_core works)
  LuaVersion version = default_version;  // fixed when the VM is made
  uint64_t instr_limit = 0;
  uint64_t time_limit_ms = 0;
  std::string traceback;  // filled by the message handler of the latest failure
  int raised_status = 0;  // set by code raising a load error, so hosts see ERRSYNTAX / ERRFILE

  // Slots of released references, freed inside the next protected run.
  std::mutex release_mu;
  std::vector<int> released;
  void release(int slot);
  void drain_released(State* L);

  // Pinned roots: handle -> registry slot (touched only inside protected runs).
  std::unordered_map<uint64_t, int> pins;

  // Throws the thread-confinement error if misused (every build: misuse
  // from another thread would otherwise corrupt memory silently).
  void check_thread() const;
};

// The core of the VM that L belongs to (registered in its registry).
VmCore* state_core(State* L);

// Uninstalls the JIT backend (if any): the VM runs the interpreter only.
void interpreter_only(VmCore& core);

}  // namespace luna::detail
