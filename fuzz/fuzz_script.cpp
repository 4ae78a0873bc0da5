// Harness: short arbitrary scripts, run to completion or to an error under
// the memory limit and the instruction budget of harness.hpp. Any outcome
// is fine except a crash, a sanitizer report, a hang or a state that no
// longer works.
#include "harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  luna::State* L = luna_fuzz::open_sandbox();
  if (L == nullptr) return 0;
  const char* text = reinterpret_cast<const char*>(data);
  // "bt": a script may build binary chunks and load them.
  if (luna_fuzz::load(L, text, size, "=fuzz", "bt") == luna::OK) luna_fuzz::run_limited(L);
  luna::set_top(L, 0);
  luna_fuzz::check_usable(L);
  luna_fuzz::close_limited(L);
  return 0;
}
