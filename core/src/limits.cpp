// Sandbox limits reachable from the public API (the embedding layer cannot
// see GlobalState).
#include "luna/api.hpp"
#include "state.hpp"

namespace luna {

void set_instruction_budget(State* L, uint64_t instructions) { L->g->instr_budget = instructions; }

}  // namespace luna
