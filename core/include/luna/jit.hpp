// Controls and statistics of the trace JIT, shared by luna::Vm (which has
// one) and luna::SendVm (which answers with zeros). docs/jit.md explains
// them.
#pragma once

#include <cstdint>

namespace luna {

struct JitOptions {
  unsigned hotloop = 56;  // back-edges before a loop is recorded (1..65535; 1 = at its first iteration)
  unsigned hotexit = 10;  // exits taken before a side exit gets its own trace (1 = at its first exit)
  bool verbose = false;   // one line per trace event on stderr (luna -jv)
  bool dump = false;      // IR and machine code of each trace on stderr (luna -jdump)
  // luna -jstress: everything compiled as early as possible.
  static JitOptions stress() {
    JitOptions o;
    o.hotloop = 1;
    o.hotexit = 1;
    return o;
  }
};

struct JitStats {
  uint64_t traces_compiled = 0;
  uint64_t traces_aborted = 0;  // recordings given up (each with a reason under -jv)
  uint64_t exits_taken = 0;     // returns from compiled code to the interpreter
  uint64_t entries = 0;         // times the interpreter entered compiled code
};

struct State;

// For hosts of the stack API (api.hpp). install_jit lives in libluna (the
// library of luna::Vm): linking only libluna-core or libluna-send, it is
// missing. The others work on any state and do nothing without a JIT.
void install_jit(State* L);
void set_jit_enabled(State* L, bool on);  // off: drops compiled code; interpreter only
bool jit_enabled(State* L);
void set_jit_options(State* L, const JitOptions& options);  // drops compiled code
JitOptions get_jit_options(State* L);
JitStats get_jit_stats(State* L);  // zeros without a JIT
void flush_jit(State* L);

}  // namespace luna
