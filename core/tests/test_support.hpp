// Helpers shared by the core's unit tests.
#pragma once

#include <string>

#include "luna/api.hpp"
#include "state.hpp"

namespace luna::test {

// A fresh state for one test, closed at the end; with the standard
// libraries unless asked for a bare one.
struct StateGuard {
  State* L = new_state();
  explicit StateGuard(bool libs = true) {
    if (libs) open_libs(L);
  }
  ~StateGuard() { close_state(L); }
  StateGuard(const StateGuard&) = delete;
  StateGuard& operator=(const StateGuard&) = delete;
};

// Runs a chunk; returns its first result converted to a string ("nil" for
// nil, "?" for a value with no string form), or the error message prefixed
// with "error: ".
inline std::string run(State* L, const char* code) {
  if (load_string(L, code) != OK || pcall(L, 0, 1, 0) != OK) {
    std::string msg = std::string("error: ") + (to_string(L, -1) ? to_string(L, -1) : "?");
    pop(L, 1);
    return msg;
  }
  std::string r = is_nil(L, -1) ? "nil" : (to_string(L, -1) ? to_string(L, -1) : "?");
  pop(L, 1);
  return r;
}

}  // namespace luna::test
